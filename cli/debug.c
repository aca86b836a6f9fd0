/* debug.c: `layerscope debug`, the terminal front end of a debug run (core/debug/run.h),
 * the same run the DAP adapter drives: breakpoints on module globs, exception filters,
 * stepping, the expression language. The run executes the engine's forward pass on its own
 * thread; this thread waits for each stop (ls_dbg_run_wait) and reads commands there:
 *   scripted: every --eval EXPR is evaluated at each stop, then the run continues; for CI
 *             and documentation;
 *   commands: otherwise commands are read from stdin (a terminal or a pipe): before the
 *             pass, break GLOB, run, quit; at a stop, break GLOB, continue, next, step,
 *             out, stack, inspect, stats EXPR, eval EXPR, quit; anything else is
 *             evaluated as an expression.
 * Exit status: 0 done, 1 an exception filter stopped or an expression failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/debug/run.h"

#define MAX_ITEMS 64
#define QUIT (-1) /* a prompt's answer besides the ls_dbg_actions */

typedef struct dbg_cli {
  ls_dbg_run *run;
  ls_dbg *g;                 /* the run's session (borrowed) */
  const char *evals[MAX_ITEMS];
  int n_evals;
  int failed;
} dbg_cli;

/* The run's notes go to stderr, as the CLI's own messages do (the target's thread). */
static void on_output(void *ud, ls_dbg_output kind, const char *text) {
  (void)ud;
  if (kind == LS_DBG_OUT_NOTE) fprintf(stderr, "layerscope debug: %s\n", text);
  else fputs(text, kind == LS_DBG_OUT_STDERR ? stderr : stdout);
}

static void print_value(const ls_dbg_value *v, ls_dbg *g) {
  if (v->kind == LS_DBG_V_NUM) printf("%.9g\n", v->num);
  else if (v->kind == LS_DBG_V_TEXT) {
    /* multi-line reports (topk, hist) keep their continuation lines under the first */
    for (const char *p = v->text; *p; p++) {
      putchar(*p);
      if (*p == '\n' && p[1]) fputs("    ", stdout);
    }
    putchar('\n');
  }
  else {
    char line[320];
    const ls_stats *s = v->t.owned ? NULL : ls_dbg_stats_cached(g, &v->t);
    ls_stats own;
    if (!s && ls_dbg_tensor_stats(NULL, &v->t, &own) == LS_OK) s = &own;
    if (s) ls_dbg_tensor_format(&v->t, s, line, sizeof line);
    else snprintf(line, sizeof line, "(statistics unavailable)");
    printf("%s\n", line);
  }
}

static void do_eval(dbg_cli *c, const char *src) {
  ls_dbg_value v;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_dbg_run_eval(c->run, src, &v, &d) != LS_OK) {
    printf("error: %s\n", d.msg);
    c->failed = 1;
    return;
  }
  print_value(&v, c->g);
  ls_dbg_value_free(&v);
}

static void print_stop(dbg_cli *c, const ls_dbg_run_stop *st) {
  const ls_dbg_event *ev = st->ev;
  ls_dbg_reason r = st->why.reason;
  printf("stopped (%s) at %s [%s, %s]", ls_dbg_reason_name(r), ev->name[0] ? ev->name : "(root)", ev->type,
         ev->phase == LS_DBG_ENTER ? "enter" : "exit");
  int line = ls_dbg_module_line(c->g, ev->module);
  if (line) printf(" config line %d", line);
  printf("\n");
  if (st->why.description[0] && r != LS_DBG_STOP_STEP) printf("  %s\n", st->why.description);
}

static void print_stack(dbg_cli *c, const ls_dbg_run_stop *st) {
  ls_dbg_frame fr[96];
  int n = ls_dbg_run_frames(c->run, st->thread, fr, 96);
  for (int i = 0; i < n; i++) {
    if (fr[i].kind == LS_DBG_FRAME_MODULE)
      printf("#%d %s (%s) config line %d\n", i, fr[i].name[0] ? fr[i].name : "(root)", fr[i].type, fr[i].line);
    else if (fr[i].path)
      printf("#%d %s at %s:%d\n", i, fr[i].name, fr[i].path, fr[i].line);
    else
      printf("#%d %s\n", i, fr[i].name);
  }
}

