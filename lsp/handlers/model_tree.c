/* model_tree.c: layerscope/modelTree {textDocument: {uri}} -> the module tree of a model
 * config for the editor's Layers view (docs/lsp.md): {model_type, architecture, params,
 * modules: [{name, type, params, output_shape, depth, line}], reading, reading_note}; reading
 * is "exact", "inferred", "generic" (a labelled llama-style reading) or "none" (a type
 * layerscope does not model: no modules). Modules in pre-order with the upstream state_dict
 * names; line is the 0-based line of the config key that best locates the
 * module (null when none is in the file). A non-model document gets null. */
#include "core/base/errors.h"
#include "lsp/analysis.h"
#include "lsp/server.h"

int lsp_on_model_tree(lsp_server *s, lsp_req *req, json_t *params) {
  lsp_analysis *a = lsp_analysis_for_request(s, req, params, json_null(), lsp_on_model_tree);
  if (!a) return LS_OK;
  const ls_model *m = a->cfg.model;
  if (!m) { lsp_reply(s, req, NULL); return LS_OK; }
  json_t *mods = json_array();
  if (!mods) return LS_ENOMEM;
  for (size_t i = 0; i < m->n_modules; i++) {
    if ((i & 255) == 0 && lsp_req_done(req)) { json_decref(mods); return LS_OK; }
    const ls_model_module *mo = &m->modules[i];
    char sh[96];
    ls_model_shape_format(&mo->out, 0, 0, 0, sh, sizeof sh);
    int k = ls_model_module_def_key(m, (int)i);
    json_t *line = json_null();
    if (k >= 0 && m->values[k].present)
      line = json_integer((json_int_t)ls_text_pos_of(&a->cfg.index, m->values[k].key_span.start, s->enc).line);
    json_t *e = json_pack("{s:s, s:s, s:I, s:s, s:i, s:o}", "name", mo->name, "type", mo->type ? mo->type : "",
                          "params", (json_int_t)mo->params, "output_shape", mo->out.ndim ? sh : "", "depth",
                          mo->depth, "line", line);
    if (!e) { json_decref(mods); return LS_ENOMEM; }
    json_array_append_new(mods, e);
  }
  json_t *r = json_pack("{s:s, s:s, s:I, s:o, s:s, s:o}", "model_type", m->model_type ? m->model_type : "unknown",
                        "architecture", m->architecture ? m->architecture : "", "params", (json_int_t)m->params,
                        "modules", mods, "reading", ls_model_reading_name(m->reading), "reading_note",
                        m->reading_note ? json_string(m->reading_note) : json_null());
  if (!r) return LS_ENOMEM;
  lsp_reply(s, req, r);
  return LS_OK;
}
