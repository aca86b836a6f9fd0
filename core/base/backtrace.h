/* backtrace.h: native stack traces through libunwind, for two uses: the crash handler
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT write a backtrace to stderr and exit non-zero)
 * and the debugger's optional native frames.
 *
 * A frame is named only when the name is known to be the function containing its address:
 * a symbol table lookup returns the nearest symbol below an address, which inside a
 * stripped library's static function (libc's msort_with_tmp under qsort) is some unrelated
 * exported function. So the symbol's start must be the start of the function that
 * libunwind's unwind info (.eh_frame) gives for the address, or, without unwind info, the
 * dynamic symbol must cover the address by its size. Otherwise the frame is shown as its
 * object and offset: `libc.so.6+0x3bbf4 (no symbol)`. */
#ifndef LS_BACKTRACE_H
#define LS_BACKTRACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls_native_frame {
  uintptr_t pc;       /* instruction pointer */
  uintptr_t offset;   /* symbol: offset of pc from the start of the function */
  char name[128];     /* symbol: the function's name; "??" otherwise */
  int symbol;         /* 1 when name is the function that contains pc (checked, see above) */
  char object[64];    /* file name of the executable or library holding pc, "" if unknown */
  uintptr_t object_offset; /* pc minus that object's load address (for addr2line -e) */
} ls_native_frame;

/* Installs handlers for fatal signals (on an alternate stack, so stack overflows are
 * reported too) and ignores SIGPIPE. Idempotent. */
void ls_backtrace_install_crash_handler(void);
/* Fills up to max frames of the calling thread, skipping `skip` innermost ones; returns the
 * number filled. Not async-signal-safe (the crash handler uses its own path). */
size_t ls_backtrace_capture(ls_native_frame *frames, size_t max, size_t skip);
/* Writes "#N 0xPC name+0xOFF" lines ("#N 0xPC (no symbol)" where the name is not known
 * exactly) to fd using only async-signal-safe calls. */
void ls_backtrace_write(int fd);
/* "name+0x1f", or "libc.so.6+0x3bbf4 (no symbol)", or "0x7f12... (no symbol)". */
int ls_backtrace_frame_format(const ls_native_frame *f, char *buf, size_t cap);

#endif
