/* code_action.c: textDocument/codeAction: the fixes of the findings that touch the requested
 * range, as quickfix CodeActions with workspace edits over exact ranges (renaming a typo'd
 * key, rounding a size up to a multiple of 64, setting use_cache to false, the nearest valid
 * KV head count, and the JSON reader's mechanical syntax fixes). Each action carries the
 * diagnostic it fixes and isPreferred where the core marks the fix as the obvious one. Edits
 * are versioned (documentChanges) when the client supports it, so a fix computed for an old
 * text is refused by the client instead of corrupting the new one. */
#include <string.h>

#include "core/base/errors.h"
#include "lsp/analysis.h"
#include "lsp/render.h"
#include "lsp/server.h"

static int wants_quickfix(json_t *only) {
  if (!json_is_array(only) || json_array_size(only) == 0) return 1;
  size_t i;
  json_t *k;
  json_array_foreach(only, i, k) {
    const char *v = json_string_value(k);
    if (v && (strcmp(v, "quickfix") == 0 || strcmp(v, "") == 0)) return 1;
  }
  return 0;
}

int lsp_on_code_action(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *only;
  ls_pos p0, p1;
  if (lsp_param(s, req, params, "context", LSP_T_OBJECT, 1, &only) ||
      lsp_param(s, req, params, "context.only", LSP_T_ARRAY, 0, &only) ||
      lsp_param_pos(s, req, params, "range.start", &p0) || lsp_param_pos(s, req, params, "range.end", &p1))
    return LS_EINVAL;
  lsp_analysis *a = lsp_analysis_for_request(s, req, params, json_array(), lsp_on_code_action);
  if (!a) return LS_OK;
  json_t *actions = json_array();
  if (!actions) return LS_ENOMEM;
  if (!a->cfg.report || !wants_quickfix(only)) { lsp_reply(s, req, actions); return LS_OK; }
  size_t lo = lsp_analysis_offset(a, p0, s->enc), hi = lsp_analysis_offset(a, p1, s->enc);
  if (hi < lo) { size_t t = lo; lo = hi; hi = t; }
  json_t *ws = json_object_get(json_object_get(s->client_caps, "workspace"), "workspaceEdit");
  int versioned = json_is_true(json_object_get(ws, "documentChanges"));
  for (size_t i = 0; i < a->cfg.report->n_findings; i++) {
    const ls_smell_finding *f = &a->cfg.report->findings[i];
    /* A finding at {0,0} is about the whole document: offered wherever the cursor is. */
    int whole = f->span.start == 0 && f->span.end == 0;
    if (!f->n_fixes || (!whole && (f->span.end < lo || f->span.start > hi))) continue;
    for (size_t k = 0; k < f->n_fixes; k++) {
      json_t *ca = lsp_render_fix(a, &f->fixes[k], lsp_render_diagnostic(a, f, s->enc), s->enc, versioned);
      if (!ca) { json_decref(actions); return LS_ENOMEM; }
      json_array_append_new(actions, ca);
    }
  }
  lsp_reply(s, req, actions);
  return LS_OK;
}
