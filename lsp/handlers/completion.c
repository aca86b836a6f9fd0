/* completion.c: textDocument/completion in a model config.
 *   on a key, or between members of the root object: the keys the family reads (its own,
 *     then the common PretrainedConfig keys) that are not in the file yet, with the key's
 *     meaning and default as documentation; inside a key the whole key token is replaced
 *     (quotes included), between members `"key": <default>` is inserted;
 *   on the value of a key with enumerated values (torch_dtype, hidden_act, ...) and on
 *     rope_scaling's "type" / "rope_type": those values, quoted.
 * Inside a nested config the family reads (gemma3's text_config, vision_config) the same
 * happens with that config's keys. For a type layerscope does not model (or before
 * model_type is written) only the PretrainedConfig keys every config has are offered: its own
 * keys are not known here, and another family's would be guesses.
 * Ranges are exact byte spans of the tolerant parse, so completion works inside an
 * unfinished document too. */
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "lsp/analysis.h"
#include "lsp/render.h"
#include "lsp/server.h"

enum { CK_PROPERTY = 10, CK_ENUM_MEMBER = 20 };

typedef struct cctx {
  lsp_server *s;
  const lsp_analysis *a;
  json_t *items;
} cctx;

/* Byte offset of the ':' after a member's key, or (size_t)-1. */
static size_t colon_after(const lsp_analysis *a, const ls_json_member *mb) {
  size_t p = mb->key_span.end;
  while (p < a->cfg.len && (a->cfg.text[p] == ' ' || a->cfg.text[p] == '\t' || a->cfg.text[p] == '\r' || a->cfg.text[p] == '\n')) p++;
  return p < a->cfg.len && a->cfg.text[p] == ':' ? p : (size_t)-1;
}

static int add_item(cctx *c, const char *label, int kind, const char *detail, json_t *doc, ls_json_span range,
                    const char *new_text, const char *sort) {
  const lsp_analysis *a = c->a;
  /* The client filters on the text from the start of the range to the cursor: a range that
   * starts at a quote needs a filter text that starts with one. */
  char filter[192];
  int quoted = range.start < a->cfg.len && a->cfg.text[range.start] == '"';
  snprintf(filter, sizeof filter, "%s%s", quoted ? "\"" : "", label);
  json_t *it = json_pack("{s:s, s:i, s:s, s:s, s:s, s:{s:o, s:s}}", "label", label, "kind", kind, "detail", detail,
                         "sortText", sort, "filterText", filter, "textEdit", "range",
                         lsp_render_range(&a->cfg.index, range, c->s->enc), "newText", new_text);
  if (!it) { json_decref(doc); return LS_ENOMEM; }
  if (doc) json_object_set_new(it, "documentation", doc);
  json_array_append_new(c->items, it);
  return LS_OK;
}

static const char *vtype_name(ls_model_vtype t) {
  switch (t) {
  case LS_MODEL_VT_INT: return "integer";
  case LS_MODEL_VT_FLOAT: return "number";
  case LS_MODEL_VT_BOOL: return "boolean";
  case LS_MODEL_VT_STRING: return "string";
  case LS_MODEL_VT_OBJECT: return "object";
  case LS_MODEL_VT_ARRAY: return "array";
  case LS_MODEL_VT_NULL: return "null";
  default: return "any";
  }
}

/* A default that is a JSON literal can be inserted as the value; an expression cannot. */
static const char *literal_default(const ls_model_keyinfo *ki) {
  const char *d = ki->default_expr;
  if (!d) return "null";
  if (d[0] == '"' || strcmp(d, "true") == 0 || strcmp(d, "false") == 0 || strcmp(d, "null") == 0) return d;
  for (const char *p = d; *p; p++)
    if (!strchr("0123456789.eE+-", *p)) return NULL;
  return d;
}

/* Separators a whole member inserted at off needs so that the object stays valid JSON:
 * a comma before it unless it follows '{' or ',', one after it when another member follows. */
