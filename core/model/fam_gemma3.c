/* fam_gemma3.c: Gemma 3 as data: the text model (gemma3_text, Gemma3ForCausalLM: Gemma 1B and
 * every language model of the family) and the multimodal model (gemma3,
 * Gemma3ForConditionalGeneration: a SigLIP vision tower, a projector and the same language
 * model, configured by the nested text_config and vision_config). Defaults from
 * Gemma3TextConfig, Gemma3Config and SiglipVisionConfig; structure from modeling_gemma3.py and
 * modeling_siglip.py as of transformers 4.50, whose module names are the published
 * checkpoints' ("language_model.model.layers.0...", "vision_tower.vision_model...",
 * "multi_modal_projector.mm_input_projection_weight").
 *
 * The text model is Gemma 2's decoder (four RMSNorms per layer, (1 + weight) scaling,
 * embeddings scaled by sqrt(hidden)) with q_norm/k_norm on each head as in Qwen3, and a window
 * pattern of five local layers to one global: layer i slides unless (i + 1) is a multiple of
 * sliding_window_pattern (or as layer_types says, in newer configs). The gemma3 tables name
 * every text key "text_config.<key>" and give derived values the plain names, so the shared
 * rows below read the nested keys unchanged. The vision tower runs once per image on its
 * patches, not per token: its modules are of kind VISION and counted apart in the figures
 * (figures.h: flops_per_image). */
#include "core/model/fam_ll.h"

/* ---------------------------------------------------------------- the language model */

#define G3_KEYS(P)                                                                             \
  LS_F_KEY(P "vocab_size", "", INT, DIM, VOCAB, "262208", D_VOCAB, NULL),                      \
      LS_F_KEY(P "hidden_size", "", INT, DIM, HIDDEN, "2304", D_HIDDEN, NULL),                 \
      LS_F_KEY(P "intermediate_size", "", INT, DIM, INTERMEDIATE, "9216", D_INTER, NULL),      \
      LS_F_KEY(P "num_hidden_layers", "", INT, DIM, N_LAYERS, "26", D_LAYERS, NULL),           \
      LS_F_KEY(P "num_attention_heads", "", INT, DIM, N_HEADS, "8", D_HEADS, NULL),            \
      LS_F_KEY(P "num_key_value_heads", "", INT, DIM, N_KV_HEADS, "4", D_KV, NULL),            \
      LS_F_KEY(P "head_dim", "", INT, DIM, HEAD_DIM, "256", D_HEAD_DIM " Gemma sets it explicitly; it need not be hidden_size / heads.", NULL), \
      LS_F_KEY(P "hidden_activation", "", STRING, NULLDEF, ACT, "\"gelu_pytorch_tanh\"", "Activation of the MLP.", ACTS), \
      LS_F_KEY(P "max_position_embeddings", "", INT, DIM, MAX_POS, "131072", D_MAXPOS, NULL),  \
      LS_F_KEY(P "initializer_range", "", FLOAT, 0, INIT_RANGE, "0.02", D_INIT, NULL),         \
      LS_F_KEY(P "rms_norm_eps", "", FLOAT, 0, NORM_EPS, "1e-06", D_RMS " Gemma scales by (1 + weight).", NULL), \
      LS_F_KEY(P "use_cache", "", BOOL, 0, USE_CACHE, "true", D_CACHE, NULL),                  \
      LS_F_KEY(P "pad_token_id", "", ANY, 0, PAD_ID, "0", D_PAD, NULL),                        \
      LS_F_KEY(P "eos_token_id", "", ANY, 0, EOS_ID, "1", D_EOS, NULL),                        \
      LS_F_KEY(P "bos_token_id", "", ANY, 0, BOS_ID, "2", D_BOS, NULL),                        \
      LS_F_KEY(P "tie_word_embeddings", "", BOOL, 0, TIE, "true", D_TIE, NULL),                \
      LS_F_KEY(P "rope_theta", "", FLOAT, 0, ROPE_THETA, "1000000.0", D_THETA " (global layers)", NULL), \
      LS_F_KEY(P "attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on the q, k, v and o projections.", NULL), \
      LS_F_KEY(P "attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),        \
      LS_F_KEY(P "query_pre_attn_scalar", "", FLOAT, 0, NONE, "256", "Attention scores are scaled by query_pre_attn_scalar^-0.5.", NULL), \
      LS_F_KEY(P "sliding_window", "", INT, DIM | NULLABLE, SLIDING_WINDOW, "4096", "Span of the local (sliding-window) layers in tokens.", NULL), \
      LS_F_KEY(P "final_logit_softcapping", "", FLOAT, NULLABLE, NONE, "null", "Logits are soft-capped: c * tanh(x / c) (off when null).", NULL), \
      LS_F_KEY(P "attn_logit_softcapping", "", FLOAT, NULLABLE, NONE, "null", "Attention scores are soft-capped (off when null).", NULL), \
      LS_F_KEY(P "cache_implementation", "", STRING, 0, NONE, "\"hybrid\"", "KV cache kind used in generation.", "hybrid static dynamic sliding_window"), \
      LS_F_KEY(P "rope_scaling", "", OBJECT, NULLABLE, ROPE_SCALING, "null", D_ROPE_SCALING " (global layers only)", NULL), \
      LS_F_KEY(P "rope_local_base_freq", "", FLOAT, 0, NONE, "10000.0", "RoPE base period of the local (sliding) layers.", NULL), \
      LS_F_KEY(P "sliding_window_pattern", "", INT, DIM, NONE, "6", "Every n-th layer is global; the others slide.", NULL), \
      LS_F_KEY(P "layer_types", "", ARRAY, NULLABLE, NONE, "null", "Per-layer attention type (sliding_attention | full_attention); overrides sliding_window_pattern.", NULL)

