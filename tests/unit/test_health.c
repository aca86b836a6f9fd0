/* test_health.c: unit tests of core/health/health.h on run records written here, one run per
 * scenario, with series planted so the finding each rule must give (and its step) follows
 * from the rule's definition: the factor boundary of exploding (exactly 10x is not past it),
 * vanishing toward the input, a loss spike with the layer that moved first, ranks whose weight
 * norms drift apart, a dead child shadowing its parent, the layers x steps matrices (norms
 * summed over a layer's parameters), rows naming no module, and call sites merged across ranks and
 * modules for the editor (tests/cli/test_health.py runs the same rules on real training). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/health/health.h"

static char g_path[64];

typedef struct fixture {
  ls_rec *r;
  int64_t run;
} fixture;

/* A run with modules: 0 root, 1 l0, 2 l1, 3 l2, 4 blk (child of root), 5 blk.act (child of blk). */
static void run_new(fixture *f) {
  ls_diag d;
  ls_diag_init(&d);
  ls_rec_run_info info = {.kind = "watch", .threads = 1};
  assert_int_equal(ls_rec_run_begin(f->r, &info, &f->run, &d), LS_OK);
  static const char *const names[] = {"", "l0", "l1", "l2", "blk", "blk.act"};
  static const int parents[] = {-1, 0, 0, 0, 0, 4};
  for (int i = 0; i < 6; i++) {
    ls_rec_module m = {.idx = i, .name = names[i], .type = i == 5 ? "ReLU" : "Linear", .parent = parents[i],
                       .depth = i == 5 ? 2 : i > 0, .layer = -1, .calls = 1, .total_ns = -1, .self_ns = -1,
                       .flops = -1, .self_flops = -1, .weight_bytes = -1, .act_bytes = -1, .gflops = NAN,
                       .gbps = NAN, .intensity = NAN, .roof_frac = NAN};
    assert_int_equal(ls_rec_module_add(f->r, f->run, &m, &d), LS_OK);
  }
}

static void step(fixture *f, int64_t s, int rank, double loss) {
  ls_diag d;
  ls_diag_init(&d);
  ls_rec_step_row row = {.step = s, .rank = rank, .thread = 1, .loss = loss, .grad_norm = 1, .scale = NAN,
                         .sample_ns = -1};
  assert_int_equal(ls_rec_step_add(f->r, f->run, &row, &d), LS_OK);
}

static void param(fixture *f, int64_t s, int rank, int module, const char *t, const char *shape, double gn, double wn,
                  double un) {
  ls_diag d;
  ls_diag_init(&d);
  ls_rec_health_row h = {.module = module, .tensor = t, .shape = shape, .count = 4, .grad_norm = gn, .grad_rms = NAN,
                         .grad_absmax = NAN, .weight_norm = wn, .update_norm = un,
                         .update_ratio = wn > 0 ? un / wn : NAN, .mean = NAN, .std = NAN, .absmax = NAN, .zeros = NAN,
                         .dead = NAN, .units = -1, .calls = -1, .time_ns = -1};
  assert_int_equal(ls_rec_health_add(f->r, f->run, s, rank, 1, &h, &d), LS_OK);
}

static void output(fixture *f, int64_t s, int module, double dead) {
  ls_diag d;
  ls_diag_init(&d);
  ls_rec_health_row h = {.module = module, .tensor = "output", .count = 64, .grad_norm = NAN, .grad_rms = NAN,
                         .grad_absmax = NAN, .weight_norm = NAN, .update_norm = NAN, .update_ratio = NAN, .mean = 0,
                         .std = 1, .absmax = 1, .zeros = dead, .dead = dead, .units = 8, .calls = 1, .time_ns = 1};
  assert_int_equal(ls_rec_health_add(f->r, f->run, s, 0, 1, &h, &d), LS_OK);
}

static ls_health_report *analyze(fixture *f) {
  ls_diag d;
  ls_diag_init(&d);
  ls_health_report *h = NULL;
  assert_int_equal(ls_health_analyze(f->r, f->run, NULL, &h, &d), LS_OK);
  return h;
}