static void member_separators(const lsp_analysis *a, size_t off, const char **pre, const char **post) {
  size_t p = off;
  while (p > 0 && strchr(" \t\r\n", a->cfg.text[p - 1])) p--;
  *pre = p > 0 && a->cfg.text[p - 1] != '{' && a->cfg.text[p - 1] != ',' ? ", " : "";
  p = off;
  while (p < a->cfg.len && strchr(" \t\r\n", a->cfg.text[p])) p++;
  *post = p < a->cfg.len && a->cfg.text[p] == '"' ? "," : "";
}

/* The keys of one level: `prefix` is "" for the root or "text_config." for a nested config,
 * whose keys are named with it in the family's table; keys of other levels are skipped. */
static int add_keys(cctx *c, const ls_model_keyinfo *keys, size_t n, const char *prefix, const ls_json *obj,
                    ls_json_span range, int full_member, const char *sort_prefix, const char *current) {
  const char *pre = "", *post = "";
  size_t plen = strlen(prefix);
  if (full_member) member_separators(c->a, range.start, &pre, &post);
  for (size_t i = 0; i < n; i++) {
    const ls_model_keyinfo *ki = &keys[i];
    if (strncmp(ki->name, prefix, plen) != 0) continue;
    const char *name = ki->name + plen;
    if (strchr(name, '.')) continue;
    if (ls_json_get(obj, name) && !(current && strcmp(current, name) == 0)) continue;
    char text[256], detail[160], sort[96];
    if (full_member) {
      const char *lit = literal_default(ki);
      snprintf(text, sizeof text, "%s\"%s\": %s%s", pre, name, lit ? lit : "", post);
    } else {
      snprintf(text, sizeof text, "\"%s\"", name);
    }
    snprintf(detail, sizeof detail, "%s · default %s", vtype_name(ki->type), ki->default_expr ? ki->default_expr : "null");
    snprintf(sort, sizeof sort, "%s%s", sort_prefix, name);
    lsp_md b = {0};
    lsp_render_key_doc(ki, &b);
    if (add_item(c, name, CK_PROPERTY, detail, lsp_md_take(&b), range, text, sort)) return LS_ENOMEM;
  }
  return LS_OK;
}

static int add_values(cctx *c, const char *values, const char *detail, const ls_json *cur, size_t off) {
  /* Replace the current value when it is a string or an unreadable token; else insert. */
  ls_json_span range = {off, off};
  if (cur && (cur->kind == LS_JSON_STRING || cur->kind == LS_JSON_INVALID) && cur->span.end > cur->span.start &&
      cur->span.start <= off && off <= cur->span.end)
    range = cur->span;
  int i = 0;
  for (const char *p = values; *p;) {
    while (*p == ' ') p++;
    const char *e = p;
    while (*e && *e != ' ') e++;
    if (e > p) {
      char label[64], text[72], sort[16];
      snprintf(label, sizeof label, "%.*s", (int)(e - p), p);
      /* right after the colon (the ':' trigger): keep the file's "key": value spacing */
      int space = range.start == range.end && off > 0 && c->a->cfg.text[off - 1] == ':';
      snprintf(text, sizeof text, "%s\"%s\"", space ? " " : "", label);
      snprintf(sort, sizeof sort, "%03d", i++);
      if (add_item(c, label, CK_ENUM_MEMBER, detail, NULL, range, text, sort)) return LS_ENOMEM;
    }
    p = e;
  }
  return LS_OK;
}

static int in_value(const lsp_analysis *a, const ls_json_member *mb, size_t off, size_t next_start) {
  size_t colon = colon_after(a, mb);
  if (colon == (size_t)-1 || off <= colon) return 0;
  if (mb->value->kind != LS_JSON_INVALID && mb->value->span.end > mb->value->span.start)
    return off <= mb->value->span.end;
  return off <= next_start;
}

/* Whether the family reads the member `name` as a nested config (keys "name.<key>"). */
static int is_nested_config(const ls_model_keyinfo *fk, size_t nf, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < nf; i++)
    if (strncmp(fk[i].name, name, len) == 0 && fk[i].name[len] == '.') return 1;
  return 0;
}

