/* model.c: building a model from a config. Picks the family (model_type, else the class
 * named in `architectures`, else a generic llama-like reading with a warning), picks the
 * head class from `architectures` (or the caller's override), resolves the config values
 * (resolve.c), fills the semantics the engine needs, and builds the module tree (tree.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/model/model_int.h"

/* ---------------------------------------------------------------- names */

static const char *const k_family_names[] = {"unknown",
#define X(id, type, prefix) type,
#include "core/model/families.def"
#undef X
};
static const char *const k_family_prefixes[] = {"",
#define X(id, type, prefix) prefix,
#include "core/model/families.def"
#undef X
};
static const char *const k_kind_names[] = {
#define X(id, name) name,
#include "core/model/kinds.def"
#undef X
};
static const char *const k_role_names[] = {
#define X(id, name) name,
#include "core/model/roles.def"
#undef X
};

const char *ls_model_family_name(ls_model_family f) {
  return (unsigned)f < LS_MODEL_FAMILY_COUNT ? k_family_names[f] : "unknown";
}
const char *ls_model_family_class_prefix(ls_model_family f) {
  return (unsigned)f < LS_MODEL_FAMILY_COUNT ? k_family_prefixes[f] : "";
}
const char *ls_model_kind_name(ls_model_kind k) {
  return (unsigned)k < LS_MODEL_KIND_COUNT ? k_kind_names[k] : "?";
}
const char *ls_model_reading_name(ls_model_reading r) {
  static const char *const names[] = {"exact", "inferred", "generic", "none"};
  return (unsigned)r < 4 ? names[r] : "none";
}
const char *ls_model_role_name(ls_model_role r) {
  return (unsigned)r < LS_MODEL_ROLE_COUNT ? k_role_names[r] : "?";
}

ls_model_family ls_model_family_from_type(const char *t) {
  if (!t) return LS_MODEL_FAMILY_UNKNOWN;
  for (int f = 1; f < LS_MODEL_FAMILY_COUNT; f++)
    if (strcmp(k_family_names[f], t) == 0) return (ls_model_family)f;
  return LS_MODEL_FAMILY_UNKNOWN;
}

/* Known head suffixes; the longest class prefix followed by one of them wins, so
 * "Qwen2MoeForCausalLM" is qwen2_moe and not qwen2. */
static const struct { const char *suffix; ls_model_head head; } k_suffixes[] = {
    {"ForCausalLM", LS_MODEL_HEAD_CAUSAL_LM},
    {"LMHeadModel", LS_MODEL_HEAD_CAUSAL_LM},
    {"ForConditionalGeneration", LS_MODEL_HEAD_CAUSAL_LM},
    {"ForMaskedLM", LS_MODEL_HEAD_MASKED_LM},
    {"ForPreTraining", LS_MODEL_HEAD_PRETRAINING},
    {"ForSequenceClassification", LS_MODEL_HEAD_SEQ_CLS},
    {"ForTokenClassification", LS_MODEL_HEAD_TOKEN_CLS},
    {"ForQuestionAnswering", LS_MODEL_HEAD_QA},
    {"ForImageClassification", LS_MODEL_HEAD_IMAGE_CLS},
    {"EncoderModel", LS_MODEL_HEAD_ENCODER},
    {"Model", LS_MODEL_HEAD_BASE},
};

/* 1 when family f builds the class suffix (its heads, or its base model). */
static int family_has_suffix(ls_model_family f, const char *suffix) {
  const ls__family *t = ls__family_get(f);
  if (!t) return 0;
  if (strcmp(suffix, "Model") == 0) return 1;
  for (size_t i = 0; i < t->n_heads; i++)
    if (strcmp(t->heads[i].suffix, suffix) == 0) return 1;
  return 0;
}

