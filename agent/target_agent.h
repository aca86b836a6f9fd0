/* target_agent.h: the user's own PyTorch program as a debug target (core/debug/target.h),
 * through the layerscope agent (agent/python/layerscope_agent) loaded into every Python
 * process it starts. Launch starts the program (program or module, args, cwd, env, python)
 * with the agent on its path; attach connects to a program that called
 * layerscope_agent.listen(). Each agent process that runs a module is a thread of the run
 * (id: the order it connected; named by its torch.distributed rank once known). The agent
 * decides stops in the user's process (breakpoints with phases, conditions, hit counts,
 * NaN/Inf/fp16 filters on outputs and gradients), so this target passes the session's
 * breakpoints on (ops->configure) and reports stops as LS_DBG_CAUSE_DECIDED, steps and
 * pauses with their causes. Tensors at a stop are fetched from the agent when a front end
 * reads them; the module table is the union of the processes' named_modules(), by name.
 * With health_every, each agent samples training health (docs/agent.md) and its samples
 * reach the run as host->health, with module indices mapped into the shared table.
 * The program's stdout/stderr come back as output (or go straight to the terminal).
 *
 * Ownership: ls_agent_target_new copies the options. */
#ifndef LS_AGENT_TARGET_AGENT_H
#define LS_AGENT_TARGET_AGENT_H

#include "agent/link.h"
#include "core/debug/target.h"

typedef struct ls_agent_target_opts {
  ls_agent_launch launch;    /* launch: program or module (out_fd/err_fd ignored) */
  const char *attach;        /* attach: the socket path instead of launching */
  int no_debug;              /* run without breakpoints or filters (pause still stops) */
  int capture_output;        /* 1: the program's stdout/stderr become output callbacks;
                                0: they go to this process's stdout/stderr */
  int health_every;          /* > 0: the agent samples training health every N steps and
                                sends each sample (host->health); 0: off */
} ls_agent_target_opts;

int ls_agent_target_new(ls_dbg_target *out, const ls_agent_target_opts *o, ls_diag *d);

#endif
