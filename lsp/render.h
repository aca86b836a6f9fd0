/* render.h: core results -> LSP values. Byte spans of the analysed text become LSP ranges in
 * the negotiated position encoding; smell findings become Diagnostic objects (code = rule id,
 * codeDescription into docs/rules.md, relatedInformation) and their fixes CodeAction objects
 * with workspace edits; key info and figures become the concise Markdown of hovers,
 * completion documentation, inlay hints and the code lens. Nothing here computes a figure:
 * every number is read from core/model.
 *
 * Ownership: functions returning json_t * return a new reference (NULL when out of memory);
 * lsp_md buffers own their bytes until lsp_md_take or lsp_md_free. */
#ifndef LS_LSP_RENDER_H
#define LS_LSP_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/json.h"
#include "core/base/text.h"
#include "core/model/figures.h"
#include "core/model/model.h"
#include "core/model/smells.h"
#include "lsp/analysis.h"

/* A growable Markdown / text buffer; out of memory makes it sticky-failed (oom = 1). */
typedef struct lsp_md { char *p; size_t n, cap; int oom; } lsp_md;
void lsp_md_printf(lsp_md *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with Markdown punctuation escaped (for text taken from the file). */
void lsp_md_escaped(lsp_md *b, const char *s);
/* MarkupContent {kind: markdown, value}; frees the buffer. NULL when out of memory. */
json_t *lsp_md_take(lsp_md *b);
void lsp_md_free(lsp_md *b);

/* Numbers are formatted with core/base/fmt.h, shared with the CLI. */

/* ---- positions ---- */
json_t *lsp_render_pos(const ls_text_index *idx, size_t offset, ls_pos_enc enc);
json_t *lsp_render_range(const ls_text_index *idx, ls_json_span sp, ls_pos_enc enc);

/* ---- diagnostics and fixes ---- */
json_t *lsp_render_diagnostic(const lsp_analysis *a, const ls_smell_finding *f, ls_pos_enc enc);
/* Every finding of the analysis (empty array for a non-model document). */
json_t *lsp_render_diagnostics(const lsp_analysis *a, ls_pos_enc enc);
/* A quickfix CodeAction applying fix; diag (stolen, may be NULL) goes in its diagnostics.
 * versioned: use documentChanges with the analysed version (client supports it), else
 * changes. */
json_t *lsp_render_fix(const lsp_analysis *a, const ls_smell_fix *fix, json_t *diag, ls_pos_enc enc,
                       int versioned);
/* ---- hovers ---- */
/* Markdown for the value at index key (what it means, value/default, tensors and activations
 * it shapes, KV cache for attention keys, parameter share). */
void lsp_render_hover_key(const lsp_analysis *a, int key, lsp_md *b);
/* Markdown summary of the model: params, FLOPs per token, weight memory by dtype, KV cache. */
void lsp_render_hover_summary(const lsp_analysis *a, lsp_md *b);
/* Markdown documentation of a key for completion: meaning, type, default. */
void lsp_render_key_doc(const ls_model_keyinfo *ki, lsp_md *b);

/* One line for the code lens: "6.74 B params · weights 12.55 GiB bf16 · KV 512 KiB/token". */
int lsp_render_lens_title(const lsp_analysis *a, char *buf, size_t cap);

/* "model.layers.17.mlp" with layer 17 -> "model.layers.*.mlp" (experts likewise). */
void lsp_render_pattern(const char *name, int layer, int expert, char *buf, size_t cap);

#endif
