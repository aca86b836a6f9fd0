/* lens.c: the logit lens (lens.h): the decoder's final norm and LM head applied to any hidden
 * state, as fwd_decoder.c applies them to the last layer's output. */
#include "core/engine/lens.h"

#include <math.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/engine_int.h"
#include "core/engine/ops.h"

int ls_engine_lens(const ls_engine *e, const float *h, int64_t rows, int64_t cols, float **logits, int64_t *vocab,
                   ls_diag *d) {
  *logits = NULL;
  *vocab = 0;
  if (e->arch == LS__ARCH_BERT || !e->lm_head.w)
    return ls_diag_set(d, LS_EUNSUPPORTED, "lens needs a final norm and an LM head; %s has none",
                       e->m->model_type);
  if (cols != e->H)
    return ls_diag_set(d, LS_EINVAL, "lens: a hidden state has %lld units in this model, the tensor's last "
                       "dimension is %lld", (long long)e->H, (long long)cols);
  const int64_t V = e->lm_head.out;
  if (rows <= 0 || (uint64_t)rows > SIZE_MAX / sizeof(float) / (uint64_t)(V > cols ? V : cols))
    return ls_diag_set(d, LS_EOVERFLOW, "lens: %lld rows are too many", (long long)rows);
  float *nrm = ls_calloc((size_t)(rows * cols), sizeof *nrm);
  float *y = ls_calloc((size_t)(rows * V), sizeof *y);
  if (!nrm || !y) {
    ls_free(nrm);
    ls_free(y);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  const ls_model *m = e->m;
  const float eps = (float)m->sem.norm_eps;
  if (m->sem.norm == LS_MODEL_NORM_LAYER)
    ls_ops_layernorm(NULL, nrm, h, rows, cols, e->final_norm.w, e->final_norm.b, eps);
  else
    ls_ops_rmsnorm(NULL, nrm, h, rows, cols, e->final_norm.w, m->sem.norm == LS_MODEL_NORM_RMS_PLUS1 ? 1.0f : 0.0f,
                   eps);
  if (ls_ops_matmul(NULL, y, nrm, rows, &e->lm_head.w->mat, e->lm_head.nk,
                    e->lm_head.b ? e->lm_head.b->vec : NULL)) {
    ls_free(nrm);
    ls_free(y);
    return ls_diag_set(d, LS_ENOMEM, "out of memory for a weight panel of %s", e->lm_head.w->name);
  }
  ls_free(nrm);
  const int64_t n = rows * V;
  if (e->logit_div != 1.0f)
    for (int64_t i = 0; i < n; i++) y[i] /= e->logit_div;
  if (e->final_softcap > 0)
    for (int64_t i = 0; i < n; i++) y[i] = e->final_softcap * tanhf(y[i] / e->final_softcap);
  *logits = y;
  *vocab = V;
  return LS_OK;
}

const int64_t *ls_fwd_tokens(const ls_fwd *f, int64_t *n, int64_t *pos0) {
  *n = f->S;
  *pos0 = f->pos0;
  return f->tokens;
}