static void inspect(dbg_cli *c, const ls_dbg_run_stop *st) {
  static const char *const TITLE[LS_DBG_G_COUNT] = {"inputs", "outputs", "parameters", "intermediates", "gradients"};
  const ls_dbg_event *ev = st->ev;
  for (int g = 0; g < LS_DBG_G_COUNT; g++)
    for (int i = 0; i < ev->n_vars[g]; i++) {
      ls_dbg_tensor t;
      ls_diag d;
      ls_diag_init(&d);
      char line[320];
      if (ls_dbg_run_tensor(c->run, (ls_dbg_group)g, i, &t, &d) != LS_OK) {
        snprintf(line, sizeof line, "(cannot be read: %.*s)", 250, d.msg);
      } else {
        const ls_stats *s = ls_dbg_stats_cached(c->g, &t);
        if (s) ls_dbg_tensor_format(&t, s, line, sizeof line);
        else snprintf(line, sizeof line, "%s (statistics unavailable)", ls_dtype_name(t.dtype));
      }
      printf("  %-13s %-16s %s\n", i == 0 ? TITLE[g] : "", ev->vars[g][i].name, line);
    }
}

static int add_breaks(dbg_cli *c, const char **globs, int n) {
  ls_dbg_bp_spec sp[MAX_ITEMS] = {{0}};
  ls_dbg_bp_result r[MAX_ITEMS];
  for (int i = 0; i < n; i++) sp[i] = (ls_dbg_bp_spec){globs[i], 0, NULL, NULL};
  if (ls_dbg_set_function_bps(c->g, sp, (size_t)n, r) != LS_OK) return LS_ENOMEM;
  int bad = 0;
  for (int i = 0; i < n; i++) {
    fprintf(stderr, "breakpoint %d: %s: %s\n", r[i].id, globs[i], r[i].message);
    bad |= !r[i].verified;
  }
  return bad ? LS_EINVAL : LS_OK;
}

/* Reads one command line; NULL at end of input. */
static char *read_cmd(char *buf, size_t cap, int tty) {
  if (tty) {
    fputs("(layerscope) ", stdout);
    fflush(stdout);
  }
  if (!fgets(buf, (int)cap, stdin)) return NULL;
  buf[strcspn(buf, "\r\n")] = 0;
  return buf;
}

