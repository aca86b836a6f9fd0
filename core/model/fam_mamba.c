/* fam_mamba.c: the state-space families as data: Mamba-2 (mamba2), FalconMamba
 * (falcon_mamba, Mamba-1's mixer with RMS-normalised B, C and dt that have no weights), and
 * the hybrid Jamba (jamba: Mamba-1 layers with weighted dt/B/C norms, a few attention
 * layers, MoE feed-forwards on every other layer).
 * No attention: each layer is an RMSNorm and a mixer: in_proj, a causal depthwise conv1d,
 * the selective scan (A_log, D; Mamba-1: x_proj and dt_proj make dt, B and C; Mamba-2: heads
 * with dt_bias and a gated RMSNorm), out_proj. What a layer caches per sequence is its conv
 * state and scan state, whatever the length (kind SSM; figures.h: ssm_state). Defaults from
 * Mamba2Config / FalconMambaConfig, structure from modeling_mamba2.py /
 * modeling_falcon_mamba.py (transformers 4.44-4.45): "backbone.layers.N.mixer...", the
 * mixer's own parameters (dt_bias, A_log, D) first in its state_dict. */
#include "core/model/fam_docs.h"

#define FAMILY(ID, keys, derived, bb, heads)                                                   \
  const ls__family ls__family_##ID = {                                                         \
      LS_MODEL_FAMILY_##ID, keys, LS_F_N(keys), derived, LS_F_N(derived), "backbone",          \
      "{C}Model", "B, S, hidden_size", bb, LS_F_N(bb), heads, LS_F_N(heads),                   \
      LS_MODEL_NORM_RMS, LS_MODEL_POS_NONE, 0, 1, 0, 0, 0}

#define M_KEYS(vocab, hidden, layers, state, pad, bos, eos, tie)                               \
  LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, vocab, D_VOCAB, NULL),                           \
      LS_F_KEY("hidden_size", "", INT, DIM, HIDDEN, hidden, D_HIDDEN, NULL),                   \
      LS_F_KEY("state_size", "", INT, DIM, NONE, state, "Size of the scan state per channel (N).", NULL), \
      LS_F_KEY("num_hidden_layers", "", INT, DIM, N_LAYERS, layers, D_LAYERS, NULL),           \
      LS_F_KEY("layer_norm_epsilon", "", FLOAT, 0, NORM_EPS, "1e-05", D_RMS, NULL),            \
      LS_F_KEY("expand", "", INT, DIM, NONE, "2", "The mixer works on expand x hidden_size channels.", NULL), \
      LS_F_KEY("conv_kernel", "", INT, DIM, NONE, "4", "Width of the causal depthwise convolution.", NULL), \
      LS_F_KEY("use_bias", "", BOOL, 0, NONE, "false", "Bias on in_proj and out_proj.", NULL), \
      LS_F_KEY("use_conv_bias", "", BOOL, 0, NONE, "true", "Bias on the convolution.", NULL),  \
      LS_F_KEY("hidden_act", "", STRING, 0, ACT, "\"silu\"", D_ACT, ACTS),                     \
      K_INIT("0.1"),                                                                           \
      LS_F_KEY("residual_in_fp32", "", BOOL, 0, NONE, "true", "Keep the residual stream in float32.", NULL), \
      LS_F_KEY("time_step_rank", "", ANY, 0, NONE, "\"auto\"", "Rank of dt's projection (\"auto\": ceil(hidden_size / 16)).", NULL), \
      LS_F_KEY("time_step_min", "", FLOAT, 0, NONE, "0.001", "Smallest initial dt.", NULL),    \
      LS_F_KEY("time_step_max", "", FLOAT, 0, NONE, "0.1", "Largest initial dt.", NULL),       \
      LS_F_KEY("time_step_floor", "", FLOAT, 0, NONE, "0.0001", "Floor of the initial dt.", NULL), \
      LS_F_KEY("rescale_prenorm_residual", "", BOOL, 0, NONE, "false", "Rescale out_proj at initialisation.", NULL), \
      K_CACHE, K_TIE(tie), K_PAD(pad), K_BOS(bos), K_EOS(eos)

#define M_NORM(name, type) LS_F_RMSNORM(NULL, name, type, "hidden_size", "layer_norm_epsilon")

