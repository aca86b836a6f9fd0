/* tok_unicode.c: the Unicode facts the tokenizer needs, defined the way the Rust code of
 * Hugging Face tokenizers defines them, on top of utf8proc (Debian's libutf8proc: general
 * categories, NFC/NFD/NFKC/NFKD, case mapping): char::is_whitespace (the White_Space
 * property), char::is_numeric, the unicode_categories crate's is_punctuation/is_other, the
 * regex crate's \w, char::to_lowercase (full mapping), and UTF-8 checking with the
 * "maximal subpart" replacement that Rust's from_utf8_lossy and Node's TextDecoder use.
 * Characters assigned in a newer Unicode version than utf8proc's (15.0) may classify
 * differently from the reference; docs/tokenizers.md says so. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tok_int.h"

int ls__utf8_encode(uint32_t cp, char out[4]) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Length of the well-formed sequence at s (1-4), or -(length of its maximal subpart) when
 * ill-formed: the bytes that start a valid sequence but stop before its end (Unicode 3.9,
 * table 3-7), at least 1. */
static int utf8_seq(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c == 0xE0) { need = 2; lo = 0xA0; }
  else if (c >= 0xE1 && c <= 0xEC) need = 2;
  else if (c == 0xED) { need = 2; hi = 0x9F; }
  else if (c >= 0xEE && c <= 0xEF) need = 2;
  else if (c == 0xF0) { need = 3; lo = 0x90; }
  else if (c >= 0xF1 && c <= 0xF3) need = 3;
  else if (c == 0xF4) { need = 3; hi = 0x8F; }
  else return -1;
  for (int i = 1; i <= need; i++) {
    if ((size_t)i >= n) return -i;
    unsigned char b = s[i];
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return -i;
  }
  return need + 1;
}

int64_t ls__utf8_check(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    if (u[i] < 0x80) { i++; continue; }
    int k = utf8_seq(u + i, n - i);
    if (k < 0) return (int64_t)i;
    i += (size_t)k;
  }
  return -1;
}

int ls_tok_utf8_lossy(const char *src, size_t len, char **out, size_t *out_len, int64_t *first_bad) {
  *out = NULL;
  *out_len = 0;
  if (first_bad) *first_bad = -1;
  ls__buf b = {0};
  const unsigned char *u = (const unsigned char *)src;
  size_t i = 0;
  int rc = ls__buf_reserve(&b, len + 1);
  while (rc == LS_OK && i < len) {
    int k = utf8_seq(u + i, len - i);
    if (k > 0) { rc = ls__buf_add(&b, u + i, (size_t)k); i += (size_t)k; continue; }
    if (first_bad && *first_bad < 0) *first_bad = (int64_t)i;
    rc = ls__buf_add(&b, "\xEF\xBF\xBD", 3);
    i += (size_t)-k;
  }
  if (rc == LS_OK) rc = ls__buf_add(&b, "", 1);
  if (rc != LS_OK) { ls__buf_free(&b); return rc; }
  *out = b.p;
  *out_len = b.len - 1;
  return LS_OK;
}

/* ---- classes ----------------------------------------------------------------------- */

int ls__uc_is_whitespace(uint32_t c) {
  return (c >= 9 && c <= 13) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

static inline int cat(uint32_t c) { return c > 0x10FFFF ? 0 : (int)utf8proc_category((utf8proc_int32_t)c); }

int ls__uc_is_numeric(uint32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  int k = cat(c);
  return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

int ls__uc_is_punct(uint32_t c) {
  if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
                       (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
  int k = cat(c);
  return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

int ls__uc_is_other(uint32_t c) {
  int k = cat(c);
  return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CO;
}

int ls__uc_is_mn(uint32_t c) { return c >= 0x300 && cat(c) == UTF8PROC_CATEGORY_MN; }

int ls__uc_is_combining(uint32_t c) {
  if (c < 0x300) return 0;
  int k = cat(c);
  return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

int ls__uc_is_word(uint32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (c == 0x200C || c == 0x200D) return 1; /* Join_Control */
  /* Other_Alphabetic symbols: circled and squared Latin letters */
  if ((c >= 0x24B6 && c <= 0x24E9) || (c >= 0x1F130 && c <= 0x1F149) ||
      (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189))
    return 1;
  int k = cat(c);
  return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_ND) || k == UTF8PROC_CATEGORY_NL ||
         k == UTF8PROC_CATEGORY_PC;
}

int ls__uc_is_chinese(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

int ls__uc_lower_append(ls__buf *b, uint32_t c) {
  if (c < 0x80) {
    char ch = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return ls__buf_add(b, &ch, 1);
  }
  if (c == 0x130) return ls__buf_add(b, "i\xCC\x87", 3); /* the one unconditional multi-char lowercase */
  return ls__buf_add_cp(b, (uint32_t)utf8proc_tolower((utf8proc_int32_t)c));
}

int ls__uc_normalize(ls__buf *b, const char *s, size_t n, char form) {
  if (n == 0) return LS_OK;
  int opt = UTF8PROC_STABLE;
  switch (form) {
    case 'C': opt |= UTF8PROC_COMPOSE; break;
    case 'D': opt |= UTF8PROC_DECOMPOSE; break;
    case 'c': opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    default: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  /* ASCII is its own normal form in all four */
  size_t i = 0;
  while (i < n && (unsigned char)s[i] < 0x80) i++;
  if (i == n) return ls__buf_add(b, s, n);
  utf8proc_uint8_t *dst = NULL;
  utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst,
                                    (utf8proc_option_t)opt);
  if (r < 0) return r == UTF8PROC_ERROR_NOMEM ? LS_ENOMEM : LS_EFORMAT;
  int rc = ls__buf_add(b, dst, (size_t)r);
  free(dst);
  return rc;
}
