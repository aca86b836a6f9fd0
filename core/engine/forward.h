/* forward.h: the reference engine's public API. An ls_engine binds a model (core/model's
 * module tree and family semantics) to weights: memory-mapped safetensors (single file,
 * directory or sharded index), GGUF, or a seeded random initialisation. An ls_fwd is one
 * forward pass over a token sequence (batch 1) that calls a hook before and after every
 * module of the module tree, with the module's upstream state_dict name, its inputs,
 * outputs, parameters and named intermediates (attention probabilities, router weights).
 *
 * Pausing. The pass runs on whatever thread calls ls_fwd_run, or on its own thread with
 * ls_fwd_start. A hook that returns LS_FWD_PAUSE (or a step / pause request, below) blocks
 * the pass's thread on a condition variable: the engine sets the state to PAUSED, calls
 * opts.on_pause (still on the engine thread: the place to wake an event loop, e.g. with
 * uv_async_send, or to capture a native backtrace), and waits. Any other thread may then
 * read every tensor of the paused event (they stay valid and unchanged while paused) and
 * call ls_fwd_resume with CONTINUE, a STEP mode or ABORT. So a debugger runs the pass off its
 * event loop (core/debug/target_engine.c calls ls_fwd_run on the debug run's own thread);
 * `layerscope run` runs it inline with ls_fwd_run.
 *
 * Speed. With no hook, no step and no pause request the only per-module cost is a few
 * branches; every kernel is the same either way.
 *
 * Ownership: ls_engine_open returns a new engine (ls_engine_close); it borrows the model,
 * which must outlive it. ls_fwd_new returns a new pass (ls_fwd_free) that borrows the
 * engine. Event pointers (names, tensors, data) are borrowed and valid only during the hook
 * call or while the pass is paused at that event. One pass at a time per engine (the
 * engine's worker pool is shared).
 *
 * Batch. A pass may run B rows of L positions at once (opts.batch = B, tokens[B * L] row
 * after row, shorter rows right-padded with any valid id and masked out by
 * opts.attention_mask [B * L]). Products, norms and element-wise ops run over all B * L
 * rows as one; each row's positions start at 0 (RoPE, learned positions); attention runs
 * per (row, head) with causality (decoders) and the row's key mask, so a padded key is
 * never attended; padded query rows are computed like any other. Event activations carry
 * the batch dimension ([B, L, hidden], probs [B, heads, L, L], input_ids [B, L]). B = 1 is
 * today's single-sequence pass, bit for bit. */
#ifndef LS_ENGINE_FORWARD_H
#define LS_ENGINE_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/engine/ops.h"
#include "core/model/model.h"
#include "core/tensor/dtype.h"

typedef struct ls_engine ls_engine;
typedef struct ls_fwd ls_fwd;
typedef struct ls_kv ls_kv;

/* ---------------------------------------------------------------- engine (weights) */

/* Arithmetic of the matrix products (everything else is fp32 either way). */
typedef enum ls_engine_compute {
  LS_ENGINE_COMPUTE_F32 = 0,  /* fp32 products over decoded weight panels (default) */
  LS_ENGINE_COMPUTE_BF16 = 1, /* opt-in: activations rounded to bf16 per product, f32/f16/
                                 bf16 weights as bf16, fp32 accumulation (AVX512_BF16, see
                                 ops_bf16.h); as PyTorch's model.to(torch.bfloat16) */
} ls_engine_compute;

typedef struct ls_engine_opts {
  const char *weights;  /* safetensors file, directory with *.safetensors or an index
                           .json, or a .gguf file; NULL: seeded random initialisation.
                           File data stays memory-mapped in its stored dtype; open touches
                           every page once (in parallel) so the first pass runs at speed */
  uint64_t seed;        /* random initialisation seed (ignored with weights) */
  int threads;          /* worker threads; <= 0: all online CPUs */
  /* Progress while binding or generating weights, then (files) while reading them: the
   * fraction in [0, 1] of the current phase and what it is doing (a tensor name or
   * "reading weights"); called on the opening thread. May be NULL. */
  void (*progress)(void *ud, double fraction, const char *what);
  void *progress_ud;
  int compute;          /* ls_engine_compute; 0 = fp32. BF16 on a CPU without AVX512_BF16
                           (or for quantized weights) runs those products in fp32 */
} ls_engine_opts;

/* Binds every parameter tensor of the model to storage, checking names, shapes and
 * encodings (a missing or mis-shaped tensor is an error naming it). Fails with
 * LS_EUNSUPPORTED for families or options the engine does not run (message says which). */
