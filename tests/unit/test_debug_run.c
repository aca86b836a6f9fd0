/* test_debug_run.c: the owner of a debug run (core/debug/run.c) on the scripted fake target
 * (fake_target.c) and on the engine. On the fake: the merged stop (the run's breakpoint
 * decision with its condition and hit id, a step, an exception filter, the target's own
 * decision) names the fake's thread 7, never an assumed 1; breakpoints set before the
 * target reported its modules are pending and then fire; frames are the module path plus the
 * target's source frame; tensors without memory are fetched once per stop; restart keeps
 * breakpoints (and hit counts start over); a pause before the start stops at the first event;
 * the tensor a stop is about is its input at an enter event and the output with the NaN at an
 * exception stop; terminate while stopped ends the run as canceled; a failing target and one
 * that ends by itself end the run with their message, exit code and summary; and with a post
 * function, what a run left in flight before restart is dropped. On the engine: stops on a tiny random
 * gpt2 through the same API (thread 1, frames at config lines), restart, the summary of a run
 * without debugging, and bad tokens named the way the front end names them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <pthread.h>

#include "core/base/errors.h"
#include "core/debug/run.h"
#include "tests/unit/fake_target.h"

/* ------------------------------------------------------------------ what the front end saw */

typedef struct rec {
  int stops, ends, lines, notes;
  ls_dbg_reason last_reason;
  int last_thread;
  char last_module[64];
  int end_rc, end_code;
  char end_message[512], end_summary[512];
} rec;

static void rec_stop(void *ud, const ls_dbg_run_stop *st) {
  rec *r = ud;
  r->stops++;
  r->last_reason = st->why.reason;
  r->last_thread = st->thread;
  snprintf(r->last_module, sizeof r->last_module, "%s", st->ev->name);
}

static void rec_end(void *ud, const ls_dbg_run_end *e) {
  rec *r = ud;
  r->ends++;
  r->end_rc = e->rc;
  r->end_code = e->exit_code;
  snprintf(r->end_message, sizeof r->end_message, "%s", e->message);
  snprintf(r->end_summary, sizeof r->end_summary, "%s", e->summary);
}

static void rec_output(void *ud, ls_dbg_output kind, const char *text) {
  rec *r = ud;
  if (kind == LS_DBG_OUT_STDOUT && strncmp(text, "line ", 5) == 0) r->lines++;
  if (kind == LS_DBG_OUT_NOTE) r->notes++;
}

static ls_dbg_run *open_fake(const fake_target_opts *fo, rec *rc, const fake_target_counters **cnt) {
  ls_diag d;
  ls_diag_init(&d);
  ls_dbg_target t;
  assert_int_equal(fake_target_new(&t, fo, &d), LS_OK);
  if (cnt) *cnt = fake_target_counters_of(t);
  ls_dbg_run_opts ro = {.cbs = {rec_stop, rec_end, rec_output, NULL, rc, NULL, NULL, NULL}};
  ls_dbg_run *r = NULL;
  assert_int_equal(ls_dbg_run_open(&r, t, &ro, &d), LS_OK);
  return r;
}

static int function_bp(ls_dbg_run *r, const char *glob, const char *cond, const char *hit, ls_dbg_bp_result *res) {
  ls_dbg_bp_spec sp = {glob, 0, cond, hit};
  assert_int_equal(ls_dbg_set_function_bps(ls_dbg_run_dbg(r), &sp, 1, res), LS_OK);
  return res->id;
}

static const ls_dbg_run_stop *wait_stop(ls_dbg_run *r, ls_dbg_reason reason, const char *module, ls_dbg_phase phase) {
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_STOPPED);
  const ls_dbg_run_stop *st = ls_dbg_run_stop_get(r);
  assert_non_null(st);
  if (st->why.reason != reason || strcmp(st->ev->name, module) != 0 || st->ev->phase != phase)
    fail_msg("stopped (%s) at '%s' phase %d, wanted (%s) at '%s' phase %d", ls_dbg_reason_name(st->why.reason),
             st->ev->name, st->ev->phase, ls_dbg_reason_name(reason), module, phase);
  return st;
}

