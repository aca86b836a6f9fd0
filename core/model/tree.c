/* tree.c: the module tree. Interprets a family's template rows (family.h) against the
 * resolved config: opens modules, repeats layer and expert blocks, evaluates every tensor
 * shape and activation shape as an expression, and records which keys each one read. Names
 * are joined exactly as PyTorch's named_modules()/state_dict() join them, and tensors are
 * emitted in state_dict order (a module's own parameters, then its children's). */
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/model/model_int.h"

/* Expressions that do not read a loop variable give the same value in every layer, so
 * their results are cached by the address of their (static) source text: a 126-layer model
 * evaluates each template expression once instead of 126 times. */
#define CACHE_N 1024
typedef struct ecache {
  const char *src;        /* NULL: empty slot */
  int is_shape;
  int64_t v;
  ls_model_shape sh;
  ls_model_keyset deps;
} ecache;

typedef struct tb {
  ls_model *m;
  ls__expr_env env;
  ecache *cache;          /* [CACHE_N] */
  char err[200];
} tb;

static ecache *cache_slot(tb *t, const char *src, int is_shape, int *hit) {
  size_t h = ((uintptr_t)src >> 3) * 2654435761u % CACHE_N;
  for (size_t k = 0; k < 8; k++) {
    ecache *e = &t->cache[(h + k) % CACHE_N];
    if (e->src == src && e->is_shape == is_shape) { *hit = 1; return e; }
    if (!e->src) { *hit = 0; return e; }
  }
  *hit = 0;
  return NULL;
}

static int eval(tb *t, const char *expr, int64_t *out, ls_model_keyset *deps) {
  int hit = 0;
  ecache *e = t->cache ? cache_slot(t, expr, 0, &hit) : NULL;
  if (hit) {
    *out = e->v;
    if (deps) ls__keyset_union(deps, &e->deps);
    return 0;
  }
  ls__priv *p = t->m->priv;
  ls_model_keyset local = {{0, 0}};
  p->loopvar_used = 0;
  int rc = ls__expr_eval(expr, &t->env, out, &local, t->err, sizeof t->err);
  if (deps) ls__keyset_union(deps, &local);
  if (rc == 0 && e && !p->loopvar_used) *e = (ecache){expr, 0, *out, {0, {{0, 0}}}, local};
  return rc;
}

/* Names the keys of a set for messages: "hidden_size, num_attention_heads". */
static void keys_text(const ls_model *m, const ls_model_keyset *ks, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  for (size_t i = 0; i < m->n_values && n + 1 < cap; i++)
    if (ls_model_keyset_has(ks, (int)i) && m->values[i].present) {
      char val[48];
      ls_model_value_format(&m->values[i], val, sizeof val);
      int w = snprintf(buf + n, cap - n, "%s%s=%s", n ? ", " : "", m->values[i].spelling, val);
      if (w < 0 || (size_t)w >= cap - n) break;
      n += (size_t)w;
    }
  if (n == 0) snprintf(buf, cap, "(defaults)");
}

static int add_error(tb *t, int rc, const char *what, const ls_model_keyset *ks) {
  if (rc == LS_ENOMEM) return rc;
  char kt[256];
  keys_text(t->m, ks, kt, sizeof kt);
  /* point the issue at the first present key involved, so editors underline it */
  int key = -1;
  ls_json_span span = {0, 0};
  for (size_t i = 0; i < t->m->n_values; i++)
    if (ls_model_keyset_has(ks, (int)i) && t->m->values[i].present) {
      key = (int)i;
      span = t->m->values[i].value_span;
      break;
    }
  return ls__issue_add(t->m, LS_MODEL_SEV_ERROR, rc == LS_EOVERFLOW ? "overflow" : "bad-value",
                       key, span, "%s: %s (keys involved: %s)", what, t->err, kt);
}

static int parse_shape_raw(tb *t, const char *src, ls_model_shape *out, ls_model_keyset *deps);

static int parse_shape(tb *t, const char *src, ls_model_shape *out, ls_model_keyset *deps) {
  memset(out, 0, sizeof *out);
  if (!src) return 0;
  int hit = 0;
  ecache *e = t->cache ? cache_slot(t, src, 1, &hit) : NULL;
  if (hit) {
    *out = e->sh;
    ls__keyset_union(deps, &e->deps);
    return 0;
  }
  ls__priv *p = t->m->priv;
  ls_model_keyset local = {{0, 0}};
  p->loopvar_used = 0;
  int rc = parse_shape_raw(t, src, out, &local);
  ls__keyset_union(deps, &local);
  if (rc == 0 && e && !p->loopvar_used) *e = (ecache){src, 1, 0, *out, local};
  return rc;
}

