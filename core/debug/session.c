/* session.c: the debugging session (debug.h): the module table, breakpoint sets, kept
 * outputs of earlier modules, the per-stop statistics cache and fetched tensor bytes, and
 * the scope expressions see at a stop. check.c takes the stop decision with its helpers at
 * the end of this file. Protocol-free and target-free: the run owner (run.c) drives it, and
 * DAP and `layerscope debug` translate what it says. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/text.h"
#include "core/debug/debug.h"
#include "core/engine/text.h"

typedef enum { HIT_NONE = 0, HIT_EQ, HIT_GE, HIT_GT, HIT_MOD } hit_op;

typedef struct bp {
  int id;
  char *glob;             /* function breakpoints (without a phase prefix) */
  int phase;              /* function breakpoints: LS_DBG_BP_FORWARD, _BACKWARD or _BOTH */
  char *hit_text;         /* the hit condition as given ("" none), for targets that decide */
  int *modules;           /* line breakpoints: [n_modules] module indices */
  size_t n_modules;
  int line;               /* line breakpoints: the 1-based config line */
  ls_dbg_expr *cond;      /* NULL: none */
  hit_op hop;
  uint64_t hit_n;
  uint64_t hits;
} bp;

typedef struct kept {
  const char *name;       /* the module's name (borrowed from the table's owner) */
  ls_dbg_tensor t;        /* owned f32 copy of the module's output */
} kept;

typedef struct mod_ent {
  ls_dbg_module m;        /* strings borrowed from the model or the target */
  int model_index;        /* the model's module of that name (line breakpoints), -1 */
} mod_ent;

typedef struct fetched {
  const ls_dbg_var *v;    /* the var of the stopped event */
  void *buf;              /* owned: its bytes, until ls_dbg_resumed */
} fetched;

typedef struct cache_ent {
  const void *data;
  uint64_t n;
  ls_dtype dt;
  ls_stats s;
} cache_ent;

#define CACHE_CAP 64

struct ls_dbg {
  const ls_model *m;      /* NULL: no config (line breakpoints unavailable) */
  pthread_mutex_t mu;     /* guards the table, the breakpoint sets and the filters */
  mod_ent *mods; size_t n_mods, cap_mods;
  bp *fbps; size_t n_fbps;
  bp *lbps; size_t n_lbps;
  int next_id;
  unsigned exc, fired;
  int stop_on_entry;
  void (*on_change)(void *ud); /* told after breakpoints, filters or stop-on-entry change */
  ls_dbg_resolve_fn resolve;   /* names a target fetches (another rank's, a full path) */
  void *resolve_ud;
  void *change_ud;
  size_t keep_budget, kept_bytes;
  kept *kept; size_t n_kept, cap_kept;
  cache_ent cache[CACHE_CAP];
  int n_cache;
  fetched *fetched; size_t n_fetched, cap_fetched;
  ls_text_index lines;    /* line index of the config text (empty when no text) */
};

static void changed(ls_dbg *g);

const char *ls_dbg_reason_name(ls_dbg_reason r) {
  static const char *const N[] = {"", "entry", "breakpoint", "function breakpoint", "exception", "step", "pause"};
  return (unsigned)r < sizeof N / sizeof N[0] ? N[r] : "";
}

int ls_dbg_new(ls_dbg **out, const ls_model *m, ls_diag *d) {
  ls_dbg *g = ls_calloc(1, sizeof *g);
  if (!g) return ls_diag_set(d, LS_ENOMEM, "out of memory creating a debug session");
  g->m = m;
  g->next_id = 1;
  g->keep_budget = (size_t)256 << 20;
  pthread_mutex_init(&g->mu, NULL);
  if (m && m->doc && m->doc->text && ls_text_index_init(&g->lines, m->doc->text, m->doc->len) != LS_OK) {
    ls_dbg_free(g);
    return ls_diag_set(d, LS_ENOMEM, "out of memory indexing the config");
  }
  if (m && m->n_modules) { /* the model's modules, same indices */
    if (!(g->mods = ls_calloc(m->n_modules, sizeof *g->mods))) {
      ls_dbg_free(g);
      return ls_diag_set(d, LS_ENOMEM, "out of memory creating a debug session");
    }
    for (size_t i = 0; i < m->n_modules; i++) {
      const ls_model_module *mm = &m->modules[i];
      g->mods[i] = (mod_ent){{mm->name, mm->type, mm->parent, mm->depth, mm->layer, 0}, (int)i};
    }
    g->n_mods = g->cap_mods = m->n_modules;
  }
  *out = g;
  return LS_OK;
}

static void bps_free(bp *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ls_free(b[i].glob);
    ls_free(b[i].hit_text);
    ls_free(b[i].modules);
    ls_dbg_expr_free(b[i].cond);
  }
  ls_free(b);
}

static void kept_clear(ls_dbg *g) {
  for (size_t i = 0; i < g->n_kept; i++) ls_free(g->kept[i].t.owned);
  g->n_kept = 0;
  g->kept_bytes = 0;
}

