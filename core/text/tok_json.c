/* tok_json.c: reads a Hugging Face tokenizer.json (the serialization of tokenizers'
 * TokenizerImpl, "version": "1.0") into an ls_tok, with jansson as the rest of the core
 * reads machine-written JSON (safetensors headers). Every component is checked as the
 * reference's serde code checks it: a missing or mistyped field, an id out of range, a merge
 * whose tokens are not in the vocabulary is an LS_EFORMAT error naming the field by its
 * path ("model.merges[12]"); a component type this reader does not implement (the Unigram
 * model, the Precompiled normalizer, the UnicodeScripts pre-tokenizer, ...) is LS_EUNSUPPORTED
 * naming it. Defaults follow the reference's where a field may be left out. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/jansson_kind.h"
#include "core/text/tok_int.h"

typedef struct rd { ls_tok *t; ls_diag *d; } rd;

/* ---- field helpers ----------------------------------------------------------------- */

static int bad(rd *r, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(rd *r, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ls_diag_set(r->d, LS_EFORMAT, "tokenizer.json: %s: %s", path, msg);
}

static int unsup(rd *r, const char *path, const char *what, const char *name) {
  return ls_diag_set(r->d, LS_EUNSUPPORTED, "tokenizer.json: %s: %s '%.80s' is not supported", path, what, name);
}

/* A string field: *s borrowed from the JSON (valid until it is freed); required unless def. */
static int get_str(rd *r, const json_t *o, const char *path, const char *key, const char *def,
                   const char **s, size_t *n) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) {
    if (!def) return bad(r, path, "'%s' is missing", key);
    *s = def;
    *n = strlen(def);
    return LS_OK;
  }
  if (!json_is_string(v)) return bad(r, path, "'%s' must be a string, not %s", key, ls_jansson_kind(v));
  *s = json_string_value(v);
  *n = json_string_length(v);
  return LS_OK;
}

/* An optional string: *s NULL when missing or null. */
static int get_opt_str(rd *r, const json_t *o, const char *path, const char *key, const char **s, size_t *n) {
  const json_t *v = json_object_get(o, key);
  *s = NULL;
  *n = 0;
  if (!v || json_is_null(v)) return LS_OK;
  if (!json_is_string(v)) return bad(r, path, "'%s' must be a string or null, not %s", key, ls_jansson_kind(v));
  *s = json_string_value(v);
  *n = json_string_length(v);
  return LS_OK;
}

static int get_bool(rd *r, const json_t *o, const char *path, const char *key, int def, int *out) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) { *out = def; return LS_OK; }
  if (!json_is_boolean(v)) return bad(r, path, "'%s' must be true or false, not %s", key, ls_jansson_kind(v));
  *out = json_is_true(v);
  return LS_OK;
}

static int get_uint(rd *r, const json_t *o, const char *path, const char *key, uint64_t def, uint64_t max,
                    uint64_t *out) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) { *out = def; return LS_OK; }
  if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
    return bad(r, path, "'%s' must be an integer in [0, %llu]", key, (unsigned long long)max);
  *out = (uint64_t)json_integer_value(v);
  return LS_OK;
}

/* A serde char: a string of exactly one character. */
static int get_char(rd *r, const json_t *o, const char *path, const char *key, uint32_t def, uint32_t *cp) {
  const char *s;
  size_t n;
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) { *cp = def; return LS_OK; }
  int rc = get_str(r, o, path, key, NULL, &s, &n);
  if (rc) return rc;
  int k;
  if (n == 0 || (*cp = ls__utf8_next(s, &k), (size_t)k != n))
    return bad(r, path, "'%s' must be a single character", key);
  return LS_OK;
}

