/* ops_q8.h: matrix products with GGUF Q8_0 / Q4_0 weights computed as integers, as llama.cpp
 * computes them: each activation row is quantized to int8 in blocks of 32 (scale = the
 * block's max |x| / 127, round to nearest), and each block's dot product with the weight
 * block is an exact int32 sum (AVX512-VNNI vpdpbusd) scaled by the two block scales in fp32.
 * The weights are never decoded to fp32. The only difference from the fp32 path (weights
 * dequantized, activations exact) is the activations' own quantization: each activation
 * moves by at most half a step, |x| max / 254 of its block, so a product differs from the
 * dequantized one by at most sum_b (amax_b / 254) * sum_{k in b} |w_k| (checked by
 * tests/unit/test_engine_q8.c).
 *
 * Used by ls_ops_matmul for Q8_0 / Q4_0 weights in the Linear layout ([N, K], K a multiple
 * of 32) on a CPU with AVX512-VNNI, unless LAYERSCOPE_Q8=fp32 (the dequantize-to-fp32 path,
 * which every other CPU takes). */
#ifndef LS_ENGINE_OPS_Q8_H
#define LS_ENGINE_OPS_Q8_H

#include <stdint.h>

#include "core/engine/ops.h"
#include "core/engine/pool.h"

/* 1 when this CPU has AVX512-VNNI (and the OS saves zmm state), and LAYERSCOPE_Q8 does not
 * say fp32; read once per process. */
int ls_ops_q8_supported(void);
/* 1 when ls_ops_matmul_q8 computes y = x @ w^T for this matrix and layout. */
int ls_ops_q8_applies(const ls_ops_mat *w, int w_is_nk);

/* y[M, N] = x[M, K] @ w^T + bias (w [N, K], Q8_0 or Q4_0, ls_ops_q8_applies). Returns LS_OK
 * or LS_ENOMEM. */
int ls_ops_matmul_q8(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                     const float *bias);

#endif
