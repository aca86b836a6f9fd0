/* stats_diff.c: element-wise comparison of two tensors (stats.h, ls_stats_diff_tol): the
 * figures of `layerscope diff` and of the debugger's `diff a b` / `cos a b`. Both tensors
 * are read in upstream order through ls_tensor_read_f32 (so a GGUF q_proj compares with
 * its safetensors original), chunk by chunk on the statistics pool; chunk results are
 * merged in order, so the first mismatch is the first in the tensor. A tolerance relative
 * to b's scale (stol) needs b's absmax before any element is judged: one statistics pass
 * over b comes first then. */
#include <math.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/stats.h"
#include "core/tensor/tpool.h"

#define DIFF_CHUNK 8192

typedef struct diff_part {
  uint64_t mismatches, pairs;
  int64_t first, max_abs_at;
  double max_abs, max_rel, dot, na, nb, se;
} diff_part;

typedef struct diff_job {
  const ls_tensor *a, *b;
  double rtol, atol;  /* atol includes stol * scale */
  diff_part *parts;   /* [n_tasks] */
} diff_job;

static void diff_task(void *ctx, int t) {
  diff_job *j = ctx;
  diff_part *p = &j->parts[t];
  memset(p, 0, sizeof *p);
  p->first = p->max_abs_at = -1;
  uint64_t s = (uint64_t)t * DIFF_CHUNK, n = j->a->nelem - s < DIFF_CHUNK ? j->a->nelem - s : DIFF_CHUNK;
  float xa[DIFF_CHUNK], xb[DIFF_CHUNK];
  ls_tensor_read_f32(j->a, s, (size_t)n, xa, NULL);
  ls_tensor_read_f32(j->b, s, (size_t)n, xb, NULL);
  for (size_t i = 0; i < n; i++) {
    double x = xa[i], y = xb[i];
    int differs;
    if (isfinite(x) && isfinite(y)) {
      double ad = fabs(x - y);
      differs = ad > j->atol + j->rtol * fabs(y);
      if (ad > p->max_abs || p->max_abs_at < 0) { p->max_abs = ad; p->max_abs_at = (int64_t)(s + i); }
      if (y != 0 && ad / fabs(y) > p->max_rel) p->max_rel = ad / fabs(y);
      p->dot += x * y;
      p->na += x * x;
      p->nb += y * y;
      p->se += ad * ad;
      p->pairs++;
    } else {
      differs = !((isnan(x) && isnan(y)) || x == y); /* same NaN-ness or the same infinity */
    }
    if (differs) {
      if (p->first < 0) p->first = (int64_t)(s + i);
      p->mismatches++;
    }
  }
}

int ls_stats_diff_tol(const ls_tensor *a, const ls_tensor *b, const ls_difftol *tol, ls_diffstats *out, ls_diag *d) {
  memset(out, 0, sizeof *out);
  out->first_mismatch = out->max_abs_index = -1;
  if (a->nelem != b->nelem)
    return ls_diag_set(d, LS_ESHAPE, "%s: %llu elements vs %llu", a->name, (unsigned long long)a->nelem,
                       (unsigned long long)b->nelem);
  uint64_t tasks = (a->nelem + DIFF_CHUNK - 1) / DIFF_CHUNK;
  if (tasks > INT32_MAX) return ls_diag_set(d, LS_ELIMIT, "%s: too large to compare", a->name);
  double atol = tol->atol;
  if (tol->stol > 0) { /* the scale first: one statistics pass over b (order-independent) */
    ls_stats sb;
    int rc = ls_stats_tensor(b, &sb, d);
    if (rc) return rc;
    out->scale = sb.finite ? sb.absmax : NAN;
    if (sb.finite) atol += tol->stol * sb.absmax;
  }
  diff_job j = {a, b, tol->rtol, atol, ls_calloc(tasks ? (size_t)tasks : 1, sizeof(diff_part))};
  if (!j.parts) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  ls__tpool_run((int)tasks, diff_task, &j);
  double dot = 0, na = 0, nb = 0, se = 0;
  uint64_t pairs = 0;
  out->count = a->nelem;
  for (uint64_t t = 0; t < tasks; t++) {
    const diff_part *p = &j.parts[t];
    out->mismatches += p->mismatches;
    if (out->first_mismatch < 0) out->first_mismatch = p->first;
    if (p->max_abs_at >= 0 && (out->max_abs_index < 0 || p->max_abs > out->max_abs)) {
      out->max_abs = p->max_abs;
      out->max_abs_index = p->max_abs_at;
    }
    if (p->max_rel > out->max_rel) out->max_rel = p->max_rel;
    dot += p->dot;
    na += p->na;
    nb += p->nb;
    se += p->se;
    pairs += p->pairs;
  }
  out->cosine = na > 0 && nb > 0 ? dot / (sqrt(na) * sqrt(nb)) : NAN;
  out->rmse = pairs ? sqrt(se / (double)pairs) : NAN;
  ls_free(j.parts);
  return LS_OK;
}

int ls_stats_diff(const ls_tensor *a, const ls_tensor *b, double rtol, double atol, ls_diffstats *out, ls_diag *d) {
  ls_difftol tol = {rtol, atol, 0};
  return ls_stats_diff_tol(a, b, &tol, out, d);
}

int ls_stats_diff_f32(const float *a, const float *b, uint64_t n, double rtol, double atol, ls_diffstats *out) {
  ls_tensor ta = {0}, tb = {0};
  ta.name = "a";
  tb.name = "b";
  ta.dtype = tb.dtype = LS_DT_F32;
  ta.ndim = tb.ndim = 1;
  ta.shape[0] = tb.shape[0] = (int64_t)n;
  ta.nelem = tb.nelem = n;
  ta.nbytes = tb.nbytes = n * 4;
  ta.data = a;
  tb.data = b;
  return ls_stats_diff(&ta, &tb, rtol, atol, out, NULL);
}
