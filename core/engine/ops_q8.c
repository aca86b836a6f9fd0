/* ops_q8.c: Q8_0 / Q4_0 products as int8 dot products (see ops_q8.h).
 *
 * Layout. K is padded to Kp, a multiple of 64 (one zmm holds two blocks of 32), with zero
 * weights and activations. The caller quantizes x once into xq[M, Kp] (q + 128 as u8, so
 * that vpdpbusd, u8 x s8, can take it) and dxe[M, Kp / 4] (each block's scale repeated
 * over the 8 int32 lanes its block's sums land in). Each pool task unpacks a panel of
 * weight rows into wq[cnt, Kp] int8, dwe[cnt, Kp / 4] (scales, spread the same way) and
 * nc[cnt, Kp / 4] int32 = -128 * (the sums of each lane's 4 weights): starting each block's
 * vpdpbusd from nc removes the +128 offset of x exactly, at no cost in the inner loop.
 *
 * Micro-kernel: 4 activation rows x 2 weight rows; per pair of blocks and output, one
 * vpdpbusd (64 products), one int -> float conversion, one product of the two scale
 * vectors and one FMA into an fp32 accumulator. */
#include "core/engine/ops_q8.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/cpu.h"
#include "core/engine/ops_simd.h" /* ls__f16_to_f32 */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LS_Q8_X86 1
#include <immintrin.h>
#endif

int ls_ops_q8_supported(void) {
#ifdef LS_Q8_X86
  static atomic_int cached = -1;
  int v = atomic_load(&cached);
  if (v >= 0) return v;
  const char *env = getenv("LAYERSCOPE_Q8");
  ls_cpu_leaf7 l;
  v = !(env && strcmp(env, "fp32") == 0) && ls_cpu_avx512(&l) && (l.ebx & LS_CPU_EBX_AVX512F) &&
      (l.ebx & LS_CPU_EBX_AVX512BW) && (l.ebx & LS_CPU_EBX_AVX512VL) && (l.ecx & LS_CPU_ECX_AVX512_VNNI);
  atomic_store(&cached, v);
  return v;
#else
  return 0;
#endif
}

int ls_ops_q8_applies(const ls_ops_mat *w, int w_is_nk) {
  return w_is_nk && (w->type == LS_OPS_Q8_0 || w->type == LS_OPS_Q4_0) && w->cols > 0 &&
         w->cols % 32 == 0 && ls_ops_q8_supported();
}

#ifdef LS_Q8_X86

#define Q8_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define Q8_NB 64 /* weight rows per task */
#define Q8_MR 4
#define Q8_NR 2

typedef struct q8_job {
  ls_pool *pool;
  const ls_ops_mat *w;
  float *y;
  const float *bias;
  const uint8_t *xq; /* [M, Kp] */
  const float *dxe;  /* [M, Kp / 4] */
  int64_t M, N, K, Kp;
  atomic_int failed;
} q8_job;

/* Row r of x quantized: xq[Kp] = round(x / d) + 128, dxe[Kp / 4] the block scales d spread
 * over their 8 lanes; padding is 128 (zero) with scale 0. */
static void q8_quantize_row(const float *x, int64_t K, int64_t Kp, uint8_t *xq, float *dxe) {
  for (int64_t b = 0; b * 32 < Kp; b++) {
    float amax = 0;
    int64_t n = b * 32 < K ? (K - b * 32 < 32 ? K - b * 32 : 32) : 0;
    for (int64_t t = 0; t < n; t++) amax = fmaxf(amax, fabsf(x[b * 32 + t]));
    float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
    for (int64_t t = 0; t < 32; t++) {
      int q = t < n ? (int)nearbyintf(x[b * 32 + t] * id) : 0;
      q = q < -127 ? -127 : q > 127 ? 127 : q; /* NaN/Inf inputs: see ls_ops_matmul_q8 */
      xq[b * 32 + t] = (uint8_t)(q + 128);
    }
    for (int l = 0; l < 8; l++) dxe[b * 8 + l] = d;
  }
}

