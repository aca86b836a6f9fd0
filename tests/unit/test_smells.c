/* test_smells.c: unit tests of the smell rules API (core/model/smells.h) below the CLI: the rule
 * table and its lookups, the edit distance behind "did you mean", options (rules switched off,
 * severity overrides), documents without a model, findings on a half-typed config, and
 * out-of-memory behaviour. The per-rule behaviour on real files is covered by the golden
 * tests (tests/cli/test_check.py over tests/golden/smells/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/model/smells.h"

typedef struct run {
  ls_json_doc *doc;
  ls_model *m;
  ls_smell_report *r;
} run;

static run check(const char *text, const ls_smell_opts *opts) {
  run x = {0};
  assert_int_equal(ls_json_parse(text, strlen(text), &x.doc), LS_OK);
  if (ls_smell_is_model_config(x.doc)) {
    ls_diag d;
    ls_diag_init(&d);
    assert_int_equal(ls_model_build(x.doc, NULL, &x.m, &d), 0);
  }
  assert_int_equal(ls_smell_check(x.doc, x.m, opts, &x.r), LS_OK);
  return x;
}

static void done(run *x) {
  ls_smell_report_free(x->r);
  ls_model_free(x->m);
  ls_json_doc_free(x->doc);
}

static const ls_smell_finding *find(const run *x, ls_smell_id id) {
  for (size_t i = 0; i < x->r->n_findings; i++)
    if (x->r->findings[i].rule == id) return &x->r->findings[i];
  return NULL;
}

static size_t count(const run *x, ls_smell_id id) {
  size_t n = 0;
  for (size_t i = 0; i < x->r->n_findings; i++) n += x->r->findings[i].rule == id;
  return n;
}

static void test_rule_table(void **state) {
  (void)state;
  size_t n;
  const ls_smell_rule *r = ls_smell_rules(&n);
  assert_int_equal(n, LS_SMELL_COUNT);
  assert_true(n >= 27);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(r[i].id, (ls_smell_id)i);
    assert_int_equal(strlen(r[i].code), 5);
    assert_ptr_equal(ls_smell_rule_find(r[i].code), &r[i]);
    assert_ptr_equal(ls_smell_rule_find(r[i].name), &r[i]);
    for (size_t j = 0; j < i; j++) {
      assert_string_not_equal(r[i].code, r[j].code);
      assert_string_not_equal(r[i].name, r[j].name);
    }
  }
  assert_ptr_equal(ls_smell_rule_find("ls101"), ls_smell_rule_get(LS_SMELL_HIDDEN_HEADS));
  assert_null(ls_smell_rule_find("LS999"));
  char url[256];
  ls_smell_doc_url(ls_smell_rule_get(LS_SMELL_HEADS_KV), "https://x/rules.md", url, sizeof url);
  assert_string_equal(url, "https://x/rules.md#LS102");
  assert_string_equal(ls_smell_severity_name(LS_SMELL_INFO), "information");
}

static void test_edit_distance(void **state) {
  (void)state;
#define ED(a, b, max) ls_smell_edit_distance(a, strlen(a), b, strlen(b), max)
  assert_int_equal(ED("hidden_size", "hidden_size", 2), 0);
  assert_int_equal(ED("hiden_size", "hidden_size", 2), 1);      /* deletion */
  assert_int_equal(ED("hidden_szie", "hidden_size", 2), 1);     /* adjacent swap counts 1 */
  assert_int_equal(ED("num_heads", "num_head", 2), 1);
  assert_int_equal(ED("vocab", "vocab_size", 2), 3);            /* gave up past max */
  assert_int_equal(ED("", "ab", 2), 2);
  assert_int_equal(ED("kitten", "sitting", 3), 3);
#undef ED
}

static void test_typo_and_threshold(void **state) {
  (void)state;
  run x = check("{\"model_type\": \"llama\", \"num_attention_head\": 32, \"rope_thetta\": 5e5,"
                " \"my_custom_flag\": true}", NULL);
  assert_int_equal(count(&x, LS_SMELL_UNKNOWN_KEY), 3);
  const ls_smell_finding *f = find(&x, LS_SMELL_UNKNOWN_KEY);
  assert_string_equal(f->key, "num_attention_head");
  assert_int_equal(f->severity, LS_SMELL_WARNING);
  assert_int_equal(f->n_fixes, 1);
  assert_string_equal(f->fixes[0].edits[0].text, "\"num_attention_heads\"");
  /* A key far from every known key is only a hint, without a fix. */
  const ls_smell_finding *h = &x.r->findings[x.r->n_findings - 1];
  assert_string_equal(h->key, "my_custom_flag");
  assert_int_equal(h->severity, LS_SMELL_HINT);
  assert_int_equal(h->n_fixes, 0);
  done(&x);
}

