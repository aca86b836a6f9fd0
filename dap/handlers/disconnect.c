/* disconnect.c: the DAP `disconnect` request: end the session (ending the run), answer,
 * flush, and end the adapter process with status 0. */
#include "core/base/errors.h"
#include "dap/server.h"

int dap_on_disconnect(dap_server *s, dap_req *req, json_t *args) {
  static const char *const bools[] = {"restart", "terminateDebuggee", "suspendDebuggee"};
  for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
    json_t *v = json_object_get(args, bools[i]);
    if (v && !json_is_boolean(v)) {
      dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "disconnect: argument '%s' must be a boolean", bools[i]);
      return LS_OK;
    }
  }
  dap_session_end(s);
  dap_respond(s, req, NULL);
  dap_server_stop(s, 0);
  return LS_OK;
}
