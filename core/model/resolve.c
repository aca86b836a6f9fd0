/* resolve.c: the resolved config. Reads every key the family knows from the parsed JSON
 * (canonical spelling first, then legacy aliases), checks its type, and resolves upstream
 * defaults, which are expressions over other keys evaluated lazily (head_dim defaults to
 * hidden_size / num_attention_heads, n_inner to 4 * n_embd, ...). Each value keeps the key
 * and value spans for the LSP and the set of keys it depends on for the key -> tensor map. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/model/model_int.h"

/* ---------------------------------------------------------------- issues */

int ls__issue_add(ls_model *m, ls_model_severity sev, const char *code, int key,
                  ls_json_span span, const char *fmt, ...) {
  ls__priv *p = m->priv;
  if (m->n_issues == p->cap_issues) {
    size_t nc = p->cap_issues ? p->cap_issues * 2 : 8;
    ls_model_issue *ni = ls_reallocarray(m->issues, nc, sizeof *ni);
    if (!ni) return LS_ENOMEM;
    m->issues = ni;
    p->cap_issues = nc;
  }
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  const char *msg = ls_arena_strndup(&p->arena, buf, strlen(buf));
  if (!msg) return LS_ENOMEM;
  m->issues[m->n_issues++] = (ls_model_issue){sev, code, msg, key, span};
  if (sev == LS_MODEL_SEV_ERROR) m->n_errors++;
  return 0;
}

/* ---------------------------------------------------------------- key lookup */

static int name_in_list(const char *list, const char *name, size_t len) {
  if (!list) return 0;
  const char *s = list;
  while (*s) {
    while (*s == ' ') s++;
    const char *e = s;
    while (*e && *e != ' ') e++;
    if ((size_t)(e - s) == len && e > s && strncmp(s, name, len) == 0) return 1;
    s = e;
  }
  return 0;
}

int ls__value_index_n(const ls_model *m, const char *name, size_t len) {
  for (size_t i = 0; i < m->n_values; i++)
    if (strlen(m->values[i].info->name) == len && strncmp(m->values[i].info->name, name, len) == 0)
      return (int)i;
  for (size_t i = 0; i < m->n_values; i++)
    if (name_in_list(m->values[i].info->aliases, name, len)) return (int)i;
  return -1;
}

/* ---------------------------------------------------------------- reading present values */

static const char *json_kind_name(const ls_json *j) {
  switch (j->kind) {
  case LS_JSON_NULL: return "null";
  case LS_JSON_BOOL: return "a boolean";
  case LS_JSON_NUMBER: return j->u.num.is_integer ? "an integer" : "a number";
  case LS_JSON_STRING: return "a string";
  case LS_JSON_ARRAY: return "an array";
  case LS_JSON_OBJECT: return "an object";
  default: return "an invalid value";
  }
}

/* Text of a JSON value for messages, clipped. */
static void json_excerpt(const ls_model *m, const ls_json *j, char *buf, size_t cap) {
  const ls_json_doc *doc = m->doc;
  size_t a = j->span.start, b = j->span.end;
  if (!doc || b > doc->len || a > b) { snprintf(buf, cap, "?"); return; }
  size_t n = b - a;
  if (n > 40) n = 40;
  snprintf(buf, cap, "%.*s%s", (int)n, doc->text + a, b - a > 40 ? "..." : "");
}

