/* ops_bf16.c: the bf16 matrix product of the engine's opt-in bf16 compute mode (see
 * ops_bf16.h for what is rounded where).
 *
 * Kernel. For a Linear weight [N, K] the dot product runs along K, which is contiguous in
 * both an activation row and a weight row, so the micro-kernel takes 6 activation rows and
 * 4 weight rows and issues 6 x 4 vdpbf16ps per 32 bf16 of K (10 loads for 24 products;
 * 24 accumulators + 4 weight vectors + 1 activation vector = 29 of the 32 zmm registers),
 * then folds each row's 4 accumulators into 4 sums with one shuffle tree. K is cut in
 * chunks of 1024 so the 6 activation rows of a chunk stay in L1 while a panel of weight
 * rows (about 256 KiB) stays in L2; a K tail below 32 uses masked loads, which never touch
 * memory past the end of a row (weights are read straight from the file mapping). Row and
 * token tails re-use the last valid row and discard the extra results.
 *
 * Panels. The pool splits N into panels of weight rows, as ls_ops_matmul does. A bf16
 * Linear panel is used in place; anything else (GPT-2 Conv1D weights [K, N], f16/f32
 * weights, GGUF interleaved q/k rows) is first written into the worker's scratch as bf16
 * rows [panel, K]: a transpose for Conv1D, a round-to-nearest-even for f16/f32.
 *
 * The activations x[M, K] are rounded to bf16 once per call (round to nearest even, NaN
 * kept quiet, exactly as ls_ops_f32_to_bf16 and PyTorch's float->bfloat16 cast). */
#include "core/engine/ops_bf16.h"

#include <stdatomic.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LS_BF16_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

int ls_ops_bf16_supported(void) {
#ifdef LS_BF16_X86
  static atomic_int cached = -1;
  int v = atomic_load(&cached);
  if (v >= 0) return v;
  unsigned a, b, c, d;
  v = 0;
  /* OSXSAVE, then XCR0 must enable SSE, AVX, opmask, ZMM_Hi256 and Hi16_ZMM state: a CPU
   * with AVX-512 under an OS that does not save zmm registers must not use them. */
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27))) {
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    if ((xlo & 0xe6u) == 0xe6u && __get_cpuid_max(0, NULL) >= 7) {
      __cpuid_count(7, 0, a, b, c, d);
      /* EBX bit 16 AVX512F, bit 30 AVX512BW; EAX = highest subleaf of leaf 7 */
      if ((b & (1u << 16)) && (b & (1u << 30)) && a >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        v = (a >> 5) & 1u; /* AVX512_BF16 (gcc 12's __builtin_cpu_supports lacks it) */
      }
    }
  }
  atomic_store(&cached, v);
  return v;
#else
  return 0;
#endif
}

int ls_ops_bf16_applies(const ls_ops_mat *w) {
  return (w->type == LS_OPS_BF16 || w->type == LS_OPS_F16 || w->type == LS_OPS_F32) &&
         ls_ops_bf16_supported();
}

#ifdef LS_BF16_X86

#define BF_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define BF_MR 6     /* activation rows per micro-kernel */
#define BF_NR 4     /* weight rows per micro-kernel */
#define BF_KC 1024  /* K chunk: 6 activation rows of it are 12 KiB (L1) */

/* xb[n] = bf16(x[n]) rounded to nearest even; NaN stays a quiet NaN. */
BF_TARGET static void bf_round(const float *x, uint16_t *xb, int64_t n) {
  const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff);
  const __m512i absm = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i qbit = _mm512_set1_epi32(0x40);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i u = _mm512_castps_si512(_mm512_loadu_ps(x + i));
    __m512i hi = _mm512_srli_epi32(u, 16);
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(hi, one)));
    r = _mm512_srli_epi32(r, 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, absm), inf);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(hi, qbit));
    _mm256_storeu_si256((__m256i *)(xb + i), _mm512_cvtepi32_epi16(r));
  }
  for (; i < n; i++) xb[i] = ls_ops_f32_to_bf16(x[i]);
}

/* Sums of each of a, b, c, d: {sum(a), sum(b), sum(c), sum(d)}. */
BF_TARGET static inline __m128 bf_sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  /* per 128-bit lane: ab = {a0+a2, b0+b2, a1+a3, b1+b3}, cd likewise */
  __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
  __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  __m512d abd = _mm512_castps_pd(ab), cdd = _mm512_castps_pd(cd);
  /* per lane {a, b, c, d} partial sums */
  __m512 t = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(abd, cdd)),
                           _mm512_castpd_ps(_mm512_unpackhi_pd(abd, cdd)));
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(t),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

