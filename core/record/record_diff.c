/* record_diff.c: reading runs back from a record and comparing two of them by module name
 * (record.h: ls_rec_latest_run, ls_rec_run_get, ls_rec_diff_runs), what `layerscope diff
 * A.db B.db` prints. The record may come from anywhere, so every value read is checked
 * before it is used: its SQLite type, its range, the length of a name, that a statistics row
 * names a module of its run; a bad one is an error naming the file, the table, the run and
 * the row, never a crash or a silently wrong comparison. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/record/record_int.h"

#define MAX_MODULES 4000000 /* far above any module tree (Llama 3.1 405B: ~1,400 modules) */
#define NAME_MAX_LEN 255

/* ---- checked reading --------------------------------------------------------------------- */

typedef struct rowctx {
  ls_rec *r;
  const char *table;
  int64_t run;
  int64_t row;
  ls_diag *d;
} rowctx;

static int bad(const rowctx *c, const char *col, const char *what) {
  return ls_diag_set_at(c->d, LS_EINVAL, c->r->path, -1, "%s: %s row %lld of run %lld: %s %s", c->r->path, c->table,
                        (long long)c->row + 1, (long long)c->run, col, what);
}

/* An integer column >= lo; NULL gives *out = -1 when nullable. */
static int get_int(const rowctx *c, sqlite3_stmt *st, int i, const char *col, int64_t lo, int nullable, int64_t *out) {
  int t = sqlite3_column_type(st, i);
  if (t == SQLITE_NULL && nullable) {
    *out = -1;
    return LS_OK;
  }
  if (t != SQLITE_INTEGER) return bad(c, col, nullable ? "is not an integer or NULL" : "is not an integer");
  int64_t v = sqlite3_column_int64(st, i);
  if (v < lo) return bad(c, col, "is out of range");
  *out = v;
  return LS_OK;
}

/* A number (REAL or INTEGER), finite; NULL gives NaN. */
static int get_real(const rowctx *c, sqlite3_stmt *st, int i, const char *col, double *out) {
  int t = sqlite3_column_type(st, i);
  if (t == SQLITE_NULL) {
    *out = NAN;
    return LS_OK;
  }
  if (t != SQLITE_FLOAT && t != SQLITE_INTEGER) return bad(c, col, "is not a number");
  *out = sqlite3_column_double(st, i);
  return isfinite(*out) ? LS_OK : bad(c, col, "is not finite");
}

/* Text of at most cap - 1 bytes, no NUL inside; NULL gives "" when nullable. */
static int get_text(const rowctx *c, sqlite3_stmt *st, int i, const char *col, int nullable, char *buf, size_t cap) {
  int t = sqlite3_column_type(st, i);
  if (t == SQLITE_NULL && nullable) {
    buf[0] = 0;
    return LS_OK;
  }
  if (t != SQLITE_TEXT) return bad(c, col, "is not text");
  const unsigned char *s = sqlite3_column_text(st, i);
  int n = sqlite3_column_bytes(st, i);
  if (!s) return ls_diag_set(c->d, LS_ENOMEM, "out of memory");
  if (n < 0 || (size_t)n >= cap) return bad(c, col, "is too long");
  if (memchr(s, 0, (size_t)n)) return bad(c, col, "holds a NUL byte");
  memcpy(buf, s, (size_t)n);
  buf[n] = 0;
  return LS_OK;
}

static int prepare(ls_rec *r, const char *sql, sqlite3_stmt **st, ls_diag *d) {
  if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) != SQLITE_OK) return ls__rec_fail(r, d, "cannot read it");
  return LS_OK;
}

/* ---- runs --------------------------------------------------------------------------------- */

static int read_run(ls_rec *r, sqlite3_stmt *st, ls_rec_run_row *out, ls_diag *d) {
  rowctx c = {.r = r, .table = "runs", .run = sqlite3_column_int64(st, 0), .row = 0, .d = d};
  memset(out, 0, sizeof *out);
  int64_t id;
  int rc = get_int(&c, st, 0, "id", 1, 0, &id);
  if (!rc) rc = get_text(&c, st, 1, "kind", 0, out->kind, sizeof out->kind);
  if (!rc) rc = get_text(&c, st, 2, "architecture", 1, out->architecture, sizeof out->architecture);
  if (!rc) rc = get_int(&c, st, 3, "seq", 0, 1, &out->seq);
  if (!rc) rc = get_int(&c, st, 4, "total_ns", 0, 1, &out->total_ns);
  if (!rc) rc = get_text(&c, st, 5, "started_at", 0, out->started_at, sizeof out->started_at);
  out->id = id;
  return rc;
}

static int run_query(ls_rec *r, const char *sql, int64_t arg, const char *text_arg, ls_rec_run_row *out, ls_diag *d,
                     const char *none) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(r, sql, &st, d);
  if (rc) return rc;
  if (text_arg) sqlite3_bind_text(st, 1, text_arg, -1, SQLITE_TRANSIENT);
  else if (arg > 0) sqlite3_bind_int64(st, 1, arg);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) rc = read_run(r, st, out, d);
  else if (s == SQLITE_DONE) rc = ls_diag_set_at(d, LS_ENOENT, r->path, -1, "%s: %s", r->path, none);
  else rc = ls__rec_fail(r, d, "cannot read its runs");
  sqlite3_finalize(st);
  return rc;
}