static int read_present(ls_model *m, int idx, const ls_json_member *mem) {
  ls_model_value *v = &m->values[idx];
  const ls_model_keyinfo *k = v->info;
  const ls_json *j = mem->value;
  v->present = 1;
  v->spelling = mem->key;
  v->key_span = mem->key_span;
  v->value_span = j->span;
  v->json = j;
  v->valid = 1;
  char ex[64];
  int strict = (k->flags & (LS_MODEL_KEY_DIM | LS_MODEL_KEY_COUNT)) != 0;
  ls_model_severity sev = strict ? LS_MODEL_SEV_ERROR : LS_MODEL_SEV_WARNING;
  if (j->kind == LS_JSON_INVALID) { v->valid = 0; return 0; } /* syntax error already reported */
  if (j->kind == LS_JSON_NULL) {
    if (k->flags & LS_MODEL_KEY_NULLDEF) return 0; /* valid; the default is resolved later */
    if ((k->flags & LS_MODEL_KEY_NULLABLE) || k->type == LS_MODEL_VT_ANY ||
        k->type == LS_MODEL_VT_OBJECT || k->type == LS_MODEL_VT_NULL) {
      v->kind = LS_MODEL_VT_NULL;
      return 0;
    }
    v->valid = 0;
    return ls__issue_add(m, sev, "bad-type", idx, j->span, "%s is null: expected %s", mem->key,
                         k->type == LS_MODEL_VT_INT ? "an integer" : k->type == LS_MODEL_VT_FLOAT ? "a number"
                         : k->type == LS_MODEL_VT_BOOL ? "true or false" : "a string");
  }
  switch (k->type) {
  case LS_MODEL_VT_INT:
    if (j->kind != LS_JSON_NUMBER) {
      v->valid = 0;
      json_excerpt(m, j, ex, sizeof ex);
      return ls__issue_add(m, sev, "bad-type", idx, j->span,
                           "%s is %s (%s): expected an integer", mem->key, json_kind_name(j), ex);
    }
    if (!j->u.num.is_integer) {
      v->valid = 0;
      json_excerpt(m, j, ex, sizeof ex);
      return ls__issue_add(m, sev, "bad-type", idx, j->span,
                           "%s is %s: expected an integer, not a fractional number", mem->key, ex);
    }
    if (!j->u.num.fits_int64) {
      v->valid = 0;
      json_excerpt(m, j, ex, sizeof ex);
      return ls__issue_add(m, sev, "overflow", idx, j->span,
                           "%s is %s: does not fit in 64 bits", mem->key, ex);
    }
    v->kind = LS_MODEL_VT_INT;
    v->i = j->u.num.int_value;
    v->f = (double)v->i;
    if ((k->flags & LS_MODEL_KEY_DIM) && v->i < 1) {
      v->valid = 0;
      return ls__issue_add(m, LS_MODEL_SEV_ERROR, "bad-dim", idx, j->span,
                           "%s is %lld: a dimension must be at least 1", mem->key, (long long)v->i);
    }
    if ((k->flags & LS_MODEL_KEY_COUNT) && v->i < 0) {
      v->valid = 0;
      return ls__issue_add(m, LS_MODEL_SEV_ERROR, "bad-dim", idx, j->span,
                           "%s is %lld: a count cannot be negative", mem->key, (long long)v->i);
    }
    return 0;
  case LS_MODEL_VT_FLOAT:
    if (j->kind != LS_JSON_NUMBER) {
      v->valid = 0;
      json_excerpt(m, j, ex, sizeof ex);
      return ls__issue_add(m, sev, "bad-type", idx, j->span,
                           "%s is %s (%s): expected a number", mem->key, json_kind_name(j), ex);
    }
    v->kind = LS_MODEL_VT_FLOAT;
    v->f = j->u.num.value;
    v->i = j->u.num.fits_int64 ? j->u.num.int_value : (int64_t)0;
    return 0;
  case LS_MODEL_VT_BOOL:
    if (j->kind != LS_JSON_BOOL) {
      v->valid = 0;
      json_excerpt(m, j, ex, sizeof ex);
      return ls__issue_add(m, sev, "bad-type", idx, j->span,
                           "%s is %s (%s): expected true or false", mem->key, json_kind_name(j), ex);
    }
    v->kind = LS_MODEL_VT_BOOL;
    v->i = j->u.boolean;
    return 0;
  case LS_MODEL_VT_STRING:
    if (j->kind != LS_JSON_STRING) {
      v->valid = 0;
      json_excerpt(m, j, ex, sizeof ex);
      return ls__issue_add(m, sev, "bad-type", idx, j->span,
                           "%s is %s (%s): expected a string", mem->key, json_kind_name(j), ex);
    }
    v->kind = LS_MODEL_VT_STRING;
    v->s = j->u.str.s;
    if (k->enum_values && !name_in_list(k->enum_values, v->s, strlen(v->s)))
      return ls__issue_add(m, LS_MODEL_SEV_WARNING, "bad-value", idx, j->span,
                           "%s is \"%s\": not one of the known values (%s)", mem->key, v->s,
                           k->enum_values);
    return 0;
  case LS_MODEL_VT_OBJECT:
    if (j->kind != LS_JSON_OBJECT) {
      v->valid = 0;
      return ls__issue_add(m, LS_MODEL_SEV_WARNING, "bad-type", idx, j->span,
                           "%s is %s: expected an object or null", mem->key, json_kind_name(j));
    }
    v->kind = LS_MODEL_VT_OBJECT;
    return 0;
  case LS_MODEL_VT_ARRAY:
    if (j->kind != LS_JSON_ARRAY) {
      v->valid = 0;
      return ls__issue_add(m, LS_MODEL_SEV_WARNING, "bad-type", idx, j->span,
                           "%s is %s: expected an array", mem->key, json_kind_name(j));
    }
    v->kind = LS_MODEL_VT_ARRAY;
    return 0;
  default: /* ANY */
    v->kind = j->kind == LS_JSON_NUMBER ? (j->u.num.is_integer && j->u.num.fits_int64 ? LS_MODEL_VT_INT : LS_MODEL_VT_FLOAT)
            : j->kind == LS_JSON_BOOL ? LS_MODEL_VT_BOOL : j->kind == LS_JSON_STRING ? LS_MODEL_VT_STRING
            : j->kind == LS_JSON_ARRAY ? LS_MODEL_VT_ARRAY : j->kind == LS_JSON_OBJECT ? LS_MODEL_VT_OBJECT
            : LS_MODEL_VT_NULL;
    if (v->kind == LS_MODEL_VT_INT) { v->i = j->u.num.int_value; v->f = (double)v->i; }
    if (v->kind == LS_MODEL_VT_FLOAT) v->f = j->u.num.value;
    if (v->kind == LS_MODEL_VT_BOOL) v->i = j->u.boolean;
    if (v->kind == LS_MODEL_VT_STRING) v->s = j->u.str.s;
    return 0;
  }
}

