/* attach.c: the DAP `attach` request. layerscope runs the forward pass inside the adapter
 * itself, so there is no separate process to attach to; the request is answered with an
 * error that says what to use instead, after the same state check as launch. */
#include "core/base/errors.h"
#include "dap/server.h"

int dap_on_attach(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  if (s->session.state != DAP_S_INITIALIZED) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "attach: not possible while the session is %s",
                      dap_state_name(s->session.state));
    return LS_OK;
  }
  dap_respond_error(s, req, DAP_ERR_UNSUPPORTED,
                    "attach: not supported: layerscope runs the model inside the adapter; "
                    "use a \"launch\" configuration with \"config\" (and optionally \"weights\")");
  return LS_OK;
}
