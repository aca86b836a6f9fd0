/* run_record.c: a debug run recorded into a run record (run_record.h). */
#include "core/debug/run_record.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

#define MAX_THREADS 256
#define MAX_DEPTH 64

typedef struct frame {
  int module;
  int64_t t0, child;        /* ns on the run's clock; totals of the calls it enclosed */
} frame;

typedef struct tstack {
  int thread;
  int depth;
  frame f[MAX_DEPTH];
} tstack;

typedef struct modacc {
  int64_t calls, total_ns, self_ns;
} modacc;

struct ls__runrec {
  pthread_mutex_t mu;
  ls_rec *rec;
  char kind[16];
  char *program;            /* owned, or NULL */
  int64_t run;              /* the open run's id, 0 when none */
  int in_tx;                /* a transaction is open */
  int failed;               /* a write failed: nothing more is written */
  int64_t origin;           /* CLOCK_MONOTONIC ns at the run's start */
  int64_t seq;              /* the next events.seq */
  tstack *stacks;           /* [n_stacks] */
  int n_stacks;
  modacc *acc;              /* [n_acc] per module index */
  size_t n_acc;
};

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* After a failed write: roll back what the transaction held, record nothing more. */
static int fail(ls__runrec *x, int rc) {
  if (x->in_tx) ls_rec_rollback(x->rec);
  x->in_tx = 0;
  x->failed = 1;
  return rc;
}

static int tx_open(ls__runrec *x, ls_diag *d) {
  if (x->in_tx) return LS_OK;
  int rc = ls_rec_begin(x->rec, d);
  if (!rc) x->in_tx = 1;
  return rc;
}

static int tx_commit(ls__runrec *x, ls_diag *d) {
  if (!x->in_tx) return LS_OK;
  x->in_tx = 0;
  return ls_rec_commit(x->rec, d);
}

