/* tok_decode.c: the post-processors that add special tokens to an encoding (Template, Bert,
 * Roberta, ByteLevel, Sequence; single sequences only) and the decoders that turn token
 * strings back into text (ByteLevel, Metaspace, WordPiece, BPEDecoder, Replace, ByteFallback,
 * Fuse, Strip, Sequence), each as Hugging Face's processors/ and decoders/ define them.
 * Where the reference would panic on odd settings (a Strip decoder asked to strip more
 * characters than a token has, a BPEDecoder given no token) the result is clamped instead. */
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tok_int.h"

/* ---- post-processors --------------------------------------------------------------- */

int ls__post_apply(const ls__post *pp, const ls__ids *in, ls__ids *out) {
  int rc = LS_OK;
  out->n = 0;
  switch (pp->kind) {
    case LS__PP_TEMPLATE:
      for (size_t i = 0; i < pp->n_tpl && rc == LS_OK; i++) {
        if (pp->tpl[i].is_seq) {
          for (size_t j = 0; j < in->n && rc == LS_OK; j++) rc = ls__ids_add(out, in->p[j]);
        } else {
          for (uint32_t j = 0; j < pp->tpl[i].len && rc == LS_OK; j++) rc = ls__ids_add(out, pp->tpl_ids[pp->tpl[i].off + j]);
        }
      }
      return rc;
    case LS__PP_BERT:
    case LS__PP_ROBERTA:
      rc = ls__ids_add(out, pp->cls);
      for (size_t j = 0; j < in->n && rc == LS_OK; j++) rc = ls__ids_add(out, in->p[j]);
      return rc ? rc : ls__ids_add(out, pp->sep);
    case LS__PP_BYTELEVEL:
      for (size_t j = 0; j < in->n && rc == LS_OK; j++) rc = ls__ids_add(out, in->p[j]);
      return rc;
    case LS__PP_SEQUENCE: {
      ls__ids a = {0}, b = {0};
      for (size_t j = 0; j < in->n && rc == LS_OK; j++) rc = ls__ids_add(&a, in->p[j]);
      for (size_t i = 0; i < pp->n && rc == LS_OK; i++) {
        rc = ls__post_apply(&pp->items[i], &a, &b);
        ls__ids t = a; a = b; b = t;
      }
      for (size_t j = 0; j < a.n && rc == LS_OK; j++) rc = ls__ids_add(out, a.p[j]);
      ls_free(a.p);
      ls_free(b.p);
      return rc;
    }
  }
  return LS_EINVAL;
}

void ls__post_free(ls__post *pp) {
  if (!pp) return;
  for (size_t i = 0; i < pp->n; i++) ls__post_free(&pp->items[i]);
  ls_free(pp->items);
  ls_free(pp->tpl);
  ls_free(pp->tpl_ids);
}

/* ---- decoders ---------------------------------------------------------------------- */

#define TOK(v, i) ((v)->bytes.p ? (v)->bytes.p + (v)->off[i] : "")

static int replace_all(ls__buf *o, const char *s, size_t n, const char *pat, size_t pn, const char *rep, size_t rn) {
  int rc = LS_OK;
  size_t i = 0;
  while (i < n && rc == LS_OK) {
    if (pn && i + pn <= n && memcmp(s + i, pat, pn) == 0) { rc = ls__buf_add(o, rep, rn); i += pn; }
    else rc = ls__buf_add(o, s + i++, 1);
  }
  return rc;
}

