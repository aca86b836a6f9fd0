/* repl.c: the command loop at a stop, shared by `layerscope debug` and `layerscope watch
 * --interactive` (see repl.h). Everything it shows comes from the run owner's scope of the
 * stop (ls_dbg_run_eval, ls_dbg_run_tensor, ls_dbg_run_frames); nothing here knows which
 * target runs. Values and reports go to stdout, breakpoint verification to stderr. */
#include "cli/repl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/record/record.h"

void ls_cli_repl_init(ls_cli_repl *c, ls_dbg_run *run) {
  memset(c, 0, sizeof *c);
  c->run = run;
  c->g = ls_dbg_run_dbg(run);
  c->intr_fd = -1;
}

void ls_cli_repl_deinit(ls_cli_repl *c) {
  for (int i = 0; i < c->n_globs; i++)
    if (c->owned[i]) ls_free((void *)c->globs[i]);
  c->n_globs = 0;
}

/* ------------------------------------------------------------------ breakpoints */

int ls_cli_repl_add_breaks(ls_cli_repl *c, const char *const *globs, int n, int copy) {
  if (c->n_globs + n > LS_CLI_REPL_MAX_BREAKS) return LS_ELIMIT;
  for (int i = 0; i < n; i++) {
    const char *g = copy ? ls_strdup(globs[i]) : globs[i];
    if (!g) return LS_ENOMEM;
    c->owned[c->n_globs] = copy;
    c->globs[c->n_globs++] = g;
  }
  ls_dbg_bp_spec sp[LS_CLI_REPL_MAX_BREAKS];
  ls_dbg_bp_result r[LS_CLI_REPL_MAX_BREAKS];
  for (int i = 0; i < c->n_globs; i++) sp[i] = (ls_dbg_bp_spec){c->globs[i], 0, NULL, NULL};
  if (ls_dbg_set_function_bps(c->g, sp, (size_t)c->n_globs, r) != LS_OK) return LS_ENOMEM;
  int bad = 0;
  for (int i = 0; i < c->n_globs; i++) {
    c->ids[i] = r[i].id;
    fprintf(stderr, "breakpoint %d: %s: %s\n", r[i].id, c->globs[i], r[i].message);
    bad |= !r[i].verified;
  }
  return bad ? LS_EINVAL : LS_OK;
}

const char *ls_cli_repl_break_glob(const ls_cli_repl *c, int id) {
  for (int i = 0; i < c->n_globs; i++)
    if (c->ids[i] == id) return c->globs[i];
  return NULL;
}

/* ------------------------------------------------------------------ what a stop shows */

static void print_value(ls_cli_repl *c, const ls_dbg_value *v) {
  if (v->kind == LS_DBG_V_NUM) printf("%.9g\n", v->num);
  else if (v->kind == LS_DBG_V_TEXT) {
    /* multi-line reports (topk, hist) keep their continuation lines under the first */
    for (const char *p = v->text; *p; p++) {
      putchar(*p);
      if (*p == '\n' && p[1]) fputs("    ", stdout);
    }
    putchar('\n');
  } else {
    char line[320];
    const ls_stats *s = v->t.owned ? NULL : ls_dbg_stats_cached(c->g, &v->t);
    ls_stats own;
    if (!s && ls_dbg_tensor_stats(NULL, &v->t, &own) == LS_OK) s = &own;
    if (s) ls_dbg_tensor_format(&v->t, s, line, sizeof line);
    else snprintf(line, sizeof line, "(statistics unavailable)");
    printf("%s\n", line);
  }
}

void ls_cli_repl_eval(ls_cli_repl *c, const char *src) {
  ls_dbg_value v;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_dbg_run_eval(c->run, src, &v, &d) != LS_OK) {
    printf("error: %s\n", d.msg);
    c->failed = 1;
    return;
  }
  print_value(c, &v);
  ls_dbg_value_free(&v);
}

void ls_cli_repl_print_stop(ls_cli_repl *c, const ls_dbg_run_stop *st) {
  const ls_dbg_event *ev = st->ev;
  ls_dbg_reason r = st->why.reason;
  printf("stopped (%s) at %s [%s, %s]", ls_dbg_reason_name(r), ev->name[0] ? ev->name : "(root)", ev->type,
         ev->phase == LS_DBG_ENTER ? "enter" : "exit");
  int line = ls_dbg_module_line(c->g, ev->module);
  if (line) printf(" config line %d", line);
  printf("\n");
  if (st->why.description[0] && r != LS_DBG_STOP_STEP) printf("  %s\n", st->why.description);
}

static void print_stack(ls_cli_repl *c, const ls_dbg_run_stop *st) {
  ls_dbg_frame fr[96];
  int n = ls_dbg_run_frames(c->run, st->thread, fr, 96);
  for (int i = 0; i < n; i++) {
    if (fr[i].kind == LS_DBG_FRAME_MODULE && fr[i].line > 0)
      printf("#%d %s (%s) config line %d\n", i, fr[i].name[0] ? fr[i].name : "(root)", fr[i].type, fr[i].line);
    else if (fr[i].kind == LS_DBG_FRAME_MODULE) /* a program's module: no config */
      printf("#%d %s (%s)\n", i, fr[i].name[0] ? fr[i].name : "(root)", fr[i].type);
    else if (fr[i].path)
      printf("#%d %s at %s:%d%s\n", i, fr[i].name, fr[i].path, fr[i].line,
             fr[i].kind == LS_DBG_FRAME_LIBRARY ? " (library)" : "");
    else
      printf("#%d %s\n", i, fr[i].name);
  }
}

