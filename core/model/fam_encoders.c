/* fam_encoders.c: encoder and encoder-decoder families as data: bert, roberta, distilbert,
 * t5, vit, whisper. Defaults from the upstream config classes; names and registration order
 * from the upstream modeling files. Tied tensors (MLM decoders, T5's per-stack embed_tokens,
 * Whisper's proj_out) are listed as state_dict lists them and counted once. */
#include "core/model/fam_docs.h"

#define FAMILY(ID, keys, derived, prefix, out, bb, heads, norm, pos, gated, causal, encdec, post) \
  const ls__family ls__family_##ID = {                                                         \
      LS_MODEL_FAMILY_##ID, keys, LS_F_N(keys), derived, LS_F_N(derived), prefix, "{C}Model",  \
      out, bb, LS_F_N(bb), heads, LS_F_N(heads), norm, pos, gated, causal, encdec, 0, post}

/* A Linear whose activation has no sequence axis (pooler, classifier on [CLS]). */
#define LINEAR_NOSEQ(cond, name, out, in)                                                      \
  {'M', cond, name, "Linear", LS_MODEL_KIND_LINEAR, "B, " out, NULL, NULL, "B, " in},          \
      LS_F_PAR(NULL, "weight", out ", " in), LS_F_PAR(NULL, "bias", out), LS_F_END

/* ---------------------------------------------------------------- bert, roberta */

#define BERT_KEYS(vocab, maxpos, types, eps, pad)                                               \
  LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, vocab, D_VOCAB, NULL),                           \
      LS_F_KEY("hidden_size", "", INT, DIM, HIDDEN, "768", D_HIDDEN, NULL),                    \
      LS_F_KEY("num_hidden_layers", "", INT, DIM, N_LAYERS, "12", D_LAYERS, NULL),             \
      LS_F_KEY("num_attention_heads", "", INT, DIM, N_HEADS, "12", D_HEADS, NULL),             \
      LS_F_KEY("intermediate_size", "", INT, DIM, INTERMEDIATE, "3072", D_INTER, NULL),        \
      LS_F_KEY("hidden_act", "", STRING, 0, ACT, "\"gelu\"", D_ACT, ACTS),                     \
      LS_F_KEY("hidden_dropout_prob", "", FLOAT, 0, DROPOUT, "0.1", "Dropout on embeddings and residual branches.", NULL), \
      LS_F_KEY("attention_probs_dropout_prob", "", FLOAT, 0, DROPOUT, "0.1", D_ATTN_DROP, NULL), \
      LS_F_KEY("max_position_embeddings", "", INT, DIM, MAX_POS, maxpos, D_MAXPOS, NULL),      \
      LS_F_KEY("type_vocab_size", "", INT, DIM, TYPE_VOCAB, types, "Number of token types (segments).", NULL), \
      K_INIT("0.02"),                                                                          \
      LS_F_KEY("layer_norm_eps", "", FLOAT, 0, NORM_EPS, eps, D_LNEPS, NULL),                  \
      K_PAD(pad),                                                                              \
      LS_F_KEY("position_embedding_type", "", STRING, 0, NONE, "\"absolute\"", "absolute, relative_key or relative_key_query.", "absolute relative_key relative_key_query"), \
      K_CACHE,                                                                                 \
      LS_F_KEY("classifier_dropout", "", FLOAT, NULLABLE, DROPOUT, "null", "Dropout before the classifier (null: hidden_dropout_prob).", NULL), \
      K_TIE("true")