static int class_split(const char *cls, ls_model_family *fam, ls_model_head *head) {
  size_t best = 0;
  int found = 0, best_has = 0;
  for (int f = 1; f < LS_MODEL_FAMILY_COUNT; f++) {
    size_t pl = strlen(k_family_prefixes[f]);
    if (strncmp(cls, k_family_prefixes[f], pl) != 0 || pl < best) continue;
    for (size_t s = 0; s < sizeof k_suffixes / sizeof k_suffixes[0]; s++)
      if (strcmp(cls + pl, k_suffixes[s].suffix) == 0) {
        /* families sharing a prefix (gemma3_text's Gemma3ForCausalLM, gemma3's
         * Gemma3ForConditionalGeneration): the one that builds this class wins */
        int has = family_has_suffix((ls_model_family)f, k_suffixes[s].suffix);
        if (pl == best && found && best_has >= has) break;
        best = pl;
        best_has = has;
        *fam = (ls_model_family)f;
        *head = k_suffixes[s].head;
        found = 1;
        break;
      }
  }
  if (!found) {
    static const struct { const char *prefix; ls_model_family fam; } aliases[] = {
#define X(prefix, id) {prefix, LS_MODEL_FAMILY_##id},
#include "core/model/class_aliases.def"
#undef X
    };
    for (size_t a = 0; a < sizeof aliases / sizeof aliases[0] && !found; a++) {
      size_t pl = strlen(aliases[a].prefix);
      if (strncmp(cls, aliases[a].prefix, pl) != 0) continue;
      for (size_t s = 0; s < sizeof k_suffixes / sizeof k_suffixes[0]; s++)
        if (strcmp(cls + pl, k_suffixes[s].suffix) == 0) {
          *fam = aliases[a].fam;
          *head = k_suffixes[s].head;
          found = 1;
          break;
        }
    }
  }
  return found;
}

ls_model_family ls_model_family_from_class(const char *cls) {
  ls_model_family f = LS_MODEL_FAMILY_UNKNOWN;
  ls_model_head h;
  if (cls) class_split(cls, &f, &h);
  return f;
}

/* ---------------------------------------------------------------- keys */

const ls_model_keyinfo *ls_model_family_keys(ls_model_family f, size_t *n) {
  const ls__family *fam = ls__family_get(f);
  *n = fam ? fam->n_keys : 0;
  return fam ? fam->keys : NULL;
}

const ls_model_keyinfo *ls_model_common_keys(size_t *n) { return ls__common_keys(n); }

const ls_model_keyinfo *ls_model_family_key_find(ls_model_family f, const char *name) {
  size_t n, nc;
  const ls_model_keyinfo *k = ls_model_family_keys(f, &n);
  const ls_model_keyinfo *c = ls__common_keys(&nc);
  size_t len = strlen(name);
  for (int pass = 0; pass < 2; pass++) {
    const ls_model_keyinfo *t = pass ? c : k;
    size_t tn = pass ? nc : n;
    for (size_t i = 0; i < tn; i++)
      if (strcmp(t[i].name, name) == 0) return &t[i];
    for (size_t i = 0; i < tn; i++) {
      const char *s = t[i].aliases;
      while (s && *s) {
        while (*s == ' ') s++;
        const char *e = s;
        while (*e && *e != ' ') e++;
        if ((size_t)(e - s) == len && strncmp(s, name, len) == 0) return &t[i];
        s = e;
      }
    }
  }
  return NULL;
}

/* ---------------------------------------------------------------- semantics */

int64_t ls__derived_get(const ls_model *m, const char *name, int64_t def) {
  const ls__priv *p = m->priv;
  for (size_t i = 0; i < p->n_derived_done; i++)
    if (strcmp(p->fam->derived[i].name, name) == 0) return p->derived_val[i];
  return def;
}

static const ls_model_value *role(const ls_model *m, ls_model_role r) {
  return ls_model_value_by_role(m, r);
}
static int64_t role_i(const ls_model *m, ls_model_role r, int64_t def) {
  const ls_model_value *v = role(m, r);
  if (!v || v->kind == LS_MODEL_VT_NULL) return def;
  if (v->kind != LS_MODEL_VT_FLOAT) return v->i;
  /* an out-of-range or NaN float cannot be an integer (the cast would be undefined) */
  return v->f >= -9.2e18 && v->f <= 9.2e18 ? (int64_t)v->f : def;
}
static double role_f(const ls_model *m, ls_model_role r, double def) {
  const ls_model_value *v = role(m, r);
  if (!v || v->kind == LS_MODEL_VT_NULL) return def;
  return v->kind == LS_MODEL_VT_FLOAT ? v->f : (double)v->i;
}

