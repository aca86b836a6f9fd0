/* fam_decoders.c: the other decoder families as data: gpt2, phi, phi3, gpt_neox, falcon,
 * bloom, opt. Defaults from the upstream config classes; names and registration order from
 * the upstream modeling files (GPT-2's Conv1D keeps [in, out] weights). */
#include "core/model/fam_docs.h"

#define SEQCLS_SCORE(in) LS_F_LINEAR(NULL, "score", "num_labels", in, "0")
#define LN(name, dim, eps) LS_F_LAYERNORM(NULL, name, dim, eps)
#define FAMILY(ID, keys, derived, prefix, out, bb, heads, norm, pos, gated, post)              \
  const ls__family ls__family_##ID = {                                                         \
      LS_MODEL_FAMILY_##ID, keys, LS_F_N(keys), derived, LS_F_N(derived), prefix, "{C}Model",  \
      out, bb, LS_F_N(bb), heads, LS_F_N(heads), norm, pos, gated, 1, 0, 0, post}

/* ---------------------------------------------------------------- gpt2 */

static const ls_model_keyinfo k_gpt2_keys[] = {
    LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "50257", D_VOCAB, NULL),
    LS_F_KEY("n_positions", "max_position_embeddings", INT, DIM, MAX_POS, "1024", D_MAXPOS, NULL),
    LS_F_KEY("n_embd", "hidden_size n_embed", INT, DIM, HIDDEN, "768", D_HIDDEN, NULL),
    LS_F_KEY("n_layer", "num_hidden_layers", INT, DIM, N_LAYERS, "12", D_LAYERS, NULL),
    LS_F_KEY("n_head", "num_attention_heads", INT, DIM, N_HEADS, "12", D_HEADS, NULL),
    LS_F_KEY("n_inner", "", INT, DIM | NULLDEF, INTERMEDIATE, "4 * n_embd", D_INTER " null = 4 * n_embd.", NULL),
    LS_F_KEY("activation_function", "", STRING, 0, ACT, "\"gelu_new\"", D_ACT, ACTS),
    LS_F_KEY("resid_pdrop", "", FLOAT, 0, DROPOUT, "0.1", "Dropout on residual branches.", NULL),
    LS_F_KEY("embd_pdrop", "", FLOAT, 0, DROPOUT, "0.1", "Dropout on embeddings.", NULL),
    LS_F_KEY("attn_pdrop", "", FLOAT, 0, DROPOUT, "0.1", D_ATTN_DROP, NULL),
    LS_F_KEY("layer_norm_epsilon", "", FLOAT, 0, NORM_EPS, "1e-05", D_LNEPS, NULL),
    K_INIT("0.02"),
    LS_F_KEY("summary_type", "", STRING, 0, NONE, "\"cls_index\"", "Pooling of the double-heads model.", "last first mean cls_index attn"),
    LS_F_KEY("summary_use_proj", "", BOOL, 0, NONE, "true", "Projection in the sequence summary.", NULL),
    LS_F_KEY("summary_activation", "", STRING, NULLABLE, NONE, "null", "Activation in the sequence summary.", NULL),
    LS_F_KEY("summary_proj_to_labels", "", BOOL, 0, NONE, "true", "Summary projects to num_labels.", NULL),
    LS_F_KEY("summary_first_dropout", "", FLOAT, 0, NONE, "0.1", "Dropout in the sequence summary.", NULL),
    LS_F_KEY("scale_attn_weights", "", BOOL, 0, NONE, "true", "Scale attention scores by 1/sqrt(head_dim).", NULL),
    K_CACHE, K_BOS("50256"), K_EOS("50256"), K_PAD("null"),
    LS_F_KEY("scale_attn_by_inverse_layer_idx", "", BOOL, 0, NONE, "false", "Also scale by 1/(layer_idx+1).", NULL),
    LS_F_KEY("reorder_and_upcast_attn", "", BOOL, 0, NONE, "false", "Compute attention scores in fp32.", NULL),
    K_TIE("true"),
    LS_F_KEY("n_ctx", "", INT, DIM, NONE, "1024", "Legacy context length (n_positions is used).", NULL),
    LS_F_KEY("n_special", "", INT, CNT, NONE, "0", "Legacy: special tokens added to the vocabulary.", NULL),
    LS_F_KEY("predict_special_tokens", "", BOOL, 0, NONE, "true", "Legacy flag of the original OpenAI code.", NULL),
};
static const ls__fderived k_gpt2_derived[] = {
    {"hd", "n_embd / n_head"}, {"n_kv", "n_head"}, {"ffn", "n_inner"},
    {"sem_qkv_bias", "1"}, {"sem_out_bias", "1"}, {"sem_mlp_bias", "1"}};
