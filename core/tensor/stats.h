/* stats.h: tensor statistics at memory bandwidth. One pass over the stored data (any dtype,
 * converted on the fly; never expanded in memory) gives count, NaN/+Inf/-Inf, exact zeros,
 * subnormals of the stored type, and mean, std, min, max, absmax over the FINITE values, so
 * one NaN does not hide the rest. Work is split over a pthread pool of all cores and each
 * chunk runs a vectorised kernel chosen at run time (AVX-512, AVX2+F16C or scalar; forced
 * with LAYERSCOPE_SIMD=scalar|avx2|avx512 or ls_stats_simd_force). Sums are accurate:
 * short runs are summed in f32 lanes around a per-chunk shift, then in double, and chunks
 * are merged with Chan's parallel variance formula in a fixed order, so results are
 * deterministic for a given path and agree across paths up to summation order.
 * Histograms, percentiles and per-row/column figures are separate passes, done when asked.
 * All functions are thread-safe; concurrent calls share the pool (one runs inline). */
#ifndef LS_TENSOR_STATS_H
#define LS_TENSOR_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/tensor/dtype.h"
#include "core/tensor/tensor.h"

typedef struct ls_stats {
  uint64_t count;      /* elements */
  uint64_t finite;     /* finite elements: mean/std/min/max/absmax are over these */
  uint64_t nan, pinf, ninf;
  uint64_t zeros;      /* exactly +0 or -0 */
  uint64_t subnormals; /* nonzero values below the stored type's smallest normal */
  double sum;          /* of finite values */
  double mean, std;    /* std: population (ddof 0), like numpy's default */
  double min, max, absmax; /* NaN when finite == 0 */
} ls_stats;

/* Statistics of n elements of dtype dt stored at data (block-quantized types: n a multiple
 * of the block). Returns LS_OK, LS_EINVAL or LS_ENOMEM. */
int ls_stats_compute(ls_dtype dt, const void *data, uint64_t n, ls_stats *out);
/* In-memory f32 buffer (the debugger's activations): same as ls_stats_compute(LS_DT_F32). */
int ls_stats_f32(const float *x, uint64_t n, ls_stats *out);
/* A tensor of a file (stored order; statistics do not depend on it). */
int ls_stats_tensor(const ls_tensor *t, ls_stats *out, ls_diag *d);

/* ------------------------------------------------------------ histogram and percentiles */
typedef struct ls_hist {
  int nbins;
  double lo, hi;         /* bin i covers [lo + i*w, lo + (i+1)*w), w = (hi-lo)/nbins; hi is in the last bin */
  uint64_t *counts;      /* [nbins], new (ls_hist_free) */
  uint64_t below, above; /* finite values outside [lo, hi] */
  uint64_t nonfinite;    /* NaN and Inf, not binned */
} ls_hist;

/* Second pass: histogram of the finite values into nbins (1..1<<24) bins over [lo, hi];
 * lo == hi == 0 means "from the data's min/max" (a first pass is run if s is NULL). */
int ls_stats_hist(ls_dtype dt, const void *data, uint64_t n, const ls_stats *s, double lo, double hi,
                  int nbins, ls_hist *out);
void ls_hist_free(ls_hist *h);
/* Approximate percentiles q[i] in [0, 100] of the finite values into out[i], numpy's
 * default (linear) definition, from a 65536-bin histogram over [min, max]: each element is
 * placed inside its bin, so the error is at most one bin width, (max-min)/65536. q = 0 and
 * 100 give min and max exactly. s may be NULL. NaN results when there is no finite value. */
int ls_stats_percentiles(ls_dtype dt, const void *data, uint64_t n, const ls_stats *s, const double *q,
                         int nq, double *out);

/* ------------------------------------------------------------ rows and columns of a 2-D tensor
 * One pass over a [rows, cols] row-major matrix gives the whole-tensor statistics plus, per
 * row, the absmax, L2 norm (of finite values) and whether all its finite values are equal,
 * and per column the absmax. Dead neurons are rows/columns whose absmax <= eps. */
