/* debug_sleep.c: layerscope/debugSleep {ms}, a test-only request (enabled by
 * LAYERSCOPE_DEBUG_METHODS=1) that occupies a pool thread for `ms` milliseconds while
 * polling for cancellation. The protocol tests use it to prove that the loop keeps answering
 * while a job runs and that $/cancelRequest stops a running job with one -32800 response. */
#include <uv.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "lsp/server.h"

typedef struct sleep_job {
  int64_t ms;       /* requested duration */
  int64_t slept;    /* milliseconds actually slept */
} sleep_job;

static void sleep_work(rpc_job *job, void *arg) {
  sleep_job *sj = arg;
  while (sj->slept < sj->ms && !rpc_job_canceled(job)) {
    uv_sleep(5);
    sj->slept += 5;
  }
}

static void sleep_done(lsp_server *s, lsp_req *req, void *arg, int canceled) {
  sleep_job *sj = arg;
  if (!canceled) lsp_reply(s, req, json_pack("{s:I}", "slept", (json_int_t)sj->slept));
  ls_free(sj);
}

int lsp_on_debug_sleep(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *ms;
  if (lsp_param(s, req, params, "ms", LSP_T_UINTEGER, 1, &ms)) return LS_EINVAL;
  if (json_integer_value(ms) > 60000) {
    lsp_reply_error(s, req, LSP_ERR_INVALID_PARAMS, "field 'ms' must be at most 60000");
    return LS_EINVAL;
  }
  sleep_job *sj = ls_calloc(1, sizeof *sj);
  if (!sj) return LS_ENOMEM;
  sj->ms = json_integer_value(ms);
  int rc = lsp_req_run_job(s, req, sleep_work, sleep_done, sj);
  if (rc != LS_OK) ls_free(sj);
  return rc;
}