static double json_num(const ls_json *o, const char *k, double def) {
  const ls_json *v = ls_json_get(o, k);
  return v && v->kind == LS_JSON_NUMBER ? v->u.num.value : def;
}

void ls__sem_fill(ls_model *m) {
  ls__priv *p = m->priv;
  const ls__family *f = p->fam;
  ls_model_sem *s = &m->sem;
  memset(s, 0, sizeof *s);
  s->hidden = role_i(m, LS_MODEL_ROLE_HIDDEN, 0);
  s->n_layers = ls__derived_get(m, "sem_layers", role_i(m, LS_MODEL_ROLE_N_LAYERS, 0));
  s->n_layers_decoder = ls__derived_get(m, "sem_layers_decoder", 0);
  s->n_heads = role_i(m, LS_MODEL_ROLE_N_HEADS, 0);
  s->n_kv_heads = ls__derived_get(m, "n_kv", role_i(m, LS_MODEL_ROLE_N_KV_HEADS, s->n_heads));
  s->head_dim = ls__derived_get(m, "hd", role_i(m, LS_MODEL_ROLE_HEAD_DIM, 0));
  s->intermediate = ls__derived_get(m, "ffn", role_i(m, LS_MODEL_ROLE_INTERMEDIATE, 0));
  s->vocab = role_i(m, LS_MODEL_ROLE_VOCAB, 0);
  s->max_pos = ls__derived_get(m, "sem_max_pos", role_i(m, LS_MODEL_ROLE_MAX_POS, 0));
  s->n_experts = ls__derived_get(m, "sem_experts", role_i(m, LS_MODEL_ROLE_N_EXPERTS, 0));
  s->top_k = s->n_experts ? role_i(m, LS_MODEL_ROLE_TOP_K, 0) : 0;
  s->moe_intermediate = s->n_experts ? ls__derived_get(m, "moe_ffn", 0) : 0;
  s->shared_expert_intermediate = s->n_experts ? ls__derived_get(m, "shared_ffn", 0) : 0;
  s->sliding_window = ls__derived_get(m, "sem_window", 0);
  s->num_labels = role_i(m, LS_MODEL_ROLE_NUM_LABELS, 2);
  s->type_vocab = role_i(m, LS_MODEL_ROLE_TYPE_VOCAB, 0);
  s->norm = (ls_model_norm)ls__derived_get(m, "sem_norm", f->norm);
  s->norm_eps = role_f(m, LS_MODEL_ROLE_NORM_EPS, 1e-5);
  const ls_model_value *act = role(m, LS_MODEL_ROLE_ACT);
  s->act = act && act->kind == LS_MODEL_VT_STRING ? act->s : "gelu";
  s->gated_mlp = (int)ls__derived_get(m, "sem_gated", f->gated_mlp);
  s->pos = (ls_model_pos)ls__derived_get(m, "sem_pos", f->pos);
  s->rope_theta = role_f(m, LS_MODEL_ROLE_ROPE_THETA, 10000.0);
  s->partial_rotary = role_f(m, LS_MODEL_ROLE_PARTIAL_ROTARY, 1.0);
  s->rope_type = "default";
  s->rope_factor = 1.0;
  const ls_model_value *rs = role(m, LS_MODEL_ROLE_ROPE_SCALING);
  if (rs && rs->present && rs->json && rs->json->kind == LS_JSON_OBJECT) {
    s->rope_scaling = rs->json;
    const ls_json *t = ls_json_get(rs->json, "rope_type");
    if (!t || t->kind != LS_JSON_STRING) t = ls_json_get(rs->json, "type");
    if (t && t->kind == LS_JSON_STRING) s->rope_type = t->u.str.s;
    s->rope_factor = json_num(rs->json, "factor", 1.0);
    s->rope_low_freq_factor = json_num(rs->json, "low_freq_factor", 0);
    s->rope_high_freq_factor = json_num(rs->json, "high_freq_factor", 0);
    s->rope_original_max_pos = (int64_t)json_num(rs->json, "original_max_position_embeddings", 0);
  }
  s->tie_embeddings = (int)role_i(m, LS_MODEL_ROLE_TIE, 0);
  s->qkv_bias = (int)ls__derived_get(m, "sem_qkv_bias", 0);
  s->attn_out_bias = (int)ls__derived_get(m, "sem_out_bias", 0);
  s->mlp_bias = (int)ls__derived_get(m, "sem_mlp_bias", 0);
  s->parallel_block = (int)ls__derived_get(m, "sem_parallel", 0);
  s->post_norm = (int)ls__derived_get(m, "sem_post_norm", f->post_norm);
  s->causal = f->causal;
  s->is_encoder_decoder = f->enc_dec;
  s->embed_scale = f->embed_scale_sqrt && s->hidden > 0 ? sqrt((double)s->hidden) : 1.0;
  const ls_model_value *v;
  s->attn_logit_softcap = (v = ls_model_value_get(m, "attn_logit_softcapping")) && v->kind == LS_MODEL_VT_FLOAT ? v->f : 0;
  s->final_logit_softcap = (v = ls_model_value_get(m, "final_logit_softcapping")) && v->kind == LS_MODEL_VT_FLOAT ? v->f : 0;
  s->query_pre_attn_scalar = (v = ls_model_value_get(m, "query_pre_attn_scalar")) && v->kind != LS_MODEL_VT_NULL ? v->f : 0;
  s->initializer_range = role_f(m, LS_MODEL_ROLE_INIT_RANGE, 0.02);
  const ls_model_value *dt = role(m, LS_MODEL_ROLE_TORCH_DTYPE);
  s->torch_dtype = dt && dt->kind == LS_MODEL_VT_STRING ? dt->s : "float32";
  if (!(dt && dt->present) && m->doc && m->doc->root) {
    /* an MXFP4 checkpoint without torch_dtype loads in bfloat16
     * (Mxfp4HfQuantizer.update_torch_dtype: "Overriding torch_dtype=None with
     * torch_dtype=torch.bfloat16"), and its other tensors are stored so (gpt-oss) */
    const ls_json *q = ls_json_get(m->doc->root, "quantization_config");
    const ls_json *qm = q && q->kind == LS_JSON_OBJECT ? ls_json_get(q, "quant_method") : NULL;
    if (qm && qm->kind == LS_JSON_STRING && strcmp(qm->u.str.s, "mxfp4") == 0) s->torch_dtype = "bfloat16";
  }
}

