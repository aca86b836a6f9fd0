/* test_engine_forward.c: unit tests of the forward-pass control of core/engine/forward.h on
 * tiny random-weight models built from config text: every module of the module tree gets
 * exactly one enter and one exit event, properly nested, with its parameters (gpt_neox, phi
 * and deepseek_v2 / v3 among the families); a hook changes
 * nothing numerically; a pass started on its own thread pauses in a hook while this thread
 * inspects the paused event, then steps in / over / out and continues; pause requests and
 * aborts; the seeded random initialisation is deterministic and independent of the thread
 * count; bad input is refused with the right codes; a batch of two rows of different
 * lengths gives, at each row's valid positions, the logits of that row run alone, with
 * [B, S, ...] event shapes, across the families, MLA included (ls_fwd_batch_pack's refusals too). */
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/forward.h"
#include "core/model/model.h"

static const char *k_llama =
    "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 32}";
static const char *k_mixtral =
    "{\"model_type\": \"mixtral\", \"architectures\": [\"MixtralForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 1,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"num_local_experts\": 4,"
    " \"num_experts_per_tok\": 2}";

static const char *k_gpt2 =
    "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": 64,"
    " \"n_positions\": 16, \"n_embd\": 32, \"n_layer\": 2, \"n_head\": 4}";
static const char *k_bert =
    "{\"model_type\": \"bert\", \"architectures\": [\"BertModel\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2,"
    " \"num_attention_heads\": 4, \"max_position_embeddings\": 16}";
static const char *k_phi3 =
    "{\"model_type\": \"phi3\", \"architectures\": [\"Phi3ForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 1,"
    " \"num_attention_heads\": 4, \"max_position_embeddings\": 16}";

/* the newer llama-style families: q/k norms (per head, whole projection), post-norms, the
 * gemma2/3 four-norm layer with sliding and local-RoPE layers, granite's multipliers */
static const char *k_qwen3 =
    "{\"model_type\": \"qwen3\", \"architectures\": [\"Qwen3ForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2, \"head_dim\": 16,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 32}";
static const char *k_qwen3_moe =
    "{\"model_type\": \"qwen3_moe\", \"architectures\": [\"Qwen3MoeForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2, \"head_dim\": 16,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"num_experts\": 4,"
    " \"num_experts_per_tok\": 2, \"moe_intermediate_size\": 24, \"mlp_only_layers\": [0]}";
static const char *k_gpt_oss =
    "{\"model_type\": \"gpt_oss\", \"architectures\": [\"GptOssForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 24, \"num_hidden_layers\": 2, \"head_dim\": 16,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"num_local_experts\": 4,"
    " \"num_experts_per_tok\": 2, \"sliding_window\": 3, \"max_position_embeddings\": 256,"
    " \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 8.0, \"truncate\": false,"
    " \"original_max_position_embeddings\": 32}}";
static const char *k_qwen2_moe =
    "{\"model_type\": \"qwen2_moe\", \"architectures\": [\"Qwen2MoeForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"num_experts\": 4,"
    " \"num_experts_per_tok\": 2, \"moe_intermediate_size\": 24,"
    " \"shared_expert_intermediate_size\": 40, \"mlp_only_layers\": [1]}";
static const char *k_olmo2 =
    "{\"model_type\": \"olmo2\", \"architectures\": [\"Olmo2ForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 32}";
static const char *k_gemma3 =
    "{\"model_type\": \"gemma3_text\", \"architectures\": [\"Gemma3ForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 3, \"head_dim\": 16,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"sliding_window\": 3,"
    " \"sliding_window_pattern\": 2, \"final_logit_softcapping\": 5.0}";
static const char *k_gemma3_mm =
    "{\"model_type\": \"gemma3\", \"architectures\": [\"Gemma3ForConditionalGeneration\"],"
    " \"mm_tokens_per_image\": 4, \"text_config\": {\"vocab_size\": 64, \"hidden_size\": 32,"
    " \"intermediate_size\": 48, \"num_hidden_layers\": 2, \"head_dim\": 16, \"num_attention_heads\": 4,"
    " \"num_key_value_heads\": 2, \"sliding_window\": 3}, \"vision_config\": {\"hidden_size\": 16,"
    " \"intermediate_size\": 24, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
    " \"image_size\": 28, \"patch_size\": 14, \"vision_use_head\": false}}";
