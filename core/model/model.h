/* model.h: the config model of layerscope. From a Hugging Face style config.json it builds
 * (1) the resolved config: every key the family knows, with its value (or the upstream
 *     default), whether it was defaulted, and the byte spans of the key and value in the file;
 * (2) the module tree: modules named exactly as the upstream state_dict names, their type,
 *     parameter tensors (shape in upstream order) and activation shapes with symbolic B, S;
 * (3) for every tensor and module, the set of config keys that shape or configure it, so the
 *     LSP can answer "what does this key shape" and the debugger "which modules does this
 *     config line configure".
 * Figures (params, FLOPs, memory) are in figures.h. Families are data (family.h): each is a
 * table of keys with defaults and a list of module templates whose shapes are expressions
 * over the keys.
 *
 * Ownership: ls_model_build/ls_model_load return a new ls_model (caller frees with
 * ls_model_free). Every string, array and node in it is owned by the model; the ls_json
 * pointers it holds are borrowed from the doc passed to ls_model_build (which must outlive
 * the model) or owned by the model when it came from ls_model_load. Static tables
 * (ls_model_keyinfo, family info) live for the whole program. Thread-safety: a built model is
 * immutable; reading it from several threads is safe. */
#ifndef LS_MODEL_H
#define LS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/base/json.h"

/* ---------------------------------------------------------------- families, kinds, roles */

typedef enum ls_model_family {
  LS_MODEL_FAMILY_UNKNOWN = 0, /* a type layerscope does not model (reading GENERIC or NONE) */
#define X(id, type, prefix) LS_MODEL_FAMILY_##id,
#include "core/model/families.def"
#undef X
  LS_MODEL_FAMILY_COUNT
} ls_model_family;

typedef enum ls_model_kind {
#define X(id, name) LS_MODEL_KIND_##id,
#include "core/model/kinds.def"
#undef X
  LS_MODEL_KIND_COUNT
} ls_model_kind;

typedef enum ls_model_role {
#define X(id, name) LS_MODEL_ROLE_##id,
#include "core/model/roles.def"
#undef X
  LS_MODEL_ROLE_COUNT
} ls_model_role;

/* "gpt2", ... ("unknown" for UNKNOWN); "ClassPrefix"; kind and role names. Static strings. */
const char *ls_model_family_name(ls_model_family f);
const char *ls_model_family_class_prefix(ls_model_family f);
const char *ls_model_kind_name(ls_model_kind k);
const char *ls_model_role_name(ls_model_role r);
/* model_type string -> family; LS_MODEL_FAMILY_UNKNOWN when not known. */
ls_model_family ls_model_family_from_type(const char *model_type);
/* 1 when t is a model_type transformers knows (upstream_types.def), whether or not
 * layerscope models it. */
int ls_model_type_is_upstream(const char *t);
/* The model_types layerscope models, comma-separated ("gpt2, llama, ..."). Static. */
const char *ls_model_supported_types(void);
/* An `architectures` class name ("MistralForCausalLM") -> family (longest class prefix that
 * matches and is followed by a known head suffix); UNKNOWN when none. */
ls_model_family ls_model_family_from_class(const char *class_name);

/* ---------------------------------------------------------------- known keys (static) */

typedef enum ls_model_vtype {
  LS_MODEL_VT_NULL = 0,  /* JSON null (or absent with a null default) */
  LS_MODEL_VT_INT,       /* integer (int64) */
  LS_MODEL_VT_FLOAT,     /* number */
  LS_MODEL_VT_BOOL,
  LS_MODEL_VT_STRING,
  LS_MODEL_VT_OBJECT,    /* object (rope_scaling, id2label, ...) */
  LS_MODEL_VT_ARRAY,     /* array (architectures, eos_token_id lists, ...) */
  LS_MODEL_VT_ANY        /* keyinfo only: any JSON value accepted */
} ls_model_vtype;

