/* terminate.c: the DAP `terminate` request: end the run (the target is asked to stop),
 * answer, and send `terminated`; the client follows with `disconnect`. */
#include "core/base/errors.h"
#include "dap/server.h"

int dap_on_terminate(dap_server *s, dap_req *req, json_t *args) {
  json_t *restart = json_object_get(args, "restart");
  if (restart && !json_is_boolean(restart)) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "terminate: argument 'restart' must be a boolean");
    return LS_OK;
  }
  dap_respond(s, req, NULL);
  dap_session_end(s);
  return LS_OK;
}