static const ls__frow k_gpt2_bb[] = {
    LS_F_EMBEDDING(NULL, "wte", "vocab_size", "n_embd", NULL),
    LS_F_EMBEDDING(NULL, "wpe", "n_positions", "n_embd", NULL),
    LS_F_MOD(NULL, "h", "ModuleList", LIST, "B, S, n_embd", NULL),
    LS_F_LOOP(NULL, "L", "n_layer", "GPT2Block", BLOCK, "B, S, n_embd", NULL),
    LN("ln_1", "n_embd", "layer_norm_epsilon"),
    LS_F_ATTN(NULL, "attn", "GPT2Attention", "B, S, n_embd", "n_head attn_pdrop resid_pdrop scale_attn_weights",
              "n_embd | n_embd | 0 | 0"),
    LS_F_CONV1D("c_attn", "n_embd", "3 * n_embd"), LS_F_CONV1D("c_proj", "n_embd", "n_embd"), LS_F_END,
    LN("ln_2", "n_embd", "layer_norm_epsilon"),
    LS_F_MOD(NULL, "mlp", "GPT2MLP", MLP, "B, S, n_embd", "n_inner activation_function resid_pdrop"),
    LS_F_CONV1D("c_fc", "n_embd", "n_inner"), LS_F_CONV1D("c_proj", "n_inner", "n_embd"), LS_F_END,
    LS_F_ENDLOOP, LS_F_END,
    LN("ln_f", "n_embd", "layer_norm_epsilon"),
};
static const ls__frow k_gpt2_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, n_embd"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, n_embd", "{P}wte.weight", "tie_word_embeddings"), LS_F_END};
static const ls__frow k_gpt2_seqcls[] = {LS_F_BACKBONE, SEQCLS_SCORE("n_embd")};
static const ls__frow k_gpt2_tokcls[] = {LS_F_BACKBONE, LS_F_LINEAR(NULL, "classifier", "num_labels", "n_embd", "1")};
static const ls__fhead k_gpt2_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "LMHeadModel", k_gpt2_clm, LS_F_N(k_gpt2_clm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_gpt2_seqcls, LS_F_N(k_gpt2_seqcls)},
    {LS_MODEL_HEAD_TOKEN_CLS, "ForTokenClassification", k_gpt2_tokcls, LS_F_N(k_gpt2_tokcls)}};
FAMILY(GPT2, k_gpt2_keys, k_gpt2_derived, "transformer", "B, S, n_embd", k_gpt2_bb, k_gpt2_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_LEARNED, 0, 0);

/* ---------------------------------------------------------------- phi */

#define DEC_COMMON(vocab, hidden, inter, layers, heads, act, maxpos, theta)                     \
  LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, vocab, D_VOCAB, NULL),                           \
      LS_F_KEY("hidden_size", "", INT, DIM, HIDDEN, hidden, D_HIDDEN, NULL),                   \
      LS_F_KEY("intermediate_size", "", INT, DIM, INTERMEDIATE, inter, D_INTER, NULL),         \
      LS_F_KEY("num_hidden_layers", "", INT, DIM, N_LAYERS, layers, D_LAYERS, NULL),           \
      LS_F_KEY("num_attention_heads", "", INT, DIM, N_HEADS, heads, D_HEADS, NULL),            \
      LS_F_KEY("num_key_value_heads", "", INT, DIM | NULLDEF, N_KV_HEADS, "num_attention_heads", D_KV, NULL), \
      LS_F_KEY("resid_pdrop", "", FLOAT, 0, DROPOUT, "0.0", "Dropout on residual branches.", NULL), \
      LS_F_KEY("embd_pdrop", "", FLOAT, 0, DROPOUT, "0.0", "Dropout on embeddings.", NULL),   \
      LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),          \
      LS_F_KEY("hidden_act", "", STRING, 0, ACT, act, D_ACT, ACTS),                            \
      LS_F_KEY("max_position_embeddings", "", INT, DIM, MAX_POS, maxpos, D_MAXPOS, NULL),      \
      K_INIT("0.02"), K_CACHE, K_TIE("false"),                                                 \
      LS_F_KEY("rope_theta", "", FLOAT, 0, ROPE_THETA, theta, D_THETA, NULL),                  \
      LS_F_KEY("rope_scaling", "", OBJECT, NULLABLE, ROPE_SCALING, "null", D_ROPE_SCALING, NULL)

static const ls_model_keyinfo k_phi_keys[] = {
    DEC_COMMON("51200", "2048", "8192", "24", "32", "\"gelu_new\"", "2048", "10000.0"),
    LS_F_KEY("layer_norm_eps", "", FLOAT, 0, NORM_EPS, "1e-05", D_LNEPS, NULL),
    LS_F_KEY("partial_rotary_factor", "", FLOAT, 0, PARTIAL_ROTARY, "0.5", "Fraction of each head's dimensions that get rotary embeddings.", NULL),
    LS_F_KEY("qk_layernorm", "", BOOL, 0, NONE, "false", "LayerNorm on queries and keys per head.", NULL),
    K_BOS("1"), K_EOS("2"), K_PAD("null"),
};
static const ls__fderived k_phi_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_key_value_heads"}, {"ffn", "intermediate_size"},
    {"sem_qkv_bias", "1"}, {"sem_out_bias", "1"}, {"sem_mlp_bias", "1"}, {"sem_parallel", "1"}};
