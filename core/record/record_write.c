/* record_write.c: the rows of a run record (record.h): runs, modules, events, tensor
 * statistics, findings (the health rows are in record_health.c, on the same statements
 * table). Each kind of row has one prepared statement, kept on the handle, so recording
 * thousands of events is a bind and a step each; callers batch them in a transaction
 * (ls_rec_begin/commit). Unknown figures (negative counts, NaN rates) are stored as NULL,
 * never as a made-up 0. A module row replaces the run's row of the same index (a delete, then
 * an insert: a record may come from a layerscope whose tables lack the key an upsert needs):
 * a watched run writes its modules as the program reveals them (so a live reader sees their
 * names) and again with their calls and times at the end. */
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/record/record_int.h"

static const char *const k_sql[LS__REC_N_STMTS] = {
    [LS__REC_RUN_BEGIN] = "INSERT INTO runs (kind, started_at, config, weights, architecture, model_type, seq, "
                          "threads, compute, program, cpu, peak_gflops, peak_gbps) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [LS__REC_RUN_END] = "UPDATE runs SET ended_at = ?2, status = ?3, summary = ?4, wall_ns = ?5, total_ns = ?6 "
                        "WHERE id = ?1",
    [LS__REC_MODULE] = "INSERT INTO modules (run_id, idx, name, type, kind, parent, depth, layer, calls, total_ns, "
                       "self_ns, flops, self_flops, weight_bytes, act_bytes, gflops, gbps, intensity, bound, "
                       "roof_frac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                       "?17, ?18, ?19, ?20)",
    [LS__REC_MODULE_DEL] = "DELETE FROM modules WHERE run_id = ?1 AND idx = ?2",
    [LS__REC_EVENT] = "INSERT INTO events (run_id, seq, module, phase, thread, step, start_ns, dur_ns) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [LS__REC_TSTATS] = "INSERT INTO tensor_stats (run_id, module, tensor, source, step, thread, event_seq, dtype, "
                       "shape, count, finite, nan, pinf, ninf, zeros, mean, std, min, max, absmax) VALUES (?1, ?2, "
                       "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    [LS__REC_FINDING] = "INSERT INTO findings (run_id, module, kind, step, thread, event_seq, message) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [LS__REC_FINDING_ROW] = "INSERT INTO findings (run_id, module, kind, step, thread, rank, name, value, baseline, "
                            "message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [LS__REC_FINDING_CLEAR] = "DELETE FROM findings WHERE run_id = ?1 AND kind = ?2",
    [LS__REC_STEP] = "INSERT INTO steps (run_id, step, rank, thread, loss, grad_norm, scale, sample_ns) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [LS__REC_HEALTH] = "INSERT INTO health (run_id, step, rank, thread, module, tensor, shape, count, grad_norm, "
                       "grad_rms, grad_absmax, weight_norm, update_norm, update_ratio, mean, std, absmax, zeros, dead, "
                       "units, calls, time_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                       "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    [LS__REC_SOURCE_UPDATE] = "UPDATE sources SET end_col = ?8, step = ?9, inputs = ?10, outputs = ?11 WHERE run_id = ?1 "
                              "AND rank = ?2 AND module = ?3 AND kind = ?4 AND file = ?5 AND line = ?6 AND col IS ?7",
    [LS__REC_SOURCE_INSERT] = "INSERT INTO sources (run_id, rank, module, kind, file, line, col, end_col, step, inputs, "
                              "outputs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
};

/* The statement for k in *out, prepared on first use, its bindings cleared. */
int ls__rec_stmt(ls_rec *r, int k, sqlite3_stmt **out, ls_diag *d) {
  if (!r->writable) return ls_diag_set_at(d, LS_ESTATE, r->path, -1, "%s: opened for reading only", r->path);
  if (!r->stmts[k] && sqlite3_prepare_v3(r->db, k_sql[k], -1, SQLITE_PREPARE_PERSISTENT, &r->stmts[k], NULL) != SQLITE_OK)
    return ls__rec_fail(r, d, "cannot prepare a statement");
  sqlite3_reset(r->stmts[k]);
  sqlite3_clear_bindings(r->stmts[k]);
  *out = r->stmts[k];
  return LS_OK;
}

int ls__rec_run(ls_rec *r, sqlite3_stmt *st, ls_diag *d, const char *what) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? LS_OK : ls__rec_fail(r, d, what);
}

void ls__rec_bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

void ls__rec_bind_count(sqlite3_stmt *st, int i, int64_t v) {
  if (v >= 0) sqlite3_bind_int64(st, i, v);
}

void ls__rec_bind_real(sqlite3_stmt *st, int i, double v) {
  if (isfinite(v)) sqlite3_bind_double(st, i, v);
}

