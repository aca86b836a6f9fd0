/* test_debug.c: unit tests of core/debug: the expression language (arithmetic, precedence,
 * indexing and slicing, properties and functions checked against sums computed here in
 * double precision, errors naming the column), the one-line tensor format, breakpoint
 * verification (globs, config lines through the model's key -> modules map, conditions, hit
 * counts), and the stop decision on a real forward pass of a tiny random llama: function
 * breakpoints at the right modules in order, conditions on `layer`, and the NaN filter
 * stopping at a fabricated event with the exact count and first index. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/debug/debug.h"
#include "core/debug/target_engine.h"
#include "core/engine/forward.h"
#include "core/model/model.h"

/* ------------------------------------------------------------------ a fake scope */

static float g_x[2 * 3 * 4]; /* [2, 3, 4] = i * 0.5 - 3 */
static float g_y[2 * 3 * 4]; /* [2, 3, 4] = 1 */

static int fake_lookup(void *ud, const char *name, ls_dbg_value *out) {
  (void)ud;
  memset(out, 0, sizeof *out);
  if (strcmp(name, "layer") == 0) { out->kind = LS_DBG_V_NUM; out->num = 7; return 1; }
  float *p = strcmp(name, "output") == 0 ? g_x : strcmp(name, "model.layers.0.mlp") == 0 ? g_y : NULL;
  if (!p) return 0;
  out->kind = LS_DBG_V_TENSOR;
  out->t.dtype = LS_DT_F32;
  out->t.data = p;
  out->t.ndim = 3;
  out->t.shape[0] = 2; out->t.shape[1] = 3; out->t.shape[2] = 4;
  return 1;
}

static void setup_data(void) {
  for (int i = 0; i < 24; i++) { g_x[i] = (float)(i * 0.5 - 3); g_y[i] = 1; }
}

static double num(const char *src) {
  ls_dbg_scope sc = {.lookup = fake_lookup};
  ls_dbg_expr *e;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_dbg_expr_parse(src, &e, &d)) fail_msg("parse '%s': %s", src, d.msg);
  ls_dbg_value v;
  if (ls_dbg_expr_eval(e, &sc, &v, &d)) fail_msg("eval '%s': %s", src, d.msg);
  ls_dbg_expr_free(e);
  if (v.kind != LS_DBG_V_NUM) fail_msg("'%s' is not a number", src);
  return v.num;
}

static void eval_err(const char *src, int code, const char *want) {
  ls_dbg_scope sc = {.lookup = fake_lookup};
  ls_dbg_expr *e = NULL;
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_dbg_expr_parse(src, &e, &d);
  if (!rc) {
    ls_dbg_value v;
    rc = ls_dbg_expr_eval(e, &sc, &v, &d);
    if (!rc) ls_dbg_value_free(&v);
    ls_dbg_expr_free(e);
  }
  if (rc != code) fail_msg("'%s': code %d, want %d (%s)", src, rc, code, d.msg);
  if (!strstr(d.msg, want)) fail_msg("'%s': message '%s' lacks '%s'", src, d.msg, want);
}