#define BERT_LN(name) LS_F_LAYERNORM(NULL, name, "hidden_size", "layer_norm_eps")
static const ls__frow k_bert_bb[] = {
    LS_F_MOD(NULL, "embeddings", "{C}Embeddings", CONTAINER, "B, S, hidden_size", "hidden_dropout_prob"),
    LS_F_EMBEDDING(NULL, "word_embeddings", "vocab_size", "hidden_size", "pad_token_id"),
    LS_F_EMBEDDING(NULL, "position_embeddings", "max_position_embeddings", "hidden_size", "position_embedding_type"),
    LS_F_EMBEDDING(NULL, "token_type_embeddings", "type_vocab_size", "hidden_size", NULL),
    BERT_LN("LayerNorm"), LS_F_END,
    LS_F_MOD(NULL, "encoder", "{C}Encoder", CONTAINER, "B, S, hidden_size", NULL),
    LS_F_MOD(NULL, "layer", "ModuleList", LIST, "B, S, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "num_hidden_layers", "{C}Layer", BLOCK, "B, S, hidden_size", NULL),
    LS_F_ATTN(NULL, "attention", "{C}Attention", "B, S, hidden_size",
              "num_attention_heads attention_probs_dropout_prob position_embedding_type", "hidden_size | 0 | 0 | 0"),
    LS_F_MOD(NULL, "self", "{C}SelfAttention", CONTAINER, "B, S, hidden_size", "num_attention_heads"),
    LS_F_LINEAR(NULL, "query", "hidden_size", "hidden_size", "1"),
    LS_F_LINEAR(NULL, "key", "hidden_size", "hidden_size", "1"),
    LS_F_LINEAR(NULL, "value", "hidden_size", "hidden_size", "1"),
    LS_F_EMBEDDING("startswith(position_embedding_type, \"relative\")", "distance_embedding",
                   "2 * max_position_embeddings - 1", "hidden_size / num_attention_heads", NULL),
    LS_F_END,
    LS_F_MOD(NULL, "output", "{C}SelfOutput", CONTAINER, "B, S, hidden_size", "hidden_dropout_prob"),
    LS_F_LINEAR(NULL, "dense", "hidden_size", "hidden_size", "1"), BERT_LN("LayerNorm"), LS_F_END,
    LS_F_END,
    LS_F_MOD(NULL, "intermediate", "{C}Intermediate", MLP, "B, S, intermediate_size", "intermediate_size hidden_act"),
    LS_F_LINEAR(NULL, "dense", "intermediate_size", "hidden_size", "1"), LS_F_END,
    LS_F_MOD(NULL, "output", "{C}Output", CONTAINER, "B, S, hidden_size", "hidden_dropout_prob"),
    LS_F_LINEAR(NULL, "dense", "hidden_size", "intermediate_size", "1"), BERT_LN("LayerNorm"), LS_F_END,
    LS_F_ENDLOOP, LS_F_END, LS_F_END,
    LS_F_MOD("with_pooler", "pooler", "{C}Pooler", HEAD, "B, hidden_size", NULL),
    LINEAR_NOSEQ(NULL, "dense", "hidden_size", "hidden_size"), LS_F_END,
};

/* BertLMPredictionHead: own bias first (state_dict order), decoder tied to the embeddings
 * and its bias to the head's bias. */
#define BERT_PREDICTIONS                                                                       \
  LS_F_MOD(NULL, "predictions", "{C}LMPredictionHead", HEAD, "B, S, vocab_size", NULL),        \
      LS_F_PAR(NULL, "bias", "vocab_size"),                                                    \
      LS_F_MOD(NULL, "transform", "{C}PredictionHeadTransform", CONTAINER, "B, S, hidden_size", "hidden_act"), \
      LS_F_LINEAR(NULL, "dense", "hidden_size", "hidden_size", "1"), BERT_LN("LayerNorm"), LS_F_END, \
      {'M', NULL, "decoder", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"}, \
      LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}embeddings.word_embeddings.weight", "tie_word_embeddings"), \
      LS_F_PARTIE(NULL, "bias", "vocab_size", "cls.predictions.bias", NULL), LS_F_END, LS_F_END
static const ls__frow k_bert_mlm[] = {
    LS_F_BACKBONE, LS_F_MOD(NULL, "cls", "{C}OnlyMLMHead", HEAD, "B, S, vocab_size", NULL), BERT_PREDICTIONS, LS_F_END};
static const ls__frow k_bert_pretrain[] = {
    LS_F_BACKBONE, LS_F_MOD(NULL, "cls", "{C}PreTrainingHeads", HEAD, "B, S, vocab_size", NULL), BERT_PREDICTIONS,
    LINEAR_NOSEQ(NULL, "seq_relationship", "2", "hidden_size"), LS_F_END};
static const ls__frow k_bert_seqcls[] = {LS_F_BACKBONE, LINEAR_NOSEQ(NULL, "classifier", "num_labels", "hidden_size")};
static const ls__frow k_bert_tokcls[] = {LS_F_BACKBONE, LS_F_LINEAR(NULL, "classifier", "num_labels", "hidden_size", "1")};
static const ls__frow k_bert_qa[] = {LS_F_BACKBONE, LS_F_LINEAR(NULL, "qa_outputs", "num_labels", "hidden_size", "1")};
static const ls__fhead k_bert_heads[] = {
    {LS_MODEL_HEAD_MASKED_LM, "ForMaskedLM", k_bert_mlm, LS_F_N(k_bert_mlm)},
    {LS_MODEL_HEAD_PRETRAINING, "ForPreTraining", k_bert_pretrain, LS_F_N(k_bert_pretrain)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_bert_seqcls, LS_F_N(k_bert_seqcls)},
    {LS_MODEL_HEAD_TOKEN_CLS, "ForTokenClassification", k_bert_tokcls, LS_F_N(k_bert_tokcls)},
    {LS_MODEL_HEAD_QA, "ForQuestionAnswering", k_bert_qa, LS_F_N(k_bert_qa)}};

static const ls_model_keyinfo k_bert_keys[] = {BERT_KEYS("30522", "512", "2", "1e-12", "0")};
static const ls__fderived k_bert_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_attention_heads"}, {"ffn", "intermediate_size"},
    {"sem_qkv_bias", "1"}, {"sem_out_bias", "1"}, {"sem_mlp_bias", "1"},
    {"with_pooler", "head_base || head_pretrain || head_seqcls"}};
FAMILY(BERT, k_bert_keys, k_bert_derived, "bert", "B, S, hidden_size", k_bert_bb, k_bert_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_LEARNED, 0, 0, 0, 1);

static const ls_model_keyinfo k_roberta_keys[] = {
    BERT_KEYS("30522", "512", "2", "1e-12", "1"), K_BOS("0"), K_EOS("2")};
static const ls__fderived k_roberta_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_attention_heads"}, {"ffn", "intermediate_size"},
    {"sem_qkv_bias", "1"}, {"sem_out_bias", "1"}, {"sem_mlp_bias", "1"}, {"with_pooler", "head_base"}};
