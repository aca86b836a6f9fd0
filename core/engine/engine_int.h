/* engine_int.h (internal to core/engine): the state shared by engine.c (weight binding),
 * forward.c (pass lifecycle, events, pausing) and the family forward files
 * (fwd_decoder.c: gpt2 and the llama family, with the per-family pieces of qwen3,
 * qwen2_moe, qwen3_moe, gpt_oss, olmo2, granite, gemma2 and gemma3_text; fwd_parallel.c: the
 * layer plans of gpt_neox and phi, run by fwd_decoder.c's pass; fwd_encoder.c: bert and
 * roberta).
 *
 * At open, each family's plan function resolves every module the forward pass touches to
 * its index in the module tree and its bound weights, so the pass itself never looks a name
 * up. A module the tree does not have gets index -1 and simply emits no event. */
#ifndef LS_ENGINE_INT_H
#define LS_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/engine/forward.h"
#include "core/engine/pool.h"

/* One parameter tensor bound to storage. */
typedef struct ls__wb {
  const char *name;   /* borrowed from the model */
  ls_dtype dtype;     /* stored dtype (shown to hooks) */
  int transposed;     /* a Conv1D weight stored [out, in] (GGUF gpt2): mat is [out, in]; a
                         stacked [E, in, out] stored [E, out, in] (gpt_oss MXFP4 experts):
                         mat is [E out, in] */
  int ndim;
  int64_t shape[4];   /* upstream order */
  ls_ops_mat mat;     /* 2-D view [shape[0], prod(shape[1:])]; 1-D: [1, shape[0]] */
  float *vec;         /* 1-D tensors decoded to fp32 [shape[0]] (norm weights, biases), owned */
} ls__wb;

typedef struct ls__lin {
  int mod;            /* module index or -1 */
  const ls__wb *w;    /* weight: Linear [out, in] / Conv1D [in, out] */
  const ls__wb *b;    /* bias or NULL */
  int nk;             /* 1: weight is [out, in] (Linear); 0: [in, out] (Conv1D) */
  int64_t in, out;
} ls__lin;

typedef struct ls__norm {
  int mod;
  const float *w, *b; /* [dim] or NULL */
} ls__norm;

typedef struct ls__expert {
  int mod;
  ls__lin w1, w2, w3; /* gate [I, H], down [H, I], up [I, H] */
} ls__expert;