/* Issue 17: quick fixes marked preferred must never corrupt a valid config. A transformers
 * model type layerscope does not model is not a typo of one it does (qwen3_next is not
 * qwen3); its keys are not typos either; a rename never targets a generation setting. */
static void test_no_false_corrections(void **state) {
  (void)state;
  run x = check("{\"model_type\": \"qwen3_next\", \"linear_num_value_heads\": 32, \"num_heads\": 8}", NULL);
  const ls_smell_finding *f = find(&x, LS_SMELL_UNKNOWN_MODEL_TYPE);
  assert_non_null(f);
  assert_int_equal(f->n_fixes, 0);
  assert_non_null(strstr(f->msg, "transformers model type that layerscope does not model"));
  assert_int_equal(count(&x, LS_SMELL_UNKNOWN_KEY), 0);
  done(&x);
  /* mamba2 is a transformers type too: no "Change to" */
  x = check("{\"model_type\": \"mamba2\", \"num_heads\": 128}", NULL);
  f = find(&x, LS_SMELL_UNKNOWN_MODEL_TYPE);
  assert_true(!f || f->n_fixes == 0);
  done(&x);
  /* a real typo of a family still gets its fix */
  x = check("{\"model_type\": \"lama\"}", NULL);
  f = find(&x, LS_SMELL_UNKNOWN_MODEL_TYPE);
  assert_non_null(f);
  assert_int_equal(f->n_fixes, 1);
  done(&x);
  /* num_heads is one edit from num_beams, a generation setting: never proposed */
  x = check("{\"model_type\": \"llama\", \"num_heads\": 8}", NULL);
  f = find(&x, LS_SMELL_UNKNOWN_KEY);
  assert_non_null(f);
  assert_int_equal(f->n_fixes, 0);
  assert_int_equal(f->severity, LS_SMELL_HINT);
  done(&x);
}

/* LS112 on an integer rope_scaling factor: DeepSeek's released configs write them (and its
 * config classes read them as floats), so not there; elsewhere still. */
static void test_rope_int_factor(void **state) {
  (void)state;
  const char *ds = "{\"model_type\": \"deepseek_v3\", \"num_hidden_layers\": 1, \"n_routed_experts\": 2,"
                   " \"num_experts_per_tok\": 1, \"hidden_size\": 64, \"num_attention_heads\": 2,"
                   " \"rope_scaling\": {\"type\": \"yarn\", \"factor\": 40, \"beta_fast\": 32, \"beta_slow\": 1,"
                   " \"mscale\": 1.0, \"mscale_all_dim\": 1.0, \"original_max_position_embeddings\": 4096}}";
  run x = check(ds, NULL);
  assert_int_equal(count(&x, LS_SMELL_ROPE_SCALING), 0);
  done(&x);
  x = check("{\"model_type\": \"llama\", \"rope_scaling\": {\"type\": \"yarn\", \"factor\": 40}}", NULL);
  assert_int_equal(count(&x, LS_SMELL_ROPE_SCALING), 1);
  done(&x);
}

/* LS115 names the family whose default it compares with (issue 17: granite's configs got
 * "unknown's upstream default" when granite was read as a generic llama). */
static void test_dropout_names_family(void **state) {
  (void)state;
  run x = check("{\"model_type\": \"granite\", \"attention_dropout\": 0.1}", NULL);
  const ls_smell_finding *f = find(&x, LS_SMELL_DROPOUT_INFERENCE);
  assert_non_null(f);
  assert_non_null(strstr(f->msg, "granite's upstream default is 0.0"));
  assert_int_equal(f->severity, LS_SMELL_INFO);
  done(&x);
  x = check("{\"model_type\": \"granite\", \"attention_dropout\": 0.0}", NULL);
  assert_null(find(&x, LS_SMELL_DROPOUT_INFERENCE));
  done(&x);
}

