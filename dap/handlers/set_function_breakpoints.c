/* set_function_breakpoints.c: the DAP `setFunctionBreakpoints` request: module-name globs
 * (`model.layers.*.mlp`, `*.self_attn`), each verified with the number of modules it
 * matches, with optional conditions and hit counts. */
#include "core/base/errors.h"
#include "dap/breakpoints.h"

int dap_on_set_function_breakpoints(dap_server *s, dap_req *req, json_t *args) {
  ls_diag d;
  ls_diag_init(&d);
  dap_dbg *x = dap_dbg_get(s, &d);
  if (!x) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "setFunctionBreakpoints: %s", d.msg);
    return LS_OK;
  }
  const char *why = "out of memory";
  json_t *body = dap_bps_set_function(x, json_object_get(args, "breakpoints"), &why);
  if (!body) dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "setFunctionBreakpoints: %s", why);
  else dap_respond(s, req, body);
  return LS_OK;
}
