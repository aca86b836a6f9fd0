/* test_lsp_render.c: unit tests of lsp/render.c and lsp/analysis.c without a client: number
 * formatting against hand-computed strings, folding of per-layer names, byte spans -> LSP
 * ranges in UTF-16 and UTF-8 with CRLF and non-ASCII text (expected columns counted by hand
 * in the comments), Markdown escaping, and the analysis of a real config rendered as
 * diagnostics and hovers (the published Llama-2-7b parameter count, 6,738,415,616). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/fmt.h"
#include "core/base/errors.h"
#include "lsp/analysis.h"
#include "lsp/render.h"

static void test_numbers(void **st) {
  (void)st;
  char b[64];
  assert_string_equal(ls_fmt_count(6738415616.0, b, sizeof b), "6.74 B");
  assert_string_equal(ls_fmt_count(124439808.0, b, sizeof b), "124.44 M");
  assert_string_equal(ls_fmt_count(512.0, b, sizeof b), "512");
  assert_string_equal(ls_fmt_bytes(1ull << 30, b, sizeof b), "1.00 GiB");
  assert_string_equal(ls_fmt_bytes(524288, b, sizeof b), "512.00 KiB");
  assert_string_equal(ls_fmt_bytes(100, b, sizeof b), "100 B");
  assert_string_equal(ls_fmt_si(13476839424.0, "FLOP", b, sizeof b), "13.48 GFLOP");
  assert_string_equal(ls_fmt_grouped(6738415616, b, sizeof b), "6,738,415,616");
  assert_string_equal(ls_fmt_grouped(-1234, b, sizeof b), "-1,234");
  assert_string_equal(ls_fmt_grouped(INT64_MIN, b, sizeof b), "-9,223,372,036,854,775,808");
  assert_string_equal(ls_fmt_grouped(999, b, sizeof b), "999");
  char tiny[4];
  ls_fmt_grouped(123456, tiny, sizeof tiny); /* truncates, never overflows */
  assert_true(strlen(tiny) < sizeof tiny);
}

static void test_pattern(void **st) {
  (void)st;
  char b[160];
  lsp_render_pattern("model.layers.17.mlp.up_proj.weight", 17, -1, b, sizeof b);
  assert_string_equal(b, "model.layers.*.mlp.up_proj.weight");
  lsp_render_pattern("model.layers.1.block_sparse_moe.experts.1.w1.weight", 1, 1, b, sizeof b);
  assert_string_equal(b, "model.layers.*.block_sparse_moe.experts.*.w1.weight");
  lsp_render_pattern("model.layers.11.mlp", 1, -1, b, sizeof b); /* ".1." is not in ".11." */
  assert_string_equal(b, "model.layers.11.mlp");
  lsp_render_pattern("model.layers.3", 3, -1, b, sizeof b);
  assert_string_equal(b, "model.layers.*");
  lsp_render_pattern("lm_head.weight", -1, -1, b, sizeof b);
  assert_string_equal(b, "lm_head.weight");
}

static void expect_pos(json_t *p, int line, int ch) {
  assert_non_null(p);
  assert_int_equal(json_integer_value(json_object_get(p, "line")), line);
  assert_int_equal(json_integer_value(json_object_get(p, "character")), ch);
}

static void test_ranges(void **st) {
  (void)st;
  /* line 0: "a" CRLF; line 1: "ψ😀": 1  (ψ: 2 bytes / 1 UTF-16 unit; 😀: 4 bytes / 2 units) */
  const char *text = "a\r\n\"\xcf\x88\xf0\x9f\x98\x80\": 1";
  ls_text_index idx;
  assert_int_equal(ls_text_index_init(&idx, text, strlen(text)), LS_OK);
  size_t one = strlen(text) - 1; /* the value 1 */
  ls_json_span sp = {one, one + 1};
  json_t *r16 = lsp_render_range(&idx, sp, LS_POS_UTF16);
  /* columns before "1": quote 1 + ψ 1 + 😀 2 + quote 1 + colon 1 + space 1 = 7 UTF-16 units */
  expect_pos(json_object_get(r16, "start"), 1, 7);
  expect_pos(json_object_get(r16, "end"), 1, 8);
  json_t *r8 = lsp_render_range(&idx, sp, LS_POS_UTF8);
  /* the same in bytes: 1 + 2 + 4 + 1 + 1 + 1 = 10 */
  expect_pos(json_object_get(r8, "start"), 1, 10);
  /* end before start is clamped to an empty range */
  ls_json_span bad = {5, 2};
  json_t *rb = lsp_render_range(&idx, bad, LS_POS_UTF16);
  assert_true(json_equal(json_object_get(rb, "start"), json_object_get(rb, "end")));
  json_decref(r16);
  json_decref(r8);
  json_decref(rb);
  ls_text_index_deinit(&idx);
}

