/* analysis.h: the per-document analysis cache of the LSP server. For every open document it
 * keeps one analysis of one generation of the text: the pipeline of core/model/config.h
 * (line index, tolerant parse, model, smell report, figures at the user's settings), the same
 * one `layerscope check` runs. The feature handlers (hover, completion, inlay hints, ...) read
 * it; hooks.c schedules it after each change and drops it when the document closes.
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
 * State: the cache (lsp_cache) is the server's (lsp_server.cache), created and freed with it:
 * the analyses keyed by URI in a hash map, so that opening, analysing and closing one of
 * thousands of documents costs the same as with one, and the settings they are computed
 * with. An analysis is freed when its document closes, or, when a queued run or pool job
 * still refers to it, as soon as that ends.
 *
 * Threading: the cache is touched on the loop thread only; pool jobs work on their own copy.
 *
 * Ownership: lsp_analysis_get returns a borrowed pointer, valid until the next call into this
 * module or the next change of that document. */
#ifndef LS_LSP_ANALYSIS_H
#define LS_LSP_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/text.h"
#include "core/model/config.h"
#include "lsp/server.h"

/* The "layerscope" settings section as the analyses use it. */
typedef struct lsp_settings {
  int64_t batch;                         /* layerscope.batch, >= 1 (default 1) */
  int64_t seq;                           /* layerscope.seqLen, 0 = the model's default */
  int have_dtype;                        /* layerscope.dtype was given */
  ls_model_wdtype dtype;                 /* layerscope.dtype for estimates */
  unsigned char disabled[LS_SMELL_COUNT]; /* layerscope.disabledRules (codes or names) */
  ls_model_attn_impl attn;               /* layerscope.attnImplementation: sdpa (default),
                                            eager, flash, for the training estimate */
  int generic;                           /* layerscope.genericReading: a model_type layerscope
                                            does not model is read as a labelled llama-style
                                            decoder (default false: no figures) */
} lsp_settings;

typedef struct lsp_analysis {
  char *uri;                 /* owned; the key of its cache entry */
  uint64_t generation;       /* lsp_doc.generation of the analysed text */
  int64_t version;           /* lsp_doc.version of the analysed text */
  uint64_t settings_gen;     /* settings generation it was computed with */
  ls_config_analysis cfg;    /* text snapshot, index, parse, model, report, figures at the
                                settings; cfg.text NULL while there is none */
  int64_t published_gen;     /* generation whose diagnostics went out, -1: none */
  int published_any;         /* the last publication had at least one diagnostic */
  int posted;                /* an analysis run is queued on the loop */
  int job_running;           /* a pool analysis of this document (large ones) is running */
} lsp_analysis;

/* The analyses of the open documents and the settings they use (lsp_server.cache). */
typedef struct lsp_cache lsp_cache;
int lsp_cache_new(lsp_cache **out); /* LS_ENOMEM */
void lsp_cache_free(lsp_cache *c);

/* The settings in effect (parsed from s->settings by lsp_analysis_settings_update). */
const lsp_settings *lsp_analysis_settings(const lsp_server *s);
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
/* The document `uri` was closed: its analysis is freed now, or when the run or job that still
 * refers to it ends. */
void lsp_analysis_forget(lsp_server *s, const char *uri);

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
