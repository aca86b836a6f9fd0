/* pysource.h: the shapes a watched run recorded for the user's .py files (issue 21), for
 * hovers and inlay hints on the lines that call modules (`self.mlp(x)` ->
 * `[8, 512, 768] bf16 -> [8, 512, 768]`). The run record is the `layerscope.runRecord`
 * setting (or initializationOptions.runRecord): a file written by `layerscope watch --health
 * --record RUN.db`. The call sites come from core/health (ls_health_sources); this file
 * maps a document's URI to the path the agent recorded and the record's UTF-8 columns to
 * the client's positions. */
#ifndef LS_LSP_PYSOURCE_H
#define LS_LSP_PYSOURCE_H

#include <stddef.h>

#include "core/health/health.h"
#include "lsp/docs.h"
#include "lsp/server.h"

/* 1 when uri names a Python source file (".py"). */
int lsp_pysource_is_py(const char *uri);

/* The recorded call sites of doc on lines [first, last] (0-based, inclusive): *out new
 * (ls_free), NULL and *n 0 when no run record is set or it has none for the file. A record
 * that cannot be read is said once per request with window/logMessage. LS_ENOMEM only. */
int lsp_pysource_sites(lsp_server *s, const lsp_doc *doc, int first, int last, ls_health_site **out, size_t *n);

/* Byte offset in doc of a site's column col (0-based UTF-8, clamped to the line; < 0: the
 * line's end) on its line. */
size_t lsp_pysource_offset(const lsp_doc *doc, const ls_health_site *site, int col);

/* "[8, 512, 768] bf16 -> [8, 512, 768]" into buf. */
void lsp_pysource_shapes(const ls_health_site *site, char *buf, size_t cap);

#endif