void ls_dbg_free(ls_dbg *g) {
  if (!g) return;
  bps_free(g->fbps, g->n_fbps);
  bps_free(g->lbps, g->n_lbps);
  kept_clear(g);
  ls_free(g->kept);
  ls_dbg_resumed(g);
  ls_free(g->fetched);
  ls_free(g->mods);
  if (g->lines.line_starts) ls_text_index_deinit(&g->lines);
  pthread_mutex_destroy(&g->mu);
  ls_free(g);
}

const ls_model *ls_dbg_model(const ls_dbg *g) { return g->m; }

/* ------------------------------------------------------------------ the module table */

int ls_dbg_modules_add(ls_dbg *g, const ls_dbg_module *mods, size_t n) {
  pthread_mutex_lock(&g->mu);
  int rc = LS_OK;
  if (n > g->cap_mods - g->n_mods) {
    size_t nc = g->cap_mods ? g->cap_mods : 64;
    while (nc - g->n_mods < n) nc *= 2;
    mod_ent *grown = ls_reallocarray(g->mods, nc, sizeof *grown);
    if (!grown) rc = LS_ENOMEM;
    else {
      g->mods = grown;
      g->cap_mods = nc;
    }
  }
  for (size_t i = 0; rc == LS_OK && i < n; i++)
    g->mods[g->n_mods++] = (mod_ent){mods[i], g->m ? ls_model_module_find(g->m, mods[i].name) : -1};
  pthread_mutex_unlock(&g->mu);
  return rc;
}

size_t ls_dbg_module_count(const ls_dbg *g) {
  pthread_mutex_lock((pthread_mutex_t *)&g->mu);
  size_t n = g->n_mods;
  pthread_mutex_unlock((pthread_mutex_t *)&g->mu);
  return n;
}

/* The model's module index of table entry i, -1 when none (caller holds mu). */
static int model_index(const ls_dbg *g, int i) {
  return i >= 0 && (size_t)i < g->n_mods ? g->mods[i].model_index : -1;
}

/* Entry i and its model index (check.c's frame lines); LS_ENOENT out of range. */
int ls__dbg_module_at(const ls_dbg *g, int i, ls_dbg_module *out, int *mi) {
  pthread_mutex_lock((pthread_mutex_t *)&g->mu);
  int ok = i >= 0 && (size_t)i < g->n_mods;
  if (ok) {
    *out = g->mods[i].m;
    *mi = g->mods[i].model_index;
  }
  pthread_mutex_unlock((pthread_mutex_t *)&g->mu);
  return ok ? LS_OK : LS_ENOENT;
}

int ls_dbg_module_get(const ls_dbg *g, int i, ls_dbg_module *out) {
  int mi;
  return ls__dbg_module_at(g, i, out, &mi);
}

/* ------------------------------------------------------------------ breakpoint sets */

/* '*' matches any run of characters (dots included), '?' one character. */
static int glob_match(const char *p, const char *s) {
  const char *star = NULL, *resume = NULL;
  while (*s) {
    if (*p == '*') { star = p++; resume = s; }
    else if (*p == '?' || *p == *s) { p++; s++; }
    else if (star) { p = star + 1; s = ++resume; }
    else return 0;
  }
  while (*p == '*') p++;
  return *p == 0;
}

/* "", "3", "== 3", ">= 3", "> 3", "% 3" */
static int parse_hit(const char *s, hit_op *op, uint64_t *n, char *why, size_t cap) {
  *op = HIT_NONE;
  if (!s) return 0;
  while (*s == ' ') s++;
  if (!*s) return 0;
  hit_op o = HIT_EQ;
  if (strncmp(s, ">=", 2) == 0) { o = HIT_GE; s += 2; }
  else if (strncmp(s, "==", 2) == 0) { s += 2; }
  else if (*s == '>') { o = HIT_GT; s++; }
  else if (*s == '%') { o = HIT_MOD; s++; }
  else if (*s == '=') { s++; }
  while (*s == ' ') s++;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  while (*end == ' ') end++;
  if (end == s || *end || *s == '-' || v == 0 || v > (1ull << 62)) {
    snprintf(why, cap, "hit condition must be N, == N, >= N, > N or %% N with N a positive integer");
    return -1;
  }
  *op = o;
  *n = v;
  return 0;
}

static int bp_common(ls_dbg *g, bp *b, const ls_dbg_bp_spec *sp, ls_dbg_bp_result *r) {
  b->id = r->id = g->next_id++;
  if (sp->condition && sp->condition[strspn(sp->condition, " \t")]) {
    ls_diag d;
    ls_diag_init(&d);
    if (ls_dbg_expr_parse(sp->condition, &b->cond, &d) != LS_OK) {
      snprintf(r->message, sizeof r->message, "condition: %.*s", ls_utf8_clip(d.msg, 240), d.msg);
      r->verified = 0;
      return -1;
    }
  }
  if (parse_hit(sp->hit_condition, &b->hop, &b->hit_n, r->message, sizeof r->message)) {
    r->verified = 0;
    return -1;
  }
  return 0;
}

