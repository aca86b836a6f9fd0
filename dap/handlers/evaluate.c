/* evaluate.c: the DAP `evaluate` request (repl, watch, hover) in the debugger's own
 * expression language (core/debug/expr.h): names of the paused module's tensors and of
 * kept outputs, indexing, statistics functions, arithmetic. Nothing else is reachable.
 * Errors name the column and the problem.
 *
 * `sql SELECT ...` in the REPL is answered from the session's run record (the launch's
 * `record` argument) at any time, stopped or not: one read-only statement, its rows as an
 * aligned table of at most SQL_MAX_ROWS rows, stopped after SQL_TIMEOUT_MS so the adapter's
 * loop never waits long on a query. */
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/record/record.h"
#include "dap/vars.h"

#define SQL_MAX_ROWS 200
#define SQL_TIMEOUT_MS 10000

static int eval_sql(dap_server *s, dap_req *req, const char *sql) {
  dap_dbg *x = s->session.dbg;
  if (!x) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "sql: no run yet (launch with a 'record' file first)");
    return LS_OK;
  }
  ls_rec_text t;
  ls_rec_text_init(&t, SQL_MAX_ROWS);
  ls_diag d;
  ls_diag_init(&d);
  char *text = NULL;
  int rc = ls_dbg_run_query(x->run, sql, SQL_TIMEOUT_MS, ls_rec_text_row, &t, &d);
  if (rc == LS_OK) rc = ls_rec_text_render(&t, &text);
  ls_rec_text_free(&t);
  if (rc == LS_ENOMEM) return rc;
  if (rc != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "sql: %s", d.msg);
    return LS_OK;
  }
  size_t n = strlen(text);
  if (n && text[n - 1] == '\n') text[n - 1] = 0; /* the REPL adds its own line end */
  dap_respond(s, req, json_pack("{s:s, s:i}", "result", text, "variablesReference", 0));
  ls_free(text);
  return LS_OK;
}

int dap_on_evaluate(dap_server *s, dap_req *req, json_t *args) {
  json_t *ex = json_object_get(args, "expression");
  if (!json_is_string(ex)) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "evaluate: 'expression' must be a string");
    return LS_OK;
  }
  const char *src = json_string_value(ex);
  while (*src == ' ') src++;
  if (strncmp(src, "sql ", 4) == 0) return eval_sql(s, req, src + 4);
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
