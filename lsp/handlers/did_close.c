/* did_close.c: textDocument/didClose. Forgets the document (its analysis too, through the
 * close hook) and clears the diagnostics the server published for it, so the Problems view
 * does not keep stale entries. */
#include "core/base/errors.h"
#include "lsp/server.h"

int lsp_on_did_close(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *uri;
  if (lsp_param(s, req, params, "textDocument.uri", LSP_T_STRING, 1, &uri)) return LS_EINVAL;
  if (lsp_docs_close(&s->docs, json_string_value(uri)) != LS_OK) {
    lsp_log_message(s, LSP_MSG_WARNING, "textDocument/didClose: %s was not open", json_string_value(uri));
    return LS_OK;
  }
  lsp_server_doc_closed(s, json_string_value(uri));
  lsp_publish_diagnostics(s, json_string_value(uri), -1, json_array());
  return LS_OK;
}
