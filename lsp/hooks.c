/* hooks.c: where the features plug into the document lifecycle and the settings, kept in one
 * small file so they are easy to find:
 *   lsp_server_doc_changed   after didOpen / didChange / didSave: bumps the generation and
 *                            queues the analysis (lsp/analysis.c), which publishes
 *                            diagnostics for the newest text only;
 *   lsp_server_doc_closed    after didClose: frees the document's analysis;
 *   lsp_server_pull_settings asks the client for the "layerscope" section
 *                            (workspace/configuration) after `initialized` and on
 *                            workspace/didChangeConfiguration; settings that changed (pushed
 *                            or pulled) re-analyse every open document and re-publish. */
#include <stdint.h>

#include "core/base/log.h"
#include "lsp/analysis.h"
#include "lsp/server.h"

void lsp_server_doc_changed(lsp_server *s, lsp_doc *doc) {
  /* Generations are unique across documents and reopenings (not a per-document counter):
   * a document closed and opened again must never match an analysis or a pool job of its
   * previous life. */
  doc->generation = ++s->docs.last_generation;
  ls_log_debug("lsp: %s now at version %lld (%zu bytes, %zu lines)", doc->uri,
               (long long)doc->version, doc->len, doc->index.n_lines);
  lsp_analysis_schedule(s, doc);
}

void lsp_server_doc_closed(lsp_server *s, const char *uri) { lsp_analysis_forget(s, uri); }

static void on_settings(lsp_server *s, void *ud, json_t *result, json_t *error) {
  (void)ud;
  if (!result) {
    if (error) lsp_log_message(s, LSP_MSG_WARNING, "workspace/configuration failed; keeping the previous settings");
    return;
  }
  json_t *first = json_is_array(result) ? json_array_get(result, 0) : NULL;
  if (json_is_object(first)) {
    json_decref(s->settings);
    s->settings = json_deep_copy(first);
    if (!s->settings) s->settings = json_object();
    ls_log_info("lsp: settings updated (%zu keys)", json_object_size(s->settings));
    lsp_analysis_settings_update(s);
  } else if (first && !json_is_null(first)) {
    lsp_log_message(s, LSP_MSG_WARNING, "the 'layerscope' settings section must be an object; ignored");
  }
}

void lsp_server_pull_settings(lsp_server *s) {
  /* Settings pushed with didChangeConfiguration are already in s->settings. */
  lsp_analysis_settings_update(s);
  json_t *cap = json_object_get(json_object_get(s->client_caps, "workspace"), "configuration");
  if (!json_is_true(cap)) return;
  lsp_request(s, "workspace/configuration",
              json_pack("{s:[{s:s}]}", "items", "section", "layerscope"), on_settings, NULL);
}