/* keyinfo flags */
#define LS_MODEL_KEY_DIM      0x1u  /* a dimension: must be an integer >= 1 */
#define LS_MODEL_KEY_NULLDEF  0x2u  /* JSON null means "use the default" (upstream `or` idiom) */
#define LS_MODEL_KEY_NULLABLE 0x4u  /* null is a legal value with its own meaning (off) */
#define LS_MODEL_KEY_COUNT    0x8u  /* a count that may be 0 (layers of a part, labels) */
#define LS_MODEL_KEY_COMMON   0x10u /* a PretrainedConfig key every family accepts */

typedef struct ls_model_keyinfo {
  const char *name;           /* upstream attribute name for this family ("n_embd" for gpt2) */
  const char *aliases;        /* space-separated other spellings also read ("n_embed"), "" */
  ls_model_vtype type;        /* expected type; INT keys reject fractional numbers (4096.0
                                 included: PyTorch would reject the float size too) */
  unsigned flags;             /* LS_MODEL_KEY_* */
  ls_model_role role;         /* what the key means across families */
  const char *default_expr;   /* upstream default: an expression over other keys ("4*n_embd",
                                 "num_attention_heads"), a literal ("1e-05", "true",
                                 "\"silu\"") or "null" */
  const char *doc;            /* one sentence for hovers and completion */
  const char *enum_values;    /* space-separated allowed values for strings ("silu gelu"), or
                                 NULL when free */
} ls_model_keyinfo;

/* Values upstream accepts for rope_scaling's "rope_type" (or legacy "type"), for completion
 * and checks; space-separated. */
#define LS_MODEL_ROPE_TYPES "default linear dynamic yarn longrope llama3 su"

/* The keys of a family (its own; the common PretrainedConfig keys are separate, see
 * ls_model_common_keys); static array. UNKNOWN (a type layerscope does not model) has none:
 * its keys are not known here, and llama's would be a guess. */
const ls_model_keyinfo *ls_model_family_keys(ls_model_family f, size_t *n_out);
/* The common PretrainedConfig keys (architectures, torch_dtype, num_labels, ...) that every
 * family accepts after its own; static array. */
const ls_model_keyinfo *ls_model_common_keys(size_t *n_out);
/* Looks a key (canonical or alias) up in the family's keys, then the common keys; NULL. */
const ls_model_keyinfo *ls_model_family_key_find(ls_model_family f, const char *name);

/* ---------------------------------------------------------------- the resolved config */

/* A set of config keys, by index into ls_model.values (at most 128 keys per family). */
typedef struct ls_model_keyset { uint64_t w[2]; } ls_model_keyset;
static inline int ls_model_keyset_has(const ls_model_keyset *s, int key) {
  return key >= 0 && key < 128 && (s->w[key >> 6] >> (key & 63)) & 1u;
}

typedef struct ls_model_value {
  const ls_model_keyinfo *info;  /* borrowed static */
  int present;                   /* 1: read from the file; 0: defaulted */
  int valid;                     /* 0: the file's value was rejected (an issue says why) and
                                    the default is used for the tree */
  const char *spelling;          /* key as written ("n_embd"), NULL when not present */
  ls_json_span key_span;         /* in the file; {0,0} when not present */
  ls_json_span value_span;       /* in the file; {0,0} when not present */
  const ls_json *json;           /* the file's value node (borrowed), NULL when not present */
  ls_model_vtype kind;           /* kind of the resolved value */
  int64_t i;                     /* INT (and BOOL as 0/1) */
  double f;                      /* FLOAT, and INT converted */
  const char *s;                 /* STRING (owned by the model) */
  ls_model_keyset deps;          /* keys this value depends on: itself, plus for a defaulted
                                    value the keys of its default expression */
} ls_model_value;

typedef enum ls_model_severity {
  LS_MODEL_SEV_ERROR = 1, LS_MODEL_SEV_WARNING = 2, LS_MODEL_SEV_INFO = 3
} ls_model_severity;

/* A problem found while building. Codes are stable ids: "json-syntax", "bad-type",
 * "bad-dim", "overflow", "heads-divide", "unknown-model-type", "no-model-type",
 * "unknown-architecture", "bad-value". */
typedef struct ls_model_issue {
  ls_model_severity severity;
  const char *code;              /* static */
  const char *msg;               /* owned; names the key and the value */
  int key;                       /* index into values, -1 if none */
  ls_json_span span;             /* where in the file ({0,0} if nowhere) */
} ls_model_issue;

