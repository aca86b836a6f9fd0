/* test_engine_bf16.c: unit tests of the engine's opt-in bf16 matrix product
 * (core/engine/ops_bf16.h) against a double-precision loop written here from the
 * definition: activations and weights rounded to bf16 (round to nearest even, computed
 * here with frexp/nearbyint, not with the engine's bit trick), products summed exactly.
 * The kernel accumulates in fp32, so results must agree to about 1e-5 of the sum of the
 * absolute products; not rounding x to bf16 would be off by ~1e-3 of it. Sizes cover
 * every tail: M = 1, 3, 17, 25 (micro-kernel rows 8), N not a multiple of 3 or of the panel,
 * K below 32, odd, and past one and two 2048 K chunks; several products in one job
 * (ls_ops_matmul_multi) equal the same products made one at a time, bit for bit. On a CPU
 * without AVX512_BF16 the kernel tests are skipped and only the fp32 fallback is checked.
 * CTest runs the file three times: the path this CPU picks, and each path forced with
 * LAYERSCOPE_MATMUL (kernel: the hand-written vdpbf16ps kernel; dnnl: oneDNN's matmul,
 * ops_dnnl.h), so both are held to the same double-precision reference. */
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
#include "core/engine/ops_bf16.h"
#include "core/engine/ops_dnnl.h"
#include "core/engine/pool.h"

static uint64_t g_rng = 0x2545f4914f6cdd1dull;
static double urand(void) { /* xorshift64, uniform [0, 1) */
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return (double)(g_rng >> 11) * 0x1.0p-53;
}

/* v rounded to 8 significant bits (bf16) with ties to even, for normal finite v. */
static double ref_bf16(double v) {
  if (v == 0) return 0;
  int e;
  double m = frexp(v, &e);                    /* v = m 2^e, 0.5 <= |m| < 1 */
  return ldexp(nearbyint(ldexp(m, 8)), e - 8); /* default rounding mode: ties to even */
}

static double half_value(uint16_t h) {
  int e = (h >> 10) & 31, mant = h & 1023;
  double x = e ? ldexp(1.0 + mant / 1024.0, e - 15) : ldexp(mant / 1024.0, -14);
  return (h & 0x8000) ? -x : x;
}

/* A [rows, cols] matrix in `type` from random values; wref gets the bf16 values the kernel
 * must use (the stored value rounded to bf16). */
static void *make_mat(int type, int64_t rows, int64_t cols, double *wref) {
  size_t es = type == LS_OPS_F32 ? 4 : 2;
  uint8_t *buf = malloc((size_t)(rows * cols) * es);
  for (int64_t i = 0; i < rows * cols; i++) {
    float v = (float)(urand() * 2 - 1);
    if (type == LS_OPS_F32) {
      memcpy(buf + i * 4, &v, 4);
      wref[i] = ref_bf16(v);
    } else if (type == LS_OPS_F16) {
      uint16_t h = ls_ops_f32_to_f16(v);
      memcpy(buf + i * 2, &h, 2);
      wref[i] = ref_bf16(half_value(h));
    } else {
      uint16_t h = ls_ops_f32_to_bf16(v);
      memcpy(buf + i * 2, &h, 2);
      wref[i] = ref_bf16(v); /* same rounding, computed independently */
    }
  }
  return buf;
}

/* via_matmul: call ls_ops_matmul with compute_bf16 set (the engine's dispatch) instead of
 * ls_ops_matmul_bf16 directly. */
static void check(ls_pool *p, int type, int nk, int64_t M, int64_t K, int64_t N, int bias,
                  int via_matmul) {
  int64_t rows = nk ? N : K, cols = nk ? K : N;
  double *wref = malloc((size_t)(rows * cols) * sizeof *wref);
  void *w = make_mat(type, rows, cols, wref);
  ls_ops_mat mat = {.type = type, .data = w, .rows = rows, .cols = cols, .compute_bf16 = 1};
  float *x = malloc((size_t)(M * K) * sizeof *x), *y = malloc((size_t)(M * N) * sizeof *y);
  float *b = malloc((size_t)N * sizeof *b);
  for (int64_t i = 0; i < M * K; i++) x[i] = (float)((urand() * 2 - 1) * 3);
  for (int64_t i = 0; i < N; i++) b[i] = (float)(urand() - 0.5);
  int rc = via_matmul ? ls_ops_matmul(p, y, x, M, &mat, nk, bias ? b : NULL)
                      : ls_ops_matmul_bf16(p, y, x, M, &mat, nk, bias ? b : NULL);
  assert_int_equal(rc, LS_OK);
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double acc = bias ? b[n] : 0, mag = bias ? fabs(b[n]) : 0;
      for (int64_t k = 0; k < K; k++) {
        double wv = nk ? wref[n * K + k] : wref[k * N + n];
        double pr = ref_bf16(x[m * K + k]) * wv; /* exact in double */
        acc += pr;
        mag += fabs(pr);
      }
      double err = fabs(y[m * N + n] - acc);
      if (err > 1e-5 * mag + 1e-30)
        fail_msg("%s nk=%d M=%lld K=%lld N=%lld [%lld,%lld]: %.9g vs %.9g (scale %g)",
                 ls_ops_mat_type_name(&mat), nk, (long long)M, (long long)K, (long long)N,
                 (long long)m, (long long)n, y[m * N + n], acc, mag);
    }
  free(wref);
  free(w);
  free(x);
  free(y);
  free(b);
}

