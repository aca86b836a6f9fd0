/* pool.c: a fixed set of pthreads that wait between jobs. A job is (task function, context,
 * n); workers and the caller pull task indices from one atomic counter and the last one to
 * finish signals the caller. Jobs are short (one matrix product, one attention layer: a
 * forward pass of GPT-2 small is ~150 jobs of 0.05-2 ms), so the pool favours low dispatch
 * cost: after a job, a worker spins on the job counter for up to SPIN_NS (yielding the core
 * now and then) before it sleeps on the condition variable, and the caller spins likewise
 * for the last worker. Waking a sleeping thread costs tens of microseconds on a VM, as much
 * as a small job; a forward pass keeps the workers within the spin window, and an idle pool
 * (a paused debugger) sleeps. */
#include "core/engine/pool.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/ops_dnnl.h"

typedef struct pool_scratch {
  float *buf;  /* [cap / sizeof(float)] scratch floats, 64-byte aligned */
  size_t cap;  /* bytes */
  ls_dnnl_worker *dnnl; /* this worker's oneDNN stream and primitives (ops_dnnl.h), or NULL */
} pool_scratch;

struct ls_pool {
  int n_threads;
  pthread_t *threads;          /* [n_threads - 1] workers 1..n-1; worker 0 is the caller */
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  atomic_ulong generation;     /* incremented for every job (written under mu) */
  int spin_yield;              /* more threads than CPUs: yield while spinning */
  atomic_int quit;             /* set under mu */
  ls_pool_task_fn fn;          /* current job */
  void *ctx;
  int n;
  atomic_int next;             /* next task index to hand out */
  atomic_int active;           /* workers still inside the current job */
  pool_scratch *scratch;       /* [n_threads + 1]: one per worker, then the caller's job buffer */
  ls_pool_trace *trace;        /* job spans for a profiler, or NULL (pool.h) */
};

typedef struct pool_arg {
  ls_pool *p;
  int worker;
} pool_arg;

#define SPIN_NS 2000000L /* 2 ms */

extern int blas_thread_shutdown_(void) __attribute__((weak)); /* OpenBLAS, pthreads build */

static long long mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One spin step: a pause, and every 64th step (or every step when there are more threads
 * than CPUs) a sched_yield, so that another runnable thread of the process (the statistics
 * pool of core/tensor computing in a hook, say) gets the core instead of waiting for the
 * spin to end. */
static inline void cpu_relax(const ls_pool *p, unsigned i) {
  if (p->spin_yield || (i & 63) == 63) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
  else __builtin_ia32_pause();
#endif
}

/* Spins until cond(p, arg) holds or SPIN_NS pass; returns whether it holds. */
static int spin_until(ls_pool *p, int (*cond)(ls_pool *, unsigned long), unsigned long arg) {
  long long t0 = 0;
  for (unsigned i = 0;; i++) {
    if (cond(p, arg)) return 1;
    if ((i & 255) == 255) {
      long long t = mono_ns();
      if (!t0) t0 = t;
      else if (t - t0 > SPIN_NS) return 0;
    }
    cpu_relax(p, i);
  }
}

static int new_job(ls_pool *p, unsigned long seen) {
  return atomic_load_explicit(&p->generation, memory_order_acquire) != seen ||
         atomic_load_explicit(&p->quit, memory_order_relaxed);
}

static int all_done(ls_pool *p, unsigned long unused) {
  (void)unused;
  return atomic_load(&p->active) == 0;
}

static void pool_drain(ls_pool *p, int worker) {
  ls_pool_trace *tr = worker > 0 ? p->trace : NULL;
  long long t0 = 0;
  int tasks = 0;
  for (;;) {
    int i = atomic_fetch_add(&p->next, 1);
    if (i >= p->n) break;
    if (tr && !tasks) t0 = mono_ns();
    p->fn(p->ctx, i, worker);
    tasks++;
  }
  if (tr && tasks && worker < tr->n_workers) {
    if (tr->n[worker] < tr->cap)
      tr->spans[worker][tr->n[worker]++] = (ls_pool_span){.t0_ns = t0, .t1_ns = mono_ns(), .tasks = tasks};
    else
      tr->dropped[worker]++;
  }
}

