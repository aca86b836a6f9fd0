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
  ls_rec_text table;   /* QF_TABLE */
  json_t *json;        /* QF_JSON: the array */
  int failed;
} qctx;

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
  if (q->fmt == QF_TABLE) return ls_rec_text_row(&q->table, row, n, names, vals);
  if (q->fmt == QF_CSV) {
    for (int c = 0; c < n; c++) {
      char *s = row < 0 ? NULL : ls_rec_value_str(&vals[c], 1);
      if (row >= 0 && !s) return q->failed = 1;
      if (c) putchar(',');
      csv_field(row < 0 ? names[c] : s);
      ls_free(s);
    }
    putchar('\n');
    return 0;
  }
  if (row < 0) return 0;
  json_t *o = json_object();
  if (!o) return q->failed = 1;
  for (int c = 0; c < n; c++) json_object_set_new(o, names[c], json_value(&vals[c]));
  json_array_append_new(q->json, o);
  return 0;
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
  ls_rec_text_init(&q.table, TABLE_MAX_ROWS);
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
  if (q.failed || q.table.failed) {
    ls_diag_set(&d, LS_ENOMEM, "out of memory");
    goto fail;
  }
  if (q.fmt == QF_TABLE) {
    char *text = NULL;
    if (ls_rec_text_render(&q.table, &text)) {
      ls_diag_set(&d, LS_ENOMEM, "out of memory");
      goto fail;
    }
    fputs(text, stdout);
    ls_free(text);
  }
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
  ls_rec_text_free(&q.table);
  json_decref(q.json);
  ls_rec_close(r);
  return status;
}
