/* tok_gguf.c: the tokenizer stored in a GGUF file (the tokenizer.ggml.* keys llama.cpp's
 * converter writes), turned into the tokenizer.json document Hugging Face's tokenizers would
 * hold for the same model and read by tok_json.c, so that one reader defines the semantics:
 *
 *   "gpt2"  byte-level BPE: tokens, merges ("a b", by rank); the split patterns come from
 *           tokenizer.ggml.pre, through the table below (the patterns of the model families'
 *           tokenizer.json files, with their normalizer and ignore_merges);
 *   "llama" SentencePiece BPE with byte fallback: tokens and scores; the merges are every
 *           split of a normal or user-defined token into two tokens, by the token's score (highest first),
 *           as tokenizers' SentencePieceExtractor derives them; spaces become U+2581 and,
 *           with tokenizer.ggml.add_space_prefix (default true), each piece of text gets one
 *           in front, as llama.cpp does after BOS and after every special token.
 *
 * Token types (tokenizer.ggml.token_type): CONTROL and UNKNOWN tokens are special added
 * tokens, USER_DEFINED ones added tokens that are not special; both are matched in the raw
 * text first (a SentencePiece model's user-defined ones spelled as the model spells them, see
 * user_defined_spm). BOS/EOS are added when tokenizer.ggml.add_bos_token / add_eos_token say so
 * (defaults: llama.cpp's). Any other model ("bert", "t5", "rwkv", ...) or an unknown
 * pre-tokenizer name is LS_EUNSUPPORTED naming it; duplicate or empty tokens, counts that
 * disagree and ids out of range are LS_EFORMAT. docs/tokenizers.md lists the table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/tensor.h"
#include "core/text/tok_int.h"

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6 };

/* ---- tokenizer.ggml.pre -> the pre-tokenizer of the family's tokenizer.json ---------- */

static const char k_re_llama3[] =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char k_re_qwen2[] =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char k_re_gpt4o[] =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
  "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
  "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char k_re_ds3_digits[] = "\\p{N}{1,3}";
static const char k_re_ds3_cjk[] = "[\xe4\xb8\x80-\xe9\xbe\xa5\xe3\x81\x80-\xe3\x82\x9f\xe3\x82\xa0-\xe3\x83\xbf]+";
static const char k_re_ds3_rest[] =
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
  "| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

typedef struct pre_kind {
  const char *names;          /* the tokenizer.ggml.pre values, space-separated */
  const char *re[3];          /* Split patterns (Isolated) in order; none: GPT-2's ByteLevel regex */
  int nfc, ignore_merges, add_bos;
} pre_kind;

static const pre_kind k_pre[] = {
  {"llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2", {k_re_llama3}, 0, 1, 1},
  {"qwen2 deepseek-r1-qwen megrez", {k_re_qwen2}, 1, 0, 0},
  {"deepseek-v3", {k_re_ds3_digits, k_re_ds3_cjk, k_re_ds3_rest}, 0, 0, 0},
  {"gpt-4o llama4", {k_re_gpt4o}, 0, 1, 0},
  {"gpt-2 phi-2", {NULL}, 0, 0, 0},
};

static const pre_kind *pre_find(const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof k_pre / sizeof k_pre[0]; i++)
    for (const char *p = k_pre[i].names; *p;) {
      size_t w = strcspn(p, " ");
      if (w == n && memcmp(p, name, n) == 0) return &k_pre[i];
      p += w + (p[w] == ' ');
    }
  return NULL;
}

/* ---- reading the arrays ------------------------------------------------------------ */

typedef struct gg {
  const char *path;
  ls_diag *d;
  uint64_t n;                 /* tokens */
  char **tok;                 /* [n] NUL-terminated copies */
  size_t *len;                /* [n] */
  int *type;                  /* [n] token types (TT_NORMAL when the file has none) */
  json_t *vocab;              /* token -> id */
} gg;