static int parse_shape_raw(tb *t, const char *src, ls_model_shape *out, ls_model_keyset *deps) {
  const char *s = src;
  while (*s) {
    while (*s == ' ') s++;
    const char *e = s;
    int depth = 0;
    while (*e && (depth > 0 || *e != ',')) {
      if (*e == '(') depth++;
      if (*e == ')') depth--;
      e++;
    }
    if (out->ndim >= 5) return LS_EINVAL;
    char dim[160];
    size_t n = (size_t)(e - s);
    while (n > 0 && s[n - 1] == ' ') n--;
    if (n >= sizeof dim) return LS_EINVAL;
    memcpy(dim, s, n);
    dim[n] = 0;
    ls_model_dim *d = &out->d[out->ndim++];
    if (strcmp(dim, "B") == 0 || strcmp(dim, "S") == 0) {
      d->sym = dim[0];
    } else {
      /* not eval(): dim is a stack copy, its address says nothing about its text */
      int rc = ls__expr_eval(dim, &t->env, &d->n, deps, t->err, sizeof t->err);
      if (rc) return rc;
    }
    s = *e ? e + 1 : e;
  }
  return 0;
}

static int module_push(tb *t, int parent, const char *leaf, const char *type, ls_model_kind kind) {
  ls_model *m = t->m;
  ls__priv *p = m->priv;
  if (m->n_modules >= LS__MAX_MODULES) return LS_ELIMIT;
  if (m->n_modules == p->cap_modules) {
    size_t nc = p->cap_modules ? p->cap_modules * 2 : 256;
    ls_model_module *nm = ls_reallocarray(m->modules, nc, sizeof *nm);
    if (!nm) return LS_ENOMEM;
    m->modules = nm;
    p->cap_modules = nc;
  }
  int idx = (int)m->n_modules++;
  ls_model_module *md = &m->modules[idx];
  memset(md, 0, sizeof *md);
  md->parent = parent;
  md->first_child = md->next_sibling = -1;
  md->layer = p->cur_layer;
  md->expert = p->cur_expert;
  md->first_tensor = (int)m->n_tensors;
  md->kind = kind;
  md->def_key = -1;
  const char *pre = m->architecture ? ls_model_family_class_prefix(p->fam->id) : "";
  if (m->family == LS_MODEL_FAMILY_UNKNOWN) pre = "Llama";
  /* type: "{C}" is the class prefix */
  const char *c = type ? strstr(type, "{C}") : NULL;
  md->type = c ? ls_arena_sprintf(&p->arena, "%.*s%s%s", (int)(c - type), type, pre, c + 3)
               : (type ? type : "");
  md->leaf = leaf ? ls_arena_strndup(&p->arena, leaf, strlen(leaf)) : "";
  if (parent < 0 || m->modules[parent].name[0] == 0)
    md->name = md->leaf;
  else
    md->name = ls_arena_sprintf(&p->arena, "%s.%s", m->modules[parent].name, md->leaf);
  if (!md->type || !md->leaf || !md->name) return LS_ENOMEM;
  md->per_image = kind == LS_MODEL_KIND_VISION || (parent >= 0 && m->modules[parent].per_image);
  md->mtp = kind == LS_MODEL_KIND_MTP || (parent >= 0 && m->modules[parent].mtp);
  if (parent >= 0) {
    ls_model_module *pm = &m->modules[parent];
    md->depth = pm->depth + 1;
    if (pm->first_child < 0) {
      pm->first_child = idx;
    } else {
      /* Modules are added in pre-order, so the previous sibling is the module just before
       * this one or one of its ancestors: climbing from idx - 1 costs the depth, where
       * walking the sibling list cost its length (quadratic for 100k experts or layers,
       * found by fuzz/fuzz_model; tests/unit/test_regress_model.c). */
      int s = idx - 1;
      while (s >= 0 && m->modules[s].parent != parent) s = m->modules[s].parent;
      if (s < 0 || m->modules[s].next_sibling >= 0) /* not built in pre-order: walk the list */
        for (s = pm->first_child; m->modules[s].next_sibling >= 0;) s = m->modules[s].next_sibling;
      m->modules[s].next_sibling = idx;
    }
  }
  return idx;
}