int ls_rec_run_begin(ls_rec *r, const ls_rec_run_info *in, int64_t *run_id, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int src = ls__rec_stmt(r, LS__REC_RUN_BEGIN, &st, d);
  if (src) return src;
  char now[40];
  ls__rec_now_utc(now, sizeof now);
  ls__rec_bind_text(st, 1, in->kind ? in->kind : "run");
  ls__rec_bind_text(st, 2, now);
  ls__rec_bind_text(st, 3, in->config);
  ls__rec_bind_text(st, 4, in->weights);
  ls__rec_bind_text(st, 5, in->architecture);
  ls__rec_bind_text(st, 6, in->model_type);
  if (in->seq > 0) sqlite3_bind_int64(st, 7, in->seq);
  if (in->threads > 0) sqlite3_bind_int(st, 8, in->threads);
  ls__rec_bind_text(st, 9, in->compute);
  ls__rec_bind_text(st, 10, in->program);
  ls__rec_bind_text(st, 11, in->cpu);
  if (in->peak_gflops > 0) ls__rec_bind_real(st, 12, in->peak_gflops);
  if (in->peak_gbps > 0) ls__rec_bind_real(st, 13, in->peak_gbps);
  int rc = ls__rec_run(r, st, d, "cannot record the run");
  if (!rc) *run_id = sqlite3_last_insert_rowid(r->db);
  return rc;
}

int ls_rec_run_end(ls_rec *r, int64_t run_id, const char *status, const char *summary, int64_t wall_ns,
                   int64_t total_ns, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int src = ls__rec_stmt(r, LS__REC_RUN_END, &st, d);
  if (src) return src;
  char now[40];
  ls__rec_now_utc(now, sizeof now);
  sqlite3_bind_int64(st, 1, run_id);
  ls__rec_bind_text(st, 2, now);
  ls__rec_bind_text(st, 3, status ? status : "ok");
  ls__rec_bind_text(st, 4, summary && summary[0] ? summary : NULL);
  ls__rec_bind_count(st, 5, wall_ns);
  ls__rec_bind_count(st, 6, total_ns);
  return ls__rec_run(r, st, d, "cannot record the end of the run");
}

int ls_rec_module_add(ls_rec *r, int64_t run_id, const ls_rec_module *m, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int src = ls__rec_stmt(r, LS__REC_MODULE_DEL, &st, d);
  if (src) return src;
  sqlite3_bind_int64(st, 1, run_id);
  sqlite3_bind_int(st, 2, m->idx);
  if ((src = ls__rec_run(r, st, d, "cannot record a module"))) return src;
  src = ls__rec_stmt(r, LS__REC_MODULE, &st, d);
  if (src) return src;
  sqlite3_bind_int64(st, 1, run_id);
  sqlite3_bind_int(st, 2, m->idx);
  ls__rec_bind_text(st, 3, m->name ? m->name : "");
  ls__rec_bind_text(st, 4, m->type);
  ls__rec_bind_text(st, 5, m->kind);
  if (m->parent >= 0) sqlite3_bind_int(st, 6, m->parent);
  sqlite3_bind_int(st, 7, m->depth);
  if (m->layer >= 0) sqlite3_bind_int(st, 8, m->layer);
  sqlite3_bind_int64(st, 9, m->calls > 0 ? m->calls : 0);
  ls__rec_bind_count(st, 10, m->total_ns);
  ls__rec_bind_count(st, 11, m->self_ns);
  ls__rec_bind_count(st, 12, m->flops);
  ls__rec_bind_count(st, 13, m->self_flops);
  ls__rec_bind_count(st, 14, m->weight_bytes);
  ls__rec_bind_count(st, 15, m->act_bytes);
  ls__rec_bind_real(st, 16, m->gflops);
  ls__rec_bind_real(st, 17, m->gbps);
  ls__rec_bind_real(st, 18, m->intensity);
  ls__rec_bind_text(st, 19, m->bound);
  ls__rec_bind_real(st, 20, m->roof_frac);
  return ls__rec_run(r, st, d, "cannot record a module");
}

int ls_rec_event_add(ls_rec *r, int64_t run_id, int64_t seq, int module, const char *phase, int thread,
                     int64_t step, int64_t start_ns, int64_t dur_ns, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int src = ls__rec_stmt(r, LS__REC_EVENT, &st, d);
  if (src) return src;
  sqlite3_bind_int64(st, 1, run_id);
  sqlite3_bind_int64(st, 2, seq);
  if (module >= 0) sqlite3_bind_int(st, 3, module);
  ls__rec_bind_text(st, 4, phase);
  sqlite3_bind_int(st, 5, thread);
  sqlite3_bind_int64(st, 6, step);
  sqlite3_bind_int64(st, 7, start_ns);
  sqlite3_bind_int64(st, 8, dur_ns > 0 ? dur_ns : 0);
  return ls__rec_run(r, st, d, "cannot record an event");
}