static const ls__frow k_roberta_mlm[] = {
    LS_F_BACKBONE,
    LS_F_MOD(NULL, "lm_head", "{C}LMHead", HEAD, "B, S, vocab_size", "hidden_act"),
    LS_F_PAR(NULL, "bias", "vocab_size"),
    LS_F_LINEAR(NULL, "dense", "hidden_size", "hidden_size", "1"),
    LS_F_LAYERNORM(NULL, "layer_norm", "hidden_size", "layer_norm_eps"),
    {'M', NULL, "decoder", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, hidden_size"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, hidden_size", "{P}embeddings.word_embeddings.weight", "tie_word_embeddings"),
    LS_F_PARTIE(NULL, "bias", "vocab_size", "lm_head.bias", NULL), LS_F_END,
    LS_F_END};
static const ls__frow k_roberta_seqcls[] = {
    LS_F_BACKBONE,
    LS_F_MOD(NULL, "classifier", "{C}ClassificationHead", HEAD, "B, num_labels", NULL),
    LINEAR_NOSEQ(NULL, "dense", "hidden_size", "hidden_size"),
    LINEAR_NOSEQ(NULL, "out_proj", "num_labels", "hidden_size"), LS_F_END};
static const ls__fhead k_roberta_heads[] = {
    {LS_MODEL_HEAD_MASKED_LM, "ForMaskedLM", k_roberta_mlm, LS_F_N(k_roberta_mlm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_roberta_seqcls, LS_F_N(k_roberta_seqcls)},
    {LS_MODEL_HEAD_TOKEN_CLS, "ForTokenClassification", k_bert_tokcls, LS_F_N(k_bert_tokcls)},
    {LS_MODEL_HEAD_QA, "ForQuestionAnswering", k_bert_qa, LS_F_N(k_bert_qa)}};
/* RoBERTa positions start after padding_idx, so max_position_embeddings is 514 in real
 * checkpoints; the table has exactly that many rows. */
FAMILY(ROBERTA, k_roberta_keys, k_roberta_derived, "roberta", "B, S, hidden_size", k_bert_bb, k_roberta_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_LEARNED, 0, 0, 0, 1);

/* ---------------------------------------------------------------- distilbert */

static const ls_model_keyinfo k_distil_keys[] = {
    LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "30522", D_VOCAB, NULL),
    LS_F_KEY("max_position_embeddings", "", INT, DIM, MAX_POS, "512", D_MAXPOS, NULL),
    LS_F_KEY("sinusoidal_pos_embds", "", BOOL, 0, NONE, "false", "Fixed sinusoidal position table (still stored as a weight).", NULL),
    LS_F_KEY("n_layers", "num_hidden_layers", INT, DIM, N_LAYERS, "6", D_LAYERS, NULL),
    LS_F_KEY("n_heads", "num_attention_heads", INT, DIM, N_HEADS, "12", D_HEADS, NULL),
    LS_F_KEY("dim", "hidden_size", INT, DIM, HIDDEN, "768", D_HIDDEN, NULL),
    LS_F_KEY("hidden_dim", "", INT, DIM, INTERMEDIATE, "3072", D_INTER, NULL),
    LS_F_KEY("dropout", "", FLOAT, 0, DROPOUT, "0.1", "Dropout on embeddings and residual branches.", NULL),
    LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.1", D_ATTN_DROP, NULL),
    LS_F_KEY("activation", "", STRING, 0, ACT, "\"gelu\"", D_ACT, ACTS),
    K_INIT("0.02"),
    LS_F_KEY("qa_dropout", "", FLOAT, 0, DROPOUT, "0.1", "Dropout before the QA head.", NULL),
    LS_F_KEY("seq_classif_dropout", "", FLOAT, 0, DROPOUT, "0.2", "Dropout before the classifier.", NULL),
    K_PAD("0"), K_TIE("true"),
    LS_F_KEY("tie_weights_", "", BOOL, 0, NONE, "true", "Legacy flag: tie the MLM projector to the embeddings.", NULL),
};
static const ls__fderived k_distil_derived[] = {
    {"hd", "dim / n_heads"}, {"n_kv", "n_heads"}, {"ffn", "hidden_dim"},
    {"sem_qkv_bias", "1"}, {"sem_out_bias", "1"}, {"sem_mlp_bias", "1"}};
#define DLN(name) LS_F_LAYERNORM(NULL, name, "dim", NULL)
static const ls__frow k_distil_bb[] = {
    LS_F_MOD(NULL, "embeddings", "Embeddings", CONTAINER, "B, S, dim", "dropout"),
    LS_F_EMBEDDING(NULL, "word_embeddings", "vocab_size", "dim", "pad_token_id"),
    LS_F_EMBEDDING(NULL, "position_embeddings", "max_position_embeddings", "dim", "sinusoidal_pos_embds"),
    DLN("LayerNorm"), LS_F_END,
    LS_F_MOD(NULL, "transformer", "Transformer", CONTAINER, "B, S, dim", NULL),
    LS_F_MOD(NULL, "layer", "ModuleList", LIST, "B, S, dim", NULL),
    LS_F_LOOP(NULL, "L", "n_layers", "TransformerBlock", BLOCK, "B, S, dim", NULL),
    LS_F_ATTN(NULL, "attention", "MultiHeadSelfAttention", "B, S, dim", "n_heads attention_dropout", "dim | 0 | 0 | 0"),
    LS_F_LINEAR(NULL, "q_lin", "dim", "dim", "1"), LS_F_LINEAR(NULL, "k_lin", "dim", "dim", "1"),
    LS_F_LINEAR(NULL, "v_lin", "dim", "dim", "1"), LS_F_LINEAR(NULL, "out_lin", "dim", "dim", "1"), LS_F_END,
    DLN("sa_layer_norm"),
    LS_F_MOD(NULL, "ffn", "FFN", MLP, "B, S, dim", "hidden_dim activation dropout"),
    LS_F_LINEAR(NULL, "lin1", "hidden_dim", "dim", "1"), LS_F_LINEAR(NULL, "lin2", "dim", "hidden_dim", "1"), LS_F_END,
    DLN("output_layer_norm"),
    LS_F_ENDLOOP, LS_F_END, LS_F_END,
};
static const ls__frow k_distil_mlm[] = {
    LS_F_BACKBONE,
    LS_F_LINEAR(NULL, "vocab_transform", "dim", "dim", "1"),
    DLN("vocab_layer_norm"),
    {'M', NULL, "vocab_projector", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, dim"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, dim", "{P}embeddings.word_embeddings.weight", "tie_word_embeddings"),
    LS_F_PAR(NULL, "bias", "vocab_size"), LS_F_END};
