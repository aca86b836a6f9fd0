/* backtrace.c: libunwind stack walks for crash reports and native debugger frames.
 * The crash path formats numbers by hand and writes with write(2) because nothing else is
 * safe inside a signal handler. */
#define UNW_LOCAL_ONLY
#include "core/base/backtrace.h"

#include <libunwind.h>
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
    if (unw_get_proc_name(&cur, name, sizeof name, &off) != 0) strcpy(name, "??");
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
    bt_puts(fd, " ");
    bt_puts(fd, name);
    bt_puts(fd, "+");
    bt_hex(hex, (uintptr_t)off);
    bt_puts(fd, hex);
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
    frames[n].pc = (uintptr_t)pc;
    if (unw_get_proc_name(&cur, frames[n].name, sizeof frames[n].name, &off) != 0) {
      strcpy(frames[n].name, "??");
      off = 0;
    }
    frames[n].offset = (uintptr_t)off;
    n++;
  }
  return n;
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