int ls_dbg_set_function_bps(ls_dbg *g, const ls_dbg_bp_spec *specs, size_t n, ls_dbg_bp_result *res) {
  bp *nb = n ? ls_calloc(n, sizeof *nb) : NULL;
  if (n && !nb) return LS_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    ls_dbg_bp_result *r = &res[i];
    memset(r, 0, sizeof *r);
    bp *b = &nb[k];
    if (bp_common(g, b, &specs[i], r)) {
      ls_dbg_expr_free(b->cond);
      memset(b, 0, sizeof *b);
      continue;
    }
    const char *glob = specs[i].name ? specs[i].name : "";
    b->phase = ls_dbg_bp_phase_parse(&glob);
    size_t matches = 0;
    pthread_mutex_lock(&g->mu);
    for (size_t m = 0; m < g->n_mods; m++)
      if (glob_match(glob, g->mods[m].m.name) && g->mods[m].m.name[0]) matches++;
    const char *like = g->n_mods > 1 ? g->mods[g->n_mods > 2 ? 2 : 1].m.name : "model.layers.0";
    size_t known = g->n_mods;
    pthread_mutex_unlock(&g->mu);
    if (!*glob) {
      snprintf(r->message, sizeof r->message, "no module matches '' (module names look like '%s')", like);
      ls_dbg_expr_free(b->cond);
      memset(b, 0, sizeof *b);
      continue;
    }
    /* kept even when nothing matches yet: a target that learns its modules as it runs (the
     * agent) may report a matching one later */
    if (!(b->glob = ls_strdup(glob)) || !(b->hit_text = ls_strdup(specs[i].hit_condition ? specs[i].hit_condition : ""))) {
      ls_dbg_expr_free(b->cond);
      bps_free(nb, k);
      return LS_ENOMEM;
    }
    r->verified = matches > 0;
    if (matches)
      snprintf(r->message, sizeof r->message, "matches %zu module%s", matches, matches == 1 ? "" : "s");
    else if (!known)
      snprintf(r->message, sizeof r->message, "pending: the run has not reported its modules yet");
    else
      snprintf(r->message, sizeof r->message, "no module matches '%.*s' (module names look like '%s')",
               ls_utf8_clip(glob, 120), glob, like);
    k++;
  }
  pthread_mutex_lock(&g->mu);
  bp *old = g->fbps;
  size_t nold = g->n_fbps;
  g->fbps = nb;
  g->n_fbps = k;
  pthread_mutex_unlock(&g->mu);
  bps_free(old, nold);
  changed(g);
  return LS_OK;
}

int ls_dbg_set_line_bps(ls_dbg *g, const ls_dbg_bp_spec *specs, size_t n, ls_dbg_bp_result *res) {
  bp *nb = n ? ls_calloc(n, sizeof *nb) : NULL;
  if (n && !nb) return LS_ENOMEM;
  size_t k = 0;
  const ls_model *m = g->m;
  for (size_t i = 0; i < n; i++) {
    ls_dbg_bp_result *r = &res[i];
    memset(r, 0, sizeof *r);
    r->line = specs[i].line;
    bp *b = &nb[k];
    if (bp_common(g, b, &specs[i], r)) {
      ls_dbg_expr_free(b->cond);
      memset(b, 0, sizeof *b);
      continue;
    }
    if (!m) { /* a target without a config: its modules have no config lines */
      snprintf(r->message, sizeof r->message, "line breakpoints need the model's config.json; this run has none "
               "(use a function breakpoint on a module name)");
      ls_dbg_expr_free(b->cond);
      memset(b, 0, sizeof *b);
      continue;
    }
    /* the key whose name starts on that line */
    int key = -1;
    if (specs[i].line >= 1 && g->lines.line_starts && (size_t)specs[i].line <= g->lines.n_lines) {
      for (size_t v = 0; v < m->n_values; v++) {
        const ls_model_value *val = &m->values[v];
        if (!val->present || val->key_span.end == 0) continue;
        ls_pos p = ls_text_pos_of(&g->lines, val->key_span.start, LS_POS_UTF8);
        if ((int)p.line + 1 == specs[i].line) { key = (int)v; break; }
      }
    }
    size_t cnt = key >= 0 ? ls_model_key_modules(m, key, NULL, 0) : 0;
    if (key < 0 || cnt == 0) {
      if (key < 0) snprintf(r->message, sizeof r->message, "line %d holds no config key", specs[i].line);
      else snprintf(r->message, sizeof r->message, "'%s' configures no module (it has no layer meaning)",
                    m->values[key].info->name);
      ls_dbg_expr_free(b->cond);
      memset(b, 0, sizeof *b);
      continue;
    }
    b->modules = ls_calloc(cnt, sizeof(int));
    if (!b->modules) {
      ls_dbg_expr_free(b->cond);
      bps_free(nb, k);
      return LS_ENOMEM;
    }
    b->n_modules = ls_model_key_modules(m, key, b->modules, cnt);
    b->line = specs[i].line;
    r->verified = 1;
    snprintf(r->message, sizeof r->message, "'%s' configures %zu module%s, e.g. %s", m->values[key].info->name, cnt,
             cnt == 1 ? "" : "s", m->modules[b->modules[0]].name[0] ? m->modules[b->modules[0]].name : "(root)");
    k++;
  }
  pthread_mutex_lock(&g->mu);
  bp *old = g->lbps;
  size_t nold = g->n_lbps;
  g->lbps = nb;
  g->n_lbps = k;
  pthread_mutex_unlock(&g->mu);
  bps_free(old, nold);
  return LS_OK;
}

