/* shutdown.c: the `shutdown` request. Cancels whatever still runs (those requests get
 * RequestCancelled), answers null, and from then on only `exit` is accepted. */
#include "core/base/errors.h"
#include "lsp/server.h"
#include "lsp/server_impl.h"

int lsp_on_shutdown(lsp_server *s, lsp_req *req, json_t *params) {
  (void)params;
  lsp__server_cancel_all(s, req, "the server is shutting down");
  s->shutdown_received = 1;
  s->state = LSP_S_SHUTDOWN;
  lsp_reply(s, req, NULL);
  return LS_OK;
}
