/* diag.c: first-error-wins failure details (see diag.h). A message is cut to the size of
 * ls_diag.msg and repaired to valid UTF-8 (text.h), so one that quotes user text can always
 * be sent as a JSON string. */
#include "core/base/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/base/text.h"

void ls_diag_init(ls_diag *d) {
  if (!d) return;
  memset(d, 0, sizeof *d);
  d->offset = -1;
}

static int diag_vset(ls_diag *d, int code, const char *file, int64_t offset, const char *fmt,
                     va_list ap) {
  if (!d || d->code != 0) return code;
  d->code = code;
  vsnprintf(d->msg, sizeof d->msg, fmt, ap);
  ls_utf8_repair(d->msg);
  if (file) snprintf(d->file, sizeof d->file, "%s", file);
  d->offset = offset;
  return code;
}

int ls_diag_set(ls_diag *d, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vset(d, code, NULL, -1, fmt, ap);
  va_end(ap);
  return code;
}

int ls_diag_set_at(ls_diag *d, int code, const char *file, int64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vset(d, code, file, offset, fmt, ap);
  va_end(ap);
  return code;
}

void ls_diag_prefix(ls_diag *d, const char *fmt, ...) {
  if (!d || d->code == 0) return;
  char pre[256], old[sizeof d->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pre, sizeof pre, fmt, ap);
  va_end(ap);
  memcpy(old, d->msg, sizeof old);
  size_t np = strnlen(pre, sizeof d->msg - 1);
  memcpy(d->msg, pre, np);
  size_t no = strnlen(old, sizeof d->msg - 1 - np);
  memcpy(d->msg + np, old, no);
  d->msg[np + no] = 0;
  ls_utf8_repair(d->msg);
}
