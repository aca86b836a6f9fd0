/* tok_pretok.c: the pre-tokenizers of tokenizer.json, as Hugging Face's pre_tokenizers/
 * define them: Sequence, ByteLevel (GPT-2's byte-to-character alphabet, optional prefix
 * space and GPT-2 split pattern), Split (regex or string, five delimiter behaviours,
 * invert), Metaspace (SentencePiece's U+2581 with its prepend schemes), BertPreTokenizer,
 * Whitespace, WhitespaceSplit, Digits, Punctuation and CharDelimiterSplit. Each takes the
 * current pieces of the work buffer and emits the next ones; pieces that are already tokens
 * (added tokens) pass through untouched. */
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tok_int.h"

const uint16_t ls__bytelevel_cp[256] = {
  0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106, 0x107, 0x108, 0x109, 0x10A, 0x10B, 0x10C, 0x10D, 0x10E, 0x10F,
  0x110, 0x111, 0x112, 0x113, 0x114, 0x115, 0x116, 0x117, 0x118, 0x119, 0x11A, 0x11B, 0x11C, 0x11D, 0x11E, 0x11F,
  0x120, 0x021, 0x022, 0x023, 0x024, 0x025, 0x026, 0x027, 0x028, 0x029, 0x02A, 0x02B, 0x02C, 0x02D, 0x02E, 0x02F,
  0x030, 0x031, 0x032, 0x033, 0x034, 0x035, 0x036, 0x037, 0x038, 0x039, 0x03A, 0x03B, 0x03C, 0x03D, 0x03E, 0x03F,
  0x040, 0x041, 0x042, 0x043, 0x044, 0x045, 0x046, 0x047, 0x048, 0x049, 0x04A, 0x04B, 0x04C, 0x04D, 0x04E, 0x04F,
  0x050, 0x051, 0x052, 0x053, 0x054, 0x055, 0x056, 0x057, 0x058, 0x059, 0x05A, 0x05B, 0x05C, 0x05D, 0x05E, 0x05F,
  0x060, 0x061, 0x062, 0x063, 0x064, 0x065, 0x066, 0x067, 0x068, 0x069, 0x06A, 0x06B, 0x06C, 0x06D, 0x06E, 0x06F,
  0x070, 0x071, 0x072, 0x073, 0x074, 0x075, 0x076, 0x077, 0x078, 0x079, 0x07A, 0x07B, 0x07C, 0x07D, 0x07E, 0x121,
  0x122, 0x123, 0x124, 0x125, 0x126, 0x127, 0x128, 0x129, 0x12A, 0x12B, 0x12C, 0x12D, 0x12E, 0x12F, 0x130, 0x131,
  0x132, 0x133, 0x134, 0x135, 0x136, 0x137, 0x138, 0x139, 0x13A, 0x13B, 0x13C, 0x13D, 0x13E, 0x13F, 0x140, 0x141,
  0x142, 0x0A1, 0x0A2, 0x0A3, 0x0A4, 0x0A5, 0x0A6, 0x0A7, 0x0A8, 0x0A9, 0x0AA, 0x0AB, 0x0AC, 0x143, 0x0AE, 0x0AF,
  0x0B0, 0x0B1, 0x0B2, 0x0B3, 0x0B4, 0x0B5, 0x0B6, 0x0B7, 0x0B8, 0x0B9, 0x0BA, 0x0BB, 0x0BC, 0x0BD, 0x0BE, 0x0BF,
  0x0C0, 0x0C1, 0x0C2, 0x0C3, 0x0C4, 0x0C5, 0x0C6, 0x0C7, 0x0C8, 0x0C9, 0x0CA, 0x0CB, 0x0CC, 0x0CD, 0x0CE, 0x0CF,
  0x0D0, 0x0D1, 0x0D2, 0x0D3, 0x0D4, 0x0D5, 0x0D6, 0x0D7, 0x0D8, 0x0D9, 0x0DA, 0x0DB, 0x0DC, 0x0DD, 0x0DE, 0x0DF,
  0x0E0, 0x0E1, 0x0E2, 0x0E3, 0x0E4, 0x0E5, 0x0E6, 0x0E7, 0x0E8, 0x0E9, 0x0EA, 0x0EB, 0x0EC, 0x0ED, 0x0EE, 0x0EF,
  0x0F0, 0x0F1, 0x0F2, 0x0F3, 0x0F4, 0x0F5, 0x0F6, 0x0F7, 0x0F8, 0x0F9, 0x0FA, 0x0FB, 0x0FC, 0x0FD, 0x0FE, 0x0FF,
};