/* The member named by a key: "text_config.hidden_size" is hidden_size inside the object
 * text_config (a nested config; a null or absent object means its class defaults). */
static const ls_json_member *member_at(const ls_json *root, const char *name) {
  const char *dot;
  while ((dot = strchr(name, '.')) != NULL) {
    char part[64];
    size_t n = (size_t)(dot - name);
    if (n >= sizeof part) return NULL;
    memcpy(part, name, n);
    part[n] = 0;
    root = ls_json_get(root, part);
    if (!root || root->kind != LS_JSON_OBJECT) return NULL;
    name = dot + 1;
  }
  return ls_json_get_member(root, name);
}

int ls__values_read(ls_model *m, const ls_json *root) {
  ls__priv *p = m->priv;
  for (size_t i = 0; i < m->n_values; i++) {
    ls_model_value *v = &m->values[i];
    ls__keyset_add(&v->deps, (int)i);
    const ls_json_member *mem = member_at(root, v->info->name);
    if (!mem && v->info->aliases && v->info->aliases[0]) {
      /* aliases in their listed order; the first present wins */
      const char *s = v->info->aliases;
      while (*s && !mem) {
        while (*s == ' ') s++;
        const char *e = s;
        while (*e && *e != ' ') e++;
        char nm[64];
        if (e > s && (size_t)(e - s) < sizeof nm) {
          memcpy(nm, s, (size_t)(e - s));
          nm[e - s] = 0;
          mem = member_at(root, nm);
        }
        s = e;
      }
    }
    if (mem) {
      int rc = read_present(m, (int)i, mem);
      if (rc) return rc;
    }
    int nulldef = mem && mem->value->kind == LS_JSON_NULL && (v->info->flags & LS_MODEL_KEY_NULLDEF);
    p->state[i] = (mem && v->valid && !nulldef) ? 2 : 0;
  }
  return 0;
}

/* ---------------------------------------------------------------- defaults */

static int eval_default(ls_model *m, int idx);

