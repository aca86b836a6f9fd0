/* inlay_hint.c: textDocument/inlayHint: derived values shown after the values of dimension
 * keys, so the numbers a config implies are visible without hovering:
 *   model_type / architectures   "6.74 B params"
 *   num_attention_heads          "head_dim 128" (when head_dim is not written out)
 *   num_key_value_heads          "KV 512 KiB/token"
 *   num_hidden_layers            "202.38 M params/layer"
 *   hidden/intermediate/vocab    "shapes 4.33 B params"
 * Every figure comes from the model and figures of core/model. */
#include <stdio.h>
#include <string.h>

#include "core/base/fmt.h"
#include "core/base/errors.h"
#include "lsp/analysis.h"
#include "lsp/render.h"
#include "lsp/server.h"

/* Parameters of one block of the first layer (the outermost module with layer 0). */
static int64_t layer_params(const ls_model *m) {
  for (size_t i = 0; i < m->n_modules; i++)
    if (m->modules[i].layer == 0) return m->modules[i].params;
  return 0;
}

static int hint_label(const lsp_analysis *a, int key, char *buf, size_t cap) {
  const ls_model *m = a->cfg.model;
  const ls_model_value *v = &m->values[key];
  char c1[40], c2[40];
  switch (v->info->role) {
  case LS_MODEL_ROLE_MODEL_TYPE:
    if (m->reading == LS_MODEL_READING_NONE) return snprintf(buf, cap, "not modelled: no figures");
    if (!a->cfg.have_fig) return 0;
    return snprintf(buf, cap, "%s%s params", m->reading == LS_MODEL_READING_GENERIC ? "generic llama-style reading: " : "",
                    ls_fmt_count((double)a->cfg.fig.params, c1, sizeof c1));
  case LS_MODEL_ROLE_N_HEADS: {
    const ls_model_value *hd = ls_model_value_by_role(m, LS_MODEL_ROLE_HEAD_DIM);
    if ((hd && hd->present) || m->sem.head_dim <= 0) return 0;
    return snprintf(buf, cap, "head_dim %lld", (long long)m->sem.head_dim);
  }
  case LS_MODEL_ROLE_N_KV_HEADS:
    if (!a->cfg.have_fig || !a->cfg.fig.kv_bytes_per_token) return 0;
    return snprintf(buf, cap, "KV %s/token (%s)", ls_fmt_bytes(a->cfg.fig.kv_bytes_per_token, c1, sizeof c1),
                    ls_model_wdtype_name(a->cfg.fig.dtype));
  case LS_MODEL_ROLE_N_LAYERS: {
    int64_t lp = layer_params(m);
    if (!lp) return 0;
    return snprintf(buf, cap, "%s params/layer", ls_fmt_count((double)lp, c1, sizeof c1));
  }
  case LS_MODEL_ROLE_HIDDEN:
  case LS_MODEL_ROLE_INTERMEDIATE:
  case LS_MODEL_ROLE_VOCAB: {
    int64_t shaped = 0;
    ls_model_key_tensors(m, key, NULL, 0, &shaped);
    if (!shaped || m->params <= 0) return 0;
    return snprintf(buf, cap, "shapes %s params (%.0f%%)", ls_fmt_count((double)shaped, c2, sizeof c2),
                    100.0 * (double)shaped / (double)m->params);
  }
  default:
    return 0;
  }
}

int lsp_on_inlay_hint(lsp_server *s, lsp_req *req, json_t *params) {
  ls_pos p0, p1;
  if (lsp_param_pos(s, req, params, "range.start", &p0) || lsp_param_pos(s, req, params, "range.end", &p1))
    return LS_EINVAL;
  lsp_analysis *a = lsp_analysis_for_request(s, req, params, json_array(), lsp_on_inlay_hint);
  if (!a) return LS_OK;
  json_t *hints = json_array();
  if (!hints) return LS_ENOMEM;
  const ls_model *m = a->cfg.model;
  if (!m || (m->n_modules == 0 && m->reading != LS_MODEL_READING_NONE)) { lsp_reply(s, req, hints); return LS_OK; }
  size_t lo = lsp_analysis_offset(a, p0, s->enc), hi = lsp_analysis_offset(a, p1, s->enc);
  for (size_t k = 0; k < m->n_values; k++) {
    const ls_model_value *v = &m->values[k];
    if (!v->present || v->value_span.end < lo || v->value_span.end > hi) continue;
    char text[128], label[160];
    if (hint_label(a, (int)k, text, sizeof text) <= 0) continue;
    /* every figure of a generic reading says so, not only the one on model_type */
    snprintf(label, sizeof label, "%s%s",
             m->reading == LS_MODEL_READING_GENERIC && v->info->role != LS_MODEL_ROLE_MODEL_TYPE ? "generic: " : "", text);
    json_t *h = json_pack("{s:o, s:s, s:b}", "position", lsp_render_pos(&a->cfg.index, v->value_span.end, s->enc),
                          "label", label, "paddingLeft", 1);
    if (!h) { json_decref(hints); return LS_ENOMEM; }
    json_array_append_new(hints, h);
  }
  lsp_reply(s, req, hints);
  return LS_OK;
}