/* A layer's window: layer_types when written, else five local layers to one global. */
#define G3_WIN(P)                                                                              \
  "(has(" P "layer_types) ? (itemis(" P "layer_types, L, \"sliding_attention\") ? sliding_window : 0) : " \
  "((L + 1) % sliding_window_pattern != 0 ? sliding_window : 0))"

#define G3_ATTN(P)                                                                             \
  LS_F_ATTN(NULL, "self_attn", "{C}Attention", "B, S, hidden_size",                            \
            "num_attention_heads n_kv hd rope_theta rope_scaling attention_dropout "           \
            "query_pre_attn_scalar sliding_window rms_norm_eps",                               \
            "num_attention_heads*hd | n_kv*hd | " G3_WIN(P) " | 0"),                           \
      LL_PROJ_QKNORM("attention_bias"), LS_F_END

/* Gemma3TextModel: embed_tokens (scaled), layers, norm (rotary buffers are not persistent). */
#define G3_TEXT_BACKBONE(P)                                                                    \
  LL_EMBED, LL_LAYERS_OPEN("{C}DecoderLayer"), G3_ATTN(P),                                     \
      LL_MLP(NULL, "mlp", "{C}MLP", "intermediate_size", "0"),                                 \
      LL_NORM("input_layernorm", "{C}RMSNorm"), LL_NORM("post_attention_layernorm", "{C}RMSNorm"), \
      LL_NORM("pre_feedforward_layernorm", "{C}RMSNorm"),                                      \
      LL_NORM("post_feedforward_layernorm", "{C}RMSNorm"), LL_LAYERS_CLOSE,                    \
      LL_NORM("norm", "{C}RMSNorm")

/* ---------------------------------------------------------------- gemma3_text */

static const ls_model_keyinfo k_g3t_keys[] = {G3_KEYS("")};
static const ls__fderived k_g3t_derived[] = {
    LL_DERIVED("attention_bias", "attention_bias", "0", "sliding_window")};
