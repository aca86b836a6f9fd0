/* lens.h: the logit lens. A hidden state taken anywhere in a decoder's residual stream, run
 * through the model's own final norm and LM head (with the head's logit scaling and final
 * soft-capping), gives what the model would predict if the layers after it did nothing
 * (nostalgebraist, "interpreting GPT: the logit lens", 2020). The debugger's `lens EXPR`
 * (core/debug/expr_eval.c) calls it on a paused pass's tensors; it reads the engine's bound
 * weights and runs no hooks, so a paused pass is undisturbed.
 *
 * Ownership: *logits is new (ls_free). */
#ifndef LS_ENGINE_LENS_H
#define LS_ENGINE_LENS_H

#include <stdint.h>

#include "core/base/diag.h"
#include "core/engine/forward.h"

/* h [rows, cols] f32 with cols the hidden size -> *logits [rows, *vocab]. LS_EINVAL when
 * cols is not the hidden size, LS_EUNSUPPORTED for a model without a final norm and LM head
 * (an encoder). Single-threaded: the pass's pool belongs to the paused pass. */
int ls_engine_lens(const ls_engine *e, const float *h, int64_t rows, int64_t cols, float **logits, int64_t *vocab,
                   ls_diag *d);

/* The ids a pass runs over: [*n] (borrowed from the pass); *pos0 the position of the first
 * (the cached length when generating). Labels the sequence dimension of its tensors. Kept
 * here, beside the other reader of a paused pass, to leave forward.h to the forward pass. */
const int64_t *ls_fwd_tokens(const ls_fwd *f, int64_t *n, int64_t *pos0);

#endif
