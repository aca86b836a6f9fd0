/* analysis.h: the per-document analysis cache of the LSP server. For every open document it
 * keeps one analysis of one generation of the text: the tolerant parse (core/base/json.h),
 * the model built from it (core/model/model.h), the smell report (core/model/smells.h) and the
 * figures at the user's settings (core/model/figures.h). The feature handlers (hover,
 * completion, inlay hints, ...) read it; hooks.c schedules it after each change.
 *
 * Scheduling (why no timer): analysing a 200-line config takes well under a millisecond
 * (bench/lsp), so a fixed debounce delay would only add latency. Documents over 256 KiB are
 * analysed on libuv's pool (cancelable, the loop keeps answering); a result whose generation
 * is no longer the document's is dropped, never published. Instead a change posts one
 * analysis to the loop (lsp_server_post); edits that arrive before it runs bump the
 * document's generation and are coalesced into that single run, which analyses the newest
 * text. A request that needs the analysis computes it at once when the cached one is older
 * than the document. Diagnostics are published with the version of the text they were
 * computed from, and only when that text is still the document's current generation, so a
 * result for an old version is never published.
 *
 * Threading: the cache is touched on the loop thread only; pool jobs work on their own copy. The cache is process-wide (one LSP server per process; the
 * server struct belongs to the transport and has no slot for features).
 *
 * Ownership: lsp_analysis_get returns a borrowed pointer, valid until the next call into this
 * module or the next change of that document. */
#ifndef LS_LSP_ANALYSIS_H
#define LS_LSP_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/json.h"
#include "core/base/text.h"
#include "core/model/figures.h"
#include "core/model/model.h"
#include "core/model/smells.h"
#include "lsp/server.h"

/* The "layerscope" settings section as the analyses use it. */
typedef struct lsp_settings {
  int64_t batch;                         /* layerscope.batch, >= 1 (default 1) */
  int64_t seq;                           /* layerscope.seqLen, 0 = the model's default */
  int have_dtype;                        /* layerscope.dtype was given */
  ls_model_wdtype dtype;                 /* layerscope.dtype for estimates */
  unsigned char disabled[LS_SMELL_COUNT]; /* layerscope.disabledRules (codes or names) */
} lsp_settings;

typedef struct lsp_analysis {
  char *uri;                 /* owned */
  uint64_t generation;       /* lsp_doc.generation of the analysed text */
  int64_t version;           /* lsp_doc.version of the analysed text */
  uint64_t settings_gen;     /* settings generation it was computed with */
  char *text;                /* [len + 1] owned snapshot (the doc and index borrow it) */
  size_t len;
  ls_text_index index;       /* lines of text */
  ls_json_doc *doc;          /* owned; NULL only when out of memory */
  int is_model;              /* the root is an object with model_type or architectures */
  ls_model *model;           /* owned; NULL when not a model config or building failed */
  ls_smell_report *report;   /* owned; NULL when not a model config */
  int have_fig;              /* fig is valid (the model has no errors) */
  ls_model_figures fig;      /* at the settings' batch / seq / dtype */
  int64_t published_gen;     /* generation whose diagnostics went out, -1: none */
  int published_any;         /* the last publication had at least one diagnostic */
  int posted;                /* an analysis run is queued on the loop */
  int job_running;           /* a pool analysis of this document (large ones) is running */
} lsp_analysis;

/* The settings in effect (parsed from s->settings by lsp_analysis_settings_update). */
const lsp_settings *lsp_analysis_settings(void);
/* Re-reads s->settings; when they changed, every open document is re-analysed and its
 * diagnostics re-published. Invalid values are reported with window/logMessage and ignored. */
void lsp_analysis_settings_update(lsp_server *s);

/* The analysis of the document's current text, computed now if the cached one is stale.
 * NULL only when out of memory. Borrowed. */
lsp_analysis *lsp_analysis_get(lsp_server *s, lsp_doc *doc);
/* Queues an analysis + publication of diagnostics for doc (coalescing repeated calls). */
void lsp_analysis_schedule(lsp_server *s, lsp_doc *doc);
/* Analyses now and publishes diagnostics if they were not published for this generation. */
void lsp_analysis_publish(lsp_server *s, lsp_doc *doc);
/* Drops cache entries of documents that are no longer open. */
void lsp_analysis_sweep(lsp_server *s);

/* For a request on a document: reads textDocument.uri and returns the analysis of that open
 * document when it is a model config. Otherwise it answers the request itself (InvalidParams
 * for bad params; `empty`, stolen, when the document is not open or not a model config) and
 * returns NULL. `empty` is released when not used.
 * A large document (over 256 KiB) whose analysis is stale is analysed on the pool instead:
 * the request is deferred (NULL returned, nothing to do for the handler), $/cancelRequest
 * stops the work, and `again` (the handler itself) is called with the same params once the
 * analysis is current; if the text changed meanwhile the request fails with ContentModified. */
lsp_analysis *lsp_analysis_for_request(lsp_server *s, lsp_req *req, json_t *params, json_t *empty,
                                       int (*again)(lsp_server *s, lsp_req *req, json_t *params));

/* Byte offset of an LSP position in the analysed text. */
size_t lsp_analysis_offset(const lsp_analysis *a, ls_pos p, ls_pos_enc enc);

#endif
