/* health.c: a watched run's training health read back from its run record and turned into
 * findings and the layers x steps matrices of a report (health.h). The rows come from the
 * record through read-only queries; every value is checked for its type before use (the file
 * may come from anywhere), and a row naming a module outside the run's table is left out.
 * Figures are per rank; the matrices show the lowest rank, the findings every rank (named
 * when there are several). A finding is reported once, at the first sampled step it holds. */
#include "core/health/health.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

#define MAX_MODULES 4000000
#define MAX_CELLS 200000000u  /* ranks x layers x steps kept in memory */
#define MAX_FINDINGS 500
#define HISTORY 64            /* earlier samples a median looks back over */
#define MOVED_FACTOR 2.0      /* a layer "moved" before a loss spike: norm > 2x its median */
#define SPIKE_LOOKBACK 5      /* sampled steps before a spike searched for layers that moved */

void ls_health_opts_init(ls_health_opts *o) {
  *o = (ls_health_opts){.explode_factor = 10, .min_history = 3, .vanish_ratio = 1e-3, .dead_frac = 0.5,
                        .update_factor = 5, .spike_factor = 2, .drift_rel = 1e-4};
}

static const char *const k_kinds[LS_HEALTH_N_KINDS] = {"exploding", "vanishing", "dead", "update", "loss_spike",
                                                      "rank_drift"};

const char *ls_health_kind_name(ls_health_kind k) {
  return k >= 0 && k < LS_HEALTH_N_KINDS ? k_kinds[k] : "?";
}

/* ---- rows as read ------------------------------------------------------------------------- */

typedef struct mod { char name[256], type[128]; int parent; } mod;
typedef struct srow { int64_t step; int rank; double loss, grad_norm; } srow;
typedef struct prow { int64_t step; int rank, module, matrix; char tensor[64]; double gn, wn, un; } prow;
typedef struct orow { int64_t step; int rank, module; double dead; int64_t units; } orow;

typedef struct loaded {
  mod *mods;
  size_t n_mods;
  srow *s;
  size_t n_s, cap_s;
  prow *p;
  size_t n_p, cap_p;
  orow *o;
  size_t n_o, cap_o;
  int64_t run;
  int failed;                /* out of memory or a malformed row */
  const char *table;
} loaded;

static void loaded_free(loaded *L) {
  ls_free(L->mods);
  ls_free(L->s);
  ls_free(L->p);
  ls_free(L->o);
}