#define BF_LD(p) ((__m512bh)_mm512_loadu_si512((const void *)(p)))
#define BF_LDM(m, p) ((__m512bh)_mm512_maskz_loadu_epi16((m), (const void *)(p)))
#define BF_DP4(c, a)                        \
  do {                                      \
    c##0 = _mm512_dpbf16_ps(c##0, a, b0);   \
    c##1 = _mm512_dpbf16_ps(c##1, a, b1);   \
    c##2 = _mm512_dpbf16_ps(c##2, a, b2);   \
    c##3 = _mm512_dpbf16_ps(c##3, a, b3);   \
  } while (0)
#define BF_ZERO4(c) __m512 c##0 = _mm512_setzero_ps(), c##1 = c##0, c##2 = c##0, c##3 = c##0

/* out[6][4] = x rows xr[0..5] . weight rows wr[0..3] over K bf16 elements. */
BF_TARGET static void bf_kernel(const uint16_t *const *xr, const uint16_t *const *wr, int64_t K,
                                float *out /* [BF_MR, BF_NR] */) {
  const uint16_t *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3], *x4 = xr[4], *x5 = xr[5];
  const uint16_t *w0 = wr[0], *w1 = wr[1], *w2 = wr[2], *w3 = wr[3];
  BF_ZERO4(c0); BF_ZERO4(c1); BF_ZERO4(c2); BF_ZERO4(c3); BF_ZERO4(c4); BF_ZERO4(c5);
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh b0 = BF_LD(w0 + k), b1 = BF_LD(w1 + k), b2 = BF_LD(w2 + k), b3 = BF_LD(w3 + k);
    BF_DP4(c0, BF_LD(x0 + k));
    BF_DP4(c1, BF_LD(x1 + k));
    BF_DP4(c2, BF_LD(x2 + k));
    BF_DP4(c3, BF_LD(x3 + k));
    BF_DP4(c4, BF_LD(x4 + k));
    BF_DP4(c5, BF_LD(x5 + k));
  }
  if (k < K) { /* masked tail: zeros beyond K on both sides contribute nothing */
    __mmask32 m = (__mmask32)((1u << (unsigned)(K - k)) - 1u);
    __m512bh b0 = BF_LDM(m, w0 + k), b1 = BF_LDM(m, w1 + k), b2 = BF_LDM(m, w2 + k),
             b3 = BF_LDM(m, w3 + k);
    BF_DP4(c0, BF_LDM(m, x0 + k));
    BF_DP4(c1, BF_LDM(m, x1 + k));
    BF_DP4(c2, BF_LDM(m, x2 + k));
    BF_DP4(c3, BF_LDM(m, x3 + k));
    BF_DP4(c4, BF_LDM(m, x4 + k));
    BF_DP4(c5, BF_LDM(m, x5 + k));
  }
  _mm_storeu_ps(out + 0, bf_sum4(c00, c01, c02, c03));
  _mm_storeu_ps(out + 4, bf_sum4(c10, c11, c12, c13));
  _mm_storeu_ps(out + 8, bf_sum4(c20, c21, c22, c23));
  _mm_storeu_ps(out + 12, bf_sum4(c30, c31, c32, c33));
  _mm_storeu_ps(out + 16, bf_sum4(c40, c41, c42, c43));
  _mm_storeu_ps(out + 20, bf_sum4(c50, c51, c52, c53));
}

typedef struct bf_job {
  ls_pool *pool;
  float *y;            /* [M, N] */
  const float *x;      /* [M, K] fp32 input */
  uint16_t *xb;        /* [M, K] x rounded to bf16 */
  int64_t M, N, K;
  const ls_ops_mat *w; /* [N, K] if nk else [K, N] */
  int nk;
  int64_t nb;          /* panel: weight rows (output columns) per task */
  int64_t xrows;       /* activation rows per rounding task */
  const float *bias;   /* [N] or NULL */
  atomic_int failed;   /* a worker could not get its panel buffer */
} bf_job;

static void bf_round_task(void *ctx, int i, int worker) {
  (void)worker;
  bf_job *j = ctx;
  int64_t r0 = (int64_t)i * j->xrows;
  int64_t n = j->M - r0 < j->xrows ? j->M - r0 : j->xrows;
  bf_round(j->x + r0 * j->K, j->xb + r0 * j->K, n * j->K);
}