static const ls__frow k_distil_seqcls[] = {
    LS_F_BACKBONE, LINEAR_NOSEQ(NULL, "pre_classifier", "dim", "dim"), LINEAR_NOSEQ(NULL, "classifier", "num_labels", "dim")};
static const ls__frow k_distil_tokcls[] = {LS_F_BACKBONE, LS_F_LINEAR(NULL, "classifier", "num_labels", "dim", "1")};
static const ls__frow k_distil_qa[] = {LS_F_BACKBONE, LS_F_LINEAR(NULL, "qa_outputs", "num_labels", "dim", "1")};
static const ls__fhead k_distil_heads[] = {
    {LS_MODEL_HEAD_MASKED_LM, "ForMaskedLM", k_distil_mlm, LS_F_N(k_distil_mlm)},
    {LS_MODEL_HEAD_SEQ_CLS, "ForSequenceClassification", k_distil_seqcls, LS_F_N(k_distil_seqcls)},
    {LS_MODEL_HEAD_TOKEN_CLS, "ForTokenClassification", k_distil_tokcls, LS_F_N(k_distil_tokcls)},
    {LS_MODEL_HEAD_QA, "ForQuestionAnswering", k_distil_qa, LS_F_N(k_distil_qa)}};
FAMILY(DISTILBERT, k_distil_keys, k_distil_derived, "distilbert", "B, S, dim", k_distil_bb, k_distil_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_LEARNED, 0, 0, 0, 1);

/* ---------------------------------------------------------------- t5 */

static const ls_model_keyinfo k_t5_keys[] = {
    LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "32128", D_VOCAB, NULL),
    LS_F_KEY("d_model", "hidden_size", INT, DIM, HIDDEN, "512", D_HIDDEN, NULL),
    LS_F_KEY("d_kv", "", INT, DIM, HEAD_DIM, "64", D_HEAD_DIM " T5 sets it explicitly (inner width = num_heads * d_kv).", NULL),
    LS_F_KEY("d_ff", "", INT, DIM, INTERMEDIATE, "2048", D_INTER, NULL),
    LS_F_KEY("num_layers", "num_hidden_layers", INT, DIM, N_LAYERS, "6", "Number of encoder layers.", NULL),
    LS_F_KEY("num_decoder_layers", "", INT, CNT | NULLDEF, NONE, "num_layers", "Number of decoder layers (null: num_layers).", NULL),
    LS_F_KEY("num_heads", "num_attention_heads", INT, DIM, N_HEADS, "8", D_HEADS, NULL),
    LS_F_KEY("relative_attention_num_buckets", "", INT, DIM, NONE, "32", "Buckets of the relative position bias.", NULL),
    LS_F_KEY("relative_attention_max_distance", "", INT, DIM, NONE, "128", "Distance beyond which relative positions share a bucket.", NULL),
    LS_F_KEY("dropout_rate", "", FLOAT, 0, DROPOUT, "0.1", "Dropout everywhere.", NULL),
    LS_F_KEY("layer_norm_epsilon", "", FLOAT, 0, NORM_EPS, "1e-06", D_RMS, NULL),
    LS_F_KEY("initializer_factor", "", FLOAT, 0, INIT_RANGE, "1.0", "Scale of the initialisation.", NULL),
    LS_F_KEY("feed_forward_proj", "", STRING, 0, ACT, "\"relu\"", "Feed-forward kind: relu, gelu, gated-gelu, gated-silu.", "relu gelu gated-gelu gated-silu gated-relu silu"),
    LS_F_KEY("is_encoder_decoder", "", BOOL, 0, NONE, "true", "Encoder-decoder model.", NULL),
    K_CACHE, K_PAD("0"), K_EOS("1"), K_TIE("true"),
    LS_F_KEY("classifier_dropout", "", FLOAT, 0, DROPOUT, "0.0", "Dropout before a classification head.", NULL),
    LS_F_KEY("n_positions", "", ANY, 0, NONE, "null", "Legacy key (T5 uses relative positions).", NULL),
    LS_F_KEY("output_past", "", ANY, 0, NONE, "null", "Legacy key (use_cache).", NULL),
};
static const ls__fderived k_t5_derived[] = {
    {"hd", "d_kv"}, {"n_kv", "num_heads"}, {"ffn", "d_ff"}, {"inner", "num_heads * d_kv"},
    {"gated", "startswith(feed_forward_proj, \"gated\")"}, {"sem_gated", "gated"},
    {"sem_layers", "num_layers"}, {"sem_layers_decoder", "head_encoder ? 0 : num_decoder_layers"}};
