/* text.c: byte offset <-> line/column conversion (see text.h). The index stores the byte
 * offset of every line start, and for lines longer than LS_TEXT_MARK_STRIDE bytes a mark every
 * LS_TEXT_MARK_STRIDE bytes, so a conversion is a binary search for the line (and the mark)
 * plus a walk over at most a stride of bytes. Columns are counted by decoding UTF-8 on the
 * fly: well-formed sequences count as one code point (two UTF-16 units above U+FFFF); any byte
 * that does not start a well-formed sequence counts as one unit on its own, so malformed input
 * never makes a position fail. Marks are placed by the same decoding walk the conversions do,
 * so starting from a mark gives exactly the result of starting from the line start.
 * The same decoder keeps messages valid UTF-8 when they are clipped (ls_utf8_*). */
#include "core/base/text.h"

#include "core/base/alloc.h"
#include "core/base/errors.h"

#include <string.h>

/* Length in bytes of the well-formed UTF-8 sequence at s[0..n), or 0 if s[0] does not start
 * one (overlong forms, surrogates and code points past U+10FFFF are malformed). *cp gets the
 * code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned char c = s[0];
  if (c < 0x80) { *cp = c; return 1; }
  size_t len;
  uint32_t v, min;
  if ((c & 0xE0) == 0xC0) { len = 2; v = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { len = 3; v = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { len = 4; v = c & 0x07; min = 0x10000; }
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

/* Units of the encoding taken by one character of `len` bytes with code point cp. */
static uint32_t units_of(uint32_t cp, size_t len, ls_pos_enc enc) {
  switch (enc) {
  case LS_POS_UTF8: return (uint32_t)len;
  case LS_POS_UTF32: return 1;
  case LS_POS_UTF16: default: return cp >= 0x10000 ? 2 : 1;
  }
}

/* One character at s[i] of a line ending at `end`: its length in bytes, code point in *cp. */
static size_t char_at(const unsigned char *s, size_t i, size_t end, uint32_t *cp) {
  size_t len = utf8_seq(s + i, end - i, cp);
  if (len == 0) { *cp = s[i]; len = 1; }
  return len;
}

static uint32_t mark_col(const ls_text_mark *m, size_t line_start, ls_pos_enc enc) {
  switch (enc) {
  case LS_POS_UTF8: return (uint32_t)(m->off - line_start);
  case LS_POS_UTF32: return m->u32;
  case LS_POS_UTF16: default: return m->u16;
  }
}

/* Appends marks for the line [start, end): one at the first character start at least
 * LS_TEXT_MARK_STRIDE bytes past the previous mark (or the line start). */
static int marks_add_line(ls_text_index *idx, size_t *cap, size_t start, size_t end) {
  const unsigned char *s = (const unsigned char *)idx->text;
  size_t last = start;
  uint32_t u16 = 0, u32 = 0;
  for (size_t i = start; i < end;) {
    if (i - last >= LS_TEXT_MARK_STRIDE) {
      if (idx->n_marks == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        ls_text_mark *grown = ls_reallocarray(idx->marks, ncap, sizeof *grown);
        if (!grown) return LS_ENOMEM;
        idx->marks = grown;
        *cap = ncap;
      }
      idx->marks[idx->n_marks++] = (ls_text_mark){i, u16, u32};
      last = i;
    }
    uint32_t cp = 0;
    size_t len = char_at(s, i, end, &cp);
    /* Column counts past 2^32 cannot be reported (ls_pos is 32-bit); they wrap as the walk's
     * own counters do, so marks and walks agree. */
    u16 += units_of(cp, len, LS_POS_UTF16);
    u32 += 1;
    i += len;
  }
  return LS_OK;
}

int ls_text_index_init(ls_text_index *idx, const char *text, size_t len) {
  idx->text = text;
  idx->len = len;
  idx->line_starts = NULL;
  idx->n_lines = 0;
  idx->marks = NULL;
  idx->n_marks = 0;
  size_t cap = 64, n = 0;
  size_t *starts = ls_malloc(cap * sizeof *starts);
  if (!starts) return LS_ENOMEM;
  starts[n++] = 0;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c != '\n' && c != '\r') continue;
    if (c == '\r' && i + 1 < len && text[i + 1] == '\n') i++; /* "\r\n" is one break */
    if (n == cap) {
      size_t *grown = ls_reallocarray(starts, cap * 2, sizeof *starts);
      if (!grown) { ls_free(starts); return LS_ENOMEM; }
      starts = grown;
      cap *= 2;
    }
    starts[n++] = i + 1;
  }
  idx->line_starts = starts;
  idx->n_lines = n;
  size_t mcap = 0;
  for (size_t l = 0; l < n; l++) {
    size_t end = ls_text_line_end(idx, (uint32_t)l);
    if (end - starts[l] <= LS_TEXT_MARK_STRIDE) continue;
    if (marks_add_line(idx, &mcap, starts[l], end) != LS_OK) {
      ls_text_index_deinit(idx);
      return LS_ENOMEM;
    }
  }
  return LS_OK;
}

void ls_text_index_deinit(ls_text_index *idx) {
  ls_free(idx->line_starts);
  ls_free(idx->marks);
  idx->line_starts = NULL;
  idx->n_lines = 0;
  idx->marks = NULL;
  idx->n_marks = 0;
}

