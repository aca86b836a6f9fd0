/* expr_text.c: the expression language's reports about tokens (expr_int.h): `topk`, the k
 * largest values with their indices, naming each token's text when the values are logits of
 * a model whose tokenizer the scope has; and `lens`, the logit lens: a hidden state through
 * the model's final norm and LM head (core/engine/lens.h, through the scope), the top tokens
 * per position with their text. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/debug/expr_int.h"

/* The indices of the k largest non-NaN values of x[n], largest first, into best[k]; returns
 * how many there are. */
static int top_of(const float *x, uint64_t n, int k, uint64_t *best) {
  int have = 0;
  for (uint64_t i = 0; i < n; i++) {
    if (isnan(x[i])) continue;
    int pos = have;
    while (pos > 0 && x[best[pos - 1]] < x[i]) pos--;
    if (pos >= k) continue;
    int last = have < k ? have : k - 1;
    for (int j = last; j > pos; j--) best[j] = best[j - 1];
    best[pos] = i;
    if (have < k) have++;
  }
  return have;
}

char *ls__dbg_topk_text(const ls_dbg_scope *sc, const float *x, const ls_dbg_tensor *t, int k) {
  uint64_t n = ls_dbg_tensor_numel(t);
  if ((uint64_t)k > n) k = (int)n;
  uint64_t *best = ls_calloc((size_t)k + 1, sizeof *best);
  if (!best) return NULL;
  int have = top_of(x, n, k, best);
  size_t cap = (size_t)have * 400 + 16, len = 0;
  char *s = ls_malloc(cap);
  if (!s) { ls_free(best); return NULL; }
  s[0] = 0;
  for (int j = 0; j < have; j++) {
    uint64_t rem = best[j];
    int64_t idx[LS_DBG_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) {
      idx[d] = (int64_t)(rem % (uint64_t)t->shape[d]);
      rem /= (uint64_t)t->shape[d];
    }
    len += (size_t)snprintf(s + len, cap - len, "%s%.6g at [", j ? "\n" : "", (double)x[best[j]]);
    for (int d = 0; d < t->ndim; d++) len += (size_t)snprintf(s + len, cap - len, "%s%lld", d ? ", " : "", (long long)idx[d]);
    len += (size_t)snprintf(s + len, cap - len, "]");
    char text[300];
    if (t->ndim >= 1 && sc->token_text &&
        sc->token_text(sc->ud, t->shape[t->ndim - 1], t->ndim >= 2 ? idx[t->ndim - 2] : -1, idx[t->ndim - 1], text,
                       sizeof text))
      len += (size_t)snprintf(s + len, cap - len, " %s", text);
  }
  ls_free(best);
  return s;
}

int ls__dbg_lens_text(const ls_dbg_scope *sc, const float *x, const ls_dbg_tensor *t, int k, char **out,
                      ls_diag *d) {
  *out = NULL;
  if (t->ndim < 1) return ls_diag_set(d, LS_EINVAL, "lens: a hidden state is a tensor [.., S, H] or [H], got a scalar");
  int64_t cols = t->shape[t->ndim - 1];
  int64_t rows = cols > 0 ? (int64_t)(ls_dbg_tensor_numel(t) / (uint64_t)cols) : 0;
  float *logits = NULL;
  int64_t V = 0;
  int rc = sc->lens(sc->ud, x, rows, cols, &logits, &V, d);
  if (rc) return rc;
  if (k > V) k = (int)V;
  uint64_t *best = ls_calloc((size_t)k + 1, sizeof *best);
  size_t cap = (size_t)rows * ((size_t)k * 340 + 340) + 16, len = 0;
  char *s = best ? ls_malloc(cap) : NULL;
  if (!s) {
    ls_free(best);
    ls_free(logits);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  s[0] = 0;
  /* the sequence is the second-to-last dimension ([H] alone: one position, unlabelled) */
  int64_t S = t->ndim >= 2 ? t->shape[t->ndim - 2] : 1;
  for (int64_t r = 0; r < rows; r++) {
    int64_t pos = t->ndim >= 2 ? r % S : -1;
    char label[300] = "";
    len += (size_t)snprintf(s + len, cap - len, "%s[%lld]", r ? "\n" : "", (long long)(pos >= 0 ? pos : r));
    if (pos >= 0 && sc->position_label && sc->position_label(sc->ud, S, pos, label, sizeof label))
      len += (size_t)snprintf(s + len, cap - len, " %s", label);
    len += (size_t)snprintf(s + len, cap - len, " ->");
    const float *row = logits + r * V;
    int have = top_of(row, (uint64_t)V, k, best);
    for (int j = 0; j < have; j++) {
      char text[300];
      if (!sc->token_text || !sc->token_text(sc->ud, V, S == 1 && t->ndim < 2 ? -1 : pos, (int64_t)best[j], text,
                                              sizeof text))
        snprintf(text, sizeof text, "%llu", (unsigned long long)best[j]);
      len += (size_t)snprintf(s + len, cap - len, "%s %s %.4g", j ? "," : "", text, (double)row[best[j]]);
    }
  }
  ls_free(best);
  ls_free(logits);
  *out = s;
  return LS_OK;
}
