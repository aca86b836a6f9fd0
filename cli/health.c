/* health.c: what `watch --health` and `report` share: the findings' threshold options, the
 * compact line of a sampled step, and the findings of a recorded run as lines (each computed
 * by core/health; this file only writes text). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/diag.h"
#include "core/base/errors.h"

void ls_cli_health_opts_init(ls_cli_health_opts *o) { ls_health_opts_init(o); }

/* The threshold options, one table: name, field, lowest, highest. */
static const struct {
  const char *name;
  size_t off;
  double lo, hi;
} k_opts[] = {
    {"--explode-factor", offsetof(ls_health_opts, explode_factor), 1.0, 1e12},
    {"--vanish-ratio", offsetof(ls_health_opts, vanish_ratio), 0.0, 1.0},
    {"--dead-frac", offsetof(ls_health_opts, dead_frac), 0.0, 1.0},
    {"--update-factor", offsetof(ls_health_opts, update_factor), 1.0, 1e12},
    {"--spike-factor", offsetof(ls_health_opts, spike_factor), 1.0, 1e12},
    {"--drift-rel", offsetof(ls_health_opts, drift_rel), 0.0, 1.0},
};

int ls_cli_health_opt(ls_cli_health_opts *o, const char *a, const char *v, const char *cmd) {
  for (size_t i = 0; i < sizeof k_opts / sizeof k_opts[0]; i++) {
    if (strcmp(a, k_opts[i].name)) continue;
    char *end = NULL;
    double x = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || !(x >= k_opts[i].lo && x <= k_opts[i].hi)) {
      fprintf(stderr, "layerscope %s: %s needs a number from %g to %g\n", cmd, a, k_opts[i].lo, k_opts[i].hi);
      return -1;
    }
    *(double *)((char *)o + k_opts[i].off) = x;
    return 1;
  }
  return 0;
}

const char *ls_cli_health_opts_help =
    "  --explode-factor X  exploding: a layer's gradient norm past X times the median of its\n"
    "                      own earlier samples (default 10)\n"
    "  --vanish-ratio X    vanishing: the input-side layer's gradient norm under X times the\n"
    "                      largest later layer's (default 1e-3)\n"
    "  --dead-frac X       dead units: a module output with at least X of its units zero for a\n"
    "                      whole step (default 0.5)\n"
    "  --update-factor X   update ratio: a weight's update/weight ratio X times above or below\n"
    "                      the step's median (default 5)\n"
    "  --spike-factor X    loss spike: the loss past X times its recent median (default 2)\n"
    "  --drift-rel X       ranks: a weight norm differing across ranks by more than X,\n"
    "                      relative (default 1e-4)\n";

static void g3(char *buf, size_t cap, double v) {
  if (isfinite(v)) snprintf(buf, cap, "%.3g", v);
  else snprintf(buf, cap, "-");
}

void ls_cli_health_line(FILE *f, const ls_dbg_health_line *l, int show_rank) {
  char loss[32], gn[32], med[32], mx[32];
  g3(gn, sizeof gn, l->grad_norm);
  g3(med, sizeof med, l->update_median);
  g3(mx, sizeof mx, l->update_max);
  if (isfinite(l->loss)) snprintf(loss, sizeof loss, "%.4f", l->loss);
  else snprintf(loss, sizeof loss, "-");
  fprintf(f, "step %lld", (long long)l->step);
  if (show_rank) fprintf(f, " rank %d", l->rank);
  fprintf(f, "  loss %s  |grad| %s  update med %s max %s", loss, gn, med, mx);
  if (l->update_name[0]) fprintf(f, " (%s)", l->update_name);
  if (isfinite(l->dead_max) && l->dead_max > 0) fprintf(f, "  dead %.0f%% (%s)", 100 * l->dead_max, l->dead_name);
  if (l->sample_ns >= 0) fprintf(f, "  [%.1f ms]", (double)l->sample_ns / 1e6);
  fputc('\n', f);
}

int ls_cli_health_load(const char *path, int64_t run_id, const ls_cli_health_opts *o, int store,
                       ls_health_report **out, const char *cmd) {
  ls_diag d;
  ls_diag_init(&d);
  ls_rec *r = NULL;
  ls_health_report *h = NULL;
  /* read first: a missing file is an error here, not a new record */
  int rc = ls_rec_open(&r, path, LS_REC_READ, &d);
  if (!rc) rc = ls_health_analyze(r, run_id, o, &h, &d);
  ls_rec_close(r);
  r = NULL;
  if (rc) {
    fprintf(stderr, "layerscope %s: %s\n", cmd, d.msg);
    return rc;
  }
  *out = h;
  if (!store) return LS_OK;
  ls_diag_init(&d);
  int wrc = ls_rec_open(&r, path, LS_REC_WRITE, &d);
  if (!wrc) wrc = ls_health_store(r, h, &d);
  ls_rec_close(r);
  if (wrc) fprintf(stderr, "layerscope %s: the findings were not stored in the record: %s\n", cmd, d.msg);
  return LS_OK;
}

int ls_cli_health_findings(FILE *f, const char *path, int64_t run_id, const ls_cli_health_opts *o) {
  ls_health_report *h = NULL;
  int rc = ls_cli_health_load(path, run_id, o, 1, &h, "health");
  if (rc) return rc;
  if (!h->n_findings) fprintf(f, "health: no findings over %zu sampled steps\n", h->n_steps);
  else fprintf(f, "health: %zu finding%s over %zu sampled steps\n", h->n_findings, h->n_findings == 1 ? "" : "s", h->n_steps);
  for (size_t i = 0; i < h->n_findings; i++) fprintf(f, "  %s\n", h->findings[i].message);
  int n = (int)h->n_findings;
  ls_health_report_free(h);
  return n;
}
