/* test_engine.c: unit tests of core/engine: the kernels of ops.h against naive double-
 * precision loops written here from the definitions (weights built from known values, so the
 * decoders are checked independently), the worker pool, and the forward-pass control of
 * forward.h (hooks see every module of the tree in order, pause / step / resume from another
 * thread, abort) on a tiny random-weight model. Numerics against PyTorch are in
 * tests/numeric/test_engine_*.py. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/errors.h"
#include "core/engine/forward.h"
#include "core/engine/ops.h"
#include "core/engine/ops_simd.h" /* ls__exp_vec */
#include "core/engine/pool.h"

static uint64_t g_rng = 88172645463325252ull;
static double urand(void) { /* xorshift64, uniform [0, 1) */
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return (double)(g_rng >> 11) * 0x1.0p-53;
}

/* ---- encodings ----------------------------------------------------------------------- */

static void test_f16_roundtrip(void **st) {
  (void)st;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = ls_ops_f16_to_f32((uint16_t)h);
    if (f != f) continue;
    assert_int_equal(ls_ops_f32_to_f16(f), h);
  }
  assert_true(ls_ops_f16_to_f32(0x3c00) == 1.0f);
  assert_true(ls_ops_f16_to_f32(0x0001) == 5.9604644775390625e-8f);
  assert_true(ls_ops_f16_to_f32(0xc000) == -2.0f);
  assert_true(isinf(ls_ops_f16_to_f32(0x7c00)));
  assert_true(ls_ops_bf16_to_f32(ls_ops_f32_to_bf16(1.00390625f)) == 1.0f); /* ties to even */
  assert_true(ls_ops_bf16_to_f32(ls_ops_f32_to_bf16(-3.5f)) == -3.5f);
}

/* Builds a [rows, cols] matrix in `type` from random values and returns the exact values
 * the encoding holds in ref (double), computed here from the block definitions. */
static void *make_mat(int type, int64_t rows, int64_t cols, double *ref) {
  ls_ops_mat probe = {.type = type, .rows = rows, .cols = cols};
  size_t rb = ls_ops_mat_row_bytes(&probe);
  uint8_t *buf = calloc((size_t)rows, rb);
  for (int64_t r = 0; r < rows; r++) {
    uint8_t *row = buf + (size_t)r * rb;
    if (type == LS_OPS_F32 || type == LS_OPS_F16 || type == LS_OPS_BF16) {
      for (int64_t c = 0; c < cols; c++) {
        float v = (float)(urand() * 2 - 1);
        if (type == LS_OPS_F32) {
          memcpy(row + c * 4, &v, 4);
          ref[r * cols + c] = v;
        } else if (type == LS_OPS_F16) {
          uint16_t h = ls_ops_f32_to_f16(v);
          memcpy(row + c * 2, &h, 2);
          /* exact half value: sign, exponent, mantissa */
          int e = (h >> 10) & 31, mant = h & 1023;
          double x = e ? ldexp(1.0 + mant / 1024.0, e - 15) : ldexp(mant / 1024.0, -14);
          ref[r * cols + c] = (h & 0x8000) ? -x : x;
        } else {
          uint16_t h = ls_ops_f32_to_bf16(v);
          memcpy(row + c * 2, &h, 2);
          uint32_t u = (uint32_t)h << 16;
          float x;
          memcpy(&x, &u, 4);
          ref[r * cols + c] = x;
        }
      }
    } else {
      int bb = type == LS_OPS_Q8_0 ? 34 : 18;
      for (int64_t b = 0; b < cols / 32; b++) {
        uint8_t *blk = row + b * bb;
        uint16_t dh = (uint16_t)(0x2000 + (int)(urand() * 2000)); /* a normal f16 ~ 2^-7 */
        blk[0] = dh & 0xff;
        blk[1] = dh >> 8;
        int e = (dh >> 10) & 31, mant = dh & 1023;
        double d = ldexp(1.0 + mant / 1024.0, e - 15);
        for (int t = 0; t < 32; t++) {
          if (type == LS_OPS_Q8_0) {
            int q = (int)(urand() * 255) - 127;
            blk[2 + t] = (uint8_t)(int8_t)q;
            ref[r * cols + b * 32 + t] = d * q;
          } else {
            int q = (int)(urand() * 16);
            if (t < 16) blk[2 + t] = (uint8_t)((blk[2 + t] & 0xf0) | q);
            else blk[2 + t - 16] = (uint8_t)((blk[2 + t - 16] & 0x0f) | (q << 4));
            ref[r * cols + b * 32 + t] = d * (q - 8);
          }
        }
      }
    }
  }
  return buf;
}

