/* recognise.c: which family a config is, when model_type does not say so plainly. The list
 * of every model_type transformers knows (upstream_types.def) keeps layerscope honest: such a
 * type is never taken for a typo of a family layerscope models, and a config without
 * model_type is recognised the way AutoConfig recognises it, by the longest type name found
 * in the model's name (its file or directory name, or the models--org--name directory of a
 * Hugging Face cache). Configs older than model_type that carry no usable name are
 * recognised from the keys only their family writes (key signature); each inference is
 * described in one sentence that the reading carries (model.h: reading_note). */
#include <stdio.h>
#include <string.h>

#include "core/model/model_int.h"

/* ---------------------------------------------------------------- upstream types */

static const char *const k_upstream[] = {
#define X(t) t,
#include "core/model/upstream_types.def"
#undef X
};
#define N_UPSTREAM (sizeof k_upstream / sizeof k_upstream[0])

int ls_model_type_is_upstream(const char *t) {
  if (!t) return 0;
  for (size_t i = 0; i < N_UPSTREAM; i++)
    if (strcmp(k_upstream[i], t) == 0) return 1;
  return 0;
}

const char *ls_model_supported_types(void) {
  static char buf[1024];
  static int done;
  if (!done) { /* built once from families.def; a race writes the same bytes */
    size_t n = 0;
    for (int f = 1; f < LS_MODEL_FAMILY_COUNT && n + 32 < sizeof buf; f++)
      n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", f > 1 ? ", " : "",
                            ls_model_family_name((ls_model_family)f));
    done = 1;
  }
  return buf;
}

/* ---------------------------------------------------------------- the model's name */

