/* bench_f32.c: time of ls_stats_f32 on an in-memory buffer of N f32 values (the
 * debugger's case: statistics of an activation on every stop), best of 5 runs, plus the
 * time of the 256-bin histogram pass. Built and run by run.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/tensor/stats.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t)atoll(argv[1]) : 100000000;
  float *x = malloc(n * sizeof *x);
  if (!x) return 1;
  unsigned s = 1;
  for (size_t i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; x[i] = (float)(s >> 8) * 5.96e-8f - 0.5f; }
  ls_stats st;
  double best = 1e9, hbest = 1e9;
  for (int r = 0; r < 5; r++) {
    double t0 = now();
    ls_stats_f32(x, n, &st);
    double t1 = now();
    ls_hist h;
    ls_stats_hist(LS_DT_F32, x, n, &st, 0, 0, 256, &h);
    double t2 = now();
    ls_hist_free(&h);
    if (t1 - t0 < best) best = t1 - t0;
    if (t2 - t1 < hbest) hbest = t2 - t1;
  }
  printf("{\"n\": %zu, \"stats_ms\": %.1f, \"hist256_ms\": %.1f, \"GBps\": %.2f, \"simd\": \"%s\", \"mean\": %.9g}\n", n,
         best * 1e3, hbest * 1e3, (double)n * 4 / best / 1e9, ls_stats_simd_name(ls_stats_simd()), st.mean);
  free(x);
  return 0;
}
