/* target_engine.h: the reference engine as a debug target (target.h): one forward pass of
 * a config over tokens, in this process, on the run's thread. The target loads the config
 * when created (so breakpoints verify against its modules before anything runs), binds the
 * weights when run() starts (reporting progress "weights"), and ends with the top-k next
 * tokens as its summary. Tensors are the pass's own buffers (zero-copy); extra frames are
 * the engine thread's native frames when asked for. Its one thread is id 1, "forward pass".
 *
 * Ownership: ls_dbg_target_engine_new copies what the options point to and returns a target
 * the caller owns until it hands it to ls_dbg_run_open (which frees it). */
#ifndef LS_DEBUG_TARGET_ENGINE_H
#define LS_DEBUG_TARGET_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/debug/target.h"
#include "core/engine/forward.h"

typedef struct ls_dbg_engine_opts {
  const char *config;        /* path of the config.json, or a hub model directory */
  const char *weights;       /* safetensors / GGUF / directory, NULL: the model directory's,
                                or seeded random weights for a config file */
  int64_t generate;          /* > 0: generate that many tokens (core/engine/generate.h), one
                                pass each over a KV cache; 0: one forward pass */
  double temperature, top_p; /* sampling with `seed` (temperature 0: greedy) */
  int64_t max_layers;        /* > 0: keep the first N layers (ls_model_opts.max_layers) */
  int random_weights;        /* 1: seeded random weights (a model directory needs this when
                                it holds none; core/engine/source.h) */
  const char *prompt;        /* text encoded with the model's tokenizer (core/engine/text.h),
                                or NULL: tokens */
  const char *tokenizer;     /* the tokenizer for prompt (tokenizer.json, .gguf), NULL: the
                                model directory's or the GGUF weights' */
  const int64_t *tokens;     /* [n_tokens] input ids, or NULL: n_random seeded random ones */
  size_t n_tokens;
  int64_t batch;             /* > 1: tokens are that many right-padded rows (ls_fwd_opts.batch;
                                ls_fwd_batch_pack); not with generate */
  const int *attention_mask; /* [n_tokens] 1 = token, 0 = padding, or NULL */
  int64_t n_random;          /* random tokens when tokens is NULL (<= 0: 8) */
  uint64_t seed;             /* random weights and tokens */
  int threads;               /* compute threads, 0: all CPUs */
  int compute;               /* ls_engine_compute */
  int native_frames;         /* frames() gives the engine thread's native frames */
  const char *tokens_what;   /* how the front end names the input in token errors
                                ("tokens", "randomTokens"); NULL: no prefix */
} ls_dbg_engine_opts;

/* Loads the config (errors as ls_model_load_file reports them) and prepares the tokens. */
int ls_dbg_target_engine_new(ls_dbg_target *out, const ls_dbg_engine_opts *o, ls_diag *d);

/* An engine event as a target event, for code that drives ls_fwd itself (tests): vars point
 * into the event's tensors, thread 1, forward pass, step 0. */
typedef struct ls_dbg_fwd_event {
  ls_dbg_event ev;
  ls_dbg_var vars[4][LS_FWD_MAX_TENSORS]; /* inputs, outputs, params, intermediates */
} ls_dbg_fwd_event;

void ls_dbg_event_from_fwd(ls_dbg_fwd_event *out, const ls_fwd_event *fe);

#endif
