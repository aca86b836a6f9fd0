/* vars.c: the variablesReference table of one stop (vars.h). A reference names a scope
 * group of the stopped module (inputs, outputs, parameters, intermediates, gradients), a
 * tensor (its children are "stats", "histogram" and the slices along its first dimension,
 * paged with indexedVariables / start / count so a [1,32,128,128] attention tensor opens
 * level by level), the statistics of a tensor, or its histogram. References are small
 * integers into this table and are dropped at every resume, as DAP requires. Tensors come
 * from the run (ls_dbg_run_tensor: the engine's memory, or bytes a target fetched for this
 * stop); statistics from the session's per-stop cache, so a tensor is read once per stop
 * however often it is shown. A generation run's KV cache, which the engine hands over as two
 * intermediates of the attention module, is listed in a scope of its own, as [T, n_kv,
 * head_dim] views of the same bytes. The rows of a [S, ...] slice of a pass with a tokenizer
 * are named with their token's text ("[3] \"▁France\""). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/text.h"
#include "core/model/model.h"
#include "dap/vars.h"

#define PAGE_DEFAULT 1000 /* indexed children sent when the client gives no count */

/* VK_LAZY: a tensor a target keeps in another process (the agent): shown by the one-line
 * summary the target computed where it lives, its bytes fetched only when it is opened. */
typedef enum { VK_GROUP, VK_TENSOR, VK_STATS, VK_HIST, VK_LAZY } vkind;

typedef struct vent {
  vkind kind;
  int group;
  int index;               /* VK_LAZY: the var's index in its group */
  int thread;              /* VK_GROUP, VK_LAZY: the stopped thread (0: the reported stop's) */
  ls_dbg_tensor t;         /* borrowed from the paused event, or from `owned` */
  void *owned;             /* evaluate results: freed at reset */
  char name[128];
} vent;

struct dap_vars {
  vent *v;
  size_t n, cap;
};

dap_vars *dap_vars_new(void) { return ls_calloc(1, sizeof(dap_vars)); }

void dap_vars_reset(dap_vars *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) ls_free(v->v[i].owned);
  v->n = 0;
}

void dap_vars_free(dap_vars *v) {
  if (!v) return;
  dap_vars_reset(v);
  ls_free(v->v);
  ls_free(v);
}

static int add(dap_vars *v, vkind kind, int group, const ls_dbg_tensor *t, const char *name, void *owned) {
  if (!owned)
    for (size_t i = 0; i < v->n; i++) {
      vent *e = &v->v[i];
      if (e->kind == kind && e->group == group && (!t || (e->t.data == t->data && e->t.ndim == t->ndim &&
                                                          memcmp(e->t.shape, t->shape, sizeof t->shape) == 0)))
        return (int)i + 1;
    }
  if (v->n == v->cap) {
    size_t nc = v->cap ? v->cap * 2 : 64;
    vent *g = ls_reallocarray(v->v, nc, sizeof *g);
    if (!g) return 0;
    v->v = g;
    v->cap = nc;
  }
  vent *e = &v->v[v->n];
  memset(e, 0, sizeof *e);
  e->kind = kind;
  e->group = group;
  if (t) e->t = *t;
  e->owned = owned;
  snprintf(e->name, sizeof e->name, "%s", name ? name : "");
  return (int)++v->n;
}

int dap_vars_scope(dap_vars *v, int group) { return dap_vars_scope_on(v, group, 0); }
int dap_vars_scope_on(dap_vars *v, int group, int thread) {
  for (size_t i = 0; i < v->n; i++)
    if (v->v[i].kind == VK_GROUP && v->v[i].group == group && v->v[i].thread == thread) return (int)i + 1;
  int ref = add(v, VK_GROUP, group, NULL, NULL, (void *)1); /* (void *)1: never merged with another */
  if (ref) {
    v->v[ref - 1].owned = NULL;
    v->v[ref - 1].thread = thread;
  }
  return ref;
}
int dap_vars_tensor(dap_vars *v, const ls_dbg_tensor *t, const char *name, void *owned) {
  return add(v, VK_TENSOR, 0, t, name, owned);
}

