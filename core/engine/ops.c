/* ops.c: weight decoding and the matrix product of the reference engine (see ops.h). The
 * element-wise, norm, RoPE and attention kernels live in ops_nn.c.
 *
 * The matrix product splits the output columns N into panels. A panel of a non-f32 weight
 * is decoded into the worker's scratch buffer (sized to stay in L2: about 1 MiB) and fed to
 * single-threaded sgemm; f32 panels go to sgemm straight from the mapping. Panels are sized
 * so that every worker gets at least two, and large enough that re-packing x for each panel
 * (sgemm packs its A operand per call) stays a small fraction of the work. A worker whose
 * panel buffer cannot be allocated makes the product fail with LS_ENOMEM. */
#include "core/engine/ops.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/engine/ops_bf16.h"
#include "core/engine/ops_q8.h"
#include "core/engine/ops_simd.h"
#include "core/tensor/dtype.h"

/* ---- encodings ----------------------------------------------------------------------- */

static const char *const k_wtype_names[LS_OPS_WTYPE_COUNT] = {"f32", "f16", "bf16", "q8_0",
                                                              "q4_0", "ext", "mxfp4"};

const char *ls_ops_mat_type_name(const ls_ops_mat *m) {
  if (m->type == LS_OPS_EXT) return ls_dtype_name((ls_dtype)m->ext);
  return m->type >= 0 && m->type < LS_OPS_WTYPE_COUNT ? k_wtype_names[m->type] : "?";
}

int ls_ops_mat_block_elems(const ls_ops_mat *m) {
  switch (m->type) {
  case LS_OPS_F32: case LS_OPS_F16: case LS_OPS_BF16: return 1;
  case LS_OPS_Q8_0: case LS_OPS_Q4_0: case LS_OPS_MXFP4: return 32;
  case LS_OPS_EXT: return m->ext >= 0 && m->ext < LS_DT_COUNT ? ls_dtype_block_elems((ls_dtype)m->ext) : 0;
  default: return 0;
  }
}

int ls_ops_mat_block_bytes(const ls_ops_mat *m) {
  switch (m->type) {
  case LS_OPS_F32: return 4;
  case LS_OPS_F16:
  case LS_OPS_BF16: return 2;
  case LS_OPS_Q8_0: return 34;
  case LS_OPS_Q4_0: return 18;
  case LS_OPS_MXFP4: return 16;
  case LS_OPS_EXT: return m->ext >= 0 && m->ext < LS_DT_COUNT ? ls_dtype_block_bytes((ls_dtype)m->ext) : 0;
  default: return 0;
  }
}

size_t ls_ops_mat_row_bytes(const ls_ops_mat *m) {
  int be = ls_ops_mat_block_elems(m), bb = ls_ops_mat_block_bytes(m);
  if (be <= 0 || bb <= 0 || m->cols < 0 || m->cols % be != 0) return 0;
  uint64_t blocks = (uint64_t)(m->cols / be);
  if (blocks > SIZE_MAX / (uint64_t)bb) return 0;
  return (size_t)(blocks * (uint64_t)bb);
}

int ls_ops_type_from_dtype(int dt, int *ext) {
  *ext = dt;
  switch (dt) {
  case LS_DT_F32: return LS_OPS_F32;
  case LS_DT_F16: return LS_OPS_F16;
  case LS_DT_BF16: return LS_OPS_BF16;
  case LS_DT_Q8_0: return LS_OPS_Q8_0;
  case LS_DT_Q4_0: return LS_OPS_Q4_0;
  case LS_DT_BOOL: return -1;
  default: return dt >= 0 && dt < LS_DT_COUNT ? LS_OPS_EXT : -1;
  }
}

float ls_ops_f16_to_f32(uint16_t h) { return ls__f16_to_f32(h); }
float ls_ops_bf16_to_f32(uint16_t h) { return ls__bf16_to_f32(h); }

uint16_t ls_ops_f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

