/* tok_normalize.c: the normalizers of tokenizer.json, each a function from a piece of text to
 * its normalized form, as Hugging Face's normalizers/ define them: Sequence, NFC, NFD, NFKC,
 * NFKD, Lowercase, Strip, StripAccents, Replace (string or regex), Prepend, BertNormalizer
 * (clean text, pad CJK ideographs, strip accents, lowercase) and Nmt. Hugging Face applies
 * the normalizer to each piece left between added tokens, so the same happens here (tokenizer.c
 * calls ls__norm_apply per piece). Offsets are not tracked: only the text matters for ids. */
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tok_int.h"

/* Appends the normalized form of s[0, n) to out (which never aliases s). */
static int apply(const ls__norm *nm, const char *s, size_t n, ls__buf *out, ls_diag *d) {
  int rc = LS_OK, k;
  size_t i;
  switch (nm->kind) {
    case LS__N_SEQUENCE: {
      ls__buf a = {0}, b = {0};
      rc = ls__buf_add(&a, s, n);
      for (size_t j = 0; j < nm->n && rc == LS_OK; j++) {
        b.len = 0;
        rc = apply(&nm->items[j], a.p ? a.p : "", a.len, &b, d);
        ls__buf t = a; a = b; b = t;
      }
      if (rc == LS_OK) rc = ls__buf_add(out, a.p, a.len);
      ls__buf_free(&a);
      ls__buf_free(&b);
      return rc;
    }
    case LS__N_NFC: return ls__uc_normalize(out, s, n, 'C');
    case LS__N_NFD: return ls__uc_normalize(out, s, n, 'D');
    case LS__N_NFKC: return ls__uc_normalize(out, s, n, 'c');
    case LS__N_NFKD: return ls__uc_normalize(out, s, n, 'd');
    case LS__N_LOWERCASE:
      for (i = 0; i < n && rc == LS_OK; i += (size_t)k) rc = ls__uc_lower_append(out, ls__utf8_next(s + i, &k));
      return rc;
    case LS__N_STRIP: {
      size_t b = 0, e = n;
      if (nm->left)
        while (b < e) { uint32_t c = ls__utf8_next(s + b, &k); if (!ls__uc_is_whitespace(c)) break; b += (size_t)k; }
      if (nm->right)
        while (e > b) {
          size_t j = e - 1;
          while (j > b && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
          if (!ls__uc_is_whitespace(ls__utf8_next(s + j, &k))) break;
          e = j;
        }
      return ls__buf_add(out, s + b, e - b);
    }
    case LS__N_STRIP_ACCENTS:
      for (i = 0; i < n && rc == LS_OK; i += (size_t)k)
        if (!ls__uc_is_combining(ls__utf8_next(s + i, &k))) rc = ls__buf_add(out, s + i, (size_t)k);
      return rc;
    case LS__N_PREPEND:
      if (n == 0) return LS_OK;
      rc = ls__buf_add(out, nm->content, nm->content_len);
      return rc ? rc : ls__buf_add(out, s, n);
    case LS__N_REPLACE: {
      ls__spans m = {0};
      rc = ls__tre_find_matches((ls__tre *)&nm->re, s, n, &m, d);
      for (size_t j = 0; j < m.n && rc == LS_OK; j++)
        rc = m.p[j].match ? ls__buf_add(out, nm->content, nm->content_len)
                          : ls__buf_add(out, s + m.p[j].s, m.p[j].e - m.p[j].s);
      ls_free(m.p);
      return rc;
    }
    case LS__N_NMT:
      for (i = 0; i < n && rc == LS_OK; i += (size_t)k) {
        uint32_t c = ls__utf8_next(s + i, &k);
        if ((c >= 1 && c <= 8) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F)
          continue;
        if (c == 9 || c == 10 || c == 12 || c == 13 || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
            c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD)
          rc = ls__buf_add(out, " ", 1);
        else
          rc = ls__buf_add(out, s + i, (size_t)k);
      }
      return rc;
    case LS__N_BERT: {
      ls__buf a = {0}, b = {0};
      rc = ls__buf_add(&a, s, n);
      if (rc == LS_OK && nm->clean_text) {
        for (i = 0; i < a.len && rc == LS_OK; i += (size_t)k) {
          uint32_t c = ls__utf8_next(a.p + i, &k);
          int ws = c == 9 || c == 10 || c == 13 || ls__uc_is_whitespace(c);
          if (c == 0 || c == 0xFFFD || (!ws && ls__uc_is_other(c))) continue;
          rc = ws ? ls__buf_add(&b, " ", 1) : ls__buf_add(&b, a.p + i, (size_t)k);
        }
        ls__buf t = a; a = b; b = t; b.len = 0;
      }
      if (rc == LS_OK && nm->chinese) {
        for (i = 0; i < a.len && rc == LS_OK; i += (size_t)k) {
          uint32_t c = ls__utf8_next(a.p + i, &k);
          if (ls__uc_is_chinese(c)) {
            rc = ls__buf_add(&b, " ", 1);
            if (!rc) rc = ls__buf_add(&b, a.p + i, (size_t)k);
            if (!rc) rc = ls__buf_add(&b, " ", 1);
          } else {
            rc = ls__buf_add(&b, a.p + i, (size_t)k);
          }
        }
        ls__buf t = a; a = b; b = t; b.len = 0;
      }
      if (rc == LS_OK && nm->strip_accents) {
        ls__buf nfd = {0};
        rc = ls__uc_normalize(&nfd, a.p ? a.p : "", a.len, 'D');
        for (i = 0; i < nfd.len && rc == LS_OK; i += (size_t)k)
          if (!ls__uc_is_mn(ls__utf8_next(nfd.p + i, &k))) rc = ls__buf_add(&b, nfd.p + i, (size_t)k);
        ls__buf_free(&nfd);
        ls__buf t = a; a = b; b = t; b.len = 0;
      }
      if (rc == LS_OK && nm->lowercase) {
        for (i = 0; i < a.len && rc == LS_OK; i += (size_t)k) rc = ls__uc_lower_append(&b, ls__utf8_next(a.p + i, &k));
        ls__buf t = a; a = b; b = t; b.len = 0;
      }
      if (rc == LS_OK) rc = ls__buf_add(out, a.p, a.len);
      ls__buf_free(&a);
      ls__buf_free(&b);
      return rc;
    }
  }
  return LS_EINVAL;
}

int ls__norm_apply(const ls__norm *nm, const char *s, size_t n, ls__buf *out, ls__buf *tmp, ls_diag *d) {
  (void)tmp;
  out->len = 0;
  int rc = apply(nm, s, n, out, d);
  if (rc == LS_ENOMEM) ls_diag_set(d, rc, "out of memory while normalizing");
  return rc;
}

void ls__norm_free(ls__norm *nm) {
  if (!nm) return;
  for (size_t i = 0; i < nm->n; i++) ls__norm_free(&nm->items[i]);
  ls_free(nm->items);
  ls__tre_free(&nm->re);
}