static void test_options(void **state) {
  (void)state;
  const char *t = "{\"model_type\": \"llama\", \"num_attention_heads\": 32, \"num_key_value_heads\": 7}";
  unsigned char off[LS_SMELL_COUNT] = {0}, sev[LS_SMELL_COUNT] = {0};
  run x = check(t, NULL);
  assert_non_null(find(&x, LS_SMELL_HEADS_KV));
  assert_int_equal(x.r->n_by_severity[LS_SMELL_ERROR], 1);
  done(&x);
  off[LS_SMELL_HEADS_KV] = 1;
  ls_smell_opts o = {off, NULL};
  x = check(t, &o);
  assert_null(find(&x, LS_SMELL_HEADS_KV));
  done(&x);
  sev[LS_SMELL_HEADS_KV] = LS_SMELL_HINT;
  ls_smell_opts o2 = {NULL, sev};
  x = check(t, &o2);
  assert_int_equal(find(&x, LS_SMELL_HEADS_KV)->severity, LS_SMELL_HINT);
  assert_int_equal(x.r->n_by_severity[LS_SMELL_ERROR], 0);
  done(&x);
}

static void test_documents_without_model(void **state) {
  (void)state;
  run x = check("[1, 2", NULL);
  assert_false(x.r->is_model_config);
  assert_non_null(find(&x, LS_SMELL_JSON_SYNTAX));
  assert_non_null(find(&x, LS_SMELL_NOT_A_CONFIG));
  done(&x);
  x = check("{\"name\": \"x\"}", NULL);
  assert_int_equal(x.r->n_findings, 1);
  assert_non_null(find(&x, LS_SMELL_NOT_A_CONFIG));
  done(&x);
  /* No doc at all and no model: an empty report, not a crash. */
  ls_smell_report *r = NULL;
  assert_int_equal(ls_smell_check(NULL, NULL, NULL, &r), LS_OK);
  assert_int_equal(r->n_findings, 0);
  ls_smell_report_free(r);
}

static void test_half_typed(void **state) {
  (void)state;
  /* Typed up to the middle of a key: the syntax error and the smells of what is there. */
  run x = check("{\"model_type\": \"mixtral\", \"num_local_experts\": 8, \"num_experts_per_tok\": 9,"
                " \"torch_dtype\": \"float16\", \"hidden_si", NULL);
  assert_true(x.r->is_model_config);
  assert_non_null(find(&x, LS_SMELL_JSON_SYNTAX));
  assert_non_null(find(&x, LS_SMELL_TOPK_EXPERTS));
  assert_non_null(find(&x, LS_SMELL_FP16_BF16_FAMILY));
  /* Findings are in document order and their spans lie inside the text. */
  for (size_t i = 0; i < x.r->n_findings; i++) {
    assert_true(x.r->findings[i].span.end <= x.doc->len);
    if (i) assert_true(x.r->findings[i - 1].span.start <= x.r->findings[i].span.start);
  }
  done(&x);
}

static void test_defaults_and_windows(void **state) {
  (void)state;
  /* Qwen2 with a window larger than the context but use_sliding_window false: inactive, so
   * no LS111; switched on, it is reported. */
  run x = check("{\"model_type\": \"qwen2\", \"sliding_window\": 131072, \"max_position_embeddings\": 32768,"
                " \"use_sliding_window\": false}", NULL);
  assert_null(find(&x, LS_SMELL_WINDOW_CONTEXT));
  done(&x);
  x = check("{\"model_type\": \"qwen2\", \"sliding_window\": 131072, \"max_position_embeddings\": 32768,"
            " \"use_sliding_window\": true}", NULL);
  assert_non_null(find(&x, LS_SMELL_WINDOW_CONTEXT));
  done(&x);
  /* Gemma's head_dim (256) does not depend on the hidden size: no LS101 for 2050 / 8. */
  x = check("{\"model_type\": \"gemma\", \"hidden_size\": 2050, \"num_attention_heads\": 8}", NULL);
  assert_null(find(&x, LS_SMELL_HIDDEN_HEADS));
  done(&x);
  /* Llama without head_dim: a warning (it builds); with head_dim explicit: nothing. */
  x = check("{\"model_type\": \"llama\", \"hidden_size\": 4100, \"num_attention_heads\": 32}", NULL);
  assert_int_equal(find(&x, LS_SMELL_HIDDEN_HEADS)->severity, LS_SMELL_WARNING);
  done(&x);
  x = check("{\"model_type\": \"llama\", \"hidden_size\": 4100, \"num_attention_heads\": 32, \"head_dim\": 128}", NULL);
  assert_null(find(&x, LS_SMELL_HIDDEN_HEADS));
  done(&x);
  /* A bad value is reported once (LS004), not again by the rules that read it. */
  x = check("{\"model_type\": \"llama\", \"num_attention_heads\": \"32\", \"num_key_value_heads\": 7}", NULL);
  assert_non_null(find(&x, LS_SMELL_WRONG_TYPE));
  assert_null(find(&x, LS_SMELL_HEADS_KV));
  done(&x);
}