/* Unpacks logical weight row `row` into wq[Kp], dwe[Kp / 4], nc[Kp / 4]. */
Q8_TARGET static void q8_unpack_row(const ls_ops_mat *w, int64_t row, int64_t Kp, int8_t *wq,
                                    float *dwe, int32_t *nc) {
  const uint8_t *r = (const uint8_t *)w->data + (size_t)ls_ops_mat_stored_row(w, row) *
                                                    ls_ops_mat_row_bytes(w);
  const int64_t nblk = w->cols / 32;
  for (int64_t b = 0; b * 32 < Kp; b++) {
    int8_t *o = wq + b * 32;
    float d = 0;
    if (b >= nblk) {
      memset(o, 0, 32);
    } else if (w->type == LS_OPS_Q8_0) {
      const uint8_t *blk = r + b * 34;
      d = ls__f16_to_f32((uint16_t)(blk[0] | (blk[1] << 8)));
      memcpy(o, blk + 2, 32);
    } else { /* Q4_0: low nibbles are elements 0..15, high nibbles 16..31, value q - 8 */
      const uint8_t *blk = r + b * 18;
      d = ls__f16_to_f32((uint16_t)(blk[0] | (blk[1] << 8)));
      for (int t = 0; t < 16; t++) {
        o[t] = (int8_t)((blk[2 + t] & 0x0f) - 8);
        o[t + 16] = (int8_t)((blk[2 + t] >> 4) - 8);
      }
    }
    for (int l = 0; l < 8; l++) dwe[b * 8 + l] = d;
  }
  const __m512i off = _mm512_set1_epi8((char)0x80);
  for (int64_t c = 0; c < Kp; c += 64) {
    __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, _mm512_loadu_si512(wq + c));
    _mm512_storeu_si512(nc + c / 4, _mm512_sub_epi32(_mm512_setzero_si512(), s));
  }
}

/* y rows [m0, m0 + mn) x columns [n0, n0 + nn) (mn <= 4, nn <= 2) of the product, from the
 * unpacked panel rows wq/dwe/nc (already offset to column n0's row). */
Q8_TARGET static void q8_kernel(const q8_job *j, int64_t m0, int mn, const int8_t *wq, const float *dwe,
                                const int32_t *nc, int64_t n0, int nn) {
  const int64_t Kp = j->Kp, K4 = Kp / 4;
  const uint8_t *xr[Q8_MR];
  const float *sr[Q8_MR];
  for (int a = 0; a < Q8_MR; a++) {
    int64_t m = m0 + (a < mn ? a : mn - 1);
    xr[a] = j->xq + m * Kp;
    sr[a] = j->dxe + m * K4;
  }
  const int8_t *w1 = wq + (nn > 1 ? Kp : 0);
  const float *s1p = dwe + (nn > 1 ? K4 : 0);
  const int32_t *c1p = nc + (nn > 1 ? K4 : 0);
  __m512 f00 = _mm512_setzero_ps(), f01 = f00, f10 = f00, f11 = f00, f20 = f00, f21 = f00,
         f30 = f00, f31 = f00;
  for (int64_t c = 0; c < Kp; c += 64) {
    const __m512i q0 = _mm512_loadu_si512(wq + c), q1 = _mm512_loadu_si512(w1 + c);
    const __m512i c0 = _mm512_loadu_si512(nc + c / 4), c1 = _mm512_loadu_si512(c1p + c / 4);
    const __m512 s0 = _mm512_loadu_ps(dwe + c / 4), s1 = _mm512_loadu_ps(s1p + c / 4);
#define Q8_ROW(a, fa0, fa1)                                                                    \
  do {                                                                                         \
    const __m512i u = _mm512_loadu_si512(xr[a] + c);                                           \
    const __m512 sx = _mm512_loadu_ps(sr[a] + c / 4);                                          \
    fa0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(c0, u, q0)),                  \
                          _mm512_mul_ps(sx, s0), fa0);                                         \
    fa1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(c1, u, q1)),                  \
                          _mm512_mul_ps(sx, s1), fa1);                                         \
  } while (0)
    Q8_ROW(0, f00, f01);
    Q8_ROW(1, f10, f11);
    Q8_ROW(2, f20, f21);
    Q8_ROW(3, f30, f31);