static const char *k_granite =
    "{\"model_type\": \"granite\", \"architectures\": [\"GraniteForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 1,"
    " \"num_attention_heads\": 4, \"embedding_multiplier\": 12.0, \"residual_multiplier\": 0.2,"
    " \"attention_multiplier\": 0.1, \"logits_scaling\": 4.0}";

static const char *k_neox =
    "{\"model_type\": \"gpt_neox\", \"architectures\": [\"GPTNeoXForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2,"
    " \"num_attention_heads\": 4, \"rotary_pct\": 0.5}";
static const char *k_phi =
    "{\"model_type\": \"phi\", \"architectures\": [\"PhiForCausalLM\"], \"vocab_size\": 64,"
    " \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"qk_layernorm\": true}";
static const char *k_deepseek_v3 =
    "{\"model_type\": \"deepseek_v3\", \"architectures\": [\"DeepseekV3ForCausalLM\"],"
    " \"vocab_size\": 64, \"hidden_size\": 32, \"intermediate_size\": 48,"
    " \"moe_intermediate_size\": 16, \"num_hidden_layers\": 2, \"first_k_dense_replace\": 1,"
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 4, \"q_lora_rank\": 24,"
    " \"kv_lora_rank\": 16, \"qk_rope_head_dim\": 8, \"qk_nope_head_dim\": 8, \"v_head_dim\": 12,"
    " \"n_routed_experts\": 4, \"num_experts_per_tok\": 2, \"n_group\": 2, \"topk_group\": 1,"
    " \"n_shared_experts\": 1}";

static const char *k_deepseek_v2 =
    "{\"model_type\": \"deepseek_v2\", \"architectures\": [\"DeepseekV2ForCausalLM\"],"
    " \"vocab_size\": 64, \"hidden_size\": 32, \"intermediate_size\": 48,"
    " \"moe_intermediate_size\": 16, \"num_hidden_layers\": 2, \"first_k_dense_replace\": 1,"
    " \"num_attention_heads\": 4, \"q_lora_rank\": null, \"kv_lora_rank\": 16,"
    " \"qk_rope_head_dim\": 8, \"qk_nope_head_dim\": 8, \"v_head_dim\": 12,"
    " \"n_routed_experts\": 4, \"num_experts_per_tok\": 2, \"n_shared_experts\": 1,"
    " \"topk_method\": \"group_limited_greedy\", \"n_group\": 2, \"topk_group\": 1}";

static const int64_t k_tokens[6] = {1, 5, 9, 63, 0, 17};

static ls_model *load(const char *text) {
  ls_model *m = NULL;
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_model_load(text, strlen(text), "test.json", NULL, &m, &d);
  if (rc) fail_msg("model: %s", d.msg);
  return m;
}

static ls_engine *open_engine(const ls_model *m, uint64_t seed, int threads) {
  ls_engine *e = NULL;
  ls_diag d;
  ls_diag_init(&d);
  ls_engine_opts o = {.seed = seed, .threads = threads};
  if (ls_engine_open(&e, m, &o, &d)) fail_msg("engine: %s", d.msg);
  return e;
}

/* Runs to completion inline; copies the logits into out[rows*cols]. */
static void run_logits(ls_engine *e, ls_fwd_hook_fn hook, void *ud, float *out, size_t cap) {
  ls_fwd *f = NULL;
  ls_fwd_opts o = {.hook = hook, .ud = ud};
  assert_int_equal(ls_fwd_new(&f, e, k_tokens, 6, &o, NULL), LS_OK);
  assert_int_equal(ls_fwd_run(f, NULL), LS_OK);
  int64_t r, c;
  const float *l = ls_fwd_logits(f, &r, &c);
  assert_non_null(l);
  assert_true((size_t)(r * c) <= cap);
  memcpy(out, l, (size_t)(r * c) * sizeof(float));
  ls_fwd_free(f);
}

/* ---- event order --------------------------------------------------------------------- */

typedef struct order_ctx {
  const ls_model *m;
  int stack[64];
  int depth;
  int *enters, *exits; /* [n_modules] */
  int bad;
  char why[256];
} order_ctx;