static double eval_num(ls_dbg_run *r, const char *src) {
  ls_dbg_value v;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_dbg_run_eval(r, src, &v, &d) != LS_OK) fail_msg("'%s': %s", src, d.msg);
  if (v.kind != LS_DBG_V_NUM) fail_msg("'%s' is not a number", src);
  return v.num;
}

/* ------------------------------------------------------------------ the fake target */

static void test_stop_merge(void **state) {
  (void)state;
  rec rc = {0};
  fake_target_opts fo = fake_target_defaults();
  fo.nan_module = 3;   /* model.layers.1's output[0, 2] */
  fo.decide_at = 8;    /* head's exit */
  ls_dbg_run *r = open_fake(&fo, &rc, NULL);
  assert_null(ls_dbg_run_info(r)->model);
  assert_string_equal(ls_dbg_run_info(r)->what, "fake program");
  /* before the target ran, its modules are unknown: the breakpoint waits for them */
  ls_dbg_bp_result res;
  int id = function_bp(r, "model.layers.0", "output.max > 3", NULL, &res);
  assert_false(res.verified);
  assert_string_equal(res.message, "pending: the run has not reported its modules yet");
  /* and a line breakpoint cannot work without a config */
  ls_dbg_bp_spec ls = {NULL, 3, NULL, NULL};
  ls_dbg_bp_result lres;
  assert_int_equal(ls_dbg_set_line_bps(ls_dbg_run_dbg(r), &ls, 1, &lres), LS_OK);
  assert_false(lres.verified);
  assert_non_null(strstr(lres.message, "line breakpoints need the model's config.json"));
  ls_dbg_set_exceptions(ls_dbg_run_dbg(r), LS_DBG_EXC_NAN);
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);

  /* the run's decision: the breakpoint, its condition true (outputs 20.5 .. 23.5) */
  const ls_dbg_run_stop *st = wait_stop(r, LS_DBG_STOP_FUNCTION_BREAKPOINT, "model.layers.0", LS_DBG_EXIT);
  assert_int_equal(st->thread, 7);
  assert_int_equal(st->all_stopped, 1);
  assert_int_equal(st->why.n_hit, 1);
  assert_int_equal(st->why.hit_ids[0], id);
  assert_int_equal(rc.stops, 1);
  assert_int_equal(rc.last_thread, 7);
  assert_true(eval_num(r, "output.max") == 23.5);
  assert_true(eval_num(r, "layer") == 0);
  /* the same breakpoint, set again now that the modules are known, is verified */
  function_bp(r, "model.layers.0", "output.max > 3", NULL, &res);
  assert_true(res.verified);
  assert_string_equal(res.message, "matches 1 module");
  /* frames: the module path, then the target's source frame */
  ls_dbg_frame fr[16];
  int n = ls_dbg_run_frames(r, 7, fr, 16);
  assert_int_equal(n, 4);
  assert_string_equal(fr[0].name, "model.layers.0");
  assert_string_equal(fr[0].type, "FakeLayer");
  assert_int_equal(fr[0].kind, LS_DBG_FRAME_MODULE);
  assert_null(fr[0].path);
  assert_string_equal(fr[1].name, "model");
  assert_string_equal(fr[2].name, "");
  assert_int_equal(fr[3].kind, LS_DBG_FRAME_SOURCE);
  assert_string_equal(fr[3].path, "/tmp/fake_train.py");
  assert_int_equal(fr[3].line, 42);
  assert_int_equal(ls_dbg_run_frames(r, 1, fr, 16), 0); /* no thread 1 here */
  ls_dbg_thread th[4];
  assert_int_equal(ls_dbg_run_threads(r, th, 4), 1);
  assert_int_equal(th[0].id, 7);

  /* a step: the very next event */
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_STEP_IN), LS_OK);
  st = wait_stop(r, LS_DBG_STOP_STEP, "model.layers.1", LS_DBG_ENTER);
  assert_int_equal(st->why.n_hit, 0);
  assert_string_equal(st->why.description, "");
  /* the exception filter at the first NaN */
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  st = wait_stop(r, LS_DBG_STOP_EXCEPTION, "model.layers.1", LS_DBG_EXIT);
  assert_string_equal(st->why.filter, "nan");
  assert_string_equal(st->why.description, "NaN in model.layers.1 output: 1 of 4 values, first at [0, 2]");
  /* the target's own decision, delivered as it is */
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  st = wait_stop(r, LS_DBG_STOP_FUNCTION_BREAKPOINT, "head", LS_DBG_EXIT);
  assert_int_equal(st->why.hit_ids[0], 99);
  assert_string_equal(st->why.description, "decided by the target");
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_ENDED);
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_ESTATE);
  assert_int_equal(rc.stops, 4);
  assert_int_equal(rc.ends, 1);
  assert_int_equal(rc.end_rc, LS_OK);
  ls_dbg_run_close(r);
}

