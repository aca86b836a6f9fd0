/* diff.c: `layerscope diff A B`: compares two tensor files tensor by tensor, matched by
 * upstream name (so a GGUF compares with the safetensors it came from, and an activation
 * dump with a reference dump). Per common tensor: max abs and max relative difference,
 * cosine similarity, RMSE, the number of elements outside rtol/atol and the first one
 * (as a multi-index); shape mismatches and names present in only one file are reported.
 * Exit 0 when everything matches within tolerance, 1 otherwise, 2 on usage errors. */
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/diag.h"
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

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

int ls_cli_diff(int argc, char **argv) {
  const char *paths[2] = {NULL, NULL}, *format = "text", *order = "file", *filter = NULL;
  double rtol = 1e-5, atol = 1e-8;
  int np = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int more = i + 1 < argc;
    char *end = NULL;
    if (strcmp(a, "--rtol") == 0 && more) { rtol = strtod(argv[++i], &end); if (*end || !(rtol >= 0)) goto usage; }
    else if (strcmp(a, "--atol") == 0 && more) { atol = strtod(argv[++i], &end); if (*end || !(atol >= 0)) goto usage; }
    else if (strcmp(a, "--format") == 0 && more) format = argv[++i];
    else if (strcmp(a, "--order") == 0 && more) order = argv[++i];
    else if (strcmp(a, "--filter") == 0 && more) filter = argv[++i];
    else if (a[0] == '-' && a[1]) goto usage;
    else if (np < 2) paths[np++] = a;
    else goto usage;
  }
  if (np != 2 || (strcmp(format, "text") && strcmp(format, "json")) || (strcmp(order, "file") && strcmp(order, "name")))
    goto usage;
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
  const char **names = ls_calloc(na + nb + 1, sizeof *names);
  if (!names) { ls_tfile_close(f[0]); ls_tfile_close(f[1]); return 1; }
  for (size_t i = 0; i < na; i++) names[n++] = ls_tfile_at(f[0], i)->name;
  for (size_t i = 0; i < nb; i++)
    if (!ls_tfile_find(f[0], ls_tfile_at(f[1], i)->name)) names[n++] = ls_tfile_at(f[1], i)->name;
  if (strcmp(order, "name") == 0) qsort(names, n, sizeof *names, cmp_str);
  json_t *arr = json_array();
  int status = 0;
  size_t n_same = 0, n_diff = 0, n_only = 0, n_shape = 0;
  if (text) printf("%-48s %-10s %11s %11s %10s %11s %s\n", "tensor", "status", "max_abs", "max_rel", "cosine", "mismatches", "first");
  for (size_t i = 0; i < n; i++) {
    if (filter && fnmatch(filter, names[i], 0) != 0) continue;
    const ls_tensor *a = ls_tfile_find(f[0], names[i]), *b = ls_tfile_find(f[1], names[i]);
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(names[i]));
    char da[160], db[160], first[160] = "-";
    if (!a || !b) {
      json_object_set_new(e, "status", json_string(a ? "only_in_a" : "only_in_b"));
      if (text) printf("%-48s %-10s %s\n", names[i], a ? "only-in-A" : "only-in-B", ls_tensor_describe(a ? a : b, da, sizeof da));
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
      if (text) printf("%-48s %-10s %s vs %s\n", names[i], "SHAPE", da, db);
      n_shape++;
      status = 1;
      json_array_append_new(arr, e);
      continue;
    }
    ls_diffstats ds;
    ls_diag d;
    ls_diag_init(&d);
    if (ls_stats_diff(a, b, rtol, atol, &ds, &d) != 0) {
      fprintf(stderr, "layerscope diff: %s\n", d.msg);
      json_decref(e);
      status = 1;
      continue;
    }
    if (ds.first_mismatch >= 0) index_str(a, ds.first_mismatch, first, sizeof first);
    const char *st = ds.mismatches ? "DIFF" : "ok";
    if (ds.mismatches) { n_diff++; status = 1; } else n_same++;
    if (a->dtype != b->dtype) json_object_set_new(e, "dtype_mismatch", json_true());
    json_object_set_new(e, "status", json_string(ds.mismatches ? "differ" : "match"));
    json_object_set_new(e, "count", json_integer((json_int_t)ds.count));
    json_object_set_new(e, "mismatches", json_integer((json_int_t)ds.mismatches));
    json_object_set_new(e, "max_abs", jnum(ds.max_abs));
    json_object_set_new(e, "max_rel", jnum(ds.max_rel));
    json_object_set_new(e, "cosine", jnum(ds.cosine));
    json_object_set_new(e, "rmse", jnum(ds.rmse));
    json_object_set_new(e, "first_mismatch", ds.first_mismatch >= 0 ? json_string(first) : json_null());
    json_object_set_new(e, "first_mismatch_flat", json_integer(ds.first_mismatch));
    if (text)
      printf("%-48s %-10s %11.4g %11.4g %10.7f %11llu %s%s\n", names[i], st, ds.max_abs, ds.max_rel, ds.cosine,
             (unsigned long long)ds.mismatches, first, a->dtype != b->dtype ? "  (dtype differs)" : "");
    json_array_append_new(arr, e);
  }
  if (text) {
    printf("\n%zu match, %zu differ (rtol %g, atol %g), %zu shape mismatch, %zu only in one file\n", n_same, n_diff, rtol,
           atol, n_shape, n_only);
  } else {
    json_t *root = json_object();
    json_object_set_new(root, "tensors", arr);
    json_object_set_new(root, "rtol", json_real(rtol));
    json_object_set_new(root, "atol", json_real(atol));
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
