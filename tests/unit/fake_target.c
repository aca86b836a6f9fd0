/* fake_target.c: the scripted target of fake_target.h. run() walks the tree's ten events on
 * the run's thread; at each it decides, in this order, whether to stop: its own decision
 * (decide_at), the run's (host->event), a pending step, a pending pause. A stop blocks on a
 * condition variable until resume or terminate, as the engine's pass does. */
#include "tests/unit/fake_target.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

static const ls_dbg_module k_table[FAKE_MODULES] = {
    {"", "FakeModel", -1, 0, -1, 0},
    {"model", "FakeBackbone", 0, 1, -1, 0},
    {"model.layers.0", "FakeLayer", 1, 2, 0, 0},
    {"model.layers.1", "FakeLayer", 1, 2, 1, 0},
    {"head", "Linear", 0, 1, -1, 0},
};

/* The events in pre-order: module, phase. */
static const struct { int module; ls_dbg_phase phase; } k_events[FAKE_EVENTS] = {
    {0, LS_DBG_ENTER}, {1, LS_DBG_ENTER}, {2, LS_DBG_ENTER}, {2, LS_DBG_EXIT}, {3, LS_DBG_ENTER},
    {3, LS_DBG_EXIT},  {1, LS_DBG_EXIT},  {4, LS_DBG_ENTER}, {4, LS_DBG_EXIT}, {0, LS_DBG_EXIT},
};

typedef struct fake {
  fake_target_opts o;
  fake_target_counters n;
  pthread_mutex_t mu;         /* guards the control fields */
  pthread_cond_t cv;
  int stopped, resume_pending, action, cancel, pause_req, reported;
  int step_mode, step_depth;
  float data[FAKE_MODULES][2][4]; /* [module][input, output][4] */
  ls_dbg_var vars[2];         /* the current event's input and output */
  ls_dbg_event ev;
} fake;

static int fetch(void *ud, const ls_dbg_var *v, void *dst, uint64_t nbytes, ls_diag *d) {
  fake *f = ud;
  if (v->handle >= FAKE_MODULES || nbytes != sizeof f->data[0][1]) return ls_diag_set(d, LS_EINVAL, "bad fetch");
  memcpy(dst, f->data[v->handle][1], sizeof f->data[0][1]);
  pthread_mutex_lock(&f->mu);
  f->n.fetches++;
  pthread_mutex_unlock(&f->mu);
  return LS_OK;
}

static void event_at(fake *f, int serial) {
  int m = k_events[serial].module;
  ls_dbg_event *ev = &f->ev;
  memset(ev, 0, sizeof *ev);
  *ev = (ls_dbg_event){.module = m, .name = k_table[m].name, .type = k_table[m].type, .depth = k_table[m].depth,
                       .layer = k_table[m].layer, .phase = k_events[serial].phase, .pass = LS_DBG_FORWARD,
                       .thread = f->o.thread, .serial = (uint64_t)serial, .fetch = fetch, .fetch_ud = f};
  f->vars[0] = (ls_dbg_var){"input", LS_DT_F32, 2, {1, 4}, f->data[m][0], 0, NULL};
  f->vars[1] = (ls_dbg_var){"output", LS_DT_F32, 2, {1, 4}, f->o.fetch ? NULL : f->data[m][1], (uint64_t)m, NULL};
  ev->vars[LS_DBG_G_INPUTS] = &f->vars[0];
  ev->n_vars[LS_DBG_G_INPUTS] = 1;
  if (ev->phase == LS_DBG_EXIT) {
    ev->vars[LS_DBG_G_OUTPUTS] = &f->vars[1];
    ev->n_vars[LS_DBG_G_OUTPUTS] = 1;
  }
}

static int step_matches(const fake *f) {
  switch (f->step_mode) {
  case LS_DBG_STEP_IN: return 1;
  case LS_DBG_STEP_OVER: return f->ev.depth <= f->step_depth;
  case LS_DBG_STEP_OUT: return f->ev.phase == LS_DBG_EXIT && f->ev.depth < f->step_depth;
  default: return 0;
  }
}

/* Blocks at the current event until resumed; LS_ECANCELED when terminated. */
static int stop_here(fake *f, const ls_dbg_target_host *h, ls_dbg_cause cause, const ls_dbg_stop *decided) {
  pthread_mutex_lock(&f->mu);
  f->stopped = 1;
  f->resume_pending = 0;
  pthread_mutex_unlock(&f->mu);
  h->stopped(h->hud, &f->ev, cause, decided);
  pthread_mutex_lock(&f->mu);
  while (!f->resume_pending && !f->cancel) pthread_cond_wait(&f->cv, &f->mu);
  f->stopped = 0;
  int cancel = f->cancel, action = f->action;
  pthread_mutex_unlock(&f->mu);
  if (cancel) return LS_ECANCELED;
  f->step_mode = action == LS_DBG_CONTINUE ? 0 : action;
  f->step_depth = f->ev.depth;
  return LS_OK;
}

