/* record.h: the run record, one SQLite file that any number of runs are recorded into: a
 * profile (`layerscope profile --record`), a debug session (`layerscope debug --record`,
 * the debug adapter's `record` launch option), a watched training run. Its schema is a
 * contract with the users who query it (docs/run-record.md): tables runs, modules, events,
 * tensor_stats, findings, and the training health of watched runs (steps, health,
 * sources), versioned by PRAGMA user_version and marked as ours by PRAGMA
 * application_id. Opening a file for writing creates the schema or migrates an older one,
 * in one transaction; a file from a newer layerscope, or that is not a run record, is
 * refused with a message saying so.
 *
 * This is the protocol-free API every front end shares: the CLI writes and queries it, the
 * debug run (core/debug/run.c) writes its sessions into it, the DAP adapter answers `sql`
 * with ls_rec_query. SQLite does the parsing of the file; what this module reads back (the
 * rows ls_rec_diff_runs compares) is validated row by row, since the file may be anyone's.
 *
 * Ownership: ls_rec_open returns a new handle (ls_rec_close). Strings passed in are copied
 * by SQLite. Values handed to a query callback are borrowed for the call. One handle is
 * used by one thread at a time. */
#ifndef LS_RECORD_H
#define LS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/tensor/stats.h"

#define LS_REC_SCHEMA_VERSION 4
#define LS_REC_APPLICATION_ID 0x4c535252 /* "LSRR" */

typedef struct ls_rec ls_rec;

typedef enum ls_rec_mode {
  LS_REC_READ = 0,   /* an existing record, read-only: queries cannot change it */
  LS_REC_WRITE = 1   /* created when missing, migrated when older */
} ls_rec_mode;

/* Opens path. READ: the file must exist and be a run record (any schema version up to ours).
 * WRITE: creates it (and the schema) or migrates it to LS_REC_SCHEMA_VERSION. Errors name
 * the file: missing, not a regular file, not a SQLite database, corrupt, not a run record,
 * from a newer layerscope. */
int ls_rec_open(ls_rec **out, const char *path, ls_rec_mode mode, ls_diag *d);
/* The same on an in-memory copy of a file's bytes, read-only (fuzzing, tests). */
int ls_rec_open_mem(ls_rec **out, const void *bytes, size_t len, ls_diag *d);
void ls_rec_close(ls_rec *r);
/* The schema version of the file as opened (after any migration). */
int ls_rec_version(const ls_rec *r);
/* 1 when the first 16 bytes of a file say it is a SQLite database (by content, whatever its
 * name): how `layerscope diff` tells run records from tensor files. */
int ls_rec_sniff(const void *head, size_t len);

/* ---------------------------------------------------------------- writing */

typedef struct ls_rec_run_info {
  const char *kind;          /* "profile", "debug", "watch" */
  const char *config, *weights, *architecture, *model_type, *compute, *program, *cpu; /* or NULL */
  int64_t seq;               /* tokens of the pass, 0 when none */
  int threads;
  double peak_gflops, peak_gbps; /* 0: none */
} ls_rec_run_info;

/* A new run (status "running", started now); *run_id its id. */
int ls_rec_run_begin(ls_rec *r, const ls_rec_run_info *info, int64_t *run_id, ls_diag *d);
/* Ends it: status "ok", "failed", "terminated" or "stopped"; summary may be NULL; times in ns
 * (< 0: unknown, stored as NULL). */
int ls_rec_run_end(ls_rec *r, int64_t run_id, const char *status, const char *summary, int64_t wall_ns,
                   int64_t total_ns, ls_diag *d);

/* One row of `modules`. Figures < 0 (or NaN) are stored as NULL (a debug session knows no
 * FLOPs). */
typedef struct ls_rec_module {
  int idx;                   /* index in the run's module table */
  const char *name, *type, *kind, *bound; /* kind: the profile's kind, or the tree's */
  int parent, depth, layer;  /* parent -1: the root */
  int64_t calls, total_ns, self_ns, flops, self_flops, weight_bytes, act_bytes;
  double gflops, gbps, intensity, roof_frac;
} ls_rec_module;

int ls_rec_module_add(ls_rec *r, int64_t run_id, const ls_rec_module *m, ls_diag *d);

/* One row of `events`: a module call (phase "forward" / "backward"), a pool job ("job"), a
 * debugger stop ("stop"). module < 0: none. */
int ls_rec_event_add(ls_rec *r, int64_t run_id, int64_t seq, int module, const char *phase, int thread,
                     int64_t step, int64_t start_ns, int64_t dur_ns, ls_diag *d);

