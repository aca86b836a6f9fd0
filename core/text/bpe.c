/* bpe.c: the BPE model of Hugging Face tokenizers (models/bpe), which covers the byte-level
 * tokenizers (GPT-2, Llama 3, Qwen, gpt-oss, DeepSeek: every byte is a character of the
 * vocabulary) and the SentencePiece-converted ones with byte fallback (Llama 2, Mistral,
 * Gemma: an unknown character becomes its <0xHH> byte tokens).
 *
 * A piece is first split into characters (each looked up, with the continuing-subword
 * prefix and end-of-word suffix where the file sets them; unknown characters become byte
 * tokens, an unk token, or nothing), then merged: every adjacent pair with a merge rule goes
 * into a min-heap ordered by (rank, position), and the best pair is merged and its
 * neighbours' new pairs pushed, exactly as Word::merge_all does. That is O(n log n) in the
 * piece's length, so a megabyte without a space costs milliseconds, not hours. Results for
 * pieces under 256 bytes are cached (as Hugging Face caches them) in a table of at most
 * 16384 words. */
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tok_int.h"

#define CACHE_CAP 32768u      /* slots; at most half are used */
#define CACHE_MAX_LEN 256u    /* Hugging Face's MAX_LENGTH for cached words */

/* ---- loading ----------------------------------------------------------------------- */

int ls__bpe_add_merge(ls__model *m, const char *a, size_t alen, const char *b, size_t blen,
                      uint32_t rank, ls_diag *d) {
  uint32_t ia, ib, inew;
  if (!ls__smap_get(&m->vocab, a, alen, &ia))
    return ls_diag_set(d, LS_EFORMAT, "merge %u: '%.*s' is not in the vocabulary", rank, (int)(alen > 100 ? 100 : alen), a);
  if (!ls__smap_get(&m->vocab, b, blen, &ib))
    return ls_diag_set(d, LS_EFORMAT, "merge %u: '%.*s' is not in the vocabulary", rank, (int)(blen > 100 ? 100 : blen), b);
  if (blen < m->prefix_len)
    return ls_diag_set(d, LS_EFORMAT, "merge %u: '%.*s' is shorter than the continuing_subword_prefix", rank,
                       (int)(blen > 100 ? 100 : blen), b);
  char stack[512];
  size_t nl = alen + blen - m->prefix_len;
  char *buf = nl <= sizeof stack ? stack : ls_malloc(nl);
  if (!buf) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  memcpy(buf, a, alen);
  memcpy(buf + alen, b + m->prefix_len, blen - m->prefix_len);
  int found = ls__smap_get(&m->vocab, buf, nl, &inew);
  if (!found) {
    ls_diag_set(d, LS_EFORMAT, "merge %u: the merged token '%.*s' is not in the vocabulary", rank,
                (int)(nl > 100 ? 100 : nl), buf);
  }
  if (buf != stack) ls_free(buf);
  if (!found) return LS_EFORMAT;
  /* a repeated pair keeps the last rank, as collecting into Hugging Face's HashMap does */
  if (ls__u64map_put(&m->merges, (uint64_t)ia << 32 | ib, (uint64_t)rank << 32 | inew) != LS_OK)
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  return LS_OK;
}