/* Copies path component [s, e) lowercased into out. */
static void comp_copy(const char *s, const char *e, char *out, size_t cap) {
  size_t n = 0;
  for (; s < e && n + 1 < cap; s++) out[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
  out[n] = 0;
}

/* The components of a path that name the model: the file name when it is not plain
 * config.json ("roberta-base.config.json"), its directory ("roberta-base/config.json"), and in
 * a Hugging Face cache (".../models--FacebookAI--roberta-base/snapshots/<hash>/config.json")
 * the models-- directory. Other directories of the path (home, project) are not the model's
 * name and are never searched: "/home/me/compiled/config.json" is not an LED model. */
static size_t name_components(const char *path, char out[3][160]) {
  const char *uri = strstr(path, "://");
  if (uri) path = uri + 3;
  const char *comp[64][2];
  size_t n = 0;
  for (const char *s = path; *s && n < 64;) {
    while (*s == '/' || *s == '\\') s++;
    if (!*s) break;
    const char *e = s;
    while (*e && *e != '/' && *e != '\\') e++;
    comp[n][0] = s;
    comp[n][1] = e;
    n++;
    s = e;
  }
  size_t k = 0;
  if (n == 0) return 0;
  const char *fs = comp[n - 1][0], *fe = comp[n - 1][1];
  if (!((size_t)(fe - fs) == 11 && strncmp(fs, "config.json", 11) == 0)) comp_copy(fs, fe, out[k++], 160);
  if (n >= 2) comp_copy(comp[n - 2][0], comp[n - 2][1], out[k++], 160);
  for (size_t i = 0; i + 1 < n; i++)
    if (comp[i + 1][1] - comp[i + 1][0] == 9 && strncmp(comp[i + 1][0], "snapshots", 9) == 0 &&
        strncmp(comp[i][0], "models--", 8) == 0 && k < 3)
      comp_copy(comp[i][0], comp[i][1], out[k++], 160);
  return k;
}

const char *ls__type_from_path(const char *path, char *where, size_t cap) {
  if (!path || !*path) return NULL;
  char names[3][160];
  size_t k = name_components(path, names);
  const char *best = NULL;
  size_t best_len = 0;
  for (size_t c = 0; c < k; c++) {
    for (size_t i = 0; i < N_UPSTREAM; i++) {
      size_t l = strlen(k_upstream[i]);
      if (l <= best_len) continue;
      /* AutoConfig matches any substring; a type of four letters or fewer must start a word
       * of the name here, so that "compiled" is not LED nor "adopt" OPT */
      const char *hit = NULL;
      for (const char *h = strstr(names[c], k_upstream[i]); h; h = strstr(h + 1, k_upstream[i])) {
        int word_start = h == names[c] || !((h[-1] >= 'a' && h[-1] <= 'z') || (h[-1] >= '0' && h[-1] <= '9'));
        if (l >= 5 || word_start) { hit = h; break; }
      }
      if (hit) {
        best = k_upstream[i];
        best_len = l;
        snprintf(where, cap, "%s", names[c]);
      }
    }
    if (best) break; /* the nearest component that names a type wins */
  }
  return best;
}

/* ---------------------------------------------------------------- key signatures */

static int has(const ls_json *root, const char *k) { return ls_json_get(root, k) != NULL; }

static int64_t int_of(const ls_json *root, const char *k, int64_t def) {
  const ls_json *v = ls_json_get(root, k);
  return v && v->kind == LS_JSON_NUMBER && v->u.num.is_integer && v->u.num.fits_int64 ? v->u.num.int_value : def;
}

/* Families whose configs were written before model_type existed (transformers 2.x), told
 * apart by keys only their config class writes. */
ls_model_family ls__family_from_keys(const ls_json *root, char *why, size_t cap) {
  if (has(root, "n_embd") && has(root, "n_layer") && has(root, "n_head") && !has(root, "afn")) {
    snprintf(why, cap, "GPT-2's keys n_embd, n_layer, n_head");
    return LS_MODEL_FAMILY_GPT2;
  }
  if (has(root, "dim") && has(root, "n_layers") && has(root, "n_heads") && has(root, "hidden_dim")) {
    snprintf(why, cap, "DistilBERT's keys dim, n_layers, n_heads, hidden_dim");
    return LS_MODEL_FAMILY_DISTILBERT;
  }
  if (has(root, "d_model") && has(root, "d_kv") && has(root, "d_ff") && has(root, "num_layers")) {
    snprintf(why, cap, "T5's keys d_model, d_kv, d_ff, num_layers");
    return LS_MODEL_FAMILY_T5;
  }
  if (has(root, "hidden_size") && has(root, "num_attention_heads") && has(root, "type_vocab_size") &&
      has(root, "attention_probs_dropout_prob")) {
    /* RoBERTa offsets positions by padding_idx + 1 (514 rows for 512 tokens) and has a single
     * token type; BERT has 512 and 2 */
    int64_t mp = int_of(root, "max_position_embeddings", 512), tv = int_of(root, "type_vocab_size", 2);
    if (tv == 1 && mp % 2 == 0 && mp > 2 && ((mp - 2) & (mp - 3)) == 0) {
      snprintf(why, cap, "BERT-style keys with RoBERTa's type_vocab_size 1 and max_position_embeddings "
                         "%lld (2 + a power of two: positions start after padding_idx)", (long long)mp);
      return LS_MODEL_FAMILY_ROBERTA;
    }
    snprintf(why, cap, "BERT's keys type_vocab_size, attention_probs_dropout_prob");
    return LS_MODEL_FAMILY_BERT;
  }
  return LS_MODEL_FAMILY_UNKNOWN;
}

int ls_model_is_legacy_config(const ls_json_doc *doc, const char *path) {
  if (!doc || !doc->root || doc->root->kind != LS_JSON_OBJECT) return 0;
  char buf[200];
  /* a name alone is not enough (package.json under a "bert-app" folder): the object must also
   * have the keys of some model config */
  int looks = ls_json_get(doc->root, "vocab_size") || ls_json_get(doc->root, "hidden_size") ||
              ls_json_get(doc->root, "d_model") || ls_json_get(doc->root, "n_embd");
  if (looks && ls__type_from_path(path, buf, sizeof buf)) return 1;
  return ls__family_from_keys(doc->root, buf, sizeof buf) != LS_MODEL_FAMILY_UNKNOWN;
}