/* Everything one layer of any supported family uses; unused members stay -1 / NULL. */
typedef struct ls__layer {
  int mod, attn, mlp;
  ls__norm n1, n2;    /* pre-attention / pre-MLP norms (bert: attention.output.LayerNorm,
                         output.LayerNorm: post-norms); w == NULL: none (olmo2) */
  ls__norm pn1, pn2;  /* norms of the attention / MLP outputs before the residual add
                         (gemma2/3: post_attention_layernorm, post_feedforward_layernorm;
                         olmo2 the same pair); w == NULL: none */
  ls__norm qn, kn;    /* q_norm / k_norm before RoPE; w == NULL: none. Over each head's
                         head_dim (qwen3, gemma3: qk_per_head = 1) or over the whole
                         projection (olmo2: 0) */
  int qk_per_head;
  int qk_late;        /* q_norm / k_norm after all three projections (gemma3, phi), not each
                         right after its own (qwen3, olmo2) */
  int parallel;       /* the MLP's norm reads the layer input x, not h = x + attn:
                         x + attn(n1(x)) + mlp(n2(x)) (gpt_neox use_parallel_residual); with no
                         n2 the MLP reads n1(x) (phi) */
  int qkv_per_head;   /* fused qkv row is [heads, 3, head_dim] (gpt_neox query_key_value),
                         not q | k | v */
  int mlp_plain;      /* fc2(act(fc1(x))) with Linear weights and biases (gpt_neox, phi) */
  /* deepseek_v2 / v3 multi-head latent attention (fwd_mla.c): q = q_proj(x), or
   * q_b_proj(q_a_layernorm(q_a_proj(x))) when q_a.w; kv_a_proj_with_mqa(x) = [latent
   * kv_lora_rank | shared rotary key qk_rope_head_dim]; kv_b_proj(kv_a_layernorm(latent)) =
   * per head [k_nope | v]. mla = 0: not an MLA layer */
  int mla;
  ls__lin q_a, q_b, kv_a, kv_b;
  ls__norm q_an, kv_an;
  int local_rope;     /* gemma3: a sliding layer, rotated with the local base (rope_local) */
  ls__lin qkv;        /* fused: gpt2 c_attn (Conv1D), phi3 qkv_proj */
  ls__lin q, k, v, o; /* separate projections; o = c_proj / o_proj / attention.output.dense */
  int attn_self, attn_out; /* bert: attention.self, attention.output containers */
  ls__lin fc1;        /* gpt2 c_fc, llama gate_proj, phi3 gate_up_proj, bert intermediate.dense */
  ls__lin up;         /* llama up_proj */
  ls__lin fc2;        /* gpt2 mlp.c_proj, llama down_proj, bert output.dense */
  int inter_mod, out_mod; /* bert: intermediate, output */
  int64_t window;     /* sliding window for this layer, 0 = none */
  /* MoE (mixtral; qwen3_moe's sparse layers); experts NULL on a dense layer */
  int moe, experts_list;
  ls__lin router;
  ls__expert *experts; /* [n_experts] */
  /* gpt_oss: per-head sink logits, and the experts stacked in four parameters of one
   * module (experts_list): [E, H, 2I] gate/up interleaved, [E, I, H] down, [E, ...] biases */
  const float *sinks;  /* [n_heads] self_attn.sinks, or NULL */
  /* qwen2_moe: mlp.shared_expert (a gated MLP on every token) and mlp.shared_expert_gate
   * ([1, H]: its sigmoid weighs the shared expert's output); shared.mod -1 when none */
  int shared_mod;
  ls__lin sh_gate, sh_up, sh_down, sh_g; /* sh_g.w NULL: an ungated shared expert
                                           (deepseek mlp.shared_experts) */
  int ds_route;         /* a DeepSeek MoE layer: routed by ls__ds_route */
  const float *ds_bias; /* [E] deepseek_v3 mlp.gate.e_score_correction_bias; NULL (v2) */
  const ls__wb *gate_up, *down;
  float *oss_bias;     /* owned: [E, 2I] gate_up_proj_bias then [E, H] down_proj_bias */
} ls__layer;

typedef enum ls__arch { LS__ARCH_GPT2 = 0, LS__ARCH_LLAMA, LS__ARCH_BERT } ls__arch;

