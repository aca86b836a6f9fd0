/* profile.c: ls_prof_run (profile.h): one forward pass with a timing hook, then the figures
 * per module, per kind and the notes. The hook is the only code on the pass's path: at an
 * enter event it pushes a span; at an exit it pops it, adds the span's time to the module's
 * total and, less the time of the children it enclosed, to its self time, and counts the
 * bytes the event's tensors say the module touched. Everything else (FLOPs from the
 * figures, subtree sums, the roofline, the workers' jobs matched to modules, the notes)
 * runs after the pass. */
#include "core/engine/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/engine_int.h"
#include "core/model/figures.h"
#include "core/tensor/dtype.h"
#include "core/tensor/stats.h"

static const char *const k_kind_names[] = {
#define X(id, name) name,
    LS_PROF_KINDS(X)
#undef X
};

const char *ls_prof_kind_name(ls_prof_kind k) {
  return (unsigned)k < LS_PROF_KIND_COUNT ? k_kind_names[k] : "?";
}

const char *ls_prof_bound_name(ls_prof_bound b) {
  return b == LS_PROF_BOUND_MEMORY ? "memory" : b == LS_PROF_BOUND_COMPUTE ? "compute" : "-";
}

const char *ls_prof_mod_name(const ls_prof *p, int module) {
  if (module < 0 || (size_t)module >= p->m->n_modules) return "?";
  return p->m->modules[module].name[0] ? p->m->modules[module].name : "(root)";
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* ---- the hook ------------------------------------------------------------------------ */

#define MAX_DEPTH 64

/* Statistics computed by the hook do not count as the pass's time: the profile's clock is
 * the monotonic clock less what the hook spent on them (`excluded`), so every span, the
 * totals and the trace's timeline are the pass's own. Each stop of the clock is kept as a
 * mark, to move the workers' job times (read on the real clock) onto the profile's. */
typedef struct prof_mark {
  int64_t real_ns;         /* the clock restarted at this real time (from origin) */
  int64_t excluded_ns;     /* excluded in all until then */
} prof_mark;

typedef struct prof_ctx {
  ls_prof *p;
  int64_t origin;          /* CLOCK_MONOTONIC ns at the start of the pass */
  int64_t excluded;        /* ns spent on statistics so far (not the pass's time) */
  prof_mark *marks;        /* [n_marks] one per statistics computation */
  size_t n_marks, cap_marks;
  int stats;               /* compute output statistics at every exit */
  size_t cap_spans, cap_samples;
  struct {
    size_t span;           /* index into p->spans */
    int64_t child_ns;      /* totals of the children closed so far */
  } stack[MAX_DEPTH];
  int depth;
  int failed;              /* out of memory or nesting too deep: the pass is aborted */
  int statm;               /* /proc/self/statm, -1 when it cannot be opened */
} prof_ctx;

static uint64_t tensor_bytes(const ls_fwd_tensor *t) {
  uint64_t n = 1, b = 0;
  for (int i = 0; i < t->ndim; i++) n *= (uint64_t)(t->shape[i] > 0 ? t->shape[i] : 0);
  return ls_dtype_nbytes(t->dtype, n, &b) == LS_OK ? b : 0;
}

/* Bytes of rows [rows, cols] of a parameter [vocab, cols] in its stored encoding. */
static uint64_t rows_bytes(const ls_fwd_tensor *t, int64_t rows) {
  if (t->ndim != 2 || rows <= 0) return tensor_bytes(t);
  uint64_t b = 0;
  ls_dtype_nbytes(t->dtype, (uint64_t)t->shape[1], &b);
  return b * (uint64_t)rows;
}

/* Resident set size from /proc/self/statm (opened once, read with pread: one system call
 * per sample); 0 when it cannot be read. */
static uint64_t rss_bytes(int fd) {
  char buf[128];
  ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
  if (n <= 0) return 0;
  buf[n] = 0;
  unsigned long long size = 0, res = 0;
  if (sscanf(buf, "%llu %llu", &size, &res) != 2) return 0;
  long page = sysconf(_SC_PAGESIZE);
  return (uint64_t)res * (uint64_t)(page > 0 ? page : 4096);
}

/* The profile's clock: ns since the start of the pass, less the hook's statistics. */
static int64_t prof_now(const prof_ctx *c) { return now_ns() - c->origin - c->excluded; }

static void sample_memory(prof_ctx *c, int64_t t) {
  ls_prof *p = c->p;
  if (p->n_samples == c->cap_samples) {
    size_t nc = c->cap_samples ? c->cap_samples * 2 : 64;
    ls_prof_sample *ns = ls_reallocarray(p->samples, nc, sizeof *ns);
    if (!ns) return; /* a missing sample is no reason to stop the pass */
    p->samples = ns;
    c->cap_samples = nc;
  }
  p->samples[p->n_samples++] = (ls_prof_sample){.t_ns = t, .rss_bytes = rss_bytes(c->statm)};
}

/* Statistics of the module's first output (its last call's), with the clock stopped. */
static void output_stats(prof_ctx *c, const ls_fwd_event *ev) {
  int64_t s0 = now_ns();
  const ls_fwd_tensor *o = &ev->outputs[0];
  uint64_t n = 1;
  for (int i = 0; i < o->ndim; i++) n *= (uint64_t)(o->shape[i] > 0 ? o->shape[i] : 0);
  ls_prof_out *po = &c->p->outs[ev->module];
  if (ls_stats_f32(o->data, n, &po->st) == LS_OK) {
    c->p->has_stats[ev->module] = 1;
    po->ndim = o->ndim;
    memcpy(po->shape, o->shape, sizeof po->shape);
  }
  int64_t s1 = now_ns();
  if (c->n_marks == c->cap_marks) {
    size_t nc = c->cap_marks ? c->cap_marks * 2 : 256;
    prof_mark *nm = ls_reallocarray(c->marks, nc, sizeof *nm);
    if (!nm) return; /* then the time stays in; the figures remain consistent */
    c->marks = nm;
    c->cap_marks = nc;
  }
  c->excluded += s1 - s0;
  c->marks[c->n_marks++] = (prof_mark){.real_ns = s1 - c->origin, .excluded_ns = c->excluded};
}

static int on_enter_ev(prof_ctx *c, const ls_fwd_event *ev) {
  ls_prof *p = c->p;
  if (c->depth == MAX_DEPTH) return c->failed = 1, LS_FWD_ABORT;
  if (p->n_spans == c->cap_spans) {
    size_t nc = c->cap_spans ? c->cap_spans * 2 : 256;
    ls_prof_span *ns = ls_reallocarray(p->spans, nc, sizeof *ns);
    if (!ns) return c->failed = 1, LS_FWD_ABORT;
    p->spans = ns;
    c->cap_spans = nc;
  }
  size_t s = p->n_spans++;
  p->spans[s] = (ls_prof_span){.module = ev->module, .depth = c->depth,
                               .parent = c->depth ? (int)c->stack[c->depth - 1].span : -1};
  c->stack[c->depth].span = s;
  c->stack[c->depth].child_ns = 0;
  c->depth++;
  if (ev->depth == 0) sample_memory(c, prof_now(c));
  /* the clock is read last, so the hook's own work falls outside the module */
  p->spans[s].t0_ns = prof_now(c);
  return LS_FWD_CONTINUE;
}

static int on_exit_ev(prof_ctx *c, const ls_fwd_event *ev) {
  int64_t t = prof_now(c); /* read first, for the same reason */
  ls_prof *p = c->p;
  if (c->depth == 0 || p->spans[c->stack[c->depth - 1].span].module != ev->module)
    return c->failed = 1, LS_FWD_ABORT; /* unbalanced events: an engine bug */
  c->depth--;
  ls_prof_span *sp = &p->spans[c->stack[c->depth].span];
  sp->t1_ns = t;
  int64_t dur = t - sp->t0_ns;
  ls_prof_mod *pm = &p->mods[ev->module];
  pm->calls++;
  pm->total_ns += dur;
  pm->self_ns += dur - c->stack[c->depth].child_ns;
  if (c->depth) c->stack[c->depth - 1].child_ns += dur;
  int64_t rows = p->seq;
  if (ev->n_outputs && ev->outputs[0].ndim == 3) rows = ev->outputs[0].shape[1];
  pm->rows += rows;
  const ls_model_module *md = ev->mod;
  for (int i = 0; i < ev->n_params; i++)
    pm->self_weight_bytes += md->kind == LS_MODEL_KIND_EMBEDDING ? rows_bytes(&ev->params[i], rows)
                                                                  : tensor_bytes(&ev->params[i]);
  if (md->first_child < 0) {
    for (int i = 0; i < ev->n_inputs; i++) pm->self_act_bytes += tensor_bytes(&ev->inputs[i]);
    for (int i = 0; i < ev->n_outputs; i++) pm->self_act_bytes += tensor_bytes(&ev->outputs[i]);
  }
  for (int i = 0; i < ev->n_inter; i++) pm->self_act_bytes += 2 * tensor_bytes(&ev->inter[i]);
  if (c->stats && ev->n_outputs && ev->outputs[0].dtype == LS_DT_F32) output_stats(c, ev);
  if (md->kind == LS_MODEL_KIND_BLOCK || ev->depth == 0) sample_memory(c, prof_now(c));
  return LS_FWD_CONTINUE;
}

static int prof_hook(void *ud, const ls_fwd_event *ev) {
  prof_ctx *c = ud;
  return ev->phase == LS_FWD_ENTER ? on_enter_ev(c, ev) : on_exit_ev(c, ev);
}

/* ---- after the pass: figures ----------------------------------------------------------- */

/* What a module's self time counts as (profile.h's kinds). */
static ls_prof_kind kind_of(const ls_model *m, int i) {
  const ls_model_module *md = &m->modules[i];
  if (md->kind == LS_MODEL_KIND_LAYERNORM || md->kind == LS_MODEL_KIND_RMSNORM) return LS_PROF_KIND_NORM;
  if (md->kind == LS_MODEL_KIND_EMBEDDING) return LS_PROF_KIND_EMBEDDING;
  for (int a = i; a >= 0; a = m->modules[a].parent) {
    switch (m->modules[a].kind) {
    case LS_MODEL_KIND_ATTENTION: return LS_PROF_KIND_ATTENTION;
    case LS_MODEL_KIND_MLP: case LS_MODEL_KIND_MOE: case LS_MODEL_KIND_EXPERT: case LS_MODEL_KIND_ROUTER:
      return LS_PROF_KIND_MLP;
    case LS_MODEL_KIND_HEAD: return LS_PROF_KIND_HEAD;
    case LS_MODEL_KIND_BLOCK: case LS_MODEL_KIND_BACKBONE: case LS_MODEL_KIND_MODEL:
      a = -1; /* the layers' and the model's own work */
      break;
    default: break;
    }
    if (a < 0) break;
  }
  if ((md->kind == LS_MODEL_KIND_LINEAR || md->kind == LS_MODEL_KIND_CONV1D) && md->layer < 0)
    return LS_PROF_KIND_HEAD; /* lm_head, a pooler or classifier outside the layers */
  return LS_PROF_KIND_OTHER;
}

/* FLOPs per token of module i's own work at sequence length S: its figure less its
 * children's; inside an expert, 2 x its own product weights (the figures count only the
 * first top_k experts, while the pass runs each expert on the tokens routed to it). */
static int own_flops_per_token(const ls_model *m, int i, int64_t S, uint64_t *out) {
  const ls_model_module *md = &m->modules[i];
  *out = 0;
  if (md->expert >= 0) {
    for (int k = 0; k < md->n_tensors; k++) {
      const ls_model_tensor *t = &m->tensors[md->first_tensor + k];
      if (strcmp(t->leaf, "weight") == 0 &&
          (md->kind == LS_MODEL_KIND_LINEAR || md->kind == LS_MODEL_KIND_CONV1D))
        *out += 2 * (uint64_t)t->numel;
    }
    return LS_OK;
  }
  uint64_t all, kid;
  int rc = ls_model_module_flops(m, i, S, &all);
  for (int c = md->first_child; c >= 0 && !rc; c = m->modules[c].next_sibling) {
    rc = ls_model_module_flops(m, c, S, &kid);
    if (!rc) all = all >= kid ? all - kid : 0;
  }
  if (!rc) *out = all;
  return rc;
}

/* Subtree sums, achieved rates and the roofline of every module; kind totals. */
static int derive(ls_prof *p) {
  const ls_model *m = p->m;
  for (size_t i = 0; i < m->n_modules; i++) {
    ls_prof_mod *pm = &p->mods[i];
    uint64_t per_token = 0;
    if (pm->calls) {
      int rc = own_flops_per_token(m, (int)i, p->seq, &per_token);
      if (rc) return rc;
    }
    pm->self_flops = per_token * (uint64_t)(pm->rows > 0 ? pm->rows : 0);
    pm->flops = pm->self_flops;
    pm->weight_bytes = pm->self_weight_bytes;
    pm->act_bytes = pm->self_act_bytes;
    pm->kind = kind_of(m, (int)i);
  }
  /* pre-order: children follow their parent, so one backward sweep sums every subtree */
  for (size_t i = m->n_modules; i-- > 1;) {
    int par = m->modules[i].parent;
    if (par < 0) continue;
    p->mods[par].flops += p->mods[i].flops;
    p->mods[par].weight_bytes += p->mods[i].weight_bytes;
    p->mods[par].act_bytes += p->mods[i].act_bytes;
  }
  p->ridge = p->peaks.gbps > 0 ? p->peaks.gflops / p->peaks.gbps : 0;
  for (size_t i = 0; i < m->n_modules; i++) {
    ls_prof_mod *pm = &p->mods[i];
    p->kind_ns[pm->kind] += pm->self_ns;
    p->kind_flops[pm->kind] += pm->self_flops;
    if (pm->total_ns <= 0) continue;
    uint64_t bytes = pm->weight_bytes + pm->act_bytes;
    pm->gflops = (double)pm->flops / (double)pm->total_ns;
    pm->gbps = (double)bytes / (double)pm->total_ns;
    pm->intensity = bytes ? (double)pm->flops / (double)bytes : 0;
    if (p->peaks.gflops <= 0 || p->peaks.gbps <= 0 || !bytes) continue;
    if (pm->flops == 0) { /* element-wise work: against the bandwidth roof */
      pm->bound = LS_PROF_BOUND_MEMORY;
      pm->roof_frac = pm->gbps / p->peaks.gbps;
      continue;
    }
    double bw_roof = pm->intensity * p->peaks.gbps;
    pm->roof_gflops = bw_roof < p->peaks.gflops ? bw_roof : p->peaks.gflops;
    pm->bound = pm->intensity < p->ridge ? LS_PROF_BOUND_MEMORY : LS_PROF_BOUND_COMPUTE;
    pm->roof_frac = pm->gflops / pm->roof_gflops;
  }
  return LS_OK;
}

/* The innermost span open on the engine thread at time t (spans are in enter order, each
 * after its parent): the last span starting at or before t, or the nearest ancestor of it
 * still open then. -1 when none. */
static int span_at(const ls_prof *p, int64_t t) {
  size_t lo = 0, hi = p->n_spans;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->spans[mid].t0_ns <= t) lo = mid + 1;
    else hi = mid;
  }
  for (int s = (int)lo - 1; s >= 0; s = p->spans[s].parent)
    if (p->spans[s].t1_ns >= t) return s;
  return -1;
}