/* MambaModel: embeddings, layers of {norm, mixer}, norm_f; the mixer rows are the family's */
#define M_BACKBONE(...)                                                                        \
  LS_F_EMBEDDING(NULL, "embeddings", "vocab_size", "hidden_size", "pad_token_id"),             \
      LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, S, hidden_size", NULL),                 \
      LS_F_LOOP(NULL, "L", "num_hidden_layers", "{C}Block", BLOCK, "B, S, hidden_size", "residual_in_fp32"), \
      M_NORM("norm", "{C}RMSNorm"), __VA_ARGS__, LS_F_ENDLOOP, LS_F_END, M_NORM("norm_f", "{C}RMSNorm")

static const ls__frow k_m_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}embeddings.weight", "tie_word_embeddings"),
    LS_F_END};
static const ls__fhead k_m_heads[] = {{LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_m_clm, LS_F_N(k_m_clm)}};

/* ---------------------------------------------------------------- mamba2 */

static const ls_model_keyinfo k_mamba2_keys[] = {
    M_KEYS("32768", "4096", "64", "128", "1", "0", "2", "false"),
    LS_F_KEY("num_heads", "", INT, DIM, NONE, "128", "Heads of the scan (each of head_dim channels, one dt and A per head).", NULL),
    LS_F_KEY("head_dim", "", INT, DIM, NONE, "64", "Channels per scan head.", NULL),
    LS_F_KEY("n_groups", "", INT, DIM, NONE, "8", "Groups sharing B and C (like grouped-query attention).", NULL),
    LS_F_KEY("time_step_limit", "", ARRAY, 0, NONE, "null", "Clamp of dt after softplus.", NULL),
    LS_F_KEY("rms_norm", "", BOOL, 0, NONE, "true", "Gated RMSNorm before out_proj.", NULL),
    LS_F_KEY("chunk_size", "", INT, DIM, NONE, "256", "Chunk length of the SSD scan.", NULL),
    LS_F_KEY("norm_before_gate", "", BOOL, 0, NONE, "false", "Mamba-2 reference code: gate after the norm (transformers' gated norm ignores it).", NULL),
};
static const ls__fderived k_mamba2_derived[] = {
    {"m_inner", "expand * hidden_size"},
    {"m_conv", "m_inner + 2 * n_groups * state_size"},
    {"sem_window", "0"}, {"sem_gated", "0"}};
static const ls__frow k_mamba2_bb[] = {M_BACKBONE(
    {'M', NULL, "mixer", "{C}Mixer", LS_MODEL_KIND_SSM, "B, S, hidden_size",
     "m_conv * conv_kernel + num_heads * head_dim * state_size",
     "num_heads head_dim state_size n_groups expand conv_kernel chunk_size time_step_limit hidden_act", NULL},
    LS_F_PAR(NULL, "dt_bias", "num_heads"), LS_F_PAR(NULL, "A_log", "num_heads"), LS_F_PAR(NULL, "D", "num_heads"),
    {'M', NULL, "conv1d", "Conv1d", LS_MODEL_KIND_CONV, "B, m_conv, S", NULL, "conv_kernel", "B, m_conv, S"},
    LS_F_PAR(NULL, "weight", "m_conv, 1, conv_kernel"), LS_F_PAR("use_conv_bias", "bias", "m_conv"), LS_F_END,
    LS_F_LINEAR(NULL, "in_proj", "m_inner + m_conv + num_heads", "hidden_size", "use_bias"),
    LS_F_RMSNORM(NULL, "norm", "MambaRMSNormGated", "m_inner", "layer_norm_epsilon"),
    LS_F_LINEAR(NULL, "out_proj", "hidden_size", "m_inner", "use_bias"),
    LS_F_END)};
FAMILY(MAMBA2, k_mamba2_keys, k_mamba2_derived, k_mamba2_bb, k_m_heads);

/* ---------------------------------------------------------------- falcon_mamba */

