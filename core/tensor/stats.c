/* stats.c: whole-tensor statistics, histograms and percentiles (stats.h). The data is cut
 * into chunks of LS__CHUNK elements, one pool task each; a task runs the selected kernel
 * (f32, bf16 and f16 read directly; other dtypes are dequantized into a small stack buffer
 * first; f64 has its own double-precision loop) and leaves an ls__part, and the parts are
 * merged in chunk order, so the result does not depend on thread timing. */
#include "core/tensor/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/stats_kern.h"
#include "core/tensor/tpool.h"

#define LS__CHUNK ((uint64_t)1 << 18) /* elements per task: a multiple of every block size */
#define CONV_BUF 4096                 /* elements dequantized at a time */

/* ---------------------------------------------------------------- dispatch */

static int g_simd = -1; /* ls_simd, -1 until chosen */

static int cpu_has(ls_simd s) {
  __builtin_cpu_init();
  switch (s) {
  case LS_SIMD_SCALAR: return 1;
  case LS_SIMD_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  case LS_SIMD_AVX512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                              __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && cpu_has(LS_SIMD_AVX2);
  }
  return 0;
}

static const char *const k_simd_names[] = {"scalar", "avx2", "avx512"};

const char *ls_stats_simd_name(ls_simd s) { return (unsigned)s <= LS_SIMD_AVX512 ? k_simd_names[s] : "?"; }

int ls_stats_simd_force(const char *name) {
  if (strcmp(name, "auto") == 0) {
    int best = cpu_has(LS_SIMD_AVX512) ? LS_SIMD_AVX512 : cpu_has(LS_SIMD_AVX2) ? LS_SIMD_AVX2 : LS_SIMD_SCALAR;
    __atomic_store_n(&g_simd, best, __ATOMIC_RELAXED);
    return LS_OK;
  }
  for (int i = 0; i <= LS_SIMD_AVX512; i++)
    if (strcmp(name, k_simd_names[i]) == 0) {
      if (!cpu_has((ls_simd)i)) return LS_EUNSUPPORTED;
      __atomic_store_n(&g_simd, i, __ATOMIC_RELAXED);
      return LS_OK;
    }
  return LS_EINVAL;
}

ls_simd ls_stats_simd(void) {
  int s = __atomic_load_n(&g_simd, __ATOMIC_RELAXED);
  if (s >= 0) return (ls_simd)s;
  const char *e = getenv("LAYERSCOPE_SIMD");
  if (!e || ls_stats_simd_force(e) != LS_OK) ls_stats_simd_force("auto");
  return (ls_simd)__atomic_load_n(&g_simd, __ATOMIC_RELAXED);
}

const ls__kernels *ls__stats_kernels(void) {
  switch (ls_stats_simd()) {
  case LS_SIMD_AVX512: return &ls__kern_avx512;
  case LS_SIMD_AVX2: return &ls__kern_avx2;
  default: return &ls__kern_scalar;
  }
}

void ls_stats_threads_set(int n) { ls__tpool_threads_set(n); }

/* ---------------------------------------------------------------- one range */

static void part_f64(const unsigned char *s, size_t n, ls__part *p) {
  ls__part_init(p);
  double k = 0, sum = 0, sq = 0, mn = ls_dtype_min_normal(LS_DT_F64);
  size_t i = 0;
  for (; i < n; i++) {
    double x;
    memcpy(&x, s + 8 * i, 8);
    if (isfinite(x)) { k = x; break; }
  }
  for (i = 0; i < n; i++) {
    double x;
    memcpy(&x, s + 8 * i, 8);
    if (!isfinite(x)) {
      if (isnan(x)) p->nan++; else if (x > 0) p->pinf++; else p->ninf++;
      continue;
    }
    double dl = x - k;
    sum += dl;
    sq += dl * dl;
    if (x < p->min) p->min = x;
    if (x > p->max) p->max = x;
    p->finite++;
    p->zeros += x == 0;
    p->subn += x != 0 && fabs(x) < mn;
  }
  if (p->finite) {
    p->mean = k + sum / (double)p->finite;
    p->m2 = sq - sum * sum / (double)p->finite;
    if (p->m2 < 0) p->m2 = 0;
  }
}

/* Statistics of elements [0, n) at src (n <= LS__KERN_MAX, block-aligned start). */
void ls__stats_range(const ls__kernels *k, ls_dtype dt, const unsigned char *src, size_t n, ls__part *p) {
  float mn = (float)ls_dtype_min_normal(dt);
  switch (dt) {
  case LS_DT_F32: k->f32(src, n, mn, p); return;
  case LS_DT_BF16: k->bf16(src, n, mn, p); return;
  case LS_DT_F16: k->f16(src, n, mn, p); return;
  case LS_DT_F64: part_f64(src, n, p); return;
  default: break;
  }
  ls__part_init(p);
  float buf[CONV_BUF];
  size_t be = (size_t)ls_dtype_block_elems(dt), bb = (size_t)ls_dtype_block_bytes(dt);
  for (size_t i = 0; i < n; i += CONV_BUF) {
    size_t m = n - i < CONV_BUF ? n - i : CONV_BUF;
    ls_dtype_to_f32(dt, src + i / be * bb, m, buf);
    ls__part t;
    k->f32(buf, m, mn, &t);
    ls__part_merge(p, &t);
  }
}