/* ---------------------------------------------------------------- shapes */

/* One activation dimension: a number, or the symbol 'B' (batch) or 'S' (sequence). */
typedef struct ls_model_dim { int64_t n; char sym; } ls_model_dim;
typedef struct ls_model_shape { int ndim; ls_model_dim d[5]; } ls_model_shape;

/* Binds symbols to numbers; returns the dimension. */
static inline int64_t ls_model_dim_bind(ls_model_dim d, int64_t B, int64_t S) {
  return d.sym == 'B' ? B : d.sym == 'S' ? S : d.n;
}
/* "[B, S, 4096]" (or bound "[1, 128, 4096]" when bind != 0). Returns the length written
 * (like snprintf). */
int ls_model_shape_format(const ls_model_shape *s, int bind, int64_t B, int64_t S, char *buf,
                          size_t cap);

/* ---------------------------------------------------------------- the module tree */

typedef struct ls_model_tensor {
  const char *name;        /* full upstream state_dict name: "model.layers.0.mlp.up_proj.weight" */
  const char *leaf;        /* last component: "weight", "bias", "position_embedding" */
  int module;              /* owning module (index into modules) */
  int ndim;                /* 1..4 */
  int64_t shape[4];        /* upstream order: Linear [out, in]; GPT-2 Conv1D [in, out] */
  int64_t numel;
  const char *dtype;       /* storage dtype from torch_dtype: "f32", "bf16", "f16" */
  int tied_to;             /* index of the tensor it shares storage with, or -1; a tied
                              tensor is listed (state_dict has it) but counted once */
  int buffer;              /* 1: a persistent buffer (in the state_dict and the checkpoint,
                              not a parameter: DeepSeek-V3's e_score_correction_bias) */
  int mtp;                 /* 1: stored in the checkpoint but not part of the upstream class
                              (DeepSeek-V3's multi-token-prediction layer): counted apart */
  int64_t stacked;         /* n > 0: dim 0 stacks n experts ([n_experts, ...], gpt-oss) of
                              which top_k are active per token; 0 otherwise */
  int layer, expert;       /* -1 when not inside a layer / expert */
  ls_model_keyset keys;    /* config keys that shape it */
} ls_model_tensor;

typedef struct ls_model_module {
  const char *name;        /* upstream module name ("" for the root, "model.layers.0.mlp") */
  const char *leaf;        /* last component ("mlp", "0"; "" for the root) */
  const char *type;        /* upstream class: "LlamaAttention", "Linear", "Conv1D" */
  ls_model_kind kind;
  int parent;              /* -1 for the root (index 0) */
  int depth;               /* 0 for the root */
  int first_child, next_sibling; /* -1 when none; children in upstream registration order */
  int layer, expert;       /* layer / expert index when inside one, else -1 */
  int first_tensor, n_tensors; /* its own (direct) tensors: tensors[first_tensor..+n) */
  int64_t params;          /* own + descendants; tied copies count 0 */
  ls_model_shape in, out;  /* main input / output activation, symbolic B and S */
  ls_model_keyset keys;    /* keys that configure it: its own tensors' keys, its activation
                              shapes' keys, and semantic keys (eps, activation, rope, ...);
                              children's keys are not merged in */
  /* ATTENTION modules only (0 elsewhere): */
  int64_t attn_dim;        /* n_heads x head_dim (width of QK^T and AV) */
  int64_t attn_kv_dim;     /* n_kv_heads x head_dim cached per token for K (and for V);
                              0 when nothing is cached (encoder, cross-attention) */
  int64_t attn_window;     /* sliding window of this layer in tokens, 0 = full context */
  int64_t attn_v_dim;      /* n_heads x value head dim (width of AV); equals attn_dim unless
                              the value heads differ (MLA: v_head_dim) */
  int64_t attn_latent;     /* MLA: elements cached per token instead of K and V
                              (kv_lora_rank + qk_rope_head_dim); 0 = K and V are cached */
  int cross;               /* 1 for cross-attention (keys from the encoder) */
  ls_model_keyset shape_keys; /* keys its output activation shape reads (a subset of keys) */
  int64_t ssm_state;       /* SSM modules only: elements of the state cached per sequence
                              (conv state + scan state), independent of its length */
  int mtp;                 /* 1 inside a checkpoint-only MTP layer (kind MTP and below) */
  int per_image;           /* 1 inside a vision tower or projector (kind VISION and below):
                              runs once per image, counted apart from per-token figures */
  int def_key;             /* value index of the key that creates it (the layer/expert
                              count for repeated blocks), -1 if none; see
                              ls_model_module_def_key */
} ls_model_module;

