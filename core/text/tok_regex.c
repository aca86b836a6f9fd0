/* tok_regex.c: the patterns of Split pre-tokenizers and Replace normalizers/decoders, with
 * PCRE2 (UTF mode, Unicode properties, JIT when available). tokenizer.json patterns are
 * written for Oniguruma's Ruby syntax, which is what Hugging Face compiles them with, so a
 * few constructs are translated to keep their meaning:
 *   \s \S   Oniguruma: the White_Space characters; PCRE2's \s adds U+180E -> explicit set
 *   \w \W   Oniguruma: letters, marks, decimal digits, connector punctuation -> explicit
 *   \h \H   Ruby: a hex digit (PCRE2: horizontal space) -> [0-9a-fA-F]
 *   \uHHHH  Ruby's code point escape -> \x{HHHH}
 *   (?m)    Ruby: dot matches newline -> PCRE2's (?s); ^ and $ are always line anchors in
 *           Ruby, so patterns compile with PCRE2_MULTILINE
 * and the constructs with no PCRE2 equivalent (class intersection &&, nested classes,
 * \S/\W/\H inside a class) are an LS_EUNSUPPORTED error that names them, as is a pattern
 * PCRE2 rejects (with its message and offset). Matching reproduces rust-onig's find_iter:
 * an empty match right after the previous match is skipped by one character. */
#include <stdio.h>
#include <string.h>

/* Under valgrind, PCRE2's JIT code (which reads words past the subject on purpose, and which
 * Debian's libpcre2 is not built to annotate) shows as uninitialised reads in frames valgrind
 * cannot name: the interpreter runs the patterns there instead. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define LS_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef LS_UNDER_VALGRIND
#define LS_UNDER_VALGRIND() 0
#endif

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tok_int.h"

#define WS_SET "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define WORD_SET "\\p{L}\\p{M}\\p{Nd}\\p{Pc}"
#define HEX_SET "0-9a-fA-F"

static int unsupported(ls_diag *d, const char *pat, const char *what) {
  return ls_diag_set(d, LS_EUNSUPPORTED, "unsupported regular expression feature in pattern '%.200s': %s",
                     pat, what);
}

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Oniguruma (Ruby syntax) -> PCRE2, see the file comment. */
static int translate(const char *p, size_t n, ls__buf *o, const char *shown, ls_diag *d) {
  int in_class = 0, rc = LS_OK;
  for (size_t i = 0; i < n && rc == LS_OK;) {
    char c = p[i];
    if (c == '\\' && i + 1 < n) {
      char e = p[i + 1];
      const char *rep = NULL;
      switch (e) {
        case 's': rep = in_class ? WS_SET : "[" WS_SET "]"; break;
        case 'w': rep = in_class ? WORD_SET : "[" WORD_SET "]"; break;
        case 'h': rep = in_class ? HEX_SET : "[" HEX_SET "]"; break;
        case 'S': case 'W': case 'H':
          if (in_class) {
            char what[64];
            snprintf(what, sizeof what, "\\%c inside a character class", e);
            return unsupported(d, shown, what);
          }
          rep = e == 'S' ? "[^" WS_SET "]" : e == 'W' ? "[^" WORD_SET "]" : "[^" HEX_SET "]";
          break;
        case 'u':
          if (i + 6 <= n && is_hex(p[i + 2]) && is_hex(p[i + 3]) && is_hex(p[i + 4]) &&
              is_hex(p[i + 5])) {
            rc = ls__buf_add(o, "\\x{", 3);
            if (!rc) rc = ls__buf_add(o, p + i + 2, 4);
            if (!rc) rc = ls__buf_add(o, "}", 1);
            i += 6;
            continue;
          }
          break;
        default: break;
      }
      if (rep) { rc = ls__buf_add(o, rep, strlen(rep)); i += 2; continue; }
      /* any other escape, with the whole character it escapes */
      size_t k = (size_t)ls__utf8_len((unsigned char)e);
      if (i + 1 + k > n) k = n - i - 1;
      rc = ls__buf_add(o, p + i, 1 + k);
      i += 1 + k;
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < n && p[i + 1] == ':') { /* POSIX bracket [:alpha:] */
        const char *end = NULL;
        for (size_t j = i + 2; j + 1 < n; j++)
          if (p[j] == ':' && p[j + 1] == ']') { end = p + j + 2; break; }
        if (end) { rc = ls__buf_add(o, p + i, (size_t)(end - (p + i))); i = (size_t)(end - p); continue; }
      }
      if (c == '[') return unsupported(d, shown, "a nested character class");
      if (c == '&' && i + 1 < n && p[i + 1] == '&') return unsupported(d, shown, "character class intersection (&&)");
      if (c == ']') in_class = 0;
      rc = ls__buf_add(o, &c, 1);
      i++;
      continue;
    }
    if (c == '[') {
      in_class = 1;
      rc = ls__buf_add(o, &c, 1);
      i++;
      /* a leading ^ and a leading ] are part of the class syntax */
      if (i < n && p[i] == '^') { rc = rc ? rc : ls__buf_add(o, "^", 1); i++; }
      if (i < n && p[i] == ']') { rc = rc ? rc : ls__buf_add(o, "\\]", 2); i++; }
      continue;
    }
    if (c == '(' && i + 2 < n && p[i + 1] == '?') {
      /* option groups: Ruby's m is PCRE2's s */
      size_t j = i + 2;
      while (j < n && (p[j] == 'i' || p[j] == 'm' || p[j] == 'x' || p[j] == '-')) j++;
      if (j > i + 2 && j < n && (p[j] == ')' || p[j] == ':')) {
        rc = ls__buf_add(o, "(?", 2);
        for (size_t k = i + 2; k < j && rc == LS_OK; k++) rc = ls__buf_add(o, p[k] == 'm' ? "s" : p + k, 1);
        i = j;
        continue;
      }
    }
    rc = ls__buf_add(o, &c, 1);
    i++;
  }
  if (rc == LS_OK && in_class) return ls_diag_set(d, LS_EPARSE, "regular expression '%.200s': unterminated character class", shown);
  return rc;
}