static void test_restart_keeps_breakpoints(void **state) {
  (void)state;
  rec rc = {0};
  fake_target_opts fo = fake_target_defaults();
  const fake_target_counters *cnt;
  ls_dbg_run *r = open_fake(&fo, &rc, &cnt);
  ls_dbg_bp_result res;
  int id = function_bp(r, "model.layers.1", NULL, "1", &res); /* the first hit only */
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  wait_stop(r, LS_DBG_STOP_FUNCTION_BREAKPOINT, "model.layers.1", LS_DBG_EXIT);
  assert_int_equal(ls_dbg_run_restart(r, &d), LS_OK);
  /* the same breakpoint, its hit count started over */
  const ls_dbg_run_stop *st = wait_stop(r, LS_DBG_STOP_FUNCTION_BREAKPOINT, "model.layers.1", LS_DBG_EXIT);
  assert_int_equal(st->why.hit_ids[0], id);
  assert_int_equal(cnt->runs, 2);
  assert_int_equal(ls_dbg_module_count(ls_dbg_run_dbg(r)), FAKE_MODULES); /* reported once */
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_ENDED);
  assert_int_equal(rc.ends, 1); /* the first run's end (canceled by restart) never showed */
  assert_int_equal(rc.end_rc, LS_OK);
  ls_dbg_run_close(r);
}

static void test_pause_before_start(void **state) {
  (void)state;
  rec rc = {0};
  fake_target_opts fo = fake_target_defaults();
  const fake_target_counters *cnt;
  ls_dbg_run *r = open_fake(&fo, &rc, &cnt);
  ls_dbg_run_pause(r);
  assert_int_equal(cnt->pauses, 0); /* remembered by the run until the target runs */
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  const ls_dbg_run_stop *st = wait_stop(r, LS_DBG_STOP_PAUSE, "", LS_DBG_ENTER);
  assert_int_equal(st->ev->serial, 0);
  assert_int_equal(cnt->pauses, 1);
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  ls_dbg_run_close(r); /* closing a run that may still be going ends it and joins its thread */
}

/* The tensor a stop is about (what `layerscope watch` reports): the input at an enter event
 * (no output yet), the output with the NaN at the exception stop; nothing while running. */
static void test_stop_tensor(void **state) {
  (void)state;
  rec rc = {0};
  fake_target_opts fo = fake_target_defaults();
  fo.nan_module = 2; /* model.layers.0 */
  fo.fetch = 1;
  ls_dbg_run *r = open_fake(&fo, &rc, NULL);
  ls_dbg_set_exceptions(ls_dbg_run_dbg(r), LS_DBG_EXC_NAN);
  ls_dbg_group g = LS_DBG_G_COUNT;
  int i = -1;
  ls_dbg_tensor t;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_stop_tensor(r, &g, &i, &t, &d), LS_ESTATE);
  ls_dbg_run_pause(r);
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  wait_stop(r, LS_DBG_STOP_PAUSE, "", LS_DBG_ENTER);
  assert_int_equal(ls_dbg_run_stop_tensor(r, &g, &i, &t, &d), LS_OK);
  assert_int_equal(g, LS_DBG_G_INPUTS);
  assert_int_equal(i, 0);
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  const ls_dbg_run_stop *st = wait_stop(r, LS_DBG_STOP_EXCEPTION, "model.layers.0", LS_DBG_EXIT);
  assert_string_equal(st->why.filter, "nan");
  assert_int_equal(ls_dbg_run_stop_tensor(r, &g, &i, &t, &d), LS_OK);
  assert_int_equal(g, LS_DBG_G_OUTPUTS);
  assert_int_equal(i, 0);
  const ls_stats *s = ls_dbg_stats_cached(ls_dbg_run_dbg(r), &t);
  assert_non_null(s);
  assert_int_equal(s->nan, 1);
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_ENDED);
  ls_dbg_run_close(r);
}