void ls_dbg_set_exceptions(ls_dbg *g, unsigned flags) {
  pthread_mutex_lock(&g->mu);
  g->exc = flags;
  pthread_mutex_unlock(&g->mu);
  changed(g);
}
void ls_dbg_set_stop_on_entry(ls_dbg *g, int on) {
  g->stop_on_entry = on;
  changed(g);
}

/* ---------------------------------------------------------------- targets that decide stops */

int ls_dbg_bp_phase_parse(const char **glob) {
  static const struct { const char *prefix; int phase; } P[] = {
      {"forward:", LS_DBG_BP_FORWARD}, {"backward:", LS_DBG_BP_BACKWARD}, {"both:", LS_DBG_BP_BOTH}};
  for (size_t i = 0; i < sizeof P / sizeof P[0]; i++)
    if (strncmp(*glob, P[i].prefix, strlen(P[i].prefix)) == 0) {
      *glob += strlen(P[i].prefix);
      *glob += strspn(*glob, " ");
      return P[i].phase;
    }
  return LS_DBG_BP_FORWARD;
}

size_t ls_dbg_function_bps_status(ls_dbg *g, ls_dbg_bp_result *out, size_t cap) {
  pthread_mutex_lock(&g->mu);
  size_t n = 0;
  for (size_t i = 0; i < g->n_fbps && n < cap; i++) {
    const bp *b = &g->fbps[i];
    size_t matches = 0;
    for (size_t m = 0; m < g->n_mods; m++)
      if (g->mods[m].m.name[0] && glob_match(b->glob, g->mods[m].m.name)) matches++;
    ls_dbg_bp_result *r = &out[n++];
    memset(r, 0, sizeof *r);
    r->id = b->id;
    r->verified = matches > 0;
    if (matches) snprintf(r->message, sizeof r->message, "matches %zu module%s", matches, matches == 1 ? "" : "s");
    else if (!g->n_mods) snprintf(r->message, sizeof r->message, "pending: the run has not reported its modules yet");
    else snprintf(r->message, sizeof r->message, "no module matches '%.*s' yet", ls_utf8_clip(b->glob, 120), b->glob);
  }
  pthread_mutex_unlock(&g->mu);
  return n;
}

void ls_dbg_set_on_change(ls_dbg *g, void (*fn)(void *ud), void *ud) {
  pthread_mutex_lock(&g->mu);
  g->on_change = fn;
  g->change_ud = ud;
  pthread_mutex_unlock(&g->mu);
}

static void changed(ls_dbg *g) {
  pthread_mutex_lock(&g->mu);
  void (*fn)(void *) = g->on_change;
  void *ud = g->change_ud;
  pthread_mutex_unlock(&g->mu);
  if (fn) fn(ud);
}

void ls_dbg_config_get(ls_dbg *g, void (*fn)(void *ud, const ls_dbg_fbp_info *b), void *ud, unsigned *exc,
                       int *stop_on_entry) {
  pthread_mutex_lock(&g->mu);
  for (size_t i = 0; fn && i < g->n_fbps; i++) {
    const bp *b = &g->fbps[i];
    ls_dbg_fbp_info info = {b->id, b->glob, b->phase, b->cond ? ls_dbg_expr_source(b->cond) : "",
                            b->hit_text ? b->hit_text : ""};
    fn(ud, &info);
  }
  if (exc) *exc = g->exc;
  if (stop_on_entry) *stop_on_entry = g->stop_on_entry;
  pthread_mutex_unlock(&g->mu);
}
void ls_dbg_set_keep_budget(ls_dbg *g, size_t bytes) { g->keep_budget = bytes; }

void ls_dbg_reset(ls_dbg *g) {
  pthread_mutex_lock(&g->mu);
  for (size_t i = 0; i < g->n_fbps; i++) g->fbps[i].hits = 0;
  for (size_t i = 0; i < g->n_lbps; i++) g->lbps[i].hits = 0;
  g->fired = 0;
  kept_clear(g);
  g->n_cache = 0;
  pthread_mutex_unlock(&g->mu);
}