int ls__tre_compile(ls__tre *re, const char *pat, size_t len, int literal, ls_arena *a, ls_diag *d) {
  memset(re, 0, sizeof *re);
  re->src = ls_arena_strndup(a, pat, len);
  if (!re->src) return LS_ENOMEM;
  ls__buf o = {0};
  int rc;
  uint32_t opts = PCRE2_UTF;
  if (literal) {
    rc = ls__buf_add(&o, pat, len);
    opts |= PCRE2_LITERAL;
  } else {
    rc = translate(pat, len, &o, re->src, d);
    opts |= PCRE2_UCP | PCRE2_MULTILINE;
  }
  if (rc) { ls__buf_free(&o); return rc == LS_ENOMEM ? ls_diag_set(d, rc, "out of memory") : rc; }
  int err = 0;
  PCRE2_SIZE erroff = 0;
  re->code = pcre2_compile((PCRE2_SPTR)(o.p ? o.p : ""), o.len, opts, &err, &erroff, NULL);
  ls__buf_free(&o);
  if (!re->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return ls_diag_set(d, LS_EUNSUPPORTED, "regular expression '%.200s' does not compile with PCRE2: %s (near offset %zu of the translated pattern)",
                       re->src, (const char *)msg, (size_t)erroff);
  }
  if (!LS_UNDER_VALGRIND()) /* the interpreter runs it otherwise (and under valgrind) */
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
  re->md = pcre2_match_data_create(1, NULL);
  re->mctx = pcre2_match_context_create(NULL);
  if (!re->md || !re->mctx) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  /* bounded work per match: a crafted pattern cannot hang the tokenizer */
  pcre2_set_match_limit(re->mctx, 50000000);
  pcre2_set_depth_limit(re->mctx, 1000000);
  pcre2_set_heap_limit(re->mctx, 256 * 1024); /* KiB */
  /* a JIT stack that grows on demand: a long whitespace run under a lookahead can need more
   * than PCRE2's 32 KiB default */
  re->jit = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
  if (re->jit) pcre2_jit_stack_assign(re->mctx, NULL, re->jit);
  return LS_OK;
}

void ls__tre_free(ls__tre *re) {
  if (re->md) pcre2_match_data_free(re->md);
  if (re->mctx) pcre2_match_context_free(re->mctx);
  if (re->code) pcre2_code_free(re->code);
  if (re->jit) pcre2_jit_stack_free(re->jit);
  memset(re, 0, sizeof *re);
}

static int match_at(ls__tre *re, const char *s, size_t n, size_t at) {
  int r = pcre2_match(re->code, (PCRE2_SPTR)s, n, at, PCRE2_NO_UTF_CHECK, re->md, re->mctx);
  if (r == PCRE2_ERROR_JIT_STACKLIMIT)
    r = pcre2_match(re->code, (PCRE2_SPTR)s, n, at, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, re->md, re->mctx);
  return r;
}

int ls__tre_find_matches(ls__tre *re, const char *s, size_t n, ls__spans *out, ls_diag *d) {
  if (n == 0) return ls__spans_add(out, 0, 0, 0);
  if (n > UINT32_MAX) return ls_diag_set(d, LS_ELIMIT, "text longer than 4 GiB");
  size_t prev = 0, last_end = 0, last_match_end = 0;
  int have_last = 0, rc = LS_OK;
  while (last_end <= n) {
    int r = match_at(re, s, n, last_end);
    if (r == PCRE2_ERROR_NOMATCH) break;
    if (r < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(r, msg, sizeof msg);
      return ls_diag_set(d, LS_ELIMIT, "regular expression '%.200s' failed on this text: %s", re->src,
                         (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    size_t ms = ov[0], me = ov[1];
    if (ms > me || ms < prev)
      return ls_diag_set(d, LS_EUNSUPPORTED, "regular expression '%.200s': \\K in a lookaround", re->src);
    if (ms == me && have_last && last_match_end == me) {
      last_end += last_end < n ? (size_t)ls__utf8_len((unsigned char)s[last_end]) : 1;
      continue;
    }
    last_end = me;
    last_match_end = me;
    have_last = 1;
    if (prev != ms && (rc = ls__spans_add(out, (uint32_t)prev, (uint32_t)ms, 0))) return rc;
    if ((rc = ls__spans_add(out, (uint32_t)ms, (uint32_t)me, 1))) return rc;
    prev = me;
  }
  if (prev != n) rc = ls__spans_add(out, (uint32_t)prev, (uint32_t)n, 0);
  return rc;
}
