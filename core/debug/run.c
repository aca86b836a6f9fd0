/* run.c: the owner of a debug run (run.h). It holds the target and the session, runs the
 * target on a thread of its own (runner), gives the target its host callbacks, and turns
 * what the target reports into one stop, one end, and the output and progress between.
 *
 * A stop is assembled in two steps on the target's thread: host_event (the run's decision at
 * an event, ls_dbg_check) records why per thread, then host_stopped (the target has stopped
 * that thread) merges the cause: the recorded decision, a step, a pause, or the target's own
 * decision. The result goes to the front end as a *delivery*: a small closure handed to the
 * front end's post function (or run at once without one), stamped with the run's generation
 * so that restart and close drop what an earlier run left in flight; a stop whose thread was
 * resumed or terminated meanwhile is dropped as well. The delivered stop is the reported one,
 * whose scope the front end reads until it resumes; ls_dbg_run_wait returns once its
 * callback has run. */
#include "core/debug/run.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/log.h"
#include "core/debug/run_record.h"

#define MAX_MODULE_FRAMES 64

typedef struct run_thread {
  int id;
  int stopped;              /* blocked in the target at ev */
  int decided;              /* host_event asked for the stop that follows; why holds it */
  ls_dbg_stop why;
  const ls_dbg_event *ev;
} run_thread;

typedef enum { D_STOP, D_END, D_OUTPUT, D_PROGRESS, D_MODULES } dkind;

/* One call to the front end, with copies of its strings. */
typedef struct delivery {
  ls_dbg_run *r;
  unsigned gen;             /* the run it belongs to */
  dkind kind;
  int thread;               /* STOP */
  int code;                 /* END: rc; OUTPUT: ls_dbg_output; PROGRESS: phase */
  int exit_code;            /* END */
  double fraction;          /* PROGRESS */
  const char *s[3];         /* END: message, summary; OUTPUT: text; PROGRESS: id, title,
                               message. Into text[] or NULL */
  char text[];
} delivery;

struct ls_dbg_run {
  ls_dbg_target t;          /* owned */
  ls_dbg_target_info info;
  ls_dbg *g;                /* owned */
  ls_dbg_run_opts o;
  ls_dbg_target_host host;
  pthread_t thread;         /* the runner; control thread only */
  int thread_live;
  pthread_mutex_t check_mu; /* one ls_dbg_check (and per-stop cache reset) at a time */
  atomic_int n_stopped;     /* threads stopped: others' events are not checked meanwhile */
  pthread_mutex_t mu;       /* guards what follows */
  pthread_cond_t cv;        /* broadcast when state changes */
  unsigned gen;             /* bumped by restart and close */
  int terminating;          /* terminate / restart / close: stops are no longer reported */
  int pause_pending;        /* pause before start */
  int delivering;           /* a stop's or end's callback is running (ls_dbg_run_wait waits) */
  ls_dbg_run_state state;
  run_thread *thr;          /* [n_thr] the threads that reported so far */
  int *ids;                 /* [cap_thr] scratch of resume */
  size_t n_thr, cap_thr;
  ls_dbg_run_stop stop;     /* STOPPED: the reported stop */
  ls_dbg_run_end end;       /* ENDED */
  char end_message[512], end_summary[512];
  ls__runrec *rec;          /* opts.record: the run record it writes, or NULL */
  atomic_int rec_told;      /* a recording failure was told to the front end */
};

/* ------------------------------------------------------------------ deliveries */

static delivery *dl_new(ls_dbg_run *r, unsigned gen, dkind kind, const char *a, const char *b, const char *c) {
  const char *in[3] = {a, b, c};
  size_t len[3], total = 0;
  for (int i = 0; i < 3; i++) total += len[i] = in[i] ? strlen(in[i]) + 1 : 0;
  delivery *dl = ls_malloc(sizeof *dl + total);
  if (!dl) return NULL;
  memset(dl, 0, sizeof *dl);
  dl->r = r;
  dl->gen = gen;
  dl->kind = kind;
  char *p = dl->text;
  for (int i = 0; i < 3; i++) {
    if (!in[i]) continue;
    memcpy(p, in[i], len[i]);
    dl->s[i] = p;
    p += len[i];
  }
  return dl;
}

