/* watch.c: `layerscope watch`, the user's PyTorch program under the agent without an editor,
 * for terminals and CI. It launches the program with the agent loaded (agent/target_agent.h;
 * the program's stdout and stderr go straight to ours) on a debug run (core/debug/run.h) with
 * the exception filters of --break-on (default nan,inf) and the function breakpoints of
 * --break, and waits. At the first stop it prints a report: what stopped (the stop's
 * description: "NaN in gradient of fc.weight (backward, step 2): ..."), the module stack and
 * the program's Python stack (innermost first; frames inside torch are counted, not listed)
 * and the statistics of the tensor the stop is about (ls_dbg_run_stop_tensor); then it ends
 * the program and exits 1. With --interactive the command loop of `layerscope debug`
 * (cli/repl.c) runs at every stop instead.
 *
 * One thread does everything: the run's callbacks are posted to it (a queue and a wake-up
 * pipe), and it waits in poll() for them and for SIGINT / SIGTERM, taken through a signalfd
 * (the signals are blocked in every thread of this process; the program gets them unblocked,
 * agent/spawn.c). A signal ends the program (its process group: TERM, then KILL) and exits
 * 128 + the signal. Exit statuses are listed in usage_long and docs/watch.md. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent/target_agent.h"
#include "cli/cli.h"
#include "cli/repl.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/debug/run.h"

#define MAX_FRAMES 160
#define EXIT_STOPPED 1
#define EXIT_BAD_INPUT 2 /* usage, or a program that cannot start or ran no module */

typedef struct watch_opts {
  const char *python, *cwd, *program, *module;
  const char *const *args;   /* [n_args] borrowed from argv */
  int n_args;
  const char *env[1];        /* "PYTHONUNBUFFERED=1" for `python -u` */
  int n_env;
  const char *globs[LS_CLI_REPL_MAX_BREAKS];
  int n_globs;
  unsigned exc;              /* LS_DBG_EXC_* */
  int interactive;
  const char *record;        /* --record RUN.db, or NULL */
} watch_opts;

/* A call the run posted to this thread. */
typedef struct posted {
  void (*fn)(void *arg);
  void *arg;
  struct posted *next;
} posted;

typedef struct watch {
  ls_cli_repl repl;          /* the scope of a stop, and the command loop of --interactive */
  ls_dbg_run *run;
  pthread_mutex_t mu;        /* guards the queue and closed */
  posted *head, *tail;
  int closed;                /* the run ended: further posts are refused */
  int wake[2];               /* non-blocking pipe: a byte per post */
  int sfd;                   /* signalfd of SIGINT and SIGTERM */
  int signo;                 /* the signal that came, 0 none */
  int terminated;            /* the program was told to end */
} watch;

/* ------------------------------------------------------------------ usage */

static void usage_long(FILE *f) {
  ls_cli_usage(f, "watch");
  fputs("\nRuns a PyTorch program with the layerscope agent and stops it at the first problem:\n"
        "a NaN or Inf in a module's output or in a gradient (--break-on), or a breakpoint on\n"
        "modules (--break 'model.layers.*.mlp', with a phase: 'backward:fc', 'both:fc').\n"
        "It prints the problem, the module stack, the Python stack and the statistics of the\n"
        "tensor, ends the program and exits 1. The program's own output goes to the terminal.\n\n"
        "  --break-on LIST   nan, inf, overflow (fp16: finite values beyond 65504), or none;\n"
        "                    default nan,inf\n"
        "  --break GLOB      a function breakpoint on module names (repeatable)\n"
        "  --python PY       the interpreter (else the first word after -- if it is a python,\n"
        "                    else python3 on PATH, then /usr/bin/python3; it must import torch)\n"
        "  --cwd DIR         run the program in DIR (a relative program is found there)\n"
        "  --interactive     at each stop, read debugger commands (as `layerscope debug`):\n"
        "                    continue, next, step, out, stack, inspect, stats X, eval X,\n"
        "                    sql SELECT ... (with --record), quit\n"
        "  --record RUN.db   record the run into a run record (docs/run-record.md): the stops,\n"
        "                    NaN/Inf findings, the modules the program ran\n\n"
        "exit status: 0 the program ended with status 0 and nothing stopped; 1 a stop (with\n"
        "--interactive: a NaN/Inf stop was seen); 2 usage, a program that cannot start or that\n"
        "ended before it ran any nn.Module; N the program's own nonzero status (128+S when a\n"
        "signal S killed it); 130 / 143 interrupted by SIGINT / SIGTERM.\n", f);
}