static void test_terminate_while_stopped(void **state) {
  (void)state;
  rec rc = {0};
  fake_target_opts fo = fake_target_defaults();
  ls_dbg_run *r = open_fake(&fo, &rc, NULL);
  ls_dbg_bp_result res;
  function_bp(r, "head", NULL, NULL, &res);
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  wait_stop(r, LS_DBG_STOP_FUNCTION_BREAKPOINT, "head", LS_DBG_EXIT);
  ls_dbg_run_terminate(r);
  assert_null(ls_dbg_run_stop_get(r)); /* its event is going away */
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_ENDED);
  const ls_dbg_run_end *e = ls_dbg_run_end_get(r);
  assert_int_equal(e->rc, LS_ECANCELED);
  assert_int_equal(e->exit_code, 0);
  assert_int_equal(rc.ends, 1);
  assert_int_equal(rc.stops, 1);
  ls_dbg_run_close(r);
}

static void test_target_fails(void **state) {
  (void)state;
  rec rc = {0};
  fake_target_opts fo = fake_target_defaults();
  fo.fail_at = 3;
  ls_dbg_run *r = open_fake(&fo, &rc, NULL);
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_ENDED);
  assert_int_equal(rc.end_rc, LS_EIO);
  assert_int_equal(rc.end_code, 1);
  assert_string_equal(rc.end_message, "fake failure at event 3");
  assert_string_equal(rc.end_summary, "");
  ls_dbg_run_close(r);
}

static void test_target_ends_by_itself(void **state) {
  (void)state;
  rec rc = {0};
  fake_target_opts fo = fake_target_defaults();
  fo.exit_code = 3;
  fo.n_lines = 5;
  ls_dbg_run *r = open_fake(&fo, &rc, NULL);
  assert_int_equal(ls_dbg_run_state_get(r), LS_DBG_RUN_READY);
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_ESTATE);
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_ENDED);
  const ls_dbg_run_end *e = ls_dbg_run_end_get(r);
  assert_int_equal(e->rc, LS_OK);
  assert_int_equal(e->exit_code, 3);
  assert_string_equal(e->summary, "fake summary");
  assert_string_equal(e->message, "");
  assert_int_equal(rc.lines, 5);
  assert_int_equal(rc.stops, 0);
  ls_dbg_run_close(r);
}

static void test_fetch_on_demand(void **state) {
  (void)state;
  rec rc = {0};
  fake_target_opts fo = fake_target_defaults();
  fo.fetch = 1;
  const fake_target_counters *cnt;
  ls_dbg_run *r = open_fake(&fo, &rc, &cnt);
  ls_dbg_bp_result res;
  function_bp(r, "model.layers.*", "output.min >= 0", NULL, &res); /* conditions read fetched bytes too */
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  wait_stop(r, LS_DBG_STOP_FUNCTION_BREAKPOINT, "model.layers.0", LS_DBG_EXIT);
  assert_int_equal(cnt->fetches, 1); /* by the condition, at the event */
  assert_true(eval_num(r, "output.sum") == 20.5 + 21.5 + 22.5 + 23.5);
  assert_true(eval_num(r, "output.mean") == 22);
  ls_dbg_tensor t;
  assert_int_equal(ls_dbg_run_tensor(r, LS_DBG_G_OUTPUTS, 0, &t, &d), LS_OK);
  assert_non_null(t.data);
  assert_true(((const float *)t.data)[3] == 23.5f);
  assert_int_equal(cnt->fetches, 1); /* once per stop */
  assert_int_equal(ls_dbg_run_tensor(r, LS_DBG_G_OUTPUTS, 1, &t, &d), LS_ENOENT);
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  wait_stop(r, LS_DBG_STOP_FUNCTION_BREAKPOINT, "model.layers.1", LS_DBG_EXIT);
  assert_true(eval_num(r, "output.max") == 33.5);
  assert_int_equal(cnt->fetches, 2);
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_ENDED);
  ls_dbg_run_close(r);
}