static const char *type_of(const json_t *o) {
  const json_t *v = json_object_get(o, "type");
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *sub(char *buf, size_t cap, const char *path, const char *key, long idx) {
  if (idx >= 0) snprintf(buf, cap, "%s.%s[%ld]", path, key, idx);
  else snprintf(buf, cap, "%s.%s", path, key);
  return buf;
}

/* The arena copy of a JSON string (NUL-terminated; may hold NUL). */
static const char *keep(rd *r, const char *s, size_t n) { return ls_arena_strndup(&r->t->arena, s, n); }

/* A Split/Replace pattern: {"String": s} or {"Regex": r}. */
static int get_pattern(rd *r, const json_t *o, const char *path, ls__tre *re) {
  const json_t *p = json_object_get(o, "pattern");
  if (!json_is_object(p)) return bad(r, path, "'pattern' must be {\"String\": ...} or {\"Regex\": ...}");
  const json_t *s = json_object_get(p, "String"), *x = json_object_get(p, "Regex");
  const json_t *v = s ? s : x;
  if (!json_is_string(v)) return bad(r, path, "'pattern' must be {\"String\": ...} or {\"Regex\": ...}");
  return ls__tre_compile(re, json_string_value(v), json_string_length(v), s != NULL, &r->t->arena, r->d);
}

static int get_behavior(rd *r, const json_t *o, const char *path, ls__split_beh def, ls__split_beh *b) {
  const char *s;
  size_t n;
  int rc = get_str(r, o, path, "behavior", "", &s, &n);
  if (rc) return rc;
  static const struct { const char *name; ls__split_beh b; } k[] = {
    {"Removed", LS__SPLIT_REMOVED}, {"Isolated", LS__SPLIT_ISOLATED}, {"MergedWithPrevious", LS__SPLIT_MERGED_PREV},
    {"MergedWithNext", LS__SPLIT_MERGED_NEXT}, {"Contiguous", LS__SPLIT_CONTIGUOUS}};
  if (n == 0) { *b = def; return LS_OK; }
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (strcmp(s, k[i].name) == 0) { *b = k[i].b; return LS_OK; }
  return unsup(r, path, "split behavior", s);
}

/* Metaspace's prepend scheme, with the legacy add_prefix_space. 0 always, 1 first, 2 never. */
static int get_prepend(rd *r, const json_t *o, const char *path, int *scheme) {
  const char *s;
  size_t n;
  int rc = get_str(r, o, path, "prepend_scheme", "always", &s, &n);
  if (rc) return rc;
  if (strcmp(s, "always") == 0) *scheme = 0;
  else if (strcmp(s, "first") == 0) *scheme = 1;
  else if (strcmp(s, "never") == 0) *scheme = 2;
  else return unsup(r, path, "prepend_scheme", s);
  const json_t *aps = json_object_get(o, "add_prefix_space");
  if (json_is_false(aps)) {
    if (*scheme != 2 && json_object_get(o, "prepend_scheme"))
      return bad(r, path, "add_prefix_space does not match declared prepend_scheme");
    *scheme = 2;
  }
  return LS_OK;
}

/* The items of a Sequence component (normalizers, pretokenizers, processors, decoders):
 * a new array [*n] of elem-sized items, each read by fn. */
typedef int (*read_fn)(rd *r, const json_t *o, const char *path, void *out);
static int read_items(rd *r, const json_t *o, const char *path, const char *key, size_t elem, read_fn fn,
                      void **items, size_t *n) {
  char p2[300];
  const json_t *a = json_object_get(o, key);
  if (!json_is_array(a)) return bad(r, path, "'%s' must be an array", key);
  char *arr = ls_calloc(json_array_size(a) + 1, elem);
  if (!arr) return ls_diag_set(r->d, LS_ENOMEM, "out of memory");
  *items = arr;
  int rc = LS_OK;
  for (size_t i = 0; i < json_array_size(a) && rc == LS_OK; i++) {
    rc = fn(r, json_array_get(a, i), sub(p2, sizeof p2, path, key, (long)i), arr + i * elem);
    *n = i + 1;
  }
  return rc;
}

/* ---- normalizers ------------------------------------------------------------------- */

static int read_norm(rd *r, const json_t *o, const char *path, void *out) {
  ls__norm *nm = out;
  if (!json_is_object(o)) return bad(r, path, "must be an object, not %s", ls_jansson_kind(o));
  const char *ty = type_of(o);
  if (!ty) return bad(r, path, "'type' is missing");
  int rc = LS_OK;
  if (strcmp(ty, "Sequence") == 0) {
    nm->kind = LS__N_SEQUENCE;
    return read_items(r, o, path, "normalizers", sizeof *nm->items, read_norm, (void **)&nm->items, &nm->n);
  }
  static const struct { const char *name; ls__norm_kind k; } simple[] = {
    {"NFC", LS__N_NFC}, {"NFD", LS__N_NFD}, {"NFKC", LS__N_NFKC}, {"NFKD", LS__N_NFKD},
    {"Lowercase", LS__N_LOWERCASE}, {"StripAccents", LS__N_STRIP_ACCENTS}, {"Nmt", LS__N_NMT}};
  for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
    if (strcmp(ty, simple[i].name) == 0) { nm->kind = simple[i].k; return LS_OK; }
  const char *s;
  size_t n;
  if (strcmp(ty, "Strip") == 0) {
    nm->kind = LS__N_STRIP;
    rc = get_bool(r, o, path, "strip_left", 1, &nm->left);
    return rc ? rc : get_bool(r, o, path, "strip_right", 1, &nm->right);
  }
  if (strcmp(ty, "Prepend") == 0) {
    nm->kind = LS__N_PREPEND;
    if ((rc = get_str(r, o, path, "prepend", NULL, &s, &n))) return rc;
    nm->content = keep(r, s, n);
    nm->content_len = n;
    return nm->content ? LS_OK : LS_ENOMEM;
  }
  if (strcmp(ty, "Replace") == 0) {
    nm->kind = LS__N_REPLACE;
    if ((rc = get_str(r, o, path, "content", NULL, &s, &n))) return rc;
    nm->content = keep(r, s, n);
    nm->content_len = n;
    if (!nm->content) return LS_ENOMEM;
    return get_pattern(r, o, path, &nm->re);
  }
  if (strcmp(ty, "BertNormalizer") == 0) {
    nm->kind = LS__N_BERT;
    if ((rc = get_bool(r, o, path, "clean_text", 1, &nm->clean_text))) return rc;
    if ((rc = get_bool(r, o, path, "handle_chinese_chars", 1, &nm->chinese))) return rc;
    if ((rc = get_bool(r, o, path, "lowercase", 1, &nm->lowercase))) return rc;
    /* strip_accents: null means "as lowercase" */
    return get_bool(r, o, path, "strip_accents", nm->lowercase, &nm->strip_accents);
  }
  return unsup(r, path, "normalizer", ty);
}

/* ---- pre-tokenizers ---------------------------------------------------------------- */

static const char k_gpt2_pattern[] =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int read_pretok(rd *r, const json_t *o, const char *path, void *out) {
  ls__pretok *pt = out;
  if (!json_is_object(o)) return bad(r, path, "must be an object, not %s", ls_jansson_kind(o));
  const char *ty = type_of(o);
  if (!ty) return bad(r, path, "'type' is missing");
  int rc = LS_OK;
  if (strcmp(ty, "Sequence") == 0) {
    pt->kind = LS__P_SEQUENCE;
    return read_items(r, o, path, "pretokenizers", sizeof *pt->items, read_pretok, (void **)&pt->items, &pt->n);
  }
  if (strcmp(ty, "ByteLevel") == 0) {
    pt->kind = LS__P_BYTELEVEL;
    if ((rc = get_bool(r, o, path, "add_prefix_space", 1, &pt->add_prefix_space))) return rc;
    if ((rc = get_bool(r, o, path, "use_regex", 1, &pt->use_regex))) return rc;
    if (!pt->use_regex) return LS_OK;
    return ls__tre_compile(&pt->re, k_gpt2_pattern, sizeof k_gpt2_pattern - 1, 0, &r->t->arena, r->d);
  }
  if (strcmp(ty, "Split") == 0) {
    pt->kind = LS__P_SPLIT;
    if ((rc = get_behavior(r, o, path, LS__SPLIT_REMOVED, &pt->behavior))) return rc;
    if (!json_object_get(o, "behavior")) return bad(r, path, "'behavior' is missing");
    if ((rc = get_bool(r, o, path, "invert", 0, &pt->invert))) return rc;
    return get_pattern(r, o, path, &pt->re);
  }
  if (strcmp(ty, "Metaspace") == 0) {
    pt->kind = LS__P_METASPACE;
    if ((rc = get_char(r, o, path, "replacement", 0x2581, &pt->repl))) return rc;
    if ((rc = get_prepend(r, o, path, &pt->prepend_scheme))) return rc;
    return get_bool(r, o, path, "split", 1, &pt->split);
  }
  if (strcmp(ty, "BertPreTokenizer") == 0) { pt->kind = LS__P_BERT; return LS_OK; }
  if (strcmp(ty, "Whitespace") == 0) { pt->kind = LS__P_WHITESPACE; return LS_OK; }
  if (strcmp(ty, "WhitespaceSplit") == 0) { pt->kind = LS__P_WHITESPACE_SPLIT; return LS_OK; }
  if (strcmp(ty, "Digits") == 0) {
    pt->kind = LS__P_DIGITS;
    return get_bool(r, o, path, "individual_digits", 0, &pt->individual);
  }
  if (strcmp(ty, "Punctuation") == 0) {
    pt->kind = LS__P_PUNCTUATION;
    return get_behavior(r, o, path, LS__SPLIT_ISOLATED, &pt->behavior);
  }
  if (strcmp(ty, "CharDelimiterSplit") == 0) {
    pt->kind = LS__P_CHAR_DELIMITER;
    if (!json_object_get(o, "delimiter")) return bad(r, path, "'delimiter' is missing");
    return get_char(r, o, path, "delimiter", 0, &pt->delim);
  }
  return unsup(r, path, "pre-tokenizer", ty);
}

/* ---- post-processors --------------------------------------------------------------- */

/* [token string, id] as BertProcessing/RobertaProcessing write sep and cls. */
static int get_pair_id(rd *r, const json_t *o, const char *path, const char *key, uint32_t *id) {
  const json_t *v = json_object_get(o, key);
  if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
      !json_is_integer(json_array_get(v, 1)) || json_integer_value(json_array_get(v, 1)) < 0 ||
      json_integer_value(json_array_get(v, 1)) > LS__TOK_MAX_ID)
    return bad(r, path, "'%s' must be [token, id]", key);
  *id = (uint32_t)json_integer_value(json_array_get(v, 1));
  return LS_OK;
}

