/* render.c: core results -> LSP values (see render.h). Hovers are kept short on purpose: a
 * heading line, one sentence of meaning, then at most a handful of table rows, because a
 * hover that needs scrolling is not read. Repeated per-layer tensors are folded into one row
 * ("model.layers.*.self_attn.k_proj.weight [1024, 8192] x 80") so that the row count does
 * not grow with depth. */
#include "lsp/render.h"
#include "core/base/fmt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"

/* ---------------------------------------------------------------- buffer */

void lsp_md_printf(lsp_md *b, const char *fmt, ...) {
  if (b->oom) return;
  va_list ap;
  va_start(ap, fmt);
  char small[512];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (b->n + (size_t)n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 512;
    while (cap < b->n + (size_t)n + 1) cap *= 2;
    char *p = ls_realloc(b->p, cap);
    if (!p) { b->oom = 1; return; }
    b->p = p;
    b->cap = cap;
  }
  if ((size_t)n < sizeof small) {
    memcpy(b->p + b->n, small, (size_t)n + 1);
  } else {
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  b->n += (size_t)n;
}

void lsp_md_escaped(lsp_md *b, const char *s) {
  char out[256];
  size_t o = 0;
  for (; *s; s++) {
    if (o + 3 >= sizeof out) { out[o] = 0; lsp_md_printf(b, "%s", out); o = 0; }
    if (strchr("\\`*_{}[]()#+-.!|<>", *s)) out[o++] = '\\';
    out[o++] = *s;
  }
  out[o] = 0;
  lsp_md_printf(b, "%s", out);
}

void lsp_md_free(lsp_md *b) {
  ls_free(b->p);
  memset(b, 0, sizeof *b);
}

json_t *lsp_md_take(lsp_md *b) {
  json_t *r = b->oom ? NULL : json_pack("{s:s, s:s%}", "kind", "markdown", "value", b->p ? b->p : "", b->n);
  lsp_md_free(b);
  return r;
}

/* ---------------------------------------------------------------- positions */

json_t *lsp_render_pos(const ls_text_index *idx, size_t offset, ls_pos_enc enc) {
  ls_pos p = ls_text_pos_of(idx, offset, enc);
  return json_pack("{s:I, s:I}", "line", (json_int_t)p.line, "character", (json_int_t)p.col);
}

json_t *lsp_render_range(const ls_text_index *idx, ls_json_span sp, ls_pos_enc enc) {
  if (sp.end < sp.start) sp.end = sp.start;
  return json_pack("{s:o, s:o}", "start", lsp_render_pos(idx, sp.start, enc), "end",
                   lsp_render_pos(idx, sp.end, enc));
}

/* ---------------------------------------------------------------- diagnostics */

json_t *lsp_render_diagnostic(const lsp_analysis *a, const ls_smell_finding *f, ls_pos_enc enc) {
  const ls_smell_rule *r = ls_smell_rule_get(f->rule);
  char url[512];
  ls_smell_doc_url(r, NULL, url, sizeof url);
  json_t *d = json_pack("{s:o, s:i, s:s, s:{s:s}, s:s, s:s, s:{s:s}}", "range",
                        lsp_render_range(&a->cfg.index, f->span, enc), "severity", (int)f->severity, "code",
                        r->code, "codeDescription", "href", url, "source", "layerscope", "message",
                        f->msg && f->msg[0] ? f->msg : r->title, "data", "rule", r->name);
  if (!d || !f->n_related) return d;
  json_t *rel = json_array();
  for (size_t i = 0; i < f->n_related; i++) {
    json_t *ri = json_pack("{s:{s:s, s:o}, s:s}", "location", "uri", a->uri, "range",
                           lsp_render_range(&a->cfg.index, f->related[i].span, enc), "message",
                           f->related[i].msg && f->related[i].msg[0] ? f->related[i].msg : "related key");
    if (ri) json_array_append_new(rel, ri);
  }
  json_object_set_new(d, "relatedInformation", rel);
  return d;
}

json_t *lsp_render_diagnostics(const lsp_analysis *a, ls_pos_enc enc) {
  json_t *arr = json_array();
  if (!arr || !a->cfg.report) return arr;
  for (size_t i = 0; i < a->cfg.report->n_findings; i++) {
    json_t *d = lsp_render_diagnostic(a, &a->cfg.report->findings[i], enc);
    if (!d) { json_decref(arr); return NULL; }
    json_array_append_new(arr, d);
  }
  return arr;
}

json_t *lsp_render_fix(const lsp_analysis *a, const ls_smell_fix *fix, json_t *diag, ls_pos_enc enc,
                       int versioned) {
  json_t *edits = json_array();
  for (size_t i = 0; i < fix->n_edits; i++)
    json_array_append_new(edits, json_pack("{s:o, s:s}", "range",
                                           lsp_render_range(&a->cfg.index, fix->edits[i].span, enc), "newText",
                                           fix->edits[i].text ? fix->edits[i].text : ""));
  json_t *we = versioned
      ? json_pack("{s:[{s:{s:s, s:I}, s:o}]}", "documentChanges", "textDocument", "uri", a->uri, "version",
                  (json_int_t)a->version, "edits", edits)
      : json_pack("{s:{s:o}}", "changes", a->uri, edits);
  json_t *ca = json_pack("{s:s, s:s, s:o}", "title", fix->title, "kind", "quickfix", "edit", we);
  if (!ca) { json_decref(diag); return NULL; }
  if (fix->preferred) json_object_set_new(ca, "isPreferred", json_true());
  if (diag) json_object_set_new(ca, "diagnostics", json_pack("[o]", diag));
  return ca;
}

/* ---------------------------------------------------------------- hovers */

void lsp_render_pattern(const char *name, int layer, int expert, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", name);
  int idx[2] = {layer, expert};
  for (int k = 0; k < 2; k++) {
    if (idx[k] < 0) continue;
    char needle[24];
    int nl = snprintf(needle, sizeof needle, ".%d.", idx[k]);
    char *hit = strstr(buf, needle);
    if (!hit) {
      /* a trailing index: "model.layers.3" */
      size_t bl = strlen(buf);
      if (bl >= (size_t)nl - 1 && strncmp(buf + bl - (size_t)(nl - 1), needle, (size_t)(nl - 1)) == 0)
        hit = buf + bl - (size_t)(nl - 1);
      if (!hit || (size_t)(hit - buf) + 2 >= cap) continue;
      strcpy(hit, ".*");
      continue;
    }
    memmove(hit + 3, hit + nl, strlen(hit + nl) + 1);
    memcpy(hit, ".*.", 3);
  }
}

/* One folded row of a hover table: a name pattern, its shape, how many times it repeats. */
typedef struct row { char name[160]; char shape[80]; char type[48]; int64_t count; } row;

static size_t row_add(row *rows, size_t n, size_t cap, const char *name, const char *shape, const char *type) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(rows[i].name, name) == 0 && strcmp(rows[i].shape, shape) == 0) { rows[i].count++; return n; }
  if (n == cap) return n;
  snprintf(rows[n].name, sizeof rows[n].name, "%s", name);
  snprintf(rows[n].shape, sizeof rows[n].shape, "%s", shape);
  snprintf(rows[n].type, sizeof rows[n].type, "%s", type ? type : "");
  rows[n].count = 1;
  return n + 1;
}

