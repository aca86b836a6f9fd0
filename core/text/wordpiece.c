/* wordpiece.c: the WordPiece model (BERT and its descendants) and the WordLevel model, as
 * Hugging Face's models/wordpiece and models/wordlevel define them. WordPiece takes the
 * longest vocabulary entry at the start of the word, then the longest "##"-prefixed entry at
 * each following position; a word with a position no entry matches, or longer than
 * max_input_chars_per_word characters, is one [UNK]. The search for the longest entry starts
 * at the longest vocabulary token rather than the end of the word: the result is the same
 * and the cost stays linear in the word's length whatever max_input_chars_per_word says. */
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tok_int.h"

static int unk(const ls__model *m, ls__ids *out, ls_diag *d) {
  if (m->unk_id < 0)
    return ls_diag_set(d, LS_EFORMAT, "the WordPiece unk_token '%.100s' is not in the vocabulary",
                       m->unk_token ? m->unk_token : "");
  return ls__ids_add(out, (uint32_t)m->unk_id);
}

int ls__wordpiece_tokenize(const ls__model *m, const char *s, size_t n, ls__ids *out, ls_diag *d) {
  if (n == 0) return LS_OK;
  size_t chars = 0;
  for (size_t i = 0; i < n; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
  if (chars > m->max_input_chars) return unk(m, out, d);
  size_t before = out->n;
  ls__buf tmp = {0};
  int rc = LS_OK;
  size_t start = 0;
  while (start < n) {
    size_t room = m->max_token_len;
    if (start > 0) room = room > m->prefix_len ? room - m->prefix_len : 0;
    size_t end = n - start > room ? start + room : n;
    while (end > start && end < n && ((unsigned char)s[end] & 0xC0) == 0x80) end--;
    int found = 0;
    uint32_t id = 0;
    while (start < end) {
      tmp.len = 0;
      if (start > 0 && (rc = ls__buf_add(&tmp, m->prefix, m->prefix_len))) break;
      if ((rc = ls__buf_add(&tmp, s + start, end - start))) break;
      if (ls__smap_get(&m->vocab, tmp.p, tmp.len, &id)) { found = 1; break; }
      end--;
      while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80) end--;
    }
    if (rc) break;
    if (!found) {
      out->n = before;
      ls__buf_free(&tmp);
      return unk(m, out, d);
    }
    if ((rc = ls__ids_add(out, id))) break;
    start = end;
  }
  ls__buf_free(&tmp);
  if (rc == LS_ENOMEM) ls_diag_set(d, rc, "out of memory in WordPiece");
  return rc;
}

int ls__wordlevel_tokenize(const ls__model *m, const char *s, size_t n, ls__ids *out, ls_diag *d) {
  uint32_t id;
  if (ls__smap_get(&m->vocab, s, n, &id)) return ls__ids_add(out, id);
  if (m->unk_id < 0)
    return ls_diag_set(d, LS_EFORMAT, "'%.*s' is not in the WordLevel vocabulary and its unk_token%s%.100s%s is not either",
                       (int)(n > 60 ? 60 : n), s, m->unk_token ? " '" : "", m->unk_token ? m->unk_token : "",
                       m->unk_token ? "'" : "");
  return ls__ids_add(out, (uint32_t)m->unk_id);
}
