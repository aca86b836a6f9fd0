/* scopes.c: the DAP `scopes` request. The innermost frame (the stopped module) has Inputs,
 * Outputs, Parameters and Intermediates, and Gradients in a backward pass, and for a program
 * (the agent target) Step: the training step, the pass and the process; in a generation run,
 * an attention module's KV cache (dap/vars.c); outer frames are still running and have none. */
#include "core/base/errors.h"
#include "dap/vars.h"

int dap_on_scopes(dap_server *s, dap_req *req, json_t *args) {
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  json_t *fid = json_object_get(args, "frameId");
  if (!json_is_integer(fid) || json_integer_value(fid) < 1) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "scopes: 'frameId' must be a frame id from stackTrace");
    return LS_OK;
  }
  json_t *scopes = json_array();
  int thread = 0, index = -1;
  if (dap_dbg_frame_of(x, (int)json_integer_value(fid), &thread, &index) != 0 && json_integer_value(fid) == 1)
    index = 0; /* a client that asks before stackTrace: the reported stop's innermost frame */
  const ls_dbg_event *ev = index == 0 ? ls_dbg_run_event(x->run, thread) : NULL;
  if (ev) {
    static const char *const NAMES[LS_DBG_G_COUNT] = {"Inputs", "Outputs", "Parameters", "Intermediates", "Gradients"};
    int n = ev->pass == LS_DBG_BACKWARD ? LS_DBG_G_COUNT : LS_DBG_G_GRADS;
    for (int g = 0; g < n; g++) {
      int count = ev->n_vars[g] + (g == LS_DBG_G_INTER && ev->layer >= 0); /* with `layer` */
      if (g == LS_DBG_G_INTER) count -= dap_vars_kv_count(ev);
      json_array_append_new(scopes, json_pack("{s:s, s:i, s:i, s:b}", "name", NAMES[g], "variablesReference",
                                              dap_vars_scope_on(x->vars, g, thread), "namedVariables", count,
                                              "expensive", 0));
    }
    /* a generation run's attention: the layer's KV cache (layer, tokens, keys, values) */
    int kv = dap_vars_kv_count(ev);
    if (kv)
      json_array_append_new(scopes, json_pack("{s:s, s:i, s:i, s:b}", "name", "KV cache", "variablesReference",
                                              dap_vars_scope_on(x->vars, DAP_SCOPE_KV, thread), "namedVariables",
                                              2 + kv, "expensive", 0));
    /* a program's training step, pass and process (the engine's one pass has none) */
    if (!ls_dbg_run_info(x->run)->model)
      json_array_append_new(scopes, json_pack("{s:s, s:i, s:i, s:b}", "name", "Step", "variablesReference",
                                              dap_vars_scope_on(x->vars, DAP_SCOPE_STEP, thread), "namedVariables",
                                              3, "expensive", 0));
  }
  dap_respond(s, req, json_pack("{s:o}", "scopes", scopes));
  return LS_OK;
}
