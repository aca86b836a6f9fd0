/* jansson_kind.h: the kind of a jansson value as the error messages of the protocol and the
 * tokenizer reader name it ("an object", "an integer", "null"), one table for both, so that
 * "must be a string, got an array" reads the same from a DAP launch and a tokenizer.json.
 * Header-only: it needs jansson's declarations, not a library of its own. */
#ifndef LS_JANSSON_KIND_H
#define LS_JANSSON_KIND_H

#include <jansson.h>

static inline const char *ls_jansson_kind(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE: case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

#endif