uint16_t ls_ops_f32_to_f16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t au = u & 0x7fffffffu;
  if (au > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);
  if (au >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to inf */
  if (au < 0x38800000u) {                                      /* subnormal or zero */
    float a;
    memcpy(&a, &au, 4);
    /* a * 2^24 rounds to the nearest subnormal step with the FPU's round-to-even. */
    uint32_t m = (uint32_t)lrintf(a * 16777216.0f);
    return (uint16_t)(sign | m);
  }
  uint32_t mant = au & 0x7fffffu;
  uint32_t exp = (au >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
  return (uint16_t)(sign | h);
}

int64_t ls_ops_mat_stored_row(const ls_ops_mat *m, int64_t row) {
  if (m->rowmap_heads > 0 && m->rows % m->rowmap_heads == 0) {
    int64_t hd = m->rows / m->rowmap_heads, half = hd / 2;
    int64_t h = row / hd, r = row % hd;
    if (half > 0 && hd % 2 == 0) row = h * hd + 2 * (r % half) + r / half;
  }
  return row;
}

/* e2m1 code -> value (OCP MX spec; transformers integrations/mxfp4.py FP4_VALUES) */
static const float k_e2m1[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                 -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

/* n (whole blocks) values of mxfp4 blocks b with exponents sc into out. */
static void dec_mxfp4(float *out, const uint8_t *b, const uint8_t *sc, int64_t n) {
  for (int64_t k = 0; k < n / 32; k++) {
    const float s = ldexpf(1.0f, (int)sc[k] - 127);
    const uint8_t *q = b + k * 16;
    float *o = out + k * 32;
    for (int j = 0; j < 16; j++) {
      o[2 * j] = k_e2m1[q[j] & 15] * s;
      o[2 * j + 1] = k_e2m1[q[j] >> 4] * s;
    }
  }
}

void ls_ops_mat_row(const ls_ops_mat *m, int64_t row, int64_t col0, int64_t n, float *out) {
  size_t rb = ls_ops_mat_row_bytes(m);
  row = ls_ops_mat_stored_row(m, row);
  const uint8_t *r = (const uint8_t *)m->data + (size_t)row * rb;
  switch (m->type) {
  case LS_OPS_F32: memcpy(out, (const float *)r + col0, (size_t)n * sizeof(float)); break;
  case LS_OPS_F16: ls__dec_f16(out, (const uint16_t *)r + col0, n); break;
  case LS_OPS_BF16: ls__dec_bf16(out, (const uint16_t *)r + col0, n); break;
  case LS_OPS_Q8_0: ls__dec_q8_0(out, r + (col0 / 32) * 34, n); break;
  case LS_OPS_Q4_0: ls__dec_q4_0(out, r + (col0 / 32) * 18, n); break;
  case LS_OPS_MXFP4:
    dec_mxfp4(out, r + (col0 / 32) * 16, m->scales + (size_t)row * (size_t)(m->cols / 32) + col0 / 32, n);
    break;
  case LS_OPS_EXT: {
    int be = ls_ops_mat_block_elems(m), bb = ls_ops_mat_block_bytes(m);
    if (n % be == 0) {
      ls_dtype_to_f32((ls_dtype)m->ext, r + (col0 / be) * bb, (size_t)n, out);
    } else { /* a partial last block: decode it whole into a bounce buffer */
      float tmp[256];
      int64_t whole = n / be * be;
      ls_dtype_to_f32((ls_dtype)m->ext, r + (col0 / be) * bb, (size_t)whole, out);
      ls_dtype_to_f32((ls_dtype)m->ext, r + ((col0 + whole) / be) * bb, (size_t)be, tmp);
      memcpy(out + whole, tmp, (size_t)(n - whole) * sizeof(float));
    }
    break;
  }
  default: memset(out, 0, (size_t)n * sizeof(float)); break;
  }
}

void ls_ops_embed(const ls_ops_mat *table, int64_t id, float *out) {
  ls_ops_mat_row(table, id, 0, table->cols, out);
}

/* ---- matrix product ------------------------------------------------------------------ */

typedef struct mm_job {
  ls_pool *pool;
  float *y;            /* [M, N] */
  const float *x;      /* [M, K] */
  int64_t M, N, K;
  const ls_ops_mat *w; /* [N, K] if nk else [K, N] */
  int nk;
  int64_t nb;          /* panel width (output columns per task) */
  const float *bias;   /* [N] or NULL */
  atomic_int failed;   /* a worker could not get its panel buffer */
} mm_job;

static void mm_task(void *ctx, int i, int worker) {
  mm_job *j = ctx; /* not const: workers set j->failed */
  int64_t n0 = (int64_t)i * j->nb;
  int64_t nb = j->N - n0 < j->nb ? j->N - n0 : j->nb;
  const ls_ops_mat *w = j->w;
  const int64_t M = j->M, N = j->N, K = j->K;
  if (w->type == LS_OPS_F32 && w->rowmap_heads == 0) {
    const float *wf = w->data;
    if (j->nk)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)nb, (int)K, 1.0f, j->x,
                  (int)K, wf + n0 * K, (int)K, 0.0f, j->y + n0, (int)N);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)nb, (int)K, 1.0f, j->x,
                  (int)K, wf + n0, (int)N, 0.0f, j->y + n0, (int)N);
  } else {
    float *buf = ls_pool_scratch(j->pool, worker, (size_t)(nb * K) * sizeof(float));
    if (!buf) {
      atomic_store(&j->failed, 1);
      return;
    }
    if (j->nk) {
      for (int64_t r = 0; r < nb; r++) ls_ops_mat_row(w, n0 + r, 0, K, buf + r * K);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)nb, (int)K, 1.0f, j->x,
                  (int)K, buf, (int)K, 0.0f, j->y + n0, (int)N);
    } else {
      for (int64_t r = 0; r < K; r++) ls_ops_mat_row(w, r, n0, nb, buf + r * nb);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)nb, (int)K, 1.0f, j->x,
                  (int)K, buf, (int)nb, 0.0f, j->y + n0, (int)N);
    }
  }
  if (j->bias)
    for (int64_t m = 0; m < M; m++) ls_ops_add(j->y + m * N + n0, j->bias + n0, nb);
}