/* ls_ops_matmul with mat (whose exact values are wref) against a double loop. */
static void check_matmul_mat(ls_pool *p, const ls_ops_mat *w, const double *wref, int nk, int64_t M,
                             int64_t K, int64_t N, int bias) {
  ls_ops_mat mat = *w;
  float *x = malloc((size_t)(M * K) * sizeof *x), *y = malloc((size_t)(M * N) * sizeof *y);
  float *b = malloc((size_t)N * sizeof *b);
  for (int64_t i = 0; i < M * K; i++) x[i] = (float)(urand() * 2 - 1);
  for (int64_t i = 0; i < N; i++) b[i] = (float)(urand() - 0.5);
  assert_int_equal(ls_ops_matmul(p, y, x, M, &mat, nk, bias ? b : NULL), LS_OK);
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double acc = bias ? b[n] : 0, mag = 0;
      for (int64_t k = 0; k < K; k++) {
        double wv = nk ? wref[n * K + k] : wref[k * N + n];
        acc += x[m * K + k] * wv;
        mag += fabs(x[m * K + k] * wv);
      }
      double err = fabs(y[m * N + n] - acc);
      if (err > 1e-5 * (mag + 1)) fail_msg("%s nk=%d M=%lld K=%lld N=%lld [%lld,%lld]: %g vs %g",
                                           ls_ops_mat_type_name(&mat), nk, (long long)M, (long long)K,
                                           (long long)N, (long long)m, (long long)n, y[m * N + n], acc);
    }
  free(x);
  free(y);
  free(b);
}

static void check_matmul(ls_pool *p, int type, int nk, int64_t M, int64_t K, int64_t N, int bias) {
  int64_t rows = nk ? N : K, cols = nk ? K : N;
  double *wref = calloc((size_t)(rows * cols), sizeof *wref);
  void *w = make_mat(type, rows, cols, wref);
  ls_ops_mat mat = {.type = type, .data = w, .rows = rows, .cols = cols};
  check_matmul_mat(p, &mat, wref, nk, M, K, N, bias);
  free(wref);
  free(w);
}

/* MXFP4 (OCP Microscaling spec): e2m1 = sign bit, 2 exponent bits, 1 mantissa bit, bias 1,
 * exponent 0 subnormal (m * 0.5); a block of 32 of them (element 2i in the low nibble of
 * byte i) shares the e8m0 scale 2^(s - 127) kept in a separate array. Random codes and
 * scales 2^-20 .. 2^5, decoded here from the bit fields, against the row decoder and both
 * product layouts. */