static const ls_model_keyinfo k_fmamba_keys[] = {
    M_KEYS("50280", "768", "32", "16", "0", "0", "0", "true"),
    /* the released configs write intermediate_size next to an expand that disagrees with it
     * (falcon-mamba-7b: 8192 and 16); the config class sets expand x hidden_size and then the
     * file's intermediate_size over it, so the file's value is the one the model is built with */
    LS_F_KEY("intermediate_size", "", INT, DIM, INTERMEDIATE, "expand * hidden_size", "Channels of the mixer (when absent: expand x hidden_size).", NULL),
    LS_F_KEY("time_step_scale", "", FLOAT, 0, NONE, "1.0", "Scale of dt's initialisation.", NULL),
    LS_F_KEY("time_step_init_scheme", "", STRING, 0, NONE, "\"random\"", "Initialisation of dt_proj.", "random constant"),
    LS_F_KEY("use_falcon_mambapy", "", BOOL, 0, NONE, "false", "Training fallback when the CUDA kernels are missing.", NULL),
    LS_F_KEY("mixer_rms_eps", "", FLOAT, 0, NONE, "1e-06", "Epsilon of the (weightless) RMS norms on B, C and dt.", NULL),
    LS_F_KEY("use_mambapy", "", BOOL, 0, NONE, "false", "Mamba's name for use_falcon_mambapy.", NULL),
};
static const ls__fderived k_fmamba_derived[] = {
    {"dt_rank", "time_step_rank > 0 ? time_step_rank : (hidden_size + 15) / 16"},
    {"ffn", "intermediate_size"}, {"sem_window", "0"}, {"sem_gated", "0"}};
static const ls__frow k_fmamba_bb[] = {M_BACKBONE(
    {'M', NULL, "mixer", "{C}Mixer", LS_MODEL_KIND_SSM, "B, S, hidden_size",
     "intermediate_size * conv_kernel + intermediate_size * state_size",
     "state_size conv_kernel time_step_rank mixer_rms_eps hidden_act", NULL},
    LS_F_PAR(NULL, "A_log", "intermediate_size, state_size"), LS_F_PAR(NULL, "D", "intermediate_size"),
    {'M', NULL, "conv1d", "Conv1d", LS_MODEL_KIND_CONV, "B, intermediate_size, S", NULL, "conv_kernel", "B, intermediate_size, S"},
    LS_F_PAR(NULL, "weight", "intermediate_size, 1, conv_kernel"), LS_F_PAR("use_conv_bias", "bias", "intermediate_size"), LS_F_END,
    LS_F_LINEAR(NULL, "in_proj", "2 * intermediate_size", "hidden_size", "use_bias"),
    LS_F_LINEAR(NULL, "x_proj", "dt_rank + 2 * state_size", "intermediate_size", "0"),
    LS_F_LINEAR(NULL, "dt_proj", "intermediate_size", "dt_rank", "1"),
    LS_F_LINEAR(NULL, "out_proj", "hidden_size", "intermediate_size", "use_bias"),
    LS_F_END)};
FAMILY(FALCON_MAMBA, k_fmamba_keys, k_fmamba_derived, k_fmamba_bb, k_m_heads);

/* ---------------------------------------------------------------- jamba */

/* JambaConfig / modeling_jamba.py (transformers 4.40, the checkpoints' layout): a hybrid. Layer
 * i is attention when i % attn_layer_period == attn_layer_offset, Mamba otherwise (the mixer
 * of Mamba-1 plus RMSNorms on dt, B and C: dt_layernorm, b_layernorm, c_layernorm), and its
 * feed_forward is a MoE block (router, experts.N) when i % expert_layer_period ==
 * expert_layer_offset, a gated MLP otherwise; input_layernorm before the mixer or attention,
 * pre_ff_layernorm before the feed-forward. Only the attention layers keep K and V; the
 * Mamba layers keep their state. */