static int count(const ls_health_report *h, ls_health_kind k) {
  int n = 0;
  for (size_t i = 0; i < h->n_findings; i++) n += h->findings[i].kind == k;
  return n;
}

static const ls_health_finding *first(const ls_health_report *h, ls_health_kind k) {
  for (size_t i = 0; i < h->n_findings; i++)
    if (h->findings[i].kind == k) return &h->findings[i];
  return NULL;
}

static int setup(void **state) {
  static fixture f;
  snprintf(g_path, sizeof g_path, "/tmp/ls-test-health-XXXXXX");
  int fd = mkstemp(g_path);
  assert_true(fd >= 0);
  close(fd);
  unlink(g_path);
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_rec_open(&f.r, g_path, LS_REC_WRITE, &d), LS_OK);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  ls_rec_close(f->r);
  unlink(g_path);
  return 0;
}

/* l1's norm is 1 for 3 steps, then exactly 10 (not past 10x), then 10.5 (past 10x the median
 * of [1, 1, 1, 10], which is 1): one finding, at step 4. l0 grows x1.5 a step: 1.5^5 is 3.4x
 * the median of its history, far from 10x. */
static void test_exploding_boundary(void **state) {
  fixture *f = *state;
  run_new(f);
  const double l1[] = {1, 1, 1, 10, 10.5, 11};
  for (int s = 0; s < 6; s++) {
    step(f, s, 0, 1);
    param(f, s, 0, 1, "weight", "[2,2]", pow(1.5, s), 1, 0.01);
    param(f, s, 0, 2, "weight", "[2,2]", l1[s], 1, 0.01);
    param(f, s, 0, 3, "weight", "[2,2]", 1, 1, 0.01);
  }
  ls_health_report *h = analyze(f);
  assert_int_equal(count(h, LS_HEALTH_EXPLODING), 1);
  const ls_health_finding *x = first(h, LS_HEALTH_EXPLODING);
  assert_string_equal(x->name, "l1");
  assert_int_equal(x->step, 4);
  assert_true(fabs(x->value - 10.5) < 1e-12 && fabs(x->baseline - 1) < 1e-12);
  assert_non_null(strstr(x->message, "l1 from step 4"));
  assert_int_equal(h->n_steps, 6);
  assert_int_equal(h->n_layers, 3);
  ls_health_report_free(h);
}

/* l0's gradient falls to 1e-5 of l2's at step 3 (1e-2 before): vanishing at step 3. */
static void test_vanishing(void **state) {
  fixture *f = *state;
  run_new(f);
  for (int s = 0; s < 5; s++) {
    step(f, s, 0, 1);
    param(f, s, 0, 1, "weight", "[2,2]", s >= 3 ? 1e-5 : 1e-2, 1, 0.01);
    param(f, s, 0, 2, "weight", "[2,2]", 0.5, 1, 0.01);
    param(f, s, 0, 3, "weight", "[2,2]", 1, 1, 0.01);
  }
  ls_health_report *h = analyze(f);
  assert_int_equal(count(h, LS_HEALTH_VANISHING), 1);
  const ls_health_finding *x = first(h, LS_HEALTH_VANISHING);
  assert_string_equal(x->name, "l0");
  assert_int_equal(x->step, 3);
  assert_non_null(strstr(x->message, "l2's (1)"));
  ls_health_report_free(h);
}

/* The loss is 1 for 6 steps, then 5 at step 6 (5x its median): a spike at step 6. l2's
 * gradient norm tripled at step 5 (past 2x its median), the others stay: l2 moved first. A
 * layer's norm is the norm over its parameters: weight 3 and bias 4 give 5 in the matrix. */