static void *pool_main(void *arg) {
  pool_arg a = *(pool_arg *)arg;
  ls_free(arg);
  ls_pool *p = a.p;
  unsigned long seen = 0;
  for (;;) {
    if (!spin_until(p, new_job, seen)) {
      pthread_mutex_lock(&p->mu);
      while (!p->quit && atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->quit)) return NULL;
    seen = atomic_load_explicit(&p->generation, memory_order_acquire);
    pool_drain(p, a.worker);
    if (atomic_fetch_sub(&p->active, 1) == 1) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

int ls_pool_new(ls_pool **out, int n_threads) {
  *out = NULL;
  if (n_threads <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    n_threads = n > 0 ? (int)n : 1;
  }
  if (n_threads > 64) n_threads = 64;
  ls_pool *p = ls_calloc(1, sizeof *p);
  if (!p) return LS_ENOMEM;
  p->n_threads = n_threads;
  p->scratch = ls_calloc((size_t)n_threads + 1, sizeof *p->scratch);
  p->threads = ls_calloc((size_t)n_threads, sizeof *p->threads);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  p->spin_yield = cpus > 0 && n_threads > cpus;
  if (!p->scratch || !p->threads) {
    ls_free(p->scratch);
    ls_free(p->threads);
    ls_free(p);
    return LS_ENOMEM;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  /* Each worker calls single-threaded sgemm on its own panel (see pool.h). OpenBLAS (the
   * pthreads build) starts its own server threads when the library loads, and they spin
   * with sched_yield for about 0.1 s before sleeping: on a 2-core machine that spin landed
   * inside a GPT-2 forward pass started right after, 55 -> 88 ms. With one thread OpenBLAS
   * never uses them, so they are stopped (blas_thread_shutdown_, what OpenBLAS itself
   * calls before fork; weak, absent from other builds). */
  openblas_set_num_threads(1);
  if (blas_thread_shutdown_) blas_thread_shutdown_();
  int started = 1, rc = LS_EIO;
  for (int w = 1; w < n_threads; w++) {
    pool_arg *a = ls_malloc(sizeof *a);
    if (!a) {
      rc = LS_ENOMEM;
      break;
    }
    a->p = p;
    a->worker = w;
    if (pthread_create(&p->threads[w - 1], NULL, pool_main, a) != 0) {
      ls_free(a);
      break;
    }
    started++;
  }
  if (started != n_threads) {
    p->n_threads = started; /* join what started */
    ls_pool_free(p);
    return rc;
  }
  *out = p;
  return LS_OK;
}

void ls_pool_free(ls_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->quit, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int w = 1; w < p->n_threads; w++) pthread_join(p->threads[w - 1], NULL);
  for (int w = 0; w <= p->n_threads; w++) {
    free(p->scratch[w].buf);
    ls_dnnl_worker_free(p->scratch[w].dnnl);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  ls_free(p->scratch);
  ls_free(p->threads);
  ls_free(p);
}

int ls_pool_threads(const ls_pool *p) { return p ? p->n_threads : 1; }

void ls_pool_trace_set(ls_pool *p, ls_pool_trace *t) {
  if (p) p->trace = t;
}

void ls_pool_run(ls_pool *p, int n, ls_pool_task_fn task, void *ctx) {
  if (n <= 0) return;
  if (!p || p->n_threads == 1 || n == 1) {
    for (int i = 0; i < n; i++) task(ctx, i, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = task;
  p->ctx = ctx;
  p->n = n;
  atomic_store(&p->next, 0);
  atomic_store(&p->active, p->n_threads - 1);
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release); /* publishes the job */
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  pool_drain(p, 0);
  if (spin_until(p, all_done, 0)) return;
  pthread_mutex_lock(&p->mu);
  while (atomic_load(&p->active) != 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

static float *scratch_get(pool_scratch *s, size_t bytes) {
  if (s->cap >= bytes && s->buf) return s->buf;
  size_t cap = (bytes + 63) & ~(size_t)63;
  void *nb = NULL;
  if (posix_memalign(&nb, 64, cap ? cap : 64) != 0) return NULL;
  free(s->buf);
  s->buf = nb;
  s->cap = cap;
  return s->buf;
}

float *ls_pool_scratch(ls_pool *p, int worker, size_t bytes) {
  if (!p || worker < 0 || worker >= p->n_threads) return NULL;
  return scratch_get(&p->scratch[worker], bytes);
}

ls_dnnl_worker **ls_pool_dnnl_slot(ls_pool *p, int worker) {
  if (!p || worker < 0 || worker >= p->n_threads) return NULL;
  return &p->scratch[worker].dnnl;
}

float *ls_pool_job_scratch(ls_pool *p, size_t bytes) {
  if (!p) return NULL;
  return scratch_get(&p->scratch[p->n_threads], bytes);
}
