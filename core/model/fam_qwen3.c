/* fam_qwen3.c: Qwen3 (qwen3) and Qwen3-MoE (qwen3_moe) as data. Both are llama-style
 * decoders with RMSNorm on each head's queries and keys before RoPE (q_norm, k_norm over
 * head_dim: "unlike olmo, only on the head dim" in modular_qwen3.py) and Qwen2's window keys.
 * Qwen3Config has head_dim (128 by default, not hidden_size / heads); Qwen3MoeConfig has none,
 * and Qwen3MoeAttention takes getattr(config, "head_dim", hidden_size // num_attention_heads),
 * so a Qwen3-MoE config without it gets hidden_size / heads (64 with the class defaults). Qwen3-MoE has no shared
 * expert (unlike Qwen2-MoE): a layer is sparse unless listed in mlp_only_layers or off the
 * decoder_sparse_step grid. Defaults from Qwen3Config / Qwen3MoeConfig (transformers 4.51,
 * where both appeared); tensor names are the checkpoints' (per-expert
 * mlp.experts.N.{gate,up,down}_proj, as the 4.x ModuleList of Qwen3MoeMLP registers them). */
#include "core/model/fam_ll.h"

/* Qwen3Attention: llama's projections, then q_norm and k_norm (Qwen3RMSNorm(head_dim)). */
#define Q3_ATTN(type)                                                                          \
  LS_F_ATTN(NULL, "self_attn", type, "B, S, hidden_size",                                      \
            "num_attention_heads n_kv hd rope_theta rope_scaling attention_dropout "           \
            "max_position_embeddings sliding_window rms_norm_eps",                             \
            "num_attention_heads*hd | n_kv*hd | " Q3_WIN " | 0"),                              \
      LL_PROJ_QKNORM("attention_bias"), LS_F_END

/* A layer's window: layer_types when written (newer configs), else Qwen2's rule. */
#define Q3_WIN                                                                                 \
  "(has(layer_types) ? (itemis(layer_types, L, \"sliding_attention\") && use_sliding_window ? " \
  "sliding_window : 0) : " QWEN_WIN ")"

#define Q3_KEYS(hidden, inter, layers, heads, kv, hd)                                          \
  LL_KEYS("151936", hidden, inter, layers, heads, "\"silu\"", "32768", "1e-06", "10000.0"),     \
      LL_KV(kv), LL_HEAD_DIM(hd), QWEN_WINDOW_KEYS,                                            \
      LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on the q, k, v and o projections.", NULL), \
      K_TIE("false"), K_BOS("null"), K_EOS("null"), K_PAD("null")

/* ---------------------------------------------------------------- qwen3 */

static const ls_model_keyinfo k_qwen3_keys[] = {Q3_KEYS("4096", "22016", "32", "32", "32", "128")};
static const ls__fderived k_qwen3_derived[] = {
    LL_DERIVED("attention_bias", "attention_bias", "0", "use_sliding_window ? sliding_window : 0")};
static const ls__frow k_qwen3_bb[] = {
    LL_EMBED,
    LL_LAYERS_OPEN("{C}DecoderLayer"),
    Q3_ATTN("{C}Attention"),
    LL_MLP(NULL, "mlp", "{C}MLP", "intermediate_size", "0"),
    LL_NORM("input_layernorm", "{C}RMSNorm"), LL_NORM("post_attention_layernorm", "{C}RMSNorm"),
    LL_LAYERS_CLOSE,
    LL_NORM("norm", "{C}RMSNorm"),
};
LL_FAMILY(QWEN3, k_qwen3_keys, k_qwen3_derived, k_qwen3_bb, LS_MODEL_NORM_RMS);

/* ---------------------------------------------------------------- qwen3_moe */

static const ls_model_keyinfo k_qwen3_moe_keys[] = {
    Q3_KEYS("2048", "6144", "24", "32", "4", "hidden_size / num_attention_heads"),
    LS_F_KEY("decoder_sparse_step", "", INT, DIM, NONE, "1", "Every n-th layer is a sparse MoE layer.", NULL),
    LS_F_KEY("moe_intermediate_size", "", INT, DIM, MOE_INTERMEDIATE, "768", "Inner width of each routed expert.", NULL),
    LS_F_KEY("num_experts_per_tok", "", INT, DIM, TOP_K, "8", "Experts each token is routed to (top-k).", NULL),
    LS_F_KEY("num_experts", "", INT, CNT, N_EXPERTS, "128", "Routed experts per sparse MoE block.", NULL),
    LS_F_KEY("norm_topk_prob", "", BOOL, 0, NONE, "false", "Renormalise the top-k routing weights.", NULL),
    LS_F_KEY("output_router_logits", "", BOOL, 0, NONE, "false", "Return router logits.", NULL),
    LS_F_KEY("router_aux_loss_coef", "", FLOAT, 0, NONE, "0.001", "Weight of the load-balancing loss.", NULL),
    LS_F_KEY("mlp_only_layers", "", ARRAY, NULLABLE, NONE, "null", "Layer indices that use a dense MLP instead of MoE.", NULL),
};
static const ls__fderived k_qwen3_moe_derived[] = {
    LL_DERIVED("attention_bias", "attention_bias", "0", "use_sliding_window ? sliding_window : 0"),
    {"sem_experts", "num_experts"}, {"moe_ffn", "moe_intermediate_size"}};
#define Q3MOE_SPARSE "(num_experts > 0 && !inlist(mlp_only_layers, L) && (L + 1) % decoder_sparse_step == 0)"
static const ls__frow k_qwen3_moe_bb[] = {
    LL_EMBED,
    LL_LAYERS_OPEN("{C}DecoderLayer"),
    Q3_ATTN("{C}Attention"),
    LS_F_MOD(Q3MOE_SPARSE, "mlp", "{C}SparseMoeBlock", MOE, "B, S, hidden_size",
             "num_experts num_experts_per_tok norm_topk_prob"),
    {'M', NULL, "gate", "Linear", LS_MODEL_KIND_ROUTER, "B, S, num_experts", NULL, NULL, "B, S, hidden_size"},
    LS_F_PAR(NULL, "weight", "num_experts, hidden_size"), LS_F_END,
    LS_F_MOD(NULL, "experts", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "X", "num_experts", "{C}MLP", EXPERT, "B, S, hidden_size", "moe_intermediate_size hidden_act"),
    LS_F_LINEAR(NULL, "gate_proj", "moe_intermediate_size", "hidden_size", "0"),
    LS_F_LINEAR(NULL, "up_proj", "moe_intermediate_size", "hidden_size", "0"),
    LS_F_LINEAR(NULL, "down_proj", "hidden_size", "moe_intermediate_size", "0"),
    LS_F_ENDLOOP, LS_F_END, LS_F_END,
    LL_MLP("!" Q3MOE_SPARSE, "mlp", "{C}MLP", "intermediate_size", "0"),
    LL_NORM("input_layernorm", "{C}RMSNorm"), LL_NORM("post_attention_layernorm", "{C}RMSNorm"),
    LL_LAYERS_CLOSE,
    LL_NORM("norm", "{C}RMSNorm"),
};
LL_FAMILY(QWEN3_MOE, k_qwen3_moe_keys, k_qwen3_moe_derived, k_qwen3_moe_bb, LS_MODEL_NORM_RMS);