static int usage_error(const char *fmt, const char *arg) {
  fputs("layerscope watch: ", stderr);
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  ls_cli_usage(stderr, "watch");
  return EXIT_BAD_INPUT;
}

/* "nan,inf,overflow" -> LS_DBG_EXC_* flags; -1 with a message for an unknown name. */
static int parse_filters(const char *v, unsigned *out) {
  unsigned exc = 0;
  const char *p = v;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n == 3 && strncmp(p, "nan", 3) == 0) exc |= LS_DBG_EXC_NAN;
    else if (n == 3 && strncmp(p, "inf", 3) == 0) exc |= LS_DBG_EXC_INF;
    else if ((n == 8 && strncmp(p, "overflow", 8) == 0) || (n == 4 && strncmp(p, "fp16", 4) == 0))
      exc |= LS_DBG_EXC_FP16;
    else if (!(n == 4 && strncmp(p, "none", 4) == 0)) {
      fprintf(stderr, "layerscope watch: --break-on: unknown filter '%.*s' (nan, inf, overflow, none)\n", (int)n, p);
      return -1;
    }
    p += n + (p[n] == ',');
  }
  *out = exc;
  return 0;
}

/* A first word that names an interpreter (python, python3.11, /venv/bin/python) rather than
 * the program. */
static int is_python(const char *w) {
  const char *b = strrchr(w, '/');
  b = b ? b + 1 : w;
  size_t n = strlen(b);
  return strncmp(b, "python", 6) == 0 && !(n > 3 && strcmp(b + n - 3, ".py") == 0);
}

/* The words of the command: [PYTHON [-u]] (PROGRAM | -m MODULE) ARGS... */
static int parse_command(watch_opts *o, char **w, int n) {
  if (n > 0 && is_python(w[0])) {
    if (o->python && strcmp(o->python, w[0]) != 0)
      return usage_error("two interpreters: --python %s and the command's first word; give one", o->python);
    o->python = w[0];
    w++, n--;
    for (; n > 0 && w[0][0] == '-' && strcmp(w[0], "-m") != 0; w++, n--) {
      if (strcmp(w[0], "-u") != 0)
        return usage_error("python option '%s' is not supported here (only -u and -m MODULE)", w[0]);
      o->env[0] = "PYTHONUNBUFFERED=1";
      o->n_env = 1;
    }
  }
  if (n == 0) return usage_error("%s", "no program given: layerscope watch [OPTIONS] -- [python] train.py [ARGS...]");
  if (strcmp(w[0], "-m") == 0) {
    if (n < 2) return usage_error("%s", "-m needs a module name");
    o->module = w[1];
    w += 2, n -= 2;
  } else if (w[0][0] == '-') {
    return usage_error("'%s' is not a program (put layerscope's options before --)", w[0]);
  } else {
    o->program = w[0];
    w++, n--;
  }
  o->args = (const char *const *)w;
  o->n_args = n;
  return 0;
}

/* Options up to `--` or the first word that is not one; the rest is the command. 0 parsed,
 * -1 --help printed, else the exit status of a usage error. */
static int parse_args(watch_opts *o, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  o->exc = LS_DBG_EXC_NAN | LS_DBG_EXC_INF;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-') break;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage_long(stdout);
      return -1;
    }
    if (strcmp(a, "--interactive") == 0) {
      o->interactive = 1;
      continue;
    }
    if (strcmp(a, "--break-on") && strcmp(a, "--break") && strcmp(a, "--python") && strcmp(a, "--cwd") &&
        strcmp(a, "--record"))
      return usage_error("unknown option '%s'", a);
    if (!v) return usage_error("%s needs a value", a);
    i++;
    if (strcmp(a, "--break-on") == 0) {
      if (parse_filters(v, &o->exc) != 0) return EXIT_BAD_INPUT;
    } else if (strcmp(a, "--break") == 0) {
      if (o->n_globs == LS_CLI_REPL_MAX_BREAKS) return usage_error("more than %s --break options", "64");
      o->globs[o->n_globs++] = v;
    } else if (strcmp(a, "--python") == 0) {
      o->python = v;
    } else if (strcmp(a, "--record") == 0) {
      o->record = v;
    } else {
      o->cwd = v;
    }
  }
  return parse_command(o, argv + i, argc - i);
}