static int bad(gg *g, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(gg *g, int code, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ls_diag_set_at(g->d, code, g->path, -1, "%s: %s", g->path, msg);
}

static int read_tokens(gg *g, const ls_tfile *f) {
  ls_meta_array a;
  if (ls_tfile_meta_array(f, "tokenizer.ggml.tokens", &a) != LS_OK || a.item != LS_META_ITEM_STRING)
    return bad(g, LS_EFORMAT, "tokenizer.ggml.tokens (an array of strings) is missing");
  if (a.n == 0 || a.n > LS__TOK_MAX_ID) return bad(g, LS_EFORMAT, "tokenizer.ggml.tokens holds %llu tokens", (unsigned long long)a.n);
  g->n = a.n;
  g->tok = ls_calloc((size_t)a.n, sizeof *g->tok);
  g->len = ls_calloc((size_t)a.n, sizeof *g->len);
  g->type = ls_calloc((size_t)a.n, sizeof *g->type);
  if (!g->tok || !g->len || !g->type || !(g->vocab = json_object())) return LS_ENOMEM;
  uint64_t pos = 0;
  for (uint64_t i = 0; i < a.n; i++) {
    const char *s;
    size_t n;
    if (ls_meta_array_next_str(&a, &pos, &s, &n) != LS_OK) return bad(g, LS_EFORMAT, "tokenizer.ggml.tokens is truncated");
    if (n == 0 || memchr(s, 0, n) || ls__utf8_check(s, n) >= 0)
      return bad(g, LS_EFORMAT, "tokenizer.ggml.tokens[%llu] is empty, holds a NUL or is not UTF-8", (unsigned long long)i);
    if (!(g->tok[i] = ls_strndup(s, n))) return LS_ENOMEM;
    g->len[i] = n;
    g->type[i] = TT_NORMAL;
    if (json_object_getn(g->vocab, s, n))
      return bad(g, LS_EFORMAT, "tokenizer.ggml.tokens[%llu] '%.60s' appears twice", (unsigned long long)i, g->tok[i]);
    if (json_object_setn_new_nocheck(g->vocab, s, n, json_integer((json_int_t)i))) return LS_ENOMEM;
  }
  if (ls_tfile_meta_array(f, "tokenizer.ggml.token_type", &a) == LS_OK) {
    if (a.item != LS_META_ITEM_INT || a.n != g->n)
      return bad(g, LS_EFORMAT, "tokenizer.ggml.token_type must hold one integer per token (%llu)", (unsigned long long)g->n);
    for (uint64_t i = 0; i < a.n; i++) {
      int64_t v;
      ls_meta_array_int(&a, i, &v);
      g->type[i] = (int)(v < 0 || v > 6 ? 0 : v);
    }
  }
  return LS_OK;
}

/* An optional id key; -1 when absent. */
static int read_id(gg *g, const ls_tfile *f, const char *key, int64_t *id) {
  *id = -1;
  if (ls_tfile_meta_int(f, key, id) != LS_OK) { *id = -1; return LS_OK; }
  if (*id < 0 || (uint64_t)*id >= g->n) return bad(g, LS_EFORMAT, "%s %lld is not a token id", key, (long long)*id);
  return LS_OK;
}

static int read_flag(const ls_tfile *f, const char *key, int def) {
  int64_t v;
  return ls_tfile_meta_int(f, key, &v) == LS_OK ? v != 0 : def;
}

/* ---- merges -------------------------------------------------------------------------- */

static int merges_from_file(gg *g, const ls_tfile *f, json_t *merges) {
  ls_meta_array a;
  if (ls_tfile_meta_array(f, "tokenizer.ggml.merges", &a) != LS_OK || a.item != LS_META_ITEM_STRING)
    return bad(g, LS_EFORMAT, "tokenizer.ggml.merges (an array of strings) is missing");
  uint64_t pos = 0;
  for (uint64_t i = 0; i < a.n; i++) {
    const char *s;
    size_t n;
    if (ls_meta_array_next_str(&a, &pos, &s, &n) != LS_OK) return bad(g, LS_EFORMAT, "tokenizer.ggml.merges is truncated");
    if (memchr(s, 0, n) || ls__utf8_check(s, n) >= 0)
      return bad(g, LS_EFORMAT, "tokenizer.ggml.merges[%llu] holds a NUL or is not UTF-8", (unsigned long long)i);
    if (json_array_append_new(merges, json_stringn_nocheck(s, n))) return LS_ENOMEM;
  }
  return LS_OK;
}

typedef struct cand { float score; uint32_t tok, l, r; } cand;

/* Score descending; then the merged token's id, then the pieces' ids (the extractor's order). */
static int cand_cmp(const void *x, const void *y) {
  const cand *a = x, *b = y;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  if (a->tok != b->tok) return a->tok < b->tok ? -1 : 1;
  if (a->l != b->l) return a->l < b->l ? -1 : 1;
  return a->r < b->r ? -1 : a->r > b->r;
}

static int merges_from_scores(gg *g, const ls_tfile *f, json_t *merges) {
  ls_meta_array sc;
  if (ls_tfile_meta_array(f, "tokenizer.ggml.scores", &sc) != LS_OK || sc.n != g->n ||
      (sc.item != LS_META_ITEM_FLOAT && sc.item != LS_META_ITEM_INT))
    return bad(g, LS_EFORMAT, "tokenizer.ggml.scores must hold one number per token (%llu)", (unsigned long long)g->n);
  cand *c = NULL;
  size_t nc = 0, cap = 0;
  int rc = LS_OK;
  for (uint64_t i = 0; i < g->n && rc == LS_OK; i++) {
    if (g->type[i] != TT_NORMAL && g->type[i] != TT_USER_DEFINED) continue;
    double s;
    ls_meta_array_f64(&sc, i, &s);
    if (!(s == s)) s = -1e300; /* NaN ranks last (and keeps the order total for qsort) */
    const char *t = g->tok[i];
    for (size_t k = (size_t)ls__utf8_len((unsigned char)t[0]); k < g->len[i];
         k += (size_t)ls__utf8_len((unsigned char)t[k])) {
      json_t *l = json_object_getn(g->vocab, t, k), *r = json_object_getn(g->vocab, t + k, g->len[i] - k);
      if (!l || !r) continue;
      if (nc == cap) {
        cap = cap ? cap * 2 : 4096;
        cand *nc2 = ls_reallocarray(c, cap, sizeof *c);
        if (!nc2) { rc = LS_ENOMEM; break; }
        c = nc2;
      }
      c[nc++] = (cand){(float)s, (uint32_t)i, (uint32_t)json_integer_value(l), (uint32_t)json_integer_value(r)};
    }
  }
  if (rc == LS_OK && nc) qsort(c, nc, sizeof *c, cand_cmp);
  for (size_t i = 0; i < nc && rc == LS_OK; i++) {
    json_t *m = json_pack("[s%s%]", g->tok[c[i].l], g->len[c[i].l], g->tok[c[i].r], g->len[c[i].r]);
    if (!m || json_array_append_new(merges, m)) rc = LS_ENOMEM;
  }
  ls_free(c);
  return rc;
}

/* ---- the document ------------------------------------------------------------------ */

/* llama.cpp's converter writes a SentencePiece model's user-defined tokens with U+2581 turned
 * into spaces ("▁▁" -> "  "); in the model they are spelled with U+2581 (Gemma's whitespace
 * runs are merged like any token and match a literal "▁▁" in the text), so they are
 * spelled so again. */
static int user_defined_spm(gg *g) {
  for (uint64_t i = 0; i < g->n; i++) {
    if (g->type[i] != TT_USER_DEFINED || !memchr(g->tok[i], ' ', g->len[i])) continue;
    ls__buf b = {0};
    int rc = LS_OK;
    for (size_t k = 0; k < g->len[i] && rc == LS_OK; k++)
      rc = g->tok[i][k] == ' ' ? ls__buf_add(&b, "\xe2\x96\x81", 3) : ls__buf_add(&b, g->tok[i] + k, 1);
    if (rc == LS_OK) rc = ls__buf_add(&b, "", 1);
    if (rc != LS_OK) { ls__buf_free(&b); return rc; }
    json_object_del(g->vocab, g->tok[i]);
    ls_free(g->tok[i]);
    g->tok[i] = b.p;
    g->len[i] = b.len - 1;
    if (json_object_getn(g->vocab, b.p, b.len - 1))
      return bad(g, LS_EFORMAT, "tokenizer.ggml.tokens[%llu] '%.60s' appears twice", (unsigned long long)i, b.p);
    if (json_object_setn_new_nocheck(g->vocab, b.p, b.len - 1, json_integer((json_int_t)i))) return LS_ENOMEM;
  }
  return LS_OK;
}

static json_t *added_tokens(const gg *g) {
  json_t *a = json_array();
  for (uint64_t i = 0; a && i < g->n; i++) {
    int ty = g->type[i];
    if (ty != TT_CONTROL && ty != TT_UNKNOWN && ty != TT_USER_DEFINED) continue;
    json_t *o = json_pack("{s:I,s:s%,s:b,s:b,s:b,s:b,s:b}", "id", (json_int_t)i, "content", g->tok[i], g->len[i], "single_word", 0,
                          "lstrip", 0, "rstrip", 0, "normalized", 0, "special", ty != TT_USER_DEFINED);
    if (!o || json_array_append_new(a, o)) { json_decref(a); return NULL; }
  }
  return a;
}

/* [BOS] A [EOS] as a TemplateProcessing, or null when neither is added. */
static json_t *post_template(const gg *g, int64_t bos, int64_t eos) {
  if (bos < 0 && eos < 0) return json_null();
  json_t *single = json_array(), *specials = json_object();
  int64_t ids[2] = {bos, eos};
  for (int k = 0; k < 2; k++) {
    if (k == 1) json_array_append_new(single, json_pack("{s:{s:s,s:i}}", "Sequence", "id", "A", "type_id", 0));
    if (ids[k] < 0) continue;
    const char *s = g->tok[ids[k]];
    size_t n = g->len[ids[k]];
    json_array_append_new(single, json_pack("{s:{s:s%,s:i}}", "SpecialToken", "id", s, n, "type_id", 0));
    json_object_setn_new_nocheck(specials, s, n,
                                 json_pack("{s:s%,s:[I],s:[s%]}", "id", s, n, "ids", (json_int_t)ids[k], "tokens", s, n));
  }
  return json_pack("{s:s,s:o,s:[],s:o}", "type", "TemplateProcessing", "single", single, "pair", "special_tokens", specials);
}

static int build(gg *g, const ls_tfile *f, json_t **out) {
  const char *model = NULL, *pre_name = NULL;
  if (ls_tfile_meta_str(f, "tokenizer.ggml.model", &model) != LS_OK)
    return bad(g, LS_EFORMAT, "no tokenizer (tokenizer.ggml.model is missing)");
  int spm = strcmp(model, "llama") == 0;
  if (!spm && strcmp(model, "gpt2") != 0)
    return bad(g, LS_EUNSUPPORTED, "tokenizer.ggml.model '%.40s' is not supported (only \"gpt2\" and \"llama\")", model);
  const pre_kind *pre = NULL;
  if (!spm) {
    if (ls_tfile_meta_str(f, "tokenizer.ggml.pre", &pre_name) != LS_OK) pre_name = "default";
    if (!(pre = pre_find(pre_name)))
      return bad(g, LS_EUNSUPPORTED, "tokenizer.ggml.pre '%.40s' is not supported (docs/tokenizers.md lists those that are)",
                 pre_name);
  }
  int rc = read_tokens(g, f);
  if (rc == LS_OK && spm) rc = user_defined_spm(g);
  if (rc) return rc;
  int64_t bos, eos, unk;
  if ((rc = read_id(g, f, "tokenizer.ggml.bos_token_id", &bos)) || (rc = read_id(g, f, "tokenizer.ggml.eos_token_id", &eos)) ||
      (rc = read_id(g, f, "tokenizer.ggml.unknown_token_id", &unk)))
    return rc;
  if (unk < 0 && spm)
    for (uint64_t i = 0; i < g->n && unk < 0; i++)
      if (g->type[i] == TT_UNKNOWN) unk = (int64_t)i;
  int add_bos = read_flag(f, "tokenizer.ggml.add_bos_token", spm ? 1 : pre->add_bos);
  int add_eos = read_flag(f, "tokenizer.ggml.add_eos_token", 0);
  int prefix = read_flag(f, "tokenizer.ggml.add_space_prefix", spm);
  if ((add_bos && bos < 0) || (add_eos && eos < 0))
    return bad(g, LS_EFORMAT, "add_%s_token is set but tokenizer.ggml.%s_token_id is missing", add_bos && bos < 0 ? "bos" : "eos",
               add_bos && bos < 0 ? "bos" : "eos");

  json_t *merges = json_array();
  if (!merges) return LS_ENOMEM;
  rc = spm ? merges_from_scores(g, f, merges) : merges_from_file(g, f, merges);
  if (rc) { json_decref(merges); return rc; }
  json_t *m = json_pack("{s:s,s:O,s:o,s:b,s:b,s:b}", "type", "BPE", "vocab", g->vocab, "merges", merges, "fuse_unk", spm,
                        "byte_fallback", spm, "ignore_merges", pre ? pre->ignore_merges : 0);
  if (m && unk >= 0) json_object_set_new(m, "unk_token", json_stringn_nocheck(g->tok[unk], g->len[unk]));
  json_t *norm, *pt, *dec;
  const char *sp = "\xe2\x96\x81"; /* U+2581, SentencePiece's space */
  if (spm) {
    norm = json_pack("{s:s,s:[]}", "type", "Sequence", "normalizers");
    if (norm && prefix) json_array_append_new(json_object_get(norm, "normalizers"), json_pack("{s:s,s:s}", "type", "Prepend", "prepend", sp));
    if (norm) json_array_append_new(json_object_get(norm, "normalizers"),
                                    json_pack("{s:s,s:{s:s},s:s}", "type", "Replace", "pattern", "String", " ", "content", sp));
    pt = json_null();
    dec = json_pack("{s:s,s:[{s:s,s:{s:s},s:s},{s:s},{s:s}]}", "type", "Sequence", "decoders", "type", "Replace", "pattern",
                    "String", sp, "content", " ", "type", "ByteFallback", "type", "Fuse");
    if (dec && prefix) json_array_append_new(json_object_get(dec, "decoders"),
                                             json_pack("{s:s,s:s,s:i,s:i}", "type", "Strip", "content", " ", "start", 1, "stop", 0));
  } else {
    norm = pre->nfc ? json_pack("{s:s}", "type", "NFC") : json_null();
    json_t *bl = json_pack("{s:s,s:b,s:b,s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 0, "use_regex", !pre->re[0]);
    if (!pre->re[0]) pt = bl;
    else {
      pt = json_pack("{s:s,s:[]}", "type", "Sequence", "pretokenizers");
      for (int k = 0; pt && k < 3 && pre->re[k]; k++)
        json_array_append_new(json_object_get(pt, "pretokenizers"), json_pack("{s:s,s:{s:s},s:s,s:b}", "type", "Split", "pattern",
                                                                                "Regex", pre->re[k], "behavior", "Isolated", "invert", 0));
      if (pt) json_array_append(json_object_get(pt, "pretokenizers"), bl);
      json_decref(bl);
    }
    dec = json_pack("{s:s}", "type", "ByteLevel");
  }
  json_t *doc = json_pack("{s:s,s:o*,s:o*,s:o*,s:o*,s:o*,s:o*}", "version", "1.0", "model", m, "normalizer", norm,
                          "pre_tokenizer", pt, "post_processor", post_template(g, add_bos ? bos : -1, add_eos ? eos : -1),
                          "decoder", dec, "added_tokens", added_tokens(g));
  if (!doc || !m || !norm || !pt || !dec || !json_object_get(doc, "added_tokens") || !json_object_get(doc, "post_processor")) {
    json_decref(doc);
    return LS_ENOMEM;
  }
  *out = doc;
  return LS_OK;
}

int ls__tok_from_gguf(ls_tok *t, const char *path, ls_diag *d) {
  ls_tfile *f = NULL;
  int rc = ls_tfile_open_meta(path, &f, d); /* the tensors, in whatever types, are not read */
  if (rc) return rc;
  gg g = {.path = path, .d = d};
  json_t *doc = NULL;
  rc = build(&g, f, &doc);
  if (rc == LS_OK) {
    rc = ls__tok_from_doc(t, doc, d);
    /* the reader names the tokenizer.json it thinks it reads */
    if (rc && rc != LS_ENOMEM) ls_diag_prefix(d, "%s: the tokenizer of its tokenizer.ggml.* keys, read as ", path);
  }
  if (rc == LS_ENOMEM) ls_diag_set(d, rc, "out of memory while reading the tokenizer of %s", path);
  json_decref(doc);
  json_decref(g.vocab);
  for (uint64_t i = 0; g.tok && i < g.n; i++) ls_free(g.tok[i]);
  ls_free(g.tok);
  ls_free(g.len);
  ls_free(g.type);
  ls_tfile_close(f);
  return rc;
}
