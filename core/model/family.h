/* family.h (internal to core/model): how a model family is described as data.
 *
 * A family is a table of keys (ls_model_keyinfo: name, aliases, type, upstream default as an
 * expression) plus module templates: rows that open a module, add a parameter tensor, or
 * repeat a block per layer/expert. Every shape, count and condition is a small expression
 * over the config keys (expr.c), e.g. "num_key_value_heads*head_dim, hidden_size". The
 * builder (build.c) evaluates them and records which keys each expression read, which is how
 * "which tensors does this key shape" falls out without any per-family code.
 *
 * Key names may be dotted paths into nested configs ("text_config.hidden_size").
 *
 * Row language (ls__frow.op):
 *   'M' open a module   name (relative), type ("{C}" = class prefix), kind, out shape, keys;
 *       for ATTENTION, `arg` = "d_attn | cached kv dim | window | cross [| d_v | latent]"
 *       expressions (d_v: width of AV when the value heads differ; latent: MLA's cached
 *       elements per token); for SSM, `arg` = the elements of its cached state per
 *       sequence (conv state + scan state, whatever the sequence length)
 *   'E' close the module opened last
 *   'L' open a loop: count expression in `arg`; loop variable `name` ("L" layer, "X" expert)
 *       creates numbered child modules "0".."n-1" of type/kind/out given (from `in` when
 *       given: the first index, so DeepSeek's MTP layer after 61 layers is "61"); closed by 'N'
 *   'N' close the loop
 *   'P' parameter tensor on the current module: leaf name, shape; `arg` = tie target (full
 *       name with "{P}" = backbone prefix), `keys` = condition for the tie; `in` = "buffer"
 *       for a persistent buffer, "stacked:<expr>" for experts stacked on dim 0
 *   'B' insert the backbone here (its rows are ls__family.backbone)
 * Every row has an optional condition `cond` (NULL = always); a false 'M'/'L' skips the
 * whole module/loop.
 *
 * Shapes of activations: comma-separated dims, each "B", "S" or an expression. */
#ifndef LS_MODEL_FAMILY_H
#define LS_MODEL_FAMILY_H

#include "core/model/model.h"

typedef struct ls__frow {
  char op;
  const char *cond;
  const char *name;
  const char *type;
  ls_model_kind kind;
  const char *shape;   /* P: tensor shape; M/L: output activation shape */
  const char *arg;     /* L: count; P: tie target */
  const char *keys;    /* M/L: extra configuring keys (space separated); P: tie condition */
  const char *in;      /* M: input activation shape (NULL: same as out) */
} ls__frow;

typedef struct ls__fhead {
  ls_model_head head;
  const char *suffix;  /* class name suffix: "ForCausalLM", "LMHeadModel", "Model" */
  const ls__frow *rows; size_t n_rows; /* root's children; 'B' places the backbone */
} ls__fhead;

typedef struct ls__fderived { const char *name, *expr; } ls__fderived;

typedef struct ls__family {
  ls_model_family id;
  const ls_model_keyinfo *keys; size_t n_keys;
  const ls__fderived *derived; size_t n_derived; /* evaluated in order, may use earlier ones */
  const char *prefix;          /* backbone attribute in head classes: "model", "transformer" */
  const char *backbone_type;   /* "{C}Model" */
  const char *backbone_out;    /* backbone output shape */
  const ls__frow *backbone; size_t n_backbone;
  const ls__fhead *heads; size_t n_heads;  /* heads[0] is the default head */
  /* static semantics; variable ones come from derived values named sem_* (see build.c) */
  ls_model_norm norm;
  ls_model_pos pos;
  int gated_mlp, causal, enc_dec, embed_scale_sqrt, post_norm;
} ls__family;

/* One table per family (family_*.c); NULL for UNKNOWN. */
const ls__family *ls__family_get(ls_model_family f);
/* The common PretrainedConfig keys every family accepts. */
const ls_model_keyinfo *ls__common_keys(size_t *n);

/* ---- expressions (expr.c) ---- */

/* Variable lookup callback: returns 0 and the value (and adds its deps) or LS_ENOENT. */
typedef struct ls__expr_env {
  int (*lookup)(void *ctx, const char *name, size_t len, int64_t *val, ls_model_keyset *deps);
  /* string-valued key for startswith(key, "lit"); NULL when not a string */
  const char *(*lookup_str)(void *ctx, const char *name, size_t len, ls_model_keyset *deps);
  /* inlist(key, v): 1 when the key's array holds integer v */
  int (*in_list)(void *ctx, const char *name, size_t len, int64_t v, ls_model_keyset *deps);
  void *ctx;
  /* itemis(key, i, "lit"): 1 when item i of the key's array is the string lit (layer_types);
   * has(key): 1 when the key is written in the file (not defaulted). May be NULL (0). */
  int (*item_is)(void *ctx, const char *name, size_t len, int64_t i, const char *lit, size_t lit_len,
                 ls_model_keyset *deps);
  int (*present)(void *ctx, const char *name, size_t len, ls_model_keyset *deps);
} ls__expr_env;

/* Evaluates expression src (checked 64-bit integer arithmetic; booleans are 0/1). On error
 * returns LS_EOVERFLOW / LS_EINVAL / LS_ENOENT with a message in err. deps accumulates the
 * keys read (may be NULL). */