static void test_expr_numbers(void **st) {
  (void)st;
  setup_data();
  assert_true(num("1 + 2 * 3") == 7);
  assert_true(num("(1 + 2) * 3") == 9);
  assert_true(num("-2 * -3") == 6);
  assert_true(num("7 % 4 + 10 / 4") == 5.5);
  assert_true(num("1 < 2 && 3 >= 3") == 1);
  assert_true(num("1 > 2 || !(0)") == 1);
  assert_true(num("layer >= 10") == 0);
  assert_true(num("1e4 > 9999.5") == 1);
  /* sums computed here in double */
  double sum = 0, sq = 0, amax = 0;
  for (int i = 0; i < 24; i++) { sum += g_x[i]; sq += (double)g_x[i] * g_x[i]; amax = fmax(amax, fabs(g_x[i])); }
  double mean = sum / 24, sd = sqrt(sq / 24 - mean * mean);
  assert_float_equal(num("output.mean"), mean, 1e-9);
  assert_float_equal(num("mean(output)"), mean, 1e-9);
  assert_float_equal(num("output.std"), sd, 1e-6);
  assert_float_equal(num("absmax output"), amax, 1e-9);
  assert_float_equal(num("norm(output)"), sqrt(sq), 1e-6);
  assert_float_equal(num("output.nan"), 0, 0);
  assert_float_equal(num("output.numel"), 24, 0);
  /* indexing: output[1, 2, 3] is element 1*12 + 2*4 + 3 = 23 */
  assert_float_equal(num("output[1, 2, 3]"), g_x[23], 0);
  assert_float_equal(num("output[-1, -1, -1]"), g_x[23], 0);
  assert_float_equal(num("output[0, :2, 1].numel"), 2, 0);
  assert_float_equal(num("output[0, :2, 1].max"), g_x[5], 0);
  assert_float_equal(num("output[:, 1:, 3:].sum"), g_x[7] + g_x[11] + g_x[19] + g_x[23], 1e-9);
  /* element-wise arithmetic and module paths */
  assert_float_equal(num("(output * 2 + model.layers.0.mlp).sum"), 2 * sum + 24, 1e-6);
  assert_float_equal(num("(output > 0).sum"), 17, 0); /* g_x > 0 for i >= 7 */
  assert_float_equal(num("cos(model.layers.0.mlp, model.layers.0.mlp * 3)"), 1, 1e-9);
  assert_float_equal(num("abs(-output).max"), amax, 0);
}

/* A model head for the text functions: 4 "tokens", logits = -h (so the test knows the
 * answer without the engine), token i at position p reads "t<i>@<p>", positions of a
 * 3-long sequence read "p<pos>". */
static int fake_token_text(void *ud, int64_t cols, int64_t pos, int64_t id, char *buf, size_t cap) {
  (void)ud;
  if (cols != 4) return 0;
  snprintf(buf, cap, "t%lld@%lld", (long long)id, (long long)pos);
  return 1;
}

static int fake_position_label(void *ud, int64_t n, int64_t pos, char *buf, size_t cap) {
  (void)ud;
  if (n != 3) return 0;
  snprintf(buf, cap, "\"p%lld\"", (long long)pos);
  return 1;
}

static int fake_lens(void *ud, const float *h, int64_t rows, int64_t cols, float **logits, int64_t *vocab,
                     ls_diag *d) {
  (void)ud;
  if (cols != 4) return ls_diag_set(d, LS_EINVAL, "hidden size 4, got %lld", (long long)cols);
  float *y = ls_calloc((size_t)(rows * 4), sizeof *y);
  for (int64_t i = 0; i < rows * 4; i++) y[i] = 0.0f - h[i]; /* 0 - 0 is +0, -(0) would print -0 */
  *logits = y;
  *vocab = 4;
  return LS_OK;
}

static char *eval_text(const ls_dbg_scope *sc, const char *src) {
  ls_dbg_expr *e;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_dbg_expr_parse(src, &e, &d)) fail_msg("parse '%s': %s", src, d.msg);
  ls_dbg_value v;
  if (ls_dbg_expr_eval(e, sc, &v, &d)) fail_msg("eval '%s': %s", src, d.msg);
  ls_dbg_expr_free(e);
  if (v.kind != LS_DBG_V_TEXT) fail_msg("'%s' is not text", src);
  return v.text;
}

