/* tokenizer.c: the tokenizer's front: opening a tokenizer.json, a directory or a GGUF file,
 * and the encode and decode pipelines of Hugging Face's TokenizerImpl (see tok_int.h for the
 * stages). Encoding reuses one work buffer per tokenizer, so a long text costs a few
 * allocations, and every stage is linear in the text (BPE merges are O(n log n) per piece). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/file.h"
#include "core/text/tok_int.h"

ls_tok *ls__tok_new(void) {
  ls_tok *t = ls_calloc(1, sizeof *t);
  if (!t) return NULL;
  ls_arena_init(&t->arena, 1 << 20);
  t->model.unk_id = -1;
  return t;
}

void ls_tok_free(ls_tok *t) {
  if (!t) return;
  ls__model_free(&t->model);
  ls__norm_free(t->norm);
  ls_free(t->norm);
  ls__pretok_free(t->pretok);
  ls_free(t->pretok);
  ls__post_free(t->post);
  ls_free(t->post);
  ls__dec_free(t->dec);
  ls_free(t->dec);
  ls__added_free(t);
  ls__buf_free(&t->work.text);
  ls__buf_free(&t->work.scratch);
  ls__buf_free(&t->work.scratch2);
  ls_free(t->work.pieces);
  ls_free(t->work.next);
  ls_free(t->work.spans.p);
  ls_free(t->scratch_ids.p);
  ls_arena_deinit(&t->arena);
  ls_free(t);
}

static void describe(ls_tok *t) {
  const ls__model *m = &t->model;
  const char *kind = m->kind == LS__M_WORDPIECE ? "WordPiece" : m->kind == LS__M_WORDLEVEL ? "WordLevel" : "BPE";
  const char *how = "";
  if (m->kind == LS__M_BPE) {
    const ls__pretok *p = t->pretok;
    int bl = 0;
    if (p && p->kind == LS__P_BYTELEVEL) bl = 1;
    for (size_t i = 0; p && p->kind == LS__P_SEQUENCE && i < p->n; i++) bl |= p->items[i].kind == LS__P_BYTELEVEL;
    how = bl ? " (byte-level)" : m->byte_fallback ? " (byte fallback)" : "";
  }
  snprintf(t->desc, sizeof t->desc, "%s%s, %zu tokens + %zu added", kind, how, m->vocab_count, t->n_added);
}

int ls_tok_load_json(const char *text, size_t len, ls_tok **out, ls_diag *d) {
  *out = NULL;
  ls_tok *t = ls__tok_new();
  if (!t) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  int rc = ls__tok_from_json(t, text, len, d);
  if (rc) { ls_tok_free(t); return rc; }
  describe(t);
  *out = t;
  return LS_OK;
}

int ls_tok_open(const char *path, ls_tok **out, ls_diag *d) {
  *out = NULL;
  struct stat st;
  char *p = NULL;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    size_t n = strlen(path) + sizeof "/tokenizer.json";
    if (!(p = ls_malloc(n))) return ls_diag_set(d, LS_ENOMEM, "out of memory");
    snprintf(p, n, "%s/tokenizer.json", path);
    if (stat(p, &st) != 0) {
      ls_free(p);
      return ls_diag_set_at(d, LS_ENOENT, path, -1, "%s: a directory without a tokenizer.json", path);
    }
  }
  const char *file = p ? p : path;
  char *text = NULL;
  size_t len = 0;
  /* a GGUF file (its magic) is a model of gigabytes: only its header is read */
  char magic[4] = {0};
  FILE *fp = fopen(file, "rb");
  int gguf = fp && fread(magic, 1, 4, fp) == 4 && memcmp(magic, "GGUF", 4) == 0;
  if (fp) fclose(fp);
  int rc = gguf ? LS_OK : ls_file_read(file, LS_TOK_MAX_JSON, &text, &len, d);
  if (rc == LS_OK && gguf) {
    ls_tok *t = ls__tok_new();
    if (!t) rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
    else if ((rc = ls__tok_from_gguf(t, file, d)) != LS_OK) ls_tok_free(t);
    else { describe(t); *out = t; }
  } else if (rc == LS_OK) {
    rc = ls_tok_load_json(text, len, out, d);
  }
  if (rc != LS_OK && d && d->code && strncmp(d->msg, file, strlen(file)) != 0) ls_diag_prefix(d, "%s: ", file);
  ls_free(text);
  ls_free(p);
  return rc;
}

/* ---- encoding ---------------------------------------------------------------------- */

