/* query.c: loading from text or a file (read by the bounded reader of config.h), and the
 * read-only queries on a built model that the LSP (hover: value at offset, tensors a key
 * shapes), the debugger (modules a config line configures) and the CLI use. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/model/config.h"
#include "core/model/model_int.h"

/* ---------------------------------------------------------------- loading */

static void offset_to_line_col(const char *text, size_t len, size_t off, int *line, int *col) {
  int l = 1, c = 1;
  for (size_t i = 0; i < off && i < len; i++) {
    if (text[i] == '\n') { l++; c = 1; }
    else c++;
  }
  *line = l;
  *col = c;
}

int ls_model_load(const char *text, size_t len, const char *file, const ls_model_opts *opts,
                  ls_model **out, ls_diag *d) {
  *out = NULL;
  ls_json_doc *doc = NULL;
  const char *fname = file ? file : "config";
  int rc = ls_json_parse_guarded(text, len, &doc); /* quotes nothing of a file that is not JSON */
  if (rc) return ls_diag_set(d, rc, "%s: cannot parse: out of memory", fname);
  if (ls__json_fatal_errors(doc) > 0 || !doc->root) {
    const ls_json_error *first = NULL;
    for (size_t i = 0; i < doc->n_errors && !first; i++)
      if (ls__json_error_fatal(&doc->errors[i])) first = &doc->errors[i];
    size_t off = first ? first->span.start : 0;
    int line, col;
    offset_to_line_col(text, len, off, &line, &col);
    ls_diag_set_at(d, LS_EPARSE, file, (int64_t)off, "%s:%d:%d: invalid JSON: %s", fname, line,
                   col, first ? first->msg : "no value");
    if (d) { d->line = line; d->col = col; }
    ls_json_doc_free(doc);
    return LS_EPARSE;
  }
  ls_model *m = NULL;
  ls_model_opts o = opts ? *opts : (ls_model_opts){0};
  if (!o.path) o.path = file; /* a config without model_type is recognised by its name */
  rc = ls_model_build(doc, &o, &m, d);
  if (rc) {
    ls_json_doc_free(doc);
    ls_diag_prefix(d, "%s: ", fname);
    return rc;
  }
  ((ls__priv *)m->priv)->owned_doc = doc;
  if (m->n_errors) {
    for (size_t i = 0; i < m->n_issues; i++)
      if (m->issues[i].severity == LS_MODEL_SEV_ERROR) {
        const ls_model_issue *is = &m->issues[i];
        int line = 0, col = 0;
        if (is->span.end > 0) offset_to_line_col(text, len, is->span.start, &line, &col);
        if (line)
          ls_diag_set_at(d, LS_EFORMAT, file, (int64_t)is->span.start, "%s:%d:%d: %s", fname, line,
                         col, is->msg);
        else
          ls_diag_set(d, LS_EFORMAT, "%s: %s", fname, is->msg);
        if (d) { d->line = line; d->col = col; }
        break;
      }
    *out = m; /* the caller may still want the issues; it must free */
    return LS_EFORMAT;
  }
  *out = m;
  return 0;
}

int ls_model_load_file(const char *path, const ls_model_opts *opts, ls_model **out, ls_diag *d) {
  *out = NULL;
  char *buf;
  size_t n;
  int rc = ls_config_read_file(path, &buf, &n, d);
  if (rc != LS_OK) return rc;
  return ls_model_load_owned(buf, n, path, opts, out, d);
}

int ls_model_load_owned(char *text, size_t len, const char *file, const ls_model_opts *opts, ls_model **out,
                        ls_diag *d) {
  int rc = ls_model_load(text, len, file, opts, out, d);
  if (*out) ((ls__priv *)(*out)->priv)->owned_text = text;
  else ls_free(text);
  return rc;
}

/* ---------------------------------------------------------------- lookups */

int ls_model_value_index(const ls_model *m, const char *key) {
  return key ? ls__value_index_n(m, key, strlen(key)) : -1;
}

const ls_model_value *ls_model_value_get(const ls_model *m, const char *key) {
  int i = ls_model_value_index(m, key);
  return i < 0 ? NULL : &m->values[i];
}

const ls_model_value *ls_model_value_by_role(const ls_model *m, ls_model_role r) {
  for (size_t i = 0; i < m->n_values; i++)
    if (m->values[i].info->role == r) return &m->values[i];
  return NULL;
}

int ls_model_value_at(const ls_model *m, size_t off) {
  /* the innermost: a key of a nested config (text_config.hidden_size) lies inside the value
   * of its object (text_config) */
  int best = -1;
  size_t best_len = SIZE_MAX;
  for (size_t i = 0; i < m->n_values; i++) {
    const ls_model_value *v = &m->values[i];
    if (!v->present) continue;
    size_t len = v->value_span.end - v->key_span.start;
    if (((off >= v->key_span.start && off < v->key_span.end) ||
         (off >= v->value_span.start && off < v->value_span.end)) && len < best_len) {
      best = (int)i;
      best_len = len;
    }
  }
  return best;
}

int ls_model_module_find(const ls_model *m, const char *name) {
  for (size_t i = 0; i < m->n_modules; i++)
    if (strcmp(m->modules[i].name, name) == 0) return (int)i;
  return -1;
}

int ls_model_tensor_find(const ls_model *m, const char *name) {
  for (size_t i = 0; i < m->n_tensors; i++)
    if (strcmp(m->tensors[i].name, name) == 0) return (int)i;
  return -1;
}