static void test_eps_limits(void **state) {
  (void)state;
  /* 2^-25 rounds to 0 in fp16 (ties to even); just above it rounds to 2^-24. */
  run x = check("{\"model_type\": \"llama\", \"torch_dtype\": \"float16\", \"rms_norm_eps\": 2.9802322387695312e-08}", NULL);
  assert_int_equal(find(&x, LS_SMELL_EPS_FP16)->severity, LS_SMELL_WARNING);
  done(&x);
  x = check("{\"model_type\": \"llama\", \"torch_dtype\": \"float16\", \"rms_norm_eps\": 3.0e-08}", NULL);
  assert_int_equal(find(&x, LS_SMELL_EPS_FP16)->severity, LS_SMELL_HINT);
  done(&x);
  x = check("{\"model_type\": \"llama\", \"torch_dtype\": \"float16\", \"rms_norm_eps\": 1e-4}", NULL);
  assert_null(find(&x, LS_SMELL_EPS_FP16));
  done(&x);
}

static void test_oom(void **state) {
  (void)state;
  const char *t = "{\"model_type\": \"llama\", \"num_attention_heads\": 32, \"num_key_value_heads\": 7,"
                  " \"vocab_size\": 32001, \"eos_token_id\": [2, 40000], \"hidden_sise\": 1,"
                  " \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}, \"a\": 1, \"a\": 2";
  ls_json_doc *doc = NULL;
  assert_int_equal(ls_json_parse(t, strlen(t), &doc), LS_OK);
  ls_model *m = NULL;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_model_build(doc, NULL, &m, &d), 0);
  int ok = 0;
  for (long n = 0; n < 2000 && !ok; n++) {
    ls_smell_report *r = NULL;
    ls_alloc_fail_after(n);
    int rc = ls_smell_check(doc, m, NULL, &r);
    ls_alloc_fail_reset();
    if (rc == LS_OK) {
      assert_true(r->n_findings >= 8);
      ls_smell_report_free(r);
      ok = 1;
    } else {
      assert_int_equal(rc, LS_ENOMEM);
      assert_null(r);
    }
  }
  assert_true(ok);
  ls_model_free(m);
  ls_json_doc_free(doc);
}

/* ---- mutation robustness of the whole pipeline ------------------------------------------- */

static uint64_t g_rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) {
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return g_rng * 0x2545f4914f6cdd1dull;
}

static int valid_utf8(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  while (*u) {
    size_t k = *u < 0x80 ? 1 : (*u & 0xe0) == 0xc0 ? 2 : (*u & 0xf0) == 0xe0 ? 3 : (*u & 0xf8) == 0xf0 ? 4 : 0;
    if (!k) return 0;
    for (size_t i = 1; i < k; i++)
      if ((u[i] & 0xc0) != 0x80) return 0;
    u += k;
  }
  return 1;
}

static void check_report(const ls_smell_report *r, size_t len) {
  for (size_t i = 0; i < r->n_findings; i++) {
    const ls_smell_finding *f = &r->findings[i];
    assert_true(f->rule < LS_SMELL_COUNT);
    assert_true(f->severity >= LS_SMELL_ERROR && f->severity <= LS_SMELL_HINT);
    assert_true(f->span.start <= f->span.end && f->span.end <= len);
    if (!valid_utf8(f->msg)) print_message("bad UTF-8 in %s: %s\n", ls_smell_rule_get(f->rule)->code, f->msg);
    assert_true(f->msg[0] && valid_utf8(f->msg) && !strchr(f->msg, '\n'));
    if (f->key) assert_true(valid_utf8(f->key));
    for (size_t k = 0; k < f->n_related; k++)
      assert_true(f->related[k].span.end <= len && valid_utf8(f->related[k].msg));
    for (size_t k = 0; k < f->n_fixes; k++)
      for (size_t e = 0; e < f->fixes[k].n_edits; e++)
        assert_true(f->fixes[k].edits[e].span.start <= f->fixes[k].edits[e].span.end &&
                    f->fixes[k].edits[e].span.end <= len);
  }
}

