/* diff.c: `layerscope diff A B`: compares two tensor files tensor by tensor, matched by
 * upstream name (so a GGUF compares with the safetensors it came from, and an activation
 * dump with a reference dump). Per common tensor: max abs and max relative difference,
 * cosine similarity, RMSE, the number of elements outside the tolerance and the first one
 * (as a multi-index); shape mismatches and names present in only one file are reported.
 * Then the first tensor that differs in A's file order, which for a `run --dump` file is
 * the order the modules ran in: the first module where two runs diverge.
 *
 * Tolerance (core/tensor/stats.h): an element differs when |a-b| > atol + rtol*|b| +
 * stol*absmax(b). The defaults, rtol 1e-5, atol 1e-8 (numpy.isclose's) and stol 1e-4, are
 * chosen for fp32 dumps of the same model: summation order (threads, BLAS, PyTorch) moves
 * results by a few units of 2^-24 times the size of the operands, i.e. relative to the
 * tensor's scale, which leaves elements near 0 with large relative errors; docs/tensors.md
 * gives the reasoning and measurements. Given --rtol or --atol without --stol, stol is 0:
 * exactly numpy.isclose, as before.
 * Exit 0 when everything matches within tolerance, 1 otherwise, 2 on usage errors.
 *
 * Two run records (SQLite files, recognised by their first bytes whatever their names) are
 * compared as runs instead: diff_runs.c, with --run-a / --run-b / --top. */
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/diag.h"
#include "core/base/file.h"
#include "core/record/record.h"
#include "core/tensor/stats.h"
#include "core/tensor/tensor.h"

static void index_str(const ls_tensor *t, int64_t flat, char *buf, size_t size) {
  int64_t idx[LS_TENSOR_MAX_DIMS];
  for (int a = t->ndim - 1; a >= 0; a--) {
    idx[a] = t->shape[a] ? flat % t->shape[a] : 0;
    flat = t->shape[a] ? flat / t->shape[a] : 0;
  }
  size_t p = (size_t)snprintf(buf, size, "[");
  for (int a = 0; a < t->ndim && p < size; a++) p += (size_t)snprintf(buf + p, size - p, "%s%lld", a ? "," : "", (long long)idx[a]);
  if (p < size) snprintf(buf + p, size - p, "]");
}

/* A name to compare and its position in A's file order (SIZE_MAX when only in B). */
typedef struct diff_name {
  const char *name;
  size_t pos;
} diff_name;

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const diff_name *)a)->name, ((const diff_name *)b)->name);
}

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* 1 when path is a SQLite file (a run record), 0 when not or unreadable (the tensor reader
 * then says why). */
static int is_record(const char *path) {
  ls_diag d;
  ls_diag_init(&d);
  int fd;
  if (ls_file_open_ro(path, &fd, NULL, &d)) return 0;
  unsigned char head[16];
  ssize_t n = pread(fd, head, sizeof head, 0);
  close(fd);
  return n == (ssize_t)sizeof head && ls_rec_sniff(head, sizeof head);
}

