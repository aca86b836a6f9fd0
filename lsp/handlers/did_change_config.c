/* did_change_config.c: workspace/didChangeConfiguration. Clients that push settings send
 * {"settings": {"layerscope": {...}}}; clients that support workspace/configuration send a
 * hint, and the server pulls the section itself. */
#include "core/base/errors.h"
#include "lsp/server.h"

int lsp_on_did_change_config(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *section;
  if (lsp_param(s, req, params, "settings", LSP_T_ANY, 0, &section)) return LS_EINVAL;
  json_t *ours = json_object_get(section, "layerscope");
  if (json_is_object(ours)) {
    json_t *copy = json_deep_copy(ours);
    if (!copy) return LS_ENOMEM;
    json_decref(s->settings);
    s->settings = copy;
  } else if (ours && !json_is_null(ours)) {
    lsp_log_message(s, LSP_MSG_WARNING, "settings.layerscope must be an object; ignored");
  }
  lsp_server_pull_settings(s);
  return LS_OK;
}
