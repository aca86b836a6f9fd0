/* test_engine_q8.c: unit tests of the int8 products for GGUF Q8_0 / Q4_0 weights
 * (core/engine/ops_q8.h), through ls_ops_matmul (the engine's dispatch), against
 * double-precision references written here from the definitions:
 *
 * 1. The quantization's own error bound. The reference is the dequantized product (weights
 *    d * q exactly, activations exact) in double, what the fp32 path computes; the int8
 *    product quantizes each activation block to int8 (step amax / 127), so it may differ by
 *    half a step per activation: |y - ref| <= sum_b (amax_b / 254) * sum_{k in b} |w_k|,
 *    plus fp32 accumulation (1e-5 of sum |x w|).
 * 2. The integer arithmetic itself. A second reference quantizes x here the same way (block
 *    max / 127, round to nearest) and sums d_x d_w q_x q_w in double: the result must agree
 *    within fp32 accumulation (1e-5 of sum |x w|) -- a wrong offset, lane or scale would be
 *    off by far more.
 *
 * Sizes cover the tails: M = 1, 3, 5, 17 (micro-kernel rows 4), N odd and not a multiple of
 * the 64-row panel, K = 32 and 96 (an odd number of blocks: zero padding), 2048. Also: the
 * GGUF interleaved q/k row order, bias, threads 1..3 bit for bit, and a NaN activation,
 * which must reach the output as the fp32 path carries it. On a CPU without AVX512-VNNI (or
 * with LAYERSCOPE_Q8=fp32, CTest's unit.test_engine_q8_fp32) the products take the fp32
 * path, and the same bounds hold with the activations exact. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/errors.h"
#include "core/engine/ops.h"
#include "core/engine/ops_q8.h"
#include "core/engine/pool.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static double urand(void) { /* xorshift64, uniform [0, 1) */
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return (double)(g_rng >> 11) * 0x1.0p-53;
}

static double half_value(uint16_t h) {
  int e = (h >> 10) & 31, mant = h & 1023;
  double x = e ? ldexp(1.0 + mant / 1024.0, e - 15) : ldexp(mant / 1024.0, -14);
  return (h & 0x8000) ? -x : x;
}

/* A [rows, cols] Q8_0 (type LS_OPS_Q8_0) or Q4_0 matrix of random blocks; wref[rows, cols]
 * gets its exact values d * q (d the f16 scale). */
static uint8_t *make_q(int type, int64_t rows, int64_t cols, double *wref) {
  int bb = type == LS_OPS_Q8_0 ? 34 : 18;
  int64_t nb = cols / 32;
  uint8_t *buf = malloc((size_t)(rows * nb * bb));
  for (int64_t r = 0; r < rows; r++)
    for (int64_t b = 0; b < nb; b++) {
      uint8_t *blk = buf + (r * nb + b) * bb;
      uint16_t h = ls_ops_f32_to_f16((float)(0.001 + urand() * 0.02));
      memcpy(blk, &h, 2);
      double d = half_value(h);
      for (int t = 0; t < 32; t++) {
        int q;
        if (type == LS_OPS_Q8_0) {
          q = (int)(urand() * 255) - 127; /* -127..127 */
          blk[2 + t] = (uint8_t)(int8_t)q;
        } else {
          q = (int)(urand() * 16) - 8; /* -8..7 */
          int idx = t < 16 ? t : t - 16;
          if (t < 16) blk[2 + idx] = (uint8_t)(q + 8);
          else blk[2 + idx] |= (uint8_t)((q + 8) << 4);
        }
        wref[r * cols + b * 32 + t] = d * q;
      }
    }
  return buf;
}

/* Row `row` of the stored matrix as the engine reads logical row `row` (GGUF q/k order). */
static int64_t stored(int64_t row, int64_t rows, int heads) {
  if (heads <= 0) return row;
  int64_t hd = rows / heads, half = hd / 2, h = row / hd, r = row % hd;
  return h * hd + 2 * (r % half) + r / half;
}

static void check(ls_pool *p, int type, int64_t M, int64_t K, int64_t N, int bias, int heads) {
  double *wref = malloc((size_t)(N * K) * sizeof *wref);
  uint8_t *w = make_q(type, N, K, wref);
  ls_ops_mat mat = {.type = type, .data = w, .rows = N, .cols = K, .rowmap_heads = heads};
  float *x = malloc((size_t)(M * K) * sizeof *x), *y = malloc((size_t)(M * N) * sizeof *y);
  float *b = malloc((size_t)N * sizeof *b);
  for (int64_t i = 0; i < M * K; i++) x[i] = (float)((urand() * 2 - 1) * (i % 7 == 0 ? 8 : 1));
  for (int64_t i = 0; i < N; i++) b[i] = (float)(urand() - 0.5);
  assert_int_equal(ls_ops_matmul(p, y, x, M, &mat, 1, bias ? b : NULL), LS_OK);
  int q8 = ls_ops_q8_applies(&mat, 1);
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      const double *wr = wref + stored(n, N, heads) * K;
      double exact = bias ? b[n] : 0, quant = exact, mag = bias ? fabs(b[n]) : 0, bound = 0;
      for (int64_t b0 = 0; b0 < K; b0 += 32) {
        double amax = 0, wabs = 0;
        for (int t = 0; t < 32; t++) amax = fmax(amax, fabs(x[m * K + b0 + t]));
        float dxf = (float)amax / 127.0f, idf = dxf > 0 ? 1.0f / dxf : 0.0f; /* as defined, in fp32 */
        double dx = dxf;
        for (int t = 0; t < 32; t++) {
          double xv = x[m * K + b0 + t], wv = wr[b0 + t];
          double qx = nearbyintf(x[m * K + b0 + t] * idf);
          exact += xv * wv;
          quant += dx * qx * wv;
          mag += fabs(xv * wv);
          wabs += fabs(wv);
        }
        bound += amax / 254.0 * wabs * 1.001;
      }
      double got = y[m * N + n];
      double want = q8 ? quant : exact;
      if (fabs(got - want) > 1e-5 * mag + 1e-30 || fabs(got - exact) > bound + 1e-5 * mag)
        fail_msg("%s M=%lld K=%lld N=%lld heads=%d [%lld,%lld]: %.9g vs quantized %.9g / exact %.9g "
                 "(bound %g, scale %g)", ls_ops_mat_type_name(&mat), (long long)M, (long long)K,
                 (long long)N, heads, (long long)m, (long long)n, got, quant, exact, bound, mag);
    }
  free(wref);
  free(w);
  free(x);
  free(y);
  free(b);
}

