/* backtrace.h: native stack traces through libunwind, for two uses: the crash handler
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT write a backtrace to stderr and exit non-zero)
 * and the debugger's optional native frames. */
#ifndef LS_BACKTRACE_H
#define LS_BACKTRACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls_native_frame {
  uintptr_t pc;       /* instruction pointer */
  uintptr_t offset;   /* offset of pc from the start of the function */
  char name[128];     /* function name, "??" when unknown */
} ls_native_frame;

/* Installs handlers for fatal signals (on an alternate stack, so stack overflows are
 * reported too) and ignores SIGPIPE. Idempotent. */
void ls_backtrace_install_crash_handler(void);
/* Fills up to max frames of the calling thread, skipping `skip` innermost ones; returns the
 * number filled. Not async-signal-safe (the crash handler uses its own path). */
size_t ls_backtrace_capture(ls_native_frame *frames, size_t max, size_t skip);
/* Writes "#N 0xPC name+0xOFF" lines to fd using only async-signal-safe calls. */
void ls_backtrace_write(int fd);

#endif