static const ls_model_keyinfo k_jamba_keys[] = {
    LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "65536", D_VOCAB, NULL),
    LS_F_KEY("hidden_size", "", INT, DIM, HIDDEN, "4096", D_HIDDEN, NULL),
    LS_F_KEY("intermediate_size", "", INT, DIM, INTERMEDIATE, "14336", D_INTER, NULL),
    LS_F_KEY("num_hidden_layers", "", INT, DIM, N_LAYERS, "32", D_LAYERS, NULL),
    LS_F_KEY("num_attention_heads", "", INT, DIM, N_HEADS, "32", D_HEADS, NULL),
    LS_F_KEY("num_key_value_heads", "", INT, DIM | NULLDEF, N_KV_HEADS, "8", D_KV, NULL),
    LS_F_KEY("hidden_act", "", STRING, 0, ACT, "\"silu\"", D_ACT, ACTS),
    K_INIT("0.02"),
    LS_F_KEY("rms_norm_eps", "", FLOAT, 0, NORM_EPS, "1e-06", D_RMS, NULL),
    K_CACHE,
    LS_F_KEY("num_logits_to_keep", "", INT, CNT | NULLABLE, NONE, "1", "Prompt logits computed in generation (null: all).", NULL),
    LS_F_KEY("output_router_logits", "", BOOL, 0, NONE, "false", "Return router logits.", NULL),
    LS_F_KEY("router_aux_loss_coef", "", FLOAT, 0, NONE, "0.001", "Weight of the load-balancing loss.", NULL),
    LS_F_KEY("sliding_window", "", INT, DIM | NULLABLE, SLIDING_WINDOW, "null", D_WINDOW, NULL),
    LS_F_KEY("max_position_embeddings", "", INT, DIM, MAX_POS, "262144", D_MAXPOS " (no effect on the model)", NULL),
    LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),
    LS_F_KEY("num_experts_per_tok", "", INT, DIM, TOP_K, "2", "Experts each token is routed to (top-k).", NULL),
    LS_F_KEY("num_experts", "", INT, DIM, N_EXPERTS, "16", "Experts of each MoE layer.", NULL),
    LS_F_KEY("expert_layer_period", "", INT, DIM, NONE, "2", "Every n-th layer has a MoE feed-forward...", NULL),
    LS_F_KEY("expert_layer_offset", "", INT, CNT, NONE, "1", "...starting at this layer.", NULL),
    LS_F_KEY("attn_layer_period", "", INT, DIM, NONE, "8", "Every n-th layer is attention (the others Mamba)...", NULL),
    LS_F_KEY("attn_layer_offset", "", INT, CNT, NONE, "4", "...starting at this layer.", NULL),
    LS_F_KEY("use_mamba_kernels", "", BOOL, 0, NONE, "true", "Use the mamba-ssm / causal-conv1d CUDA kernels.", NULL),
    LS_F_KEY("mamba_d_state", "", INT, DIM, NONE, "16", "Scan state per Mamba channel.", NULL),
    LS_F_KEY("mamba_d_conv", "", INT, DIM, NONE, "4", "Width of the Mamba convolution.", NULL),
    LS_F_KEY("mamba_expand", "", INT, DIM, NONE, "2", "Mamba channels = mamba_expand x hidden_size.", NULL),
    LS_F_KEY("mamba_dt_rank", "", ANY, 0, NONE, "\"auto\"", "Rank of dt's projection (\"auto\": ceil(hidden_size / 16)).", NULL),
    LS_F_KEY("mamba_conv_bias", "", BOOL, 0, NONE, "true", "Bias on the Mamba convolution.", NULL),
    LS_F_KEY("mamba_proj_bias", "", BOOL, 0, NONE, "false", "Bias on the Mamba in_proj and out_proj.", NULL),
    K_TIE("false"), K_PAD("0"), K_BOS("1"), K_EOS("2"),
};
static const ls__fderived k_jamba_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_key_value_heads"}, {"ffn", "intermediate_size"},
    {"j_inner", "mamba_expand * hidden_size"},
    {"dt_rank", "mamba_dt_rank > 0 ? mamba_dt_rank : (hidden_size + 15) / 16"},
    {"sem_window", "sliding_window"}, {"sem_experts", "num_experts"}, {"moe_ffn", "intermediate_size"}};
