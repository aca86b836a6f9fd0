/* test_stats.c: unit tests of core/tensor/stats.h. Each vector path the CPU has (forced
 * with ls_stats_simd_force) must give exactly the counts, min and max of a naive long
 * double reference, and mean/std within 1e-6 relative, on data with NaN, +-Inf, zeros,
 * subnormals and odd lengths (tails); edge cases (empty, all-NaN, constant, one element),
 * histograms, percentiles, row/column figures, comparisons, argument checks and
 * allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/stats.h"

typedef struct ref { uint64_t fin, nan, pinf, ninf, zeros, subn; long double mean, std, min, max; } ref;

static ref naive(const float *x, size_t n, float min_normal) {
  ref r = {0};
  long double s = 0, q = 0;
  r.min = INFINITY;
  r.max = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (isnan(x[i])) { r.nan++; continue; }
    if (isinf(x[i])) { if (x[i] > 0) r.pinf++; else r.ninf++; continue; }
    r.fin++;
    s += x[i];
    r.zeros += x[i] == 0;
    r.subn += x[i] != 0 && fabsf(x[i]) < min_normal;
    if (x[i] < r.min) r.min = x[i];
    if (x[i] > r.max) r.max = x[i];
  }
  r.mean = s / (long double)r.fin;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i])) q += (x[i] - r.mean) * (x[i] - r.mean);
  r.std = sqrtl(q / (long double)r.fin);
  return r;
}

static uint64_t g_rng = 88172645463325252ull;
static double urand(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return (double)(g_rng >> 11) / 9007199254740992.0;
}

static const char *const k_paths[] = {"scalar", "avx2", "avx512"};

static void check_against(const float *x, size_t n, const char *path) {
  ls_stats s;
  assert_int_equal(ls_stats_f32(x, n, &s), LS_OK);
  ref r = naive(x, n, 1.17549435e-38f);
  if (s.finite != r.fin || s.nan != r.nan || s.pinf != r.pinf || s.ninf != r.ninf || s.zeros != r.zeros ||
      s.subnormals != r.subn || s.count != n)
    fail_msg("%s n=%zu: counts differ (fin %llu/%llu nan %llu/%llu zeros %llu/%llu subn %llu/%llu)", path, n,
             (unsigned long long)s.finite, (unsigned long long)r.fin, (unsigned long long)s.nan,
             (unsigned long long)r.nan, (unsigned long long)s.zeros, (unsigned long long)r.zeros,
             (unsigned long long)s.subnormals, (unsigned long long)r.subn);
  if (r.fin == 0) {
    assert_true(isnan(s.mean) && isnan(s.min));
    return;
  }
  if (s.min != (double)r.min || s.max != (double)r.max) fail_msg("%s n=%zu: min/max %g %g vs %Lg %Lg", path, n, s.min, s.max, r.min, r.max);
  /* 1e-6: the accuracy stats.h promises (f32 lane sums of up to 16 shifted terms). */
  double tol = 1e-6 * (fabs((double)r.mean) + (double)r.std) + 1e-30;
  if (fabs(s.mean - (double)r.mean) > tol) fail_msg("%s n=%zu: mean %.17g vs %.17Lg", path, n, s.mean, r.mean);
  if (fabs(s.std - (double)r.std) > 1e-6 * (double)r.std + 1e-30) fail_msg("%s n=%zu: std %.17g vs %.17Lg", path, n, s.std, r.std);
  assert_true(s.absmax == fmax(fabs(s.min), fabs(s.max)));
}