/* Family semantics the engine needs beyond shapes. */
typedef enum ls_model_norm {
  LS_MODEL_NORM_LAYER = 0,    /* LayerNorm (with bias unless norm_bias == 0) */
  LS_MODEL_NORM_RMS,          /* x / rms(x) * w */
  LS_MODEL_NORM_RMS_PLUS1     /* Gemma: x / rms(x) * (1 + w), computed in fp32 */
} ls_model_norm;

typedef enum ls_model_pos {
  LS_MODEL_POS_LEARNED = 0,   /* absolute learned position embeddings (gpt2, bert, opt+2) */
  LS_MODEL_POS_ROPE,          /* rotary, rotate-half convention */
  LS_MODEL_POS_ALIBI,         /* bloom, falcon with alibi */
  LS_MODEL_POS_SINUSOIDAL,    /* fixed sinusoids (whisper encoder, distilbert option) */
  LS_MODEL_POS_RELATIVE,      /* T5 relative attention buckets */
  LS_MODEL_POS_NONE
} ls_model_pos;

typedef struct ls_model_sem {
  int64_t hidden, n_layers, n_heads, n_kv_heads, head_dim, intermediate, vocab, max_pos;
  int64_t n_layers_decoder;   /* encoder-decoder (t5, whisper): decoder layers; else 0 */
  int64_t n_experts, top_k;   /* 0 when not MoE */
  int64_t moe_intermediate, shared_expert_intermediate; /* qwen2_moe; 0 otherwise */
  int64_t sliding_window;     /* 0 when none */
  int64_t num_labels, type_vocab;
  ls_model_norm norm;
  double norm_eps;
  const char *act;            /* upstream ACT2FN name: "silu", "gelu", "gelu_new",
                                 "gelu_pytorch_tanh", "relu", "gelu_fast", ... */
  int gated_mlp;              /* act(gate(x)) * up(x) (llama style) */
  ls_model_pos pos;
  double rope_theta;
  double partial_rotary;      /* fraction of head_dim rotated (phi, neox); 1.0 otherwise */
  const char *rope_type;      /* "default", "linear", "dynamic", "llama3", "yarn",
                                 "longrope", "su" (from rope_scaling.type/rope_type) */
  double rope_factor;         /* rope_scaling.factor, 1.0 when none */
  double rope_low_freq_factor, rope_high_freq_factor; /* llama3 */
  int64_t rope_original_max_pos; /* llama3/yarn/longrope original context, 0 if unset */
  const ls_json *rope_scaling;   /* the raw object (borrowed), NULL when null/absent */
  int tie_embeddings;
  int qkv_bias, attn_out_bias, mlp_bias;
  int parallel_block;         /* attention and MLP read the same input (phi, neox, falcon) */
  int post_norm;              /* norm after the residual add (bert, roberta, distilbert, opt-350m) */
  int causal;                 /* decoder-style causal mask */
  int is_encoder_decoder;
  double embed_scale;         /* multiply embeddings by this (gemma: sqrt(hidden)); 1.0 */
  double attn_logit_softcap, final_logit_softcap; /* gemma2; 0 when none */
  double query_pre_attn_scalar; /* gemma2; 0 when 1/sqrt(head_dim) is used */
  double initializer_range;
  const char *torch_dtype;    /* "float32", "bfloat16", "float16" (default "float32") */
} ls_model_sem;

