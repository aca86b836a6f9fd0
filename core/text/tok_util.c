/* tok_util.c: the small containers the tokenizer is built from: open-addressing hash tables
 * for token strings and for pairs of ids (linear probing, grown at half load so lookups stay
 * O(1) on the 500k-merge tables of current models), growable byte/id/span/string lists, and
 * the split step every pre-tokenizer shares (Hugging Face's NormalizedString::split with its
 * five delimiter behaviours). */
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tok_int.h"

/* ---- string -> id ------------------------------------------------------------------ */

static int smap_grow(ls__smap *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  ls__smap_slot *s = ls_calloc(cap, sizeof *s);
  if (!s) return LS_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].key) continue;
    size_t j = m->slots[i].hash & (cap - 1);
    while (s[j].key) j = (j + 1) & (cap - 1);
    s[j] = m->slots[i];
  }
  ls_free(m->slots);
  m->slots = s;
  m->cap = cap;
  return LS_OK;
}

int ls__smap_put(ls__smap *m, const char *key, uint32_t len, uint32_t id) {
  if ((m->n + 1) * 2 > m->cap && smap_grow(m) != LS_OK) return LS_ENOMEM;
  uint32_t h = ls__hash_bytes(key, len);
  size_t j = h & (m->cap - 1);
  while (m->slots[j].key) {
    ls__smap_slot *s = &m->slots[j];
    if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
      s->id = id;
      return LS_OK;
    }
    j = (j + 1) & (m->cap - 1);
  }
  m->slots[j] = (ls__smap_slot){key, len, h, id};
  m->n++;
  return LS_OK;
}

int ls__smap_get(const ls__smap *m, const char *key, size_t len, uint32_t *id) {
  if (!m->cap) return 0;
  uint32_t h = ls__hash_bytes(key, len);
  size_t j = h & (m->cap - 1);
  while (m->slots[j].key) {
    const ls__smap_slot *s = &m->slots[j];
    if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
      *id = s->id;
      return 1;
    }
    j = (j + 1) & (m->cap - 1);
  }
  return 0;
}

void ls__smap_free(ls__smap *m) {
  ls_free(m->slots);
  memset(m, 0, sizeof *m);
}

/* ---- u64 -> u64 -------------------------------------------------------------------- */

static inline size_t mix64(uint64_t k) {
  k ^= k >> 33; k *= 0xff51afd7ed558ccdull; k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ull; k ^= k >> 33;
  return (size_t)k;
}

static int u64_grow(ls__u64map *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  uint64_t *k = ls_malloc(cap * sizeof *k), *v = ls_malloc(cap * sizeof *v);
  if (!k || !v) { ls_free(k); ls_free(v); return LS_ENOMEM; }
  memset(k, 0xff, cap * sizeof *k);
  for (size_t i = 0; i < m->cap; i++) {
    if (m->keys[i] == UINT64_MAX) continue;
    size_t j = mix64(m->keys[i]) & (cap - 1);
    while (k[j] != UINT64_MAX) j = (j + 1) & (cap - 1);
    k[j] = m->keys[i];
    v[j] = m->vals[i];
  }
  ls_free(m->keys); ls_free(m->vals);
  m->keys = k; m->vals = v; m->cap = cap;
  return LS_OK;
}

int ls__u64map_put(ls__u64map *m, uint64_t key, uint64_t val) {
  if ((m->n + 1) * 2 > m->cap && u64_grow(m) != LS_OK) return LS_ENOMEM;
  size_t j = mix64(key) & (m->cap - 1);
  while (m->keys[j] != UINT64_MAX) {
    if (m->keys[j] == key) { m->vals[j] = val; return LS_OK; }
    j = (j + 1) & (m->cap - 1);
  }
  m->keys[j] = key;
  m->vals[j] = val;
  m->n++;
  return LS_OK;
}

int ls__u64map_get(const ls__u64map *m, uint64_t key, uint64_t *val) {
  if (!m->cap) return 0;
  size_t j = mix64(key) & (m->cap - 1);
  while (m->keys[j] != UINT64_MAX) {
    if (m->keys[j] == key) { *val = m->vals[j]; return 1; }
    j = (j + 1) & (m->cap - 1);
  }
  return 0;
}

void ls__u64map_free(ls__u64map *m) {
  ls_free(m->keys); ls_free(m->vals);
  memset(m, 0, sizeof *m);
}

/* ---- lists ------------------------------------------------------------------------- */

int ls__buf_reserve(ls__buf *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->len) return LS_EOVERFLOW;
  if (b->len + extra <= b->cap) return LS_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  char *p = ls_realloc(b->p, cap);
  if (!p) return LS_ENOMEM;
  b->p = p;
  b->cap = cap;
  return LS_OK;
}

int ls__buf_add(ls__buf *b, const void *s, size_t n) {
  int rc = ls__buf_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  return LS_OK;
}

int ls__buf_add_cp(ls__buf *b, uint32_t cp) {
  char u[4];
  return ls__buf_add(b, u, (size_t)ls__utf8_encode(cp, u));
}

void ls__buf_free(ls__buf *b) {
  ls_free(b->p);
  memset(b, 0, sizeof *b);
}

int ls__ids_add(ls__ids *v, uint32_t id) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    uint32_t *p = ls_reallocarray(v->p, cap, sizeof *p);
    if (!p) return LS_ENOMEM;
    v->p = p;
    v->cap = cap;
  }
  v->p[v->n++] = id;
  return LS_OK;
}

