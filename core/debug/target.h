/* target.h: the seam between a debug run (run.h, the owner of breakpoints, stops and
 * restarts) and whatever executes the model: a *target*. A target runs the model and
 * reports module events; the run decides where to stop (ls_dbg_check, debug.h) and tells the
 * front ends. The reference engine in this process is the first target (target_engine.h);
 * the user's own PyTorch program, driven by the Python agent over a Unix socket, is the next.
 * Everything here is protocol-free data, so the run owner and the DAP handlers do not change
 * when a target is added.
 *
 * What a target gives the run:
 *   - a module table (ls_dbg_module): names (the upstream / named_modules() paths), types,
 *     parents, and optionally the config.json line. A target with a config (describe().model)
 *     starts from the model's modules, same indices; others report modules as they learn them
 *     (host->modules), and the table may grow while the run is on;
 *   - module events (ls_dbg_event): enter / exit, forward or backward, on a thread (a rank;
 *     the engine's one thread is 1), at a step, with the tensors in scope grouped as inputs,
 *     outputs, parameters, intermediates and gradients. A tensor has readable memory (the
 *     engine: a pointer into the pass, zero-copy) or is fetched on demand through the event's
 *     fetch function into a buffer the run owns until the thread resumes (the agent: bytes
 *     over the socket or from shared memory);
 *   - control: resume a stopped thread with an action, pause, terminate, and run again after
 *     run() returned (restart); a target also ends by itself (the pass is done, the program
 *     exited with a code) or fails (a message);
 *   - extra frames below the module frames (the engine's native frames, the agent's Python
 *     frames) and the list of its threads.
 *
 * Who decides a stop. A target that calls host->event at every event lets the run decide
 * (breakpoints, conditions, exception filters, stop-on-entry); the engine does. A target may
 * also decide by itself and deliver the result (host->stopped with LS_DBG_CAUSE_DECIDED and an
 * ls_dbg_stop): the agent evaluates conditions in the user's process, for speed, and only
 * talks to the adapter when it stops. Steps and pause requests are carried out by the target
 * (it knows where the next module boundary is) and reported with their cause.
 *
 * Threads. run() is called on the run's own thread and blocks until the target ends. A
 * target may call the host from that thread or from threads of its own (one per rank, a
 * socket reader): every host callback is thread-safe. A thread that stops calls
 * host->stopped and then blocks, inside the target, until resume() or terminate(). The
 * control thread (the front end's event loop, or the CLI's main thread) calls resume, pause,
 * terminate, threads and frames; resume, pause and terminate may come at any time after the
 * target was created (a pause before the model runs stops at its first event), frames only
 * while that thread is stopped. reset() is called on the control thread while no run() is in
 * progress, before each run() but the first.
 *
 * Ownership. The run owns the target from ls_dbg_run_open on and frees it with ops->free.
 * The strings of the module table are the target's and live as long as it (the run copies the
 * entries). Events, their tensors and the frames are borrowed: valid during the host->event
 * call, and while that thread is stopped at the event. */
#ifndef LS_DEBUG_TARGET_H
#define LS_DEBUG_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/debug/expr.h" /* LS_DBG_MAX_DIMS */
#include "core/model/model.h"
#include "core/record/record.h" /* the rows of a health sample */
#include "core/tensor/dtype.h"
#include "core/engine/text.h" /* the tokenizer of an event's ids */

typedef struct ls_dbg ls_dbg; /* debug.h */

#define LS_DBG_MAX_HIT_IDS 16

/* ---------------------------------------------------------------- the module table */

typedef struct ls_dbg_module {
  const char *name;   /* "model.layers.0.mlp" ("" = the root) */
  const char *type;   /* upstream class: "LlamaMLP", "Linear" */
  int parent;         /* index into the table, -1 for a root */
  int depth;          /* 0 for a root */
  int layer;          /* the layer it is in, -1 when none */
  int line;           /* 1-based config.json line that defines it, 0 = none (the run then asks
                         the model, when the target has one) */
} ls_dbg_module;

/* ---------------------------------------------------------------- events */

