/* stats.c: `layerscope stats FILE...`: one line of statistics per tensor of safetensors,
 * sharded checkpoints, GGUF or .npy files, then findings: NaN/Inf tensors, all-zero
 * tensors, dead rows and columns of 2-D tensors, and outliers against sibling tensors of
 * other layers (same name once the layer number is masked out). With --fail-on it is a CI
 * gate: exit 1 when a finding of the listed kinds exists. All numbers come from
 * core/tensor/stats.h; this file only chooses what to run and formats it. */
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/diag.h"
#include "core/tensor/stats.h"
#include "core/tensor/tensor.h"

enum { FAIL_NAN = 1, FAIL_INF = 2, FAIL_ZERO = 4, FAIL_DEAD = 8, FAIL_OUTLIER = 16 };

typedef struct st_row {
  const ls_tensor *t;
  const char *file;
  ls_stats s;
  int64_t dead_rows, dead_cols, const_rows, rows_checked;
  int64_t first_dead_row, top_row;  /* -1 if none; top_row: the largest-norm row */
  double top_norm;
  int64_t top3[3];                  /* the three largest-norm rows, -1 where fewer */
  double top3_norm[3];
  ls_hist hist;
  double pct[5];                    /* at k_pct, when a histogram is asked for */
  char group[512];                  /* name with the layer number replaced by '*' */
  int64_t layer;                    /* -1 if the name has no layer number */
} st_row;

static const double k_pct[5] = {0.1, 1, 50, 99, 99.9};

typedef struct st_opts {
  const char *filter, *format;
  int hist_bins, fail_mask;
  double eps, outlier;
} st_opts;

/* "model.layers.17.mlp.down_proj.weight" -> group "model.layers.*.mlp.down_proj.weight", 17. */
static void name_group(const char *name, char *group, size_t size, int64_t *layer) {
  *layer = -1;
  size_t o = 0;
  for (const char *p = name; *p && o + 1 < size;) {
    if (*layer < 0 && p > name && p[-1] == '.' && *p >= '0' && *p <= '9') {
      const char *q = p;
      while (*q >= '0' && *q <= '9') q++;
      if (*q == '.' || *q == 0) {
        *layer = strtoll(p, NULL, 10);
        group[o++] = '*';
        p = q;
        continue;
      }
    }
    group[o++] = *p++;
  }
  group[o] = 0;
}

static int parse_fail_on(const char *s, int *mask) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    if (strcmp(tok, "nan") == 0) *mask |= FAIL_NAN;
    else if (strcmp(tok, "inf") == 0) *mask |= FAIL_INF;
    else if (strcmp(tok, "zero") == 0) *mask |= FAIL_ZERO;
    else if (strcmp(tok, "dead") == 0) *mask |= FAIL_DEAD;
    else if (strcmp(tok, "outlier") == 0) *mask |= FAIL_OUTLIER;
    else return -1;
  }
  return 0;
}