int ls__lookup(void *ctx, const char *name, size_t len, int64_t *val, ls_model_keyset *deps) {
  ls_model *m = ctx;
  ls__priv *p = m->priv;
  for (int i = 0; i < p->n_loopvars; i++)
    if (len == 1 && name[0] == p->loopvar_name[i]) {
      *val = p->loopvar_val[i];
      p->loopvar_used = 1;
      return 0;
    }
  static const struct { const char *n; ls_model_head h; } heads[] = {
      {"head_base", LS_MODEL_HEAD_BASE}, {"head_clm", LS_MODEL_HEAD_CAUSAL_LM},
      {"head_mlm", LS_MODEL_HEAD_MASKED_LM}, {"head_pretrain", LS_MODEL_HEAD_PRETRAINING},
      {"head_seqcls", LS_MODEL_HEAD_SEQ_CLS}, {"head_tokcls", LS_MODEL_HEAD_TOKEN_CLS},
      {"head_qa", LS_MODEL_HEAD_QA}, {"head_imgcls", LS_MODEL_HEAD_IMAGE_CLS},
      {"head_encoder", LS_MODEL_HEAD_ENCODER}};
  for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
    if (strlen(heads[i].n) == len && strncmp(heads[i].n, name, len) == 0) {
      *val = m->head == heads[i].h;
      return 0;
    }
  for (size_t i = 0; i < p->n_derived_done; i++)
    if (strlen(p->fam->derived[i].name) == len && strncmp(p->fam->derived[i].name, name, len) == 0) {
      *val = p->derived_val[i];
      if (deps) ls__keyset_union(deps, &p->derived_deps[i]);
      return 0;
    }
  int idx = ls__value_index_n(m, name, len);
  if (idx < 0) return LS_ENOENT;
  int rc = eval_default(m, idx);
  if (rc) return rc;
  const ls_model_value *v = &m->values[idx];
  if (deps) ls__keyset_union(deps, &v->deps);
  if (v->kind == LS_MODEL_VT_FLOAT) {
    /* a float used where an integer is needed ("1e999", NaN): only in range may it convert
     * (found by fuzz/fuzz_lsp; tests/unit/test_regress_model.c) */
    if (!(v->f >= -9.2e18 && v->f <= 9.2e18)) return LS_EOVERFLOW;
    *val = (int64_t)v->f;
  } else {
    *val = v->i;
  }
  return 0;
}

const char *ls__lookup_str(void *ctx, const char *name, size_t len, ls_model_keyset *deps) {
  ls_model *m = ctx;
  int idx = ls__value_index_n(m, name, len);
  if (idx < 0 || eval_default(m, idx)) return NULL;
  if (deps) ls__keyset_union(deps, &m->values[idx].deps);
  return m->values[idx].kind == LS_MODEL_VT_STRING ? m->values[idx].s : NULL;
}

int ls__in_list(void *ctx, const char *name, size_t len, int64_t x, ls_model_keyset *deps) {
  ls_model *m = ctx;
  int idx = ls__value_index_n(m, name, len);
  if (idx < 0) return 0;
  const ls_model_value *v = &m->values[idx];
  if (deps) ls__keyset_add(deps, idx);
  if (!v->present || !v->json || v->json->kind != LS_JSON_ARRAY) return 0;
  for (size_t i = 0; i < v->json->u.arr.n; i++) {
    const ls_json *it = v->json->u.arr.items[i];
    if (it->kind == LS_JSON_NUMBER && it->u.num.fits_int64 && it->u.num.int_value == x) return 1;
  }
  return 0;
}

int ls__item_is(void *ctx, const char *name, size_t len, int64_t x, const char *lit, size_t lit_len,
                ls_model_keyset *deps) {
  ls_model *m = ctx;
  int idx = ls__value_index_n(m, name, len);
  if (idx < 0) return 0;
  const ls_model_value *v = &m->values[idx];
  if (deps) ls__keyset_add(deps, idx);
  if (!v->present || !v->json || v->json->kind != LS_JSON_ARRAY || x < 0 || (uint64_t)x >= v->json->u.arr.n) return 0;
  const ls_json *it = v->json->u.arr.items[x];
  if (it->kind == LS_JSON_NUMBER && it->u.num.fits_int64) { /* an integer item, by its decimal spelling */
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)it->u.num.int_value);
    return n > 0 && (size_t)n == lit_len && memcmp(num, lit, lit_len) == 0;
  }
  return it->kind == LS_JSON_STRING && it->u.str.len == lit_len && memcmp(it->u.str.s, lit, lit_len) == 0;
}

int ls__present(void *ctx, const char *name, size_t len, ls_model_keyset *deps) {
  ls_model *m = ctx;
  int idx = ls__value_index_n(m, name, len);
  if (idx < 0) return 0;
  if (deps) ls__keyset_add(deps, idx);
  return m->values[idx].present && m->values[idx].valid && m->values[idx].kind != LS_MODEL_VT_NULL;
}

