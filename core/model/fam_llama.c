/* fam_llama.c: llama-style decoder families as data: llama (Llama 1/2/3, TinyLlama,
 * CodeLlama, Yi), mistral, mixtral, qwen2, qwen2_moe, gemma, gemma2, olmo2, granite, phimoe. Key defaults are those
 * of the upstream transformers config classes (LlamaConfig, MistralConfig, ...); module
 * names and registration order follow the upstream modeling files, so tensor names equal
 * the state_dict names. Shared structure is written once as row macros (fam_ll.h). */
#include "core/model/fam_ll.h"

/* ---------------------------------------------------------------- shared heads */

static const ls__frow k_ll_clm[] = {LS_F_BACKBONE, LL_LM_HEAD("{P}embed_tokens.weight")};
static const ls__frow k_ll_seqcls[] = {
    LS_F_BACKBONE, LS_F_LINEAR(NULL, "score", "num_labels", "hidden_size", "0")};
static const ls__frow k_ll_tokcls[] = {
    LS_F_BACKBONE, LS_F_LINEAR(NULL, "score", "num_labels", "hidden_size", "1")};
const ls__fhead ls__ll_heads[LS__LL_N_HEADS] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_ll_clm, LS_F_N(k_ll_clm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_ll_seqcls, LS_F_N(k_ll_seqcls)},
    {LS_MODEL_HEAD_TOKEN_CLS, "ForTokenClassification", k_ll_tokcls, LS_F_N(k_ll_tokcls)},
};

/* ---------------------------------------------------------------- llama */

static const ls_model_keyinfo k_llama_keys[] = {
    LL_KEYS("32000", "4096", "11008", "32", "32", "\"silu\"", "2048", "1e-06", "10000.0"),
    LL_KV("num_attention_heads"),
    LL_HEAD_DIM("hidden_size / num_attention_heads"),
    LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on the q, k, v and o projections.", NULL),
    LS_F_KEY("mlp_bias", "", BOOL, 0, NONE, "false", "Bias on the gate, up and down projections.", NULL),
    K_TIE("false"), K_BOS("1"), K_EOS("2"), K_PAD("null"),
};
static const ls__fderived k_llama_derived[] = {LL_DERIVED("attention_bias", "attention_bias", "mlp_bias", "0")};
static const ls__frow k_llama_bb[] = {LL_DECODER_BB("0", "attention_bias", "attention_bias", "mlp_bias")};
LL_FAMILY(LLAMA, k_llama_keys, k_llama_derived, k_llama_bb, LS_MODEL_NORM_RMS);

/* ---------------------------------------------------------------- mistral */

static const ls_model_keyinfo k_mistral_keys[] = {
    LL_KEYS("32000", "4096", "14336", "32", "32", "\"silu\"", "131072", "1e-06", "10000.0"),
    LL_KV("8"), LL_HEAD_DIM("hidden_size / num_attention_heads"), LL_WINDOW("4096"),
    K_TIE("false"), K_BOS("1"), K_EOS("2"), K_PAD("null"),
};
static const ls__fderived k_mistral_derived[] = {LL_DERIVED("0", "0", "0", "sliding_window")};
static const ls__frow k_mistral_bb[] = {LL_DECODER_BB("sliding_window", "0", "0", "0")};
LL_FAMILY(MISTRAL, k_mistral_keys, k_mistral_derived, k_mistral_bb, LS_MODEL_NORM_RMS);

/* ---------------------------------------------------------------- mixtral */

/* Mixtral's sparse block (also Phi-3.5-MoE's): gate, then experts.N with w1 (gate), w2
 * (down), w3 (up) of intermediate_size */
