/* test_model.c: unit tests of core/model (config -> module tree -> figures).
 * Parameter counts are checked against the published figures in
 * tests/fixtures/configs/params.tsv (read at run time, so the numbers are the published
 * ones, not ours); tensor shapes against figures published with the upstream checkpoints;
 * FLOPs against Kaplan et al. 2020 (Table 1) and Chinchilla (Hoffmann et al. 2022,
 * appendix F); memory against bytes summed over the tensor list here. Bad input must give
 * an issue naming the key and value, never a crash; allocation failures must give
 * LS_ENOMEM without leaks (ASan build). */
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
#include "core/model/figures.h"
#include "core/model/model.h"

static char g_dir[1024];

static const char *fixture(const char *name) {
  static char path[1400];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  return path;
}

static ls_model *load_file(const char *name, const char *arch) {
  ls_model *m = NULL;
  ls_diag d;
  ls_diag_init(&d);
  ls_model_opts o = {arch, 0, 0, NULL, 0};
  int rc = ls_model_load_file(fixture(name), &o, &m, &d);
  if (rc) fprintf(stderr, "%s: %s\n", name, d.msg);
  assert_int_equal(rc, 0);
  return m;
}

static ls_model *load_text(const char *text, int expect_rc) {
  ls_model *m = NULL;
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_model_load(text, strlen(text), "t.json", NULL, &m, &d);
  assert_int_equal(rc, expect_rc);
  return m;
}

static ls_model *load_text_opts(const char *text, const char *path, int generic) {
  ls_model *m = NULL;
  ls_diag d;
  ls_diag_init(&d);
  ls_model_opts o = {NULL, 0, generic, path, 0};
  assert_int_equal(ls_model_load(text, strlen(text), "t.json", &o, &m, &d), 0);
  return m;
}

static int has_issue(const ls_model *m, const char *code, const char *needle) {
  for (size_t i = 0; i < m->n_issues; i++)
    if (strcmp(m->issues[i].code, code) == 0 && (!needle || strstr(m->issues[i].msg, needle))) return 1;
  return 0;
}

static void expect_shape(const ls_model *m, const char *name, int ndim, int64_t a, int64_t b) {
  int i = ls_model_tensor_find(m, name);
  if (i < 0) fprintf(stderr, "missing tensor %s\n", name);
  assert_true(i >= 0);
  assert_int_equal(m->tensors[i].ndim, ndim);
  assert_int_equal(m->tensors[i].shape[0], a);
  if (ndim > 1) assert_int_equal(m->tensors[i].shape[1], b);
}

/* ---------------------------------------------------------------- published counts */