struct ls_engine {
  const ls_model *m;
  ls_pool *pool;
  ls__wb *wb;            /* [m->n_tensors] bindings, tied tensors share the target's mat */
  char matmul_path[192]; /* ls_engine_matmul_path: which code computes the products */
  void *src;             /* weight source: an ls_tfile (core/tensor/tensor.h, tfile.c), NULL for random init */
  void **owned;          /* buffers to free: random weights, decoded vectors */
  size_t n_owned, cap_owned, owned_bytes;
  /* plan */
  ls__arch arch;
  int act;               /* ls_ops_act */
  ls_ops_rope rope;
  ls_ops_rope rope_local; /* gemma3's sliding layers: rope_local_base_freq, no scaling */
  int has_local_rope;
  int has_qk_norm;       /* some layer has q_norm / k_norm (the pass allocates qk for them) */
  int has_qkv_per_head;  /* some layer has qkv_per_head (the pass allocates qkv_raw) */
  /* deepseek_v2 / v3 MLA sizes (fwd_mla.c); mla_rope 0 = not MLA. head_dim is then
   * max(nope + rope, v): q / k / v heads are laid out zero-padded to it */
  int64_t mla_nope, mla_rope, mla_v, mla_q_rank, mla_kv_rank;
  int mla_interleave;    /* rope_interleave: the rotary dims come as pairs (2i, 2i + 1) */
  int64_t mla_scratch;   /* floats per position of the pass's mla buffer */
  int64_t ds_first_moe;  /* deepseek: first_k_dense_replace (layers from it are MoE) */
  int64_t ds_groups, ds_topk_groups; /* n_group, topk_group */
  float ds_scale;        /* routed_scaling_factor */
  int ds_v2;             /* deepseek_v2: softmax routing (greedy, or group-limited by each
                            group's best score when ds_groups > 1), complex-pair RoPE, no
                            mscale in the scores' scale */
  int gemma3;            /* gemma3_text, or gemma3's text model: the gemma3 pieces */
  int lm_wrap;           /* gemma3: language_model, around the backbone and lm_head; -1 */
  /* per-family scalars (1 / 0 = the llama arithmetic) */
  float attn_scale;      /* scores scale: 1/sqrt(head_dim); granite attention_multiplier,
                            gemma2/3 query_pre_attn_scalar^-0.5 */
  float attn_softcap;    /* > 0: scores c * tanh(s / c) (gemma2 attn_logit_softcapping) */
  float swiglu_limit;    /* gpt_oss experts: gate <= limit, |up| <= limit */
  float embed_mul;       /* token embeddings times this (gemma: sqrt(hidden), granite:
                            embedding_multiplier) */
  int embed_in_module;   /* 1: the scale is inside embed_tokens (gemma3's
                            Gemma3TextScaledWordEmbedding), so its event shows it */
  float resid_mul;       /* attention / MLP outputs times this before the residual add
                            (granite residual_multiplier) */
  float logit_div;       /* logits / this (granite logits_scaling) */
  float final_softcap;   /* > 0: logits c * tanh(x / c) (gemma2/3 final_logit_softcapping) */
  int64_t H, n_heads, n_kv, head_dim, inter, vocab, max_pos, n_layers, n_experts, top_k;
  int64_t moe_inter;     /* an expert's inner width (qwen3_moe: moe_intermediate_size) */
  int64_t shared_inter;  /* qwen2_moe: shared_expert_intermediate_size; 0 */
  int moe_renorm;        /* top-k routing weights renormalised to sum 1 (mixtral;
                            qwen3_moe with norm_topk_prob) */
  int root, backbone, layers_list, lm_head_mod, final_norm_mod;
  const ls__wb *tok_emb, *pos_emb, *type_emb;
  int tok_emb_mod, pos_emb_mod, type_emb_mod, emb_container; /* bert: embeddings */
  ls__norm emb_norm;     /* bert embeddings.LayerNorm */
  ls__norm final_norm;   /* ln_f / model.norm */
  ls__lin lm_head;       /* weight may be tied to the token embedding */
  const float *lm_bias;  /* bert/roberta decoder bias [vocab] */
  /* bert heads */
  int pooler_mod; ls__lin pooler;
  int mlm_mod, mlm_transform_mod; ls__lin mlm_dense; ls__norm mlm_norm;
  int encoder_mod;
  int pad_id;            /* roberta positions */
  ls__layer *layer;      /* [n_layers] */
  int compute;           /* ls_engine_compute in effect (bf16: every 2-D weight's mat has
                            compute_bf16 set, so ls_ops_matmul takes ops_bf16.c's kernel) */
};

/* forward.h's KV cache: the keys and values of the positions already run. */
struct ls_kv {
  int64_t n_layers, width; /* width = n_kv * head_dim */
  int64_t cap, len;        /* positions allocated / filled */
  float *k, *v;            /* [n_layers, cap, width] keys after RoPE, values */
};

