/* document_symbol.c: textDocument/documentSymbol: the outline of a model config, one
 * DocumentSymbol per key with nested objects and arrays as children (rope_scaling, id2label,
 * quantization_config). The detail shows a scalar's text as written. Nesting and children are
 * capped so that a pathological file cannot produce a reply of unbounded size. */
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "lsp/analysis.h"
#include "lsp/render.h"
#include "lsp/server.h"

#define SYM_MAX_DEPTH 16
#define SYM_MAX_CHILDREN 2000

enum { SK_OBJECT = 19, SK_ARRAY = 18, SK_STRING = 15, SK_NUMBER = 16, SK_BOOLEAN = 17, SK_NULL = 21,
       SK_PROPERTY = 7 };

static int sym_kind(ls_json_kind k) {
  switch (k) {
  case LS_JSON_OBJECT: return SK_OBJECT;
  case LS_JSON_ARRAY: return SK_ARRAY;
  case LS_JSON_STRING: return SK_STRING;
  case LS_JSON_NUMBER: return SK_NUMBER;
  case LS_JSON_BOOL: return SK_BOOLEAN;
  case LS_JSON_NULL: return SK_NULL;
  default: return SK_PROPERTY;
  }
}

static json_t *children_of(const lsp_analysis *a, const ls_json *v, int depth, ls_pos_enc enc);

static json_t *symbol(const lsp_analysis *a, const char *name, ls_json_span sel, const ls_json *v, int depth,
                      ls_pos_enc enc) {
  ls_json_span whole = {sel.start, v->span.end > sel.end ? v->span.end : sel.end};
  if (v->span.start < whole.start) whole.start = v->span.start;
  char detail[64] = "";
  if (v->kind != LS_JSON_OBJECT && v->kind != LS_JSON_ARRAY && v->span.end > v->span.start) {
    size_t n = v->span.end - v->span.start;
    if (n > 60) n = 60;
    snprintf(detail, sizeof detail, "%.*s", (int)n, a->cfg.text + v->span.start);
    for (char *c = detail; *c; c++)
      if (*c == '\r' || *c == '\n' || *c == '\t') *c = ' ';
  } else if (v->kind == LS_JSON_OBJECT) {
    snprintf(detail, sizeof detail, "{%zu}", v->u.obj.n);
  } else if (v->kind == LS_JSON_ARRAY) {
    snprintf(detail, sizeof detail, "[%zu]", v->u.arr.n);
  }
  json_t *sym = json_pack("{s:s, s:s, s:i, s:o, s:o}", "name", name[0] ? name : "\"\"", "detail", detail, "kind",
                          sym_kind(v->kind), "range", lsp_render_range(&a->cfg.index, whole, enc), "selectionRange",
                          lsp_render_range(&a->cfg.index, sel, enc));
  if (!sym) return NULL;
  if ((v->kind == LS_JSON_OBJECT || v->kind == LS_JSON_ARRAY) && depth < SYM_MAX_DEPTH) {
    json_t *ch = children_of(a, v, depth + 1, enc);
    if (!ch) { json_decref(sym); return NULL; }
    json_object_set_new(sym, "children", ch);
  }
  return sym;
}

static json_t *children_of(const lsp_analysis *a, const ls_json *v, int depth, ls_pos_enc enc) {
  json_t *arr = json_array();
  if (!arr) return NULL;
  if (v->kind == LS_JSON_OBJECT) {
    for (size_t i = 0; i < v->u.obj.n && i < SYM_MAX_CHILDREN; i++) {
      const ls_json_member *mb = &v->u.obj.members[i];
      json_t *c = symbol(a, mb->key, mb->key_span, mb->value, depth, enc);
      if (!c) { json_decref(arr); return NULL; }
      json_array_append_new(arr, c);
    }
  } else if (v->kind == LS_JSON_ARRAY) {
    for (size_t i = 0; i < v->u.arr.n && i < SYM_MAX_CHILDREN; i++) {
      char name[24];
      snprintf(name, sizeof name, "[%zu]", i);
      json_t *c = symbol(a, name, v->u.arr.items[i]->span, v->u.arr.items[i], depth, enc);
      if (!c) { json_decref(arr); return NULL; }
      json_array_append_new(arr, c);
    }
  }
  return arr;
}

int lsp_on_document_symbol(lsp_server *s, lsp_req *req, json_t *params) {
  lsp_analysis *a = lsp_analysis_for_request(s, req, params, json_null(), lsp_on_document_symbol);
  if (!a) return LS_OK;
  const ls_json *root = a->cfg.doc ? a->cfg.doc->root : NULL;
  json_t *r = root ? children_of(a, root, 0, s->enc) : json_array();
  if (!r) return LS_ENOMEM;
  lsp_reply(s, req, r);
  return LS_OK;
}