static int order_hook(void *ud, const ls_fwd_event *ev) {
  order_ctx *c = ud;
  const ls_model_module *mod = &c->m->modules[ev->module];
  if (strcmp(ev->name, mod->name) != 0 || ev->depth != mod->depth || ev->n_params != mod->n_tensors) {
    c->bad = 1;
    snprintf(c->why, sizeof c->why, "event fields of %s", mod->name);
  }
  if (ev->phase == LS_FWD_ENTER) {
    /* the parent of an entered module must be the innermost open one */
    if (c->depth > 0 && mod->parent != c->stack[c->depth - 1] && !c->bad) {
      c->bad = 1;
      snprintf(c->why, sizeof c->why, "%s entered inside %s", mod->name,
               c->m->modules[c->stack[c->depth - 1]].name);
    }
    c->stack[c->depth++] = ev->module;
    c->enters[ev->module]++;
  } else {
    if ((c->depth == 0 || c->stack[c->depth - 1] != ev->module) && !c->bad) {
      c->bad = 1;
      snprintf(c->why, sizeof c->why, "%s exited out of order", mod->name);
    }
    if (c->depth > 0) c->depth--;
    c->exits[ev->module]++;
    if (ev->n_outputs < 1 || !ev->outputs[0].data) {
      c->bad = 1;
      snprintf(c->why, sizeof c->why, "%s exit without output", mod->name);
    }
  }
  return LS_FWD_CONTINUE;
}

static void check_order(const char *text, int all_modules) {
  ls_model *m = load(text);
  ls_engine *e = open_engine(m, 1, 2);
  order_ctx c = {.m = m};
  c.enters = calloc(m->n_modules, sizeof(int));
  c.exits = calloc(m->n_modules, sizeof(int));
  float a[6 * 64] = {0}, b[6 * 64] = {0}; /* a base encoder fills only [6, hidden] */
  run_logits(e, order_hook, &c, a, 6 * 64);
  if (c.bad) fail_msg("%s", c.why);
  assert_int_equal(c.depth, 0);
  for (size_t i = 0; i < m->n_modules; i++) {
    if (!all_modules && m->modules[i].kind == LS_MODEL_KIND_EXPERT) continue;
    if (c.enters[i] > 1 || c.exits[i] != c.enters[i]) fail_msg("%s: %d enters, %d exits",
                                                                m->modules[i].name, c.enters[i], c.exits[i]);
    if (all_modules && c.enters[i] != 1) fail_msg("module %s got no event", m->modules[i].name);
  }
  run_logits(e, NULL, NULL, b, 6 * 64); /* no hook: bit-identical */
  assert_memory_equal(a, b, sizeof a);
  free(c.enters);
  free(c.exits);
  ls_engine_close(e);
  ls_model_free(m);
}

static void test_event_order(void **st) {
  (void)st;
  check_order(k_llama, 1);
  check_order(k_gpt2, 1);
  check_order(k_bert, 1);
  check_order(k_phi3, 1);
  check_order(k_neox, 1);
  check_order(k_phi, 1);
  check_order(k_deepseek_v3, 0);
  check_order(k_deepseek_v2, 0);
  check_order(k_qwen3, 1);
  check_order(k_qwen3_moe, 0);
  check_order(k_qwen2_moe, 0);
  check_order(k_gpt_oss, 1);
  check_order(k_olmo2, 1);
  check_order(k_gemma3, 1);
  check_order(k_granite, 1);
  check_order(k_gemma3_mm, 0); /* text tokens: the vision tower is never called */
  check_order(k_mixtral, 0); /* experts with no routed token are skipped, as upstream */
}

/* ---- pause, step, resume from another thread ------------------------------------------ */

typedef struct pause_ctx {
  const char *stop_at;
  int reasons[8];
  int n_reasons;
} pause_ctx;

static int pause_hook(void *ud, const ls_fwd_event *ev) {
  pause_ctx *c = ud;
  return ev->phase == LS_FWD_ENTER && strcmp(ev->name, c->stop_at) == 0 ? LS_FWD_PAUSE
                                                                          : LS_FWD_CONTINUE;
}

static void on_pause(void *ud, const ls_fwd_event *ev, ls_fwd_reason why) {
  pause_ctx *c = ud;
  (void)ev;
  if (c->n_reasons < 8) c->reasons[c->n_reasons++] = why;
}

