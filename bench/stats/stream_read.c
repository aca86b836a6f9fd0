/* stream_read.c: the benchmark's bandwidth baseline: reads a file start to end with
 * read(2) into a 1 MiB buffer (touching each cache line so nothing is skipped) and prints
 * bytes and seconds. From the page cache this is the speed a single streaming reader of
 * the same bytes gets; `layerscope stats` is compared against it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: stream_read FILE\n"); return 2; }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror(argv[1]); return 1; }
  static char buf[1 << 20];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  unsigned long long total = 0, sum = 0;
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) {
    for (ssize_t i = 0; i < n; i += 64) sum += (unsigned char)buf[i];
    total += (unsigned long long)n;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
  printf("{\"bytes\": %llu, \"seconds\": %.6f, \"checksum\": %llu}\n", total, s, sum);
  close(fd);
  return 0;
}