static const ls__frow k_phi_bb[] = {
    LS_F_EMBEDDING(NULL, "embed_tokens", "vocab_size", "hidden_size", "pad_token_id"),
    LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "num_hidden_layers", "PhiDecoderLayer", BLOCK, "B, S, hidden_size", "resid_pdrop"),
    LS_F_ATTN(NULL, "self_attn", "PhiAttention", "B, S, hidden_size",
              "num_attention_heads n_kv hd rope_theta rope_scaling partial_rotary_factor attention_dropout qk_layernorm",
              "num_attention_heads*hd | n_kv*hd | 0 | 0"),
    LS_F_LINEAR(NULL, "q_proj", "num_attention_heads*hd", "hidden_size", "1"),
    LS_F_LINEAR(NULL, "k_proj", "n_kv*hd", "hidden_size", "1"),
    LS_F_LINEAR(NULL, "v_proj", "n_kv*hd", "hidden_size", "1"),
    LS_F_LINEAR(NULL, "dense", "hidden_size", "num_attention_heads*hd", "1"),
    LS_F_LAYERNORM("qk_layernorm", "q_layernorm", "hd", "layer_norm_eps"),
    LS_F_LAYERNORM("qk_layernorm", "k_layernorm", "hd", "layer_norm_eps"),
    LS_F_END,
    LS_F_MOD(NULL, "mlp", "PhiMLP", MLP, "B, S, hidden_size", "intermediate_size hidden_act"),
    LS_F_LINEAR(NULL, "fc1", "intermediate_size", "hidden_size", "1"),
    LS_F_LINEAR(NULL, "fc2", "hidden_size", "intermediate_size", "1"), LS_F_END,
    LN("input_layernorm", "hidden_size", "layer_norm_eps"),
    LS_F_ENDLOOP, LS_F_END,
    LN("final_layernorm", "hidden_size", "layer_norm_eps"),
};
static const ls__frow k_phi_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}embed_tokens.weight", "tie_word_embeddings"),
    LS_F_PAR(NULL, "bias", "vocab_size"), LS_F_END};
static const ls__frow k_dec_seqcls[] = {LS_F_BACKBONE, SEQCLS_SCORE("hidden_size")};
static const ls__fhead k_phi_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_phi_clm, LS_F_N(k_phi_clm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_dec_seqcls, LS_F_N(k_dec_seqcls)}};
FAMILY(PHI, k_phi_keys, k_phi_derived, "model", "B, S, hidden_size", k_phi_bb, k_phi_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_ROPE, 0, 0);

/* ---------------------------------------------------------------- phi3 */

static const ls_model_keyinfo k_phi3_keys[] = {
    DEC_COMMON("32064", "3072", "8192", "32", "32", "\"silu\"", "4096", "10000.0"),
    LS_F_KEY("original_max_position_embeddings", "", INT, DIM, NONE, "4096", "Context length of pretraining (longrope scaling starts from it).", NULL),
    LS_F_KEY("rms_norm_eps", "", FLOAT, 0, NORM_EPS, "1e-05", D_RMS, NULL),
    LS_F_KEY("partial_rotary_factor", "", FLOAT, 0, PARTIAL_ROTARY, "1.0", "Fraction of each head's dimensions that get rotary embeddings.", NULL),
    LS_F_KEY("sliding_window", "", INT, DIM | NULLABLE, SLIDING_WINDOW, "null", D_WINDOW, NULL),
    LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on qkv_proj and o_proj.", NULL),
    K_BOS("1"), K_EOS("32000"), K_PAD("32000"),
};
static const ls__fderived k_phi3_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_key_value_heads"}, {"ffn", "intermediate_size"},
    {"sem_qkv_bias", "attention_bias"}, {"sem_out_bias", "attention_bias"}, {"sem_window", "sliding_window"}};