size_t ls_text_line_end(const ls_text_index *idx, uint32_t line) {
  if (line >= idx->n_lines) return idx->len;
  size_t end = line + 1 < idx->n_lines ? idx->line_starts[line + 1] : idx->len;
  /* Step back over the line break so the end is the last content byte + 1. */
  if (line + 1 < idx->n_lines) {
    if (end > 0 && idx->text[end - 1] == '\n') end--;
    if (end > idx->line_starts[line] && idx->text[end - 1] == '\r') end--;
  }
  return end;
}

/* Index of the first mark at or after byte offset `off` (n_marks when none). */
static size_t marks_lower(const ls_text_index *idx, size_t off) {
  size_t lo = 0, hi = idx->n_marks;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (idx->marks[mid].off < off) lo = mid + 1; else hi = mid;
  }
  return lo;
}

ls_pos ls_text_pos_of(const ls_text_index *idx, size_t offset, ls_pos_enc enc) {
  if (offset > idx->len) offset = idx->len;
  /* Largest line whose start is <= offset. */
  size_t lo = 0, hi = idx->n_lines;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (idx->line_starts[mid] <= offset) lo = mid; else hi = mid;
  }
  ls_pos p = {(uint32_t)lo, 0};
  size_t start = idx->line_starts[lo];
  size_t end = ls_text_line_end(idx, (uint32_t)lo);
  if (offset > end) offset = end; /* inside the line break: the break belongs to the line end */
  size_t i = start;
  /* The last mark at or before offset, when it lies in this line. */
  size_t k = marks_lower(idx, offset + 1);
  if (k > 0 && idx->marks[k - 1].off > start) {
    i = idx->marks[k - 1].off;
    p.col = mark_col(&idx->marks[k - 1], start, enc);
  }
  const unsigned char *s = (const unsigned char *)idx->text;
  while (i < offset) {
    uint32_t cp = 0;
    size_t len = char_at(s, i, end, &cp);
    if (i + len > offset) break; /* offset inside a character: report the character start */
    p.col += units_of(cp, len, enc);
    i += len;
  }
  return p;
}

size_t ls_text_offset_of(const ls_text_index *idx, ls_pos pos, ls_pos_enc enc) {
  if (pos.line >= idx->n_lines) return idx->len;
  size_t start = idx->line_starts[pos.line];
  size_t i = start;
  size_t end = ls_text_line_end(idx, pos.line);
  uint32_t col = 0;
  /* The line's marks are [a, b); columns grow along them: take the last with col <= pos.col. */
  size_t a = marks_lower(idx, start + 1), b = marks_lower(idx, end);
  while (a < b) {
    size_t mid = a + (b - a) / 2;
    if (mark_col(&idx->marks[mid], start, enc) <= pos.col) a = mid + 1; else b = mid;
  }
  if (a > marks_lower(idx, start + 1)) {
    i = idx->marks[a - 1].off;
    col = mark_col(&idx->marks[a - 1], start, enc);
  }
  const unsigned char *s = (const unsigned char *)idx->text;
  while (i < end && col < pos.col) {
    uint32_t cp = 0;
    size_t len = char_at(s, i, end, &cp);
    uint32_t u = units_of(cp, len, enc);
    if (col + u > pos.col) break; /* column inside a character (half a surrogate pair) */
    col += u;
    i += len;
  }
  return i;
}

int ls_text_splice(const char *text, size_t len, size_t start, size_t end, const char *ins,
                   size_t ins_len, char **out, size_t *out_len) {
  if (start > end || end > len) return LS_EINVAL;
  size_t keep = len - (end - start);
  if (ins_len > SIZE_MAX - keep - 1) return LS_EOVERFLOW;
  size_t n = keep + ins_len;
  char *buf = ls_malloc(n + 1);
  if (!buf) return LS_ENOMEM;
  /* memcpy with a NULL pointer is undefined even for zero bytes, hence the guards. */
  if (start) memcpy(buf, text, start);
  if (ins_len) memcpy(buf + start, ins, ins_len);
  if (len > end) memcpy(buf + start + ins_len, text + end, len - end);
  buf[n] = '\0';
  *out = buf;
  *out_len = n;
  return LS_OK;
}

/* ---------------------------------------------------------------- UTF-8 in messages */

size_t ls_utf8_char_len(const char *s, size_t n) {
  uint32_t cp;
  return n ? utf8_seq((const unsigned char *)s, n, &cp) : 0;
}

int ls_utf8_clip(const char *s, size_t max) {
  size_t n = strnlen(s, max > SIZE_MAX - 4 ? max : max + 4), i = 0;
  while (i < n) {
    size_t k = ls_utf8_char_len(s + i, n - i);
    if (!k) k = 1; /* a stray byte is its own unit; ls_utf8_repair replaces it */
    if (i + k > max) break;
    i += k;
  }
  return i > INT32_MAX ? INT32_MAX : (int)i;
}

char *ls_utf8_repair(char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    size_t k = ls_utf8_char_len(s + i, n - i);
    if (k) { i += k; continue; }
    /* a lead byte whose continuation bytes all run to the end: a character cut off */
    unsigned char c = (unsigned char)s[i];
    size_t want = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0, j = i + 1;
    while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80) j++;
    if (want && j == n && n - i < want) {
      s[i] = 0;
      break;
    }
    s[i++] = '?';
  }
  return s;
}
