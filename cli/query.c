/* query.c: `layerscope query RUN.db "SQL"`: one read-only SQL statement against a run record
 * (core/record/record.h; the schema is docs/run-record.md), printed as an aligned table
 * (default), CSV (RFC 4180) or JSON (an array of objects, one per row, keyed by column name).
 * The record is opened read-only and the statement must only read, so a query never changes
 * a record. Exit 0 with rows or none, 1 for a bad file or bad SQL (the message says which and
 * where), 2 for usage. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/record/record.h"

#define TABLE_MAX_ROWS 10000 /* an aligned table needs every row first; past this, use LIMIT */

typedef enum qfmt { QF_TABLE = 0, QF_CSV, QF_JSON } qfmt;

typedef struct qctx {
  qfmt fmt;
  int n_cols;
  char **names;        /* [n_cols] owned copies */
  char **cells;        /* table: [rows * n_cols] owned, formatted */
  size_t rows, cap;
  size_t more;         /* table rows beyond TABLE_MAX_ROWS, counted, not kept */
  json_t *json;        /* JSON: the array */
  int failed;
} qctx;

/* A value as text: integers exactly, reals with up to 17 significant digits (exact for CSV /
 * JSON) or 6 (table), NULL as "" (CSV/table). New string. */
static char *fmt_value(const ls_rec_value *v, int exact) {
  char buf[64];
  switch (v->type) {
  case LS_REC_INT: snprintf(buf, sizeof buf, "%lld", (long long)v->i); return ls_strdup(buf);
  case LS_REC_REAL: snprintf(buf, sizeof buf, exact ? "%.17g" : "%.6g", v->f); return ls_strdup(buf);
  case LS_REC_TEXT: return ls_strdup(v->s);
  case LS_REC_BLOB: snprintf(buf, sizeof buf, "<blob, %zu bytes>", v->len); return ls_strdup(buf);
  default: return ls_strdup("");
  }
}

static void csv_field(const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, stdout);
    return;
  }
  putchar('"');
  for (; *s; s++) {
    if (*s == '"') putchar('"');
    putchar(*s);
  }
  putchar('"');
}

static json_t *json_value(const ls_rec_value *v) {
  switch (v->type) {
  case LS_REC_INT: return json_integer(v->i);
  case LS_REC_REAL: return isfinite(v->f) ? json_real(v->f) : json_null();
  case LS_REC_TEXT: {
    json_t *s = json_stringn(v->s, v->len);
    return s ? s : json_string("<not UTF-8>");
  }
  case LS_REC_BLOB: return json_pack("{s:I}", "blob_bytes", (json_int_t)v->len);
  default: return json_null();
  }
}

static int on_row(void *ud, int64_t row, int n, const char *const *names, const ls_rec_value *vals) {
  qctx *q = ud;
  if (row < 0) {
    q->n_cols = n;
    q->names = ls_calloc((size_t)(n ? n : 1), sizeof *q->names);
    if (!q->names) return q->failed = 1;
    for (int c = 0; c < n; c++)
      if (!(q->names[c] = ls_strdup(names[c]))) return q->failed = 1;
    if (q->fmt == QF_CSV) {
      for (int c = 0; c < n; c++) {
        if (c) putchar(',');
        csv_field(names[c]);
      }
      putchar('\n');
    }
    return 0;
  }
  if (q->fmt == QF_CSV) {
    for (int c = 0; c < n; c++) {
      char *s = fmt_value(&vals[c], 1);
      if (!s) return q->failed = 1;
      if (c) putchar(',');
      csv_field(s);
      ls_free(s);
    }
    putchar('\n');
    return 0;
  }
  if (q->fmt == QF_JSON) {
    json_t *o = json_object();
    if (!o) return q->failed = 1;
    for (int c = 0; c < n; c++) json_object_set_new(o, names[c], json_value(&vals[c]));
    json_array_append_new(q->json, o);
    return 0;
  }
  if (q->rows == TABLE_MAX_ROWS) {
    q->more++;
    return 0;
  }
  if (q->rows == q->cap) {
    size_t nc = q->cap ? q->cap * 2 : 64;
    char **ncells = ls_reallocarray(q->cells, nc * (size_t)(n ? n : 1), sizeof *ncells);
    if (!ncells) return q->failed = 1;
    q->cells = ncells;
    q->cap = nc;
  }
  for (int c = 0; c < n; c++) {
    char *s = fmt_value(&vals[c], 0);
    if (!s) return q->failed = 1;
    for (char *p = s; *p; p++)
      if (*p == '\n' || *p == '\t') *p = ' '; /* one line per row */
    q->cells[q->rows * (size_t)n + (size_t)c] = s;
  }
  q->rows++;
  return 0;
}