static void check_matmul_mxfp4(ls_pool *p, int nk, int64_t M, int64_t K, int64_t N) {
  int64_t rows = nk ? N : K, cols = nk ? K : N, g = cols / 32;
  uint8_t *blk = calloc((size_t)(rows * cols / 2), 1), *sc = calloc((size_t)(rows * g), 1);
  double *wref = calloc((size_t)(rows * cols), sizeof *wref);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t b = 0; b < g; b++) {
      int s = 107 + (int)(urand() * 26);
      sc[r * g + b] = (uint8_t)s;
      for (int t = 0; t < 32; t++) {
        int q = (int)(urand() * 16), e = (q >> 1) & 3, m = q & 1;
        double v = e == 0 ? m * 0.5 : ldexp(1.0 + m * 0.5, e - 1);
        uint8_t *byte = blk + r * cols / 2 + b * 16 + t / 2;
        *byte = (uint8_t)(t % 2 ? (*byte & 0x0f) | (q << 4) : (*byte & 0xf0) | q);
        wref[r * cols + b * 32 + t] = ldexp(q & 8 ? -v : v, s - 127);
      }
    }
  ls_ops_mat mat = {.type = LS_OPS_MXFP4, .data = blk, .scales = sc, .rows = rows, .cols = cols};
  assert_int_equal(ls_ops_mat_row_bytes(&mat), (size_t)(cols / 2));
  float *row = malloc((size_t)cols * sizeof *row);
  for (int64_t r = 0; r < rows; r++) {
    ls_ops_mat_row(&mat, r, 0, cols, row);
    for (int64_t c = 0; c < cols; c++) assert_true(row[c] == (float)wref[r * cols + c]);
  }
  free(row);
  check_matmul_mat(p, &mat, wref, nk, M, K, N, 1);
  free(wref);
  free(blk);
  free(sc);
}

static void test_matmul(void **st) {
  (void)st;
  for (int threads = 1; threads <= 3; threads += 2) {
    ls_pool *p = NULL;
    assert_int_equal(ls_pool_new(&p, threads), LS_OK);
    for (int type = LS_OPS_F32; type <= LS_OPS_Q4_0; type++) {
      check_matmul(p, type, 1, 5, 64, 96, 1);
      check_matmul(p, type, 0, 3, 64, 96, 0);
      check_matmul(p, type, 1, 1, 96, 32, 0);
      check_matmul(p, type, 1, 7, 4096, 160, 1); /* panels narrower than N */
      check_matmul(p, type, 0, 2, 2048, 544, 1);
    }
    check_matmul_mxfp4(p, 1, 5, 96, 64);
    check_matmul_mxfp4(p, 1, 7, 4096, 160);
    check_matmul_mxfp4(p, 0, 3, 64, 96);
    check_matmul(p, LS_OPS_BF16, 1, 4, 40, 37, 1); /* odd sizes for plain types */
    check_matmul(p, LS_OPS_F32, 0, 4, 40, 37, 1);
    ls_pool_free(p);
  }
}

/* ---- element-wise, norms, softmax ---------------------------------------------------- */

static void test_activations(void **st) {
  (void)st;
  enum { N = 4001 };
  float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  for (int i = 0; i < N; i++) x[i] = (float)((i - N / 2) * 0.01); /* -20 .. 20 */
  x[0] = -100.0f;
  x[1] = 100.0f;
  for (int act = 0; act < LS_OPS_ACT_COUNT; act++) {
    ls_ops_act_apply(NULL, act, y, x, N);
    for (int i = 0; i < N; i++) {
      double v = x[i], r;
      if (act == LS_OPS_ACT_GELU_TANH)
        r = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      else if (act == LS_OPS_ACT_GELU_ERF) r = 0.5 * v * (1 + erf(v / sqrt(2.0)));
      else if (act == LS_OPS_ACT_SILU) r = v / (1 + exp(-v));
      else r = v > 0 ? v : 0;
      if (fabs(y[i] - r) > 2e-6 * fabs(r) + 1e-7) fail_msg("act %d at %g: %g vs %g", act, v, y[i], r);
    }
  }
  assert_int_equal(ls_ops_act_parse("gelu_new"), LS_OPS_ACT_GELU_TANH);
  assert_int_equal(ls_ops_act_parse("gelu"), LS_OPS_ACT_GELU_ERF);
  assert_int_equal(ls_ops_act_parse("silu"), LS_OPS_ACT_SILU);
  assert_int_equal(ls_ops_act_parse("mish"), -1);
  free(x);
  free(y);
}

/* exp over the whole float range, every lane position of the vector loop and its scalar
 * tail: about 1 ulp from libm, 0 below -87.3, +inf above 88.7, NaN kept. */
/* exp against libm at every vector width the CPU has (AVX-512F, AVX2/FMA, scalar), and the
 * AVX-512 and AVX2 loops of exp, SiLU and tanh-GELU equal to the bit (same operations lane
 * by lane), so the width a CPU picks never changes a result. */