int ls_engine_open(ls_engine **out, const ls_model *m, const ls_engine_opts *opts, ls_diag *d);
void ls_engine_close(ls_engine *e);
/* The checks of ls_engine_open that need no binding, for a front end that must answer
 * before the (slow) binding starts, as a debug adapter's launch does: the config has no
 * errors, the engine runs its family, and (weights != NULL) the file opens and holds every
 * parameter tensor with the config's shape in an encoding the engine computes with. Reads
 * tensor headers only. */
int ls_engine_check(const ls_model *m, const char *weights, ls_diag *d);
const ls_model *ls_engine_model(const ls_engine *e);
int ls_engine_threads(const ls_engine *e);
/* Bytes of weight storage the engine allocated itself (random init, decoded vectors); the
 * memory-mapped file data is not counted. */
size_t ls_engine_owned_bytes(const ls_engine *e);
/* The compute mode in effect: BF16 only when asked for and the CPU has AVX512_BF16. */
int ls_engine_compute_get(const ls_engine *e);
/* Which code computes the matrix products of a pass, for --timing and profiles: "openblas
 * sgemm" (fp32 mode), "onednn brg:avx512_core_amx" / "onednn brg:avx512_core_bf16" or
 * "kernel avx512_bf16" (bf16 mode; ops_dnnl.h says how it is chosen). Static string. */
const char *ls_engine_matmul_path(const ls_engine *e);
/* "fp32" / "bf16" to ls_engine_compute; -1 when unknown. */
int ls_engine_compute_parse(const char *name);

/* ---------------------------------------------------------------- events and hooks */

typedef struct ls_fwd_tensor {
  const char *name;   /* "input", "output", "weight", "bias", "probs", "routing_weights" */
  ls_dtype dtype;     /* core/tensor dtype: LS_DT_F32 for every activation; parameters
                         keep their stored encoding (LS_DT_BF16, LS_DT_Q8_0, ...) */
  const void *data;   /* borrowed; [shape] row-major in `dtype` (GGUF q/k projections:
                         rows in llama.cpp's stored order, see core/tensor/tensor.h; gpt_oss
                         MXFP4 experts: the *_blocks tensor, LS_DT_U8 [E, out, in / 32, 16]) */
  int ndim;           /* 1..4 */
  int64_t shape[4];   /* activations carry the batch dim: [B, S, hidden] (B = 1 unless
                         opts.batch) */
} ls_fwd_tensor;

typedef enum ls_fwd_phase { LS_FWD_ENTER = 0, LS_FWD_EXIT = 1 } ls_fwd_phase;

#define LS_FWD_MAX_TENSORS 8

typedef struct ls_fwd_event {
  ls_fwd_phase phase;
  int module;                     /* index into model->modules */
  const ls_model_module *mod;     /* model->modules[module] */
  const char *name;               /* mod->name: upstream module name ("" = root) */
  int depth;                      /* mod->depth */
  uint64_t serial;                /* 0, 1, 2 ... over the pass's events */
  int64_t seq;                    /* S: positions per row */
  int n_inputs, n_outputs, n_params, n_inter;
  ls_fwd_tensor inputs[LS_FWD_MAX_TENSORS];   /* enter and exit; the root, backbone and
                                                 token embedding get input_ids (i64 [1, S]) */
  ls_fwd_tensor outputs[LS_FWD_MAX_TENSORS];  /* exit only */
  ls_fwd_tensor params[LS_FWD_MAX_TENSORS];   /* the module's own parameter tensors */
  ls_fwd_tensor inter[LS_FWD_MAX_TENSORS];    /* exit only: probs [1, H, S, S] of attention,
                                                 routing_weights [1, S, n_experts] of MoE */
} ls_fwd_event;

typedef enum ls_fwd_action {
  LS_FWD_CONTINUE = 0,  /* go on */
  LS_FWD_PAUSE,         /* hook result: stop here until ls_fwd_resume */
  LS_FWD_ABORT,         /* stop the pass: ls_fwd_run returns LS_ECANCELED */
  LS_FWD_STEP_IN,       /* resume mode: pause at the very next event */
  LS_FWD_STEP_OVER,     /* resume mode: pause at the next event at this depth or above
                           (the next sibling's enter, or the parent's exit) */
  LS_FWD_STEP_OUT       /* resume mode: pause at the exit of the parent module */
} ls_fwd_action;

