/* tok_added.c: added and special tokens (Hugging Face's AddedVocabulary). The ids come from
 * the vocabulary when the content is in it, otherwise they are given in order after the
 * model's vocabulary, exactly as the reference assigns them when it reads added_tokens
 * (the "id" written in the file is not what decides). Matching is leftmost-longest over
 * all contents, through a byte trie: at each position the longest content wins, and the
 * earliest position wins; single_word, lstrip and rstrip then adjust or drop the match.
 * Tokens with normalized=false are matched in the raw text, the others in each normalized
 * piece (their content normalized too). */
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tok_int.h"

static int trie_insert(ls__trie *tr, const char *s, size_t n, int32_t tok) {
  if (tr->n_nodes == 0) {
    tr->tok = ls_malloc(64 * sizeof *tr->tok);
    if (!tr->tok) return LS_ENOMEM;
    tr->cap_nodes = 64;
    tr->tok[0] = -1;
    tr->n_nodes = 1;
  }
  uint64_t node = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t key = node << 8 | (unsigned char)s[i], child;
    if (i == 0) tr->first[(unsigned char)s[0] >> 3] |= (uint8_t)(1u << (s[0] & 7));
    if (!ls__u64map_get(&tr->edges, key, &child)) {
      if (tr->n_nodes == tr->cap_nodes) {
        int32_t *p = ls_reallocarray(tr->tok, tr->cap_nodes * 2, sizeof *p);
        if (!p) return LS_ENOMEM;
        tr->tok = p;
        tr->cap_nodes *= 2;
      }
      child = tr->n_nodes++;
      tr->tok[child] = -1;
      if (ls__u64map_put(&tr->edges, key, child) != LS_OK) return LS_ENOMEM;
    }
    node = child;
  }
  tr->tok[node] = tok;
  return LS_OK;
}

static void trie_free(ls__trie *tr) {
  ls__u64map_free(&tr->edges);
  ls_free(tr->tok);
  memset(tr, 0, sizeof *tr);
}

static int same_token(const ls__added *a, const ls__added *b) {
  return a->len == b->len && memcmp(a->content, b->content, a->len) == 0 && a->special == b->special &&
         a->single_word == b->single_word && a->lstrip == b->lstrip && a->rstrip == b->rstrip &&
         a->normalized == b->normalized;
}

/* AddedVocabulary::add_tokens over the tokens the file lists (t->added holds them in file
 * order with id unset); keeps the ones that count, with their ids. */
int ls__added_build(ls_tok *t, ls_diag *d) {
  uint32_t next_id = (uint32_t)t->model.vocab_count;
  size_t kept = 0;
  for (size_t i = 0; i < t->n_added; i++) {
    ls__added tok = t->added[i];
    if (tok.len == 0) continue;
    uint32_t id;
    uint64_t idx;
    if (ls__smap_get(&t->added_map, tok.content, tok.len, &id) && ls__u64map_get(&t->added_by_id, id, &idx) &&
        same_token(&t->added[idx], &tok))
      continue;
    if (!ls__smap_get(&t->added_map, tok.content, tok.len, &id) &&
        !ls__smap_get(&t->model.vocab, tok.content, tok.len, &id)) {
      if (next_id > LS__TOK_MAX_ID) return ls_diag_set(d, LS_EOVERFLOW, "too many added tokens");
      id = next_id++;
    }
    tok.id = id;
    if (ls__smap_put(&t->added_map, tok.content, tok.len, id) != LS_OK) return ls_diag_set(d, LS_ENOMEM, "out of memory");
    if (ls__u64map_get(&t->added_by_id, id, &idx)) {
      t->added[idx] = tok; /* the later token replaces the one with this id */
    } else {
      t->added[kept] = tok;
      if (ls__u64map_put(&t->added_by_id, id, kept) != LS_OK) return ls_diag_set(d, LS_ENOMEM, "out of memory");
      kept++;
    }
  }
  t->n_added = kept;
  /* normalized forms, then the two tries */
  ls__buf out = {0}, tmp = {0};
  int rc = LS_OK;
  for (size_t i = 0; i < t->n_added && rc == LS_OK; i++) {
    ls__added *a = &t->added[i];
    a->norm = a->content;
    a->norm_len = a->len;
    if (!a->normalized || !t->norm) continue;
    rc = ls__norm_apply(t->norm, a->content, a->len, &out, &tmp, d);
    if (rc == LS_OK && (out.len != a->len || memcmp(out.p, a->content, a->len) != 0)) {
      char *s = ls_arena_strndup(&t->arena, out.p ? out.p : "", out.len);
      if (!s) rc = LS_ENOMEM;
      else { a->norm = s; a->norm_len = (uint32_t)out.len; }
    }
  }
  ls__buf_free(&out);
  ls__buf_free(&tmp);
  for (size_t i = 0; i < t->n_added && rc == LS_OK; i++) {
    ls__added *a = &t->added[i];
    if (a->norm_len == 0) continue; /* an empty pattern never matches (never splits) */
    rc = a->normalized ? trie_insert(&t->trie_norm, a->norm, a->norm_len, (int32_t)i)
                       : trie_insert(&t->trie_raw, a->content, a->len, (int32_t)i);
  }
  if (rc == LS_ENOMEM) return ls_diag_set(d, rc, "out of memory");
  return rc;
}

