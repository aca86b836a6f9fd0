/* ops.h: the fp32 kernels of the reference engine. Activations are always fp32; weights
 * stay in their stored encoding (f32, f16, bf16, GGUF Q8_0 / Q4_0) and are decoded a panel
 * at a time into a per-worker buffer that fits in cache, right before the matrix product
 * that uses it, so a bf16 model never exists as fp32 in memory. Matrix products go through
 * OpenBLAS sgemm on those panels; element-wise kernels are plain loops the compiler
 * vectorises (hot ones are compiled twice, for x86-64-v3 and baseline, and picked at load
 * time). Each kernel follows the PyTorch / Hugging Face definition it is named after; where
 * upstream has variants (GELU, RoPE scaling, RMSNorm offsets) the variant is a parameter.
 *
 * Shapes are given in comments as [rows, cols] with the last index fastest (row-major). */
#ifndef LS_ENGINE_OPS_H
#define LS_ENGINE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/engine/pool.h"

/* Weight encodings the matrix product and the row decoder understand. */
typedef enum ls_ops_wtype {
  LS_OPS_F32 = 0,
  LS_OPS_F16,
  LS_OPS_BF16,
  LS_OPS_Q8_0, /* GGUF: blocks of 32: f16 scale d, 32 x int8 q; x = d * q */
  LS_OPS_Q4_0, /* GGUF: blocks of 32: f16 scale d, 16 bytes of nibbles; x = d * (q - 8) */
  LS_OPS_EXT,  /* any other core/tensor dtype (Q4_1, Q5_*, Q4_K, Q6_K, f64, ...): decoded by
                  ls_dtype_to_f32, slower but complete */
  LS_OPS_MXFP4, /* OCP microscaling FP4 (gpt-oss experts): blocks of 32 e2m1 values, 16
                   bytes, two a byte, low nibble first; each block's e8m0 exponent s is in a
                   separate array (ls_ops_mat.scales); x = e2m1 * 2^(s - 127) */
  LS_OPS_WTYPE_COUNT
} ls_ops_wtype;

/* A read-only matrix in a stored encoding: logical shape [rows, cols], row-major, each row
 * ls_ops_mat_row_bytes(m) bytes. data is borrowed (usually a memory-mapped file). */
typedef struct ls_ops_mat {
  int type;          /* ls_ops_wtype */
  int ext;           /* LS_OPS_EXT only: the core/tensor ls_dtype */
  const void *data;  /* [rows, row_bytes] */
  const uint8_t *scales; /* LS_OPS_MXFP4 only: [rows, cols / 32] block exponents (borrowed,
                            like data); NULL for other encodings */
  int64_t rows, cols;
  int rowmap_heads;  /* > 0: rows are stored in llama.cpp's interleaved-rotary order for
                        this many heads (GGUF q/k projections); upstream row
                        u = h*hd + j*hd/2 + i is stored row h*hd + 2i + j */
  int compute_bf16;  /* 1: ls_ops_matmul computes products with this matrix in bf16
                        (ops_bf16.h: the engine's opt-in bf16 compute mode sets it on
                        every weight); 0: fp32 */
} ls_ops_mat;

/* "f32", "bf16", "q8_0", ... (for EXT: the core/tensor name). */
const char *ls_ops_mat_type_name(const ls_ops_mat *m);
/* Elements and bytes per block of the matrix's encoding (1 and 4 for f32, 32 and 34 for
 * q8_0, 256 and 210 for q6_k, 32 and 16 for mxfp4: its scales are not in the row); 0 for an
 * unknown encoding. */
int ls_ops_mat_block_elems(const ls_ops_mat *m);
int ls_ops_mat_block_bytes(const ls_ops_mat *m);
/* Bytes of one row; 0 if cols is not a whole number of blocks or the size overflows. */
size_t ls_ops_mat_row_bytes(const ls_ops_mat *m);
/* Maps a core/tensor ls_dtype to the matrix encoding (type, ext); -1 for types that are not
 * numbers (bool) or have no decoder. */
int ls_ops_type_from_dtype(int ls_dtype_value, int *ext);

/* The stored row of logical row `row` (differs only for rowmap_heads matrices). */
int64_t ls_ops_mat_stored_row(const ls_ops_mat *m, int64_t row);

/* Decodes elements [col0, col0 + n) of row `row` into out[n]. col0 must be a multiple of
 * the block size and n a multiple of it or reach the end of the row (programmer errors). */
void ls_ops_mat_row(const ls_ops_mat *m, int64_t row, int64_t col0, int64_t n, float *out);

