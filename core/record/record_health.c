/* record_health.c: the training-health rows of a run record (record.h, schema version 3):
 * `steps` (loss and gradient norm of a sampled step of one rank), `health` (per parameter:
 * gradient and update figures; per module output: activation figures) and `sources` (where a
 * module is called in the user's code, with the shapes of that call). The agent samples
 * them in the user's process; the debug run writes them here as they arrive (one
 * transaction per step, core/debug/run_record.c), and core/health reads them back for
 * findings, reports and the editor. Unknown figures are NULL, never 0. */
#include <math.h>

#include "core/base/errors.h"
#include "core/record/record_int.h"

int ls_rec_step_add(ls_rec *r, int64_t run_id, const ls_rec_step_row *s, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = ls__rec_stmt(r, LS__REC_STEP, &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, run_id);
  sqlite3_bind_int64(st, 2, s->step);
  sqlite3_bind_int(st, 3, s->rank);
  sqlite3_bind_int(st, 4, s->thread > 0 ? s->thread : 1);
  ls__rec_bind_real(st, 5, s->loss);
  ls__rec_bind_real(st, 6, s->grad_norm);
  ls__rec_bind_real(st, 7, s->scale);
  ls__rec_bind_count(st, 8, s->sample_ns);
  return ls__rec_run(r, st, d, "cannot record a training step");
}

int ls_rec_health_add(ls_rec *r, int64_t run_id, int64_t step, int rank, int thread, const ls_rec_health_row *h,
                      ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = ls__rec_stmt(r, LS__REC_HEALTH, &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, run_id);
  sqlite3_bind_int64(st, 2, step);
  sqlite3_bind_int(st, 3, rank);
  sqlite3_bind_int(st, 4, thread > 0 ? thread : 1);
  sqlite3_bind_int(st, 5, h->module);
  ls__rec_bind_text(st, 6, h->tensor ? h->tensor : "output");
  ls__rec_bind_text(st, 7, h->shape);
  ls__rec_bind_count(st, 8, h->count);
  const double real[] = {h->grad_norm, h->grad_rms, h->grad_absmax, h->weight_norm, h->update_norm, h->update_ratio,
                         h->mean,      h->std,      h->absmax,      h->zeros,       h->dead};
  for (int i = 0; i < (int)(sizeof real / sizeof real[0]); i++) ls__rec_bind_real(st, 9 + i, real[i]);
  ls__rec_bind_count(st, 20, h->units);
  ls__rec_bind_count(st, 21, h->calls);
  ls__rec_bind_count(st, 22, h->time_ns);
  return ls__rec_run(r, st, d, "cannot record training health");
}

static void bind_source(sqlite3_stmt *st, int64_t run_id, const ls_rec_source_row *s) {
  sqlite3_bind_int64(st, 1, run_id);
  sqlite3_bind_int(st, 2, s->rank);
  sqlite3_bind_int(st, 3, s->module);
  ls__rec_bind_text(st, 4, s->kind ? s->kind : "call");
  ls__rec_bind_text(st, 5, s->file ? s->file : "");
  sqlite3_bind_int(st, 6, s->line);
  if (s->col >= 0) sqlite3_bind_int(st, 7, s->col);
  if (s->end_col >= 0) sqlite3_bind_int(st, 8, s->end_col);
  ls__rec_bind_count(st, 9, s->step);
  ls__rec_bind_text(st, 10, s->inputs);
  ls__rec_bind_text(st, 11, s->outputs);
}

int ls_rec_source_put(ls_rec *r, int64_t run_id, const ls_rec_source_row *s, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = ls__rec_stmt(r, LS__REC_SOURCE_UPDATE, &st, d);
  if (rc) return rc;
  bind_source(st, run_id, s);
  if ((rc = ls__rec_run(r, st, d, "cannot record a source line"))) return rc;
  if (sqlite3_changes(r->db) > 0) return LS_OK;
  if ((rc = ls__rec_stmt(r, LS__REC_SOURCE_INSERT, &st, d))) return rc;
  bind_source(st, run_id, s);
  return ls__rec_run(r, st, d, "cannot record a source line");
}