static const ls__frow k_phi3_bb[] = {
    LS_F_EMBEDDING(NULL, "embed_tokens", "vocab_size", "hidden_size", "pad_token_id"),
    LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "num_hidden_layers", "Phi3DecoderLayer", BLOCK, "B, S, hidden_size", "resid_pdrop"),
    LS_F_ATTN(NULL, "self_attn", "Phi3Attention", "B, S, hidden_size",
              "num_attention_heads n_kv hd rope_theta rope_scaling original_max_position_embeddings attention_dropout sliding_window",
              "num_attention_heads*hd | n_kv*hd | sliding_window | 0"),
    LS_F_LINEAR(NULL, "o_proj", "hidden_size", "num_attention_heads*hd", "attention_bias"),
    LS_F_LINEAR(NULL, "qkv_proj", "num_attention_heads*hd + 2*n_kv*hd", "hidden_size", "attention_bias"),
    LS_F_END,
    LS_F_MOD(NULL, "mlp", "Phi3MLP", MLP, "B, S, hidden_size", "intermediate_size hidden_act"),
    LS_F_LINEAR(NULL, "gate_up_proj", "2*intermediate_size", "hidden_size", "0"),
    LS_F_LINEAR(NULL, "down_proj", "hidden_size", "intermediate_size", "0"), LS_F_END,
    LS_F_RMSNORM(NULL, "input_layernorm", "Phi3RMSNorm", "hidden_size", "rms_norm_eps"),
    LS_F_RMSNORM(NULL, "post_attention_layernorm", "Phi3RMSNorm", "hidden_size", "rms_norm_eps"),
    LS_F_ENDLOOP, LS_F_END,
    LS_F_RMSNORM(NULL, "norm", "Phi3RMSNorm", "hidden_size", "rms_norm_eps"),
};
static const ls__frow k_phi3_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}embed_tokens.weight", "tie_word_embeddings"), LS_F_END};
static const ls__fhead k_phi3_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_phi3_clm, LS_F_N(k_phi3_clm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_dec_seqcls, LS_F_N(k_dec_seqcls)}};
FAMILY(PHI3, k_phi3_keys, k_phi3_derived, "model", "B, S, hidden_size", k_phi3_bb, k_phi3_heads,
       LS_MODEL_NORM_RMS, LS_MODEL_POS_ROPE, 1, 0);

/* ---------------------------------------------------------------- gpt_neox */

static const ls_model_keyinfo k_neox_keys[] = {
    LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "50432", D_VOCAB, NULL),
    LS_F_KEY("hidden_size", "", INT, DIM, HIDDEN, "6144", D_HIDDEN, NULL),
    LS_F_KEY("num_hidden_layers", "", INT, DIM, N_LAYERS, "44", D_LAYERS, NULL),
    LS_F_KEY("num_attention_heads", "", INT, DIM, N_HEADS, "64", D_HEADS, NULL),
    LS_F_KEY("intermediate_size", "", INT, DIM, INTERMEDIATE, "24576", D_INTER, NULL),
    LS_F_KEY("hidden_act", "", STRING, 0, ACT, "\"gelu\"", D_ACT, ACTS),
    LS_F_KEY("rotary_pct", "partial_rotary_factor", FLOAT, 0, PARTIAL_ROTARY, "0.25", "Fraction of each head's dimensions that get rotary embeddings.", NULL),
    LS_F_KEY("rotary_emb_base", "rope_theta", FLOAT, 0, ROPE_THETA, "10000", D_THETA, NULL),
    LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),
    LS_F_KEY("hidden_dropout", "", FLOAT, 0, DROPOUT, "0.0", "Dropout on residual branches.", NULL),
    LS_F_KEY("classifier_dropout", "", FLOAT, NULLABLE, DROPOUT, "0.1", "Dropout before a classification head.", NULL),
    LS_F_KEY("max_position_embeddings", "", INT, DIM, MAX_POS, "2048", D_MAXPOS, NULL),
    K_INIT("0.02"),
    LS_F_KEY("layer_norm_eps", "", FLOAT, 0, NORM_EPS, "1e-05", D_LNEPS, NULL),
    K_CACHE, K_BOS("0"), K_EOS("2"), K_PAD("null"), K_TIE("false"),
    LS_F_KEY("use_parallel_residual", "", BOOL, 0, NONE, "true", "x + attn(ln1(x)) + mlp(ln2(x)) instead of sequential residuals.", NULL),
    LS_F_KEY("rope_scaling", "", OBJECT, NULLABLE, ROPE_SCALING, "null", D_ROPE_SCALING, NULL),
    LS_F_KEY("attention_bias", "", BOOL, 0, ATTN_BIAS, "true", "Bias on query_key_value and dense.", NULL),
};
static const ls__fderived k_neox_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_attention_heads"}, {"ffn", "intermediate_size"},
    {"sem_qkv_bias", "attention_bias"}, {"sem_out_bias", "attention_bias"}, {"sem_mlp_bias", "1"},
    {"sem_parallel", "use_parallel_residual"}};