int ls__bytelevel_byte(uint32_t cp) {
  if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return (int)cp;
  if (cp >= 0x100 && cp <= 0x120) return (int)(cp - 0x100);          /* bytes 0x00-0x20 */
  if (cp >= 0x121 && cp <= 0x142) return (int)(0x7F + (cp - 0x121)); /* bytes 0x7F-0xA0 */
  if (cp == 0x143) return 0xAD;
  return -1;
}

/* Spans of a character predicate (Pattern for Fn(char) -> bool): every matching character
 * is a match of its own, the runs between them are gaps. */
typedef int (*char_pred)(uint32_t c, uint32_t arg);
static int char_spans(const char *s, size_t n, char_pred pred, uint32_t arg, ls__spans *out) {
  out->n = 0;
  size_t last = 0;
  int k, rc = LS_OK;
  for (size_t i = 0; i < n && rc == LS_OK; i += (size_t)k) {
    uint32_t c = ls__utf8_next(s + i, &k);
    if (!pred(c, arg)) continue;
    if (last < i) rc = ls__spans_add(out, (uint32_t)last, (uint32_t)i, 0);
    if (rc == LS_OK) rc = ls__spans_add(out, (uint32_t)i, (uint32_t)(i + (size_t)k), 1);
    last = i + (size_t)k;
  }
  if (rc == LS_OK && last < n) rc = ls__spans_add(out, (uint32_t)last, (uint32_t)n, 0);
  return rc;
}
static int is_ws(uint32_t c, uint32_t a) { (void)a; return ls__uc_is_whitespace(c); }
static int is_punct(uint32_t c, uint32_t a) { (void)a; return ls__uc_is_punct(c); }
static int is_num(uint32_t c, uint32_t a) { (void)a; return ls__uc_is_numeric(c); }
static int is_char(uint32_t c, uint32_t a) { return c == a; }

static int split_by_pred(ls__work *w, char_pred pred, uint32_t arg, ls__split_beh beh) {
  int rc = LS_OK;
  for (size_t i = 0; i < w->n && rc == LS_OK; i++) {
    ls__piece p = w->pieces[i];
    if (p.id >= 0) { rc = ls__work_emit(w, p.off, p.len, p.id, p.first); continue; }
    rc = char_spans(w->text.p + p.off, p.len, pred, arg, &w->spans);
    if (rc == LS_OK) rc = ls__split_emit(w, &p, &w->spans, beh, 0);
  }
  ls__work_swap(w);
  return rc;
}

/* Appends s (which may lie in the work buffer itself) and returns its offset there. */
static int work_copy(ls__work *w, uint32_t off, uint32_t len, const char *prefix, size_t plen, uint32_t *at) {
  int rc = ls__buf_reserve(&w->text, len + plen);
  if (rc) return rc;
  if (w->text.len + len + plen > UINT32_MAX) return LS_ELIMIT;
  *at = (uint32_t)w->text.len;
  if (plen) memcpy(w->text.p + w->text.len, prefix, plen);
  memcpy(w->text.p + w->text.len + plen, w->text.p + off, len);
  w->text.len += len + plen;
  return LS_OK;
}

