/* health.h: training health read back from a run record (issue 21; docs/health.md). The
 * agent samples gradient norms, update/weight ratios and activation statistics every N
 * steps and the debug run writes them into the record (core/record, tables steps, health,
 * sources); this module is the one place that turns those rows into findings in plain words,
 * each with the module and the step it started:
 *   exploding    a layer's gradient norm grows past its own history by explode_factor
 *   vanishing    gradient norms fall toward zero through depth (input-side layer vs the rest)
 *   dead         a module output with at least dead_frac of its units zero for a whole step
 *   update       a weight's update/weight ratio update_factor away from the step's median
 *   loss_spike   the loss past spike_factor times its recent median, with the layers whose
 *                gradient norms moved first
 *   rank_drift   ranks whose replicated values (weight norms) differ by more than drift_rel
 * and into the layers x steps matrices that `layerscope report --html` draws. `watch
 * --health`, `report` and the language server call ls_health_analyze / ls_health_sources;
 * they only turn the result into text. ls_health_store keeps the findings in the record.
 *
 * Ownership: a report is new (ls_health_report_free); ls_rec handles are borrowed. */
#ifndef LS_HEALTH_H
#define LS_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/record/record.h"

typedef struct ls_health_opts {
  double explode_factor;   /* 10: norm > factor x the median of the layer's earlier samples */
  int min_history;         /* 3: samples a layer needs before it can explode / a loss spike */
  double vanish_ratio;     /* 1e-3: input-side layer's norm < ratio x the largest later one */
  double dead_frac;        /* 0.5: fraction of units dead in a module output */
  double update_factor;    /* 5: ratio > factor x median, or < median / factor */
  double spike_factor;     /* 2: loss > factor x the median of the previous min_history+ losses */
  double drift_rel;        /* 1e-4: relative spread of a weight norm across ranks */
} ls_health_opts;

void ls_health_opts_init(ls_health_opts *o);

typedef enum ls_health_kind {
  LS_HEALTH_EXPLODING = 0, LS_HEALTH_VANISHING, LS_HEALTH_DEAD, LS_HEALTH_UPDATE, LS_HEALTH_LOSS_SPIKE,
  LS_HEALTH_RANK_DRIFT, LS_HEALTH_N_KINDS
} ls_health_kind;

/* "exploding", "vanishing", "dead", "update", "loss_spike", "rank_drift" */
const char *ls_health_kind_name(ls_health_kind k);

typedef struct ls_health_finding {
  ls_health_kind kind;
  int module;                /* modules.idx, -1 none (a loss spike) */
  char name[256];            /* "blocks.2.fc" or "blocks.2.fc.weight"; "" none */
  int64_t step;              /* the sampled step it started at */
  int rank;
  double value, baseline;    /* the figure and what it was compared with */
  char message[768];         /* one line, plain words, naming module and step */
} ls_health_finding;

typedef struct ls_health_report {
  int64_t run_id;
  int n_ranks;
  size_t n_steps;
  int64_t *steps;            /* [n_steps] sampled steps, ascending */
  double *loss;              /* [n_steps] mean over ranks, NaN unknown */
  double *grad_norm;         /* [n_steps] global gradient norm (lowest rank), NaN unknown */
  /* layers: modules with parameters, in module-table order (lowest rank) */
  size_t n_layers;
  char (*layer_names)[256];  /* [n_layers] */
  int *layer_module;         /* [n_layers] modules.idx */
  double *layer_grad;        /* [n_layers, n_steps] sqrt(sum of its parameters' grad norm^2) */
  double *layer_update;      /* [n_layers, n_steps] sqrt(sum ||dW||^2) / sqrt(sum ||W||^2) */
  /* outputs: modules whose outputs were sampled with units */
  size_t n_outs;
  char (*out_names)[256];    /* [n_outs] */
  double *out_dead;          /* [n_outs, n_steps] dead-unit fraction, NaN not sampled */
  size_t n_findings;
  ls_health_finding *findings; /* [n_findings] ordered by step, then kind */
} ls_health_report;

/* Reads run run_id of r (0: the latest run that has health samples) and computes its report.
 * LS_ENOENT when the record has no health samples; malformed rows are LS_EINVAL naming the
 * table. */
int ls_health_analyze(ls_rec *r, int64_t run_id, const ls_health_opts *o, ls_health_report **out, ls_diag *d);
void ls_health_report_free(ls_health_report *h);

/* Stores h's findings in the `findings` table of w (a record opened for writing, the one h
 * was read from), one row each with its kind, module, name, step, rank and figures, in one
 * transaction that first deletes the run's earlier health findings: computing them again
 * (other thresholds) replaces them, and the debugger's own findings (nan, inf, ...) stay. */
int ls_health_store(ls_rec *w, const ls_health_report *h, ls_diag *d);

/* ---------------------------------------------------------------- shapes in the user's source */

typedef struct ls_health_site {
  int line;                  /* 1-based */
  int col, end_col;          /* 0-based UTF-8 columns of the call, -1 unknown */
  char module[256];          /* "blocks.0.mlp"; modules called with the same shapes from one
                                call site: "blocks.0.fc, blocks.1.fc" */
  char type[128];            /* "MLP", "" unknown */
  char inputs[256], outputs[256]; /* "[8, 512, 768] bf16" */
  int64_t step;              /* the sampled step the shapes are from, -1 unknown */
} ls_health_site;

/* The module call sites recorded for file (an absolute path) in the latest run that has any,
 * lines in [first, last] (1-based, inclusive), ordered by line and column: *out new (ls_free),
 * *n its length (0 and LS_OK when none). */
int ls_health_sources(ls_rec *r, const char *file, int first, int last, ls_health_site **out, size_t *n, ls_diag *d);

#endif
