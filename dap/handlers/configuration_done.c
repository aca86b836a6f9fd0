/* configuration_done.c: the DAP `configurationDone` request: breakpoints are set, the run
 * starts (dap_dbg_start: the target runs on the run's own thread and reports back on the
 * loop thread). Without a target in this build, the session ends at once with an `output`
 * event saying so, then `exited` and `terminated`. */
#include "core/base/diag.h"
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_configuration_done(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  ls_diag d;
  ls_diag_init(&d);
  if (s->session.state != DAP_S_CONFIGURING) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "configurationDone: expected after a successful launch; the session is %s",
                      dap_state_name(s->session.state));
    return LS_OK;
  }
  dap_session_transition(&s->session, DAP_S_RUNNING, NULL);
  dap_respond(s, req, NULL);
  if (s->session.dbg) {
    if (dap_dbg_start(s, s->session.dbg, &d) == LS_OK) return LS_OK;
    dap_send_output(s, "important", "layerscope: cannot start the run: %s\n", d.msg);
  } else {
    dap_send_output(s, "important", "layerscope: this build has no forward-pass engine; "
                    "the launch arguments for %s were valid, the session ends\n", s->session.launch.config);
  }
  dap_send_event(s, "exited", json_pack("{s:i}", "exitCode", 0));
  dap_session_end(s);
  return LS_OK;
}
