/* layerscope_tensor.c: the custom DAP request `layerscopeTensor`, which gives the VS Code
 * extension the numbers behind its tensor pictures (contract in editor-extension/README.md;
 * the capability `supportsLayerscopeTensor` is announced in initialize.c):
 *   arguments { expression? | variablesReference?, frameId?, kind: "histogram"|"heatmap",
 *               bins? (1..4096, default 64), head? (default 0) }
 *   histogram { shape, dtype, count, finite, nonfinite,
 *               histogram: { lo, hi, counts[bins] } }   equal-width bins over the finite values
 *   heatmap   { shape, dtype, head, heads, source: [rows, cols], downsampled, block: [kr, kc],
 *               heatmap: { rows, cols, values[rows * cols] } }   row-major, rows = queries
 * A heatmap reads a 2-D [rows, cols] tensor, a 3-D [heads, rows, cols] one or a 4-D
 * [batch, heads, rows, cols] one (attention probabilities; batch 0). Matrices larger than
 * 128 x 128 are block-averaged to at most 128 x 128 (a picture cannot show more cells than
 * a webview has pixels, and the reply stays small); a cell with no finite value is null.
 * The tensor is named by a variablesReference of this stop (preferred: slices such as
 * `[0]` have no expression) or by an expression of the debugger's language. Every argument
 * is checked and sizes are validated before anything is allocated; errors name the problem. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/stats.h"
#include "dap/vars.h"

#define MAX_BINS 4096
#define DEFAULT_BINS 64
#define HEAT_SIDE 128           /* at most HEAT_SIDE x HEAT_SIDE cells in a reply */
#define MAX_ROW (1 << 24)       /* values per matrix row converted at once (64 MiB of f32) */

/* An optional integer argument in [lo, hi]; 0 = ok, otherwise the request was answered. */
static int opt_int(dap_server *s, dap_req *req, json_t *args, const char *key, int lo, int hi, int *out) {
  json_t *v = json_object_get(args, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "layerscopeTensor: '%s' must be an integer in %d..%d", key, lo, hi);
    return 1;
  }
  *out = (int)json_integer_value(v);
  return 0;
}

static json_t *shape_json(const ls_dbg_tensor *t) {
  json_t *a = json_array();
  for (int i = 0; a && i < t->ndim; i++) json_array_append_new(a, json_integer(t->shape[i]));
  return a;
}