void dap_vars_tensor_line(dap_dbg *x, const ls_dbg_tensor *t, char *buf, size_t cap) {
  const ls_stats *s = ls_dbg_stats_cached(x->g, t);
  if (!s) {
    char shape[96];
    ls_dbg_shape_format(t, shape, sizeof shape);
    snprintf(buf, cap, "%s%s (statistics unavailable)", ls_dtype_name(t->dtype), shape);
    return;
  }
  ls_dbg_tensor_format(t, s, buf, cap);
}

static int sliceable(const ls_dbg_tensor *t) { return t->ndim >= 1 && ls_dtype_block_elems(t->dtype) == 1; }

/* A tensor as a variable: one line, with named (stats, histogram) and indexed children. */
static json_t *tensor_var(dap_dbg *x, const char *name, const ls_dbg_tensor *t) {
  char line[320];
  dap_vars_tensor_line(x, t, line, sizeof line);
  int ref = dap_vars_tensor(x->vars, t, name, NULL);
  json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i}", "name", name, "value", line, "type", "tensor",
                        "variablesReference", ref, "namedVariables", 2);
  if (o && sliceable(t)) json_object_set_new(o, "indexedVariables", json_integer(t->shape[0]));
  if (o && ref) {
    char mem[32];
    snprintf(mem, sizeof mem, "tensor:%d", ref);
    json_object_set_new(o, "memoryReference", json_string(mem));
  }
  return o;
}

static void push(json_t *arr, json_t *o) {
  if (o) json_array_append_new(arr, o);
}

/* A lazy entry becomes its tensor (fetched from the target now); 0 or a negative code. */
static int resolve(dap_dbg *x, int ref, ls_diag *d) {
  vent *e = &x->vars->v[ref - 1];
  if (e->kind != VK_LAZY) return LS_OK;
  ls_dbg_tensor t;
  int rc = ls_dbg_run_tensor_on(x->run, e->thread, (ls_dbg_group)e->group, e->index, &t, d);
  if (rc != LS_OK) return rc;
  e = &x->vars->v[ref - 1];
  e->kind = VK_TENSOR;
  e->group = 0;
  e->t = t;
  return LS_OK;
}

/* A tensor of another process, by its summary line; opened, it is fetched (resolve). */
static json_t *lazy_var(dap_dbg *x, int thread, int group, int i, const ls_dbg_var *v) {
  int ref = add(x->vars, VK_LAZY, group, NULL, v->name, (void *)1); /* (void *)1: never merged */
  if (ref) {
    x->vars->v[ref - 1].owned = NULL;
    x->vars->v[ref - 1].index = i;
    x->vars->v[ref - 1].thread = thread;
  }
  json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i}", "name", v->name, "value", v->summary, "type", "tensor",
                        "variablesReference", ref, "namedVariables", 2);
  if (o && v->ndim >= 1 && ls_dtype_block_elems(v->dtype) == 1)
    json_object_set_new(o, "indexedVariables", json_integer(v->shape[0]));
  if (o && ref) {
    char mem[32];
    snprintf(mem, sizeof mem, "tensor:%d", ref);
    json_object_set_new(o, "memoryReference", json_string(mem));
  }
  return o;
}

/* ---------------------------------------------------------------- the KV cache scope */

int dap_vars_is_kv(const char *name) {
  return name && (strcmp(name, "cache_keys") == 0 || strcmp(name, "cache_values") == 0);
}

int dap_vars_kv_count(const ls_dbg_event *ev) {
  int n = 0;
  for (int i = 0; ev && i < ev->n_vars[LS_DBG_G_INTER]; i++) n += dap_vars_is_kv(ev->vars[LS_DBG_G_INTER][i].name);
  return n;
}

/* The rows of the KV cache scope: layer, tokens, then keys and values as [T, n_kv, head_dim]
 * (the config's key/value heads; [T, width] when the width is not a multiple of them). */