/* How far the figures of a model can be trusted (see docs/figures.md#readings). */
typedef enum ls_model_reading {
  LS_MODEL_READING_EXACT = 0, /* model_type names a family layerscope models */
  LS_MODEL_READING_INFERRED,  /* a modelled family inferred for a config without (a known)
                                 model_type: from architectures, the model's name in its path
                                 (as AutoConfig does) or its keys; reading_note says which */
  LS_MODEL_READING_GENERIC,   /* a type layerscope does not model, read as a llama-style
                                 decoder because the caller asked (ls_model_opts.generic):
                                 the figures are not the model's */
  LS_MODEL_READING_NONE       /* a type layerscope does not model: no tree, no figures */
} ls_model_reading;

/* "exact", "inferred", "generic", "none". Static. */
const char *ls_model_reading_name(ls_model_reading r);

typedef enum ls_model_head {
  LS_MODEL_HEAD_BASE = 0,     /* ...Model: backbone only, no prefix on names */
  LS_MODEL_HEAD_CAUSAL_LM,    /* ...ForCausalLM, ...LMHeadModel, ...ForConditionalGeneration */
  LS_MODEL_HEAD_MASKED_LM,    /* ...ForMaskedLM */
  LS_MODEL_HEAD_PRETRAINING,  /* BertForPreTraining (MLM + NSP) */
  LS_MODEL_HEAD_SEQ_CLS,      /* ...ForSequenceClassification (num_labels) */
  LS_MODEL_HEAD_TOKEN_CLS,    /* ...ForTokenClassification */
  LS_MODEL_HEAD_QA,           /* ...ForQuestionAnswering */
  LS_MODEL_HEAD_IMAGE_CLS,    /* ViTForImageClassification */
  LS_MODEL_HEAD_ENCODER       /* T5EncoderModel: shared embedding + encoder stack only */
} ls_model_head;

typedef struct ls_model {
  ls_model_family family;
  const char *model_type;        /* as written ("llama", "qwen3_next"), or the type inferred
                                    for a config without one; "unknown" when none */
  ls_model_reading reading;
  const char *reading_note;      /* one sentence: what was inferred or why there is no exact
                                    reading; NULL for an exact reading (owned by the model) */
  const char *architecture;      /* class built: "LlamaForCausalLM", "BertModel" */
  ls_model_head head;
  const char *base_prefix;       /* prefix of backbone names in this class: "model.",
                                    "transformer.", "bert.", "" for a base class */
  /* resolved config: one value per known key, family keys first then common keys */
  ls_model_value *values;  size_t n_values;
  ls_model_issue *issues;  size_t n_issues;
  size_t n_errors;               /* issues with severity ERROR (JSON syntax errors included) */
  ls_model_sem sem;
  ls_model_module *modules; size_t n_modules;   /* pre-order; modules[0] is the root */
  ls_model_tensor *tensors; size_t n_tensors;   /* registration (state_dict) order */
  int64_t params;                /* unique parameters (tied counted once) */
  int64_t params_active;         /* per token: MoE counts top_k experts (+ shared); else params */
  int64_t params_embedding;      /* token (+ position, type) embedding tables, unique */
  int64_t params_mtp;            /* unique parameters of checkpoint-only MTP layers (0: none);
                                    not in params */
  const ls_json_doc *doc;        /* borrowed or owned doc (see ownership above) */
  void *priv;                    /* internal */
  size_t n_json_errors;          /* of n_errors, JSON syntax errors: the tree is still built
                                    from what parsed (an editor mid-typing keeps its hovers);
                                    any other error leaves the tree empty (n_modules == 0) */
} ls_model;

typedef struct ls_model_opts {
  const char *arch;        /* NULL: use architectures[0]; else a class name to build instead
                              ("DistilBertModel") or "base" for the family's base model */
  int64_t num_labels;      /* 0: from the config (num_labels / id2label, default 2) */
  int generic;             /* a model_type layerscope does not model is read as a llama-style
                              decoder (READING_GENERIC) instead of getting no tree (NONE) */
  const char *path;        /* the config's path or URI (may be NULL): a config without
                              model_type is recognised from the model name in it, as
                              AutoConfig does; ls_model_load uses its `file` when NULL */
  int64_t max_layers;      /* > 0: keep only the first max_layers layers (the layer count
                              value, e.g. num_hidden_layers, is lowered before the tree is
                              built): `--layers N`, to run a slice of a model too big for
                              memory. 0: as the config says */
} ls_model_opts;