static int add_keys_list(tb *t, const char *list, ls_model_keyset *ks) {
  if (!list) return 0;
  const char *s = list;
  while (*s) {
    while (*s == ' ') s++;
    const char *e = s;
    while (*e && *e != ' ') e++;
    if (e > s) {
      int64_t v;
      /* a key, or a derived name: lookup records the keys it stands for */
      if (ls__lookup(t->m, s, (size_t)(e - s), &v, ks) == LS_ENOMEM) return LS_ENOMEM;
    }
    s = e;
  }
  return 0;
}

static int tensor_push(tb *t, int mod, const ls__frow *r, ls_model_keyset cond_deps) {
  ls_model *m = t->m;
  ls__priv *p = m->priv;
  if (m->n_tensors == p->cap_tensors) {
    size_t nc = p->cap_tensors ? p->cap_tensors * 2 : 256;
    ls_model_tensor *nt = ls_reallocarray(m->tensors, nc, sizeof *nt);
    if (!nt) return LS_ENOMEM;
    m->tensors = nt;
    p->cap_tensors = nc;
  }
  ls_model_tensor *tt = &m->tensors[m->n_tensors];
  memset(tt, 0, sizeof *tt);
  tt->keys = cond_deps;
  tt->module = mod;
  tt->layer = p->cur_layer;
  tt->expert = p->cur_expert;
  tt->tied_to = -1;
  tt->leaf = r->name;
  const ls_model_module *md = &m->modules[mod];
  tt->name = md->name[0] ? ls_arena_sprintf(&p->arena, "%s.%s", md->name, r->name) : r->name;
  if (!tt->name) return LS_ENOMEM;
  ls_model_shape sh;
  int rc = parse_shape(t, r->shape, &sh, &tt->keys);
  if (rc) {
    char what[300];
    snprintf(what, sizeof what, "shape of %s", tt->name);
    return add_error(t, rc, what, &tt->keys);
  }
  tt->ndim = sh.ndim;
  tt->numel = 1;
  for (int i = 0; i < sh.ndim && i < 4; i++) {
    tt->shape[i] = sh.d[i].n;
    if (tt->shape[i] < 1 || ls__mul_i64(tt->numel, tt->shape[i], &tt->numel)) {
      char kt[256];
      keys_text(m, &tt->keys, kt, sizeof kt);
      int key = -1;
      ls_json_span span = {0, 0};
      for (size_t k = 0; k < m->n_values; k++)
        if (ls_model_keyset_has(&tt->keys, (int)k) && m->values[k].present) {
          key = (int)k;
          span = m->values[k].value_span;
          break;
        }
      return ls__issue_add(m, LS_MODEL_SEV_ERROR, tt->shape[i] < 1 ? "bad-dim" : "overflow", key, span,
                           tt->shape[i] < 1 ? "%s would have dimension %lld (%s): sizes must be positive (keys: %s)"
                                            : "%s: element count overflows 64 bits at dimension %lld (%s) (keys: %s)",
                           tt->name, (long long)tt->shape[i], r->shape, kt);
    }
  }
  tt->dtype = p->dtype;
  tt->mtp = md->mtp;
  if (r->in && strcmp(r->in, "buffer") == 0) tt->buffer = 1;
  if (r->in && strncmp(r->in, "stacked:", 8) == 0 && (rc = eval(t, r->in + 8, &tt->stacked, &tt->keys)) != 0)
    return add_error(t, rc, "expert count", &tt->keys);
  if (r->arg) {
    int64_t tie = 1;
    if (r->keys && (rc = eval(t, r->keys, &tie, &tt->keys)) != 0)
      return add_error(t, rc, "tie condition", &tt->keys);
    if (tie) {
      const char *pre = m->base_prefix;
      const char *c = strstr(r->arg, "{P}");
      char target[256];
      if (c)
        snprintf(target, sizeof target, "%.*s%s%s", (int)(c - r->arg), r->arg, pre, c + 3);
      else
        snprintf(target, sizeof target, "%s", r->arg);
      for (size_t i = m->n_tensors; i-- > 0;)
        if (strcmp(m->tensors[i].name, target) == 0) { tt->tied_to = (int)i; break; }
      if (tt->tied_to < 0 && p->n_pend < (int)(sizeof p->pend_tensor / sizeof p->pend_tensor[0])) {
        p->pend_target[p->n_pend] = ls_arena_strndup(&p->arena, target, strlen(target));
        if (!p->pend_target[p->n_pend]) return LS_ENOMEM;
        p->pend_tensor[p->n_pend++] = (int)m->n_tensors;
      }
    }
  }
  ls__keyset_union(&m->modules[mod].keys, &tt->keys);
  /* templates list a module's parameters before its children, so they are contiguous */
  if (m->modules[mod].n_tensors == 0) m->modules[mod].first_tensor = (int)m->n_tensors;
  m->modules[mod].n_tensors++;
  m->n_tensors++;
  return 0;
}