static void test_loss_spike(void **state) {
  fixture *f = *state;
  run_new(f);
  for (int s = 0; s < 8; s++) {
    step(f, s, 0, s == 6 ? 5 : 1);
    param(f, s, 0, 1, "weight", "[2,2]", 3, 1, 0.01);
    param(f, s, 0, 1, "bias", "[2]", 4, 1, 0.01);
    param(f, s, 0, 3, "weight", "[2,2]", s >= 5 ? 3 : 1, 1, 0.01);
  }
  ls_health_report *h = analyze(f);
  assert_int_equal(count(h, LS_HEALTH_LOSS_SPIKE), 1);
  const ls_health_finding *x = first(h, LS_HEALTH_LOSS_SPIKE);
  assert_int_equal(x->step, 6);
  assert_true(fabs(x->value - 5) < 1e-12 && fabs(x->baseline - 1) < 1e-12);
  assert_non_null(strstr(x->message, "moved first in l2 (step 5, 3.0x)"));
  assert_null(strstr(x->message, "l0"));
  assert_true(fabs(h->layer_grad[0 * h->n_steps + 2] - 5) < 1e-12); /* l0 at step 2 */
  assert_true(fabs(h->loss[6] - 5) < 1e-12);
  ls_health_report_free(h);
}

/* Two ranks with the same weight norms, except l1.weight on rank 1 from step 2: rank drift
 * at step 2 naming l1.weight, once. The loss is the ranks' mean. */
static void test_rank_drift(void **state) {
  fixture *f = *state;
  run_new(f);
  for (int s = 0; s < 4; s++)
    for (int r = 0; r < 2; r++) {
      step(f, s, r, r ? 3 : 1);
      param(f, s, r, 1, "weight", "[2,2]", 1, 2, 0.01);
      param(f, s, r, 2, "weight", "[2,2]", 1, r && s >= 2 ? 2.01 : 2, 0.01);
      param(f, s, r, 3, "weight", "[2,2]", 1, 2, 0.01);
    }
  ls_health_report *h = analyze(f);
  assert_int_equal(h->n_ranks, 2);
  assert_int_equal(count(h, LS_HEALTH_RANK_DRIFT), 1);
  const ls_health_finding *x = first(h, LS_HEALTH_RANK_DRIFT);
  assert_string_equal(x->name, "l1.weight");
  assert_int_equal(x->step, 2);
  assert_int_equal(x->rank, 1);
  assert_true(fabs(h->loss[0] - 2) < 1e-12);
  ls_health_report_free(h);
}

/* blk and its child blk.act are both all dead from step 1: only blk.act is named. An update
 * ratio 10x the median of three matrices names l2.weight; a vector (bias) is not compared. */
static void test_dead_and_update(void **state) {
  fixture *f = *state;
  run_new(f);
  for (int s = 0; s < 3; s++) {
    step(f, s, 0, 1);
    output(f, s, 4, s >= 1 ? 1.0 : 0.25);
    output(f, s, 5, s >= 1 ? 1.0 : 0.25);
    output(f, s, 1, 0.49);
    param(f, s, 0, 1, "weight", "[2,2]", 1, 1, 0.010);
    param(f, s, 0, 2, "weight", "[2,2]", 1, 1, 0.012);
    param(f, s, 0, 3, "weight", "[2,2]", 1, 1, 0.110);
    param(f, s, 0, 3, "bias", "[2]", 1, 1, 0.9);
  }
  ls_health_report *h = analyze(f);
  assert_int_equal(count(h, LS_HEALTH_DEAD), 1);
  const ls_health_finding *x = first(h, LS_HEALTH_DEAD);
  assert_string_equal(x->name, "blk.act");
  assert_int_equal(x->step, 1);
  assert_non_null(strstr(x->message, "(ReLU)"));
  assert_int_equal(count(h, LS_HEALTH_UPDATE), 1);
  x = first(h, LS_HEALTH_UPDATE);
  assert_string_equal(x->name, "l2.weight");
  assert_int_equal(x->step, 0);
  assert_true(fabs(x->baseline - 0.012) < 1e-12);
  ls_health_report_free(h);
}