static void test_paths_agree(void **state) {
  (void)state;
  size_t sizes[] = {1, 7, 15, 16, 17, 255, 256, 257, 1000, 4099, 65536 + 13, 300000, 1 << 20};
  size_t maxn = 1 << 20;
  float *x = malloc(maxn * sizeof *x);
  assert_non_null(x);
  for (size_t i = 0; i < maxn; i++) {
    double u = urand();
    x[i] = (float)(u * 6 - 2.5);
    if (u < 0.001) x[i] = 0.0f;
    else if (u < 0.0012) x[i] = NAN;
    else if (u < 0.0013) x[i] = INFINITY;
    else if (u < 0.0014) x[i] = -INFINITY;
    else if (u < 0.0016) x[i] = 1e-40f;
    else if (u < 0.0017) x[i] = -0.0f;
  }
  x[0] = NAN; /* the shift must skip non-finite leaders */
  int ran = 0;
  for (int p = 0; p < 3; p++) {
    if (ls_stats_simd_force(k_paths[p]) != LS_OK) continue;
    ran++;
    assert_string_equal(ls_stats_simd_name(ls_stats_simd()), k_paths[p]);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
      check_against(x, sizes[k], k_paths[p]);
      check_against(x + 3, sizes[k] - (sizes[k] > 3 ? 3 : sizes[k]), k_paths[p]); /* unaligned */
    }
  }
  assert_true(ran >= 1);
  assert_int_equal(ls_stats_simd_force("sse9"), LS_EINVAL);
  ls_stats_simd_force("auto");
  free(x);
}

static void test_edges(void **state) {
  (void)state;
  ls_stats s;
  assert_int_equal(ls_stats_f32(NULL, 0, &s), LS_OK);
  assert_int_equal(s.count, 0);
  assert_true(isnan(s.mean));
  float nan3[3] = {NAN, INFINITY, -INFINITY};
  for (int p = 0; p < 3; p++) {
    if (ls_stats_simd_force(k_paths[p]) != LS_OK) continue;
    float big[100];
    for (int i = 0; i < 100; i++) big[i] = nan3[i % 3];
    assert_int_equal(ls_stats_f32(big, 100, &s), LS_OK);
    assert_int_equal(s.finite, 0);
    assert_int_equal(s.nan, 34);
    assert_int_equal(s.pinf, 33);
    assert_true(isnan(s.min) && isnan(s.std));
    big[50] = -7.0f; /* one finite among non-finite: min = max = -7, not the substituted shift */
    assert_int_equal(ls_stats_f32(big, 100, &s), LS_OK);
    assert_true(s.min == -7.0 && s.max == -7.0 && s.std == 0 && s.finite == 1);
    float c[40];
    for (int i = 0; i < 40; i++) c[i] = 1e30f;
    assert_int_equal(ls_stats_f32(c, 40, &s), LS_OK);
    assert_true(s.mean == 1e30f && s.std == 0);
  }
  ls_stats_simd_force("auto");
  assert_int_equal(ls_stats_compute(LS_DT_Q4_0, "", 31, &s), LS_EINVAL);
  assert_int_equal(ls_stats_compute((ls_dtype)99, "", 1, &s), LS_EINVAL);
  /* subnormals of the stored type: f16 0x0001 is subnormal, 0x0400 is not */
  uint16_t h[4] = {0x0001, 0x0400, 0x8200, 0x0000};
  assert_int_equal(ls_stats_compute(LS_DT_F16, h, 4, &s), LS_OK);
  assert_int_equal(s.subnormals, 2);
  assert_int_equal(s.zeros, 1);
  double d[3] = {1e-310, 2.0, NAN};
  assert_int_equal(ls_stats_compute(LS_DT_F64, d, 3, &s), LS_OK);
  assert_int_equal(s.subnormals, 1);
  assert_true(s.max == 2.0 && s.min == 1e-310);
  int8_t i8[4] = {-128, 0, 127, 1};
  assert_int_equal(ls_stats_compute(LS_DT_I8, i8, 4, &s), LS_OK);
  assert_true(s.min == -128 && s.max == 127 && s.mean == 0 && s.zeros == 1);
}

