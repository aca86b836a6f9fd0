/* stats_kern_avx2.c: AVX2+FMA+F16C statistics kernels (compiled with -mavx2 -mfma -mf16c;
 * only called when the CPU has them). The same algorithm as the AVX-512 kernels on 8
 * lanes: compare results are all-ones lanes, subtracted from per-lane 32-bit counters, and
 * the f32 lane sums are flushed into double every 16 vectors. Non-finite values are rare, so
 * vectors holding one take a branch that counts them and replaces them by the shift K
 * (a finite data value: it changes neither the sums, since x-K = 0, nor min/max). */
#include <immintrin.h>

#include "core/tensor/dtype.h"
#include "core/tensor/stats_kern.h"

/* One vector x of 8 values: counters, then shifted sums and min/max on accumulators
 * (FS, FQ, MI, MA); two sets alternate so that the adds do not wait on each other. */
#define STEP(XV, FS, FQ, MI, MA)                                                           \
  do {                                                                                     \
    __m256 x = (XV);                                                                       \
    __m256i nfv = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(x), expm), expm); \
    __m256 z = _mm256_cmp_ps(x, zero, _CMP_EQ_OQ);                                         \
    __m256 sb = _mm256_andnot_ps(z, _mm256_cmp_ps(_mm256_and_ps(x, absm), vmn, _CMP_LT_OQ)); \
    cz = _mm256_sub_epi32(cz, _mm256_castps_si256(z));                                     \
    cs = _mm256_sub_epi32(cs, _mm256_castps_si256(sb));                                    \
    int nf = _mm256_movemask_ps(_mm256_castsi256_ps(nfv));                                 \
    if (__builtin_expect(nf != 0, 0)) {                                                    \
      float lanes[8];                                                                      \
      _mm256_storeu_ps(lanes, x);                                                          \
      for (int l = 0; l < 8; l++)                                                          \
        if (nf & (1 << l)) ls__part_nonfinite(p, lanes[l]);                                \
      nonfin += (uint64_t)__builtin_popcount((unsigned)nf);                                \
      x = _mm256_blendv_ps(x, vk, _mm256_castsi256_ps(nfv));                               \
    }                                                                                      \
    __m256 d = _mm256_sub_ps(x, vk);                                                       \
    FS = _mm256_add_ps(FS, d);                                                             \
    FQ = _mm256_fmadd_ps(d, d, FQ);                                                        \
    MI = _mm256_min_ps(MI, x);                                                             \
    MA = _mm256_max_ps(MA, x);                                                             \
  } while (0)

