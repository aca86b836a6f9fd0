/* hover.c: textDocument/hover on a model config. On a known key (or its value): what the key
 * means, its value or default, the tensors and activations it shapes, KV cache per token for
 * attention keys and its share of the parameters. On model_type / architectures: the model
 * summary (params, FLOPs per token, weight memory by dtype, KV cache at the configured
 * sequence length). Other positions, unknown keys and non-model documents get null. */
#include "core/base/errors.h"
#include "lsp/analysis.h"
#include "lsp/render.h"
#include "lsp/server.h"

int lsp_on_hover(lsp_server *s, lsp_req *req, json_t *params) {
  ls_pos p;
  if (lsp_param_pos(s, req, params, "position", &p)) return LS_EINVAL;
  lsp_analysis *a = lsp_analysis_for_request(s, req, params, json_null(), lsp_on_hover);
  if (!a) return LS_OK;
  if (!a->cfg.model) { lsp_reply(s, req, NULL); return LS_OK; }
  size_t off = lsp_analysis_offset(a, p, s->enc);
  int key = ls_model_value_at(a->cfg.model, off);
  if (key < 0) { lsp_reply(s, req, NULL); return LS_OK; }
  const ls_model_value *v = &a->cfg.model->values[key];
  lsp_md b = {0};
  ls_model_role role = v->info->role;
  if (role == LS_MODEL_ROLE_MODEL_TYPE || role == LS_MODEL_ROLE_ARCHITECTURES)
    lsp_render_hover_summary(a, &b);
  else
    lsp_render_hover_key(a, key, &b);
  json_t *contents = lsp_md_take(&b);
  int on_value = off >= v->value_span.start && off <= v->value_span.end && off > v->key_span.end;
  ls_json_span sp = on_value ? v->value_span : v->key_span;
  json_t *r = contents ? json_pack("{s:o, s:o}", "contents", contents, "range", lsp_render_range(&a->cfg.index, sp, s->enc))
                       : NULL;
  if (!r) return LS_ENOMEM;
  lsp_reply(s, req, r);
  return LS_OK;
}