#define T5_NORM(name) LS_F_RMSNORM(NULL, name, "T5LayerNorm", "d_model", "layer_norm_epsilon")
#define T5_ATTN(name, relbias, kv, cross)                                                      \
  LS_F_ATTN(NULL, name, "T5Attention", "B, S, d_model", "num_heads d_kv relative_attention_num_buckets relative_attention_max_distance", \
            "inner | " kv " | 0 | " cross),                                                    \
      LS_F_LINEAR(NULL, "q", "inner", "d_model", "0"), LS_F_LINEAR(NULL, "k", "inner", "d_model", "0"), \
      LS_F_LINEAR(NULL, "v", "inner", "d_model", "0"), LS_F_LINEAR(NULL, "o", "d_model", "inner", "0"), \
      LS_F_EMBEDDING(relbias, "relative_attention_bias", "relative_attention_num_buckets", "num_heads", \
                     "relative_attention_max_distance"), LS_F_END
#define T5_FF(idx)                                                                             \
  LS_F_MOD(NULL, idx, "T5LayerFF", CONTAINER, "B, S, d_model", NULL),                          \
      LS_F_MOD("!gated", "DenseReluDense", "T5DenseActDense", MLP, "B, S, d_model", "d_ff feed_forward_proj"), \
      LS_F_LINEAR(NULL, "wi", "d_ff", "d_model", "0"), LS_F_LINEAR(NULL, "wo", "d_model", "d_ff", "0"), LS_F_END, \
      LS_F_MOD("gated", "DenseReluDense", "T5DenseGatedActDense", MLP, "B, S, d_model", "d_ff feed_forward_proj"), \
      LS_F_LINEAR(NULL, "wi_0", "d_ff", "d_model", "0"), LS_F_LINEAR(NULL, "wi_1", "d_ff", "d_model", "0"), \
      LS_F_LINEAR(NULL, "wo", "d_model", "d_ff", "0"), LS_F_END, T5_NORM("layer_norm"), LS_F_END
static const ls__frow k_t5_bb[] = {
    LS_F_EMBEDDING(NULL, "shared", "vocab_size", "d_model", NULL),
    LS_F_MOD(NULL, "encoder", "T5Stack", CONTAINER, "B, S, d_model", NULL),
    {'M', NULL, "embed_tokens", "Embedding", LS_MODEL_KIND_EMBEDDING, "B, S, d_model", NULL, NULL, "B, S"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, d_model", "shared.weight", NULL), LS_F_END,
    LS_F_MOD(NULL, "block", "ModuleList", LIST, "B, S, d_model", NULL),
    LS_F_LOOP(NULL, "L", "num_layers", "T5Block", BLOCK, "B, S, d_model", NULL),
    LS_F_MOD(NULL, "layer", "ModuleList", LIST, "B, S, d_model", NULL),
    LS_F_MOD(NULL, "0", "T5LayerSelfAttention", CONTAINER, "B, S, d_model", NULL),
    T5_ATTN("SelfAttention", "L == 0", "0", "0"), T5_NORM("layer_norm"), LS_F_END,
    T5_FF("1"),
    LS_F_END, LS_F_ENDLOOP, LS_F_END,
    T5_NORM("final_layer_norm"), LS_F_END,
    LS_F_MOD("!head_encoder", "decoder", "T5Stack", CONTAINER, "B, S, d_model", NULL),
    {'M', NULL, "embed_tokens", "Embedding", LS_MODEL_KIND_EMBEDDING, "B, S, d_model", NULL, NULL, "B, S"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, d_model", "shared.weight", NULL), LS_F_END,
    LS_F_MOD(NULL, "block", "ModuleList", LIST, "B, S, d_model", NULL),
    LS_F_LOOP(NULL, "L", "num_decoder_layers", "T5Block", BLOCK, "B, S, d_model", NULL),
    LS_F_MOD(NULL, "layer", "ModuleList", LIST, "B, S, d_model", NULL),
    LS_F_MOD(NULL, "0", "T5LayerSelfAttention", CONTAINER, "B, S, d_model", NULL),
    T5_ATTN("SelfAttention", "L == 0", "inner", "0"), T5_NORM("layer_norm"), LS_F_END,
    LS_F_MOD(NULL, "1", "T5LayerCrossAttention", CONTAINER, "B, S, d_model", NULL),
    T5_ATTN("EncDecAttention", "0", "0", "1"), T5_NORM("layer_norm"), LS_F_END,
    T5_FF("2"),
    LS_F_END, LS_F_ENDLOOP, LS_F_END,
    T5_NORM("final_layer_norm"), LS_F_END,
};
static const ls__frow k_t5_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "lm_head", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, d_model"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, d_model", "shared.weight", "tie_word_embeddings"), LS_F_END};
static const ls__frow k_t5_encoder[] = {LS_F_BACKBONE}; /* the decoder row is skipped */
static const ls__fhead k_t5_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForConditionalGeneration", k_t5_clm, LS_F_N(k_t5_clm)},
    {LS_MODEL_HEAD_ENCODER, "EncoderModel", k_t5_encoder, LS_F_N(k_t5_encoder)}};
FAMILY(T5, k_t5_keys, k_t5_derived, "", "B, S, d_model", k_t5_bb, k_t5_heads,
       LS_MODEL_NORM_RMS, LS_MODEL_POS_RELATIVE, 0, 1, 1, 0);

/* ---------------------------------------------------------------- vit */