/* 16 x 16 transpose of 32-bit elements in registers (r[i] row i in, column i out). */
BF_TARGET static inline void bf_tr16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    __m512i a = t[4 * i], b = t[4 * i + 1], c = t[4 * i + 2], d = t[4 * i + 3];
    r[4 * i] = _mm512_unpacklo_epi64(a, c);
    r[4 * i + 1] = _mm512_unpackhi_epi64(a, c);
    r[4 * i + 2] = _mm512_unpacklo_epi64(b, d);
    r[4 * i + 3] = _mm512_unpackhi_epi64(b, d);
  }
  /* now r[4i + j] holds, in 128-bit lane L, element j of rows 4i..4i+3, columns 4L..4L+3 */
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_i32x4(r[i], r[4 + i], 0x88);
    t[4 + i] = _mm512_shuffle_i32x4(r[i], r[4 + i], 0xdd);
    t[8 + i] = _mm512_shuffle_i32x4(r[8 + i], r[12 + i], 0x88);
    t[12 + i] = _mm512_shuffle_i32x4(r[8 + i], r[12 + i], 0xdd);
  }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_i32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_i32x4(t[i], t[8 + i], 0xdd);
  }
}

/* Conv1D panel: buf[c, k] = src[k, n0 + c] for c < cnt, bf16 [K, N] source. Blocks of 32 k
 * x 16 columns go through registers: rows k, k+1 are zipped into 32-bit pairs, which a
 * 16 x 16 transpose turns into 16 destination rows of 32 consecutive k. The k blocks are
 * the outer loop, so each of the 32 source rows is read sequentially; the destination
 * panel stays in L2. Edges are scalar. (This costs about 40% of the kernel's time in a
 * GPT-2 pass, mostly waiting for the weights to arrive from memory.) */
BF_TARGET static void bf_transpose(const uint16_t *src, int64_t N, int64_t K, int64_t n0,
                                   int64_t cnt, uint16_t *buf) {
  const int64_t cfull = cnt / 16 * 16, kfull = K / 32 * 32;
  for (int64_t k0 = 0; k0 < kfull; k0 += 32)
    for (int64_t c0 = 0; c0 < cfull; c0 += 16) {
      __m512i r[16];
      for (int i = 0; i < 16; i++) {
        const uint16_t *s = src + (k0 + 2 * i) * N + n0 + c0;
        __m512i lo = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)s));
        __m512i hi = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(s + N)));
        r[i] = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
      }
      bf_tr16(r);
      for (int c = 0; c < 16; c++) _mm512_storeu_si512((void *)(buf + (c0 + c) * K + k0), r[c]);
    }
  for (int64_t k = kfull; k < K; k++)
    for (int64_t c = 0; c < cfull; c++) buf[c * K + k] = src[k * N + n0 + c];
  for (int64_t c = cfull; c < cnt; c++)
    for (int64_t k = 0; k < K; k++) buf[c * K + k] = src[k * N + n0 + c];
}

/* Writes weight rows [n0, n0 + cnt) as bf16 rows buf[cnt, K]; tmp holds max(K, cnt) floats. */
static void bf_pack(const bf_job *j, int64_t n0, int64_t cnt, uint16_t *buf, float *tmp) {
  const ls_ops_mat *w = j->w;
  const int64_t K = j->K;
  if (j->nk) {
    for (int64_t r = 0; r < cnt; r++) {
      ls_ops_mat_row(w, n0 + r, 0, K, tmp);
      bf_round(tmp, buf + r * K, K);
    }
  } else if (w->type == LS_OPS_BF16 && w->rowmap_heads == 0) {
    bf_transpose(w->data, j->N, K, n0, cnt, buf);
  } else {
    for (int64_t k = 0; k < K; k++) {
      ls_ops_mat_row(w, k, n0, cnt, tmp);
      for (int64_t c = 0; c < cnt; c++) buf[c * K + k] = ls_ops_f32_to_bf16(tmp[c]);
    }
  }
}

