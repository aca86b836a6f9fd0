/* debug.c: `layerscope debug`, the terminal front end of the debugger. The same session as
 * the DAP adapter (core/debug): breakpoints on module globs, exception filters, stepping,
 * the expression language. The forward pass runs on its own thread (ls_fwd_start) and this
 * thread reads commands while it is paused:
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
#include "core/debug/debug.h"
#include "core/engine/forward.h"
#include "core/model/model.h"

#define MAX_ITEMS 64

typedef struct dbg_cli {
  ls_model *m;
  ls_dbg *g;
  ls_fwd *f;
  ls_dbg_stop stop;          /* written by the hook on the engine thread before it pauses */
  const char *evals[MAX_ITEMS];
  int n_evals;
  int failed;
} dbg_cli;

static int hook(void *ud, const ls_fwd_event *ev) {
  dbg_cli *c = ud;
  ls_dbg_stop st;
  if (!ls_dbg_check(c->g, ev, &st)) return LS_FWD_CONTINUE;
  c->stop = st;
  return LS_FWD_PAUSE;
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

static void do_eval(dbg_cli *c, const ls_fwd_event *ev, const char *src) {
  ls_dbg_value v;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_dbg_eval(c->g, ev, src, &v, &d) != LS_OK) {
    printf("error: %s\n", d.msg);
    c->failed = 1;
    return;
  }
  print_value(&v, c->g);
  ls_dbg_value_free(&v);
}

static void print_stop(dbg_cli *c, const ls_fwd_event *ev, ls_dbg_reason r) {
  printf("stopped (%s) at %s [%s, %s]", ls_dbg_reason_name(r), ev->name[0] ? ev->name : "(root)", ev->mod->type,
         ev->phase == LS_FWD_ENTER ? "enter" : "exit");
  int line = ls_dbg_module_line(c->g, ev->module);
  if (line) printf(" config line %d", line);
  printf("\n");
  if (c->stop.description[0] && r != LS_DBG_STOP_STEP) printf("  %s\n", c->stop.description);
}

static void print_stack(dbg_cli *c, const ls_fwd_event *ev) {
  int fr[64];
  int n = ls_dbg_module_frames(c->g, ev->module, fr, 64);
  for (int i = 0; i < n; i++) {
    const ls_model_module *mod = &c->m->modules[fr[i]];
    printf("#%d %s (%s) config line %d\n", i, mod->name[0] ? mod->name : "(root)", mod->type,
           ls_dbg_module_line(c->g, fr[i]));
  }
}

static void print_group(dbg_cli *c, const char *title, const ls_fwd_tensor *ts, int n) {
  for (int i = 0; i < n; i++) {
    ls_dbg_tensor t;
    ls_dbg_tensor_from_fwd(&ts[i], &t);
    char line[320];
    const ls_stats *s = ls_dbg_stats_cached(c->g, &t);
    if (s) ls_dbg_tensor_format(&t, s, line, sizeof line);
    else snprintf(line, sizeof line, "%s (statistics unavailable)", ls_dtype_name(t.dtype));
    printf("  %-13s %-16s %s\n", i == 0 ? title : "", ts[i].name, line);
  }
}

