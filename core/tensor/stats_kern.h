/* stats_kern.h (internal to core/tensor): the one-pass statistics kernels. A kernel reads
 * n stored elements (f32, bf16 or f16) and fills an ls__part: counts, and the mean and M2
 * (sum of squared deviations) of the finite values, which ls__part_merge combines with
 * Chan's formula. Each kernel exists per instruction set (stats_kern_<isa>.c, each compiled
 * with its own -m flags); stats.c picks one set at run time.
 *
 * Accuracy: a kernel subtracts a shift K (the first finite value of its range, so that the
 * squares do not cancel), sums up to 16 shifted values per lane in f32, then adds those lane
 * sums into double accumulators. The relative error is that of a 16-term f32 sum, far
 * below the 1e-6 asked for, whatever the element count. Callers keep n <= LS__KERN_MAX so
 * that the 32-bit per-lane counters cannot wrap. */
#ifndef LS_TENSOR_STATS_KERN_H
#define LS_TENSOR_STATS_KERN_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LS__KERN_MAX ((size_t)1 << 26)

typedef struct ls__part {
  uint64_t finite, nan, pinf, ninf, zeros, subn;
  double mean, m2;  /* of the finite values */
  double min, max;  /* of the finite values; +inf / -inf when finite == 0 */
} ls__part;

typedef void (*ls__kern_fn)(const void *src, size_t n, float min_normal, ls__part *out);

typedef struct ls__kernels {
  ls__kern_fn f32, bf16, f16;
  /* colmax[j] = max(colmax[j], |x[j]|) for n stored f32 / bf16 / f16 values; NaN never wins */
  void (*colmax)(float *colmax, const float *x, size_t n);
  void (*colmax_bf16)(float *colmax, const void *x, size_t n);
  void (*colmax_f16)(float *colmax, const void *x, size_t n);
} ls__kernels;

extern const ls__kernels ls__kern_scalar, ls__kern_avx2, ls__kern_avx512;

#include "core/tensor/dtype.h"

/* stats.c: the kernels of the selected path; statistics of n (<= LS__KERN_MAX) elements of
 * dt at src (a block boundary); an ls__part turned into ls_stats (stats.h). */
const ls__kernels *ls__stats_kernels(void);
void ls__stats_range(const ls__kernels *k, ls_dtype dt, const unsigned char *src, size_t n, ls__part *p);
struct ls_stats;
void ls__stats_finish(const ls__part *p, uint64_t n, struct ls_stats *out);

static inline void ls__part_init(ls__part *p) {
  memset(p, 0, sizeof *p);
  p->min = INFINITY;
  p->max = -INFINITY;
}

/* a += b (Chan et al.'s pairwise update of mean and M2). */
static inline void ls__part_merge(ls__part *a, const ls__part *b) {
  if (b->finite) {
    if (!a->finite) {
      a->mean = b->mean;
      a->m2 = b->m2;
    } else {
      double na = (double)a->finite, nb = (double)b->finite, n = na + nb;
      double delta = b->mean - a->mean;
      a->mean += delta * (nb / n);
      a->m2 += b->m2 + delta * delta * (na * nb / n);
    }
    if (b->min < a->min) a->min = b->min;
    if (b->max > a->max) a->max = b->max;
  }
  a->finite += b->finite;
  a->nan += b->nan;
  a->pinf += b->pinf;
  a->ninf += b->ninf;
  a->zeros += b->zeros;
  a->subn += b->subn;
}

static inline float ls__bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t ls__f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Counts one non-finite value. */
static inline void ls__part_nonfinite(ls__part *p, float x) {
  if (x != x) p->nan++;
  else if (x > 0) p->pinf++;
  else p->ninf++;
}

/* The shift: the first finite value (0 if none). */
#define LS__FIRST_FINITE(n, LOAD, out)                              \
  do {                                                              \
    (out) = 0.0f;                                                   \
    for (size_t i_ = 0; i_ < (n); i_++) {                           \
      float v_ = LOAD(i_);                                          \
      if ((ls__f32_bits(v_) & 0x7f800000u) != 0x7f800000u) { (out) = v_; break; } \
    }                                                               \
  } while (0)

#endif