typedef struct ls_rowstats {
  int64_t rows, cols;
  float *row_absmax;   /* [rows]; NaN for a row without finite values */
  double *row_norm;    /* [rows] L2 norm of the finite values */
  uint8_t *row_const;  /* [rows] 1 when every value of the row is finite and equal */
  float *col_absmax;   /* [cols] */
} ls_rowstats;

/* All arrays of out are new (ls_rowstats_free). total may be NULL. */
int ls_stats_rows(ls_dtype dt, const void *data, int64_t rows, int64_t cols, ls_rowstats *out, ls_stats *total);
/* The same figures for column-major data (numpy's fortran_order: element (r, c) is stored
 * at c * rows + r), where a row is strided. Plain dtypes only (LS_EUNSUPPORTED for block
 * quantizations, which never come column-major). */
int ls_stats_rows_colmajor(ls_dtype dt, const void *data, int64_t rows, int64_t cols, ls_rowstats *out,
                           ls_stats *total);
void ls_rowstats_free(ls_rowstats *r);

/* ------------------------------------------------------------ comparing two tensors
 * Element-wise comparison of equal-sized tensors in upstream order (row maps and Fortran
 * order applied; dtypes may differ: both are dequantized to f32). An element differs when
 * |a-b| > atol + rtol*|b| + stol*scale, where scale is b's absmax (over its finite values),
 * or when exactly one of a, b is NaN, or when they are infinities that differ. With stol 0
 * this is numpy.isclose. The stol term is the one that suits two fp32 computations of the
 * same model: their differences come from summation order in dot products, which scales
 * with the magnitude of the operands (the tensor's scale), not with each element (an
 * output near 0 by cancellation has a large relative error); see docs/tensors.md. */
typedef struct ls_difftol {
  double rtol, atol;  /* numpy.isclose's */
  double stol;        /* times b's absmax */
} ls_difftol;

typedef struct ls_diffstats {
  uint64_t count;
  uint64_t mismatches;    /* elements that differ as defined above */
  int64_t first_mismatch; /* flat row-major index of the first, -1 if none */
  double max_abs;         /* max |a-b| over elements where both are finite */
  int64_t max_abs_index;  /* where, -1 if none */
  double max_rel;         /* max |a-b|/|b| over finite pairs with b != 0 */
  double cosine;          /* dot(a,b)/(|a||b|) over finite pairs; NaN if a norm is 0 */
  double rmse;            /* sqrt(mean((a-b)^2)) over finite pairs */
  double scale;           /* b's absmax when stol > 0 (else 0); NaN if b has no finite value */
} ls_diffstats;

/* LS_ESHAPE when the element counts differ. With stol > 0, b is read twice (its absmax
 * first). ls_stats_diff is ls_stats_diff_tol with stol 0. */
int ls_stats_diff_tol(const ls_tensor *a, const ls_tensor *b, const ls_difftol *tol, ls_diffstats *out, ls_diag *d);
int ls_stats_diff(const ls_tensor *a, const ls_tensor *b, double rtol, double atol, ls_diffstats *out, ls_diag *d);
int ls_stats_diff_f32(const float *a, const float *b, uint64_t n, double rtol, double atol, ls_diffstats *out);

/* ------------------------------------------------------------ dispatch and threads */
typedef enum ls_simd { LS_SIMD_SCALAR, LS_SIMD_AVX2, LS_SIMD_AVX512 } ls_simd;
/* The path in use (the best the CPU has, unless forced). */
ls_simd ls_stats_simd(void);
const char *ls_stats_simd_name(ls_simd s);
/* Forces "scalar", "avx2", "avx512" or "auto"; LS_EUNSUPPORTED if the CPU lacks it,
 * LS_EINVAL for another name. Process-wide. */
int ls_stats_simd_force(const char *name);
/* Worker threads for statistics (default: online CPUs, or LAYERSCOPE_THREADS). Call
 * before the first statistics call; later calls are ignored. */
void ls_stats_threads_set(int n);

#endif
