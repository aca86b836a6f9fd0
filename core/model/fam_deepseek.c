/* fam_deepseek.c: DeepSeek-V2 (deepseek_v2) and DeepSeek-V3 (deepseek_v3) as data.
 *
 * Multi-head latent attention (MLA): queries through a low-rank pair q_a_proj -> RMSNorm ->
 * q_b_proj when q_lora_rank is set (q_proj otherwise), keys and values from one shared
 * latent: kv_a_proj_with_mqa gives kv_lora_rank latent values plus qk_rope_head_dim rotary
 * key dims, kv_b_proj expands the latent to each head's non-rotary key (qk_nope_head_dim) and
 * value (v_head_dim). What an MLA-aware engine caches per token and layer is that latent,
 * kv_lora_rank + qk_rope_head_dim elements; transformers' own cache holds the expanded K and
 * V, also reported (figures.h). Mixture of experts after the first first_k_dense_replace
 * dense layers: routed experts, a router (V3: DeepseekV3TopkRouter with the persistent buffer
 * e_score_correction_bias), and n_shared_experts always-active experts fused into one MLP.
 *
 * Defaults from DeepseekV2Config / DeepseekV3Config, structure from modeling_deepseek_v2.py /
 * modeling_deepseek_v3.py (transformers 4.5x: per-expert ModuleLists, the checkpoints' names;
 * the MoE block registers experts, gate, shared_experts in that order). The released configs
 * carry keys that only DeepSeek's own modeling code reads (topk_method, scoring_func, ...):
 * they are this family's keys, not typos. DeepSeek-V3's checkpoint also stores
 * num_nextn_predict_layers multi-token-prediction layers after the main ones (layer 61:
 * README_WEIGHTS.md of deepseek-ai/DeepSeek-V3), which transformers does not load: they are
 * listed under their checkpoint names as kind MTP and counted apart (params_mtp), their
 * embedding and output head shared with the main model's. */
#include "core/model/fam_ll.h"

#define DS_KEYS(vocab, hidden, inter, moe, layers, heads, kv, shared, routed, scaling, q_lora,   \
                group, topk_group, topk, first_dense, norm_topk, maxpos, bos, eos, method)      \
  LL_KEYS(vocab, hidden, inter, layers, heads, "\"silu\"", maxpos, "1e-06", "10000.0"),         \
      LL_KV(kv),                                                                               \
      LS_F_KEY("moe_intermediate_size", "", INT, DIM, MOE_INTERMEDIATE, moe, "Inner width of each routed expert (and of each shared one).", NULL), \
      LS_F_KEY("n_shared_experts", "", INT, CNT | NULLABLE, NONE, shared, "Always-active experts, fused into one MLP of n x moe_intermediate_size.", NULL), \
      LS_F_KEY("n_routed_experts", "", INT, CNT, N_EXPERTS, routed, "Routed experts per MoE layer.", NULL), \
      LS_F_KEY("routed_scaling_factor", "", FLOAT, 0, NONE, scaling, "Scale of the routed experts' weighted sum.", NULL), \
      LS_F_KEY("kv_lora_rank", "", INT, DIM, NONE, "512", "Rank of the shared key/value latent (what MLA caches, with the rotary key dims).", NULL), \
      LS_F_KEY("q_lora_rank", "", INT, DIM | NULLABLE, NONE, q_lora, "Rank of the query's low-rank pair q_a_proj/q_b_proj (null: one q_proj).", NULL), \
      LS_F_KEY("qk_rope_head_dim", "", INT, DIM, HEAD_DIM, "64", "Rotary dims of each query/key head (shared by all heads for keys).", NULL), \
      LS_F_KEY("qk_nope_head_dim", "", INT, DIM, NONE, "128", "Non-rotary dims of each query/key head.", NULL), \
      LS_F_KEY("v_head_dim", "", INT, DIM, NONE, "128", "Width of each value head.", NULL),     \
      LS_F_KEY("n_group", "", INT, DIM | NULLABLE, NONE, group, "Groups of routed experts for group-limited routing.", NULL), \
      LS_F_KEY("topk_group", "", INT, DIM | NULLABLE, NONE, topk_group, "Groups each token may route to.", NULL), \
      LS_F_KEY("num_experts_per_tok", "", INT, DIM | NULLABLE, TOP_K, topk, "Routed experts per token (top-k).", NULL), \
      LS_F_KEY("first_k_dense_replace", "", INT, CNT, NONE, first_dense, "Leading layers with a dense MLP instead of MoE.", NULL), \
      LS_F_KEY("norm_topk_prob", "", BOOL, NULLABLE, NONE, norm_topk, "Renormalise the top-k routing weights.", NULL), \
      LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on q_a_proj (or q_proj), kv_a_proj_with_mqa and o_proj.", NULL), \
      LS_F_KEY("topk_method", "", STRING, NULLABLE, NONE, method, "Routing method of DeepSeek's code (greedy, group_limited_greedy, noaux_tc).", NULL), \
      LS_F_KEY("scoring_func", "", STRING, 0, NONE, "\"softmax\"", "Router score function of DeepSeek's code (softmax, sigmoid); kept as an attribute by transformers.", NULL), \
      LS_F_KEY("aux_loss_alpha", "", FLOAT, 0, NONE, "0.001", "Load-balancing loss weight of DeepSeek's code.", NULL), \
      LS_F_KEY("seq_aux", "", BOOL, 0, NONE, "true", "Sequence-level auxiliary loss of DeepSeek's code.", NULL), \
      LS_F_KEY("moe_layer_freq", "", INT, DIM, NONE, "1", "DeepSeek's code: every n-th layer after the dense ones is MoE (1 in every release; transformers reads only first_k_dense_replace).", NULL), \
      LS_F_KEY("ep_size", "", INT, DIM, NONE, "1", "Expert-parallel degree of DeepSeek's code.", NULL), \
      K_TIE("false"), K_BOS(bos), K_EOS(eos), K_PAD("null")

