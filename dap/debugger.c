/* debugger.c: the DAP front end of a debug run (see debugger.h). Launch turns the arguments
 * into a target (dap_target_open_engine: the engine's forward pass) and opens a run on it with
 * its callbacks posted to the loop thread; each callback becomes DAP messages: a stop the
 * `stopped` event, output `output` events, progress the progress events (when the client
 * takes them), and the end a Debug Console line with the result, `exited` and `terminated`.
 * No run logic lives here: threads, stop merging and restart are core/debug/run.c's. */
#include "dap/debugger.h"

#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "agent/target_agent.h"
#include "dap/vars.h"

/* ------------------------------------------------------------------ the session's debugger */

dap_dbg *dap_dbg_get(dap_server *s, ls_diag *d) {
  if (!s->session.dbg) ls_diag_set(d, LS_ESTATE, "no launched config yet");
  return s->session.dbg;
}

const char *dap_dbg_what(const dap_server *s) {
  /* before a launch there is no target yet: messages name the adapter's usual one */
  return s->session.dbg ? ls_dbg_run_info(s->session.dbg->run)->what : "forward pass";
}

dap_dbg *dap_dbg_stopped(dap_server *s, dap_req *req) {
  dap_dbg *x = s->session.dbg;
  if (s->session.state != DAP_S_STOPPED || !x || !ls_dbg_run_stop_get(x->run)) {
    dap_respond_error(s, req, DAP_ERR_BAD_STATE, "%s: only possible while the %s is stopped (it is %s)",
                      dap_req_command(req), dap_dbg_what(s), dap_state_name(s->session.state));
    return NULL;
  }
  return x;
}

const ls_dbg_run_stop *dap_dbg_stop(dap_dbg *x) { return ls_dbg_run_stop_get(x->run); }

/* ------------------------------------------------------------------ the run's callbacks */

int dap_dbg_frame_id(dap_dbg *x, int thread, int index) {
  int k = 0;
  while (k < x->n_frame_threads && x->frame_threads[k].thread != thread) k++;
  if (k == x->n_frame_threads) {
    if (k == (int)(sizeof x->frame_threads / sizeof x->frame_threads[0])) return 0;
    x->frame_threads[k].thread = thread;
    x->frame_threads[k].base = k * DAP_FRAMES_PER_THREAD;
    x->n_frame_threads++;
  }
  return x->frame_threads[k].base + index + 1;
}

int dap_dbg_frame_of(dap_dbg *x, int id, int *thread, int *index) {
  for (int k = 0; k < x->n_frame_threads; k++) {
    int i = id - 1 - x->frame_threads[k].base;
    if (i >= 0 && i < DAP_FRAMES_PER_THREAD) {
      *thread = x->frame_threads[k].thread;
      *index = i;
      return 0;
    }
  }
  return -1;
}

static void on_stop(void *ud, const ls_dbg_run_stop *st) {
  dap_dbg *x = ud;
  dap_server *s = x->s;
  if (s->session.state == DAP_S_STOPPED) {
    /* another thread (rank) stopped too (all-stop): its own `stopped` event; the references
     * and frames handed out for the first stay valid */
  } else if (s->session.state != DAP_S_RUNNING) {
    return; /* terminated meanwhile */
  } else {
    dap_vars_reset(x->vars);
    x->n_frame_threads = 0;
    dap_session_transition(&s->session, DAP_S_STOPPED, NULL);
  }
  const ls_dbg_stop *why = &st->why;
  json_t *body = json_pack("{s:s, s:i, s:b}", "reason", ls_dbg_reason_name(why->reason), "threadId", st->thread,
                           "allThreadsStopped", st->all_stopped);
  if (!body) return;
  if (why->description[0]) json_object_set_new(body, "description", json_string(why->description));
  if (why->reason == LS_DBG_STOP_EXCEPTION) json_object_set_new(body, "text", json_string(why->description));
  if (why->n_hit) {
    json_t *ids = json_array();
    for (int i = 0; i < why->n_hit; i++) json_array_append_new(ids, json_integer(why->hit_ids[i]));
    json_object_set_new(body, "hitBreakpointIds", ids);
  }
  dap_send_event(s, "stopped", body);
}

