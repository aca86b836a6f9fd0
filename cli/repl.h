/* repl.h: the terminal's command loop at a stop of a debug run (core/debug/run.h), shared by
 * `layerscope debug` (the engine's forward pass, cli/debug.c) and `layerscope watch
 * --interactive` (the user's PyTorch program, cli/watch.c). At a stop it reads commands from
 * stdin (a terminal or a pipe): break GLOB, continue, next, step, out, stack, inspect,
 * stats EXPR, eval EXPR, sql SELECT ... (against the run's record, --record), quit;
 * anything else is evaluated as an expression. It also prints
 * what both front ends print: the stop line, the frames, a tensor's one-line statistics.
 *
 * Threads: the control thread of the run, while the run is stopped (the scope of the stop is
 * read). Ownership: the repl borrows the run; breakpoint globs given on the command line are
 * borrowed, those typed at the prompt are copied and freed by ls_cli_repl_deinit. */
#ifndef LS_CLI_REPL_H
#define LS_CLI_REPL_H

#include <stddef.h>

#include "core/debug/run.h"

#define LS_CLI_REPL_MAX_BREAKS 64
#define LS_CLI_REPL_QUIT (-1) /* ls_cli_repl_prompt's answer besides the ls_dbg_actions */

typedef struct ls_cli_repl {
  ls_dbg_run *run;           /* borrowed */
  ls_dbg *g;                 /* the run's session (borrowed) */
  const char *globs[LS_CLI_REPL_MAX_BREAKS]; /* function breakpoints, in the order given */
  int ids[LS_CLI_REPL_MAX_BREAKS];           /* their ids in the session */
  int owned[LS_CLI_REPL_MAX_BREAKS];         /* 1: typed at the prompt, copied */
  int n_globs;
  int intr_fd;               /* >= 0: readable means interrupted (a signalfd): reading a
                                command gives up, as at end of input */
  int failed;                /* an expression failed */
} ls_cli_repl;

void ls_cli_repl_init(ls_cli_repl *c, ls_dbg_run *run);
void ls_cli_repl_deinit(ls_cli_repl *c);

/* Appends globs[n] (copied when copy) to the function breakpoints and sets them all on the
 * session, printing each one's verification to stderr. LS_EINVAL when one matches no module
 * (yet), LS_ELIMIT past LS_CLI_REPL_MAX_BREAKS, LS_ENOMEM. */
int ls_cli_repl_add_breaks(ls_cli_repl *c, const char *const *globs, int n, int copy);
/* The glob of breakpoint id, NULL when it is not one of the repl's. */
const char *ls_cli_repl_break_glob(const ls_cli_repl *c, int id);

/* Reads one command line into buf (a prompt first on a terminal); NULL at end of input or
 * when intr_fd became readable. */
char *ls_cli_repl_read(ls_cli_repl *c, char *buf, size_t cap);
/* Commands at the run's stop st until one resumes: returns an ls_dbg_action or
 * LS_CLI_REPL_QUIT (quit, end of input, interrupted). */
int ls_cli_repl_prompt(ls_cli_repl *c, const ls_dbg_run_stop *st);

/* "stopped (reason) at MODULE [Type, exit] config line N" and the description. */
void ls_cli_repl_print_stop(ls_cli_repl *c, const ls_dbg_run_stop *st);
/* One read-only SQL statement against the run's record, printed as a table of at most 200
 * rows (an error, or a run without a record, sets failed). */
void ls_cli_repl_sql(ls_cli_repl *c, const char *sql);
/* Evaluates src at the stop and prints the value (an error sets failed). */
void ls_cli_repl_eval(ls_cli_repl *c, const char *src);
/* The one-line statistics of tensor i of a group of the stopped event into line[cap]
 * ("f32[16] μ=… σ=… [min, max] nan=0 inf=16 …", or why it cannot be read); LS_OK when the
 * tensor was read. */
int ls_cli_repl_tensor_line(ls_cli_repl *c, ls_dbg_group group, int i, char *line, size_t cap);

#endif