/* Every thread stopped: those the run has seen, and every thread the target lists (ids[n],
 * read before r->mu is taken: a target calls the host with its own lock held, so its
 * threads() must not be called under the run's). A target that decides stops itself
 * reports no events, so its threads are known only from that list. */
static int all_stopped(const ls_dbg_run *r, const ls_dbg_thread *ids, int n) {
  for (size_t i = 0; i < r->n_thr; i++)
    if (!r->thr[i].stopped) return 0;
  for (int k = 0; k < n; k++) {
    size_t i = 0;
    while (i < r->n_thr && r->thr[i].id != ids[k].id) i++;
    if (i == r->n_thr || !r->thr[i].stopped) return 0;
  }
  return 1;
}

#define MAX_TARGET_THREADS 256

static run_thread *thr_find(ls_dbg_run *r, int id) {
  for (size_t i = 0; i < r->n_thr; i++)
    if (r->thr[i].id == id) return &r->thr[i];
  return NULL;
}

static void rec_failed(ls_dbg_run *r, const ls_diag *d);

/* Runs on the control thread (or at once without post). */
static void deliver(void *arg) {
  delivery *dl = arg;
  ls_dbg_run *r = dl->r;
  const ls_dbg_run_cbs *cb = &r->o.cbs;
  ls_dbg_run_stop stop;      /* what the callbacks get: copies, as the run's own may */
  ls_dbg_run_end end;        /* change once mu is released */
  ls_dbg_thread ids[MAX_TARGET_THREADS];
  int n_ids = dl->kind == D_STOP ? r->t.ops->threads(r->t.ud, ids, MAX_TARGET_THREADS) : 0;
  pthread_mutex_lock(&r->mu);
  int live = dl->gen == r->gen;
  if (dl->kind == D_STOP) {
    run_thread *th = live && !r->terminating ? thr_find(r, dl->thread) : NULL;
    live = th && th->stopped;
    if (live) {
      stop = r->stop = (ls_dbg_run_stop){th->why, th->id, all_stopped(r, ids, n_ids), th->ev};
      r->state = LS_DBG_RUN_STOPPED;
      r->delivering++;
    }
  } else if (dl->kind == D_END && live) {
    snprintf(r->end_message, sizeof r->end_message, "%s", dl->s[0] ? dl->s[0] : "");
    snprintf(r->end_summary, sizeof r->end_summary, "%s", dl->s[1] ? dl->s[1] : "");
    r->end = (ls_dbg_run_end){dl->code, dl->exit_code, r->end_message, r->end_summary};
    end = (ls_dbg_run_end){dl->code, dl->exit_code, dl->s[0] ? dl->s[0] : "", dl->s[1] ? dl->s[1] : ""};
    memset(&r->stop, 0, sizeof r->stop);
    r->state = LS_DBG_RUN_ENDED;
    r->delivering++;
  }
  pthread_mutex_unlock(&r->mu);
  if (live && r->rec && (dl->kind == D_STOP || dl->kind == D_END)) {
    ls_diag d;
    ls_diag_init(&d);
    int rc = dl->kind == D_STOP ? ls__runrec_stop(r->rec, r, &stop, &d) : ls__runrec_end(r->rec, r->g, &end, &d);
    if (rc) rec_failed(r, &d);
  }
  if (live) switch (dl->kind) {
    case D_STOP: if (cb->on_stop) cb->on_stop(cb->ud, &stop); break;
    case D_END: if (cb->on_end) cb->on_end(cb->ud, &end); break;
    case D_OUTPUT: if (cb->on_output) cb->on_output(cb->ud, (ls_dbg_output)dl->code, dl->s[0]); break;
    case D_MODULES:
      if (cb->on_modules) cb->on_modules(cb->ud, (size_t)dl->code, (size_t)dl->exit_code);
      break;
    case D_PROGRESS:
      if (cb->on_progress)
        cb->on_progress(cb->ud, (ls_dbg_progress)dl->code, dl->s[0], dl->fraction, dl->s[1], dl->s[2]);
      break;
    }
  if (live && (dl->kind == D_STOP || dl->kind == D_END)) { /* now a waiter may act on it */
    pthread_mutex_lock(&r->mu);
    r->delivering--;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
  }
  ls_free(dl);
}