static const ls_model_keyinfo k_vit_keys[] = {
    LS_F_KEY("hidden_size", "", INT, DIM, HIDDEN, "768", D_HIDDEN, NULL),
    LS_F_KEY("num_hidden_layers", "", INT, DIM, N_LAYERS, "12", D_LAYERS, NULL),
    LS_F_KEY("num_attention_heads", "", INT, DIM, N_HEADS, "12", D_HEADS, NULL),
    LS_F_KEY("intermediate_size", "", INT, DIM, INTERMEDIATE, "3072", D_INTER, NULL),
    LS_F_KEY("hidden_act", "", STRING, 0, ACT, "\"gelu\"", D_ACT, ACTS),
    LS_F_KEY("hidden_dropout_prob", "", FLOAT, 0, DROPOUT, "0.0", "Dropout on residual branches.", NULL),
    LS_F_KEY("attention_probs_dropout_prob", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),
    K_INIT("0.02"),
    LS_F_KEY("layer_norm_eps", "", FLOAT, 0, NORM_EPS, "1e-12", D_LNEPS, NULL),
    LS_F_KEY("image_size", "", INT, DIM, NONE, "224", "Input image side in pixels.", NULL),
    LS_F_KEY("patch_size", "", INT, DIM, NONE, "16", "Patch side in pixels; the sequence is (image_size / patch_size)^2 + 1.", NULL),
    LS_F_KEY("num_channels", "", INT, DIM, NONE, "3", "Input image channels.", NULL),
    LS_F_KEY("qkv_bias", "", BOOL, 0, ATTN_BIAS, "true", "Bias on query, key and value.", NULL),
    LS_F_KEY("encoder_stride", "", INT, DIM, NONE, "16", "Decoder stride of masked image modeling.", NULL),
    LS_F_KEY("pooler_output_size", "", INT, DIM | NULLDEF, NONE, "hidden_size", "Width of the pooler output.", NULL),
    LS_F_KEY("pooler_act", "", STRING, 0, NONE, "\"tanh\"", "Activation of the pooler.", ACTS),
};
static const ls__fderived k_vit_derived[] = {
    {"hd", "hidden_size / num_attention_heads"}, {"n_kv", "num_attention_heads"}, {"ffn", "intermediate_size"},
    {"n_patches", "(image_size / patch_size) * (image_size / patch_size)"}, {"vit_s", "n_patches + 1"},
    {"sem_fixed_seq", "vit_s"}, {"sem_qkv_bias", "qkv_bias"}, {"sem_out_bias", "1"}, {"sem_mlp_bias", "1"}};
#define VLN(name) LS_F_LAYERNORM_S(NULL, name, "hidden_size", NULL, "layer_norm_eps", "vit_s")
#define VLIN(name, out, in, b) LS_F_LINEAR_S(NULL, name, out, in, b, "vit_s")
static const ls__frow k_vit_bb[] = {
    LS_F_MOD(NULL, "embeddings", "ViTEmbeddings", CONTAINER, "B, vit_s, hidden_size", "hidden_dropout_prob"),
    LS_F_PAR(NULL, "cls_token", "1, 1, hidden_size"),
    LS_F_PAR(NULL, "position_embeddings", "1, vit_s, hidden_size"),
    LS_F_MOD(NULL, "patch_embeddings", "ViTPatchEmbeddings", CONTAINER, "B, n_patches, hidden_size", "image_size patch_size"),
    {'M', NULL, "projection", "Conv2d", LS_MODEL_KIND_CONV, "B, hidden_size, image_size / patch_size, image_size / patch_size",
     NULL, "patch_size", "B, num_channels, image_size, image_size"},
    LS_F_PAR(NULL, "weight", "hidden_size, num_channels, patch_size, patch_size"), LS_F_PAR(NULL, "bias", "hidden_size"),
    LS_F_END, LS_F_END, LS_F_END,
    LS_F_MOD(NULL, "encoder", "ViTEncoder", CONTAINER, "B, vit_s, hidden_size", NULL),
    LS_F_MOD(NULL, "layer", "ModuleList", LIST, "B, vit_s, hidden_size", NULL),
    LS_F_LOOP(NULL, "L", "num_hidden_layers", "ViTLayer", BLOCK, "B, vit_s, hidden_size", NULL),
    LS_F_ATTN(NULL, "attention", "ViTAttention", "B, vit_s, hidden_size", "num_attention_heads attention_probs_dropout_prob",
              "hidden_size | 0 | 0 | 0"),
    LS_F_MOD(NULL, "attention", "ViTSelfAttention", CONTAINER, "B, vit_s, hidden_size", "num_attention_heads"),
    VLIN("query", "hidden_size", "hidden_size", "qkv_bias"), VLIN("key", "hidden_size", "hidden_size", "qkv_bias"),
    VLIN("value", "hidden_size", "hidden_size", "qkv_bias"), LS_F_END,
    LS_F_MOD(NULL, "output", "ViTSelfOutput", CONTAINER, "B, vit_s, hidden_size", NULL),
    VLIN("dense", "hidden_size", "hidden_size", "1"), LS_F_END,
    LS_F_END,
    LS_F_MOD(NULL, "intermediate", "ViTIntermediate", MLP, "B, vit_s, intermediate_size", "intermediate_size hidden_act"),
    VLIN("dense", "intermediate_size", "hidden_size", "1"), LS_F_END,
    LS_F_MOD(NULL, "output", "ViTOutput", CONTAINER, "B, vit_s, hidden_size", NULL),
    VLIN("dense", "hidden_size", "intermediate_size", "1"), LS_F_END,
    VLN("layernorm_before"), VLN("layernorm_after"),
    LS_F_ENDLOOP, LS_F_END, LS_F_END,
    VLN("layernorm"),
    LS_F_MOD("head_base", "pooler", "ViTPooler", HEAD, "B, pooler_output_size", "pooler_act"),
    LINEAR_NOSEQ(NULL, "dense", "pooler_output_size", "hidden_size"), LS_F_END,
};
static const ls__frow k_vit_imgcls[] = {LS_F_BACKBONE, LINEAR_NOSEQ(NULL, "classifier", "num_labels", "hidden_size")};
static const ls__fhead k_vit_heads[] = {{LS_MODEL_HEAD_IMAGE_CLS, "ForImageClassification", k_vit_imgcls, LS_F_N(k_vit_imgcls)}};
FAMILY(VIT, k_vit_keys, k_vit_derived, "vit", "B, vit_s, hidden_size", k_vit_bb, k_vit_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_LEARNED, 0, 0, 0, 0);

