/* engine.c: dap_engine_ops for the layerscope debugger (see engine.h). start() launches a
 * runner thread that opens the weights (reporting progress), prepares the tokens and runs
 * the forward pass with ls_dbg_check as its hook; pauses are posted to the loop thread,
 * which sends `stopped`; at the end the top-k next tokens go to the Debug Console and the
 * session ends with `exited` and `terminated`. Posted work carries the dap_dbg itself (one
 * pause at a time, fields guarded by its mutex), so nothing is allocated per post. */
#include "dap/engine.h"

#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/log.h"

/* ------------------------------------------------------------------ the session's debugger */

dap_dbg *dap_dbg_get(dap_server *s, ls_diag *d) {
  if (s->session.engine_ctx) return s->session.engine_ctx;
  if (!s->session.launched || s->session.engine != &dap_engine_debugger) {
    ls_diag_set(d, LS_ESTATE, "no launched config yet");
    return NULL;
  }
  dap_dbg *x = ls_calloc(1, sizeof *x);
  if (!x) {
    ls_diag_set(d, LS_ENOMEM, "out of memory");
    return NULL;
  }
  x->s = s;
  pthread_mutex_init(&x->mu, NULL);
  if (!(x->vars = dap_vars_new())) {
    ls_diag_set(d, LS_ENOMEM, "out of memory");
    goto fail;
  }
  int rc = ls_model_load_file(s->session.launch.config, NULL, &x->m, d);
  if (rc != LS_OK) goto fail;
  if (ls_dbg_new(&x->g, x->m, d) != LS_OK) goto fail;
  json_t *pr = json_object_get(s->client_args, "supportsProgressReporting");
  x->progress = json_is_true(pr);
  s->session.engine_ctx = x;
  return x;
fail:
  if (x->m) ls_model_free(x->m);
  dap_vars_free(x->vars);
  pthread_mutex_destroy(&x->mu);
  ls_free(x);
  return NULL;
}

dap_dbg *dap_dbg_stopped(dap_server *s, dap_req *req) {
  dap_dbg *x = s->session.engine_ctx;
  if (s->session.state != DAP_S_STOPPED || !x || !x->ev) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "%s: only possible while the forward pass is stopped (it is %s)",
                      dap_req_command(req), dap_state_name(s->session.state));
    return NULL;
  }
  return x;
}

int dap_dbg_resume(dap_server *s, dap_dbg *x, int action) {
  dap_vars_reset(x->vars);
  ls_dbg_resumed(x->g);
  x->ev = NULL;
  dap_session_transition(&s->session, DAP_S_RUNNING, NULL);
  pthread_mutex_lock(&x->mu);
  int rc = x->f ? ls_fwd_resume(x->f, action) : LS_ESTATE;
  pthread_mutex_unlock(&x->mu);
  return rc;
}

/* ------------------------------------------------------------------ engine thread side */

static int hook(void *ud, const ls_fwd_event *ev) {
  dap_dbg *x = ud;
  ls_dbg_stop stop;
  if (!ls_dbg_check(x->g, ev, &stop)) return LS_FWD_CONTINUE;
  pthread_mutex_lock(&x->mu);
  x->pending_stop = stop;
  pthread_mutex_unlock(&x->mu);
  return LS_FWD_PAUSE;
}

/* Loop thread: the pass is paused; tell the client. */
static void on_stopped_loop(dap_server *s, void *arg) {
  dap_dbg *x = arg;
  if (s->session.state != DAP_S_RUNNING) return; /* terminated meanwhile */
  pthread_mutex_lock(&x->mu);
  if (x->pause_gen != x->gen) { /* a pause of a pass that restart ended */
    pthread_mutex_unlock(&x->mu);
    return;
  }
  ls_dbg_stop st = x->pending_stop;
  int why = x->pending_reason;
  const ls_fwd_event *ev = x->f ? ls_fwd_paused_event(x->f) : NULL;
  pthread_mutex_unlock(&x->mu);
  if (!ev) return;
  if (why == LS_FWD_REASON_STEP) st.reason = LS_DBG_STOP_STEP;
  else if (why == LS_FWD_REASON_REQUEST) st.reason = LS_DBG_STOP_PAUSE;
  x->stop = st;
  x->ev = ev;
  dap_vars_reset(x->vars);
  dap_session_transition(&s->session, DAP_S_STOPPED, NULL);
  json_t *body = json_pack("{s:s, s:i, s:b}", "reason", ls_dbg_reason_name(st.reason), "threadId", 1,
                           "allThreadsStopped", 1);
  if (!body) return;
  if (st.description[0]) json_object_set_new(body, "description", json_string(st.description));
  if (st.reason == LS_DBG_STOP_EXCEPTION) json_object_set_new(body, "text", json_string(st.description));
  if (st.n_hit) {
    json_t *ids = json_array();
    for (int i = 0; i < st.n_hit; i++) json_array_append_new(ids, json_integer(st.hit_ids[i]));
    json_object_set_new(body, "hitBreakpointIds", ids);
  }
  dap_send_event(s, "stopped", body);
}

