/* diff_runs.c: `layerscope diff A.db B.db`, the run-record half of `diff` (diff.c sends two
 * SQLite files here, recognised by content): the latest run of each file, or the runs named
 * with --run-a / --run-b, compared by module name (core/record: ls_rec_diff_runs). It names
 * the modules whose self time moved most and those whose output statistics moved most (a
 * NaN/Inf that appeared or went away first, then the factor between the output's standard
 * deviations), as a table or JSON. Exit 0 when compared, 1 when a file or run cannot be
 * read, 2 for usage. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/errors.h"
#include "core/record/record.h"

static const char *shown(const char *name) { return name[0] ? name : "(root)"; }

static void print_run(const char *tag, const char *path, const ls_rec_run_row *r) {
  printf("%s: %s run %lld (%s, %s, S=%lld, %.3f ms, started %s)\n", tag, path, (long long)r->id, r->kind,
         r->architecture[0] ? r->architecture : "?", (long long)r->seq, r->total_ns >= 0 ? (double)r->total_ns / 1e6 : 0,
         r->started_at);
}

static void print_text(const ls_rec_diff *x, const char *pa, const char *pb, int top) {
  print_run("A", pa, &x->a);
  print_run("B", pb, &x->b);
  printf("\n%zu modules in both; %zu only in A%s%s%s; %zu only in B%s%s%s\n", x->common, x->only_a,
         x->only_a ? " (first: " : "", x->only_a ? shown(x->first_only_a) : "", x->only_a ? ")" : "", x->only_b,
         x->only_b ? " (first: " : "", x->only_b ? shown(x->first_only_b) : "", x->only_b ? ")" : "");
  size_t nt = x->n_time < (size_t)top ? x->n_time : (size_t)top;
  printf("\nself time: the %zu modules that moved most\n", nt);
  printf("  %-44s %11s %11s %12s %8s\n", "module", "A ms", "B ms", "B - A ms", "B / A");
  for (size_t i = 0; i < nt; i++) {
    const ls_rec_diff_item *it = &x->time[i];
    double a = (double)it->a_ns / 1e6, b = (double)it->b_ns / 1e6;
    char ratio[32] = "-";
    if (it->a_ns > 0) snprintf(ratio, sizeof ratio, "%.2fx", b / a);
    printf("  %-44s %11.3f %11.3f %+12.3f %8s\n", shown(it->name), a, b, b - a, ratio);
  }
  size_t ns = x->n_stats < (size_t)top ? x->n_stats : (size_t)top;
  if (!x->n_stats) {
    printf("\noutput statistics: none recorded in both runs (profile --record keeps them)\n");
    return;
  }
  printf("\noutput statistics: the %zu modules that moved most\n", ns);
  printf("  %-44s %11s %11s %8s %11s %11s %9s %9s\n", "module", "A std", "B std", "B / A", "A mean", "B mean",
         "A nan/inf", "B nan/inf");
  for (size_t i = 0; i < ns; i++) {
    const ls_rec_diff_item *it = &x->stats[i];
    char ratio[32] = "-";
    if (it->a_std > 0 && isfinite(it->b_std)) snprintf(ratio, sizeof ratio, "%.3gx", it->b_std / it->a_std);
    printf("  %-44s %11.4g %11.4g %8s %11.4g %11.4g %9lld %9lld\n", shown(it->name), it->a_std, it->b_std, ratio,
           it->a_mean, it->b_mean, (long long)it->a_nan, (long long)it->b_nan);
  }
}

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *run_json(const char *path, const ls_rec_run_row *r) {
  return json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:s}", "file", path, "run", (json_int_t)r->id, "kind", r->kind,
                   "architecture", r->architecture, "seq", (json_int_t)r->seq, "total_ns", (json_int_t)r->total_ns,
                   "started_at", r->started_at);
}

static json_t *items_json(const ls_rec_diff_item *v, size_t n, int stats) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *o = stats ? json_pack("{s:s, s:o, s:o, s:o, s:o, s:I, s:I}", "name", v[i].name, "a_std", jnum(v[i].a_std),
                                  "b_std", jnum(v[i].b_std), "a_mean", jnum(v[i].a_mean), "b_mean", jnum(v[i].b_mean),
                                  "a_nonfinite", (json_int_t)v[i].a_nan, "b_nonfinite", (json_int_t)v[i].b_nan)
                      : json_pack("{s:s, s:I, s:I}", "name", v[i].name, "a_self_ns", (json_int_t)v[i].a_ns,
                                  "b_self_ns", (json_int_t)v[i].b_ns);
    if (o) json_array_append_new(arr, o);
  }
  return arr;
}

int ls_cli_diff_runs(const char *pa, const char *pb, const char *format, int64_t run_a, int64_t run_b, int top) {
  ls_diag d;
  ls_diag_init(&d);
  ls_rec *ra = NULL, *rb = NULL;
  ls_rec_diff *x = NULL;
  int status = 1;
  if (ls_rec_open(&ra, pa, LS_REC_READ, &d) || ls_rec_open(&rb, pb, LS_REC_READ, &d) ||
      ls_rec_diff_runs(ra, run_a, rb, run_b, &x, &d)) {
    fprintf(stderr, "layerscope diff: %s\n", d.msg);
    goto out;
  }
  if (strcmp(format, "json") == 0) {
    size_t nt = x->n_time < (size_t)top ? x->n_time : (size_t)top, ns = x->n_stats < (size_t)top ? x->n_stats : (size_t)top;
    json_t *j = json_pack("{s:o, s:o, s:I, s:I, s:I, s:o, s:o}", "a", run_json(pa, &x->a), "b", run_json(pb, &x->b),
                          "common", (json_int_t)x->common, "only_in_a", (json_int_t)x->only_a,
                          "only_in_b", (json_int_t)x->only_b, "time", items_json(x->time, nt, 0),
                          "stats", items_json(x->stats, ns, 1));
    if (!j || json_dumpf(j, stdout, JSON_INDENT(1)) != 0) {
      json_decref(j);
      fprintf(stderr, "layerscope diff: out of memory\n");
      goto out;
    }
    printf("\n");
    json_decref(j);
  } else {
    print_text(x, pa, pb, top);
  }
  status = 0;
out:
  ls_rec_diff_free(x);
  ls_rec_close(ra);
  ls_rec_close(rb);
  return status;
}
