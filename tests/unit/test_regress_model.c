/* test_regress_model.c: regression tests for problems that fuzz/fuzz_model found in the
 * config -> module tree chain (core/model/). A hang is a finding too: the LSP rebuilds the
 * tree on every edit, so a build that is quadratic in a config value freezes the editor.
 *
 * fuzz_model timeout-4e289781 ({"model_type": "gpt2", "n_layer": 65536, ...}: over 10 s in
 * the fuzzer) reduced to its cause: module_push() in core/model/tree.c appends a child by
 * walking its parent's whole sibling list, so N children cost O(N^2). One Mixtral layer
 * with N experts puts N modules under one parent; a 200-byte config with 131,000 experts
 * took 10 s of CPU in a release build. The test compares CPU times at N and 8N: linear
 * work grows about 8x, the quadratic walk 64x; the threshold (24x) sits between, and each
 * time is the best of three to keep scheduler noise out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/base/diag.h"
#include "core/base/errors.h"
#include "core/base/json.h"
#include "core/model/model.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Best-of-three CPU seconds to build a one-layer Mixtral with n experts; also checks the
 * tree really has n expert modules under one parent. */
static double build_time(int n) {
  char text[512];
  snprintf(text, sizeof text,
           "{\"model_type\": \"mixtral\", \"hidden_size\": 64, \"num_attention_heads\": 8, "
           "\"num_key_value_heads\": 8, \"num_hidden_layers\": 1, \"num_local_experts\": %d, "
           "\"num_experts_per_tok\": 2, \"intermediate_size\": 64, \"vocab_size\": 100}", n);
  double best = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    ls_json_doc *doc = NULL;
    assert_int_equal(ls_json_parse(text, strlen(text), &doc), LS_OK);
    ls_model *m = NULL;
    ls_diag d;
    ls_diag_init(&d);
    double t0 = cpu_now();
    assert_int_equal(ls_model_build(doc, NULL, &m, &d), LS_OK);
    double t = cpu_now() - t0;
    if (t < best) best = t;
    assert_int_equal(m->n_errors, 0);
    char name[96];
    snprintf(name, sizeof name, "model.layers.0.block_sparse_moe.experts.%d", n - 1);
    assert_true(ls_model_module_find(m, name) >= 0);
    ls_model_free(m);
    ls_json_doc_free(doc);
  }
  return best;
}

static void test_many_children_linear(void **state) {
  (void)state;
  double small = build_time(4096), large = build_time(32768);
  double ratio = large / (small > 1e-4 ? small : 1e-4);
  printf("build: 4096 experts %.4f s, 32768 experts %.4f s, ratio %.1f (linear ~8, quadratic ~64)\n",
         small, large, ratio);
  assert_true(ratio < 24.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_many_children_linear),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
