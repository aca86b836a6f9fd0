/* pause.c: the DAP `pause` request: the forward pass stops at the next module boundary
 * (a `stopped` event with reason "pause" follows). */
#include "core/base/errors.h"
#include "dap/engine.h"

int dap_on_pause(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  dap_dbg *x = s->session.engine_ctx;
  if (s->session.state == DAP_S_STOPPED) { /* already paused: nothing to do, as DAP allows */
    dap_respond(s, req, NULL);
    return LS_OK;
  }
  if (s->session.state != DAP_S_RUNNING || !x) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "pause: the forward pass is not running (the session is %s)",
                      dap_state_name(s->session.state));
    return LS_OK;
  }
  pthread_mutex_lock(&x->mu);
  if (x->f) ls_fwd_request_pause(x->f);
  else x->pause_req = 1; /* weights still loading: the runner pauses the pass once it exists */
  pthread_mutex_unlock(&x->mu);
  dap_respond(s, req, NULL);
  return LS_OK;
}