int ls__spans_add(ls__spans *v, uint32_t s, uint32_t e, int match) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    ls__span *p = ls_reallocarray(v->p, cap, sizeof *p);
    if (!p) return LS_ENOMEM;
    v->p = p;
    v->cap = cap;
  }
  v->p[v->n++] = (ls__span){s, e, (uint8_t)(match != 0)};
  return LS_OK;
}

int ls__strs_add(ls__strs *v, const char *s, size_t n) {
  if (n > UINT32_MAX || v->bytes.len > UINT32_MAX - n) return LS_EOVERFLOW;
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 32;
    uint32_t *o = ls_reallocarray(v->off, cap, sizeof *o);
    if (!o) return LS_ENOMEM;
    v->off = o;
    uint32_t *l = ls_reallocarray(v->len, cap, sizeof *l);
    if (!l) return LS_ENOMEM;
    v->len = l;
    v->cap = cap;
  }
  uint32_t off = (uint32_t)v->bytes.len;
  int rc = ls__buf_add(&v->bytes, s, n);
  if (rc) return rc;
  v->off[v->n] = off;
  v->len[v->n] = (uint32_t)n;
  v->n++;
  return LS_OK;
}

void ls__strs_free(ls__strs *v) {
  ls__buf_free(&v->bytes);
  ls_free(v->off);
  ls_free(v->len);
  memset(v, 0, sizeof *v);
}

/* ---- pieces ------------------------------------------------------------------------ */

int ls__work_emit(ls__work *w, uint32_t off, uint32_t len, int32_t id, int first) {
  if (len == 0 && id < 0) return LS_OK; /* PreTokenizedString::split drops empty pieces */
  if (w->n_next == w->cap_next) {
    size_t cap = w->cap_next ? w->cap_next * 2 : 64;
    ls__piece *p = ls_reallocarray(w->next, cap, sizeof *p);
    if (!p) return LS_ENOMEM;
    w->next = p;
    w->cap_next = cap;
  }
  w->next[w->n_next++] = (ls__piece){off, len, id, (uint8_t)(first != 0)};
  return LS_OK;
}

void ls__work_swap(ls__work *w) {
  ls__piece *p = w->pieces;
  size_t cap = w->cap;
  w->pieces = w->next;
  w->cap = w->cap_next;
  w->n = w->n_next;
  w->next = p;
  w->cap_next = cap;
  w->n_next = 0;
}

int ls__split_emit(ls__work *w, const ls__piece *p, const ls__spans *m, ls__split_beh beh,
                   int invert) {
  /* The (start, end, remove) list of NormalizedString::split, built in place: runs of
   * matches and non-matches fold as the behaviour says. MergedWithNext folds from the
   * right, so it is built backwards into the same list. */
  size_t n = m->n;
  int rc = LS_OK;
  if (beh == LS__SPLIT_MERGED_NEXT) {
    /* walk right to left, remember the pieces, then emit them in order */
    size_t k = 0; /* number of pieces collected at the tail of a scratch copy */
    ls__span *tmp = ls_reallocarray(NULL, n ? n : 1, sizeof *tmp);
    if (!tmp) return LS_ENOMEM;
    int prev_match = 0;
    for (size_t i = n; i-- > 0;) {
      int is_match = m->p[i].match ^ (invert != 0);
      if (is_match && !prev_match && k > 0) tmp[k - 1].s = m->p[i].s;
      else tmp[k++] = (ls__span){m->p[i].s, m->p[i].e, 0};
      prev_match = is_match;
    }
    for (size_t i = k; i-- > 0 && rc == LS_OK;)
      rc = ls__work_emit(w, p->off + tmp[i].s, tmp[i].e - tmp[i].s, -1, p->first && tmp[i].s == 0);
    ls_free(tmp);
    return rc;
  }
  /* left to right: keep the last kept piece open, emit it when the next one starts */
  int have = 0, prev_match = 0;
  uint32_t cs = 0, ce = 0;
  for (size_t i = 0; i < n && rc == LS_OK; i++) {
    int is_match = m->p[i].match ^ (invert != 0);
    uint32_t s = m->p[i].s, e = m->p[i].e;
    switch (beh) {
      case LS__SPLIT_REMOVED:
        if (!is_match) rc = ls__work_emit(w, p->off + s, e - s, -1, p->first && s == 0);
        break;
      case LS__SPLIT_ISOLATED:
        rc = ls__work_emit(w, p->off + s, e - s, -1, p->first && s == 0);
        break;
      case LS__SPLIT_CONTIGUOUS:
        if (have && is_match == prev_match) { ce = e; break; }
        if (have) rc = ls__work_emit(w, p->off + cs, ce - cs, -1, p->first && cs == 0);
        cs = s; ce = e; have = 1;
        break;
      case LS__SPLIT_MERGED_PREV:
        if (have && is_match && !prev_match) { ce = e; break; }
        if (have) rc = ls__work_emit(w, p->off + cs, ce - cs, -1, p->first && cs == 0);
        cs = s; ce = e; have = 1;
        break;
      default: break;
    }
    prev_match = is_match;
  }
  if (rc == LS_OK && have) rc = ls__work_emit(w, p->off + cs, ce - cs, -1, p->first && cs == 0);
  return rc;
}
