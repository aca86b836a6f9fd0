/* threads.c: the DAP `threads` request: the threads of the launched run's target (the
 * engine's forward pass is one logical thread, "forward pass"; compute threads inside an op
 * are not debuggable entities); before launch there are none. */
#include "core/base/errors.h"
#include "dap/debugger.h"

#define MAX_THREADS 256

int dap_on_threads(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  json_t *threads = json_array();
  if (!threads) return LS_ENOMEM;
  dap_state st = s->session.state;
  dap_dbg *x = s->session.dbg;
  if (x && (st == DAP_S_CONFIGURING || st == DAP_S_RUNNING || st == DAP_S_STOPPED)) {
    ls_dbg_thread th[MAX_THREADS];
    int n = ls_dbg_run_threads(x->run, th, MAX_THREADS);
    for (int i = 0; i < n; i++) json_array_append_new(threads, json_pack("{s:i, s:s}", "id", th[i].id, "name", th[i].name));
  }
  dap_respond(s, req, json_pack("{s:o}", "threads", threads));
  return LS_OK;
}
