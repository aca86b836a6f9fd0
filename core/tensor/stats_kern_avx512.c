/* stats_kern_avx512.c: AVX-512 statistics kernels (compiled with -mavx512f -mavx512bw ...;
 * only called when the CPU has them). 16 lanes, two vectors per step; the f32 lane sums
 * are flushed into double every block of 256 values. */
#include <immintrin.h>

#include "core/tensor/dtype.h"
#include "core/tensor/stats_kern.h"

/* The fast path works on blocks of 8 steps of 32 values. Per 16-lane vector x it does one
 * AND (|x| as integer bits, which orders like the floats), three integer compares (|x| >=
 * inf bits: non-finite; == 0: zero; < min_normal bits: zero or subnormal), and five float
 * ops (x-K, sum, fma of squares, min, max). Counts are popcounts of the compare masks.
 * Non-finite values are only OR-ed into a block flag: a block that holds one (rare) is
 * redone by the scalar kernel and merged, so the fast path never needs a per-vector branch
 * or blend. */
#define HALF(X, FS, FQ, MI, MA)                                                            \
  do {                                                                                     \
    __m512i a_ = _mm512_and_si512(_mm512_castps_si512(X), absm);                           \
    bad |= _mm512_cmpge_epu32_mask(a_, expm);                                              \
    zmask = _mm512_cmpeq_epi32_mask(a_, zeroi);                                            \
    tmask = _mm512_cmplt_epu32_mask(a_, mnb);                                              \
    __m512 d_ = _mm512_sub_ps(X, vk);                                                      \
    FS = _mm512_add_ps(FS, d_);                                                            \
    FQ = _mm512_fmadd_ps(d_, d_, FQ);                                                      \
    MI = _mm512_min_ps(MI, X);                                                             \
    MA = _mm512_max_ps(MA, X);                                                             \
  } while (0)

/* Prefetch distance in bytes, measured best on the EPYC dev box (1-32 KiB tried). */
#ifndef PF_DIST
#define PF_DIST 8192
#endif

#define KERNEL(NAME, LOAD2, ESIZE, TAIL)                                                   \
  static void NAME(const void *src, size_t n, float mn, ls__part *p) {                    \
    const unsigned char *s = src;                                                          \
    ls__part_init(p);                                                                      \
    size_t nst = n / 32; /* steps of 32 values */                                          \
    float k = 0.0f;                                                                        \
    for (size_t i = 0; i < n; i += 16) {                                                   \
      /* K: a finite data value near the start (min of the first 16 with one) */          \
      ls__part tmp;                                                                        \
      size_t m = n - i < 16 ? n - i : 16;                                                  \
      TAIL(s + i * ESIZE, m, mn, &tmp);                                                    \
      if (tmp.finite) { k = (float)tmp.min; break; }                                       \
    }                                                                                      \
    const __m512 vk = _mm512_set1_ps(k), zero = _mm512_setzero_ps();                       \
    const __m512i absm = _mm512_set1_epi32(0x7fffffff), expm = _mm512_set1_epi32(0x7f800000); \
    const __m512i zeroi = _mm512_setzero_si512(), mnb = _mm512_set1_epi32((int)ls__f32_bits(mn)); \
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;                           \
    __m512 vmin = _mm512_set1_ps(INFINITY), vmax = _mm512_set1_ps(-INFINITY);              \
    uint64_t zeros = 0, tiny = 0, fin = 0;                                                 \
    ls__part slow;                                                                         \
    ls__part_init(&slow);                                                                  \
    for (size_t b = 0; b < nst; b += 8) {                                                  \
      size_t e = b + 8 < nst ? b + 8 : nst;                                                \
      __m512 fs = zero, fq = zero, fs2 = zero, fq2 = zero;                                 \
      __m512 mi = vmin, ma = vmax, mi2 = vmin, ma2 = vmax;                                 \
      __mmask16 bad = 0, zmask, tmask;                                                     \
      uint64_t bz = 0, bt = 0;                                                             \
      for (size_t v = b; v < e; v++) {                                                     \
        __m512 x0, x1;                                                                     \
        /* mapped page-cache data: the hardware prefetcher stops at 4 KiB pages */         \
        _mm_prefetch((const char *)s + v * 32 * ESIZE + PF_DIST, _MM_HINT_T0);             \
        _mm_prefetch((const char *)s + v * 32 * ESIZE + PF_DIST + 64, _MM_HINT_T0);        \
        LOAD2(s + v * 32 * ESIZE, x0, x1);                                                 \
        HALF(x0, fs, fq, mi, ma);                                                          \
        __mmask16 z0 = zmask, t0 = tmask;                                                  \
        HALF(x1, fs2, fq2, mi2, ma2);                                                      \
        bz += (uint64_t)__builtin_popcount(_cvtmask32_u32(_mm512_kunpackw(zmask, z0)));   \
        bt += (uint64_t)__builtin_popcount(_cvtmask32_u32(_mm512_kunpackw(tmask, t0)));   \
      }                                                                                    \
      if (__builtin_expect(bad != 0, 0)) {                                                 \
        ls__part t;                                                                        \
        TAIL(s + b * 32 * ESIZE, (e - b) * 32, mn, &t);                                    \
        ls__part_merge(&slow, &t);                                                         \
        continue;                                                                          \
      }                                                                                    \
      fs = _mm512_add_ps(fs, fs2);                                                         \
      fq = _mm512_add_ps(fq, fq2);                                                         \
      vmin = _mm512_min_ps(mi, mi2);                                                       \
      vmax = _mm512_max_ps(ma, ma2);                                                       \
      zeros += bz;                                                                         \
      tiny += bt;                                                                          \
      fin += (e - b) * 32;                                                                 \
      s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(fs)));                 \
      s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(fs), 1)))); \
      q0 = _mm512_add_pd(q0, _mm512_cvtps_pd(_mm512_castps512_ps256(fq)));                 \
      q1 = _mm512_add_pd(q1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(fq), 1)))); \
    }                                                                                      \
    if (fin) {                                                                             \
      double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));                            \
      double sq = _mm512_reduce_add_pd(_mm512_add_pd(q0, q1));                             \
      p->finite = fin;                                                                     \
      p->mean = (double)k + sum / (double)fin;                                             \
      p->m2 = sq - sum * sum / (double)fin;                                                \
      if (p->m2 < 0) p->m2 = 0;                                                            \
      p->min = _mm512_reduce_min_ps(vmin);                                                 \
      p->max = _mm512_reduce_max_ps(vmax);                                                 \
      p->zeros = zeros;                                                                    \
      p->subn = mn > 0 ? tiny - zeros : 0; /* tiny counts zeros too */                     \
    }                                                                                      \
    ls__part_merge(p, &slow);                                                              \
    if (nst * 32 < n) {                                                                    \
      ls__part t;                                                                          \
      TAIL(s + nst * 32 * ESIZE, n - nst * 32, mn, &t);                                    \
      ls__part_merge(p, &t);                                                               \
    }                                                                                      \
  }

