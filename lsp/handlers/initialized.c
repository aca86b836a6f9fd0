/* initialized.c: the `initialized` notification: the client is ready for server->client
 * requests, so this is where the settings are first pulled and the server says hello in the
 * client's log. */
#include "core/base/errors.h"
#include "lsp/server.h"
#include "ls_version.h"

int lsp_on_initialized(lsp_server *s, lsp_req *req, json_t *params) {
  (void)req;
  (void)params;
  lsp_log_message(s, LSP_MSG_INFO, "layerscope %s ready (positions in %s)", LS_VERSION,
                  lsp_enc_name(s->enc));
  lsp_server_pull_settings(s);
  return LS_OK;
}
