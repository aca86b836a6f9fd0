/* initialize.c: the DAP `initialize` request. Records the client's arguments (line/column
 * base, path format, supported features) and answers with the adapter's capabilities. The
 * `initialized` event follows the launch response (launch.c), once the model is known, so
 * breakpoints can be verified against it. New capabilities go here. */
#include <string.h>

#include "core/base/diag.h"
#include "core/base/errors.h"
#include "dap/breakpoints.h"
#include "dap/server.h"

static int opt_bool(dap_server *s, dap_req *req, json_t *args, const char *key, int *out) {
  json_t *v = json_object_get(args, key);
  if (!v) return LS_OK;
  if (!json_is_boolean(v)) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "initialize: argument '%s' must be a boolean", key);
    return LS_EINVAL;
  }
  *out = json_is_true(v);
  return LS_OK;
}

int dap_on_initialize(dap_server *s, dap_req *req, json_t *args) {
  if (s->session.state != DAP_S_NEW) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "initialize: may only be sent once");
    return LS_OK;
  }
  if (!args) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "initialize: 'arguments' with 'adapterID' are required");
    return LS_OK;
  }
  json_t *aid = json_object_get(args, "adapterID");
  if (!json_is_string(aid)) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "initialize: argument 'adapterID' must be a string");
    return LS_OK;
  }
  json_t *pf = json_object_get(args, "pathFormat");
  if (pf && (!json_is_string(pf) || (strcmp(json_string_value(pf), "path") != 0 &&
                                     strcmp(json_string_value(pf), "uri") != 0))) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "initialize: argument 'pathFormat' must be \"path\" or \"uri\"");
    return LS_OK;
  }
  int lines1 = 1, cols1 = 1;
  if (opt_bool(s, req, args, "linesStartAt1", &lines1) || opt_bool(s, req, args, "columnsStartAt1", &cols1))
    return LS_OK;
  json_t *body = json_pack("{s:b, s:b, s:b}", "supportsConfigurationDoneRequest", 1,
                           "supportsTerminateRequest", 1, "supportTerminateDebuggee", 1);
  if (!body) return LS_ENOMEM;
  /* the debugger (dap/debugger.c): breakpoints, exception filters, inspection */
  if (s->session.open_target) {
    json_object_set_new(body, "supportsFunctionBreakpoints", json_true());
    json_object_set_new(body, "supportsConditionalBreakpoints", json_true());
    json_object_set_new(body, "supportsHitConditionalBreakpoints", json_true());
    json_object_set_new(body, "supportsEvaluateForHovers", json_true());
    json_object_set_new(body, "supportsDelayedStackTraceLoading", json_true());
    json_object_set_new(body, "supportsReadMemoryRequest", json_true());
    json_object_set_new(body, "supportsRestartRequest", json_true());
    json_object_set_new(body, "supportsExceptionInfoRequest", json_true());
    json_object_set_new(body, "exceptionBreakpointFilters", dap_bps_exception_filters());
    /* custom request of the VS Code extension's pictures (layerscope_tensor.c) */
    json_object_set_new(body, "supportsLayerscopeTensor", json_true());
  }
  ls_diag d;
  ls_diag_init(&d);
  if (dap_session_transition(&s->session, DAP_S_INITIALIZED, &d) != LS_OK) {
    json_decref(body);
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "initialize: %s", d.msg);
    return LS_OK;
  }
  s->lines_start_at1 = lines1;
  s->columns_start_at1 = cols1;
  s->client_args = json_incref(args);
  dap_respond(s, req, body);
  return LS_OK;
}