/* Half-precision conversions (round to nearest even), for tests and writers. */
float ls_ops_f16_to_f32(uint16_t h);
uint16_t ls_ops_f32_to_f16(float f);
float ls_ops_bf16_to_f32(uint16_t h);
uint16_t ls_ops_f32_to_bf16(float f);

/* ---- matrix product ------------------------------------------------------------------ */

/* y[M, N] = x[M, K] @ W^T + bias, W = w [N, K]    (w_is_nk = 1: nn.Linear layout)
 * y[M, N] = x[M, K] @ W   + bias, W = w [K, N]    (w_is_nk = 0: GPT-2 Conv1D layout)
 * bias [N] or NULL. The pool splits N into panels; each worker decodes its panel into
 * scratch (unless f32) and runs single-threaded sgemm on it. y must not alias x.
 * Returns LS_OK, or LS_ENOMEM when a panel buffer cannot be allocated.
 * w->compute_bf16 set and ls_ops_bf16_applies(w): computed by ls_ops_matmul_bf16 instead. */
int ls_ops_matmul(ls_pool *p, float *y, const float *x, int64_t M, const ls_ops_mat *w,
                  int w_is_nk, const float *bias);

/* ys[i] = ls_ops_matmul(x, ws[i], biases[i]) for i < n, products sharing x and K. When every
 * ws[i] is for the bf16 compute mode they run as one job (ls_ops_matmul_bf16_multi),
 * otherwise one after another. */
int ls_ops_matmul_multi(ls_pool *p, int n, float *const *ys, const float *x, int64_t M,
                        const ls_ops_mat *const *ws, int w_is_nk, const float *const *biases);

/* ---- element-wise and row kernels ---------------------------------------------------- */

void ls_ops_add(float *y, const float *x, int64_t n);              /* y[n] += x[n] */
/* y[n] = a[n] + b[n] on the pool, vectorised (a residual sum); y may equal a or b. */
void ls_ops_add2(ls_pool *p, float *y, const float *a, const float *b, int64_t n);
void ls_ops_scale(float *y, float s, int64_t n);                   /* y[n] *= s */

typedef enum ls_ops_act {
  LS_OPS_ACT_GELU_TANH = 0, /* gelu_new, gelu_pytorch_tanh, gelu_fast */
  LS_OPS_ACT_GELU_ERF,      /* gelu (nn.GELU default) */
  LS_OPS_ACT_SILU,          /* silu, swish */
  LS_OPS_ACT_RELU,
  LS_OPS_ACT_COUNT
} ls_ops_act;
/* Maps an upstream activation name (hidden_act / activation_function) to ls_ops_act;
 * returns -1 when unknown. */
int ls_ops_act_parse(const char *name);
/* y[n] = act(x[n]); y may equal x. Parallel over chunks. */
void ls_ops_act_apply(ls_pool *p, int act, float *y, const float *x, int64_t n);
/* gate[n] = act(gate[n]) * up[n]  (SwiGLU / GeGLU: Llama, Gemma, Mixtral experts). */
void ls_ops_glu(ls_pool *p, int act, float *gate, const float *up, int64_t n);

/* LayerNorm over the last dim: y[rows, n] = (x - mean) / sqrt(var + eps) * w + b (biased
 * variance, as torch.nn.LayerNorm). w, b [n] may be NULL (no affine). y may equal x. */
void ls_ops_layernorm(ls_pool *p, float *y, const float *x, int64_t rows, int64_t n,
                      const float *w, const float *b, float eps);
/* RMSNorm: y = x / sqrt(mean(x^2) + eps) * (w + offset); offset 0 for Llama, 1 for Gemma's
 * (1 + w). w [n] may be NULL (no scale). y may equal x. */
void ls_ops_rmsnorm(ls_pool *p, float *y, const float *x, int64_t rows, int64_t n,
                    const float *w, float offset, float eps);

/* Softmax over rows of n: x[rows, n] in place, max-subtracted; -INFINITY entries get 0. */
void ls_ops_softmax(float *x, int64_t rows, int64_t n);

/* ---- rotary position embedding ------------------------------------------------------- */

typedef enum ls_ops_rope_kind {
  LS_OPS_ROPE_DEFAULT = 0,
  LS_OPS_ROPE_LINEAR,  /* positions / factor */
  LS_OPS_ROPE_DYNAMIC, /* NTK-aware base growth once seq_len > max_position_embeddings */
  LS_OPS_ROPE_LLAMA3,  /* Llama 3.1 wavelength-banded frequency scaling */
  LS_OPS_ROPE_YARN,    /* YaRN: interpolated / extrapolated frequencies blended by a linear
                          ramp over the correction range, cos and sin times attn_factor */
  LS_OPS_ROPE_COUNT
} ls_ops_rope_kind;

