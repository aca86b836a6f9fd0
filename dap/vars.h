/* engine.h: the debugger behind the DAP adapter. dap/engine.c implements dap_engine_ops
 * (start / stop / destroy) over core/debug (breakpoints, stop decisions, expressions) and
 * core/engine (the forward pass on its own thread); the request handlers for breakpoints,
 * execution control and inspection reach the session through dap_dbg_get. vars.c keeps the
 * variablesReference table of the current stop (reset at every resume).
 *
 * Threads: the forward pass runs on a runner thread (which also opens the weights, so
 * progress events flow while the loop keeps answering); its hook decides stops with
 * ls_dbg_check and its on_pause callback posts to the loop thread, which sends `stopped`.
 * Everything in dap_dbg except the fields marked otherwise is touched on the loop thread. */
#ifndef LS_DAP_ENGINE_H
#define LS_DAP_ENGINE_H

#include <jansson.h>
#include <pthread.h>

#include "core/base/backtrace.h"
#include "core/debug/debug.h"
#include "core/engine/forward.h"
#include "core/model/model.h"
#include "dap/server.h"

typedef struct dap_vars dap_vars;

typedef struct dap_dbg {
  dap_server *s;
  ls_model *m;
  ls_dbg *g;
  pthread_mutex_t mu;          /* guards e, f, stop_req and the pending_* fields */
  ls_engine *e;                /* runner thread creates */
  ls_fwd *f;                   /* runner thread creates */
  pthread_t runner;
  int runner_started;
  int stop_req;                /* terminate/disconnect asked the run to end */
  int pause_req;               /* pause arrived before the pass existed (weights loading) */
  ls_dbg_stop pending_stop;    /* hook -> on_pause: why the pass pauses */
  int pending_reason;          /* ls_fwd_reason of the pause being posted */
  int run_rc;                  /* runner: result of the pass */
  unsigned gen, run_gen, pause_gen;       /* pass generation (restart) and the one run_rc belongs to */
  char run_msg[512];           /* runner: error message */
  int progress;                /* client supports progress events */
  ls_native_frame native[32];  /* engine thread at the pause (showNativeFrames), innermost first */
  size_t n_native;             /* written in on_pause under mu, read on the loop thread */
  /* loop thread, while stopped */
  const ls_fwd_event *ev;      /* the paused event (borrowed from the pass) */
  ls_dbg_stop stop;            /* why we are stopped */
  dap_vars *vars;
} dap_dbg;

extern const dap_engine_ops dap_engine_debugger;

/* The session's debugger, created on first use once launch has named a config (model
 * loaded, breakpoints can be verified); NULL with d set when there is none. */
dap_dbg *dap_dbg_get(dap_server *s, ls_diag *d);
/* Answers `req` with an error unless the session is stopped; returns the debugger or NULL. */
dap_dbg *dap_dbg_stopped(dap_server *s, dap_req *req);
/* Ends the current pass (aborting it, joining its thread) and starts a new one with the same
 * launch arguments and breakpoints; loop thread. */
int dap_dbg_restart(dap_server *s, dap_dbg *x, ls_diag *d);
/* Resumes the pass with an ls_fwd_action (CONTINUE or a STEP mode): state -> running,
 * variable references dropped, statistics cache cleared. */
int dap_dbg_resume(dap_server *s, dap_dbg *x, int action);

/* ---- vars.c: variablesReference table of one stop */
dap_vars *dap_vars_new(void);
void dap_vars_free(dap_vars *v);
void dap_vars_reset(dap_vars *v);
/* A reference for a scope group (0 inputs, 1 outputs, 2 parameters, 3 intermediates). */
int dap_vars_scope(dap_vars *v, int group);
/* A reference for a tensor; when owned != NULL the table takes the buffer (freed at reset). */
int dap_vars_tensor(dap_vars *v, const ls_dbg_tensor *t, const char *name, void *owned);
/* The `variables` response body for a reference; NULL with *why when unknown. */
json_t *dap_vars_list(dap_dbg *x, int ref, json_t *args, const char **why);
/* The raw bytes of a tensor reference (for readMemory: memoryReference "tensor:REF"). */
int dap_vars_memory(dap_dbg *x, int ref, const void **data, uint64_t *nbytes);
/* The tensor behind a tensor reference (borrowed, valid until the pass resumes) and its
 * display name; LS_ENOENT for an unknown reference or one that is not a tensor. */
int dap_vars_tensor_get(dap_vars *v, int ref, ls_dbg_tensor *out, const char **name);
/* One-line value of a tensor with cached statistics. */
void dap_vars_tensor_line(dap_dbg *x, const ls_dbg_tensor *t, char *buf, size_t cap);

/* ---- breakpoints.c */
json_t *dap_bps_set_function(dap_dbg *x, json_t *bps, const char **why);
json_t *dap_bps_set_source(dap_server *s, dap_dbg *x, json_t *args, const char **why);
int dap_bps_set_exceptions(dap_dbg *x, json_t *filters, json_t *options, const char **why);
/* The initialize capability `exceptionBreakpointFilters`. */
json_t *dap_bps_exception_filters(void);

#endif
