/* ops_simd.c: the vectorisable loops of ops_simd.h. Each public function carries
 * LS_CLONES: GCC emits an AVX2/FMA/F16C build and a baseline build and resolves the
 * call once at load time. Clang 14 (used only for the fuzz targets) does not emit the
 * dispatcher for "arch=" clones, so clang builds get the baseline loops alone. The loop bodies are branch-free (selects, not ifs) so that both
 * builds vectorise; the engine's CMakeLists turns on the vectoriser's dynamic cost model
 * for this file (GCC's -O2 default only vectorises loops whose trip count is known). */
#include "core/engine/ops_simd.h"

#include <math.h>

#include "core/engine/ops.h"

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(LS_NO_CLONES)
#define LS_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define LS_CLONES
#endif

LS_CLONES void ls__dec_bf16(float *out, const uint16_t *in, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = ls__bf16_to_f32(in[i]);
}

LS_CLONES void ls__dec_f16(float *out, const uint16_t *in, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = ls__f16_to_f32(in[i]);
}

LS_CLONES void ls__dec_q8_0(float *out, const uint8_t *blocks, int64_t n) {
  for (int64_t b = 0; b * 32 < n; b++) {
    const uint8_t *blk = blocks + b * 34;
    float d = ls__f16_to_f32((uint16_t)(blk[0] | (blk[1] << 8)));
    const int8_t *q = (const int8_t *)(blk + 2);
    float *o = out + b * 32;
    int64_t m = n - b * 32 < 32 ? n - b * 32 : 32;
    for (int64_t t = 0; t < m; t++) o[t] = d * (float)q[t];
  }
}

LS_CLONES void ls__dec_q4_0(float *out, const uint8_t *blocks, int64_t n) {
  for (int64_t b = 0; b * 32 < n; b++) {
    const uint8_t *blk = blocks + b * 18;
    float d = ls__f16_to_f32((uint16_t)(blk[0] | (blk[1] << 8)));
    const uint8_t *q = blk + 2;
    float *o = out + b * 32;
    if (n - b * 32 >= 32) {
      for (int t = 0; t < 16; t++) {
        o[t] = d * (float)((int)(q[t] & 0x0f) - 8);
        o[t + 16] = d * (float)((int)(q[t] >> 4) - 8);
      }
    } else {
      for (int64_t t = 0; t < n - b * 32; t++) {
        int v = t < 16 ? (q[t] & 0x0f) : (q[t - 16] >> 4);
        o[t] = d * (float)(v - 8);
      }
    }
  }
}

/* Cephes expf: exp(x) = 2^k * exp(r), |r| <= ln2/2, degree-6 polynomial for exp(r). */
static inline float exp_body(float x) {
  float xc = x < -87.3f ? -87.3f : x > 88.7f ? 88.7f : x;
  float t = xc * 1.44269504088896341f + 0.5f;
  int k = (int)t;
  k = (float)k > t ? k - 1 : k; /* floor for negatives */
  float fk = (float)k;
  float r = xc - fk * 0.693359375f + fk * 2.12194440e-4f;
  float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  /* 2^k in two halves so k = 128 (x near 88.7) does not overflow the exponent field. */
  int k1 = k / 2, k2 = k - k1;
  uint32_t b1 = (uint32_t)(k1 + 127) << 23, b2 = (uint32_t)(k2 + 127) << 23;
  float s1, s2;
  memcpy(&s1, &b1, 4);
  memcpy(&s2, &b2, 4);
  float y = p * s1 * s2;
  y = x < -87.3f ? 0.0f : y;
  y = x > 88.7f ? INFINITY : y;
  return x != x ? x : y;
}

/* The exp-based loops (exp, tanh-GELU, SiLU) do not vectorise as plain C: GCC keeps the
 * range selects of exp_body as branches while float->int conversion may trap
 * (-ftrapping-math), and the loop then has control flow. So they get an AVX2/FMA version
 * with intrinsics, the same Cephes polynomial and the same range handling lane by lane,
 * picked at run time; the tail and CPUs without AVX2/FMA use exp_body. */
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#include <immintrin.h>
#define LS_EXP_AVX2 1
#define AVX2_TARGET __attribute__((target("avx2,fma")))