int ls__expr_eval(const char *src, const ls__expr_env *env, int64_t *out, ls_model_keyset *deps,
                  char *err, size_t err_cap);

/* Checked arithmetic helpers (return 0 or LS_EOVERFLOW). */
int ls__mul_i64(int64_t a, int64_t b, int64_t *out);
int ls__add_i64(int64_t a, int64_t b, int64_t *out);
int ls__mul_u64(uint64_t a, uint64_t b, uint64_t *out);
int ls__add_u64(uint64_t a, uint64_t b, uint64_t *out);

static inline void ls__keyset_add(ls_model_keyset *s, int key) {
  if (key >= 0 && key < 128) s->w[key >> 6] |= (uint64_t)1 << (key & 63);
}
static inline void ls__keyset_union(ls_model_keyset *a, const ls_model_keyset *b) {
  a->w[0] |= b->w[0];
  a->w[1] |= b->w[1];
}

/* Row helpers for the family tables. */
#define LS_F_MOD(cond, name, type, kind, out, keys)                                            \
  {'M', cond, name, type, LS_MODEL_KIND_##kind, out, NULL, keys, NULL}
#define LS_F_END {'E', NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL}
#define LS_F_LOOP(cond, var, count, type, kind, out, keys)                                     \
  {'L', cond, var, type, LS_MODEL_KIND_##kind, out, count, keys, NULL}
#define LS_F_ENDLOOP {'N', NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL}
#define LS_F_PAR(cond, leaf, shape) {'P', cond, leaf, NULL, 0, shape, NULL, NULL, NULL}
#define LS_F_BUF(cond, leaf, shape) {'P', cond, leaf, NULL, 0, shape, NULL, NULL, "buffer"}
/* experts stacked on dim 0 (n = expression of the expert count) */
#define LS_F_STACKED(cond, leaf, shape, n) {'P', cond, leaf, NULL, 0, shape, NULL, NULL, "stacked:" n}
#define LS_F_LOOP_FROM(cond, var, start, count, type, kind, out, keys)                         \
  {'L', cond, var, type, LS_MODEL_KIND_##kind, out, count, keys, start}
#define LS_F_PARTIE(cond, leaf, shape, target, tiecond)                                        \
  {'P', cond, leaf, NULL, 0, shape, target, tiecond, NULL}
/* An attention module; arg = "d_attn_expr | cached_kv_dim_expr | window_expr | cross(0/1)" */
#define LS_F_ATTN(cond, name, type, out, keys, arg)                                             \
  {'M', cond, name, type, LS_MODEL_KIND_ATTENTION, out, arg, keys, NULL}
#define LS_F_BACKBONE {'B', NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL}
/* A Linear module: weight [out, in], bias [out] when bias_cond holds; activations on
 * [B, S, *] (seq = "S" or a fixed length expression). */
#define LS_F_LINEAR_S(cond, name, out, in, bias_cond, seq)                                     \
  {'M', cond, name, "Linear", LS_MODEL_KIND_LINEAR, "B, " seq ", " out, NULL, NULL,           \
   "B, " seq ", " in},                                                                         \
  LS_F_PAR(NULL, "weight", out ", " in), LS_F_PAR(bias_cond, "bias", out), LS_F_END
#define LS_F_LINEAR(cond, name, out, in, bias_cond) LS_F_LINEAR_S(cond, name, out, in, bias_cond, "S")
/* GPT-2 Conv1D: weight [in, out] */
#define LS_F_CONV1D(name, in, out)                                                              \
  {'M', NULL, name, "Conv1D", LS_MODEL_KIND_CONV1D, "B, S, " out, NULL, NULL, "B, S, " in},   \
  LS_F_PAR(NULL, "weight", in ", " out), LS_F_PAR(NULL, "bias", out), LS_F_END
#define LS_F_LAYERNORM_S(cond, name, dim, bias_cond, eps, seq)                                  \
  {'M', cond, name, "LayerNorm", LS_MODEL_KIND_LAYERNORM, "B, " seq ", " dim, NULL, eps, NULL}, \
  LS_F_PAR(NULL, "weight", dim), LS_F_PAR(bias_cond, "bias", dim), LS_F_END
#define LS_F_LAYERNORM(cond, name, dim, eps) LS_F_LAYERNORM_S(cond, name, dim, NULL, eps, "S")
#define LS_F_RMSNORM(cond, name, type, dim, eps)                                                \
  {'M', cond, name, type, LS_MODEL_KIND_RMSNORM, "B, S, " dim, NULL, eps, NULL},               \
  LS_F_PAR(NULL, "weight", dim), LS_F_END
#define LS_F_EMBEDDING(cond, name, num, dim, keys)                                              \
  {'M', cond, name, "Embedding", LS_MODEL_KIND_EMBEDDING, "B, S, " dim, NULL, keys, "B, S"},    \
  LS_F_PAR(NULL, "weight", num ", " dim), LS_F_END

#define LS_F_N(a) (sizeof(a) / sizeof((a)[0]))

/* Key row helper: K(name, aliases, type, flags, role, default, doc, enums) */
#define LS_F_KEY(name, aliases, type, flags, role, def, doc, enums)                            \
  {name, aliases, LS_MODEL_VT_##type, flags, LS_MODEL_ROLE_##role, def, doc, enums}

#endif