static const ls__frow k_neox_bb[] = {
    LS_F_EMBEDDING(NULL, "embed_in", "vocab_size", "hidden_size", NULL),
    LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "num_hidden_layers", "GPTNeoXLayer", BLOCK, "B, S, hidden_size", "use_parallel_residual hidden_dropout"),
    LN("input_layernorm", "hidden_size", "layer_norm_eps"),
    LN("post_attention_layernorm", "hidden_size", "layer_norm_eps"),
    LS_F_ATTN(NULL, "attention", "GPTNeoXAttention", "B, S, hidden_size",
              "num_attention_heads rotary_pct rotary_emb_base rope_scaling attention_dropout",
              "hidden_size | hidden_size | 0 | 0"),
    LS_F_LINEAR(NULL, "query_key_value", "3*hidden_size", "hidden_size", "attention_bias"),
    LS_F_LINEAR(NULL, "dense", "hidden_size", "hidden_size", "attention_bias"), LS_F_END,
    LS_F_MOD(NULL, "mlp", "GPTNeoXMLP", MLP, "B, S, hidden_size", "intermediate_size hidden_act"),
    LS_F_LINEAR(NULL, "dense_h_to_4h", "intermediate_size", "hidden_size", "1"),
    LS_F_LINEAR(NULL, "dense_4h_to_h", "hidden_size", "intermediate_size", "1"), LS_F_END,
    LS_F_ENDLOOP, LS_F_END,
    LN("final_layer_norm", "hidden_size", "layer_norm_eps"),
};
static const ls__frow k_neox_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "embed_out", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}embed_in.weight", "tie_word_embeddings"), LS_F_END};
static const ls__fhead k_neox_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_neox_clm, LS_F_N(k_neox_clm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_dec_seqcls, LS_F_N(k_dec_seqcls)}};
FAMILY(GPT_NEOX, k_neox_keys, k_neox_derived, "gpt_neox", "B, S, hidden_size", k_neox_bb, k_neox_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_ROPE, 0, 0);

/* ---------------------------------------------------------------- falcon */

static const ls_model_keyinfo k_falcon_keys[] = {
    LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "65024", D_VOCAB, NULL),
    LS_F_KEY("hidden_size", "n_embed", INT, DIM, HIDDEN, "4544", D_HIDDEN, NULL),
    LS_F_KEY("num_hidden_layers", "n_layer", INT, DIM, N_LAYERS, "32", D_LAYERS, NULL),
    LS_F_KEY("num_attention_heads", "n_head", INT, DIM, N_HEADS, "71", D_HEADS, NULL),
    LS_F_KEY("num_kv_heads", "num_key_value_heads n_head_kv", INT, DIM | NULLDEF, N_KV_HEADS, "num_attention_heads", D_KV " Used with new_decoder_architecture.", NULL),
    LS_F_KEY("num_ln_in_parallel_attn", "", INT, DIM | NULLDEF, NONE, "new_decoder_architecture ? 2 : 1", "LayerNorms before the parallel attention/MLP (2: ln_attn and ln_mlp).", NULL),
    LS_F_KEY("layer_norm_epsilon", "", FLOAT, 0, NORM_EPS, "1e-05", D_LNEPS, NULL),
    K_INIT("0.02"), K_CACHE,
    LS_F_KEY("hidden_dropout", "", FLOAT, 0, DROPOUT, "0.0", "Dropout on residual branches.", NULL),
    LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),
    LS_F_KEY("alibi", "", BOOL, 0, NONE, "false", "ALiBi position biases instead of rotary embeddings.", NULL),
    LS_F_KEY("new_decoder_architecture", "", BOOL, 0, NONE, "false", "Falcon-40B/180B layout: grouped KV heads and two LayerNorms.", NULL),
    LS_F_KEY("multi_query", "", BOOL, 0, NONE, "true", "One shared key/value head (Falcon-7B).", NULL),
    LS_F_KEY("parallel_attn", "", BOOL, 0, NONE, "true", "Attention and MLP read the same input.", NULL),
    LS_F_KEY("bias", "", BOOL, 0, ATTN_BIAS, "false", "Bias on all linear layers.", NULL),
    LS_F_KEY("max_position_embeddings", "", INT, DIM, MAX_POS, "2048", D_MAXPOS, NULL),
    LS_F_KEY("rope_theta", "", FLOAT, 0, ROPE_THETA, "10000.0", D_THETA, NULL),
    LS_F_KEY("rope_scaling", "", OBJECT, NULLABLE, ROPE_SCALING, "null", D_ROPE_SCALING, NULL),
    K_BOS("11"), K_EOS("11"), K_PAD("null"),
    LS_F_KEY("ffn_hidden_size", "", INT, DIM | NULLDEF, INTERMEDIATE, "4 * hidden_size", D_INTER " null = 4 * hidden_size.", NULL),
    LS_F_KEY("activation", "", STRING, 0, ACT, "\"gelu\"", D_ACT, ACTS),
    K_TIE("true"),
    LS_F_KEY("apply_residual_connection_post_layernorm", "", BOOL, 0, NONE, "false", "Legacy RW flag (unused by Falcon).", NULL),
};
static const ls__fderived k_falcon_derived[] = {
    {"hd", "hidden_size / num_attention_heads"},
    {"n_kv", "new_decoder_architecture ? num_kv_heads : (multi_query ? 1 : num_attention_heads)"},
    {"ffn", "ffn_hidden_size"},
    {"qkv_out", "new_decoder_architecture ? (2*num_kv_heads + num_attention_heads)*hd : (multi_query ? hidden_size + 2*hd : 3*hidden_size)"},
    {"sem_qkv_bias", "bias"}, {"sem_out_bias", "bias"}, {"sem_mlp_bias", "bias"},
    {"sem_parallel", "parallel_attn || new_decoder_architecture"}, {"sem_pos", "alibi ? 2 : 1"}};