static void test_kernel(void **st) {
  (void)st;
  if (!ls_ops_bf16_supported()) skip();
  static const int64_t Ms[] = {1, 3, 17, 25};
  static const int64_t KN[][2] = {{1, 1}, {31, 5}, {33, 37}, {64, 70}, {1030, 19}, {2100, 9}, {2049, 65}, {4200, 7}};
  for (int threads = 1; threads <= 3; threads += 2) {
    ls_pool *p = NULL;
    assert_int_equal(ls_pool_new(&p, threads), LS_OK);
    for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++)
      for (size_t s = 0; s < sizeof KN / sizeof *KN; s++)
        for (int nk = 0; nk <= 1; nk++)
          check(p, LS_OPS_BF16, nk, Ms[mi], KN[s][0], KN[s][1], (int)((mi + s) & 1), 0);
    ls_pool_free(p);
  }
}

static void test_other_types(void **st) {
  (void)st;
  if (!ls_ops_bf16_supported()) skip();
  ls_pool *p = NULL;
  assert_int_equal(ls_pool_new(&p, 2), LS_OK);
  for (int nk = 0; nk <= 1; nk++) {
    check(p, LS_OPS_F16, nk, 17, 45, 23, 1, 1);
    check(p, LS_OPS_F32, nk, 3, 130, 41, 0, 1);
    check(p, LS_OPS_BF16, nk, 7, 96, 200, 1, 1); /* through ls_ops_matmul's dispatch */
  }
  ls_pool_free(p);
}

/* Products with a panel wider than a worker's share: more tasks than workers, uneven last. */
static void test_large(void **st) {
  (void)st;
  if (!ls_ops_bf16_supported()) skip();
  ls_pool *p = NULL;
  assert_int_equal(ls_pool_new(&p, 2), LS_OK);
  check(p, LS_OPS_BF16, 1, 13, 768, 301, 1, 1);
  check(p, LS_OPS_BF16, 0, 13, 768, 301, 1, 1);
  ls_pool_free(p);
}

/* q/k/v-like products in one job: in-place bf16 of three widths (one with bias), a f16
 * matrix rounded into scratch between them, K past a chunk, M with several row blocks (so
 * each K chunk and each task's next panel are prefetched). Each output must equal the
 * single product bit for bit: the job changes only which worker computes which panel. Then
 * the fallbacks: a q8_0 matrix, a K that differs, more matrices than one job takes. */