static void test_expr_lens(void **st) {
  (void)st;
  setup_data();
  ls_dbg_scope sc = {.lookup = fake_lookup, .token_text = fake_token_text, .position_label = fake_position_label,
                     .lens = fake_lens};
  /* output [2, 3, 4] = -3 + 0.5 i: row r's logits are -(2r - 3 + 0.5 v), largest at v = 0 */
  char *t = eval_text(&sc, "lens output");
  assert_string_equal(t, "[0] \"p0\" -> t0@0 3, t1@0 2.5, t2@0 2, t3@0 1.5\n"
                         "[1] \"p1\" -> t0@1 1, t1@1 0.5, t2@1 0, t3@1 -0.5\n"
                         "[2] \"p2\" -> t0@2 -1, t1@2 -1.5, t2@2 -2, t3@2 -2.5\n"
                         "[0] \"p0\" -> t0@0 -3, t1@0 -3.5, t2@0 -4, t3@0 -4.5\n"
                         "[1] \"p1\" -> t0@1 -5, t1@1 -5.5, t2@1 -6, t3@1 -6.5\n"
                         "[2] \"p2\" -> t0@2 -7, t1@2 -7.5, t2@2 -8, t3@2 -8.5");
  ls_free(t);
  t = eval_text(&sc, "lens(output[1, 2], 2)"); /* [H]: one position, unlabelled */
  assert_string_equal(t, "[0] -> t0@-1 -7, t1@-1 -7.5");
  ls_free(t);
  /* topk names the token of a logit when the last dimension is the vocabulary */
  t = eval_text(&sc, "topk output 2");
  assert_string_equal(t, "8.5 at [1, 2, 3] t3@2\n8 at [1, 2, 2] t2@2");
  ls_free(t);
  /* errors: not a hidden state, no head */
  ls_dbg_expr *e;
  ls_diag d;
  ls_diag_init(&d);
  ls_dbg_value v;
  assert_int_equal(ls_dbg_expr_parse("lens output[0, 0, 0:2]", &e, &d), LS_OK);
  assert_int_equal(ls_dbg_expr_eval(e, &sc, &v, &d), LS_EINVAL);
  assert_string_equal(d.msg, "column 1: hidden size 4, got 2");
  ls_dbg_expr_free(e);
  eval_err("lens output", LS_EINVAL, "lens: this target has no model head"); /* a scope without one */
}

static void test_expr_text(void **st) {
  (void)st;
  setup_data();
  ls_dbg_scope sc = {.lookup = fake_lookup};
  ls_dbg_expr *e;
  ls_diag d;
  ls_diag_init(&d);
  ls_dbg_value v;
  assert_int_equal(ls_dbg_expr_parse("topk output 3", &e, &d), LS_OK);
  assert_int_equal(ls_dbg_expr_eval(e, &sc, &v, &d), LS_OK);
  assert_int_equal(v.kind, LS_DBG_V_TEXT);
  assert_string_equal(v.text, "8.5 at [1, 2, 3]\n8 at [1, 2, 2]\n7.5 at [1, 2, 1]");
  ls_dbg_value_free(&v);
  ls_dbg_expr_free(e);
  assert_int_equal(ls_dbg_expr_parse("diff output model.layers.0.mlp", &e, &d), LS_OK);
  assert_int_equal(ls_dbg_expr_eval(e, &sc, &v, &d), LS_OK);
  assert_non_null(strstr(v.text, "max_abs=7.5")); /* |-3 - 1| = 4, |8.5 - 1| = 7.5 */
  ls_dbg_value_free(&v);
  ls_dbg_expr_free(e);
  assert_int_equal(ls_dbg_expr_parse("hist(output, 4)", &e, &d), LS_OK);
  assert_int_equal(ls_dbg_expr_eval(e, &sc, &v, &d), LS_OK);
  /* 24 values evenly spread over [-3, 8.5]: 6 per bin */
  assert_non_null(strstr(v.text, " 6 ##############################"));
  ls_dbg_value_free(&v);
  ls_dbg_expr_free(e);
  assert_int_equal(ls_dbg_expr_parse("hist model.layers.0.mlp", &e, &d), LS_OK);
  assert_int_equal(ls_dbg_expr_eval(e, &sc, &v, &d), LS_OK);
  assert_string_equal(v.text, "all 24 finite values are 1");
  ls_dbg_value_free(&v);
  ls_dbg_expr_free(e);
  assert_int_equal(ls_dbg_expr_parse("output", &e, &d), LS_OK);
  assert_int_equal(ls_dbg_expr_eval(e, &sc, &v, &d), LS_OK);
  ls_stats s;
  assert_int_equal(ls_dbg_tensor_stats(NULL, &v.t, &s), LS_OK);
  char line[256];
  ls_dbg_tensor_format(&v.t, &s, line, sizeof line);
  assert_string_equal(line, "f32[2,3,4] μ=2.75 σ=3.46 [-3, 8.5] nan=0 inf=0 zeros=4.17%");
  ls_dbg_value_free(&v);
  ls_dbg_expr_free(e);
}