/* ------------------------------------------------------------------ the run's calls, posted here */

static int post(void *ud, void (*fn)(void *arg), void *arg) {
  watch *w = ud;
  posted *p = ls_malloc(sizeof *p);
  if (!p) return -1;
  *p = (posted){fn, arg, NULL};
  pthread_mutex_lock(&w->mu);
  if (w->closed) {
    pthread_mutex_unlock(&w->mu);
    ls_free(p);
    return -1;
  }
  if (w->tail) w->tail->next = p;
  else w->head = p;
  w->tail = p;
  pthread_mutex_unlock(&w->mu);
  ssize_t r = write(w->wake[1], "x", 1); /* full pipe: a wake-up is pending anyway */
  (void)r;
  return 0;
}

static void run_posted(watch *w) {
  for (;;) {
    pthread_mutex_lock(&w->mu);
    posted *p = w->head;
    if (p && !(w->head = p->next)) w->tail = NULL;
    pthread_mutex_unlock(&w->mu);
    if (!p) return;
    p->fn(p->arg);
    ls_free(p);
  }
}

/* A signal that came, if any, into w->signo (the first one counts). */
static void take_signal(watch *w) {
  struct signalfd_siginfo si;
  while (read(w->sfd, &si, sizeof si) == (ssize_t)sizeof si)
    if (!w->signo) w->signo = (int)si.ssi_signo;
}

/* Runs the posted calls until the run is stopped or ended, or a signal came that has not
 * ended the program yet. */
