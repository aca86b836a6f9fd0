/* job.h: heavy work off the loop thread, on libuv's thread pool, with cancellation. A job's
 * work function runs on a pool thread and polls rpc_job_canceled() at convenient points;
 * its done function runs afterwards on the loop thread, where results are sent. This keeps
 * the loop free to answer $/cancelRequest, pause and disconnect while analysis runs.
 *
 *   static void work(rpc_job *j, void *arg) { while (more && !rpc_job_canceled(j)) step(); }
 *   static void done(rpc_job *j, void *arg, int canceled) { if (!canceled) publish(arg); free(arg); }
 *   rpc_job_submit(loop, work, done, arg, &handle);   ...   rpc_job_cancel(handle);
 *
 * The job (and the handle) is freed right after done returns. */
#ifndef LS_RPC_JOB_H
#define LS_RPC_JOB_H

#include <uv.h>

typedef struct rpc_job rpc_job;
typedef void (*rpc_job_work_fn)(rpc_job *job, void *arg);                /* pool thread */
typedef void (*rpc_job_done_fn)(rpc_job *job, void *arg, int canceled);  /* loop thread */

/* Queues the job. done always runs exactly once (canceled = 1 if it was canceled, whether
 * before or while it ran). Returns 0 or LS_ENOMEM (nothing queued; done does not run). */
int rpc_job_submit(uv_loop_t *loop, rpc_job_work_fn work, rpc_job_done_fn done, void *arg,
                   rpc_job **out);
/* Asks the job to stop: a queued job never runs; a running one sees rpc_job_canceled().
 * Loop thread; the job must not have completed yet (its done has not run). */
void rpc_job_cancel(rpc_job *job);
/* Any thread. */
int rpc_job_canceled(const rpc_job *job);

#endif