#define LL_TOP2_MOE(noise_keys)                                                                \
  LS_F_MOD(NULL, "block_sparse_moe", "{C}SparseMoeBlock", MOE, "B, S, hidden_size",            \
           "num_local_experts num_experts_per_tok " noise_keys),                               \
      {'M', NULL, "gate", "Linear", LS_MODEL_KIND_ROUTER, "B, S, num_local_experts", NULL, NULL, \
       "B, S, hidden_size"},                                                                   \
      LS_F_PAR(NULL, "weight", "num_local_experts, hidden_size"), LS_F_END,                    \
      LS_F_MOD(NULL, "experts", "ModuleList", LIST, "B, S, hidden_size", NULL),                \
      LS_F_LOOP(NULL, "X", "num_local_experts", "{C}BlockSparseTop2MLP", EXPERT, "B, S, hidden_size", \
                "intermediate_size hidden_act"),                                               \
      LS_F_LINEAR(NULL, "w1", "intermediate_size", "hidden_size", "0"),                        \
      LS_F_LINEAR(NULL, "w2", "hidden_size", "intermediate_size", "0"),                        \
      LS_F_LINEAR(NULL, "w3", "intermediate_size", "hidden_size", "0"),                        \
      LS_F_ENDLOOP, LS_F_END, LS_F_END

static const ls_model_keyinfo k_mixtral_keys[] = {
    LL_KEYS("32000", "4096", "14336", "32", "32", "\"silu\"", "131072", "1e-05", "1000000.0"),
    LL_KV("8"), LL_HEAD_DIM("hidden_size / num_attention_heads"), LL_WINDOW("null"),
    LS_F_KEY("num_local_experts", "", INT, DIM, N_EXPERTS, "8", "Number of experts in each sparse MoE block.", NULL),
    LS_F_KEY("num_experts_per_tok", "", INT, DIM, TOP_K, "2", "Experts each token is routed to (top-k).", NULL),
    LS_F_KEY("output_router_logits", "", BOOL, 0, NONE, "false", "Return router logits (adds the auxiliary loss).", NULL),
    LS_F_KEY("router_aux_loss_coef", "", FLOAT, 0, NONE, "0.001", "Weight of the load-balancing loss.", NULL),
    LS_F_KEY("router_jitter_noise", "", FLOAT, 0, NONE, "0.0", "Multiplicative noise on router inputs in training.", NULL),
    K_TIE("false"), K_BOS("1"), K_EOS("2"), K_PAD("null"),
};
static const ls__fderived k_mixtral_derived[] = {
    LL_DERIVED("0", "0", "0", "sliding_window"), {"sem_experts", "num_local_experts"},
    {"moe_ffn", "intermediate_size"}};
static const ls__frow k_mixtral_bb[] = {
    LL_EMBED,
    LL_LAYERS_OPEN("{C}DecoderLayer"),
    LL_ATTN("{C}Attention", "sliding_window", "0", "0"),
    LL_TOP2_MOE("router_jitter_noise"),
    LL_NORM("input_layernorm", "{C}RMSNorm"), LL_NORM("post_attention_layernorm", "{C}RMSNorm"),
    LL_LAYERS_CLOSE,
    LL_NORM("norm", "{C}RMSNorm"),
};
LL_FAMILY(MIXTRAL, k_mixtral_keys, k_mixtral_derived, k_mixtral_bb, LS_MODEL_NORM_RMS);

/* ---------------------------------------------------------------- qwen2 */


static const ls_model_keyinfo k_qwen2_keys[] = {
    LL_KEYS("151936", "4096", "22016", "32", "32", "\"silu\"", "32768", "1e-06", "10000.0"),
    LL_KV("32"), LL_HEAD_DIM("hidden_size / num_attention_heads"), QWEN_WINDOW_KEYS,
    K_TIE("false"), K_BOS("null"), K_EOS("null"), K_PAD("null"),
    LS_F_KEY("use_mrope", "", BOOL, 0, NONE, "false", "Multimodal RoPE (Qwen2-VL); unused by text models.", NULL),
};
static const ls__fderived k_qwen2_derived[] = {
    LL_DERIVED("1", "0", "0", "use_sliding_window ? sliding_window : 0")};
