/* debugger.h: the debug run behind the DAP adapter, as the request handlers see it. The run
 * itself is the core's (core/debug/run.h: target, breakpoints, stops, restart); debugger.c
 * only translates: launch arguments into a target and run options, the run's callbacks into
 * DAP events (`stopped`, `output`, progress, `exited` + `terminated`), and requests into run
 * calls. Handlers for breakpoints include dap/breakpoints.h, those that list variables
 * dap/vars.h.
 *
 * Threads: the run posts its callbacks to the loop thread (dap_server_post_fn), so
 * everything in dap_dbg is touched on the loop thread only. */
#ifndef LS_DAP_DEBUGGER_H
#define LS_DAP_DEBUGGER_H

#include <jansson.h>

#include "core/debug/run.h"
#include "dap/server.h"

typedef struct dap_vars dap_vars;

typedef struct dap_dbg {
  dap_server *s;
  ls_dbg_run *run;             /* owned */
  ls_dbg *g;                   /* the run's session (borrowed): breakpoints, statistics */
  dap_vars *vars;              /* owned: the variablesReference table of the current stop */
  int progress;                /* the client supports progress events */
  struct { int thread, base; } frame_threads[64]; /* frame ids of this stop: base + index + 1 */
  int n_frame_threads;
  int verified[64];            /* function breakpoint ids reported verified by `breakpoint` events */
  size_t n_verified;
} dap_dbg;

/* The session's debugger: created by launch (dap_dbg_open); NULL with d set before that. */
dap_dbg *dap_dbg_get(dap_server *s, ls_diag *d);
/* Answers `req` with an error unless the session is stopped; returns the debugger or NULL. */
dap_dbg *dap_dbg_stopped(dap_server *s, dap_req *req);
/* The stop of a debugger returned by dap_dbg_stopped (borrowed until the run resumes). */
const ls_dbg_run_stop *dap_dbg_stop(dap_dbg *x);
/* Frame ids of a stop: the frames of the first thread asked for are 1..n (as they always
 * were with one thread); each further thread's get a range of their own. _id returns the id
 * of a thread's frame, _of the thread and index behind an id (-1 when unknown). Forgotten at
 * every resume. */
#define DAP_FRAMES_PER_THREAD 1024
int dap_dbg_frame_id(dap_dbg *x, int thread, int index);
int dap_dbg_frame_of(dap_dbg *x, int id, int *thread, int *index);
/* What the run runs, for messages: "forward pass". */
const char *dap_dbg_what(const dap_server *s);

/* launch: the target from the launch arguments (session.open_target), the run on it, and
 * its check (the config loads, the weights fit it, the tokens are in its vocabulary). */
int dap_dbg_open(dap_server *s, ls_diag *d);
/* configurationDone: starts the run on its thread. */
int dap_dbg_start(dap_server *s, dap_dbg *x, ls_diag *d);
/* Resumes with an action: state -> running, variable references dropped. */
int dap_dbg_resume(dap_server *s, dap_dbg *x, ls_dbg_action action);
/* Ends the current run and starts a new one with the same breakpoints. */
int dap_dbg_restart(dap_server *s, dap_dbg *x, ls_diag *d);
/* terminate / disconnect / end of input: asks the run to end; does not block. */
void dap_dbg_end(dap_dbg *x);
/* Joins the run's thread and frees everything; NULL is fine. */
void dap_dbg_free(dap_dbg *x);

/* The engine's forward pass as the target of a launch. */
int dap_target_open_engine(const dap_launch_args *la, ls_dbg_target *out, ls_diag *d);
/* The adapter's opener: the user's program through the agent (program, module, or attach's
 * connect: agent/target_agent.h), else the engine. */
int dap_target_open(const dap_launch_args *la, ls_dbg_target *out, ls_diag *d);
/* launch / attach after their arguments parsed (la is taken): opens the run and checks it,
 * answers req (an error response naming the problem, or success), sends `initialized`. */
void dap_dbg_launch(dap_server *s, dap_req *req, dap_launch_args *la);

#endif