static int grow(void **p, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return 0;
  size_t c = *cap ? *cap * 2 : 64;
  void *q = ls_reallocarray(*p, c, size);
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

static double real_or_nan(const ls_rec_value *v) {
  return v->type == LS_REC_REAL ? v->f : v->type == LS_REC_INT ? (double)v->i : NAN;
}

static int int_ok(const ls_rec_value *v, int64_t lo, int64_t hi) {
  return v->type == LS_REC_INT && v->i >= lo && v->i <= hi;
}

static void copy_text(char *dst, size_t cap, const ls_rec_value *v) {
  snprintf(dst, cap, "%s", v->type == LS_REC_TEXT && v->s ? v->s : "");
}

static int on_module(void *ud, int64_t row, int n, const char *const *names, const ls_rec_value *v) {
  loaded *L = ud;
  if (row < 0) return 0;
  if (!int_ok(&v[0], 0, MAX_MODULES - 1) || (size_t)v[0].i >= L->n_mods) return (L->failed = 1);
  mod *m = &L->mods[v[0].i];
  copy_text(m->name, sizeof m->name, &v[1]);
  copy_text(m->type, sizeof m->type, &v[2]);
  m->parent = int_ok(&v[3], 0, (int64_t)L->n_mods - 1) ? (int)v[3].i : -1;
  return 0;
}

static int on_count(void *ud, int64_t row, int n, const char *const *names, const ls_rec_value *v) {
  if (row >= 0) *(int64_t *)ud = v[0].type == LS_REC_INT ? v[0].i : -1;
  return 0;
}

static int on_step(void *ud, int64_t row, int n, const char *const *names, const ls_rec_value *v) {
  loaded *L = ud;
  if (row < 0) return 0;
  if (!int_ok(&v[0], INT64_MIN, INT64_MAX) || !int_ok(&v[1], 0, 1 << 20)) return (L->failed = 1);
  if (grow((void **)&L->s, &L->cap_s, L->n_s, sizeof *L->s)) return (L->failed = 1);
  L->s[L->n_s++] = (srow){v[0].i, (int)v[1].i, real_or_nan(&v[2]), real_or_nan(&v[3])};
  return 0;
}

static int on_param(void *ud, int64_t row, int n, const char *const *names, const ls_rec_value *v) {
  loaded *L = ud;
  if (row < 0) return 0;
  if (!int_ok(&v[0], INT64_MIN, INT64_MAX) || !int_ok(&v[1], 0, 1 << 20)) return (L->failed = 1);
  if (!int_ok(&v[2], 0, (int64_t)L->n_mods - 1)) return 0; /* not a module of this run */
  if (grow((void **)&L->p, &L->cap_p, L->n_p, sizeof *L->p)) return (L->failed = 1);
  prow *p = &L->p[L->n_p++];
  *p = (prow){.step = v[0].i, .rank = (int)v[1].i, .module = (int)v[2].i,
              .matrix = v[4].type == LS_REC_TEXT && v[4].s && strchr(v[4].s, ','),
              .gn = real_or_nan(&v[5]), .wn = real_or_nan(&v[6]), .un = real_or_nan(&v[7])};
  copy_text(p->tensor, sizeof p->tensor, &v[3]);
  return 0;
}

static int on_output(void *ud, int64_t row, int n, const char *const *names, const ls_rec_value *v) {
  loaded *L = ud;
  if (row < 0) return 0;
  if (!int_ok(&v[0], INT64_MIN, INT64_MAX) || !int_ok(&v[1], 0, 1 << 20)) return (L->failed = 1);
  if (!int_ok(&v[2], 0, (int64_t)L->n_mods - 1)) return 0;
  if (grow((void **)&L->o, &L->cap_o, L->n_o, sizeof *L->o)) return (L->failed = 1);
  L->o[L->n_o++] = (orow){v[0].i, (int)v[1].i, (int)v[2].i, real_or_nan(&v[3]), v[4].type == LS_REC_INT ? v[4].i : -1};
  return 0;
}

static int query(ls_rec *r, loaded *L, const char *table, const char *fmt, ls_rec_row_fn fn, ls_diag *d) {
  char sql[512];
  snprintf(sql, sizeof sql, fmt, (long long)L->run);
  L->table = table;
  int rc = ls_rec_query(r, sql, 0, fn, L, d);
  if (rc) return rc;
  if (L->failed) return ls_diag_set(d, LS_EINVAL, "run %lld: a malformed row in table %s (or out of memory)",
                                    (long long)L->run, table);
  return LS_OK;
}

static int load(ls_rec *r, int64_t run_id, loaded *L, ls_diag *d) {
  memset(L, 0, sizeof *L);
  int64_t v = -1;
  int rc;
  if (run_id <= 0) {
    if ((rc = ls_rec_query(r, "SELECT max(run_id) FROM steps", 0, on_count, &v, d))) return rc;
    if (v <= 0) return ls_diag_set(d, LS_ENOENT, "no training health recorded (run `layerscope watch --health "
                                                 "--record RUN.db -- python train.py`)");
    run_id = v;
  } else {
    ls_rec_run_row row;
    if ((rc = ls_rec_run_get(r, run_id, &row, d))) return rc; /* "no run N" */
  }
  L->run = run_id;
  v = -1;
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT max(idx) + 1 FROM modules WHERE run_id = %lld", (long long)run_id);
  if ((rc = ls_rec_query(r, sql, 0, on_count, &v, d))) return rc;
  if (v <= 0 || v > MAX_MODULES) return ls_diag_set(d, LS_ENOENT, "run %lld has no modules", (long long)run_id);
  L->n_mods = (size_t)v;
  if (!(L->mods = ls_calloc(L->n_mods, sizeof *L->mods))) return LS_ENOMEM;
  for (size_t i = 0; i < L->n_mods; i++) L->mods[i].parent = -1;
  if ((rc = query(r, L, "modules", "SELECT idx, name, type, parent FROM modules WHERE run_id = %lld", on_module, d)) ||
      (rc = query(r, L, "steps", "SELECT step, rank, loss, grad_norm FROM steps WHERE run_id = %lld ORDER BY rank, step",
                  on_step, d)) ||
      (rc = query(r, L, "health", "SELECT step, rank, module, tensor, shape, grad_norm, weight_norm, update_norm "
                                  "FROM health WHERE run_id = %lld AND tensor <> 'output' ORDER BY rank, step", on_param, d)) ||
      (rc = query(r, L, "health", "SELECT step, rank, module, dead, units FROM health WHERE run_id = %lld AND "
                                  "tensor = 'output' AND dead IS NOT NULL ORDER BY rank, step", on_output, d)))
    return rc;
  if (!L->n_s) return ls_diag_set(d, LS_ENOENT, "run %lld has no training health samples", (long long)run_id);
  return LS_OK;
}

/* ---- small helpers ------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Median of the finite values of v[0..n) (scratch: n doubles), NaN when none. */
static double median(const double *v, size_t n, double *scratch) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) scratch[k++] = v[i];
  if (!k) return NAN;
  qsort(scratch, k, sizeof *scratch, cmp_double);
  return k % 2 ? scratch[k / 2] : 0.5 * (scratch[k / 2 - 1] + scratch[k / 2]);
}

