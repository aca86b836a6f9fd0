/* fmt.c: human-readable numbers (see fmt.h). */
#include "core/base/fmt.h"

#include <inttypes.h>
#include <stdio.h>

const char *ls_fmt_grouped(int64_t v, char *buf, size_t cap) {
  if (cap == 0) return buf;
  char tmp[32];
  /* magnitude computed without negating INT64_MIN */
  uint64_t mag = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
  int n = snprintf(tmp, sizeof tmp, "%" PRIu64, mag);
  size_t o = 0;
  if (v < 0 && o + 1 < cap) buf[o++] = '-';
  for (int i = 0; i < n && o + 2 < cap; i++) {
    buf[o++] = tmp[i];
    if ((n - i - 1) % 3 == 0 && i != n - 1) buf[o++] = ',';
  }
  buf[o] = 0;
  return buf;
}

const char *ls_fmt_count(double v, char *buf, size_t cap) {
  static const char *const pre[] = {"", " K", " M", " B", " T", " Q"};
  int p = 0;
  while (v >= 1000.0 && p < 5) { v /= 1000.0; p++; }
  snprintf(buf, cap, p ? "%.2f%s" : "%.0f%s", v, pre[p]);
  return buf;
}

const char *ls_fmt_si(double v, const char *unit, char *buf, size_t cap) {
  static const char *const pre[] = {"", "K", "M", "G", "T", "P", "E"};
  int p = 0;
  while (v >= 1000.0 && p < 6) { v /= 1000.0; p++; }
  snprintf(buf, cap, p ? "%.2f %s%s" : "%.0f %s%s", v, pre[p], unit);
  return buf;
}

const char *ls_fmt_bytes(uint64_t v, char *buf, size_t cap) {
  static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double d = (double)v;
  int p = 0;
  while (d >= 1024.0 && p < 6) { d /= 1024.0; p++; }
  snprintf(buf, cap, p ? "%.2f %s" : "%.0f %s", d, u[p]);
  return buf;
}