static ls_dbg_run_state wait_run(watch *w) {
  for (;;) {
    run_posted(w);
    ls_dbg_run_state st = ls_dbg_run_state_get(w->run);
    if (st == LS_DBG_RUN_STOPPED || st == LS_DBG_RUN_ENDED || (w->signo && !w->terminated)) return st;
    struct pollfd p[2] = {{w->wake[0], POLLIN, 0}, {w->sfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) return st;
    char buf[256];
    if (p[0].revents)
      while (read(w->wake[0], buf, sizeof buf) > 0) {}
    if (p[1].revents) take_signal(w);
  }
}

static void on_output(void *ud, ls_dbg_output kind, const char *text) {
  (void)ud;
  if (kind == LS_DBG_OUT_NOTE) fprintf(stderr, "layerscope watch: %s\n", text);
  else fputs(text, kind == LS_DBG_OUT_STDERR ? stderr : stdout);
}

/* ------------------------------------------------------------------ the report of a stop */

static const char *const GROUP[LS_DBG_G_COUNT] = {"input", "output", "parameter", "intermediate", "gradient"};

/* What stopped: the stop's own description (filters say module, phase, step), else the reason
 * and where. */
static void describe(watch *w, const ls_dbg_run_stop *st, char *buf, size_t cap) {
  const ls_dbg_event *ev = st->ev;
  const ls_dbg_stop *why = &st->why;
  if (why->reason == LS_DBG_STOP_EXCEPTION && why->description[0]) {
    snprintf(buf, cap, "%s", why->description);
    return;
  }
  char reason[160];
  const char *glob = why->n_hit ? ls_cli_repl_break_glob(&w->repl, why->hit_ids[0]) : NULL;
  if (why->reason == LS_DBG_STOP_FUNCTION_BREAKPOINT && why->n_hit)
    snprintf(reason, sizeof reason, "breakpoint %d (%s)", why->hit_ids[0], glob ? glob : "?");
  else
    snprintf(reason, sizeof reason, "%s", ls_dbg_reason_name(why->reason));
  snprintf(buf, cap, "%s at %s [%s] (%s, step %llu)%s%s", reason, ev->name[0] ? ev->name : "(root)", ev->type,
           ev->pass == LS_DBG_BACKWARD ? "backward" : "forward", (unsigned long long)ev->step,
           why->description[0] ? ": " : "", why->description);
}

static void report(watch *w, const ls_dbg_run_stop *st) {
  char line[800];
  describe(w, st, line, sizeof line);
  printf("layerscope watch: %s\n", line);
  ls_dbg_thread th[16];
  int nt = ls_dbg_run_threads(w->run, th, 16);
  for (int j = 0; nt > 1 && j < nt; j++) /* ranks: which one */
    if (th[j].id == st->thread) printf("thread: %s\n", th[j].name);
  ls_dbg_frame fr[MAX_FRAMES];
  int n = ls_dbg_run_frames(w->run, st->thread, fr, MAX_FRAMES), lib = 0, i = 0;
  printf("module stack (innermost first):\n");
  for (; i < n && fr[i].kind == LS_DBG_FRAME_MODULE; i++)
    printf("  %s (%s)\n", fr[i].name[0] ? fr[i].name : "(root)", fr[i].type);
  printf("Python stack (innermost first):\n");
  for (; i < n; i++) {
    if (fr[i].kind == LS_DBG_FRAME_LIBRARY) lib++;
    else if (fr[i].path) printf("  %s:%d in %s\n", fr[i].path, fr[i].line, fr[i].name ? fr[i].name : "?");
    else printf("  %s\n", fr[i].name ? fr[i].name : "?");
  }
  if (lib) printf("  (%d frame%s inside torch not shown)\n", lib, lib == 1 ? "" : "s");
  ls_dbg_group g;
  int k;
  ls_dbg_tensor t;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_dbg_run_stop_tensor(w->run, &g, &k, &t, &d) == LS_OK) {
    ls_cli_repl_tensor_line(&w->repl, g, k, line, sizeof line);
    printf("tensor %s (%s): %s\n", st->ev->vars[g][k].name, GROUP[g], line);
  } else {
    printf("tensor: %s\n", d.msg);
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------ the command */

/* Function breakpoints that matched no module of the program: a typo in a CI job's glob
 * would otherwise pass silently. */
static void report_unmatched(watch *w) {
  ls_dbg_bp_result res[LS_CLI_REPL_MAX_BREAKS];
  size_t n = ls_dbg_function_bps_status(w->repl.g, res, LS_CLI_REPL_MAX_BREAKS);
  for (size_t i = 0; i < n; i++) {
    const char *glob = ls_cli_repl_break_glob(&w->repl, res[i].id);
    if (!res[i].verified)
      fprintf(stderr, "layerscope watch: breakpoint %d (%s) matched no module of the program\n", res[i].id,
              glob ? glob : "?");
  }
}

/* The exit status once the run ended (see usage_long). */
static int end_status(watch *w, int stopped, int exc_seen) {
  const ls_dbg_run_end *end = ls_dbg_run_end_get(w->run);
  if (w->signo) {
    fprintf(stderr, "layerscope watch: interrupted (%s)%s\n", strsignal(w->signo),
            w->terminated ? ": the program was ended" : "");
    return 128 + w->signo;
  }
  if (stopped) return EXIT_STOPPED;
  if (!end) return EXIT_BAD_INPUT;
  if (end->rc == LS_ECANCELED) return exc_seen ? EXIT_STOPPED : 0; /* quit at the prompt */
  if (end->rc != LS_OK) {
    fprintf(stderr, "layerscope watch: %s\n", end->message);
    return EXIT_BAD_INPUT;
  }
  if (!ls_dbg_module_count(w->repl.g)) {
    fprintf(stderr, "layerscope watch: the program exited with status %d before it ran any nn.Module: "
                    "nothing was watched\n", end->exit_code);
    return EXIT_BAD_INPUT;
  }
  report_unmatched(w);
  if (end->exit_code != 0) {
    fprintf(stderr, "layerscope watch: the program exited with status %d\n", end->exit_code);
    return exc_seen ? EXIT_STOPPED : end->exit_code;
  }
  fprintf(stderr, "layerscope watch: the program exited with status 0%s (%zu modules watched)\n",
          exc_seen ? "" : ", nothing stopped it", ls_dbg_module_count(w->repl.g));
  return exc_seen ? EXIT_STOPPED : 0;
}

/* Stops until the run ends: a report at each; without --interactive the first one ends the
 * program. Returns 1 when a stop ended the program that way; *exc_seen: a filter stopped it. */
static int drive(watch *w, int interactive, int *exc_seen) {
  int stopped = 0;
  for (;;) {
    ls_dbg_run_state state = wait_run(w);
    if (state == LS_DBG_RUN_ENDED) return stopped;
    if (w->signo && !w->terminated) {
      ls_dbg_run_terminate(w->run);
      w->terminated = 1;
      continue;
    }
    const ls_dbg_run_stop *st = ls_dbg_run_stop_get(w->run);
    if (state != LS_DBG_RUN_STOPPED || !st) continue;
    *exc_seen |= st->why.reason == LS_DBG_STOP_EXCEPTION;
    report(w, st);
    int action = LS_CLI_REPL_QUIT;
    if (interactive) action = ls_cli_repl_prompt(&w->repl, st);
    else stopped = 1;
    if (action == LS_CLI_REPL_QUIT) {
      take_signal(w); /* an interrupted prompt */
      ls_dbg_run_terminate(w->run);
      w->terminated = 1;
    } else {
      ls_dbg_run_resume(w->run, (ls_dbg_action)action);
    }
  }
}

/* The signals and the wake-up pipe; the signals stay blocked in this process from here on
 * (threads started later inherit the mask; a signal that comes during exit must not kill
 * it before the status is returned). */
static int watch_init(watch *w, ls_diag *d) {
  memset(w, 0, sizeof *w);
  w->wake[0] = w->wake[1] = w->sfd = -1;
  pthread_mutex_init(&w->mu, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || (w->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
      pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) != 0)
    return ls_diag_set(d, LS_EIO, "cannot set up signals: %s", strerror(errno));
  return LS_OK;
}

static void watch_deinit(watch *w) {
  pthread_mutex_lock(&w->mu);
  w->closed = 1;
  pthread_mutex_unlock(&w->mu);
  if (w->run) run_posted(w); /* what the run posted before it ended belongs to it */
  ls_cli_repl_deinit(&w->repl);
  ls_dbg_run_close(w->run);
  for (int i = 0; i < 2; i++)
    if (w->wake[i] >= 0) close(w->wake[i]);
  if (w->sfd >= 0) close(w->sfd);
  pthread_mutex_destroy(&w->mu);
}

int ls_cli_watch(int argc, char **argv) {
  watch_opts o;
  int rc = parse_args(&o, argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  watch w;
  ls_diag d;
  ls_diag_init(&d);
  int status = EXIT_BAD_INPUT;
  if (watch_init(&w, &d) != LS_OK) goto fail;
  ls_agent_target_opts to = {
      .launch = {.python = o.python, .program = o.program, .module = o.module, .args = o.args, .n_args = o.n_args,
                 .cwd = o.cwd, .env = o.env, .n_env = o.n_env, .out_fd = -1, .err_fd = -1},
      .capture_output = 0};
  ls_dbg_target t;
  /* the program's command line labels a recorded run */
  char program[1024];
  size_t pl = (size_t)snprintf(program, sizeof program, "%s", o.module ? "-m " : "");
  pl += (size_t)snprintf(program + pl, pl < sizeof program ? sizeof program - pl : 0, "%s",
                         o.module ? o.module : o.program ? o.program : "");
  for (int i = 0; i < o.n_args && pl < sizeof program; i++)
    pl += (size_t)snprintf(program + pl, sizeof program - pl, " %s", o.args[i]);
  ls_dbg_run_opts ro = {.cbs = {.on_output = on_output, .ud = &w, .post = post, .post_ud = &w},
                        .record = o.record, .record_kind = "watch", .record_program = program};
  if (ls_agent_target_new(&t, &to, &d) != LS_OK || ls_dbg_run_open(&w.run, t, &ro, &d) != LS_OK) goto fail;
  ls_cli_repl_init(&w.repl, w.run);
  w.repl.intr_fd = w.sfd;
  if (o.n_globs && ls_cli_repl_add_breaks(&w.repl, o.globs, o.n_globs, 0) == LS_ENOMEM) {
    ls_diag_set(&d, LS_ENOMEM, "out of memory");
    goto fail;
  }
  ls_dbg_set_exceptions(w.repl.g, o.exc);
  /* finding the interpreter runs it; a Ctrl-C meanwhile reaches it too (same process group) */
  rc = ls_dbg_run_check(w.run, &d);
  take_signal(&w);
  if (w.signo) {
    status = end_status(&w, 0, 0);
    goto out;
  }
  if (rc != LS_OK) goto fail;
  fflush(stdout);
  if (ls_dbg_run_start(w.run, &d) != LS_OK) goto fail;
  int exc_seen = 0;
  int stopped = drive(&w, o.interactive, &exc_seen);
  status = end_status(&w, stopped, exc_seen);
  goto out;
fail:
  fprintf(stderr, "layerscope watch: %s\n", d.msg);
out:
  watch_deinit(&w);
  return status;
}