/* The index of step in h->steps, NO_STEP when it is not a sampled step (a health row whose
 * step has no `steps` row: a record from elsewhere). */
#define NO_STEP ((size_t)-1)
static size_t step_index(const ls_health_report *h, int64_t step) {
  size_t lo = 0, hi = h->n_steps;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (h->steps[mid] < step) lo = mid + 1;
    else hi = mid;
  }
  return lo < h->n_steps && h->steps[lo] == step ? lo : NO_STEP;
}

typedef struct ctx {
  const loaded *L;
  const ls_health_opts *o;
  ls_health_report *h;
  int *ranks;                /* [n_ranks] ascending */
  size_t cap_f;
  int oom;
} ctx;

static ls_health_finding *add(ctx *c, ls_health_kind kind, int module, const char *name, int64_t step, int rank,
                              double value, double baseline) {
  ls_health_report *h = c->h;
  if (h->n_findings >= MAX_FINDINGS) return NULL;
  if (grow((void **)&h->findings, &c->cap_f, h->n_findings, sizeof *h->findings)) {
    c->oom = 1;
    return NULL;
  }
  ls_health_finding *f = &h->findings[h->n_findings++];
  *f = (ls_health_finding){.kind = kind, .module = module, .step = step, .rank = rank, .value = value,
                           .baseline = baseline};
  snprintf(f->name, sizeof f->name, "%s", name ? name : "");
  return f;
}

/* " (rank N)" when the run has several ranks. */
static const char *rank_note(const ctx *c, int rank, char *buf, size_t cap) {
  if (c->h->n_ranks > 1) snprintf(buf, cap, " (rank %d)", rank);
  else buf[0] = 0;
  return buf;
}

static const char *mod_name(const loaded *L, int m) {
  return m >= 0 && (size_t)m < L->n_mods ? (L->mods[m].name[0] ? L->mods[m].name : "(root)") : "?";
}

/* ---- the layers x steps matrices, per rank ------------------------------------------------ */

typedef struct acc { double g, w, u; } acc; /* sums of squares of grad, weight, update norms */