int ls__runrec_open(ls__runrec **out, const char *path, const char *kind, const char *program, ls_diag *d) {
  *out = NULL;
  ls__runrec *x = ls_calloc(1, sizeof *x);
  if (!x) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  x->stacks = ls_calloc(MAX_THREADS, sizeof *x->stacks);
  if (!x->stacks || (program && !(x->program = ls_strdup(program)))) {
    ls_free(x->stacks);
    ls_free(x);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  snprintf(x->kind, sizeof x->kind, "%s", kind ? kind : "debug");
  int rc = ls_rec_open(&x->rec, path, LS_REC_WRITE, d);
  if (rc) {
    ls_free(x->program);
    ls_free(x->stacks);
    ls_free(x);
    return rc;
  }
  pthread_mutex_init(&x->mu, NULL);
  *out = x;
  return LS_OK;
}

/* Closes the open run with status (caller holds mu). */
static int end_run(ls__runrec *x, ls_dbg *g, const char *status, const char *summary, ls_diag *d) {
  if (!x->run || x->failed) return LS_OK;
  int rc = tx_open(x, d);
  size_t n = g ? ls_dbg_module_count(g) : 0;
  for (size_t i = 0; i < n && !rc; i++) {
    ls_dbg_module m;
    if (ls_dbg_module_get(g, (int)i, &m) != LS_OK) continue;
    const modacc *a = i < x->n_acc ? &x->acc[i] : NULL;
    int ran = a && a->calls > 0;
    ls_rec_module row = {.idx = (int)i, .name = m.name, .type = m.type, .parent = m.parent, .depth = m.depth,
                         .layer = m.layer, .calls = ran ? a->calls : 0, .total_ns = ran ? a->total_ns : -1,
                         .self_ns = ran ? a->self_ns : -1, .flops = -1, .self_flops = -1, .weight_bytes = -1,
                         .act_bytes = -1, .gflops = NAN, .gbps = NAN, .intensity = NAN, .roof_frac = NAN};
    rc = ls_rec_module_add(x->rec, x->run, &row, d);
  }
  if (!rc) rc = ls_rec_run_end(x->rec, x->run, status, summary, now_ns() - x->origin, -1, d);
  if (!rc) rc = tx_commit(x, d);
  x->run = 0;
  return rc ? fail(x, rc) : LS_OK;
}

void ls__runrec_close(ls__runrec *x) {
  if (!x) return;
  pthread_mutex_lock(&x->mu);
  end_run(x, NULL, "terminated", NULL, NULL);
  pthread_mutex_unlock(&x->mu);
  ls_rec_close(x->rec);
  pthread_mutex_destroy(&x->mu);
  ls_free(x->acc);
  ls_free(x->stacks);
  ls_free(x->program);
  ls_free(x);
}

int ls__runrec_start(ls__runrec *x, const ls_dbg_target_info *info, ls_diag *d) {
  pthread_mutex_lock(&x->mu);
  int rc = LS_OK;
  if (x->run) rc = end_run(x, NULL, "terminated", NULL, d); /* a restart cut the last one short */
  if (!rc && !x->failed) {
    const ls_model *m = info ? info->model : NULL;
    ls_rec_run_info ri = {.kind = x->kind, .config = info ? info->config_path : NULL,
                          .architecture = m ? m->architecture : NULL, .model_type = m ? m->model_type : NULL,
                          .program = x->program};
    x->origin = now_ns();
    x->seq = 0;
    x->n_stacks = 0;
    if (x->acc) memset(x->acc, 0, x->n_acc * sizeof *x->acc);
    rc = tx_open(x, d);
    if (!rc) rc = ls_rec_run_begin(x->rec, &ri, &x->run, d);
    if (!rc) rc = tx_commit(x, d); /* the run row is there even if nothing else follows */
    if (!rc) rc = tx_open(x, d);
    if (rc) fail(x, rc);
  }
  pthread_mutex_unlock(&x->mu);
  return rc;
}

static tstack *stack_of(ls__runrec *x, int thread) {
  for (int i = 0; i < x->n_stacks; i++)
    if (x->stacks[i].thread == thread) return &x->stacks[i];
  if (x->n_stacks == MAX_THREADS) return NULL;
  tstack *s = &x->stacks[x->n_stacks++];
  s->thread = thread;
  s->depth = 0;
  return s;
}

static modacc *acc_of(ls__runrec *x, int module) {
  if (module < 0) return NULL;
  if ((size_t)module >= x->n_acc) {
    size_t n = (size_t)module + 64;
    modacc *a = ls_reallocarray(x->acc, n, sizeof *a);
    if (!a) return NULL;
    memset(a + x->n_acc, 0, (n - x->n_acc) * sizeof *a);
    x->acc = a;
    x->n_acc = n;
  }
  return &x->acc[module];
}

int ls__runrec_event(ls__runrec *x, const ls_dbg_event *ev, ls_diag *d) {
  int64_t t = now_ns();
  pthread_mutex_lock(&x->mu);
  int rc = LS_OK;
  tstack *s = x->run && !x->failed ? stack_of(x, ev->thread) : NULL;
  if (s && ev->phase == LS_DBG_ENTER) {
    if (s->depth < MAX_DEPTH) s->f[s->depth++] = (frame){.module = ev->module, .t0 = t - x->origin};
  } else if (s && s->depth > 0 && s->f[s->depth - 1].module == ev->module) {
    frame f = s->f[--s->depth];
    int64_t dur = t - x->origin - f.t0;
    if (s->depth) s->f[s->depth - 1].child += dur;
    modacc *a = acc_of(x, ev->module);
    if (a) {
      a->calls++;
      a->total_ns += dur;
      a->self_ns += dur - f.child;
    }
    rc = ls_rec_event_add(x->rec, x->run, x->seq++, ev->module, ev->pass == LS_DBG_BACKWARD ? "backward" : "forward",
                          ev->thread, (int64_t)ev->step, f.t0, dur, d);
    if (rc) fail(x, rc);
  }
  pthread_mutex_unlock(&x->mu);
  return rc;
}

int ls__runrec_stop(ls__runrec *x, ls_dbg_run *r, const ls_dbg_run_stop *stop, ls_diag *d) {
  const ls_dbg_event *ev = stop->ev;
  if (!ev) return LS_OK;
  /* the statistics first, outside the lock (the session computes and caches them) */
  ls_dbg_group g = ev->pass == LS_DBG_BACKWARD ? LS_DBG_G_GRADS : LS_DBG_G_OUTPUTS;
  if (!ev->n_vars[g] && ev->pass == LS_DBG_FORWARD) g = LS_DBG_G_INPUTS;
  enum { MAXV = 16 };
  ls_rec_tstats ts[MAXV];
  int nts = 0;
  for (int i = 0; i < ev->n_vars[g] && nts < MAXV; i++) {
    const ls_dbg_var *v = &ev->vars[g][i];
    if (!v->data) continue; /* bytes in another process: not fetched for the record */
    ls_dbg_tensor t;
    if (ls_dbg_run_tensor_on(r, stop->thread, g, i, &t, NULL) != LS_OK) continue;
    const ls_stats *st = ls_dbg_stats_cached(ls_dbg_run_dbg(r), &t);
    if (!st) continue;
    ls_rec_tstats *o = &ts[nts++];
    *o = (ls_rec_tstats){.module = ev->module, .tensor = v->name, .source = "stop", .dtype = ls_dtype_name(v->dtype),
                         .ndim = v->ndim, .step = (int64_t)ev->step, .thread = ev->thread, .st = *st};
    for (int k = 0; k < v->ndim && k < 8; k++) o->shape[k] = v->shape[k];
  }
  pthread_mutex_lock(&x->mu);
  int rc = LS_OK;
  if (x->run && !x->failed) {
    int64_t seq = x->seq++;
    rc = tx_open(x, d);
    if (!rc) rc = ls_rec_event_add(x->rec, x->run, seq, ev->module, "stop", ev->thread, (int64_t)ev->step,
                                   now_ns() - x->origin, 0, d);
    for (int i = 0; i < nts && !rc; i++) {
      ts[i].event_seq = seq;
      rc = ls_rec_tstats_add(x->rec, x->run, &ts[i], d);
    }
    if (!rc && stop->why.reason == LS_DBG_STOP_EXCEPTION && stop->why.filter)
      rc = ls_rec_finding_add(x->rec, x->run, ev->module, stop->why.filter, (int64_t)ev->step, ev->thread, seq,
                              stop->why.description[0] ? stop->why.description : stop->why.filter, d);
    if (!rc) rc = tx_commit(x, d);
    if (!rc) rc = tx_open(x, d);
    if (rc) fail(x, rc);
  }
  pthread_mutex_unlock(&x->mu);
  return rc;
}

int ls__runrec_end(ls__runrec *x, ls_dbg *g, const ls_dbg_run_end *end, ls_diag *d) {
  pthread_mutex_lock(&x->mu);
  int rc = LS_OK;
  if (x->run && !x->failed && end->rc != LS_OK && end->rc != LS_ECANCELED) {
    rc = tx_open(x, d);
    if (!rc) rc = ls_rec_finding_add(x->rec, x->run, -1, "error", 0, 1, -1, end->message, d);
    if (rc) fail(x, rc);
  }
  if (!rc) {
    const char *status = end->rc == LS_OK ? "ok" : end->rc == LS_ECANCELED ? "terminated" : "failed";
    rc = end_run(x, g, status, end->summary, d);
  }
  pthread_mutex_unlock(&x->mu);
  return rc;
}

int ls__runrec_query(ls__runrec *x, const char *sql, int timeout_ms, ls_rec_row_fn fn, void *ud, ls_diag *d) {
  pthread_mutex_lock(&x->mu);
  int rc = ls_rec_query(x->rec, sql, timeout_ms, fn, ud, d);
  pthread_mutex_unlock(&x->mu);
  return rc;
}
