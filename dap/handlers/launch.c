/* launch.c: the DAP `launch` request. Validates every argument before anything runs
 * (config must name a readable file, tokens must be ids, ...: see dap/session.c), then opens
 * the run on the launch's target and asks whether it can run at all (the config loads, the
 * weights fit it, the tokens are in its vocabulary: dap_dbg_open), so such a problem is the
 * launch's error response and not a console line after a successful launch. Unknown argument keys are reported in an
 * `output` event. Then it answers and sends `initialized` so the client sends its
 * breakpoints and configurationDone. */
#include "core/base/diag.h"
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_launch(dap_server *s, dap_req *req, json_t *args) {
  if (s->session.state != DAP_S_INITIALIZED) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "launch: not possible while the session is %s",
                      dap_state_name(s->session.state));
    return LS_OK;
  }
  ls_diag d;
  ls_diag_init(&d);
  dap_launch_args la;
  int rc = dap_launch_args_parse(args, &la, &d);
  if (rc == LS_ENOMEM) return rc;
  if (rc != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "%s", d.msg);
    return LS_OK;
  }
  dap_dbg_launch(s, req, &la);
  return LS_OK;
}