int ls_rec_tstats_add(ls_rec *r, int64_t run_id, const ls_rec_tstats *t, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int src = ls__rec_stmt(r, LS__REC_TSTATS, &st, d);
  if (src) return src;
  char shape[200];
  size_t len = (size_t)snprintf(shape, sizeof shape, "[");
  for (int i = 0; i < t->ndim && i < 8 && len < sizeof shape; i++)
    len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%lld", i ? "," : "", (long long)t->shape[i]);
  if (len < sizeof shape) snprintf(shape + len, sizeof shape - len, "]");
  const ls_stats *s = &t->st;
  sqlite3_bind_int64(st, 1, run_id);
  sqlite3_bind_int(st, 2, t->module);
  ls__rec_bind_text(st, 3, t->tensor ? t->tensor : "output");
  ls__rec_bind_text(st, 4, t->source ? t->source : "sample");
  sqlite3_bind_int64(st, 5, t->step);
  sqlite3_bind_int(st, 6, t->thread > 0 ? t->thread : 1);
  ls__rec_bind_count(st, 7, t->event_seq);
  ls__rec_bind_text(st, 8, t->dtype);
  ls__rec_bind_text(st, 9, shape);
  sqlite3_bind_int64(st, 10, (int64_t)s->count);
  sqlite3_bind_int64(st, 11, (int64_t)s->finite);
  sqlite3_bind_int64(st, 12, (int64_t)s->nan);
  sqlite3_bind_int64(st, 13, (int64_t)s->pinf);
  sqlite3_bind_int64(st, 14, (int64_t)s->ninf);
  sqlite3_bind_int64(st, 15, (int64_t)s->zeros);
  /* over the finite values: NULL when there are none */
  ls__rec_bind_real(st, 16, s->finite ? s->mean : NAN);
  ls__rec_bind_real(st, 17, s->finite ? s->std : NAN);
  ls__rec_bind_real(st, 18, s->finite ? s->min : NAN);
  ls__rec_bind_real(st, 19, s->finite ? s->max : NAN);
  ls__rec_bind_real(st, 20, s->finite ? s->absmax : NAN);
  return ls__rec_run(r, st, d, "cannot record tensor statistics");
}

int ls_rec_finding_add(ls_rec *r, int64_t run_id, int module, const char *kind, int64_t step, int thread,
                       int64_t event_seq, const char *message, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int src = ls__rec_stmt(r, LS__REC_FINDING, &st, d);
  if (src) return src;
  sqlite3_bind_int64(st, 1, run_id);
  if (module >= 0) sqlite3_bind_int(st, 2, module);
  ls__rec_bind_text(st, 3, kind);
  sqlite3_bind_int64(st, 4, step);
  sqlite3_bind_int(st, 5, thread > 0 ? thread : 1);
  ls__rec_bind_count(st, 6, event_seq);
  ls__rec_bind_text(st, 7, message ? message : "");
  return ls__rec_run(r, st, d, "cannot record a finding");
}

int ls_rec_finding_put(ls_rec *r, int64_t run_id, const ls_rec_finding_row *f, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = ls__rec_stmt(r, LS__REC_FINDING_ROW, &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, run_id);
  if (f->module >= 0) sqlite3_bind_int(st, 2, f->module);
  ls__rec_bind_text(st, 3, f->kind ? f->kind : "note");
  sqlite3_bind_int64(st, 4, f->step);
  sqlite3_bind_int(st, 5, f->thread > 0 ? f->thread : 1);
  sqlite3_bind_int(st, 6, f->rank);
  ls__rec_bind_text(st, 7, f->name && f->name[0] ? f->name : NULL);
  ls__rec_bind_real(st, 8, f->value);
  ls__rec_bind_real(st, 9, f->baseline);
  ls__rec_bind_text(st, 10, f->message ? f->message : "");
  return ls__rec_run(r, st, d, "cannot record a finding");
}

int ls_rec_findings_clear(ls_rec *r, int64_t run_id, const char *const *kinds, size_t n, ls_diag *d) {
  for (size_t i = 0; i < n; i++) {
    sqlite3_stmt *st = NULL;
    int rc = ls__rec_stmt(r, LS__REC_FINDING_CLEAR, &st, d);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, run_id);
    ls__rec_bind_text(st, 2, kinds[i]);
    if ((rc = ls__rec_run(r, st, d, "cannot replace findings"))) return rc;
  }
  return LS_OK;
}