typedef struct ls_ops_rope {
  int kind;               /* ls_ops_rope_kind */
  int rot_dim;            /* rotated dims per head (head_dim * partial_rotary_factor), even */
  double theta;           /* rope_theta (base) */
  double factor;          /* rope_scaling.factor (linear, dynamic, llama3) */
  double low_freq_factor, high_freq_factor;  /* llama3 */
  double original_max_pos;                   /* llama3: original_max_position_embeddings */
  double max_pos;                            /* dynamic: max_position_embeddings */
  double beta_fast, beta_slow;               /* yarn: correction range in rotations */
  int truncate;                              /* yarn: round the range to whole dims */
  double attn_factor;                        /* yarn: cos / sin multiplier (mscale) */
} ls_ops_rope;

/* Parses a rope_scaling "type"/"rope_type" name; -1 when unknown. */
int ls_ops_rope_kind_parse(const char *name);
/* Fills cos/sin tables [S, rot_dim / 2] for positions 0..S-1 as upstream computes them
 * (inv_freq in fp32, angle = pos * inv_freq in fp32, then cos/sin; yarn: times
 * attn_factor). */
void ls_ops_rope_tables(const ls_ops_rope *r, int64_t S, float *cos_t, float *sin_t);
/* Rotate-half RoPE in place on x [S, stride] holding H heads of head_dim at the start of
 * each row, first rot_dim dims of each head:
 * x1 = x[:rot/2], x2 = x[rot/2:rot]; x <- (x1 cos - x2 sin, x2 cos + x1 sin). */
void ls_ops_rope_apply(float *x, int64_t S, int64_t H, int64_t head_dim, int64_t stride,
                       int rot_dim, const float *cos_t, const float *sin_t);

/* ---- attention ----------------------------------------------------------------------- */

typedef struct ls_ops_attn {
  int64_t S;        /* queries (batch 1) */
  int64_t T;        /* keys and values; 0 = S. With a KV cache T = q0 + S */
  int64_t q0;       /* position of query 0 among the keys (KV cache: the cached length);
                       causality and the window compare q0 + i with key j */
  int64_t n_heads;  /* query heads */
  int64_t n_kv;     /* key/value heads; n_heads % n_kv == 0 (GQA: kv head = h / group) */
  int64_t head_dim;
  int64_t q_stride, k_stride, v_stride; /* floats between positions in q, k, v */
  float scale;      /* multiplies q.k, usually 1/sqrt(head_dim) */
  int causal;       /* key j visible from query i only if j <= i */
  int64_t window;   /* > 0: also only if i - j < window (Mistral sliding window) */
  const int *key_mask; /* [S] 1 = attend, 0 = padding (BERT attention_mask), or NULL */
  float softcap;    /* > 0: each scaled score s becomes softcap * tanh(s / softcap) before
                       the mask (gemma2's attn_logit_softcapping); 0: none */
  const float *sinks; /* [n_heads] or NULL: gpt-oss's learned sink logit per head, one more
                       column in each row's softmax that is then dropped (the row's
                       probabilities sum to less than 1) */
} ls_ops_attn;

/* out[S, n_heads * head_dim] = softmax(q k^T * scale + mask) v, with
 * q [S, q_stride] (head h at h*head_dim), k, v [T, stride] likewise with n_kv heads.
 * probs [n_heads, S, T] receives the attention probabilities (required: callers expose
 * them as an intermediate). Masked keys get probability 0. A row with no visible key at all
 * (only possible with a key_mask of all zeros) gets uniform weights, which is what
 * upstream's additive finfo.min mask produces there. */
void ls_ops_attention(ls_pool *p, const ls_ops_attn *a, const float *q, const float *k,
                      const float *v, float *probs, float *out);

/* Query head `head`'s scores pr[S, T] (q.k) into probabilities: each visible score times mul
 * (then soft-capped when a->softcap > 0), the others -INFINITY (causal, window, key mask),
 * then a row softmax (with the head's sink when a->sinks). Shared by the fp32 and
 * the bf16 attention. */
void ls_ops_attn_softmax(const ls_ops_attn *a, int64_t head, float *pr, float mul);

/* ---- misc ---------------------------------------------------------------------------- */

/* Copies row `id` of an embedding table [vocab, dim] (any encoding) to out[dim]. */
void ls_ops_embed(const ls_ops_mat *table, int64_t id, float *out);

/* The k largest of x[n] (k <= n), largest first, ties broken by lower index; NaN sorts
 * below everything. idx[k], val[k]. */
void ls_ops_topk(const float *x, int64_t n, int k, int64_t *idx, float *val);

#endif