int ls_cli_repl_tensor_line(ls_cli_repl *c, ls_dbg_group group, int i, char *line, size_t cap) {
  ls_dbg_tensor t;
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_dbg_run_tensor(c->run, group, i, &t, &d);
  if (rc != LS_OK) {
    snprintf(line, cap, "(cannot be read: %.*s)", 250, d.msg);
    return rc;
  }
  const ls_stats *s = ls_dbg_stats_cached(c->g, &t);
  if (s) ls_dbg_tensor_format(&t, s, line, cap);
  else snprintf(line, cap, "%s (statistics unavailable)", ls_dtype_name(t.dtype));
  return LS_OK;
}

static void inspect(ls_cli_repl *c, const ls_dbg_run_stop *st) {
  static const char *const TITLE[LS_DBG_G_COUNT] = {"inputs", "outputs", "parameters", "intermediates", "gradients"};
  const ls_dbg_event *ev = st->ev;
  for (int g = 0; g < LS_DBG_G_COUNT; g++)
    for (int i = 0; i < ev->n_vars[g]; i++) {
      char line[320];
      ls_cli_repl_tensor_line(c, (ls_dbg_group)g, i, line, sizeof line);
      printf("  %-13s %-16s %s\n", i == 0 ? TITLE[g] : "", ev->vars[g][i].name, line);
    }
}

/* ------------------------------------------------------------------ reading commands */

char *ls_cli_repl_read(ls_cli_repl *c, char *buf, size_t cap) {
  if (isatty(0)) fputs("(layerscope) ", stdout);
  fflush(stdout);
  if (c->intr_fd >= 0) { /* wait for a line or the interruption, whichever comes first */
    struct pollfd p[2] = {{0, POLLIN, 0}, {c->intr_fd, POLLIN, 0}};
    while (poll(p, 2, -1) < 0)
      if (errno != EINTR) return NULL;
    if (p[1].revents) return NULL;
  }
  if (!fgets(buf, (int)cap, stdin)) return NULL;
  buf[strcspn(buf, "\r\n")] = 0;
  return buf;
}

static int is(const char *l, const char *a, const char *b) { return strcmp(l, a) == 0 || (b && strcmp(l, b) == 0); }

int ls_cli_repl_prompt(ls_cli_repl *c, const ls_dbg_run_stop *st) {
  char buf[4096];
  for (;;) {
    char *l = ls_cli_repl_read(c, buf, sizeof buf);
    if (!l) return LS_CLI_REPL_QUIT;
    while (*l == ' ') l++;
    if (!*l) continue;
    if (is(l, "quit", "q")) return LS_CLI_REPL_QUIT;
    if (is(l, "continue", "c") || is(l, "run", NULL)) return LS_DBG_CONTINUE;
    if (is(l, "next", "n")) return LS_DBG_STEP_OVER;
    if (is(l, "step", "s")) return LS_DBG_STEP_IN;
    if (is(l, "out", "o")) return LS_DBG_STEP_OUT;
    if (is(l, "stack", "bt")) { print_stack(c, st); continue; }
    if (is(l, "inspect", "i")) { inspect(c, st); continue; }
    if (strncmp(l, "break ", 6) == 0) {
      const char *g = l + 6;
      int rc = ls_cli_repl_add_breaks(c, &g, 1, 1);
      if (rc == LS_ENOMEM) return LS_CLI_REPL_QUIT;
      if (rc == LS_ELIMIT) printf("error: too many breakpoints\n");
      else if (rc != LS_OK) printf("error: the breakpoint matches no module\n");
      continue;
    }
    if (strncmp(l, "sql ", 4) == 0) {
      ls_cli_repl_sql(c, l + 4);
      continue;
    }
    if (strncmp(l, "stats ", 6) == 0) {
      char expr[4200];
      snprintf(expr, sizeof expr, "stats(%s)", l + 6);
      ls_cli_repl_eval(c, expr);
      continue;
    }
    ls_cli_repl_eval(c, strncmp(l, "eval ", 5) == 0 ? l + 5 : l);
  }
}

void ls_cli_repl_sql(ls_cli_repl *c, const char *sql) {
  ls_rec_text t;
  ls_rec_text_init(&t, 200);
  ls_diag d;
  ls_diag_init(&d);
  char *text = NULL;
  if (ls_dbg_run_query(c->run, sql, 0, ls_rec_text_row, &t, &d) != LS_OK) {
    printf("error: %s\n", d.msg);
    c->failed = 1;
  } else if (ls_rec_text_render(&t, &text) != LS_OK) {
    printf("error: out of memory\n");
  } else {
    fputs(text, stdout);
  }
  ls_free(text);
  ls_rec_text_free(&t);
}