#define DS_DERIVED                                                                             \
  {"qk_hd", "qk_nope_head_dim + qk_rope_head_dim"}, {"hd", "qk_rope_head_dim"},               \
      {"n_kv", "num_key_value_heads"}, {"ffn", "intermediate_size"},                           \
      {"sem_qkv_bias", "attention_bias"}, {"sem_out_bias", "attention_bias"},                  \
      {"sem_mlp_bias", "0"}, {"sem_window", "0"}, {"sem_experts", "n_routed_experts"},         \
      {"moe_ffn", "moe_intermediate_size"}, {"shared_ffn", "moe_intermediate_size * n_shared_experts"}

/* MLA: widths of QK^T (heads x (nope + rope)), K cached expanded, no window, not cross,
 * AV (heads x v_head_dim), and the latent an MLA engine caches */
#define DS_ATTN                                                                                \
  LS_F_ATTN(NULL, "self_attn", "{C}Attention", "B, S, hidden_size",                            \
            "num_attention_heads q_lora_rank kv_lora_rank qk_rope_head_dim qk_nope_head_dim "  \
            "v_head_dim rope_theta rope_scaling attention_dropout rms_norm_eps",               \
            "num_attention_heads*qk_hd | num_attention_heads*qk_hd | 0 | 0 | "                 \
            "num_attention_heads*v_head_dim | kv_lora_rank + qk_rope_head_dim"),               \
      LS_F_LINEAR("!(q_lora_rank > 0)", "q_proj", "num_attention_heads*qk_hd", "hidden_size", "0"), \
      LS_F_LINEAR("q_lora_rank > 0", "q_a_proj", "q_lora_rank", "hidden_size", "attention_bias"), \
      {'M', "q_lora_rank > 0", "q_a_layernorm", "{C}RMSNorm", LS_MODEL_KIND_RMSNORM, "B, S, q_lora_rank", \
       NULL, "rms_norm_eps", NULL},                                                            \
      LS_F_PAR(NULL, "weight", "q_lora_rank"), LS_F_END,                                       \
      LS_F_LINEAR("q_lora_rank > 0", "q_b_proj", "num_attention_heads*qk_hd", "q_lora_rank", "0"), \
      LS_F_LINEAR(NULL, "kv_a_proj_with_mqa", "kv_lora_rank + qk_rope_head_dim", "hidden_size", \
                  "attention_bias"),                                                           \
      {'M', NULL, "kv_a_layernorm", "{C}RMSNorm", LS_MODEL_KIND_RMSNORM, "B, S, kv_lora_rank",  \
       NULL, "rms_norm_eps", NULL},                                                            \
      LS_F_PAR(NULL, "weight", "kv_lora_rank"), LS_F_END,                                      \
      LS_F_LINEAR(NULL, "kv_b_proj", "num_attention_heads*(qk_nope_head_dim + v_head_dim)",    \
                  "kv_lora_rank", "0"),                                                        \
      LS_F_LINEAR(NULL, "o_proj", "hidden_size", "num_attention_heads*v_head_dim", "attention_bias"), \
      LS_F_END