typedef enum ls_dbg_phase { LS_DBG_ENTER = 0, LS_DBG_EXIT = 1 } ls_dbg_phase;
typedef enum ls_dbg_pass { LS_DBG_FORWARD = 0, LS_DBG_BACKWARD = 1 } ls_dbg_pass;

/* The scope groups of an event, in the order front ends show them. */
typedef enum ls_dbg_group {
  LS_DBG_G_INPUTS = 0,
  LS_DBG_G_OUTPUTS,     /* exit only */
  LS_DBG_G_PARAMS,      /* the module's own parameters */
  LS_DBG_G_INTER,       /* named intermediates: attention probabilities, router weights */
  LS_DBG_G_GRADS,       /* backward only: gradients of the module's outputs and parameters */
  LS_DBG_G_COUNT
} ls_dbg_group;

/* A tensor in scope. */
typedef struct ls_dbg_var {
  const char *name;                /* "input", "output", "weight", "probs", "grad_output" */
  ls_dtype dtype;                  /* activations f32 in the engine; parameters keep their
                                      stored encoding (bf16, q8_0, ...) */
  int ndim;                        /* 0..4 */
  int64_t shape[LS_DBG_MAX_DIMS];  /* row-major; activations carry the batch dim [1, S, H] */
  const void *data;                /* [shape] in dtype, readable in this process; NULL: read
                                      it with the event's fetch */
  uint64_t handle;                 /* the target's name for the bytes when data is NULL */
  const char *summary;             /* when data is NULL: the one-line statistics the target
                                      computed where the tensor lives (the Variables view shows
                                      it without fetching the bytes); NULL: none */
} ls_dbg_var;

typedef struct ls_dbg_event {
  int module;            /* index into the run's module table */
  const char *name;      /* that module's name ("" = root) */
  const char *type;      /* its type */
  int depth, layer;      /* as in the table */
  ls_dbg_phase phase;
  ls_dbg_pass pass;
  int thread;            /* the thread (rank) it happened on: an id >= 1 */
  uint64_t step;         /* engine: 0; agent: the training step */
  int has_token;         /* 1: the engine is generating and token says which pass */
  int64_t token;         /* generation: the pass's step, 0 = the prefill over the prompt
                            (which chooses the first new token), k = the pass over the k-th
                            generated token; the expression name `token` */
  uint64_t serial;       /* events before it on this thread in this run (0: the first) */
  /* Text, where the target has it (the engine with a tokenizer; else NULL / 0): the ids of
   * the pass along its sequence dimension [n_ids] and the tokenizer that labels them (read
   * on first use, from whichever thread asks first: core/engine/text.h), and
   * lens, the model's final norm and LM head applied to a hidden state h [rows, cols]
   * (*logits new [rows, *vocab]; core/engine/lens.h). Borrowed; valid while stopped. */
  struct ls_engine_tokref *tok;
  const int64_t *ids;
  int64_t n_ids;
  int (*lens)(void *lens_ud, const float *h, int64_t rows, int64_t cols, float **logits, int64_t *vocab,
              ls_diag *d);
  void *lens_ud;
  const ls_dbg_var *vars[LS_DBG_G_COUNT]; /* [n_vars[g]] per group */
  int n_vars[LS_DBG_G_COUNT];
  /* Reads the bytes of a var whose data is NULL into dst[nbytes] (nbytes = its dtype size
   * times its element count). Called on the control thread while the event's thread is
   * stopped. NULL when every var has data. */
  int (*fetch)(void *fetch_ud, const ls_dbg_var *v, void *dst, uint64_t nbytes, ls_diag *d);
  void *fetch_ud;
} ls_dbg_event;

/* ---------------------------------------------------------------- stops */

typedef enum ls_dbg_reason {
  LS_DBG_STOP_NONE = 0,
  LS_DBG_STOP_ENTRY,
  LS_DBG_STOP_BREAKPOINT,          /* a line breakpoint */
  LS_DBG_STOP_FUNCTION_BREAKPOINT,
  LS_DBG_STOP_EXCEPTION,
  LS_DBG_STOP_STEP,
  LS_DBG_STOP_PAUSE
} ls_dbg_reason;