void ls__stats_finish(const ls__part *p, uint64_t n, ls_stats *out) {
  memset(out, 0, sizeof *out);
  out->count = n;
  out->finite = p->finite;
  out->nan = p->nan;
  out->pinf = p->pinf;
  out->ninf = p->ninf;
  out->zeros = p->zeros;
  out->subnormals = p->subn;
  if (p->finite) {
    out->mean = p->mean;
    out->sum = p->mean * (double)p->finite;
    out->std = sqrt(p->m2 / (double)p->finite);
    out->min = p->min;
    out->max = p->max;
    out->absmax = fabs(p->min) > fabs(p->max) ? fabs(p->min) : fabs(p->max);
  } else {
    out->mean = out->std = out->min = out->max = out->absmax = NAN;
  }
}

/* ---------------------------------------------------------------- whole buffers */

typedef struct stats_job {
  const ls__kernels *k;
  ls_dtype dt;
  const unsigned char *data;
  uint64_t n;
  ls__part *parts; /* [n_tasks] */
} stats_job;

static void stats_task(void *ctx, int i) {
  stats_job *j = ctx;
  uint64_t a = (uint64_t)i * LS__CHUNK, b = a + LS__CHUNK < j->n ? a + LS__CHUNK : j->n;
  uint64_t off = a / (uint64_t)ls_dtype_block_elems(j->dt) * (uint64_t)ls_dtype_block_bytes(j->dt);
  ls__stats_range(j->k, j->dt, j->data + off, (size_t)(b - a), &j->parts[i]);
}

int ls_stats_compute(ls_dtype dt, const void *data, uint64_t n, ls_stats *out) {
  if ((unsigned)dt >= LS_DT_COUNT || n % (uint64_t)ls_dtype_block_elems(dt) || (n && !data)) return LS_EINVAL;
  uint64_t tasks = (n + LS__CHUNK - 1) / LS__CHUNK;
  if (tasks > INT32_MAX) return LS_EINVAL;
  ls__part total;
  ls__part_init(&total);
  if (tasks <= 1) {
    if (n) ls__stats_range(ls__stats_kernels(), dt, data, (size_t)n, &total);
  } else {
    stats_job j = {ls__stats_kernels(), dt, data, n, ls_calloc((size_t)tasks, sizeof(ls__part))};
    if (!j.parts) return LS_ENOMEM;
    ls__tpool_run((int)tasks, stats_task, &j);
    for (uint64_t i = 0; i < tasks; i++) ls__part_merge(&total, &j.parts[i]);
    ls_free(j.parts);
  }
  ls__stats_finish(&total, n, out);
  return LS_OK;
}

int ls_stats_f32(const float *x, uint64_t n, ls_stats *out) { return ls_stats_compute(LS_DT_F32, x, n, out); }

int ls_stats_tensor(const ls_tensor *t, ls_stats *out, ls_diag *d) {
  int rc = ls_stats_compute(t->dtype, t->data, t->nelem, out);
  if (rc) return ls_diag_set(d, rc, "%s: statistics failed: %s", t->name, ls_err_str(rc));
  return LS_OK;
}

/* ---------------------------------------------------------------- histogram */

typedef struct hist_job {
  ls_dtype dt;
  const unsigned char *data;
  uint64_t n, per_task;
  double lo, hi, scale;
  int nbins;
  uint64_t *counts; /* [n_tasks][nbins + 3]: bins, below, above, nonfinite */
} hist_job;

static void hist_task(void *ctx, int t) {
  hist_job *j = ctx;
  uint64_t *c = j->counts + (size_t)t * ((size_t)j->nbins + 3);
  uint64_t a = (uint64_t)t * j->per_task, b = a + j->per_task < j->n ? a + j->per_task : j->n;
  size_t be = (size_t)ls_dtype_block_elems(j->dt), bb = (size_t)ls_dtype_block_bytes(j->dt);
  float buf[CONV_BUF];
  for (uint64_t i = a; i < b; i += CONV_BUF) {
    size_t m = b - i < CONV_BUF ? (size_t)(b - i) : CONV_BUF;
    if (j->dt == LS_DT_F64) {
      /* f64 keeps its precision for the bin decision. */
      for (size_t q = 0; q < m; q++) {
        double x;
        memcpy(&x, j->data + 8 * (i + q), 8);
        if (!isfinite(x)) { c[j->nbins + 2]++; continue; }
        if (x < j->lo) { c[j->nbins]++; continue; }
        if (x > j->hi) { c[j->nbins + 1]++; continue; }
        int64_t k = (int64_t)((x - j->lo) * j->scale);
        c[k >= j->nbins ? j->nbins - 1 : k]++;
      }
      continue;
    }
    ls_dtype_to_f32(j->dt, j->data + i / be * bb, m, buf);
    for (size_t q = 0; q < m; q++) {
      double x = buf[q];
      if (!isfinite(x)) { c[j->nbins + 2]++; continue; }
      if (x < j->lo) { c[j->nbins]++; continue; }
      if (x > j->hi) { c[j->nbins + 1]++; continue; }
      int64_t k = (int64_t)((x - j->lo) * j->scale);
      c[k >= j->nbins ? j->nbins - 1 : k]++;
    }
  }
}

