/* ops_dnnl.h: bf16 matrix products through oneDNN (Debian's libdnnl, the 2.6 line PyTorch
 * 1.13 uses), for the engine's bf16 compute mode. oneDNN picks its kernel for the CPU at
 * run time (AMX tiles on a Xeon that has them, AVX-512 BF16 brgemm on Zen 4/5 and Cooper
 * Lake, AVX-512 or AVX2 otherwise); ops_bf16.c calls it per weight panel from each worker
 * of the engine's pool, one thread per call, the way ops.c calls single-threaded OpenBLAS,
 * so the two thread pools never nest.
 *
 * Which path a bf16 product takes (ls_ops_bf16_path) is chosen once per process:
 * LAYERSCOPE_MATMUL=dnnl or =kernel forces it (tests run both where the CPU allows);
 * otherwise oneDNN when its kernel for this CPU is a native bf16 one (AMX or AVX-512 BF16),
 * since that is where it beats the hand-written vdpbf16ps kernel, else the hand-written one.
 *
 * State: a ls_dnnl_worker (one per pool worker, owned by the pool) holds the oneDNN engine,
 * its stream and the primitives created so far, keyed by shape. */
#ifndef LS_ENGINE_OPS_DNNL_H
#define LS_ENGINE_OPS_DNNL_H

#include <stdint.h>

typedef struct ls_dnnl_worker ls_dnnl_worker;

/* The paths a bf16 product can take. */
typedef enum ls_bf16_path {
  LS_BF16_PATH_NONE = 0, /* the CPU has no bf16 dot product: the fp32 path runs */
  LS_BF16_PATH_KERNEL,   /* the hand-written AVX512_BF16 kernel (ops_bf16.c) */
  LS_BF16_PATH_DNNL,     /* oneDNN's matmul primitive */
} ls_bf16_path;

/* The path bf16 products take in this process (LAYERSCOPE_MATMUL, else the CPU). */
ls_bf16_path ls_ops_bf16_path(void);
/* "kernel", "onednn" or "fp32" and, for oneDNN, its implementation name for a bf16 matmul on
 * this CPU ("brg:avx512_core_amx", "brg:avx512_core_bf16", ...): what --timing prints. */
const char *ls_ops_bf16_path_name(void);
/* The oneDNN implementation name a bf16 matmul gets on this CPU ("" when oneDNN fails). */
const char *ls_ops_dnnl_impl(void);

/* y[M, cnt] (row stride ldy) = xb[M, K] (bf16, row stride K) @ W + bias, where W is the
 * weight panel: w_is_nk = 1: w[cnt, K] bf16 rows ldw apart (nn.Linear), W = w^T;
 * w_is_nk = 0: w[K, cnt] bf16 rows ldw apart (GPT-2 Conv1D). bias[cnt] fp32 or NULL.
 * *slot is the calling worker's state (created on first use). Returns LS_OK, LS_ENOMEM, or
 * LS_EIO when oneDNN refuses the shape (the caller then uses its own kernel). */
int ls_dnnl_gemm_bf16(ls_dnnl_worker **slot, const uint16_t *xb, int64_t M, int64_t K,
                      const uint16_t *w, int64_t ldw, int w_is_nk, int64_t cnt, float *y,
                      int64_t ldy, const float *bias);

void ls_dnnl_worker_free(ls_dnnl_worker *w);

#endif
