/* bench_q8.c: times ls_ops_matmul on GGUF Q8_0 / Q4_0 weights of TinyLlama's shapes (q/o
 * 2048 x 2048, gate/up 5632 x 2048, down 2048 x 5632) for a prefill of M tokens and for one
 * decode token, on a pool of T threads; which path runs (int8 products or fp32 after
 * dequantizing) is the process's LAYERSCOPE_Q8 (ops_q8.h). Prints one line per case:
 * "CASE ms". bench/engine/run_q8.sh runs it both ways, alternating, and prints the ratios.
 * Usage: bench_q8 M THREADS REPS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/engine/ops.h"
#include "core/engine/ops_q8.h"
#include "core/engine/pool.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint8_t *make(int type, int64_t N, int64_t K) {
  int bb = type == LS_OPS_Q8_0 ? 34 : 18;
  size_t bytes = (size_t)(N * (K / 32) * bb);
  uint8_t *b = malloc(bytes);
  for (size_t i = 0; i < bytes; i++) b[i] = (uint8_t)(i * 2654435761u >> 13);
  for (int64_t r = 0; r < N * (K / 32); r++) { /* sane f16 scales: 0.01 */
    uint16_t h = ls_ops_f32_to_f16(0.01f);
    memcpy(b + r * bb, &h, 2);
  }
  return b;
}

int main(int argc, char **argv) {
  int64_t M = argc > 1 ? atoll(argv[1]) : 128;
  int threads = argc > 2 ? atoi(argv[2]) : 2, reps = argc > 3 ? atoi(argv[3]) : 5;
  static const int64_t shapes[][2] = {{2048, 2048}, {5632, 2048}, {2048, 5632}}; /* N, K */
  ls_pool *p = NULL;
  if (ls_pool_new(&p, threads)) return 1;
  float *x = malloc(sizeof(float) * M * 5632), *y = malloc(sizeof(float) * M * 5632);
  for (int64_t i = 0; i < M * 5632; i++) x[i] = (float)((i * 37 % 101) - 50) / 50.0f;
  for (int t = 0; t < 2; t++) {
    int type = t ? LS_OPS_Q4_0 : LS_OPS_Q8_0;
    double total = 0;
    for (int s = 0; s < 3; s++) {
      int64_t N = shapes[s][0], K = shapes[s][1];
      uint8_t *w = make(type, N, K);
      ls_ops_mat mat = {.type = type, .data = w, .rows = N, .cols = K};
      ls_ops_matmul(p, y, x, M, &mat, 1, NULL); /* warm: scratch, page faults */
      double best = 1e9;
      for (int r = 0; r < reps; r++) {
        double t0 = now();
        ls_ops_matmul(p, y, x, M, &mat, 1, NULL);
        double dt = now() - t0;
        if (dt < best) best = dt;
      }
      /* one layer of TinyLlama: q and o 2048 x 2048, k and v 256 x 2048 (counted as 1/8 of a
       * square), gate and up 5632 x 2048, down 2048 x 5632 */
      total += best * (s == 0 ? 2.25 : s == 1 ? 2 : 1);
      free(w);
    }
    printf("%s_M%lld %.4f\n", t ? "q4_0" : "q8_0", (long long)M, total * 1e3);
  }
  printf("path %s\n", ls_ops_q8_supported() ? "int8" : "fp32");
  ls_pool_free(p);
  return 0;
}
