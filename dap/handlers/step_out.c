/* step_out.c: the DAP `stepOut` request: step to the end of the parent module. */
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_step_out(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  if (dap_dbg_resume(s, x, LS_DBG_STEP_OUT) != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "stepOut: the %s is not paused", dap_dbg_what(s));
    return LS_OK;
  }
  dap_respond(s, req, NULL);
  return LS_OK;
}