int ls_ops_matmul_multi(ls_pool *p, int n, float *const *ys, const float *x, int64_t M,
                        const ls_ops_mat *const *ws, int w_is_nk, const float *const *biases) {
  int bf16 = 1;
  for (int i = 0; i < n; i++) bf16 = bf16 && ws[i]->compute_bf16 && ls_ops_bf16_applies(ws[i]);
  if (bf16 && n > 1) return ls_ops_matmul_bf16_multi(p, n, ys, x, M, ws, w_is_nk, biases);
  for (int i = 0; i < n; i++) {
    int rc = ls_ops_matmul(p, ys[i], x, M, ws[i], w_is_nk, biases[i]);
    if (rc) return rc;
  }
  return LS_OK;
}

int ls_ops_matmul(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                  int w_is_nk, const float *bias) {
  /* The opt-in bf16 compute mode (ops_bf16.h); it never calls back here for such a w. */
  if (w->compute_bf16 && ls_ops_bf16_applies(w))
    return ls_ops_matmul_bf16(p, y, x, M, w, w_is_nk, bias);
  /* Q8_0 / Q4_0 as int8 products (ops_q8.h); a non-finite activation takes the fp32 path */
  if (ls_ops_q8_applies(w, w_is_nk)) {
    int rc = ls_ops_matmul_q8(p, y, x, M, w, bias);
    if (rc != LS_EUNSUPPORTED) return rc;
  }
  mm_job j = {.pool = p, .y = y, .x = x, .M = M, .w = w, .nk = w_is_nk, .bias = bias};
  atomic_init(&j.failed, 0);
  j.N = w_is_nk ? w->rows : w->cols;
  j.K = w_is_nk ? w->cols : w->rows;
  if (M <= 0 || j.N <= 0) return LS_OK;
  if (j.K <= 0) {
    for (int64_t m = 0; m < M; m++)
      for (int64_t c = 0; c < j.N; c++) y[m * j.N + c] = bias ? bias[c] : 0.0f;
    return LS_OK;
  }
  int threads = ls_pool_threads(p);
  /* whole quantization blocks along N for the [K, N] layout */
  int64_t align = w_is_nk ? 16 : (ls_ops_mat_block_elems(w) > 16 ? ls_ops_mat_block_elems(w) : 16);
  /* Decoded panel of about 1 MiB; f32 panels are not copied, so only balance matters. */
  int64_t nb = w->type == LS_OPS_F32 && !w->rowmap_heads ? j.N : (1 << 18) / j.K;
  int64_t per_worker = (j.N + 2 * threads - 1) / (2 * threads);
  if (threads > 1 && nb > per_worker) nb = per_worker;
  nb = (nb + align - 1) / align * align;
  if (nb < align) nb = align;
  if (nb > j.N) nb = j.N;
  j.nb = nb;
  int64_t tasks = (j.N + nb - 1) / nb;
  ls_pool_run(p, (int)tasks, mm_task, &j);
  return atomic_load(&j.failed) ? LS_ENOMEM : LS_OK;
}
