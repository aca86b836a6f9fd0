/* stats_kern_scalar.c: the portable statistics kernels (and the tails of the vector ones):
 * one element at a time, shifted sums in double. See stats_kern.h. */
#include "core/tensor/dtype.h"
#include "core/tensor/stats_kern.h"

#define KERNEL(NAME, LOAD)                                                        \
  static void NAME(const void *src, size_t n, float mn, ls__part *p) {           \
    const unsigned char *s = src;                                                 \
    (void)s;                                                                      \
    ls__part_init(p);                                                             \
    float k;                                                                      \
    LS__FIRST_FINITE(n, LOAD, k);                                                 \
    double sum = 0, sq = 0;                                                       \
    float lo = INFINITY, hi = -INFINITY;                                          \
    uint64_t fin = 0, zeros = 0, subn = 0;                                        \
    for (size_t i = 0; i < n; i++) {                                              \
      float x = LOAD(i);                                                          \
      if ((ls__f32_bits(x) & 0x7f800000u) == 0x7f800000u) { ls__part_nonfinite(p, x); continue; } \
      double dl = (double)x - (double)k;                                          \
      sum += dl;                                                                  \
      sq += dl * dl;                                                              \
      lo = x < lo ? x : lo;                                                       \
      hi = x > hi ? x : hi;                                                       \
      fin++;                                                                      \
      zeros += x == 0.0f;                                                         \
      subn += x != 0.0f && fabsf(x) < mn;                                         \
    }                                                                             \
    p->finite = fin;                                                              \
    p->zeros = zeros;                                                             \
    p->subn = subn;                                                               \
    p->min = lo;                                                                  \
    p->max = hi;                                                                  \
    if (fin) {                                                                    \
      p->mean = (double)k + sum / (double)fin;                                    \
      p->m2 = sq - sum * sum / (double)fin;                                       \
      if (p->m2 < 0) p->m2 = 0;                                                   \
    }                                                                             \
  }

static inline uint16_t ld16(const unsigned char *s, size_t i) { uint16_t v; memcpy(&v, s + 2 * i, 2); return v; }
static inline float ld32(const unsigned char *s, size_t i) { float v; memcpy(&v, s + 4 * i, 4); return v; }

#define LOAD_F32(i) ld32(s, (i))
#define LOAD_BF16(i) ls__bits_f32((uint32_t)ld16(s, (i)) << 16)
#define LOAD_F16(i) ls_f16_to_f32(ld16(s, (i)))

KERNEL(kern_f32, LOAD_F32)
KERNEL(kern_bf16, LOAD_BF16)
KERNEL(kern_f16, LOAD_F16)

static void colmax_f32(float *cm, const float *x, size_t n) {
  for (size_t j = 0; j < n; j++) {
    float a = fabsf(x[j]);
    cm[j] = a > cm[j] ? a : cm[j]; /* NaN compares false: never wins */
  }
}

static void colmax_bf16(float *cm, const void *src, size_t n) {
  const unsigned char *s = src;
  for (size_t j = 0; j < n; j++) {
    float a = fabsf(LOAD_BF16(j));
    cm[j] = a > cm[j] ? a : cm[j];
  }
}

static void colmax_f16(float *cm, const void *src, size_t n) {
  const unsigned char *s = src;
  for (size_t j = 0; j < n; j++) {
    float a = fabsf(LOAD_F16(j));
    cm[j] = a > cm[j] ? a : cm[j];
  }
}

const ls__kernels ls__kern_scalar = {kern_f32, kern_bf16, kern_f16, colmax_f32, colmax_bf16, colmax_f16};