/* the decoder layer's MLP: dense below first_k_dense_replace, MoE from there; router rows
 * differ between V2 (nn.Linear) and V3 (TopkRouter with its correction bias) */
#define DS_MLP(...)                                                                         \
  LL_MLP("!(L >= first_k_dense_replace && n_routed_experts > 0)", "mlp", "{C}MLP",             \
         "intermediate_size", "0"),                                                            \
      LS_F_MOD("L >= first_k_dense_replace && n_routed_experts > 0", "mlp", DS_MOE_TYPE, MOE,  \
               "B, S, hidden_size", "n_routed_experts num_experts_per_tok n_shared_experts "    \
               "norm_topk_prob routed_scaling_factor n_group topk_group topk_method"),         \
      LS_F_MOD(NULL, "experts", "ModuleList", LIST, "B, S, hidden_size", NULL),                \
      LS_F_LOOP(NULL, "X", "n_routed_experts", "{C}MLP", EXPERT, "B, S, hidden_size",          \
                "moe_intermediate_size hidden_act"),                                           \
      LS_F_LINEAR(NULL, "gate_proj", "moe_intermediate_size", "hidden_size", "0"),             \
      LS_F_LINEAR(NULL, "up_proj", "moe_intermediate_size", "hidden_size", "0"),               \
      LS_F_LINEAR(NULL, "down_proj", "hidden_size", "moe_intermediate_size", "0"),             \
      LS_F_ENDLOOP, LS_F_END, __VA_ARGS__,                                                          \
      LL_MLP("n_shared_experts > 0", "shared_experts", "{C}MLP",                               \
             "moe_intermediate_size * n_shared_experts", "0"),                                 \
      LS_F_END

#define DS_LAYER_PARTS(...)                                                                 \
  DS_ATTN, DS_MLP(__VA_ARGS__), LL_NORM("input_layernorm", "{C}RMSNorm"),                           \
      LL_NORM("post_attention_layernorm", "{C}RMSNorm")

/* ---------------------------------------------------------------- deepseek_v2 */

#define DS_MOE_TYPE "{C}Moe"
#define DS2_ROUTER                                                                             \
  {'M', NULL, "gate", "Linear", LS_MODEL_KIND_ROUTER, "B, S, n_routed_experts", NULL, NULL,     \
   "B, S, hidden_size"},                                                                       \
      LS_F_PAR(NULL, "weight", "n_routed_experts, hidden_size"), LS_F_END