/* ---------------------------------------------------------------- build */

static void heads_check(ls_model *m) {
  const ls_model_value *h = role(m, LS_MODEL_ROLE_HIDDEN), *n = role(m, LS_MODEL_ROLE_N_HEADS);
  const ls_model_value *hd = role(m, LS_MODEL_ROLE_HEAD_DIM);
  if (!h || !n || h->kind != LS_MODEL_VT_INT || n->kind != LS_MODEL_VT_INT || n->i <= 0) return;
  if (hd && hd->present && hd->valid) return; /* an explicit head_dim decouples them */
  if (h->i % n->i != 0)
    ls__issue_add(m, LS_MODEL_SEV_WARNING, "heads-divide", ls_model_value_index(m, n->info->name),
                  n->present ? n->value_span : h->value_span,
                  "%s = %lld is not divisible by %s = %lld: head_dim is rounded down to %lld",
                  h->info->name, (long long)h->i, n->info->name, (long long)n->i,
                  (long long)(h->i / n->i));
}

static const char *head_suffix(const ls__family *f, ls_model_head h) {
  for (size_t i = 0; i < f->n_heads; i++)
    if (f->heads[i].head == h) return f->heads[i].suffix;
  return "Model";
}

int ls_model_build(const ls_json_doc *doc, const ls_model_opts *opts, ls_model **out,
                   ls_diag *d) {
  *out = NULL;
  if (!doc || !doc->root || doc->root->kind != LS_JSON_OBJECT)
    return ls_diag_set(d, LS_EINVAL, "the config is not a JSON object");
  const ls_json *root = doc->root;
  ls_model *m = ls_calloc(1, sizeof *m);
  ls__priv *p = ls_calloc(1, sizeof *p);
  if (!m || !p) {
    ls_free(m);
    ls_free(p);
    return ls_diag_set(d, LS_ENOMEM, "out of memory building the model");
  }
  m->priv = p;
  m->doc = doc;
  ls_arena_init(&p->arena, 0);
  int rc = LS_ENOMEM;

  /* family: model_type, else (no model_type) architectures, the model's name in the path,
   * the key signature (recognise.c); a type layerscope does not model gets no tree unless
   * the caller asks for the generic reading */
  const ls_json *mt = ls_json_get(root, "model_type");
  const ls_json *archs = ls_json_get(root, "architectures");
  const char *arch0 = NULL;
  if (archs && archs->kind == LS_JSON_ARRAY && archs->u.arr.n > 0 &&
      archs->u.arr.items[0]->kind == LS_JSON_STRING)
    arch0 = archs->u.arr.items[0]->u.str.s;
  if (opts && opts->arch && strcmp(opts->arch, "base") != 0) arch0 = opts->arch;
  ls_model_family fam = LS_MODEL_FAMILY_UNKNOWN;
  ls_model_head head = LS_MODEL_HEAD_CAUSAL_LM;
  int arch_ok = arch0 && class_split(arch0, &fam, &head);
  ls_model_family arch_fam = arch_ok ? fam : LS_MODEL_FAMILY_UNKNOWN;
  char note[512] = "";
  const char *type_name = NULL; /* the model_type as written or as inferred */
  if (mt && mt->kind == LS_JSON_STRING) {
    type_name = mt->u.str.s;
    fam = ls_model_family_from_type(type_name);
    if (fam == LS_MODEL_FAMILY_UNKNOWN && arch_fam != LS_MODEL_FAMILY_UNKNOWN &&
        !ls_model_type_is_upstream(type_name)) {
      /* a custom type (remote code) whose weights are a class layerscope models */
      fam = arch_fam;
      snprintf(note, sizeof note, "model_type \"%s\" is not a transformers type; read as %s from "
               "architectures \"%s\"", type_name, ls_model_family_name(fam), arch0);
    }
  } else if (arch_fam != LS_MODEL_FAMILY_UNKNOWN) {
    fam = arch_fam;
    snprintf(note, sizeof note, "no model_type: read as %s from architectures \"%s\"",
             ls_model_family_name(fam), arch0);
  } else {
    char where[160], why[200];
    const char *t = ls__type_from_path(opts ? opts->path : NULL, where, sizeof where);
    ls_model_family kf;
    if (t) {
      type_name = t;
      fam = ls_model_family_from_type(t);
      snprintf(note, sizeof note, "no model_type: inferred \"%s\" from the model name \"%s\" in "
               "its path, as AutoConfig does", t, where);
    } else if ((kf = ls__family_from_keys(root, why, sizeof why)) != LS_MODEL_FAMILY_UNKNOWN) {
      fam = kf;
      snprintf(note, sizeof note, "no model_type: inferred %s from its keys (%s)",
               ls_model_family_name(fam), why);
    }
  }
  m->family = fam;
  m->model_type = fam != LS_MODEL_FAMILY_UNKNOWN && !(mt && mt->kind == LS_JSON_STRING)
                      ? ls_model_family_name(fam) : type_name ? type_name : "unknown";
  int generic = opts && opts->generic;
  m->reading = fam != LS_MODEL_FAMILY_UNKNOWN ? (note[0] ? LS_MODEL_READING_INFERRED : LS_MODEL_READING_EXACT)
               : generic ? LS_MODEL_READING_GENERIC : LS_MODEL_READING_NONE;
  if (fam == LS_MODEL_FAMILY_UNKNOWN) {
    char lead[sizeof note + 160];
    if (type_name && ls_model_type_is_upstream(type_name))
      snprintf(lead, sizeof lead, "%s%smodel_type \"%s\" is a transformers model type that layerscope "
               "does not model yet", note, note[0] ? "; " : "", type_name);
    else if (type_name)
      snprintf(lead, sizeof lead, "model_type \"%s\" is not a model type layerscope or transformers "
               "knows", type_name);
    else
      snprintf(lead, sizeof lead, "no model_type, and neither architectures, the path nor the keys "
               "name a family");
    if (!(m->reading_note = ls_arena_sprintf(&p->arena, "%s (supported: %s)%s", lead, ls_model_supported_types(),
             generic ? "; the shapes and figures are a generic llama-style reading of the common keys, "
                       "not this model's"
                     : ": no shapes or figures (the generic llama-style reading is available on request)")))
      goto fail;
  } else if (note[0] && !(m->reading_note = ls_arena_strndup(&p->arena, note, strlen(note)))) goto fail;
  p->fam = ls__family_get(m->reading == LS_MODEL_READING_GENERIC ? LS_MODEL_FAMILY_LLAMA : fam);
  if (!p->fam) p->fam = &ls__family_none;
  size_t nc;
  const ls_model_keyinfo *common = ls__common_keys(&nc);
  m->n_values = p->fam->n_keys + nc;
  m->values = ls_calloc(m->n_values, sizeof *m->values);
  p->state = ls_calloc(m->n_values, 1);
  if (!m->values || !p->state) goto fail;
  for (size_t i = 0; i < p->fam->n_keys; i++) m->values[i].info = &p->fam->keys[i];
  for (size_t i = 0; i < nc; i++) m->values[p->fam->n_keys + i].info = &common[i];

  if (ls__json_fatal_errors(doc) > 0) {
    for (size_t i = 0; i < doc->n_errors; i++)
      if (ls__json_error_fatal(&doc->errors[i]) &&
          (rc = ls__issue_add(m, LS_MODEL_SEV_ERROR, "json-syntax", -1, doc->errors[i].span, "%s",
                              doc->errors[i].msg)) != 0)
        goto fail;
    m->n_json_errors = m->n_errors;
  }
  if (fam == LS_MODEL_FAMILY_UNKNOWN) {
    const ls_json_member *mm = ls_json_get_member(root, "model_type");
    rc = ls__issue_add(m, LS_MODEL_SEV_WARNING,
                       mt && mt->kind == LS_JSON_STRING ? "unknown-model-type" : "no-model-type", -1,
                       mm ? mm->value->span : (ls_json_span){0, 0}, "%s", m->reading_note);
    if (rc) goto fail;
  }
  if (m->reading == LS_MODEL_READING_NONE) {
    /* no family tables to read the keys with: the common keys only, no tree */
    m->architecture = arch0 ? arch0 : "";
    m->base_prefix = "";
    m->head = LS_MODEL_HEAD_BASE;
    if ((rc = ls__values_read(m, root)) != 0 || (rc = ls__values_resolve(m)) != 0) goto fail;
    ls__sem_fill(m);
    *out = m;
    return 0;
  }

  /* head */
  if (opts && opts->arch && strcmp(opts->arch, "base") == 0) head = LS_MODEL_HEAD_BASE;
  else if (arch_ok && arch_fam != fam && fam != LS_MODEL_FAMILY_UNKNOWN) {
    /* e.g. model_type "mistral" with a LlamaForCausalLM class: keep the head it names */
    const ls_json_member *am = ls_json_get_member(root, "architectures");
    if ((rc = ls__issue_add(m, LS_MODEL_SEV_WARNING, "unknown-architecture", -1,
                            am ? am->value->span : (ls_json_span){0, 0},
                            "architecture \"%s\" belongs to %s, not to model_type %s: building the "
                            "%s class with the same head", arch0, ls_model_family_name(arch_fam),
                            ls_model_family_name(fam), ls_model_family_name(fam))) != 0)
      goto fail;
  } else if (!arch_ok) {
    if (arch0 && fam != LS_MODEL_FAMILY_UNKNOWN) {
      const ls_json_member *am = ls_json_get_member(root, "architectures");
      if ((rc = ls__issue_add(m, LS_MODEL_SEV_WARNING, "unknown-architecture", -1,
                              am ? am->value->span : (ls_json_span){0, 0},
                              "architecture \"%s\" is not a known %s class: building %s%s",
                              arch0, ls_model_family_name(fam), ls_model_family_class_prefix(fam),
                              p->fam->heads[0].suffix)) != 0)
        goto fail;
    }
    /* a legacy config (no model_type, no architectures) is what AutoModel builds: the base
     * class; any other config without a class gets the family's default head */
    head = !arch0 && m->reading == LS_MODEL_READING_INFERRED ? LS_MODEL_HEAD_BASE : p->fam->heads[0].head;
  }
  int have = head == LS_MODEL_HEAD_BASE;
  for (size_t i = 0; i < p->fam->n_heads && !have; i++) have = p->fam->heads[i].head == head;
  if (!have) {
    if ((rc = ls__issue_add(m, LS_MODEL_SEV_WARNING, "unknown-architecture", -1, (ls_json_span){0, 0},
                            "%s has no head for %s: building the base model", ls_model_family_name(fam),
                            arch0 ? arch0 : "?")) != 0)
      goto fail;
    head = LS_MODEL_HEAD_BASE;
  }
  m->head = head;
  const char *pre = fam == LS_MODEL_FAMILY_UNKNOWN ? (arch0 ? "" : "Llama") : ls_model_family_class_prefix(fam);
  if (fam == LS_MODEL_FAMILY_UNKNOWN && arch0)
    m->architecture = arch0;
  else
    m->architecture = ls_arena_sprintf(&p->arena, "%s%s", pre,
                                       head == LS_MODEL_HEAD_BASE ? (strstr(p->fam->backbone_type, "{C}") ? p->fam->backbone_type + 3 : "Model")
                                                                  : head_suffix(p->fam, head));
  m->base_prefix = head == LS_MODEL_HEAD_BASE || !p->fam->prefix[0] ? "" : ls_arena_sprintf(&p->arena, "%s.", p->fam->prefix);
  if (!m->architecture || !m->base_prefix) goto fail;

  if ((rc = ls__values_read(m, root)) != 0) goto fail;
  if ((rc = ls__values_resolve(m)) != 0) goto fail;
  if (opts && opts->num_labels > 0) {
    int li = ls_model_value_index(m, "num_labels");
    if (li >= 0) { m->values[li].kind = LS_MODEL_VT_INT; m->values[li].i = opts->num_labels; }
  }
  if (opts && opts->max_layers > 0) /* --layers N: a prefix of the layers */
    for (size_t k = 0; k < m->n_values; k++) {
      ls_model_value *v = &m->values[k];
      if (v->info->role == LS_MODEL_ROLE_N_LAYERS && v->kind == LS_MODEL_VT_INT && v->i > opts->max_layers) {
        v->i = opts->max_layers;
        v->f = (double)opts->max_layers;
      }
    }
  if ((rc = ls__derived_eval(m)) != 0) goto fail;
  heads_check(m);
  ls__sem_fill(m);
  p->dtype = strcmp(m->sem.torch_dtype, "bfloat16") == 0 ? "bf16"
             : strcmp(m->sem.torch_dtype, "float16") == 0 ? "f16"
             : strcmp(m->sem.torch_dtype, "float64") == 0 ? "f64" : "f32";
  if (m->n_errors == m->n_json_errors && (rc = ls__tree_build(m)) != 0) goto fail;
  if (m->n_errors > m->n_json_errors) {
    m->n_modules = m->n_tensors = 0;
    m->params = m->params_active = m->params_embedding = 0;
  }
  *out = m;
  return 0;
fail:
  ls_model_free(m);
  return ls_diag_set(d, rc ? rc : LS_ENOMEM, "%s", rc == LS_ENOMEM || rc == 0 ? "out of memory building the model"
                                                                             : "cannot build the model");
}

const char *ls_model_no_tree_reason(const ls_model *m) {
  if (!m) return "no model";
  if (m->n_modules > 0) return NULL;
  if (m->reading == LS_MODEL_READING_NONE && m->reading_note) return m->reading_note;
  return "the config has errors (see the problems it reports)";
}

void ls_model_free(ls_model *m) {
  if (!m) return;
  ls__priv *p = m->priv;
  if (p) {
    ls_arena_deinit(&p->arena);
    ls_free(p->state);
    if (p->owned_doc) ls_json_doc_free(p->owned_doc);
    ls_free(p->owned_text);
    ls_free(p);
  }
  ls_free(m->values);
  ls_free(m->issues);
  ls_free(m->modules);
  ls_free(m->tensors);
  ls_free(m);
}
