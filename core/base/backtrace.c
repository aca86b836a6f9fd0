/* backtrace.c: libunwind stack walks for crash reports and native debugger frames.
 * The crash path formats numbers by hand and writes with write(2) because nothing else is
 * safe inside a signal handler. Names are checked against the function bounds of the
 * unwind info (backtrace.h), which both paths can read; the debugger's frames also name
 * the object and offset through dladdr. */
#define UNW_LOCAL_ONLY
#include "core/base/backtrace.h"

#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void bt_puts(int fd, const char *s) {
  ssize_t w = write(fd, s, strlen(s));
  (void)w;
}

static void bt_hex(char *out, uintptr_t v) {
  static const char digits[] = "0123456789abcdef";
  char tmp[20];
  int n = 0;
  do { tmp[n++] = digits[v & 15]; v >>= 4; } while (v && n < 16);
  out[0] = '0'; out[1] = 'x';
  for (int i = 0; i < n; i++) out[2 + i] = tmp[n - 1 - i];
  out[2 + n] = 0;
}

/* The name of the function the cursor's frame is in, with *off the offset of the frame's
 * ip into it; 0 unless the name is known to be that function's. */
static int exact_name(unw_cursor_t *cur, char *name, size_t cap, unw_word_t *off) {
  unw_word_t ip = 0;
  unw_proc_info_t pi;
  if (unw_get_reg(cur, UNW_REG_IP, &ip) != 0 || unw_get_proc_name(cur, name, cap, off) != 0) return 0;
  /* the nearest symbol at or below ip must start where the function does */
  if (unw_get_proc_info(cur, &pi) == 0 && pi.start_ip != 0) return ip - *off == pi.start_ip;
  return -1; /* no unwind info: the caller may check the symbol's size instead */
}

void ls_backtrace_write(int fd) {
  unw_context_t ctx;
  unw_cursor_t cur;
  if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0) {
    bt_puts(fd, "  (no backtrace: libunwind could not start)\n");
    return;
  }
  int i = 0;
  while (unw_step(&cur) > 0 && i < 64) {
    unw_word_t pc = 0, off = 0;
    char name[256], num[24], hex[24];
    unw_get_reg(&cur, UNW_REG_IP, &pc);
    int named = exact_name(&cur, name, sizeof name, &off) > 0;
    int n = i++, k = 0;
    char t[8];
    do { t[k++] = (char)('0' + n % 10); n /= 10; } while (n && k < 7);
    num[0] = '#';
    for (int j = 0; j < k; j++) num[1 + j] = t[k - 1 - j];
    num[1 + k] = 0;
    bt_puts(fd, "  ");
    bt_puts(fd, num);
    bt_puts(fd, " ");
    bt_hex(hex, (uintptr_t)pc);
    bt_puts(fd, hex);
    if (named) {
      bt_puts(fd, " ");
      bt_puts(fd, name);
      bt_puts(fd, "+");
      bt_hex(hex, (uintptr_t)off);
      bt_puts(fd, hex);
    } else {
      bt_puts(fd, " (no symbol)");
    }
    bt_puts(fd, "\n");
  }
}

size_t ls_backtrace_capture(ls_native_frame *frames, size_t max, size_t skip) {
  unw_context_t ctx;
  unw_cursor_t cur;
  if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0) return 0;
  size_t n = 0;
  while (n < max && unw_step(&cur) > 0) {
    if (skip) { skip--; continue; }
    unw_word_t pc = 0, off = 0;
    unw_get_reg(&cur, UNW_REG_IP, &pc);
    ls_native_frame *f = &frames[n++];
    memset(f, 0, sizeof *f);
    f->pc = (uintptr_t)pc;
    int named = exact_name(&cur, f->name, sizeof f->name, &off);
    /* a return address may sit just past its call at the very end of a function */
    void *look = (void *)(f->pc - (unw_is_signal_frame(&cur) > 0 || !f->pc ? 0 : 1));
    Dl_info di;
    const ElfW(Sym) *sym = NULL;
    if (dladdr1(look, &di, (void **)&sym, RTLD_DL_SYMENT) && di.dli_fname) {
      const char *slash = strrchr(di.dli_fname, '/');
      snprintf(f->object, sizeof f->object, "%s", slash ? slash + 1 : di.dli_fname);
      f->object_offset = f->pc - (uintptr_t)di.dli_fbase;
      /* no unwind info: glibc's dladdr names a dynamic symbol only when its size covers
       * the address, so the same name from there is exact */
      if (named < 0) named = di.dli_sname && sym && strcmp(di.dli_sname, f->name) == 0;
    }
    f->symbol = named > 0;
    f->offset = f->symbol ? (uintptr_t)off : 0;
    if (!f->symbol) strcpy(f->name, "??");
  }
  return n;
}

int ls_backtrace_frame_format(const ls_native_frame *f, char *buf, size_t cap) {
  if (f->symbol) return snprintf(buf, cap, "%s+0x%lx", f->name, (unsigned long)f->offset);
  if (f->object[0]) return snprintf(buf, cap, "%s+0x%lx (no symbol)", f->object, (unsigned long)f->object_offset);
  return snprintf(buf, cap, "0x%lx (no symbol)", (unsigned long)f->pc);
}

static void bt_on_fatal(int sig) {
  const char *what = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS"
                   : sig == SIGFPE ? "SIGFPE" : sig == SIGILL ? "SIGILL" : "SIGABRT";
  bt_puts(STDERR_FILENO, "layerscope: fatal signal ");
  bt_puts(STDERR_FILENO, what);
  bt_puts(STDERR_FILENO, "; backtrace:\n");
  ls_backtrace_write(STDERR_FILENO);
  /* Re-raise with the default action so the exit status says which signal killed us. The
   * signal is blocked while its handler runs, so unblock it first or raise() would only
   * mark it pending. */
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  _exit(128 + sig);
}

void ls_backtrace_install_crash_handler(void) {
  static int installed;
  if (installed) return;
  installed = 1;
  static char altstack[64 * 1024];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = bt_on_fatal;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
#ifdef LS_SANITIZE
    /* Under ASan the sanitizer's own report is better; keep only SIGABRT's. */
    if (sigs[i] != SIGABRT) continue;
#endif
    sigaction(sigs[i], &sa, NULL);
  }
  signal(SIGPIPE, SIG_IGN);
}
