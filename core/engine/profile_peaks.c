/* profile_peaks.c: the two roofs of a profile's roofline, measured in this process on the
 * engine's own worker pool: how fast all its threads can stream bytes from memory, and how
 * fast the engine's matrix-product kernel computes when its operands sit in cache. Both are
 * the best of a few short repetitions, so a profile costs a fraction of a second more and
 * its roofline describes this machine as it is now (its other load included), not a data
 * sheet. The bandwidth buffer (128 MiB) is far larger than any last-level cache; the product
 * ([256 x 1024] x [1024 x 1024], the weight in the pass's compute mode) is what the kernel
 * runs fastest: each weight panel is reused across 256 rows. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/engine_int.h"
#include "core/engine/ops_bf16.h"
#include "core/engine/profile.h"

#define BW_BYTES ((size_t)128 << 20)
#define BW_REPS 4
#define MM_M 256
#define MM_K 1024
#define MM_N 1024
#define MM_REPS 5

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef float v4f __attribute__((vector_size(16)));

typedef struct bw_job {
  const float *buf;       /* [n] */
  size_t n;               /* floats, a multiple of 16 * tasks */
  int tasks;
  float sums[64];         /* [tasks] per-task results, so the reads are not optimised away */
} bw_job;

/* Sums task i's slice with four independent vector accumulators: 64 bytes per step, well
 * under what one core can load per cycle, so the slice streams at the memory's speed. */
static void bw_task(void *ctx, int i, int worker) {
  (void)worker;
  bw_job *j = ctx;
  size_t per = j->n / (size_t)j->tasks, lo = per * (size_t)i;
  const float *x = j->buf + lo;
  v4f a = {0}, b = {0}, c = {0}, e = {0};
  for (size_t k = 0; k + 16 <= per; k += 16) {
    v4f p, q, r, s;
    memcpy(&p, x + k, 16);
    memcpy(&q, x + k + 4, 16);
    memcpy(&r, x + k + 8, 16);
    memcpy(&s, x + k + 12, 16);
    a += p;
    b += q;
    c += r;
    e += s;
  }
  v4f t = a + b + c + e;
  j->sums[i] = t[0] + t[1] + t[2] + t[3];
}

static void fill_task(void *ctx, int i, int worker) {
  (void)worker;
  bw_job *j = ctx;
  size_t per = j->n / (size_t)j->tasks;
  float *x = (float *)j->buf + per * (size_t)i;
  for (size_t k = 0; k < per; k++) x[k] = (float)(k & 1023) * 0.001f;
}

static int measure_bw(ls_pool *pool, double *gbps) {
  bw_job j = {.n = BW_BYTES / sizeof(float)};
  float *buf = ls_malloc(BW_BYTES);
  if (!buf) return LS_ENOMEM;
  j.buf = buf;
  int threads = ls_pool_threads(pool);
  j.tasks = threads * 4 > 64 ? 64 : threads * 4;
  ls_pool_run(pool, j.tasks, fill_task, &j); /* first touch: the page faults, not timed */
  double best = 1e30;
  for (int r = 0; r < BW_REPS; r++) {
    double t0 = now_s();
    ls_pool_run(pool, j.tasks, bw_task, &j);
    double dt = now_s() - t0;
    if (dt < best) best = dt;
  }
  ls_free(buf);
  *gbps = (double)BW_BYTES / best / 1e9;
  return LS_OK;
}

static int measure_mm(ls_pool *pool, int bf16, double *gflops) {
  float *x = ls_malloc((size_t)MM_M * MM_K * sizeof(float));
  float *y = ls_malloc((size_t)MM_M * MM_N * sizeof(float));
  float *w = ls_malloc((size_t)MM_N * MM_K * sizeof(float));
  uint16_t *wb = bf16 ? ls_malloc((size_t)MM_N * MM_K * sizeof(uint16_t)) : NULL;
  int rc = LS_OK;
  if (!x || !y || !w || (bf16 && !wb)) rc = LS_ENOMEM;
  if (!rc) {
    for (size_t i = 0; i < (size_t)MM_M * MM_K; i++) x[i] = (float)((i * 7) % 13) * 0.01f - 0.06f;
    for (size_t i = 0; i < (size_t)MM_N * MM_K; i++) w[i] = (float)((i * 5) % 11) * 0.01f - 0.05f;
    ls_ops_mat mat = {.type = LS_OPS_F32, .data = w, .rows = MM_N, .cols = MM_K};
    if (bf16) {
      for (size_t i = 0; i < (size_t)MM_N * MM_K; i++) wb[i] = ls_ops_f32_to_bf16(w[i]);
      mat.type = LS_OPS_BF16;
      mat.data = wb;
      mat.compute_bf16 = 1;
    }
    double best = 1e30;
    for (int r = 0; r < MM_REPS + 1 && !rc; r++) { /* the first one warms the caches */
      double t0 = now_s();
      rc = ls_ops_matmul(pool, y, x, MM_M, &mat, 1, NULL);
      double dt = now_s() - t0;
      if (r && dt < best) best = dt;
    }
    *gflops = 2.0 * MM_M * MM_K * MM_N / best / 1e9;
  }
  ls_free(x);
  ls_free(y);
  ls_free(w);
  ls_free(wb);
  return rc;
}

int ls_prof_peaks_measure(ls_engine *e, ls_prof_peaks *out, ls_diag *d) {
  memset(out, 0, sizeof *out);
  double t0 = now_s();
  int bf16 = ls_engine_compute_get(e) == LS_ENGINE_COMPUTE_BF16 && ls_ops_bf16_supported();
  if (measure_bw(e->pool, &out->gbps) || measure_mm(e->pool, bf16, &out->gflops))
    return ls_diag_set(d, LS_ENOMEM, "out of memory measuring the machine's peaks");
  out->measure_ms = (now_s() - t0) * 1e3;
  return LS_OK;
}