static const ls__frow k_falcon_bb[] = {
    LS_F_EMBEDDING(NULL, "word_embeddings", "vocab_size", "hidden_size", NULL),
    LS_F_MOD(NULL, "h", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "num_hidden_layers", "FalconDecoderLayer", BLOCK, "B, S, hidden_size", "parallel_attn hidden_dropout"),
    LS_F_ATTN(NULL, "self_attention", "FalconAttention", "B, S, hidden_size",
              "num_attention_heads num_kv_heads multi_query new_decoder_architecture alibi rope_theta rope_scaling attention_dropout",
              "hidden_size | n_kv*hd | 0 | 0"),
    {'M', NULL, "query_key_value", "FalconLinear", LS_MODEL_KIND_LINEAR, "B, S, qkv_out", NULL, NULL, "B, S, hidden_size"},
    LS_F_PAR(NULL, "weight", "qkv_out, hidden_size"), LS_F_PAR("bias", "bias", "qkv_out"), LS_F_END,
    {'M', NULL, "dense", "FalconLinear", LS_MODEL_KIND_LINEAR, "B, S, hidden_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PAR(NULL, "weight", "hidden_size, hidden_size"), LS_F_PAR("bias", "bias", "hidden_size"), LS_F_END,
    LS_F_END,
    LS_F_MOD(NULL, "mlp", "FalconMLP", MLP, "B, S, hidden_size", "ffn_hidden_size activation"),
    {'M', NULL, "dense_h_to_4h", "FalconLinear", LS_MODEL_KIND_LINEAR, "B, S, ffn_hidden_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PAR(NULL, "weight", "ffn_hidden_size, hidden_size"), LS_F_PAR("bias", "bias", "ffn_hidden_size"), LS_F_END,
    {'M', NULL, "dense_4h_to_h", "FalconLinear", LS_MODEL_KIND_LINEAR, "B, S, hidden_size", NULL, NULL, "B, S, ffn_hidden_size"},
    LS_F_PAR(NULL, "weight", "hidden_size, ffn_hidden_size"), LS_F_PAR("bias", "bias", "hidden_size"), LS_F_END,
    LS_F_END,
    LS_F_LAYERNORM("new_decoder_architecture && num_ln_in_parallel_attn == 2", "ln_attn", "hidden_size", "layer_norm_epsilon"),
    LS_F_LAYERNORM("new_decoder_architecture && num_ln_in_parallel_attn == 2", "ln_mlp", "hidden_size", "layer_norm_epsilon"),
    LS_F_LAYERNORM("!(new_decoder_architecture && num_ln_in_parallel_attn == 2)", "input_layernorm", "hidden_size", "layer_norm_epsilon"),
    LS_F_LAYERNORM("!(new_decoder_architecture && num_ln_in_parallel_attn == 2) && !parallel_attn", "post_attention_layernorm", "hidden_size", "layer_norm_epsilon"),
    LS_F_ENDLOOP, LS_F_END,
    LN("ln_f", "hidden_size", "layer_norm_epsilon"),
};
static const ls__frow k_falcon_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}word_embeddings.weight", "tie_word_embeddings"), LS_F_END};
static const ls__fhead k_falcon_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_falcon_clm, LS_F_N(k_falcon_clm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_dec_seqcls, LS_F_N(k_dec_seqcls)}};
FAMILY(FALCON, k_falcon_keys, k_falcon_derived, "transformer", "B, S, hidden_size", k_falcon_bb, k_falcon_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_ROPE, 0, 0);

/* ---------------------------------------------------------------- bloom */

