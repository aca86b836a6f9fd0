/* fake_target.h: a scripted debug target (core/debug/target.h) for unit tests of the run
 * owner (test_debug_run.c) and of the DAP adapter's threads (test_dap.c). It has no model:
 * it reports its module table when it first runs, like the PyTorch agent will, then walks a
 * five-module tree (root, model, model.layers.0, model.layers.1, head) in pre-order, ten
 * events, each module with an f32 [1, 4] input and, at exit, output. Options make it print
 * program output, fail, end with an exit code, decide a stop by itself, keep its outputs out
 * of shared memory (fetched on demand) and plant a NaN. It reports on a thread id of its
 * choosing, so a run that assumed thread 1 would be caught.
 *
 * Ownership: fake_target_new returns a target for ls_dbg_run_open (which frees it); the
 * counters stay readable through the pointer fake_target_counters gives until then. */
#ifndef LS_TEST_FAKE_TARGET_H
#define LS_TEST_FAKE_TARGET_H

#include "core/debug/target.h"

#define FAKE_MODULES 5
#define FAKE_EVENTS 10

typedef struct fake_target_opts {
  int thread;        /* the thread id it reports */
  int n_lines;       /* "line N\n" lines of program output before the first event */
  int fail_at;       /* event serial at which run() fails with LS_EIO, -1: never */
  int exit_code;     /* its exit status when it ends by itself */
  int decide_at;     /* event serial at which it stops by its own decision (a function
                        breakpoint, hit id 99, description "decided by the target"), -1 */
  int fetch;         /* outputs have no memory in this process: read through fetch */
  int nan_module;    /* module whose output[0, 2] is NaN, -1: none */
} fake_target_opts;

typedef struct fake_target_counters {
  int runs, fetches, resumes, pauses, terminates;
} fake_target_counters;

/* Defaults: thread 7, no output, never fails, exit code 0, no own decision, outputs in
 * memory, no NaN. */
fake_target_opts fake_target_defaults(void);
int fake_target_new(ls_dbg_target *out, const fake_target_opts *o, ls_diag *d);
const fake_target_counters *fake_target_counters_of(ls_dbg_target t);

#endif
