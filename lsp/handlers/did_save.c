/* did_save.c: textDocument/didSave. The server asks for saves without text; when a client
 * sends the text anyway it replaces the stored copy. Either way the document hook runs,
 * since analyses that read files beside the document (weights) may depend on the save. */
#include "core/base/errors.h"
#include "lsp/server.h"

int lsp_on_did_save(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *uri, *text;
  if (lsp_param(s, req, params, "textDocument.uri", LSP_T_STRING, 1, &uri) ||
      lsp_param(s, req, params, "text", LSP_T_STRING, 0, &text))
    return LS_EINVAL;
  lsp_doc *doc = lsp_docs_find(&s->docs, json_string_value(uri));
  if (!doc) {
    lsp_log_message(s, LSP_MSG_WARNING, "textDocument/didSave: %s is not open", json_string_value(uri));
    return LS_OK;
  }
  if (text && lsp_docs_set_text(doc, json_string_value(text), json_string_length(text)) != LS_OK)
    return LS_ENOMEM;
  lsp_server_doc_changed(s, doc);
  return LS_OK;
}