static int read_post(rd *r, const json_t *o, const char *path, void *out) {
  ls__post *pp = out;
  char p2[300];
  if (!json_is_object(o)) return bad(r, path, "must be an object, not %s", ls_jansson_kind(o));
  const char *ty = type_of(o);
  if (!ty) return bad(r, path, "'type' is missing");
  int rc = LS_OK;
  if (strcmp(ty, "Sequence") == 0) {
    pp->kind = LS__PP_SEQUENCE;
    return read_items(r, o, path, "processors", sizeof *pp->items, read_post, (void **)&pp->items, &pp->n);
  }
  if (strcmp(ty, "ByteLevel") == 0) { pp->kind = LS__PP_BYTELEVEL; return LS_OK; }
  if (strcmp(ty, "BertProcessing") == 0 || strcmp(ty, "RobertaProcessing") == 0) {
    pp->kind = ty[0] == 'B' ? LS__PP_BERT : LS__PP_ROBERTA;
    if ((rc = get_pair_id(r, o, path, "sep", &pp->sep))) return rc;
    return get_pair_id(r, o, path, "cls", &pp->cls);
  }
  if (strcmp(ty, "TemplateProcessing") != 0) return unsup(r, path, "post-processor", ty);
  pp->kind = LS__PP_TEMPLATE;
  const json_t *single = json_object_get(o, "single"), *specials = json_object_get(o, "special_tokens");
  if (!json_is_array(single)) return bad(r, path, "'single' must be an array of pieces");
  if (specials && !json_is_object(specials) && !json_is_null(specials)) return bad(r, path, "'special_tokens' must be an object");
  size_t n = json_array_size(single), n_ids = 0;
  pp->tpl = ls_calloc(n + 1, sizeof *pp->tpl);
  if (!pp->tpl) return ls_diag_set(r->d, LS_ENOMEM, "out of memory");
  pp->n_tpl = n;
  for (size_t i = 0; i < n; i++) {
    const json_t *pc = json_array_get(single, i), *seq = json_object_get(pc, "Sequence"),
                 *sp = json_object_get(pc, "SpecialToken");
    sub(p2, sizeof p2, path, "single", (long)i);
    if (json_is_object(seq)) {
      const json_t *id = json_object_get(seq, "id");
      if (!json_is_string(id) || (strcmp(json_string_value(id), "A") != 0 && strcmp(json_string_value(id), "B") != 0))
        return bad(r, p2, "Sequence 'id' must be \"A\" or \"B\"");
      if (strcmp(json_string_value(id), "B") == 0) return unsup(r, p2, "template piece", "Sequence B in a single-sequence template");
      pp->tpl[i].is_seq = 1;
      continue;
    }
    if (!json_is_object(sp) || !json_is_string(json_object_get(sp, "id")))
      return bad(r, p2, "must be {\"Sequence\": {...}} or {\"SpecialToken\": {\"id\": ...}}");
    const char *name = json_string_value(json_object_get(sp, "id"));
    const json_t *st = specials ? json_object_get(specials, name) : NULL, *ids = json_object_get(st, "ids");
    if (!st) return bad(r, p2, "special token '%.80s' is missing from special_tokens", name);
    if (!json_is_array(ids)) return bad(r, p2, "special_tokens['%.80s'].ids must be an array", name);
    pp->tpl[i].off = (uint32_t)n_ids;
    pp->tpl[i].len = (uint32_t)json_array_size(ids);
    for (size_t j = 0; j < json_array_size(ids); j++) {
      const json_t *v = json_array_get(ids, j);
      if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > LS__TOK_MAX_ID)
        return bad(r, p2, "special_tokens['%.80s'].ids[%zu] must be an id", name, j);
      uint32_t *a = ls_reallocarray(pp->tpl_ids, n_ids + 1, sizeof *a);
      if (!a) return ls_diag_set(r->d, LS_ENOMEM, "out of memory");
      pp->tpl_ids = a;
      a[n_ids++] = (uint32_t)json_integer_value(v);
    }
  }
  pp->n_tpl_ids = n_ids;
  return LS_OK;
}