static void expect_paused(ls_fwd *f, const char *name, ls_fwd_phase phase) {
  assert_int_equal(ls_fwd_wait(f, 20000), LS_FWD_PAUSED);
  const ls_fwd_event *ev = ls_fwd_paused_event(f);
  assert_non_null(ev);
  if (strcmp(ev->name, name) != 0 || ev->phase != phase)
    fail_msg("paused at %s %s, expected %s %s", ev->phase ? "exit" : "enter", ev->name,
             phase ? "exit" : "enter", name);
}

static void test_pause_step(void **st) {
  (void)st;
  ls_model *m = load(k_llama);
  ls_engine *e = open_engine(m, 7, 2);
  float ref[6 * 64];
  run_logits(e, NULL, NULL, ref, 6 * 64);
  pause_ctx c = {.stop_at = "model.layers.1.mlp"};
  ls_fwd_opts o = {.hook = pause_hook, .ud = &c, .on_pause = on_pause};
  ls_fwd *f = NULL;
  assert_int_equal(ls_fwd_new(&f, e, k_tokens, 6, &o, NULL), LS_OK);
  assert_int_equal(ls_fwd_resume(f, LS_FWD_CONTINUE), LS_ESTATE);
  assert_int_equal(ls_fwd_start(f), LS_OK);
  expect_paused(f, "model.layers.1.mlp", LS_FWD_ENTER);
  const ls_fwd_event *ev = ls_fwd_paused_event(f);
  assert_int_equal(ev->n_inputs, 1);
  assert_int_equal(ev->inputs[0].shape[1], 6);
  assert_int_equal(ev->inputs[0].shape[2], 32);
  assert_true(isfinite(((const float *)ev->inputs[0].data)[6 * 32 - 1]));
  assert_int_equal(ls_fwd_resume(f, LS_FWD_STEP_IN), LS_OK);
  expect_paused(f, "model.layers.1.mlp.gate_proj", LS_FWD_ENTER);
  assert_int_equal(ls_fwd_resume(f, LS_FWD_STEP_OVER), LS_OK);
  expect_paused(f, "model.layers.1.mlp.gate_proj", LS_FWD_EXIT);
  ev = ls_fwd_paused_event(f);
  assert_int_equal(ev->n_params, 1);
  assert_int_equal(ev->params[0].shape[0], 48);
  assert_int_equal(ls_fwd_resume(f, LS_FWD_STEP_OVER), LS_OK);
  expect_paused(f, "model.layers.1.mlp.up_proj", LS_FWD_ENTER);
  assert_int_equal(ls_fwd_resume(f, LS_FWD_STEP_OUT), LS_OK);
  expect_paused(f, "model.layers.1.mlp", LS_FWD_EXIT);
  ls_fwd_request_pause(f);
  assert_int_equal(ls_fwd_resume(f, LS_FWD_CONTINUE), LS_OK);
  expect_paused(f, "model.layers.1", LS_FWD_EXIT);
  assert_int_equal(ls_fwd_resume(f, LS_FWD_CONTINUE), LS_OK);
  assert_int_equal(ls_fwd_wait(f, 20000), LS_FWD_DONE);
  assert_int_equal(ls_fwd_join(f, NULL), LS_OK);
  int64_t r, cols;
  const float *l = ls_fwd_logits(f, &r, &cols);
  assert_memory_equal(l, ref, sizeof ref);
  int expect[] = {LS_FWD_REASON_HOOK, LS_FWD_REASON_STEP, LS_FWD_REASON_STEP, LS_FWD_REASON_STEP,
                  LS_FWD_REASON_STEP, LS_FWD_REASON_REQUEST};
  assert_int_equal(c.n_reasons, 6);
  for (int i = 0; i < 6; i++) assert_int_equal(c.reasons[i], expect[i]);
  int64_t ids[3];
  float vals[3];
  assert_int_equal(ls_fwd_topk(f, 3, ids, vals), LS_OK);
  assert_true(vals[0] >= vals[1] && vals[1] >= vals[2]);
  ls_fwd_free(f);

  /* abort while paused */
  c.n_reasons = 0;
  assert_int_equal(ls_fwd_new(&f, e, k_tokens, 6, &o, NULL), LS_OK);
  assert_int_equal(ls_fwd_start(f), LS_OK);
  expect_paused(f, "model.layers.1.mlp", LS_FWD_ENTER);
  assert_int_equal(ls_fwd_resume(f, LS_FWD_ABORT), LS_OK);
  assert_int_equal(ls_fwd_join(f, NULL), LS_ECANCELED);
  assert_int_equal(ls_fwd_get_state(f), LS_FWD_ABORTED);
  assert_null(ls_fwd_logits(f, NULL, NULL));
  ls_fwd_free(f);

  /* freeing a paused pass aborts and joins it */
  assert_int_equal(ls_fwd_new(&f, e, k_tokens, 6, &o, NULL), LS_OK);
  assert_int_equal(ls_fwd_start(f), LS_OK);
  expect_paused(f, "model.layers.1.mlp", LS_FWD_ENTER);
  ls_fwd_free(f);
  ls_engine_close(e);
  ls_model_free(m);
}

