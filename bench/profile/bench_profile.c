/* bench_profile.c: what `layerscope profile` costs over the plain forward pass. In one
 * process, on one engine, it alternates a plain pass (no hook) with a profiled pass
 * (ls_prof_run: a clock read and bookkeeping at every module event, the workers' job spans
 * recorded, no peaks), both with the products one per module (separate_products), so the
 * difference is the profiler's own. Passes alternate so that a slow patch of the machine
 * hits both; the figure is the median of the per-pair ratios, with the medians of each.
 * A third series runs the plain pass with fused products (the default of `run`): its ratio
 * to the separate plain pass is what a profile's attribution of q/k/v and gate/up costs.
 *
 * usage: bench_profile CONFIG [-s SEQ] [-n PAIRS] [-t THREADS] [-c fp32|bf16]
 * Prints the CPU model first. Built and run by run.sh. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/engine/forward.h"
#include "core/engine/profile.h"
#include "core/model/model.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double plain_pass(ls_engine *e, const int64_t *tok, int64_t S, int separate) {
  ls_fwd *f = NULL;
  ls_diag d;
  ls_diag_init(&d);
  ls_fwd_opts o = {.separate_products = separate};
  if (ls_fwd_new(&f, e, tok, S, &o, &d)) { fprintf(stderr, "%s\n", d.msg); exit(1); }
  double t0 = now_ms();
  if (ls_fwd_run(f, &d)) { fprintf(stderr, "%s\n", d.msg); exit(1); }
  double t = now_ms() - t0;
  ls_fwd_free(f);
  return t;
}

int main(int argc, char **argv) {
  const char *cfg = NULL, *compute = "fp32";
  int64_t S = 128;
  int pairs = 7, threads = 0;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "-s") == 0 && a + 1 < argc) S = atoll(argv[++a]);
    else if (strcmp(argv[a], "-n") == 0 && a + 1 < argc) pairs = atoi(argv[++a]);
    else if (strcmp(argv[a], "-t") == 0 && a + 1 < argc) threads = atoi(argv[++a]);
    else if (strcmp(argv[a], "-c") == 0 && a + 1 < argc) compute = argv[++a];
    else cfg = argv[a];
  }
  if (!cfg || pairs < 1 || S < 1) { fprintf(stderr, "usage: bench_profile CONFIG [-s SEQ] [-n PAIRS] [-t THREADS] [-c fp32|bf16]\n"); return 2; }
  ls_diag d;
  ls_diag_init(&d);
  ls_model *m = NULL;
  ls_engine *e = NULL;
  if (ls_model_load_file(cfg, NULL, &m, &d)) { fprintf(stderr, "%s\n", d.msg); return 1; }
  ls_engine_opts eo = {.threads = threads, .compute = ls_engine_compute_parse(compute)};
  if (ls_engine_open(&e, m, &eo, &d)) { fprintf(stderr, "%s\n", d.msg); return 1; }
  int64_t *tok = calloc((size_t)S, sizeof *tok);
  ls_fwd_random_tokens(1, m->sem.vocab, tok, S);
  plain_pass(e, tok, S, 1); /* warm-up: caches, OpenBLAS, the pool's first jobs */
  double *plain = calloc((size_t)pairs, sizeof(double)), *prof = calloc((size_t)pairs, sizeof(double));
  double *fused = calloc((size_t)pairs, sizeof(double)), *ratio = calloc((size_t)pairs, sizeof(double));
  double *fratio = calloc((size_t)pairs, sizeof(double));
  char cpu[128] = "";
  uint64_t events = 0;
  for (int i = 0; i < pairs; i++) {
    plain[i] = plain_pass(e, tok, S, 1);
    ls_prof *p = NULL;
    ls_prof_opts po = {0};
    if (ls_prof_run(&p, e, tok, S, &po, &d)) { fprintf(stderr, "%s\n", d.msg); return 1; }
    double pass = (double)p->wall_ns / 1e6;
    snprintf(cpu, sizeof cpu, "%s", p->cpu);
    events = p->events;
    ls_prof_free(p);
    fused[i] = plain_pass(e, tok, S, 0);
    ratio[i] = pass / plain[i];
    fratio[i] = plain[i] / fused[i];
    prof[i] = pass;
  }
  printf("cpu: %s; %d engine threads; %s compute\n", cpu[0] ? cpu : "unknown", ls_engine_threads(e), compute);
  printf("%s S=%lld: %llu module events per pass; %d interleaved pairs\n", m->architecture, (long long)S,
         (unsigned long long)events, pairs);
  double r = median(ratio, pairs), fr = median(fratio, pairs);
  printf("  plain pass (products one per module)  median %9.3f ms\n", median(plain, pairs));
  printf("  profiled pass                         median %9.3f ms   profiled / plain: median %.4f (%+.2f%%)\n",
         median(prof, pairs), r, 100 * (r - 1));
  printf("  plain pass, fused products (run's)    median %9.3f ms   separate / fused: median %.4f (%+.2f%%)\n",
         median(fused, pairs), fr, 100 * (fr - 1));
  /* per event: on a tiny model the events are most of the pass, so this is the hook's cost */
  printf("  profiler cost per module event: %.2f us (median difference / events)\n",
         (median(prof, pairs) - median(plain, pairs)) * 1e3 / (double)(events ? events : 1));
  free(plain); free(prof); free(fused); free(ratio); free(fratio); free(tok);
  ls_engine_close(e);
  ls_model_free(m);
  return 0;
}