/* ---- decoders ---------------------------------------------------------------------- */

static int read_dec(rd *r, const json_t *o, const char *path, void *out) {
  ls__dec *dc = out;
  if (!json_is_object(o)) return bad(r, path, "must be an object, not %s", ls_jansson_kind(o));
  const char *ty = type_of(o);
  if (!ty) return bad(r, path, "'type' is missing");
  int rc = LS_OK;
  const char *s;
  size_t n;
  if (strcmp(ty, "Sequence") == 0) {
    dc->kind = LS__D_SEQUENCE;
    return read_items(r, o, path, "decoders", sizeof *dc->items, read_dec, (void **)&dc->items, &dc->n);
  }
  if (strcmp(ty, "ByteLevel") == 0) { dc->kind = LS__D_BYTELEVEL; return LS_OK; }
  if (strcmp(ty, "ByteFallback") == 0) { dc->kind = LS__D_BYTE_FALLBACK; return LS_OK; }
  if (strcmp(ty, "Fuse") == 0) { dc->kind = LS__D_FUSE; return LS_OK; }
  if (strcmp(ty, "Metaspace") == 0) {
    dc->kind = LS__D_METASPACE;
    if ((rc = get_char(r, o, path, "replacement", 0x2581, &dc->repl))) return rc;
    return get_prepend(r, o, path, &dc->prepend_scheme);
  }
  if (strcmp(ty, "WordPiece") == 0 || strcmp(ty, "BPEDecoder") == 0 || strcmp(ty, "Replace") == 0) {
    int wp = ty[0] == 'W', bpe = ty[0] == 'B';
    dc->kind = wp ? LS__D_WORDPIECE : bpe ? LS__D_BPE : LS__D_REPLACE;
    if ((rc = get_str(r, o, path, wp ? "prefix" : bpe ? "suffix" : "content", wp ? "##" : bpe ? "</w>" : NULL, &s, &n)))
      return rc;
    dc->str = keep(r, s, n);
    dc->str_len = n;
    if (!dc->str) return LS_ENOMEM;
    if (wp) return get_bool(r, o, path, "cleanup", 1, &dc->cleanup);
    return bpe ? LS_OK : get_pattern(r, o, path, &dc->re);
  }
  if (strcmp(ty, "Strip") == 0) {
    uint64_t a, b;
    dc->kind = LS__D_STRIP;
    if ((rc = get_char(r, o, path, "content", ' ', &dc->strip_cp))) return rc;
    if ((rc = get_uint(r, o, path, "start", 0, 1u << 20, &a))) return rc;
    if ((rc = get_uint(r, o, path, "stop", 0, 1u << 20, &b))) return rc;
    dc->start = (size_t)a;
    dc->stop = (size_t)b;
    return LS_OK;
  }
  return unsup(r, path, "decoder", ty);
}