/* WordPiece's cleanup(): the fixed replacements, in order. */
static int cleanup(ls__buf *o, const char *s, size_t n) {
  static const char *const r[][2] = {{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
                                     {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
                                     {" 've", "'ve"}, {" 're", "'re"}};
  ls__buf a = {0}, b = {0};
  int rc = ls__buf_add(&a, s, n);
  for (size_t i = 0; i < sizeof r / sizeof r[0] && rc == LS_OK; i++) {
    b.len = 0;
    rc = replace_all(&b, a.p ? a.p : "", a.len, r[i][0], strlen(r[i][0]), r[i][1], strlen(r[i][1]));
    ls__buf t = a; a = b; b = t;
  }
  if (rc == LS_OK) rc = ls__buf_add(o, a.p, a.len);
  ls__buf_free(&a);
  ls__buf_free(&b);
  return rc;
}

/* Replaces the list by next (taking its storage). */
static void strs_take(ls__strs *v, ls__strs *next) {
  ls__strs_free(v);
  *v = *next;
  memset(next, 0, sizeof *next);
}

static int flush_bytes(ls__strs *out, ls__buf *bytes) {
  int rc = LS_OK;
  if (!bytes->len) return rc;
  if (ls__utf8_check(bytes->p, bytes->len) < 0) rc = ls__strs_add(out, bytes->p, bytes->len);
  else
    for (size_t i = 0; i < bytes->len && rc == LS_OK; i++) rc = ls__strs_add(out, "\xEF\xBF\xBD", 3);
  bytes->len = 0;
  return rc;
}

static int byte_token(const char *s, size_t n) {
  if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
  int v = 0;
  for (int i = 3; i < 5; i++) {
    char c = s[i];
    int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (x < 0) return -1;
    v = v * 16 + x;
  }
  return v;
}

int ls__dec_chain(const ls__dec *dc, ls__strs *v, ls_diag *d) {
  ls__strs out = {0};
  ls__buf b = {0};
  int rc = LS_OK, k;
  switch (dc->kind) {
    case LS__D_SEQUENCE:
      for (size_t i = 0; i < dc->n && rc == LS_OK; i++) rc = ls__dec_chain(&dc->items[i], v, d);
      return rc;
    case LS__D_BYTELEVEL:
      for (size_t i = 0; i < v->n && rc == LS_OK; i++) {
        const char *s = TOK(v, i);
        size_t n = v->len[i], mark = b.len, j;
        for (j = 0; j < n && rc == LS_OK; j += (size_t)k) {
          int byte = ls__bytelevel_byte(ls__utf8_next(s + j, &k));
          if (byte < 0) break;
          char c = (char)byte;
          rc = ls__buf_add(&b, &c, 1);
        }
        if (rc == LS_OK && j < n) { b.len = mark; rc = ls__buf_add(&b, s, n); } /* not byte-level: as is */
      }
      if (rc == LS_OK) {
        char *lossy;
        size_t ln;
        rc = ls_tok_utf8_lossy(b.p ? b.p : "", b.len, &lossy, &ln, NULL);
        if (rc == LS_OK) { rc = ls__strs_add(&out, lossy, ln); ls_free(lossy); }
      }
      break;
    case LS__D_METASPACE:
      for (size_t i = 0; i < v->n && rc == LS_OK; i++) {
        const char *s = TOK(v, i);
        b.len = 0;
        for (size_t j = 0; j < v->len[i] && rc == LS_OK; j += (size_t)k) {
          uint32_t c = ls__utf8_next(s + j, &k);
          if (c != dc->repl) rc = ls__buf_add(&b, s + j, (size_t)k);
          else if (!(i == 0 && dc->prepend_scheme != 2)) rc = ls__buf_add(&b, " ", 1);
        }
        if (rc == LS_OK) rc = ls__strs_add(&out, b.p ? b.p : "", b.len);
      }
      break;
    case LS__D_WORDPIECE:
      for (size_t i = 0; i < v->n && rc == LS_OK; i++) {
        const char *s = TOK(v, i);
        size_t n = v->len[i];
        b.len = 0;
        if (i != 0) {
          if (n >= dc->str_len && memcmp(s, dc->str, dc->str_len) == 0) { s += dc->str_len; n -= dc->str_len; }
          else rc = ls__buf_add(&b, " ", 1);
        }
        if (rc == LS_OK) rc = ls__buf_add(&b, s, n);
        if (rc == LS_OK && dc->cleanup) {
          ls__buf c = {0};
          rc = cleanup(&c, b.p ? b.p : "", b.len);
          if (rc == LS_OK) rc = ls__strs_add(&out, c.p ? c.p : "", c.len);
          ls__buf_free(&c);
        } else if (rc == LS_OK) {
          rc = ls__strs_add(&out, b.p ? b.p : "", b.len);
        }
      }
      break;
    case LS__D_BPE:
      for (size_t i = 0; i < v->n && rc == LS_OK; i++) {
        b.len = 0;
        const char *rep = i + 1 == v->n ? "" : " ";
        rc = replace_all(&b, TOK(v, i), v->len[i], dc->str, dc->str_len, rep, strlen(rep));
        if (rc == LS_OK) rc = ls__strs_add(&out, b.p ? b.p : "", b.len);
      }
      break;
    case LS__D_REPLACE:
      for (size_t i = 0; i < v->n && rc == LS_OK; i++) {
        ls__spans m = {0};
        const char *s = TOK(v, i);
        b.len = 0;
        rc = ls__tre_find_matches((ls__tre *)&dc->re, s, v->len[i], &m, d);
        for (size_t j = 0; j < m.n && rc == LS_OK; j++)
          rc = m.p[j].match ? ls__buf_add(&b, dc->str, dc->str_len) : ls__buf_add(&b, s + m.p[j].s, m.p[j].e - m.p[j].s);
        ls_free(m.p);
        if (rc == LS_OK) rc = ls__strs_add(&out, b.p ? b.p : "", b.len);
      }
      break;
    case LS__D_BYTE_FALLBACK:
      for (size_t i = 0; i < v->n && rc == LS_OK; i++) {
        int byte = byte_token(TOK(v, i), v->len[i]);
        if (byte >= 0) { char c = (char)byte; rc = ls__buf_add(&b, &c, 1); continue; }
        rc = flush_bytes(&out, &b);
        if (rc == LS_OK) rc = ls__strs_add(&out, TOK(v, i), v->len[i]);
      }
      if (rc == LS_OK) rc = flush_bytes(&out, &b);
      break;
    case LS__D_FUSE:
      for (size_t i = 0; i < v->n && rc == LS_OK; i++) rc = ls__buf_add(&b, TOK(v, i), v->len[i]);
      if (rc == LS_OK) rc = ls__strs_add(&out, b.p ? b.p : "", b.len);
      break;
    case LS__D_STRIP:
      for (size_t i = 0; i < v->n && rc == LS_OK; i++) {
        const char *s = TOK(v, i);
        size_t n = v->len[i], bcut = 0, ecut = n, j;
        size_t taken = 0;
        for (j = 0; j < n && taken < dc->start; j += (size_t)k, taken++) {
          if (ls__utf8_next(s + j, &k) != dc->strip_cp) break;
          bcut = j + (size_t)k;
        }
        for (taken = 0; taken < dc->stop && ecut > bcut; taken++) {
          size_t p = ecut - 1;
          while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
          if (ls__utf8_next(s + p, &k) != dc->strip_cp) break;
          ecut = p;
        }
        rc = ls__strs_add(&out, s + bcut, ecut > bcut ? ecut - bcut : 0);
      }
      break;
    case LS__D_CTC:
      rc = ls_diag_set(d, LS_EUNSUPPORTED, "the CTC decoder is not supported");
      break;
  }
  ls__buf_free(&b);
  if (rc == LS_OK) strs_take(v, &out);
  else ls__strs_free(&out);
  if (rc == LS_ENOMEM) ls_diag_set(d, rc, "out of memory while decoding");
  return rc;
}

void ls__dec_free(ls__dec *dc) {
  if (!dc) return;
  for (size_t i = 0; i < dc->n; i++) ls__dec_free(&dc->items[i]);
  ls_free(dc->items);
  ls__tre_free(&dc->re);
}