/* ------------------------------------------------------------------ tensors of a stop */

int ls_dbg_var_tensor(ls_dbg *g, const ls_dbg_event *ev, const ls_dbg_var *v, ls_dbg_tensor *out, ls_diag *d) {
  memset(out, 0, sizeof *out);
  if (v->ndim < 0 || v->ndim > LS_DBG_MAX_DIMS)
    return ls_diag_set(d, LS_EUNSUPPORTED, "'%s' has %d dimensions; at most %d are shown", v->name, v->ndim,
                       LS_DBG_MAX_DIMS);
  out->dtype = v->dtype;
  out->ndim = v->ndim;
  for (int i = 0; i < v->ndim; i++) {
    if (v->shape[i] < 0) return ls_diag_set(d, LS_EINVAL, "'%s' has a negative dimension", v->name);
    out->shape[i] = v->shape[i];
  }
  if (v->data) { /* memory of this process: borrowed, no copy */
    out->data = v->data;
    return LS_OK;
  }
  for (size_t i = 0; i < g->n_fetched; i++)
    if (g->fetched[i].v == v) {
      out->data = g->fetched[i].buf;
      return LS_OK;
    }
  uint64_t n = 1, nbytes;
  for (int i = 0; i < v->ndim; i++) {
    if (v->shape[i] && n > UINT64_MAX / (uint64_t)v->shape[i])
      return ls_diag_set(d, LS_EOVERFLOW, "'%s' is too large", v->name);
    n *= (uint64_t)v->shape[i];
  }
  if (ls_dtype_nbytes(v->dtype, n, &nbytes) != LS_OK || nbytes > SIZE_MAX)
    return ls_diag_set(d, LS_EOVERFLOW, "'%s' (%s) cannot be read: bad size", v->name, ls_dtype_name(v->dtype));
  if (!ev || !ev->fetch) return ls_diag_set(d, LS_EUNSUPPORTED, "'%s' has no readable memory", v->name);
  if (g->n_fetched == g->cap_fetched) {
    size_t nc = g->cap_fetched ? g->cap_fetched * 2 : 16;
    fetched *f = ls_reallocarray(g->fetched, nc, sizeof *f);
    if (!f) return ls_diag_set(d, LS_ENOMEM, "out of memory reading '%s'", v->name);
    g->fetched = f;
    g->cap_fetched = nc;
  }
  void *buf = ls_malloc(nbytes ? (size_t)nbytes : 1);
  if (!buf) return ls_diag_set(d, LS_ENOMEM, "out of memory reading '%s' (%llu bytes)", v->name, (unsigned long long)nbytes);
  int rc = ev->fetch(ev->fetch_ud, v, buf, nbytes, d);
  if (rc != LS_OK) {
    ls_free(buf);
    return rc;
  }
  g->fetched[g->n_fetched++] = (fetched){v, buf};
  out->data = buf;
  return LS_OK;
}

/* ------------------------------------------------------------------ statistics cache */

const ls_stats *ls_dbg_stats_cached(ls_dbg *g, const ls_dbg_tensor *t) {
  uint64_t n = ls_dbg_tensor_numel(t);
  for (int i = 0; i < g->n_cache; i++)
    if (g->cache[i].data == t->data && g->cache[i].n == n && g->cache[i].dt == t->dtype) return &g->cache[i].s;
  ls_stats s;
  if (ls_stats_compute(t->dtype, t->data, n, &s) != LS_OK) return NULL;
  int slot = g->n_cache < CACHE_CAP ? g->n_cache++ : CACHE_CAP - 1;
  g->cache[slot] = (cache_ent){t->data, n, t->dtype, s};
  return &g->cache[slot].s;
}

void ls_dbg_resumed(ls_dbg *g) {
  g->n_cache = 0;
  for (size_t i = 0; i < g->n_fetched; i++) ls_free(g->fetched[i].buf);
  g->n_fetched = 0;
}

/* ------------------------------------------------------------------ scope */

typedef struct scope_ud {
  ls_dbg *g;
  const ls_dbg_event *ev;
} scope_ud;

/* The order names resolve in: outputs first, so `output` is this module's output. */
static const ls_dbg_group k_scope_order[] = {LS_DBG_G_OUTPUTS, LS_DBG_G_INPUTS, LS_DBG_G_PARAMS, LS_DBG_G_INTER,
                                             LS_DBG_G_GRADS};

/* 1 found, 0 not, -1 found but unreadable (out->text says why). */
static int find_in(scope_ud *s, ls_dbg_group gr, const char *name, ls_dbg_value *out) {
  const ls_dbg_event *ev = s->ev;
  for (int i = 0; i < ev->n_vars[gr]; i++) {
    const ls_dbg_var *v = &ev->vars[gr][i];
    if (strcmp(v->name, name) != 0) continue;
    ls_diag d;
    ls_diag_init(&d);
    if (ls_dbg_var_tensor(s->g, ev, v, &out->t, &d) != LS_OK) {
      out->text = ls_strdup(d.msg);
      return -1;
    }
    out->kind = LS_DBG_V_TENSOR;
    snprintf(out->label, sizeof out->label, "%s", name);
    return 1;
  }
  return 0;
}

