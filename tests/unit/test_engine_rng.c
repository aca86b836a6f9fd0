/* test_engine_rng.c: the engine's normal generator (core/engine/rng.h) against the normal
 * distribution itself: moments, tail mass, and a Kolmogorov-Smirnov test against the
 * normal CDF computed from libm's erfc. Seeds are fixed, so the thresholds (chosen at
 * p ~ 1e-3 or wider) make the test deterministic, yet a biased generator (wrong layer
 * tables, a missing tail, correlated bits) fails it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "core/engine/rng.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void test_moments_and_tails(void **state) {
  (void)state;
  ls_rng r;
  ls_rng_seed(&r, 12345);
  const long n = 4000000;
  double s1 = 0, s2 = 0, s4 = 0;
  long tail3 = 0, tail4 = 0;
  for (long i = 0; i < n; i++) {
    double z = ls_rng_normal(&r);
    s1 += z;
    s2 += z * z;
    s4 += z * z * z * z;
    if (fabs(z) > 3) tail3++;
    if (fabs(z) > 4) tail4++;
  }
  double mean = s1 / n, var = s2 / n - mean * mean, kurt = (s4 / n) / (var * var);
  assert_true(fabs(mean) < 5 * sqrt(1.0 / n));         /* 5 sigma of the sample mean */
  assert_true(fabs(var - 1) < 5 * sqrt(2.0 / n));        /* 5 sigma of the sample variance */
  assert_true(fabs(kurt - 3) < 0.03);
  double p3 = erfc(3 / sqrt(2)), p4 = erfc(4 / sqrt(2)); /* 2.70e-3, 6.33e-5 */
  assert_true(fabs((double)tail3 / n - p3) < 5 * sqrt(p3 / n));
  assert_true(fabs((double)tail4 / n - p4) < 5 * sqrt(p4 / n));
}

static void test_kolmogorov_smirnov(void **state) {
  (void)state;
  ls_rng r;
  ls_rng_seed(&r, 777);
  const size_t n = 1000000;
  double *z = malloc(n * sizeof *z);
  assert_non_null(z);
  for (size_t i = 0; i < n; i++) z[i] = ls_rng_normal(&r);
  qsort(z, n, sizeof *z, cmp_double);
  double dmax = 0;
  for (size_t i = 0; i < n; i++) {
    double cdf = 0.5 * erfc(-z[i] / sqrt(2));
    double lo = cdf - (double)i / n, hi = (double)(i + 1) / n - cdf;
    if (lo > dmax) dmax = lo;
    if (hi > dmax) dmax = hi;
  }
  free(z);
  assert_true(dmax < 1.95 / sqrt((double)n)); /* KS critical value at p = 0.001 */
}

static void test_deterministic(void **state) {
  (void)state;
  ls_rng a, b;
  ls_rng_seed(&a, 42);
  ls_rng_seed(&b, 42);
  for (int i = 0; i < 1000; i++) assert_true(ls_rng_normal(&a) == ls_rng_normal(&b));
  ls_rng_seed(&b, 43);
  int same = 0;
  for (int i = 0; i < 1000; i++) same += ls_rng_normal(&a) == ls_rng_normal(&b);
  assert_true(same < 5);
  for (int i = 0; i < 100000; i++) {
    double u = ls_rng_uniform(&a);
    assert_true(u > 0 && u < 1);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_moments_and_tails),
      cmocka_unit_test(test_kolmogorov_smirnov),
      cmocka_unit_test(test_deterministic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
