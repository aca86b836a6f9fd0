/* restart.c: the DAP `restart` request: the current run is ended and a new one starts with
 * the same launch arguments, breakpoints and filters (hit counts, fired filters and kept
 * outputs start over; the engine binds its weights again). */
#include "core/base/errors.h"
#include "dap/debugger.h"

int dap_on_restart(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  dap_dbg *x = s->session.dbg;
  if (!x || (s->session.state != DAP_S_RUNNING && s->session.state != DAP_S_STOPPED)) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "restart: no run in progress (the session is %s)",
                      dap_state_name(s->session.state));
    return LS_OK;
  }
  ls_diag d;
  ls_diag_init(&d);
  if (dap_dbg_restart(s, x, &d) != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_INTERNAL, "restart: %s", d.msg);
    return LS_OK;
  }
  dap_respond(s, req, NULL);
  return LS_OK;
}
