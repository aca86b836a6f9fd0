/* fam_ll.h (internal to core/model): the rows and key macros shared by the llama-style
 * decoder families (fam_llama.c, fam_qwen3.c, fam_gemma3.c, ...): q/k/v/o attention, gated
 * MLP, RMSNorm, the decoder layer list and the CausalLM / SequenceClassification /
 * TokenClassification heads (defined once in fam_llama.c). Names and registration order
 * follow transformers' modeling_llama.py, which the newer families reuse. */
#ifndef LS_MODEL_FAM_LL_H
#define LS_MODEL_FAM_LL_H

#include "core/model/fam_docs.h"

/* ---------------------------------------------------------------- shared rows */

/* Attention with q/k/v/o projections; win = per-layer sliding window expression. */
#define LL_ATTN(type, win, qkvb, ob)                                                           \
  LS_F_ATTN(NULL, "self_attn", type, "B, S, hidden_size",                                      \
            "num_attention_heads n_kv hd rope_theta rope_scaling attention_dropout "           \
            "max_position_embeddings sliding_window",                                          \
            "num_attention_heads*hd | n_kv*hd | " win " | 0"),                                 \
      LS_F_LINEAR(NULL, "q_proj", "num_attention_heads*hd", "hidden_size", qkvb),              \
      LS_F_LINEAR(NULL, "k_proj", "n_kv*hd", "hidden_size", qkvb),                             \
      LS_F_LINEAR(NULL, "v_proj", "n_kv*hd", "hidden_size", qkvb),                             \
      LS_F_LINEAR(NULL, "o_proj", "hidden_size", "num_attention_heads*hd", ob), LS_F_END

/* Llama's four projections followed by an RMSNorm over each head's queries and keys
 * (q_norm, k_norm of [head_dim]: Qwen3, Gemma 3, OLMo-style models apply them before RoPE). */
#define LL_PROJ_QKNORM(bias)                                                                   \
  LS_F_LINEAR(NULL, "q_proj", "num_attention_heads*hd", "hidden_size", bias),                  \
      LS_F_LINEAR(NULL, "k_proj", "n_kv*hd", "hidden_size", bias),                             \
      LS_F_LINEAR(NULL, "v_proj", "n_kv*hd", "hidden_size", bias),                             \
      LS_F_LINEAR(NULL, "o_proj", "hidden_size", "num_attention_heads*hd", bias),              \
      {'M', NULL, "q_norm", "{C}RMSNorm", LS_MODEL_KIND_RMSNORM,                               \
       "B, S, num_attention_heads, hd", NULL, "rms_norm_eps", NULL},                           \
      LS_F_PAR(NULL, "weight", "hd"), LS_F_END,                                                \
      {'M', NULL, "k_norm", "{C}RMSNorm", LS_MODEL_KIND_RMSNORM, "B, S, n_kv, hd", NULL,        \
       "rms_norm_eps", NULL},                                                                  \
      LS_F_PAR(NULL, "weight", "hd"), LS_F_END

/* Gated MLP: down(act(gate(x)) * up(x)) */
#define LL_MLP(cond, name, type, ffn, mb)                                                      \
  LS_F_MOD(cond, name, type, MLP, "B, S, hidden_size", "hidden_act hidden_activation " ffn),   \
      LS_F_LINEAR(NULL, "gate_proj", ffn, "hidden_size", mb),                                  \
      LS_F_LINEAR(NULL, "up_proj", ffn, "hidden_size", mb),                                    \
      LS_F_LINEAR(NULL, "down_proj", "hidden_size", ffn, mb), LS_F_END

#define LL_NORM(name, type) LS_F_RMSNORM(NULL, name, type, "hidden_size", "rms_norm_eps")

#define LL_EMBED LS_F_EMBEDDING(NULL, "embed_tokens", "vocab_size", "hidden_size", "pad_token_id")

#define LL_LAYERS_OPEN(type)                                                                   \
  LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, S, hidden_size", NULL),                     \
      LS_F_LOOP(NULL, "L", "num_hidden_layers", type, BLOCK, "B, S, hidden_size", NULL)
#define LL_LAYERS_CLOSE LS_F_ENDLOOP, LS_F_END

#define LL_LM_HEAD(embed)                                                                      \
  {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL,        \
   "B, S, hidden_size"},                                                                       \
      LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", embed, "tie_word_embeddings"),    \
      LS_F_END
/* Llama's decoder: embeddings, layers of q/k/v/o attention (window expression win, biases
 * qkvb / ob) and a gated MLP (bias mb) between two RMSNorms, the final norm. */