int ls_stats_hist(ls_dtype dt, const void *data, uint64_t n, const ls_stats *s, double lo, double hi, int nbins,
                  ls_hist *out) {
  memset(out, 0, sizeof *out);
  if (nbins < 1 || nbins > (1 << 24) || (unsigned)dt >= LS_DT_COUNT || n % (uint64_t)ls_dtype_block_elems(dt) ||
      !(lo <= hi) || !isfinite(lo) || !isfinite(hi))
    return LS_EINVAL;
  if (lo == 0 && hi == 0) {
    ls_stats tmp;
    if (!s) {
      int rc = ls_stats_compute(dt, data, n, &tmp);
      if (rc) return rc;
      s = &tmp;
    }
    if (s->finite) { lo = s->min; hi = s->max; }
  }
  hist_job j = {dt, data, n, 0, lo, hi, hi > lo ? (double)nbins / (hi - lo) : 0, nbins, NULL};
  /* Enough tasks to balance, few enough that the per-task arrays stay small; the per-task
   * range is a multiple of the conversion buffer so that quant blocks never straddle. */
  uint64_t tasks = (uint64_t)ls__tpool_threads() * 4, cap = ((uint64_t)64 << 20) / (((uint64_t)nbins + 3) * 8);
  if (tasks > cap) tasks = cap ? cap : 1;
  j.per_task = (n / tasks + CONV_BUF) / CONV_BUF * CONV_BUF;
  tasks = n ? (n + j.per_task - 1) / j.per_task : 1;
  j.counts = ls_calloc((size_t)tasks * ((size_t)nbins + 3), sizeof(uint64_t));
  out->counts = ls_calloc((size_t)nbins, sizeof(uint64_t));
  if (!j.counts || !out->counts) { ls_free(j.counts); ls_free(out->counts); out->counts = NULL; return LS_ENOMEM; }
  if (n) ls__tpool_run((int)tasks, hist_task, &j);
  for (uint64_t t = 0; t < tasks; t++) {
    const uint64_t *c = j.counts + t * ((uint64_t)nbins + 3);
    for (int b = 0; b < nbins; b++) out->counts[b] += c[b];
    out->below += c[nbins];
    out->above += c[nbins + 1];
    out->nonfinite += c[nbins + 2];
  }
  ls_free(j.counts);
  out->nbins = nbins;
  out->lo = lo;
  out->hi = hi;
  return LS_OK;
}

void ls_hist_free(ls_hist *h) {
  if (!h) return;
  ls_free(h->counts);
  h->counts = NULL;
}

/* Estimated value of the k-th smallest binned element: its bin, and its place among the
 * bin's elements spread evenly over the bin (error at most one bin width). */
static double hist_elem(const ls_hist *h, uint64_t k) {
  double w = (h->hi - h->lo) / h->nbins;
  uint64_t cum = 0;
  int b = 0;
  for (; b < h->nbins - 1 && cum + h->counts[b] <= k; b++) cum += h->counts[b];
  double within = h->counts[b] ? ((double)(k - cum) + 0.5) / (double)h->counts[b] : 0.5;
  return h->lo + ((double)b + (within > 1 ? 1 : within)) * w;
}

int ls_stats_percentiles(ls_dtype dt, const void *data, uint64_t n, const ls_stats *s, const double *q, int nq,
                         double *out) {
  ls_stats tmp;
  if (!s) {
    int rc = ls_stats_compute(dt, data, n, &tmp);
    if (rc) return rc;
    s = &tmp;
  }
  for (int i = 0; i < nq; i++) out[i] = NAN;
  if (!s->finite) return LS_OK;
  for (int i = 0; i < nq; i++)
    if (!(q[i] >= 0 && q[i] <= 100)) return LS_EINVAL;
  ls_hist h;
  int rc = ls_stats_hist(dt, data, n, s, s->min, s->max, 65536, &h);
  if (rc) return rc;
  for (int i = 0; i < nq; i++) {
    /* numpy's default ("linear") interpolates between the sorted elements k and k+1 around
     * rank q/100 * (N-1); each element's value is estimated inside its bin. */
    double rank = q[i] / 100.0 * (double)(s->finite - 1);
    if (rank <= 0 || rank >= (double)(s->finite - 1)) { out[i] = rank <= 0 ? s->min : s->max; continue; }
    uint64_t k = (uint64_t)rank;
    double lo = hist_elem(&h, k), hi = hist_elem(&h, k + 1), v = lo + (rank - (double)k) * (hi - lo);
    out[i] = v < s->min ? s->min : v > s->max ? s->max : v;
  }
  ls_hist_free(&h);
  return LS_OK;
}
