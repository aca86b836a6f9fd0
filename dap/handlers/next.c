/* next.c: the DAP `next` request: step to the next module at the same depth (or the end of this one). */
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_next(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  if (dap_dbg_resume(s, x, LS_DBG_STEP_OVER) != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "next: the %s is not paused", dap_dbg_what(s));
    return LS_OK;
  }
  dap_respond(s, req, NULL);
  return LS_OK;
}
