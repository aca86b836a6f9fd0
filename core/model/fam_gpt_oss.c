/* fam_gpt_oss.c: gpt-oss (gpt_oss) as data. A llama-style decoder whose attention has biases
 * on all four projections and one learned "sink" logit per head (self_attn.sinks, registered
 * on the attention module itself, so it comes first in the state_dict), alternating
 * sliding-window (even layers, window 128) and full-attention layers (or as layer_types says),
 * and a MoE MLP whose router has a bias and whose experts are stacked parameters rather than
 * a ModuleList: experts.gate_up_proj [n_experts, hidden, 2 x intermediate] with its bias
 * [n_experts, 2 x intermediate], experts.down_proj [n_experts, intermediate, hidden] with
 * [n_experts, hidden]; top_k of them are active per token. The published checkpoints store
 * the two expert matrices in MXFP4 (quantization_config; storage.c), everything else in
 * bf16. Defaults from GptOssConfig and structure from modeling_gpt_oss.py (transformers 4.55).
 * The released configs also carry OpenAI's own names (experts_per_token,
 * initial_context_length): known keys here, not typos. */
#include "core/model/fam_ll.h"

static const ls_model_keyinfo k_gpt_oss_keys[] = {
    LL_KEYS("201088", "2880", "2880", "36", "64", "\"silu\"", "131072", "1e-05", "150000.0"),
    LL_KV("8"), LL_HEAD_DIM("64"),
    LS_F_KEY("num_local_experts", "", INT, DIM, N_EXPERTS, "128", "Experts per MoE layer (stacked in one parameter each).", NULL),
    LS_F_KEY("num_experts_per_tok", "", INT, DIM, TOP_K, "4", "Experts each token is routed to (top-k).", NULL),
    LS_F_KEY("sliding_window", "", INT, DIM | NULLABLE, SLIDING_WINDOW, "128", "Span of the sliding-window layers (the even ones, unless layer_types says otherwise).", NULL),
    LS_F_KEY("layer_types", "", ARRAY, NULLABLE, NONE, "null", "Per-layer attention type (sliding_attention | full_attention).", NULL),
    LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "true", "Bias on the q, k, v and o projections.", NULL),
    LS_F_KEY("router_aux_loss_coef", "", FLOAT, 0, NONE, "0.9", "Weight of the load-balancing loss.", NULL),
    LS_F_KEY("output_router_logits", "", BOOL, 0, NONE, "false", "Return router logits.", NULL),
    LS_F_KEY("swiglu_limit", "", FLOAT, 0, NONE, "7.0", "Clamp of the experts' SwiGLU inputs.", NULL),
    LS_F_KEY("experts_per_token", "", INT, DIM, NONE, "4", "OpenAI's name for num_experts_per_tok (its reference code reads it; transformers reads num_experts_per_tok).", NULL),
    LS_F_KEY("initial_context_length", "", INT, DIM, NONE, "4096", "OpenAI's name for the pretraining context (rope_scaling.original_max_position_embeddings).", NULL),
    K_TIE("false"), K_BOS("null"), K_EOS("null"), K_PAD("null"),
};
static const ls__fderived k_gpt_oss_derived[] = {
    LL_DERIVED("attention_bias", "attention_bias", "0", "sliding_window"),
    {"sem_experts", "num_local_experts"}, {"moe_ffn", "intermediate_size"}};

/* even layers slide ("sliding_attention" if bool((i + 1) % 2)) unless layer_types is given */
#define OSS_WIN                                                                                \
  "(has(layer_types) ? (itemis(layer_types, L, \"sliding_attention\") ? sliding_window : 0) : " \
  "((L + 1) % 2 != 0 ? sliding_window : 0))"

static const ls__frow k_gpt_oss_bb[] = {
    LL_EMBED,
    LL_LAYERS_OPEN("{C}DecoderLayer"),
    LS_F_ATTN(NULL, "self_attn", "{C}Attention", "B, S, hidden_size",
              "num_attention_heads n_kv hd rope_theta rope_scaling attention_dropout sliding_window",
              "num_attention_heads*hd | n_kv*hd | " OSS_WIN " | 0"),
    LS_F_PAR(NULL, "sinks", "num_attention_heads"),
    LS_F_LINEAR(NULL, "q_proj", "num_attention_heads*hd", "hidden_size", "attention_bias"),
    LS_F_LINEAR(NULL, "k_proj", "n_kv*hd", "hidden_size", "attention_bias"),
    LS_F_LINEAR(NULL, "v_proj", "n_kv*hd", "hidden_size", "attention_bias"),
    LS_F_LINEAR(NULL, "o_proj", "hidden_size", "num_attention_heads*hd", "attention_bias"),
    LS_F_END,
    LS_F_MOD(NULL, "mlp", "{C}MLP", MOE, "B, S, hidden_size", "num_local_experts num_experts_per_tok"),
    {'M', NULL, "router", "{C}TopKRouter", LS_MODEL_KIND_ROUTER, "B, S, num_local_experts", NULL, NULL, "B, S, hidden_size"},
    LS_F_PAR(NULL, "weight", "num_local_experts, hidden_size"), LS_F_PAR(NULL, "bias", "num_local_experts"), LS_F_END,
    LS_F_MOD(NULL, "experts", "{C}Experts", EXPERT, "B, S, hidden_size", "intermediate_size hidden_act swiglu_limit"),
    LS_F_STACKED(NULL, "gate_up_proj", "num_local_experts, hidden_size, 2 * intermediate_size", "num_local_experts"),
    LS_F_STACKED(NULL, "gate_up_proj_bias", "num_local_experts, 2 * intermediate_size", "num_local_experts"),
    LS_F_STACKED(NULL, "down_proj", "num_local_experts, intermediate_size, hidden_size", "num_local_experts"),
    LS_F_STACKED(NULL, "down_proj_bias", "num_local_experts, hidden_size", "num_local_experts"),
    LS_F_END, LS_F_END,
    LL_NORM("input_layernorm", "{C}RMSNorm"), LL_NORM("post_attention_layernorm", "{C}RMSNorm"),
    LL_LAYERS_CLOSE,
    LL_NORM("norm", "{C}RMSNorm"),
};
LL_FAMILY(GPT_OSS, k_gpt_oss_keys, k_gpt_oss_derived, k_gpt_oss_bb, LS_MODEL_NORM_RMS);