static const ls__frow k_qwen2_bb[] = {LL_DECODER_BB(QWEN_WIN, "1", "0", "0")};
LL_FAMILY(QWEN2, k_qwen2_keys, k_qwen2_derived, k_qwen2_bb, LS_MODEL_NORM_RMS);

/* ---------------------------------------------------------------- qwen2_moe */

static const ls_model_keyinfo k_qwen2_moe_keys[] = {
    LL_KEYS("151936", "2048", "5632", "24", "16", "\"silu\"", "32768", "1e-06", "10000.0"),
    LL_KV("16"), LL_HEAD_DIM("hidden_size / num_attention_heads"), QWEN_WINDOW_KEYS,
    LS_F_KEY("decoder_sparse_step", "", INT, DIM, NONE, "1", "Every n-th layer is a sparse MoE layer.", NULL),
    LS_F_KEY("moe_intermediate_size", "", INT, DIM, MOE_INTERMEDIATE, "1408", "Inner width of each routed expert.", NULL),
    LS_F_KEY("shared_expert_intermediate_size", "", INT, DIM, NONE, "5632", "Inner width of the shared expert.", NULL),
    LS_F_KEY("num_experts_per_tok", "", INT, DIM, TOP_K, "4", "Experts each token is routed to (top-k).", NULL),
    LS_F_KEY("num_experts", "", INT, CNT, N_EXPERTS, "60", "Routed experts per sparse MoE block.", NULL),
    LS_F_KEY("norm_topk_prob", "", BOOL, 0, NONE, "false", "Renormalise the top-k routing weights.", NULL),
    LS_F_KEY("output_router_logits", "", BOOL, 0, NONE, "false", "Return router logits.", NULL),
    LS_F_KEY("router_aux_loss_coef", "", FLOAT, 0, NONE, "0.001", "Weight of the load-balancing loss.", NULL),
    LS_F_KEY("mlp_only_layers", "", ARRAY, 0, NONE, "null", "Layer indices that use a dense MLP instead of MoE.", NULL),
    LS_F_KEY("qkv_bias", "", BOOL, 0, ATTN_BIAS, "true", "Bias on the q, k and v projections.", NULL),
    K_TIE("false"), K_BOS("null"), K_EOS("null"), K_PAD("null"),
};
static const ls__fderived k_qwen2_moe_derived[] = {
    LL_DERIVED("qkv_bias", "0", "0", "use_sliding_window ? sliding_window : 0"),
    {"sem_experts", "num_experts"}, {"moe_ffn", "moe_intermediate_size"},
    {"shared_ffn", "shared_expert_intermediate_size"}};
#define QMOE_SPARSE "(num_experts > 0 && !inlist(mlp_only_layers, L) && (L + 1) % decoder_sparse_step == 0)"
static const ls__frow k_qwen2_moe_bb[] = {
    LL_EMBED,
    LL_LAYERS_OPEN("{C}DecoderLayer"),
    LL_ATTN("{C}Attention", QWEN_WIN, "qkv_bias", "0"),
    LS_F_MOD(QMOE_SPARSE, "mlp", "{C}SparseMoeBlock", MOE, "B, S, hidden_size",
             "num_experts num_experts_per_tok norm_topk_prob"),
    {'M', NULL, "gate", "Linear", LS_MODEL_KIND_ROUTER, "B, S, num_experts", NULL, NULL, "B, S, hidden_size"},
    LS_F_PAR(NULL, "weight", "num_experts, hidden_size"), LS_F_END,
    LS_F_MOD(NULL, "experts", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "X", "num_experts", "{C}MLP", EXPERT, "B, S, hidden_size", "moe_intermediate_size hidden_act"),
    LS_F_LINEAR(NULL, "gate_proj", "moe_intermediate_size", "hidden_size", "0"),
    LS_F_LINEAR(NULL, "up_proj", "moe_intermediate_size", "hidden_size", "0"),
    LS_F_LINEAR(NULL, "down_proj", "hidden_size", "moe_intermediate_size", "0"),
    LS_F_ENDLOOP, LS_F_END,
    LL_MLP(NULL, "shared_expert", "{C}MLP", "shared_expert_intermediate_size", "0"),
    LS_F_LINEAR(NULL, "shared_expert_gate", "1", "hidden_size", "0"),
    LS_F_END,
    LL_MLP("!" QMOE_SPARSE, "mlp", "{C}MLP", "intermediate_size", "0"),
    LL_NORM("input_layernorm", "{C}RMSNorm"), LL_NORM("post_attention_layernorm", "{C}RMSNorm"),
    LL_LAYERS_CLOSE,
    LL_NORM("norm", "{C}RMSNorm"),
};
LL_FAMILY(QWEN2_MOE, k_qwen2_moe_keys, k_qwen2_moe_derived, k_qwen2_moe_bb, LS_MODEL_NORM_RMS);

