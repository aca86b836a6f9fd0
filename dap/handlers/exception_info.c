/* exception_info.c: the DAP `exceptionInfo` request, which VS Code sends after a stop with
 * reason "exception" to fill its exception widget: the filter (nan, inf, fp16) and the
 * description naming the module, the count and the first index. */
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_exception_info(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  const ls_dbg_stop *why = &dap_dbg_stop(x)->why;
  if (why->reason != LS_DBG_STOP_EXCEPTION || !why->filter) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "exceptionInfo: the %s is not stopped at an exception (it stopped: %s)",
                      dap_dbg_what(s), ls_dbg_reason_name(why->reason));
    return LS_OK;
  }
  dap_respond(s, req, json_pack("{s:s, s:s, s:s}", "exceptionId", why->filter, "description", why->description,
                                "breakMode", "always"));
  return LS_OK;
}