static void test_shapes(void **st) {
  (void)st;
  static const int64_t Ms[] = {1, 3, 5, 17}, shapes[][2] = {{32, 7}, {96, 65}, {2048, 130}};
  for (int threads = 1; threads <= 2; threads++) {
    ls_pool *p = NULL;
    assert_int_equal(ls_pool_new(&p, threads), LS_OK);
    for (int t = 0; t < 2; t++)
      for (size_t i = 0; i < sizeof Ms / sizeof *Ms; i++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
          check(p, t ? LS_OPS_Q4_0 : LS_OPS_Q8_0, Ms[i], shapes[s][0], shapes[s][1], (int)(i & 1), 0);
    ls_pool_free(p);
  }
}

static void test_rowmap(void **st) { /* GGUF q/k projections: 4 heads of 16 rows */
  (void)st;
  ls_pool *p = NULL;
  assert_int_equal(ls_pool_new(&p, 2), LS_OK);
  check(p, LS_OPS_Q8_0, 5, 128, 64, 0, 4);
  check(p, LS_OPS_Q4_0, 5, 128, 64, 1, 4);
  ls_pool_free(p);
}

/* The result does not depend on the thread count (panels are fixed, sums per output). */
static void test_threads(void **st) {
  (void)st;
  enum { M = 9, K = 256, N = 200 };
  double *wref = malloc((size_t)(N * K) * sizeof *wref);
  uint8_t *w = make_q(LS_OPS_Q8_0, N, K, wref);
  ls_ops_mat mat = {.type = LS_OPS_Q8_0, .data = w, .rows = N, .cols = K};
  float *x = malloc(M * K * sizeof *x), *y1 = malloc(M * N * sizeof *y1), *y3 = malloc(M * N * sizeof *y3);
  for (int i = 0; i < M * K; i++) x[i] = (float)(urand() * 2 - 1);
  ls_pool *p1 = NULL, *p3 = NULL;
  assert_int_equal(ls_pool_new(&p1, 1), LS_OK);
  assert_int_equal(ls_pool_new(&p3, 3), LS_OK);
  assert_int_equal(ls_ops_matmul(p1, y1, x, M, &mat, 1, NULL), LS_OK);
  assert_int_equal(ls_ops_matmul(p3, y3, x, M, &mat, 1, NULL), LS_OK);
  assert_memory_equal(y1, y3, M * N * sizeof *y1);
  ls_pool_free(p1);
  ls_pool_free(p3);
  free(wref), free(w), free(x), free(y1), free(y3);
}

/* A NaN or Inf activation has no int8 value: the product carries it as the fp32 path does
 * (row 1 NaN everywhere, the other rows finite and right). */
static void test_nonfinite(void **st) {
  (void)st;
  enum { M = 3, K = 64, N = 5 };
  double *wref = malloc((size_t)(N * K) * sizeof *wref);
  uint8_t *w = make_q(LS_OPS_Q8_0, N, K, wref);
  ls_ops_mat mat = {.type = LS_OPS_Q8_0, .data = w, .rows = N, .cols = K};
  float x[M * K], y[M * N];
  for (int i = 0; i < M * K; i++) x[i] = (float)(urand() * 2 - 1);
  x[K + 7] = NAN;
  ls_pool *p = NULL;
  assert_int_equal(ls_pool_new(&p, 1), LS_OK);
  assert_int_equal(ls_ops_matmul(p, y, x, M, &mat, 1, NULL), LS_OK);
  ls_pool_free(p);
  for (int n = 0; n < N; n++) {
    assert_true(isnan(y[N + n]));
    assert_true(isfinite(y[n]) && isfinite(y[2 * N + n]));
  }
  free(wref), free(w);
}

/* LAYERSCOPE_Q8=fp32 turns the int8 path off (CTest runs this file both ways). */
static void test_switch(void **st) {
  (void)st;
  const char *env = getenv("LAYERSCOPE_Q8");
  if (env && !strcmp(env, "fp32")) assert_int_equal(ls_ops_q8_supported(), 0);
  ls_ops_mat kn = {.type = LS_OPS_Q8_0, .rows = 64, .cols = 64};
  assert_int_equal(ls_ops_q8_applies(&kn, 0), 0); /* [K, N] layout: the fp32 path */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shapes),    cmocka_unit_test(test_rowmap),
      cmocka_unit_test(test_threads),   cmocka_unit_test(test_nonfinite),
      cmocka_unit_test(test_switch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