/* ---------------------------------------------------------------- whisper */

static const ls_model_keyinfo k_whisper_keys[] = {
    LS_F_KEY("vocab_size", "", INT, DIM, VOCAB, "51865", D_VOCAB, NULL),
    LS_F_KEY("num_mel_bins", "", INT, DIM, NONE, "80", "Mel filterbank channels of the input.", NULL),
    LS_F_KEY("encoder_layers", "", INT, DIM, N_LAYERS, "4", "Number of encoder layers.", NULL),
    LS_F_KEY("encoder_attention_heads", "", INT, DIM, N_HEADS, "6", "Attention heads of the encoder.", NULL),
    LS_F_KEY("decoder_layers", "", INT, DIM, NONE, "4", "Number of decoder layers.", NULL),
    LS_F_KEY("decoder_attention_heads", "", INT, DIM, NONE, "6", "Attention heads of the decoder.", NULL),
    LS_F_KEY("decoder_ffn_dim", "", INT, DIM, NONE, "1536", "Feed-forward width of the decoder.", NULL),
    LS_F_KEY("encoder_ffn_dim", "", INT, DIM, INTERMEDIATE, "1536", "Feed-forward width of the encoder.", NULL),
    LS_F_KEY("encoder_layerdrop", "", FLOAT, 0, NONE, "0.0", "Layer drop in the encoder.", NULL),
    LS_F_KEY("decoder_layerdrop", "", FLOAT, 0, NONE, "0.0", "Layer drop in the decoder.", NULL),
    K_CACHE,
    LS_F_KEY("is_encoder_decoder", "", BOOL, 0, NONE, "true", "Encoder-decoder model.", NULL),
    LS_F_KEY("activation_function", "", STRING, 0, ACT, "\"gelu\"", D_ACT, ACTS),
    LS_F_KEY("d_model", "hidden_size", INT, DIM, HIDDEN, "384", D_HIDDEN, NULL),
    LS_F_KEY("dropout", "", FLOAT, 0, DROPOUT, "0.0", "Dropout on residual branches.", NULL),
    LS_F_KEY("attention_dropout", "", FLOAT, 0, DROPOUT, "0.0", D_ATTN_DROP, NULL),
    LS_F_KEY("activation_dropout", "", FLOAT, 0, DROPOUT, "0.0", "Dropout after the activation.", NULL),
    LS_F_KEY("init_std", "", FLOAT, 0, INIT_RANGE, "0.02", D_INIT, NULL),
    LS_F_KEY("scale_embedding", "", BOOL, 0, NONE, "false", "Scale embeddings by sqrt(d_model).", NULL),
    LS_F_KEY("max_source_positions", "", INT, DIM, NONE, "1500", "Encoder positions (30 s of audio after the stride-2 conv).", NULL),
    LS_F_KEY("max_target_positions", "", INT, DIM, MAX_POS, "448", "Decoder positions.", NULL),
    K_PAD("50256"), K_BOS("50256"), K_EOS("50256"), K_TIE("true"),
    LS_F_KEY("suppress_tokens", "", ANY, 0, NONE, "null", "Generation: tokens suppressed.", NULL),
    LS_F_KEY("begin_suppress_tokens", "", ANY, 0, NONE, "null", "Generation: tokens suppressed at the start.", NULL),
    LS_F_KEY("forced_decoder_ids", "", ANY, 0, NONE, "null", "Generation: forced prompt ids.", NULL),
    LS_F_KEY("use_weighted_layer_sum", "", BOOL, 0, NONE, "false", "Audio classification: weighted sum of layers.", NULL),
    LS_F_KEY("classifier_proj_size", "", INT, DIM, NONE, "256", "Audio classification projection width.", NULL),
    LS_F_KEY("apply_spec_augment", "", BOOL, 0, NONE, "false", "SpecAugment in training.", NULL),
    LS_F_KEY("median_filter_width", "", INT, DIM, NONE, "7", "Word timestamps filter width.", NULL),
    LS_F_KEY("num_hidden_layers", "", ANY, 0, NONE, "null", "Legacy key (encoder_layers is used).", NULL),
};
static const ls__fderived k_whisper_derived[] = {
    {"hd", "d_model / encoder_attention_heads"}, {"n_kv", "encoder_attention_heads"}, {"ffn", "encoder_ffn_dim"},
    {"sem_qkv_bias", "1"}, {"sem_out_bias", "1"}, {"sem_mlp_bias", "1"},
    {"sem_layers", "encoder_layers"}, {"sem_layers_decoder", "decoder_layers"}, {"sem_pos", "3"}};