static void list_kv(dap_dbg *x, const ls_dbg_event *ev, int thread, json_t *out) {
  const ls_model *m = ls_dbg_run_info(x->run)->model;
  char buf[32];
  snprintf(buf, sizeof buf, "%d", ev->layer);
  push(out, json_pack("{s:s, s:s, s:i}", "name", "layer", "value", buf, "variablesReference", 0));
  int told_tokens = 0;
  for (int i = 0; i < ev->n_vars[LS_DBG_G_INTER]; i++) {
    const char *name = ev->vars[LS_DBG_G_INTER][i].name;
    if (!dap_vars_is_kv(name)) continue;
    ls_dbg_tensor t;
    ls_diag d;
    ls_diag_init(&d);
    if (ls_dbg_run_tensor_on(x->run, thread, LS_DBG_G_INTER, i, &t, &d) != LS_OK || t.ndim != 3 || t.shape[0] != 1) {
      push(out, json_pack("{s:s, s:s, s:i}", "name", name + 6, "value", "(cannot be read)", "variablesReference", 0));
      continue;
    }
    int64_t T = t.shape[1], W = t.shape[2], nkv = m ? m->sem.n_kv_heads : 0;
    if (nkv <= 0 || W % nkv) nkv = m && m->sem.n_heads > 0 && W % m->sem.n_heads == 0 ? m->sem.n_heads : 0;
    if (!told_tokens++) {
      snprintf(buf, sizeof buf, "%lld", (long long)T);
      push(out, json_pack("{s:s, s:s, s:i}", "name", "tokens", "value", buf, "variablesReference", 0));
    }
    ls_dbg_tensor v = t; /* the same bytes, one row per cached token */
    v.ndim = nkv > 0 ? 3 : 2;
    v.shape[0] = T;
    v.shape[1] = nkv > 0 ? nkv : W;
    v.shape[2] = nkv > 0 ? W / nkv : 0;
    push(out, tensor_var(x, name + 6, &v)); /* "keys", "values" */
  }
}

static void list_group(dap_dbg *x, int group, int thread, json_t *out) {
  const ls_dbg_event *ev = ls_dbg_run_event(x->run, thread);
  if (ev && group == DAP_SCOPE_STEP) {
    char step[32], th[96] = "";
    snprintf(step, sizeof step, "%llu", (unsigned long long)ev->step);
    ls_dbg_thread ts[256];
    int n = ls_dbg_run_threads(x->run, ts, 256);
    for (int i = 0; i < n; i++)
      if (ts[i].id == ev->thread) snprintf(th, sizeof th, "%s", ts[i].name);
    push(out, json_pack("{s:s, s:s, s:i}", "name", "step", "value", step, "variablesReference", 0));
    push(out, json_pack("{s:s, s:s, s:i}", "name", "pass", "value", ev->pass == LS_DBG_BACKWARD ? "backward" : "forward",
                        "variablesReference", 0));
    push(out, json_pack("{s:s, s:s, s:i}", "name", "thread", "value", th, "variablesReference", 0));
    return;
  }
  if (ev && group == DAP_SCOPE_KV) {
    list_kv(x, ev, thread, out);
    return;
  }
  if (!ev || (unsigned)group >= LS_DBG_G_COUNT) return;
  if (group == LS_DBG_G_INTER && ev->layer >= 0)
    push(out, json_pack("{s:s, s:s, s:i}", "name", "layer", "value", "", "variablesReference", 0));
  for (int i = 0; i < ev->n_vars[group]; i++) {
    const char *name = ev->vars[group][i].name;
    if (group == LS_DBG_G_INTER && dap_vars_is_kv(name)) continue; /* in the KV cache scope */
    if (!ev->vars[group][i].data && ev->vars[group][i].summary) {
      push(out, lazy_var(x, thread, group, i, &ev->vars[group][i]));
      continue;
    }
    ls_dbg_tensor t;
    ls_diag d;
    ls_diag_init(&d);
    if (ls_dbg_run_tensor_on(x->run, thread, (ls_dbg_group)group, i, &t, &d) == LS_OK) {
      push(out, tensor_var(x, name, &t));
    } else { /* a tensor the target could not hand over: say so in its place */
      char why[300];
      snprintf(why, sizeof why, "(cannot be read: %.*s)", ls_utf8_clip(d.msg, 250), d.msg);
      push(out, json_pack("{s:s, s:s, s:i}", "name", name, "value", ls_utf8_repair(why), "variablesReference", 0));
    }
  }
  if (group == LS_DBG_G_INTER && ev->layer >= 0) {
    json_t *first = json_array_get(out, 0);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", ev->layer);
    json_object_set_new(first, "value", json_string(buf));
  }
}