static void test_hist_percentiles(void **state) {
  (void)state;
  enum { N = 10001 };
  static float x[N];
  for (int i = 0; i < N; i++) x[i] = (float)i; /* 0..10000 */
  x[5] = NAN;
  ls_hist h;
  assert_int_equal(ls_stats_hist(LS_DT_F32, x, N, NULL, 0, 0, 10, &h), LS_OK);
  assert_true(h.lo == 0 && h.hi == 10000);
  uint64_t tot = 0;
  for (int b = 0; b < 10; b++) tot += h.counts[b];
  assert_int_equal(tot, N - 1);
  assert_int_equal(h.counts[0], 999); /* 0..999 less the NaN */
  assert_int_equal(h.counts[9], 1001); /* 9000..10000: the max goes in the last bin */
  assert_int_equal(h.nonfinite, 1);
  ls_hist_free(&h);
  assert_int_equal(ls_stats_hist(LS_DT_F32, x, N, NULL, 100, 200, 4, &h), LS_OK);
  assert_int_equal(h.below, 99);
  assert_int_equal(h.above, N - 1 - 99 - 101);
  assert_int_equal(h.counts[0], 25);
  ls_hist_free(&h);
  assert_int_equal(ls_stats_hist(LS_DT_F32, x, N, NULL, 0, 0, 0, &h), LS_EINVAL);
  assert_int_equal(ls_stats_hist(LS_DT_F32, x, N, NULL, 5, 1, 3, &h), LS_EINVAL);
  float c[9] = {2, 2, 2, 2, 2, 2, 2, 2, 2};
  assert_int_equal(ls_stats_hist(LS_DT_F32, c, 9, NULL, 0, 0, 3, &h), LS_OK);
  assert_int_equal(h.counts[0] + h.counts[1] + h.counts[2], 9);
  ls_hist_free(&h);
  double q[3] = {0, 50, 100}, out[3];
  assert_int_equal(ls_stats_percentiles(LS_DT_F32, x, N, NULL, q, 3, out), LS_OK);
  assert_true(out[0] == 0 && out[2] == 10000);
  assert_true(fabs(out[1] - 5000.5) <= 10000.0 / 65536 * 2); /* numpy: 5000.5 without the NaN'd 5 */
  double bad = 101;
  assert_int_equal(ls_stats_percentiles(LS_DT_F32, x, N, NULL, &bad, 1, out), LS_EINVAL);
}

static void test_rows(void **state) {
  (void)state;
  enum { R = 50, C = 33 };
  static float m[R * C];
  for (int i = 0; i < R * C; i++) m[i] = (float)(urand() - 0.5);
  for (int r = 0; r < R; r++) m[r * C + 4] = 0;
  for (int c = 0; c < C; c++) { m[3 * C + c] = 0; m[7 * C + c] = 0.25f; m[9 * C + c] = 0; }
  m[11 * C + 2] = NAN;
  m[20 * C + 1] = 40;
  for (int p = 0; p < 3; p++) {
    if (ls_stats_simd_force(k_paths[p]) != LS_OK) continue;
    ls_rowstats rs;
    ls_stats tot, flat;
    assert_int_equal(ls_stats_rows(LS_DT_F32, m, R, C, &rs, &tot), LS_OK);
    assert_int_equal(ls_stats_f32(m, R * C, &flat), LS_OK);
    assert_int_equal(tot.nan, 1);
    assert_int_equal(tot.zeros, flat.zeros);
    assert_true(tot.min == flat.min && tot.max == flat.max);
    /* different chunking, so equal up to summation order */
    assert_true(fabs(tot.mean - flat.mean) < 1e-6 * flat.std && fabs(tot.std - flat.std) < 1e-6 * flat.std);
    assert_true(rs.row_absmax[3] == 0 && rs.row_absmax[9] == 0 && rs.row_absmax[7] == 0.25f);
    assert_true(rs.row_const[7] && rs.row_const[3] && !rs.row_const[11] && !rs.row_const[0]);
    assert_true(rs.col_absmax[4] == 0.25f && rs.col_absmax[1] == 40);
    double n20 = 0;
    for (int c = 0; c < C; c++) n20 += (double)m[20 * C + c] * m[20 * C + c];
    assert_true(fabs(rs.row_norm[20] - sqrt(n20)) < 1e-6 * sqrt(n20));
    /* The same matrix stored column-major (Fortran order) gives the same figures. */
    static float t[R * C];
    for (int r = 0; r < R; r++)
      for (int c = 0; c < C; c++) t[c * R + r] = m[r * C + c];
    ls_rowstats cs;
    ls_stats ctot;
    assert_int_equal(ls_stats_rows_colmajor(LS_DT_F32, t, R, C, &cs, &ctot), LS_OK);
    assert_true(ctot.nan == 1 && ctot.zeros == tot.zeros && ctot.min == tot.min && ctot.max == tot.max);
    assert_true(fabs(ctot.mean - tot.mean) < 1e-6 * tot.std && fabs(ctot.std - tot.std) < 1e-6 * tot.std);
    for (int r = 0; r < R; r++) {
      assert_true(cs.row_absmax[r] == rs.row_absmax[r]);
      assert_true(cs.row_const[r] == rs.row_const[r]);
      assert_true(fabs(cs.row_norm[r] - rs.row_norm[r]) <= 1e-6 * rs.row_norm[r]);
    }
    for (int c = 0; c < C; c++) assert_true(cs.col_absmax[c] == rs.col_absmax[c]);
    ls_rowstats_free(&cs);
    ls_rowstats_free(&rs);
  }
  /* Block quantizations never come column-major. */
  ls_rowstats q;
  assert_int_equal(ls_stats_rows_colmajor(LS_DT_Q8_0, m, 1, 32, &q, NULL), LS_EUNSUPPORTED);
  ls_stats_simd_force("auto");
}

