/* stream_bw.c: the memory bandwidth a decode step can hope for: T threads each sum their
 * half of a buffer of N MiB (far larger than the caches), best of R passes, printed as GB/s.
 * A decoded token reads every weight once, so weight bytes / this bandwidth is the fastest a
 * token can be (bench_decode.py's "limit"). Usage: stream_bw [MiB] [threads] [passes] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct part { const uint64_t *p; size_t n; uint64_t sum; } part;

static void *reader(void *arg) {
  part *pt = arg;
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 4 <= pt->n; i += 4) {
    a += pt->p[i];
    b += pt->p[i + 1];
    c += pt->p[i + 2];
    d += pt->p[i + 3];
  }
  pt->sum = a + b + c + d;
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
  int threads = argc > 2 ? atoi(argv[2]) : 2, passes = argc > 3 ? atoi(argv[3]) : 5;
  size_t n = mib << 17; /* uint64 words */
  uint64_t *buf = malloc(n * sizeof *buf);
  if (!buf || threads < 1 || threads > 64) return 1;
  memset(buf, 1, n * sizeof *buf);
  double best = 1e30;
  uint64_t check = 0;
  for (int r = 0; r < passes; r++) {
    pthread_t th[64];
    part pt[64];
    double t0 = now();
    for (int t = 0; t < threads; t++) {
      pt[t] = (part){buf + n / threads * t, n / threads, 0};
      pthread_create(&th[t], NULL, reader, &pt[t]);
    }
    for (int t = 0; t < threads; t++) {
      pthread_join(th[t], NULL);
      check += pt[t].sum;
    }
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  printf("{\"gbps\": %.3f, \"bytes\": %zu, \"threads\": %d, \"check\": %llu}\n",
         (double)(n * sizeof *buf) / best / 1e9, n * sizeof *buf, threads, (unsigned long long)(check & 1));
  free(buf);
  return 0;
}