void ls_dbg_set_resolver(ls_dbg *g, ls_dbg_resolve_fn fn, void *ud) {
  g->resolve = fn;
  g->resolve_ud = ud;
}

/* "rank<N>:<path>" or a full "<module>.<tensor>" path the target fetches (a parameter of a
 * module other than the stopped one; another rank's replica). Only names whose module part
 * is in the table are asked for, so the evaluator's tries of shorter prefixes
 * (`output.absmax`, then `output`) cost no round trip. The bytes are kept like other
 * fetched tensors, until the run resumes. */
static int resolve_named(scope_ud *s, const char *name, ls_dbg_value *out) {
  ls_dbg *g = s->g;
  if (!g->resolve || !s->ev) return 0;
  const char *path = name;
  if (strncmp(name, "rank", 4) == 0 && strchr(name, ':')) path = strchr(name, ':') + 1;
  const char *dot = strrchr(path, '.');
  if (!dot) return 0;
  size_t mlen = (size_t)(dot - path);
  int known = 0;
  pthread_mutex_lock(&g->mu);
  for (size_t m = 0; m < g->n_mods && !known; m++)
    known = strlen(g->mods[m].m.name) == mlen && memcmp(g->mods[m].m.name, path, mlen) == 0;
  pthread_mutex_unlock(&g->mu);
  if (!known) return 0;
  ls_dbg_var meta;
  memset(&meta, 0, sizeof meta);
  void *buf = NULL;
  ls_diag d;
  ls_diag_init(&d);
  if (g->resolve(g->resolve_ud, s->ev, name, &meta, &buf, &d) != 1) return 0;
  if (g->n_fetched == g->cap_fetched) {
    size_t nc = g->cap_fetched ? g->cap_fetched * 2 : 16;
    fetched *f = ls_reallocarray(g->fetched, nc, sizeof *f);
    if (!f) {
      ls_free(buf);
      return 0;
    }
    g->fetched = f;
    g->cap_fetched = nc;
  }
  g->fetched[g->n_fetched++] = (fetched){NULL, buf};
  out->kind = LS_DBG_V_TENSOR;
  out->t.dtype = meta.dtype;
  out->t.ndim = meta.ndim;
  memcpy(out->t.shape, meta.shape, sizeof meta.shape);
  out->t.data = buf;
  out->t.owned = NULL; /* the session's, until resume */
  snprintf(out->label, sizeof out->label, "%.*s", (int)sizeof out->label - 1, name);
  return 1;
}

static int scope_lookup(void *ud, const char *name, ls_dbg_value *out) {
  scope_ud *s = ud;
  const ls_dbg_event *ev = s->ev;
  memset(out, 0, sizeof *out);
  if (ev) {
    if (strcmp(name, "layer") == 0) { out->kind = LS_DBG_V_NUM; out->num = ev->layer; return 1; }
    if (strcmp(name, "depth") == 0) { out->kind = LS_DBG_V_NUM; out->num = ev->depth; return 1; }
    if (strcmp(name, "step") == 0) { out->kind = LS_DBG_V_NUM; out->num = (double)ev->step; return 1; }
    if (ev->has_token && strcmp(name, "token") == 0) { out->kind = LS_DBG_V_NUM; out->num = (double)ev->token; return 1; }
    for (size_t k = 0; k < sizeof k_scope_order / sizeof k_scope_order[0]; k++) {
      int found = find_in(s, k_scope_order[k], name, out);
      if (found) return found;
    }
  }
  if (resolve_named(s, name, out)) return 1;
  /* module paths: "<path>" or "<path>.output" of a kept output */
  char path[200];
  snprintf(path, sizeof path, "%s", name);
  size_t len = strlen(path);
  if (len > 7 && strcmp(path + len - 7, ".output") == 0) path[len - 7] = 0;
  for (size_t i = 0; i < s->g->n_kept; i++) {
    const kept *k = &s->g->kept[i];
    if (strcmp(k->name, path) == 0) {
      out->kind = LS_DBG_V_TENSOR;
      out->t = k->t;
      out->t.owned = NULL; /* borrowed from the session */
      snprintf(out->label, sizeof out->label, "%.*s", (int)sizeof out->label - 1, path); /* labels may be cut */
      return 1;
    }
  }
  return 0;
}

static const ls_stats *scope_stats(void *ud, const ls_dbg_tensor *t) { return ls_dbg_stats_cached(((scope_ud *)ud)->g, t); }