static void test_multi(void **st) {
  (void)st;
  if (!ls_ops_bf16_supported()) skip();
  enum { M = 19, K = 2100, NM = 5 };
  static const int64_t Ns[NM] = {300, 36, 36, 70, 5};
  static const int types[NM] = {LS_OPS_BF16, LS_OPS_BF16, LS_OPS_F16, LS_OPS_BF16, LS_OPS_BF16};
  void *w[NM];
  double *wref[NM];
  ls_ops_mat mat[NM];
  const ls_ops_mat *ws[NM];
  float *ys[NM], *want[NM], *bias = malloc(300 * sizeof *bias);
  const float *bs[NM] = {NULL, bias, NULL, NULL, bias};
  for (int i = 0; i < 300; i++) bias[i] = (float)(urand() - 0.5);
  for (int i = 0; i < NM; i++) {
    wref[i] = malloc((size_t)(Ns[i] * K) * sizeof(double));
    w[i] = make_mat(types[i], Ns[i], K, wref[i]);
    mat[i] = (ls_ops_mat){.type = types[i], .data = w[i], .rows = Ns[i], .cols = K, .compute_bf16 = 1};
    ws[i] = &mat[i];
    ys[i] = malloc((size_t)(M * Ns[i]) * sizeof(float));
    want[i] = malloc((size_t)(M * Ns[i]) * sizeof(float));
  }
  float *x = malloc((size_t)(M * K) * sizeof *x);
  for (int64_t i = 0; i < M * K; i++) x[i] = (float)((urand() * 2 - 1) * 3);
  for (int threads = 1; threads <= 3; threads++) {
    ls_pool *p = NULL;
    assert_int_equal(ls_pool_new(&p, threads), LS_OK);
    for (int i = 0; i < NM; i++)
      assert_int_equal(ls_ops_matmul_bf16(p, want[i], x, M, ws[i], 1, bs[i]), LS_OK);
    for (int n = 2; n <= NM; n++) { /* NM > LS_OPS_BF16_MAX_MATS: one at a time */
      for (int i = 0; i < n; i++) memset(ys[i], 0xff, (size_t)(M * Ns[i]) * sizeof(float));
      assert_int_equal(ls_ops_matmul_multi(p, n, ys, x, M, ws, 1, bs), LS_OK);
      for (int i = 0; i < n; i++)
        assert_memory_equal(ys[i], want[i], (size_t)(M * Ns[i]) * sizeof(float));
    }
    ls_pool_free(p);
  }
  /* a q8_0 matrix among them: every product as ls_ops_matmul would make it alone */
  enum { QK = 64 };
  uint8_t *qw = calloc(36, (QK / 32) * 34);
  for (int r = 0; r < 36 * (QK / 32); r++) {
    uint16_t scale = ls_ops_f32_to_f16(0.01f);
    memcpy(qw + r * 34, &scale, 2);
    for (int k = 0; k < 32; k++) qw[r * 34 + 2 + k] = (uint8_t)(int8_t)((k * 7 + r) % 15 - 7);
  }
  ls_ops_mat q = {.type = LS_OPS_Q8_0, .data = qw, .rows = 36, .cols = QK, .compute_bf16 = 1};
  ls_ops_mat b = {.type = LS_OPS_BF16, .data = w[1], .rows = 36, .cols = QK, .compute_bf16 = 1};
  const ls_ops_mat *mixed[2] = {&q, &b};
  float *my[2] = {ys[1], ys[2]};
  const float *mb[2] = {NULL, bias};
  float *want_q = malloc(M * 36 * sizeof(float)), *want_b = malloc(M * 36 * sizeof(float));
  ls_pool *p = NULL;
  assert_int_equal(ls_pool_new(&p, 2), LS_OK);
  assert_int_equal(ls_ops_matmul(p, want_q, x, M, &q, 1, NULL), LS_OK);
  assert_int_equal(ls_ops_matmul(p, want_b, x, M, &b, 1, bias), LS_OK);
  assert_int_equal(ls_ops_matmul_multi(p, 2, my, x, M, mixed, 1, mb), LS_OK);
  assert_memory_equal(my[0], want_q, M * 36 * sizeof(float));
  assert_memory_equal(my[1], want_b, M * 36 * sizeof(float));
  /* K differs (64 against 2100): one at a time, each still right */
  const ls_ops_mat *diffk[2] = {&b, ws[0]};
  float *dy[2] = {ys[1], ys[0]};
  const float *db[2] = {bias, NULL};
  assert_int_equal(ls_ops_matmul_bf16_multi(p, 2, dy, x, M, diffk, 1, db), LS_OK);
  assert_memory_equal(dy[0], want_b, M * 36 * sizeof(float));
  assert_memory_equal(dy[1], want[0], (size_t)(M * 300) * sizeof(float));
  ls_pool_free(p);
  for (int i = 0; i < NM; i++) {
    free(w[i]);
    free(wref[i]);
    free(ys[i]);
    free(want[i]);
  }
  free(qw);
  free(want_q);
  free(want_b);
  free(bias);
  free(x);
}

/* Attention with bf16 products: probabilities against a double softmax of bf16(q).bf16(k)
 * (scaled, masked), and the output against bf16(probs) @ bf16(v) in double with the
 * engine's own probabilities (so a probability on a bf16 rounding boundary cannot flip the
 * comparison). GQA (4 heads over 2), causal with and without a sliding window, a key mask,
 * S below and past the micro-kernel's 12 rows and 32 columns, odd head_dim. */
