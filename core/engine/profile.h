/* profile.h: where the time of a forward pass goes, module by module. ls_prof_run runs one
 * pass of the reference engine with a hook that reads the monotonic clock at every module's
 * enter and exit event, and with the engine's worker pool recording when each worker ran
 * its share of each job (pool.h). From those it builds, for every module of the module
 * tree: calls, wall time (total, and self: total less its children's), FLOPs (the core's
 * figures, figures.h), bytes of weights and activations touched, the achieved GFLOP/s and
 * GB/s, and where that sits against the machine's measured peaks (a roofline: compute- or
 * memory-bound, and the fraction of the roof reached). Then the totals per kind of work
 * (attention, MLP, norms, embedding, head, other) and a few bottleneck notes in plain words.
 *
 * The pieces fit together exactly: every nanosecond of the pass (the root module's total) is
 * the self time of exactly one module, so the self times sum to the total, and the kind
 * totals are sums of self times. The pass's wall time measured around ls_fwd_run (outside
 * the hooks) is kept too, as the check on the hooks' own clock.
 *
 * Conventions (docs/profile.md says why):
 *   - FLOPs follow figures.h: matrix products only, 1 multiply-add = 2 FLOPs, attention's
 *     QK^T and AV without causal halving (the engine's causal kernels skip about half:
 *     attention's achieved GFLOP/s are then an upper estimate). A module's own FLOPs are
 *     its figure less its children's, times the rows it ran on (an expert: the tokens routed
 *     to it: 2 x its weights x those rows).
 *   - Bytes touched: a module's own parameters in their stored encoding (an embedding: only
 *     the rows it looked up), plus for a module with no child module its inputs read and
 *     outputs written (fp32 activations), plus twice each named intermediate (attention
 *     probabilities are written, then read). A parent's figure adds its children's.
 *   - Fused products (q/k/v, gate/up) run one per module in a profile by default
 *     (ls_fwd_opts.separate_products), so each module's time is its own.
 *
 * Ownership: ls_prof_run returns a new profile (ls_prof_free). It borrows the engine's
 * model, which must outlive it. Every array in it is owned by it; read it, do not change
 * it. Not thread-safe while being built; a built profile may be read from any thread. */
#ifndef LS_ENGINE_PROFILE_H
#define LS_ENGINE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/engine/forward.h"
#include "core/tensor/stats.h"

/* What a module's self time is spent on; the per-kind totals of a profile. */
#define LS_PROF_KINDS(X)                                                                       \
  X(ATTENTION, "attention")   /* attention modules and their projections */                   \
  X(MLP, "mlp")               /* MLP / MoE blocks: products, activation, routing, experts */  \
  X(NORM, "norm")             /* LayerNorm / RMSNorm */                                        \
  X(EMBEDDING, "embedding")   /* token, position and type embeddings */                        \
  X(HEAD, "head")             /* the LM head and task heads outside the layers */              \
  X(OTHER, "other")           /* the rest: residual sums, RoPE tables, containers' glue */

typedef enum ls_prof_kind {
#define X(id, name) LS_PROF_KIND_##id,
  LS_PROF_KINDS(X)
#undef X
  LS_PROF_KIND_COUNT
} ls_prof_kind;

const char *ls_prof_kind_name(ls_prof_kind k);

typedef enum ls_prof_bound {
  LS_PROF_BOUND_NONE = 0,  /* no FLOPs or no peaks: not placed on the roofline */
  LS_PROF_BOUND_MEMORY,    /* arithmetic intensity below the ridge point */
  LS_PROF_BOUND_COMPUTE
} ls_prof_bound;

const char *ls_prof_bound_name(ls_prof_bound b); /* "-", "memory", "compute" */

