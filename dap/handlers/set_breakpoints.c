/* set_breakpoints.c: the DAP `setBreakpoints` request: source breakpoints on lines of the
 * launched config.json; a line stops at the modules its key configures (dap/breakpoints.c). */
#include "core/base/errors.h"
#include "dap/breakpoints.h"

int dap_on_set_breakpoints(dap_server *s, dap_req *req, json_t *args) {
  ls_diag d;
  ls_diag_init(&d);
  dap_dbg *x = dap_dbg_get(s, &d);
  if (!x) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "setBreakpoints: %s", d.msg);
    return LS_OK;
  }
  const char *why = "out of memory";
  json_t *body = dap_bps_set_source(s, x, args, &why);
  if (!body) dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "setBreakpoints: %s", why);
  else dap_respond(s, req, body);
  return LS_OK;
}