static size_t post_added(const ls__post *pp) {
  if (!pp) return 0;
  switch (pp->kind) {
    case LS__PP_TEMPLATE: {
      size_t n = 0;
      for (size_t i = 0; i < pp->n_tpl; i++) n += pp->tpl[i].is_seq ? 0 : pp->tpl[i].len;
      return n;
    }
    case LS__PP_BERT: case LS__PP_ROBERTA: return 2;
    case LS__PP_BYTELEVEL: return 0;
    case LS__PP_SEQUENCE: {
      size_t n = 0;
      for (size_t i = 0; i < pp->n; i++) n += post_added(&pp->items[i]);
      return n;
    }
  }
  return 0;
}

static int model_tokenize(ls_tok *t, const char *s, size_t n, ls__ids *out, ls_diag *d) {
  switch (t->model.kind) {
    case LS__M_BPE: return ls__bpe_tokenize(&t->model, s, n, out, d);
    case LS__M_WORDPIECE: return ls__wordpiece_tokenize(&t->model, s, n, out, d);
    case LS__M_WORDLEVEL: return ls__wordlevel_tokenize(&t->model, s, n, out, d);
  }
  return LS_EINVAL;
}

int ls_tok_encode(ls_tok *t, const char *text, size_t len, int add_special, uint32_t **ids, size_t *n,
                  ls_diag *d) {
  *ids = NULL;
  *n = 0;
  if (len > (UINT32_MAX >> 3)) return ls_diag_set(d, LS_ELIMIT, "text of %zu bytes: more than the 512 MiB one encode takes", len);
  int64_t badpos = ls__utf8_check(text, len);
  if (badpos >= 0)
    return ls_diag_set(d, LS_EFORMAT, "the text is not valid UTF-8 (byte %lld: 0x%02x)", (long long)badpos,
                       (unsigned)(unsigned char)text[badpos]);
  ls__work *w = &t->work;
  w->text.len = 0;
  w->n = w->n_next = 0;
  int rc = ls__buf_add(&w->text, text, len);
  if (rc == LS_OK) rc = ls__work_emit(w, 0, (uint32_t)len, -1, 1);
  ls__work_swap(w);
  /* 1. added tokens that are matched before normalization */
  for (size_t i = 0; i < w->n && rc == LS_OK; i++) rc = ls__added_split(t, &t->trie_raw, w, &w->pieces[i]);
  ls__work_swap(w);
  /* 2. normalize each remaining piece, then cut out the normalized added tokens */
  for (size_t i = 0; i < w->n && rc == LS_OK; i++) {
    ls__piece p = w->pieces[i];
    if (p.id < 0 && t->norm) {
      rc = ls__norm_apply(t->norm, w->text.p + p.off, p.len, &w->scratch, &w->scratch2, d);
      if (rc) break;
      if (w->text.len + w->scratch.len > UINT32_MAX) { rc = LS_ELIMIT; break; }
      p.off = (uint32_t)w->text.len;
      p.len = (uint32_t)w->scratch.len;
      if ((rc = ls__buf_add(&w->text, w->scratch.p, w->scratch.len))) break;
      if (p.len == 0) continue;
    }
    rc = ls__added_split(t, &t->trie_norm, w, &p);
  }
  ls__work_swap(w);
  /* 3. pre-tokenize */
  if (rc == LS_OK && t->pretok) rc = ls__pretok_apply(t->pretok, w, d);
  /* 4. the model */
  ls__ids *seq = &t->scratch_ids;
  seq->n = 0;
  for (size_t i = 0; i < w->n && rc == LS_OK; i++) {
    const ls__piece *p = &w->pieces[i];
    rc = p->id >= 0 ? ls__ids_add(seq, (uint32_t)p->id) : model_tokenize(t, w->text.p + p->off, p->len, seq, d);
  }
  /* 5. truncation, 6. special tokens, 7. padding */
  ls__ids res = {0};
  if (rc == LS_OK && t->trunc_max) {
    size_t max = t->trunc_max - 1, extra = add_special ? post_added(t->post) : 0;
    max = max > extra ? max - extra : 0;
    if (seq->n > max) {
      if (t->trunc_left) memmove(seq->p, seq->p + (seq->n - max), max * sizeof *seq->p);
      seq->n = max;
    }
  }
  if (rc == LS_OK) {
    if (add_special && t->post) rc = ls__post_apply(t->post, seq, &res);
    else
      for (size_t i = 0; i < seq->n && rc == LS_OK; i++) rc = ls__ids_add(&res, seq->p[i]);
  }
  if (rc == LS_OK && t->pad) {
    size_t target = t->pad_len ? t->pad_len : res.n;
    if (t->pad_multiple && target % t->pad_multiple) target += t->pad_multiple - target % t->pad_multiple;
    size_t add = target > res.n ? target - res.n : 0;
    for (size_t i = 0; i < add && rc == LS_OK; i++) rc = ls__ids_add(&res, t->pad_id);
    if (rc == LS_OK && add && t->pad_left) {
      memmove(res.p + add, res.p, (res.n - add) * sizeof *res.p);
      for (size_t i = 0; i < add; i++) res.p[i] = t->pad_id;
    }
  }
  if (rc != LS_OK) {
    ls_free(res.p);
    if (rc == LS_ENOMEM) ls_diag_set(d, rc, "out of memory while encoding");
    else if (rc == LS_ELIMIT) ls_diag_set(d, rc, "text too long for the tokenizer's work buffer (4 GiB)");
    return rc;
  }
  /* the work buffer of a huge text is not kept */
  if (w->text.cap > ((size_t)64 << 20)) { ls__buf_free(&w->text); }
  *ids = res.p;
  *n = res.n;
  return LS_OK;
}

