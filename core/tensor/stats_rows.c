/* stats_rows.c: per-row and per-column figures of a 2-D [rows, cols] tensor in the same
 * single pass that gives its whole statistics (stats.h, ls_stats_rows). Tasks take ranges
 * of rows; each row goes through the selected statistics kernel (so rows cost no more than
 * the flat pass) and, for column absmax, through a second loop over the same row while it
 * is still in cache, into a per-task [cols] array merged at the end. Rows longer than
 * LS__KERN_MAX are cut into pieces merged with Chan's formula.
 *
 * Column-major data (numpy's fortran_order, ls_stats_rows_colmajor) stores each row with
 * a stride of `rows` elements, so it is read in its own order instead: a task takes a
 * block of rows, walks the columns (each a contiguous run of the block's rows, read front
 * to back) and keeps running per-row sums of squares, minima, maxima and finite counts;
 * the column runs go through the same kernels for the whole statistics and the column
 * absmax. The per-row update is plain C, so this path runs at a few times below the
 * row-major one (about 1 GB/s per core against memory bandwidth); gathering rows through
 * a tile transpose instead was slower still (a TLB miss per column of every tile). */
#include <math.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/stats.h"
#include "core/tensor/stats_kern.h"
#include "core/tensor/tpool.h"

#define COL_MAX ((int64_t)1 << 24) /* column absmax only up to this many columns */
#define ROW_BUF 4096
#define COLMAJOR_RB 512            /* column-major: rows per block (accumulators stay in L1) */

typedef struct rows_job {
  const ls__kernels *k;
  ls_dtype dt;
  const unsigned char *data;
  int64_t rows, cols, per_task;
  uint64_t row_bytes;
  int colmajor;      /* data is [cols][rows]: element (r, c) at c * rows + r */
  size_t esz;        /* bytes per element (column-major: plain dtypes only) */
  ls_rowstats *out;
  ls__part *parts;   /* [n_tasks] */
  float *colmax;     /* [n_tasks][cols] or NULL */
} rows_job;

/* Column-major data, rows [r0, r1) of one task, in blocks of COLMAJOR_RB rows: each column
 * of a block is contiguous, so it goes through the kernel (for the total and the column's
 * absmax) and then updates the block's per-row sums of squares, minima, maxima and finite
 * counts, in double (f64 is read as it is, other dtypes through f32 as everywhere). */
static void colmajor_task(const rows_job *j, int64_t r0, int64_t r1, ls__part *tot, float *cm) {
  double ss[COLMAJOR_RB], mn[COLMAJOR_RB], mx[COLMAJOR_RB];
  int64_t cnt[COLMAJOR_RB];
  float buf[COLMAJOR_RB];
  for (int64_t rb = r0; rb < r1; rb += COLMAJOR_RB) {
    size_t nr = (size_t)(r1 - rb < COLMAJOR_RB ? r1 - rb : COLMAJOR_RB);
    for (size_t i = 0; i < nr; i++) { ss[i] = 0; mn[i] = INFINITY; mx[i] = -INFINITY; cnt[i] = 0; }
    for (int64_t c = 0; c < j->cols; c++) {
      const unsigned char *seg = j->data + ((uint64_t)c * (uint64_t)j->rows + (uint64_t)rb) * j->esz;
      ls__part p;
      ls__stats_range(j->k, j->dt, seg, nr, &p);
      ls__part_merge(tot, &p);
      if (cm && p.finite) {
        float a = (float)(fabs(p.min) > fabs(p.max) ? fabs(p.min) : fabs(p.max));
        if (a > cm[c]) cm[c] = a;
      }
#define ACCUMULATE(LOAD)                  \
  for (size_t i = 0; i < nr; i++) {       \
    double v_ = (LOAD);                   \
    if (!isfinite(v_)) continue;          \
    ss[i] += v_ * v_;                     \
    mn[i] = v_ < mn[i] ? v_ : mn[i];      \
    mx[i] = v_ > mx[i] ? v_ : mx[i];      \
    cnt[i]++;                             \
  }
      if (j->dt == LS_DT_F64) {
        double v;
        ACCUMULATE((memcpy(&v, seg + i * 8, 8), v))
      } else {
        const float *f = (const float *)(const void *)seg;
        if (j->dt != LS_DT_F32 || ((uintptr_t)seg & 3)) {
          ls_dtype_to_f32(j->dt, seg, nr, buf);
          f = buf;
        }
        ACCUMULATE(f[i])
      }
#undef ACCUMULATE
    }
    ls_rowstats *o = j->out;
    for (size_t i = 0; i < nr; i++) {
      int64_t r = rb + (int64_t)i;
      o->row_absmax[r] = cnt[i] ? (float)(fabs(mn[i]) > fabs(mx[i]) ? fabs(mn[i]) : fabs(mx[i])) : NAN;
      o->row_norm[r] = sqrt(ss[i]);
      o->row_const[r] = cnt[i] == j->cols && mn[i] == mx[i];
    }
  }
}

