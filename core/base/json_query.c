/* json_query.c: lookups over a parsed ls_json tree (see json.h): members by key, the member
 * or node at a byte offset (for hovers and completion), kind names. Kept apart from the
 * parser in json.c, which only builds trees. */
#include "core/base/json.h"

#include <string.h>

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