/* Finds the row index closing the module/loop opened at rows[i]. */
static size_t match_close(const ls__frow *rows, size_t n, size_t i) {
  int depth = 0;
  for (size_t j = i; j < n; j++) {
    char op = rows[j].op;
    if (op == 'M' || op == 'L') depth++;
    if (op == 'E' || op == 'N') {
      if (--depth == 0) return j;
    }
  }
  return n;
}

static int run_rows(tb *t, const ls__frow *rows, size_t n, int parent);

static int open_module(tb *t, const ls__frow *r, int parent, const char *leaf, ls_model_keyset deps) {
  ls_model *m = t->m;
  int idx = module_push(t, parent, leaf, r->type, r->kind);
  if (idx < 0) return idx;
  ls_model_module *md = &m->modules[idx];
  md->keys = deps;
  int rc = parse_shape(t, r->shape, &md->out, &md->shape_keys);
  ls__keyset_union(&md->keys, &md->shape_keys);
  if (rc == 0 && r->in) rc = parse_shape(t, r->in, &md->in, &md->keys);
  else md->in = md->out;
  if (rc == 0) rc = add_keys_list(t, r->keys, &md->keys);
  if (rc == 0 && r->kind == LS_MODEL_KIND_ATTENTION && r->arg) {
    /* "d_attn | kv | window | cross [| d_v | latent]" */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", r->arg);
    int64_t vals[6] = {0, 0, 0, 0, -1, 0};
    char *save = NULL, *tok = strtok_r(buf, "|", &save);
    /* not eval(): tok points into a stack copy, whose address says nothing about its text
     * (two attention rows at the same stack depth would share cache entries) */
    for (int k = 0; k < 6 && tok && rc == 0; k++, tok = strtok_r(NULL, "|", &save))
      rc = ls__expr_eval(tok, &t->env, &vals[k], &md->keys, t->err, sizeof t->err);
    md->attn_dim = vals[0];
    md->attn_kv_dim = vals[1];
    md->attn_window = vals[2];
    md->cross = vals[3] != 0;
    md->attn_v_dim = vals[4] >= 0 ? vals[4] : vals[0];
    md->attn_latent = vals[5];
  }
  if (rc == 0 && r->kind == LS_MODEL_KIND_SSM && r->arg)
    rc = ls__expr_eval(r->arg, &t->env, &md->ssm_state, &md->keys, t->err, sizeof t->err);
  if (rc) {
    char what[300];
    snprintf(what, sizeof what, "module %s", md->name);
    int rc2 = add_error(t, rc, what, &md->keys);
    return rc2 ? rc2 : -2;
  }
  return idx;
}