static void inspect(dbg_cli *c, const ls_fwd_event *ev) {
  print_group(c, "inputs", ev->inputs, ev->n_inputs);
  print_group(c, "outputs", ev->outputs, ev->n_outputs);
  print_group(c, "parameters", ev->params, ev->n_params);
  print_group(c, "intermediates", ev->inter, ev->n_inter);
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

/* Commands at a stop; returns the resume action. */
static int prompt(dbg_cli *c, const ls_fwd_event *ev, const char **globs, int *n_globs) {
  char buf[4096];
  int tty = isatty(0);
  for (;;) {
    char *l = read_cmd(buf, sizeof buf, tty);
    if (!l || strcmp(l, "quit") == 0 || strcmp(l, "q") == 0) return LS_FWD_ABORT;
    while (*l == ' ') l++;
    if (!*l) continue;
    if (strcmp(l, "continue") == 0 || strcmp(l, "c") == 0 || strcmp(l, "run") == 0) return LS_FWD_CONTINUE;
    if (strcmp(l, "next") == 0 || strcmp(l, "n") == 0) return LS_FWD_STEP_OVER;
    if (strcmp(l, "step") == 0 || strcmp(l, "s") == 0) return LS_FWD_STEP_IN;
    if (strcmp(l, "out") == 0 || strcmp(l, "o") == 0) return LS_FWD_STEP_OUT;
    if (strcmp(l, "stack") == 0 || strcmp(l, "bt") == 0) { print_stack(c, ev); continue; }
    if (strcmp(l, "inspect") == 0 || strcmp(l, "i") == 0) { inspect(c, ev); continue; }
    if (strncmp(l, "break ", 6) == 0) {
      if (*n_globs == MAX_ITEMS) { printf("error: too many breakpoints\n"); continue; }
      char *g = ls_strdup(l + 6);
      if (!g) return LS_FWD_ABORT;
      globs[(*n_globs)++] = g;
      if (add_breaks(c, globs, *n_globs) != LS_OK) printf("error: the breakpoint matches no module\n");
      continue;
    }
    if (strncmp(l, "stats ", 6) == 0) {
      char expr[4200];
      snprintf(expr, sizeof expr, "stats(%s)", l + 6);
      do_eval(c, ev, expr);
      continue;
    }
    do_eval(c, ev, strncmp(l, "eval ", 5) == 0 ? l + 5 : l);
  }
}

static int usage(void) {
  ls_cli_usage(stderr, "debug");
  return 2;
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
  owned_from = n_globs;
  ls_diag d;
  ls_diag_init(&d);
  ls_engine *e = NULL;
  int64_t *tokens = NULL, n = 0;
  int status = 1;
  if (ls_model_load_file(config, NULL, &c.m, &d) != LS_OK || ls_dbg_new(&c.g, c.m, &d) != LS_OK) goto fail;
  if (n_globs && add_breaks(&c, globs, n_globs) == LS_ENOMEM) goto fail;
  ls_dbg_set_exceptions(c.g, exc);
  ls_engine_opts eo = {.weights = weights, .seed = (uint64_t)seed, .threads = (int)threads, .compute = compute};
  if (ls_engine_open(&e, c.m, &eo, &d) != LS_OK) goto fail;
  if (compute != ls_engine_compute_get(e))
    fprintf(stderr, "layerscope debug: this CPU has no AVX512_BF16; computing in fp32\n");
  if (tokens_arg) {
    for (const char *p = tokens_arg; *p; p++) n += *p == ',';
    n++;
    if (!(tokens = ls_calloc((size_t)n, sizeof *tokens))) goto fail;
    const char *p = tokens_arg;
    for (int64_t i = 0; i < n; i++) {
      char *end;
      long long t = strtoll(p, &end, 10);
      if (end == p || t < 0) { fprintf(stderr, "layerscope debug: --tokens: bad token list '%s'\n", tokens_arg); status = 2; goto out; }
      tokens[i] = t;
      p = *end == ',' ? end + 1 : end;
    }
  } else {
    n = n_random;
    if (!(tokens = ls_calloc((size_t)n, sizeof *tokens))) goto fail;
    uint64_t s = (uint64_t)seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    for (int64_t i = 0; i < n; i++) { /* splitmix64, as `layerscope run` */
      uint64_t z = (s += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      tokens[i] = (int64_t)((z ^ (z >> 31)) % (uint64_t)c.m->sem.vocab);
    }
  }
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
  ls_fwd_opts fo = {.hook = hook, .ud = &c};
  if (ls_fwd_new(&c.f, e, tokens, n, &fo, &d) != LS_OK || ls_fwd_start(c.f) != LS_OK) goto fail;
  int exc_seen = 0;
  for (;;) {
    ls_fwd_state st = ls_fwd_wait(c.f, -1);
    if (st != LS_FWD_PAUSED) break;
    const ls_fwd_event *ev = ls_fwd_paused_event(c.f);
    ls_dbg_reason r = c.stop.reason ? c.stop.reason : LS_DBG_STOP_STEP;
    exc_seen |= r == LS_DBG_STOP_EXCEPTION;
    print_stop(&c, ev, r);
    int action = LS_FWD_CONTINUE;
    if (c.n_evals) {
      for (int i = 0; i < c.n_evals; i++) {
        printf("  %s = ", c.evals[i]);
        do_eval(&c, ev, c.evals[i]);
      }
    } else {
      action = prompt(&c, ev, globs, &n_globs);
    }
    memset(&c.stop, 0, sizeof c.stop);
    ls_dbg_resumed(c.g);
    ls_fwd_resume(c.f, action);
  }
  int rc = ls_fwd_join(c.f, &d);
  if (rc == LS_OK) {
    int64_t rows, cols;
    char line[512];
    ls_fwd_logits(c.f, &rows, &cols);
    int k = cols < 5 ? (int)cols : 5;
    if (c.m->head == LS_MODEL_HEAD_CAUSAL_LM && k > 0 && ls_fwd_next_tokens_line(c.f, k, line, sizeof line) == LS_OK) {
      printf("done: %s\n", line);
    } else {
      printf("done\n");
    }
  } else if (rc != LS_ECANCELED) {
    goto fail;
  }
  status = exc_seen || c.failed ? 1 : 0;
  goto out;
fail:
  fprintf(stderr, "layerscope debug: %s\n", d.msg);
  status = 1;
out:
  for (int i = owned_from; i < n_globs; i++) ls_free((void *)globs[i]);
  ls_fwd_free(c.f);
  ls_free(tokens);
  if (e) ls_engine_close(e);
  ls_dbg_free(c.g);
  ls_model_free(c.m);
  return status;
}