/* ---- tokens and decoding ----------------------------------------------------------- */

const char *ls_tok_token(const ls_tok *t, uint32_t id, size_t *len) {
  uint64_t idx;
  if (ls__u64map_get(&t->added_by_id, id, &idx)) {
    *len = t->added[idx].norm_len;
    return t->added[idx].norm;
  }
  if (id < t->model.n_ids && t->model.vocab_s[id]) {
    *len = t->model.vocab_len[id];
    return t->model.vocab_s[id];
  }
  *len = 0;
  return NULL;
}

int ls_tok_token_id(const ls_tok *t, const char *s, size_t len, uint32_t *id) {
  if (ls__smap_get(&t->added_map, s, len, id)) return LS_OK;
  return ls__smap_get(&t->model.vocab, s, len, id) ? LS_OK : LS_ENOENT;
}

int ls_tok_is_special(const ls_tok *t, uint32_t id) {
  uint64_t idx;
  return ls__u64map_get(&t->added_by_id, id, &idx) && t->added[idx].special;
}

/* Hugging Face skips a token when its string is the content of a special added token. */
static int special_string(const ls_tok *t, const char *s, size_t n) {
  uint32_t id;
  uint64_t idx;
  return ls__smap_get(&t->added_map, s, n, &id) && ls__u64map_get(&t->added_by_id, id, &idx) && t->added[idx].special;
}

size_t ls_tok_vocab_size(const ls_tok *t) {
  size_t n = t->model.n_ids;
  for (size_t i = 0; i < t->n_added; i++)
    if ((size_t)t->added[i].id + 1 > n) n = (size_t)t->added[i].id + 1;
  return n;
}

const char *ls_tok_describe(const ls_tok *t) { return t->desc; }

int ls_tok_decode(const ls_tok *t, const uint32_t *ids, size_t n, int skip_special, char **text, size_t *len,
                  ls_diag *d) {
  *text = NULL;
  *len = 0;
  ls__strs toks = {0};
  int rc = LS_OK;
  for (size_t i = 0; i < n && rc == LS_OK; i++) {
    size_t sl;
    const char *s = ls_tok_token(t, ids[i], &sl);
    if (!s) {
      rc = ls_diag_set(d, LS_ENOENT, "token id %u is not in the vocabulary (ids 0..%zu)", ids[i],
                       ls_tok_vocab_size(t) ? ls_tok_vocab_size(t) - 1 : 0);
      break;
    }
    if (skip_special && special_string(t, s, sl)) continue;
    rc = ls__strs_add(&toks, s, sl);
  }
  if (rc == LS_OK && t->dec && toks.n) rc = ls__dec_chain(t->dec, &toks, d);
  ls__buf out = {0};
  for (size_t i = 0; i < toks.n && rc == LS_OK; i++) {
    if (i && !t->dec) rc = ls__buf_add(&out, " ", 1);
    /* a decoder may leave every token empty, and then toks.bytes.p is NULL */
    if (rc == LS_OK && toks.len[i]) rc = ls__buf_add(&out, toks.bytes.p + toks.off[i], toks.len[i]);
  }
  if (rc == LS_OK) rc = ls__buf_add(&out, "", 1);
  ls__strs_free(&toks);
  if (rc != LS_OK) {
    ls__buf_free(&out);
    if (rc == LS_ENOMEM) ls_diag_set(d, rc, "out of memory while decoding");
    return rc;
  }
  *text = out.p;
  *len = out.len - 1;
  return LS_OK;
}

int ls_tok_decode_one(const ls_tok *t, uint32_t id, char **text, size_t *len, ls_diag *d) {
  return ls_tok_decode(t, &id, 1, 0, text, len, d);
}