static void histogram(dap_server *s, dap_req *req, dap_dbg *x, const ls_dbg_tensor *t, int owned, const char *what,
                      int bins) {
  /* statistics of a borrowed tensor come from the stop's cache (keyed by buffer); an
   * evaluated result is freed after this request, so its address must not enter the cache */
  ls_stats own;
  const ls_stats *st = NULL;
  if (owned) st = ls_stats_compute(t->dtype, t->data, ls_dbg_tensor_numel(t), &own) == LS_OK ? &own : NULL;
  else st = ls_dbg_stats_cached(x->g, t);
  if (!st) {
    dap_respond_error(s, req, DAP_ERR_INTERNAL, "layerscopeTensor: statistics of '%s' failed", what);
    return;
  }
  double lo = 0, hi = 0;
  ls_hist hg;
  memset(&hg, 0, sizeof hg);
  if (st->finite) {
    lo = st->min;
    hi = st->max;
    if (lo == hi) { /* one value: give the bins a width so it lands in the middle one */
      double w = 0.5 * (fabs(lo) > 1 ? fabs(lo) : 1);
      lo -= w;
      hi += w;
    }
    int rc = ls_stats_hist(t->dtype, t->data, ls_dbg_tensor_numel(t), st, lo, hi, bins, &hg);
    if (rc != LS_OK) {
      dap_respond_error(s, req, DAP_ERR_INTERNAL, "layerscopeTensor: histogram of '%s' failed: %s", what, ls_err_str(rc));
      return;
    }
  }
  json_t *counts = json_array();
  for (int i = 0; counts && i < bins; i++)
    json_array_append_new(counts, json_integer(hg.counts ? (json_int_t)hg.counts[i] : 0));
  ls_hist_free(&hg);
  json_t *body = json_pack("{s:o, s:s, s:I, s:I, s:I, s:{s:f, s:f, s:o}}", "shape", shape_json(t), "dtype",
                           ls_dtype_name(t->dtype), "count", (json_int_t)st->count, "finite", (json_int_t)st->finite,
                           "nonfinite", (json_int_t)(st->nan + st->pinf + st->ninf), "histogram", "lo", lo, "hi", hi,
                           "counts", counts);
  if (!body) {
    dap_respond_error(s, req, DAP_ERR_INTERNAL, "layerscopeTensor: out of memory");
    return;
  }
  dap_respond(s, req, body);
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static void heatmap(dap_server *s, dap_req *req, const ls_dbg_tensor *t, const char *what, int head) {
  int64_t H = 1, R, C;
  if (t->ndim == 4) H = t->shape[1], R = t->shape[2], C = t->shape[3];
  else if (t->ndim == 3) H = t->shape[0], R = t->shape[1], C = t->shape[2];
  else if (t->ndim == 2) R = t->shape[0], C = t->shape[1];
  else {
    char sh[96];
    ls_dbg_shape_format(t, sh, sizeof sh);
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS,
                      "layerscopeTensor: a heatmap needs a 2-D [rows, cols], 3-D [heads, rows, cols] or 4-D "
                      "[batch, heads, rows, cols] tensor; '%s' is %s%s",
                      what, ls_dtype_name(t->dtype), sh);
    return;
  }
  if (ls_dbg_tensor_numel(t) == 0) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "layerscopeTensor: '%s' is empty", what);
    return;
  }
  if (head >= H) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "layerscopeTensor: head %d out of range: '%s' has %lld head%s (0..%lld)",
                      head, what, (long long)H, H == 1 ? "" : "s", (long long)H - 1);
    return;
  }
  int be = ls_dtype_block_elems(t->dtype), bb = ls_dtype_block_bytes(t->dtype);
  if (be < 1 || bb < 1 || C % be != 0) {
    dap_respond_error(s, req, DAP_ERR_UNSUPPORTED, "layerscopeTensor: rows of %lld %s values do not split into its %d-value blocks",
                      (long long)C, ls_dtype_name(t->dtype), be);
    return;
  }
  if (C > MAX_ROW) {
    dap_respond_error(s, req, DAP_ERR_UNSUPPORTED, "layerscopeTensor: rows of %lld values are longer than the %d a heatmap reads",
                      (long long)C, MAX_ROW);
    return;
  }
  /* block sizes so that the picture has at most HEAT_SIDE cells per side */
  int64_t kr = ceil_div(R, HEAT_SIDE), kc = ceil_div(C, HEAT_SIDE);
  int64_t outR = ceil_div(R, kr), outC = ceil_div(C, kc); /* both <= HEAT_SIDE */
  size_t cells = (size_t)(outR * outC);
  double *sum = ls_calloc(cells, sizeof *sum);   /* [outR, outC] finite sums */
  uint64_t *cnt = ls_calloc(cells, sizeof *cnt); /* [outR, outC] finite counts */
  float *row = ls_malloc((size_t)C * sizeof *row); /* [C] one converted row */
  if (!sum || !cnt || !row) {
    ls_free(sum);
    ls_free(cnt);
    ls_free(row);
    dap_respond_error(s, req, DAP_ERR_INTERNAL, "layerscopeTensor: out of memory");
    return;
  }
  /* batch 0, head `head`: element offset head * R * C (< numel, so no overflow) */
  const unsigned char *base = (const unsigned char *)t->data + (uint64_t)head * (uint64_t)R * (uint64_t)C / (uint64_t)be * (uint64_t)bb;
  uint64_t row_bytes = (uint64_t)C / (uint64_t)be * (uint64_t)bb;
  int rc = LS_OK;
  for (int64_t r = 0; r < R && rc == LS_OK; r++) {
    rc = ls_dtype_to_f32(t->dtype, base + (uint64_t)r * row_bytes, (size_t)C, row);
    double *srow = sum + (size_t)(r / kr * outC);
    uint64_t *crow = cnt + (size_t)(r / kr * outC);
    for (int64_t c = 0; rc == LS_OK && c < C; c++)
      if (isfinite(row[c])) {
        srow[c / kc] += row[c];
        crow[c / kc]++;
      }
  }
  ls_free(row);
  json_t *vals = rc == LS_OK ? json_array() : NULL;
  for (size_t i = 0; vals && i < cells; i++) json_array_append_new(vals, cnt[i] ? json_real(sum[i] / (double)cnt[i]) : json_null());
  ls_free(sum);
  ls_free(cnt);
  if (rc != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_INTERNAL, "layerscopeTensor: reading '%s' failed: %s", what, ls_err_str(rc));
    return;
  }
  json_t *body = json_pack("{s:o, s:s, s:i, s:I, s:[I, I], s:b, s:[I, I], s:{s:I, s:I, s:o}}", "shape", shape_json(t),
                           "dtype", ls_dtype_name(t->dtype), "head", head, "heads", (json_int_t)H, "source",
                           (json_int_t)R, (json_int_t)C, "downsampled", kr > 1 || kc > 1, "block", (json_int_t)kr,
                           (json_int_t)kc, "heatmap", "rows", (json_int_t)outR, "cols", (json_int_t)outC, "values", vals);
  if (!body) {
    dap_respond_error(s, req, DAP_ERR_INTERNAL, "layerscopeTensor: out of memory");
    return;
  }
  dap_respond(s, req, body);
}