static void rows_task(void *ctx, int t) {
  rows_job *j = ctx;
  int64_t r0 = (int64_t)t * j->per_task, r1 = r0 + j->per_task < j->rows ? r0 + j->per_task : j->rows;
  ls__part *tot = &j->parts[t];
  ls__part_init(tot);
  float *cm = j->colmax ? j->colmax + (size_t)t * (size_t)j->cols : NULL;
  if (j->colmajor) {
    colmajor_task(j, r0, r1, tot, cm);
    return;
  }
  size_t be = (size_t)ls_dtype_block_elems(j->dt), bb = (size_t)ls_dtype_block_bytes(j->dt);
  float buf[ROW_BUF];
  for (int64_t r = r0; r < r1; r++) {
    const unsigned char *row = j->data + (uint64_t)r * j->row_bytes;
    ls__part rp;
    ls__part_init(&rp);
    for (int64_t c = 0; c < j->cols; c += (int64_t)LS__KERN_MAX) {
      size_t m = (size_t)(j->cols - c < (int64_t)LS__KERN_MAX ? j->cols - c : (int64_t)LS__KERN_MAX);
      ls__part p;
      ls__stats_range(j->k, j->dt, row + (size_t)c / be * bb, m, &p);
      ls__part_merge(&rp, &p);
    }
    if (cm) {
      if (j->dt == LS_DT_F32 && ((uintptr_t)row & 3) == 0) {
        j->k->colmax(cm, (const float *)row, (size_t)j->cols);
      } else if (j->dt == LS_DT_BF16) {
        j->k->colmax_bf16(cm, row, (size_t)j->cols);
      } else if (j->dt == LS_DT_F16) {
        j->k->colmax_f16(cm, row, (size_t)j->cols);
      } else {
        for (int64_t c = 0; c < j->cols; c += ROW_BUF) {
          size_t m = (size_t)(j->cols - c < ROW_BUF ? j->cols - c : ROW_BUF);
          ls_dtype_to_f32(j->dt, row + (size_t)c / be * bb, m, buf);
          j->k->colmax(cm + c, buf, m);
        }
      }
    }
    ls_rowstats *o = j->out;
    if (rp.finite) {
      o->row_absmax[r] = (float)(fabs(rp.min) > fabs(rp.max) ? fabs(rp.min) : fabs(rp.max));
      o->row_norm[r] = sqrt(rp.m2 + (double)rp.finite * rp.mean * rp.mean);
    } else {
      o->row_absmax[r] = NAN;
      o->row_norm[r] = 0;
    }
    o->row_const[r] = rp.finite == (uint64_t)j->cols && rp.min == rp.max;
    ls__part_merge(tot, &rp);
  }
}

