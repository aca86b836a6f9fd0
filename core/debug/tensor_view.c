/* tensor_view.c: how the debugger shows a tensor. One honest line per tensor
 * (`bf16[1,128,4096] μ=0.012 σ=0.98 [-3.2, 4.1] nan=0 inf=0 zeros=0.1%`), a text histogram,
 * sub-tensors along the first dimension (for level-by-level paging in a variables view) and
 * single elements. Statistics come from core/tensor/stats.h and are passed in, so callers
 * compute them once per stop and cache them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/debug/expr.h"

int ls_dbg_shape_format(const ls_dbg_tensor *t, char *buf, size_t cap) {
  size_t len = 0;
  if (cap == 0) return 0;
  buf[0] = 0;
  len += (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < t->ndim && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "", (long long)t->shape[i]);
  if (len < cap) len += (size_t)snprintf(buf + len, cap - len, "]");
  return (int)len;
}

int ls_dbg_tensor_format(const ls_dbg_tensor *t, const ls_stats *s, char *buf, size_t cap) {
  char shape[96];
  ls_dbg_shape_format(t, shape, sizeof shape);
  double zp = s->count ? 100.0 * (double)s->zeros / (double)s->count : 0.0;
  if (s->finite == 0)
    return snprintf(buf, cap, "%s%s no finite values nan=%llu inf=%llu", ls_dtype_name(t->dtype), shape,
                    (unsigned long long)s->nan, (unsigned long long)(s->pinf + s->ninf));
  return snprintf(buf, cap, "%s%s μ=%.3g σ=%.3g [%.3g, %.3g] nan=%llu inf=%llu zeros=%.3g%%", ls_dtype_name(t->dtype),
                  shape, s->mean, s->std, s->min, s->max, (unsigned long long)s->nan,
                  (unsigned long long)(s->pinf + s->ninf), zp);
}

char *ls_dbg_tensor_hist(const ls_dbg_tensor *t, const ls_stats *s, int nbins) {
  if (nbins < 1) nbins = 1;
  if (s->finite == 0) return ls_strdup("no finite values");
  if (s->min == s->max) { /* one value: a histogram has no width */
    char buf[128];
    snprintf(buf, sizeof buf, "all %llu finite values are %.6g", (unsigned long long)s->finite, s->min);
    return ls_strdup(buf);
  }
  ls_hist h;
  if (ls_stats_hist(t->dtype, t->data, ls_dbg_tensor_numel(t), s, 0, 0, nbins, &h) != LS_OK) return NULL;
  uint64_t top = 1;
  for (int i = 0; i < h.nbins; i++)
    if (h.counts[i] > top) top = h.counts[i];
  size_t cap = (size_t)h.nbins * 96 + 64, len = 0;
  char *out = ls_malloc(cap);
  if (!out) {
    ls_hist_free(&h);
    return NULL;
  }
  out[0] = 0;
  double w = (h.hi - h.lo) / h.nbins;
  for (int i = 0; i < h.nbins; i++) {
    int bar = (int)((30 * h.counts[i] + top - 1) / top);
    char bars[32];
    memset(bars, '#', (size_t)bar);
    bars[bar] = 0;
    len += (size_t)snprintf(out + len, cap - len, "%s[%10.4g, %10.4g%c %10llu %s", i ? "\n" : "", h.lo + i * w,
                            i == h.nbins - 1 ? h.hi : h.lo + (i + 1) * w, i == h.nbins - 1 ? ']' : ')',
                            (unsigned long long)h.counts[i], bars);
  }
  if (h.nonfinite && len < cap)
    snprintf(out + len, cap - len, "\nnon-finite %llu", (unsigned long long)h.nonfinite);
  ls_hist_free(&h);
  return out;
}

int ls_dbg_tensor_index0(const ls_dbg_tensor *t, int64_t i, ls_dbg_tensor *out) {
  if (t->ndim < 1 || i < 0 || i >= t->shape[0] || ls_dtype_block_elems(t->dtype) != 1) return LS_EINVAL;
  uint64_t inner = 1;
  for (int k = 1; k < t->ndim; k++) inner *= (uint64_t)t->shape[k];
  memset(out, 0, sizeof *out);
  out->dtype = t->dtype;
  out->data = (const char *)t->data + (uint64_t)i * inner * (uint64_t)ls_dtype_block_bytes(t->dtype);
  out->ndim = t->ndim - 1;
  for (int k = 1; k < t->ndim; k++) out->shape[k - 1] = t->shape[k];
  return LS_OK;
}

double ls_dbg_tensor_at(const ls_dbg_tensor *t, uint64_t i) {
  if (ls_dtype_block_elems(t->dtype) != 1) return NAN;
  float v;
  const char *p = (const char *)t->data + i * (uint64_t)ls_dtype_block_bytes(t->dtype);
  if (ls_dtype_to_f32(t->dtype, p, 1, &v) != LS_OK) return NAN;
  return v;
}