/* ---------------------------------------------------------------- gemma, gemma2 */

#define GEMMA_ACT_KEYS                                                                         \
  LS_F_KEY("hidden_act", "", STRING, 0, NONE, "\"gelu_pytorch_tanh\"", "Legacy activation key; hidden_activation takes precedence.", ACTS), \
      LS_F_KEY("hidden_activation", "", STRING, NULLDEF, ACT, "\"gelu_pytorch_tanh\"", "Activation of the MLP (gelu_pytorch_tanh when null).", ACTS)
#define GEMMA_COMMON(hidden, inter, layers, heads, kv)                                         \
  LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "256000", D_VOCAB, NULL),                        \
      LS_F_KEY("hidden_size", "", INT, DIM, HIDDEN, hidden, D_HIDDEN, NULL),                   \
      LS_F_KEY("intermediate_size", "", INT, DIM, INTERMEDIATE, inter, D_INTER, NULL),         \
      LS_F_KEY("num_hidden_layers", "", INT, DIM, N_LAYERS, layers, D_LAYERS, NULL),           \
      LS_F_KEY("num_attention_heads", "", INT, DIM, N_HEADS, heads, D_HEADS, NULL),            \
      LS_F_KEY("num_key_value_heads", "", INT, DIM, N_KV_HEADS, kv, D_KV, NULL),               \
      LS_F_KEY("head_dim", "", INT, DIM, HEAD_DIM, "256", D_HEAD_DIM " Gemma sets it explicitly; it need not be hidden_size / heads.", NULL), \
      GEMMA_ACT_KEYS,                                                                          \
      LS_F_KEY("max_position_embeddings", "", INT, DIM, MAX_POS, "8192", D_MAXPOS, NULL),      \
      LS_F_KEY("rms_norm_eps", "", FLOAT, 0, NORM_EPS, "1e-06", D_RMS " Gemma scales by (1 + weight).", NULL), \
      LS_F_KEY("rope_theta", "", FLOAT, 0, ROPE_THETA, "10000.0", D_THETA, NULL),              \
      LS_F_KEY("rope_scaling", "", OBJECT, NULLABLE, ROPE_SCALING, "null", D_ROPE_SCALING, NULL), \
      LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on the q, k, v and o projections.", NULL), \
      LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),          \
      K_INIT("0.02"), K_CACHE, K_TIE("true"), K_BOS("2"), K_EOS("1"), K_PAD("0")

static const ls_model_keyinfo k_gemma_keys[] = {GEMMA_COMMON("3072", "24576", "28", "16", "16")};
static const ls__fderived k_gemma_derived[] = {
    LL_DERIVED("attention_bias", "attention_bias", "0", "0")};
