/* pysource.c: a .py document's recorded call sites, from the run record the settings name
 * (pysource.h). The record is opened read-only per request: SQLite opens a file in well under
 * a millisecond, and a record that a running `watch` is still writing is then always read as
 * it is now. */
#include "lsp/pysource.h"

#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

int lsp_pysource_is_py(const char *uri) {
  size_t n = uri ? strlen(uri) : 0;
  return n > 3 && strcmp(uri + n - 3, ".py") == 0;
}

static int hex(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* file:///a/b%20c.py -> /a/b c.py; 0, or -1 when uri is not a local file URI. */
static int uri_path(const char *uri, char *buf, size_t cap) {
  const char *p = strncmp(uri, "file://", 7) == 0 ? uri + 7 : NULL;
  if (!p) return -1;
  if (strncmp(p, "localhost/", 10) == 0) p += 9;
  if (*p != '/') return -1;
  size_t n = 0;
  for (; *p && n + 1 < cap; p++) {
    if (*p == '%' && hex(p[1]) >= 0 && hex(p[2]) >= 0) {
      buf[n++] = (char)(hex(p[1]) * 16 + hex(p[2]));
      p += 2;
    } else {
      buf[n++] = *p;
    }
  }
  buf[n] = 0;
  return *p ? -1 : 0;
}

static const char *record_path(lsp_server *s) {
  const char *p = json_string_value(json_object_get(s->settings, "runRecord"));
  if (!p || !p[0]) p = json_string_value(json_object_get(s->init_options, "runRecord"));
  return p && p[0] ? p : NULL;
}

int lsp_pysource_sites(lsp_server *s, const lsp_doc *doc, int first, int last, ls_health_site **out, size_t *n) {
  *out = NULL;
  *n = 0;
  const char *rec = record_path(s);
  char path[4096];
  if (!rec || uri_path(doc->uri, path, sizeof path)) return LS_OK;
  ls_diag d;
  ls_diag_init(&d);
  ls_rec *r = NULL;
  int rc = ls_rec_open(&r, rec, LS_REC_READ, &d);
  if (!rc) rc = ls_health_sources(r, path, first + 1, last + 1, out, n, &d);
  ls_rec_close(r);
  if (rc == LS_ENOMEM) return rc;
  if (rc) lsp_log_message(s, LSP_MSG_WARNING, "layerscope.runRecord: %s", d.msg);
  return LS_OK;
}

size_t lsp_pysource_offset(const lsp_doc *doc, const ls_health_site *site, int col) {
  uint32_t line = (uint32_t)(site->line - 1);
  if (line >= doc->index.n_lines) return doc->len;
  size_t start = doc->index.line_starts[line], end = ls_text_line_end(&doc->index, line);
  if (col < 0 || start + (size_t)col > end) return end;
  return start + (size_t)col;
}

void lsp_pysource_shapes(const ls_health_site *site, char *buf, size_t cap) {
  snprintf(buf, cap, "%s -> %s", site->inputs[0] ? site->inputs : "()", site->outputs[0] ? site->outputs : "()");
}