/* The machine's measured peaks (ls_prof_peaks_measure). */
typedef struct ls_prof_peaks {
  double gflops;           /* the engine's matrix-product kernel on all its threads, GFLOP/s
                              (the pass's compute mode: fp32 or bf16) */
  double gbps;             /* streaming read of a buffer far larger than the caches, all
                              threads, GB/s (1e9 bytes) */
  double measure_ms;       /* what measuring them cost */
  int given;               /* 1: given by the caller rather than measured */
} ls_prof_peaks;

/* One module of the tree, as the pass ran it. Times are nanoseconds, bytes and FLOPs
 * summed over its calls. */
typedef struct ls_prof_mod {
  int calls;               /* enter/exit pairs; 0: the pass did not run it */
  int64_t rows;            /* the rows (tokens) it ran on, summed over calls */
  int64_t total_ns;        /* wall time between its enter and exit events */
  int64_t self_ns;         /* total less its child modules' totals */
  uint64_t flops, self_flops;             /* subtree / own */
  uint64_t weight_bytes, self_weight_bytes; /* parameters read: subtree / own */
  uint64_t act_bytes, self_act_bytes;     /* activations read and written: subtree / own */
  double gflops;           /* flops / total_ns (achieved, subtree) */
  double gbps;             /* (weight + act bytes) / total_ns */
  double intensity;        /* FLOPs per byte touched (subtree); 0 when no bytes */
  double roof_gflops;      /* min(peak GFLOP/s, intensity x peak GB/s); 0 without peaks */
  double roof_frac;        /* gflops / roof_gflops (0..1, more when the peaks were low) */
  ls_prof_bound bound;
  ls_prof_kind kind;       /* what its self time counts as */
} ls_prof_mod;

/* One call of a module on the engine's thread (a nested complete event of a trace). */
typedef struct ls_prof_span {
  int module;              /* index into the model's modules */
  int depth;               /* nesting on the engine thread (the root: 0) */
  int parent;              /* index of the enclosing span, -1 for the root's */
  int64_t t0_ns, t1_ns;    /* from the start of the pass */
} ls_prof_span;

/* What one worker thread (1..threads-1) did for one job of the pool. */
typedef struct ls_prof_job {
  int worker;              /* >= 1; worker 0 is the engine thread itself */
  int module;              /* the innermost module running on the engine thread then, -1 */
  int tasks;
  int64_t t0_ns, t1_ns;    /* from the start of the pass */
} ls_prof_job;

/* A memory sample, taken at the root's events and each layer's exit. */
typedef struct ls_prof_sample {
  int64_t t_ns;            /* from the start of the pass */
  uint64_t rss_bytes;      /* resident set of the process (/proc/self/statm) */
} ls_prof_sample;

/* Statistics of a module's output (ls_prof_opts.stats). */
typedef struct ls_prof_out {
  ls_stats st;
  int ndim;
  int64_t shape[4];        /* [1, rows, width] */
} ls_prof_out;

#define LS_PROF_MAX_NOTES 8

