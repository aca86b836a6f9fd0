/* debug.h: the stop decision of a debug run, independent of any protocol and of what runs
 * the model. The run owner (run.h) calls ls_dbg_check at every module event a target reports
 * (target.h); this file decides where to stop:
 *   - function breakpoints: globs over module names (`model.layers.*.mlp`, `*.self_attn`),
 *     verified with the number of modules of the run's module table they match;
 *   - line breakpoints on lines of the launched config.json: the modules that the key on that
 *     line configures (ls_model_key_modules: `intermediate_size` -> every MLP); they need the
 *     target's model and are unverified, saying so, without one;
 *   - conditions in the expression language (expr.h) and hit counts (`>= 3`, `3`, `% 2`);
 *   - exception filters nan, inf, fp16 overflow (finite |x| > 65504): the first module whose
 *     output (backward: gradient) has the problem, each filter once per run, with a
 *     description naming the module, the count and the first index.
 * Breakpoints stop at a module's EXIT event, where inputs, outputs, parameters and
 * intermediates are all available; stepping (the target's step actions) also stops at ENTER.
 * It also keeps copies of module outputs (up to a byte budget) so expressions can name
 * tensors of earlier modules by path, caches statistics once per stop, and holds the bytes
 * of tensors fetched from a target that does not share memory (until the stop ends).
 *
 * The module table starts as the model's modules (same indices) when there is a model, and
 * grows with ls_dbg_modules_add (a target that learns its modules while it runs).
 *
 * Threads: ls_dbg_check runs on a target thread, one call at a time (the run serialises
 * them); the breakpoint setters and ls_dbg_modules_add may run on another thread at any
 * time (a DAP client changes breakpoints during the run): a mutex guards the sets and the
 * table. The scope functions (eval, stats, tensors) are for a stop, while the stopped
 * thread waits.
 * Ownership: ls_dbg_new returns a new session (ls_dbg_free) that borrows the model, which may
 * be NULL. Tensors it hands out borrow the event's memory or the session's buffers, valid
 * until ls_dbg_resumed. */
#ifndef LS_DEBUG_DEBUG_H
#define LS_DEBUG_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/debug/expr.h"
#include "core/debug/target.h"
#include "core/model/model.h"

typedef struct ls_dbg ls_dbg;

/* DAP's names: "entry", "breakpoint", "function breakpoint", "exception", "step", "pause". */
const char *ls_dbg_reason_name(ls_dbg_reason r);

#define LS_DBG_EXC_NAN 0x1u
#define LS_DBG_EXC_INF 0x2u
#define LS_DBG_EXC_FP16 0x4u
#define LS_DBG_FP16_MAX 65504.0

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

/* m may be NULL (a target without a config: the table starts empty). */
int ls_dbg_new(ls_dbg **out, const ls_model *m, ls_diag *d);
void ls_dbg_free(ls_dbg *g);
const ls_model *ls_dbg_model(const ls_dbg *g);

/* Appends mods[n] to the module table (entries copied, strings borrowed: they must live as
 * long as the session). With a model, each is matched to the model's module of that name,
 * so line breakpoints and config lines work for it. LS_ENOMEM, else LS_OK. */
int ls_dbg_modules_add(ls_dbg *g, const ls_dbg_module *mods, size_t n);
size_t ls_dbg_module_count(const ls_dbg *g);
/* Entry i of the table (copied out); LS_ENOENT when out of range. */
int ls_dbg_module_get(const ls_dbg *g, int i, ls_dbg_module *out);

/* Replace all function (or all line) breakpoints; res[n] receives ids and verification. */
int ls_dbg_set_function_bps(ls_dbg *g, const ls_dbg_bp_spec *specs, size_t n, ls_dbg_bp_result *res);
int ls_dbg_set_line_bps(ls_dbg *g, const ls_dbg_bp_spec *specs, size_t n, ls_dbg_bp_result *res);
void ls_dbg_set_exceptions(ls_dbg *g, unsigned flags);
void ls_dbg_set_stop_on_entry(ls_dbg *g, int on);

/* A function breakpoint's glob may start with its phase: "forward:" (the default: the
 * module's exit in the forward pass), "backward:" (the gradient events of the module in the
 * backward pass), "both:". ls_dbg_bp_phase_parse skips the prefix in *glob and returns it. */
