/* figures.h: derived figures of a built model: parameter counts, forward and training FLOPs
 * per token, weight memory per storage dtype, KV cache, and a training memory estimate.
 * The formulas and their references are in docs/figures.md. Conventions, stated once:
 *   - 1 multiply-add = 2 FLOPs; FLOPs count matrix products only (Linear/Conv1D weights,
 *     the LM head, and attention's QK^T and AV); norms, activations, softmax are left out.
 *   - Attention at sequence length S: each token attends to min(S, sliding_window) keys
 *     (no causal halving; Chinchilla appendix F counts the same way): 2 x keys x (d_qk + d_v).
 *   - MoE: FLOPs use the active (top_k) experts per token.
 *   - Training FLOPs = 3 x forward (backward = 2 x forward).
 *   - A vision tower (modules of kind VISION and below) runs once per image on its patches:
 *     its FLOPs are per image, each matrix applied to the tokens of its output shape
 *     ([B, T, ...]), attention over its input's T; never in the per-token figures.
 * Every figure is computed with checked 64-bit arithmetic; LS_EOVERFLOW when one does not
 * fit. Pure function of the model and options: no allocation, safe from any thread. */
#ifndef LS_MODEL_FIGURES_H
#define LS_MODEL_FIGURES_H

#include <stdint.h>

#include "core/base/diag.h"
#include "core/model/model.h"

/* Weight storage formats for memory figures (X-macro table in wdtype.def-like list below).
 * bits_num/bits_den: bytes per element as a fraction; GGUF formats store blocks of 32
 * elements (Q8_0: 32 int8 + fp16 scale = 34 bytes; Q4_0: 16 bytes of nibbles + fp16 scale
 * = 18 bytes), counted per tensor with the last block padded. */
#define LS_MODEL_WDTYPES(X)                                                                  \
  X(F32, "fp32", 4, 1, 0)                                                                    \
  X(BF16, "bf16", 2, 1, 0)                                                                   \
  X(F16, "fp16", 2, 1, 0)                                                                    \
  X(INT8, "int8", 1, 1, 0)                                                                   \
  X(INT4, "int4", 1, 2, 0)                                                                   \
  X(Q8_0, "q8_0", 34, 32, 32)                                                                \
  X(Q4_0, "q4_0", 18, 32, 32)
/* X(ID, "name", bytes_num, bytes_den, block): bytes = ceil(n / block) * num when block > 0,
 * else ceil(n * num / den). */

typedef enum ls_model_wdtype {
#define X(id, name, num, den, block) LS_MODEL_WDTYPE_##id,
  LS_MODEL_WDTYPES(X)
#undef X
  LS_MODEL_WDTYPE_COUNT
} ls_model_wdtype;

const char *ls_model_wdtype_name(ls_model_wdtype t);
/* "fp32"/"float32"/"f32", "bf16"/"bfloat16", "fp16"/"float16"/"half", "int8", "int4",
 * "q8_0", "q4_0" -> 0 and *out; LS_EINVAL otherwise. */
int ls_model_wdtype_parse(const char *s, ls_model_wdtype *out);
/* Bytes to store n elements in format t (checked); LS_EOVERFLOW. */
int ls_model_wdtype_bytes(ls_model_wdtype t, int64_t n, uint64_t *out);

/* The attention kernel training runs with, for the activation memory it keeps: eager stores
 * the S x S probabilities (Korthikanti et al.), sdpa (PyTorch's default kernels on GPU) and
 * flash store only a float32 log-sum-exp per head and token. */
typedef enum ls_model_attn_impl {
  LS_MODEL_ATTN_SDPA = 0,   /* transformers' default */
  LS_MODEL_ATTN_EAGER,
  LS_MODEL_ATTN_FLASH
} ls_model_attn_impl;
/* "sdpa", "eager", "flash" (also "flash_attention_2") -> 0 and *out; LS_EINVAL otherwise. */
int ls_model_attn_impl_parse(const char *s, ls_model_attn_impl *out);
const char *ls_model_attn_impl_name(ls_model_attn_impl a);