/* ---------------------------------------------------------------- building */

/* Builds the model from a parsed doc (which may contain syntax errors: whatever parsed is
 * used). Returns 0 with *out set even when the config has errors (see out->issues and
 * out->n_errors); LS_ENOMEM or LS_EINVAL (no object at the root) otherwise, with d set.
 * The doc is borrowed and must outlive the model. opts may be NULL. */
int ls_model_build(const ls_json_doc *doc, const ls_model_opts *opts, ls_model **out,
                   ls_diag *d);
/* 1 when a JSON document without model_type and architectures is still a model config:
 * a legacy one whose path names a model type (as AutoConfig reads it) or whose keys are
 * those of a family's legacy config (recognise.c). path may be NULL. */
int ls_model_is_legacy_config(const ls_json_doc *doc, const char *path);
/* Why a built model has no module tree, as one sentence for hovers and messages ("model_type
 * \"qwen3_next\" is not a family layerscope models (supported: ...)", "the config has
 * errors"); NULL when it has one. Owned by the model or static. */
const char *ls_model_no_tree_reason(const ls_model *m);
/* Parses text and builds; the model owns the parsed doc. Fails with LS_EPARSE on JSON
 * syntax errors (diag: "file:line:col: invalid JSON: ...", d->line, d->col; *out NULL) and
 * LS_EFORMAT when the config has errors (diag: the first error, naming key and value; *out
 * is still set so the caller can list every issue, and must be freed). file (may be NULL)
 * is used in messages. */
int ls_model_load(const char *text, size_t len, const char *file, const ls_model_opts *opts,
                  ls_model **out, ls_diag *d);
/* Reads the file and calls ls_model_load (the model owns the text). */
int ls_model_load_file(const char *path, const ls_model_opts *opts, ls_model **out,
                       ls_diag *d);
/* ls_model_load over text the model then owns (stolen: freed with the model, or here when
 * no model came back): a config made in memory (a GGUF file's, core/engine/source.h). */
int ls_model_load_owned(char *text, size_t len, const char *file, const ls_model_opts *opts, ls_model **out,
                        ls_diag *d);
void ls_model_free(ls_model *m);

/* ---------------------------------------------------------------- queries */

/* Value index of a key by canonical name or alias, or -1. */
int ls_model_value_index(const ls_model *m, const char *key);
const ls_model_value *ls_model_value_get(const ls_model *m, const char *key);
/* The first value with this role (e.g. LS_MODEL_ROLE_N_HEADS), or NULL. */
const ls_model_value *ls_model_value_by_role(const ls_model *m, ls_model_role role);
/* Value index whose key or value span contains a byte offset, or -1. */
int ls_model_value_at(const ls_model *m, size_t offset);

int ls_model_module_find(const ls_model *m, const char *name);  /* index or -1 */
int ls_model_tensor_find(const ls_model *m, const char *name);  /* index or -1 */

/* Tensors shaped by key `key` (value index): writes up to cap indices, returns the total
 * count. The unique parameter count of those tensors goes to *params (may be NULL). */
size_t ls_model_key_tensors(const ls_model *m, int key, int *out, size_t cap, int64_t *params);
/* Modules configured by key `key`: same convention. Only the outermost modules are listed: a
 * module is listed when the key is in its keys and in none of its ancestors' (so the line of
 * intermediate_size gives every MLP, not also their projections). */
size_t ls_model_key_modules(const ls_model *m, int key, int *out, size_t cap);

/* The config key a module is best located at (for a debugger's stack frame source line):
 * its def_key when that key is in the file, else the key of its kind's defining role
 * (attention: the head count; MLP: the intermediate size; expert: the MoE intermediate
 * size; MoE block, router: the expert count; the root: architectures, else model_type; a
 * module list: its first entry's def_key, the count of layers or experts), else the first
 * key present in the file among its keys, else its parent's; -1 when none is in the file. */
int ls_model_module_def_key(const ls_model *m, int module);

/* Formats a value for display ("4096", "1e-05", "\"silu\"", "null", "{...}"). */
int ls_model_value_format(const ls_model_value *v, char *buf, size_t cap);

#endif