static const ls__frow k_gemma_bb[] = {LL_DECODER_BB("0", "attention_bias", "attention_bias", "0")};
const ls__family ls__family_GEMMA = {
    LS_MODEL_FAMILY_GEMMA, k_gemma_keys, LS_F_N(k_gemma_keys), k_gemma_derived,
    LS_F_N(k_gemma_derived), "model", "{C}Model", "B, S, hidden_size", k_gemma_bb,
    LS_F_N(k_gemma_bb), ls__ll_heads, LS__LL_N_HEADS, LS_MODEL_NORM_RMS_PLUS1,
    LS_MODEL_POS_ROPE, 1, 1, 0, 1, 0};

static const ls_model_keyinfo k_gemma2_keys[] = {
    GEMMA_COMMON("2304", "9216", "26", "8", "4"),
    LS_F_KEY("query_pre_attn_scalar", "", FLOAT, 0, NONE, "256", "Attention scores are scaled by query_pre_attn_scalar^-0.5 (instead of head_dim^-0.5).", NULL),
    LL_WINDOW("4096"),
    LS_F_KEY("final_logit_softcapping", "", FLOAT, NULLABLE, NONE, "30.0", "Logits are soft-capped: c * tanh(x / c).", NULL),
    LS_F_KEY("attn_logit_softcapping", "", FLOAT, NULLABLE, NONE, "50.0", "Attention scores are soft-capped: c * tanh(x / c).", NULL),
    LS_F_KEY("cache_implementation", "", STRING, 0, NONE, "\"hybrid\"", "KV cache kind used in generation.", "hybrid static dynamic sliding_window"),
};
static const ls__fderived k_gemma2_derived[] = {
    LL_DERIVED("attention_bias", "attention_bias", "0", "sliding_window")};
static const ls__frow k_gemma2_bb[] = {
    LL_EMBED,
    LL_LAYERS_OPEN("{C}DecoderLayer"),
    /* even layers use the sliding window (upstream: is_sliding = not bool(layer_idx % 2)) */
    LL_ATTN("{C}Attention", "(L % 2 == 0 ? sliding_window : 0)", "attention_bias", "attention_bias"),
    LL_MLP(NULL, "mlp", "{C}MLP", "intermediate_size", "0"),
    LL_NORM("input_layernorm", "{C}RMSNorm"), LL_NORM("post_attention_layernorm", "{C}RMSNorm"),
    LL_NORM("pre_feedforward_layernorm", "{C}RMSNorm"), LL_NORM("post_feedforward_layernorm", "{C}RMSNorm"),
    LL_LAYERS_CLOSE,
    LL_NORM("norm", "{C}RMSNorm"),
};
const ls__family ls__family_GEMMA2 = {
    LS_MODEL_FAMILY_GEMMA2, k_gemma2_keys, LS_F_N(k_gemma2_keys), k_gemma2_derived,
    LS_F_N(k_gemma2_derived), "model", "{C}Model", "B, S, hidden_size", k_gemma2_bb,
    LS_F_N(k_gemma2_bb), ls__ll_heads, LS__LL_N_HEADS, LS_MODEL_NORM_RMS_PLUS1,
    LS_MODEL_POS_ROPE, 1, 1, 0, 1, 0};

/* ---------------------------------------------------------------- olmo2 */

/* Olmo2Config / modeling_olmo2.py (transformers 4.47): llama's projections, then RMSNorm over
 * the whole query and key projections (q_norm [heads x head_dim], k_norm [kv heads x
 * head_dim], unlike Qwen3's per-head norms), and norms after each sublayer instead of before:
 * the layer has post_attention_layernorm and post_feedforward_layernorm, no input_layernorm. */