static void test_markdown(void **st) {
  (void)st;
  lsp_md b = {0};
  lsp_md_escaped(&b, "a_b*c`d");
  assert_string_equal(b.p, "a\\_b\\*c\\`d");
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  lsp_md_printf(&b, "|%s|", big); /* longer than the stack buffer of lsp_md_printf */
  assert_int_equal(b.n, strlen("a\\_b\\*c\\`d") + 2 + sizeof big - 1);
  json_t *mc = lsp_md_take(&b);
  assert_string_equal(json_string_value(json_object_get(mc, "kind")), "markdown");
  assert_null(b.p);
  json_decref(mc);
}

static const char *LLAMA =
    "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"hiden_size\": 4096,\n  \"hidden_size\": 4096,\n"
    "  \"intermediate_size\": 11008,\n  \"max_position_embeddings\": 4096,\n  \"model_type\": \"llama\",\n"
    "  \"num_attention_heads\": 32,\n  \"num_hidden_layers\": 32,\n  \"num_key_value_heads\": 32,\n"
    "  \"rms_norm_eps\": 1e-05,\n  \"tie_word_embeddings\": false,\n  \"torch_dtype\": \"bfloat16\",\n"
    "  \"vocab_size\": 32000\n}\n";

static void test_analysis(void **st) {
  (void)st;
  lsp_server s;
  memset(&s, 0, sizeof s);
  assert_int_equal(lsp_cache_new(&s.cache), LS_OK);
  lsp_doc doc;
  memset(&doc, 0, sizeof doc);
  doc.uri = "file:///t/config.json";
  doc.text = (char *)LLAMA;
  doc.len = strlen(LLAMA);
  doc.version = 3;
  doc.generation = 1;
  lsp_analysis *a = lsp_analysis_get(&s, &doc);
  assert_non_null(a);
  assert_true(a->cfg.is_model);
  assert_int_equal(a->version, 3);
  assert_true(a->cfg.have_fig);
  json_t *d = lsp_render_diagnostics(a, LS_POS_UTF16);
  assert_int_equal(json_array_size(d), 1);
  json_t *d0 = json_array_get(d, 0);
  assert_string_equal(json_string_value(json_object_get(d0, "code")), "LS003");
  assert_string_equal(json_string_value(json_object_get(d0, "source")), "layerscope");
  /* "hiden_size" with its quotes: line 2, columns 2..14 */
  expect_pos(json_object_get(json_object_get(d0, "range"), "start"), 2, 2);
  expect_pos(json_object_get(json_object_get(d0, "range"), "end"), 2, 14);
  json_decref(d);
  lsp_md b = {0};
  lsp_render_hover_summary(a, &b);
  assert_non_null(strstr(b.p, "6,738,415,616"));
  lsp_md_free(&b);
  int key = ls_model_value_index(a->cfg.model, "num_key_value_heads");
  assert_true(key >= 0);
  lsp_render_hover_key(a, key, &b);
  /* k_proj: [32 x 128, 4096] in each of 32 layers; KV cache 2 x 32 x 4096 x 2 B = 512 KiB */
  assert_non_null(strstr(b.p, "`model.layers.*.self_attn.k_proj.weight` | `[4096, 4096]` | x 32"));
  assert_non_null(strstr(b.p, "KV cache: 512.00 KiB per token"));
  lsp_md_free(&b);
  /* Same generation: the cached analysis is returned, not recomputed. */
  assert_ptr_equal(lsp_analysis_get(&s, &doc), a);
  doc.generation = 2;
  doc.version = 4;
  lsp_analysis *a2 = lsp_analysis_get(&s, &doc);
  assert_int_equal(a2->version, 4);
  lsp_cache_free(s.cache); /* the server's cache goes with the server */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numbers), cmocka_unit_test(test_pattern), cmocka_unit_test(test_ranges),
      cmocka_unit_test(test_markdown), cmocka_unit_test(test_analysis),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
