/* scopes.c: the DAP `scopes` request. The innermost frame (the paused module) has Inputs,
 * Outputs, Parameters and Intermediates; outer frames are still running and have none. */
#include "core/base/errors.h"
#include "dap/engine.h"

int dap_on_scopes(dap_server *s, dap_req *req, json_t *args) {
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  json_t *fid = json_object_get(args, "frameId");
  if (!json_is_integer(fid) || json_integer_value(fid) < 1) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "scopes: 'frameId' must be a frame id from stackTrace");
    return LS_OK;
  }
  json_t *scopes = json_array();
  if (json_integer_value(fid) == 1) {
    const ls_fwd_event *ev = x->ev;
    static const char *const NAMES[] = {"Inputs", "Outputs", "Parameters", "Intermediates"};
    int counts[] = {ev->n_inputs, ev->n_outputs, ev->n_params, ev->n_inter + (ev->mod->layer >= 0)};
    for (int g = 0; g < 4; g++)
      json_array_append_new(scopes, json_pack("{s:s, s:i, s:i, s:b}", "name", NAMES[g], "variablesReference",
                                              dap_vars_scope(x->vars, g), "namedVariables", counts[g],
                                              "expensive", 0));
  }
  dap_respond(s, req, json_pack("{s:o}", "scopes", scopes));
  return LS_OK;
}
