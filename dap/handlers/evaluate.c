/* evaluate.c: the DAP `evaluate` request (repl, watch, hover) in the debugger's own
 * expression language (core/debug/expr.h): names of the paused module's tensors and of
 * kept outputs, indexing, statistics functions, arithmetic. Nothing else is reachable.
 * Errors name the column and the problem. */
#include <stdio.h>

#include "core/base/errors.h"
#include "dap/vars.h"

int dap_on_evaluate(dap_server *s, dap_req *req, json_t *args) {
  json_t *ex = json_object_get(args, "expression");
  if (!json_is_string(ex)) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "evaluate: 'expression' must be a string");
    return LS_OK;
  }
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  ls_diag d;
  ls_diag_init(&d);
  ls_dbg_value v;
  int thread = 0, index;
  json_t *fid = json_object_get(args, "frameId");
  if (json_is_integer(fid)) dap_dbg_frame_of(x, (int)json_integer_value(fid), &thread, &index);
  if (ls_dbg_run_eval_on(x->run, thread, json_string_value(ex), &v, &d) != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "%s", d.msg);
    return LS_OK;
  }
  json_t *body = NULL;
  if (v.kind == LS_DBG_V_NUM) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", v.num);
    body = json_pack("{s:s, s:s, s:i}", "result", buf, "type", "number", "variablesReference", 0);
  } else if (v.kind == LS_DBG_V_TEXT) {
    body = json_pack("{s:s, s:i}", "result", v.text, "variablesReference", 0);
  } else {
    char line[320];
    dap_vars_tensor_line(x, &v.t, line, sizeof line);
    /* the table takes an owned result buffer; a borrowed tensor stays the event's */
    int ref = dap_vars_tensor(x->vars, &v.t, v.label[0] ? v.label : "value", v.t.owned);
    v.t.owned = NULL;
    body = json_pack("{s:s, s:s, s:i, s:i}", "result", line, "type", "tensor", "variablesReference", ref,
                     "namedVariables", 2);
    if (body && ref) {
      char mem[32];
      snprintf(mem, sizeof mem, "tensor:%d", ref);
      json_object_set_new(body, "memoryReference", json_string(mem));
    }
    if (body && v.t.ndim >= 1 && ls_dtype_block_elems(v.t.dtype) == 1)
      json_object_set_new(body, "indexedVariables", json_integer(v.t.shape[0]));
  }
  ls_dbg_value_free(&v);
  dap_respond(s, req, body);
  return LS_OK;
}