/* ---- random init, bad input ---------------------------------------------------------- */

static void test_random_init(void **st) {
  (void)st;
  ls_model *m = load(k_llama);
  float a[6 * 64], b[6 * 64], c[6 * 64];
  ls_engine *e1 = open_engine(m, 42, 1), *e3 = open_engine(m, 42, 3), *e4 = open_engine(m, 43, 2);
  run_logits(e1, NULL, NULL, a, 6 * 64);
  run_logits(e3, NULL, NULL, b, 6 * 64);
  run_logits(e4, NULL, NULL, c, 6 * 64);
  double diff = 0, other = 0;
  for (int i = 0; i < 6 * 64; i++) {
    diff = fmax(diff, fabs(a[i] - b[i]));
    other = fmax(other, fabs(a[i] - c[i]));
  }
  assert_true(diff < 1e-5); /* same weights whatever the thread count */
  assert_true(other > 1e-3); /* another seed gives other weights */
  ls_fwd *f = NULL;
  ls_diag d;
  ls_diag_init(&d);
  int64_t bad[2] = {3, 64};
  assert_int_equal(ls_fwd_new(&f, e1, bad, 2, NULL, &d), LS_EINVAL);
  assert_non_null(strstr(d.msg, "vocab"));
  assert_int_equal(ls_fwd_new(&f, e1, bad, 0, NULL, NULL), LS_EINVAL);
  ls_engine_close(e1);
  ls_engine_close(e3);
  ls_engine_close(e4);
  ls_model_free(m);
}

static void test_unsupported(void **st) {
  (void)st;
  const char *t5 = "{\"model_type\": \"t5\", \"architectures\": [\"T5ForConditionalGeneration\"],"
                   " \"vocab_size\": 64, \"d_model\": 32, \"d_kv\": 8, \"d_ff\": 64,"
                   " \"num_layers\": 1, \"num_heads\": 4}";
  ls_model *m = load(t5);
  ls_engine *e = NULL;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_engine_open(&e, m, NULL, &d), LS_EUNSUPPORTED);
  assert_non_null(strstr(d.msg, "t5"));
  ls_model_free(m);
  ls_engine_opts o = {.weights = "/nonexistent/model.safetensors"};
  m = load(k_llama);
  ls_diag_init(&d);
  assert_true(ls_engine_open(&e, m, &o, &d) != LS_OK);
  assert_null(e);
  ls_model_free(m);
}

/* Every allocation of open / new / run failing in turn: each call returns LS_ENOMEM (or
 * succeeds) and frees what it took (the ASan build checks for leaks). */
static void test_alloc_failures(void **st) {
  (void)st;
  ls_model *m = load(k_llama);
  int succeeded = 0;
  for (long n = 0; n < 400 && !succeeded; n++) {
    ls_engine *e = NULL;
    ls_fwd *f = NULL;
    ls_engine_opts o = {.seed = 1, .threads = 2};
    ls_alloc_fail_after(n);
    int rc = ls_engine_open(&e, m, &o, NULL);
    if (rc == LS_OK) rc = ls_fwd_new(&f, e, k_tokens, 6, NULL, NULL);
    if (rc == LS_OK) rc = ls_fwd_run(f, NULL);
    ls_alloc_fail_reset();
    if (rc != LS_OK && rc != LS_ENOMEM) fail_msg("fail after %ld: rc %d", n, rc);
    succeeded = rc == LS_OK;
    ls_fwd_free(f);
    ls_engine_close(e);
  }
  assert_true(succeeded);
  ls_model_free(m);
}

