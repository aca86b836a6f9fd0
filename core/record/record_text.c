/* record_text.c: a query's rows as an aligned text table (record.h: ls_rec_text_*), the form
 * `layerscope query` prints by default and the debugger's `sql` command answers with in a
 * REPL. Numbers are right-aligned and text left-aligned; reals keep 6 significant digits;
 * NULL is blank; a cell's newlines and tabs become spaces so a row stays one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/record/record.h"

void ls_rec_text_init(ls_rec_text *t, size_t max_rows) {
  memset(t, 0, sizeof *t);
  t->max_rows = max_rows;
}

void ls_rec_text_free(ls_rec_text *t) {
  for (int c = 0; t->names && c < t->n_cols; c++) ls_free(t->names[c]);
  ls_free(t->names);
  for (size_t i = 0; t->cells && i < t->rows * (size_t)t->n_cols; i++) ls_free(t->cells[i]);
  ls_free(t->cells);
  memset(t, 0, sizeof *t);
}

char *ls_rec_value_str(const ls_rec_value *v, int exact) {
  char buf[64];
  switch (v->type) {
  case LS_REC_INT: snprintf(buf, sizeof buf, "%lld", (long long)v->i); return ls_strdup(buf);
  case LS_REC_REAL: snprintf(buf, sizeof buf, exact ? "%.17g" : "%.6g", v->f); return ls_strdup(buf);
  case LS_REC_TEXT: return ls_strdup(v->s);
  case LS_REC_BLOB: snprintf(buf, sizeof buf, "<blob, %zu bytes>", v->len); return ls_strdup(buf);
  default: return ls_strdup("");
  }
}

int ls_rec_text_row(void *ud, int64_t row, int n, const char *const *names, const ls_rec_value *vals) {
  ls_rec_text *t = ud;
  if (row < 0) {
    t->n_cols = n;
    t->names = ls_calloc((size_t)(n ? n : 1), sizeof *t->names);
    if (!t->names) return t->failed = 1;
    for (int c = 0; c < n; c++)
      if (!(t->names[c] = ls_strdup(names[c]))) return t->failed = 1;
    return 0;
  }
  if (t->rows == t->max_rows) {
    t->more++;
    return 0;
  }
  if (t->rows == t->cap) {
    size_t nc = t->cap ? t->cap * 2 : 64;
    char **cells = ls_reallocarray(t->cells, nc * (size_t)(n ? n : 1), sizeof *cells);
    if (!cells) return t->failed = 1;
    t->cells = cells;
    t->cap = nc;
  }
  for (int c = 0; c < n; c++) {
    char *s = ls_rec_value_str(&vals[c], 0);
    if (!s) {
      for (int k = 0; k < c; k++) ls_free(t->cells[t->rows * (size_t)n + (size_t)k]);
      return t->failed = 1;
    }
    for (char *p = s; *p; p++)
      if (*p == '\n' || *p == '\t' || *p == '\r') *p = ' ';
    t->cells[t->rows * (size_t)n + (size_t)c] = s;
  }
  t->rows++;
  return 0;
}

/* Display width of UTF-8 text: code points (no East Asian widths; module names are ASCII). */
static size_t width(const char *s) {
  size_t w = 0;
  for (; *s; s++) w += ((unsigned char)*s & 0xc0) != 0x80;
  return w;
}

/* A number as the table prints one: digits first ("nan" and "inf" as text are words). */
static int numeric(const char *s) {
  const char *p = s + (*s == '-' || *s == '+');
  if (!((*p >= '0' && *p <= '9') || *p == '.')) return 0;
  char *end;
  strtod(s, &end);
  return !*end;
}

int ls_rec_text_render(const ls_rec_text *t, char **out) {
  *out = NULL;
  if (t->failed) return LS_ENOMEM;
  int n = t->n_cols;
  size_t *w = ls_calloc((size_t)(n ? n : 1), sizeof *w);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = w ? open_memstream(&buf, &len) : NULL;
  if (!f) {
    ls_free(w);
    return LS_ENOMEM;
  }
  for (int c = 0; c < n; c++) w[c] = width(t->names[c]);
  for (size_t r = 0; r < t->rows; r++)
    for (int c = 0; c < n; c++) {
      size_t x = width(t->cells[r * (size_t)n + (size_t)c]);
      if (x > w[c]) w[c] = x;
    }
  for (int c = 0; c < n; c++)
    fprintf(f, "%s%s%*s", c ? "  " : "", t->names[c], c == n - 1 ? 0 : (int)(w[c] - width(t->names[c])), "");
  fputc('\n', f);
  for (int c = 0; c < n; c++) {
    fputs(c ? "  " : "", f);
    for (size_t k = 0; k < w[c]; k++) fputc('-', f);
  }
  fputc('\n', f);
  for (size_t r = 0; r < t->rows; r++) {
    for (int c = 0; c < n; c++) {
      const char *s = t->cells[r * (size_t)n + (size_t)c];
      int pad = (int)(w[c] - width(s));
      if (numeric(s)) fprintf(f, "%s%*s%s", c ? "  " : "", pad, "", s);
      else fprintf(f, "%s%s%*s", c ? "  " : "", s, c == n - 1 ? 0 : pad, "");
    }
    fputc('\n', f);
  }
  size_t all = t->rows + t->more;
  fprintf(f, "(%zu row%s)\n", all, all == 1 ? "" : "s");
  if (t->more) fprintf(f, "(%zu rows not shown: add LIMIT, or ask for CSV)\n", t->more);
  ls_free(w);
  if (fclose(f) != 0) {
    free(buf);
    return LS_ENOMEM;
  }
  *out = ls_malloc(len + 1);
  if (*out) memcpy(*out, buf, len + 1);
  free(buf);
  return *out ? LS_OK : LS_ENOMEM;
}