/* Why a thread stopped: the one description every front end shows. */
typedef struct ls_dbg_stop {
  ls_dbg_reason reason;
  int hit_ids[LS_DBG_MAX_HIT_IDS]; /* breakpoint ids that caused it */
  int n_hit;
  const char *filter;              /* "nan", "inf", "fp16" for exceptions, else NULL (static) */
  int line;                        /* line breakpoint stops: the 1-based config line that
                                      was hit (the innermost frame shows it), else 0 */
  char description[512];           /* exception text, condition errors; "" otherwise */
} ls_dbg_stop;

/* How a stopped thread goes on. */
typedef enum ls_dbg_action {
  LS_DBG_CONTINUE = 0,
  LS_DBG_STEP_IN,    /* the very next event */
  LS_DBG_STEP_OVER,  /* the next event at this depth or above */
  LS_DBG_STEP_OUT    /* the exit of the parent module */
} ls_dbg_action;

/* Why the target stopped a thread (host->stopped). */
typedef enum ls_dbg_cause {
  LS_DBG_CAUSE_EVENT = 0,  /* host->event returned 1 for this event */
  LS_DBG_CAUSE_STEP,       /* a step action reached its target */
  LS_DBG_CAUSE_PAUSE,      /* a pause request */
  LS_DBG_CAUSE_DECIDED     /* the target decided by itself; the ls_dbg_stop says why */
} ls_dbg_cause;

/* ---------------------------------------------------------------- frames and threads */

typedef enum ls_dbg_frame_kind {
  LS_DBG_FRAME_MODULE = 0, /* a module of the table (the run makes these) */
  LS_DBG_FRAME_NATIVE,     /* a native frame of the target's thread (engine) */
  LS_DBG_FRAME_SOURCE,     /* a frame of the user's program (agent: Python file, line) */
  LS_DBG_FRAME_LIBRARY,    /* a frame of a library the program calls (torch), with its source:
                              front ends may fold or omit it */
  LS_DBG_FRAME_TOKEN       /* engine generation: the token whose pass this is, below the
                              module frames ("token 3 of 8, position 10") */
} ls_dbg_frame_kind;

typedef struct ls_dbg_frame {
  ls_dbg_frame_kind kind;
  int module;              /* MODULE: index into the module table; else -1 */
  const char *name;        /* the module name, "ls_fwd_run+0x1f", or a function name */
  const char *type;        /* MODULE: the module's type; else NULL */
  const char *path;        /* source file (config.json, train.py), NULL when none */
  int line;                /* 1-based line in path, 0 when none */
} ls_dbg_frame;

typedef struct ls_dbg_thread {
  int id;                  /* >= 1 */
  const char *name;        /* "forward pass", "rank 3" */
} ls_dbg_thread;

/* ---------------------------------------------------------------- the host (the run) */

typedef enum ls_dbg_progress {
  LS_DBG_PROGRESS_START = 0, LS_DBG_PROGRESS_UPDATE, LS_DBG_PROGRESS_END
} ls_dbg_progress;

typedef enum ls_dbg_output {
  LS_DBG_OUT_NOTE = 0, /* a sentence about the run from layerscope (front ends prefix it) */
  LS_DBG_OUT_STDOUT,   /* the program's own output, verbatim */
  LS_DBG_OUT_STDERR
} ls_dbg_output;

/* A health sample: the figures of one sampled training step of one thread (a rank), as
 * the agent measured them in the user's process (docs/agent.md, "Training health"). The
 * rows' module fields are indices into the run's module table. Borrowed for the call. */
typedef struct ls_dbg_health {
  int thread;
  ls_rec_step_row step;             /* step, rank, loss, gradient norm, scale, sampling cost */
  const ls_rec_health_row *rows;    /* [n_rows] parameters and module outputs */
  size_t n_rows;
  const ls_rec_source_row *sources; /* [n_sources] call sites and forward definitions that
                                       are new or changed since the last sample */
  size_t n_sources;
} ls_dbg_health;