/* Two vectors of 16 values each. bf16 widens by interleaving with zeros, which puts
 * values in a different lane order: statistics do not depend on the order. */
#define LOAD2_F32(ptr, X0, X1)                                   \
  do {                                                           \
    X0 = _mm512_loadu_ps((const float *)(ptr));                  \
    X1 = _mm512_loadu_ps((const float *)(ptr) + 16);             \
  } while (0)
#define LOAD2_BF16(ptr, X0, X1)                                  \
  do {                                                           \
    __m512i r_ = _mm512_loadu_si512((const void *)(ptr));        \
    X0 = _mm512_castsi512_ps(_mm512_unpacklo_epi16(zeroi, r_));  \
    X1 = _mm512_castsi512_ps(_mm512_unpackhi_epi16(zeroi, r_));  \
  } while (0)
#define LOAD2_F16(ptr, X0, X1)                                                     \
  do {                                                                             \
    X0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(ptr)));              \
    X1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(ptr) + 1));          \
  } while (0)

KERNEL(kern_f32, LOAD2_F32, 4, ls__kern_scalar.f32)
KERNEL(kern_bf16, LOAD2_BF16, 2, ls__kern_scalar.bf16)
KERNEL(kern_f16, LOAD2_F16, 2, ls__kern_scalar.f16)

/* colmax[j] = max(colmax[j], |x[j]|); max_ps returns its second operand when the first
 * is NaN, so NaN never wins. */
static void colmax_f32(float *cm, const float *x, size_t n) {
  size_t j = 0;
  for (; j + 16 <= n; j += 16)
    _mm512_storeu_ps(cm + j, _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + j)), _mm512_loadu_ps(cm + j)));
  for (; j < n; j++) {
    float a = fabsf(x[j]);
    cm[j] = a > cm[j] ? a : cm[j];
  }
}

#define COLMAX16(NAME, CONV, SCALAR)                                                      \
  static void NAME(float *cm, const void *src, size_t n) {                                \
    const uint16_t *x = src;                                                              \
    size_t j = 0;                                                                         \
    for (; j + 16 <= n; j += 16) {                                                        \
      __m512 v = CONV(_mm256_loadu_si256((const __m256i *)(x + j)));                      \
      _mm512_storeu_ps(cm + j, _mm512_max_ps(_mm512_abs_ps(v), _mm512_loadu_ps(cm + j))); \
    }                                                                                     \
    for (; j < n; j++) {                                                                  \
      uint16_t h;                                                                         \
      memcpy(&h, x + j, 2);                                                               \
      float a = fabsf(SCALAR(h));                                                         \
      cm[j] = a > cm[j] ? a : cm[j];                                                      \
    }                                                                                     \
  }
/* bf16 in row order (the column index matters here): widen then shift. */
#define CONV_BF16(r) _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(r), 16))
COLMAX16(colmax_bf16, CONV_BF16, ls_bf16_to_f32)
COLMAX16(colmax_f16, _mm512_cvtph_ps, ls_f16_to_f32)

const ls__kernels ls__kern_avx512 = {kern_f32, kern_bf16, kern_f16, colmax_f32, colmax_bf16, colmax_f16};