static const ls_model_keyinfo k_olmo2_keys[] = {
    LL_KEYS("50304", "4096", "11008", "32", "32", "\"silu\"", "2048", "1e-05", "10000.0"),
    LL_KV("num_attention_heads"),
    LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on the q, k, v and o projections.", NULL),
    K_TIE("false"), K_BOS("null"), K_EOS("50279"), K_PAD("1"),
};
static const ls__fderived k_olmo2_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_key_value_heads"}, {"ffn", "intermediate_size"},
    {"sem_qkv_bias", "attention_bias"}, {"sem_out_bias", "attention_bias"}, {"sem_mlp_bias", "0"},
    {"sem_window", "0"}, {"sem_post_norm", "1"}};
static const ls__frow k_olmo2_bb[] = {
    LL_EMBED,
    LL_LAYERS_OPEN("{C}DecoderLayer"),
    LS_F_ATTN(NULL, "self_attn", "{C}Attention", "B, S, hidden_size",
              "num_attention_heads n_kv rope_theta rope_scaling attention_dropout rms_norm_eps",
              "num_attention_heads*hd | n_kv*hd | 0 | 0"),
    LS_F_LINEAR(NULL, "q_proj", "num_attention_heads*hd", "hidden_size", "attention_bias"),
    LS_F_LINEAR(NULL, "k_proj", "n_kv*hd", "hidden_size", "attention_bias"),
    LS_F_LINEAR(NULL, "v_proj", "n_kv*hd", "hidden_size", "attention_bias"),
    LS_F_LINEAR(NULL, "o_proj", "hidden_size", "num_attention_heads*hd", "attention_bias"),
    LS_F_RMSNORM(NULL, "q_norm", "{C}RMSNorm", "num_attention_heads*hd", "rms_norm_eps"),
    LS_F_RMSNORM(NULL, "k_norm", "{C}RMSNorm", "n_kv*hd", "rms_norm_eps"),
    LS_F_END,
    LL_MLP(NULL, "mlp", "{C}MLP", "intermediate_size", "0"),
    LL_NORM("post_attention_layernorm", "{C}RMSNorm"), LL_NORM("post_feedforward_layernorm", "{C}RMSNorm"),
    LL_LAYERS_CLOSE,
    LL_NORM("norm", "{C}RMSNorm"),
};
LL_FAMILY(OLMO2, k_olmo2_keys, k_olmo2_derived, k_olmo2_bb, LS_MODEL_NORM_RMS);

/* ---------------------------------------------------------------- granite */

/* GraniteConfig / modeling_granite.py (transformers 4.45): Llama's tree, with four scalars
 * that change the arithmetic and no tensor: embeddings x embedding_multiplier, attention
 * scores x attention_multiplier (instead of 1/sqrt(head_dim)), each residual branch x
 * residual_multiplier, logits / logits_scaling. */
static const ls_model_keyinfo k_granite_keys[] = {
    LL_KEYS("32000", "4096", "11008", "32", "32", "\"silu\"", "2048", "1e-06", "10000.0"),
    LL_KV("num_attention_heads"),
    LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on the q, k, v and o projections.", NULL),
    LS_F_KEY("mlp_bias", "", BOOL, 0, NONE, "false", "Bias on the gate, up and down projections.", NULL),
    LS_F_KEY("embedding_multiplier", "", FLOAT, 0, NONE, "1.0", "Token embeddings are multiplied by this.", NULL),
    LS_F_KEY("logits_scaling", "", FLOAT, 0, NONE, "1.0", "Logits are divided by this.", NULL),
    LS_F_KEY("residual_multiplier", "", FLOAT, 0, NONE, "1.0", "Each attention and MLP output is multiplied by this before the residual add.", NULL),
    LS_F_KEY("attention_multiplier", "", FLOAT, 0, NONE, "1.0", "Scale of the attention scores (replaces 1/sqrt(head_dim)).", NULL),
    K_TIE("false"), K_BOS("1"), K_EOS("2"), K_PAD("null"),
};
static const ls__fderived k_granite_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_key_value_heads"}, {"ffn", "intermediate_size"},
    {"sem_qkv_bias", "attention_bias"}, {"sem_out_bias", "attention_bias"}, {"sem_mlp_bias", "mlp_bias"},
    {"sem_window", "0"}};