/* A front end with an event loop: calls queue up and run when the test drains them. */
typedef struct queue {
  pthread_mutex_t mu;
  struct { void (*fn)(void *); void *arg; } item[256];
  int n;
} queue;

static int qpost(void *ud, void (*fn)(void *), void *arg) {
  queue *q = ud;
  pthread_mutex_lock(&q->mu);
  int ok = q->n < 256;
  if (ok) {
    q->item[q->n].fn = fn;
    q->item[q->n++].arg = arg;
  }
  pthread_mutex_unlock(&q->mu);
  return ok ? 0 : -1;
}

static int qlen(queue *q) {
  pthread_mutex_lock(&q->mu);
  int n = q->n;
  pthread_mutex_unlock(&q->mu);
  return n;
}

/* Runs what is queued until cond holds (10 s at most). */
static void qdrain_until(queue *q, rec *rc, int stops, int ends) {
  for (int spin = 0; spin < 10000 && (rc->stops < stops || rc->ends < ends); spin++) {
    pthread_mutex_lock(&q->mu);
    int n = q->n;
    struct { void (*fn)(void *); void *arg; } items[256];
    memcpy(items, q->item, (size_t)n * sizeof items[0]);
    q->n = 0;
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < n; i++) items[i].fn(items[i].arg);
    if (!n) usleep(1000);
  }
  assert_int_equal(rc->stops, stops);
  assert_int_equal(rc->ends, ends);
}

static void test_post_drops_stale(void **state) {
  (void)state;
  rec rc = {0};
  queue q;
  memset(&q, 0, sizeof q);
  pthread_mutex_init(&q.mu, NULL);
  fake_target_opts fo = fake_target_defaults();
  ls_diag d;
  ls_diag_init(&d);
  ls_dbg_target t;
  assert_int_equal(fake_target_new(&t, &fo, &d), LS_OK);
  ls_dbg_run_opts ro = {.cbs = {rec_stop, rec_end, rec_output, NULL, &rc, NULL, qpost, &q}};
  ls_dbg_run *r;
  assert_int_equal(ls_dbg_run_open(&r, t, &ro, &d), LS_OK);
  ls_dbg_bp_result res;
  function_bp(r, "model.layers.0", NULL, NULL, &res);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  for (int spin = 0; spin < 10000 && qlen(&q) < 2; spin++) usleep(1000);
  assert_int_equal(qlen(&q), 2); /* the modules it reported, then the stop: not delivered yet */
  assert_int_equal(ls_dbg_run_state_get(r), LS_DBG_RUN_RUNNING);
  /* restart before the loop got to it: that stop and the first run's end are dropped */
  assert_int_equal(ls_dbg_run_restart(r, &d), LS_OK);
  qdrain_until(&q, &rc, 1, 0);
  assert_string_equal(rc.last_module, "model.layers.0");
  assert_int_equal(rc.last_thread, 7);
  assert_int_equal(ls_dbg_run_state_get(r), LS_DBG_RUN_STOPPED);
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_CONTINUE), LS_OK);
  qdrain_until(&q, &rc, 1, 1);
  assert_int_equal(rc.end_rc, LS_OK);
  ls_dbg_run_close(r);
  pthread_mutex_destroy(&q.mu);
}

/* ------------------------------------------------------------------ the engine */

static const char *k_gpt2 =
    "{\n"
    "  \"model_type\": \"gpt2\",\n"
    "  \"architectures\": [\"GPT2LMHeadModel\"],\n"
    "  \"vocab_size\": 64,\n"
    "  \"n_embd\": 32,\n"
    "  \"n_layer\": 2,\n"
    "  \"n_head\": 4,\n"
    "  \"n_positions\": 32\n"
    "}\n";