static int bytelevel(const ls__pretok *pt, ls__work *w, ls_diag *d) {
  int rc = LS_OK;
  for (size_t i = 0; i < w->n && rc == LS_OK; i++) {
    ls__piece p = w->pieces[i];
    if (p.id >= 0) { rc = ls__work_emit(w, p.off, p.len, p.id, p.first); continue; }
    if (pt->add_prefix_space && (p.len == 0 || w->text.p[p.off] != ' ')) {
      uint32_t at;
      if ((rc = work_copy(w, p.off, p.len, " ", 1, &at))) break;
      p.off = at;
      p.len++;
    }
    w->spans.n = 0;
    if (pt->use_regex) rc = ls__tre_find_matches((ls__tre *)&pt->re, w->text.p + p.off, p.len, &w->spans, d);
    else rc = ls__spans_add(&w->spans, 0, p.len, 0);
    for (size_t j = 0; j < w->spans.n && rc == LS_OK; j++) {
      uint32_t s = w->spans.p[j].s, e = w->spans.p[j].e;
      if (e == s) continue;
      /* each byte becomes one character of the byte-level alphabet (1 or 2 UTF-8 bytes) */
      if ((rc = ls__buf_reserve(&w->text, 2 * (size_t)(e - s)))) break;
      if (w->text.len + 2 * (size_t)(e - s) > UINT32_MAX) { rc = LS_ELIMIT; break; }
      uint32_t at = (uint32_t)w->text.len;
      const unsigned char *src = (const unsigned char *)w->text.p + p.off + s;
      char *dst = w->text.p + w->text.len;
      size_t o = 0;
      for (uint32_t b = 0; b < e - s; b++) {
        uint32_t cp = ls__bytelevel_cp[src[b]];
        if (cp < 0x80) dst[o++] = (char)cp;
        else { dst[o++] = (char)(0xC0 | (cp >> 6)); dst[o++] = (char)(0x80 | (cp & 0x3F)); }
      }
      w->text.len += o;
      rc = ls__work_emit(w, at, (uint32_t)o, -1, p.first && s == 0);
    }
  }
  ls__work_swap(w);
  if (rc == LS_ELIMIT) ls_diag_set(d, rc, "text too long for the tokenizer's work buffer (4 GiB)");
  return rc;
}

static int metaspace(const ls__pretok *pt, ls__work *w) {
  char rep[4];
  int rl = ls__utf8_encode(pt->repl, rep), rc = LS_OK, k;
  for (size_t i = 0; i < w->n && rc == LS_OK; i++) {
    ls__piece p = w->pieces[i];
    if (p.id >= 0) { rc = ls__work_emit(w, p.off, p.len, p.id, p.first); continue; }
    /* replace ' ' by the replacement, then prepend it as the scheme says */
    ls__buf *b = &w->scratch;
    b->len = 0;
    for (uint32_t j = 0; j < p.len && rc == LS_OK; j++)
      rc = w->text.p[p.off + j] == ' ' ? ls__buf_add(b, rep, (size_t)rl) : ls__buf_add(b, w->text.p + p.off + j, 1);
    if (rc) break;
    int starts = b->len >= (size_t)rl && memcmp(b->p, rep, (size_t)rl) == 0;
    int prepend = !starts && (pt->prepend_scheme == 0 || (pt->prepend_scheme == 1 && p.first));
    if ((rc = ls__buf_reserve(&w->text, b->len + (size_t)rl))) break;
    if (w->text.len + b->len + (size_t)rl > UINT32_MAX) { rc = LS_ELIMIT; break; }
    uint32_t at = (uint32_t)w->text.len;
    if (prepend) { memcpy(w->text.p + w->text.len, rep, (size_t)rl); w->text.len += (size_t)rl; }
    if (b->len) memcpy(w->text.p + w->text.len, b->p, b->len);
    w->text.len += b->len;
    ls__piece np = {at, (uint32_t)(w->text.len - at), -1, p.first};
    if (!pt->split) { rc = ls__work_emit(w, np.off, np.len, -1, np.first); continue; }
    w->spans.n = 0;
    const char *s = w->text.p + np.off;
    size_t last = 0;
    for (size_t j = 0; j < np.len && rc == LS_OK; j += (size_t)k) {
      if (ls__utf8_next(s + j, &k) != pt->repl) continue;
      if (last < j) rc = ls__spans_add(&w->spans, (uint32_t)last, (uint32_t)j, 0);
      if (rc == LS_OK) rc = ls__spans_add(&w->spans, (uint32_t)j, (uint32_t)(j + (size_t)k), 1);
      last = j + (size_t)k;
    }
    if (rc == LS_OK && last < np.len) rc = ls__spans_add(&w->spans, (uint32_t)last, np.len, 0);
    if (rc == LS_OK) rc = ls__split_emit(w, &np, &w->spans, LS__SPLIT_MERGED_NEXT, 0);
  }
  ls__work_swap(w);
  return rc;
}