size_t ls_model_key_tensors(const ls_model *m, int key, int *out, size_t cap, int64_t *params) {
  size_t n = 0;
  int64_t p = 0;
  for (size_t i = 0; i < m->n_tensors; i++) {
    if (!ls_model_keyset_has(&m->tensors[i].keys, key)) continue;
    if (n < cap && out) out[n] = (int)i;
    n++;
    if (m->tensors[i].tied_to < 0 && ls__add_i64(p, m->tensors[i].numel, &p)) p = INT64_MAX;
  }
  if (params) *params = p;
  return n;
}

size_t ls_model_key_modules(const ls_model *m, int key, int *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < m->n_modules; i++) {
    if (!ls_model_keyset_has(&m->modules[i].keys, key)) continue;
    int covered = 0;
    for (int a = m->modules[i].parent; a >= 0 && !covered; a = m->modules[a].parent)
      covered = ls_model_keyset_has(&m->modules[a].keys, key);
    if (covered) continue;
    if (n < cap && out) out[n] = (int)i;
    n++;
  }
  return n;
}

/* The roles of the keys that define a module of this kind, by preference (NONE ends): the
 * attention's head count, not the hidden_size all its shapes also read. */
static const ls_model_role *kind_roles(int kind) {
  static const ls_model_role model[] = {LS_MODEL_ROLE_ARCHITECTURES, LS_MODEL_ROLE_MODEL_TYPE, LS_MODEL_ROLE_NONE},
                             attn[] = {LS_MODEL_ROLE_N_HEADS, LS_MODEL_ROLE_NONE},
                             mlp[] = {LS_MODEL_ROLE_INTERMEDIATE, LS_MODEL_ROLE_NONE},
                             expert[] = {LS_MODEL_ROLE_MOE_INTERMEDIATE, LS_MODEL_ROLE_INTERMEDIATE, LS_MODEL_ROLE_NONE},
                             moe[] = {LS_MODEL_ROLE_N_EXPERTS, LS_MODEL_ROLE_NONE}, none[] = {LS_MODEL_ROLE_NONE};
  switch (kind) {
  case LS_MODEL_KIND_MODEL: return model;
  case LS_MODEL_KIND_ATTENTION: return attn;
  case LS_MODEL_KIND_MLP: return mlp;
  case LS_MODEL_KIND_EXPERT: return expert;
  case LS_MODEL_KIND_MOE: case LS_MODEL_KIND_ROUTER: return moe;
  default: return none;
  }
}

/* A key present in the file with one of the module's kind roles, among its keys (the root,
 * whose keys are its children's, may use any key of the config), or -1. */
static int role_key(const ls_model *m, const ls_model_module *md) {
  for (const ls_model_role *r = kind_roles(md->kind); *r != LS_MODEL_ROLE_NONE; r++)
    for (size_t k = 0; k < m->n_values; k++)
      if (m->values[k].present && m->values[k].info->role == *r &&
          (md->kind == LS_MODEL_KIND_MODEL || ls_model_keyset_has(&md->keys, (int)k)))
        return (int)k;
  return -1;
}

int ls_model_module_def_key(const ls_model *m, int module) {
  for (int i = module; i >= 0 && (size_t)i < m->n_modules; i = m->modules[i].parent) {
    const ls_model_module *md = &m->modules[i];
    if (md->def_key >= 0 && m->values[md->def_key].present) return md->def_key;
    /* a ModuleList sits where its entries are counted: its first entry's def_key
     * (num_hidden_layers, num_local_experts); modules are in pre-order */
    const ls_model_module *first = (size_t)i + 1 < m->n_modules ? &m->modules[i + 1] : NULL;
    if (md->kind == LS_MODEL_KIND_LIST && first && first->parent == i && first->def_key >= 0 &&
        m->values[first->def_key].present)
      return first->def_key;
    int rk = role_key(m, md);
    if (rk >= 0) return rk;
    for (size_t k = 0; k < m->n_values; k++)
      if (ls_model_keyset_has(&md->keys, (int)k) && m->values[k].present &&
          m->values[k].info->role != LS_MODEL_ROLE_NONE)
        return (int)k;
  }
  return -1;
}

/* ---------------------------------------------------------------- formatting */

int ls_model_value_format(const ls_model_value *v, char *buf, size_t cap) {
  switch (v->kind) {
  case LS_MODEL_VT_NULL: return snprintf(buf, cap, "null");
  case LS_MODEL_VT_INT: return snprintf(buf, cap, "%lld", (long long)v->i);
  case LS_MODEL_VT_FLOAT: return snprintf(buf, cap, "%.10g", v->f);
  case LS_MODEL_VT_BOOL: return snprintf(buf, cap, "%s", v->i ? "true" : "false");
  case LS_MODEL_VT_STRING: return snprintf(buf, cap, "\"%s\"", v->s ? v->s : "");
  case LS_MODEL_VT_OBJECT: return snprintf(buf, cap, "{...}");
  case LS_MODEL_VT_ARRAY: return snprintf(buf, cap, "[...]");
  default: return snprintf(buf, cap, "?");
  }
}

int ls_model_shape_format(const ls_model_shape *s, int bind, int64_t B, int64_t S, char *buf,
                          size_t cap) {
  size_t n = 0;
  int w = snprintf(buf, cap, "[");
  n = w > 0 ? (size_t)w : 0;
  for (int i = 0; i < s->ndim; i++) {
    const ls_model_dim *d = &s->d[i];
    const char *sep = i ? ", " : "";
    if (d->sym && !bind)
      w = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, "%s%c", sep, d->sym);
    else
      w = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, "%s%lld", sep,
                   (long long)ls_model_dim_bind(*d, B, S));
    n += w > 0 ? (size_t)w : 0;
  }
  w = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, "]");
  n += w > 0 ? (size_t)w : 0;
  return (int)n;
}