static void list_stats(dap_dbg *x, const ls_dbg_tensor *t, json_t *out) {
  const ls_stats *s = ls_dbg_stats_cached(x->g, t);
  if (!s) return;
  struct { const char *k; double v; int integer; } F[] = {
      {"count", (double)s->count, 1}, {"finite", (double)s->finite, 1}, {"mean", s->mean, 0},
      {"std", s->std, 0}, {"min", s->min, 0}, {"max", s->max, 0}, {"absmax", s->absmax, 0},
      {"nan", (double)s->nan, 1}, {"+inf", (double)s->pinf, 1}, {"-inf", (double)s->ninf, 1},
      {"zeros", (double)s->zeros, 1}, {"subnormals", (double)s->subnormals, 1}};
  for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
    char buf[64];
    if (F[i].integer) snprintf(buf, sizeof buf, "%.0f", F[i].v);
    else snprintf(buf, sizeof buf, "%.6g", F[i].v);
    push(out, json_pack("{s:s, s:s, s:i}", "name", F[i].k, "value", buf, "variablesReference", 0));
  }
}

static void list_hist(dap_dbg *x, const ls_dbg_tensor *t, json_t *out) {
  const ls_stats *s = ls_dbg_stats_cached(x->g, t);
  char *text = s ? ls_dbg_tensor_hist(t, s, 16) : NULL;
  if (!text) return;
  char *line = text;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    /* "[lo, hi) count ###": the bin is the name, the rest the value */
    char *close = strpbrk(line, ")]");
    if (close && close[1]) {
      char name[64];
      snprintf(name, sizeof name, "%.*s", (int)(close - line + 1), line);
      const char *val = close + 1;
      while (*val == ' ') val++;
      push(out, json_pack("{s:s, s:s, s:i}", "name", name, "value", val, "variablesReference", 0));
    } else {
      push(out, json_pack("{s:s, s:s, s:i}", "name", "note", "value", line, "variablesReference", 0));
    }
    line = nl ? nl + 1 : NULL;
  }
  ls_free(text);
}