int dap_on_layerscope_tensor(dap_server *s, dap_req *req, json_t *args) {
  const char *kind = json_string_value(json_object_get(args, "kind"));
  int is_hist = kind && strcmp(kind, "histogram") == 0, is_heat = kind && strcmp(kind, "heatmap") == 0;
  if (!is_hist && !is_heat) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "layerscopeTensor: 'kind' must be \"histogram\" or \"heatmap\"");
    return LS_OK;
  }
  int bins = DEFAULT_BINS, head = 0;
  if (opt_int(s, req, args, "bins", 1, MAX_BINS, &bins) || opt_int(s, req, args, "head", 0, 1 << 30, &head)) return LS_OK;
  json_t *ref = json_object_get(args, "variablesReference"), *ex = json_object_get(args, "expression");
  if (ref && !json_is_null(ref) && !json_is_integer(ref)) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "layerscopeTensor: 'variablesReference' must be an integer");
    return LS_OK;
  }
  if (ex && !json_is_null(ex) && !json_is_string(ex)) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "layerscopeTensor: 'expression' must be a string");
    return LS_OK;
  }
  int use_ref = json_is_integer(ref) && json_integer_value(ref) > 0;
  if (!use_ref && !json_is_string(ex)) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "layerscopeTensor: give the tensor as 'expression' or 'variablesReference'");
    return LS_OK;
  }
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;

  ls_dbg_value v;
  memset(&v, 0, sizeof v);
  const char *what;
  if (use_ref) {
    json_int_t r = json_integer_value(ref);
    if (r > 1 << 30 || dap_vars_tensor_get(x->vars, (int)r, &v.t, &what) != LS_OK) {
      dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS,
                        "layerscopeTensor: variablesReference %lld is not a tensor of this stop (references end when the "
                        "pass resumes)",
                        (long long)r);
      return LS_OK;
    }
    v.kind = LS_DBG_V_TENSOR;
  } else {
    what = json_string_value(ex);
    ls_diag d;
    ls_diag_init(&d);
    if (ls_dbg_run_eval(x->run, what, &v, &d) != LS_OK) {
      dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "layerscopeTensor: '%s': %s", what, d.msg);
      return LS_OK;
    }
    if (v.kind != LS_DBG_V_TENSOR) {
      dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "layerscopeTensor: '%s' is %s, not a tensor", what,
                        v.kind == LS_DBG_V_NUM ? "a number" : "a text report");
      ls_dbg_value_free(&v);
      return LS_OK;
    }
  }
  if (is_hist) histogram(s, req, x, &v.t, v.t.owned != NULL, what, bins);
  else heatmap(s, req, &v.t, what, head);
  ls_dbg_value_free(&v);
  return LS_OK;
}
