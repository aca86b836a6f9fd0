/* debug.c: `layerscope debug`, the terminal front end of a debug run (core/debug/run.h),
 * the same run the DAP adapter drives: breakpoints on module globs, exception filters,
 * stepping, the expression language. The run executes the engine's forward pass on its own
 * thread; this thread waits for each stop (ls_dbg_run_wait) and reads commands there:
 *   scripted: every --eval EXPR is evaluated at each stop, then the run continues; for CI
 *             and documentation;
 *   commands: otherwise commands are read from stdin (a terminal or a pipe): before the
 *             pass, break GLOB, run, quit; at a stop, the command loop of cli/repl.c
 *             (shared with `layerscope watch --interactive`): break GLOB, continue, next,
 *             step, out, stack, inspect, stats EXPR, eval EXPR, sql SELECT ..., quit;
 *             anything else is evaluated as an expression.
 * --record RUN.db writes the session into a run record (docs/run-record.md): the module
 * calls with their times, each stop with its tensors' statistics, NaN/Inf stops as findings.
 * Exit status: 0 done, 1 an exception filter stopped or an expression failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/repl.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/debug/run.h"

#define MAX_ITEMS 64

typedef struct dbg_cli {
  ls_cli_repl repl;          /* the command loop at a stop (cli/repl.c) */
  const char *evals[MAX_ITEMS];
  int n_evals;
} dbg_cli;

/* The run's notes go to stderr, as the CLI's own messages do (the target's thread). */
static void on_output(void *ud, ls_dbg_output kind, const char *text) {
  (void)ud;
  if (kind == LS_DBG_OUT_NOTE) fprintf(stderr, "layerscope debug: %s\n", text);
  else fputs(text, kind == LS_DBG_OUT_STDERR ? stderr : stdout);
}

static int usage(void) {
  ls_cli_usage(stderr, "debug");
  return 2;
}

/* "1,2,3" -> ids[n] (new); -1 when the list is bad. */
static int64_t parse_tokens(const char *arg, int64_t **out) {
  int64_t n = 1;
  for (const char *p = arg; *p; p++) n += *p == ',';
  int64_t *t = ls_calloc((size_t)n, sizeof *t);
  if (!t) return -1;
  const char *p = arg;
  for (int64_t i = 0; i < n; i++) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 0) {
      ls_free(t);
      return -1;
    }
    t[i] = v;
    p = *end == ',' ? end + 1 : end;
  }
  *out = t;
  return n;
}

