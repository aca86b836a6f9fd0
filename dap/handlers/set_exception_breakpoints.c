/* set_exception_breakpoints.c: the DAP `setExceptionBreakpoints` request: the filters nan,
 * inf and fp16 (overflow), each stopping at the first module whose output has the problem. */
#include "core/base/errors.h"
#include "dap/breakpoints.h"

int dap_on_set_exception_breakpoints(dap_server *s, dap_req *req, json_t *args) {
  ls_diag d;
  ls_diag_init(&d);
  dap_dbg *x = dap_dbg_get(s, &d);
  if (!x) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "setExceptionBreakpoints: %s", d.msg);
    return LS_OK;
  }
  const char *why = "";
  if (dap_bps_set_exceptions(x, json_object_get(args, "filters"), json_object_get(args, "filterOptions"), &why))
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "setExceptionBreakpoints: %s", why);
  else dap_respond(s, req, NULL);
  return LS_OK;
}