static void test_exp(void **st) {
  (void)st;
  enum { N = 20011 };
  float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  float *w[2] = {malloc(N * sizeof(float)), malloc(N * sizeof(float))};
  for (int i = 0; i < N; i++) x[i] = (float)(-90.0 + 180.0 * i / (N - 1));
  x[3] = NAN; x[4] = INFINITY; x[5] = -INFINITY; x[6] = 88.7f; x[7] = -87.3f; x[8] = 0.0f;
  x[N - 1] = NAN; /* in the scalar tail (N is not a multiple of 8 or 16) */
  for (int level = 2; level >= 0; level--) {
    int old = ls__simd_limit(level);
    ls__exp_vec(y, x, N);
    ls__simd_limit(old);
    for (int i = 0; i < N; i++) {
      double v = x[i];
      if (isnan(v)) { assert_true(isnan(y[i])); continue; }
      if (v < -87.3f) { assert_true(y[i] == 0.0f); continue; }
      if (v > 88.7f) { assert_true(isinf(y[i]) && y[i] > 0); continue; }
      double r = exp(v);
      if (fabs(y[i] - r) > 3e-7 * r) fail_msg("level %d: exp(%.9g) = %.9g, libm %.9g", level, v, y[i], r);
    }
  }
  for (int i = 0; i < N; i++) x[i] = (float)(-20.0 + 40.0 * i / (N - 1));
  x[3] = NAN; x[4] = INFINITY; x[5] = -INFINITY;
  static const int acts[] = {LS_OPS_ACT_SILU, LS_OPS_ACT_GELU_TANH};
  for (int a = 0; a < 2; a++) {
    for (int level = 2; level >= 1; level--) {
      int old = ls__simd_limit(level);
      ls__act_vec(acts[a], w[2 - level], x, N);
      ls__simd_limit(old);
    }
    assert_memory_equal(w[0], w[1], N * sizeof(float));
  }
  /* the fused GLU loop (act(g) * u in one pass) and the residual sum, at every width: the
   * bits of the activation loop then a multiply, and of a + b */
  float *u = malloc(N * sizeof *u);
  for (int i = 0; i < N; i++) u[i] = (float)(urand() * 4 - 2);
  static const int all[] = {LS_OPS_ACT_SILU, LS_OPS_ACT_GELU_TANH, LS_OPS_ACT_GELU_ERF, LS_OPS_ACT_RELU};
  for (int level = 2; level >= 0; level--) {
    int old = ls__simd_limit(level);
    for (int a = 0; a < 4; a++) {
      ls__act_vec(all[a], w[0], x, N);
      for (int i = 0; i < N; i++) w[0][i] *= u[i];
      memcpy(w[1], x, N * sizeof(float));
      ls__glu_vec(all[a], w[1], u, N);
      assert_memory_equal(w[0], w[1], N * sizeof(float));
    }
    ls_pool *p = NULL;
    assert_int_equal(ls_pool_new(&p, 2), LS_OK);
    ls_ops_add2(p, w[1], x, u, N);
    for (int i = 0; i < N; i++) {
      float want = x[i] + u[i];
      assert_memory_equal(&w[1][i], &want, sizeof want);
    }
    memcpy(w[0], x, N * sizeof(float));
    ls_ops_add2(NULL, w[0], w[0], u, N); /* in place */
    assert_memory_equal(w[0], w[1], N * sizeof(float));
    ls_pool_free(p);
    ls__simd_limit(old);
  }
  free(u);
  free(x);
  free(y);
  free(w[0]);
  free(w[1]);
}