/* ---- model ------------------------------------------------------------------------- */

static int read_vocab(rd *r, const json_t *v, const char *path) {
  ls__model *m = &r->t->model;
  if (!json_is_object(v)) return bad(r, path, "'vocab' must be an object mapping tokens to ids, not %s", ls_jansson_kind(v));
  const char *key;
  json_t *val;
  uint64_t max_id = 0;
  json_object_foreach((json_t *)v, key, val) {
    if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) > LS__TOK_MAX_ID)
      return bad(r, path, "vocab['%.80s'] must be an id in [0, %u]", key, LS__TOK_MAX_ID);
    if ((uint64_t)json_integer_value(val) > max_id) max_id = (uint64_t)json_integer_value(val);
  }
  size_t count = json_object_size(v);
  m->n_ids = count ? (size_t)max_id + 1 : 0;
  if (m->n_ids > count * 4 + 1024) return bad(r, path, "the vocabulary's ids go up to %llu for %zu tokens",
                                               (unsigned long long)max_id, count);
  m->vocab_s = ls_calloc(m->n_ids + 1, sizeof *m->vocab_s);
  m->vocab_len = ls_calloc(m->n_ids + 1, sizeof *m->vocab_len);
  if (!m->vocab_s || !m->vocab_len) return ls_diag_set(r->d, LS_ENOMEM, "out of memory");
  json_object_foreach((json_t *)v, key, val) {
    size_t n = strlen(key);
    if (n > UINT32_MAX) return bad(r, path, "token too long");
    const char *k = keep(r, key, n);
    uint32_t id = (uint32_t)json_integer_value(val);
    if (!k || ls__smap_put(&m->vocab, k, (uint32_t)n, id) != LS_OK) return ls_diag_set(r->d, LS_ENOMEM, "out of memory");
    m->vocab_s[id] = k;
    m->vocab_len[id] = (uint32_t)n;
    if (n > m->max_token_len) m->max_token_len = n;
  }
  m->vocab_count = m->vocab.n;
  return LS_OK;
}