/* Display width of UTF-8 text: code points (no East Asian widths; names are ASCII). */
static size_t width(const char *s) {
  size_t w = 0;
  for (; *s; s++) w += ((unsigned char)*s & 0xc0) != 0x80;
  return w;
}

static void print_table(const qctx *q) {
  int n = q->n_cols;
  size_t *w = ls_calloc((size_t)(n ? n : 1), sizeof *w);
  if (!w) return;
  for (int c = 0; c < n; c++) w[c] = width(q->names[c]);
  for (size_t r = 0; r < q->rows; r++)
    for (int c = 0; c < n; c++) {
      size_t x = width(q->cells[r * (size_t)n + (size_t)c]);
      if (x > w[c]) w[c] = x;
    }
  for (int c = 0; c < n; c++) printf("%s%s%*s", c ? "  " : "", q->names[c], (int)(w[c] - width(q->names[c])), "");
  printf("\n");
  for (int c = 0; c < n; c++) {
    printf("%s", c ? "  " : "");
    for (size_t k = 0; k < w[c]; k++) putchar('-');
  }
  printf("\n");
  for (size_t r = 0; r < q->rows; r++) {
    for (int c = 0; c < n; c++) {
      const char *s = q->cells[r * (size_t)n + (size_t)c];
      /* numbers right-aligned, text left */
      char *end;
      strtod(s, &end);
      int num = *s && !*end;
      if (num) printf("%s%*s%s", c ? "  " : "", (int)(w[c] - width(s)), "", s);
      else if (c == n - 1) printf("%s%s", c ? "  " : "", s);
      else printf("%s%s%*s", c ? "  " : "", s, (int)(w[c] - width(s)), "");
    }
    printf("\n");
  }
  printf("(%zu row%s)\n", q->rows + q->more, q->rows + q->more == 1 ? "" : "s");
  if (q->more) printf("(%zu rows not shown: a table keeps the first %d; add LIMIT, or --format csv)\n", q->more, TABLE_MAX_ROWS);
  ls_free(w);
}

static void qctx_free(qctx *q) {
  for (int c = 0; q->names && c < q->n_cols; c++) ls_free(q->names[c]);
  ls_free(q->names);
  for (size_t i = 0; i < q->rows * (size_t)q->n_cols; i++) ls_free(q->cells[i]);
  ls_free(q->cells);
  json_decref(q->json);
}

int ls_cli_query(int argc, char **argv) {
  const char *path = NULL, *sql = NULL, *format = "table";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      ls_cli_usage(stdout, "query");
      return 0;
    }
    if (strcmp(a, "--format") == 0 && i + 1 < argc) format = argv[++i];
    else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "layerscope query: unknown or incomplete argument '%s'\n", a);
      ls_cli_usage(stderr, "query");
      return 2;
    } else if (!path) path = a;
    else if (!sql) sql = a;
    else {
      fprintf(stderr, "layerscope query: give one SQL statement, quoted as one argument\n");
      return 2;
    }
  }
  qctx q = {.fmt = QF_TABLE};
  if (strcmp(format, "csv") == 0) q.fmt = QF_CSV;
  else if (strcmp(format, "json") == 0) q.fmt = QF_JSON;
  else if (strcmp(format, "table") != 0) {
    fprintf(stderr, "layerscope query: --format: '%s' is not table, csv or json\n", format);
    return 2;
  }
  if (!path || !sql) {
    ls_cli_usage(stderr, "query");
    return 2;
  }
  ls_diag d;
  ls_diag_init(&d);
  ls_rec *r = NULL;
  int status = 1;
  if (ls_rec_open(&r, path, LS_REC_READ, &d)) goto fail;
  if (q.fmt == QF_JSON && !(q.json = json_array())) {
    ls_diag_set(&d, LS_ENOMEM, "out of memory");
    goto fail;
  }
  if (ls_rec_query(r, sql, 0, on_row, &q, &d)) goto fail;
  if (q.failed) {
    ls_diag_set(&d, LS_ENOMEM, "out of memory");
    goto fail;
  }
  if (q.fmt == QF_TABLE) print_table(&q);
  else if (q.fmt == QF_JSON) {
    if (json_dumpf(q.json, stdout, JSON_COMPACT) != 0) goto fail;
    printf("\n");
  }
  status = 0;
  goto out;
fail:
  fflush(stdout);
  fprintf(stderr, "layerscope query: %s\n", d.msg[0] ? d.msg : "failed");
out:
  qctx_free(&q);
  ls_rec_close(r);
  return status;
}
