/* docs.c: the document store (see docs.h). An array of documents (iterated when settings
 * change) and a hash map from URI to document (every notification and request looks one up;
 * a linear search made opening thousands of documents quadratic). Incremental
 * changes are applied one after another to a working copy (each change's positions refer to
 * the text after the previous change, as LSP specifies); the document takes the copy only if
 * all of them were valid. */
#include "lsp/docs.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

void lsp_docs_init(lsp_docs *ds) { memset(ds, 0, sizeof *ds); }

static void doc_free(lsp_doc *d) {
  if (!d) return;
  ls_text_index_deinit(&d->index);
  ls_free(d->uri);
  ls_free(d->language_id);
  ls_free(d->text);
  ls_free(d);
}

void lsp_docs_deinit(lsp_docs *ds) {
  for (size_t i = 0; i < ds->n; i++) doc_free(ds->items[i]);
  ls_free(ds->items);
  ls_strmap_deinit(&ds->by_uri);
  memset(ds, 0, sizeof *ds);
}

lsp_doc *lsp_docs_find(lsp_docs *ds, const char *uri) { return ls_strmap_get(&ds->by_uri, uri); }

/* Takes ownership of text (len bytes + NUL) and rebuilds the index; on failure frees text and
 * leaves the document as it was. */
static int doc_take_text(lsp_doc *d, char *text, size_t len) {
  ls_text_index idx;
  if (ls_text_index_init(&idx, text, len) != LS_OK) { ls_free(text); return LS_ENOMEM; }
  ls_text_index_deinit(&d->index);
  ls_free(d->text);
  d->text = text;
  d->len = len;
  d->index = idx;
  return LS_OK;
}

/* A copy of len bytes plus a terminating NUL. Not ls_strndup: document text may contain NUL
 * ("\u0000" in a didOpen), and the copy must hold all len bytes (fuzz/fuzz_lsp). */
static char *docs_copy(const char *text, size_t len) {
  if (len == SIZE_MAX) return NULL;
  char *copy = ls_malloc(len + 1);
  if (!copy) return NULL;
  memcpy(copy, text, len);
  copy[len] = 0;
  return copy;
}

int lsp_docs_set_text(lsp_doc *doc, const char *text, size_t len) {
  char *copy = docs_copy(text, len);
  if (!copy) return LS_ENOMEM;
  return doc_take_text(doc, copy, len);
}

int lsp_docs_open(lsp_docs *ds, const char *uri, const char *language_id, int64_t version,
                  const char *text, size_t len, lsp_doc **out) {
  lsp_doc *d = lsp_docs_find(ds, uri);
  int fresh = d == NULL;
  if (fresh) {
    if (ds->n == ds->cap) {
      size_t cap = ds->cap ? ds->cap * 2 : 8;
      lsp_doc **items = ls_reallocarray(ds->items, cap, sizeof *items);
      if (!items) return LS_ENOMEM;
      ds->items = items;
      ds->cap = cap;
    }
    d = ls_calloc(1, sizeof *d);
    if (!d) return LS_ENOMEM;
    d->uri = ls_strdup(uri);
    if (!d->uri) { ls_free(d); return LS_ENOMEM; }
  }
  char *lang = ls_strdup(language_id);
  if (!lang || lsp_docs_set_text(d, text, len) != LS_OK) {
    ls_free(lang);
    if (fresh) doc_free(d);
    return LS_ENOMEM;
  }
  if (fresh && ls_strmap_put(&ds->by_uri, d->uri, d) != LS_OK) {
    ls_free(lang);
    doc_free(d);
    return LS_ENOMEM;
  }
  ls_free(d->language_id);
  d->language_id = lang;
  d->version = version;
  if (fresh) {
    d->slot = ds->n;
    ds->items[ds->n++] = d;
  }
  *out = d;
  return LS_OK;
}

int lsp_docs_close(lsp_docs *ds, const char *uri) {
  lsp_doc *d = ls_strmap_remove(&ds->by_uri, uri);
  if (!d) return LS_ENOENT;
  ds->items[d->slot] = ds->items[--ds->n];
  ds->items[d->slot]->slot = d->slot;
  doc_free(d);
  return LS_OK;
}