static int read_merges(rd *r, const json_t *a, const char *path) {
  ls__model *m = &r->t->model;
  char p2[300];
  if (!json_is_array(a)) return bad(r, path, "'merges' must be an array");
  uint32_t rank = 0;
  for (size_t i = 0; i < json_array_size(a); i++) {
    const json_t *e = json_array_get(a, i);
    const char *x, *y;
    size_t xn, yn;
    sub(p2, sizeof p2, path, "merges", (long)i);
    if (json_is_string(e)) {
      const char *s = json_string_value(e);
      size_t n = json_string_length(e);
      if (n >= 8 && memcmp(s, "#version", 8) == 0) continue;
      const char *sp = memchr(s, ' ', n);
      if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - s)))
        return bad(r, p2, "a merge must be two tokens separated by one space");
      x = s; xn = (size_t)(sp - s); y = sp + 1; yn = n - xn - 1;
    } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
               json_is_string(json_array_get(e, 1))) {
      x = json_string_value(json_array_get(e, 0)); xn = json_string_length(json_array_get(e, 0));
      y = json_string_value(json_array_get(e, 1)); yn = json_string_length(json_array_get(e, 1));
    } else {
      return bad(r, p2, "a merge must be \"a b\" or [\"a\", \"b\"]");
    }
    int rc = ls__bpe_add_merge(m, x, xn, y, yn, rank++, r->d);
    if (rc) { ls_diag_prefix(r->d, "tokenizer.json: %s: ", p2); return rc; }
  }
  return LS_OK;
}