/* Completion at off inside the object obj, a config of keys named `prefix`<key>. */
static int complete_object(cctx *c, ls_model_family fam, const ls_json *obj, const char *prefix, size_t off) {
  const lsp_analysis *a = c->a;
  size_t nf = 0, nc;
  const ls_model_keyinfo *fk = ls_model_family_keys(fam, &nf);
  const ls_model_keyinfo *ck = ls_model_common_keys(&nc);
  for (size_t i = 0; i < obj->u.obj.n; i++) {
    const ls_json_member *mb = &obj->u.obj.members[i];
    size_t next = i + 1 < obj->u.obj.n ? obj->u.obj.members[i + 1].key_span.start : obj->span.end;
    if (off > mb->key_span.start && off <= mb->key_span.end) {
      if (add_keys(c, fk, nf, prefix, obj, mb->key_span, 0, "0", mb->key)) return LS_ENOMEM;
      return add_keys(c, ck, nc, "", obj, mb->key_span, 0, "1", mb->key);
    }
    if (!in_value(a, mb, off, next)) continue;
    char path[160];
    int len = snprintf(path, sizeof path, "%s%s", prefix, mb->key);
    if (len < 0 || (size_t)len >= sizeof path) return LS_OK;
    const ls_json *v = mb->value;
    if (v->kind == LS_JSON_OBJECT && off > v->span.start && off < v->span.end && is_nested_config(fk, nf, path)) {
      char inner[164];
      snprintf(inner, sizeof inner, "%s.", path);
      return complete_object(c, fam, v, inner, off);
    }
    /* the family's key, or a common one (torch_dtype) at any level */
    const ls_model_keyinfo *ki = ls_model_family_key_find(fam, path);
    if (!ki && prefix[0]) ki = ls_model_family_key_find(LS_MODEL_FAMILY_UNKNOWN, mb->key);
    if (ki && ki->enum_values) return add_values(c, ki->enum_values, ki->name, v, off);
    if (ki && ki->role == LS_MODEL_ROLE_ROPE_SCALING && v->kind == LS_JSON_OBJECT) {
      for (size_t j = 0; j < v->u.obj.n; j++) {
        const ls_json_member *rm = &v->u.obj.members[j];
        size_t rnext = j + 1 < v->u.obj.n ? v->u.obj.members[j + 1].key_span.start : v->span.end;
        if ((strcmp(rm->key, "type") == 0 || strcmp(rm->key, "rope_type") == 0) && in_value(a, rm, off, rnext))
          return add_values(c, LS_MODEL_ROPE_TYPES, "rope_scaling type", rm->value, off);
      }
    }
    return LS_OK;
  }
  /* Between members: whole `"key": default` members. */
  ls_json_span here = {off, off};
  if (add_keys(c, fk, nf, prefix, obj, here, 1, "0", NULL)) return LS_ENOMEM;
  return add_keys(c, ck, nc, "", obj, here, 1, "1", NULL);
}

static int complete(cctx *c, size_t off) {
  const lsp_analysis *a = c->a;
  const ls_json *root = a->cfg.doc->root;
  if (!root || root->kind != LS_JSON_OBJECT || off <= root->span.start || off > root->span.end) return LS_OK;
  /* A family layerscope models (named or inferred); a type it does not model, read or not
   * as a generic decoder, has no keys known here. */
  const ls_model *m = a->cfg.model;
  ls_model_family fam = m && (m->reading == LS_MODEL_READING_EXACT || m->reading == LS_MODEL_READING_INFERRED)
                            ? m->family : LS_MODEL_FAMILY_UNKNOWN;
  return complete_object(c, fam, root, "", off);
}

int lsp_on_completion(lsp_server *s, lsp_req *req, json_t *params) {
  ls_pos p;
  if (lsp_param_pos(s, req, params, "position", &p)) return LS_EINVAL;
  lsp_analysis *a = lsp_analysis_for_request(s, req, params, json_null(), lsp_on_completion);
  if (!a) return LS_OK;
  cctx c = {s, a, json_array()};
  if (!c.items) return LS_ENOMEM;
  if (a->cfg.doc && complete(&c, lsp_analysis_offset(a, p, s->enc)) != LS_OK) {
    json_decref(c.items);
    return LS_ENOMEM;
  }
  lsp_reply(s, req, json_pack("{s:b, s:o}", "isIncomplete", 0, "items", c.items));
  return LS_OK;
}
