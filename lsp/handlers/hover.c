/* hover.c: textDocument/hover on a model config. On a known key (or its value): what the key
 * means, its value or default, the tensors and activations it shapes, KV cache per token for
 * attention keys and its share of the parameters. On model_type / architectures: the model
 * summary (params, FLOPs per token, weight memory by dtype, KV cache at the configured
 * sequence length). On a .py file with a run record set (lsp/pysource.h): on a line that
 * calls a module, the module, its type and the shapes of the call at the last sampled step.
 * Other positions, unknown keys and other documents get null. */
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "lsp/analysis.h"
#include "lsp/pysource.h"
#include "lsp/render.h"
#include "lsp/server.h"

/* Python names as code spans (a name with a backtick: escaped text). */
static void code(lsp_md *b, const char *s) {
  if (strchr(s, '`')) lsp_md_escaped(b, s);
  else lsp_md_printf(b, "`%s`", s);
}

/* A .py line: the call under the cursor (the narrowest that holds it), else every call on
 * the line. */
static int hover_py(lsp_server *s, lsp_req *req, lsp_doc *doc, ls_pos p) {
  ls_health_site *v = NULL;
  size_t n = 0;
  if (lsp_pysource_sites(s, doc, (int)p.line, (int)p.line, &v, &n)) return LS_ENOMEM;
  size_t off = ls_text_offset_of(&doc->index, p, s->enc);
  int pick = -1;
  for (size_t i = 0; i < n; i++) {
    size_t a = lsp_pysource_offset(doc, &v[i], v[i].col), b = lsp_pysource_offset(doc, &v[i], v[i].end_col);
    if (v[i].col < 0 || v[i].end_col < 0 || off < a || off > b) continue;
    if (pick < 0 || b - a < (size_t)(v[pick].end_col - v[pick].col)) pick = (int)i;
  }
  lsp_md b = {0};
  for (size_t i = 0; i < n; i++) {
    if (pick >= 0 && (int)i != pick) continue;
    char shapes[600];
    lsp_pysource_shapes(&v[i], shapes, sizeof shapes);
    lsp_md_printf(&b, "%s", b.n ? "\n\n---\n\n" : "");
    code(&b, v[i].module);
    if (v[i].type[0]) lsp_md_printf(&b, " ("), code(&b, v[i].type), lsp_md_printf(&b, ")");
    lsp_md_printf(&b, "\n\n`%s`", shapes);
    if (v[i].step >= 0) lsp_md_printf(&b, "\n\nat step %lld of the run record", (long long)v[i].step);
  }
  json_t *r = NULL;
  if (n) {
    json_t *contents = lsp_md_take(&b);
    r = contents ? json_pack("{s:o}", "contents", contents) : NULL;
    if (r && pick >= 0) {
      ls_json_span sp = {lsp_pysource_offset(doc, &v[pick], v[pick].col), lsp_pysource_offset(doc, &v[pick], v[pick].end_col)};
      json_object_set_new(r, "range", lsp_render_range(&doc->index, sp, s->enc));
    }
  }
  lsp_md_free(&b);
  ls_free(v);
  if (n && !r) return LS_ENOMEM;
  lsp_reply(s, req, r);
  return LS_OK;
}

int lsp_on_hover(lsp_server *s, lsp_req *req, json_t *params) {
  ls_pos p;
  if (lsp_param_pos(s, req, params, "position", &p)) return LS_EINVAL;
  const char *uri = json_string_value(json_object_get(json_object_get(params, "textDocument"), "uri"));
  lsp_doc *doc = uri && lsp_pysource_is_py(uri) ? lsp_docs_find(&s->docs, uri) : NULL;
  if (doc) return hover_py(s, req, doc, p);
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
