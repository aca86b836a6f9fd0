/* ops_bf16.c: the bf16 matrix product of the engine's opt-in bf16 compute mode (see
 * ops_bf16.h for what is rounded where).
 *
 * Kernels. vdpbf16ps multiplies pairs of bf16 and adds both products to an fp32 lane.
 *  - Dot kernel (bf_kernel), for Linear weights [N, K]: the dot product runs along K, which
 *    is contiguous in both an activation row and a weight row: 8 activation rows x 3 weight
 *    rows, 8 x 3 vdpbf16ps per 32 bf16 of K (11 loads for 24 products; 24 accumulators + 3
 *    weight vectors + 1 activation vector = 28 of the 32 zmm registers), then each row's 3
 *    accumulators folded into 3 sums with one shuffle tree. (6 x 4 was 4-6% slower on
 *    TinyLlama: 4 weight rows per step stream more bytes from L2 per product, and 128 tokens
 *    are 16 blocks of 8 rows but 22 blocks of 6 with 4 rows computed twice.) bf16 weights
 *    are read in place from the mapping; on the first row block the kernel prefetches the
 *    next 3 weight rows a line per step, so the weights stream in from memory while it
 *    computes (packing the
 *    panel into pair order for the pair kernel instead was tried: 2-3% slower on TinyLlama,
 *    the packing pass being where the memory stalls land). f16/f32 weights and GGUF
 *    interleaved q/k rows are first rounded into bf16 rows in the worker's scratch.
 *  - Pair kernel (bf_kernel_kn), for Conv1D weights [K, N] (GPT-2, N contiguous): 12
 *    activation rows x 32 output columns, 24 accumulators; per pair of K it zips rows k and
 *    k + 1 of W in registers into 32 columns of (W[k, c], W[k + 1, c]) pairs (two vectors)
 *    and broadcasts each activation row's (x[k], x[k + 1]) pair: 2 vector loads, 2 zips and
 *    12 4-byte broadcasts for 24 products, read in place with the next column block
 *    prefetched.
 * K is cut in chunks (2048 for the dot kernel, 1024 for the pair kernel: 32 and 24 KiB of
 * activation rows, which stay in L1 while a panel of weights, about 256 KiB, stays in L2;
 * chunks of 1024 for the dot kernel were 3-4% slower, its shuffle tree and stores being per
 * chunk). K tails use masked loads, which never touch memory past the end of a row (weights
 * are read straight from the file mapping). Row and column tails re-use the last valid row
 * or mask, and the results go to y with masked stores (plus bias on the first K chunk, added
 * to y on later ones).
 *
 * Panels. The pool splits N into panels of output columns (weight rows), as ls_ops_matmul
 * does, at least two per worker. A job may hold several products of the same x
 * (ls_ops_matmul_bf16_multi: q/k/v, gate/up): their panels are split together, so x is
 * rounded once and the [256, 2048] k and v projections of a grouped-query model do not each
 * leave a worker idle (alone, two threads made them no faster than one). Prefetching a
 * task's next panel into L2 during the current one was tried: no gain on TinyLlama.
 *
 * The activations x[M, K] are rounded to bf16 once per call (round to nearest even, NaN
 * kept quiet, exactly as ls_ops_f32_to_bf16 and PyTorch's float->bfloat16 cast). */
#include "core/engine/ops_bf16.h"
#include "core/engine/ops_dnnl.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/cpu.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LS_BF16_X86 1
#include <immintrin.h>
#endif

int ls_ops_bf16_supported(void) {
#ifdef LS_BF16_X86
  static atomic_int cached = -1;
  int v = atomic_load(&cached);
  if (v >= 0) return v;
  ls_cpu_leaf7 l;
  v = ls_cpu_avx512(&l) && (l.ebx & LS_CPU_EBX_AVX512F) && (l.ebx & LS_CPU_EBX_AVX512BW) &&
      (l.eax1 & LS_CPU_EAX1_AVX512_BF16);
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
#define BF_MR 8     /* activation rows per micro-kernel */
#define BF_NR 3     /* weight rows per micro-kernel */
#define BF_KC 2048  /* K chunk of the dot kernel: 8 activation rows of it are 32 KiB (L1) */

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
#define BF_DP3(c, a)                        \
  do {                                      \
    c##0 = _mm512_dpbf16_ps(c##0, a, b0);   \
    c##1 = _mm512_dpbf16_ps(c##1, a, b1);   \
    c##2 = _mm512_dpbf16_ps(c##2, a, b2);   \
  } while (0)
#define BF_ZERO3(c) __m512 c##0 = _mm512_setzero_ps(), c##1 = c##0, c##2 = c##0

/* Where a micro-kernel's block of results goes: y[rows, cols] at stride ldy (rows and cols
 * may be below the kernel's block on the edges). The first K chunk stores bias + sum (or the
 * sum alone without bias); later chunks add to what is there. */
typedef struct bf_out {
  float *y;            /* [rows, cols] at stride ldy */
  int64_t ldy;
  int rows, cols;
  const float *bias;   /* [cols] or NULL; first chunk only */
  int acc;             /* 1: add to y (a later K chunk) */
} bf_out;

/* One row of up to 16 results: v (+ bias | + y) stored under mask m. */
BF_TARGET static inline void bf_put16(const bf_out *o, float *y, const float *bias, __m512 v, __mmask16 m) {
  if (o->acc) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, y));
  else if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias));
  _mm512_mask_storeu_ps(y, m, v);
}

