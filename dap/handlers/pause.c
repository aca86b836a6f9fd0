/* pause.c: the DAP `pause` request: the run stops at the next module boundary (a `stopped`
 * event with reason "pause" follows; before the model runs, at its first module). */
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_pause(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  dap_dbg *x = s->session.dbg;
  if (s->session.state == DAP_S_STOPPED) { /* already paused: nothing to do, as DAP allows */
    dap_respond(s, req, NULL);
    return LS_OK;
  }
  if (s->session.state != DAP_S_RUNNING || !x) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "pause: the %s is not running (the session is %s)", dap_dbg_what(s),
                      dap_state_name(s->session.state));
    return LS_OK;
  }
  ls_dbg_run_pause(x->run);
  dap_respond(s, req, NULL);
  return LS_OK;
}