/* What the run gives a target's run(). Every callback is thread-safe. */
typedef struct ls_dbg_target_host {
  /* 1: call event() at every module event (the run checks breakpoints); 0: do not (a run
   * without debugging: only steps and pauses stop). */
  int check_events;
  /* 1 = stop here: the target then stops this thread and reports LS_DBG_CAUSE_EVENT. */
  int (*event)(void *hud, const ls_dbg_event *ev);
  /* The thread of ev is stopped at ev and blocks until resumed; decided is the target's own
   * decision for LS_DBG_CAUSE_DECIDED, else NULL. */
  void (*stopped)(void *hud, const ls_dbg_event *ev, ls_dbg_cause cause, const ls_dbg_stop *decided);
  /* The module table grew by mods[n] (entries copied; strings stay the target's). */
  int (*modules)(void *hud, const ls_dbg_module *mods, size_t n);
  /* A slow phase (binding weights, starting the program): id names it ("weights"); title and
   * message at START, message and fraction in [0, 1] at UPDATE. Strings copied. */
  void (*progress)(void *hud, ls_dbg_progress phase, const char *id, double fraction, const char *title,
                   const char *message);
  void (*output)(void *hud, ls_dbg_output kind, const char *text);
  /* A health sample (a target that samples training health: the agent). */
  void (*health)(void *hud, const ls_dbg_health *h);
  void *hud;
} ls_dbg_target_host;

/* ---------------------------------------------------------------- the target */

typedef struct ls_dbg_target_info {
  const char *what;          /* what runs, for thread names and messages: "forward pass" */
  const ls_model *model;     /* the config it runs, or NULL: line breakpoints need it */
  const char *config_path;   /* that config's path (module frames' source), or NULL */
} ls_dbg_target_info;

/* What the target wrote when run() returned. */
typedef struct ls_dbg_target_end {
  int exit_code;             /* the program's exit status: 0 done */
  char summary[512];         /* the result, for the front end ("top-5 next tokens: ..."); "" */
} ls_dbg_target_end;

typedef struct ls_dbg_target_ops {
  /* Fills out (borrowed strings and model, valid while the target lives). */
  void (*describe)(void *ud, ls_dbg_target_info *out);
  /* Before the first run: can this run work at all (the weights fit, the input is valid)?
   * 0, or a negative LS_E* code with d naming the problem. May be NULL. */
  int (*check)(void *ud, ls_diag *d);
  /* Runs the model until it ends: LS_OK (ended by itself; end filled), LS_ECANCELED
   * (terminate), or an error with d set. On the run's thread; calls host as it goes. */
  int (*run)(void *ud, const ls_dbg_target_host *host, ls_dbg_target_end *end, ls_diag *d);
  /* A stopped thread goes on: LS_ESTATE when that thread is not stopped. */
  int (*resume)(void *ud, int thread, ls_dbg_action action);
  /* Stop every thread at its next module boundary (LS_DBG_CAUSE_PAUSE). */
  void (*pause)(void *ud);
  /* End the run: run() returns LS_ECANCELED soon, stopped threads included. Not blocking. */
  void (*terminate)(void *ud);
  /* Forget the last run's terminate and pause requests before run() is called again. */
  void (*reset)(void *ud);
  /* Its threads (up to cap); returns the count. */
  int (*threads)(void *ud, ls_dbg_thread *out, int cap);
  /* Frames of a stopped thread below its module frames, innermost first; returns the count. */
  int (*frames)(void *ud, int thread, ls_dbg_frame *out, int cap);
  void (*free)(void *ud);
  /* A target that decides stops itself (LS_DBG_CAUSE_DECIDED) reads the breakpoints, filters
   * and stop-on-entry here (ls_dbg_config_get) and passes them on: called before each run()
   * and after every change, on the thread that made it. NULL for targets that let the run
   * decide. */
  void (*configure)(void *ud, ls_dbg *g);
  /* A tensor by its full path ("model.lm_head.weight": parameters and buffers) in the process
   * of a stopped thread: meta gets dtype, ndim and shape, *buf the bytes (new, ls_free).
   * 1 done, 0 no such tensor there, negative on error (d). NULL: the target has none. */
  int (*fetch_named)(void *ud, int thread, const char *path, ls_dbg_var *meta, void **buf, ls_diag *d);
} ls_dbg_target_ops;

typedef struct ls_dbg_target {
  const ls_dbg_target_ops *ops;
  void *ud;
} ls_dbg_target;

#endif