#define LL_DECODER_BB(win, qkvb, ob, mb)                                                       \
  LL_EMBED, LL_LAYERS_OPEN("{C}DecoderLayer"), LL_ATTN("{C}Attention", win, qkvb, ob),          \
      LL_MLP(NULL, "mlp", "{C}MLP", "intermediate_size", mb),                                  \
      LL_NORM("input_layernorm", "{C}RMSNorm"), LL_NORM("post_attention_layernorm", "{C}RMSNorm"), \
      LL_LAYERS_CLOSE, LL_NORM("norm", "{C}RMSNorm")

/* Keys every llama-style config has, with the family's defaults. */
#define LL_KEYS(vocab, hidden, inter, layers, heads, act, maxpos, eps, theta)                   \
  LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, vocab, D_VOCAB, NULL),                           \
      LS_F_KEY("hidden_size", "", INT, DIM, HIDDEN, hidden, D_HIDDEN, NULL),                   \
      LS_F_KEY("intermediate_size", "", INT, DIM, INTERMEDIATE, inter, D_INTER, NULL),         \
      LS_F_KEY("num_hidden_layers", "", INT, DIM, N_LAYERS, layers, D_LAYERS, NULL),           \
      LS_F_KEY("num_attention_heads", "", INT, DIM, N_HEADS, heads, D_HEADS, NULL),            \
      LS_F_KEY("hidden_act", "", STRING, 0, ACT, act, D_ACT, ACTS),                            \
      LS_F_KEY("max_position_embeddings", "", INT, DIM, MAX_POS, maxpos, D_MAXPOS, NULL),      \
      LS_F_KEY("rms_norm_eps", "", FLOAT, 0, NORM_EPS, eps, D_RMS, NULL),                      \
      LS_F_KEY("rope_theta", "", FLOAT, 0, ROPE_THETA, theta, D_THETA, NULL),                  \
      LS_F_KEY("rope_scaling", "", OBJECT, NULLABLE, ROPE_SCALING, "null", D_ROPE_SCALING, NULL), \
      LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),          \
      K_INIT("0.02"), K_CACHE
#define LL_KV(def) LS_F_KEY("num_key_value_heads", "", INT, DIM | NULLDEF, N_KV_HEADS, def, D_KV, NULL)
#define LL_HEAD_DIM(def) LS_F_KEY("head_dim", "", INT, DIM | NULLDEF, HEAD_DIM, def, D_HEAD_DIM, NULL)
#define LL_WINDOW(def) LS_F_KEY("sliding_window", "", INT, DIM | NULLABLE, SLIDING_WINDOW, def, D_WINDOW, NULL)

#define LL_DERIVED(qkvb, ob, mb, win)                                                          \
  {"hd", "head_dim"}, {"n_kv", "num_key_value_heads"}, {"ffn", "intermediate_size"},           \
      {"sem_qkv_bias", qkvb}, {"sem_out_bias", ob}, {"sem_mlp_bias", mb}, {"sem_window", win}

#define LL_FAMILY(ID, keys, derived, backbone, norm)                                           \
  const ls__family ls__family_##ID = {                                                         \
      LS_MODEL_FAMILY_##ID, keys, LS_F_N(keys), derived, LS_F_N(derived), "model",             \
      "{C}Model", "B, S, hidden_size", backbone, LS_F_N(backbone), ls__ll_heads,               \
      LS__LL_N_HEADS, norm, LS_MODEL_POS_ROPE, 1, 1, 0, 0, 0}

/* Qwen's window keys: layers at or above max_window_layers use the window when
 * use_sliding_window is true (Qwen2Config, Qwen3Config layer_types). */
#define QWEN_WINDOW_KEYS                                                                       \
  LS_F_KEY("use_sliding_window", "", BOOL, 0, USE_SLIDING, "false", "Enable sliding-window attention on layers >= max_window_layers.", NULL), \
      LL_WINDOW("4096"),                                                                       \
      LS_F_KEY("max_window_layers", "", INT, CNT, NONE, "28", "Layers below this index use full attention.", NULL), \
      LS_F_KEY("layer_types", "", ARRAY, 0, NONE, "null", "Per-layer attention type (sliding_attention | full_attention).", NULL)
#define QWEN_WIN "(use_sliding_window && L >= max_window_layers ? sliding_window : 0)"

/* Heads shared by the decoder families: CausalLM (lm_head tied by tie_word_embeddings),
 * SequenceClassification (score, no bias), TokenClassification (score with bias). */
#define LS__LL_N_HEADS 3
extern const ls__fhead ls__ll_heads[LS__LL_N_HEADS];

#endif