int ls_cli_diff(int argc, char **argv) {
  const char *paths[2] = {NULL, NULL}, *format = "text", *order = "file", *filter = NULL;
  ls_difftol tol = {1e-5, 1e-8, -1}; /* stol < 0: not given */
  int np = 0, numpy_tol = 0;
  int64_t run_ab[2] = {0, 0}, top = 15;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int more = i + 1 < argc;
    char *end = NULL;
    if (strcmp(a, "--rtol") == 0 && more) {
      tol.rtol = strtod(argv[++i], &end);
      if (*end || !(tol.rtol >= 0)) goto usage;
      numpy_tol = 1;
    } else if (strcmp(a, "--atol") == 0 && more) {
      tol.atol = strtod(argv[++i], &end);
      if (*end || !(tol.atol >= 0)) goto usage;
      numpy_tol = 1;
    } else if (strcmp(a, "--stol") == 0 && more) {
      tol.stol = strtod(argv[++i], &end);
      if (*end || !(tol.stol >= 0)) goto usage;
    }
    else if (strcmp(a, "--format") == 0 && more) format = argv[++i];
    else if (strcmp(a, "--order") == 0 && more) order = argv[++i];
    else if (strcmp(a, "--filter") == 0 && more) filter = argv[++i];
    else if ((strcmp(a, "--run-a") == 0 || strcmp(a, "--run-b") == 0) && more) {
      if (ls_cli_parse_i64(argv[++i], 1, INT64_MAX, &run_ab[a[6] == 'b'])) goto usage;
    } else if (strcmp(a, "--top") == 0 && more) {
      if (ls_cli_parse_i64(argv[++i], 1, 100000, &top)) goto usage;
    }
    else if (a[0] == '-' && a[1]) goto usage;
    else if (np < 2) paths[np++] = a;
    else goto usage;
  }
  if (np != 2 || (strcmp(format, "text") && strcmp(format, "json")) || (strcmp(order, "file") && strcmp(order, "name")))
    goto usage;
  int rec_a = is_record(paths[0]), rec_b = is_record(paths[1]);
  if (rec_a && rec_b) return ls_cli_diff_runs(paths[0], paths[1], format, run_ab[0], run_ab[1], (int)top);
  if (rec_a != rec_b) {
    fprintf(stderr, "layerscope diff: %s is a run record and %s is not: compare two records or two tensor files\n",
            paths[rec_a ? 0 : 1], paths[rec_a ? 1 : 0]);
    return 2;
  }
  if (run_ab[0] || run_ab[1]) {
    fprintf(stderr, "layerscope diff: --run-a and --run-b are for run records\n");
    return 2;
  }
  if (tol.stol < 0) tol.stol = numpy_tol ? 0 : 1e-4;
  int text = strcmp(format, "text") == 0;
  ls_tfile *f[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    ls_diag d;
    ls_diag_init(&d);
    if (ls_tfile_open(paths[k], &f[k], &d) != 0) {
      fprintf(stderr, "layerscope diff: %s\n", d.msg);
      ls_tfile_close(f[0]);
      return 1;
    }
  }
  /* Names: A's in file order then B's missing from A; or all sorted by name. */
  size_t na = ls_tfile_count(f[0]), nb = ls_tfile_count(f[1]), n = 0;
  diff_name *names = ls_calloc(na + nb + 1, sizeof *names);
  if (!names) { ls_tfile_close(f[0]); ls_tfile_close(f[1]); return 1; }
  for (size_t i = 0; i < na; i++) names[n++] = (diff_name){ls_tfile_at(f[0], i)->name, i};
  for (size_t i = 0; i < nb; i++)
    if (!ls_tfile_find(f[0], ls_tfile_at(f[1], i)->name)) names[n++] = (diff_name){ls_tfile_at(f[1], i)->name, SIZE_MAX};
  if (strcmp(order, "name") == 0) qsort(names, n, sizeof *names, cmp_name);
  json_t *arr = json_array();
  int status = 0;
  size_t n_same = 0, n_diff = 0, n_only = 0, n_shape = 0;
  const diff_name *first_div = NULL; /* the first tensor that differs, in A's file order */
  if (text) printf("%-48s %-10s %11s %11s %10s %11s %s\n", "tensor", "status", "max_abs", "max_rel", "cosine", "mismatches", "first");
  for (size_t i = 0; i < n; i++) {
    const char *name = names[i].name;
    if (filter && fnmatch(filter, name, 0) != 0) continue;
    const ls_tensor *a = ls_tfile_find(f[0], name), *b = ls_tfile_find(f[1], name);
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(name));
    char da[160], db[160], first[160] = "-";
    if (!a || !b) {
      json_object_set_new(e, "status", json_string(a ? "only_in_a" : "only_in_b"));
      if (text) printf("%-48s %-10s %s\n", name, a ? "only-in-A" : "only-in-B", ls_tensor_describe(a ? a : b, da, sizeof da));
      n_only++;
      status = 1;
      json_array_append_new(arr, e);
      continue;
    }
    ls_tensor_describe(a, da, sizeof da);
    ls_tensor_describe(b, db, sizeof db);
    json_object_set_new(e, "a", json_string(da));
    json_object_set_new(e, "b", json_string(db));
    int same_shape = a->ndim == b->ndim && memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) == 0;
    if (!same_shape) {
      json_object_set_new(e, "status", json_string("shape_mismatch"));
      if (text) printf("%-48s %-10s %s vs %s\n", name, "SHAPE", da, db);
      n_shape++;
      status = 1;
      if (!first_div || names[i].pos < first_div->pos) first_div = &names[i];
      json_array_append_new(arr, e);
      continue;
    }
    ls_diffstats ds;
    ls_diag d;
    ls_diag_init(&d);
    if (ls_stats_diff_tol(a, b, &tol, &ds, &d) != 0) {
      fprintf(stderr, "layerscope diff: %s\n", d.msg);
      json_decref(e);
      status = 1;
      continue;
    }
    if (ds.first_mismatch >= 0) index_str(a, ds.first_mismatch, first, sizeof first);
    const char *st = ds.mismatches ? "DIFF" : "ok";
    if (ds.mismatches) {
      n_diff++;
      status = 1;
      if (!first_div || names[i].pos < first_div->pos) first_div = &names[i];
    } else {
      n_same++;
    }
    if (a->dtype != b->dtype) json_object_set_new(e, "dtype_mismatch", json_true());
    json_object_set_new(e, "status", json_string(ds.mismatches ? "differ" : "match"));
    json_object_set_new(e, "count", json_integer((json_int_t)ds.count));
    json_object_set_new(e, "mismatches", json_integer((json_int_t)ds.mismatches));
    json_object_set_new(e, "max_abs", jnum(ds.max_abs));
    json_object_set_new(e, "max_rel", jnum(ds.max_rel));
    json_object_set_new(e, "cosine", jnum(ds.cosine));
    json_object_set_new(e, "rmse", jnum(ds.rmse));
    if (tol.stol > 0) json_object_set_new(e, "scale", jnum(ds.scale));
    json_object_set_new(e, "first_mismatch", ds.first_mismatch >= 0 ? json_string(first) : json_null());
    json_object_set_new(e, "first_mismatch_flat", json_integer(ds.first_mismatch));
    if (text)
      printf("%-48s %-10s %11.4g %11.4g %10.7f %11llu %s%s\n", name, st, ds.max_abs, ds.max_rel, ds.cosine,
             (unsigned long long)ds.mismatches, first, a->dtype != b->dtype ? "  (dtype differs)" : "");
    json_array_append_new(arr, e);
  }
  if (text) {
    printf("\n%zu match, %zu differ (rtol %g, atol %g, stol %g of each tensor's absmax in B), %zu shape mismatch, "
           "%zu only in one file", n_same, n_diff, tol.rtol, tol.atol, tol.stol, n_shape, n_only);
    /* one summary line, so that scripts reading the table stop at it */
    if (first_div) printf("; first difference in A's order (for a run --dump file, execution order): %s", first_div->name);
    printf("\n");
  } else {
    json_t *root = json_object();
    json_object_set_new(root, "tensors", arr);
    json_object_set_new(root, "rtol", json_real(tol.rtol));
    json_object_set_new(root, "atol", json_real(tol.atol));
    json_object_set_new(root, "stol", json_real(tol.stol));
    json_object_set_new(root, "first_difference", first_div ? json_string(first_div->name) : json_null());
    json_dumpf(root, stdout, JSON_INDENT(1));
    printf("\n");
    json_decref(root);
    arr = NULL;
  }
  json_decref(arr);
  ls_free(names);
  ls_tfile_close(f[0]);
  ls_tfile_close(f[1]);
  return status;
usage:
  ls_cli_usage(stderr, "diff");
  return 2;
}