#define J_ATTN "(L % attn_layer_period == attn_layer_offset)"
#define J_MOE "(L % expert_layer_period == expert_layer_offset)"
#define J_NORM(cond, name) LS_F_RMSNORM(cond, name, "{C}RMSNorm", "hidden_size", "rms_norm_eps")
#define J_LIN(name, out, in, b) LS_F_LINEAR(NULL, name, out, in, b)
static const ls__frow k_jamba_bb[] = {
    LS_F_EMBEDDING(NULL, "embed_tokens", "vocab_size", "hidden_size", "pad_token_id"),
    LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "num_hidden_layers", "{C}DecoderLayer", BLOCK, "B, S, hidden_size",
              "attn_layer_period attn_layer_offset expert_layer_period expert_layer_offset"),
    /* attention layers */
    LS_F_ATTN(J_ATTN, "self_attn", "{C}Attention", "B, S, hidden_size",
              "num_attention_heads n_kv attention_dropout sliding_window",
              "num_attention_heads*hd | n_kv*hd | sliding_window | 0"),
    J_LIN("q_proj", "num_attention_heads*hd", "hidden_size", "0"), J_LIN("k_proj", "n_kv*hd", "hidden_size", "0"),
    J_LIN("v_proj", "n_kv*hd", "hidden_size", "0"), J_LIN("o_proj", "hidden_size", "num_attention_heads*hd", "0"),
    LS_F_END,
    /* Mamba layers */
    {'M', "!" J_ATTN, "mamba", "{C}MambaMixer", LS_MODEL_KIND_SSM, "B, S, hidden_size",
     "j_inner * mamba_d_conv + j_inner * mamba_d_state",
     "mamba_d_state mamba_d_conv mamba_expand mamba_dt_rank hidden_act", NULL},
    LS_F_PAR(NULL, "A_log", "j_inner, mamba_d_state"), LS_F_PAR(NULL, "D", "j_inner"),
    {'M', NULL, "conv1d", "Conv1d", LS_MODEL_KIND_CONV, "B, j_inner, S", NULL, "mamba_d_conv", "B, j_inner, S"},
    LS_F_PAR(NULL, "weight", "j_inner, 1, mamba_d_conv"), LS_F_PAR("mamba_conv_bias", "bias", "j_inner"), LS_F_END,
    J_LIN("in_proj", "2 * j_inner", "hidden_size", "mamba_proj_bias"),
    J_LIN("x_proj", "dt_rank + 2 * mamba_d_state", "j_inner", "0"),
    J_LIN("dt_proj", "j_inner", "dt_rank", "1"),
    J_LIN("out_proj", "hidden_size", "j_inner", "mamba_proj_bias"),
    LS_F_RMSNORM(NULL, "dt_layernorm", "{C}RMSNorm", "dt_rank", "rms_norm_eps"),
    LS_F_RMSNORM(NULL, "b_layernorm", "{C}RMSNorm", "mamba_d_state", "rms_norm_eps"),
    LS_F_RMSNORM(NULL, "c_layernorm", "{C}RMSNorm", "mamba_d_state", "rms_norm_eps"),
    LS_F_END,
    /* feed-forward: MoE or gated MLP */
    LS_F_MOD(J_MOE, "feed_forward", "{C}SparseMoeBlock", MOE, "B, S, hidden_size", "num_experts num_experts_per_tok"),
    {'M', NULL, "router", "Linear", LS_MODEL_KIND_ROUTER, "B, S, num_experts", NULL, NULL, "B, S, hidden_size"},
    LS_F_PAR(NULL, "weight", "num_experts, hidden_size"), LS_F_END,
    LS_F_MOD(NULL, "experts", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "X", "num_experts", "{C}MLP", EXPERT, "B, S, hidden_size", "intermediate_size hidden_act"),
    J_LIN("gate_proj", "intermediate_size", "hidden_size", "0"), J_LIN("up_proj", "intermediate_size", "hidden_size", "0"),
    J_LIN("down_proj", "hidden_size", "intermediate_size", "0"),
    LS_F_ENDLOOP, LS_F_END, LS_F_END,
    LS_F_MOD("!" J_MOE, "feed_forward", "{C}MLP", MLP, "B, S, hidden_size", "intermediate_size hidden_act"),
    J_LIN("gate_proj", "intermediate_size", "hidden_size", "0"), J_LIN("up_proj", "intermediate_size", "hidden_size", "0"),
    J_LIN("down_proj", "hidden_size", "intermediate_size", "0"), LS_F_END,
    J_NORM(NULL, "input_layernorm"), J_NORM(NULL, "pre_ff_layernorm"),
    LS_F_ENDLOOP, LS_F_END,
    J_NORM(NULL, "final_layernorm"),
};
static const ls__frow k_jamba_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}embed_tokens.weight", "tie_word_embeddings"),
    LS_F_END};
static const ls__fhead k_jamba_heads[] = {{LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_jamba_clm, LS_F_N(k_jamba_clm)}};
const ls__family ls__family_JAMBA = {
    LS_MODEL_FAMILY_JAMBA, k_jamba_keys, LS_F_N(k_jamba_keys), k_jamba_derived, LS_F_N(k_jamba_derived),
    "model", "{C}Model", "B, S, hidden_size", k_jamba_bb, LS_F_N(k_jamba_bb), k_jamba_heads,
    LS_F_N(k_jamba_heads), LS_MODEL_NORM_RMS, LS_MODEL_POS_NONE, 1, 1, 0, 0, 0};