static const ls_model_keyinfo k_bloom_keys[] = {
    LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "250880", D_VOCAB, NULL),
    LS_F_KEY("hidden_size", "n_embed", INT, DIM, HIDDEN, "64", D_HIDDEN, NULL),
    LS_F_KEY("n_layer", "num_hidden_layers", INT, DIM, N_LAYERS, "2", D_LAYERS, NULL),
    LS_F_KEY("n_head", "num_attention_heads", INT, DIM, N_HEADS, "8", D_HEADS, NULL),
    LS_F_KEY("layer_norm_epsilon", "", FLOAT, 0, NORM_EPS, "1e-05", D_LNEPS, NULL),
    K_INIT("0.02"), K_CACHE, K_BOS("1"), K_EOS("2"), K_PAD("null"),
    LS_F_KEY("apply_residual_connection_post_layernorm", "", BOOL, 0, NONE, "false", "Residual taken after the LayerNorm.", NULL),
    LS_F_KEY("hidden_dropout", "", FLOAT, 0, DROPOUT, "0.0", "Dropout on residual branches.", NULL),
    LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),
    LS_F_KEY("slow_but_exact", "", BOOL, 0, NONE, "false", "Emulate tensor-parallel numerics exactly.", NULL),
    K_TIE("true"),
    LS_F_KEY("n_inner", "", ANY, 0, NONE, "null", "Legacy Megatron key (BLOOM's MLP is always 4 * hidden_size).", NULL),
    LS_F_KEY("seq_length", "", ANY, 0, NONE, "null", "Legacy Megatron key: training sequence length.", NULL),
    LS_F_KEY("attention_softmax_in_fp32", "", ANY, 0, NONE, "true", "Legacy Megatron key.", NULL),
    LS_F_KEY("masked_softmax_fusion", "", ANY, 0, NONE, "true", "Legacy Megatron key.", NULL),
    LS_F_KEY("bias_dropout_fusion", "", ANY, 0, NONE, "true", "Legacy Megatron key.", NULL),
    LS_F_KEY("offset_alibi", "", ANY, 0, NONE, "100", "Legacy Megatron key.", NULL),
    LS_F_KEY("skip_bias_add", "", ANY, 0, NONE, "true", "Legacy Megatron key.", NULL),
    LS_F_KEY("skip_bias_add_qkv", "", ANY, 0, NONE, "false", "Legacy Megatron key.", NULL),
    LS_F_KEY("unk_token_id", "", ANY, 0, NONE, "0", "Id of the unknown token.", NULL),
};
static const ls__fderived k_bloom_derived[] = {
    {"hd", "hidden_size / n_head"}, {"n_kv", "n_head"}, {"ffn", "4 * hidden_size"},
    {"sem_qkv_bias", "1"}, {"sem_out_bias", "1"}, {"sem_mlp_bias", "1"}};
static const ls__frow k_bloom_bb[] = {
    LS_F_EMBEDDING(NULL, "word_embeddings", "vocab_size", "hidden_size", NULL),
    LN("word_embeddings_layernorm", "hidden_size", "layer_norm_epsilon"),
    LS_F_MOD(NULL, "h", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "n_layer", "BloomBlock", BLOCK, "B, S, hidden_size", "apply_residual_connection_post_layernorm hidden_dropout"),
    LN("input_layernorm", "hidden_size", "layer_norm_epsilon"),
    LS_F_ATTN(NULL, "self_attention", "BloomAttention", "B, S, hidden_size", "n_head attention_dropout",
              "hidden_size | hidden_size | 0 | 0"),
    LS_F_LINEAR(NULL, "query_key_value", "3*hidden_size", "hidden_size", "1"),
    LS_F_LINEAR(NULL, "dense", "hidden_size", "hidden_size", "1"), LS_F_END,
    LN("post_attention_layernorm", "hidden_size", "layer_norm_epsilon"),
    LS_F_MOD(NULL, "mlp", "BloomMLP", MLP, "B, S, hidden_size", NULL),
    LS_F_LINEAR(NULL, "dense_h_to_4h", "4*hidden_size", "hidden_size", "1"),
    LS_F_LINEAR(NULL, "dense_4h_to_h", "hidden_size", "4*hidden_size", "1"), LS_F_END,
    LS_F_ENDLOOP, LS_F_END,
    LN("ln_f", "hidden_size", "layer_norm_epsilon"),
};
static const ls__frow k_bloom_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}word_embeddings.weight", "tie_word_embeddings"), LS_F_END};
static const ls__fhead k_bloom_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_bloom_clm, LS_F_N(k_bloom_clm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_dec_seqcls, LS_F_N(k_dec_seqcls)}};
FAMILY(BLOOM, k_bloom_keys, k_bloom_derived, "transformer", "B, S, hidden_size", k_bloom_bb, k_bloom_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_ALIBI, 0, 0);

/* ---------------------------------------------------------------- opt */