static void test_norms_softmax(void **st) {
  (void)st;
  enum { R = 3, N = 257 };
  float x[R * N], y[R * N], w[N], b[N];
  for (int i = 0; i < R * N; i++) x[i] = (float)(urand() * 4 - 1);
  for (int i = 0; i < N; i++) w[i] = (float)urand(), b[i] = (float)(urand() - 0.5);
  ls_ops_layernorm(NULL, y, x, R, N, w, b, 1e-5f);
  for (int r = 0; r < R; r++) {
    double mu = 0, var = 0;
    for (int i = 0; i < N; i++) mu += x[r * N + i];
    mu /= N;
    for (int i = 0; i < N; i++) var += (x[r * N + i] - mu) * (x[r * N + i] - mu);
    var /= N;
    for (int i = 0; i < N; i++)
      assert_true(fabs(y[r * N + i] - ((x[r * N + i] - mu) / sqrt(var + 1e-5) * w[i] + b[i])) < 1e-5);
  }
  for (int plus1 = 0; plus1 < 2; plus1++) {
    ls_ops_rmsnorm(NULL, y, x, R, N, w, (float)plus1, 1e-6f);
    for (int r = 0; r < R; r++) {
      double ms = 0;
      for (int i = 0; i < N; i++) ms += (double)x[r * N + i] * x[r * N + i];
      ms /= N;
      for (int i = 0; i < N; i++)
        assert_true(fabs(y[r * N + i] - x[r * N + i] / sqrt(ms + 1e-6) * (w[i] + plus1)) < 1e-5);
    }
  }
  float s[5] = {1, 2, -INFINITY, 3, 100};
  ls_ops_softmax(s, 1, 5);
  double z = exp(1 - 100.0) + exp(2 - 100.0) + exp(3 - 100.0) + 1;
  assert_true(s[2] == 0.0f);
  assert_true(fabs(s[4] - 1 / z) < 1e-7 && fabs(s[0] - exp(-99.0) / z) < 1e-30);
}

/* ---- RoPE and attention -------------------------------------------------------------- */

static void test_rope(void **st) {
  (void)st;
  enum { S = 9, D = 8, HALF = D / 2 };
  float c[S * HALF], s[S * HALF];
  ls_ops_rope r = {.kind = LS_OPS_ROPE_DEFAULT, .rot_dim = D, .theta = 10000, .factor = 1};
  ls_ops_rope_tables(&r, S, c, s);
  for (int p = 0; p < S; p++)
    for (int i = 0; i < HALF; i++)
      assert_true(fabs(c[p * HALF + i] - cos(p * pow(10000, -2.0 * i / D))) < 2e-6);
  r.kind = LS_OPS_ROPE_LINEAR;
  r.factor = 4;
  ls_ops_rope_tables(&r, S, c, s);
  assert_true(fabs(s[8 * HALF + 0] - sin(8 / 4.0)) < 2e-6);
  /* YaRN (transformers _compute_yarn_parameters, written out in double): correction range
   * from beta_fast / beta_slow over the original context, a ramp between interpolated and
   * extrapolated frequencies, cos / sin times the attention factor */
  r.kind = LS_OPS_ROPE_YARN;
  r.factor = 16;
  r.original_max_pos = 64;
  r.beta_fast = 32;
  r.beta_slow = 1;
  r.attn_factor = 0.1 * log(16.0) + 1.0;
  for (int trunc = 0; trunc < 2; trunc++) {
    r.truncate = trunc;
    ls_ops_rope_tables(&r, S, c, s);
    double lo = D * log(64 / (32 * 2 * M_PI)) / (2 * log(10000.0));
    double hi = D * log(64 / (1 * 2 * M_PI)) / (2 * log(10000.0));
    if (trunc) lo = floor(lo), hi = ceil(hi);
    lo = lo < 0 ? 0 : lo;
    hi = hi > D - 1 ? D - 1 : hi;
    for (int i = 0; i < HALF; i++) {
      double pf = pow(10000, 2.0 * i / D), ramp = (i - lo) / (hi - lo);
      ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
      double inv = 1 / (16 * pf) * ramp + 1 / pf * (1 - ramp);
      for (int q = 0; q < S; q++) {
        assert_true(fabs(c[q * HALF + i] - cos(q * inv) * r.attn_factor) < 4e-6);
        assert_true(fabs(s[q * HALF + i] - sin(q * inv) * r.attn_factor) < 4e-6);
      }
    }
  }
  r.kind = LS_OPS_ROPE_LINEAR;
  r.factor = 4;
  ls_ops_rope_tables(&r, S, c, s);
  /* rotate-half on one head: (x1, x2) -> (x1 c - x2 s, x2 c + x1 s) */
  float x[D] = {1, 2, 3, 4, 5, 6, 7, 8};
  ls_ops_rope_apply(x, 1, 1, D, D, D, c + 8 * HALF, s + 8 * HALF);
  double cc = cos(2.0), ss = sin(2.0);
  assert_true(fabs(x[0] - (1 * cc - 5 * ss)) < 1e-5 && fabs(x[4] - (5 * cc + 1 * ss)) < 1e-5);
}

