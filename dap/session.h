/* session.h: the state of one debug session and its launch arguments.
 *
 *   new --initialize--> initialized --launch--> configuring --configurationDone--> running
 *   running <--stopped/continue--> stopped;  any state but new --terminate/end--> terminated
 *
 * What a launch debugs is a target (core/debug/target.h) made by session.open_target from
 * the launch arguments: the engine's forward pass (dap_target_open_engine in debugger.c) for
 * `layerscope dap`, a fake one in tests. Launch opens the run on it (dap_dbg_open), and
 * configurationDone starts it; the run reports back on the loop thread. Without an opener
 * the session ends right after configurationDone with an explanatory output event, so
 * clients never wait for a run that cannot happen. */
#ifndef LS_DAP_SESSION_H
#define LS_DAP_SESSION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/debug/target.h"

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
  char *config;          /* owned: absolute path of a readable config.json, or of a model
                            directory ("model"), resolved by core/engine/source.h */
  int64_t layers;        /* "layers": keep the first N layers (0: all) */
  int64_t generate;      /* "generate": N tokens, greedy, one pass each (0: one pass) */
  int random_weights;    /* "randomWeights": true: seeded random weights, also for a model
                            directory (which otherwise must hold weights) */
  char *weights;         /* owned or NULL: readable file or directory of weights */
  char *prompt;          /* owned or NULL: "prompt", text encoded with the model's tokenizer */
  char *tokenizer;       /* owned or NULL: "tokenizer", a tokenizer.json or .gguf */
  int32_t *tokens;       /* [n_tokens] owned or NULL: input token ids; a batch ("tokens" as
                            an array of arrays): batch rows of n_tokens / batch, right-padded */
  size_t n_tokens;
  int64_t batch;         /* rows of tokens: 1, or the array of arrays' length */
  int *mask;             /* [n_tokens] owned or NULL: "attentionMask", or the padding of
                            rows of different lengths */
  int64_t random_tokens; /* > 0: that many seeded random tokens instead of `tokens`; 0: unset */
  uint64_t seed;         /* RNG seed for random tokens / random weights (default 0) */
  int stop_on_entry;     /* stop before the first module */
  int threads;           /* compute threads, 0: engine default */
  int compute;           /* LS_ENGINE_COMPUTE_F32 (default) or _BF16 ("compute": "bf16") */
  int show_native_frames;/* add native frames to stack traces */
  int no_debug;          /* run without stopping (VS Code "Run Without Debugging") */
  /* the user's own PyTorch program (the agent target) instead of the engine: */
  char *program;         /* owned or NULL: a .py file, resolved against cwd */
  char *module;          /* owned or NULL: `python -m module` */
  char **args;           /* [n_args] owned: the program's arguments */
  int n_args;
  char **env;            /* [n_env] owned: "NAME=value" added to the program's environment */
  int n_env;
  char *python;          /* owned or NULL: the interpreter (default: the first python3 with torch) */
  char *cwd;             /* owned or NULL: the program's working directory */
  char *connect;         /* owned or NULL: attach: the socket of layerscope_agent.listen() */
  int attach;            /* the request was `attach` */
  char *record;          /* owned or NULL: a run record file to record the session into
                            (created or migrated when the run opens; docs/run-record.md) */
  char *unknown;         /* owned or NULL: a warning naming the arguments layerscope does not
                            know (typos such as "stopOnEnty") and the known ones */
} dap_launch_args;

#define DAP_MAX_TOKENS (1 << 20)
#define DAP_MAX_THREADS 1024

typedef struct dap_server dap_server;
typedef struct dap_session dap_session;
typedef struct dap_dbg dap_dbg;

/* Makes the target a launch debugs: 0 with *out set (the caller owns it), or a negative LS_E*
 * code with d naming the problem (launch answers with it). */
typedef int (*dap_target_open_fn)(const dap_launch_args *la, ls_dbg_target *out, ls_diag *d);

struct dap_session {
  dap_state state;
  dap_launch_args launch;        /* valid from DAP_S_CONFIGURING on */
  int launched;
  dap_target_open_fn open_target; /* NULL: nothing to debug in this build */
  dap_dbg *dbg;                  /* owned (dap/debugger.c): the run of the launch, or NULL */
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
/* The same for `attach` (docs/agent.md): 'connect' is required, the rest as for launch. */
int dap_attach_args_parse(const json_t *args, dap_launch_args *out, ls_diag *d);
void dap_launch_args_free(dap_launch_args *a);

#endif