static int f_run(void *ud, const ls_dbg_target_host *h, ls_dbg_target_end *end, ls_diag *d) {
  fake *f = ud;
  pthread_mutex_lock(&f->mu);
  f->n.runs++;
  int first = !f->reported;
  f->reported = 1;
  pthread_mutex_unlock(&f->mu);
  if (first && h->modules(h->hud, k_table, FAKE_MODULES) != LS_OK) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  for (int i = 0; i < f->o.n_lines; i++) {
    char line[32];
    snprintf(line, sizeof line, "line %d\n", i);
    h->output(h->hud, LS_DBG_OUT_STDOUT, line);
  }
  f->step_mode = 0;
  for (int s = 0; s < FAKE_EVENTS; s++) {
    pthread_mutex_lock(&f->mu);
    int cancel = f->cancel;
    pthread_mutex_unlock(&f->mu);
    if (cancel) return LS_ECANCELED;
    if (s == f->o.fail_at) return ls_diag_set(d, LS_EIO, "fake failure at event %d", s);
    event_at(f, s);
    ls_dbg_stop own = {.reason = LS_DBG_STOP_FUNCTION_BREAKPOINT, .hit_ids = {99}, .n_hit = 1,
                       .description = "decided by the target"};
    int cause = -1;
    if (s == f->o.decide_at) cause = LS_DBG_CAUSE_DECIDED;
    else if (h->check_events && h->event(h->hud, &f->ev)) cause = LS_DBG_CAUSE_EVENT;
    else if (f->step_mode && step_matches(f)) cause = LS_DBG_CAUSE_STEP;
    else {
      pthread_mutex_lock(&f->mu);
      if (f->pause_req) cause = LS_DBG_CAUSE_PAUSE;
      f->pause_req = 0;
      pthread_mutex_unlock(&f->mu);
    }
    if (cause >= 0 && stop_here(f, h, (ls_dbg_cause)cause, cause == LS_DBG_CAUSE_DECIDED ? &own : NULL) != LS_OK)
      return LS_ECANCELED;
  }
  end->exit_code = f->o.exit_code;
  snprintf(end->summary, sizeof end->summary, "fake summary");
  return LS_OK;
}

static void f_describe(void *ud, ls_dbg_target_info *out) {
  (void)ud;
  *out = (ls_dbg_target_info){"fake program", NULL, NULL};
}

static int f_resume(void *ud, int thread, ls_dbg_action action) {
  fake *f = ud;
  pthread_mutex_lock(&f->mu);
  int ok = f->stopped && thread == f->o.thread;
  if (ok) {
    f->resume_pending = 1;
    f->action = action;
    f->n.resumes++;
    pthread_cond_broadcast(&f->cv);
  }
  pthread_mutex_unlock(&f->mu);
  return ok ? LS_OK : LS_ESTATE;
}

static void f_pause(void *ud) {
  fake *f = ud;
  pthread_mutex_lock(&f->mu);
  f->pause_req = 1;
  f->n.pauses++;
  pthread_mutex_unlock(&f->mu);
}

static void f_terminate(void *ud) {
  fake *f = ud;
  pthread_mutex_lock(&f->mu);
  f->cancel = 1;
  f->n.terminates++;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

static void f_reset(void *ud) {
  fake *f = ud;
  pthread_mutex_lock(&f->mu);
  f->cancel = 0;
  f->pause_req = 0;
  pthread_mutex_unlock(&f->mu);
}

static int f_threads(void *ud, ls_dbg_thread *out, int cap) {
  fake *f = ud;
  if (cap < 1) return 0;
  out[0] = (ls_dbg_thread){f->o.thread, "fake thread"};
  return 1;
}

static int f_frames(void *ud, int thread, ls_dbg_frame *out, int cap) {
  fake *f = ud;
  if (thread != f->o.thread || cap < 1) return 0;
  out[0] = (ls_dbg_frame){LS_DBG_FRAME_SOURCE, -1, "train_step", NULL, "/tmp/fake_train.py", 42};
  return 1;
}

static void f_free(void *ud) {
  fake *f = ud;
  pthread_cond_destroy(&f->cv);
  pthread_mutex_destroy(&f->mu);
  ls_free(f);
}

static const ls_dbg_target_ops k_fake_ops = {f_describe, NULL,      f_run,     f_resume, f_pause,
                                             f_terminate, f_reset, f_threads, f_frames, f_free, NULL, NULL};

fake_target_opts fake_target_defaults(void) { return (fake_target_opts){7, 0, -1, 0, -1, 0, -1}; }

int fake_target_new(ls_dbg_target *out, const fake_target_opts *o, ls_diag *d) {
  fake *f = ls_calloc(1, sizeof *f);
  if (!f) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  f->o = *o;
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cv, NULL);
  for (int m = 0; m < FAKE_MODULES; m++)
    for (int i = 0; i < 4; i++) {
      f->data[m][0][i] = (float)(m * 10 + i);        /* input: 10 m + i */
      f->data[m][1][i] = (float)(m * 10 + i) + 0.5f; /* output: 10 m + i + 0.5 */
    }
  if (o->nan_module >= 0 && o->nan_module < FAKE_MODULES) f->data[o->nan_module][1][2] = NAN;
  out->ops = &k_fake_ops;
  out->ud = f;
  return LS_OK;
}

const fake_target_counters *fake_target_counters_of(ls_dbg_target t) { return &((fake *)t.ud)->n; }