static void test_attention(void **st) {
  (void)st;
  enum { S = 6, NH = 4, NKV = 2, D = 8 };
  float q[S * NH * D], k[S * NKV * D], v[S * NKV * D], probs[NH * S * S], out[S * NH * D];
  for (int i = 0; i < S * NH * D; i++) q[i] = (float)(urand() * 2 - 1);
  for (int i = 0; i < S * NKV * D; i++) k[i] = (float)(urand() * 2 - 1), v[i] = (float)urand();
  int mask[S] = {1, 1, 0, 1, 1, 1};
  const float sinks[NH] = {0.5f, -1.0f, 2.0f, 0.0f}; /* mode 4 (gpt-oss) */
  const double cap = 0.7;                          /* mode 3 (gemma2): c tanh(s / c) */
  ls_pool *p = NULL;
  assert_int_equal(ls_pool_new(&p, 2), LS_OK);
  for (int mode = 0; mode < 5; mode++) {
    ls_ops_attn a = {.S = S, .n_heads = NH, .n_kv = NKV, .head_dim = D, .q_stride = NH * D,
                     .k_stride = NKV * D, .v_stride = NKV * D, .scale = 0.35f,
                     .causal = mode != 2, .window = mode == 1 || mode == 4 ? 3 : 0,
                     .key_mask = mode == 2 ? mask : NULL, .softcap = mode == 3 ? (float)cap : 0,
                     .sinks = mode == 4 ? sinks : NULL};
    ls_ops_attention(p, &a, q, k, v, probs, out);
    for (int h = 0; h < NH; h++)
      for (int i = 0; i < S; i++) {
        int g = h / (NH / NKV);
        double sc[S], mx = -1e300, sum = 0;
        for (int j = 0; j < S; j++) {
          int vis = (mode == 2) ? mask[j] : (j <= i && (mode == 0 || mode == 3 || i - j < 3));
          double dot = 0;
          for (int t = 0; t < D; t++) dot += (double)q[i * NH * D + h * D + t] * k[j * NKV * D + g * D + t];
          sc[j] = vis ? dot * 0.35 : -INFINITY;
          if (vis && mode == 3) sc[j] = cap * tanh(sc[j] / cap);
          if (sc[j] > mx) mx = sc[j];
        }
        if (mode == 4 && sinks[h] > mx) mx = sinks[h];
        for (int j = 0; j < S; j++) sum += sc[j] == -INFINITY ? 0 : exp(sc[j] - mx);
        if (mode == 4) sum += exp(sinks[h] - mx); /* the sink's share, dropped */
        for (int t = 0; t < D; t++) {
          double o = 0;
          for (int j = 0; j < S; j++) {
            double pj = sc[j] == -INFINITY ? 0 : exp(sc[j] - mx) / sum;
            if (t == 0) assert_true(fabs(probs[(h * S + i) * S + j] - pj) < 1e-6);
            o += pj * v[j * NKV * D + g * D + t];
          }
          assert_true(fabs(out[i * NH * D + h * D + t] - o) < 1e-5);
        }
      }
  }
  ls_pool_free(p);
}

static void test_topk(void **st) {
  (void)st;
  float x[8] = {0.5f, 3, NAN, 3, -1, 7, 0, 2};
  int64_t idx[4];
  float val[4];
  ls_ops_topk(x, 8, 4, idx, val);
  assert_int_equal(idx[0], 5);
  assert_int_equal(idx[1], 1); /* tie: lower index first */
  assert_int_equal(idx[2], 3);
  assert_int_equal(idx[3], 7);
}

