/* exit.c: the `exit` notification. The process ends with status 0 if `shutdown` came first
 * and 1 otherwise, as the LSP specification asks, after the queued writes are flushed. */
#include "core/base/errors.h"
#include "lsp/server.h"

int lsp_on_exit(lsp_server *s, lsp_req *req, json_t *params) {
  (void)req;
  (void)params;
  lsp_server_stop(s, s->shutdown_received ? 0 : 1);
  return LS_OK;
}