static void bf_task(void *ctx, int i, int worker) {
  bf_job *j = ctx;
  const int64_t M = j->M, N = j->N, K = j->K;
  int64_t n0 = (int64_t)i * j->nb;
  int64_t cnt = N - n0 < j->nb ? N - n0 : j->nb;
  const ls_ops_mat *w = j->w;
  const uint16_t *wp; /* [cnt, K] bf16 weight rows of this panel */
  if (j->nk && w->type == LS_OPS_BF16 && w->rowmap_heads == 0) {
    wp = (const uint16_t *)w->data + n0 * K;
  } else {
    size_t tmp_bytes = ((size_t)(K > cnt ? K : cnt) * sizeof(float) + 63) / 64 * 64;
    uint8_t *s = (uint8_t *)ls_pool_scratch(j->pool, worker,
                                            tmp_bytes + (size_t)(cnt * K) * sizeof(uint16_t));
    if (!s) {
      atomic_store(&j->failed, 1);
      return;
    }
    uint16_t *buf = (uint16_t *)(s + tmp_bytes);
    bf_pack(j, n0, cnt, buf, (float *)s);
    wp = buf;
  }
  float out[BF_MR * BF_NR];
  for (int64_t kc = 0; kc < K; kc += BF_KC) {
    int64_t kn = K - kc < BF_KC ? K - kc : BF_KC;
    for (int64_t m0 = 0; m0 < M; m0 += BF_MR) {
      const uint16_t *xr[BF_MR];
      int64_t mn = M - m0 < BF_MR ? M - m0 : BF_MR;
      for (int a = 0; a < BF_MR; a++) xr[a] = j->xb + (m0 + (a < mn ? a : mn - 1)) * K + kc;
      for (int64_t r0 = 0; r0 < cnt; r0 += BF_NR) {
        const uint16_t *wr[BF_NR];
        int64_t rn = cnt - r0 < BF_NR ? cnt - r0 : BF_NR;
        for (int b = 0; b < BF_NR; b++) wr[b] = wp + (r0 + (b < rn ? b : rn - 1)) * K + kc;
        bf_kernel(xr, wr, kn, out);
        for (int64_t a = 0; a < mn; a++) {
          float *yr = j->y + (m0 + a) * N + n0 + r0;
          for (int64_t b = 0; b < rn; b++) {
            float base = kc > 0 ? yr[b] : j->bias ? j->bias[n0 + r0 + b] : 0.0f;
            yr[b] = base + out[a * BF_NR + b];
          }
        }
      }
    }
  }
}

int ls_ops_matmul_bf16(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                       int w_is_nk, const float *bias) {
  if (!ls_ops_bf16_applies(w)) return ls_ops_matmul(p, y, x, M, w, w_is_nk, bias);
  bf_job j = {.pool = p, .y = y, .x = x, .M = M, .w = w, .nk = w_is_nk, .bias = bias};
  atomic_init(&j.failed, 0);
  j.N = w_is_nk ? w->rows : w->cols;
  j.K = w_is_nk ? w->cols : w->rows;
  if (M <= 0 || j.N <= 0) return LS_OK;
  if (j.K <= 0) { /* (not ls_ops_matmul: it would dispatch back here for a bf16 matrix) */
    for (int64_t m = 0; m < M; m++)
      for (int64_t c = 0; c < j.N; c++) y[m * j.N + c] = bias ? bias[c] : 0.0f;
    return LS_OK;
  }
  /* M * K floats exist in x, so M * K bf16 cannot overflow size_t */
  j.xb = ls_malloc((size_t)(M * j.K) * sizeof(uint16_t));
  if (!j.xb) return LS_ENOMEM;
  int threads = ls_pool_threads(p);
  if (threads < 1) threads = 1;
  /* rounding x is O(M K) against O(M N K): split it only when there is enough of it */
  j.xrows = M * j.K < (1 << 16) ? M : (M + 2 * threads - 1) / (2 * threads);
  ls_pool_run(p, (int)((M + j.xrows - 1) / j.xrows), bf_round_task, &j);
  /* panel of about 256 KiB of bf16 per K chunk, at least two panels per worker */
  int64_t kc = j.K < BF_KC ? j.K : BF_KC;
  int64_t nb = (1 << 17) / kc;
  int64_t per_worker = (j.N + 2 * threads - 1) / (2 * threads);
  if (threads > 1 && nb > per_worker) nb = per_worker;
  nb = (nb + 15) / 16 * 16;
  if (nb > j.N) nb = j.N;
  j.nb = nb;
  ls_pool_run(p, (int)((j.N + nb - 1) / nb), bf_task, &j);
  ls_free(j.xb);
  return atomic_load(&j.failed) ? LS_ENOMEM : LS_OK;
}

#else /* no x86-64: ls_ops_bf16_supported() is 0, every product takes the fp32 path */

int ls_ops_matmul_bf16(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                       int w_is_nk, const float *bias) {
  return ls_ops_matmul(p, y, x, M, w, w_is_nk, bias);
}

#endif