static void dl_send(ls_dbg_run *r, delivery *dl) {
  if (!dl) {
    ls_log_error("debug run: out of memory reporting to the front end");
    return;
  }
  if (!r->o.cbs.post) deliver(dl);
  else if (r->o.cbs.post(r->o.cbs.post_ud, deliver, dl) != 0) ls_free(dl); /* the front end is closing */
}

static unsigned gen_now(ls_dbg_run *r) {
  pthread_mutex_lock(&r->mu);
  unsigned g = r->gen;
  pthread_mutex_unlock(&r->mu);
  return g;
}

/* A write to the run record failed: the front end hears it once, as a note delivered like
 * any output (on its own thread when it posts). */
static void rec_failed(ls_dbg_run *r, const ls_diag *d) {
  if (atomic_exchange(&r->rec_told, 1)) return;
  char msg[700];
  snprintf(msg, sizeof msg, "recording stopped: %s", d->msg);
  ls_log_error("debug run: %s", msg);
  delivery *dl = dl_new(r, gen_now(r), D_OUTPUT, msg, NULL, NULL);
  if (dl) dl->code = LS_DBG_OUT_NOTE;
  dl_send(r, dl);
}

/* ------------------------------------------------------------------ the host (target threads) */

/* The record of thread id, created on first report (caller holds mu); NULL out of memory. */
static run_thread *thr_get(ls_dbg_run *r, int id) {
  run_thread *th = thr_find(r, id);
  if (th) return th;
  if (r->n_thr == r->cap_thr) {
    size_t nc = r->cap_thr * 2;
    run_thread *t = ls_reallocarray(r->thr, nc, sizeof *t);
    if (!t) return NULL;
    r->thr = t;
    int *ids = ls_reallocarray(r->ids, nc, sizeof *ids);
    if (!ids) return NULL;
    r->ids = ids;
    r->cap_thr = nc;
  }
  th = &r->thr[r->n_thr++];
  memset(th, 0, sizeof *th);
  th->id = id;
  return th;
}

static int host_event(void *hud, const ls_dbg_event *ev) {
  ls_dbg_run *r = hud;
  if (r->rec) {
    ls_diag d;
    ls_diag_init(&d);
    if (ls__runrec_event(r->rec, ev, &d)) rec_failed(r, &d);
  }
  /* all-stop: while a stop is looked at, other threads only run towards their pause (and
   * must not reset the per-stop caches the front end reads) */
  if (atomic_load_explicit(&r->n_stopped, memory_order_acquire)) return 0;
  ls_dbg_stop st;
  pthread_mutex_lock(&r->check_mu);
  int stop = ls_dbg_check(r->g, ev, &st);
  pthread_mutex_unlock(&r->check_mu);
  if (!stop) return 0;
  pthread_mutex_lock(&r->mu);
  run_thread *th = thr_get(r, ev->thread);
  if (th) {
    th->why = st;
    th->decided = 1;
  }
  pthread_mutex_unlock(&r->mu);
  return 1;
}

