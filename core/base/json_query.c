/* json_query.c: what callers do around the parser of json.c (see json.h): parsing file text
 * that may not be JSON at all without quoting it back, and lookups over a parsed tree:
 * members by key, the member or node at a byte offset (for hovers and completion), kind
 * names. Kept apart from the parser in json.c, which only builds trees. */
#include "core/base/json.h"

#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"

/* ---- files that may not be JSON --------------------------------------------------------- */

/* Offset of the first byte after blanks, byte-order marks and comments (len when none). */
static size_t first_content(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') i++;
    else if (len - i >= 3 && s[i] == 0xef && s[i + 1] == 0xbb && s[i + 2] == 0xbf) i += 3;
    else if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') { while (i < len && s[i] != '\n') i++; }
    else if (len - i >= 2 && s[i] == '/' && s[i + 1] == '*') {
      const unsigned char *e = NULL;
      for (size_t k = i + 2; k + 1 < len && !e; k++) if (s[k] == '*' && s[k + 1] == '/') e = s + k;
      i = e ? (size_t)(e - s) + 2 : len;
    } else break;
  }
  return i;
}

int ls_json_parse_guarded(const char *text, size_t len, ls_json_doc **out) {
  int rc = ls_json_parse(text, len, out);
  ls_json_doc *doc = *out;
  if (rc != LS_OK || doc->n_errors == 0) return rc;
  const unsigned char *s = (const unsigned char *)doc->text;
  size_t first = first_content(s, doc->len), ctl = doc->len;
  for (size_t i = 0; i < doc->len && ctl == doc->len; i++)
    if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') ctl = i;
  if (ctl == doc->len && first < doc->len && (s[first] == '{' || s[first] == '[')) return LS_OK;
  if (first == doc->len && ctl == doc->len) return LS_OK; /* blank: "the document is empty" says it */
  ls_json_error *e = &doc->errors[0];
  memset(e, 0, sizeof *e);
  e->kind = LS_JSON_ERR_SYNTAX;
  if (ctl < doc->len) {
    e->span.start = ctl;
    snprintf(e->msg, sizeof e->msg, "the file is not JSON: it holds binary data (control byte 0x%02x at "
             "offset %zu)", s[ctl], ctl);
  } else {
    e->span.start = first;
    char c[16];
    if (s[first] > 0x20 && s[first] < 0x7f) snprintf(c, sizeof c, "'%c'", s[first]);
    else snprintf(c, sizeof c, "byte 0x%02x", s[first]);
    snprintf(e->msg, sizeof e->msg, "the file is not JSON: it starts with %s where a JSON config "
             "starts with '{'", c);
  }
  e->span.end = e->span.start + 1;
  doc->n_errors = 1;
  doc->root = NULL;
  return LS_OK;
}

/* ---- lookups ---------------------------------------------------------------------------- */

const ls_json_member *ls_json_get_member(const ls_json *obj, const char *key) {
  if (!obj || obj->kind != LS_JSON_OBJECT || !key) return NULL;
  size_t n = strlen(key);
  for (size_t i = obj->u.obj.n; i-- > 0;) {
    const ls_json_member *m = &obj->u.obj.members[i];
    if (m->key_len == n && memcmp(m->key, key, n) == 0) return m;
  }
  return NULL;
}

const ls_json *ls_json_get(const ls_json *obj, const char *key) {
  const ls_json_member *m = ls_json_get_member(obj, key);
  return m ? m->value : NULL;
}

static int span_has(ls_json_span s, size_t off) { return off >= s.start && off < s.end; }

const ls_json_member *ls_json_member_at(const ls_json_doc *doc, size_t offset, int *on_key,
                                        const ls_json **parent_out) {
  const ls_json_member *best = NULL;
  const ls_json *best_parent = NULL;
  int best_on_key = 0;
  const ls_json *node = doc ? doc->root : NULL;
  /* Walk down: at each container, follow the child containing offset. Iterative, so deep
   * documents cost no stack. */
  while (node && span_has(node->span, offset)) {
    const ls_json *next = NULL;
    if (node->kind == LS_JSON_OBJECT) {
      for (size_t i = 0; i < node->u.obj.n; i++) {
        const ls_json_member *m = &node->u.obj.members[i];
        if (span_has(m->key_span, offset)) {
          best = m, best_parent = node, best_on_key = 1;
          break;
        }
        if (span_has(m->value->span, offset)) {
          best = m, best_parent = node, best_on_key = 0;
          next = m->value;
          break;
        }
      }
    } else if (node->kind == LS_JSON_ARRAY) {
      for (size_t i = 0; i < node->u.arr.n; i++)
        if (span_has(node->u.arr.items[i]->span, offset)) { next = node->u.arr.items[i]; break; }
    }
    node = next;
  }
  if (on_key) *on_key = best_on_key;
  if (parent_out) *parent_out = best_parent;
  return best;
}

const ls_json *ls_json_node_at(const ls_json_doc *doc, size_t offset) {
  const ls_json *node = doc ? doc->root : NULL, *best = NULL;
  while (node && span_has(node->span, offset)) {
    best = node;
    const ls_json *next = NULL;
    if (node->kind == LS_JSON_OBJECT) {
      for (size_t i = 0; i < node->u.obj.n && !next; i++)
        if (span_has(node->u.obj.members[i].value->span, offset))
          next = node->u.obj.members[i].value;
    } else if (node->kind == LS_JSON_ARRAY) {
      for (size_t i = 0; i < node->u.arr.n && !next; i++)
        if (span_has(node->u.arr.items[i]->span, offset)) next = node->u.arr.items[i];
    }
    node = next;
  }
  return best;
}

const char *ls_json_kind_name(ls_json_kind kind) {
  switch (kind) {
  case LS_JSON_NULL: return "null";
  case LS_JSON_BOOL: return "boolean";
  case LS_JSON_NUMBER: return "number";
  case LS_JSON_STRING: return "string";
  case LS_JSON_ARRAY: return "array";
  case LS_JSON_OBJECT: return "object";
  case LS_JSON_INVALID: return "invalid";
  }
  return "invalid";
}