/* Whitespace: the matches of \w+|[^\w\s]+ (runs of word characters, runs of other
 * non-space characters); whitespace is dropped. */
static int whitespace(ls__work *w) {
  int rc = LS_OK, k;
  for (size_t i = 0; i < w->n && rc == LS_OK; i++) {
    ls__piece p = w->pieces[i];
    if (p.id >= 0) { rc = ls__work_emit(w, p.off, p.len, p.id, p.first); continue; }
    const char *s = w->text.p + p.off;
    int run = 0; /* 0 none, 1 word, 2 other */
    uint32_t start = 0;
    for (uint32_t j = 0; j <= p.len && rc == LS_OK; j += (uint32_t)k) {
      int cls = 0;
      k = 1;
      if (j < p.len) {
        uint32_t c = ls__utf8_next(s + j, &k);
        cls = ls__uc_is_word(c) ? 1 : ls__uc_is_whitespace(c) ? 0 : 2;
      }
      if (cls == run) continue;
      if (run) rc = ls__work_emit(w, p.off + start, j - start, -1, p.first && start == 0);
      run = cls;
      start = j;
      if (j == p.len) break;
    }
  }
  ls__work_swap(w);
  return rc;
}

int ls__pretok_apply(const ls__pretok *pt, ls__work *w, ls_diag *d) {
  int rc = LS_OK;
  switch (pt->kind) {
    case LS__P_SEQUENCE:
      for (size_t i = 0; i < pt->n && rc == LS_OK; i++) rc = ls__pretok_apply(&pt->items[i], w, d);
      return rc;
    case LS__P_BYTELEVEL: rc = bytelevel(pt, w, d); break;
    case LS__P_SPLIT:
      for (size_t i = 0; i < w->n && rc == LS_OK; i++) {
        ls__piece p = w->pieces[i];
        if (p.id >= 0) { rc = ls__work_emit(w, p.off, p.len, p.id, p.first); continue; }
        w->spans.n = 0;
        rc = ls__tre_find_matches((ls__tre *)&pt->re, w->text.p + p.off, p.len, &w->spans, d);
        if (rc == LS_OK) rc = ls__split_emit(w, &p, &w->spans, pt->behavior, pt->invert);
      }
      ls__work_swap(w);
      break;
    case LS__P_METASPACE: rc = metaspace(pt, w); break;
    case LS__P_BERT:
      rc = split_by_pred(w, is_ws, 0, LS__SPLIT_REMOVED);
      if (rc == LS_OK) rc = split_by_pred(w, is_punct, 0, LS__SPLIT_ISOLATED);
      break;
    case LS__P_WHITESPACE: rc = whitespace(w); break;
    case LS__P_WHITESPACE_SPLIT: rc = split_by_pred(w, is_ws, 0, LS__SPLIT_REMOVED); break;
    case LS__P_DIGITS:
      rc = split_by_pred(w, is_num, 0, pt->individual ? LS__SPLIT_ISOLATED : LS__SPLIT_CONTIGUOUS);
      break;
    case LS__P_PUNCTUATION: rc = split_by_pred(w, is_punct, 0, pt->behavior); break;
    case LS__P_CHAR_DELIMITER: rc = split_by_pred(w, is_char, pt->delim, LS__SPLIT_REMOVED); break;
  }
  if (rc == LS_ENOMEM) ls_diag_set(d, rc, "out of memory while pre-tokenizing");
  else if (rc == LS_ELIMIT) ls_diag_set(d, rc, "text too long for the tokenizer's work buffer (4 GiB)");
  return rc;
}

void ls__pretok_free(ls__pretok *pt) {
  if (!pt) return;
  for (size_t i = 0; i < pt->n; i++) ls__pretok_free(&pt->items[i]);
  ls_free(pt->items);
  ls__tre_free(&pt->re);
}