/* A real time (ns from the start of the pass) on the profile's clock: less the statistics
 * time excluded before it. */
static int64_t to_prof_clock(const prof_ctx *c, int64_t real) {
  size_t lo = 0, hi = c->n_marks;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->marks[mid].real_ns <= real) lo = mid + 1;
    else hi = mid;
  }
  return real - (lo ? c->marks[lo - 1].excluded_ns : 0);
}

static int collect_jobs(ls_prof *p, const ls_pool_trace *tr, const prof_ctx *c) {
  size_t n = 0;
  for (int w = 1; w < tr->n_workers; w++) {
    n += tr->n[w];
    p->jobs_dropped += tr->dropped[w];
  }
  if (!n) return LS_OK;
  p->jobs = ls_calloc(n, sizeof *p->jobs);
  if (!p->jobs) return LS_ENOMEM;
  for (int w = 1; w < tr->n_workers; w++)
    for (size_t k = 0; k < tr->n[w]; k++) {
      const ls_pool_span *s = &tr->spans[w][k];
      ls_prof_job *j = &p->jobs[p->n_jobs++];
      j->worker = w;
      j->tasks = s->tasks;
      j->t0_ns = to_prof_clock(c, s->t0_ns - c->origin);
      j->t1_ns = to_prof_clock(c, s->t1_ns - c->origin);
      int sp = span_at(p, j->t0_ns);
      j->module = sp >= 0 ? p->spans[sp].module : -1;
    }
  return LS_OK;
}

