/* generate.h: autoregressive generation over the reference engine. A generation run owns a
 * KV cache (forward.h's ls_kv) sized for the prompt plus the tokens to generate; its first
 * step runs one forward pass over the whole prompt (prefill), each later step one pass over
 * the token chosen last, both appending to the cache, so every step costs one position.
 * The next token is the argmax of the last position's logits (greedy, ties to the lower id)
 * or, with a temperature, a draw from softmax(logits / T) restricted to the top-p nucleus
 * with a seeded splitmix64 stream (one seed, one sequence).
 *
 * Front ends (`layerscope run --generate`, the debugger) drive it as begin / step / end: a
 * step's forward pass runs on the calling thread with the run's ls_fwd_opts (hooks, pause
 * callbacks), so a debugger stops inside a generated token's pass exactly as in one pass.
 *
 * Text is not this module's business: it takes and gives token ids. A front end with a
 * tokenizer (core/text) encodes the prompt before ls_gen_begin and decodes ls_gen_step's
 * tokens.
 *
 * Ownership: ls_gen_begin returns a new run (ls_gen_end) borrowing the engine; a step's
 * logits are borrowed until the next step or ls_gen_end. */
#ifndef LS_ENGINE_GENERATE_H
#define LS_ENGINE_GENERATE_H

#include <stdint.h>

#include "core/base/diag.h"
#include "core/engine/forward.h"

typedef struct ls_gen ls_gen;

typedef struct ls_gen_opts {
  int64_t max_new;     /* tokens to generate, >= 1 */
  double temperature;  /* <= 0: greedy */
  double top_p;        /* nucleus mass in (0, 1); <= 0 or >= 1: the whole vocabulary */
  uint64_t seed;       /* the sampling stream (ignored when greedy) */
  ls_fwd_opts fwd;     /* every pass's options (hook, on_pause, ...); kv is the run's */
  /* Called on the stepping thread with each pass after it is created and before it runs
   * (index: the step, 0 = the prefill), so a debugger can resume, pause or abort it from
   * another thread. May be NULL. */
  void (*on_pass)(void *ud, ls_fwd *f, int64_t index);
  void *on_pass_ud;
} ls_gen_opts;

typedef struct ls_gen_token {
  int64_t index;        /* 0 for the first generated token */
  int64_t pos;          /* its position: prompt length + index */
  int64_t token;        /* the chosen token */
  float logit;          /* its logit */
  int64_t top;          /* the best-scoring token (== token when greedy) */
  float top_logit;
  int64_t n_nan;        /* NaN logits at that position (never chosen) */
  const float *logits;  /* [vocab] the logits the token was chosen from; borrowed */
  int64_t vocab;
  int64_t cached;       /* positions in the KV cache after this step's pass */
} ls_gen_token;

/* Checks the prompt (ls_fwd_check_tokens over prompt + max_new positions for families with
 * learned positions) and allocates the KV cache. LS_EUNSUPPORTED for encoders or a model
 * without an LM head. */
int ls_gen_begin(ls_gen **out, ls_engine *e, const int64_t *prompt, int64_t n,
                 const ls_gen_opts *o, ls_diag *d);
/* Runs the next pass (the prefill first) and chooses the next token into *st. LS_ESTATE
 * once max_new tokens have been generated; LS_ECANCELED when a hook aborted the pass; the
 * run is unusable after an error. */
int ls_gen_step(ls_gen *g, ls_gen_token *st, ls_diag *d);
/* The pass of the step in progress or last run (borrowed), NULL before the first step. */
ls_fwd *ls_gen_fwd(ls_gen *g);
const ls_kv *ls_gen_kv(const ls_gen *g);
/* The tokens so far: prompt then generated, [*n] borrowed. */
const int64_t *ls_gen_tokens(const ls_gen *g, int64_t *n);
void ls_gen_end(ls_gen *g);

/* Bytes ls_gen_begin allocates for the cache of prompt + max_new positions (0: overflow). */
size_t ls_gen_cache_bytes(const ls_engine *e, int64_t prompt, int64_t max_new);

#endif
