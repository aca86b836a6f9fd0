/* debug_document.c: layerscope/debugDocument {textDocument: {uri}, position?}, a test-only
 * request (LAYERSCOPE_DEBUG_METHODS=1) that returns the server's copy of a document (text,
 * version, line count, language id) and, given a position, its byte offset. The protocol
 * tests apply the same edits with an independent implementation
 * (vscode-languageserver-textdocument) and compare, which is how incremental sync is
 * checked through the real protocol. */
#include "core/base/errors.h"
#include "lsp/server.h"

int lsp_on_debug_document(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *uri, *pos;
  if (lsp_param(s, req, params, "textDocument.uri", LSP_T_STRING, 1, &uri) ||
      lsp_param(s, req, params, "position", LSP_T_OBJECT, 0, &pos))
    return LS_EINVAL;
  lsp_doc *doc = lsp_docs_find(&s->docs, json_string_value(uri));
  if (!doc) {
    lsp_reply_error(s, req, LSP_ERR_INVALID_PARAMS, "document %s is not open", json_string_value(uri));
    return LS_OK;
  }
  json_t *r = json_pack("{s:s%, s:I, s:I, s:s}", "text", doc->text, doc->len, "version",
                        (json_int_t)doc->version, "lineCount", (json_int_t)doc->index.n_lines,
                        "languageId", doc->language_id);
  if (!r) return LS_ENOMEM;
  if (pos) {
    ls_pos p;
    if (lsp_param_pos(s, req, params, "position", &p)) { json_decref(r); return LS_EINVAL; }
    json_object_set_new(r, "offset", json_integer((json_int_t)ls_text_offset_of(&doc->index, p, s->enc)));
  }
  lsp_reply(s, req, r);
  return LS_OK;
}
