/* variables.c: the DAP `variables` request: tensors as one line of statistics, with
 * children for the statistics, a histogram and slices along the first dimension, paged with
 * filter / start / count (dap/vars.c). */
#include "core/base/errors.h"
#include "dap/vars.h"

int dap_on_variables(dap_server *s, dap_req *req, json_t *args) {
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  json_t *ref = json_object_get(args, "variablesReference");
  if (!json_is_integer(ref)) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "variables: 'variablesReference' must be an integer");
    return LS_OK;
  }
  const char *why = "out of memory";
  json_t *body = dap_vars_list(x, (int)json_integer_value(ref), args, &why);
  if (!body) dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "variables: %s", why);
  else dap_respond(s, req, body);
  return LS_OK;
}