/* Appends ", name" to buf[*len] unless already listed or it does not fit whole. */
static void name_add(char *buf, size_t cap, size_t *len, const char *name) {
  size_t k = strlen(name);
  if (!k) return;
  for (const char *p = buf; (p = strstr(p, name)) != NULL; p += k)
    if ((p == buf || p[-1] == ' ') && (p[k] == ',' || p[k] == 0)) return;
  if (*len + k + 3 > cap) return;
  *len += (size_t)snprintf(buf + *len, cap - *len, "%s%s", *len ? ", " : "", name);
}

/* The names scope_lookup resolves at this stop, in its order: the event's tensors, layer,
 * depth and step (the training step of a program; 0 in the engine's one pass), then the kept module outputs (counted, the latest few named). */
static void scope_names(void *ud, char *buf, size_t cap) {
  scope_ud *s = ud;
  const ls_dbg_event *ev = s->ev;
  size_t len = 0;
  buf[0] = 0;
  if (ev) {
    for (size_t k = 0; k < sizeof k_scope_order / sizeof k_scope_order[0]; k++)
      for (int i = 0; i < ev->n_vars[k_scope_order[k]]; i++) name_add(buf, cap, &len, ev->vars[k_scope_order[k]][i].name);
    name_add(buf, cap, &len, "layer");
    name_add(buf, cap, &len, "depth");
    name_add(buf, cap, &len, "step");
    if (ev->has_token) name_add(buf, cap, &len, "token");
  }
  size_t n = 0;
  for (size_t i = 0; i < s->g->n_kept; i++) n += s->g->kept[i].name[0] != 0;
  if (!n || len + 40 > cap) return;
  len += (size_t)snprintf(buf + len, cap - len, "%skept outputs of %zu module%s, e.g. ", len ? "; " : "", n,
                          n == 1 ? "" : "s");
  size_t start = len, shown = 0;
  for (size_t i = s->g->n_kept; i-- > 0 && shown < 3;) {
    const char *path = s->g->kept[i].name;
    if (!path[0] || len + strlen(path) + 3 > cap) continue;
    len += (size_t)snprintf(buf + len, cap - len, "%s%s", len > start ? ", " : "", path);
    shown++;
  }
}

/* Text for the expression language (expr.h): the event's tokenizer and ids, the model's
 * vocabulary. */
static int scope_token_text(void *ud, int64_t cols, int64_t pos, int64_t id, char *buf, size_t cap) {
  const scope_ud *s = ud;
  const ls_dbg_event *ev = s->ev;
  if (!ev || !s->g->m || cols != s->g->m->sem.vocab || id < 0 || id >= cols) return 0;
  ls_tok *tok = ls_engine_tokref_get(ev->tok);
  if (!tok) return 0;
  int64_t prev = ev->ids && pos >= 0 && pos < ev->n_ids ? ev->ids[pos] : -1;
  ls_engine_text_piece(tok, prev, id, buf, cap);
  return 1;
}

int ls_dbg_position_label(const ls_dbg_event *ev, int64_t n, int64_t pos, char *buf, size_t cap) {
  if (!ev || !ev->ids || n != ev->n_ids || pos < 0 || pos >= n) return 0;
  ls_tok *tok = ls_engine_tokref_get(ev->tok);
  if (!tok) return 0;
  ls_engine_text_label(tok, ev->ids[pos], buf, cap);
  return 1;
}

static int scope_position_label(void *ud, int64_t n, int64_t pos, char *buf, size_t cap) {
  return ls_dbg_position_label(((const scope_ud *)ud)->ev, n, pos, buf, cap);
}

static int scope_lens(void *ud, const float *h, int64_t rows, int64_t cols, float **logits, int64_t *vocab,
                      ls_diag *d) {
  const ls_dbg_event *ev = ((const scope_ud *)ud)->ev;
  if (!ev || !ev->lens) return ls_diag_set(d, LS_EUNSUPPORTED, "lens needs the model's head, which this target does "
                                           "not give (the engine does)");
  return ev->lens(ev->lens_ud, h, rows, cols, logits, vocab, d);
}

int ls_dbg_eval(ls_dbg *g, const ls_dbg_event *ev, const char *src, ls_dbg_value *out, ls_diag *d) {
  ls_dbg_expr *e;
  int rc = ls_dbg_expr_parse(src, &e, d);
  if (rc) return rc;
  scope_ud ud = {g, ev};
  ls_dbg_scope sc = {scope_lookup, scope_stats, &ud, scope_names, scope_token_text, scope_position_label, scope_lens};
  rc = ls_dbg_expr_eval(e, &sc, out, d);
  ls_dbg_expr_free(e);
  return rc;
}

/* ------------------------------------------------------------------ helpers of check.c */

int ls__dbg_stop_on_entry(ls_dbg *g) { return g->stop_on_entry; }
const ls_text_index *ls__dbg_lines(const ls_dbg *g) { return &g->lines; }

/* problem 0: the enabled filters that have not fired yet; else marks that filter fired and
 * returns 1 if it was enabled and had not fired. */