static int build(ctx *c, acc **out_acc) {
  const loaded *L = c->L;
  ls_health_report *h = c->h;
  /* steps and ranks */
  int64_t *st = ls_malloc((L->n_s + 1) * sizeof *st);
  int *rk = ls_malloc((L->n_s + 1) * sizeof *rk);
  if (!st || !rk) {
    ls_free(st);
    ls_free(rk);
    return LS_ENOMEM;
  }
  size_t ns = 0, nr = 0;
  for (size_t i = 0; i < L->n_s; i++) st[i] = L->s[i].step;
  qsort(st, L->n_s, sizeof *st, cmp_i64);
  for (size_t i = 0; i < L->n_s; i++)
    if (!ns || st[ns - 1] != st[i]) st[ns++] = st[i];
  for (size_t i = 0; i < L->n_s; i++) { /* rows are ordered by rank */
    if (!nr || rk[nr - 1] != L->s[i].rank) rk[nr++] = L->s[i].rank;
  }
  h->steps = st;
  h->n_steps = ns;
  c->ranks = rk;
  h->n_ranks = (int)nr;
  /* layers: modules with parameter rows, in table order */
  int *lidx = ls_malloc(L->n_mods * sizeof *lidx);
  if (!lidx) return LS_ENOMEM;
  for (size_t i = 0; i < L->n_mods; i++) lidx[i] = -1;
  for (size_t i = 0; i < L->n_p; i++) lidx[L->p[i].module] = 0;
  size_t nl = 0;
  for (size_t i = 0; i < L->n_mods; i++)
    if (lidx[i] == 0) lidx[i] = (int)nl++;
  size_t no = 0;
  int *oidx = ls_malloc(L->n_mods * sizeof *oidx);
  if (!oidx) {
    ls_free(lidx);
    return LS_ENOMEM;
  }
  for (size_t i = 0; i < L->n_mods; i++) oidx[i] = -1;
  for (size_t i = 0; i < L->n_o; i++)
    if (L->o[i].units > 0) oidx[L->o[i].module] = 0;
  for (size_t i = 0; i < L->n_mods; i++)
    if (oidx[i] == 0) oidx[i] = (int)no++;
  if ((double)nr * (double)(nl + no + 1) * (double)ns > MAX_CELLS) {
    ls_free(lidx);
    ls_free(oidx);
    return LS_ELIMIT;
  }
  h->n_layers = nl;
  h->n_outs = no;
  h->loss = ls_malloc((ns + 1) * sizeof *h->loss);
  h->grad_norm = ls_malloc((ns + 1) * sizeof *h->grad_norm);
  h->layer_names = ls_calloc(nl + 1, sizeof *h->layer_names);
  h->layer_module = ls_calloc(nl + 1, sizeof *h->layer_module);
  h->layer_grad = ls_malloc((nl * ns + 1) * sizeof *h->layer_grad);
  h->layer_update = ls_malloc((nl * ns + 1) * sizeof *h->layer_update);
  h->out_names = ls_calloc(no + 1, sizeof *h->out_names);
  h->out_dead = ls_malloc((no * ns + 1) * sizeof *h->out_dead);
  acc *a = ls_calloc(nr * nl * ns + 1, sizeof *a);
  double *lsum = ls_calloc(ns + 1, sizeof *lsum);
  int *lcnt = ls_calloc(ns + 1, sizeof *lcnt);
  if (!h->loss || !h->grad_norm || !h->layer_names || !h->layer_module || !h->layer_grad || !h->layer_update ||
      !h->out_names || !h->out_dead || !a || !lsum || !lcnt) {
    ls_free(lidx), ls_free(oidx), ls_free(a), ls_free(lsum), ls_free(lcnt);
    return LS_ENOMEM;
  }
  for (size_t i = 0; i < L->n_mods; i++) {
    if (lidx[i] >= 0) {
      snprintf(h->layer_names[lidx[i]], sizeof h->layer_names[0], "%s", mod_name(L, (int)i));
      h->layer_module[lidx[i]] = (int)i;
    }
    if (oidx[i] >= 0) snprintf(h->out_names[oidx[i]], sizeof h->out_names[0], "%s", mod_name(L, (int)i));
  }
  for (size_t i = 0; i < ns; i++) h->loss[i] = h->grad_norm[i] = NAN;
  for (size_t i = 0; i < nl * ns; i++) h->layer_grad[i] = h->layer_update[i] = NAN;
  for (size_t i = 0; i < no * ns; i++) h->out_dead[i] = NAN;
  for (size_t i = 0; i < nr * nl * ns; i++) a[i] = (acc){NAN, NAN, NAN};
  for (size_t i = 0; i < L->n_s; i++) {
    const srow *s = &L->s[i];
    size_t k = step_index(h, s->step);
    if (isfinite(s->loss)) lsum[k] += s->loss, lcnt[k]++;
    if (s->rank == rk[0] && isfinite(s->grad_norm)) h->grad_norm[k] = s->grad_norm;
  }
  for (size_t k = 0; k < ns; k++)
    if (lcnt[k]) h->loss[k] = lsum[k] / lcnt[k];
  for (size_t i = 0; i < L->n_p; i++) {
    const prow *p = &L->p[i];
    size_t r = 0;
    while (r < nr && rk[r] != p->rank) r++;
    if (r == nr) continue; /* a rank without step rows */
    size_t k = step_index(h, p->step);
    if (k == NO_STEP) continue;
    acc *x = &a[(r * nl + (size_t)lidx[p->module]) * ns + k];
#define ADDSQ(f, v) if (isfinite(v)) x->f = (isfinite(x->f) ? x->f : 0) + (v) * (v)
    ADDSQ(g, p->gn);
    ADDSQ(w, p->wn);
    ADDSQ(u, p->un);
#undef ADDSQ
  }
  for (size_t l = 0; l < nl; l++)
    for (size_t k = 0; k < ns; k++) {
      const acc *x = &a[l * ns + k]; /* the lowest rank */
      h->layer_grad[l * ns + k] = sqrt(x->g);
      h->layer_update[l * ns + k] = x->w > 0 ? sqrt(x->u) / sqrt(x->w) : NAN;
    }
  for (size_t i = 0; i < L->n_o; i++) {
    size_t k = step_index(h, L->o[i].step);
    if (L->o[i].rank == rk[0] && oidx[L->o[i].module] >= 0 && k != NO_STEP)
      h->out_dead[(size_t)oidx[L->o[i].module] * ns + k] = L->o[i].dead;
  }
  ls_free(lidx);
  ls_free(oidx);
  ls_free(lsum);
  ls_free(lcnt);
  *out_acc = a;
  return LS_OK;
}

