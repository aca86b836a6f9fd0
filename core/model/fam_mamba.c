/* fam_mamba.c: the state-space families as data: Mamba-2 (mamba2) and FalconMamba
 * (falcon_mamba, Mamba-1's mixer with RMS-normalised B, C and dt that have no weights).
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