/* ---- notes ---------------------------------------------------------------------------- */

static double share(const ls_prof *p, int64_t ns) {
  return p->total_ns > 0 ? 100.0 * (double)ns / (double)p->total_ns : 0;
}

#define NOTE(...)                                                                               \
  do {                                                                                          \
    if (p->n_notes < LS_PROF_MAX_NOTES)                                                         \
      snprintf(p->notes[p->n_notes++], sizeof p->notes[0], __VA_ARGS__);                        \
  } while (0)

static void make_notes(ls_prof *p) {
  const ls_model *m = p->m;
  long long S = (long long)p->seq;
  int64_t attn_core = 0; /* self time of the attention modules: QK^T, softmax, AV, RoPE */
  for (size_t i = 0; i < m->n_modules; i++)
    if (m->modules[i].kind == LS_MODEL_KIND_ATTENTION) attn_core += p->mods[i].self_ns;
  int64_t attn = p->kind_ns[LS_PROF_KIND_ATTENTION], mlp = p->kind_ns[LS_PROF_KIND_MLP];
  if (attn > 0 && share(p, attn) >= 20) {
    double core = 100.0 * (double)attn_core / (double)attn;
    if (core >= 50)
      NOTE("attention is %.0f%% of the pass at S=%lld: the S^2 term (QK^T, softmax, AV) is %.0f%% of "
           "it and dominates; it grows with the square of the sequence", share(p, attn), S, core);
    else
      NOTE("attention is %.0f%% of the pass at S=%lld: its projections (q, k, v, o) take %.0f%% of it, "
           "the S^2 term (QK^T, softmax, AV) %.0f%%", share(p, attn), S, 100 - core, core);
  }
  if (mlp > 0 && share(p, mlp) >= 20) {
    /* the MLP's own roofline position, from the subtree figures of its blocks */
    uint64_t fl = 0, by = 0;
    for (size_t i = 0; i < m->n_modules; i++) {
      ls_model_kind k = m->modules[i].kind;
      if ((k == LS_MODEL_KIND_MLP || k == LS_MODEL_KIND_MOE) && p->mods[i].calls) {
        fl += p->mods[i].flops;
        by += p->mods[i].weight_bytes + p->mods[i].act_bytes;
      }
    }
    double gf = (double)fl / (double)mlp, ai = by ? (double)fl / (double)by : 0;
    if (p->ridge > 0)
      NOTE("the MLP is %.0f%% of the pass: %.1f GFLOP/s at %.1f FLOP/byte, %s-bound at S=%lld (the ridge "
           "is at %.1f FLOP/byte)", share(p, mlp), gf, ai, ai < p->ridge ? "memory" : "compute", S, p->ridge);
    else
      NOTE("the MLP is %.0f%% of the pass: %.1f GFLOP/s at %.1f FLOP/byte", share(p, mlp), gf, ai);
  }
  int64_t head = p->kind_ns[LS_PROF_KIND_HEAD];
  if (share(p, head) >= 10)
    NOTE("the head is %.0f%% of the pass: its product is vocab %lld x hidden %lld per token",
         share(p, head), (long long)m->sem.vocab, (long long)m->sem.hidden);
  int64_t elem = p->kind_ns[LS_PROF_KIND_NORM] + p->kind_ns[LS_PROF_KIND_OTHER];
  if (share(p, elem) >= 10)
    NOTE("norms and element-wise work (residual sums, RoPE tables, activations between products) are "
         "%.0f%% of the pass: no FLOPs counted, bounded by memory bandwidth", share(p, elem));
  /* the module furthest under its roof among those that matter */
  int worst = -1;
  for (size_t i = 0; i < m->n_modules; i++) {
    const ls_prof_mod *pm = &p->mods[i];
    if (m->modules[i].first_child >= 0 || pm->bound == LS_PROF_BOUND_NONE || share(p, pm->total_ns) < 1)
      continue;
    if (worst < 0 || pm->roof_frac < p->mods[worst].roof_frac) worst = (int)i;
  }
  if (worst >= 0 && p->mods[worst].roof_frac < 0.5)
    NOTE("%s (%.1f%% of the pass) reaches %.0f%% of its roof (%s-bound): the most room to gain",
         ls_prof_mod_name(p, worst), share(p, p->mods[worst].total_ns), 100 * p->mods[worst].roof_frac,
         ls_prof_bound_name(p->mods[worst].bound));
  if (p->threads > 1 && p->n_jobs) {
    int64_t busy = 0;
    for (size_t j = 0; j < p->n_jobs; j++) busy += p->jobs[j].t1_ns - p->jobs[j].t0_ns;
    double frac = (double)busy / ((double)p->total_ns * (p->threads - 1));
    if (frac < 0.7)
      NOTE("the %d other worker threads were busy %.0f%% of the pass: the rest ran on the engine thread "
           "alone (element-wise work, small products) or waited", p->threads - 1, 100 * frac);
  }
  if (p->wall_ns > 0 && p->total_ns > 0 && (double)p->wall_ns > 1.05 * (double)p->total_ns + 1e6)
    NOTE("the pass took %.3f ms by the outer clock but %.3f ms inside the root module: the difference "
         "is outside every module", (double)p->wall_ns / 1e6, (double)p->total_ns / 1e6);
}