/* ---- findings ----------------------------------------------------------------------------- */

/* A layer's gradient norm past explode_factor x the median of its earlier samples. */
static void find_exploding(ctx *c, const acc *a, double *tmp, double *series) {
  ls_health_report *h = c->h;
  size_t nl = h->n_layers, ns = h->n_steps;
  char *done = ls_calloc(nl + 1, 1);
  if (!done) return;
  for (int r = 0; r < h->n_ranks; r++)
    for (size_t l = 0; l < nl; l++) {
      if (done[l]) continue;
      for (size_t k = 0; k < ns; k++) series[k] = sqrt(a[((size_t)r * nl + l) * ns + k].g);
      for (size_t k = 0; k < ns; k++) {
        size_t from = k > HISTORY ? k - HISTORY : 0, have = 0;
        for (size_t j = from; j < k; j++) have += isfinite(series[j]) != 0;
        if (!isfinite(series[k]) || have < (size_t)(c->o->min_history > 0 ? c->o->min_history : 1)) continue;
        double med = median(series + from, k - from, tmp);
        if (!(med > 0) || !(series[k] > c->o->explode_factor * med)) continue;
        char rn[32];
        ls_health_finding *f = add(c, LS_HEALTH_EXPLODING, h->layer_module[l], h->layer_names[l], h->steps[k],
                                   c->ranks[r], series[k], med);
        if (f)
          snprintf(f->message, sizeof f->message,
                   "exploding gradients in %s from step %lld%s: gradient norm %.3g, %.0fx its median so far (%.3g)",
                   f->name, (long long)f->step, rank_note(c, f->rank, rn, sizeof rn), f->value, f->value / med, med);
        done[l] = 1;
        break;
      }
    }
  ls_free(done);
}

/* The input-side layer's gradient norm under vanish_ratio x the largest of the later layers'. */
static void find_vanishing(ctx *c, const acc *a) {
  ls_health_report *h = c->h;
  size_t nl = h->n_layers, ns = h->n_steps;
  if (nl < 2) return;
  for (int r = 0; r < h->n_ranks; r++)
    for (size_t k = 0; k < ns; k++) {
      size_t first = nl, big = nl;
      double gmax = 0;
      for (size_t l = 0; l < nl; l++) {
        double g = sqrt(a[((size_t)r * nl + l) * ns + k].g);
        if (!isfinite(g)) continue;
        if (first == nl) first = l;
        else if (g > gmax) gmax = g, big = l;
      }
      if (first == nl || big == nl) continue;
      double g0 = sqrt(a[((size_t)r * nl + first) * ns + k].g);
      if (!(g0 < c->o->vanish_ratio * gmax)) continue;
      char rn[32];
      ls_health_finding *f = add(c, LS_HEALTH_VANISHING, h->layer_module[first], h->layer_names[first], h->steps[k],
                                 c->ranks[r], g0, gmax);
      if (f)
        snprintf(f->message, sizeof f->message,
                 "vanishing gradients toward the input from step %lld%s: %s's gradient norm %.3g is %.2g of %s's (%.3g)",
                 (long long)f->step, rank_note(c, f->rank, rn, sizeof rn), f->name, g0, g0 / gmax, h->layer_names[big],
                 gmax);
      return;
    }
}

static int is_ancestor(const loaded *L, int anc, int m) {
  for (int p = m >= 0 ? L->mods[m].parent : -1, hops = 0; p >= 0 && hops < 1000; p = L->mods[p].parent, hops++)
    if (p == anc) return 1;
  return 0;
}