int ls__bpe_finish(ls__model *m, ls_diag *d) {
  for (int b = 0; b < 256; b++) {
    char name[8];
    static const char hex[] = "0123456789ABCDEF";
    memcpy(name, "<0x", 3);
    name[3] = hex[b >> 4];
    name[4] = hex[b & 15];
    name[5] = '>';
    uint32_t id;
    m->byte_ids[b] = ls__smap_get(&m->vocab, name, 6, &id) ? (int32_t)id : -1;
  }
  m->unk_id = -1;
  uint32_t id;
  if (m->unk_token && ls__smap_get(&m->vocab, m->unk_token, strlen(m->unk_token), &id)) m->unk_id = id;
  /* one-character lookups without hashing, when nothing is added around a character */
  if (m->prefix_len == 0 && m->suffix_len == 0) {
    m->cp_ids = ls_malloc(0x10000 * sizeof *m->cp_ids);
    if (!m->cp_ids) return ls_diag_set(d, LS_ENOMEM, "out of memory");
    memset(m->cp_ids, 0xff, 0x10000 * sizeof *m->cp_ids);
    for (size_t i = 0; i < m->vocab.cap; i++) {
      const ls__smap_slot *s = &m->vocab.slots[i];
      if (!s->key || s->len == 0 || s->len > 3) continue;
      int k;
      uint32_t cp = ls__utf8_next(s->key, &k);
      if ((uint32_t)k == s->len && cp < 0x10000) m->cp_ids[cp] = (int32_t)s->id;
    }
  }
  /* SentencePiece-style models see a whole text as one word (no pre-tokenizer). When no
   * token holds U+2581 after another character, and U+2581 is a token itself, no merge can
   * join the pieces on either side of such a U+2581 (a merge makes a token) and no unknown
   * run fuses across it: each "▁word" can be merged on its own, and cached, with the same
   * result. */
  uint32_t meta_id;
  m->split_meta = !m->ignore_merges && m->prefix_len == 0 && m->suffix_len == 0 &&
                  ls__smap_get(&m->vocab, "\xe2\x96\x81", 3, &meta_id);
  for (size_t i = 0; m->split_meta && i < m->vocab.cap; i++) {
    const ls__smap_slot *sl = &m->vocab.slots[i];
    for (uint32_t k = 1; sl->key && k + 3 <= sl->len; k++)
      if (memcmp(sl->key + k, "\xe2\x96\x81", 3) == 0 && !(k >= 3 && memcmp(sl->key + k - 3, "\xe2\x96\x81", 3) == 0)) {
        m->split_meta = 0;
        break;
      }
  }
  m->cache = ls_calloc(CACHE_CAP, sizeof *m->cache);
  if (!m->cache) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  m->cache_cap = CACHE_CAP;
  ls_arena_init(&m->cache_arena, 0);
  return LS_OK;
}

/* ---- merging ----------------------------------------------------------------------- */

typedef struct sym { uint32_t c; int32_t prev, next; uint32_t len; } sym;
typedef struct merge { uint32_t rank, pos, new_id; } merge;

static inline int merge_less(const merge *a, const merge *b) {
  return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}
static void heap_push(merge *h, size_t *n, merge m) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!merge_less(&m, &h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = m;
}
static merge heap_pop(merge *h, size_t *n) {
  merge top = h[0], last = h[--*n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, s = i;
    const merge *best = &last;
    if (l < *n && merge_less(&h[l], best)) { s = l; best = &h[l]; }
    if (r < *n && merge_less(&h[r], best)) { s = r; }
    if (s == i) break;
    h[i] = h[s];
    i = s;
  }
  if (*n) h[i] = last;
  return top;
}

typedef struct word { sym *s; size_t n, cap; } word;
static int word_add(word *w, uint32_t c, uint32_t len) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 32;
    sym *p = ls_reallocarray(w->s, cap, sizeof *p);
    if (!p) return LS_ENOMEM;
    w->s = p;
    w->cap = cap;
  }
  if (w->n) w->s[w->n - 1].next = (int32_t)w->n;
  w->s[w->n] = (sym){c, (int32_t)w->n - 1, -1, len};
  w->n++;
  return LS_OK;
}

static int lookup_char(const ls__model *m, const char *s, size_t i, size_t k, size_t n, ls__buf *tmp,
                       uint32_t *id, const char **str, size_t *slen) {
  int first = i == 0, last = i + k == n;
  if (m->cp_ids) {
    *str = s + i;
    *slen = k;
    if (k <= 3) {
      int kk;
      uint32_t cp = ls__utf8_next(s + i, &kk);
      int32_t v = m->cp_ids[cp];
      if (v >= 0) { *id = (uint32_t)v; return 1; }
      return 0;
    }
    return ls__smap_get(&m->vocab, s + i, k, id);
  }
  tmp->len = 0;
  if (!first && m->prefix) ls__buf_add(tmp, m->prefix, m->prefix_len);
  ls__buf_add(tmp, s + i, k);
  if (last && m->suffix) ls__buf_add(tmp, m->suffix, m->suffix_len);
  *str = tmp->p;
  *slen = tmp->len;
  return ls__smap_get(&m->vocab, tmp->p, tmp->len, id);
}