BF_TARGET static inline void bf_put4(const bf_out *o, float *y, const float *bias, __m128 v, __mmask8 m) {
  if (o->acc) v = _mm_add_ps(v, _mm_maskz_loadu_ps(m, y));
  else if (bias) v = _mm_add_ps(v, _mm_maskz_loadu_ps(m, bias));
  _mm_mask_storeu_ps(y, m, v);
}

/* o = x rows xr[0..7] . weight rows wr[0..2] over K bf16 elements. */
BF_TARGET static void bf_kernel(const uint16_t *const *xr, const uint16_t *const *wr, int64_t K,
                                uintptr_t pf, int64_t ldw, const bf_out *o /* [<= BF_MR, <= BF_NR] */) {
  const uint16_t *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3], *x4 = xr[4], *x5 = xr[5],
                 *x6 = xr[6], *x7 = xr[7];
  const uint16_t *w0 = wr[0], *w1 = wr[1], *w2 = wr[2];
  BF_ZERO3(c0); BF_ZERO3(c1); BF_ZERO3(c2); BF_ZERO3(c3);
  BF_ZERO3(c4); BF_ZERO3(c5); BF_ZERO3(c6); BF_ZERO3(c7);
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    if (pf) { /* the next 3 weight rows (first row block only): one line of each per step */
      uintptr_t q = pf + (uintptr_t)k * 2, st = (uintptr_t)ldw * 2;
      _mm_prefetch((const char *)q, _MM_HINT_T0);
      _mm_prefetch((const char *)(q + st), _MM_HINT_T0);
      _mm_prefetch((const char *)(q + 2 * st), _MM_HINT_T0);
    }
    __m512bh b0 = BF_LD(w0 + k), b1 = BF_LD(w1 + k), b2 = BF_LD(w2 + k);
    BF_DP3(c0, BF_LD(x0 + k));
    BF_DP3(c1, BF_LD(x1 + k));
    BF_DP3(c2, BF_LD(x2 + k));
    BF_DP3(c3, BF_LD(x3 + k));
    BF_DP3(c4, BF_LD(x4 + k));
    BF_DP3(c5, BF_LD(x5 + k));
    BF_DP3(c6, BF_LD(x6 + k));
    BF_DP3(c7, BF_LD(x7 + k));
  }
  if (k < K) { /* masked tail: zeros beyond K on both sides contribute nothing */
    __mmask32 m = (__mmask32)((1u << (unsigned)(K - k)) - 1u);
    __m512bh b0 = BF_LDM(m, w0 + k), b1 = BF_LDM(m, w1 + k), b2 = BF_LDM(m, w2 + k);
    BF_DP3(c0, BF_LDM(m, x0 + k));
    BF_DP3(c1, BF_LDM(m, x1 + k));
    BF_DP3(c2, BF_LDM(m, x2 + k));
    BF_DP3(c3, BF_LDM(m, x3 + k));
    BF_DP3(c4, BF_LDM(m, x4 + k));
    BF_DP3(c5, BF_LDM(m, x5 + k));
    BF_DP3(c6, BF_LDM(m, x6 + k));
    BF_DP3(c7, BF_LDM(m, x7 + k));
  }
  const __mmask8 cm = (__mmask8)((1u << o->cols) - 1u);
  const __m512 z = _mm512_setzero_ps();