/* A run without samples: LS_ENOENT; a row naming no module of the run, or a step that has no
 * `steps` row, is left out of the matrices. */
static void test_bad_input(void **state) {
  fixture *f = *state;
  run_new(f);
  ls_diag d;
  ls_diag_init(&d);
  ls_health_report *h = NULL;
  assert_int_equal(ls_health_analyze(f->r, f->run, NULL, &h, &d), LS_ENOENT);
  assert_null(h);
  step(f, 0, 0, 1);
  param(f, 0, 0, 99, "weight", "[2,2]", 1, 1, 0.01); /* no such module: left out */
  param(f, 7, 0, 1, "weight", "[2,2]", 1, 1, 0.01);  /* a step without a steps row */
  output(f, 9, 5, 1.0);
  h = analyze(f);
  assert_int_equal(h->n_steps, 1);
  assert_int_equal(h->n_layers, 1);
  assert_true(isnan(h->layer_grad[0]));
  assert_true(isnan(h->out_dead[0]));
  ls_health_report_free(h);
}

/* Call sites: a call on two ranks is one site; two modules called from one line with the same
 * shapes are one site naming both; another file's and another line's rows are not returned. */
static void test_sources(void **state) {
  fixture *f = *state;
  run_new(f);
  ls_diag d;
  ls_diag_init(&d);
  const ls_rec_source_row rows[] = {
      {.rank = 0, .module = 1, .kind = "call", .file = "/w/a.py", .line = 7, .col = 4, .end_col = 14, .step = 3,
       .inputs = "[2, 4] f32", .outputs = "[2, 4]"},
      {.rank = 1, .module = 1, .kind = "call", .file = "/w/a.py", .line = 7, .col = 4, .end_col = 14, .step = 3,
       .inputs = "[2, 4] f32", .outputs = "[2, 4]"},
      {.rank = 0, .module = 2, .kind = "call", .file = "/w/a.py", .line = 7, .col = 4, .end_col = 14, .step = 3,
       .inputs = "[2, 4] f32", .outputs = "[2, 4]"},
      {.rank = 0, .module = 3, .kind = "call", .file = "/w/a.py", .line = 9, .col = -1, .end_col = -1, .step = 3,
       .inputs = "[2, 4] f32", .outputs = "[2, 1]"},
      {.rank = 0, .module = 3, .kind = "call", .file = "/w/b.py", .line = 7, .col = 0, .end_col = 3, .step = 3,
       .inputs = "[9] f32", .outputs = "[9]"},
      {.rank = 0, .module = 0, .kind = "forward", .file = "/w/a.py", .line = 7, .col = -1, .end_col = -1, .step = -1},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) assert_int_equal(ls_rec_source_put(f->r, f->run, &rows[i], &d), LS_OK);
  ls_health_site *v = NULL;
  size_t n = 0;
  assert_int_equal(ls_health_sources(f->r, "/w/a.py", 7, 7, &v, &n, &d), LS_OK);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].module, "l0, l1");
  assert_string_equal(v[0].type, "Linear");
  assert_int_equal(v[0].col, 4);
  assert_int_equal(v[0].end_col, 14);
  assert_string_equal(v[0].inputs, "[2, 4] f32");
  ls_free(v);
  assert_int_equal(ls_health_sources(f->r, "/w/a.py", 1, 100, &v, &n, &d), LS_OK);
  assert_int_equal(n, 2);
  assert_int_equal(v[1].line, 9);
  assert_int_equal(v[1].col, -1);
  assert_string_equal(v[1].outputs, "[2, 1]");
  ls_free(v);
  assert_int_equal(ls_health_sources(f->r, "/w/c.py", 1, 100, &v, &n, &d), LS_OK);
  assert_int_equal(n, 0);
  ls_free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exploding_boundary), cmocka_unit_test(test_vanishing),
      cmocka_unit_test(test_loss_spike),         cmocka_unit_test(test_rank_drift),
      cmocka_unit_test(test_dead_and_update),    cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_sources),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