static int read_model(rd *r, const json_t *o) {
  const char *path = "model";
  ls__model *m = &r->t->model;
  if (!json_is_object(o)) return bad(r, path, "must be an object");
  const char *ty = type_of(o);
  if (!ty) { /* the legacy untagged form: tell the models apart by their fields */
    const json_t *v = json_object_get(o, "vocab");
    ty = json_object_get(o, "merges") ? "BPE" : json_is_array(v) ? "Unigram"
       : json_object_get(o, "max_input_chars_per_word") ? "WordPiece" : "WordLevel";
  }
  const char *s;
  size_t n;
  int rc;
  if (strcmp(ty, "BPE") == 0) {
    m->kind = LS__M_BPE;
    const json_t *dropout = json_object_get(o, "dropout");
    if (dropout && !json_is_null(dropout)) {
      if (!json_is_number(dropout)) return bad(r, path, "'dropout' must be a number or null");
      if (json_number_value(dropout) != 0.0) return unsup(r, path, "BPE option", "dropout (random merges)");
    }
    if ((rc = get_opt_str(r, o, path, "unk_token", &s, &n))) return rc;
    if (s && !(m->unk_token = keep(r, s, n))) return LS_ENOMEM;
    if ((rc = get_opt_str(r, o, path, "continuing_subword_prefix", &s, &n))) return rc;
    if (s && n && !(m->prefix = keep(r, s, n))) return LS_ENOMEM;
    m->prefix_len = m->prefix ? n : 0;
    if ((rc = get_opt_str(r, o, path, "end_of_word_suffix", &s, &n))) return rc;
    if (s && n && !(m->suffix = keep(r, s, n))) return LS_ENOMEM;
    m->suffix_len = m->suffix ? n : 0;
    if ((rc = get_bool(r, o, path, "fuse_unk", 0, &m->fuse_unk))) return rc;
    if ((rc = get_bool(r, o, path, "byte_fallback", 0, &m->byte_fallback))) return rc;
    if ((rc = get_bool(r, o, path, "ignore_merges", 0, &m->ignore_merges))) return rc;
    if (!json_object_get(o, "vocab") || !json_object_get(o, "merges")) return bad(r, path, "missing vocab/merges");
    if ((rc = read_vocab(r, json_object_get(o, "vocab"), path))) return rc;
    if ((rc = read_merges(r, json_object_get(o, "merges"), path))) return rc;
    return ls__bpe_finish(m, r->d);
  }
  if (strcmp(ty, "WordPiece") == 0 || strcmp(ty, "WordLevel") == 0) {
    int wp = ty[4] == 'P';
    uint64_t mx;
    m->kind = wp ? LS__M_WORDPIECE : LS__M_WORDLEVEL;
    if ((rc = get_str(r, o, path, "unk_token", wp ? "[UNK]" : "<unk>", &s, &n))) return rc;
    if (!(m->unk_token = keep(r, s, n))) return LS_ENOMEM;
    if (wp) {
      if ((rc = get_str(r, o, path, "continuing_subword_prefix", "##", &s, &n))) return rc;
      if (!(m->prefix = keep(r, s, n))) return LS_ENOMEM;
      m->prefix_len = n;
      if ((rc = get_uint(r, o, path, "max_input_chars_per_word", 100, UINT64_MAX >> 1, &mx))) return rc;
      m->max_input_chars = (size_t)mx;
    }
    if (!json_object_get(o, "vocab")) return bad(r, path, "'vocab' is missing");
    if ((rc = read_vocab(r, json_object_get(o, "vocab"), path))) return rc;
    uint32_t id;
    m->unk_id = ls__smap_get(&m->vocab, m->unk_token, strlen(m->unk_token), &id) ? (int64_t)id : -1;
    return LS_OK;
  }
  return unsup(r, path, "model type", ty);
}

/* ---- the whole file ---------------------------------------------------------------- */

static int read_added(rd *r, const json_t *a) {
  ls_tok *t = r->t;
  char p2[300];
  if (!a || json_is_null(a)) return LS_OK;
  if (!json_is_array(a)) return bad(r, "added_tokens", "must be an array");
  t->added = ls_calloc(json_array_size(a) + 1, sizeof *t->added);
  if (!t->added) return ls_diag_set(r->d, LS_ENOMEM, "out of memory");
  for (size_t i = 0; i < json_array_size(a); i++) {
    const json_t *o = json_array_get(a, i);
    ls__added *x = &t->added[i];
    const char *s;
    size_t n;
    int b, rc;
    sub(p2, sizeof p2, "", "added_tokens", (long)i);
    if (!json_is_object(o)) return bad(r, p2 + 1, "must be an object");
    if ((rc = get_str(r, o, p2 + 1, "content", NULL, &s, &n))) return rc;
    if (n > UINT32_MAX || !(x->content = keep(r, s, n))) return LS_ENOMEM;
    x->len = (uint32_t)n;
    if ((rc = get_bool(r, o, p2 + 1, "special", 0, &b))) return rc;
    x->special = (uint8_t)b;
    if ((rc = get_bool(r, o, p2 + 1, "single_word", 0, &b))) return rc;
    x->single_word = (uint8_t)b;
    if ((rc = get_bool(r, o, p2 + 1, "lstrip", 0, &b))) return rc;
    x->lstrip = (uint8_t)b;
    if ((rc = get_bool(r, o, p2 + 1, "rstrip", 0, &b))) return rc;
    x->rstrip = (uint8_t)b;
    if ((rc = get_bool(r, o, p2 + 1, "normalized", !x->special, &b))) return rc;
    x->normalized = (uint8_t)b;
    t->n_added = i + 1;
  }
  return LS_OK;
}

