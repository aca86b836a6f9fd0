/* bench_figures.c: how long layerscope takes to go from a config file's text to the module
 * tree and every figure (params, FLOPs, memory), on the largest configs we have (Llama 3.1
 * 405B: 126 layers, 1,135 tensors; Mixtral 8x7B: 995 tensors; Qwen1.5-MoE: 60 experts x 24
 * layers). Each iteration parses the JSON, resolves the config, builds the tree and computes
 * the figures, exactly what an LSP hover on model_type or `layerscope summary` does.
 * Reports min / median / p99 over N iterations. Built and run by run.sh. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/model/figures.h"
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

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)len + 1);
  if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) { fclose(f); free(buf); return NULL; }
  fclose(f);
  *n = (size_t)len;
  return buf;
}

int main(int argc, char **argv) {
  int iters = 200;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "-n") == 0 && a + 1 < argc) { iters = atoi(argv[++a]); continue; }
    size_t n;
    char *text = slurp(argv[a], &n);
    if (!text) { fprintf(stderr, "cannot read %s\n", argv[a]); return 1; }
    double *t = calloc((size_t)iters, sizeof *t);
    long long params = 0, tensors = 0;
    for (int i = 0; i < iters; i++) {
      double t0 = now_ms();
      ls_model *m = NULL;
      ls_diag d;
      ls_diag_init(&d);
      if (ls_model_load(text, n, argv[a], NULL, &m, &d)) { fprintf(stderr, "%s\n", d.msg); return 1; }
      ls_model_figures f;
      if (ls_model_figures_compute(m, NULL, &f, &d)) { fprintf(stderr, "%s\n", d.msg); return 1; }
      params = f.params;
      tensors = (long long)m->n_tensors;
      ls_model_free(m);
      t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp);
    const char *base = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
    printf("%-36s params %15lld  tensors %5lld  min %.3f ms  median %.3f ms  p99 %.3f ms  (%d runs)\n",
           base, params, tensors, t[0], t[iters / 2], t[(size_t)(iters * 0.99)], iters);
    free(t);
    free(text);
  }
  return 0;
}