static void list_tensor(dap_dbg *x, const vent *e, json_t *args, json_t *out) {
  const char *filter = json_string_value(json_object_get(args, "filter"));
  int named = !filter || strcmp(filter, "named") == 0, indexed = !filter || strcmp(filter, "indexed") == 0;
  const ls_dbg_tensor *t = &e->t;
  if (named) {
    const ls_stats *s = ls_dbg_stats_cached(x->g, t);
    char buf[160] = "unavailable";
    if (s) snprintf(buf, sizeof buf, "count=%llu mean=%.4g std=%.4g absmax=%.4g", (unsigned long long)s->count, s->mean,
                    s->std, s->absmax);
    push(out, json_pack("{s:s, s:s, s:i}", "name", "stats", "value", buf, "variablesReference",
                        add(x->vars, VK_STATS, 0, t, e->name, NULL)));
    push(out, json_pack("{s:s, s:s, s:i}", "name", "histogram", "value", "16 bins of the finite values",
                        "variablesReference", add(x->vars, VK_HIST, 0, t, e->name, NULL)));
  }
  if (!indexed || !sliceable(t)) return;
  json_int_t start = json_integer_value(json_object_get(args, "start"));
  json_int_t count = json_is_integer(json_object_get(args, "count")) ? json_integer_value(json_object_get(args, "count"))
                                                                   : PAGE_DEFAULT;
  if (start < 0) start = 0;
  if (count <= 0) count = PAGE_DEFAULT;
  /* the rows of a [S, ...] slice are token positions: labelled with their token's text */
  const ls_dbg_event *ev = t->ndim == 2 ? ls_dbg_run_event(x->run, e->thread) : NULL;
  for (int64_t i = start; i < t->shape[0] && i < start + count; i++) {
    char name[32], label[200];
    snprintf(name, sizeof name, "[%lld]", (long long)i);
    if (t->ndim == 1) {
      char buf[48];
      snprintf(buf, sizeof buf, "%.6g", ls_dbg_tensor_at(t, (uint64_t)i));
      push(out, json_pack("{s:s, s:s, s:i}", "name", name, "value", buf, "variablesReference", 0));
      continue;
    }
    ls_dbg_tensor sub;
    if (ls_dbg_tensor_index0(t, i, &sub) != LS_OK) break;
    char full[160], shown[240];
    snprintf(full, sizeof full, "%.100s%.32s", e->name, name);
    if (ev && ls_dbg_position_label(ev, t->shape[0], i, label, sizeof label))
      snprintf(shown, sizeof shown, "%s %s", name, label);
    else
      snprintf(shown, sizeof shown, "%s", name);
    json_t *o = tensor_var(x, full, &sub);
    if (o) json_object_set_new(o, "name", json_string(ls_utf8_repair(shown)));
    push(out, o);
  }
}

json_t *dap_vars_list(dap_dbg *x, int ref, json_t *args, const char **why) {
  dap_vars *v = x->vars;
  if (ref < 1 || (size_t)ref > v->n) {
    *why = "unknown variablesReference (references are valid until the pass resumes)";
    return NULL;
  }
  ls_diag d;
  ls_diag_init(&d);
  if (resolve(x, ref, &d) != LS_OK) {
    static __thread char msg[300];
    snprintf(msg, sizeof msg, "the tensor cannot be read: %.*s", ls_utf8_clip(d.msg, 250), d.msg);
    *why = ls_utf8_repair(msg);
    return NULL;
  }
  vent e = v->v[ref - 1]; /* copy: listing may grow the table */
  json_t *out = json_array();
  if (!out) return NULL;
  switch (e.kind) {
  case VK_LAZY: break;
  case VK_GROUP: list_group(x, e.group, e.thread, out); break;
  case VK_TENSOR: list_tensor(x, &e, args, out); break;
  case VK_STATS: list_stats(x, &e.t, out); break;
  case VK_HIST: list_hist(x, &e.t, out); break;
  }
  return json_pack("{s:o}", "variables", out);
}

int dap_vars_memory(dap_dbg *x, int ref, const void **data, uint64_t *nbytes) {
  dap_vars *v = x->vars;
  ls_diag d;
  ls_diag_init(&d);
  if (ref < 1 || (size_t)ref > v->n || resolve(x, ref, &d) != LS_OK || v->v[ref - 1].kind != VK_TENSOR)
    return LS_ENOENT;
  const ls_dbg_tensor *t = &v->v[ref - 1].t;
  if (ls_dtype_nbytes(t->dtype, ls_dbg_tensor_numel(t), nbytes) != LS_OK) return LS_EINVAL;
  *data = t->data;
  return LS_OK;
}

int dap_vars_tensor_get(dap_vars *v, int ref, ls_dbg_tensor *out, const char **name) {
  if (ref < 1 || (size_t)ref > v->n || v->v[ref - 1].kind != VK_TENSOR) return LS_ENOENT;
  *out = v->v[ref - 1].t;
  out->owned = NULL; /* the table keeps ownership */
  if (name) *name = v->v[ref - 1].name;
  return LS_OK;
}