static void test_expr_errors(void **st) {
  (void)st;
  setup_data();
  eval_err("1 +", LS_EPARSE, "column 4: unexpected end");
  eval_err("output[0", LS_EPARSE, "column 9: expected ']'");
  eval_err("1 < 2 < 3", LS_EPARSE, "column 7: unexpected '<'");
  eval_err("foo + 1", LS_EINVAL, "column 1: unknown name 'foo'");
  eval_err("output.bogus", LS_EINVAL, "unknown property 'bogus'");
  eval_err("output[2, 0, 0]", LS_EINVAL, "column 8: index 2 out of range for a dimension of size 2");
  eval_err("output[0, 0, 0, 0]", LS_EINVAL, "4 indices for a tensor with 3 dimensions");
  eval_err("diff output", LS_EPARSE, "diff takes 2 arguments, got 1");
  eval_err("output + output[0]", LS_EINVAL, "shapes differ: [2,3,4] and [3,4]");
  eval_err("3.nan", LS_EPARSE, "unexpected character after a number");
  eval_err("(1).nan", LS_EINVAL, "'.nan' needs a tensor, got a number");
  eval_err("open(\"/etc/passwd\")", LS_EPARSE, "column 5: unexpected '('");
  char deep[400];
  memset(deep, '(', 300);
  deep[300] = 0;
  eval_err(deep, LS_EPARSE, "nested too deeply");
}

/* ------------------------------------------------------------------ the session on a model */

static const char *k_llama =
    "{\n"
    "  \"model_type\": \"llama\",\n"
    "  \"architectures\": [\"LlamaForCausalLM\"],\n"
    "  \"vocab_size\": 64,\n"
    "  \"hidden_size\": 32,\n"
    "  \"intermediate_size\": 48,\n"
    "  \"num_hidden_layers\": 2,\n"
    "  \"num_attention_heads\": 4,\n"
    "  \"num_key_value_heads\": 2,\n"
    "  \"max_position_embeddings\": 32,\n"
    "  \"bos_token_id\": 1\n"
    "}\n";

static ls_model *load(void) {
  ls_model *m = NULL;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_model_load(k_llama, strlen(k_llama), "test.json", NULL, &m, &d)) fail_msg("model: %s", d.msg);
  return m;
}

static void test_breakpoint_verification(void **st) {
  (void)st;
  ls_model *m = load();
  ls_dbg *g;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_new(&g, m, &d), LS_OK);
  ls_dbg_bp_spec f[] = {{"model.layers.*.mlp", 0, NULL, NULL}, {"*.self_attn", 0, "output.nan > 0", ">= 2"},
                        {"model.layers.3", 0, NULL, NULL},   {"model.layers.1", 0, "output[", NULL},
                        {"model.norm", 0, NULL, "-1"}};
  ls_dbg_bp_result r[5];
  assert_int_equal(ls_dbg_set_function_bps(g, f, 5, r), LS_OK);
  assert_true(r[0].verified);
  assert_string_equal(r[0].message, "matches 2 modules");
  assert_true(r[1].verified);
  assert_string_equal(r[1].message, "matches 2 modules");
  assert_false(r[2].verified);
  assert_non_null(strstr(r[2].message, "no module matches 'model.layers.3'"));
  assert_false(r[3].verified);
  assert_non_null(strstr(r[3].message, "condition: column 8"));
  assert_false(r[4].verified);
  assert_non_null(strstr(r[4].message, "hit condition"));
  assert_true(r[0].id != r[1].id);
  /* lines: 6 intermediate_size (every MLP), 8 num_attention_heads (every attention),
   * 12 bos_token_id (no module), 1 "{" (no key) */
  ls_dbg_bp_spec l[] = {{NULL, 6, NULL, NULL}, {NULL, 8, NULL, NULL}, {NULL, 12, NULL, NULL}, {NULL, 1, NULL, NULL}};
  assert_int_equal(ls_dbg_set_line_bps(g, l, 4, r), LS_OK);
  assert_true(r[0].verified);
  assert_non_null(strstr(r[0].message, "'intermediate_size' configures 2 modules, e.g. model.layers.0.mlp"));
  assert_true(r[1].verified);
  assert_non_null(strstr(r[1].message, "self_attn"));
  assert_false(r[2].verified);
  /* bos_token_id is not a llama key the model reads: no key, hence no module */
  assert_string_equal(r[2].message, "line 12 holds no config key");
  assert_false(r[3].verified);
  assert_string_equal(r[3].message, "line 1 holds no config key");
  /* frames: down_proj in mlp in layer 1 in layers in model in root */
  int mod = ls_model_module_find(m, "model.layers.1.mlp.down_proj"), fr[16];
  assert_true(mod > 0);
  int nf = ls_dbg_module_frames(g, mod, fr, 16);
  assert_string_equal(m->modules[fr[0]].name, "model.layers.1.mlp.down_proj");
  assert_string_equal(m->modules[fr[1]].name, "model.layers.1.mlp");
  assert_string_equal(m->modules[fr[2]].name, "model.layers.1");
  assert_string_equal(m->modules[fr[nf - 1]].name, "");
  /* a layer is located at the key that creates it: num_hidden_layers, line 7 */
  assert_int_equal(ls_dbg_module_line(g, ls_model_module_find(m, "model.layers.1")), 7);
  ls_dbg_free(g);
  ls_model_free(m);
}