/* ---- batches -------------------------------------------------------------------------- */

typedef struct shape_ctx {
  int64_t hidden_shape[3]; /* the first layer's output */
  int64_t probs_shape[4];  /* the first attention's probs */
  int64_t ids_shape[2];
  int seen, seen_probs;
} shape_ctx;

/* the first decoder / encoder layer: "model.layers.0", "transformer.h.0", "encoder.layer.0" */
static int is_layer0(const char *name) {
  static const char *const tails[] = {".layers.0", ".h.0", ".layer.0"};
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
    size_t k = strlen(tails[i]);
    if (n >= k && strcmp(name + n - k, tails[i]) == 0) return 1;
  }
  return 0;
}

static int shape_hook(void *ud, const ls_fwd_event *ev) {
  shape_ctx *c = ud;
  if (ev->phase == LS_FWD_ENTER && ev->module == 0 && ev->n_inputs > 0)
    memcpy(c->ids_shape, ev->inputs[0].shape, sizeof c->ids_shape);
  if (ev->phase != LS_FWD_EXIT) return LS_FWD_CONTINUE;
  for (int i = 0; i < ev->n_inter && !c->seen_probs; i++)
    if (strcmp(ev->inter[i].name, "probs") == 0) {
      memcpy(c->probs_shape, ev->inter[i].shape, sizeof c->probs_shape);
      c->seen_probs = 1;
    }
  if (!c->seen && ev->n_outputs > 0 && is_layer0(ev->name)) {
    memcpy(c->hidden_shape, ev->outputs[0].shape, sizeof c->hidden_shape);
    c->seen = 1;
  }
  return LS_FWD_CONTINUE;
}

static void test_batch_pack(void **st) {
  (void)st;
  const int64_t r0[3] = {1, 2, 3}, r1[1] = {4}, m1[1] = {1}, m0[3] = {1, 1, 0};
  const int64_t *rows[2] = {r0, r1}, *masks[2] = {m0, m1};
  int64_t lens[2] = {3, 1}, mlens[2] = {3, 1}, L = 0, *t = NULL;
  int *mk = NULL;
  assert_int_equal(ls_fwd_batch_pack(rows, lens, 2, NULL, NULL, &t, &mk, &L, NULL), LS_OK);
  assert_int_equal(L, 3);
  const int64_t want_t[6] = {1, 2, 3, 4, 0, 0};
  const int want_m[6] = {1, 1, 1, 1, 0, 0};
  assert_memory_equal(t, want_t, sizeof want_t);
  assert_memory_equal(mk, want_m, sizeof want_m);
  ls_free(t);
  ls_free(mk);
  assert_int_equal(ls_fwd_batch_pack(rows, lens, 2, masks, mlens, &t, &mk, &L, NULL), LS_OK);
  const int want_m2[6] = {1, 1, 0, 1, 0, 0};
  assert_memory_equal(mk, want_m2, sizeof want_m2);
  ls_free(t);
  ls_free(mk);
  lens[1] = 3; /* rows of one length, no mask: no mask at all */
  const int64_t r2[3] = {4, 5, 6};
  rows[1] = r2;
  assert_int_equal(ls_fwd_batch_pack(rows, lens, 2, NULL, NULL, &t, &mk, &L, NULL), LS_OK);
  assert_null(mk);
  ls_free(t);
  ls_diag d;
  ls_diag_init(&d);
  mlens[1] = 2; /* a mask row of another length */
  assert_int_equal(ls_fwd_batch_pack(rows, lens, 2, masks, mlens, &t, &mk, &L, &d), LS_EINVAL);
  assert_non_null(strstr(d.msg, "row 1"));
  lens[0] = 0;
  ls_diag_init(&d);
  assert_int_equal(ls_fwd_batch_pack(rows, lens, 2, NULL, NULL, &t, &mk, &L, &d), LS_EINVAL);
  assert_string_equal(d.msg, "row 0 has no tokens");
  assert_null(t);
}

/* rows {k_tokens[0..6)} and {k_tokens[2..6)} right-padded: each row's valid logits equal
 * its own run's within 1e-5 of their scale */