static void attn_case(ls_pool *p, int64_t S, int64_t D, int causal, int64_t window, int masked) {
  const int64_t H = 4, KV = 2, qs = H * D + 3, ks = KV * D + 1;
  float *q = malloc((size_t)(S * qs) * sizeof *q), *k = malloc((size_t)(S * ks) * sizeof *k);
  float *v = malloc((size_t)(S * ks) * sizeof *v), *probs = malloc((size_t)(H * S * S) * sizeof *probs);
  float *out = malloc((size_t)(S * H * D) * sizeof *out);
  int *km = malloc((size_t)S * sizeof *km);
  double *sc = malloc((size_t)S * sizeof *sc);
  for (int64_t i = 0; i < S * qs; i++) q[i] = (float)((urand() * 2 - 1) * 2);
  for (int64_t i = 0; i < S * ks; i++) k[i] = (float)((urand() * 2 - 1) * 2);
  for (int64_t i = 0; i < S * ks; i++) v[i] = (float)(urand() * 2 - 1);
  for (int64_t i = 0; i < S; i++) km[i] = !masked || i % 5 != 3 || i == 0;
  ls_ops_attn a = {.S = S, .n_heads = H, .n_kv = KV, .head_dim = D, .q_stride = qs,
                   .k_stride = ks, .v_stride = ks, .scale = (float)(1.0 / sqrt((double)D)),
                   .causal = causal, .window = window, .key_mask = masked ? km : NULL};
  assert_int_equal(ls_ops_attention_bf16(p, &a, q, k, v, probs, out), LS_OK);
  for (int64_t h = 0; h < H; h++) {
    int64_t g = h / (H / KV);
    for (int64_t i = 0; i < S; i++) {
      double mx = -INFINITY, sum = 0;
      for (int64_t t = 0; t < S; t++) {
        int vis = (!causal || t <= i) && (window <= 0 || i - t < window) && km[t];
        double d = 0;
        for (int64_t e = 0; e < D; e++)
          d += ref_bf16(q[i * qs + h * D + e]) * ref_bf16(k[t * ks + g * D + e]);
        sc[t] = vis ? (double)(float)(d * 1.0) * a.scale : -INFINITY;
        if (sc[t] > mx) mx = sc[t];
      }
      for (int64_t t = 0; t < S; t++) sum += sc[t] == -INFINITY ? 0 : exp(sc[t] - mx);
      const float *pr = probs + (h * S + i) * S;
      for (int64_t t = 0; t < S; t++) {
        double want = sc[t] == -INFINITY ? 0 : exp(sc[t] - mx) / sum;
        if (fabs(pr[t] - want) > 2e-5 * (want > 1e-3 ? want * 100 : 0.1))
          fail_msg("attention S=%lld D=%lld h=%lld [%lld,%lld]: prob %.9g vs %.9g", (long long)S,
                   (long long)D, (long long)h, (long long)i, (long long)t, pr[t], want);
      }
      for (int64_t e = 0; e < D; e++) {
        double want = 0, mag = 0;
        for (int64_t t = 0; t < S; t++) {
          double pv = ref_bf16(pr[t]) * ref_bf16(v[t * ks + g * D + e]);
          want += pv;
          mag += fabs(pv);
        }
        double got = out[i * H * D + h * D + e];
        if (fabs(got - want) > 1e-5 * (mag > 1e-3 ? mag : 1e-3))
          fail_msg("attention S=%lld D=%lld out[%lld, %lld, %lld] %.9g vs %.9g", (long long)S,
                   (long long)D, (long long)i, (long long)h, (long long)e, got, want);
      }
    }
  }
  free(q);
  free(k);
  free(v);
  free(probs);
  free(out);
  free(km);
  free(sc);
}

static void test_attention(void **st) {
  (void)st;
  if (!ls_ops_bf16_supported()) skip();
  for (int threads = 1; threads <= 3; threads += 2) {
    ls_pool *p = NULL;
    assert_int_equal(ls_pool_new(&p, threads), LS_OK);
    attn_case(p, 1, 64, 1, 0, 0);
    attn_case(p, 13, 64, 1, 0, 0);
    attn_case(p, 45, 7, 1, 0, 0);
    attn_case(p, 40, 16, 1, 9, 0);
    attn_case(p, 37, 10, 0, 0, 1);
    ls_pool_free(p);
  }
  attn_case(NULL, 33, 64, 1, 0, 0); /* no pool: inline, own buffer */
}