static int compute_row(st_row *r, const st_opts *o, ls_diag *d) {
  const ls_tensor *t = r->t;
  r->first_dead_row = r->top_row = -1;
  for (int k = 0; k < 3; k++) r->top3[k] = -1;
  name_group(t->name, r->group, sizeof r->group, &r->layer);
  int rc;
  if (t->ndim == 2 && t->nelem > 0) {
    ls_rowstats rs;
    /* A Fortran-order .npy stores the matrix column by column: its rows are strided. */
    rc = (t->fortran ? ls_stats_rows_colmajor : ls_stats_rows)(t->dtype, t->data, t->shape[0], t->shape[1], &rs, &r->s);
    if (rc) return ls_diag_set(d, rc, "%s: statistics failed", t->name);
    r->rows_checked = 1;
    for (int64_t i = 0; i < rs.rows; i++) {
      if (!(rs.row_absmax[i] > o->eps)) { /* NaN rows are not dead: they are reported as NaN */
        if (!isnan(rs.row_absmax[i])) {
          if (r->first_dead_row < 0) r->first_dead_row = i;
          r->dead_rows++;
        }
      } else if (rs.row_const[i]) {
        r->const_rows++;
      }
      if (r->top_row < 0 || rs.row_norm[i] > r->top_norm) { r->top_row = i; r->top_norm = rs.row_norm[i]; }
      for (int k = 0; k < 3; k++) /* insertion into the top three */
        if (r->top3[k] < 0 || rs.row_norm[i] > r->top3_norm[k]) {
          for (int m = 2; m > k; m--) { r->top3[m] = r->top3[m - 1]; r->top3_norm[m] = r->top3_norm[m - 1]; }
          r->top3[k] = i;
          r->top3_norm[k] = rs.row_norm[i];
          break;
        }
    }
    for (int64_t c = 0; rs.col_absmax && c < rs.cols; c++) r->dead_cols += !(rs.col_absmax[c] > o->eps);
    ls_rowstats_free(&rs);
  } else {
    rc = ls_stats_tensor(t, &r->s, d);
    if (rc) return rc;
  }
  if (o->hist_bins > 0) {
    rc = ls_stats_hist(t->dtype, t->data, t->nelem, &r->s, 0, 0, o->hist_bins, &r->hist);
    if (rc) return ls_diag_set(d, rc, "%s: histogram failed", t->name);
    rc = ls_stats_percentiles(t->dtype, t->data, t->nelem, &r->s, k_pct, 5, r->pct);
    if (rc) return ls_diag_set(d, rc, "%s: percentiles failed", t->name);
  }
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median std of the group of rows[i] (other layers only); NaN when fewer than 3 others. */
static double sibling_median(st_row *rows, size_t n, size_t i) {
  double *v = ls_calloc(n, sizeof *v);
  size_t k = 0;
  if (!v) return NAN;
  for (size_t j = 0; j < n; j++)
    if (j != i && rows[j].layer >= 0 && strcmp(rows[j].group, rows[i].group) == 0 && rows[j].s.finite &&
        rows[j].t->nelem > 1)
      v[k++] = rows[j].s.std;
  double m = NAN;
  if (k >= 3) {
    qsort(v, k, sizeof *v, cmp_double);
    m = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
  }
  ls_free(v);
  return m;
}

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static void shape_str(const ls_tensor *t, char *buf, size_t size) {
  size_t p = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < t->ndim && p < size; i++)
    p += (size_t)snprintf(buf + p, size - p, "%s%lld", i ? "," : "", (long long)t->shape[i]);
  if (p < size) snprintf(buf + p, size - p, "]");
}