typedef struct run_log {
  ls_dbg *g;
  char stops[16][96];
  int n;
} run_log;

static int hook(void *ud, const ls_fwd_event *fe) {
  run_log *rl = ud;
  ls_dbg_fwd_event de;
  ls_dbg_event_from_fwd(&de, fe);
  const ls_dbg_event *ev = &de.ev;
  ls_dbg_stop stop;
  if (!ls_dbg_check(rl->g, ev, &stop)) return LS_FWD_CONTINUE;
  if (rl->n < 16) snprintf(rl->stops[rl->n++], 96, "%s %s %d", ls_dbg_reason_name(stop.reason), ev->name, stop.n_hit);
  /* the scope at a stop: output is this module's output, earlier modules by path */
  ls_dbg_value v;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_dbg_eval(rl->g, ev, "output.numel == 6 * 32 && model.layers.0.input_layernorm.numel == 6 * 32", &v, &d))
    fail_msg("eval: %s", d.msg);
  assert_true(v.num == 1);
  return LS_FWD_CONTINUE; /* recorded; no need to block the pass */
}

static void test_stops_on_a_pass(void **st) {
  (void)st;
  ls_model *m = load();
  ls_diag d;
  ls_diag_init(&d);
  ls_engine *e;
  ls_engine_opts eo = {.seed = 3, .threads = 1};
  assert_int_equal(ls_engine_open(&e, m, &eo, &d), LS_OK);
  run_log rl = {0};
  assert_int_equal(ls_dbg_new(&rl.g, m, &d), LS_OK);
  ls_dbg_bp_spec f[] = {{"*.mlp", 0, "layer >= 1", NULL}, {"model.layers.*.self_attn", 0, NULL, "2"}};
  ls_dbg_bp_result r[2];
  assert_int_equal(ls_dbg_set_function_bps(rl.g, f, 2, r), LS_OK);
  ls_dbg_bp_spec l[] = {{NULL, 6, "layer == 0", NULL}};
  assert_int_equal(ls_dbg_set_line_bps(rl.g, l, 1, r + 1), LS_OK);
  ls_dbg_set_exceptions(rl.g, LS_DBG_EXC_NAN | LS_DBG_EXC_INF);
  static const int64_t toks[6] = {1, 5, 9, 63, 0, 17};
  ls_fwd *fw;
  ls_fwd_opts fo = {.hook = hook, .ud = &rl};
  assert_int_equal(ls_fwd_new(&fw, e, toks, 6, &fo, &d), LS_OK);
  assert_int_equal(ls_fwd_run(fw, &d), LS_OK);
  assert_int_equal(rl.n, 3);
  assert_string_equal(rl.stops[0], "breakpoint model.layers.0.mlp 1");
  assert_string_equal(rl.stops[1], "function breakpoint model.layers.1.self_attn 1");
  assert_string_equal(rl.stops[2], "function breakpoint model.layers.1.mlp 1");
  ls_fwd_free(fw);

  /* a fabricated exit event with NaN at flat 13 and 29 of a [1, 4, 8] output */
  float out[32];
  for (int i = 0; i < 32; i++) out[i] = (float)i;
  out[13] = NAN;
  out[29] = NAN;
  int mod = ls_model_module_find(m, "model.layers.1.mlp.down_proj");
  ls_fwd_event fe = {.phase = LS_FWD_EXIT, .module = mod, .mod = &m->modules[mod], .name = m->modules[mod].name,
                     .serial = 5, .n_outputs = 1};
  fe.outputs[0] = (ls_fwd_tensor){"output", LS_DT_F32, out, 3, {1, 4, 8, 0}};
  ls_dbg_fwd_event de;
  ls_dbg_event_from_fwd(&de, &fe);
  const ls_dbg_event ev = de.ev;
  ls_dbg_reset(rl.g);
  ls_dbg_stop stop;
  assert_int_equal(ls_dbg_check(rl.g, &ev, &stop), 1);
  assert_int_equal(stop.reason, LS_DBG_STOP_EXCEPTION);
  assert_string_equal(stop.filter, "nan");
  assert_string_equal(stop.description,
                      "NaN in model.layers.1.mlp.down_proj output: 2 of 32 values, first at [0, 1, 5]");
  /* each filter fires once per run */
  assert_int_equal(ls_dbg_check(rl.g, &ev, &stop), 0);
  /* Inf at flat 30 (after the NaNs are gone), then fp16 overflow: 70000 at 3, -1e5 at 20 */
  ls_dbg_set_exceptions(rl.g, LS_DBG_EXC_INF | LS_DBG_EXC_FP16);
  ls_dbg_reset(rl.g);
  out[13] = 1;
  out[29] = 2;
  out[30] = -INFINITY;
  assert_int_equal(ls_dbg_check(rl.g, &ev, &stop), 1);
  assert_string_equal(stop.filter, "inf");
  assert_string_equal(stop.description, "Inf in model.layers.1.mlp.down_proj output: 1 of 32 values, first at [0, 3, 6]");
  out[30] = 0;
  out[3] = 70000;
  out[20] = -1e5f;
  assert_int_equal(ls_dbg_check(rl.g, &ev, &stop), 1);
  assert_string_equal(stop.filter, "fp16");
  assert_string_equal(stop.description, "fp16 overflow in model.layers.1.mlp.down_proj output: 2 of 32 values beyond "
                                        "±65504 (absmax 1e+05), first at [0, 0, 3]");
  ls_dbg_free(rl.g);
  ls_engine_close(e);
  ls_model_free(m);
}