static int get_pos(const json_t *range, const char *which, ls_pos *p, size_t i, ls_diag *d) {
  json_t *pos = json_object_get(range, which);
  if (!json_is_object(pos))
    return ls_diag_set(d, LS_EINVAL, "field 'contentChanges[%zu].range.%s' must be an object", i, which);
  json_t *line = json_object_get(pos, "line"), *ch = json_object_get(pos, "character");
  if (!json_is_integer(line) || json_integer_value(line) < 0 || json_integer_value(line) > 2147483647)
    return ls_diag_set(d, LS_EINVAL, "field 'contentChanges[%zu].range.%s.line' must be a non-negative integer", i, which);
  if (!json_is_integer(ch) || json_integer_value(ch) < 0 || json_integer_value(ch) > 2147483647)
    return ls_diag_set(d, LS_EINVAL, "field 'contentChanges[%zu].range.%s.character' must be a non-negative integer", i, which);
  p->line = (uint32_t)json_integer_value(line);
  p->col = (uint32_t)json_integer_value(ch);
  return LS_OK;
}

int lsp_docs_change(lsp_doc *doc, const json_t *changes, int64_t version, ls_pos_enc enc,
                    ls_diag *d) {
  if (!json_is_array(changes)) return ls_diag_set(d, LS_EINVAL, "field 'contentChanges' must be an array");
  /* Working copy: text + index; the document itself is untouched until the end. */
  char *text = docs_copy(doc->text, doc->len);
  if (!text) return LS_ENOMEM;
  size_t len = doc->len;
  ls_text_index idx;
  if (ls_text_index_init(&idx, text, len) != LS_OK) { ls_free(text); return LS_ENOMEM; }
  int rc = LS_OK;
  for (size_t i = 0; i < json_array_size(changes); i++) {
    json_t *c = json_array_get(changes, i);
    json_t *t = json_object_get(c, "text");
    if (!json_is_object(c)) { rc = ls_diag_set(d, LS_EINVAL, "field 'contentChanges[%zu]' must be an object", i); break; }
    if (!json_is_string(t)) { rc = ls_diag_set(d, LS_EINVAL, "field 'contentChanges[%zu].text' must be a string", i); break; }
    const char *ins = json_string_value(t);
    size_t ins_len = json_string_length(t);
    json_t *range = json_object_get(c, "range");
    size_t start = 0, end = len;
    if (range) {
      ls_pos a, b;
      if (!json_is_object(range)) { rc = ls_diag_set(d, LS_EINVAL, "field 'contentChanges[%zu].range' must be an object", i); break; }
      if ((rc = get_pos(range, "start", &a, i, d)) || (rc = get_pos(range, "end", &b, i, d))) break;
      if (a.line > b.line || (a.line == b.line && a.col > b.col)) {
        rc = ls_diag_set(d, LS_EINVAL, "field 'contentChanges[%zu].range': start (%u:%u) is after end (%u:%u)",
                         i, a.line, a.col, b.line, b.col);
        break;
      }
      start = ls_text_offset_of(&idx, a, enc);
      end = ls_text_offset_of(&idx, b, enc);
      if (end < start) end = start; /* both clamped onto the same spot */
    }
    char *next;
    size_t next_len;
    if ((rc = ls_text_splice(text, len, start, end, ins, ins_len, &next, &next_len)) != LS_OK) {
      ls_diag_set(d, rc, "cannot apply contentChanges[%zu]", i);
      break;
    }
    ls_text_index_deinit(&idx);
    ls_free(text);
    text = next;
    len = next_len;
    if (ls_text_index_init(&idx, text, len) != LS_OK) { rc = LS_ENOMEM; break; }
  }
  ls_text_index_deinit(&idx);
  if (rc != LS_OK) { ls_free(text); return rc; }
  rc = doc_take_text(doc, text, len);
  if (rc == LS_OK) doc->version = version;
  return rc;
}