/* Random edits of the real configs (and value swaps that reach the rules: zeros, negatives,
 * huge numbers, strings, nulls) through parse -> model -> rules. Never a crash (ASan build),
 * every span inside the text, every message valid UTF-8. */
static void test_mutations(void **state) {
  (void)state;
  const char *src = getenv("LS_SOURCE_DIR");
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/tests/golden/smells/real", src ? src : "../..");
  const char *seed = getenv("LS_SMELL_FUZZ_SEED"); /* to explore beyond the fixed seed */
  if (seed) g_rng = strtoull(seed, NULL, 0) | 1;
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  static const char *vals[] = {"0", "-1", "1e400", "99999999999999999999", "\"x\"", "null", "[]",
                               "{}", "3.5", "true", "7", "-0", "1e-30", "\"float16\"",
                               "{\"rope_type\": \"llama3\"}", "[1, 99999999]", "{\"type\": 1}"};
  struct dirent *e;
  size_t docs = 0;
  while ((e = readdir(dp))) {
    if (!strstr(e->d_name, ".config.json")) continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 16], mut[1 << 17];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    for (int it = 0; it < 300; it++) {
      size_t m = n;
      memcpy(mut, text, n);
      if (rnd() % 2) {
        /* Replace the value after a random ':' with one of vals. */
        size_t at = (size_t)(rnd() % m);
        while (at < m && mut[at] != ':') at++;
        size_t end = at + 1;
        while (end < m && mut[end] != ',' && mut[end] != '\n' && mut[end] != '}') end++;
        if (at < m) {
          const char *v = vals[rnd() % (sizeof vals / sizeof vals[0])];
          char tmp[1 << 17];
          size_t vl = strlen(v), tail = m - end;
          memcpy(tmp, mut + end, tail);
          mut[at + 1] = ' ';
          memcpy(mut + at + 2, v, vl);
          memcpy(mut + at + 2 + vl, tmp, tail);
          m = at + 2 + vl + tail;
        }
      } else {
        for (int k = 0; k < 3; k++) {
          size_t at = (size_t)(rnd() % (m + 1));
          switch (rnd() % 3) {
          case 0: if (at < m) { memmove(mut + at, mut + at + 1, m - at - 1); m--; } break;
          case 1: memmove(mut + at + 1, mut + at, m - at); mut[at] = "{}[],:\"0-e"[rnd() % 11]; m++; break;
          default: if (at < m) mut[at] = (char)rnd();
          }
        }
      }
      char *t = malloc(m ? m : 1); /* exact size: ASan sees any overread */
      memcpy(t, mut, m);
      ls_json_doc *doc = NULL;
      assert_int_equal(ls_json_parse(t, m, &doc), LS_OK);
      ls_model *model = NULL;
      ls_diag d;
      ls_diag_init(&d);
      if (ls_smell_is_model_config(doc)) {
        int rc = ls_model_build(doc, NULL, &model, &d);
        assert_true(rc == 0 || rc == LS_EINVAL);
      }
      ls_smell_report *r = NULL;
      assert_int_equal(ls_smell_check(doc, model, NULL, &r), LS_OK);
      check_report(r, m);
      ls_smell_report_free(r);
      ls_model_free(model);
      ls_json_doc_free(doc);
      free(t);
      docs++;
    }
  }
  closedir(dp);
  assert_true(docs >= 12 * 300);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rule_table),
    cmocka_unit_test(test_edit_distance),
    cmocka_unit_test(test_typo_and_threshold),
    cmocka_unit_test(test_no_false_corrections),
    cmocka_unit_test(test_rope_int_factor),
    cmocka_unit_test(test_dropout_names_family),
    cmocka_unit_test(test_options),
    cmocka_unit_test(test_documents_without_model),
    cmocka_unit_test(test_half_typed),
    cmocka_unit_test(test_defaults_and_windows),
    cmocka_unit_test(test_eps_limits),
    cmocka_unit_test(test_oom),
    cmocka_unit_test(test_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