static const ls__frow k_granite_bb[] = {LL_DECODER_BB("0", "attention_bias", "attention_bias", "mlp_bias")};
LL_FAMILY(GRANITE, k_granite_keys, k_granite_derived, k_granite_bb, LS_MODEL_NORM_RMS);

/* ---------------------------------------------------------------- phimoe */

/* PhimoeConfig / modeling_phimoe.py (transformers 4.46): Mixtral's sparse MoE block (gate,
 * experts.N.w1/w2/w3) under Phi-3's attention with biases, LayerNorms with bias instead of
 * RMSNorms (despite the key's name rms_norm_eps), and an LM head with a bias. Its longrope
 * rope_scaling carries short_mscale and long_mscale, which PhimoeRotaryEmbedding reads. */
static const ls_model_keyinfo k_phimoe_keys[] = {
    LL_KEYS("32064", "4096", "6400", "32", "32", "\"silu\"", "131072", "1e-05", "1000000.0"),
    LL_KV("8"), LL_WINDOW("null"),
    LS_F_KEY("num_experts_per_tok", "", INT, DIM, TOP_K, "2", "Experts each token is routed to (top-k).", NULL),
    LS_F_KEY("num_local_experts", "", INT, DIM, N_EXPERTS, "16", "Experts per sparse MoE block.", NULL),
    LS_F_KEY("output_router_logits", "", BOOL, 0, NONE, "false", "Return router logits.", NULL),
    LS_F_KEY("router_aux_loss_coef", "", FLOAT, 0, NONE, "0.001", "Weight of the load-balancing loss.", NULL),
    LS_F_KEY("router_jitter_noise", "", FLOAT, 0, NONE, "0.01", "Multiplicative noise on router inputs in training.", NULL),
    LS_F_KEY("input_jitter_noise", "", FLOAT, 0, NONE, "0.0", "Multiplicative noise on expert inputs in training.", NULL),
    LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on the q, k, v and o projections.", NULL),
    LS_F_KEY("lm_head_bias", "", BOOL, 0, NONE, "false", "Bias on the LM head.", NULL),
    LS_F_KEY("original_max_position_embeddings", "", INT, DIM, NONE, "4096", "Context length of pretraining (longrope scaling starts from it).", NULL),
    LS_F_KEY("hidden_dropout", "", FLOAT, 0, DROPOUT, "0.0", "Dropout of Phi-3.5-MoE's own code on residual branches (kept as an attribute).", NULL),
    K_TIE("false"), K_BOS("1"), K_EOS("2"), K_PAD("null"),
};
static const ls__fderived k_phimoe_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_key_value_heads"}, {"ffn", "intermediate_size"},
    {"sem_qkv_bias", "attention_bias"}, {"sem_out_bias", "attention_bias"}, {"sem_mlp_bias", "0"},
    {"sem_window", "sliding_window"}, {"sem_experts", "num_local_experts"}, {"moe_ffn", "intermediate_size"},
    {"sem_norm", "0"}};
#define PM_LN(name) LS_F_LAYERNORM_S(NULL, name, "hidden_size", NULL, "rms_norm_eps", "S")
static const ls__frow k_phimoe_bb[] = {
    LL_EMBED,
    LL_LAYERS_OPEN("{C}DecoderLayer"),
    LL_ATTN("{C}Attention", "sliding_window", "attention_bias", "attention_bias"),
    LL_TOP2_MOE("router_jitter_noise input_jitter_noise"),
    PM_LN("input_layernorm"), PM_LN("post_attention_layernorm"),
    LL_LAYERS_CLOSE,
    PM_LN("norm"),
};
static const ls__frow k_phimoe_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}embed_tokens.weight", "tie_word_embeddings"),
    LS_F_PAR("lm_head_bias", "bias", "vocab_size"), LS_F_END};