int ls_cli_debug(int argc, char **argv) {
  dbg_cli c;
  memset(&c, 0, sizeof c);
  const char *config = NULL, *weights = NULL, *tokens_arg = NULL, *record = NULL, *prompt = NULL, *tokenizer = NULL;
  const char *globs[MAX_ITEMS];
  int n_globs = 0;
  unsigned exc = 0;
  int64_t n_random = 8, seed = 0, threads = 0, layers = 0, generate = 0;
  int random_weights = 0;
  const char *compute_arg = getenv("LAYERSCOPE_COMPUTE");
  if (compute_arg && !*compute_arg) compute_arg = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { ls_cli_usage(stdout, "debug"); return 0; }
    if (a[0] != '-') { if (config) return usage(); config = a; continue; }
    if (strcmp(a, "--random-weights") == 0) { random_weights = 1; continue; }
    if (!v) { fprintf(stderr, "layerscope debug: %s needs a value\n", a); return usage(); }
    i++;
    if (strcmp(a, "--weights") == 0) weights = v;
    else if (strcmp(a, "--tokens") == 0) tokens_arg = v;
    else if (strcmp(a, "--prompt") == 0) prompt = v;
    else if (strcmp(a, "--tokenizer") == 0) tokenizer = v;
    else if (strcmp(a, "--random-tokens") == 0) {
      if (ls_cli_parse_i64(v, 1, 1 << 20, &n_random)) { fprintf(stderr, "layerscope debug: --random-tokens: '%s' is not in 1..1048576\n", v); return 2; }
    } else if (strcmp(a, "--seed") == 0) {
      if (ls_cli_parse_i64(v, 0, INT64_MAX, &seed)) { fprintf(stderr, "layerscope debug: --seed: '%s' is not a non-negative integer\n", v); return 2; }
    } else if (strcmp(a, "--generate") == 0) {
      if (ls_cli_parse_i64(v, 1, 1 << 20, &generate)) { fprintf(stderr, "layerscope debug: --generate: '%s' is not in 1..1048576\n", v); return 2; }
    } else if (strcmp(a, "--layers") == 0) {
      if (ls_cli_parse_i64(v, 1, 1 << 20, &layers)) { fprintf(stderr, "layerscope debug: --layers: '%s' is not in 1..1048576\n", v); return 2; }
    } else if (strcmp(a, "--threads") == 0) {
      if (ls_cli_parse_i64(v, 1, 64, &threads)) { fprintf(stderr, "layerscope debug: --threads: '%s' is not in 1..64\n", v); return 2; }
    } else if (strcmp(a, "--compute") == 0) compute_arg = v;
    else if (strcmp(a, "--break") == 0 && n_globs < MAX_ITEMS) globs[n_globs++] = v;
    else if (strcmp(a, "--record") == 0) record = v;
    else if (strcmp(a, "--eval") == 0 && c.n_evals < MAX_ITEMS) c.evals[c.n_evals++] = v;
    else if (strcmp(a, "--break-on") == 0) {
      char tmp[128];
      snprintf(tmp, sizeof tmp, "%s", v);
      for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ",")) {
        if (strcmp(t, "nan") == 0) exc |= LS_DBG_EXC_NAN;
        else if (strcmp(t, "inf") == 0) exc |= LS_DBG_EXC_INF;
        else if (strcmp(t, "fp16") == 0) exc |= LS_DBG_EXC_FP16;
        else { fprintf(stderr, "layerscope debug: --break-on: unknown filter '%s' (nan, inf, fp16)\n", t); return 2; }
      }
    } else {
      fprintf(stderr, "layerscope debug: unknown option '%s'\n", a);
      return usage();
    }
  }
  if (!config) return usage();
  int compute = compute_arg ? ls_engine_compute_parse(compute_arg) : LS_ENGINE_COMPUTE_F32;
  if (compute < 0) {
    fprintf(stderr, "layerscope debug: --compute / LAYERSCOPE_COMPUTE: '%s' is not fp32 or bf16\n", compute_arg);
    return 2;
  }
  int64_t *tokens = NULL, n_tokens = 0;
  if (tokens_arg && (n_tokens = parse_tokens(tokens_arg, &tokens)) < 0) {
    fprintf(stderr, "layerscope debug: --tokens: bad token list '%s'\n", tokens_arg);
    return 2;
  }
  ls_diag d;
  ls_diag_init(&d);
  int status = 1;
  ls_dbg_engine_opts eo = {.config = config, .weights = weights, .random_weights = random_weights,
                           .max_layers = layers, .generate = generate, .tokens = tokens, .n_tokens = (size_t)n_tokens,
                           .prompt = prompt, .tokenizer = tokenizer,
                           .n_random = n_random, .seed = (uint64_t)seed, .threads = (int)threads, .compute = compute};
  ls_dbg_run_opts ro = {.cbs = {.on_output = on_output, .ud = &c}, .record = record};
  ls_dbg_run *run;
  if (ls_dbg_run_open_engine(&run, &eo, &ro, &d) != LS_OK) goto fail;
  ls_cli_repl_init(&c.repl, run);
  if (n_globs && ls_cli_repl_add_breaks(&c.repl, globs, n_globs, 0) == LS_ENOMEM) goto fail;
  ls_dbg_set_exceptions(c.repl.g, exc);
  if (ls_dbg_run_check(run, &d) != LS_OK) goto fail;
  if (!c.n_evals) { /* command mode: breakpoints first, then `run` */
    char buf[4096];
    int go = 0;
    while (!go) {
      char *l = ls_cli_repl_read(&c.repl, buf, sizeof buf);
      if (!l || strcmp(l, "quit") == 0 || strcmp(l, "q") == 0) { status = 0; goto out; }
      if (strcmp(l, "run") == 0 || strcmp(l, "r") == 0 || strcmp(l, "continue") == 0 || strcmp(l, "c") == 0) go = 1;
      else if (strncmp(l, "break ", 6) == 0) {
        const char *g = l + 6;
        int rc = ls_cli_repl_add_breaks(&c.repl, &g, 1, 1);
        if (rc == LS_ENOMEM) goto fail;
        if (rc != LS_OK) printf("error: %s\n", rc == LS_ELIMIT ? "too many breakpoints" : "a breakpoint matches no module");
      } else if (*l) printf("error: the pass has not started: use break GLOB, run or quit\n");
    }
  }
  if (ls_dbg_run_start(run, &d) != LS_OK) goto fail;
  int exc_seen = 0;
  while (ls_dbg_run_wait(run) == LS_DBG_RUN_STOPPED) {
    const ls_dbg_run_stop *st = ls_dbg_run_stop_get(run);
    exc_seen |= st->why.reason == LS_DBG_STOP_EXCEPTION;
    ls_cli_repl_print_stop(&c.repl, st);
    int action = LS_DBG_CONTINUE;
    if (c.n_evals) {
      for (int i = 0; i < c.n_evals; i++) {
        printf("  %s = ", c.evals[i]);
        ls_cli_repl_eval(&c.repl, c.evals[i]);
      }
    } else {
      action = ls_cli_repl_prompt(&c.repl, st);
    }
    if (action == LS_CLI_REPL_QUIT) ls_dbg_run_terminate(run);
    else ls_dbg_run_resume(run, (ls_dbg_action)action);
  }
  const ls_dbg_run_end *end = ls_dbg_run_end_get(run);
  if (end && end->rc == LS_OK) {
    if (end->summary[0]) printf("done: %s\n", end->summary);
    else printf("done\n");
  } else if (end && end->rc != LS_ECANCELED) {
    ls_diag_set(&d, end->rc, "%s", end->message);
    goto fail;
  }
  status = exc_seen || c.repl.failed ? 1 : 0;
  goto out;
fail:
  fprintf(stderr, "layerscope debug: %s\n", d.msg);
  status = 1;
out:
  ls_cli_repl_deinit(&c.repl);
  ls_dbg_run_close(c.repl.run);
  ls_free(tokens);
  return status;
}