static const ls__frow k_g3t_bb[] = {G3_TEXT_BACKBONE("")};
/* Gemma3ForCausalLM, and the generic sequence classification head of later releases */
static const ls__frow k_g3t_clm[] = {LS_F_BACKBONE, LL_LM_HEAD("{P}embed_tokens.weight")};
static const ls__fhead k_g3t_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_g3t_clm, LS_F_N(k_g3t_clm)}};
const ls__family ls__family_GEMMA3_TEXT = {
    LS_MODEL_FAMILY_GEMMA3_TEXT, k_g3t_keys, LS_F_N(k_g3t_keys), k_g3t_derived,
    LS_F_N(k_g3t_derived), "model", "{C}TextModel", "B, S, hidden_size", k_g3t_bb,
    LS_F_N(k_g3t_bb), k_g3t_heads, LS_F_N(k_g3t_heads), LS_MODEL_NORM_RMS_PLUS1,
    LS_MODEL_POS_ROPE, 1, 1, 0, 1, 0};

/* ---------------------------------------------------------------- gemma3: SigLIP + projector */

#define T "text_config."
#define V "vision_config."

static const ls_model_keyinfo k_g3_keys[] = {
    LS_F_KEY("text_config", "", OBJECT, NULLABLE, NONE, "null", "The language model's config (Gemma3TextConfig; its defaults when null).", NULL),
    LS_F_KEY("vision_config", "", OBJECT, NULLABLE, NONE, "null", "The vision tower's config (SiglipVisionConfig; its defaults when null).", NULL),
    LS_F_KEY("mm_tokens_per_image", "", INT, DIM, NONE, "256", "Soft tokens each image becomes in the language model (the patches average-pooled to this many).", NULL),
    LS_F_KEY("boi_token_index", "", INT, CNT, NONE, "255999", "Token id that opens an image.", NULL),
    LS_F_KEY("eoi_token_index", "", INT, CNT, NONE, "256000", "Token id that closes an image.", NULL),
    LS_F_KEY("image_token_index", "", INT, CNT, NONE, "262144", "Token id of an image soft token.", NULL),
    LS_F_KEY("initializer_range", "", FLOAT, 0, NONE, "0.02", D_INIT, NULL),
    K_BOS("null"), K_EOS("null"), K_PAD("null"),
    G3_KEYS(T),
    LS_F_KEY(T "model_type", "", STRING, 0, NONE, "\"gemma3_text\"", "Type of the nested text config.", NULL),
    LS_F_KEY(V "model_type", "", STRING, 0, NONE, "\"siglip_vision_model\"", "Type of the nested vision config.", NULL),
    LS_F_KEY(V "hidden_size", "", INT, DIM, NONE, "768", "Width of the vision tower.", NULL),
    LS_F_KEY(V "intermediate_size", "", INT, DIM, NONE, "3072", "Inner width of the vision tower's MLPs.", NULL),
    LS_F_KEY(V "num_hidden_layers", "", INT, DIM, NONE, "12", "Encoder layers of the vision tower.", NULL),
    LS_F_KEY(V "num_attention_heads", "", INT, DIM, NONE, "12", "Attention heads of the vision tower.", NULL),
    LS_F_KEY(V "num_channels", "", INT, DIM, NONE, "3", "Colour channels of the input image.", NULL),
    LS_F_KEY(V "image_size", "", INT, DIM, NONE, "224", "Side of the input image in pixels.", NULL),
    LS_F_KEY(V "patch_size", "", INT, DIM, NONE, "16", "Side of a patch in pixels.", NULL),
    LS_F_KEY(V "hidden_act", "", STRING, 0, NONE, "\"gelu_pytorch_tanh\"", "Activation of the vision MLPs.", ACTS),
    LS_F_KEY(V "layer_norm_eps", "", FLOAT, 0, NONE, "1e-06", "Epsilon of the vision LayerNorms (and of the projector's RMSNorm).", NULL),
    LS_F_KEY(V "attention_dropout", "", FLOAT, 0, NONE, "0.0", D_ATTN_DROP, NULL),
    LS_F_KEY(V "vision_use_head", "", BOOL, 0, NONE, "true", "SigLIP's attention-pooling head (Gemma 3 turns it off).", NULL),
    LS_F_KEY(V "initializer_range", "", FLOAT, 0, NONE, "0.02", D_INIT, NULL),
    LS_F_KEY(V "initializer_factor", "", FLOAT, 0, NONE, "1.0", "Scale of the vision tower's weight initialisation (testing only).", NULL),
    LS_F_KEY(V "projection_dim", "", INT, DIM, NONE, "512", "Width of SigLIP's contrastive projection (read by SiglipModel, not by Gemma 3; older SiglipVisionConfig).", NULL),
};