/* Quantized weights are not handled by the bf16 kernel: the product must equal the fp32
 * path's exactly (same code), whether or not the CPU has AVX512_BF16. */
static void test_fallback(void **st) {
  (void)st;
  enum { M = 5, K = 64, N = 9 };
  uint8_t w[N * 2 * 34];
  memset(w, 0, sizeof w);
  for (int r = 0; r < N * 2; r++) {
    uint8_t *blk = w + r * 34;
    blk[0] = 0x00;
    blk[1] = 0x20; /* f16 scale 2^-7 */
    for (int t = 0; t < 32; t++) blk[2 + t] = (uint8_t)(int8_t)((int)(urand() * 255) - 127);
  }
  ls_ops_mat q = {.type = LS_OPS_Q8_0, .data = w, .rows = N, .cols = K, .compute_bf16 = 1};
  ls_ops_mat q32 = q;
  q32.compute_bf16 = 0;
  assert_false(ls_ops_bf16_applies(&q));
  float x[M * K], y1[M * N], y2[M * N];
  for (int i = 0; i < M * K; i++) x[i] = (float)(urand() - 0.5);
  ls_pool *p = NULL;
  assert_int_equal(ls_pool_new(&p, 2), LS_OK);
  assert_int_equal(ls_ops_matmul_bf16(p, y1, x, M, &q, 1, NULL), LS_OK);
  assert_int_equal(ls_ops_matmul(p, y2, x, M, &q32, 1, NULL), LS_OK);
  assert_memory_equal(y1, y2, sizeof y1);
  ls_pool_free(p);
}

/* Rounding of the activations: ties to even and NaN, through a 1 x 1 identity product. */
/* The path the products took is the one LAYERSCOPE_MATMUL forces (CTest runs this file once
 * per path: unit.test_engine_bf16 with the CPU's choice, unit.test_engine_bf16_kernel and
 * unit.test_engine_bf16_onednn forced), so the tests above ran through it. */
static void test_path(void **st) {
  (void)st;
  const char *env = getenv("LAYERSCOPE_MATMUL");
  if (!ls_ops_bf16_supported()) {
    assert_int_equal(ls_ops_bf16_path(), LS_BF16_PATH_NONE);
    assert_string_equal(ls_ops_bf16_path_name(), "fp32");
    return;
  }
  assert_true(ls_ops_dnnl_impl()[0] != '\0'); /* oneDNN makes a bf16 matmul on this CPU */
  if (env && !strcmp(env, "kernel")) {
    assert_int_equal(ls_ops_bf16_path(), LS_BF16_PATH_KERNEL);
    assert_string_equal(ls_ops_bf16_path_name(), "kernel avx512_bf16");
  } else if (env && !strcmp(env, "dnnl")) {
    assert_int_equal(ls_ops_bf16_path(), LS_BF16_PATH_DNNL);
    assert_non_null(strstr(ls_ops_bf16_path_name(), "onednn"));
  } else {
    assert_int_not_equal(ls_ops_bf16_path(), LS_BF16_PATH_NONE);
  }
}

static void test_rounding(void **st) {
  (void)st;
  if (!ls_ops_bf16_supported()) skip();
  uint16_t one = 0x3f80; /* bf16 1.0 */
  ls_ops_mat w = {.type = LS_OPS_BF16, .data = &one, .rows = 1, .cols = 1, .compute_bf16 = 1};
  /* 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even mantissa is 1.0; 1 + 3 * 2^-8 -> up */
  const float in[] = {1.00390625f, 1.01171875f, -3.5f, 1e-3f};
  const double want[] = {1.0, 1.015625, -3.5, ref_bf16(1e-3)};
  float x[20], y[20];
  for (int i = 0; i < 20; i++) x[i] = in[i % 4]; /* 20 rows: the vector path and the tail */
  assert_int_equal(ls_ops_matmul_bf16(NULL, y, x, 20, &w, 1, NULL), LS_OK);
  for (int i = 0; i < 20; i++) assert_true(y[i] == (float)want[i % 4]);
  x[0] = NAN;
  assert_int_equal(ls_ops_matmul_bf16(NULL, y, x, 20, &w, 1, NULL), LS_OK);
  assert_true(isnan(y[0]));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernel),   cmocka_unit_test(test_other_types),
      cmocka_unit_test(test_large),    cmocka_unit_test(test_fallback),
      cmocka_unit_test(test_rounding), cmocka_unit_test(test_multi),
      cmocka_unit_test(test_attention), cmocka_unit_test(test_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