#define HOVER_ROWS 6

static void hover_tensors(const lsp_analysis *a, int key, lsp_md *b) {
  const ls_model *m = a->cfg.model;
  int64_t shaped = 0;
  size_t total = ls_model_key_tensors(m, key, NULL, 0, &shaped);
  if (total == 0) return;
  int *ids = ls_malloc(total * sizeof *ids);
  row *rows = ls_calloc(32, sizeof *rows);
  if (!ids || !rows) { ls_free(ids); ls_free(rows); b->oom = 1; return; }
  ls_model_key_tensors(m, key, ids, total, NULL);
  size_t n = 0;
  for (size_t i = 0; i < total; i++) {
    const ls_model_tensor *t = &m->tensors[ids[i]];
    char pat[160], sh[80];
    lsp_render_pattern(t->name, t->layer, t->expert, pat, sizeof pat);
    int o = snprintf(sh, sizeof sh, "[");
    for (int d = 0; d < t->ndim && o < (int)sizeof sh; d++)
      o += snprintf(sh + o, sizeof sh - (size_t)o, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (o < (int)sizeof sh) snprintf(sh + o, sizeof sh - (size_t)o, "]");
    n = row_add(rows, n, 32, pat, sh, NULL);
  }
  lsp_md_printf(b, "\n\n| shapes | | |\n|---|---|--:|\n");
  for (size_t i = 0; i < n && i < HOVER_ROWS; i++)
    lsp_md_printf(b, "| `%s` | `%s` | x %lld |\n", rows[i].name, rows[i].shape, (long long)rows[i].count);
  if (n > HOVER_ROWS) lsp_md_printf(b, "| +%zu more | | |\n", n - HOVER_ROWS);
  char c1[32], c2[32];
  if (m->params > 0)
    lsp_md_printf(b, "\nShapes %s parameters (%.1f%% of %s).", ls_fmt_count((double)shaped, c1, sizeof c1),
                  100.0 * (double)shaped / (double)m->params, ls_fmt_count((double)m->params, c2, sizeof c2));
  ls_free(ids);
  ls_free(rows);
}

static void hover_activations(const lsp_analysis *a, int key, lsp_md *b) {
  const ls_model *m = a->cfg.model;
  size_t total = ls_model_key_modules(m, key, NULL, 0);
  if (total == 0) return;
  int *ids = ls_malloc(total * sizeof *ids);
  row *rows = ls_calloc(32, sizeof *rows);
  if (!ids || !rows) { ls_free(ids); ls_free(rows); b->oom = 1; return; }
  ls_model_key_modules(m, key, ids, total);
  size_t n = 0;
  for (size_t i = 0; i < total; i++) {
    const ls_model_module *mo = &m->modules[ids[i]];
    if (mo->out.ndim == 0) continue;
    char pat[160], sh[80];
    lsp_render_pattern(mo->depth == 0 ? m->architecture : mo->name, mo->layer, mo->expert, pat, sizeof pat);
    ls_model_shape_format(&mo->out, 0, 0, 0, sh, sizeof sh);
    n = row_add(rows, n, 32, pat, sh, mo->type);
  }
  if (n) {
    lsp_md_printf(b, "\n\n| activations | | |\n|---|---|--:|\n");
    for (size_t i = 0; i < n && i < HOVER_ROWS; i++)
      lsp_md_printf(b, "| `%s` %s | `%s` | x %lld |\n", rows[i].name, rows[i].type, rows[i].shape,
                    (long long)rows[i].count);
    if (n > HOVER_ROWS) lsp_md_printf(b, "| +%zu more | | |\n", n - HOVER_ROWS);
  }
  ls_free(ids);
  ls_free(rows);
}

/* Starts a new Markdown paragraph: exactly one blank line after what is there. */
static void para(lsp_md *b) {
  if (b->n >= 2 && b->p[b->n - 1] == '\n' && b->p[b->n - 2] == '\n') return;
  lsp_md_printf(b, b->n && b->p[b->n - 1] == '\n' ? "\n" : "\n\n");
}

static int is_kv_role(ls_model_role r) {
  return r == LS_MODEL_ROLE_N_KV_HEADS || r == LS_MODEL_ROLE_HEAD_DIM || r == LS_MODEL_ROLE_N_HEADS ||
         r == LS_MODEL_ROLE_N_LAYERS || r == LS_MODEL_ROLE_HIDDEN || r == LS_MODEL_ROLE_SLIDING_WINDOW;
}

/* " · generic reading" after the model type, so no figure is shown without its reading */
static const char *reading_tag(const ls_model *m) {
  switch (m->reading) {
  case LS_MODEL_READING_GENERIC: return " · **generic llama-style reading**";
  case LS_MODEL_READING_INFERRED: return " · inferred";
  case LS_MODEL_READING_NONE: return " · not modelled";
  default: return "";
  }
}

void lsp_render_key_doc(const ls_model_keyinfo *ki, lsp_md *b) {
  lsp_md_printf(b, "%s", ki->doc ? ki->doc : "");
  lsp_md_printf(b, "\n\nDefault: `%s`", ki->default_expr ? ki->default_expr : "null");
  if (ki->enum_values) lsp_md_printf(b, "  \nValues: `%s`", ki->enum_values);
}

void lsp_render_hover_key(const lsp_analysis *a, int key, lsp_md *b) {
  const ls_model *m = a->cfg.model;
  const ls_model_value *v = &m->values[key];
  char val[96];
  ls_model_value_format(v, val, sizeof val);
  lsp_md_printf(b, "**%s** = `%s`", v->spelling ? v->spelling : v->info->name, val);
  if (!v->present) lsp_md_printf(b, " (default `%s`)", v->info->default_expr ? v->info->default_expr : "null");
  else if (!v->valid) lsp_md_printf(b, " (invalid; the default is used)");
  lsp_md_printf(b, " · %s%s\n\n%s", m->model_type ? m->model_type : "unknown", reading_tag(m),
                v->info->doc ? v->info->doc : "");
  if (v->info->enum_values) lsp_md_printf(b, "  \nValues: `%s`", v->info->enum_values);
  if (m->n_modules == 0) {
    lsp_md_printf(b, "\n\n_Shapes unavailable: ");
    lsp_md_escaped(b, ls_model_no_tree_reason(m));
    lsp_md_printf(b, "._");
    return;
  }
  if (m->reading == LS_MODEL_READING_GENERIC)
    lsp_md_printf(b, "\n\n_Generic reading: these shapes are llama's, not %s's._", m->model_type);
  hover_tensors(a, key, b);
  hover_activations(a, key, b);
  char c1[32], c2[32];
  if (a->cfg.have_fig && a->cfg.fig.kv_bytes_per_token && is_kv_role(v->info->role)) {
    para(b);
    lsp_md_printf(b, "KV cache: %s per token, %s at B=%lld S=%lld (%s).",
                  ls_fmt_bytes(a->cfg.fig.kv_bytes_per_token, c1, sizeof c1),
                  ls_fmt_bytes(a->cfg.fig.kv_bytes, c2, sizeof c2), (long long)a->cfg.fig.batch,
                  (long long)a->cfg.fig.seq, ls_model_wdtype_name(a->cfg.fig.dtype));
  }
}

void lsp_render_hover_summary(const lsp_analysis *a, lsp_md *b) {
  const ls_model *m = a->cfg.model;
  char c1[40], c2[40];
  lsp_md_printf(b, "**%s** · %s%s", m->architecture && m->architecture[0] ? m->architecture : "model",
                m->model_type ? m->model_type : "unknown", reading_tag(m));
  if (m->reading_note) {
    lsp_md_printf(b, "\n\n_");
    lsp_md_escaped(b, m->reading_note);
    lsp_md_printf(b, "._");
  }
  if (!a->cfg.have_fig) {
    if (m->reading != LS_MODEL_READING_NONE) {
      lsp_md_printf(b, "\n\n_Figures unavailable: ");
      lsp_md_escaped(b, ls_model_no_tree_reason(m) ? ls_model_no_tree_reason(m) : "the config has errors");
      lsp_md_printf(b, "._");
    } else {
      lsp_md_printf(b, "\n\n_No figures: set `layerscope.genericReading` for a labelled llama-style reading._");
    }
    return;
  }
  const ls_model_figures *f = &a->cfg.fig;
  lsp_md_printf(b, "\n\n| | |\n|---|---|\n| params | %s (%s) |\n", ls_fmt_count((double)f->params, c1, sizeof c1),
                ls_fmt_grouped(f->params, c2, sizeof c2));
  if (f->params_active != f->params)
    lsp_md_printf(b, "| active / token | %s |\n", ls_fmt_count((double)f->params_active, c1, sizeof c1));
  lsp_md_printf(b, "| FLOPs / token | %s (S=%lld) |\n", ls_fmt_si((double)f->flops_per_token, "FLOP", c1, sizeof c1),
                (long long)f->seq);
  if (f->flops_per_image)
    lsp_md_printf(b, "| FLOPs / image | %s (vision tower) |\n", ls_fmt_si((double)f->flops_per_image, "FLOP", c1, sizeof c1));
  lsp_md_printf(b, "| weights |");
  static const ls_model_wdtype shown[] = {LS_MODEL_WDTYPE_F32, LS_MODEL_WDTYPE_BF16, LS_MODEL_WDTYPE_INT8,
                                          LS_MODEL_WDTYPE_Q4_0};
  for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
    lsp_md_printf(b, "%s %s %s", i ? " ·" : "", ls_model_wdtype_name(shown[i]),
                  ls_fmt_bytes(f->weight_bytes[shown[i]], c1, sizeof c1));
  lsp_md_printf(b, " |\n");
  if (f->kv_bytes_per_token)
    lsp_md_printf(b, "| KV cache (%s) | %s/token · %s at B=%lld S=%lld |\n", ls_model_wdtype_name(f->dtype),
                  ls_fmt_bytes(f->kv_bytes_per_token, c1, sizeof c1), ls_fmt_bytes(f->kv_bytes, c2, sizeof c2),
                  (long long)f->batch, (long long)f->seq);
  if (f->ssm_state_bytes_per_seq)
    lsp_md_printf(b, "| SSM state (%s) | %s/sequence · %s at B=%lld |\n", ls_model_wdtype_name(f->dtype),
                  ls_fmt_bytes(f->ssm_state_bytes_per_seq, c1, sizeof c1), ls_fmt_bytes(f->ssm_state_bytes, c2, sizeof c2),
                  (long long)f->batch);
  if (f->train_activations_unknown)
    lsp_md_printf(b, "| training (Adam) | activations not modelled for state-space layers |\n");
  else
    lsp_md_printf(b, "| training (Adam, %s) | %s; %s with checkpointing |\n", ls_model_attn_impl_name(f->attn),
                  ls_fmt_bytes(f->train_total, c1, sizeof c1), ls_fmt_bytes(f->train_total_ckpt, c2, sizeof c2));
}

int lsp_render_lens_title(const lsp_analysis *a, char *buf, size_t cap) {
  const ls_model *m = a->cfg.model;
  if (m && m->reading == LS_MODEL_READING_NONE)
    return snprintf(buf, cap, "%s: not modelled by layerscope, no figures (layerscope.genericReading gives a "
                    "labelled llama-style reading)", m->model_type);
  if (!a->cfg.have_fig) return snprintf(buf, cap, "%s: figures unavailable (the config has errors)",
                                    m && m->architecture ? m->architecture : "model");
  const ls_model_figures *f = &a->cfg.fig;
  char c1[40], c2[40], c3[40];
  int n = 0;
  if (m && m->reading == LS_MODEL_READING_GENERIC)
    n = snprintf(buf, cap, "GENERIC llama-style reading, not %s's: ", m->model_type);
  else if (m && m->reading == LS_MODEL_READING_INFERRED)
    n = snprintf(buf, cap, "inferred %s: ", m->model_type);
  if (n < 0 || (size_t)n >= cap) return n;
  n += snprintf(buf + n, cap - (size_t)n, "%s params · weights %s %s", ls_fmt_count((double)f->params, c1, sizeof c1),
                   ls_fmt_bytes(f->weight_bytes[f->dtype], c2, sizeof c2), ls_model_wdtype_name(f->dtype));
  if (f->kv_bytes_per_token && n >= 0 && (size_t)n < cap)
    n += snprintf(buf + n, cap - (size_t)n, " · KV %s/token, %s at S=%lld",
                  ls_fmt_bytes(f->kv_bytes_per_token, c3, sizeof c3),
                  ls_fmt_bytes(f->kv_bytes, c2, sizeof c2), (long long)f->seq);
  return n;
}
