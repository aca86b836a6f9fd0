/* log.c: stderr logging (see log.h). Each line is formatted into a local buffer and written
 * with a single write(2) so lines from several threads never interleave mid-line. */
#include "core/base/log.h"
#include "core/base/errors.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int g_level = LS_LOG_WARN;
static const char *const k_names[] = {"off", "error", "warn", "info", "debug", "trace"};

void ls_log_set_level(ls_log_level level) { atomic_store(&g_level, (int)level); }
ls_log_level ls_log_get_level(void) { return (ls_log_level)atomic_load(&g_level); }

int ls_log_parse_level(const char *s, ls_log_level *out) {
  if (!s) return LS_EINVAL;
  for (int i = 0; i <= LS_LOG_TRACE; i++) {
    if (strcasecmp(s, k_names[i]) == 0 || (s[0] == '0' + i && s[1] == 0)) {
      *out = (ls_log_level)i;
      return 0;
    }
  }
  if (strcasecmp(s, "warning") == 0) { *out = LS_LOG_WARN; return 0; }
  return LS_EINVAL;
}

void ls_log_init_from_env(void) {
  ls_log_level l;
  const char *e = getenv("LAYERSCOPE_LOG");
  if (e && *e && ls_log_parse_level(e, &l) == 0) ls_log_set_level(l);
}

void ls_log(ls_log_level level, const char *fmt, ...) {
  if (level == LS_LOG_OFF || (int)level > atomic_load(&g_level)) return;
  char buf[2048];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  int n = snprintf(buf, sizeof buf, "layerscope %02d:%02d:%02d.%03ld %-5s ", tm.tm_hour,
                   tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, k_names[level]);
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof buf - 2) len = sizeof buf - 2;
  buf[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, buf, len);
  (void)w;
}