static int run_rows(tb *t, const ls__frow *rows, size_t n, int parent) {
  ls_model *m = t->m;
  ls__priv *p = m->priv;
  for (size_t i = 0; i < n; i++) {
    const ls__frow *r = &rows[i];
    ls_model_keyset cdeps = {{0, 0}};
    int64_t c = 1;
    int rc = 0;
    if (r->cond && (rc = eval(t, r->cond, &c, &cdeps)) != 0)
      return add_error(t, rc, "condition", &cdeps);
    switch (r->op) {
    case 'P':
      if (c && (rc = tensor_push(t, parent, r, cdeps)) != 0) return rc;
      if (m->n_errors > m->n_json_errors) return 0;
      break;
    case 'M': {
      size_t end = match_close(rows, n, i);
      if (c) {
        int idx = open_module(t, r, parent, r->name, cdeps);
        if (idx == -2) return 0;
        if (idx < 0) return idx;
        if ((rc = run_rows(t, rows + i + 1, end - i - 1, idx)) != 0) return rc;
        if (m->n_errors > m->n_json_errors) return 0;
      }
      i = end;
      break;
    }
    case 'L': {
      size_t end = match_close(rows, n, i);
      if (c) {
        int64_t count = 0;
        ls_model_keyset kdeps = cdeps;
        if ((rc = eval(t, r->arg, &count, &kdeps)) != 0) return add_error(t, rc, "repeat count", &kdeps);
        if (count < 0 || count > (LS__MAX_MODULES / 2)) {
          snprintf(t->err, sizeof t->err, "%lld repetitions (%s) is out of range",
                   (long long)count, r->arg);
          return add_error(t, LS_ELIMIT, "repeated block", &kdeps);
        }
        if (p->n_loopvars >= LS__MAX_LOOPVARS) return LS_ELIMIT;
        /* the count's own key (num_hidden_layers) rather than keys of its default */
        int count_key = -1;
        {
          const char *a = r->arg;
          size_t an = 0;
          while (a[an] && (a[an] == '_' || (a[an] >= 'a' && a[an] <= 'z') || (a[an] >= '0' && a[an] <= '9'))) an++;
          count_key = ls__value_index_n(m, a, an);
        }
        int64_t start = 0;
        if (r->in && (rc = eval(t, r->in, &start, &kdeps)) != 0) return add_error(t, rc, "first index", &kdeps);
        if (start < 0 || start > (LS__MAX_MODULES / 2)) {
          snprintf(t->err, sizeof t->err, "first index %lld (%s) is out of range", (long long)start, r->in);
          return add_error(t, LS_ELIMIT, "repeated block", &kdeps);
        }
        int lv = p->n_loopvars++;
        p->loopvar_name[lv] = r->name[0];
        int saved_layer = p->cur_layer, saved_expert = p->cur_expert;
        for (int64_t k = start; k < start + count; k++) {
          char leaf[24];
          snprintf(leaf, sizeof leaf, "%lld", (long long)k);
          p->loopvar_val[lv] = k;
          if (r->name[0] == 'L') p->cur_layer = (int)k;
          if (r->name[0] == 'X') p->cur_expert = (int)k;
          int idx = open_module(t, r, parent, leaf, kdeps);
          if (idx == -2) { p->n_loopvars--; return 0; }
          if (idx < 0) { p->n_loopvars--; return idx; }
          m->modules[idx].def_key = count_key;
          if ((rc = run_rows(t, rows + i + 1, end - i - 1, idx)) != 0 || m->n_errors > m->n_json_errors) {
            p->n_loopvars--;
            return rc;
          }
          if (m->n_modules + 64 > LS__MAX_MODULES) {
            p->n_loopvars--;
            snprintf(t->err, sizeof t->err, "more than %d modules", LS__MAX_MODULES);
            return add_error(t, LS_ELIMIT, "model too large", &kdeps);
          }
        }
        p->cur_layer = saved_layer;
        p->cur_expert = saved_expert;
        p->n_loopvars--;
      }
      i = end;
      break;
    }
    case 'B': {
      const ls__family *f = p->fam;
      if (f->prefix[0] == 0) { /* encoder-decoders (t5): the backbone's parts sit on the root */
        if ((rc = run_rows(t, f->backbone, f->n_backbone, parent)) != 0) return rc;
        break;
      }
      ls__frow br = {'M', NULL, f->prefix, f->backbone_type, LS_MODEL_KIND_BACKBONE, f->backbone_out,
                     NULL, NULL, NULL};
      int idx = open_module(t, &br, parent, f->prefix, cdeps);
      if (idx == -2) return 0;
      if (idx < 0) return idx;
      if ((rc = run_rows(t, f->backbone, f->n_backbone, idx)) != 0) return rc;
      break;
    }
    default:
      break;
    }
  }
  return 0;
}

/* Parameter counts bottom-up; tied copies and buffers count 0; an MTP layer's parameters
 * go to params_mtp (and to its own modules), not to the model's. */
