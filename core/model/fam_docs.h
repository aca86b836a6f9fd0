/* fam_docs.h (internal): one-sentence documentation of keys shared by several families, and
 * key-row macros for keys whose meaning is the same everywhere. Defaults differ per family
 * and stay in each family's table. */
#ifndef LS_MODEL_FAM_DOCS_H
#define LS_MODEL_FAM_DOCS_H

#include "core/model/family.h"

#define DIM LS_MODEL_KEY_DIM
#define CNT LS_MODEL_KEY_COUNT
#define NULLDEF LS_MODEL_KEY_NULLDEF
#define NULLABLE LS_MODEL_KEY_NULLABLE

#define D_VOCAB "Vocabulary size: rows of the token embedding and of the LM head."
#define D_HIDDEN "Width of the hidden states (d_model)."
#define D_INTER "Inner width of the feed-forward block."
#define D_LAYERS "Number of transformer layers."
#define D_HEADS "Number of attention (query) heads."
#define D_KV "Number of key/value heads (grouped-query attention; 1 = multi-query)."
#define D_HEAD_DIM "Width of one attention head."
#define D_MAXPOS "Longest sequence the position encoding is set up for."
#define D_ACT "Activation function of the feed-forward block."
#define D_RMS "Epsilon added to the mean square in RMSNorm."
#define D_LNEPS "Epsilon added to the variance in LayerNorm."
#define D_INIT "Standard deviation of the normal weight initialisation."
#define D_CACHE "Return past key/values to speed up generation."
#define D_TIE "Share the input embedding matrix with the LM head (counted once)."
#define D_THETA "Base period of the rotary position embedding."
#define D_ROPE_SCALING "RoPE scaling: {\"rope_type\": linear|dynamic|llama3|yarn|longrope, \"factor\": ...}."
#define D_ATTN_DROP "Dropout on attention probabilities."
#define D_BOS "Id of the beginning-of-sequence token."
#define D_EOS "Id (or ids) of the end-of-sequence token."
#define D_PAD "Id of the padding token."
#define D_WINDOW "Sliding-window attention span in tokens (null = full attention)."

#define ACTS "silu gelu gelu_new gelu_pytorch_tanh gelu_fast gelu_python quick_gelu relu relu2 swish tanh sigmoid gelu_10 gelu_accurate mish linear"

#define K_BOS(d) LS_F_KEY("bos_token_id", "", ANY, 0, BOS_ID, d, D_BOS, NULL)
#define K_EOS(d) LS_F_KEY("eos_token_id", "", ANY, 0, EOS_ID, d, D_EOS, NULL)
#define K_PAD(d) LS_F_KEY("pad_token_id", "", ANY, 0, PAD_ID, d, D_PAD, NULL)
#define K_CACHE LS_F_KEY("use_cache", "", BOOL, 0, USE_CACHE, "true", D_CACHE, NULL)
#define K_INIT(d) LS_F_KEY("initializer_range", "", FLOAT, 0, INIT_RANGE, d, D_INIT, NULL)
#define K_TIE(d) LS_F_KEY("tie_word_embeddings", "", BOOL, 0, TIE, d, D_TIE, NULL)

#endif