typedef struct ls_model_figopts {
  int64_t batch;            /* B >= 1 (default 1 when 0) */
  int64_t seq;              /* S >= 1 (0: min(max_pos, 2048); fixed-length models such as ViT
                               always use their own length) */
  ls_model_wdtype dtype;    /* dtype for activations, KV cache and the "weights" headline */
  ls_model_attn_impl attn;  /* attention kernel of the training estimate (default sdpa) */
} ls_model_figopts;

typedef struct ls_model_figures {
  int64_t batch, seq;                  /* as used (defaults resolved) */
  ls_model_wdtype dtype;
  ls_model_attn_impl attn;
  int64_t params, params_active, params_embedding, params_non_embedding;
  int64_t params_mtp;                  /* checkpoint-only MTP layers (DeepSeek-V3), not in params
                                          nor in any other figure; 0 when none */
  /* FLOPs per token at sequence length seq, forward: */
  uint64_t flops_matmul_per_token;     /* 2 x (active matmul weights), incl. LM head */
  uint64_t flops_attn_per_token;       /* 4 x layers x min(S, window) x (n_heads x head_dim) */
  uint64_t flops_per_token;            /* sum of the two */
  uint64_t flops_train_per_token;      /* 3 x flops_per_token */
  uint64_t flops_forward;              /* flops_per_token x batch x seq */
  uint64_t flops_per_image;            /* vision tower + projector of a multimodal model, once
                                          per image (not in the per-token figures); 0 when none */
  uint64_t weight_bytes[LS_MODEL_WDTYPE_COUNT]; /* summed per tensor, tied counted once */
  uint64_t weight_bytes_stored;        /* as the checkpoint stores them (quantization_config:
                                          fp8 with block scales, mxfp4 experts; else torch_dtype);
                                          0 when its format is not modelled */
  char stored_format[128];             /* what weight_bytes_stored assumed, or why it is 0 */
  uint64_t kv_bytes_per_token;         /* K and V, all layers, in dtype (0: no KV cache); for
                                          MLA the latent (kv_lora_rank + qk_rope_head_dim) that
                                          MLA-aware engines cache */
  uint64_t kv_bytes_per_token_expanded; /* MLA only (else 0): K and V decompressed per head, as
                                          transformers' own cache holds them */
  uint64_t kv_bytes;                   /* x batch x min(seq, window) */
  uint64_t ssm_state_bytes_per_seq;    /* state-space (Mamba) layers: the state they cache per
                                          sequence instead of K and V, whatever its length */
  uint64_t ssm_state_bytes;            /* x batch */
  /* training estimate, mixed precision Adam (docs/figures.md): */
  uint64_t train_weights;              /* 16-bit weights: 2 bytes/param */
  uint64_t train_grads;                /* 16-bit grads: 2 bytes/param */
  uint64_t train_optimizer;            /* fp32 master + Adam m, v: 12 bytes/param */
  int train_activations_unknown;       /* 1: some layer is not modelled (state-space layers):
                                          activations and totals are 0, and unknown */
  uint64_t train_activations;          /* all layers stored (Korthikanti et al. 2022) */
  uint64_t train_activations_ckpt;     /* full recomputation: layer inputs + one layer */
  uint64_t train_total, train_total_ckpt;
} ls_model_figures;

/* The storage format matching the config's torch_dtype (bf16, fp16, else fp32). */
ls_model_wdtype ls_model_wdtype_default(const ls_model *m);

/* Computes figures; opts may be NULL (B=1, S=min(max_pos, 2048), dtype from torch_dtype).
 * Returns 0, LS_EINVAL (model has errors, bad opts) or LS_EOVERFLOW, with d set. */
int ls_model_figures_compute(const ls_model *m, const ls_model_figopts *opts,
                             ls_model_figures *out, ls_diag *d);

/* Forward FLOPs per token of one module subtree at sequence length S (same conventions). */
int ls_model_module_flops(const ls_model *m, int module, int64_t seq, uint64_t *out);

#endif
