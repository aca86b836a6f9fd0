/* set_trace.c: $/setTrace. With "messages" the server echoes each incoming message as a
 * $/logTrace notification; "verbose" adds the params. */
#include <string.h>

#include "core/base/errors.h"
#include "lsp/server.h"

int lsp_on_set_trace(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *v;
  if (lsp_param(s, req, params, "value", LSP_T_STRING, 1, &v)) return LS_EINVAL;
  const char *t = json_string_value(v);
  if (strcmp(t, "off") == 0) s->trace = LSP_TRACE_OFF;
  else if (strcmp(t, "messages") == 0) s->trace = LSP_TRACE_MESSAGES;
  else if (strcmp(t, "verbose") == 0) s->trace = LSP_TRACE_VERBOSE;
  else {
    lsp_log_message(s, LSP_MSG_ERROR, "$/setTrace: field 'value' must be \"off\", \"messages\" or \"verbose\"");
    return LS_EINVAL;
  }
  return LS_OK;
}
