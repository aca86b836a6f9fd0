/* code_lens.c: textDocument/codeLens: one lens on the first line of a model config with the
 * parameter count, weight memory in the estimate dtype and the KV cache (per token and at the
 * configured sequence length), from core/model/figures.h. The lens is informational: its
 * command is empty, so clients show the title without making it clickable. */
#include "core/base/errors.h"
#include "lsp/analysis.h"
#include "lsp/render.h"
#include "lsp/server.h"

int lsp_on_code_lens(lsp_server *s, lsp_req *req, json_t *params) {
  lsp_analysis *a = lsp_analysis_for_request(s, req, params, json_array(), lsp_on_code_lens);
  if (!a) return LS_OK;
  json_t *lenses = json_array();
  if (!lenses) return LS_ENOMEM;
  if (a->cfg.model) {
    char title[320];
    lsp_render_lens_title(a, title, sizeof title);
    ls_json_span first = {0, 0};
    json_array_append_new(lenses, json_pack("{s:o, s:{s:s, s:s}}", "range", lsp_render_range(&a->cfg.index, first, s->enc),
                                            "command", "title", title, "command", ""));
  }
  lsp_reply(s, req, lenses);
  return LS_OK;
}
