/* pool.h: the engine's worker threads. Every parallel kernel of the engine (matrix products
 * over weight panels, attention heads, norms over rows) is "run task i of n" on this pool;
 * the calling thread takes part as worker 0, so a pool of 1 thread runs everything inline
 * and costs nothing. Matrix products call single-threaded OpenBLAS from each worker (the
 * pool splits the output columns), which is why ls_pool_new sets OpenBLAS to one thread:
 * nesting two thread pools would oversubscribe the cores. */
#ifndef LS_ENGINE_POOL_H
#define LS_ENGINE_POOL_H

#include <stddef.h>

typedef struct ls_pool ls_pool;

/* task(ctx, i, worker): run task i (0 <= i < n) on worker `worker` (0 <= worker < threads). */
typedef void (*ls_pool_task_fn)(void *ctx, int i, int worker);

/* Creates a pool of n_threads workers (n_threads <= 0: the number of online CPUs, capped
 * at 64). Returns LS_OK or LS_ENOMEM/LS_EIO. *out is new (ls_pool_free). */
int ls_pool_new(ls_pool **out, int n_threads);
void ls_pool_free(ls_pool *p);
int ls_pool_threads(const ls_pool *p);

/* Runs task(ctx, i, w) for every i in [0, n) and returns when all are done. Tasks are
 * handed out dynamically (an atomic counter), so uneven tasks balance. Not reentrant: a
 * task must not call ls_pool_run on the same pool. A NULL pool runs inline. */
void ls_pool_run(ls_pool *p, int n, ls_pool_task_fn task, void *ctx);

/* Per-worker scratch memory of at least `bytes` bytes, 64-byte aligned, kept between calls
 * (grown when asked for more). Borrowed: valid until the next call for the same worker
 * asking for more, or ls_pool_free. NULL when out of memory or p is NULL. */
float *ls_pool_scratch(ls_pool *p, int worker, size_t bytes);

/* Worker `worker`'s oneDNN state (ops_dnnl.h): created by the first oneDNN product it runs,
 * freed with the pool. NULL when p is NULL or worker is out of range. */
typedef struct ls_dnnl_worker ls_dnnl_worker;
ls_dnnl_worker **ls_pool_dnnl_slot(ls_pool *p, int worker);

/* A buffer for the caller of ls_pool_run to share with its tasks (a product's activations
 * rounded to bf16), kept between calls like the per-worker scratch: one per pool, so it is
 * valid until the next ls_pool_job_scratch call asking for more, or ls_pool_free. Reusing
 * it spares each call a fresh allocation (above glibc's mmap threshold, page faults every
 * time on the first pass). NULL when out of memory or p is NULL. */
float *ls_pool_job_scratch(ls_pool *p, size_t bytes);

/* ---- job spans, for a profiler ---------------------------------------------------------
 * With a trace set, each worker w >= 1 appends, for every job it takes tasks of, one span:
 * when it took its first task and finished its last (CLOCK_MONOTONIC ns) and how many it
 * ran. Each worker writes only its own array (no locks, no allocation on the workers); a
 * full array counts the spans it could not keep in `dropped`. Worker 0 is the caller, whose
 * thread a profiler already times. Set and cleared only while no job runs (between passes):
 * the next job's publication makes the pointer visible to the workers. */
typedef struct ls_pool_span {
  long long t0_ns, t1_ns; /* CLOCK_MONOTONIC */
  int tasks;              /* tasks of the job this worker ran */
} ls_pool_span;

typedef struct ls_pool_trace {
  int n_workers;              /* entries of the arrays below (the pool's thread count) */
  ls_pool_span **spans;       /* [n_workers][cap] (row 0 unused) */
  size_t *n;                  /* [n_workers] spans kept */
  size_t cap;                 /* per worker */
  size_t *dropped;            /* [n_workers] spans that did not fit */
} ls_pool_trace;

/* Starts (t != NULL) or stops recording job spans into t (borrowed until stopped). */
void ls_pool_trace_set(ls_pool *p, ls_pool_trace *t);

#endif