static int eval_default(ls_model *m, int idx) {
  ls__priv *p = m->priv;
  if (p->state[idx] == 2) return 0;
  if (p->state[idx] == 1) return LS_EINVAL; /* cycle in the tables: a programmer error */
  p->state[idx] = 1;
  ls_model_value *v = &m->values[idx];
  const ls_model_keyinfo *k = v->info;
  const char *d = k->default_expr ? k->default_expr : "null";
  int rc = 0;
  /* num_labels defaults to the size of id2label when that is given (PretrainedConfig) */
  if (strcmp(k->name, "num_labels") == 0) {
    int li = ls__value_index_n(m, "id2label", 8);
    if (li >= 0 && m->values[li].json && m->values[li].json->kind == LS_JSON_OBJECT) {
      v->kind = LS_MODEL_VT_INT;
      v->i = (int64_t)m->values[li].json->u.obj.n;
      v->f = (double)v->i;
      ls__keyset_add(&v->deps, li);
      p->state[idx] = 2;
      return 0;
    }
  }
  if (strcmp(d, "null") == 0) {
    v->kind = LS_MODEL_VT_NULL;
  } else if (strcmp(d, "true") == 0 || strcmp(d, "false") == 0) {
    v->kind = LS_MODEL_VT_BOOL;
    v->i = d[0] == 't';
  } else if (d[0] == '"') {
    size_t n = strlen(d);
    v->kind = LS_MODEL_VT_STRING;
    v->s = ls_arena_strndup(&p->arena, d + 1, n >= 2 ? n - 2 : 0);
    if (!v->s) rc = LS_ENOMEM;
  } else if (k->type == LS_MODEL_VT_FLOAT) {
    char *end = NULL;
    double f = strtod(d, &end);
    if (end && *end == 0) {
      v->kind = LS_MODEL_VT_FLOAT;
      v->f = f;
    } else { /* an expression (e.g. query_pre_attn_scalar = head_dim) */
      int64_t x = 0;
      char err[160];
      ls__expr_env env = LS__ENV(m);
      rc = ls__expr_eval(d, &env, &x, &v->deps, err, sizeof err);
      v->kind = LS_MODEL_VT_FLOAT;
      v->f = (double)x;
      v->i = x;
    }
  } else {
    int64_t x = 0;
    char err[160];
    ls__expr_env env = LS__ENV(m);
    rc = ls__expr_eval(d, &env, &x, &v->deps, err, sizeof err);
    if (rc == 0) {
      v->kind = k->type == LS_MODEL_VT_BOOL ? LS_MODEL_VT_BOOL : LS_MODEL_VT_INT;
      v->i = x;
      v->f = (double)x;
    } else if (rc != LS_ENOMEM) {
      /* a default that cannot be computed from bad inputs (their errors are reported) */
      ls__issue_add(m, LS_MODEL_SEV_ERROR, rc == LS_EOVERFLOW ? "overflow" : "bad-value", idx,
                    (ls_json_span){0, 0}, "default of %s (%s) cannot be computed: %s", k->name,
                    d, err);
      rc = 0;
    }
  }
  p->state[idx] = 2;
  return rc;
}

int ls__values_resolve(ls_model *m) {
  for (size_t i = 0; i < m->n_values; i++) {
    int rc = eval_default(m, (int)i);
    if (rc == LS_ENOMEM) return rc;
    if (rc)
      return ls__issue_add(m, LS_MODEL_SEV_ERROR, "bad-value", (int)i, (ls_json_span){0, 0},
                           "default of %s refers to itself", m->values[i].info->name);
  }
  return 0;
}

/* Evaluates the family's derived values in order. */
int ls__derived_eval(ls_model *m) {
  ls__priv *p = m->priv;
  const ls__family *f = p->fam;
  p->n_derived_done = 0;
  for (size_t i = 0; i < f->n_derived && i < LS__MAX_DERIVED; i++) {
    char err[160];
    ls__expr_env env = LS__ENV(m);
    p->derived_deps[i] = (ls_model_keyset){{0, 0}};
    int rc = ls__expr_eval(f->derived[i].expr, &env, &p->derived_val[i], &p->derived_deps[i],
                           err, sizeof err);
    if (rc == LS_ENOMEM) return rc;
    if (rc) {
      p->derived_val[i] = 0;
      int rc2 = ls__issue_add(m, LS_MODEL_SEV_ERROR, rc == LS_EOVERFLOW ? "overflow" : "bad-value",
                              -1, (ls_json_span){0, 0}, "%s (%s) cannot be computed: %s",
                              f->derived[i].name, f->derived[i].expr, err);
      if (rc2) return rc2;
    }
    p->n_derived_done = i + 1;
  }
  return 0;
}
