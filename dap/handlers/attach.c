/* attach.c: the DAP `attach` request: debug a PyTorch program that is already running and
 * called layerscope_agent.listen() (like debugpy.listen): {"connect": SOCKET} names the
 * socket it printed. The arguments are checked as launch's are (dap_attach_args_parse), the
 * run opens on the agent target in attach mode, and `disconnect` later detaches: the agent
 * removes its hooks and the program runs on (docs/agent.md). */
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_attach(dap_server *s, dap_req *req, json_t *args) {
  if (s->session.state != DAP_S_INITIALIZED) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "attach: not possible while the session is %s",
                      dap_state_name(s->session.state));
    return LS_OK;
  }
  ls_diag d;
  ls_diag_init(&d);
  dap_launch_args la;
  int rc = dap_attach_args_parse(args, &la, &d);
  if (rc == LS_ENOMEM) return rc;
  if (rc != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "%s", d.msg);
    return LS_OK;
  }
  dap_dbg_launch(s, req, &la);
  return LS_OK;
}