static void test_fixture_counts(void **state) {
  (void)state;
  char path[1400];
  snprintf(path, sizeof path, "%s/params.tsv", g_dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[4096];
  int checked = 0;
  assert_non_null(fgets(line, sizeof line, f)); /* header */
  while (fgets(line, sizeof line, f)) {
    char *cols[6] = {0};
    char *s = line; /* split on every tab: empty fields stay empty (strtok would skip them) */
    for (int c = 0; c < 6 && s; c++) {
      cols[c] = s;
      s = strchr(s, '\t');
      if (s) *s++ = 0;
    }
    if (!cols[3] || !cols[3][0] || !cols[2]) continue; /* no published count */
    long long want = atoll(cols[3]);
    /* counted_as names the model class whose parameters were counted */
    const char *arch = strncmp(cols[2], "DistilBertModel", 15) == 0 ? "DistilBertModel" : NULL;
    ls_model *m = load_file(cols[0], arch);
    if (m->params != want) fprintf(stderr, "%s: got %lld, published %lld\n", cols[0], (long long)m->params, want);
    assert_int_equal(m->params, want);
    ls_model_free(m);
    checked++;
  }
  fclose(f);
  assert_int_equal(checked, 11);
}

/* Published in the upstream checkpoints' safetensors headers / model cards. */
static void test_published_shapes(void **state) {
  (void)state;
  ls_model *m = load_file("mistral-7b-v0.1.config.json", NULL);
  expect_shape(m, "model.layers.0.self_attn.k_proj.weight", 2, 1024, 4096);
  expect_shape(m, "model.layers.31.mlp.down_proj.weight", 2, 4096, 14336);
  expect_shape(m, "lm_head.weight", 2, 32000, 4096);
  assert_int_equal(m->sem.sliding_window, 4096);
  assert_int_equal(m->n_tensors, 2 + 32 * 9 + 1);
  ls_model_free(m);

  m = load_file("gpt2.config.json", NULL);
  expect_shape(m, "transformer.h.0.attn.c_attn.weight", 2, 768, 2304);
  expect_shape(m, "transformer.h.11.mlp.c_fc.weight", 2, 768, 3072);
  expect_shape(m, "transformer.h.11.mlp.c_proj.weight", 2, 3072, 768);
  expect_shape(m, "transformer.wpe.weight", 2, 1024, 768);
  int lm = ls_model_tensor_find(m, "lm_head.weight");
  assert_true(lm >= 0);
  assert_int_equal(m->tensors[lm].tied_to, ls_model_tensor_find(m, "transformer.wte.weight"));
  assert_string_equal(m->modules[m->tensors[0].module].type, "Embedding");
  ls_model_free(m);

  m = load_file("llama-2-7b-hf.config.json", NULL);
  expect_shape(m, "model.layers.0.mlp.gate_proj.weight", 2, 11008, 4096);
  expect_shape(m, "model.embed_tokens.weight", 2, 32000, 4096);
  expect_shape(m, "model.norm.weight", 1, 4096, 0);
  assert_string_equal(m->tensors[m->n_tensors - 1].name, "lm_head.weight");
  ls_model_free(m);

  m = load_file("mixtral-8x7b-v0.1.config.json", NULL);
  expect_shape(m, "model.layers.0.block_sparse_moe.gate.weight", 2, 8, 4096);
  expect_shape(m, "model.layers.0.block_sparse_moe.experts.7.w2.weight", 2, 4096, 14336);
  assert_int_equal(m->sem.n_experts, 8);
  assert_int_equal(m->sem.top_k, 2);
  ls_model_free(m);

  m = load_file("phi-3-mini-4k-merge.config.json", NULL);
  expect_shape(m, "model.layers.0.self_attn.qkv_proj.weight", 2, 9216, 3072);
  expect_shape(m, "model.layers.0.mlp.gate_up_proj.weight", 2, 16384, 3072);
  ls_model_free(m);

  m = load_file("qwen2.5-0.5b.config.json", NULL);
  expect_shape(m, "model.layers.0.self_attn.k_proj.bias", 1, 128, 0);
  assert_true(ls_model_tensor_find(m, "model.layers.0.self_attn.o_proj.bias") < 0);
  ls_model_free(m);

  m = load_file("gemma-2b-it.config.json", NULL);
  expect_shape(m, "model.layers.0.self_attn.q_proj.weight", 2, 2048, 2048);
  expect_shape(m, "model.layers.0.self_attn.k_proj.weight", 2, 256, 2048);
  assert_int_equal(m->sem.norm, LS_MODEL_NORM_RMS_PLUS1);
  ls_model_free(m);

  m = load_file("bert-base-uncased.config.json", NULL);
  expect_shape(m, "encoder.layer.0.attention.self.query.weight", 2, 768, 768);
  expect_shape(m, "embeddings.token_type_embeddings.weight", 2, 2, 768);
  expect_shape(m, "pooler.dense.weight", 2, 768, 768);
  ls_model_free(m);
}

/* ---------------------------------------------------------------- figures */

/* Kaplan et al. 2020, Table 1: N = 2 d_model n_layer (2 d_attn + d_ff), and the forward
 * pass costs 2N (+ 2 n_vocab d_model for the de-embedding). Chinchilla (Hoffmann et al.
 * 2022) appendix F counts attention per layer and token as 2*S*d_attn (QK^T logits) plus
 * 2*S*d_attn (reduction over values). */
static void test_flops_papers(void **state) {
  (void)state;
  ls_model *m = load_file("gpt2-medium.config.json", NULL);
  int64_t d = 1024, L = 24, ff = 4096, V = 50257, S = 1024;
  int64_t N = 2 * d * L * (2 * d + ff);
  ls_model_figures f;
  ls_model_figopts o = {1, S, LS_MODEL_WDTYPE_F32, LS_MODEL_ATTN_SDPA};
  assert_int_equal(ls_model_figures_compute(m, &o, &f, NULL), 0);
  assert_int_equal(f.flops_matmul_per_token, 2 * N + 2 * V * d);
  assert_int_equal(f.flops_attn_per_token, L * (2 * S * d + 2 * S * d));
  assert_int_equal(f.flops_train_per_token, 3 * f.flops_per_token);
  ls_model_free(m);

  /* Llama-2-7B, same convention with gated MLP (3 matrices) and untied head */
  m = load_file("llama-2-7b-hf.config.json", NULL);
  d = 4096; L = 32; ff = 11008; V = 32000; S = 4096;
  o.seq = S;
  assert_int_equal(ls_model_figures_compute(m, &o, &f, NULL), 0);
  assert_int_equal(f.flops_matmul_per_token, 2 * (L * (4 * d * d + 3 * d * ff) + V * d));
  assert_int_equal(f.flops_attn_per_token, 4 * L * S * d);
  ls_model_free(m);

  /* Mistral: the sliding window caps the keys each token attends to */
  m = load_file("mistral-7b-v0.1.config.json", NULL);
  o.seq = 32768;
  assert_int_equal(ls_model_figures_compute(m, &o, &f, NULL), 0);
  assert_int_equal(f.flops_attn_per_token, 4LL * 32 * 4096 * 4096);
  /* KV cache: 2 (K, V) x layers x kv_heads x head_dim x 2 bytes (bf16) */
  o.dtype = LS_MODEL_WDTYPE_BF16;
  o.seq = 1000;
  assert_int_equal(ls_model_figures_compute(m, &o, &f, NULL), 0);
  assert_int_equal(f.kv_bytes_per_token, 2 * 32 * 8 * 128 * 2);
  assert_int_equal(f.kv_bytes, 2 * 32 * 8 * 128 * 2 * 1000);
  ls_model_free(m);

  /* Mixtral: active FLOPs use 2 of 8 experts */
  m = load_file("mixtral-8x7b-v0.1.config.json", NULL);
  assert_int_equal(ls_model_figures_compute(m, NULL, &f, NULL), 0);
  int64_t attn = 2 * 4096 * 4096 + 2 * 1024 * 4096, expert = 3LL * 4096 * 14336, router = 8 * 4096;
  assert_int_equal(f.flops_matmul_per_token, 2 * (32 * (attn + 2 * expert + router) + 32000LL * 4096));
  assert_int_equal(f.params_active, 32 * (attn + 2 * expert + router + 2 * 4096) + 2 * 32000LL * 4096 + 4096);
  ls_model_free(m);
}

static void test_memory_sum(void **state) {
  (void)state;
  const char *names[] = {"gpt2.config.json", "mixtral-8x7b-v0.1.config.json", "bert-base-uncased.config.json"};
  for (size_t k = 0; k < 3; k++) {
    ls_model *m = load_file(names[k], NULL);
    ls_model_figures f;
    assert_int_equal(ls_model_figures_compute(m, NULL, &f, NULL), 0);
    uint64_t n = 0, q8 = 0, q4 = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
      if (m->tensors[i].tied_to >= 0) continue;
      uint64_t e = (uint64_t)m->tensors[i].numel;
      n += e;
      q8 += (e + 31) / 32 * 34; /* GGUF Q8_0: 32 int8 + fp16 scale */
      q4 += (e + 31) / 32 * 18; /* GGUF Q4_0: 16 bytes of nibbles + fp16 scale */
    }
    assert_int_equal(n, (uint64_t)m->params);
    assert_int_equal(f.weight_bytes[LS_MODEL_WDTYPE_F32], 4 * n);
    assert_int_equal(f.weight_bytes[LS_MODEL_WDTYPE_BF16], 2 * n);
    assert_int_equal(f.weight_bytes[LS_MODEL_WDTYPE_INT8], n);
    assert_int_equal(f.weight_bytes[LS_MODEL_WDTYPE_INT4], (n + 1) / 2);
    assert_int_equal(f.weight_bytes[LS_MODEL_WDTYPE_Q8_0], q8);
    assert_int_equal(f.weight_bytes[LS_MODEL_WDTYPE_Q4_0], q4);
    assert_int_equal(f.train_weights + f.train_grads + f.train_optimizer, 16 * n);
    ls_model_free(m);
  }
}