static const ls_model_keyinfo k_ds2_keys[] = {
    DS_KEYS("32000", "4096", "11008", "1407", "32", "32", "num_attention_heads", "2", "64", "1.0",
            "1536", "null", "null", "null", "0", "false", "2048", "1", "2", "\"greedy\""),
    LS_F_KEY("mlp_bias", "", BOOL, 0, NONE, "false", "Bias on the dense MLP's projections.", NULL),
    LS_F_KEY("head_dim", "", INT, DIM | NULLABLE, NONE, "null", "Set by DeepseekV2Config to qk_rope_head_dim; not read from the file.", NULL),
};
static const ls__fderived k_ds2_derived[] = {DS_DERIVED};
static const ls__frow k_ds2_bb[] = {
    LL_EMBED, LL_LAYERS_OPEN("{C}DecoderLayer"), DS_LAYER_PARTS(DS2_ROUTER), LL_LAYERS_CLOSE,
    LL_NORM("norm", "{C}RMSNorm"),
};
LL_FAMILY(DEEPSEEK_V2, k_ds2_keys, k_ds2_derived, k_ds2_bb, LS_MODEL_NORM_RMS);
#undef DS_MOE_TYPE

/* ---------------------------------------------------------------- deepseek_v3 */

#define DS_MOE_TYPE "{C}MoE"
#define DS3_ROUTER                                                                             \
  {'M', NULL, "gate", "{C}TopkRouter", LS_MODEL_KIND_ROUTER, "B, S, n_routed_experts", NULL,    \
   "n_group topk_group", "B, S, hidden_size"},                                                 \
      LS_F_PAR(NULL, "weight", "n_routed_experts, hidden_size"),                               \
      LS_F_BUF(NULL, "e_score_correction_bias", "n_routed_experts"), LS_F_END

static const ls_model_keyinfo k_ds3_keys[] = {
    DS_KEYS("129280", "7168", "18432", "2048", "61", "128", "128", "1", "256", "2.5", "1536", "8",
            "4", "8", "3", "true", "4096", "0", "1", "\"noaux_tc\""),
    LS_F_KEY("rope_interleave", "", BOOL, 0, NONE, "true", "Rotary dims interleaved (DeepSeek's layout) rather than split in halves.", NULL),
    LS_F_KEY("num_nextn_predict_layers", "", INT, CNT, NONE, "0", "Multi-token-prediction layers stored in the checkpoint after the main layers (not loaded by transformers; shown apart).", NULL),
};
static const ls__fderived k_ds3_derived[] = {DS_DERIVED};
static const ls__frow k_ds3_bb[] = {
    LL_EMBED,
    LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "num_hidden_layers", "{C}DecoderLayer", BLOCK, "B, S, hidden_size", NULL),
    DS_LAYER_PARTS(DS3_ROUTER),
    LS_F_ENDLOOP,
    /* the checkpoint's MTP layers (vLLM's DeepSeekMultiTokenPredictorLayer names them so):
     * embedding and head shared with the main model's, two norms, a projection of the
     * concatenated [embedding; hidden], then a decoder layer */
    LS_F_LOOP_FROM(NULL, "L", "num_hidden_layers", "num_nextn_predict_layers", "DeepseekV3MTPLayer", MTP,
                   "B, S, hidden_size", "num_nextn_predict_layers"),
    {'M', NULL, "embed_tokens", "Embedding", LS_MODEL_KIND_EMBEDDING, "B, S, hidden_size", NULL, NULL, "B, S"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}embed_tokens.weight", NULL), LS_F_END,
    LL_NORM("enorm", "{C}RMSNorm"), LL_NORM("hnorm", "{C}RMSNorm"),
    LS_F_LINEAR(NULL, "eh_proj", "hidden_size", "2 * hidden_size", "0"),
    LS_F_MOD(NULL, "shared_head", "SharedHead", CONTAINER, "B, S, vocab_size", NULL),
    LL_NORM("norm", "{C}RMSNorm"),
    {'M', NULL, "head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "lm_head.weight", NULL), LS_F_END,
    LS_F_END,
    DS_LAYER_PARTS(DS3_ROUTER),
    LS_F_ENDLOOP, LS_F_END,
    LL_NORM("norm", "{C}RMSNorm"),
};
LL_FAMILY(DEEPSEEK_V3, k_ds3_keys, k_ds3_derived, k_ds3_bb, LS_MODEL_NORM_RMS);
