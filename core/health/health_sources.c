/* health_sources.c: the module call sites of a watched run recorded for a file (health.h,
 * ls_health_sources), for the language server's hovers and inlay hints on the user's .py
 * files: each row of `sources` (kind "call") says where a module was called, with the shapes
 * of that call at its last sampled step. The latest run that recorded the file wins; with
 * several ranks, the lowest rank's row of a call site. One line of code that calls several
 * modules with the same shapes (`self.fc(x)` in a block repeated four times) is one site
 * naming them all. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/health/health.h"

#define MAX_SITES 100000

typedef struct sites {
  ls_health_site *v;
  size_t n, cap;
  int oom;
  char last[256];            /* the module of the last row taken */
} sites;

static void text(char *dst, size_t cap, const ls_rec_value *v) {
  snprintf(dst, cap, "%s", v->type == LS_REC_TEXT && v->s ? v->s : "");
}

static int on_site(void *ud, int64_t row, int n_cols, const char *const *names, const ls_rec_value *v) {
  sites *s = ud;
  if (row < 0) return 0;
  if (v[0].type != LS_REC_INT || v[0].i < 1 || v[0].i > 100000000) return 0;
  int col = v[1].type == LS_REC_INT && v[1].i >= 0 && v[1].i < 1000000 ? (int)v[1].i : -1;
  char module[256];
  text(module, sizeof module, &v[3]);
  int end = v[2].type == LS_REC_INT && v[2].i >= 0 && v[2].i < 1000000 ? (int)v[2].i : -1;
  ls_health_site *prev = s->n ? &s->v[s->n - 1] : NULL;
  int same_site = prev && prev->line == (int)v[0].i && prev->col == col && prev->end_col == end;
  if (same_site && !strcmp(s->last, module)) return 0; /* the same call on another rank */
  char in[256], out[256];
  text(in, sizeof in, &v[5]);
  text(out, sizeof out, &v[6]);
  snprintf(s->last, sizeof s->last, "%s", module);
  if (same_site && !strcmp(prev->inputs, in) && !strcmp(prev->outputs, out)) { /* another module, same call */
    size_t len = strlen(prev->module);
    size_t ml = strlen(module);
    if (len + ml + 3 < sizeof prev->module) { /* ", " + module + NUL fits */
      memcpy(prev->module + len, ", ", 2);
      memcpy(prev->module + len + 2, module, ml + 1);
    }
    else if (len + 5 < sizeof prev->module && strcmp(prev->module + len - 3, "...")) strcat(prev->module, ", ...");
    return 0;
  }
  if (s->n >= MAX_SITES) return 1;
  if (s->n == s->cap) {
    size_t c = s->cap ? s->cap * 2 : 16;
    ls_health_site *q = ls_reallocarray(s->v, c, sizeof *q);
    if (!q) return (s->oom = 1);
    s->v = q;
    s->cap = c;
  }
  ls_health_site *x = &s->v[s->n++];
  memset(x, 0, sizeof *x);
  x->line = (int)v[0].i;
  x->col = col;
  x->end_col = end;
  snprintf(x->module, sizeof x->module, "%s", module[0] ? module : "(root)");
  text(x->type, sizeof x->type, &v[4]);
  memcpy(x->inputs, in, sizeof in);
  memcpy(x->outputs, out, sizeof out);
  x->step = v[7].type == LS_REC_INT ? v[7].i : -1;
  return 0;
}

int ls_health_sources(ls_rec *r, const char *file, int first, int last, ls_health_site **out, size_t *n, ls_diag *d) {
  *out = NULL;
  *n = 0;
  if (ls_rec_version(r) < 3) return LS_OK; /* a record from before training health */
  char *sql = sqlite3_mprintf(
      "SELECT s.line, s.col, s.end_col, m.name, m.type, s.inputs, s.outputs, s.step FROM sources s "
      "LEFT JOIN modules m ON m.run_id = s.run_id AND m.idx = s.module "
      "WHERE s.run_id = (SELECT max(run_id) FROM sources WHERE file = %Q AND kind = 'call') AND s.file = %Q "
      "AND s.kind = 'call' AND s.line BETWEEN %d AND %d ORDER BY s.line, s.col, m.name, s.rank",
      file, file, first, last);
  if (!sql) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  sites s = {0};
  int rc = ls_rec_query(r, sql, 2000, on_site, &s, d);
  sqlite3_free(sql);
  if (!rc && s.oom) rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
  if (rc) {
    ls_free(s.v);
    return rc;
  }
  *out = s.v;
  *n = s.n;
  return LS_OK;
}