/* ---- pool ---------------------------------------------------------------------------- */

typedef struct sum_ctx { long long parts[1000]; } sum_ctx;
static void sum_task(void *ctx, int i, int w) {
  (void)w;
  ((sum_ctx *)ctx)->parts[i] = (long long)i * i;
}

static void test_pool(void **st) {
  (void)st;
  ls_pool *p = NULL;
  assert_int_equal(ls_pool_new(&p, 4), LS_OK);
  for (int rep = 0; rep < 50; rep++) {
    sum_ctx c;
    memset(&c, 0, sizeof c);
    ls_pool_run(p, 1000, sum_task, &c);
    long long s = 0;
    for (int i = 0; i < 1000; i++) s += c.parts[i];
    assert_true(s == 332833500LL);
  }
  assert_non_null(ls_pool_scratch(p, 3, 1000));
  ls_pool_free(p);
}

/* The pool's job spans (ls_pool_trace_set): each task waits until every worker has taken
 * one, so worker 0 cannot run the whole job alone and each worker >= 1 must record exactly
 * one span per job with its task count; spans lie inside the job and nothing is recorded
 * once the trace is cleared. */
typedef struct meet_ctx {
  int threads;
  atomic_int arrived;
} meet_ctx;

static void meet_task(void *ctx, int i, int worker) {
  (void)i;
  (void)worker;
  meet_ctx *c = ctx;
  atomic_fetch_add(&c->arrived, 1);
  while (atomic_load(&c->arrived) < c->threads) sched_yield();
}

static long long mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void test_pool_trace(void **st) {
  (void)st;
  enum { T = 3, JOBS = 5, CAP = 16 };
  ls_pool *p = NULL;
  assert_int_equal(ls_pool_new(&p, T), LS_OK);
  ls_pool_span rows[T][CAP], *spans[T] = {NULL, rows[1], rows[2]};
  size_t n[T] = {0}, dropped[T] = {0};
  ls_pool_trace tr = {.n_workers = T, .spans = spans, .n = n, .cap = CAP, .dropped = dropped};
  ls_pool_trace_set(p, &tr);
  long long t0 = mono();
  for (int j = 0; j < JOBS; j++) {
    meet_ctx c = {.threads = T};
    atomic_init(&c.arrived, 0);
    ls_pool_run(p, T, meet_task, &c); /* T tasks, each blocking until all T workers hold one */
  }
  long long t1 = mono();
  ls_pool_trace_set(p, NULL);
  meet_ctx c = {.threads = T};
  atomic_init(&c.arrived, 0);
  ls_pool_run(p, T, meet_task, &c); /* not recorded */
  assert_int_equal(n[0], 0);
  for (int w = 1; w < T; w++) {
    assert_int_equal(n[w], JOBS);
    assert_int_equal(dropped[w], 0);
    for (int j = 0; j < JOBS; j++) {
      assert_int_equal(rows[w][j].tasks, 1);
      assert_true(rows[w][j].t0_ns >= t0 && rows[w][j].t0_ns <= rows[w][j].t1_ns && rows[w][j].t1_ns <= t1);
    }
  }
  ls_pool_free(p);
}

int main(void) {
  /* test_matmul holds quantized products to the dequantized values (the fp32 path); the int8
   * path, which also quantizes the activations, has its own bounds in test_engine_q8.c */
  setenv("LAYERSCOPE_Q8", "fp32", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_f16_roundtrip), cmocka_unit_test(test_matmul),
      cmocka_unit_test(test_activations),
      cmocka_unit_test(test_exp),   cmocka_unit_test(test_norms_softmax),
      cmocka_unit_test(test_rope),          cmocka_unit_test(test_attention),
      cmocka_unit_test(test_topk),          cmocka_unit_test(test_pool),
      cmocka_unit_test(test_pool_trace),
  };
  int rc = cmocka_run_group_tests_name("engine ops", tests, NULL, NULL);
  return rc;
}