/* Commands at a stop; returns an ls_dbg_action, or QUIT. */
static int prompt(dbg_cli *c, const ls_dbg_run_stop *st, const char **globs, int *n_globs) {
  char buf[4096];
  int tty = isatty(0);
  for (;;) {
    char *l = read_cmd(buf, sizeof buf, tty);
    if (!l || strcmp(l, "quit") == 0 || strcmp(l, "q") == 0) return QUIT;
    while (*l == ' ') l++;
    if (!*l) continue;
    if (strcmp(l, "continue") == 0 || strcmp(l, "c") == 0 || strcmp(l, "run") == 0) return LS_DBG_CONTINUE;
    if (strcmp(l, "next") == 0 || strcmp(l, "n") == 0) return LS_DBG_STEP_OVER;
    if (strcmp(l, "step") == 0 || strcmp(l, "s") == 0) return LS_DBG_STEP_IN;
    if (strcmp(l, "out") == 0 || strcmp(l, "o") == 0) return LS_DBG_STEP_OUT;
    if (strcmp(l, "stack") == 0 || strcmp(l, "bt") == 0) { print_stack(c, st); continue; }
    if (strcmp(l, "inspect") == 0 || strcmp(l, "i") == 0) { inspect(c, st); continue; }
    if (strncmp(l, "break ", 6) == 0) {
      if (*n_globs == MAX_ITEMS) { printf("error: too many breakpoints\n"); continue; }
      char *g = ls_strdup(l + 6);
      if (!g) return QUIT;
      globs[(*n_globs)++] = g;
      if (add_breaks(c, globs, *n_globs) != LS_OK) printf("error: the breakpoint matches no module\n");
      continue;
    }
    if (strncmp(l, "stats ", 6) == 0) {
      char expr[4200];
      snprintf(expr, sizeof expr, "stats(%s)", l + 6);
      do_eval(c, expr);
      continue;
    }
    do_eval(c, strncmp(l, "eval ", 5) == 0 ? l + 5 : l);
  }
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
  const char *config = NULL, *weights = NULL, *tokens_arg = NULL;
  const char *globs[MAX_ITEMS];
  int n_globs = 0, owned_from = 0;
  unsigned exc = 0;
  int64_t n_random = 8, seed = 0, threads = 0;
  const char *compute_arg = getenv("LAYERSCOPE_COMPUTE");
  if (compute_arg && !*compute_arg) compute_arg = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { ls_cli_usage(stdout, "debug"); return 0; }
    if (a[0] != '-') { if (config) return usage(); config = a; continue; }
    if (!v) { fprintf(stderr, "layerscope debug: %s needs a value\n", a); return usage(); }
    i++;
    if (strcmp(a, "--weights") == 0) weights = v;
    else if (strcmp(a, "--tokens") == 0) tokens_arg = v;
    else if (strcmp(a, "--random-tokens") == 0) {
      if (ls_cli_parse_i64(v, 1, 1 << 20, &n_random)) { fprintf(stderr, "layerscope debug: --random-tokens: '%s' is not in 1..1048576\n", v); return 2; }
    } else if (strcmp(a, "--seed") == 0) {
      if (ls_cli_parse_i64(v, 0, INT64_MAX, &seed)) { fprintf(stderr, "layerscope debug: --seed: '%s' is not a non-negative integer\n", v); return 2; }
    } else if (strcmp(a, "--threads") == 0) {
      if (ls_cli_parse_i64(v, 1, 64, &threads)) { fprintf(stderr, "layerscope debug: --threads: '%s' is not in 1..64\n", v); return 2; }
    } else if (strcmp(a, "--compute") == 0) compute_arg = v;
    else if (strcmp(a, "--break") == 0 && n_globs < MAX_ITEMS) globs[n_globs++] = v;
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
  owned_from = n_globs;
  ls_diag d;
  ls_diag_init(&d);
  int status = 1;
  ls_dbg_engine_opts eo = {.config = config, .weights = weights, .tokens = tokens, .n_tokens = (size_t)n_tokens,
                           .n_random = n_random, .seed = (uint64_t)seed, .threads = (int)threads, .compute = compute};
  ls_dbg_run_opts ro = {.cbs = {.on_output = on_output, .ud = &c}};
  if (ls_dbg_run_open_engine(&c.run, &eo, &ro, &d) != LS_OK) goto fail;
  c.g = ls_dbg_run_dbg(c.run);
  if (n_globs && add_breaks(&c, globs, n_globs) == LS_ENOMEM) goto fail;
  ls_dbg_set_exceptions(c.g, exc);
  if (ls_dbg_run_check(c.run, &d) != LS_OK) goto fail;
  if (!c.n_evals) { /* command mode: breakpoints first, then `run` */
    char buf[4096];
    int tty = isatty(0), go = 0;
    while (!go) {
      char *l = read_cmd(buf, sizeof buf, tty);
      if (!l || strcmp(l, "quit") == 0 || strcmp(l, "q") == 0) { status = 0; goto out; }
      if (strcmp(l, "run") == 0 || strcmp(l, "r") == 0 || strcmp(l, "continue") == 0 || strcmp(l, "c") == 0) go = 1;
      else if (strncmp(l, "break ", 6) == 0 && n_globs < MAX_ITEMS) {
        char *g = ls_strdup(l + 6);
        if (!g) goto fail;
        globs[n_globs++] = g;
        if (add_breaks(&c, globs, n_globs) == LS_EINVAL) printf("error: a breakpoint matches no module\n");
      } else if (*l) printf("error: the pass has not started: use break GLOB, run or quit\n");
    }
  }
  if (ls_dbg_run_start(c.run, &d) != LS_OK) goto fail;
  int exc_seen = 0;
  while (ls_dbg_run_wait(c.run) == LS_DBG_RUN_STOPPED) {
    const ls_dbg_run_stop *st = ls_dbg_run_stop_get(c.run);
    exc_seen |= st->why.reason == LS_DBG_STOP_EXCEPTION;
    print_stop(&c, st);
    int action = LS_DBG_CONTINUE;
    if (c.n_evals) {
      for (int i = 0; i < c.n_evals; i++) {
        printf("  %s = ", c.evals[i]);
        do_eval(&c, c.evals[i]);
      }
    } else {
      action = prompt(&c, st, globs, &n_globs);
    }
    if (action == QUIT) ls_dbg_run_terminate(c.run);
    else ls_dbg_run_resume(c.run, (ls_dbg_action)action);
  }
  const ls_dbg_run_end *end = ls_dbg_run_end_get(c.run);
  if (end && end->rc == LS_OK) {
    if (end->summary[0]) printf("done: %s\n", end->summary);
    else printf("done\n");
  } else if (end && end->rc != LS_ECANCELED) {
    ls_diag_set(&d, end->rc, "%s", end->message);
    goto fail;
  }
  status = exc_seen || c.failed ? 1 : 0;
  goto out;
fail:
  fprintf(stderr, "layerscope debug: %s\n", d.msg);
  status = 1;
out:
  for (int i = owned_from; i < n_globs; i++) ls_free((void *)globs[i]);
  ls_dbg_run_close(c.run);
  ls_free(tokens);
  return status;
}