static void test_diff(void **state) {
  (void)state;
  float a[1000], b[1000];
  for (int i = 0; i < 1000; i++) a[i] = b[i] = (float)(urand() + 0.5);
  ls_diffstats d;
  assert_int_equal(ls_stats_diff_f32(a, b, 1000, 0, 0, &d), LS_OK);
  assert_int_equal(d.mismatches, 0);
  assert_int_equal(d.first_mismatch, -1);
  assert_true(fabs(d.cosine - 1) < 1e-12);
  b[700] += 0.5f;
  b[900] = NAN;
  a[950] = b[950] = NAN;
  assert_int_equal(ls_stats_diff_f32(a, b, 1000, 1e-5, 1e-8, &d), LS_OK);
  assert_int_equal(d.mismatches, 2);
  assert_int_equal(d.first_mismatch, 700);
  assert_int_equal(d.max_abs_index, 700);
  assert_true(fabs(d.max_abs - 0.5) < 1e-6);
  /* A tolerance on b's scale: an element near 0 off by 1e-6 of the absmax (summation-order
   * noise) differs for numpy.isclose, not with stol 1e-4; 1e-3 of the absmax still does. */
  float x[4] = {4.0f, -2.0f, 1e-7f, 1.0f}, y[4] = {4.0f, -2.0f, 4.1e-6f, 1.0f};
  ls_tensor ta = {.name = "x", .dtype = LS_DT_F32, .ndim = 1, .shape = {4}, .nelem = 4, .nbytes = 16, .data = x};
  ls_tensor tb = ta;
  tb.data = y;
  ls_difftol numpy_tol = {1e-5, 1e-8, 0}, fp32_tol = {1e-5, 1e-8, 1e-4};
  assert_int_equal(ls_stats_diff_tol(&ta, &tb, &numpy_tol, &d, NULL), LS_OK);
  assert_int_equal(d.mismatches, 1);
  assert_int_equal(ls_stats_diff_tol(&ta, &tb, &fp32_tol, &d, NULL), LS_OK);
  assert_int_equal(d.mismatches, 0);
  assert_true(d.scale == 4.0);
  y[3] = 1.0f + 4e-3f;
  assert_int_equal(ls_stats_diff_tol(&ta, &tb, &fp32_tol, &d, NULL), LS_OK);
  assert_int_equal(d.mismatches, 1);
  assert_int_equal(d.first_mismatch, 3);
}

static void test_alloc(void **state) {
  (void)state;
  size_t n = 1 << 20;
  float *x = calloc(n, sizeof *x);
  ls_stats s;
  ls_alloc_fail_after(0);
  int rc = ls_stats_f32(x, n, &s);
  ls_alloc_fail_reset();
  assert_int_equal(rc, LS_ENOMEM);
  ls_rowstats rs;
  for (long k = 0; k < 6; k++) {
    ls_alloc_fail_after(k);
    rc = ls_stats_rows(LS_DT_F32, x, 1024, 1024, &rs, &s);
    ls_alloc_fail_reset();
    if (rc == LS_OK) ls_rowstats_free(&rs);
    else assert_int_equal(rc, LS_ENOMEM);
  }
  free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_paths_agree), cmocka_unit_test(test_edges), cmocka_unit_test(test_hist_percentiles),
    cmocka_unit_test(test_rows),        cmocka_unit_test(test_diff),  cmocka_unit_test(test_alloc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
