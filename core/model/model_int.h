/* model_int.h (internal to core/model): the private state of a model under construction and
 * the helpers shared by resolve.c (config values), build.c (module tree) and query.c. */
#ifndef LS_MODEL_INT_H
#define LS_MODEL_INT_H

#include "core/base/alloc.h"
#include "core/base/arena.h"
#include "core/model/family.h"

#define LS__MAX_DERIVED 48
#define LS__MAX_LOOPVARS 4
#define LS__MAX_MODULES (1 << 18) /* 262k: 3x the largest real trees (DeepSeek-V3, 256 experts x 58 layers: ~60k modules) */

typedef struct ls__priv {
  ls_arena arena;               /* names, messages, strings */
  ls_json_doc *owned_doc;       /* set by ls_model_load */
  char *owned_text;             /* set by ls_model_load_file */
  const ls__family *fam;        /* tables used (llama's for UNKNOWN) */
  unsigned char *state;         /* [n_values] 0 unresolved, 1 resolving, 2 done */
  size_t cap_issues, cap_modules, cap_tensors;
  int64_t derived_val[LS__MAX_DERIVED];
  ls_model_keyset derived_deps[LS__MAX_DERIVED];
  size_t n_derived_done;
  char loopvar_name[LS__MAX_LOOPVARS];
  int64_t loopvar_val[LS__MAX_LOOPVARS];
  int n_loopvars;
  int loopvar_used;             /* set when a lookup read a loop variable (tree.c caching) */
  int cur_layer, cur_expert;
  const char *dtype;            /* tensor storage dtype from torch_dtype: "f32", "bf16", "f16" */
  /* ties whose target comes later in state_dict order (DeepSeek-V3's MTP head is the
   * lm_head built after the backbone): resolved when the tree is complete */
  int pend_tensor[8];
  const char *pend_target[8];
  int n_pend;
} ls__priv;

/* The family of a type layerscope does not model (no keys of its own, no rows). */
extern const ls__family ls__family_none;
/* recognise.c: the upstream model_type named in a config's path (longest match in the
 * components that name the model; `where` gets that component), or NULL; and the family of a
 * legacy config from the keys only it writes (`why` says which), or UNKNOWN. */
const char *ls__type_from_path(const char *path, char *where, size_t cap);
ls_model_family ls__family_from_keys(const ls_json *root, char *why, size_t cap);

/* Whether a JSON error stops the reading. Python's NaN / Infinity / -Infinity do not: the
 * configs are read by Python's json module, which accepts them (Mamba-2 configs carry
 * "time_step_limit": [0.0, Infinity]); `check` still says they are not strict JSON. */
static inline int ls__json_error_fatal(const ls_json_error *e) { return e->kind != LS_JSON_ERR_PYTHON_NUMBER; }
static inline size_t ls__json_fatal_errors(const ls_json_doc *doc) {
  size_t n = 0;
  for (size_t i = 0; i < doc->n_errors; i++) n += (size_t)ls__json_error_fatal(&doc->errors[i]);
  return n;
}

int ls__issue_add(ls_model *m, ls_model_severity sev, const char *code, int key,
                  ls_json_span span, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int ls__value_index_n(const ls_model *m, const char *name, size_t len);
int ls__values_read(ls_model *m, const ls_json *root);
int ls__values_resolve(ls_model *m);
int ls__derived_eval(ls_model *m);
int ls__lookup(void *ctx, const char *name, size_t len, int64_t *val, ls_model_keyset *deps);
const char *ls__lookup_str(void *ctx, const char *name, size_t len, ls_model_keyset *deps);
int ls__in_list(void *ctx, const char *name, size_t len, int64_t x, ls_model_keyset *deps);
int ls__item_is(void *ctx, const char *name, size_t len, int64_t x, const char *lit, size_t lit_len,
                ls_model_keyset *deps);
int ls__present(void *ctx, const char *name, size_t len, ls_model_keyset *deps);
/* The expression environment over a model under construction. */
#define LS__ENV(m) {ls__lookup, ls__lookup_str, ls__in_list, (m), ls__item_is, ls__present}
/* Value of a derived name, or def when the family has none. */
int64_t ls__derived_get(const ls_model *m, const char *name, int64_t def);
int ls__tree_build(ls_model *m);
/* storage.c: bytes of the weights as the checkpoint stores them (quantization_config), and a
 * description of the format; LS_EUNSUPPORTED for a quant_method that is not modelled (fmt
 * says so), LS_EOVERFLOW. */
int ls__stored_bytes(const ls_model *m, uint64_t *bytes, char *fmt, size_t cap);
void ls__sem_fill(ls_model *m);

#endif