static void on_pause(void *ud, const ls_fwd_event *ev, ls_fwd_reason why) {
  (void)ev;
  dap_dbg *x = ud;
  pthread_mutex_lock(&x->mu);
  x->pending_reason = (int)why;
  x->pause_gen = x->gen;
  if (why != LS_FWD_REASON_HOOK) memset(&x->pending_stop, 0, sizeof x->pending_stop);
  /* the engine thread's own stack: only this thread can unwind itself */
  x->n_native = x->s->session.launch.show_native_frames ? ls_backtrace_capture(x->native, 32, 1) : 0;
  pthread_mutex_unlock(&x->mu);
  dap_server_post(x->s, on_stopped_loop, x);
}

static void progress(void *ud, double fraction, const char *what) {
  dap_dbg *x = ud;
  if (!x->progress) return;
  int pct = (int)(fraction * 100 + 0.5);
  dap_send_event(x->s, "progressUpdate",
                 json_pack("{s:s, s:s, s:f}", "progressId", "layerscope-weights", "message", what ? what : "",
                           "percentage", (double)pct));
}

/* Loop thread: the pass ended (done, failed or aborted). */
static void on_finished_loop(dap_server *s, void *arg) {
  dap_dbg *x = arg;
  pthread_mutex_lock(&x->mu);
  int stale = x->run_gen != x->gen; /* a pass ended by restart */
  pthread_mutex_unlock(&x->mu);
  if (stale || s->session.state == DAP_S_TERMINATED) return;
  int code = 0;
  if (x->run_rc == LS_OK) {
    int64_t rows = 0, cols = 0;
    char line[512];
    pthread_mutex_lock(&x->mu);
    ls_fwd_logits(x->f, &rows, &cols);
    int k = cols < 5 ? (int)cols : 5;
    int ok = k > 0 && x->m->head == LS_MODEL_HEAD_CAUSAL_LM && ls_fwd_next_tokens_line(x->f, k, line, sizeof line) == LS_OK;
    pthread_mutex_unlock(&x->mu);
    if (ok) {
      dap_send_output(s, "console", "forward pass done: %s\n", line);
    } else {
      dap_send_output(s, "console", "forward pass done\n");
    }
  } else if (x->run_rc != LS_ECANCELED) {
    dap_send_output(s, "important", "layerscope: the run failed: %s\n", x->run_msg);
    code = 1;
  }
  dap_send_event(s, "exited", json_pack("{s:i}", "exitCode", code));
  dap_session_end(s);
}

/* Tokens of the pass: the given ones, that many seeded random ones, or 8 random ones. */
static size_t n_tokens(const dap_launch_args *la) {
  size_t n = la->tokens ? la->n_tokens : (size_t)la->random_tokens;
  return n ? n : 8;
}

static void *runner(void *arg) {
  dap_dbg *x = arg;
  pthread_mutex_lock(&x->mu);
  unsigned gen = x->gen;
  pthread_mutex_unlock(&x->mu);
  dap_server *s = x->s;
  const dap_launch_args *la = &s->session.launch;
  ls_diag d;
  ls_diag_init(&d);
  int64_t *tokens = NULL;
  int rc;
  if (x->progress)
    dap_send_event(s, "progressStart", json_pack("{s:s, s:s, s:s}", "progressId", "layerscope-weights", "title",
                                                 "Loading weights", "message",
                                                 la->weights ? la->weights : "random initialisation"));
  ls_engine_opts eo = {.weights = la->weights, .seed = la->seed, .threads = la->threads,
                       .compute = la->compute, .progress = progress, .progress_ud = x};
  ls_engine *e = NULL;
  rc = ls_engine_open(&e, x->m, &eo, &d);
  if (x->progress) dap_send_event(s, "progressEnd", json_pack("{s:s}", "progressId", "layerscope-weights"));
  if (rc != LS_OK) goto out;
  if (la->compute != ls_engine_compute_get(e))
    dap_send_output(s, "console", "layerscope: this CPU has no AVX512_BF16; computing in fp32\n");
  size_t n = n_tokens(la);
  tokens = ls_calloc(n, sizeof *tokens);
  if (!tokens) { rc = ls_diag_set(&d, LS_ENOMEM, "out of memory"); goto out; }
  uint64_t st = la->seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  for (size_t i = 0; i < n; i++) {
    if (la->tokens) {
      tokens[i] = la->tokens[i];
      continue;
    }
    uint64_t z = (st += 0x9e3779b97f4a7c15ull); /* splitmix64, as `layerscope run` */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    tokens[i] = (int64_t)(z % (uint64_t)x->m->sem.vocab);
  }
  ls_fwd_opts fo = {.hook = la->no_debug ? NULL : hook, .ud = x, .on_pause = on_pause};
  ls_fwd *f = NULL;
  if ((rc = ls_fwd_new(&f, e, tokens, (int64_t)n, &fo, &d)) != LS_OK) goto out;
  pthread_mutex_lock(&x->mu);
  x->e = e;
  x->f = f;
  e = NULL;
  int stop = x->stop_req;
  if (x->pause_req) ls_fwd_request_pause(f);
  x->pause_req = 0;
  pthread_mutex_unlock(&x->mu);
  rc = stop ? LS_ECANCELED : ls_fwd_run(f, &d);
out:
  if (e) ls_engine_close(e);
  ls_free(tokens);
  pthread_mutex_lock(&x->mu);
  x->run_rc = rc;
  x->run_gen = gen;
  snprintf(x->run_msg, sizeof x->run_msg, "%s", d.msg);
  pthread_mutex_unlock(&x->mu);
  dap_server_post(s, on_finished_loop, x);
  return NULL;
}

