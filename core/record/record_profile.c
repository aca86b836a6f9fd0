/* record_profile.c: ls_rec_add_profile (record_profile.h). */
#include "core/record/record_profile.h"

#include <math.h>

#include "core/base/errors.h"

static int add_modules(ls_rec *r, int64_t run, const ls_prof *p, ls_diag *d) {
  const ls_model *m = p->m;
  for (size_t i = 0; i < m->n_modules; i++) {
    const ls_model_module *md = &m->modules[i];
    const ls_prof_mod *pm = &p->mods[i];
    int ran = pm->calls > 0;
    ls_rec_module row = {
        .idx = (int)i, .name = md->name, .type = md->type, .kind = ls_prof_kind_name(pm->kind),
        .bound = pm->bound != LS_PROF_BOUND_NONE ? ls_prof_bound_name(pm->bound) : NULL,
        .parent = md->parent, .depth = md->depth, .layer = md->layer, .calls = pm->calls,
        .total_ns = ran ? pm->total_ns : -1, .self_ns = ran ? pm->self_ns : -1,
        .flops = ran ? (int64_t)pm->flops : -1, .self_flops = ran ? (int64_t)pm->self_flops : -1,
        .weight_bytes = ran ? (int64_t)pm->weight_bytes : -1, .act_bytes = ran ? (int64_t)pm->act_bytes : -1,
        .gflops = ran ? pm->gflops : NAN, .gbps = ran ? pm->gbps : NAN,
        .intensity = ran && (pm->weight_bytes + pm->act_bytes) ? pm->intensity : NAN,
        .roof_frac = pm->bound != LS_PROF_BOUND_NONE ? pm->roof_frac : NAN};
    int rc = ls_rec_module_add(r, run, &row, d);
    if (rc) return rc;
  }
  return LS_OK;
}

static int add_events(ls_rec *r, int64_t run, const ls_prof *p, ls_diag *d) {
  int64_t seq = 0;
  for (size_t s = 0; s < p->n_spans; s++) {
    const ls_prof_span *sp = &p->spans[s];
    int rc = ls_rec_event_add(r, run, seq++, sp->module, "forward", 1, 0, sp->t0_ns, sp->t1_ns - sp->t0_ns, d);
    if (rc) return rc;
  }
  for (size_t j = 0; j < p->n_jobs; j++) {
    const ls_prof_job *jb = &p->jobs[j];
    int rc = ls_rec_event_add(r, run, seq++, jb->module, "job", 1 + jb->worker, 0, jb->t0_ns, jb->t1_ns - jb->t0_ns, d);
    if (rc) return rc;
  }
  return LS_OK;
}

/* The statistics of each module's output the profile sampled (ls_prof_opts.stats). */
static int add_stats(ls_rec *r, int64_t run, const ls_prof *p, ls_diag *d) {
  if (!p->outs) return LS_OK;
  for (size_t i = 0; i < p->m->n_modules; i++) {
    if (!p->has_stats[i]) continue;
    const ls_prof_out *o = &p->outs[i];
    ls_rec_tstats t = {.module = (int)i, .tensor = "output", .source = "sample", .dtype = "f32",
                       .thread = 1, .event_seq = -1, .st = o->st, .ndim = o->ndim};
    for (int k = 0; k < o->ndim && k < 4; k++) t.shape[k] = o->shape[k];
    int rc = ls_rec_tstats_add(r, run, &t, d);
    if (rc) return rc;
  }
  return LS_OK;
}

int ls_rec_add_profile(ls_rec *r, const ls_prof *p, const char *config, const char *weights, int64_t *run_id,
                       ls_diag *d) {
  ls_rec_run_info info = {.kind = "profile", .config = config, .weights = weights,
                          .architecture = p->m->architecture, .model_type = p->m->model_type,
                          .compute = p->compute == LS_ENGINE_COMPUTE_BF16 ? "bf16" : "fp32",
                          .cpu = p->cpu[0] ? p->cpu : NULL, .seq = p->seq, .threads = p->threads,
                          .peak_gflops = p->peaks.gflops, .peak_gbps = p->peaks.gbps};
  int64_t run = 0;
  int rc = ls_rec_begin(r, d);
  if (rc) return rc;
  rc = ls_rec_run_begin(r, &info, &run, d);
  if (!rc) rc = add_modules(r, run, p, d);
  if (!rc) rc = add_events(r, run, p, d);
  if (!rc) rc = add_stats(r, run, p, d);
  if (!rc) rc = ls_rec_run_end(r, run, "ok", p->next_tokens, p->wall_ns, p->total_ns, d);
  if (!rc) rc = ls_rec_commit(r, d);
  if (rc) {
    ls_rec_rollback(r);
    return rc;
  }
  if (run_id) *run_id = run;
  return LS_OK;
}