/* ---- the run -------------------------------------------------------------------------- */

static void read_cpu(char *buf, size_t cap) {
  buf[0] = 0;
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    const char *v = strchr(line, ':');
    if (!v) break;
    v++;
    while (*v == ' ' || *v == '\t') v++;
    snprintf(buf, cap, "%s", v);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
    break;
  }
  fclose(f);
}

static void trace_free(ls_pool_trace *t) {
  if (t->spans)
    for (int w = 0; w < t->n_workers; w++) ls_free(t->spans[w]);
  ls_free(t->spans);
  ls_free(t->n);
  ls_free(t->dropped);
}

static int trace_init(ls_pool_trace *t, int workers, size_t cap) {
  memset(t, 0, sizeof *t);
  t->n_workers = workers;
  t->cap = cap;
  t->spans = ls_calloc((size_t)workers, sizeof *t->spans);
  t->n = ls_calloc((size_t)workers, sizeof *t->n);
  t->dropped = ls_calloc((size_t)workers, sizeof *t->dropped);
  if (!t->spans || !t->n || !t->dropped) return LS_ENOMEM;
  for (int w = 1; w < workers; w++)
    if (!(t->spans[w] = ls_calloc(cap, sizeof **t->spans))) return LS_ENOMEM;
  return LS_OK;
}