struct ls_fwd {
  ls_engine *e;
  const ls_model *m;
  int64_t S;             /* rows through the stack: B * L */
  int64_t B, L;          /* batch rows, positions per row (B = 1: L = S) */
  int has_mask;          /* opts.attention_mask was given (attention masks keys) */
  ls_kv *kv;             /* borrowed KV cache or NULL */
  int64_t pos0;          /* position of token 0: the cached length (0 without a cache) */
  int64_t T;             /* positions attention sees per row: pos0 + L */
  int64_t *tokens;       /* [B * L] */
  int64_t *types;        /* [B * L] token types */
  int *mask;             /* [B * L] 1 = attend */
  ls_fwd_opts o;
  /* control */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  int started, joined;
  ls_fwd_state state;
  int resume_pending, resume_action;
  atomic_int pause_req;
  atomic_int abort_req;  /* ls_fwd_abort: stop at the next boundary or pause */
  int step_mode, step_depth;
  uint64_t serial;
  const ls_fwd_event *paused;
  int result;
  ls_diag diag;
  /* activations (all fp32) */
  float *x, *x2;         /* [S, H] residual stream, ping-pong between layers */
  float *h;              /* [S, H] residual after attention */
  float *nrm;            /* [S, H] normed input of attention */
  float *nrm2;           /* [S, H] normed input of the MLP */
  float *qkv;            /* [S, (n_heads + 2 n_kv) head_dim] projections (fused or not) */
  float *qkv_raw;        /* [S, 3 n_heads head_dim] gpt_neox query_key_value output, per head
                            [q k v], before the split into qkv; NULL for other families */
  float *mla;            /* [S, e->mla_scratch] deepseek: the projections of fwd_mla.c; NULL */
  float *att;            /* [S, n_heads head_dim] attention output before o_proj */
  float *probs;          /* [B, n_heads, L, T] */
  float *ao;             /* [S, H] attention block output */
  float *ff1, *ff2;      /* [S, 2 inter] MLP hidden (gate / up) */
  float *fo;             /* [S, H] MLP output */
  float *cos_t, *sin_t;  /* [T, rot_dim / 2] for positions 0..T-1 (every row's) */
  float *cos_l, *sin_l;  /* [T, rot_dim / 2] local-base tables (gemma3), or NULL */
  float *qk;             /* [S, (n_heads + n_kv) head_dim] q_norm then k_norm outputs */
  float *router;         /* [S, n_experts] logits, then */
  float *routing;        /* [S, n_experts] routing weights (0 for unselected) */
  float *ex_in, *ex_out; /* [S, H] gathered expert rows */
  int64_t *ex_rows;      /* [S] */
  float *logits;         /* [S, vocab] (or [S, H] for a base encoder) */
  int64_t logit_rows, logit_cols;
  float *aux;            /* [S, H] scratch (bert heads) */
};

/* fwd_decoder.c / fwd_encoder.c: each family's plan, built by engine.c at open */
int ls__engine_plan_decoder(ls_engine *e, ls_diag *d);
int ls__engine_plan_encoder(ls_engine *e, ls_diag *d);

/* engine.c: the stored tensor (an ls_tensor of an ls_tfile) for model tensor `name`, also
 * under the name without the head class's backbone prefix (hub GPT-2); NULL when absent. */
const struct ls_tensor *ls__stored(const ls_model *m, const void *tfile, const char *name);
/* memcheck.c: LS_ENOMEM with the figures and the ways out when the weights (tfile: stored
 * in that ls_tfile; NULL: random in the config's torch_dtype) exceed MemAvailable. */
int ls__engine_mem_check(const ls_model *m, const void *tfile, ls_diag *d);
/* fwd_parallel.c: one layer of gpt_neox or phi (b: its module name), and the split of a
 * per-head [q k v] row into q | k | v */
int ls__plan_parallel_layer(ls_engine *e, ls__layer *L, const char *b, ls_diag *d);
/* fwd_mla.c: deepseek_v2 / v3 sizes, scale and rotary dims (after plan_rope), one layer, and the
 * attention block of an MLA layer (in -> out [S, H], with its module events) */
int ls__plan_mla(ls_engine *e, ls_diag *d);
int ls__plan_mla_layer(ls_engine *e, int64_t l, ls__layer *L, const char *b, ls_diag *d);
/* deepseek_v2 / v3 routing of one token: router logits[E] -> routing[E] (0 where unselected) */
void ls__ds_route(const ls_engine *e, const ls__layer *L, const float *logits, float *routing);
/* fwd_decoder.c: binds b.blk.gate (router) and the experts b.blk.experts.N.{wg, wd, wu}
 * (gate [moe_inter, H], down [H, moe_inter], up) of a MoE layer */