#define LS_DBG_BP_FORWARD 0
#define LS_DBG_BP_BACKWARD 1
#define LS_DBG_BP_BOTH 2
int ls_dbg_bp_phase_parse(const char **glob);

/* For a target that decides stops itself (the agent evaluates conditions in the user's
 * process): the function breakpoints as given, the exception filters and stop-on-entry, and
 * a callback after any of them changes (on the thread that changed them). */
typedef struct ls_dbg_fbp_info {
  int id;
  const char *glob;          /* without the phase prefix */
  int phase;                 /* LS_DBG_BP_* */
  const char *condition;     /* source text, "" none */
  const char *hit_condition; /* as given, "" none */
} ls_dbg_fbp_info;
/* Calls fn for each function breakpoint (strings valid during the call; under the session's
 * lock: fn must not call back into the session) and reads the filters and stop-on-entry. */
void ls_dbg_config_get(ls_dbg *g, void (*fn)(void *ud, const ls_dbg_fbp_info *b), void *ud, unsigned *exc,
                       int *stop_on_entry);
void ls_dbg_set_on_change(ls_dbg *g, void (*fn)(void *ud), void *ud);
/* Names a target can fetch although the stop's scope does not hold them: `rank1:<path>` (the
 * tensor of that path in the process of rank 1, stopped too) and full `<module>.<tensor>`
 * paths of modules in the table. fn returns 1 with meta (dtype, ndim, shape) and the bytes
 * as new memory in *buf (the session keeps them until resume), 0 when it cannot. */
typedef int (*ls_dbg_resolve_fn)(void *ud, const ls_dbg_event *ev, const char *name, ls_dbg_var *meta, void **buf,
                                 ls_diag *d);
void ls_dbg_set_resolver(ls_dbg *g, ls_dbg_resolve_fn fn, void *ud);
/* The verification of every function breakpoint against the module table as it is now
 * (a target that reports modules as it runs turns pending breakpoints into verified ones);
 * fills out[cap], returns the count. */
size_t ls_dbg_function_bps_status(ls_dbg *g, ls_dbg_bp_result *out, size_t cap);
/* Bytes of module outputs kept for later expressions (default 256 MiB; 0 keeps none). */
void ls_dbg_set_keep_budget(ls_dbg *g, size_t bytes);
/* Forget per-run state (hit counts, fired filters, kept outputs) before a new run. */
void ls_dbg_reset(ls_dbg *g);

/* The decision at one event: 1 = stop here (stop filled), 0 = go on. It also keeps
 * outputs at forward EXIT events. */
int ls_dbg_check(ls_dbg *g, const ls_dbg_event *ev, ls_dbg_stop *stop);
/* Drops per-stop caches and fetched tensor bytes; call before the stopped thread resumes. */
void ls_dbg_resumed(ls_dbg *g);

/* Parses and evaluates src in the scope of ev (may be NULL: only kept outputs). */
int ls_dbg_eval(ls_dbg *g, const ls_dbg_event *ev, const char *src, ls_dbg_value *out, ls_diag *d);
/* The label of position pos along a dimension of n values of ev's tensors ("\"▁France\"",
 * the token at that position), when n is the pass's sequence length and the target has a
 * tokenizer: returns 1, else 0. For the Variables view and the CLI. */
int ls_dbg_position_label(const ls_dbg_event *ev, int64_t n, int64_t pos, char *buf, size_t cap);
/* Cached statistics of a tensor at this stop (computed on first use); NULL on failure. */
const ls_stats *ls_dbg_stats_cached(ls_dbg *g, const ls_dbg_tensor *t);
/* A tensor of an event as an expression tensor: its own memory (zero-copy) or, for a var
 * without data, the bytes fetched through ev->fetch into a buffer the session keeps until
 * ls_dbg_resumed (fetched once per stop). LS_EUNSUPPORTED / LS_EOVERFLOW / LS_ENOMEM or the
 * fetch's error with d set. */
int ls_dbg_var_tensor(ls_dbg *g, const ls_dbg_event *ev, const ls_dbg_var *v, ls_dbg_tensor *out, ls_diag *d);

/* Line (1-based) of a module's frame: the table's line, else the config key the model says
 * defines it; 0 if none. */
int ls_dbg_module_line(const ls_dbg *g, int module);
/* Frames of a module: itself then its ancestors up to the root; returns the count. */
int ls_dbg_module_frames(const ls_dbg *g, int module, int *out, int cap);

#endif