static int read_truncation_padding(rd *r, const json_t *tr, const json_t *pd) {
  ls_tok *t = r->t;
  int rc;
  const char *s;
  size_t n;
  uint64_t v;
  if (tr && !json_is_null(tr)) {
    if (!json_is_object(tr)) return bad(r, "truncation", "must be an object or null");
    if ((rc = get_uint(r, tr, "truncation", "max_length", 512, SIZE_MAX >> 1, &v))) return rc;
    t->trunc_max = (size_t)v + 1; /* max_length + 1, so that 0 means "no truncation" */
    if ((rc = get_str(r, tr, "truncation", "direction", "Right", &s, &n))) return rc;
    t->trunc_left = strcmp(s, "Left") == 0;
  }
  if (pd && !json_is_null(pd)) {
    if (!json_is_object(pd)) return bad(r, "padding", "must be an object or null");
    const json_t *st = json_object_get(pd, "strategy");
    t->pad = 1;
    if (json_is_object(st) && json_is_integer(json_object_get(st, "Fixed"))) {
      json_int_t f = json_integer_value(json_object_get(st, "Fixed"));
      if (f < 0) return bad(r, "padding.strategy", "Fixed must be >= 0");
      t->pad_len = (size_t)f;
    } else if (!(st == NULL || (json_is_string(st) && strcmp(json_string_value(st), "BatchLongest") == 0))) {
      return bad(r, "padding", "'strategy' must be \"BatchLongest\" or {\"Fixed\": n}");
    }
    if ((rc = get_uint(r, pd, "padding", "pad_to_multiple_of", 0, 1u << 30, &v))) return rc;
    t->pad_multiple = (size_t)v;
    if ((rc = get_uint(r, pd, "padding", "pad_id", 0, LS__TOK_MAX_ID, &v))) return rc;
    t->pad_id = (uint32_t)v;
    if ((rc = get_str(r, pd, "padding", "direction", "Right", &s, &n))) return rc;
    t->pad_left = strcmp(s, "Left") == 0;
  }
  return LS_OK;
}

int ls__tok_from_json(ls_tok *t, const char *text, size_t len, ls_diag *d) {
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_ALLOW_NUL, &je);
  if (!root)
    return ls_diag_set(d, LS_EPARSE, "tokenizer.json is not valid JSON: line %d, column %d: %s", je.line, je.column,
                       je.text);
  int rc = ls__tok_from_doc(t, root, d);
  json_decref(root);
  return rc;
}

int ls__tok_from_doc(ls_tok *t, const json_t *root, ls_diag *d) {
  rd r = {t, d};
  int rc = LS_OK;
  if (!json_is_object(root)) { rc = bad(&r, "(top level)", "must be an object, not %s", ls_jansson_kind(root)); goto out; }
  const json_t *ver = json_object_get(root, "version");
  if (ver && !(json_is_string(ver) && strcmp(json_string_value(ver), "1.0") == 0)) {
    rc = ls_diag_set(d, LS_EUNSUPPORTED, "tokenizer.json: version %s%.40s%s is not supported (only \"1.0\")",
                     json_is_string(ver) ? "'" : "", json_is_string(ver) ? json_string_value(ver) : "(not a string)",
                     json_is_string(ver) ? "'" : "");
    goto out;
  }
  const json_t *model = json_object_get(root, "model");
  if (!model) { rc = bad(&r, "(top level)", "'model' is missing (is this a tokenizer.json?)"); goto out; }
  if ((rc = read_model(&r, model))) goto out;
  const json_t *v;
  if ((v = json_object_get(root, "normalizer")) && !json_is_null(v)) {
    if (!(t->norm = ls_calloc(1, sizeof *t->norm))) { rc = LS_ENOMEM; goto out; }
    if ((rc = read_norm(&r, v, "normalizer", t->norm))) goto out;
  }
  if ((v = json_object_get(root, "pre_tokenizer")) && !json_is_null(v)) {
    if (!(t->pretok = ls_calloc(1, sizeof *t->pretok))) { rc = LS_ENOMEM; goto out; }
    if ((rc = read_pretok(&r, v, "pre_tokenizer", t->pretok))) goto out;
  }
  if ((v = json_object_get(root, "post_processor")) && !json_is_null(v)) {
    if (!(t->post = ls_calloc(1, sizeof *t->post))) { rc = LS_ENOMEM; goto out; }
    if ((rc = read_post(&r, v, "post_processor", t->post))) goto out;
  }
  if ((v = json_object_get(root, "decoder")) && !json_is_null(v)) {
    if (!(t->dec = ls_calloc(1, sizeof *t->dec))) { rc = LS_ENOMEM; goto out; }
    if ((rc = read_dec(&r, v, "decoder", t->dec))) goto out;
  }
  if ((rc = read_truncation_padding(&r, json_object_get(root, "truncation"), json_object_get(root, "padding")))) goto out;
  if ((rc = read_added(&r, json_object_get(root, "added_tokens")))) goto out;
  rc = ls__added_build(t, d);
out:
  if (rc == LS_ENOMEM) ls_diag_set(d, rc, "out of memory while reading tokenizer.json");
  return rc;
}
