/* threads.c: the DAP `threads` request. The forward pass is one logical thread (compute
 * threads inside an op are not debuggable entities); before launch there is none. */
#include "core/base/errors.h"
#include "dap/server.h"

#define DAP_THREAD_ID 1

int dap_on_threads(dap_server *s, dap_req *req, json_t *args) {
  (void)args;
  json_t *threads = json_array();
  if (!threads) return LS_ENOMEM;
  dap_state st = s->session.state;
  if (st == DAP_S_CONFIGURING || st == DAP_S_RUNNING || st == DAP_S_STOPPED)
    json_array_append_new(threads, json_pack("{s:i, s:s}", "id", DAP_THREAD_ID, "name", "forward pass"));
  dap_respond(s, req, json_pack("{s:o}", "threads", threads));
  return LS_OK;
}