static _Atomic int simd_limit = 2; /* ls__simd_limit */

static int have_avx2_fma(void) {
  return simd_limit >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

AVX2_TARGET static inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.3f), hi = _mm256_set1_ps(88.7f);
  __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  __m256 fk = _mm256_floor_ps(_mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fnmadd_ps(fk, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fmadd_ps(fk, _mm256_set1_ps(2.12194440e-4f), r);
  __m256 z = _mm256_mul_ps(r, r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, z, r), _mm256_set1_ps(1.0f));
  __m256i k = _mm256_cvtps_epi32(fk); /* fk is integral: exact */
  __m256i k1 = _mm256_srai_epi32(k, 1), k2 = _mm256_sub_epi32(k, k1);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); /* NaN stays NaN */
}

AVX2_TARGET static int64_t exp_avx2(float *y, const float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i)));
  return i;
}

/* SiLU v / (1 + exp(-v)) or tanh-GELU v / (1 + exp(-2u)), u = sqrt(2/pi) (v + 0.044715 v^3),
 * of 8 lanes. */
AVX2_TARGET static inline __m256 act8(int act, __m256 v) {
  __m256 e;
  if (act == LS_OPS_ACT_SILU) {
    e = exp8(_mm256_xor_ps(v, _mm256_set1_ps(-0.0f)));
  } else {
    __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), v), _mm256_mul_ps(v, v), v);
    e = exp8(_mm256_mul_ps(_mm256_set1_ps(-2.0f * 0.7978845608028654f), inner));
  }
  return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

/* y = act(x), times u when u is not NULL (a GLU's up half: one more rounding, the same bits
 * as a multiply loop after the activation); act is SiLU or tanh-GELU. */
AVX2_TARGET static int64_t act_avx2(int act, float *y, const float *x, const float *u, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 a = act8(act, _mm256_loadu_ps(x + i));
    if (u) a = _mm256_mul_ps(a, _mm256_loadu_ps(u + i));
    _mm256_storeu_ps(y + i, a);
  }
  return i;
}

AVX2_TARGET static int64_t add3_avx2(float *y, const float *a, const float *b, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  return i;
}

/* The same loops 16 lanes wide with AVX-512F: exp16 and act16 are exp8 and act8 operation
 * for operation (same constants, same fused multiply-adds, same range handling), so a lane
 * gets the same bits either way; twice the lanes per instruction halve the time of the GLU
 * of a llama MLP. */
#define AVX512_TARGET __attribute__((target("avx512f")))

static int have_avx512f(void) { return simd_limit >= 2 && __builtin_cpu_supports("avx512f"); }

AVX512_TARGET static inline __m512 exp16(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-87.3f), hi = _mm512_set1_ps(88.7f);
  __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
  __m512 fk = _mm512_roundscale_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                                   _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fk, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fmadd_ps(fk, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 z = _mm512_mul_ps(r, r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, z, r), _mm512_set1_ps(1.0f));
  __m512i k = _mm512_cvtps_epi32(fk); /* fk is integral: exact */
  __m512i k1 = _mm512_srai_epi32(k, 1), k2 = _mm512_sub_epi32(k, k1);
  const __m512i bias = _mm512_set1_epi32(127);
  __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k1, bias), 23));
  __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k2, bias), 23));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), y, _mm512_setzero_ps());
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), y, _mm512_set1_ps(INFINITY));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x); /* NaN stays NaN */
}

AVX512_TARGET static int64_t exp_avx512(float *y, const float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp16(_mm512_loadu_ps(x + i)));
  return i;
}

