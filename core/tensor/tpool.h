/* tpool.h (internal to core/tensor): the statistics' worker threads. core/tensor sits
 * below core/engine, so it cannot use the engine's pool; this one is a process-wide set of
 * pthreads started on first use. ls__tpool_run hands out task indices through an atomic
 * counter, the caller working too; a second concurrent caller (or a nested call from a
 * task) runs its tasks inline instead of waiting, so the pool can never deadlock. */
#ifndef LS_TENSOR_TPOOL_H
#define LS_TENSOR_TPOOL_H

typedef void (*ls__task_fn)(void *ctx, int task);

/* Sets the thread count before the pool starts (<= 0: online CPUs / LAYERSCOPE_THREADS). */
void ls__tpool_threads_set(int n);
/* Number of threads that take part (pool workers + the caller). */
int ls__tpool_threads(void);
/* Runs fn(ctx, i) for i in [0, n) and returns when all are done. */
void ls__tpool_run(int n, ls__task_fn fn, void *ctx);

#endif