/* Korthikanti et al. 2022, eq. (1): sbh(34 + 5as/h) bytes per layer for GPT (4h MLP) with
 * the eager attention kernel, which stores the S x S probabilities; sdpa (the default since
 * issue 17) and flash keep a float32 log-sum-exp per head and token instead: sbh 34 + 4asb. */
static void test_activation_formula(void **state) {
  (void)state;
  ls_model *m = load_file("gpt2.config.json", NULL);
  ls_model_figures f;
  ls_model_figopts o = {4, 1024, LS_MODEL_WDTYPE_BF16, LS_MODEL_ATTN_EAGER};
  assert_int_equal(ls_model_figures_compute(m, &o, &f, NULL), 0);
  uint64_t s = 1024, b = 4, h = 768, a = 12, L = 12;
  uint64_t per_layer = s * b * h * 34 + 5 * a * s * s * b;
  assert_int_equal(f.train_activations, L * per_layer);
  assert_int_equal(f.train_activations_ckpt, 2 * s * b * h * L + per_layer);
  for (int k = 0; k < 2; k++) {
    o.attn = k ? LS_MODEL_ATTN_FLASH : LS_MODEL_ATTN_SDPA;
    assert_int_equal(ls_model_figures_compute(m, &o, &f, NULL), 0);
    per_layer = s * b * h * 34 + 4 * a * s * b;
    assert_int_equal(f.train_activations, L * per_layer);
  }
  ls_model_attn_impl ai;
  assert_int_equal(ls_model_attn_impl_parse("flash_attention_2", &ai), 0);
  assert_int_equal(ai, LS_MODEL_ATTN_FLASH);
  assert_int_not_equal(ls_model_attn_impl_parse("xformers", &ai), 0);
  ls_model_free(m);
}