#define RUN_COLS "SELECT id, kind, architecture, seq, total_ns, started_at FROM runs "

int ls_rec_latest_run(ls_rec *r, const char *kind, ls_rec_run_row *out, ls_diag *d) {
  if (kind)
    return run_query(r, RUN_COLS "WHERE kind = ?1 ORDER BY id DESC LIMIT 1", 0, kind, out, d, "no run of that kind");
  return run_query(r, RUN_COLS "ORDER BY id DESC LIMIT 1", 0, NULL, out, d, "no runs recorded");
}

int ls_rec_run_get(ls_rec *r, int64_t id, ls_rec_run_row *out, ls_diag *d) {
  char none[64];
  snprintf(none, sizeof none, "no run %lld", (long long)id);
  return run_query(r, RUN_COLS "WHERE id = ?1", id, NULL, out, d, none);
}

/* ---- one run's modules, by name ------------------------------------------------------------ */

typedef struct mrow {
  char name[NAME_MAX_LEN + 1];
  int64_t idx, self_ns;       /* -1: NULL */
  int has_stats;
  double std, mean;
  int64_t nonfinite;          /* NaN + Inf of the output */
} mrow;

typedef struct mset {
  mrow *v;
  size_t n;
} mset;

static int cmp_name(const void *a, const void *b) { return strcmp(((const mrow *)a)->name, ((const mrow *)b)->name); }
static int cmp_idx(const void *a, const void *b) {
  int64_t x = ((const mrow *)a)->idx, y = ((const mrow *)b)->idx;
  return x < y ? -1 : x > y;
}

static int load_modules(ls_rec *r, int64_t run, mset *out, ls_diag *d) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st = NULL;
  int rc = prepare(r, "SELECT count(*) FROM modules WHERE run_id = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, run);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  if (n < 0) return ls__rec_fail(r, d, "cannot read its modules");
  if (n > MAX_MODULES)
    return ls_diag_set_at(d, LS_ELIMIT, r->path, -1, "%s: run %lld has %lld modules: at most %d", r->path,
                          (long long)run, (long long)n, MAX_MODULES);
  out->v = ls_calloc((size_t)(n ? n : 1), sizeof *out->v);
  if (!out->v) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  if ((rc = prepare(r, "SELECT idx, name, self_ns FROM modules WHERE run_id = ?1 ORDER BY idx", &st, d))) return rc;
  sqlite3_bind_int64(st, 1, run);
  rowctx c = {.r = r, .table = "modules", .run = run, .d = d};
  int s;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    if (out->n == (size_t)n) break; /* rows added since the count: ignore them */
    mrow *m = &out->v[out->n];
    c.row = (int64_t)out->n;
    rc = get_int(&c, st, 0, "idx", 0, 0, &m->idx);
    if (!rc) rc = get_text(&c, st, 1, "name", 0, m->name, sizeof m->name);
    if (!rc) rc = get_int(&c, st, 2, "self_ns", 0, 1, &m->self_ns);
    if (!rc && out->n && m->idx == out->v[out->n - 1].idx) rc = bad(&c, "idx", "is repeated");
    m->std = m->mean = NAN;
    m->nonfinite = -1;
    out->n++;
  }
  if (!rc && s != SQLITE_ROW && s != SQLITE_DONE) rc = ls__rec_fail(r, d, "cannot read its modules");
  sqlite3_finalize(st);
  return rc;
}

/* The output statistics of each module (the last row per module; a profile has one). Files
 * of schema 1 have none. */
static int load_stats(ls_rec *r, int64_t run, mset *ms, ls_diag *d) {
  if (r->version < 2) return LS_OK;
  sqlite3_stmt *st = NULL;
  int rc = prepare(r, "SELECT module, std, mean, nan, pinf, ninf FROM tensor_stats WHERE run_id = ?1 AND "
                      "tensor = 'output' ORDER BY rowid", &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, run);
  rowctx c = {.r = r, .table = "tensor_stats", .run = run, .d = d};
  int s;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t mod, nan, pinf, ninf;
    double sd, mean;
    rc = get_int(&c, st, 0, "module", 0, 0, &mod);
    if (!rc) rc = get_real(&c, st, 1, "std", &sd);
    if (!rc) rc = get_real(&c, st, 2, "mean", &mean);
    if (!rc) rc = get_int(&c, st, 3, "nan", 0, 0, &nan);
    if (!rc) rc = get_int(&c, st, 4, "pinf", 0, 0, &pinf);
    if (!rc) rc = get_int(&c, st, 5, "ninf", 0, 0, &ninf);
    if (!rc && (sd < 0 || nan > INT64_MAX / 4 || pinf > INT64_MAX / 4 || ninf > INT64_MAX / 4))
      rc = bad(&c, "std or counts", "out of range");
    mrow key = {.idx = mod};
    mrow *m = rc ? NULL : bsearch(&key, ms->v, ms->n, sizeof *ms->v, cmp_idx);
    if (!rc && !m) rc = bad(&c, "module", "names no module of the run");
    if (!rc) {
      m->has_stats = 1;
      m->std = sd;
      m->mean = mean;
      m->nonfinite = nan + pinf + ninf;
    }
    c.row++;
  }
  if (!rc && s != SQLITE_ROW && s != SQLITE_DONE) rc = ls__rec_fail(r, d, "cannot read its statistics");
  sqlite3_finalize(st);
  return rc;
}

