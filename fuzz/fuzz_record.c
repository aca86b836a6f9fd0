/* fuzz_record.c: libFuzzer target for reading a run record (core/record): the input is a
 * whole SQLite file, opened in memory read-only (ls_rec_open_mem: SQLite parses the pages,
 * ours checks the schema pragmas), then everything layerscope reads back from a record it
 * did not write: the latest run, each run by id, every table through ls_rec_query (values of
 * any type handed to a callback), and the run comparison of `layerscope diff` (every row
 * checked: types, ranges, names, statistics rows naming modules). Inputs without the SQLite
 * header are rejected (-1): the open refuses them before SQLite sees them.
 * Invariants: an error leaves a message; a diff's lists stay within the modules both runs
 * have and are sorted by score; every text value a query hands out is NUL-terminated at its
 * length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/diag.h"
#include "core/record/record.h"
#include "fuzz/fuzz_common.h"

static int on_row(void *ud, int64_t row, int n, const char *const *names, const ls_rec_value *v) {
  size_t *cells = ud;
  if (row < 0) {
    for (int c = 0; c < n; c++)
      if (!names[c]) abort();
    return 0;
  }
  for (int c = 0; c < n; c++)
    if (v[c].type == LS_REC_TEXT && strlen(v[c].s) > v[c].len) abort();
  return ++*cells > 100000; /* enough of one table */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once;
  if (!once) {
    fuzz_setup();
    once = 1;
  }
  if (size < 16 || !ls_rec_sniff(data, size)) return -1;
  ls_rec *r = NULL;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_rec_open_mem(&r, data, size, &d) != 0) {
    if (!d.msg[0]) abort();
    return 0;
  }
  static const char *const tables[] = {"runs", "modules", "events", "tensor_stats", "findings"};
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT * FROM %s", tables[t]);
    size_t cells = 0;
    ls_diag_init(&d);
    if (ls_rec_query(r, sql, 2000, on_row, &cells, &d) != 0 && !d.msg[0]) abort();
  }
  ls_rec_run_row run;
  ls_diag_init(&d);
  if (ls_rec_latest_run(r, NULL, &run, &d) == 0) {
    ls_rec_run_row again;
    if (ls_rec_run_get(r, run.id, &again, &d) != 0 && !d.msg[0]) abort();
  }
  ls_rec_diff *x = NULL;
  ls_diag_init(&d);
  if (ls_rec_diff_runs(r, 0, r, 1, &x, &d) == 0) {
    if (x->n_time > x->common || x->n_stats > x->common) abort();
    for (size_t i = 1; i < x->n_time; i++)
      if (x->time[i].score > x->time[i - 1].score) abort();
    ls_rec_diff_free(x);
  } else if (!d.msg[0]) {
    abort();
  }
  ls_rec_close(r);
  return 0;
}