static void host_stopped(void *hud, const ls_dbg_event *ev, ls_dbg_cause cause, const ls_dbg_stop *decided) {
  ls_dbg_run *r = hud;
  ls_dbg_thread ids[MAX_TARGET_THREADS];
  int n_ids = r->t.ops->threads(r->t.ud, ids, MAX_TARGET_THREADS);
  pthread_mutex_lock(&r->mu);
  run_thread *th = thr_get(r, ev->thread);
  if (!th) {
    pthread_mutex_unlock(&r->mu);
    ls_log_error("debug run: out of memory recording a stop; the thread goes on");
    r->t.ops->resume(r->t.ud, ev->thread, LS_DBG_CONTINUE);
    return;
  }
  if (cause == LS_DBG_CAUSE_DECIDED && decided) {
    th->why = *decided;
  } else if (cause != LS_DBG_CAUSE_EVENT || !th->decided) {
    memset(&th->why, 0, sizeof th->why);
    th->why.reason = cause == LS_DBG_CAUSE_STEP ? LS_DBG_STOP_STEP : LS_DBG_STOP_PAUSE;
  }
  th->decided = 0;
  th->stopped = 1;
  th->ev = ev;
  atomic_fetch_add(&r->n_stopped, 1);
  int others = !all_stopped(r, ids, n_ids);
  unsigned gen = r->gen;
  pthread_mutex_unlock(&r->mu);
  if (others) r->t.ops->pause(r->t.ud); /* all-stop */
  delivery *dl = dl_new(r, gen, D_STOP, NULL, NULL, NULL);
  if (dl) dl->thread = ev->thread;
  dl_send(r, dl);
}

static int host_modules(void *hud, const ls_dbg_module *mods, size_t n) {
  ls_dbg_run *r = hud;
  size_t start = ls_dbg_module_count(r->g);
  int rc = ls_dbg_modules_add(r->g, mods, n);
  if (rc != LS_OK || !n) return rc;
  delivery *dl = dl_new(r, gen_now(r), D_MODULES, NULL, NULL, NULL);
  if (dl) {
    dl->code = (int)start;
    dl->exit_code = (int)n;
  }
  dl_send(r, dl);
  return LS_OK;
}

static void host_progress(void *hud, ls_dbg_progress phase, const char *id, double fraction, const char *title,
                          const char *message) {
  ls_dbg_run *r = hud;
  delivery *dl = dl_new(r, gen_now(r), D_PROGRESS, id ? id : "", title, message);
  if (dl) {
    dl->code = (int)phase;
    dl->fraction = fraction;
  }
  dl_send(r, dl);
}

static void host_output(void *hud, ls_dbg_output kind, const char *text) {
  ls_dbg_run *r = hud;
  delivery *dl = dl_new(r, gen_now(r), D_OUTPUT, text ? text : "", NULL, NULL);
  if (dl) dl->code = (int)kind;
  dl_send(r, dl);
}

static void *runner(void *arg) {
  ls_dbg_run *r = arg;
  unsigned gen = gen_now(r);
  ls_diag d;
  ls_diag_init(&d);
  ls_dbg_target_end te;
  memset(&te, 0, sizeof te);
  int rc = r->t.ops->run(r->t.ud, &r->host, &te, &d);
  const char *msg = rc == LS_OK || rc == LS_ECANCELED ? "" : d.msg[0] ? d.msg : ls_err_str(rc);
  delivery *dl = dl_new(r, gen, D_END, msg, rc == LS_OK ? te.summary : "", NULL);
  if (dl) {
    dl->code = rc;
    dl->exit_code = rc == LS_OK ? te.exit_code : rc == LS_ECANCELED ? 0 : 1;
  }
  dl_send(r, dl);
  return NULL;
}

/* ------------------------------------------------------------------ lifecycle */

/* A name the stop's scope lacks, fetched by the target: `rank<N>:<path>` in the process of
 * that rank (found by its thread name "rank N ..."; it must be stopped too), else <path> in
 * the stopped event's own process. */