static void check_batch_family(const char *text, int64_t hidden, int64_t heads) {
  ls_model *m = load(text);
  ls_engine *e = open_engine(m, 3, 2);
  const int64_t *rows[2] = {k_tokens, k_tokens + 2}, lens[2] = {6, 4};
  int64_t *t = NULL, L = 0;
  int *mk = NULL;
  assert_int_equal(ls_fwd_batch_pack(rows, lens, 2, NULL, NULL, &t, &mk, &L, NULL), LS_OK);
  shape_ctx sc = {{0}, {0}, {0}, 0, 0};
  ls_fwd *f = NULL;
  ls_fwd_opts o = {.hook = shape_hook, .ud = &sc, .attention_mask = mk, .batch = 2};
  assert_int_equal(ls_fwd_new(&f, e, t, 2 * L, &o, NULL), LS_OK);
  assert_int_equal(ls_fwd_run(f, NULL), LS_OK);
  int64_t rows_n, cols;
  const float *bl = ls_fwd_logits(f, &rows_n, &cols);
  assert_int_equal(rows_n, 2 * L);
  assert_int_equal(ls_fwd_row_len(f, 1), 4);
  const int64_t want_h[3] = {2, 6, hidden}, want_p[4] = {2, heads, 6, 6}, want_ids[2] = {2, 6};
  assert_true(sc.seen && sc.seen_probs);
  assert_memory_equal(sc.hidden_shape, want_h, sizeof want_h);
  assert_memory_equal(sc.probs_shape, want_p, sizeof want_p);
  assert_memory_equal(sc.ids_shape, want_ids, sizeof want_ids);
  for (int b = 0; b < 2; b++) {
    ls_fwd *g = NULL;
    assert_int_equal(ls_fwd_new(&g, e, rows[b], lens[b], NULL, NULL), LS_OK);
    assert_int_equal(ls_fwd_run(g, NULL), LS_OK);
    const float *one = ls_fwd_logits(g, NULL, NULL);
    double scale = 1e-6, err = 0;
    for (int64_t i = 0; i < lens[b] * cols; i++) {
      scale = fmax(scale, fabs(one[i]));
      err = fmax(err, fabs(one[i] - bl[b * L * cols + i]));
    }
    if (!(err <= 1e-5 * scale)) fail_msg("%s row %d: max diff %g, scale %g", m->model_type, b, err, scale);
    ls_fwd_free(g);
  }
  ls_fwd_free(f);
  ls_free(t);
  ls_free(mk);
  ls_engine_close(e);
  ls_model_free(m);
}

static void test_batch(void **st) {
  (void)st;
  check_batch_family(k_llama, 32, 4);
  check_batch_family(k_gpt2, 32, 4);
  check_batch_family(k_bert, 32, 4);
  check_batch_family(k_phi3, 32, 4);
  check_batch_family(k_neox, 32, 4);
  check_batch_family(k_phi, 32, 4);
  check_batch_family(k_qwen3, 32, 4);
  check_batch_family(k_mixtral, 32, 4);
  check_batch_family(k_gemma3, 32, 4);
  check_batch_family(k_gpt_oss, 32, 4);
  check_batch_family(k_deepseek_v3, 32, 4);
  check_batch_family(k_deepseek_v2, 32, 4);
  /* refusals: rows that do not divide, a KV cache */
  ls_model *m = load(k_llama);
  ls_engine *e = open_engine(m, 3, 1);
  ls_fwd *f = NULL;
  ls_fwd_opts o = {.batch = 4};
  assert_int_equal(ls_fwd_new(&f, e, k_tokens, 6, &o, NULL), LS_EINVAL);
  ls_kv *kv = NULL;
  assert_int_equal(ls_kv_new(&kv, e, 16, NULL), LS_OK);
  o = (ls_fwd_opts){.batch = 2, .kv = kv};
  assert_int_equal(ls_fwd_new(&f, e, k_tokens, 6, &o, NULL), LS_EUNSUPPORTED);
  ls_kv_free(kv);
  ls_engine_close(e);
  ls_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_event_order),
      cmocka_unit_test(test_pause_step),
      cmocka_unit_test(test_random_init),
      cmocka_unit_test(test_unsupported),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_batch_pack),
      cmocka_unit_test(test_batch),
  };
  return cmocka_run_group_tests_name("engine forward", tests, NULL, NULL);
}