static int rows_run(ls_dtype dt, const void *data, int64_t rows, int64_t cols, int colmajor, ls_rowstats *out,
                    ls_stats *total) {
  memset(out, 0, sizeof *out);
  uint64_t row_bytes, n;
  if ((unsigned)dt >= LS_DT_COUNT || rows < 0 || cols < 0 || __builtin_mul_overflow((uint64_t)rows, (uint64_t)cols, &n) ||
      ls_dtype_nbytes(dt, (uint64_t)cols, &row_bytes) || (n && !data))
    return LS_EINVAL;
  size_t esz = (size_t)ls_dtype_block_bytes(dt);
  if (colmajor && ls_dtype_block_elems(dt) != 1) return LS_EUNSUPPORTED;
  out->rows = rows;
  out->cols = cols;
  out->row_absmax = ls_calloc(rows ? (size_t)rows : 1, sizeof(float));
  out->row_norm = ls_calloc(rows ? (size_t)rows : 1, sizeof(double));
  out->row_const = ls_calloc(rows ? (size_t)rows : 1, 1);
  out->col_absmax = cols <= COL_MAX ? ls_calloc(cols ? (size_t)cols : 1, sizeof(float)) : NULL;
  int threads = ls__tpool_threads();
  int64_t tasks = rows < (int64_t)threads * 8 ? rows : (int64_t)threads * 8;
  /* Small matrices: fewer tasks, each of at least ~64K elements. */
  if (cols > 0 && tasks > 1 && (int64_t)(n / (uint64_t)tasks) < 65536) tasks = (int64_t)(n / 65536) + 1;
  if (tasks > rows) tasks = rows;
  if (tasks < 1) tasks = 1;
  rows_job j = {ls__stats_kernels(), dt, data, rows, cols, (rows + tasks - 1) / tasks, row_bytes, colmajor, esz, out,
                NULL, NULL};
  if (j.per_task < 1) j.per_task = 1;
  tasks = (rows + j.per_task - 1) / j.per_task;
  if (tasks < 1) tasks = 1;
  j.parts = ls_calloc((size_t)tasks, sizeof(ls__part));
  if (out->col_absmax && cols) j.colmax = ls_calloc((size_t)tasks * (size_t)cols, sizeof(float));
  if (!out->row_absmax || !out->row_norm || !out->row_const || (cols <= COL_MAX && !out->col_absmax) || !j.parts ||
      (out->col_absmax && cols && !j.colmax)) {
    ls_free(j.parts);
    ls_free(j.colmax);
    ls_rowstats_free(out);
    return LS_ENOMEM;
  }
  if (rows > 0) ls__tpool_run((int)tasks, rows_task, &j);
  ls__part tot;
  ls__part_init(&tot);
  for (int64_t t = 0; t < tasks; t++) {
    if (rows > 0) ls__part_merge(&tot, &j.parts[t]);
    if (j.colmax)
      for (int64_t c = 0; c < cols; c++) {
        float v = j.colmax[(size_t)t * (size_t)cols + (size_t)c];
        if (v > out->col_absmax[c]) out->col_absmax[c] = v;
      }
  }
  if (total) ls__stats_finish(&tot, n, total);
  ls_free(j.parts);
  ls_free(j.colmax);
  return LS_OK;
}

int ls_stats_rows(ls_dtype dt, const void *data, int64_t rows, int64_t cols, ls_rowstats *out, ls_stats *total) {
  return rows_run(dt, data, rows, cols, 0, out, total);
}

int ls_stats_rows_colmajor(ls_dtype dt, const void *data, int64_t rows, int64_t cols, ls_rowstats *out,
                           ls_stats *total) {
  return rows_run(dt, data, rows, cols, 1, out, total);
}

void ls_rowstats_free(ls_rowstats *r) {
  if (!r) return;
  ls_free(r->row_absmax);
  ls_free(r->row_norm);
  ls_free(r->row_const);
  ls_free(r->col_absmax);
  memset(r, 0, sizeof *r);
}