AVX512_TARGET static inline __m512 act16(int act, __m512 v) {
  __m512 e;
  if (act == LS_OPS_ACT_SILU) {
    e = exp16(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u))));
  } else {
    __m512 inner = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), v), _mm512_mul_ps(v, v), v);
    e = exp16(_mm512_mul_ps(_mm512_set1_ps(-2.0f * 0.7978845608028654f), inner));
  }
  return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

AVX512_TARGET static int64_t act_avx512(int act, float *y, const float *x, const float *u, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 a = act16(act, _mm512_loadu_ps(x + i));
    if (u) a = _mm512_mul_ps(a, _mm512_loadu_ps(u + i));
    _mm512_storeu_ps(y + i, a);
  }
  return i;
}

AVX512_TARGET static int64_t add3_avx512(float *y, const float *a, const float *b, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
  return i;
}
#endif

int ls__simd_limit(int level) {
#ifdef LS_EXP_AVX2
  int old = simd_limit;
  simd_limit = level;
  return old;
#else
  (void)level;
  return 0;
#endif
}

void ls__exp_vec(float *y, const float *x, int64_t n) {
  int64_t i = 0;
#ifdef LS_EXP_AVX2
  if (have_avx512f()) i = exp_avx512(y, x, n);
  else if (have_avx2_fma()) i = exp_avx2(y, x, n);
#endif
  for (; i < n; i++) y[i] = exp_body(x[i]);
}

static void gelu_tanh_vec(float *y, const float *x, int64_t n) {
  int64_t i = 0;
#ifdef LS_EXP_AVX2
  if (have_avx512f()) i = act_avx512(LS_OPS_ACT_GELU_TANH, y, x, NULL, n);
  else if (have_avx2_fma()) i = act_avx2(LS_OPS_ACT_GELU_TANH, y, x, NULL, n);
#endif
  for (; i < n; i++) {
    float v = x[i];
    float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    /* 0.5 v (1 + tanh u) == v sigmoid(2u): no cancellation where tanh u is near -1 */
    y[i] = v / (1.0f + exp_body(-2.0f * u));
  }
}

static void silu_vec(float *y, const float *x, int64_t n) {
  int64_t i = 0;
#ifdef LS_EXP_AVX2
  if (have_avx512f()) i = act_avx512(LS_OPS_ACT_SILU, y, x, NULL, n);
  else if (have_avx2_fma()) i = act_avx2(LS_OPS_ACT_SILU, y, x, NULL, n);
#endif
  for (; i < n; i++) {
    float v = x[i];
    y[i] = v / (1.0f + exp_body(-v));
  }
}

LS_CLONES static void relu_vec(float *y, const float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
}

static void gelu_erf_vec(float *y, const float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.7071067811865476f));
}

void ls__act_vec(int act, float *y, const float *x, int64_t n) {
  switch (act) {
  case LS_OPS_ACT_GELU_TANH: gelu_tanh_vec(y, x, n); break;
  case LS_OPS_ACT_GELU_ERF: gelu_erf_vec(y, x, n); break;
  case LS_OPS_ACT_SILU: silu_vec(y, x, n); break;
  case LS_OPS_ACT_RELU: relu_vec(y, x, n); break;
  default: break;
  }
}

void ls__glu_vec(int act, float *g, const float *u, int64_t n) {
  int64_t i = 0;
#ifdef LS_EXP_AVX2
  if (act == LS_OPS_ACT_SILU || act == LS_OPS_ACT_GELU_TANH) {
    if (have_avx512f()) i = act_avx512(act, g, g, u, n);
    else if (have_avx2_fma()) i = act_avx2(act, g, g, u, n);
  }
#endif
  ls__act_vec(act, g + i, g + i, n - i);
  for (; i < n; i++) g[i] *= u[i];
}

void ls__add3_vec(float *y, const float *a, const float *b, int64_t n) {
  int64_t i = 0;
#ifdef LS_EXP_AVX2
  if (have_avx512f()) i = add3_avx512(y, a, b, n);
  else if (have_avx2_fma()) i = add3_avx2(y, a, b, n);
#endif
  for (; i < n; i++) y[i] = a[i] + b[i];
}