#undef Q8_ROW
  }
  const __m512 acc[Q8_MR][Q8_NR] = {{f00, f01}, {f10, f11}, {f20, f21}, {f30, f31}};
  for (int a = 0; a < mn; a++)
    for (int b = 0; b < nn; b++) {
      float v = _mm512_reduce_add_ps(acc[a][b]);
      if (j->bias) v += j->bias[n0 + b];
      j->y[(m0 + a) * j->N + n0 + b] = v;
    }
}

static void q8_task(void *ctx, int i, int worker) {
  q8_job *j = ctx;
  const int64_t Kp = j->Kp, K4 = Kp / 4;
  int64_t n0 = (int64_t)i * Q8_NB, cnt = j->N - n0 < Q8_NB ? j->N - n0 : Q8_NB;
  uint8_t *s = (uint8_t *)ls_pool_scratch(j->pool, worker, (size_t)(cnt * Kp) * 3);
  int8_t *own = NULL;
  if (!s && !j->pool) s = (uint8_t *)(own = ls_malloc((size_t)(cnt * Kp) * 3));
  if (!s) {
    atomic_store(&j->failed, 1);
    return;
  }
  int8_t *wq = (int8_t *)s;                         /* [cnt, Kp] */
  float *dwe = (float *)(s + cnt * Kp);             /* [cnt, K4] (Kp * cnt is a multiple of 64) */
  int32_t *nc = (int32_t *)(s + cnt * Kp * 2);      /* [cnt, K4] */
  for (int64_t r = 0; r < cnt; r++) q8_unpack_row(j->w, n0 + r, Kp, wq + r * Kp, dwe + r * K4, nc + r * K4);
  for (int64_t m0 = 0; m0 < j->M; m0 += Q8_MR) {
    int mn = j->M - m0 < Q8_MR ? (int)(j->M - m0) : Q8_MR;
    for (int64_t r = 0; r < cnt; r += Q8_NR) {
      int nn = cnt - r < Q8_NR ? (int)(cnt - r) : Q8_NR;
      q8_kernel(j, m0, mn, wq + r * Kp, dwe + r * K4, nc + r * K4, n0 + r, nn);
    }
  }
  ls_free(own);
}

int ls_ops_matmul_q8(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                     const float *bias) {
  q8_job j = {.pool = p, .w = w, .y = y, .bias = bias, .M = M, .N = w->rows, .K = w->cols};
  atomic_init(&j.failed, 0);
  if (M <= 0 || j.N <= 0) return LS_OK;
  j.Kp = (j.K + 63) / 64 * 64;
  /* A NaN or Inf activation has no int8 value: such a product takes the fp32 path, which
   * carries it into the output as PyTorch would (the debugger's NaN stops rely on it). */
  for (int64_t i = 0; i < M * j.K; i++)
    if (!isfinite(x[i])) return LS_EUNSUPPORTED;
  size_t xq_bytes = (size_t)(M * j.Kp), dx_bytes = (size_t)(M * j.Kp / 4) * sizeof(float);
  uint8_t *buf = p ? (uint8_t *)ls_pool_job_scratch(p, xq_bytes + dx_bytes) : ls_malloc(xq_bytes + dx_bytes);
  if (!buf) return LS_ENOMEM;
  float *dxe = (float *)buf;
  uint8_t *xq = buf + dx_bytes;
  for (int64_t m = 0; m < M; m++) q8_quantize_row(x + m * j.K, j.K, j.Kp, xq + m * j.Kp, dxe + m * (j.Kp / 4));
  j.xq = xq;
  j.dxe = dxe;
  ls_pool_run(p, (int)((j.N + Q8_NB - 1) / Q8_NB), q8_task, &j);
  if (!p) ls_free(buf);
  return atomic_load(&j.failed) ? LS_ENOMEM : LS_OK;
}

#else /* no x86-64: ls_ops_q8_supported() is 0 and ls_ops_matmul never calls this */

int ls_ops_matmul_q8(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                     const float *bias) {
  (void)p, (void)y, (void)x, (void)M, (void)w, (void)bias;
  return LS_EUNSUPPORTED;
}

#endif
