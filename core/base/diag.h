/* diag.h: the detail of a failure, filled by the function that failed and read by the
 * caller (like jansson's json_error_t). The first error wins: later ls_diag_set calls on an
 * already-set diag change nothing, so the innermost, most precise message survives.
 * A NULL diag is allowed everywhere and means "caller does not want the detail". */
#ifndef LS_DIAG_H
#define LS_DIAG_H

#include <stdint.h>

typedef struct ls_diag {
  int code;          /* LS_E* code, 0 while unset */
  char msg[512];     /* human-readable message naming the problem; valid UTF-8 */
  char file[256];    /* file the problem is in, "" if none */
  int64_t offset;    /* byte offset in that file, -1 if none */
  int line, col;     /* 1-based line and column, 0 if none */
} ls_diag;

void ls_diag_init(ls_diag *d);
/* Sets code and message if d is not yet set; returns code so callers can
 * `return ls_diag_set(d, LS_EFORMAT, "...")`. */
int ls_diag_set(ls_diag *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with the file and byte offset the problem was found at. */
int ls_diag_set_at(ls_diag *d, int code, const char *file, int64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Prefixes the message (e.g. with a file name) when set; for adding context on the way up. */
void ls_diag_prefix(ls_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