typedef enum ls_fwd_reason {
  LS_FWD_REASON_HOOK = 0,   /* the hook returned LS_FWD_PAUSE */
  LS_FWD_REASON_STEP,       /* a step mode reached its target */
  LS_FWD_REASON_REQUEST     /* ls_fwd_request_pause */
} ls_fwd_reason;

/* Called on the engine thread before (ENTER) and after (EXIT) every module; returns an
 * ls_fwd_action (CONTINUE, PAUSE or ABORT). */
typedef int (*ls_fwd_hook_fn)(void *ud, const ls_fwd_event *ev);

typedef struct ls_fwd_opts {
  ls_fwd_hook_fn hook;  /* NULL: no hook */
  void *ud;
  /* Called on the engine thread once the pass is PAUSED, before it waits. May be NULL. */
  void (*on_pause)(void *ud, const ls_fwd_event *ev, ls_fwd_reason why);
  const int64_t *token_type_ids; /* [S] BERT token types, or NULL (zeros); copied */
  const int *attention_mask;     /* [B * S] 1 = token, 0 = padding, NULL = all 1; copied.
                                    Encoders: keys masked as BERT's attention_mask;
                                    decoders: keys masked on top of causality */
  int64_t batch;                 /* B rows of n / B positions each (n % B == 0); 0 or 1: one
                                    row. B > 1: not with a KV cache */
  /* 1: products that the pass fuses (q/k/v, gate/up: one job over shared input) run one per
   * module, each between its own enter and exit events, so a profiler's clock on those
   * events measures each module's own product. 0 (default): fused, and the products run
   * before the first of those modules' enter events (the parent's time). Same results. */
  int separate_products;
  /* A KV cache (decoder families only; borrowed, see ls_kv_new) or NULL. The pass's tokens
   * follow the ls_kv_len(kv) tokens already cached: their positions start there, attention
   * sees the cached keys and values as well as their own (probs is [1, H, S, cached + S]),
   * and a pass that finishes (DONE) appends its keys and values. So a prefill pass over the
   * prompt then one pass per new token computes what one pass over everything would. */
  ls_kv *kv;
} ls_fwd_opts;

typedef enum ls_fwd_state {
  LS_FWD_READY = 0, LS_FWD_RUNNING, LS_FWD_PAUSED, LS_FWD_DONE, LS_FWD_ABORTED, LS_FWD_FAILED
} ls_fwd_state;

/* ---------------------------------------------------------------- KV cache */

/* A cache of every layer's keys (after RoPE) and values for up to cap positions: fp32
 * [n_layers, cap, n_kv * head_dim] each, allocated here (ls_kv_bytes says how much). New
 * (ls_kv_free); borrows the engine. LS_EUNSUPPORTED for an encoder family. */
int ls_kv_new(ls_kv **out, const ls_engine *e, int64_t cap, ls_diag *d);
void ls_kv_free(ls_kv *kv);
int64_t ls_kv_len(const ls_kv *kv);  /* positions cached */
int64_t ls_kv_cap(const ls_kv *kv);
size_t ls_kv_bytes(const ls_engine *e, int64_t cap); /* 0 on overflow */
/* Layer l's cached keys or values (which 0 = keys, 1 = values): [len, n_kv * head_dim],
 * borrowed; NULL for a bad layer. */
const float *ls_kv_layer(const ls_kv *kv, int64_t l, int which, int64_t *len, int64_t *width);

/* ---------------------------------------------------------------- a forward pass */

/* The checks of ls_fwd_new on its input that need no engine: 1 <= n <= 2^20, each token in
 * [0, vocab), and n within the learned positions of families that have them (gpt2, bert,
 * roberta). LS_EINVAL / LS_ELIMIT with d naming the token and position. */
int ls_fwd_check_tokens(const ls_model *m, const int64_t *tokens, int64_t n, ls_diag *d);
/* out[n]: seeded random token ids, uniform in [0, vocab) (vocab > 0): a splitmix64 stream
 * from a state derived from the seed, the input of `layerscope run`, `layerscope debug` and
 * the debug adapter when no tokens are given, so one seed gives one input everywhere. */