static void test_engine_target(void **state) {
  (void)state;
  char cfg[] = "/tmp/ls_test_debug_run_XXXXXX";
  int fd = mkstemp(cfg);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, k_gpt2, strlen(k_gpt2)), (ssize_t)strlen(k_gpt2));
  close(fd);
  static const int64_t toks[6] = {1, 5, 9, 63, 0, 17};
  ls_dbg_engine_opts eo = {.config = cfg, .tokens = toks, .n_tokens = 6, .seed = 3, .threads = 1};
  rec rc = {0};
  ls_dbg_run_opts ro = {.cbs = {rec_stop, rec_end, rec_output, NULL, &rc, NULL, NULL, NULL}};
  ls_dbg_run *r;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_dbg_run_open_engine(&r, &eo, &ro, &d), LS_OK);
  assert_string_equal(ls_dbg_run_info(r)->what, "forward pass");
  assert_string_equal(ls_dbg_run_info(r)->config_path, cfg);
  assert_int_equal(ls_dbg_run_check(r, &d), LS_OK);
  ls_dbg_bp_result res;
  function_bp(r, "*.mlp", NULL, NULL, &res);
  assert_string_equal(res.message, "matches 2 modules");
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  const ls_dbg_run_stop *st = wait_stop(r, LS_DBG_STOP_FUNCTION_BREAKPOINT, "transformer.h.0.mlp", LS_DBG_EXIT);
  assert_int_equal(st->thread, 1);
  assert_true(eval_num(r, "output.numel") == 6 * 32);
  ls_dbg_frame fr[96];
  int n = ls_dbg_run_frames(r, 1, fr, 96);
  assert_int_equal(n, 5); /* mlp, block 0, blocks, transformer, root; no native frames asked for */
  assert_string_equal(fr[0].path, cfg);
  assert_string_equal(fr[1].name, "transformer.h.0");
  assert_int_equal(fr[1].line, 6); /* a block sits at the key that makes it: n_layer */
  assert_int_equal(fr[4].line, 3); /* the root at architectures */
  assert_int_equal(ls_dbg_run_restart(r, &d), LS_OK);
  wait_stop(r, LS_DBG_STOP_FUNCTION_BREAKPOINT, "transformer.h.0.mlp", LS_DBG_EXIT);
  assert_int_equal(ls_dbg_run_resume(r, LS_DBG_STEP_OVER), LS_OK); /* from an exit: the parent's exit */
  wait_stop(r, LS_DBG_STOP_STEP, "transformer.h.0", LS_DBG_EXIT);
  ls_dbg_run_terminate(r);
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_ENDED);
  assert_int_equal(ls_dbg_run_end_get(r)->rc, LS_ECANCELED);
  ls_dbg_run_close(r);
  /* without debugging: no stops, the next tokens as the summary */
  ro.no_debug = 1;
  ro.stop_on_entry = 1;
  assert_int_equal(ls_dbg_run_open_engine(&r, &eo, &ro, &d), LS_OK);
  function_bp(r, "*.mlp", NULL, NULL, &res);
  assert_int_equal(ls_dbg_run_start(r, &d), LS_OK);
  assert_int_equal(ls_dbg_run_wait(r), LS_DBG_RUN_ENDED);
  assert_non_null(strstr(ls_dbg_run_end_get(r)->summary, "top-5 next tokens: "));
  ls_dbg_run_close(r);
  /* bad input is the check's answer, named as the front end names it */
  static const int64_t bad[2] = {1, 64};
  eo.tokens = bad;
  eo.n_tokens = 2;
  eo.tokens_what = "tokens";
  ro.no_debug = 0;
  assert_int_equal(ls_dbg_run_open_engine(&r, &eo, &ro, &d), LS_OK);
  assert_int_equal(ls_dbg_run_check(r, &d), LS_EINVAL);
  assert_string_equal(d.msg, "tokens: token 64 at position 1 is outside the vocabulary (vocab_size 64)");
  ls_dbg_run_close(r);
  unlink(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stop_merge),
      cmocka_unit_test(test_restart_keeps_breakpoints),
      cmocka_unit_test(test_pause_before_start),
      cmocka_unit_test(test_stop_tensor),
      cmocka_unit_test(test_terminate_while_stopped),
      cmocka_unit_test(test_target_fails),
      cmocka_unit_test(test_target_ends_by_itself),
      cmocka_unit_test(test_fetch_on_demand),
      cmocka_unit_test(test_post_drops_stale),
      cmocka_unit_test(test_engine_target),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