static void on_end(void *ud, const ls_dbg_run_end *end) {
  dap_dbg *x = ud;
  dap_server *s = x->s;
  if (s->session.state == DAP_S_TERMINATED) return;
  const char *what = ls_dbg_run_info(x->run)->what;
  if (end->rc == LS_OK) {
    if (end->summary[0]) dap_send_output(s, "console", "%s done: %s\n", what, end->summary);
    else dap_send_output(s, "console", "%s done\n", what);
  } else if (end->rc != LS_ECANCELED) {
    dap_send_output(s, "important", "layerscope: the run failed: %s\n", end->message);
  }
  dap_send_event(s, "exited", json_pack("{s:i}", "exitCode", end->exit_code));
  dap_session_end(s);
}

static void on_output(void *ud, ls_dbg_output kind, const char *text) {
  dap_dbg *x = ud;
  if (kind == LS_DBG_OUT_NOTE) dap_send_output(x->s, "console", "layerscope: %s\n", text);
  else dap_send_output(x->s, kind == LS_DBG_OUT_STDERR ? "stderr" : "stdout", "%s", text);
}

static void on_progress(void *ud, ls_dbg_progress phase, const char *id, double fraction, const char *title,
                        const char *message) {
  dap_dbg *x = ud;
  if (!x->progress) return;
  char pid[64];
  snprintf(pid, sizeof pid, "layerscope-%s", id);
  if (phase == LS_DBG_PROGRESS_START)
    dap_send_event(x->s, "progressStart", json_pack("{s:s, s:s, s:s}", "progressId", pid, "title", title ? title : "",
                                                    "message", message ? message : ""));
  else if (phase == LS_DBG_PROGRESS_UPDATE)
    dap_send_event(x->s, "progressUpdate", json_pack("{s:s, s:s, s:f}", "progressId", pid, "message",
                                                     message ? message : "", "percentage",
                                                     (double)(int)(fraction * 100 + 0.5)));
  else
    dap_send_event(x->s, "progressEnd", json_pack("{s:s}", "progressId", pid));
}

/* The module table grew (the agent target reports named_modules() as the program runs): the
 * Model Layers view hears of it through the custom event `layerscopeModules`, and function
 * breakpoints that were pending and now match a module are sent as `breakpoint` changes. */
static void on_modules(void *ud, size_t start, size_t n) {
  dap_dbg *x = ud;
  json_t *mods = json_array();
  for (size_t i = start; mods && i < start + n; i++) {
    ls_dbg_module m;
    if (ls_dbg_module_get(x->g, (int)i, &m) != LS_OK) break;
    json_array_append_new(mods, json_pack("{s:s, s:s, s:i}", "name", m.name, "type", m.type, "parent", m.parent));
  }
  dap_send_event(x->s, "layerscopeModules", json_pack("{s:i, s:o}", "start", (int)start, "modules", mods));
  ls_dbg_bp_result res[64];
  size_t k = ls_dbg_function_bps_status(x->g, res, 64);
  for (size_t i = 0; i < k; i++) {
    if (!res[i].verified) continue;
    size_t j = 0;
    while (j < x->n_verified && x->verified[j] != res[i].id) j++;
    if (j < x->n_verified || x->n_verified == sizeof x->verified / sizeof x->verified[0]) continue;
    x->verified[x->n_verified++] = res[i].id;
    dap_send_event(x->s, "breakpoint", json_pack("{s:s, s:{s:i, s:b, s:s}}", "reason", "changed", "breakpoint", "id",
                                                 res[i].id, "verified", 1, "message", res[i].message));
  }
}

static int post(void *ud, void (*fn)(void *arg), void *arg) { return dap_server_post_fn(ud, fn, arg); }

/* ------------------------------------------------------------------ lifecycle */

int dap_target_open_engine(const dap_launch_args *la, ls_dbg_target *out, ls_diag *d) {
  int64_t *tokens = NULL;
  if (la->tokens) {
    if (!(tokens = ls_calloc(la->n_tokens, sizeof *tokens))) return ls_diag_set(d, LS_ENOMEM, "out of memory");
    for (size_t i = 0; i < la->n_tokens; i++) tokens[i] = la->tokens[i];
  }
  ls_dbg_engine_opts eo = {.config = la->config, .weights = la->weights, .random_weights = la->random_weights,
                          .max_layers = la->layers, .generate = la->generate, .tokens = tokens, .n_tokens = la->n_tokens,
                            .batch = la->batch, .attention_mask = la->mask,
                            .prompt = la->prompt, .tokenizer = la->tokenizer,
                           .n_random = la->random_tokens, .seed = la->seed, .threads = la->threads,
                           .compute = la->compute, .native_frames = la->show_native_frames,
                           .tokens_what = la->prompt ? "prompt" : la->tokens ? "tokens" : "randomTokens"};
  int rc = ls_dbg_target_engine_new(out, &eo, d);
  ls_free(tokens);
  return rc;
}

