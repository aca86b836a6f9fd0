/* errors.h: the LS_E* error codes (generated from errors.def) and their names.
 * Every core function returns 0 on success or a negative LS_E* code; the detail of a failure
 * travels in an ls_diag (diag.h). */
#ifndef LS_ERRORS_H
#define LS_ERRORS_H

enum ls_err {
#define X(name, value, desc) name = value,
#include "core/base/errors.def"
#undef X
};

/* Borrowed static strings: the code's name ("LS_EFORMAT") and description. Unknown codes
 * give "LS_E?" and "unknown error". */
const char *ls_err_name(int code);
const char *ls_err_str(int code);

#endif
