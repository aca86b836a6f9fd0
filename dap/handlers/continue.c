/* continue.c: the DAP `continue` request: resume the forward pass until the next stop. */
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_continue(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  if (dap_dbg_resume(s, x, LS_DBG_CONTINUE) != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "continue: the %s is not paused", dap_dbg_what(s));
    return LS_OK;
  }
  dap_respond(s, req, json_pack("{s:b}", "allThreadsContinued", 1));
  return LS_OK;
}