unsigned ls__dbg_exc_take(ls_dbg *g, unsigned problem) {
  pthread_mutex_lock(&g->mu);
  unsigned r;
  if (!problem) r = g->exc & ~g->fired;
  else {
    r = (g->exc & ~g->fired & problem) != 0;
    if (r) g->fired |= problem;
  }
  pthread_mutex_unlock(&g->mu);
  return r;
}

/* Copies a module's f32 output while the budget allows, so later expressions can name it. */
int ls__dbg_keep(ls_dbg *g, const ls_dbg_event *ev, const ls_dbg_var *out) {
  /* only memory of this process: fetching every output of a target that has none, just to
   * keep it, would cost what not sharing memory saves */
  if (out->dtype != LS_DT_F32 || out->ndim < 1 || out->ndim > LS_DBG_MAX_DIMS || !out->data) return 0;
  ls_dbg_tensor t;
  if (ls_dbg_var_tensor(g, ev, out, &t, NULL) != LS_OK) return 0;
  uint64_t n = ls_dbg_tensor_numel(&t);
  if (n > SIZE_MAX / sizeof(float)) return 0;
  size_t bytes = (size_t)n * sizeof(float);
  if (bytes > g->keep_budget || g->kept_bytes > g->keep_budget - bytes) return 0;
  if (g->n_kept == g->cap_kept) {
    size_t nc = g->cap_kept ? g->cap_kept * 2 : 64;
    kept *k = ls_reallocarray(g->kept, nc, sizeof *k);
    if (!k) return LS_ENOMEM;
    g->kept = k;
    g->cap_kept = nc;
  }
  float *copy = ls_malloc(bytes ? bytes : sizeof(float));
  if (!copy) return LS_ENOMEM;
  memcpy(copy, t.data, bytes);
  kept *k = &g->kept[g->n_kept++];
  k->name = ev->name;
  k->t = t;
  k->t.data = k->t.owned = copy;
  g->kept_bytes += bytes;
  return 0;
}

static int hit_ok(bp *b) {
  b->hits++;
  switch (b->hop) {
  case HIT_EQ: return b->hits == b->hit_n;
  case HIT_GE: return b->hits >= b->hit_n;
  case HIT_GT: return b->hits > b->hit_n;
  case HIT_MOD: return b->hits % b->hit_n == 0;
  default: return 1;
  }
}

/* 1 when b fires here; a condition that cannot be evaluated stops too, saying why, so a
 * typo is seen instead of silently never stopping. */
static int bp_fires(ls_dbg *g, bp *b, const ls_dbg_event *ev, ls_dbg_stop *stop) {
  if (b->cond) {
    scope_ud ud = {g, ev};
    ls_dbg_scope sc = {scope_lookup, scope_stats, &ud, scope_names, scope_token_text, scope_position_label, scope_lens};
    ls_diag d;
    ls_diag_init(&d);
    int truth = 0;
    if (ls_dbg_expr_truth(b->cond, &sc, &truth, &d) != LS_OK) {
      const char *src = ls_dbg_expr_source(b->cond);
      snprintf(stop->description, sizeof stop->description, "breakpoint condition '%.*s' failed at %.100s: %.*s",
               ls_utf8_clip(src, 100), src, ev->name, ls_utf8_clip(d.msg, 250), d.msg);
      return 1;
    }
    if (!truth) return 0;
  }
  return hit_ok(b);
}

int ls__dbg_bps_check(ls_dbg *g, const ls_dbg_event *ev, ls_dbg_stop *stop) {
  if (!ev->name[0]) return 0;
  pthread_mutex_lock(&g->mu);
  int mi = model_index(g, ev->module);
  for (size_t i = 0; i < g->n_fbps; i++) {
    bp *b = &g->fbps[i];
    int phase_ok = b->phase == LS_DBG_BP_BOTH ||
                   (b->phase == LS_DBG_BP_BACKWARD) == (ev->pass == LS_DBG_BACKWARD);
    if (!phase_ok || !glob_match(b->glob, ev->name) || !bp_fires(g, b, ev, stop)) continue;
    stop->reason = LS_DBG_STOP_FUNCTION_BREAKPOINT;
    if (stop->n_hit < LS_DBG_MAX_HIT_IDS) stop->hit_ids[stop->n_hit++] = b->id;
  }
  for (size_t i = 0; i < g->n_lbps; i++) {
    bp *b = &g->lbps[i];
    size_t j = 0;
    while (j < b->n_modules && b->modules[j] != mi) j++;
    if (j == b->n_modules || !bp_fires(g, b, ev, stop)) continue;
    if (!stop->reason) stop->reason = LS_DBG_STOP_BREAKPOINT;
    if (!stop->line) stop->line = b->line;
    if (stop->n_hit < LS_DBG_MAX_HIT_IDS) stop->hit_ids[stop->n_hit++] = b->id;
  }
  pthread_mutex_unlock(&g->mu);
  return stop->reason != LS_DBG_STOP_NONE;
}