/* plain names for the text keys, read by the shared rows (derived values shadow keys) */
static const ls__fderived k_g3_derived[] = {
    {"vocab_size", T "vocab_size"}, {"hidden_size", T "hidden_size"},
    {"intermediate_size", T "intermediate_size"}, {"num_hidden_layers", T "num_hidden_layers"},
    {"num_attention_heads", T "num_attention_heads"}, {"rms_norm_eps", T "rms_norm_eps"},
    {"sliding_window", T "sliding_window"}, {"sliding_window_pattern", T "sliding_window_pattern"},
    {"pad_token_id", T "pad_token_id"}, {"tie_word_embeddings", T "tie_word_embeddings"},
    {"attention_bias", T "attention_bias"}, {"rope_theta", T "rope_theta"},
    {"rope_scaling", T "rope_scaling"}, {"attention_dropout", T "attention_dropout"},
    {"query_pre_attn_scalar", T "query_pre_attn_scalar"}, {"hidden_act", T "hidden_activation"},
    {"hidden_activation", T "hidden_activation"},
    {"hd", T "head_dim"}, {"n_kv", T "num_key_value_heads"}, {"ffn", T "intermediate_size"},
    {"sem_qkv_bias", T "attention_bias"}, {"sem_out_bias", T "attention_bias"}, {"sem_mlp_bias", "0"},
    {"sem_window", T "sliding_window"},
    {"v_h", V "hidden_size"}, {"v_f", V "intermediate_size"},
    {"v_side", V "image_size / " V "patch_size"}, {"v_np", "v_side * v_side"},
};

