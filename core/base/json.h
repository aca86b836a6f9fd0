/* json.h: the position-aware, error-tolerant JSON reader used for model config files.
 * Unlike jansson (which layerscope uses for protocol messages), it keeps the exact byte
 * range of every key and value, reports every syntax error (not only the first), and still
 * produces a tree after errors, so an editor can hover and check the rest of a document
 * the user is halfway through typing. Duplicate keys are kept (and reported) in order.
 *
 * Ownership: ls_json_parse returns a new ls_json_doc (caller frees with ls_json_doc_free);
 * every node, string and error in it is owned by the doc's arena and borrowed by callers. */
#ifndef LS_JSON_H
#define LS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/arena.h"

typedef enum ls_json_kind {
  LS_JSON_NULL, LS_JSON_BOOL, LS_JSON_NUMBER, LS_JSON_STRING, LS_JSON_ARRAY, LS_JSON_OBJECT,
  LS_JSON_INVALID /* a value that could not be read (the error says why) */
} ls_json_kind;

typedef struct ls_json_span { size_t start, end; } ls_json_span; /* byte offsets, [start, end) */

typedef struct ls_json ls_json;
typedef struct ls_json_member {
  const char *key;        /* decoded UTF-8, NUL-terminated */
  size_t key_len;
  ls_json_span key_span;  /* range of the key including its quotes */
  ls_json *value;         /* never NULL; LS_JSON_INVALID when the value is missing */
} ls_json_member;

struct ls_json {
  ls_json_kind kind;
  ls_json_span span;      /* range of the whole value */
  union {
    int boolean;
    struct {
      double value;       /* nearest double */
      int is_integer;     /* lexically an integer (no '.', no exponent) */
      int fits_int64;     /* is_integer and within int64 range */
      int64_t int_value;  /* valid when fits_int64 */
    } num;
    struct { const char *s; size_t len; } str;          /* decoded UTF-8 (may contain NUL) */
    struct { ls_json **items; size_t n; } arr;
    struct { ls_json_member *members; size_t n; } obj;
  } u;
};

/* Extension: what kind of problem an error is, for callers that treat them differently
 * (a duplicate key is legal to Python's json module, a syntax error is not). */
typedef enum ls_json_errkind {
  LS_JSON_ERR_SYNTAX = 0,     /* not JSON (includes comments, NaN, single quotes, ...) */
  LS_JSON_ERR_DUPLICATE_KEY,  /* a key repeated in one object; the last one wins */
  LS_JSON_ERR_ENCODING,       /* invalid UTF-8 or a lone UTF-16 surrogate escape */
  LS_JSON_ERR_DEPTH,          /* nesting past LS_JSON_MAX_DEPTH */
  LS_JSON_ERR_PYTHON_NUMBER   /* NaN, Infinity or -Infinity: not JSON, but Python's json module
                                 reads them (json.dump writes float("inf") so, as transformers
                                 does for Mamba-2's time_step_limit); the node is a NUMBER */
} ls_json_errkind;

typedef struct ls_json_error {
  ls_json_span span;      /* where the problem is */
  char msg[160];          /* e.g. "expected ',' or '}' after object member" */
  /* Extension: a mechanical fix when one is clear (delete a trailing comma, insert a
   * missing ',' or ':', quote a bare key, `True` -> `true`): replace the bytes of fix_span
   * with fix (NUL-terminated, borrowed from the doc). fix is NULL when there is none. */
  const char *fix;
  ls_json_span fix_span;
  ls_json_errkind kind;   /* extension */
} ls_json_error;

typedef struct ls_json_doc {
  ls_arena arena;         /* owns everything below */
  const char *text;       /* borrowed: the parsed text, must outlive the doc */
  size_t len;
  ls_json *root;          /* NULL only when the text holds no value at all */
  ls_json_error *errors;  /* [n_errors], in document order */
  size_t n_errors;
} ls_json_doc;

/* Parses text (any bytes; need not be NUL-terminated). Always yields a doc unless memory
 * runs out (LS_ENOMEM). Nesting deeper than 512 levels is an error, not a stack overflow. */
int ls_json_parse(const char *text, size_t len, ls_json_doc **out);
void ls_json_doc_free(ls_json_doc *doc);

/* ls_json_parse for text read from a file someone named, which may be anything (an .env
 * file, a key, a binary) and whose messages end up in logs and the Debug Console. When the
 * text does not look like JSON (its first byte after blanks, a byte-order mark and comments
 * is not '{' or '[', or it holds a NUL or another control byte) and does not parse cleanly,
 * its errors are replaced by one that quotes none of the content ("the file is not JSON:
 * it starts with 'A'..." / "...: it holds binary data ...") and root is NULL. Text that
 * looks like JSON is parsed as ls_json_parse does (its messages quote at most a few bytes
 * of content). */
int ls_json_parse_guarded(const char *text, size_t len, ls_json_doc **out);

/* Object lookup: the last member with this key (as JSON.parse would keep), or NULL.
 * Works on NULL and non-object nodes (returns NULL). */
const ls_json *ls_json_get(const ls_json *obj, const char *key);
const ls_json_member *ls_json_get_member(const ls_json *obj, const char *key);

/* The innermost member whose key or value span contains offset, searching from root;
 * *on_key tells which. NULL when none. parent_out (optional) receives the containing object. */
const ls_json_member *ls_json_member_at(const ls_json_doc *doc, size_t offset, int *on_key,
                                        const ls_json **parent_out);

/* Extension: "null", "boolean", "number", "string", "array", "object", "invalid". */
const char *ls_json_kind_name(ls_json_kind kind);

/* Extension: the node whose span is the innermost one containing offset (any kind, array
 * items included), or NULL when offset is outside the root. */
const ls_json *ls_json_node_at(const ls_json_doc *doc, size_t offset);

#define LS_JSON_MAX_DEPTH 512

#endif