/* One row of `tensor_stats`: statistics of a module's tensor. source "sample" (every module of
 * a profile) or "stop" (at a debugger stop, event_seq the stop's event; < 0: none). */
typedef struct ls_rec_tstats {
  int module;
  const char *tensor;        /* "output", "input", "weight", "grad_output" */
  const char *source;
  const char *dtype;         /* "f32" */
  int ndim;
  int64_t shape[8];
  int64_t step, event_seq;
  int thread;
  ls_stats st;
} ls_rec_tstats;

int ls_rec_tstats_add(ls_rec *r, int64_t run_id, const ls_rec_tstats *t, ls_diag *d);

/* One row of `findings`: kind "nan", "inf", "fp16", "breakpoint", "note", "error". */
int ls_rec_finding_add(ls_rec *r, int64_t run_id, int module, const char *kind, int64_t step, int thread,
                       int64_t event_seq, const char *message, ls_diag *d);

/* One row of `findings` with the columns of version 4: a training-health finding (kind
 * "exploding", "vanishing", "dead", "update", "loss_spike", "rank_drift"; core/health). */
typedef struct ls_rec_finding_row {
  int module;                /* modules.idx, -1 none */
  const char *kind;
  int64_t step;
  int thread, rank;          /* thread <= 0: 1 */
  const char *name;          /* the module or parameter it names ("blocks.2.fc.weight"), or NULL */
  double value, baseline;    /* the figure and what it was compared with; NaN unknown (NULL) */
  const char *message;
} ls_rec_finding_row;

int ls_rec_finding_put(ls_rec *r, int64_t run_id, const ls_rec_finding_row *f, ls_diag *d);
/* Deletes run_id's findings of the n kinds (what is replaced when findings are computed again). */
int ls_rec_findings_clear(ls_rec *r, int64_t run_id, const char *const *kinds, size_t n, ls_diag *d);

/* ---------------------------------------------------------------- training health (v3) */

/* One row of `steps`: a sampled training step of one rank. Figures NaN: unknown (NULL). */
typedef struct ls_rec_step_row {
  int64_t step;
  int rank, thread;
  double loss;               /* the step's loss (mean of its backward() roots), unscaled */
  double grad_norm;          /* L2 norm of every parameter gradient, before clipping, unscaled */
  double scale;              /* the GradScaler's scale, NaN without one */
  int64_t sample_ns;         /* what sampling cost the program this step, < 0 unknown */
} ls_rec_step_row;

int ls_rec_step_add(ls_rec *r, int64_t run_id, const ls_rec_step_row *s, ls_diag *d);

/* One row of `health`: a parameter of a module (tensor = its local name: gradient and update
 * figures) or a module's output (tensor "output": activation figures) at a sampled step.
 * NaN figures and negative counts are stored as NULL. */
typedef struct ls_rec_health_row {
  int module;                /* modules.idx */
  const char *tensor;        /* "weight", "bias", ... or "output" */
  const char *shape;         /* "[768,3072]", or NULL */
  int64_t count;             /* elements */
  double grad_norm, grad_rms, grad_absmax;     /* parameters: the gradient before clipping */
  double weight_norm, update_norm, update_ratio; /* parameters: ||W|| before the step,
                                                   ||W_after - W_before||, their ratio */
  double mean, std, absmax, zeros, dead;       /* outputs: over the finite values; zeros and
                                                  dead units as fractions */
  int64_t units, calls, time_ns;               /* outputs: units (channels), calls in the
                                                  step, forward wall time of those calls */
} ls_rec_health_row;

int ls_rec_health_add(ls_rec *r, int64_t run_id, int64_t step, int rank, int thread, const ls_rec_health_row *h,
                      ls_diag *d);

/* One row of `sources`: where a module is called in the user's code (kind "call": the line of
 * `self.mlp(x)`, with the shapes of that call at its last sampled step) or where its class's
 * forward is defined (kind "forward"). A row with the same run, rank, module, kind, file, line
 * and column is updated in place. */
typedef struct ls_rec_source_row {
  int rank, module;
  const char *kind, *file;
  int line;                  /* 1-based */
  int col, end_col;          /* 0-based UTF-8 columns of the call expression; < 0 unknown */
  int64_t step;              /* < 0 unknown */
  const char *inputs, *outputs; /* "[8, 512, 768] bf16", or NULL */
} ls_rec_source_row;

int ls_rec_source_put(ls_rec *r, int64_t run_id, const ls_rec_source_row *s, ls_diag *d);

/* Batches writes: everything between begin and commit lands together (or not at all). */
int ls_rec_begin(ls_rec *r, ls_diag *d);
int ls_rec_commit(ls_rec *r, ls_diag *d);
void ls_rec_rollback(ls_rec *r);

