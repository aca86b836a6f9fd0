/* step_in.c: the DAP `stepIn` request: step into the first child module (the very next module event). */
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_step_in(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  if (dap_dbg_resume(s, x, LS_DBG_STEP_IN) != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "stepIn: the %s is not paused", dap_dbg_what(s));
    return LS_OK;
  }
  dap_respond(s, req, NULL);
  return LS_OK;
}
