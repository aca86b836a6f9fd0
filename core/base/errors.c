/* errors.c: names and descriptions of the LS_E* codes, generated from errors.def. */
#include "core/base/errors.h"

const char *ls_err_name(int code) {
  switch (code) {
#define X(name, value, desc) case value: return #name;
#include "core/base/errors.def"
#undef X
  }
  return "LS_E?";
}

const char *ls_err_str(int code) {
  switch (code) {
#define X(name, value, desc) case value: return desc;
#include "core/base/errors.def"
#undef X
  }
  return "unknown error";
}