/* Findings: appended to `findings` (JSON) and printed in text mode; returns the fail mask hit. */
static int add_finding(json_t *findings, int text, int kind, const char *kind_name, const char *tensor,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int add_finding(json_t *findings, int text, int kind, const char *kind_name, const char *tensor,
                       const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (text) printf("  %-8s %s: %s\n", kind_name, tensor, msg);
  json_t *f = json_object();
  json_object_set_new(f, "kind", json_string(kind_name));
  json_object_set_new(f, "tensor", json_string(tensor));
  json_object_set_new(f, "message", json_string(msg));
  json_array_append_new(findings, f);
  return kind;
}

static int report(st_row *rows, size_t n, const st_opts *o, double secs) {
  int text = strcmp(o->format, "text") == 0;
  json_t *jt = json_array(), *findings = json_array();
  char sh[160];
  if (text)
    printf("%-48s %-6s %-16s %11s %11s %11s %11s %6s %6s %7s\n", "tensor", "dtype", "shape", "mean", "std", "min",
           "max", "nan", "inf", "zeros%");
  for (size_t i = 0; i < n; i++) {
    const st_row *r = &rows[i];
    const ls_stats *s = &r->s;
    shape_str(r->t, sh, sizeof sh);
    double zp = s->count ? 100.0 * (double)s->zeros / (double)s->count : 0;
    if (text) {
      printf("%-48s %-6s %-16s %11.4g %11.4g %11.4g %11.4g %6llu %6llu %7.3f\n", r->t->name, ls_dtype_name(r->t->dtype),
             sh, s->mean, s->std, s->min, s->max, (unsigned long long)s->nan, (unsigned long long)(s->pinf + s->ninf), zp);
      if (r->hist.counts) {
        printf("  histogram [%g, %g]:", r->hist.lo, r->hist.hi);
        for (int b = 0; b < r->hist.nbins; b++) printf(" %llu", (unsigned long long)r->hist.counts[b]);
        printf("\n  percentiles:");
        for (int k = 0; k < 5; k++) printf(" p%g=%.4g", k_pct[k], r->pct[k]);
        printf("\n");
      }
    }
    json_t *e = json_object(), *js = json_array();
    for (int k = 0; k < r->t->ndim; k++) json_array_append_new(js, json_integer(r->t->shape[k]));
    json_object_set_new(e, "name", json_string(r->t->name));
    json_object_set_new(e, "file", json_string(r->file));
    json_object_set_new(e, "dtype", json_string(ls_dtype_name(r->t->dtype)));
    json_object_set_new(e, "shape", js);
    json_object_set_new(e, "count", json_integer((json_int_t)s->count));
    json_object_set_new(e, "finite", json_integer((json_int_t)s->finite));
    json_object_set_new(e, "nan", json_integer((json_int_t)s->nan));
    json_object_set_new(e, "pinf", json_integer((json_int_t)s->pinf));
    json_object_set_new(e, "ninf", json_integer((json_int_t)s->ninf));
    json_object_set_new(e, "zeros", json_integer((json_int_t)s->zeros));
    json_object_set_new(e, "subnormals", json_integer((json_int_t)s->subnormals));
    json_object_set_new(e, "mean", jnum(s->mean));
    json_object_set_new(e, "std", jnum(s->std));
    json_object_set_new(e, "min", jnum(s->min));
    json_object_set_new(e, "max", jnum(s->max));
    json_object_set_new(e, "absmax", jnum(s->absmax));
    if (r->rows_checked) {
      json_object_set_new(e, "dead_rows", json_integer(r->dead_rows));
      json_object_set_new(e, "dead_cols", json_integer(r->dead_cols));
      json_object_set_new(e, "const_rows", json_integer(r->const_rows));
      json_object_set_new(e, "top_norm_row", json_integer(r->top_row));
      json_object_set_new(e, "top_norm", jnum(r->top_norm));
      json_t *tops = json_array();
      for (int k = 0; k < 3 && r->top3[k] >= 0; k++) {
        json_t *pair = json_array();
        json_array_append_new(pair, json_integer(r->top3[k]));
        json_array_append_new(pair, jnum(r->top3_norm[k]));
        json_array_append_new(tops, pair);
      }
      json_object_set_new(e, "top_norm_rows", tops);
    }
    if (r->hist.counts) {
      json_t *h = json_object(), *c = json_array();
      for (int b = 0; b < r->hist.nbins; b++) json_array_append_new(c, json_integer((json_int_t)r->hist.counts[b]));
      json_object_set_new(h, "lo", jnum(r->hist.lo));
      json_object_set_new(h, "hi", jnum(r->hist.hi));
      json_object_set_new(h, "counts", c);
      json_object_set_new(e, "histogram", h);
      json_t *pc = json_object();
      for (int k = 0; k < 5; k++) {
        char key[16];
        snprintf(key, sizeof key, "%g", k_pct[k]);
        json_object_set_new(pc, key, jnum(r->pct[k]));
      }
      json_object_set_new(e, "percentiles", pc);
    }
    json_array_append_new(jt, e);
  }
  int hit = 0;
  if (text) printf("\nfindings:\n");
  for (size_t i = 0; i < n; i++) {
    const st_row *r = &rows[i];
    const ls_stats *s = &r->s;
    const char *nm = r->t->name;
    if (s->nan) hit |= add_finding(findings, text, FAIL_NAN, "nan", nm, "%llu NaN of %llu values", (unsigned long long)s->nan, (unsigned long long)s->count);
    if (s->pinf + s->ninf)
      hit |= add_finding(findings, text, FAIL_INF, "inf", nm, "%llu +Inf, %llu -Inf of %llu values", (unsigned long long)s->pinf,
                         (unsigned long long)s->ninf, (unsigned long long)s->count);
    if (s->count > 0 && s->zeros == s->count) hit |= add_finding(findings, text, FAIL_ZERO, "zero", nm, "all %llu values are zero", (unsigned long long)s->count);
    else if (r->dead_rows)
      hit |= add_finding(findings, text, FAIL_DEAD, "dead", nm, "%lld of %lld rows have |x| <= %g (first: row %lld)", (long long)r->dead_rows,
                         (long long)r->t->shape[0], o->eps, (long long)r->first_dead_row);
    if (r->dead_cols && s->zeros != s->count)
      hit |= add_finding(findings, text, FAIL_DEAD, "dead", nm, "%lld of %lld columns have |x| <= %g", (long long)r->dead_cols,
                         (long long)r->t->shape[1], o->eps);
    if (r->const_rows)
      hit |= add_finding(findings, text, FAIL_DEAD, "constant", nm, "%lld rows hold one repeated nonzero value", (long long)r->const_rows);
    if (r->layer >= 0 && s->finite && r->t->nelem > 1) {
      double med = sibling_median(rows, n, i);
      if (med > 0 && (s->std > o->outlier * med || s->std * o->outlier < med))
        hit |= add_finding(findings, text, FAIL_OUTLIER, "outlier", nm, "std %.4g is %.1fx the median %.4g of the other layers' %s", s->std,
                           s->std / med, med, r->group);
    }
  }
  if (text) {
    if (json_array_size(findings) == 0) printf("  none\n");
    printf("\n%zu tensors in %.3f s (statistics path: %s)\n", n, secs, ls_stats_simd_name(ls_stats_simd()));
  } else {
    json_t *root = json_object();
    json_object_set_new(root, "tensors", jt);
    json_object_set_new(root, "findings", findings);
    json_object_set_new(root, "seconds", json_real(secs));
    json_object_set_new(root, "simd", json_string(ls_stats_simd_name(ls_stats_simd())));
    json_dumpf(root, stdout, JSON_INDENT(1));
    printf("\n");
    json_decref(root);
    findings = jt = NULL;
  }
  json_decref(jt);
  json_decref(findings);
  return hit & o->fail_mask;
}

int ls_cli_stats(int argc, char **argv) {
  st_opts o = {NULL, "text", 0, 0, 0.0, 10.0};
  const char **files = ls_calloc((size_t)argc, sizeof *files);
  int nf = 0, status = 0;
  if (!files) return 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int more = i + 1 < argc;
    if (strcmp(a, "--filter") == 0 && more) o.filter = argv[++i];
    else if (strcmp(a, "--format") == 0 && more) o.format = argv[++i];
    else if (strcmp(a, "--histogram") == 0 && more) o.hist_bins = atoi(argv[++i]);
    else if (strcmp(a, "--fail-on") == 0 && more) { if (parse_fail_on(argv[++i], &o.fail_mask)) goto usage; }
    else if (strcmp(a, "--eps") == 0 && more) o.eps = atof(argv[++i]);
    else if (strcmp(a, "--outlier-ratio") == 0 && more) o.outlier = atof(argv[++i]);
    else if (strcmp(a, "--simd") == 0 && more) {
      if (ls_stats_simd_force(argv[++i]) != 0) { fprintf(stderr, "layerscope stats: --simd %s: not available on this CPU\n", argv[i]); status = 2; goto out; }
    } else if (a[0] == '-' && a[1]) goto usage;
    else files[nf++] = a;
  }
  if (nf == 0 || (strcmp(o.format, "text") && strcmp(o.format, "json")) || o.hist_bins < 0 || o.hist_bins > (1 << 20) ||
      !(o.outlier > 1) || !(o.eps >= 0))
    goto usage;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ls_tfile **tf = ls_calloc((size_t)nf, sizeof *tf);
  size_t cap = 0, n = 0;
  st_row *rows = NULL;
  if (!tf) { status = 1; goto out; }
  for (int f = 0; f < nf; f++) {
    ls_diag d;
    ls_diag_init(&d);
    if (ls_tfile_open(files[f], &tf[f], &d) != 0) {
      fprintf(stderr, "layerscope stats: %s\n", d.msg);
      status = 1;
      continue;
    }
    for (size_t i = 0; i < ls_tfile_count(tf[f]); i++) {
      const ls_tensor *t = ls_tfile_at(tf[f], i);
      if (o.filter && fnmatch(o.filter, t->name, 0) != 0) continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        st_row *nr = ls_reallocarray(rows, cap, sizeof *nr);
        if (!nr) { status = 1; goto done; }
        rows = nr;
      }
      memset(&rows[n], 0, sizeof rows[n]);
      rows[n].t = t;
      rows[n].file = files[f];
      if (compute_row(&rows[n], &o, &d) != 0) {
        fprintf(stderr, "layerscope stats: %s\n", d.msg);
        status = 1;
        continue;
      }
      n++;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (report(rows, n, &o, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec))) status = 1;
done:
  for (size_t i = 0; i < n; i++) ls_hist_free(&rows[i].hist);
  ls_free(rows);
  for (int f = 0; f < nf; f++) ls_tfile_close(tf[f]);
  ls_free(tf);
out:
  ls_free(files);
  return status;
usage:
  ls_cli_usage(stderr, "stats");
  ls_free(files);
  return 2;
}
