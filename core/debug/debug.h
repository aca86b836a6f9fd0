/* debug.h: the debugging session, independent of any protocol. Both the DAP adapter
 * (dap/engine.c) and the terminal front end (`layerscope debug`) drive the engine's forward
 * pass (core/engine/forward.h) with ls_dbg_check as the module hook; this file decides where
 * to stop:
 *   - function breakpoints: globs over upstream module names (`model.layers.*.mlp`,
 *     `*.self_attn`), verified with the number of modules they match;
 *   - line breakpoints on lines of the launched config.json: the modules that the key on that
 *     line configures (ls_model_key_modules: `intermediate_size` -> every MLP);
 *   - conditions in the expression language (expr.h) and hit counts (`>= 3`, `3`, `% 2`);
 *   - exception filters nan, inf, fp16 overflow (finite |x| > 65504): the first module whose
 *     output has the problem, each filter once per run, with a description naming the module,
 *     the count and the first index.
 * Breakpoints stop at a module's EXIT event, where inputs, outputs, parameters and
 * intermediates are all available; stepping (the engine's STEP modes) also stops at ENTER.
 * It also keeps copies of module outputs (up to a byte budget) so expressions can name
 * tensors of earlier modules by path, and caches statistics once per stop.
 *
 * Threads: ls_dbg_check runs on the engine thread; the breakpoint setters may run on another
 * thread at any time (a DAP client changes breakpoints during the run): a mutex guards the
 * sets. The scope functions are for the paused state, when the engine thread waits.
 * Ownership: ls_dbg_new returns a new session (ls_dbg_free) that borrows the model. */
#ifndef LS_DEBUG_DEBUG_H
#define LS_DEBUG_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/debug/expr.h"
#include "core/engine/forward.h"
#include "core/model/model.h"

typedef struct ls_dbg ls_dbg;

typedef enum ls_dbg_reason {
  LS_DBG_STOP_NONE = 0,
  LS_DBG_STOP_ENTRY,
  LS_DBG_STOP_BREAKPOINT,          /* a line breakpoint */
  LS_DBG_STOP_FUNCTION_BREAKPOINT,
  LS_DBG_STOP_EXCEPTION,
  LS_DBG_STOP_STEP,
  LS_DBG_STOP_PAUSE
} ls_dbg_reason;

/* DAP's names: "entry", "breakpoint", "function breakpoint", "exception", "step", "pause". */
const char *ls_dbg_reason_name(ls_dbg_reason r);

#define LS_DBG_EXC_NAN 0x1u
#define LS_DBG_EXC_INF 0x2u
#define LS_DBG_EXC_FP16 0x4u
#define LS_DBG_FP16_MAX 65504.0

#define LS_DBG_MAX_HIT_IDS 16

typedef struct ls_dbg_stop {
  ls_dbg_reason reason;
  int hit_ids[LS_DBG_MAX_HIT_IDS]; /* breakpoint ids that caused it */
  int n_hit;
  const char *filter;              /* "nan", "inf", "fp16" for exceptions, else NULL */
  int line;                        /* line breakpoint stops: the 1-based config line that
                                      was hit (the innermost frame shows it), else 0 */
  char description[512];           /* exception text, condition errors; "" otherwise */
} ls_dbg_stop;

/* What a client asks for: a glob (function) or a 1-based config line, with optional
 * condition and hit condition (NULL or "" when none). */
typedef struct ls_dbg_bp_spec {
  const char *name;
  int line;
  const char *condition;
  const char *hit_condition;
} ls_dbg_bp_spec;

/* What the session answers for each spec. */
typedef struct ls_dbg_bp_result {
  int id;
  int verified;
  int line;              /* line breakpoints: the line (1-based) */
  char message[256];     /* "matches 2 modules", or why it is not verified */
} ls_dbg_bp_result;

int ls_dbg_new(ls_dbg **out, const ls_model *m, ls_diag *d);
void ls_dbg_free(ls_dbg *g);
const ls_model *ls_dbg_model(const ls_dbg *g);

/* Replace all function (or all line) breakpoints; res[n] receives ids and verification. */
int ls_dbg_set_function_bps(ls_dbg *g, const ls_dbg_bp_spec *specs, size_t n, ls_dbg_bp_result *res);
int ls_dbg_set_line_bps(ls_dbg *g, const ls_dbg_bp_spec *specs, size_t n, ls_dbg_bp_result *res);
void ls_dbg_set_exceptions(ls_dbg *g, unsigned flags);
void ls_dbg_set_stop_on_entry(ls_dbg *g, int on);
/* Bytes of module outputs kept for later expressions (default 256 MiB; 0 keeps none). */
void ls_dbg_set_keep_budget(ls_dbg *g, size_t bytes);
/* Forget per-run state (hit counts, fired filters, kept outputs) before a new pass. */
void ls_dbg_run_reset(ls_dbg *g);

/* The engine hook's decision at one event: 1 = pause here (stop filled), 0 = go on.
 * Call it from the ls_fwd hook; it also keeps outputs at EXIT events. */
int ls_dbg_check(ls_dbg *g, const ls_fwd_event *ev, ls_dbg_stop *stop);
/* Drops per-stop caches; call before resuming the pass. */
void ls_dbg_resumed(ls_dbg *g);

/* Parses and evaluates src in the scope of ev. */
int ls_dbg_eval(ls_dbg *g, const ls_fwd_event *ev, const char *src, ls_dbg_value *out, ls_diag *d);
/* Cached statistics of a tensor at this stop (computed on first use); NULL on failure. */
const ls_stats *ls_dbg_stats_cached(ls_dbg *g, const ls_dbg_tensor *t);
/* An event tensor as an expression tensor. */
void ls_dbg_tensor_from_fwd(const ls_fwd_tensor *ft, ls_dbg_tensor *t);

/* Line (1-based) of the config key a module is defined by (its frame location), 0 if none. */
int ls_dbg_module_line(const ls_dbg *g, int module);
/* Frames of a module: itself then its ancestors up to the root; returns the count. */
int ls_dbg_module_frames(const ls_dbg *g, int module, int *out, int cap);

#endif