typedef struct ls_prof {
  const ls_model *m;       /* borrowed */
  int64_t seq;             /* S: tokens of the pass */
  int threads;             /* the engine's worker threads */
  int compute;             /* ls_engine_compute in effect */
  const char *products;    /* which code ran the matrix products (ls_engine_matmul_path) */
  int separate_products;   /* as run (ls_prof_opts.fused inverted) */
  int64_t wall_ns;         /* ls_fwd_run measured by the caller's clock, outside the hooks
                              (less stats_ns) */
  int64_t stats_ns;        /* what the hook spent on output statistics (opts.stats): taken
                              out of every figure and of the trace's timeline */
  int64_t total_ns;        /* the root module's total: sum of every self_ns */
  uint64_t events;         /* module events the hook timed */
  ls_prof_mod *mods;       /* [m->n_modules] */
  ls_prof_span *spans;     /* [n_spans] in enter order (parents before children) */
  size_t n_spans;
  ls_prof_job *jobs;       /* [n_jobs] by worker, then time */
  size_t n_jobs;
  size_t jobs_dropped;     /* spans the workers' arrays could not hold */
  ls_prof_sample *samples; /* [n_samples] in time order */
  size_t n_samples;
  int64_t kind_ns[LS_PROF_KIND_COUNT];      /* sums of self_ns per kind */
  uint64_t kind_flops[LS_PROF_KIND_COUNT];  /* sums of self_flops per kind */
  ls_prof_out *outs;       /* [m->n_modules] each module's first output (its last call's)
                              when opts.stats, else NULL */
  uint8_t *has_stats;      /* [m->n_modules] 1 where outs[i] was computed */
  ls_prof_peaks peaks;     /* gflops = gbps = 0 when not measured */
  double ridge;            /* peaks.gflops / peaks.gbps: FLOPs per byte at the ridge */
  char cpu[128];           /* the CPU model (/proc/cpuinfo), "" when unknown */
  char next_tokens[256];   /* the pass's result: ls_fwd_next_tokens_line, k = 5 */
  char notes[LS_PROF_MAX_NOTES][320]; /* bottleneck notes, plain sentences, most telling first */
  int n_notes;
} ls_prof;

typedef struct ls_prof_opts {
  int fused;               /* 1: keep the fused products (their time is their parent's) */
  int warmup;              /* passes run first without the hook (0..100) */
  int no_workers;          /* 1: do not record the workers' job spans */
  int peaks;               /* 1: measure the peaks (ls_prof_peaks_measure) unless given */
  int stats;               /* 1: statistics of every module's output (core/tensor/stats.h),
                              computed in the hook with the profile's clock stopped */
  double peak_gflops, peak_gbps; /* > 0: use these instead of measuring */
  const int64_t *token_type_ids; /* [S] or NULL, as ls_fwd_opts */
  const int *attention_mask;     /* [S] or NULL */
} ls_prof_opts;

/* Profiles one forward pass of e over tokens[n] (checked as ls_fwd_new does). opts may be
 * NULL (defaults: separate products, no warm-up, workers recorded, no peaks). */
int ls_prof_run(ls_prof **out, ls_engine *e, const int64_t *tokens, int64_t n, const ls_prof_opts *opts,
                ls_diag *d);
void ls_prof_free(ls_prof *p);

/* Measures the peaks on e's worker pool in the engine's compute mode: the best of a few
 * streaming reads of 128 MiB and of a few [256 x 1024] x [1024 x 1024] products with the
 * engine's own kernel. About 0.1-0.3 s. */
int ls_prof_peaks_measure(ls_engine *e, ls_prof_peaks *out, ls_diag *d);

/* The module's name for people: its upstream name, "(root)" for the root. Borrowed. */
const char *ls_prof_mod_name(const ls_prof *p, int module);

/* ---- exports (profile_export.c); each writes the whole file atomically (file.h) -------- */

/* Chrome trace event JSON (the Trace Event Format's object form): process and thread names
 * as metadata events, one complete ("X") event per module call on the engine thread
 * (tid 1, nested), one per job on each worker thread (tid 1 + worker), and counter ("C")
 * events of the resident memory. Times in microseconds from the start of the pass. Opens in
 * Perfetto (ui.perfetto.dev) and chrome://tracing. */
int ls_prof_write_trace(const ls_prof *p, const char *path, ls_diag *d);
/* Collapsed stacks, one line per module with self time: "root;model;model.layers.0 1234"
 * with the self time in microseconds (rounded so the lines sum to the total's
 * microseconds), as flamegraph.pl, speedscope and inferno read them. */
int ls_prof_write_collapsed(const ls_prof *p, const char *path, ls_diag *d);
/* An SVG flame graph (icicle order: the root on top), one box per module whose width is
 * its total time, with its name, time, share and GFLOP/s as a tooltip. */
int ls_prof_write_svg(const ls_prof *p, const char *path, ls_diag *d);

#endif