#define BF_PUT(i)                                                                               \
  if (o->rows > (i)) bf_put4(o, o->y + (i) * o->ldy, o->bias, bf_sum4(c##i##0, c##i##1, c##i##2, z), cm)
  BF_PUT(0); BF_PUT(1); BF_PUT(2); BF_PUT(3); BF_PUT(4); BF_PUT(5); BF_PUT(6); BF_PUT(7);
#undef BF_PUT
}

/* Conv1D kernel (weights [K, N], N contiguous): out[12][32] = x rows xr[0..11] @ W[k, c0 ..
 * c0 + 32) over K. vdpbf16ps multiplies pairs, so rows k and k + 1 of W are zipped with
 * vpunpck{l,h}wd into (W[k, c], W[k + 1, c]) pairs, two vectors of 16 columns in the lane
 * order {0-3, 8-11, 16-19, 24-27} and {4-7, 12-15, ...}, and each activation row broadcasts
 * its (x[k], x[k + 1]) pair: 24 products per 2 weight loads, 2 zips and 12 broadcasts, with
 * 24 accumulators. The weights are read in place from the mapping: no transpose. cols < 32
 * masks the loads (masked-off lanes are never read) and an odd K ends with a single row whose
 * pair partner is zero on both sides. The columns are put back in order on the way out. */
#define BF_KMR 12  /* activation rows per Conv1D micro-kernel */
#define BF_KNR 32  /* weight columns per Conv1D micro-kernel */
#define BF_KKC 1024 /* K chunk of the Conv1D kernel: 12 activation rows of it are 24 KiB */

#define BF_BC(p) ((__m512bh)_mm512_set1_epi32(bf_pair(p)))
static inline int32_t bf_pair(const uint16_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

BF_TARGET static void bf_kernel_kn(const uint16_t *const *xr, const uint16_t *w, int64_t N, int64_t K,
                                   const uint16_t *pf, const bf_out *o /* [<= BF_KMR, <= BF_KNR] */) {
  const int cols = o->cols;
  const __mmask32 cm = cols >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << (unsigned)cols) - 1u);
  __m512 a0 = _mm512_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
  __m512 a4 = a0, b4 = a0, a5 = a0, b5 = a0, a6 = a0, b6 = a0, a7 = a0, b7 = a0;
  __m512 a8 = a0, b8 = a0, a9 = a0, b9 = a0, a10 = a0, b10 = a0, a11 = a0, b11 = a0;
#define BF_ROW(i, xv)                          \
  do {                                         \
    __m512bh v_ = (xv);                        \
    a##i = _mm512_dpbf16_ps(a##i, v_, lo);     \
    b##i = _mm512_dpbf16_ps(b##i, v_, hi);     \
  } while (0)
#define BF_ROWS(BC)                                                                  \
  do {                                                                               \
    BF_ROW(0, BC(xr[0] + k)); BF_ROW(1, BC(xr[1] + k)); BF_ROW(2, BC(xr[2] + k));     \
    BF_ROW(3, BC(xr[3] + k)); BF_ROW(4, BC(xr[4] + k)); BF_ROW(5, BC(xr[5] + k));     \
    BF_ROW(6, BC(xr[6] + k)); BF_ROW(7, BC(xr[7] + k)); BF_ROW(8, BC(xr[8] + k));     \
    BF_ROW(9, BC(xr[9] + k)); BF_ROW(10, BC(xr[10] + k)); BF_ROW(11, BC(xr[11] + k)); \
  } while (0)
#define BF_BC1(p) ((__m512bh)_mm512_set1_epi32((int32_t)*(p)))
  int64_t k = 0;
  for (; k + 2 <= K; k += 2) {
    if (pf) { /* the next block's two rows: its first sweep then finds them in cache */
      _mm_prefetch((const char *)(pf + k * N), _MM_HINT_T0);
      _mm_prefetch((const char *)(pf + (k + 1) * N), _MM_HINT_T0);
    }
    __m512i r0 = _mm512_maskz_loadu_epi16(cm, w + k * N), r1 = _mm512_maskz_loadu_epi16(cm, w + (k + 1) * N);
    __m512bh lo = (__m512bh)_mm512_unpacklo_epi16(r0, r1), hi = (__m512bh)_mm512_unpackhi_epi16(r0, r1);
    BF_ROWS(BF_BC);
  }
  if (k < K) { /* odd K: the last row alone, its partner zero in W and in x */
    __m512i r0 = _mm512_maskz_loadu_epi16(cm, w + k * N), z = _mm512_setzero_si512();
    __m512bh lo = (__m512bh)_mm512_unpacklo_epi16(r0, z), hi = (__m512bh)_mm512_unpackhi_epi16(r0, z);
    BF_ROWS(BF_BC1);
  }
#undef BF_BC1
#undef BF_ROWS
#undef BF_ROW
  /* a holds columns {0-3, 8-11, 16-19, 24-27}, b {4-7, 12-15, 20-23, 28-31} */
  const __m512i ilo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i ihi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  const __mmask16 m0 = (__mmask16)cm, m1 = (__mmask16)(cm >> 16);
  const float *bias1 = o->bias ? o->bias + 16 : NULL;
#define BF_OUT(i)                                                                           \
  if (o->rows > (i)) {                                                                      \
    float *y_ = o->y + (i) * o->ldy;                                                        \
    bf_put16(o, y_, o->bias, _mm512_permutex2var_ps(a##i, ilo, b##i), m0);                  \
    if (m1) bf_put16(o, y_ + 16, bias1, _mm512_permutex2var_ps(a##i, ihi, b##i), m1);       \
  }
  BF_OUT(0); BF_OUT(1); BF_OUT(2); BF_OUT(3); BF_OUT(4); BF_OUT(5);
  BF_OUT(6); BF_OUT(7); BF_OUT(8); BF_OUT(9); BF_OUT(10); BF_OUT(11);
#undef BF_OUT
}

/* One matrix of a job: the job's products share x and K (q/k/v, gate/up). */
typedef struct bf_mat {
  const ls_ops_mat *w; /* [N, K] if nk else [K, N] */
  float *y;            /* [M, N] */
  const float *bias;   /* [N] or NULL */
  int64_t N;
  int64_t p0;          /* its first panel's index among the job's panels */
} bf_mat;

typedef struct bf_job {
  ls_pool *pool;
  const float *x;      /* [M, K] fp32 input */
  uint16_t *xb;        /* [M, K] x rounded to bf16 */
  int64_t M, K;
  int nk;
  bf_mat mats[LS_OPS_BF16_MAX_MATS];
  int nmats;
  int64_t nb;          /* panel: weight rows (output columns) per panel */
  int64_t panels;      /* over all matrices */
  int64_t xrows;       /* activation rows per rounding task */
  atomic_int failed;   /* a worker could not get its panel buffer */
  int dnnl;            /* panels go through oneDNN (ops_dnnl.h) */
} bf_job;

static void bf_round_task(void *ctx, int i, int worker) {
  (void)worker;
  bf_job *j = ctx;
  int64_t r0 = (int64_t)i * j->xrows;
  int64_t n = j->M - r0 < j->xrows ? j->M - r0 : j->xrows;
  bf_round(j->x + r0 * j->K, j->xb + r0 * j->K, n * j->K);
}

/* Writes weight rows [n0, n0 + cnt) of mt as bf16 rows buf[cnt, K]; tmp holds max(K, cnt)
 * floats. */
static void bf_pack(const bf_job *j, const bf_mat *mt, int64_t n0, int64_t cnt, uint16_t *buf,
                    float *tmp) {
  const ls_ops_mat *w = mt->w;
  const int64_t K = j->K;
  if (j->nk) {
    for (int64_t r = 0; r < cnt; r++) {
      ls_ops_mat_row(w, n0 + r, 0, K, tmp);
      bf_round(tmp, buf + r * K, K);
    }
  } else {
    for (int64_t k = 0; k < K; k++) {
      ls_ops_mat_row(w, k, n0, cnt, tmp);
      for (int64_t c = 0; c < cnt; c++) buf[c * K + k] = ls_ops_f32_to_bf16(tmp[c]);
    }
  }
}

/* A panel of columns [n0, n0 + cnt) of a bf16 Conv1D weight [K, N], read in place. For
 * each K chunk and each block of 12 activation rows, the micro-kernel sweeps the panel's
 * columns 32 at a time: the rows' chunk (24 KiB) stays in L1, the panel's chunk in L2. */
static void bf_panel_kn(const bf_job *j, const bf_mat *mt, int64_t n0, int64_t cnt) {
  const int64_t M = j->M, N = mt->N, K = j->K;
  const uint16_t *w = mt->w->data; /* [K, N] bf16 */
  for (int64_t kc = 0; kc < K; kc += BF_KKC) {
    int64_t kn = K - kc < BF_KKC ? K - kc : BF_KKC;
    for (int64_t m0 = 0; m0 < M; m0 += BF_KMR) {
      const uint16_t *xr[BF_KMR];
      int64_t mn = M - m0 < BF_KMR ? M - m0 : BF_KMR;
      for (int a = 0; a < BF_KMR; a++) xr[a] = j->xb + (m0 + (a < mn ? a : mn - 1)) * K + kc;
      for (int64_t c0 = 0; c0 < cnt; c0 += BF_KNR) {
        bf_out o = {.y = mt->y + m0 * N + n0 + c0, .ldy = N, .rows = (int)mn,
                    .cols = cnt - c0 < BF_KNR ? (int)(cnt - c0) : BF_KNR,
                    .bias = kc == 0 && mt->bias ? mt->bias + n0 + c0 : NULL, .acc = kc > 0};
        /* on the first row block, prefetch the panel's next column block (read from the
         * file mapping, its rows N apart, it would otherwise arrive one miss at a time) */
        const uint16_t *pf = m0 == 0 && c0 + BF_KNR < cnt ? w + kc * N + n0 + c0 + BF_KNR : NULL;
        bf_kernel_kn(xr, w + kc * N + n0 + c0, N, kn, pf, &o);
      }
    }
  }
}

/* K chunk [kc, kc + kn) of the Linear panel rows [n0, n0 + cnt) of mt, whose bf16 rows are
 * wp[cnt, ldw] (in place: the mapping; packed: scratch). warm: the rows are in cache
 * already (just packed), so the first row block does not prefetch them. */
static void bf_chunk_nk(const bf_job *j, const bf_mat *mt, int64_t n0, int64_t cnt, const uint16_t *wp,
                        int64_t ldw, int64_t kc, int64_t kn, int warm) {
  const int64_t M = j->M, N = mt->N, K = j->K;
  for (int64_t m0 = 0; m0 < M; m0 += BF_MR) {
    const uint16_t *xr[BF_MR];
    int64_t mn = M - m0 < BF_MR ? M - m0 : BF_MR;
    for (int a = 0; a < BF_MR; a++) xr[a] = j->xb + (m0 + (a < mn ? a : mn - 1)) * K + kc;
    for (int64_t r0 = 0; r0 < cnt; r0 += BF_NR) {
      const uint16_t *wr[BF_NR];
      int64_t rn = cnt - r0 < BF_NR ? cnt - r0 : BF_NR;
      for (int b = 0; b < BF_NR; b++) wr[b] = wp + (r0 + (b < rn ? b : rn - 1)) * ldw + kc;
      bf_out o = {.y = mt->y + m0 * N + n0 + r0, .ldy = N, .rows = (int)mn, .cols = (int)rn,
                  .bias = kc == 0 && mt->bias ? mt->bias + n0 + r0 : NULL, .acc = kc > 0};
      /* on the first row block the rows come from memory: prefetch the next 3 */
      uintptr_t pf = m0 == 0 && !warm && r0 + BF_NR < cnt ? (uintptr_t)(wp + (r0 + BF_NR) * ldw + kc) : 0;
      bf_kernel(xr, wr, kn, pf, ldw, &o);
    }
  }
}

#define BF_DNNL_NB 128 /* output columns per oneDNN call */

/* Panel [n0, n0 + cnt) of mt through oneDNN: w is its bf16 weights, rows ldw apart ([cnt, K]
 * when nk, else [K, cnt]). Not LS_OK: oneDNN refused or failed, and the caller computes the
 * panel itself (nothing of y has been written that the kernel does not overwrite). */
static int bf_dnnl(const bf_job *j, int worker, const uint16_t *w, int64_t ldw, int nk,
                   const bf_mat *mt, int64_t n0, int64_t cnt) {
  ls_dnnl_worker *local = NULL, **slot = ls_pool_dnnl_slot(j->pool, worker);
  int rc = ls_dnnl_gemm_bf16(slot ? slot : &local, j->xb, j->M, j->K, w, ldw, nk, cnt,
                             mt->y + n0, mt->N, mt->bias ? mt->bias + n0 : NULL);
  ls_dnnl_worker_free(local);
  return rc;
}

/* Panel q of the job: its matrix, first row and row count. */
static const bf_mat *bf_panel(const bf_job *j, int64_t q, int64_t *n0, int64_t *cnt) {
  int i = 0;
  while (i + 1 < j->nmats && q >= j->mats[i + 1].p0) i++;
  const bf_mat *mt = &j->mats[i];
  *n0 = (q - mt->p0) * j->nb;
  *cnt = mt->N - *n0 < j->nb ? mt->N - *n0 : j->nb;
  return mt;
}

/* Task q: panel q of the job. */
static void bf_task(void *ctx, int q, int worker) {
  bf_job *j = ctx;
  const int64_t K = j->K;
  int64_t n0, cnt;
  const bf_mat *mt = bf_panel(j, q, &n0, &cnt);
  int in_place = mt->w->type == LS_OPS_BF16 && mt->w->rowmap_heads == 0;
  if (j->dnnl && in_place) { /* oneDNN on the mapped rows (Linear) or columns (Conv1D) */
    const uint16_t *w = (const uint16_t *)mt->w->data + (j->nk ? n0 * K : n0);
    if (bf_dnnl(j, worker, w, j->nk ? K : mt->N, j->nk, mt, n0, cnt) == LS_OK) return;
  }
  if (!j->nk && in_place) {
    bf_panel_kn(j, mt, n0, cnt);
    return;
  }
  const uint16_t *wp; /* [cnt, K] bf16 weight rows of this panel */
  if (in_place) {
    wp = (const uint16_t *)mt->w->data + n0 * K;
  } else {
    size_t tmp_bytes = ((size_t)(K > cnt ? K : cnt) * sizeof(float) + 63) / 64 * 64;
    uint8_t *s = (uint8_t *)ls_pool_scratch(j->pool, worker,
                                            tmp_bytes + (size_t)(cnt * K) * sizeof(uint16_t));
    if (!s) {
      atomic_store(&j->failed, 1);
      return;
    }
    uint16_t *buf = (uint16_t *)(s + tmp_bytes);
    bf_pack(j, mt, n0, cnt, buf, (float *)s);
    wp = buf;
    /* the packed panel is Linear-shaped [cnt, K] whatever the layout was */
    if (j->dnnl && bf_dnnl(j, worker, wp, K, 1, mt, n0, cnt) == LS_OK) return;
  }
  for (int64_t kc = 0; kc < K; kc += BF_KC)
    bf_chunk_nk(j, mt, n0, cnt, wp, K, kc, K - kc < BF_KC ? K - kc : BF_KC, !in_place);
}

int ls_ops_matmul_bf16_multi(ls_pool *p, int n, float *const *ys, const float *x, int64_t M,
                             const ls_ops_mat *const *ws, int w_is_nk, const float *const *biases) {
  int usable = n >= 1 && n <= LS_OPS_BF16_MAX_MATS;
  for (int i = 0; usable && i < n; i++)
    usable = ls_ops_bf16_applies(ws[i]) &&
             (w_is_nk ? ws[i]->cols : ws[i]->rows) == (w_is_nk ? ws[0]->cols : ws[0]->rows);
  if (!usable) { /* one product at a time (each falls back to fp32 where it must) */
    for (int i = 0; i < n; i++) {
      int rc = ls_ops_bf16_applies(ws[i])
                   ? ls_ops_matmul_bf16_multi(p, 1, ys + i, x, M, ws + i, w_is_nk, biases + i)
                   : ls_ops_matmul(p, ys[i], x, M, ws[i], w_is_nk, biases[i]);
      if (rc) return rc;
    }
    return LS_OK;
  }
  bf_job j = {.pool = p, .x = x, .M = M, .nk = w_is_nk, .nmats = n};
  atomic_init(&j.failed, 0);
  j.K = w_is_nk ? ws[0]->cols : ws[0]->rows;
  int64_t Nall = 0;
  for (int i = 0; i < n; i++) {
    j.mats[i] = (bf_mat){.w = ws[i], .y = ys[i], .bias = biases[i],
                         .N = w_is_nk ? ws[i]->rows : ws[i]->cols};
    Nall += j.mats[i].N;
  }
  if (M <= 0 || Nall <= 0) return LS_OK;
  if (j.K <= 0) { /* (not ls_ops_matmul: it would dispatch back here for a bf16 matrix) */
    for (int i = 0; i < n; i++)
      for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < j.mats[i].N; c++)
          ys[i][m * j.mats[i].N + c] = biases[i] ? biases[i][c] : 0.0f;
    return LS_OK;
  }
  /* M * K floats exist in x, so M * K bf16 cannot overflow size_t */
  size_t xb_bytes = (size_t)(M * j.K) * sizeof(uint16_t);
  uint16_t *own = NULL; /* without a pool there is no job scratch */
  j.xb = p ? (uint16_t *)ls_pool_job_scratch(p, xb_bytes) : (own = ls_malloc(xb_bytes));
  if (!j.xb) return LS_ENOMEM;
  int threads = ls_pool_threads(p);
  if (threads < 1) threads = 1;
  /* rounding x is O(M K) against O(M N K): split it only when there is enough of it */
  j.xrows = M * j.K < (1 << 16) ? M : (M + 2 * threads - 1) / (2 * threads);
  ls_pool_run(p, (int)((M + j.xrows - 1) / j.xrows), bf_round_task, &j);
  j.dnnl = ls_ops_bf16_path() == LS_BF16_PATH_DNNL;
  /* panel of about 256 KiB of bf16 per K chunk, at least two panels per worker */
  int64_t kcmax = w_is_nk ? BF_KC : BF_KKC, kc = j.K < kcmax ? j.K : kcmax;
  int64_t nb = (1 << 17) / kc;
  int64_t per_worker = (Nall + 2 * threads - 1) / (2 * threads);
  if (threads > 1 && nb > per_worker) nb = per_worker;
  int64_t blk = w_is_nk ? 8 * BF_NR : BF_KNR; /* whole tiles of the micro-kernel */
  nb = (nb + blk - 1) / blk * blk;
  /* oneDNN blocks a panel itself; its panels have a fixed width, so that which kernel (and
   * which order of sums) computes a column depends neither on the thread count nor on the
   * products sharing the job: results are the same bit for bit either way. */
  if (j.dnnl) nb = BF_DNNL_NB;
  j.nb = nb;
  for (int i = 0; i < n; i++) {
    j.mats[i].p0 = j.panels;
    j.panels += (j.mats[i].N + nb - 1) / nb;
  }
  ls_pool_run(p, (int)j.panels, bf_task, &j);
  ls_free(own);
  return atomic_load(&j.failed) ? LS_ENOMEM : LS_OK;
}

/* ---- attention ----------------------------------------------------------------------- */

/* y[M, N] (row stride ldy) = xb[M, K] (row stride ldx) @ w[K, N] (row stride ldw), bf16 in,
 * fp32 out, on the calling thread with the pair kernel, K in chunks. causal: row block
 * [m0, m0 + rows) needs only the columns below m0 + rows (the scores of later keys are
 * masked and overwritten), the blocks past them are skipped and left as they are. */
static void bf_gemm_kn(const uint16_t *xb, int64_t ldx, int64_t M, const uint16_t *w, int64_t ldw,
                       int64_t N, int64_t K, float *y, int64_t ldy, int causal) {
  for (int64_t kc = 0; kc < K; kc += BF_KKC) {
    int64_t kn = K - kc < BF_KKC ? K - kc : BF_KKC;
    for (int64_t m0 = 0; m0 < M; m0 += BF_KMR) {
      const uint16_t *xr[BF_KMR];
      int64_t mn = M - m0 < BF_KMR ? M - m0 : BF_KMR;
      for (int a = 0; a < BF_KMR; a++) xr[a] = xb + (m0 + (a < mn ? a : mn - 1)) * ldx + kc;
      int64_t nend = causal && m0 + mn < N ? m0 + mn : N;
      for (int64_t c0 = 0; c0 < nend; c0 += BF_KNR) {
        bf_out o = {.y = y + m0 * ldy + c0, .ldy = ldy, .rows = (int)mn,
                    .cols = N - c0 < BF_KNR ? (int)(N - c0) : BF_KNR, .bias = NULL, .acc = kc > 0};
        bf_kernel_kn(xr, w + kc * ldw + c0, ldw, kn, NULL, &o);
      }
    }
  }
}

typedef struct bfa_job {
  ls_pool *pool;
  const ls_ops_attn *a;
  const float *q, *k, *v;
  float *probs, *out;
  uint16_t *kt;        /* [n_kv, head_dim, S] keys rounded to bf16, transposed */
  uint16_t *vb;        /* [n_kv, S, head_dim] values rounded to bf16 */
  void *own;           /* without a pool (tasks run in turn on the caller): its scratch */
  size_t own_cap;
  atomic_int failed;
} bfa_job;

/* Worker scratch of at least bytes, or NULL (then the job has failed). */
static void *bfa_scratch(bfa_job *j, int worker, size_t bytes) {
  void *s = NULL;
  if (j->pool) {
    s = ls_pool_scratch(j->pool, worker, bytes);
  } else if (j->own_cap >= bytes) {
    s = j->own;
  } else if ((s = ls_malloc(bytes)) != NULL) {
    ls_free(j->own);
    j->own = s;
    j->own_cap = bytes;
  }
  if (!s) atomic_store(&j->failed, 1);
  return s;
}

/* kv head g: kt[g] = bf16(k_g)^T, vb[g] = bf16(v_g). */
static void bfa_kv_task(void *ctx, int g, int worker) {
  bfa_job *j = ctx;
  const ls_ops_attn *a = j->a;
  const int64_t S = a->S, D = a->head_dim;
  uint16_t *kt = j->kt + (int64_t)g * D * S, *vb = j->vb + (int64_t)g * S * D;
  uint16_t *row = bfa_scratch(j, worker, (size_t)D * sizeof(uint16_t)); /* [D] */
  if (!row) return;
  for (int64_t t = 0; t < S; t++) {
    bf_round(j->k + t * a->k_stride + g * D, row, D);
    for (int64_t d = 0; d < D; d++) kt[d * S + t] = row[d];
    bf_round(j->v + t * a->v_stride + g * D, vb + t * D, D);
  }
}

/* query head h: scores, probabilities (fp32, kept in probs), output. */
static void bfa_head_task(void *ctx, int h, int worker) {
  bfa_job *j = ctx;
  const ls_ops_attn *a = j->a;
  const int64_t S = a->S, D = a->head_dim, g = h / (a->n_heads / a->n_kv);
  uint16_t *qb = bfa_scratch(j, worker, (size_t)(S * D + S * S) * sizeof(uint16_t)); /* [S, D] */
  if (!qb) return;
  uint16_t *pb = qb + S * D;                  /* [S, S] probabilities rounded to bf16 */
  float *pr = j->probs + (int64_t)h * S * S;  /* [S, S] */
  for (int64_t i = 0; i < S; i++) bf_round(j->q + i * a->q_stride + h * D, qb + i * D, D);
  bf_gemm_kn(qb, D, S, j->kt + g * D * S, S, S, D, pr, S, a->causal);
  ls_ops_attn_softmax(a, h, pr, a->scale);
  bf_round(pr, pb, S * S);
  bf_gemm_kn(pb, S, S, j->vb + g * S * D, D, D, S, j->out + h * D, a->n_heads * D, 0);
}

int ls_ops_attention_bf16(ls_pool *p, const ls_ops_attn *a, const float *q, const float *k,
                          const float *v, float *probs, float *out) {
  if (!ls_ops_bf16_supported()) {
    ls_ops_attention(p, a, q, k, v, probs, out);
    return LS_OK;
  }
  const int64_t S = a->S, D = a->head_dim;
  if (S <= 0 || a->n_heads <= 0) return LS_OK;
  /* nothing to round, or keys from a KV cache (T != S): the bf16 kernels are square */
  if (D <= 0 || (a->T > 0 && a->T != S) || a->q0 != 0) {
    ls_ops_attention(p, a, q, k, v, probs, out);
    return LS_OK;
  }
  /* 2 [n_kv, D, S] tables of bf16 (k and v take n_kv S D floats already) */
  size_t kv_elems = (size_t)(a->n_kv * D * S);
  uint16_t *own = NULL;
  uint16_t *buf = p ? (uint16_t *)ls_pool_job_scratch(p, 2 * kv_elems * sizeof(uint16_t))
                    : (own = ls_malloc(2 * kv_elems * sizeof(uint16_t)));
  if (!buf) return LS_ENOMEM;
  bfa_job j = {.pool = p, .a = a, .q = q, .k = k, .v = v, .probs = probs, .out = out,
               .kt = buf, .vb = buf + kv_elems};
  atomic_init(&j.failed, 0);
  ls_pool_run(p, (int)a->n_kv, bfa_kv_task, &j);
  if (!atomic_load(&j.failed)) ls_pool_run(p, (int)a->n_heads, bfa_head_task, &j);
  ls_free(own);
  ls_free(j.own);
  return atomic_load(&j.failed) ? LS_ENOMEM : LS_OK;
}

int ls_ops_matmul_bf16(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                       int w_is_nk, const float *bias) {
  if (!ls_ops_bf16_applies(w)) return ls_ops_matmul(p, y, x, M, w, w_is_nk, bias);
  return ls_ops_matmul_bf16_multi(p, 1, &y, x, M, &w, w_is_nk, &bias);
}

#else /* no x86-64: ls_ops_bf16_supported() is 0, every product takes the fp32 path */

int ls_ops_matmul_bf16_multi(ls_pool *p, int n, float *const *ys, const float *x, int64_t M,
                             const ls_ops_mat *const *ws, int w_is_nk, const float *const *biases) {
  for (int i = 0; i < n; i++) {
    int rc = ls_ops_matmul(p, ys[i], x, M, ws[i], w_is_nk, biases[i]);
    if (rc) return rc;
  }
  return LS_OK;
}

int ls_ops_matmul_bf16(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                       int w_is_nk, const float *bias) {
  return ls_ops_matmul(p, y, x, M, w, w_is_nk, bias);
}

int ls_ops_attention_bf16(ls_pool *p, const ls_ops_attn *a, const float *q, const float *k,
                          const float *v, float *probs, float *out) {
  ls_ops_attention(p, a, q, k, v, probs, out);
  return LS_OK;
}

#endif
