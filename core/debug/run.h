/* run.h: a debug run and its one owner, protocol-free. A run owns a target (target.h: the
 * engine's forward pass, later the user's PyTorch program) and the debugging session on it
 * (debug.h: breakpoints, conditions, exception filters, kept outputs). It starts the target
 * on its own thread, decides stops at the target's events, merges what a stop is (the run's
 * decision, a step, a pause, or the target's own decision) into one description, and tells
 * the front end through callbacks: on_stop, on_end, on_output, on_progress. The front end
 * answers with resume (an action), pause, restart (breakpoints kept) and terminate. DAP
 * (dap/debugger.c) and `layerscope debug` (cli/debug.c) are two thin front ends on it.
 *
 * Threads. The front end's thread is the *control thread*: it calls every function here.
 * Callbacks run on the control thread when the front end gives opts.post (an event loop:
 * the run hands it each call and forgets it; calls left from a run that restart or close
 * ended are dropped), else on the thread that caused them (the target's), and a synchronous
 * front end waits with ls_dbg_run_wait. Breakpoints may be changed on ls_dbg_run_dbg at any
 * time; the scope of a stop (ls_dbg_run_eval, ls_dbg_run_tensor, ls_dbg_run_frames) is read
 * while stopped, until the next resume, restart or terminate.
 *
 * Stops of several threads. Each stop names its thread; on a stop the run asks the target
 * to pause the others (all-stop), and a stop reports all_stopped when no known thread still
 * runs. resume continues every stopped thread: the reported one with the action, the others
 * with continue.
 *
 * Ownership: ls_dbg_run_open takes the target (freed at close, also when open fails) and
 * returns a new run (ls_dbg_run_close, on the control thread, after the front end's post
 * queue no longer holds calls for it). Pointers handed out (the stop, its event, the end,
 * frames, threads) are borrowed: the stop's until resume / restart / terminate, the rest
 * until the next call that returns them. */
#ifndef LS_DEBUG_RUN_H
#define LS_DEBUG_RUN_H

#include "core/base/diag.h"
#include "core/debug/debug.h"
#include "core/debug/target.h"
#include "core/debug/target_engine.h"
#include "core/record/record.h"

typedef struct ls_dbg_run ls_dbg_run;

typedef enum ls_dbg_run_state {
  LS_DBG_RUN_READY = 0, /* opened, not started */
  LS_DBG_RUN_RUNNING,
  LS_DBG_RUN_STOPPED,   /* a stop was reported; the scope of it can be read */
  LS_DBG_RUN_ENDED      /* the target ended, failed or was terminated */
} ls_dbg_run_state;

/* One stop, merged: why (the run's decision, a step, a pause or the target's), where. */
typedef struct ls_dbg_run_stop {
  ls_dbg_stop why;          /* reason, hit breakpoint ids, exception filter, line, description */
  int thread;               /* the thread that stopped */
  int all_stopped;          /* no other known thread of the target still runs */
  const ls_dbg_event *ev;   /* the event it stopped at (the target's) */
} ls_dbg_run_stop;

typedef struct ls_dbg_run_end {
  int rc;                   /* LS_OK ended by itself, LS_ECANCELED terminated, else failed */
  int exit_code;            /* the program's exit status (0 when it ended well) */
  const char *message;      /* why it failed; "" otherwise */
  const char *summary;      /* the target's result ("top-5 next tokens: ..."); "" when none */
} ls_dbg_run_end;

typedef struct ls_dbg_run_cbs {
  void (*on_stop)(void *ud, const ls_dbg_run_stop *stop);
  void (*on_end)(void *ud, const ls_dbg_run_end *end);
  /* NOTE: a sentence from layerscope about the run (no newline; front ends prefix it);
   * STDOUT / STDERR: the program's own output, verbatim. */
  void (*on_output)(void *ud, ls_dbg_output kind, const char *text);
  /* A slow phase: id ("weights"), title and message at START, fraction and message at UPDATE. */
  void (*on_progress)(void *ud, ls_dbg_progress phase, const char *id, double fraction, const char *title,
                      const char *message);
  void *ud;
  /* The module table grew: entries [start, start + n) (ls_dbg_module_get on the session). A
   * target that reports its modules as it runs (the agent) calls this; pending function
   * breakpoints may match now (ls_dbg_function_bps_status). */
  void (*on_modules)(void *ud, size_t start, size_t n);
  /* Runs fn(arg) on the control thread later (0), or refuses (negative: the run frees arg).
   * NULL: callbacks run on the target's threads. */
  int (*post)(void *post_ud, void (*fn)(void *arg), void *arg);
  void *post_ud;
} ls_dbg_run_cbs;

typedef struct ls_dbg_run_opts {
  int stop_on_entry;        /* stop at the first event */
  int no_debug;             /* run without checking breakpoints (steps and pauses still stop) */
  ls_dbg_run_cbs cbs;       /* any callback may be NULL */
  /* A run record (core/record/record.h) to write each run into, created or migrated at
   * open (its errors are open's): the run, every module call the run sees with its wall
   * time, each stop with the statistics of its tensors, exception stops as findings, the
   * module table and the result at the end. NULL: none. A failed write stops the recording
   * and is told once through on_output (NOTE). */
  const char *record;
  const char *record_kind;    /* runs.kind: "debug" (NULL) or "watch" */
  const char *record_program; /* runs.program (a watched program's command line), or NULL */
} ls_dbg_run_opts;