/* A module output with at least dead_frac of its units zero over a whole step; a module
 * whose descendant is dead in the same way is left out (its output is that descendant's). */
static void find_dead(ctx *c) {
  const loaded *L = c->L;
  size_t start = c->h->n_findings;
  int *first = ls_malloc((L->n_mods + 1) * sizeof *first);
  if (!first) return;
  for (size_t i = 0; i < L->n_mods; i++) first[i] = -1;
  for (size_t i = 0; i < L->n_o; i++) { /* ordered by rank, step: the first row wins */
    const orow *o = &L->o[i];
    if (first[o->module] < 0 && isfinite(o->dead) && o->dead >= c->o->dead_frac) first[o->module] = (int)i;
  }
  for (size_t m = 0; m < L->n_mods; m++) {
    if (first[m] < 0) continue;
    int shadowed = 0;
    for (size_t k = 0; k < L->n_mods && !shadowed; k++)
      shadowed = first[k] >= 0 && k != m && is_ancestor(L, (int)m, (int)k);
    if (shadowed) continue;
    const orow *o = &L->o[first[m]];
    char rn[32], units[48] = "";
    if (o->units > 0) snprintf(units, sizeof units, " of %lld", (long long)o->units);
    ls_health_finding *f = add(c, LS_HEALTH_DEAD, (int)m, mod_name(L, (int)m), o->step, o->rank, o->dead,
                               c->o->dead_frac);
    if (f)
      snprintf(f->message, sizeof f->message, "dead units in %s%s%s%s from step %lld%s: %.0f%%%s units zero for the "
               "whole step", f->name, L->mods[m].type[0] ? " (" : "", L->mods[m].type, L->mods[m].type[0] ? ")" : "",
               (long long)f->step, rank_note(c, f->rank, rn, sizeof rn), 100 * o->dead, units);
  }
  (void)start;
  ls_free(first);
}

static int cmp_prow_key(const void *a, const void *b) {
  const prow *x = *(const prow *const *)a, *y = *(const prow *const *)b;
  if (x->module != y->module) return x->module - y->module;
  int s = strcmp(x->tensor, y->tensor);
  if (s) return s;
  if (x->step != y->step) return x->step < y->step ? -1 : 1;
  return x->rank - y->rank;
}

/* A weight matrix whose update/weight ratio is update_factor away from the median of the
 * step's weight matrices (rank by rank, step by step: rows are ordered so). */
static void find_update(ctx *c, double *tmp, double *ratios) {
  const loaded *L = c->L;
  size_t n = L->n_p;
  char *done = ls_calloc(n + 1, 1); /* by row of a parameter's first appearance */
  const prow **key = ls_malloc((n + 1) * sizeof *key);
  if (!done || !key) {
    ls_free(done);
    ls_free(key);
    return;
  }
  for (size_t i = 0; i < n;) {
    size_t j = i, m = 0;
    while (j < n && L->p[j].rank == L->p[i].rank && L->p[j].step == L->p[i].step) {
      const prow *p = &L->p[j];
      ratios[j - i] = p->matrix && p->wn > 0 && isfinite(p->un) ? p->un / p->wn : NAN;
      m += isfinite(ratios[j - i]) != 0;
      j++;
    }
    double med = m >= 3 ? median(ratios, j - i, tmp) : NAN;
    for (size_t q = i; q < j && med > 0; q++) {
      double x = ratios[q - i];
      if (!(x > c->o->update_factor * med || x < med / c->o->update_factor)) continue;
      const prow *p = &L->p[q];
      int seen = 0;
      for (size_t z = 0; z < n && !seen; z++)
        seen = done[z] && L->p[z].module == p->module && strcmp(L->p[z].tensor, p->tensor) == 0;
      if (seen) continue;
      done[q] = 1;
      char name[256], rn[32];
      snprintf(name, sizeof name, "%.190s.%.63s", mod_name(L, p->module), p->tensor);
      ls_health_finding *f = add(c, LS_HEALTH_UPDATE, p->module, name, p->step, p->rank, x, med);
      if (f && x == 0)
        snprintf(f->message, sizeof f->message, "update ratio of %s far from the rest from step %lld%s: 0 (the weights "
                 "did not change), the median of the step's weight matrices is %.3g", name, (long long)p->step,
                 rank_note(c, p->rank, rn, sizeof rn), med);
      else if (f)
        snprintf(f->message, sizeof f->message, "update ratio of %s far from the rest from step %lld%s: %.3g, %.3gx "
                 "the median %.3g of the step's weight matrices", name, (long long)p->step,
                 rank_note(c, p->rank, rn, sizeof rn), x, x / med, med);
    }
    i = j;
  }
  ls_free(done);
  ls_free(key);
}