/* Random expressions from the language's own tokens: any of them parses or fails with a
 * message naming a column, and evaluates or fails likewise; nothing crashes (ASan build). */
static void test_expr_fuzz(void **st) {
  (void)st;
  setup_data();
  static const char *const TOK[] = {"output", "layer", "model.layers.0.mlp", "[", "]", "(", ")", ",", ":", "-",
                                    "+", "*", "/", "%", "<", ">=", "==", "&&", "||", "!", ".mean", ".nan",
                                    "0", "1", "-1", "2.5", "1e9", "stats", "hist", "topk", "diff", "cos", "abs",
                                    "norm", " ", "nan", "inf", ".", "#", "\"", "9999999999"};
  ls_dbg_scope sc = {.lookup = fake_lookup};
  uint64_t seed = 42;
  for (int it = 0; it < 20000; it++) {
    char src[256] = "";
    size_t len = 0;
    int n = 1 + (int)(seed % 9);
    for (int k = 0; k < n; k++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      const char *t = TOK[(seed >> 33) % (sizeof TOK / sizeof TOK[0])];
      len += (size_t)snprintf(src + len, sizeof src - len, "%s", t);
    }
    ls_dbg_expr *e;
    ls_diag d;
    ls_diag_init(&d);
    if (ls_dbg_expr_parse(src, &e, &d) != LS_OK) {
      if (!strstr(d.msg, "column ")) fail_msg("'%s': %s", src, d.msg);
      continue;
    }
    ls_dbg_value v;
    if (ls_dbg_expr_eval(e, &sc, &v, &d) == LS_OK) ls_dbg_value_free(&v);
    else if (!strstr(d.msg, "column ")) fail_msg("'%s': %s", src, d.msg);
    ls_dbg_expr_free(e);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expr_numbers),
      cmocka_unit_test(test_expr_text),
      cmocka_unit_test(test_expr_lens),
      cmocka_unit_test(test_expr_errors),
      cmocka_unit_test(test_expr_fuzz),
      cmocka_unit_test(test_breakpoint_verification),
      cmocka_unit_test(test_stops_on_a_pass),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