/* ---------------------------------------------------------------- keys <-> tensors */

static void test_key_relations(void **state) {
  (void)state;
  ls_model *m = load_file("mistral-7b-v0.1.config.json", NULL);
  int kv = ls_model_value_index(m, "num_key_value_heads");
  assert_true(kv >= 0);
  int idx[128];
  int64_t p = 0;
  size_t n = ls_model_key_tensors(m, kv, idx, 128, &p);
  assert_int_equal(n, 64); /* k_proj and v_proj of 32 layers */
  for (size_t i = 0; i < n; i++) {
    const char *nm = m->tensors[idx[i]].name;
    assert_true(strstr(nm, "k_proj.weight") || strstr(nm, "v_proj.weight"));
  }
  assert_int_equal(p, 64LL * 1024 * 4096);
  /* intermediate_size configures every MLP (not also their projections) */
  int is = ls_model_value_index(m, "intermediate_size");
  n = ls_model_key_modules(m, is, idx, 128);
  assert_int_equal(n, 32);
  for (size_t i = 0; i < n; i++) assert_int_equal(m->modules[idx[i]].kind, LS_MODEL_KIND_MLP);
  /* num_attention_heads: every attention module */
  n = ls_model_key_modules(m, ls_model_value_index(m, "num_attention_heads"), idx, 128);
  assert_int_equal(n, 32);
  assert_string_equal(m->modules[idx[3]].name, "model.layers.3.self_attn");
  /* a config line for every frame: a layer sits at num_hidden_layers, an expert-free MLP
   * projection at one of its shaping keys */
  int layer3 = ls_model_module_find(m, "model.layers.3");
  assert_int_equal(ls_model_module_def_key(m, layer3), ls_model_value_index(m, "num_hidden_layers"));
  int head = ls_model_module_find(m, "lm_head");
  assert_true(ls_model_keyset_has(&m->modules[head].shape_keys, ls_model_value_index(m, "vocab_size")));
  assert_false(ls_model_keyset_has(&m->modules[head].shape_keys, kv));
  /* spans: the value span of hidden_size covers "4096" in the file */
  const ls_model_value *v = ls_model_value_get(m, "hidden_size");
  assert_true(v->present);
  assert_memory_equal(m->doc->text + v->value_span.start, "4096", 4);
  assert_int_equal(ls_model_value_at(m, v->key_span.start + 2), ls_model_value_index(m, "hidden_size"));
  /* defaulted values say so */
  const ls_model_value *hd = ls_model_value_get(m, "head_dim");
  assert_false(hd->present);
  assert_int_equal(hd->i, 128);
  ls_model_free(m);

  /* a legacy spelling is read and reported as written */
  m = load_file("gpt2.config.json", NULL);
  v = ls_model_value_get(m, "hidden_size");
  assert_non_null(v);
  assert_string_equal(v->info->name, "n_embd");
  assert_string_equal(v->spelling, "n_embd");
  assert_int_equal(ls_model_value_by_role(m, LS_MODEL_ROLE_N_HEADS)->i, 12);
  const ls_model_value *inner = ls_model_value_get(m, "n_inner");
  assert_false(inner->present);
  assert_int_equal(inner->i, 3072);
  ls_model_free(m);
}

/* ---------------------------------------------------------------- recognition */