#define VLIN(name, out, in) LS_F_LINEAR_S(NULL, name, out, in, "1", "v_np")
#define VLN(name) LS_F_LAYERNORM_S(NULL, name, "v_h", NULL, V "layer_norm_eps", "v_np")
static const ls__frow k_g3_clm[] = {
    /* SiglipVisionModel -> SiglipVisionTransformer */
    LS_F_MOD(NULL, "vision_tower", "SiglipVisionModel", VISION, "B, v_np, v_h", V "image_size " V "patch_size"),
    LS_F_MOD(NULL, "vision_model", "SiglipVisionTransformer", CONTAINER, "B, v_np, v_h", NULL),
    LS_F_MOD(NULL, "embeddings", "SiglipVisionEmbeddings", CONTAINER, "B, v_np, v_h", NULL),
    {'M', NULL, "patch_embedding", "Conv2d", LS_MODEL_KIND_CONV, "B, v_np, v_h", NULL, V "patch_size",
     "B, " V "num_channels, " V "image_size, " V "image_size"},
    LS_F_PAR(NULL, "weight", "v_h, " V "num_channels, " V "patch_size, " V "patch_size"),
    LS_F_PAR(NULL, "bias", "v_h"), LS_F_END,
    {'M', NULL, "position_embedding", "Embedding", LS_MODEL_KIND_EMBEDDING, "B, v_np, v_h", NULL, NULL, "B, v_np"},
    LS_F_PAR(NULL, "weight", "v_np, v_h"), LS_F_END,
    LS_F_END,
    LS_F_MOD(NULL, "encoder", "SiglipEncoder", CONTAINER, "B, v_np, v_h", NULL),
    LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, v_np, v_h", NULL),
    LS_F_LOOP(NULL, "V", V "num_hidden_layers", "SiglipEncoderLayer", BLOCK, "B, v_np, v_h", NULL),
    LS_F_ATTN(NULL, "self_attn", "SiglipAttention", "B, v_np, v_h", V "num_attention_heads " V "attention_dropout",
              "v_h | 0 | 0 | 0"),
    VLIN("k_proj", "v_h", "v_h"), VLIN("v_proj", "v_h", "v_h"), VLIN("q_proj", "v_h", "v_h"),
    VLIN("out_proj", "v_h", "v_h"), LS_F_END,
    VLN("layer_norm1"),
    LS_F_MOD(NULL, "mlp", "SiglipMLP", MLP, "B, v_np, v_h", V "intermediate_size " V "hidden_act"),
    VLIN("fc1", "v_f", "v_h"), VLIN("fc2", "v_h", "v_f"), LS_F_END,
    VLN("layer_norm2"),
    LS_F_ENDLOOP, LS_F_END, LS_F_END,
    VLN("post_layernorm"),
    /* SiglipMultiheadAttentionPoolingHead (nn.MultiheadAttention: in_proj_*, out_proj) */
    LS_F_MOD(V "vision_use_head", "head", "SiglipMultiheadAttentionPoolingHead", HEAD, "B, v_h", NULL),
    LS_F_PAR(NULL, "probe", "1, 1, v_h"),
    {'M', NULL, "attention", "MultiheadAttention", LS_MODEL_KIND_ATTENTION, "B, 1, v_h", "v_h | 0 | 0 | 0",
     V "num_attention_heads", "B, v_np, v_h"},
    LS_F_PAR(NULL, "in_proj_weight", "3 * v_h, v_h"), LS_F_PAR(NULL, "in_proj_bias", "3 * v_h"),
    LS_F_LINEAR_S(NULL, "out_proj", "v_h", "v_h", "1", "1"), LS_F_END,
    LS_F_LAYERNORM_S(NULL, "layernorm", "v_h", NULL, V "layer_norm_eps", "1"),
    LS_F_MOD(NULL, "mlp", "SiglipMLP", MLP, "B, 1, v_h", NULL),
    LS_F_LINEAR_S(NULL, "fc1", "v_f", "v_h", "1", "1"), LS_F_LINEAR_S(NULL, "fc2", "v_h", "v_f", "1", "1"), LS_F_END,
    LS_F_END,
    LS_F_END, LS_F_END,
    /* Gemma3MultiModalProjector: a raw [vision, text] matrix after an RMSNorm of the pooled
     * patches */
    {'M', NULL, "multi_modal_projector", "Gemma3MultiModalProjector", LS_MODEL_KIND_VISION,
     "B, mm_tokens_per_image, hidden_size", NULL, "mm_tokens_per_image", "B, v_np, v_h"},
    LS_F_PAR(NULL, "mm_input_projection_weight", "v_h, hidden_size"),
    {'M', NULL, "mm_soft_emb_norm", "Gemma3RMSNorm", LS_MODEL_KIND_RMSNORM, "B, mm_tokens_per_image, v_h", NULL,
     V "layer_norm_eps", NULL},
    LS_F_PAR(NULL, "weight", "v_h"), LS_F_END,
    LS_F_END,
    /* Gemma3ForCausalLM */
    LS_F_MOD(NULL, "language_model", "Gemma3ForCausalLM", CONTAINER, "B, S, vocab_size", NULL),
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "language_model.model.embed_tokens.weight",
                "tie_word_embeddings"),
    LS_F_END, LS_F_END,
};
#undef VLIN
#undef VLN
static const ls__frow k_g3_bb[] = {G3_TEXT_BACKBONE(T)};
static const ls__fhead k_g3_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForConditionalGeneration", k_g3_clm, LS_F_N(k_g3_clm)}};
const ls__family ls__family_GEMMA3 = {
    LS_MODEL_FAMILY_GEMMA3, k_g3_keys, LS_F_N(k_g3_keys), k_g3_derived, LS_F_N(k_g3_derived),
    "model", "Gemma3TextModel", "B, S, hidden_size", k_g3_bb, LS_F_N(k_g3_bb), k_g3_heads,
    LS_F_N(k_g3_heads), LS_MODEL_NORM_RMS_PLUS1, LS_MODEL_POS_ROPE, 1, 1, 0, 1, 0};