/* A run of target (stolen). The session starts from the target's model (NULL: none). */
int ls_dbg_run_open(ls_dbg_run **out, ls_dbg_target target, const ls_dbg_run_opts *o, ls_diag *d);
/* A run of the reference engine: ls_dbg_target_engine_new then ls_dbg_run_open. */
int ls_dbg_run_open_engine(ls_dbg_run **out, const ls_dbg_engine_opts *eo, const ls_dbg_run_opts *o, ls_diag *d);
/* Terminates the target, joins the run's thread, frees the target and the session. */
void ls_dbg_run_close(ls_dbg_run *r);

/* The session (borrowed, lives as long as the run): breakpoints, filters, statistics. */
ls_dbg *ls_dbg_run_dbg(ls_dbg_run *r);
/* What the target runs ("forward pass"), its model and config path (borrowed). */
const ls_dbg_target_info *ls_dbg_run_info(const ls_dbg_run *r);

/* Before starting: can the target run with these inputs? (ops->check) */
int ls_dbg_run_check(ls_dbg_run *r, ls_diag *d);
/* Starts the target on the run's thread. LS_ESTATE unless READY. */
int ls_dbg_run_start(ls_dbg_run *r, ls_diag *d);
/* The reported thread goes on with action, the other stopped threads continue. The stop's
 * scope ends. LS_ESTATE when not stopped (or the target says the thread is not). */
int ls_dbg_run_resume(ls_dbg_run *r, ls_dbg_action action);
/* Stop at the next module boundary (before start: at the first event). */
void ls_dbg_run_pause(ls_dbg_run *r);
/* Ends the target's run (waiting for its thread) and starts it again with the same
 * breakpoints and filters; hit counts, fired filters and kept outputs start over. */
int ls_dbg_run_restart(ls_dbg_run *r, ls_diag *d);
/* Ends the run: the target stops soon (also when stopped); on_end follows with LS_ECANCELED.
 * Stops that were not reported yet are dropped. Not blocking. */
void ls_dbg_run_terminate(ls_dbg_run *r);

ls_dbg_run_state ls_dbg_run_state_get(ls_dbg_run *r);
/* Blocks until the run is STOPPED or ENDED (or READY: never started) and returns the state. */
ls_dbg_run_state ls_dbg_run_wait(ls_dbg_run *r);
/* The reported stop, NULL unless STOPPED. */
const ls_dbg_run_stop *ls_dbg_run_stop_get(ls_dbg_run *r);
/* How it ended, NULL unless ENDED. */
const ls_dbg_run_end *ls_dbg_run_end_get(ls_dbg_run *r);

/* The event a stopped thread is at (thread <= 0: the reported stop's); NULL when that thread
 * is not stopped. Borrowed until the run resumes. */
const ls_dbg_event *ls_dbg_run_event(ls_dbg_run *r, int thread);
/* At a stop: evaluates src in the scope of a stopped thread's event (_on; thread <= 0 or
 * the plain form: the reported stop's). Several threads stop together on a target with
 * ranks, and each keeps its own scope. */
int ls_dbg_run_eval_on(ls_dbg_run *r, int thread, const char *src, ls_dbg_value *out, ls_diag *d);
int ls_dbg_run_tensor_on(ls_dbg_run *r, int thread, ls_dbg_group group, int i, ls_dbg_tensor *out, ls_diag *d);
/* At a stop: evaluates src in the stopped event's scope (ls_dbg_eval). */
int ls_dbg_run_eval(ls_dbg_run *r, const char *src, ls_dbg_value *out, ls_diag *d);
/* At a stop: tensor i of a group of the stopped event, with its memory (ls_dbg_var_tensor). */
int ls_dbg_run_tensor(ls_dbg_run *r, ls_dbg_group group, int i, ls_dbg_tensor *out, ls_diag *d);
/* At a stop: the tensor the stop is about, for a report: at an exception stop the first
 * tensor of the stopped event's outputs (backward: gradients) that has the filter's problem,
 * at any other stop the first of that group (a forward event without outputs: inputs).
 * *group and *index say where it is in the event's scope; out as from ls_dbg_run_tensor.
 * LS_ENOENT with d set when the event has no such tensor. */
int ls_dbg_run_stop_tensor(ls_dbg_run *r, ls_dbg_group *group, int *index, ls_dbg_tensor *out, ls_diag *d);
/* The frames of a stopped thread, innermost first: its module and the module's ancestors
 * (module frames, at their config lines; the innermost at the hit line of a line breakpoint),
 * then the target's own frames (native or source). Returns the count (0: not stopped). */
int ls_dbg_run_frames(ls_dbg_run *r, int thread, ls_dbg_frame *out, int cap);
/* The target's threads; returns the count. */
int ls_dbg_run_threads(ls_dbg_run *r, ls_dbg_thread *out, int cap);

/* One read-only SQL statement against the run's record (opts.record), rows to fn as
 * ls_rec_query gives them; it sees every row written so far. Any time, on the control
 * thread. LS_ESTATE when the run records nothing; timeout_ms > 0 stops a long query. */
int ls_dbg_run_query(ls_dbg_run *r, const char *sql, int timeout_ms, ls_rec_row_fn fn, void *ud, ls_diag *d);

#endif