static const ls_model_keyinfo k_opt_keys[] = {
    LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "50272", D_VOCAB, NULL),
    LS_F_KEY("hidden_size", "", INT, DIM, HIDDEN, "768", D_HIDDEN, NULL),
    LS_F_KEY("num_hidden_layers", "", INT, DIM, N_LAYERS, "12", D_LAYERS, NULL),
    LS_F_KEY("ffn_dim", "", INT, DIM, INTERMEDIATE, "3072", D_INTER, NULL),
    LS_F_KEY("max_position_embeddings", "", INT, DIM, MAX_POS, "2048", D_MAXPOS " The table has 2 extra rows (offset).", NULL),
    LS_F_KEY("do_layer_norm_before", "", BOOL, 0, NONE, "true", "Pre-norm layers (false: post-norm, OPT-350m).", NULL),
    LS_F_KEY("_remove_final_layer_norm", "", BOOL, 0, NONE, "false", "Drop the final LayerNorm (legacy checkpoints).", NULL),
    LS_F_KEY("word_embed_proj_dim", "", INT, DIM | NULLDEF, NONE, "hidden_size", "Width of the token embedding (projected to hidden_size when different).", NULL),
    LS_F_KEY("dropout", "", FLOAT, 0, DROPOUT, "0.1", "Dropout on residual branches.", NULL),
    LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),
    LS_F_KEY("num_attention_heads", "", INT, DIM, N_HEADS, "12", D_HEADS, NULL),
    LS_F_KEY("activation_function", "", STRING, 0, ACT, "\"relu\"", D_ACT, ACTS),
    LS_F_KEY("layerdrop", "", FLOAT, 0, NONE, "0.0", "Probability of skipping a layer in training.", NULL),
    LS_F_KEY("init_std", "", FLOAT, 0, INIT_RANGE, "0.02", D_INIT, NULL),
    K_CACHE, K_PAD("1"), K_BOS("2"), K_EOS("2"),
    LS_F_KEY("enable_bias", "", BOOL, 0, ATTN_BIAS, "true", "Bias on attention and feed-forward linears.", NULL),
    LS_F_KEY("layer_norm_elementwise_affine", "", BOOL, 0, NONE, "true", "LayerNorms have weight and bias.", NULL),
    K_TIE("true"),
};
static const ls__fderived k_opt_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_attention_heads"}, {"ffn", "ffn_dim"},
    {"sem_qkv_bias", "enable_bias"}, {"sem_out_bias", "enable_bias"}, {"sem_mlp_bias", "enable_bias"},
    {"sem_post_norm", "!do_layer_norm_before"}, {"sem_max_pos", "max_position_embeddings"}};
#define OPT_LN(cond, name)                                                                     \
  LS_F_MOD(cond, name, "LayerNorm", LAYERNORM, "B, S, hidden_size", "layer_norm_elementwise_affine"), \
      LS_F_PAR("layer_norm_elementwise_affine", "weight", "hidden_size"),                      \
      LS_F_PAR("layer_norm_elementwise_affine && enable_bias", "bias", "hidden_size"), LS_F_END
static const ls__frow k_opt_bb[] = {
    LS_F_MOD(NULL, "decoder", "OPTDecoder", CONTAINER, "B, S, hidden_size", "do_layer_norm_before"),
    LS_F_EMBEDDING(NULL, "embed_tokens", "vocab_size", "word_embed_proj_dim", "pad_token_id"),
    {'M', NULL, "embed_positions", "OPTLearnedPositionalEmbedding", LS_MODEL_KIND_EMBEDDING, "B, S, hidden_size", NULL, NULL, "B, S"},
    LS_F_PAR(NULL, "weight", "max_position_embeddings + 2, hidden_size"), LS_F_END,
    LS_F_LINEAR("word_embed_proj_dim != hidden_size", "project_out", "word_embed_proj_dim", "hidden_size", "0"),
    LS_F_LINEAR("word_embed_proj_dim != hidden_size", "project_in", "hidden_size", "word_embed_proj_dim", "0"),
    OPT_LN("do_layer_norm_before && !_remove_final_layer_norm", "final_layer_norm"),
    LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "num_hidden_layers", "OPTDecoderLayer", BLOCK, "B, S, hidden_size", "do_layer_norm_before dropout"),
    LS_F_ATTN(NULL, "self_attn", "OPTAttention", "B, S, hidden_size", "num_attention_heads attention_dropout",
              "hidden_size | hidden_size | 0 | 0"),
    LS_F_LINEAR(NULL, "k_proj", "hidden_size", "hidden_size", "enable_bias"),
    LS_F_LINEAR(NULL, "v_proj", "hidden_size", "hidden_size", "enable_bias"),
    LS_F_LINEAR(NULL, "q_proj", "hidden_size", "hidden_size", "enable_bias"),
    LS_F_LINEAR(NULL, "out_proj", "hidden_size", "hidden_size", "enable_bias"), LS_F_END,
    OPT_LN(NULL, "self_attn_layer_norm"),
    LS_F_LINEAR(NULL, "fc1", "ffn_dim", "hidden_size", "enable_bias"),
    LS_F_LINEAR(NULL, "fc2", "hidden_size", "ffn_dim", "enable_bias"),
    OPT_LN(NULL, "final_layer_norm"),
    LS_F_ENDLOOP, LS_F_END,
    LS_F_END,
};
static const ls__frow k_opt_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, word_embed_proj_dim"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, word_embed_proj_dim", "{P}decoder.embed_tokens.weight", "tie_word_embeddings"), LS_F_END};
static const ls__frow k_opt_seqcls[] = {LS_F_BACKBONE, SEQCLS_SCORE("word_embed_proj_dim")};
static const ls__fhead k_opt_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForCausalLM", k_opt_clm, LS_F_N(k_opt_clm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_opt_seqcls, LS_F_N(k_opt_seqcls)}};
FAMILY(OPT, k_opt_keys, k_opt_derived, "model", "B, S, hidden_size", k_opt_bb, k_opt_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_LEARNED, 0, 0);
