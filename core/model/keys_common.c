/* keys_common.c: the keys of transformers' PretrainedConfig, which every family accepts
 * (so they are never "unknown keys"), and the registry from family id to its table. */
#include "core/model/family.h"

#define C LS_MODEL_KEY_COMMON
static const ls_model_keyinfo k_common[] = {
    LS_F_KEY("model_type", "", STRING, C, MODEL_TYPE, "null", "Family of the model; selects the config and modeling classes.", NULL),
    LS_F_KEY("architectures", "", ARRAY, C, ARCHITECTURES, "null", "Model classes the weights were saved from; the first picks the head (ForCausalLM, Model, ForMaskedLM, ...).", NULL),
    LS_F_KEY("torch_dtype", "dtype", STRING, C | LS_MODEL_KEY_NULLABLE, TORCH_DTYPE, "\"float32\"", "dtype the weights were saved in.", "float32 bfloat16 float16 float64 auto"),
    LS_F_KEY("transformers_version", "", STRING, C, NONE, "null", "transformers version that wrote the file.", NULL),
    LS_F_KEY("_name_or_path", "", STRING, C, NONE, "\"\"", "Name or path the model was loaded from.", NULL),
    LS_F_KEY("num_labels", "", INT, C | LS_MODEL_KEY_COUNT, NUM_LABELS, "2", "Number of classes of a classification head (defaults to the size of id2label).", NULL),
    LS_F_KEY("id2label", "", OBJECT, C, NONE, "null", "Class index -> label names of a classification head.", NULL),
    LS_F_KEY("label2id", "", OBJECT, C, NONE, "null", "Label name -> class index.", NULL),
    LS_F_KEY("problem_type", "", STRING, C | LS_MODEL_KEY_NULLABLE, NONE, "null", "Loss of a sequence classification head.", "regression single_label_classification multi_label_classification"),
    LS_F_KEY("sep_token_id", "", ANY, C, NONE, "null", "Separator token id.", NULL),
    LS_F_KEY("decoder_start_token_id", "", ANY, C, NONE, "null", "First decoder token of an encoder-decoder model.", NULL),
    LS_F_KEY("is_decoder", "", BOOL, C, NONE, "false", "Use the model as a decoder (causal mask).", NULL),
    LS_F_KEY("add_cross_attention", "", BOOL, C, NONE, "false", "Add cross-attention layers (encoder-decoder use).", NULL),
    LS_F_KEY("tie_encoder_decoder", "", BOOL, C, NONE, "false", "Tie encoder and decoder weights.", NULL),
    LS_F_KEY("output_hidden_states", "", BOOL, C, NONE, "false", "Return all hidden states.", NULL),
    LS_F_KEY("output_attentions", "", BOOL, C, NONE, "false", "Return attention probabilities.", NULL),
    LS_F_KEY("return_dict", "", BOOL, C, NONE, "true", "Return ModelOutput objects instead of tuples.", NULL),
    LS_F_KEY("pruned_heads", "", OBJECT, C, NONE, "null", "Attention heads removed per layer.", NULL),
    LS_F_KEY("chunk_size_feed_forward", "", INT, C | LS_MODEL_KEY_COUNT, NONE, "0", "Feed-forward chunking (0 = none).", NULL),
    LS_F_KEY("torchscript", "", BOOL, C, NONE, "false", "Export for TorchScript.", NULL),
    LS_F_KEY("use_bfloat16", "", BOOL, C, NONE, "false", "Legacy TF flag for bfloat16.", NULL),
    LS_F_KEY("finetuning_task", "", STRING, C | LS_MODEL_KEY_NULLABLE, NONE, "null", "Task the checkpoint was fine-tuned on.", NULL),
    LS_F_KEY("tokenizer_class", "", STRING, C | LS_MODEL_KEY_NULLABLE, NONE, "null", "Tokenizer class to use.", NULL),
    LS_F_KEY("prefix", "", STRING, C | LS_MODEL_KEY_NULLABLE, NONE, "null", "Prompt prefix for generation.", NULL),
    LS_F_KEY("task_specific_params", "", OBJECT, C, NONE, "null", "Per-task generation settings.", NULL),
    LS_F_KEY("max_length", "", INT, C | LS_MODEL_KEY_COUNT, NONE, "20", "Generation: maximum length.", NULL),
    LS_F_KEY("min_length", "", INT, C | LS_MODEL_KEY_COUNT, NONE, "0", "Generation: minimum length.", NULL),
    LS_F_KEY("do_sample", "", BOOL, C, NONE, "false", "Generation: sample instead of greedy.", NULL),
    LS_F_KEY("num_beams", "", INT, C | LS_MODEL_KEY_COUNT, NONE, "1", "Generation: beams.", NULL),
    LS_F_KEY("temperature", "", FLOAT, C, NONE, "1.0", "Generation: sampling temperature.", NULL),
    LS_F_KEY("top_p", "", FLOAT, C, NONE, "1.0", "Generation: nucleus probability.", NULL),
    LS_F_KEY("repetition_penalty", "", FLOAT, C, NONE, "1.0", "Generation: repetition penalty.", NULL),
    LS_F_KEY("length_penalty", "", FLOAT, C, NONE, "1.0", "Generation: length penalty.", NULL),
    LS_F_KEY("no_repeat_ngram_size", "", INT, C | LS_MODEL_KEY_COUNT, NONE, "0", "Generation: forbidden repeated n-gram size.", NULL),
    LS_F_KEY("num_return_sequences", "", INT, C | LS_MODEL_KEY_COUNT, NONE, "1", "Generation: sequences returned.", NULL),
    LS_F_KEY("early_stopping", "", ANY, C, NONE, "false", "Generation: beam search stopping.", NULL),
    LS_F_KEY("bad_words_ids", "", ANY, C, NONE, "null", "Generation: forbidden token ids.", NULL),
    LS_F_KEY("gradient_checkpointing", "", BOOL, C, GRAD_CKPT, "false", "Recompute activations in the backward pass (legacy config flag).", NULL),
    LS_F_KEY("auto_map", "", OBJECT, C, NONE, "null", "Custom code classes (trust_remote_code).", NULL),
    LS_F_KEY("quantization_config", "", OBJECT, C, NONE, "null", "Quantization method and settings of the saved weights.", NULL),
    LS_F_KEY("_attn_implementation", "attn_implementation", STRING, C | LS_MODEL_KEY_NULLABLE, NONE, "null", "Attention kernel.", "eager sdpa flash_attention_2 flex_attention"),
    LS_F_KEY("pretraining_tp", "", INT, C | LS_MODEL_KEY_COUNT, NONE, "1", "Tensor-parallel degree used in pretraining (only changes numerics of the slow path).", NULL),
    LS_F_KEY("_commit_hash", "", STRING, C | LS_MODEL_KEY_NULLABLE, NONE, "null", "Hub commit of the file.", NULL),
};
#undef C

const ls_model_keyinfo *ls__common_keys(size_t *n) {
  *n = LS_F_N(k_common);
  return k_common;
}

const ls__family ls__family_none = {
    LS_MODEL_FAMILY_UNKNOWN, NULL, 0, NULL, 0, "", "", "", NULL, 0, NULL, 0,
    LS_MODEL_NORM_LAYER, LS_MODEL_POS_NONE, 0, 0, 0, 0, 0};

#define X(id, type, prefix) extern const ls__family ls__family_##id;
#include "core/model/families.def"
#undef X

const ls__family *ls__family_get(ls_model_family f) {
  switch (f) {
#define X(id, type, prefix)                                                                    \
  case LS_MODEL_FAMILY_##id: return &ls__family_##id;
#include "core/model/families.def"
#undef X
  default: return NULL;
  }
}