void ls_fwd_random_tokens(uint64_t seed, int64_t vocab, int64_t *out, int64_t n);
/* Packs B rows of token ids (lens[b] >= 1 each) into one right-padded batch, as `layerscope
 * run --tokens "1,2;3"` and the debug adapter's launch give them: *tokens [B * L] (L the
 * longest row, padding id 0), *mask [B * L] (masks[b][i] != 0 where given, each row as long as
 * its token row; else 1; padding 0), or *mask NULL when no mask is given and every row is
 * full. Both new (caller frees with ls_free). LS_EINVAL for an empty row or a mask row whose
 * length differs from its token row (d names the row); LS_ELIMIT past 2^20 tokens in all. */
int ls_fwd_batch_pack(const int64_t *const *rows, const int64_t *lens, int64_t B,
                      const int64_t *const *masks, const int64_t *mask_lens, int64_t **tokens,
                      int **mask, int64_t *L, ls_diag *d);
/* Prepares a pass over tokens[n] (copied; each must be < vocab). Allocates the activation
 * buffers for this length. */
int ls_fwd_new(ls_fwd **out, ls_engine *e, const int64_t *tokens, int64_t n,
               const ls_fwd_opts *opts, ls_diag *d);
void ls_fwd_free(ls_fwd *f); /* joins a started thread first (aborting a paused pass) */

/* Runs the whole pass on the calling thread. Returns LS_OK, LS_ECANCELED when aborted, or
 * another error. A pause blocks this thread until another thread resumes it. */
int ls_fwd_run(ls_fwd *f, ls_diag *d);
/* Runs ls_fwd_run on a new thread; ls_fwd_join waits for it and returns its result. */
int ls_fwd_start(ls_fwd *f);
int ls_fwd_join(ls_fwd *f, ls_diag *d);

/* From another thread: resume a PAUSED pass with CONTINUE, STEP_IN, STEP_OVER, STEP_OUT or
 * ABORT. LS_ESTATE when not paused, LS_EINVAL for another action. */
int ls_fwd_resume(ls_fwd *f, int action);
/* From any thread: pause at the next module boundary (reason REQUEST). */
void ls_fwd_request_pause(ls_fwd *f);
/* From any thread: abort the pass at the next module boundary, or now if paused. */
void ls_fwd_abort(ls_fwd *f);
ls_fwd_state ls_fwd_get_state(ls_fwd *f);
/* Blocks until the pass is PAUSED or finished (DONE, ABORTED, FAILED) and returns that
 * state; timeout_ms < 0 waits forever, else returns the current state at the timeout. */
ls_fwd_state ls_fwd_wait(ls_fwd *f, int timeout_ms);
/* The event the pass is paused at (borrowed, valid until resumed), NULL when not paused. */
const ls_fwd_event *ls_fwd_paused_event(ls_fwd *f);

/* After DONE: logits [S, vocab] (borrowed, valid until ls_fwd_free) and their shape. For a
 * base encoder without an LM head, the last hidden state [S, hidden] instead. */
const float *ls_fwd_logits(const ls_fwd *f, int64_t *rows, int64_t *cols);
/* The pass's batch: B rows of S positions (logits rows b * S .. b * S + S - 1 are row b's). */
void ls_fwd_batch(const ls_fwd *f, int64_t *B, int64_t *S);
/* Row b's length: one past its last unmasked position (S without a mask); 0 when the row is
 * all padding. */
int64_t ls_fwd_row_len(const ls_fwd *f, int64_t b);
/* ls_fwd_next_tokens_line for row b of a batch, at the row's last unmasked position. */
int ls_fwd_next_tokens_line_row(const ls_fwd *f, int64_t b, int k, char *buf, size_t cap);
/* The k best next tokens at the last position (k <= cols), best first. */
int ls_fwd_topk(const ls_fwd *f, int k, int64_t *ids, float *logits);
/* What a front end reports as the next tokens: the k best at the last position among its
 * logits that are not NaN (NaN logits are counted, never ranked). Fills ids/logits[k] and
 * *ranked (<= k; 0 when every logit is NaN), *n_nan and *n (the logits at that position). */
int ls_fwd_next_tokens(const ls_fwd *f, int k, int64_t *ids, float *logits, int *ranked, int64_t *n_nan, int64_t *n);
/* The same as one line, k <= 16: "top-5 next tokens: 117 (0.364) 24 (0.340) ...", with
 * "; the logits contain 3 NaN of 128 values at the last position (not ranked)" when some are
 * NaN, or "the logits contain 128 NaN of 128 values at the last position: no next tokens to
 * rank" when all are. LS_ESTATE before DONE, LS_EINVAL for a bad k. */
int ls_fwd_next_tokens_line(const ls_fwd *f, int k, char *buf, size_t cap);

#endif