static int merge_word(ls__model *m, const char *s, size_t n, ls__ids *out, ls_diag *d) {
  word w = {0};
  ls__buf tmp = {0};
  int rc = LS_OK, have_unk = 0;
  uint32_t unk_len = 0;
  for (size_t i = 0; i < n && rc == LS_OK;) {
    size_t k = (size_t)ls__utf8_len((unsigned char)s[i]);
    if (i + k > n) k = n - i;
    uint32_t id;
    const char *str;
    size_t slen;
    if (lookup_char(m, s, i, k, n, &tmp, &id, &str, &slen)) {
      if (have_unk) { rc = word_add(&w, (uint32_t)m->unk_id, unk_len); have_unk = 0; }
      if (rc == LS_OK) rc = word_add(&w, id, (uint32_t)k);
      i += k;
      continue;
    }
    if (m->byte_fallback) {
      size_t j = 0;
      while (j < slen && m->byte_ids[(unsigned char)str[j]] >= 0) j++;
      if (j == slen) {
        /* as in Hugging Face, a pending unk is not flushed before the byte tokens */
        for (j = 0; j < slen && rc == LS_OK; j++) rc = word_add(&w, (uint32_t)m->byte_ids[(unsigned char)str[j]], 1);
        i += k;
        continue;
      }
    }
    if (m->unk_token) {
      if (m->unk_id < 0) {
        rc = ls_diag_set(d, LS_EFORMAT, "the unk_token '%.100s' is not in the vocabulary", m->unk_token);
        break;
      }
      if (have_unk && m->fuse_unk) unk_len += (uint32_t)k;
      else {
        if (have_unk) rc = word_add(&w, (uint32_t)m->unk_id, unk_len);
        have_unk = 1;
        unk_len = (uint32_t)k;
      }
    }
    i += k;
  }
  if (rc == LS_OK && have_unk) rc = word_add(&w, (uint32_t)m->unk_id, unk_len);
  ls__buf_free(&tmp);

  merge *h = NULL;
  size_t hn = 0;
  if (rc == LS_OK && w.n > 1) {
    h = ls_reallocarray(NULL, w.n * 2 + 8, sizeof *h);
    size_t hcap = w.n * 2 + 8;
    if (!h) rc = LS_ENOMEM;
    for (size_t i = 0; rc == LS_OK && i + 1 < w.n; i++) {
      uint64_t v;
      if (ls__u64map_get(&m->merges, (uint64_t)w.s[i].c << 32 | w.s[i + 1].c, &v))
        heap_push(h, &hn, (merge){(uint32_t)(v >> 32), (uint32_t)i, (uint32_t)v});
    }
    while (rc == LS_OK && hn > 0) {
      merge top = heap_pop(h, &hn);
      sym *cur = &w.s[top.pos];
      if (cur->len == 0 || cur->next < 0) continue;
      size_t next_pos = (size_t)cur->next;
      sym right = w.s[next_pos];
      uint64_t v;
      if (!ls__u64map_get(&m->merges, (uint64_t)cur->c << 32 | right.c, &v) || (uint32_t)v != top.new_id) continue;
      cur->c = top.new_id;
      cur->len += right.len;
      cur->next = right.next;
      w.s[next_pos].len = 0;
      if (right.next >= 0 && (size_t)right.next < w.n) w.s[right.next].prev = (int32_t)top.pos;
      /* every merge pushes at most two pairs; keep room for them */
      if (hn + 2 > hcap) {
        merge *nh = ls_reallocarray(h, hcap * 2, sizeof *nh);
        if (!nh) { rc = LS_ENOMEM; break; }
        h = nh;
        hcap *= 2;
      }
      if (cur->prev >= 0 &&
          ls__u64map_get(&m->merges, (uint64_t)w.s[cur->prev].c << 32 | cur->c, &v))
        heap_push(h, &hn, (merge){(uint32_t)(v >> 32), (uint32_t)cur->prev, (uint32_t)v});
      if (cur->next >= 0 && (size_t)cur->next < w.n &&
          ls__u64map_get(&m->merges, (uint64_t)cur->c << 32 | w.s[cur->next].c, &v))
        heap_push(h, &hn, (merge){(uint32_t)(v >> 32), top.pos, (uint32_t)v});
    }
  }
  ls_free(h);
  for (size_t i = 0; rc == LS_OK && i < w.n; i++)
    if (w.s[i].len) rc = ls__ids_add(out, w.s[i].c);
  ls_free(w.s);
  if (rc == LS_ENOMEM) ls_diag_set(d, rc, "out of memory in BPE");
  return rc;
}

