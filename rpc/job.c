/* job.c: thread-pool jobs with a cancellation flag (see job.h). uv_cancel only removes jobs
 * that have not started; a running job learns of the cancellation through the atomic flag,
 * which its work function polls. Either way the done callback reports canceled = 1, so the
 * owner needs one code path. */
#include "rpc/job.h"

#include <stdatomic.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

struct rpc_job {
  uv_work_t req;
  rpc_job_work_fn work;
  rpc_job_done_fn done;
  void *arg;
  atomic_int canceled;
};

static void job_work(uv_work_t *req) {
  rpc_job *j = req->data;
  if (!atomic_load(&j->canceled)) j->work(j, j->arg);
}

static void job_after(uv_work_t *req, int status) {
  rpc_job *j = req->data;
  int canceled = status == UV_ECANCELED || atomic_load(&j->canceled);
  j->done(j, j->arg, canceled);
  ls_free(j);
}

int rpc_job_submit(uv_loop_t *loop, rpc_job_work_fn work, rpc_job_done_fn done, void *arg,
                   rpc_job **out) {
  rpc_job *j = ls_calloc(1, sizeof *j);
  if (!j) return LS_ENOMEM;
  j->work = work;
  j->done = done;
  j->arg = arg;
  atomic_init(&j->canceled, 0);
  j->req.data = j;
  if (uv_queue_work(loop, &j->req, job_work, job_after) != 0) {
    ls_free(j);
    return LS_EINVAL;
  }
  if (out) *out = j;
  return LS_OK;
}

void rpc_job_cancel(rpc_job *job) {
  atomic_store(&job->canceled, 1);
  uv_cancel((uv_req_t *)&job->req); /* fails harmlessly (UV_EBUSY) once the job runs */
}

int rpc_job_canceled(const rpc_job *job) {
  return atomic_load(&((rpc_job *)job)->canceled);
}