#define W_ATTN(name, type, heads, kv, cross, seq)                                              \
  LS_F_ATTN(NULL, name, type, "B, " seq ", d_model", heads " attention_dropout", "d_model | " kv " | 0 | " cross), \
      LS_F_LINEAR_S(NULL, "k_proj", "d_model", "d_model", "0", seq),                           \
      LS_F_LINEAR_S(NULL, "v_proj", "d_model", "d_model", "1", seq),                           \
      LS_F_LINEAR_S(NULL, "q_proj", "d_model", "d_model", "1", seq),                           \
      LS_F_LINEAR_S(NULL, "out_proj", "d_model", "d_model", "1", seq), LS_F_END
#define WLN(name, seq) LS_F_LAYERNORM_S(NULL, name, "d_model", NULL, NULL, seq)
static const ls__frow k_whisper_bb[] = {
    LS_F_MOD(NULL, "encoder", "WhisperEncoder", CONTAINER, "B, max_source_positions, d_model", NULL),
    {'M', NULL, "conv1", "Conv1d", LS_MODEL_KIND_CONV, "B, d_model, 2 * max_source_positions", NULL, NULL,
     "B, num_mel_bins, 2 * max_source_positions"},
    LS_F_PAR(NULL, "weight", "d_model, num_mel_bins, 3"), LS_F_PAR(NULL, "bias", "d_model"), LS_F_END,
    {'M', NULL, "conv2", "Conv1d", LS_MODEL_KIND_CONV, "B, d_model, max_source_positions", NULL, NULL,
     "B, d_model, 2 * max_source_positions"},
    LS_F_PAR(NULL, "weight", "d_model, d_model, 3"), LS_F_PAR(NULL, "bias", "d_model"), LS_F_END,
    {'M', NULL, "embed_positions", "Embedding", LS_MODEL_KIND_EMBEDDING, "B, max_source_positions, d_model", NULL, NULL, NULL},
    LS_F_PAR(NULL, "weight", "max_source_positions, d_model"), LS_F_END,
    LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, max_source_positions, d_model", NULL),
    LS_F_LOOP(NULL, "L", "encoder_layers", "WhisperEncoderLayer", BLOCK, "B, max_source_positions, d_model", NULL),
    W_ATTN("self_attn", "WhisperAttention", "encoder_attention_heads", "0", "0", "max_source_positions"),
    WLN("self_attn_layer_norm", "max_source_positions"),
    LS_F_LINEAR_S(NULL, "fc1", "encoder_ffn_dim", "d_model", "1", "max_source_positions"),
    LS_F_LINEAR_S(NULL, "fc2", "d_model", "encoder_ffn_dim", "1", "max_source_positions"),
    WLN("final_layer_norm", "max_source_positions"),
    LS_F_ENDLOOP, LS_F_END,
    WLN("layer_norm", "max_source_positions"),
    LS_F_END,
    LS_F_MOD(NULL, "decoder", "WhisperDecoder", CONTAINER, "B, S, d_model", NULL),
    LS_F_EMBEDDING(NULL, "embed_tokens", "vocab_size", "d_model", "pad_token_id"),
    {'M', NULL, "embed_positions", "WhisperPositionalEmbedding", LS_MODEL_KIND_EMBEDDING, "B, S, d_model", NULL, NULL, "B, S"},
    LS_F_PAR(NULL, "weight", "max_target_positions, d_model"), LS_F_END,
    LS_F_MOD(NULL, "layers", "ModuleList", LIST, "B, S, d_model", NULL),
    LS_F_LOOP(NULL, "L", "decoder_layers", "WhisperDecoderLayer", BLOCK, "B, S, d_model", NULL),
    W_ATTN("self_attn", "WhisperAttention", "decoder_attention_heads", "d_model", "0", "S"),
    WLN("self_attn_layer_norm", "S"),
    W_ATTN("encoder_attn", "WhisperAttention", "decoder_attention_heads", "0", "1", "S"),
    WLN("encoder_attn_layer_norm", "S"),
    LS_F_LINEAR(NULL, "fc1", "decoder_ffn_dim", "d_model", "1"),
    LS_F_LINEAR(NULL, "fc2", "d_model", "decoder_ffn_dim", "1"),
    WLN("final_layer_norm", "S"),
    LS_F_ENDLOOP, LS_F_END,
    WLN("layer_norm", "S"),
    LS_F_END,
};
static const ls__frow k_whisper_clm[] = {
    LS_F_BACKBONE,
    {'M', NULL, "proj_out", "Linear", LS_MODEL_KIND_LINEAR, "B, S, vocab_size", NULL, NULL, "B, S, d_model"},
    LS_F_PARTIE(NULL, "weight", "vocab_size, d_model", "{P}decoder.embed_tokens.weight", "tie_word_embeddings"), LS_F_END};
static const ls__fhead k_whisper_heads[] = {
    {LS_MODEL_HEAD_CAUSAL_LM, "ForConditionalGeneration", k_whisper_clm, LS_F_N(k_whisper_clm)}};
FAMILY(WHISPER, k_whisper_keys, k_whisper_derived, "model", "B, S, d_model", k_whisper_bb, k_whisper_heads,
       LS_MODEL_NORM_LAYER, LS_MODEL_POS_LEARNED, 0, 1, 1, 0);
