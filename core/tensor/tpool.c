/* tpool.c: the process-wide worker threads of the statistics (see tpool.h). Workers sleep
 * on a condition variable between jobs; a job is (fn, ctx, n) plus an atomic next-task
 * counter. The threads live until the process exits (they hold no resources but their
 * stacks), which keeps the first statistics call of a CLI run the only one paying the
 * thread start. */
#include "core/tensor/tpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define TPOOL_MAX 256

static struct {
  pthread_once_t once;
  pthread_mutex_t lock;     /* guards the job fields and generation */
  pthread_cond_t wake, done;
  pthread_mutex_t busy;     /* held by the caller whose job is running */
  int n_workers, requested;
  unsigned long generation;
  ls__task_fn fn;
  void *ctx;
  int n_tasks;
  int next;                 /* atomic: next task index */
  int active;               /* workers still inside the current job */
} g = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
       PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, NULL, NULL, 0, 0, 0};

static void drain(ls__task_fn fn, void *ctx, int n) {
  for (int i; (i = __atomic_fetch_add(&g.next, 1, __ATOMIC_RELAXED)) < n;) fn(ctx, i);
}

static void *worker(void *arg) {
  (void)arg;
  unsigned long seen = 0;
  pthread_mutex_lock(&g.lock);
  for (;;) {
    while (g.generation == seen) pthread_cond_wait(&g.wake, &g.lock);
    seen = g.generation;
    ls__task_fn fn = g.fn;
    void *ctx = g.ctx;
    int n = g.n_tasks;
    pthread_mutex_unlock(&g.lock);
    drain(fn, ctx, n);
    pthread_mutex_lock(&g.lock);
    if (--g.active == 0) pthread_cond_signal(&g.done);
  }
  return NULL;
}

static void start(void) {
  int n = g.requested;
  if (n <= 0) {
    const char *e = getenv("LAYERSCOPE_THREADS");
    n = e ? atoi(e) : 0;
  }
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > TPOOL_MAX) n = TPOOL_MAX;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int started = 0;
  for (int i = 0; i < n - 1; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, worker, NULL) == 0) started++;
  }
  pthread_attr_destroy(&attr);
  g.n_workers = started; /* fewer threads if creation failed: still correct */
}

void ls__tpool_threads_set(int n) { g.requested = n; }

int ls__tpool_threads(void) {
  pthread_once(&g.once, start);
  return g.n_workers + 1;
}

void ls__tpool_run(int n, ls__task_fn fn, void *ctx) {
  pthread_once(&g.once, start);
  if (n <= 0) return;
  if (n == 1 || g.n_workers == 0 || pthread_mutex_trylock(&g.busy) != 0) {
    for (int i = 0; i < n; i++) fn(ctx, i);
    return;
  }
  pthread_mutex_lock(&g.lock);
  g.fn = fn;
  g.ctx = ctx;
  g.n_tasks = n;
  __atomic_store_n(&g.next, 0, __ATOMIC_RELAXED);
  g.active = g.n_workers;
  g.generation++;
  pthread_cond_broadcast(&g.wake);
  pthread_mutex_unlock(&g.lock);
  drain(fn, ctx, n);
  pthread_mutex_lock(&g.lock);
  while (g.active > 0) pthread_cond_wait(&g.done, &g.lock);
  pthread_mutex_unlock(&g.lock);
  pthread_mutex_unlock(&g.busy);
}