int dap_target_open(const dap_launch_args *la, ls_dbg_target *out, ls_diag *d) {
  if (!la->program && !la->module && !la->connect) return dap_target_open_engine(la, out, d);
  ls_agent_target_opts o = {
      .launch = {.python = la->python, .program = la->program, .module = la->module,
                 .args = (const char *const *)la->args, .n_args = la->n_args, .cwd = la->cwd,
                 .env = (const char *const *)la->env, .n_env = la->n_env, .out_fd = -1, .err_fd = -1},
      .attach = la->attach ? la->connect : NULL, .no_debug = la->no_debug, .capture_output = 1};
  if (!la->attach && la->connect)
    return ls_diag_set(d, LS_EINVAL, "launch: 'connect' belongs to an attach configuration (\"request\": \"attach\")");
  if (la->attach && (la->program || la->module))
    return ls_diag_set(d, LS_EINVAL, "attach: 'program' and 'module' belong to a launch configuration");
  return ls_agent_target_new(out, &o, d);
}

void dap_dbg_launch(dap_server *s, dap_req *req, dap_launch_args *la) {
  ls_diag d;
  ls_diag_init(&d);
  int rc;
  const char *verb = la->attach ? "attach" : "launch";
  s->session.launch = *la;
  s->session.launched = 1;
  la = &s->session.launch;
  if ((rc = dap_dbg_open(s, &d)) != LS_OK) {
    /* not launched after all: the next launch starts from nothing */
    dap_launch_args_free(&s->session.launch);
    s->session.launched = 0;
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "%s: %s", verb, d.msg[0] ? d.msg : ls_err_str(rc));
    return;
  }
  dap_session_transition(&s->session, DAP_S_CONFIGURING, NULL);
  if (la->unknown) dap_send_output(s, "important", "layerscope: %s\n", la->unknown);
  dap_respond(s, req, NULL);
  dap_send_event(s, "initialized", NULL);
}

int dap_dbg_open(dap_server *s, ls_diag *d) {
  const dap_launch_args *la = &s->session.launch;
  if (!s->session.open_target) return LS_OK; /* no target in this build: configurationDone says so */
  dap_dbg *x = ls_calloc(1, sizeof *x);
  if (!x || !(x->vars = dap_vars_new())) {
    ls_free(x);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  x->s = s;
  x->progress = json_is_true(json_object_get(s->client_args, "supportsProgressReporting"));
  ls_dbg_target t;
  int rc = s->session.open_target(la, &t, d);
  int agent = la->program || la->module || la->connect;
  ls_dbg_run_opts o = {.stop_on_entry = la->stop_on_entry, .no_debug = la->no_debug,
                       .cbs = {on_stop, on_end, on_output, on_progress, x, on_modules, post, s},
                       .record = la->record, .record_kind = agent ? "watch" : "debug",
                       .record_program = la->program ? la->program : la->module};
  if (rc == LS_OK) rc = ls_dbg_run_open(&x->run, t, &o, d);
  if (rc == LS_OK) {
    x->g = ls_dbg_run_dbg(x->run);
    rc = ls_dbg_run_check(x->run, d);
  }
  if (rc != LS_OK) {
    dap_dbg_free(x);
    return rc;
  }
  s->session.dbg = x;
  return LS_OK;
}

int dap_dbg_start(dap_server *s, dap_dbg *x, ls_diag *d) {
  (void)s;
  return ls_dbg_run_start(x->run, d);
}

int dap_dbg_resume(dap_server *s, dap_dbg *x, ls_dbg_action action) {
  dap_vars_reset(x->vars);
  x->n_frame_threads = 0;
  dap_session_transition(&s->session, DAP_S_RUNNING, NULL);
  return ls_dbg_run_resume(x->run, action);
}

int dap_dbg_restart(dap_server *s, dap_dbg *x, ls_diag *d) {
  dap_vars_reset(x->vars);
  x->n_frame_threads = 0;
  if (s->session.state == DAP_S_STOPPED) dap_session_transition(&s->session, DAP_S_RUNNING, NULL);
  return ls_dbg_run_restart(x->run, d);
}

void dap_dbg_end(dap_dbg *x) {
  if (x) ls_dbg_run_terminate(x->run);
}

void dap_dbg_free(dap_dbg *x) {
  if (!x) return;
  ls_dbg_run_close(x->run);
  dap_vars_free(x->vars);
  ls_free(x);
}