void ls_prof_free(ls_prof *p) {
  if (!p) return;
  ls_free(p->mods);
  ls_free(p->spans);
  ls_free(p->jobs);
  ls_free(p->samples);
  ls_free(p->outs);
  ls_free(p->has_stats);
  ls_free(p);
}

int ls_prof_run(ls_prof **out, ls_engine *e, const int64_t *tokens, int64_t n, const ls_prof_opts *opts,
                ls_diag *d) {
  *out = NULL;
  ls_prof_opts o = {0};
  if (opts) o = *opts;
  if (o.warmup < 0 || o.warmup > 100) return ls_diag_set(d, LS_EINVAL, "warm-up passes must be 0..100");
  const ls_model *m = e->m;
  ls_fwd_opts fo = {.token_type_ids = o.token_type_ids, .attention_mask = o.attention_mask,
                    .separate_products = !o.fused};
  ls_fwd *f = NULL;
  for (int w = 0; w < o.warmup; w++) {
    int rc = ls_fwd_new(&f, e, tokens, n, &fo, d);
    if (!rc) rc = ls_fwd_run(f, d);
    ls_fwd_free(f);
    f = NULL;
    if (rc) return rc;
  }
  ls_prof *p = ls_calloc(1, sizeof *p);
  if (!p) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  p->m = m;
  p->seq = n;
  p->threads = ls_engine_threads(e);
  p->compute = ls_engine_compute_get(e);
  p->products = ls_engine_matmul_path(e);
  p->separate_products = !o.fused;
  read_cpu(p->cpu, sizeof p->cpu);
  size_t nm = m->n_modules ? m->n_modules : 1;
  p->mods = ls_calloc(nm, sizeof *p->mods);
  if (o.stats) {
    p->outs = ls_calloc(nm, sizeof *p->outs);
    p->has_stats = ls_calloc(nm, sizeof *p->has_stats);
  }
  ls_pool_trace tr;
  int rc = p->mods && (!o.stats || (p->outs && p->has_stats)) ? LS_OK : LS_ENOMEM;
  if (!rc && !o.no_workers && p->threads > 1)
    rc = trace_init(&tr, p->threads, 8 * m->n_modules + 1024);
  else
    memset(&tr, 0, sizeof tr);
  if (rc) {
    trace_free(&tr);
    ls_prof_free(p);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  if (o.peak_gflops > 0 && o.peak_gbps > 0) {
    p->peaks.gflops = o.peak_gflops;
    p->peaks.gbps = o.peak_gbps;
    p->peaks.given = 1;
  } else if (o.peaks && (rc = ls_prof_peaks_measure(e, &p->peaks, d))) {
    trace_free(&tr);
    ls_prof_free(p);
    return rc;
  }
  prof_ctx c = {.p = p, .statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC), .stats = o.stats};
  fo.hook = prof_hook;
  fo.ud = &c;
  rc = ls_fwd_new(&f, e, tokens, n, &fo, d);
  if (!rc) {
    if (tr.n_workers) ls_pool_trace_set(e->pool, &tr);
    c.origin = now_ns();
    rc = ls_fwd_run(f, d);
    p->wall_ns = now_ns() - c.origin - c.excluded;
    p->stats_ns = c.excluded;
    ls_pool_trace_set(e->pool, NULL);
    p->events = 2 * (uint64_t)p->n_spans;
    if (rc && c.failed)
      rc = ls_diag_set(d, LS_ENOMEM, "the profile ran out of memory, or the module events did not nest");
  }
  if (!rc) {
    p->total_ns = p->mods[0].total_ns;
    ls_fwd_next_tokens_line(f, 5, p->next_tokens, sizeof p->next_tokens);
    rc = derive(p);
    if (rc) ls_diag_set(d, rc, "the FLOP figures overflow at S=%lld", (long long)n);
  }
  if (!rc && tr.n_workers && collect_jobs(p, &tr, &c)) rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
  ls_fwd_free(f);
  trace_free(&tr);
  if (c.statm >= 0) close(c.statm);
  ls_free(c.marks);
  if (rc) {
    ls_prof_free(p);
    return rc;
  }
  make_notes(p);
  *out = p;
  return LS_OK;
}