/* A loss past spike_factor x the median of its recent history, with the layers whose
 * gradient norms moved (past MOVED_FACTOR x their own median) first in the steps before. */
static void find_loss_spike(ctx *c, const acc *a, double *tmp) {
  ls_health_report *h = c->h;
  size_t ns = h->n_steps, nl = h->n_layers;
  int in_spike = 0;
  for (size_t k = 0; k < ns; k++) {
    size_t from = k > HISTORY ? k - HISTORY : 0, have = 0;
    for (size_t j = from; j < k; j++) have += isfinite(h->loss[j]) != 0;
    if (!isfinite(h->loss[k]) || have < (size_t)(c->o->min_history > 0 ? c->o->min_history : 1)) continue;
    double med = median(h->loss + from, k - from, tmp);
    int spike = med > 0 && h->loss[k] > c->o->spike_factor * med;
    if (spike && !in_spike) {
      /* layers that moved first, lowest rank */
      char moved[400] = "";
      size_t len = 0, shown = 0;
      size_t lo = k > SPIKE_LOOKBACK ? k - SPIKE_LOOKBACK : 0;
      for (size_t j = lo; j <= k && shown < 3; j++)
        for (size_t l = 0; l < nl && shown < 3; l++) {
          const acc *row = &a[l * ns];
          double g = sqrt(row[j].g), hist[HISTORY];
          size_t hn = 0;
          for (size_t q = j > HISTORY ? j - HISTORY : 0; q < j; q++) hist[hn++] = sqrt(row[q].g);
          double m = hn ? median(hist, hn, tmp) : NAN;
          int before = 0; /* it moved already at an earlier step of the lookback: listed then */
          if (!(m > 0 && g > MOVED_FACTOR * m)) continue;
          for (size_t q = lo; q < j && !before; q++) {
            size_t hn2 = 0;
            for (size_t z = q > HISTORY ? q - HISTORY : 0; z < q; z++) hist[hn2++] = sqrt(row[z].g);
            double m2 = hn2 ? median(hist, hn2, tmp) : NAN;
            before = m2 > 0 && sqrt(row[q].g) > MOVED_FACTOR * m2;
          }
          if (before) continue;
          len += (size_t)snprintf(moved + len, len < sizeof moved ? sizeof moved - len : 0, "%s%s (step %lld, %.1fx)",
                                  shown ? ", " : "", h->layer_names[l], (long long)h->steps[j], g / m);
          shown++;
        }
      ls_health_finding *f = add(c, LS_HEALTH_LOSS_SPIKE, -1, "", h->steps[k], c->ranks[0], h->loss[k], med);
      if (f)
        snprintf(f->message, sizeof f->message, "loss spike at step %lld: %.4g, %.1fx its recent median %.4g; %s%s",
                 (long long)f->step, f->value, f->value / med, med,
                 shown ? "gradient norms moved first in " : "no layer's gradient norm moved before it",
                 shown ? moved : "");
    }
    in_spike = spike;
  }
}

/* Replicated values that differ across ranks: each parameter's weight norm at a step. */
static void find_rank_drift(ctx *c) {
  const loaded *L = c->L;
  if (c->h->n_ranks < 2) return;
  const prow **v = ls_malloc((L->n_p + 1) * sizeof *v);
  if (!v) return;
  for (size_t i = 0; i < L->n_p; i++) v[i] = &L->p[i];
  qsort(v, L->n_p, sizeof *v, cmp_prow_key);
  int last_mod = -1;
  const char *last_t = NULL;
  for (size_t i = 0; i < L->n_p;) {
    size_t j = i;
    double lo = INFINITY, hi = -INFINITY;
    int rlo = -1, rhi = -1;
    while (j < L->n_p && v[j]->module == v[i]->module && strcmp(v[j]->tensor, v[i]->tensor) == 0 &&
           v[j]->step == v[i]->step) {
      if (isfinite(v[j]->wn)) {
        if (v[j]->wn < lo) lo = v[j]->wn, rlo = v[j]->rank;
        if (v[j]->wn > hi) hi = v[j]->wn, rhi = v[j]->rank;
      }
      j++;
    }
    int same_param = last_t && last_mod == v[i]->module && strcmp(last_t, v[i]->tensor) == 0;
    if (!same_param && rlo >= 0 && hi - lo > c->o->drift_rel * fabs(hi)) {
      char name[256];
      snprintf(name, sizeof name, "%.190s.%.63s", mod_name(L, v[i]->module), v[i]->tensor);
      ls_health_finding *f = add(c, LS_HEALTH_RANK_DRIFT, v[i]->module, name, v[i]->step, rhi, hi, lo);
      if (f)
        snprintf(f->message, sizeof f->message, "ranks drifted apart at %s from step %lld: weight norm %.6g on rank %d, "
                 "%.6g on rank %d", name, (long long)f->step, hi, rhi, lo, rlo);
      last_mod = v[i]->module; /* once per parameter */
      last_t = v[i]->tensor;
    }
    i = j;
  }
  ls_free(v);
}