static int run_resolve(void *ud, const ls_dbg_event *ev, const char *name, ls_dbg_var *meta, void **buf, ls_diag *d) {
  ls_dbg_run *r = ud;
  int thread = ev->thread;
  const char *path = name;
  if (strncmp(name, "rank", 4) == 0 && strchr(name, ':')) {
    int rank = atoi(name + 4);
    path = strchr(name, ':') + 1;
    ls_dbg_thread th[MAX_TARGET_THREADS];
    int n = r->t.ops->threads(r->t.ud, th, MAX_TARGET_THREADS);
    thread = -1;
    char want[32];
    snprintf(want, sizeof want, "rank %d ", rank);
    for (int i = 0; i < n; i++)
      if (strncmp(th[i].name, want, strlen(want)) == 0) thread = th[i].id;
    if (thread < 0 || !ls_dbg_run_event(r, thread)) return 0;
  }
  return r->t.ops->fetch_named(r->t.ud, thread, path, meta, buf, d);
}

/* The session's breakpoints changed: a target that decides stops itself hears of it. */
static void target_configure(void *ud) {
  ls_dbg_run *r = ud;
  r->t.ops->configure(r->t.ud, r->g);
}

int ls_dbg_run_open(ls_dbg_run **out, ls_dbg_target t, const ls_dbg_run_opts *o, ls_diag *d) {
  *out = NULL;
  ls_dbg_run *r = ls_calloc(1, sizeof *r);
  if (!r) {
    t.ops->free(t.ud);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  r->t = t;
  r->o = *o;
  t.ops->describe(t.ud, &r->info);
  pthread_mutex_init(&r->mu, NULL);
  pthread_mutex_init(&r->check_mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  atomic_init(&r->n_stopped, 0);
  r->cap_thr = 4;
  r->thr = ls_calloc(r->cap_thr, sizeof *r->thr);
  r->ids = ls_calloc(r->cap_thr, sizeof *r->ids);
  int rc = !r->thr || !r->ids ? ls_diag_set(d, LS_ENOMEM, "out of memory") : ls_dbg_new(&r->g, r->info.model, d);
  if (rc == LS_OK && o->record)
    rc = ls__runrec_open(&r->rec, o->record, o->record_kind ? o->record_kind : "debug", o->record_program, d);
  if (rc != LS_OK) {
    ls_dbg_run_close(r);
    return rc;
  }
  r->host = (ls_dbg_target_host){!o->no_debug, host_event, host_stopped, host_modules, host_progress, host_output, r};
  if (t.ops->configure) ls_dbg_set_on_change(r->g, target_configure, r);
  if (t.ops->fetch_named) ls_dbg_set_resolver(r->g, run_resolve, r);
  *out = r;
  return LS_OK;
}

int ls_dbg_run_open_engine(ls_dbg_run **out, const ls_dbg_engine_opts *eo, const ls_dbg_run_opts *o, ls_diag *d) {
  *out = NULL;
  ls_dbg_target t;
  int rc = ls_dbg_target_engine_new(&t, eo, d);
  return rc != LS_OK ? rc : ls_dbg_run_open(out, t, o, d);
}

/* Ends the target's run and waits for the runner (control thread). */
static void runner_end(ls_dbg_run *r) {
  pthread_mutex_lock(&r->mu);
  r->gen++;
  r->terminating = 1;
  pthread_mutex_unlock(&r->mu);
  r->t.ops->terminate(r->t.ud);
  if (r->thread_live) pthread_join(r->thread, NULL);
  r->thread_live = 0;
}

void ls_dbg_run_close(ls_dbg_run *r) {
  if (!r) return;
  if (r->g) runner_end(r);
  r->t.ops->free(r->t.ud);
  ls__runrec_close(r->rec);
  ls_dbg_free(r->g);
  ls_free(r->thr);
  ls_free(r->ids);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->check_mu);
  pthread_mutex_destroy(&r->mu);
  ls_free(r);
}

ls_dbg *ls_dbg_run_dbg(ls_dbg_run *r) { return r->g; }
const ls_dbg_target_info *ls_dbg_run_info(const ls_dbg_run *r) { return &r->info; }

int ls_dbg_run_check(ls_dbg_run *r, ls_diag *d) { return r->t.ops->check ? r->t.ops->check(r->t.ud, d) : LS_OK; }

int ls_dbg_run_start(ls_dbg_run *r, ls_diag *d) {
  pthread_mutex_lock(&r->mu);
  if (r->state != LS_DBG_RUN_READY || r->thread_live) {
    pthread_mutex_unlock(&r->mu);
    return ls_diag_set(d, LS_ESTATE, "the run has already started");
  }
  int pause = r->pause_pending;
  r->pause_pending = 0;
  r->terminating = 0;
  r->n_thr = 0;
  r->state = LS_DBG_RUN_RUNNING;
  pthread_mutex_unlock(&r->mu);
  atomic_store(&r->n_stopped, 0);
  ls_dbg_set_stop_on_entry(r->g, r->o.stop_on_entry && !r->o.no_debug);
  ls_dbg_reset(r->g);
  r->t.ops->reset(r->t.ud);
  if (pause) r->t.ops->pause(r->t.ud);
  if (r->rec) {
    ls_diag rd;
    ls_diag_init(&rd);
    if (ls__runrec_start(r->rec, &r->info, &rd)) rec_failed(r, &rd);
  }
  if (pthread_create(&r->thread, NULL, runner, r) != 0) {
    pthread_mutex_lock(&r->mu);
    r->state = LS_DBG_RUN_READY;
    pthread_mutex_unlock(&r->mu);
    return ls_diag_set(d, LS_ENOMEM, "cannot start the run's thread");
  }
  r->thread_live = 1;
  return LS_OK;
}

int ls_dbg_run_restart(ls_dbg_run *r, ls_diag *d) {
  runner_end(r);
  pthread_mutex_lock(&r->mu);
  r->state = LS_DBG_RUN_READY;
  r->pause_pending = 0;
  memset(&r->stop, 0, sizeof r->stop);
  pthread_mutex_unlock(&r->mu);
  ls_dbg_resumed(r->g); /* the runner is gone: nothing else touches the session's caches */
  return ls_dbg_run_start(r, d);
}

void ls_dbg_run_terminate(ls_dbg_run *r) {
  pthread_mutex_lock(&r->mu);
  r->terminating = 1;
  if (r->state == LS_DBG_RUN_STOPPED) r->state = LS_DBG_RUN_RUNNING; /* its event is going away */
  memset(&r->stop, 0, sizeof r->stop);
  for (size_t i = 0; i < r->n_thr; i++) r->thr[i].stopped = 0;
  pthread_mutex_unlock(&r->mu);
  r->t.ops->terminate(r->t.ud);
}

/* ------------------------------------------------------------------ control */

int ls_dbg_run_resume(ls_dbg_run *r, ls_dbg_action action) {
  pthread_mutex_lock(&r->mu);
  if (r->state != LS_DBG_RUN_STOPPED) {
    pthread_mutex_unlock(&r->mu);
    return LS_ESTATE;
  }
  int cur = r->stop.thread;
  size_t n = 0;
  for (size_t i = 0; i < r->n_thr; i++)
    if (r->thr[i].stopped) {
      r->thr[i].stopped = 0;
      r->thr[i].ev = NULL;
      r->ids[n++] = r->thr[i].id;
    }
  memset(&r->stop, 0, sizeof r->stop);
  r->state = LS_DBG_RUN_RUNNING;
  pthread_mutex_unlock(&r->mu);
  /* the stop's scope ends before any thread runs on */
  pthread_mutex_lock(&r->check_mu);
  ls_dbg_resumed(r->g);
  pthread_mutex_unlock(&r->check_mu);
  atomic_store_explicit(&r->n_stopped, 0, memory_order_release);
  int rc = LS_ESTATE;
  for (size_t i = 0; i < n; i++) {
    int e = r->t.ops->resume(r->t.ud, r->ids[i], r->ids[i] == cur ? action : LS_DBG_CONTINUE);
    if (r->ids[i] == cur) rc = e;
  }
  return rc;
}

void ls_dbg_run_pause(ls_dbg_run *r) {
  pthread_mutex_lock(&r->mu);
  int ready = r->state == LS_DBG_RUN_READY;
  if (ready) r->pause_pending = 1;
  pthread_mutex_unlock(&r->mu);
  if (!ready) r->t.ops->pause(r->t.ud);
}

ls_dbg_run_state ls_dbg_run_state_get(ls_dbg_run *r) {
  pthread_mutex_lock(&r->mu);
  ls_dbg_run_state st = r->state;
  pthread_mutex_unlock(&r->mu);
  return st;
}

ls_dbg_run_state ls_dbg_run_wait(ls_dbg_run *r) {
  pthread_mutex_lock(&r->mu);
  while (r->state == LS_DBG_RUN_RUNNING || r->delivering) pthread_cond_wait(&r->cv, &r->mu);
  ls_dbg_run_state st = r->state;
  pthread_mutex_unlock(&r->mu);
  return st;
}

const ls_dbg_run_stop *ls_dbg_run_stop_get(ls_dbg_run *r) {
  pthread_mutex_lock(&r->mu);
  const ls_dbg_run_stop *s = r->state == LS_DBG_RUN_STOPPED ? &r->stop : NULL;
  pthread_mutex_unlock(&r->mu);
  return s;
}

const ls_dbg_run_end *ls_dbg_run_end_get(ls_dbg_run *r) {
  pthread_mutex_lock(&r->mu);
  const ls_dbg_run_end *e = r->state == LS_DBG_RUN_ENDED ? &r->end : NULL;
  pthread_mutex_unlock(&r->mu);
  return e;
}

/* ------------------------------------------------------------------ the scope of a stop */

const ls_dbg_event *ls_dbg_run_event(ls_dbg_run *r, int thread) {
  const ls_dbg_run_stop *s = ls_dbg_run_stop_get(r);
  if (!s) return NULL;
  if (thread <= 0 || thread == s->thread) return s->ev;
  pthread_mutex_lock(&r->mu);
  run_thread *th = thr_find(r, thread);
  const ls_dbg_event *ev = th && th->stopped ? th->ev : NULL;
  pthread_mutex_unlock(&r->mu);
  return ev;
}

static const ls_dbg_event *stopped_event(ls_dbg_run *r, int thread, ls_diag *d) {
  const ls_dbg_event *ev = ls_dbg_run_event(r, thread);
  if (!ev) ls_diag_set(d, LS_ESTATE, thread > 0 ? "that thread of the %s is not stopped" : "the %s is not stopped",
                       r->info.what);
  return ev;
}

int ls_dbg_run_eval(ls_dbg_run *r, const char *src, ls_dbg_value *out, ls_diag *d) {
  return ls_dbg_run_eval_on(r, 0, src, out, d);
}

int ls_dbg_run_eval_on(ls_dbg_run *r, int thread, const char *src, ls_dbg_value *out, ls_diag *d) {
  const ls_dbg_event *ev = stopped_event(r, thread, d);
  return ev ? ls_dbg_eval(r->g, ev, src, out, d) : LS_ESTATE;
}

int ls_dbg_run_tensor(ls_dbg_run *r, ls_dbg_group group, int i, ls_dbg_tensor *out, ls_diag *d) {
  return ls_dbg_run_tensor_on(r, 0, group, i, out, d);
}

int ls_dbg_run_tensor_on(ls_dbg_run *r, int thread, ls_dbg_group group, int i, ls_dbg_tensor *out, ls_diag *d) {
  const ls_dbg_event *ev = stopped_event(r, thread, d);
  if (!ev) return LS_ESTATE;
  if ((unsigned)group >= LS_DBG_G_COUNT || i < 0 || i >= ev->n_vars[group])
    return ls_diag_set(d, LS_ENOENT, "no tensor %d in that scope", i);
  return ls_dbg_var_tensor(r->g, ev, &ev->vars[group][i], out, d);
}

/* Does s show the problem the exception filter named filter ("nan", "inf", "fp16") stops on? */
static int has_problem(const ls_stats *s, const char *filter) {
  if (strcmp(filter, "nan") == 0) return s->nan > 0;
  if (strcmp(filter, "inf") == 0) return s->pinf + s->ninf > 0;
  return s->finite > 0 && s->absmax > LS_DBG_FP16_MAX;
}

int ls_dbg_run_stop_tensor(ls_dbg_run *r, ls_dbg_group *group, int *index, ls_dbg_tensor *out, ls_diag *d) {
  const ls_dbg_run_stop *s = ls_dbg_run_stop_get(r);
  if (!s) return ls_diag_set(d, LS_ESTATE, "the %s is not stopped", r->info.what);
  const ls_dbg_event *ev = s->ev;
  ls_dbg_group g = ev->pass == LS_DBG_BACKWARD ? LS_DBG_G_GRADS : LS_DBG_G_OUTPUTS;
  if (!ev->n_vars[g] && ev->pass == LS_DBG_FORWARD) g = LS_DBG_G_INPUTS;
  if (!ev->n_vars[g]) return ls_diag_set(d, LS_ENOENT, "the stop at %s has no tensor", ev->name[0] ? ev->name : "(root)");
  int pick = 0;
  if (s->why.reason == LS_DBG_STOP_EXCEPTION && s->why.filter)
    for (int i = 0; i < ev->n_vars[g]; i++) {
      ls_dbg_tensor t;
      const ls_stats *st = ls_dbg_run_tensor(r, g, i, &t, NULL) == LS_OK ? ls_dbg_stats_cached(r->g, &t) : NULL;
      if (st && has_problem(st, s->why.filter)) {
        pick = i;
        break;
      }
    }
  *group = g;
  *index = pick;
  return ls_dbg_run_tensor(r, g, pick, out, d);
}

int ls_dbg_run_frames(ls_dbg_run *r, int thread, ls_dbg_frame *out, int cap) {
  pthread_mutex_lock(&r->mu);
  run_thread *th = thr_find(r, thread);
  const ls_dbg_event *ev = th && th->stopped ? th->ev : NULL;
  int hit_line = th ? th->why.line : 0;
  pthread_mutex_unlock(&r->mu);
  if (!ev || cap <= 0) return 0;
  int mods[MAX_MODULE_FRAMES];
  int n = ls_dbg_module_frames(r->g, ev->module, mods, cap < MAX_MODULE_FRAMES ? cap : MAX_MODULE_FRAMES);
  for (int i = 0; i < n; i++) {
    ls_dbg_module m;
    ls_dbg_module_get(r->g, mods[i], &m);
    /* a stop on a config line shows that line in the innermost frame (the editor highlights
     * the line the breakpoint is on); other frames sit at the key that defines them */
    int line = i == 0 && hit_line ? hit_line : ls_dbg_module_line(r->g, mods[i]);
    out[i] = (ls_dbg_frame){LS_DBG_FRAME_MODULE, mods[i], m.name, m.type, r->info.config_path, line};
  }
  return n + r->t.ops->frames(r->t.ud, thread, out + n, cap - n);
}

int ls_dbg_run_threads(ls_dbg_run *r, ls_dbg_thread *out, int cap) { return r->t.ops->threads(r->t.ud, out, cap); }

int ls_dbg_run_query(ls_dbg_run *r, const char *sql, int timeout_ms, ls_rec_row_fn fn, void *ud, ls_diag *d) {
  if (!r->rec) return ls_diag_set(d, LS_ESTATE, "this session records no run: launch it with a record file");
  return ls__runrec_query(r->rec, sql, timeout_ms, fn, ud, d);
}