/* ---- the comparison --------------------------------------------------------------------- */

static int cmp_score(const void *a, const void *b) {
  double x = ((const ls_rec_diff_item *)a)->score, y = ((const ls_rec_diff_item *)b)->score;
  if (x != y) return x < y ? 1 : -1;
  return strcmp(((const ls_rec_diff_item *)a)->name, ((const ls_rec_diff_item *)b)->name);
}

/* How far the output's statistics moved: a NaN/Inf that appeared or went away first, then
 * the factor between the standard deviations (log10, so 10x and 0.1x weigh alike). */
static double stats_score(const mrow *a, const mrow *b) {
  if ((a->nonfinite > 0) != (b->nonfinite > 0)) return 1e6 + (double)(a->nonfinite + b->nonfinite);
  if (isnan(a->std) || isnan(b->std)) return -1;
  if (a->std == b->std) return 0;
  if (a->std == 0 || b->std == 0) return 1e3;
  return fabs(log10(b->std / a->std));
}

void ls_rec_diff_free(ls_rec_diff *x) {
  if (!x) return;
  ls_free(x->time);
  ls_free(x->stats);
  ls_free(x);
}

int ls_rec_diff_runs(ls_rec *ra, int64_t run_a, ls_rec *rb, int64_t run_b, ls_rec_diff **out, ls_diag *d) {
  *out = NULL;
  ls_rec_diff *x = ls_calloc(1, sizeof *x);
  if (!x) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  mset A = {0}, B = {0};
  int rc = run_a > 0 ? ls_rec_run_get(ra, run_a, &x->a, d) : ls_rec_latest_run(ra, NULL, &x->a, d);
  if (!rc) rc = run_b > 0 ? ls_rec_run_get(rb, run_b, &x->b, d) : ls_rec_latest_run(rb, NULL, &x->b, d);
  if (!rc) rc = load_modules(ra, x->a.id, &A, d);
  if (!rc) rc = load_stats(ra, x->a.id, &A, d);
  if (!rc) rc = load_modules(rb, x->b.id, &B, d);
  if (!rc) rc = load_stats(rb, x->b.id, &B, d);
  if (!rc) {
    qsort(A.v, A.n, sizeof *A.v, cmp_name);
    qsort(B.v, B.n, sizeof *B.v, cmp_name);
    size_t most = A.n < B.n ? A.n : B.n;
    x->time = ls_calloc(most ? most : 1, sizeof *x->time);
    x->stats = ls_calloc(most ? most : 1, sizeof *x->stats);
    if (!x->time || !x->stats) rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  for (size_t i = 0, j = 0; !rc && (i < A.n || j < B.n);) {
    int c = i == A.n ? 1 : j == B.n ? -1 : strcmp(A.v[i].name, B.v[j].name);
    if (c < 0) {
      if (!x->only_a++) snprintf(x->first_only_a, sizeof x->first_only_a, "%s", A.v[i].name);
      i++;
      continue;
    }
    if (c > 0) {
      if (!x->only_b++) snprintf(x->first_only_b, sizeof x->first_only_b, "%s", B.v[j].name);
      j++;
      continue;
    }
    const mrow *a = &A.v[i++], *b = &B.v[j++];
    if (i > 1 && strcmp(a->name, A.v[i - 2].name) == 0) continue; /* a repeated name: its first row */
    x->common++;
    ls_rec_diff_item it = {.a_ns = a->self_ns, .b_ns = b->self_ns, .a_std = a->std, .b_std = b->std,
                           .a_mean = a->mean, .b_mean = b->mean, .a_nan = a->nonfinite, .b_nan = b->nonfinite};
    snprintf(it.name, sizeof it.name, "%s", a->name);
    if (a->self_ns >= 0 && b->self_ns >= 0) {
      it.score = (double)llabs(b->self_ns - a->self_ns);
      x->time[x->n_time++] = it;
    }
    if (a->has_stats && b->has_stats) {
      it.score = stats_score(a, b);
      if (it.score >= 0) x->stats[x->n_stats++] = it;
    }
  }
  ls_free(A.v);
  ls_free(B.v);
  if (rc) {
    ls_rec_diff_free(x);
    return rc;
  }
  qsort(x->time, x->n_time, sizeof *x->time, cmp_score);
  qsort(x->stats, x->n_stats, sizeof *x->stats, cmp_score);
  *out = x;
  return LS_OK;
}