static int cmp_finding(const void *a, const void *b) {
  const ls_health_finding *x = a, *y = b;
  if (x->step != y->step) return x->step < y->step ? -1 : 1;
  if (x->kind != y->kind) return (int)x->kind - (int)y->kind;
  return x->module - y->module;
}

int ls_health_analyze(ls_rec *r, int64_t run_id, const ls_health_opts *o, ls_health_report **out, ls_diag *d) {
  *out = NULL;
  ls_health_opts def;
  if (!o) ls_health_opts_init(&def), o = &def;
  loaded L;
  int rc = load(r, run_id, &L, d);
  ls_health_report *h = ls_calloc(1, sizeof *h);
  if (!rc && !h) rc = LS_ENOMEM;
  if (rc) {
    loaded_free(&L);
    ls_free(h);
    return rc;
  }
  h->run_id = L.run;
  ctx c = {.L = &L, .o = o, .h = h};
  acc *a = NULL;
  rc = build(&c, &a);
  size_t scratch = (h->n_steps > L.n_p ? h->n_steps : L.n_p) + HISTORY + 1;
  double *tmp = ls_malloc(scratch * sizeof *tmp), *series = ls_malloc(scratch * sizeof *series);
  if (!rc && (!tmp || !series)) rc = LS_ENOMEM;
  if (!rc) {
    find_exploding(&c, a, tmp, series);
    find_vanishing(&c, a);
    find_dead(&c);
    find_update(&c, tmp, series);
    find_loss_spike(&c, a, tmp);
    find_rank_drift(&c);
    if (c.oom) rc = LS_ENOMEM;
    else if (h->n_findings) qsort(h->findings, h->n_findings, sizeof *h->findings, cmp_finding);
  }
  ls_free(tmp);
  ls_free(series);
  ls_free(a);
  ls_free(c.ranks);
  loaded_free(&L);
  if (rc) {
    ls_health_report_free(h);
    return rc == LS_ENOMEM ? ls_diag_set(d, rc, "out of memory") : ls_diag_set(d, rc, "too many samples to analyze");
  }
  *out = h;
  return LS_OK;
}

void ls_health_report_free(ls_health_report *h) {
  if (!h) return;
  ls_free(h->steps);
  ls_free(h->loss);
  ls_free(h->grad_norm);
  ls_free(h->layer_names);
  ls_free(h->layer_module);
  ls_free(h->layer_grad);
  ls_free(h->layer_update);
  ls_free(h->out_names);
  ls_free(h->out_dead);
  ls_free(h->findings);
  ls_free(h);
}

/* ---- the findings into the record ---------------------------------------------------------- */

int ls_health_store(ls_rec *w, const ls_health_report *h, ls_diag *d) {
  int rc = ls_rec_begin(w, d);
  if (!rc) rc = ls_rec_findings_clear(w, h->run_id, k_kinds, LS_HEALTH_N_KINDS, d);
  for (size_t i = 0; !rc && i < h->n_findings; i++) {
    const ls_health_finding *f = &h->findings[i];
    ls_rec_finding_row row = {.module = f->module, .kind = ls_health_kind_name(f->kind), .step = f->step,
                              .rank = f->rank, .name = f->name, .value = f->value, .baseline = f->baseline,
                              .message = f->message};
    rc = ls_rec_finding_put(w, h->run_id, &row, d);
  }
  if (!rc) return ls_rec_commit(w, d);
  ls_rec_rollback(w);
  return rc;
}