static void test_recognition(void **state) {
  (void)state;
  /* no model_type: recognised from architectures */
  ls_model *m = load_text("{\"architectures\": [\"Qwen2MoeForCausalLM\"], \"num_hidden_layers\": 2,"
                          "\"num_experts\": 4, \"vocab_size\": 100}", 0);
  assert_int_equal(m->family, LS_MODEL_FAMILY_QWEN2_MOE);
  assert_int_equal(m->sem.n_experts, 4);
  ls_model_free(m);
  /* unknown type: no tree and no figures (issue 17: a confident llama reading of a type
   * layerscope does not model was wrong); the generic reading only on request, labelled */
  const char *frob = "{\"model_type\": \"frobnicator\", \"hidden_size\": 64, \"num_attention_heads\": 4,"
                     "\"num_hidden_layers\": 2, \"intermediate_size\": 128, \"vocab_size\": 1000}";
  m = load_text(frob, 0);
  assert_int_equal(m->family, LS_MODEL_FAMILY_UNKNOWN);
  assert_int_equal(m->reading, LS_MODEL_READING_NONE);
  assert_int_equal(m->n_modules, 0);
  assert_int_equal(m->params, 0);
  assert_true(has_issue(m, "unknown-model-type", "frobnicator"));
  assert_non_null(ls_model_no_tree_reason(m));
  assert_non_null(strstr(ls_model_no_tree_reason(m), "supported: gpt2"));
  ls_model_figures nofig;
  assert_int_not_equal(ls_model_figures_compute(m, NULL, &nofig, NULL), 0);
  ls_model_free(m);
  m = load_text_opts(frob, NULL, 1);
  assert_int_equal(m->reading, LS_MODEL_READING_GENERIC);
  assert_non_null(strstr(m->reading_note, "generic"));
  assert_int_equal(m->params, 1000 * 64 * 2 + 2 * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64);
  ls_model_free(m);
  /* a transformers type layerscope does not model is named as such, never guessed */
  m = load_text("{\"model_type\": \"qwen3_next\", \"architectures\": [\"Qwen3NextForCausalLM\"]}", 0);
  assert_int_equal(m->reading, LS_MODEL_READING_NONE);
  assert_non_null(strstr(m->reading_note, "is a transformers model type"));
  ls_model_free(m);
  assert_true(ls_model_type_is_upstream("qwen3_next"));
  assert_false(ls_model_type_is_upstream("frobnicator"));
  /* key sets are 128-bit: every family's keys and the common ones must fit, or the key ->
   * tensor relation would silently lose keys */
  size_t nc = 0;
  ls_model_common_keys(&nc);
  for (int f = 1; f < LS_MODEL_FAMILY_COUNT; f++) {
    size_t nk = 0;
    ls_model_family_keys((ls_model_family)f, &nk);
    if (nk + nc > 128) fprintf(stderr, "%s: %zu keys\n", ls_model_family_name((ls_model_family)f), nk + nc);
    assert_true(nk + nc <= 128);
  }
  /* a type layerscope does not model has no keys of its own (issue 17: llama's were offered);
   * the PretrainedConfig keys are still found */
  size_t nu = 1;
  assert_null(ls_model_family_keys(LS_MODEL_FAMILY_UNKNOWN, &nu));
  assert_int_equal(nu, 0);
  assert_null(ls_model_family_key_find(LS_MODEL_FAMILY_UNKNOWN, "hidden_size"));
  assert_non_null(ls_model_family_key_find(LS_MODEL_FAMILY_UNKNOWN, "torch_dtype"));
  /* every family layerscope models is a transformers type */
  for (int f = 1; f < LS_MODEL_FAMILY_COUNT; f++)
    assert_true(ls_model_type_is_upstream(ls_model_family_name((ls_model_family)f)));
  /* head_dim when a config leaves it out: Qwen3Config's default is 128; Qwen3MoeConfig has no
   * such key and Qwen3MoeAttention falls back to hidden_size // num_attention_heads (issue 17:
   * layerscope used 128 for both) */
  m = load_text("{\"model_type\": \"qwen3\", \"hidden_size\": 256, \"num_attention_heads\": 8,"
                " \"num_key_value_heads\": 2, \"num_hidden_layers\": 1, \"intermediate_size\": 64,"
                " \"vocab_size\": 100}", 0);
  expect_shape(m, "model.layers.0.self_attn.q_proj.weight", 2, 8 * 128, 256);
  ls_model_free(m);
  m = load_text("{\"model_type\": \"qwen3_moe\", \"hidden_size\": 256, \"num_attention_heads\": 8,"
                " \"num_key_value_heads\": 2, \"num_hidden_layers\": 1, \"intermediate_size\": 64,"
                " \"vocab_size\": 100, \"num_experts\": 2, \"num_experts_per_tok\": 1,"
                " \"moe_intermediate_size\": 32}", 0);
  expect_shape(m, "model.layers.0.self_attn.q_proj.weight", 2, 8 * 32, 256);
  expect_shape(m, "model.layers.0.self_attn.k_proj.weight", 2, 2 * 32, 256);
  expect_shape(m, "model.layers.0.self_attn.q_norm.weight", 1, 32, 0);
  ls_model_free(m);
  /* SmolLM3 (issue 17): with use_sliding_window, the layers layer_types marks slide; without
   * layer_types, the NoPE layers do (SmolLM3Config.__post_init__): no_rope_layers' zeros, or
   * every no_rope_layer_interval-th layer. head_dim is hidden / heads (no head_dim key). */
  const char *sm3 = "{\"model_type\": \"smollm3\", \"hidden_size\": 64, \"num_attention_heads\": 4,"
                    " \"num_key_value_heads\": 2, \"num_hidden_layers\": 4, \"intermediate_size\": 96,"
                    " \"vocab_size\": 100, \"use_sliding_window\": true, \"sliding_window\": 8%s}";
  const char *sm3_cases[][2] = {
      {", \"no_rope_layers\": [1, 0, 1, 1]", "0800"},
      {", \"no_rope_layer_interval\": 2", "0808"},
      {"", "0008"},
      {", \"no_rope_layers\": [1, 0, 1, 1], \"layer_types\": [\"sliding_attention\", \"full_attention\","
       " \"full_attention\", \"full_attention\"]", "8000"},
  };
  for (size_t c = 0; c < sizeof sm3_cases / sizeof *sm3_cases; c++) {
    char text[512], name[64];
    snprintf(text, sizeof text, sm3, sm3_cases[c][0]);
    m = load_text(text, 0);
    assert_int_equal(m->family, LS_MODEL_FAMILY_SMOLLM3);
    expect_shape(m, "model.layers.0.self_attn.k_proj.weight", 2, 2 * 16, 64);
    for (int l = 0; l < 4; l++) {
      snprintf(name, sizeof name, "model.layers.%d.self_attn", l);
      int a = ls_model_module_find(m, name);
      assert_true(a >= 0);
      assert_int_equal(m->modules[a].attn_window, sm3_cases[c][1][l] == '8' ? 8 : 0);
    }
    ls_model_free(m);
  }
  /* without use_sliding_window no layer slides */
  m = load_text("{\"model_type\": \"smollm3\", \"num_hidden_layers\": 4, \"sliding_window\": 8}", 0);
  for (int l = 0; l < 4; l++) {
    char name[64];
    snprintf(name, sizeof name, "model.layers.%d.self_attn", l);
    assert_int_equal(m->modules[ls_model_module_find(m, name)].attn_window, 0);
  }
  ls_model_free(m);
  /* Gemma 3: keys of the nested text_config are read (issue 17: it was ignored, and the
   * defaults of Llama 2 7B were shown); the innermost key is the one at an offset */
  const char *g3 = "{\"model_type\": \"gemma3\", \"text_config\": {\"hidden_size\": 64, \"intermediate_size\": 96,"
                   " \"num_hidden_layers\": 7, \"vocab_size\": 100, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
                   " \"head_dim\": 16, \"sliding_window\": 4},"
                   " \"vision_config\": {\"hidden_size\": 32, \"intermediate_size\": 40, \"num_hidden_layers\": 1,"
                   " \"num_attention_heads\": 2, \"image_size\": 28, \"patch_size\": 14, \"vision_use_head\": false}}";
  m = load_text(g3, 0);
  assert_int_equal(m->family, LS_MODEL_FAMILY_GEMMA3);
  assert_int_equal(m->sem.hidden, 64);
  expect_shape(m, "language_model.model.layers.6.mlp.up_proj.weight", 2, 96, 64);
  expect_shape(m, "language_model.model.layers.0.self_attn.q_proj.weight", 2, 32, 64);
  expect_shape(m, "multi_modal_projector.mm_input_projection_weight", 2, 32, 64);
  expect_shape(m, "vision_tower.vision_model.embeddings.position_embedding.weight", 2, 4, 32);
  int hs = ls_model_value_index(m, "text_config.hidden_size");
  assert_true(hs >= 0);
  assert_int_equal(ls_model_value_at(m, m->values[hs].key_span.start + 1), hs);
  /* hidden_size shapes the language model's tensors through the derived plain name */
  assert_true(ls_model_key_tensors(m, hs, NULL, 0, NULL) > 7 * 4);
  /* five local layers to one global: layer 5 is global */
  int a5 = ls_model_module_find(m, "language_model.model.layers.5.self_attn");
  int a4 = ls_model_module_find(m, "language_model.model.layers.4.self_attn");
  assert_int_equal(m->modules[a5].attn_window, 0);
  assert_int_equal(m->modules[a4].attn_window, 4);
  ls_model_free(m);
  /* a legacy config without model_type (roberta-base's, transformers 2.x): by the model's
   * name in its path as AutoConfig does (roberta before bert), else by its keys */
  const char *legacy = "{\"attention_probs_dropout_prob\": 0.1, \"hidden_act\": \"gelu\", "
                       "\"hidden_dropout_prob\": 0.1, \"hidden_size\": 768, \"initializer_range\": 0.02, "
                       "\"intermediate_size\": 3072, \"layer_norm_eps\": 1e-05, \"max_position_embeddings\": 514, "
                       "\"num_attention_heads\": 12, \"num_hidden_layers\": 12, \"type_vocab_size\": 1, "
                       "\"vocab_size\": 50265}";
  m = load_text_opts(legacy, "/models/roberta-base/config.json", 0);
  assert_int_equal(m->family, LS_MODEL_FAMILY_ROBERTA);
  assert_int_equal(m->reading, LS_MODEL_READING_INFERRED);
  assert_non_null(strstr(m->reading_note, "roberta-base"));
  assert_int_equal(m->params, 124645632); /* RobertaModel with its pooler */
  ls_model_free(m);
  m = load_text_opts(legacy, "/home/me/compiled/config.json", 0); /* "led" does not start a word */
  assert_int_equal(m->family, LS_MODEL_FAMILY_ROBERTA);
  assert_non_null(strstr(m->reading_note, "keys"));
  ls_model_free(m);
  m = load_text_opts(legacy, "/cache/models--FacebookAI--xlm-roberta-base/snapshots/abc123/config.json", 0);
  assert_int_equal(m->reading, LS_MODEL_READING_NONE); /* xlm-roberta: a type layerscope does not model */
  assert_string_equal(m->model_type, "xlm-roberta");
  ls_model_free(m);
  /* an editor's half-typed document: syntax errors, yet the tree is built from what parsed */
  const char *partial = "{\"model_type\": \"llama\", \"hidden_size\": 64,, \"num_attention_heads\": 4,\n"
                        " \"num_hidden_layers\": 1, \"vocab_size\": 10, \"intermediate_size\": 8, \"rms_norm_eps\": ";
  ls_json_doc *doc = NULL;
  assert_int_equal(ls_json_parse(partial, strlen(partial), &doc), 0);
  assert_int_equal(ls_model_build(doc, NULL, &m, NULL), 0);
  assert_true(m->n_json_errors > 0);
  assert_int_equal(m->n_errors, m->n_json_errors);
  expect_shape(m, "model.layers.0.self_attn.q_proj.weight", 2, 64, 64);
  assert_true(has_issue(m, "json-syntax", NULL));
  ls_model_figures fig;
  assert_int_equal(ls_model_figures_compute(m, NULL, &fig, NULL), 0);
  assert_int_equal(fig.params, m->params);
  ls_model_free(m);
  ls_json_doc_free(doc);
  /* head classes */
  m = load_text("{\"model_type\": \"bert\", \"architectures\": [\"BertForSequenceClassification\"],"
                "\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}", 0);
  expect_shape(m, "classifier.weight", 2, 3, 768);
  assert_true(ls_model_tensor_find(m, "bert.pooler.dense.weight") >= 0);
  assert_string_equal(m->base_prefix, "bert.");
  ls_model_free(m);
}