static int count_params(ls_model *m) {
  int64_t total = 0, active = 0, embed = 0, mtp = 0;
  for (size_t i = 0; i < m->n_modules; i++) m->modules[i].params = 0;
  int64_t top_k = m->sem.top_k;
  for (size_t i = 0; i < m->n_tensors; i++) {
    const ls_model_tensor *tt = &m->tensors[i];
    if (tt->tied_to >= 0 || tt->buffer) continue;
    for (int md = tt->module; md >= 0; md = m->modules[md].parent) {
      if (tt->mtp && !m->modules[md].mtp) break;
      if (ls__add_i64(m->modules[md].params, tt->numel, &m->modules[md].params)) return LS_EOVERFLOW;
    }
    if (tt->mtp) {
      if (ls__add_i64(mtp, tt->numel, &mtp)) return LS_EOVERFLOW;
      continue;
    }
    if (ls__add_i64(total, tt->numel, &total)) return LS_EOVERFLOW;
    int64_t act = tt->numel;
    if (tt->stacked > 0) act = top_k < tt->stacked ? tt->numel / tt->stacked * top_k : tt->numel;
    else if (tt->expert >= 0 && tt->expert >= top_k) act = 0;
    if (ls__add_i64(active, act, &active)) return LS_EOVERFLOW;
    if (m->modules[tt->module].kind == LS_MODEL_KIND_EMBEDDING ||
        strcmp(tt->leaf, "position_embeddings") == 0 || strcmp(tt->leaf, "cls_token") == 0)
      if (ls__add_i64(embed, tt->numel, &embed)) return LS_EOVERFLOW;
  }
  m->params = total;
  m->params_active = active;
  m->params_embedding = embed;
  m->params_mtp = mtp;
  return 0;
}

static int tree_run(tb *tp);

int ls__tree_build(ls_model *m) {
  tb t = {m, LS__ENV(m), ls_calloc(CACHE_N, sizeof(ecache)), {0}};
  if (!t.cache) return LS_ENOMEM;
  int rc = tree_run(&t);
  ls_free(t.cache);
  return rc;
}

static int tree_run(tb *t) {
  ls_model *m = t->m;
  ls__priv *p = m->priv;
  const ls__family *f = p->fam;
  p->cur_layer = p->cur_expert = -1;
  const ls__fhead *h = NULL;
  for (size_t i = 0; i < f->n_heads; i++)
    if (f->heads[i].head == m->head) h = &f->heads[i];
  int rc;
  if (m->head == LS_MODEL_HEAD_BASE || !h) {
    ls__frow root = {'M', NULL, "", f->backbone_type, LS_MODEL_KIND_MODEL, f->backbone_out, NULL, NULL, NULL};
    int idx = open_module(t, &root, -1, "", (ls_model_keyset){{0, 0}});
    if (idx < 0) return idx == -2 ? 0 : idx;
    rc = run_rows(t, f->backbone, f->n_backbone, idx);
  } else {
    ls__frow root = {'M', NULL, "", m->architecture, LS_MODEL_KIND_MODEL, NULL, NULL, NULL, NULL};
    int idx = open_module(t, &root, -1, "", (ls_model_keyset){{0, 0}});
    if (idx < 0) return idx == -2 ? 0 : idx;
    rc = run_rows(t, h->rows, h->n_rows, idx);
  }
  if (rc == LS_ELIMIT && m->n_errors == m->n_json_errors)
    rc = ls__issue_add(m, LS_MODEL_SEV_ERROR, "overflow", -1, (ls_json_span){0, 0},
                       "the model would have more than %d modules", LS__MAX_MODULES);
  if (rc) return rc;
  for (int k = 0; k < p->n_pend && m->n_errors == m->n_json_errors; k++)
    for (size_t i = 0; i < m->n_tensors; i++)
      if (strcmp(m->tensors[i].name, p->pend_target[k]) == 0) { m->tensors[p->pend_tensor[k]].tied_to = (int)i; break; }
  if (m->n_errors == m->n_json_errors && m->n_modules > 0) {
    /* the root's output is its last child's (the head's) */
    ls_model_module *root = &m->modules[0];
    if (root->out.ndim == 0) {
      int last = -1;
      for (int c = root->first_child; c >= 0; c = m->modules[c].next_sibling) last = c;
      if (last >= 0) root->out = m->modules[last].out;
      if (root->first_child >= 0) root->in = m->modules[root->first_child].in;
    }
    if (count_params(m))
      return ls__issue_add(m, LS_MODEL_SEV_ERROR, "overflow", -1, (ls_json_span){0, 0},
                           "the parameter count overflows 64 bits");
  }
  return 0;
}
