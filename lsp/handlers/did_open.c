/* did_open.c: textDocument/didOpen. Stores the document (text, version, language id, line
 * index) and runs the document hook, where analyses are scheduled. */
#include "core/base/errors.h"
#include "lsp/server.h"

int lsp_on_did_open(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *uri, *lang, *version, *text;
  if (lsp_param(s, req, params, "textDocument.uri", LSP_T_STRING, 1, &uri) ||
      lsp_param(s, req, params, "textDocument.languageId", LSP_T_STRING, 1, &lang) ||
      lsp_param(s, req, params, "textDocument.version", LSP_T_INTEGER, 1, &version) ||
      lsp_param(s, req, params, "textDocument.text", LSP_T_STRING, 1, &text))
    return LS_EINVAL;
  if (lsp_docs_find(&s->docs, json_string_value(uri)))
    lsp_log_message(s, LSP_MSG_WARNING, "textDocument/didOpen: %s was already open; replacing it",
                    json_string_value(uri));
  lsp_doc *doc;
  int rc = lsp_docs_open(&s->docs, json_string_value(uri), json_string_value(lang),
                         json_integer_value(version), json_string_value(text),
                         json_string_length(text), &doc);
  if (rc != LS_OK) {
    lsp_log_message(s, LSP_MSG_ERROR, "textDocument/didOpen: cannot store %s: out of memory",
                    json_string_value(uri));
    return rc;
  }
  lsp_server_doc_changed(s, doc);
  return LS_OK;
}