/* Longest content starting at s[i], its end in *end; the token index or -1. */
static int32_t longest_at(const ls__trie *tr, const char *s, size_t n, size_t i, size_t *end) {
  uint64_t node = 0, child;
  int32_t best = -1;
  for (size_t j = i; j < n; j++) {
    if (!ls__u64map_get(&tr->edges, node << 8 | (unsigned char)s[j], &child)) break;
    node = child;
    if (tr->tok[node] >= 0) { best = tr->tok[node]; *end = j + 1; }
  }
  return best;
}

static int ends_with_word(const char *s, size_t n) {
  if (n == 0) return 0;
  size_t j = n - 1;
  while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
  int k;
  return ls__uc_is_word(ls__utf8_next(s + j, &k));
}

int ls__added_split(const ls_tok *t, const ls__trie *tr, ls__work *w, const ls__piece *p) {
  if (p->id >= 0 || tr->n_nodes == 0) return ls__work_emit(w, p->off, p->len, p->id, p->first);
  size_t n = p->len, pos = 0, start_offset = 0;
  int rc = LS_OK, k;
  while (pos < n && rc == LS_OK) {
    size_t start = pos, stop = 0;
    int32_t ti = -1;
    for (; start < n; start++) {
      unsigned char b = (unsigned char)w->text.p[p->off + start];
      if (!(tr->first[b >> 3] & (1u << (b & 7)))) continue;
      if ((ti = longest_at(tr, w->text.p + p->off, n, start, &stop)) >= 0) break;
    }
    if (ti < 0) break;
    pos = stop;
    const char *s = w->text.p + p->off;
    const ls__added *a = &t->added[ti];
    if (a->single_word) {
      int start_space = start == 0 || !ends_with_word(s, start);
      int stop_space = stop == n || !ls__uc_is_word(ls__utf8_next(s + stop, &k));
      if (!start_space || !stop_space) continue;
    }
    if (a->lstrip) {
      size_t ns = start;
      while (ns > 0) {
        size_t j = ns - 1;
        while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
        if (!ls__uc_is_whitespace(ls__utf8_next(s + j, &k))) break;
        ns = j;
      }
      start = ns > start_offset ? ns : start_offset;
    }
    if (a->rstrip)
      while (stop < n) {
        uint32_t c = ls__utf8_next(s + stop, &k);
        if (!ls__uc_is_whitespace(c)) break;
        stop += (size_t)k;
      }
    if (start < start_offset) start = start_offset;
    if (stop <= start) continue; /* inside the spaces a previous rstrip took */
    if (start_offset < start)
      rc = ls__work_emit(w, p->off + (uint32_t)start_offset, (uint32_t)(start - start_offset), -1,
                         p->first && start_offset == 0);
    if (rc == LS_OK) rc = ls__work_emit(w, p->off + (uint32_t)start, (uint32_t)(stop - start), (int32_t)a->id, 0);
    start_offset = stop; /* the search goes on from the match's end, as the reference's does */
  }
  if (rc == LS_OK && start_offset < n)
    rc = ls__work_emit(w, p->off + (uint32_t)start_offset, (uint32_t)(n - start_offset), -1,
                       p->first && start_offset == 0);
  return rc;
}

void ls__added_free(ls_tok *t) {
  ls_free(t->added);
  t->added = NULL;
  t->n_added = 0;
  ls__u64map_free(&t->added_by_id);
  ls__smap_free(&t->added_map);
  trie_free(&t->trie_raw);
  trie_free(&t->trie_norm);
}
