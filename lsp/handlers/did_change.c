/* did_change.c: textDocument/didChange with full or incremental changes (positions in the
 * negotiated encoding). A change to a document that is not open, or an invalid change, is
 * reported in the client's log and leaves the stored text as it was. */
#include "core/base/diag.h"
#include "core/base/errors.h"
#include "lsp/server.h"

int lsp_on_did_change(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *uri, *version, *changes;
  if (lsp_param(s, req, params, "textDocument.uri", LSP_T_STRING, 1, &uri) ||
      lsp_param(s, req, params, "textDocument.version", LSP_T_INTEGER, 1, &version) ||
      lsp_param(s, req, params, "contentChanges", LSP_T_ARRAY, 1, &changes))
    return LS_EINVAL;
  lsp_doc *doc = lsp_docs_find(&s->docs, json_string_value(uri));
  if (!doc) {
    lsp_log_message(s, LSP_MSG_ERROR, "textDocument/didChange: %s is not open", json_string_value(uri));
    return LS_EINVAL;
  }
  if (json_integer_value(version) <= doc->version)
    lsp_log_message(s, LSP_MSG_WARNING, "textDocument/didChange: version %lld of %s is not newer than %lld",
                    (long long)json_integer_value(version), doc->uri, (long long)doc->version);
  ls_diag d;
  ls_diag_init(&d);
  int rc = lsp_docs_change(doc, changes, json_integer_value(version), s->enc, &d);
  if (rc != LS_OK) {
    lsp_log_message(s, LSP_MSG_ERROR, "textDocument/didChange: invalid params: %s; %s left unchanged",
                    d.msg[0] ? d.msg : ls_err_str(rc), doc->uri);
    return LS_EINVAL;
  }
  lsp_server_doc_changed(s, doc);
  return LS_OK;
}