/* ---------------------------------------------------------------- bad input */

static void test_bad_input(void **state) {
  (void)state;
  ls_model *m = NULL;
  ls_diag d;
  ls_diag_init(&d);
  const char *bad = "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 4096,,\n}";
  assert_int_equal(ls_model_load(bad, strlen(bad), "c.json", NULL, &m, &d), LS_EPARSE);
  assert_null(m);
  assert_int_equal(d.line, 3);
  assert_non_null(strstr(d.msg, "c.json:3:"));

  static const struct { const char *text, *code, *needle; } cases[] = {
      {"{\"model_type\":\"llama\",\"hidden_size\":0}", "bad-dim", "hidden_size is 0"},
      {"{\"model_type\":\"llama\",\"num_hidden_layers\":-2}", "bad-dim", "num_hidden_layers is -2"},
      {"{\"model_type\":\"llama\",\"hidden_size\":4096.5}", "bad-type", "4096.5"},
      {"{\"model_type\":\"llama\",\"vocab_size\":\"32000\"}", "bad-type", "vocab_size is a string"},
      {"{\"model_type\":\"llama\",\"vocab_size\":99999999999999999999999}", "overflow", "vocab_size"},
      {"{\"model_type\":\"llama\",\"hidden_size\":4611686018427387904,\"num_attention_heads\":1}", "overflow", "hidden_size"},
      {"{\"model_type\":\"llama\",\"num_hidden_layers\":100000000000}", "bad-value", "num_hidden_layers"},
      {"{\"model_type\":\"gpt2\",\"n_embd\":768,\"n_head\":0}", "bad-dim", "n_head is 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    m = NULL;
    ls_diag_init(&d);
    int rc = ls_model_load(cases[i].text, strlen(cases[i].text), "c.json", NULL, &m, &d);
    assert_int_equal(rc, LS_EFORMAT);
    assert_non_null(m);
    if (!has_issue(m, cases[i].code, cases[i].needle)) {
      for (size_t k = 0; k < m->n_issues; k++) fprintf(stderr, "  %s: %s\n", m->issues[k].code, m->issues[k].msg);
      fail_msg("case %zu: no %s issue mentioning '%s'", i, cases[i].code, cases[i].needle);
    }
    assert_int_equal(m->n_modules, 0);
    assert_true(d.msg[0] != 0);
    ls_model_free(m);
  }
  /* heads not dividing hidden: a warning naming both, the tree still built */
  m = load_text("{\"model_type\":\"gpt2\",\"n_embd\":100,\"n_head\":12,\"n_layer\":1,\"vocab_size\":10}", 0);
  assert_true(has_issue(m, "heads-divide", "n_head = 12"));
  assert_true(m->n_modules > 0);
  ls_model_free(m);
  /* not an object */
  assert_int_equal(ls_model_load("[1,2]", 5, NULL, NULL, &m, &d), LS_EINVAL);
}

static void test_alloc_failures(void **state) {
  (void)state;
  const char *text = "{\"model_type\":\"mixtral\",\"num_hidden_layers\":2,\"vocab_size\":100,"
                     "\"hidden_size\":64,\"intermediate_size\":32,\"num_attention_heads\":4,"
                     "\"num_key_value_heads\":2,\"num_local_experts\":4}";
  int ok = 0;
  for (long n = 0; n < 2000 && !ok; n++) {
    ls_model *m = NULL;
    ls_alloc_fail_after(n);
    int rc = ls_model_load(text, strlen(text), NULL, NULL, &m, NULL);
    ls_alloc_fail_reset();
    if (rc == 0) {
      ok = 1;
      assert_int_equal(m->n_tensors, 2 + 2 * (4 + 1 + 4 * 3 + 2) + 1);
    } else {
      assert_int_equal(rc, LS_ENOMEM);
      assert_null(m);
    }
    ls_model_free(m);
  }
  assert_true(ok);
}

static void test_shape_format(void **state) {
  (void)state;
  ls_model *m = load_file("bert-base-uncased.config.json", NULL);
  char buf[64];
  int i = ls_model_module_find(m, "encoder.layer.0.intermediate");
  assert_true(i >= 0);
  ls_model_shape_format(&m->modules[i].out, 0, 0, 0, buf, sizeof buf);
  assert_string_equal(buf, "[B, S, 3072]");
  ls_model_shape_format(&m->modules[i].out, 1, 2, 128, buf, sizeof buf);
  assert_string_equal(buf, "[2, 128, 3072]");
  assert_int_equal(m->modules[i].parent, ls_model_module_find(m, "encoder.layer.0"));
  ls_model_free(m);
}

int main(void) {
  const char *src = getenv("LS_SOURCE_DIR");
  snprintf(g_dir, sizeof g_dir, "%s/tests/fixtures/configs", src ? src : ".");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_counts),   cmocka_unit_test(test_published_shapes),
      cmocka_unit_test(test_flops_papers),     cmocka_unit_test(test_memory_sum),
      cmocka_unit_test(test_activation_formula), cmocka_unit_test(test_key_relations),
      cmocka_unit_test(test_recognition),      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_alloc_failures),   cmocka_unit_test(test_shape_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