static const ls__fhead k_phimoe_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_phimoe_clm, LS_F_N(k_phimoe_clm)}};
const ls__family ls__family_PHIMOE = {
    LS_MODEL_FAMILY_PHIMOE, k_phimoe_keys, LS_F_N(k_phimoe_keys), k_phimoe_derived,
    LS_F_N(k_phimoe_derived), "model", "{C}Model", "B, S, hidden_size", k_phimoe_bb,
    LS_F_N(k_phimoe_bb), k_phimoe_heads, LS_F_N(k_phimoe_heads), LS_MODEL_NORM_LAYER,
    LS_MODEL_POS_ROPE, 1, 1, 0, 0, 0};

/* ---------------------------------------------------------------- smollm3 */

/* SmolLM3Config / modeling_smollm3.py (transformers 4.53): Llama's tensors (q/k/v/o with
 * attention_bias, a gated MLP with mlp_bias, two RMSNorms per layer, tied LM head by default);
 * some layers skip RoPE (NoPE), which adds and removes no tensor: no_rope_layers[i] is 1 where
 * layer i rotates, else every no_rope_layer_interval-th layer is NoPE. SmolLM3Config has no
 * head_dim: SmolLM3Attention takes getattr(config, "head_dim", hidden_size //
 * num_attention_heads). A layer slides only when use_sliding_window and its layer_types entry
 * is "sliding_attention"; unwritten layer_types make the NoPE layers the sliding ones
 * (SmolLM3Config.__post_init__). */
#define SM3_NOPE "(has(no_rope_layers) ? itemis(no_rope_layers, L, \"0\") : (L + 1) % no_rope_layer_interval == 0)"
#define SM3_WIN                                                                                \
  "(use_sliding_window ? ((has(layer_types) ? itemis(layer_types, L, \"sliding_attention\") : " \
  SM3_NOPE ") ? sliding_window : 0) : 0)"
static const ls_model_keyinfo k_smollm3_keys[] = {
    LL_KEYS("128256", "2048", "11008", "36", "16", "\"silu\"", "32768", "1e-06", "2000000.0"),
    LL_KV("4"), LL_HEAD_DIM("hidden_size / num_attention_heads"), LL_WINDOW("null"),
    LS_F_KEY("use_sliding_window", "", BOOL, 0, USE_SLIDING, "false", "Enable sliding-window attention on the layers layer_types marks sliding_attention.", NULL),
    LS_F_KEY("no_rope_layers", "", ARRAY, NULLABLE, NONE, "null", "Per layer: 1 where the layer applies RoPE, 0 for a NoPE layer (when null, every no_rope_layer_interval-th layer is NoPE).", NULL),
    LS_F_KEY("no_rope_layer_interval", "", INT, DIM, NONE, "4", "Every n-th layer skips RoPE when no_rope_layers is null.", NULL),
    LS_F_KEY("layer_types", "", ARRAY, NULLABLE, NONE, "null", "Per-layer attention type (sliding_attention | full_attention); when null, the NoPE layers slide if use_sliding_window.", NULL),
    LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on the q, k, v and o projections.", NULL),
    LS_F_KEY("mlp_bias", "", BOOL, 0, NONE, "false", "Bias on the gate, up and down projections.", NULL),
    K_TIE("true"), K_BOS("128000"), K_EOS("128001"), K_PAD("128004"),
};
static const ls__fderived k_smollm3_derived[] = {
    LL_DERIVED("attention_bias", "attention_bias", "mlp_bias", "use_sliding_window ? sliding_window : 0")};
static const ls__frow k_smollm3_bb[] = {LL_DECODER_BB(SM3_WIN, "attention_bias", "attention_bias", "mlp_bias")};
LL_FAMILY(SMOLLM3, k_smollm3_keys, k_smollm3_derived, k_smollm3_bb, LS_MODEL_NORM_RMS);
