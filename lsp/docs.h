/* docs.h: the open text documents of the LSP server (didOpen/didChange/didClose). Each
 * document keeps its text, version, language id and a line index (core/base/text.h) that
 * converts between byte offsets and LSP positions in the negotiated encoding. Changes are
 * applied to a copy and committed only when every change of a notification is valid, so a
 * bad incremental edit never leaves a half-edited document. Documents are found by URI through
 * a hash map: a workspace may have thousands open. */
#ifndef LS_LSP_DOCS_H
#define LS_LSP_DOCS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/base/strmap.h"
#include "core/base/text.h"

typedef struct lsp_doc {
  char *uri;             /* owned; the key of the store's map */
  size_t slot;           /* index in lsp_docs.items */
  char *language_id;     /* owned */
  int64_t version;       /* the client's version */
  uint64_t generation;   /* bumped on every change: background results for an older
                            generation are stale and dropped */
  char *text;            /* [len + 1] owned, NUL-terminated UTF-8 */
  size_t len;            /* bytes */
  ls_text_index index;   /* lines of text */
} lsp_doc;

typedef struct lsp_docs {
  lsp_doc **items;       /* [n] owned, in no particular order */
  size_t n, cap;
  ls_strmap by_uri;      /* uri -> items[i] */
  uint64_t last_generation; /* the last lsp_doc.generation handed out (lsp_server_doc_changed) */
} lsp_docs;

void lsp_docs_init(lsp_docs *ds);
void lsp_docs_deinit(lsp_docs *ds);
/* Borrowed; NULL if not open. */
lsp_doc *lsp_docs_find(lsp_docs *ds, const char *uri);
/* Opens (or replaces) a document; text is copied. Borrowed result in *out. LS_ENOMEM. */
int lsp_docs_open(lsp_docs *ds, const char *uri, const char *language_id, int64_t version,
                  const char *text, size_t len, lsp_doc **out);
/* Applies contentChanges (a JSON array, see LSP TextDocumentContentChangeEvent) with
 * positions in `enc`. On a bad change returns LS_EINVAL with d naming the field
 * ("contentChanges[1].range.start.line"), and the document is unchanged. */
int lsp_docs_change(lsp_doc *doc, const json_t *changes, int64_t version, ls_pos_enc enc,
                    ls_diag *d);
/* Replaces the whole text (didSave with includeText). */
int lsp_docs_set_text(lsp_doc *doc, const char *text, size_t len);
/* Closes; LS_ENOENT if it was not open. */
int lsp_docs_close(lsp_docs *ds, const char *uri);

#endif