int ls__plan_experts(ls_engine *e, ls__layer *L, const char *b, const char *blk, const char *wg,
                     const char *wd, const char *wu, ls_diag *d);
int ls__fwd_mla_attn(ls_fwd *f, const ls__layer *L, const float *in, float *out);
/* fwd_decoder.c: with a KV cache (f->kv), appends layer l's keys / values of this pass
 * (positions pos0..) and points *k / *v at the cache's rows 0..T-1 (strides *ks = *vs = the
 * cache's width, n_kv head_dim) */
void ls__fw_kv_append(ls_fwd *f, int64_t l, float **k, float **v, int64_t *ks, int64_t *vs);
/* fwd_decoder.c: RoPE on x [B * L, stride] (heads of D, the first rot_dim dims of each),
 * positions pos0.. restarting in every batch row; tables [T, e->rope.rot_dim / 2] */
void ls__fw_rope_rows(ls_fwd *f, float *x, int64_t heads, int64_t D, int64_t stride, int rot_dim,
                      const float *cos_t, const float *sin_t);
/* fwd_decoder.c: attention per (batch row, head) (decoders, MLA and encoders) into f->probs [B, heads, L, T] and f->att
 * [B * L, heads * head_dim]: a's heads, strides, scale and masks; S, T, q0 and the row's key
 * mask (when the pass has a mask) set here. fp32 or bf16 as the engine computes. */
int ls__fw_attend_rows(ls_fwd *f, const ls_ops_attn *a, const float *q, const float *k, const float *v);
void ls__qkv_split_heads(const float *raw, int64_t S, int64_t heads, int64_t head_dim, float *qkv);

/* engine.c: the lookups and bindings the plans use */
/* Finds a module index (-1 when absent) by printf-style name. */
int ls__mod(const ls_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Binding of a parameter by full name; NULL when absent. */
const ls__wb *ls__wb_find(const ls_engine *e, const char *name);
/* Binds module `name` as a Linear (nk = 1) or Conv1D (nk = 0) with in/out features; a
 * missing module or weight is an error naming it when required. */
int ls__lin_bind(ls_engine *e, ls__lin *l, const char *name, int nk, int64_t in, int64_t out,
                 int required, ls_diag *d);
int ls__norm_bind(ls_engine *e, ls__norm *n, const char *name, int64_t dim, int required,
                  ls_diag *d);

/* forward.c: events. mod < 0 emits nothing. Returns LS_OK or LS_ECANCELED (aborted). */
int ls__fw_enter(ls_fwd *f, int mod, const ls_fwd_tensor *in, int n_in);
int ls__fw_exit(ls_fwd *f, int mod, const ls_fwd_tensor *in, int n_in,
                const ls_fwd_tensor *out, int n_out, const ls_fwd_tensor *inter, int n_inter);
/* An fp32 activation [1, rows, cols] (rows < 0: [1, cols]) named name. */
ls_fwd_tensor ls__act(const char *name, const float *data, int64_t rows, int64_t cols);
/* The token ids as an i64 tensor [1, S] named input_ids (root, backbone, embedding inputs). */
ls_fwd_tensor ls__ids(const ls_fwd *f);
/* y = x @ W^T + b over the rows of x, with enter/exit events for l->mod. */
int ls__fw_linear(ls_fwd *f, const ls__lin *l, const float *x, int64_t rows, float *y);
/* ys[i] = x @ W_i^T + b_i for n Linears sharing their input (q/k/v, gate/up), computed as
 * one product (ls_ops_matmul_multi), then each module's enter/exit events in order. */
int ls__fw_linears(ls_fwd *f, int n, const ls__lin *const *ls, const float *x, int64_t rows,
                   float *const *ys);
int ls__fw_norm(ls_fwd *f, const ls__norm *n, int kind, const float *x, float *y, int64_t rows,
                int64_t dim, float eps);

/* fwd_decoder.c / fwd_encoder.c: the passes */
int ls__fwd_decoder(ls_fwd *f);
int ls__fwd_encoder(ls_fwd *f);

#endif
