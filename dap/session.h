/* session.h: the state of one debug session and its launch arguments.
 *
 *   new --initialize--> initialized --launch--> configuring --configurationDone--> running
 *   running <--stopped/continue--> stopped;  any state but new --terminate/end--> terminated
 *
 * The engine (the forward pass, a later issue) plugs in through dap_engine_ops: the server
 * calls ops->start at configurationDone, on the loop thread; start launches the engine
 * thread, which reports back with dap_send_event (thread-safe) and dap_session_post. Without
 * an engine the session ends right after configurationDone with an explanatory output
 * event, so clients never wait for a run that cannot happen. */
#ifndef LS_DAP_SESSION_H
#define LS_DAP_SESSION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"

typedef enum dap_state {
  DAP_S_NEW = 0,        /* before initialize */
  DAP_S_INITIALIZED,    /* initialize answered, waiting for launch */
  DAP_S_CONFIGURING,    /* launch accepted, `initialized` sent, breakpoints arriving */
  DAP_S_RUNNING,        /* configurationDone: the forward pass runs */
  DAP_S_STOPPED,        /* paused at a breakpoint / step / entry */
  DAP_S_TERMINATED      /* the run ended or was terminated */
} dap_state;

/* launch request arguments, validated. */
typedef struct dap_launch_args {
  char *config;          /* owned: absolute path of a readable config.json */
  char *weights;         /* owned or NULL: readable file or directory of weights */
  int32_t *tokens;       /* [n_tokens] owned or NULL: input token ids */
  size_t n_tokens;
  int64_t random_tokens; /* > 0: that many seeded random tokens instead of `tokens`; 0: unset */
  uint64_t seed;         /* RNG seed for random tokens / random weights (default 0) */
  int stop_on_entry;     /* stop before the first module */
  int threads;           /* compute threads, 0: engine default */
  int compute;           /* LS_ENGINE_COMPUTE_F32 (default) or _BF16 ("compute": "bf16") */
  int show_native_frames;/* add native frames to stack traces */
  int no_debug;          /* run without stopping (VS Code "Run Without Debugging") */
  char *unknown;         /* owned or NULL: a warning naming the arguments layerscope does not
                            know (typos such as "stopOnEnty") and the known ones */
} dap_launch_args;

#define DAP_MAX_TOKENS (1 << 20)
#define DAP_MAX_THREADS 1024

typedef struct dap_server dap_server;
typedef struct dap_session dap_session;

typedef struct dap_engine_ops {
  /* Starts the run on its own thread; returns 0 or a negative LS_E* code with d set. */
  int (*start)(dap_server *s, dap_session *ss, ls_diag *d);
  /* Asks a running engine to stop (terminate/disconnect); must not block for long. */
  void (*stop)(dap_server *s, dap_session *ss);
  /* Joins the engine thread and frees its state; called once, on the loop thread. */
  void (*destroy)(dap_server *s, dap_session *ss);
  /* Called by launch (ss->launch set) before it answers: can this launch run (the config
   * loads, the weights fit it, the tokens are in its vocabulary)? 0, or a negative LS_E*
   * code with d naming the problem, and launch answers with that error. May be NULL. */
  int (*check)(dap_server *s, dap_session *ss, ls_diag *d);
} dap_engine_ops;

struct dap_session {
  dap_state state;
  dap_launch_args launch;  /* valid from DAP_S_CONFIGURING on */
  int launched;
  const dap_engine_ops *engine; /* NULL: no engine in this build */
  void *engine_ctx;             /* owned by the engine */
};

const char *dap_state_name(dap_state st);
/* Moves to `to` if the machine allows it; LS_ESTATE with d naming both states if not. */
int dap_session_transition(dap_session *ss, dap_state to, ls_diag *d);

/* Parses and checks launch arguments (see docs/protocol.md); relative paths are resolved
 * against args.cwd if given, else the adapter's working directory. LS_EINVAL with d naming
 * the argument on any problem; out is then empty. Keys that are neither layerscope's nor a
 * client's own (type, request, name, __sessionId, preLaunchTask, ...) are not an error:
 * out->unknown says which they are. */
int dap_launch_args_parse(const json_t *args, dap_launch_args *out, ls_diag *d);
void dap_launch_args_free(dap_launch_args *a);

#endif