/* ------------------------------------------------------------------ dap_engine_ops */

/* At launch: the config loads (the debugger is created with it), the engine runs it with
 * these weights, and the tokens fit it; what the runner would find only after launch. */
static int eng_check(dap_server *s, dap_session *ss, ls_diag *d) {
  dap_dbg *x = dap_dbg_get(s, d);
  if (!x) return d->code ? d->code : LS_ESTATE;
  int rc = ls_engine_check(x->m, ss->launch.weights, d);
  if (rc) return rc;
  size_t n = n_tokens(&ss->launch);
  int64_t *t = ls_calloc(n, sizeof *t); /* random tokens are drawn below vocab: zeros stand in */
  if (!t) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  for (size_t i = 0; ss->launch.tokens && i < n; i++) t[i] = ss->launch.tokens[i];
  rc = ls_fwd_check_tokens(x->m, t, (int64_t)n, d);
  ls_free(t);
  if (rc) ls_diag_prefix(d, "%s: ", ss->launch.tokens ? "tokens" : "randomTokens");
  return rc;
}

static int eng_start(dap_server *s, dap_session *ss, ls_diag *d) {
  dap_dbg *x = dap_dbg_get(s, d);
  if (!x) return d->code ? d->code : LS_ESTATE;
  ls_dbg_set_stop_on_entry(x->g, ss->launch.stop_on_entry && !ss->launch.no_debug);
  ls_dbg_run_reset(x->g);
  if (pthread_create(&x->runner, NULL, runner, x) != 0) return ls_diag_set(d, LS_ENOMEM, "cannot start the engine thread");
  x->runner_started = 1;
  return LS_OK;
}

static void eng_stop(dap_server *s, dap_session *ss) {
  (void)s;
  dap_dbg *x = ss->engine_ctx;
  if (!x) return;
  pthread_mutex_lock(&x->mu);
  x->stop_req = 1;
  if (x->f) ls_fwd_abort(x->f);
  pthread_mutex_unlock(&x->mu);
  x->ev = NULL;
}

static void eng_destroy(dap_server *s, dap_session *ss) {
  (void)s;
  dap_dbg *x = ss->engine_ctx;
  if (!x) return;
  eng_stop(s, ss);
  if (x->runner_started) pthread_join(x->runner, NULL);
  if (x->f) ls_fwd_free(x->f);
  if (x->e) ls_engine_close(x->e);
  dap_vars_free(x->vars);
  ls_dbg_free(x->g);
  ls_model_free(x->m);
  pthread_mutex_destroy(&x->mu);
  ls_free(x);
  ss->engine_ctx = NULL;
}

int dap_dbg_restart(dap_server *s, dap_dbg *x, ls_diag *d) {
  pthread_mutex_lock(&x->mu);
  x->gen++;
  x->stop_req = 1;
  if (x->f) ls_fwd_abort(x->f);
  pthread_mutex_unlock(&x->mu);
  if (x->runner_started) pthread_join(x->runner, NULL);
  x->runner_started = 0;
  if (x->f) ls_fwd_free(x->f);
  if (x->e) ls_engine_close(x->e);
  x->f = NULL;
  x->e = NULL;
  x->stop_req = 0;
  x->pause_req = 0;
  x->ev = NULL;
  dap_vars_reset(x->vars);
  ls_dbg_resumed(x->g);
  if (s->session.state == DAP_S_STOPPED) dap_session_transition(&s->session, DAP_S_RUNNING, NULL);
  return eng_start(s, &s->session, d);
}

const dap_engine_ops dap_engine_debugger = {eng_start, eng_stop, eng_destroy, eng_check};