/* One word: from the cache, or merged and cached. */
static int tokenize_word(ls__model *m, const char *s, size_t n, ls__ids *out, ls_diag *d) {
  if (n >= CACHE_MAX_LEN || !m->cache) return merge_word(m, s, n, out, d);
  uint32_t h = ls__hash_bytes(s, n);
  size_t j = h & (m->cache_cap - 1);
  while (m->cache[j].key) {
    ls__bpe_cache_entry *e = &m->cache[j];
    if (e->hash == h && e->len == n && memcmp(e->key, s, n) == 0) {
      for (uint32_t i = 0; i < e->n; i++) {
        int rc = ls__ids_add(out, m->cache_ids.p[e->off + i]);
        if (rc) return rc;
      }
      return LS_OK;
    }
    j = (j + 1) & (m->cache_cap - 1);
  }
  size_t before = out->n;
  int rc = merge_word(m, s, n, out, d);
  if (rc != LS_OK || m->cache_n * 2 >= m->cache_cap) return rc;
  char *key = ls_arena_strndup(&m->cache_arena, s, n);
  if (!key) return LS_OK; /* the cache is an optimisation */
  uint32_t off = (uint32_t)m->cache_ids.n;
  for (size_t i = before; i < out->n; i++)
    if (ls__ids_add(&m->cache_ids, out->p[i]) != LS_OK) { m->cache_ids.n = off; return LS_OK; }
  m->cache[j] = (ls__bpe_cache_entry){key, (uint32_t)n, h, off, (uint32_t)(out->n - before)};
  m->cache_n++;
  return LS_OK;
}

int ls__bpe_tokenize(ls__model *m, const char *s, size_t n, ls__ids *out, ls_diag *d) {
  if (n == 0) return LS_OK;
  uint32_t id;
  if (m->ignore_merges && ls__smap_get(&m->vocab, s, n, &id)) return ls__ids_add(out, id);
  if (!m->split_meta) return tokenize_word(m, s, n, out, d);
  /* cut before each U+2581 that follows another character (see ls__bpe_finish) */
  size_t start = 0;
  for (size_t i = 1; i + 3 <= n; i++) {
    if (memcmp(s + i, "\xe2\x96\x81", 3) != 0 || (i >= 3 && memcmp(s + i - 3, "\xe2\x96\x81", 3) == 0)) continue;
    int rc = tokenize_word(m, s + start, i - start, out, d);
    if (rc) return rc;
    start = i;
    i += 2;
  }
  return tokenize_word(m, s + start, n - start, out, d);
}

void ls__model_free(ls__model *m) {
  ls__smap_free(&m->vocab);
  ls__u64map_free(&m->merges);
  ls_free(m->vocab_s);
  ls_free(m->vocab_len);
  ls_free(m->cp_ids);
  ls_free(m->cache);
  ls_free(m->cache_ids.p);
  if (m->cache_cap) ls_arena_deinit(&m->cache_arena);
  memset(m, 0, sizeof *m);
}
