/* ops_bf16.h: the engine's opt-in bf16 matrix product (ls_engine_opts.compute =
 * LS_ENGINE_COMPUTE_BF16, `layerscope run --compute bf16`). It computes what PyTorch computes
 * for a model cast with model.to(torch.bfloat16): the activation rows entering a Linear /
 * Conv1D are rounded to bf16 (round to nearest even) once, weights are bf16 (f16 and f32
 * weights are rounded to bf16 a panel at a time), and products accumulate in fp32 with the
 * AVX512_BF16 instruction vdpbf16ps; attention's two products likewise take bf16 q, k, v
 * and probabilities (ls_ops_attention_bf16). Outputs stay fp32: norms, softmax, residuals
 * and everything else keep the fp32 path.
 *
 * The instruction is picked at run time (cpu.h: cpuid leaf 7 subleaf 1 EAX bit 5, plus the OS
 * saving AVX-512 state); without it, and for quantized weights, ls_ops_matmul_bf16 runs the
 * fp32 ls_ops_matmul instead, so the mode is always safe to ask for. */
#ifndef LS_ENGINE_OPS_BF16_H
#define LS_ENGINE_OPS_BF16_H

#include <stdint.h>

#include "core/engine/ops.h"
#include "core/engine/pool.h"

/* 1 when this CPU and OS run AVX-512F/BW with AVX512_BF16 (cached after the first call). */
int ls_ops_bf16_supported(void);

/* 1 when ls_ops_matmul_bf16 would use the bf16 kernel for w (CPU supported and w is f32,
 * f16 or bf16); 0 when it falls back to ls_ops_matmul. */
int ls_ops_bf16_applies(const ls_ops_mat *w);

/* Same contract as ls_ops_matmul (y[M, N] = x[M, K] @ W^T + bias for w [N, K] when w_is_nk,
 * x @ W + bias for w [K, N] otherwise), computed with bf16 inputs and fp32 accumulation
 * when ls_ops_bf16_applies(w), else by ls_ops_matmul. bf16 weights of either layout (Linear
 * [N, K], Conv1D [K, N]) are read straight from the mapping; other panels (f16/f32, GGUF
 * row order) are rounded into per-worker scratch. Returns LS_OK or LS_ENOMEM. */
int ls_ops_matmul_bf16(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                       int w_is_nk, const float *bias);

/* Most products one ls_ops_matmul_bf16_multi job computes together. */
#define LS_OPS_BF16_MAX_MATS 4

/* ys[i][M, N_i] = x[M, K] (@ W_i^T | @ W_i) + biases[i] for i < n: products that share their
 * input (q/k/v, gate/up) as one job, so x is rounded once and the pool splits all of their
 * panels at once (a [256, 2048] k projection alone leaves a worker idle half the time).
 * Every ws[i] takes the layout w_is_nk and the same K; biases[i] may be NULL. Falls back to
 * one product at a time when a matrix is not for the bf16 kernel, K differs or
 * n > LS_OPS_BF16_MAX_MATS. Returns LS_OK or LS_ENOMEM. */
int ls_ops_matmul_bf16_multi(ls_pool *p, int n, float *const *ys, const float *x, int64_t M,
                             const ls_ops_mat *const *ws, int w_is_nk, const float *const *biases);

/* ls_ops_attention (same arguments and masks) with bf16 inputs into both of its products, as
 * PyTorch's bf16 path: q, k and v rounded to bf16, scores q.k accumulated in fp32 then
 * scaled, masked and softmaxed in fp32 (probs keeps these fp32 probabilities), the
 * probabilities rounded to bf16 for the product with v, accumulated in fp32. Without
 * AVX512_BF16 it is ls_ops_attention. Returns LS_OK or LS_ENOMEM (scratch). */
int ls_ops_attention_bf16(ls_pool *p, const ls_ops_attn *a, const float *q, const float *k,
                          const float *v, float *probs, float *out);

#endif