#define KERNEL(NAME, LOADV, ESIZE, TAIL)                                                   \
  static void NAME(const void *src, size_t n, float mn, ls__part *p) {                    \
    const unsigned char *s = src;                                                          \
    ls__part_init(p);                                                                      \
    size_t nv = n / 8;                                                                     \
    float k = 0.0f;                                                                        \
    for (size_t i = 0; i < n; i += 16) {                                                   \
      ls__part tmp;                                                                        \
      size_t m = n - i < 16 ? n - i : 16;                                                  \
      TAIL(s + i * ESIZE, m, mn, &tmp);                                                    \
      if (tmp.finite) { k = tmp.min; break; }                                              \
    }                                                                                      \
    const __m256 vk = _mm256_set1_ps(k), vmn = _mm256_set1_ps(mn), zero = _mm256_setzero_ps(); \
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));               \
    const __m256i expm = _mm256_set1_epi32(0x7f800000);                                    \
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;                           \
    __m256 vmin = _mm256_set1_ps(INFINITY), vmax = _mm256_set1_ps(-INFINITY), vmin2 = vmin, vmax2 = vmax; \
    __m256i cz = _mm256_setzero_si256(), cs = cz;                                          \
    uint64_t nonfin = 0;                                                                   \
    for (size_t b = 0; b < nv; b += 16) {                                                  \
      size_t e = b + 16 < nv ? b + 16 : nv;                                                \
      __m256 fs = zero, fq = zero, fs2 = zero, fq2 = zero;                                 \
      size_t v = b;                                                                        \
      for (; v + 1 < e; v += 2) {                                                          \
        /* mapped page-cache data: the hardware prefetcher stops at 4 KiB pages */         \
        _mm_prefetch((const char *)s + v * 8 * ESIZE + 8192, _MM_HINT_T0);                 \
        STEP(LOADV(s + v * 8 * ESIZE), fs, fq, vmin, vmax);                                \
        STEP(LOADV(s + (v + 1) * 8 * ESIZE), fs2, fq2, vmin2, vmax2);                      \
      }                                                                                    \
      if (v < e) STEP(LOADV(s + v * 8 * ESIZE), fs, fq, vmin, vmax);                       \
      fs = _mm256_add_ps(fs, fs2);                                                         \
      fq = _mm256_add_ps(fq, fq2);                                                         \
      s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(fs)));                 \
      s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(fs, 1)));               \
      q0 = _mm256_add_pd(q0, _mm256_cvtps_pd(_mm256_castps256_ps128(fq)));                 \
      q1 = _mm256_add_pd(q1, _mm256_cvtps_pd(_mm256_extractf128_ps(fq, 1)));               \
    }                                                                                      \
    uint64_t fin = (uint64_t)nv * 8 - nonfin;                                              \
    if (fin) {                                                                             \
      double sd[4], qd[4];                                                                 \
      float mi[8], ma[8];                                                                  \
      _mm256_storeu_pd(sd, _mm256_add_pd(s0, s1));                                         \
      _mm256_storeu_pd(qd, _mm256_add_pd(q0, q1));                                         \
      _mm256_storeu_ps(mi, _mm256_min_ps(vmin, vmin2));                                    \
      _mm256_storeu_ps(ma, _mm256_max_ps(vmax, vmax2));                                    \
      double sum = (sd[0] + sd[1]) + (sd[2] + sd[3]), sq = (qd[0] + qd[1]) + (qd[2] + qd[3]); \
      p->finite = fin;                                                                     \
      p->mean = (double)k + sum / (double)fin;                                             \
      p->m2 = sq - sum * sum / (double)fin;                                                \
      if (p->m2 < 0) p->m2 = 0;                                                            \
      for (int l = 0; l < 8; l++) {                                                        \
        if (mi[l] < p->min) p->min = mi[l];                                                \
        if (ma[l] > p->max) p->max = ma[l];                                                \
      }                                                                                    \
    }                                                                                      \
    uint32_t c1[8], c2[8];                                                                 \
    _mm256_storeu_si256((__m256i *)c1, cz);                                                \
    _mm256_storeu_si256((__m256i *)c2, cs);                                                \
    for (int l = 0; l < 8; l++) { p->zeros += c1[l]; p->subn += c2[l]; }                   \
    if (nv * 8 < n) {                                                                      \
      ls__part t;                                                                          \
      TAIL(s + nv * 8 * ESIZE, n - nv * 8, mn, &t);                                        \
      ls__part_merge(p, &t);                                                               \
    }                                                                                      \
  }

#define LOAD_F32(ptr) _mm256_loadu_ps((const float *)(ptr))
#define LOAD_BF16(ptr) \
  _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(ptr))), 16))
#define LOAD_F16(ptr) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(ptr)))

KERNEL(kern_f32, LOAD_F32, 4, ls__kern_scalar.f32)
KERNEL(kern_bf16, LOAD_BF16, 2, ls__kern_scalar.bf16)
KERNEL(kern_f16, LOAD_F16, 2, ls__kern_scalar.f16)

/* colmax[j] = max(colmax[j], |x[j]|); max_ps returns its second operand when the first
 * is NaN, so NaN never wins. */
static void colmax_f32(float *cm, const float *x, size_t n) {
  const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(cm + j, _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), absm), _mm256_loadu_ps(cm + j)));
  for (; j < n; j++) {
    float a = fabsf(x[j]);
    cm[j] = a > cm[j] ? a : cm[j];
  }
}

#define COLMAX16(NAME, CONV, SCALAR)                                                       \
  static void NAME(float *cm, const void *src, size_t n) {                                 \
    const uint16_t *x = src;                                                               \
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));               \
    size_t j = 0;                                                                          \
    for (; j + 8 <= n; j += 8) {                                                           \
      __m256 v = CONV(_mm_loadu_si128((const __m128i *)(x + j)));                          \
      _mm256_storeu_ps(cm + j, _mm256_max_ps(_mm256_and_ps(v, absm), _mm256_loadu_ps(cm + j))); \
    }                                                                                      \
    for (; j < n; j++) {                                                                   \
      uint16_t h;                                                                          \
      memcpy(&h, x + j, 2);                                                                \
      float a = fabsf(SCALAR(h));                                                          \
      cm[j] = a > cm[j] ? a : cm[j];                                                       \
    }                                                                                      \
  }
#define CONV_BF16(r) _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(r), 16))
COLMAX16(colmax_bf16, CONV_BF16, ls_bf16_to_f32)
COLMAX16(colmax_f16, _mm256_cvtph_ps, ls_f16_to_f32)

const ls__kernels ls__kern_avx2 = {kern_f32, kern_bf16, kern_f16, colmax_f32, colmax_bf16, colmax_f16};