/* ---------------------------------------------------------------- queries */

typedef enum ls_rec_vtype {
  LS_REC_NULL = 0, LS_REC_INT, LS_REC_REAL, LS_REC_TEXT, LS_REC_BLOB
} ls_rec_vtype;

typedef struct ls_rec_value {
  ls_rec_vtype type;
  int64_t i;
  double f;
  const char *s;             /* TEXT (NUL-terminated) */
  size_t len;                /* TEXT / BLOB bytes */
} ls_rec_value;

/* Called once with the column names (values NULL, row -1), then once per row. Return 0 to
 * go on, non-zero to stop early (the query then returns LS_OK). */
typedef int (*ls_rec_row_fn)(void *ud, int64_t row, int n_cols, const char *const *names,
                             const ls_rec_value *values);

/* Runs one SQL statement that only reads (SELECT, WITH ... SELECT, EXPLAIN, read-only
 * PRAGMA) and hands over its rows. Several statements, a statement that writes, ATTACH, and
 * SQL errors are LS_EINVAL with SQLite's message and where it stopped reading. timeout_ms > 0
 * interrupts a query that runs longer (LS_ECANCELED). */
int ls_rec_query(ls_rec *r, const char *sql, int timeout_ms, ls_rec_row_fn fn, void *ud, ls_diag *d);

/* A value as text (new string): integers exactly, reals with 17 significant digits when
 * exact else 6, TEXT as is, NULL as "", a BLOB as "<blob, N bytes>". NULL out of memory. */
char *ls_rec_value_str(const ls_rec_value *v, int exact);

/* A query's rows collected into an aligned text table (record_text.c): pass ls_rec_text_row
 * as the query's callback with the collector as ud, then render. Rows past max_rows are
 * counted, not kept. The rendering (new string in *out, ls_free) ends with "(N rows)". */
typedef struct ls_rec_text {
  size_t max_rows;
  int n_cols;
  char **names;              /* [n_cols] owned */
  char **cells;              /* [rows * n_cols] owned */
  size_t rows, cap, more;
  int failed;                /* out of memory */
} ls_rec_text;

void ls_rec_text_init(ls_rec_text *t, size_t max_rows);
int ls_rec_text_row(void *ud, int64_t row, int n_cols, const char *const *names, const ls_rec_value *values);
int ls_rec_text_render(const ls_rec_text *t, char **out);
void ls_rec_text_free(ls_rec_text *t);

/* ---------------------------------------------------------------- comparing two runs */

typedef struct ls_rec_run_row {
  int64_t id;
  char kind[16];
  char architecture[128];
  int64_t seq, total_ns;     /* -1 when NULL */
  char started_at[32];
} ls_rec_run_row;

/* The latest run of a kind ("profile", or NULL: any) in r: LS_ENOENT when none. */
int ls_rec_latest_run(ls_rec *r, const char *kind, ls_rec_run_row *out, ls_diag *d);
int ls_rec_run_get(ls_rec *r, int64_t id, ls_rec_run_row *out, ls_diag *d);

typedef struct ls_rec_diff_item {
  char name[256];            /* module name ("" = root) */
  int64_t a_ns, b_ns;        /* self time in each run, -1 when not timed */
  double a_std, b_std;       /* output std in each run, NaN when none */
  double a_mean, b_mean;
  int64_t a_nan, b_nan;      /* NaN + Inf count of the output, -1 when none */
  double score;              /* how far it moved (for the ordering) */
} ls_rec_diff_item;

typedef struct ls_rec_diff {
  ls_rec_run_row a, b;
  ls_rec_diff_item *time;    /* [n_time] by |b_ns - a_ns|, most first */
  size_t n_time;
  ls_rec_diff_item *stats;   /* [n_stats] NaN/Inf appearing first, then |log10(b_std / a_std)| */
  size_t n_stats;
  size_t only_a, only_b;     /* modules in one run only */
  size_t common;
  char first_only_a[256], first_only_b[256];
} ls_rec_diff;

/* Compares run run_a of ra with run run_b of rb (ids; 0: each file's latest run) by module
 * name: self times and output statistics ("sample" or "stop" rows of tensor "output"). Every
 * row read is checked (types, ranges); a bad one is LS_EINVAL naming the file, table and
 * row. *out is new (ls_rec_diff_free). */
int ls_rec_diff_runs(ls_rec *ra, int64_t run_a, ls_rec *rb, int64_t run_b, ls_rec_diff **out, ls_diag *d);
void ls_rec_diff_free(ls_rec_diff *x);

#endif
