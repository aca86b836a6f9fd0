/* target_agent.c: the agent target (see target_agent.h). run() starts the program (or
 * attaches), pumps its output, and waits for it to end; the link's reader threads turn the
 * agents' events into the run's: `modules` into the shared table, `stopped` into an event
 * with its vars, frames and decided stop. The control thread's resume / pause / terminate
 * become requests to the agents. */
#include "agent/target_agent.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/target_int.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/strmap.h"
#include "core/debug/debug.h"

static char *dup_or_null(tgt *t, const char *s) {
  if (!s) return NULL;
  char *c = ls_strdup(s);
  char **no = c ? ls_reallocarray(t->owned, t->n_owned + 1, sizeof *no) : NULL;
  if (!no) {
    ls_free(c);
    return NULL;
  }
  t->owned = no;
  t->owned[t->n_owned++] = c;
  return c;
}

/* ------------------------------------------------------------ the agents' events */

static peer *peer_of(tgt *t, ls_agent_conn *c) {
  for (int i = 0; i < t->n_peers; i++)
    if (t->peers[i]->c == c) return t->peers[i];
  return NULL;
}

static void peer_name(peer *p) {
  int rank = ls_agent_conn_rank(p->c);
  if (rank >= 0) snprintf(p->name, sizeof p->name, "rank %d (pid %d)", rank, ls_agent_conn_pid(p->c));
  else snprintf(p->name, sizeof p->name, "pid %d", ls_agent_conn_pid(p->c));
}

static int layer_of(const char *name) {
  for (const char *s = name; (s = strchr(s, '.')); s++) {
    char *end;
    long v = strtol(s + 1, &end, 10);
    if (end > s + 1 && (*end == '.' || !*end)) return (int)v;
  }
  return -1;
}

/* The process's module entries [start, start+n) become the table's (by name); t->mu held.
 * Returns the new entries (*n_add of them; ls_free) for the host, told after mu is released. */
static ls_dbg_module *on_modules(tgt *t, peer *p, json_t *b, size_t *n_out) {
  *n_out = 0;
  size_t start = (size_t)json_integer_value(json_object_get(b, "start"));
  json_t *mods = json_object_get(b, "modules");
  size_t n = json_array_size(mods);
  if (start != p->n_map || n > 1000000) return NULL; /* out of order: the agent is ours, so ignore */
  int *map = ls_reallocarray(p->map, p->n_map + n, sizeof *map);
  ls_dbg_module *add = ls_calloc(n ? n : 1, sizeof *add);
  if (!map || !add) {
    if (map) p->map = map;
    ls_free(add);
    return NULL;
  }
  p->map = map;
  size_t n_add = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *m = json_array_get(mods, i);
    const char *name = json_string_value(json_array_get(m, 0)), *type = json_string_value(json_array_get(m, 1));
    json_int_t parent = json_integer_value(json_array_get(m, 2));
    if (!name) name = "";
    if (!type) type = "Module";
    void *hit = ls_strmap_get(&t->by_name, name);
    if (hit) {
      p->map[p->n_map++] = (int)((intptr_t)hit - 1);
      continue;
    }
    if (t->n_mods == t->cap_mods) {
      size_t cap = t->cap_mods ? t->cap_mods * 2 : 64;
      char **nn = ls_reallocarray(t->names, cap, sizeof *nn), **nt = nn ? ls_reallocarray(t->types, cap, sizeof *nt) : NULL;
      int *nd = nt ? ls_reallocarray(t->depths, cap, sizeof *nd) : NULL;
      if (nn) t->names = nn;
      if (nt) t->types = nt;
      if (!nd) break;
      t->depths = nd;
      t->cap_mods = cap;
    }
    char *cn = ls_strdup(name), *ct = ls_strdup(type);
    if (!cn || !ct || ls_strmap_put(&t->by_name, cn, (void *)(intptr_t)(t->n_mods + 1)) != LS_OK) {
      ls_free(cn);
      ls_free(ct);
      break;
    }
    int idx = (int)t->n_mods++;
    t->names[idx] = cn;
    t->types[idx] = ct;
    int gparent = parent >= 0 && (size_t)parent < p->n_map ? p->map[parent] : -1;
    int depth = gparent >= 0 ? t->depths[gparent] + 1 : 0;
    t->depths[idx] = depth;
    add[n_add++] = (ls_dbg_module){cn, ct, gparent, depth, layer_of(cn), 0};
    p->map[p->n_map++] = idx;
  }
  *n_out = n_add;
  return add;
}

static int dtype_of(const char *s, ls_dtype *out) { return s && ls_dtype_parse(s, out) == LS_OK; }

static int fetch(void *ud, const ls_dbg_var *v, void *dst, uint64_t nbytes, ls_diag *d);

static const struct { const char *scope; ls_dbg_group g; } SCOPES[] = {
    {"Inputs", LS_DBG_G_INPUTS}, {"Outputs", LS_DBG_G_OUTPUTS}, {"Parameters", LS_DBG_G_PARAMS},
    {"Gradients", LS_DBG_G_GRADS}};

/* A `stopped` body as an event of the run; NULL when it cannot be read. t->mu held. */
static stop_rec *stop_build(tgt *t, peer *p, json_t *b, ls_dbg_stop *why, ls_dbg_cause *cause) {
  stop_rec *s = ls_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->body = json_incref(b);
  json_int_t local = json_integer_value(json_object_get(b, "module"));
  if (local < 0 || (size_t)local >= p->n_map) {
    json_decref(s->body);
    ls_free(s);
    return NULL;
  }
  int mi = p->map[local];
  ls_dbg_event *ev = &s->ev;
  ev->module = mi;
  ev->name = t->names[mi];
  ev->type = t->types[mi];
  ev->layer = layer_of(ev->name);
  ev->depth = t->depths[mi];
  const char *kind = json_string_value(json_object_get(b, "event"));
  ev->phase = kind && strcmp(kind, "enter") == 0 ? LS_DBG_ENTER : LS_DBG_EXIT;
  const char *pass = json_string_value(json_object_get(b, "phase"));
  ev->pass = pass && strcmp(pass, "backward") == 0 ? LS_DBG_BACKWARD : LS_DBG_FORWARD;
  ev->thread = p->thread;
  ev->step = (uint64_t)json_integer_value(json_object_get(b, "step"));
  ev->fetch = fetch;
  ev->fetch_ud = p;
  json_t *scopes = json_object_get(b, "scopes");
  for (size_t k = 0; k < sizeof SCOPES / sizeof SCOPES[0]; k++) {
    json_t *arr = json_object_get(scopes, SCOPES[k].scope);
    ls_dbg_group g = SCOPES[k].g;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
      if (ev->n_vars[g] == MAX_VARS) break;
      ls_dbg_var *v = &s->vars[g][ev->n_vars[g]];
      json_t *shape = json_object_get(e, "shape");
      size_t nd = json_array_size(shape);
      if (!dtype_of(json_string_value(json_object_get(e, "dtype")), &v->dtype) ||
          !json_is_integer(json_object_get(e, "handle")))
        continue;
      v->name = json_string_value(json_object_get(e, "name"));
      if (!v->name) continue;
      /* more than 4 dimensions: the leading ones merged (the expression language holds 4) */
      int64_t lead = 1;
      size_t skip = nd > LS_DBG_MAX_DIMS ? nd - LS_DBG_MAX_DIMS + 1 : 0;
      for (size_t j = 0; j < skip; j++) lead *= json_integer_value(json_array_get(shape, j));
      v->ndim = 0;
      if (skip) v->shape[v->ndim++] = lead;
      for (size_t j = skip; j < nd; j++) v->shape[v->ndim++] = json_integer_value(json_array_get(shape, j));
      v->data = NULL;
      v->handle = (uint64_t)json_integer_value(json_object_get(e, "handle"));
      v->summary = json_string_value(json_object_get(e, "value"));
      ev->n_vars[g]++;
    }
    ev->vars[g] = s->vars[g];
  }
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(b, "frames"), i, f) {
    if (s->n_frames == MAX_FRAMES) break;
    /* the agent marks frames inside torch and the standard library "subtle" */
    ls_dbg_frame_kind fk = json_is_true(json_object_get(f, "subtle")) ? LS_DBG_FRAME_LIBRARY : LS_DBG_FRAME_SOURCE;
    s->frames[s->n_frames++] = (ls_dbg_frame){fk, -1, json_string_value(json_object_get(f, "name")),
                                              NULL, json_string_value(json_object_get(f, "file")),
                                              (int)json_integer_value(json_object_get(f, "line"))};
  }
  memset(why, 0, sizeof *why);
  const char *reason = json_string_value(json_object_get(b, "reason"));
  const char *desc = json_string_value(json_object_get(b, "description"));
  snprintf(why->description, sizeof why->description, "%s", desc ? desc : "");
  *cause = LS_DBG_CAUSE_DECIDED;
  if (!reason || strcmp(reason, "step") == 0) *cause = LS_DBG_CAUSE_STEP;
  else if (strcmp(reason, "pause") == 0) *cause = LS_DBG_CAUSE_PAUSE;
  else if (strcmp(reason, "entry") == 0) why->reason = LS_DBG_STOP_ENTRY;
  else if (strcmp(reason, "exception") == 0) {
    why->reason = LS_DBG_STOP_EXCEPTION;
    why->filter = !desc ? NULL : strncmp(desc, "NaN", 3) == 0 ? "nan" : strncmp(desc, "Inf", 3) == 0 ? "inf" : "fp16";
  } else {
    why->reason = LS_DBG_STOP_FUNCTION_BREAKPOINT;
    json_array_foreach(json_object_get(b, "hitBreakpointIds"), i, f)
      if (why->n_hit < LS_DBG_MAX_HIT_IDS) why->hit_ids[why->n_hit++] = (int)json_integer_value(f);
  }
  return s;
}

static void stop_free(stop_rec *s) {
  if (!s) return;
  json_decref(s->body);
  ls_free(s);
}

static void on_event(void *ud, ls_agent_conn *c, const char *event, json_t *body) {
  tgt *t = ud;
  int modules = strcmp(event, "modules") == 0;
  if (modules) pthread_mutex_lock(&t->report_mu);
  pthread_mutex_lock(&t->mu);
  peer *p = peer_of(t, c);
  if (!p && strcmp(event, "hello") == 0 && t->n_peers < MAX_PEERS && (p = ls_calloc(1, sizeof *p))) {
    p->t = t;
    p->c = c;
    p->thread = ls_agent_conn_id(c);
    p->alive = 1;
    t->peers[t->n_peers++] = p;
    t->ever_connected = 1;
    peer_name(p);
    json_t *cfg = json_deep_copy(t->config);
    int pause = t->pause_req;
    pthread_mutex_unlock(&t->mu);
    ls_agent_conn_send(c, "configure", cfg);
    json_decref(cfg);
    if (pause) ls_agent_conn_send(c, "pause", NULL);
    return;
  }
  if (!p) {
    pthread_mutex_unlock(&t->mu);
    if (modules) pthread_mutex_unlock(&t->report_mu);
    return;
  }
  const ls_dbg_target_host *h = t->host;
  if (strcmp(event, "modules") == 0) {
    size_t n_add;
    ls_dbg_module *add = on_modules(t, p, body, &n_add);
    pthread_mutex_unlock(&t->mu);
    /* the strings stay valid: the table only grows, and only this reader adds to it for p */
    if (add && n_add && h) h->modules(h->hud, add, n_add);
    pthread_mutex_unlock(&t->report_mu);
    ls_free(add);
    return;
  } else if (strcmp(event, "health") == 0 && h && h->health) {
    hsample hs;
    int ok = ls__agent_health_build(p, body, &hs) == 0;
    pthread_mutex_unlock(&t->mu);
    if (ok) h->health(h->hud, &hs.h); /* strings borrowed from body, alive for this call */
    ls_free(hs.rows);
    ls_free(hs.src);
    return;
  } else if (strcmp(event, "rank") == 0) {
    peer_name(p);
  } else if (strcmp(event, "stopped") == 0 && h && !p->stop) {
    ls_dbg_stop why;
    ls_dbg_cause cause;
    stop_rec *s = stop_build(t, p, body, &why, &cause);
    if (s) {
      p->stop = s;
      pthread_mutex_unlock(&t->mu);
      /* the agent flushed the program's stdout and stderr before it sent `stopped`: what is in
       * the pipes now was written before the stop, and a debugger user reads it first */
      ls__agent_output_drain(t);
      h->stopped(h->hud, &s->ev, cause, cause == LS_DBG_CAUSE_DECIDED ? &why : NULL);
      return;
    }
    ls_agent_conn_send(c, "continue", NULL); /* unreadable: never leave the program hanging */
  }
  pthread_mutex_unlock(&t->mu);
}

static void on_closed(void *ud, ls_agent_conn *c) {
  tgt *t = ud;
  pthread_mutex_lock(&t->mu);
  peer *p = peer_of(t, c);
  if (p) p->alive = 0;
  const ls_dbg_target_host *h = t->host;
  int was_stopped = p && p->stop;
  char name[64];
  snprintf(name, sizeof name, "%s", p ? p->name : "an agent");
  pthread_mutex_unlock(&t->mu);
  if (h && was_stopped && !t->terminate_req) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s ended while it was stopped (the process exited or was killed)", name);
    h->output(h->hud, LS_DBG_OUT_NOTE, msg);
  }
}

static int fetch(void *ud, const ls_dbg_var *v, void *dst, uint64_t nbytes, ls_diag *d) {
  peer *p = ud;
  json_t *args = json_pack("{s:I}", "handle", (json_int_t)v->handle), *resp = NULL;
  void *data = NULL;
  size_t n = 0;
  int rc = ls_agent_conn_request(p->c, "tensor", args, FETCH_TIMEOUT_MS, &resp, &data, &n, d);
  json_decref(args);
  if (rc == LS_OK && n != nbytes)
    rc = ls_diag_set(d, LS_ESHAPE, "%s: the program sent %zu bytes where %llu were expected", v->name, n,
                     (unsigned long long)nbytes);
  if (rc == LS_OK) memcpy(dst, data, n);
  json_decref(resp);
  ls_free(data);
  return rc;
}

/* ------------------------------------------------------------ the target ops */

static void a_describe(void *ud, ls_dbg_target_info *out) {
  (void)ud;
  *out = (ls_dbg_target_info){"program", NULL, NULL};
}

/* Before the run: the socket to attach to, or the program (or module) and cwd, the interpreter
 * (one that imports torch, found once and kept) and the agent's files; so a launch that cannot
 * work is launch's error. */
static int a_check(void *ud, ls_diag *d) {
  tgt *t = ud;
  if (t->o.attach) {
    struct stat st;
    if (stat(t->o.attach, &st) != 0)
      return ls_diag_set(d, LS_ENOENT, "%s: %s (did the program call layerscope_agent.listen()?)", t->o.attach,
                         strerror(errno));
    if (!S_ISSOCK(st.st_mode)) return ls_diag_set(d, LS_EINVAL, "%s: not a socket", t->o.attach);
    return LS_OK;
  }
  char py[PATH_MAX], pydir[PATH_MAX], lib[PATH_MAX];
  int rc = ls_agent_launch_check(&t->o.launch, d);
  if (rc == LS_OK) rc = ls_agent_paths(pydir, sizeof pydir, lib, sizeof lib, d);
  if (rc == LS_OK) rc = ls_agent_find_python(t->o.launch.python, py, sizeof py, d);
  if (rc == LS_OK && !(t->o.launch.python = dup_or_null(t, py))) rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
  if (rc == LS_OK) t->o.launch.python_ok = 1;
  return rc;
}

static void cfg_bp(void *ud, const ls_dbg_fbp_info *b) {
  static const char *const PH[] = {"forward", "backward", "both"};
  json_array_append_new(ud, json_pack("{s:i, s:s, s:s, s:s, s:s}", "id", b->id, "name", b->glob, "phase",
                                      PH[b->phase < 0 || b->phase > 2 ? 0 : b->phase], "condition", b->condition,
                                      "hitCondition", b->hit_condition));
}

static void a_configure(void *ud, ls_dbg *g) {
  tgt *t = ud;
  json_t *bps = json_array(), *exc = json_array();
  unsigned flags = 0;
  int entry = 0;
  ls_dbg_config_get(g, cfg_bp, bps, &flags, &entry);
  if (flags & LS_DBG_EXC_NAN) json_array_append_new(exc, json_string("nan"));
  if (flags & LS_DBG_EXC_INF) json_array_append_new(exc, json_string("inf"));
  if (flags & LS_DBG_EXC_FP16) json_array_append_new(exc, json_string("fp16"));
  if (t->o.no_debug) {
    json_array_clear(bps);
    json_array_clear(exc);
    entry = 0;
  }
  json_t *cfg = json_pack("{s:o, s:o, s:b, s:{s:i}}", "breakpoints", bps, "exceptions", exc, "stopOnEntry", entry,
                          "health", "every", t->o.health_every > 0 ? t->o.health_every : 0);
  pthread_mutex_lock(&t->mu);
  json_decref(t->config);
  t->config = cfg;
  ls_agent_conn *cs[MAX_PEERS];
  int n = 0;
  for (int i = 0; i < t->n_peers; i++)
    if (t->peers[i]->alive) cs[n++] = t->peers[i]->c;
  pthread_mutex_unlock(&t->mu);
  for (int i = 0; i < n; i++) ls_agent_conn_send(cs[i], "configure", cfg);
}

static int a_run(void *ud, const ls_dbg_target_host *host, ls_dbg_target_end *end, ls_diag *d) {
  tgt *t = ud;
  ls_agent_cbs cb = {on_event, on_closed, t};
  pthread_mutex_lock(&t->mu);
  t->host = host;
  pthread_mutex_unlock(&t->mu);
  pump pumps[2];
  int n_pumps = 0, rc;
  if (t->o.attach) {
    rc = ls_agent_srv_attach(&t->srv, t->o.attach, &cb, d);
    if (rc == LS_OK) { /* until the program detaches or ends, or terminate */
      for (;;) {
        pthread_mutex_lock(&t->mu);
        int alive = 0, term = t->terminate_req;
        for (int i = 0; i < t->n_peers; i++) alive |= t->peers[i]->alive;
        int waiting = !t->ever_connected;
        pthread_mutex_unlock(&t->mu);
        if (term || (!alive && !waiting)) break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
      end->exit_code = 0;
      snprintf(end->summary, sizeof end->summary, "detached from the program");
    }
  } else {
    host->progress(host->hud, LS_DBG_PROGRESS_START, "program", 0, "Starting the program",
                   t->o.launch.program ? t->o.launch.program : t->o.launch.module);
    rc = ls_agent_srv_open(&t->srv, &cb, d);
    if (rc == LS_OK) rc = ls__agent_start_program(t, pumps, &n_pumps, d);
    host->progress(host->hud, LS_DBG_PROGRESS_END, "program", 1, NULL, NULL);
    int status = 0;
    if (rc == LS_OK) rc = ls__agent_wait_program(t, &status);
    for (int i = 0; i < n_pumps; i++) pthread_join(pumps[i].th, NULL);
    if (rc == LS_OK) {
      end->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pthread_mutex_lock(&t->mu);
      int connected = t->ever_connected, term = t->terminate_req;
      pthread_mutex_unlock(&t->mu);
      if (term) rc = LS_ECANCELED;
      else if (!connected && end->exit_code == 127)
        rc = ls_diag_set(d, LS_ENOENT, "the program could not be started (exit status 127)");
      else if (!connected && end->exit_code != 0)
        rc = ls_diag_set(d, LS_EIO, "the program exited with status %d before it ran any nn.Module "
                                    "(its output is above)", end->exit_code);
      else if (!connected)
        snprintf(end->summary, sizeof end->summary, "the program ended without running any nn.Module");
      else
        snprintf(end->summary, sizeof end->summary, "the program exited with status %d", end->exit_code);
    }
  }
  pthread_mutex_lock(&t->mu);
  int term = t->terminate_req;
  ls_agent_srv *srv = t->srv;
  t->srv = NULL;
  pthread_mutex_unlock(&t->mu);
  ls_agent_srv_close(srv); /* joins the readers: no callback after this */
  pthread_mutex_lock(&t->mu);
  for (int i = 0; i < t->n_peers; i++) {
    stop_free(t->peers[i]->stop);
    ls_free(t->peers[i]->map);
    ls_free(t->peers[i]);
  }
  t->n_peers = 0;
  t->host = NULL;
  pthread_mutex_unlock(&t->mu);
  if (rc == LS_OK && term && !t->o.attach) rc = LS_ECANCELED;
  return rc;
}

static int a_resume(void *ud, int thread, ls_dbg_action action) {
  static const char *const A[] = {"continue", "stepIn", "next", "stepOut"};
  tgt *t = ud;
  pthread_mutex_lock(&t->mu);
  peer *p = NULL;
  for (int i = 0; i < t->n_peers; i++)
    if (t->peers[i]->thread == thread) p = t->peers[i];
  if (!p || !p->stop) {
    pthread_mutex_unlock(&t->mu);
    return LS_ESTATE;
  }
  stop_rec *s = p->stop;
  p->stop = NULL;
  ls_agent_conn *c = p->c;
  pthread_mutex_unlock(&t->mu);
  json_t *args = json_pack("{s:s}", "action", A[(unsigned)action < 4 ? action : 0]);
  int rc = ls_agent_conn_send(c, "continue", args);
  json_decref(args);
  stop_free(s);
  return rc == LS_OK ? LS_OK : LS_ESTATE;
}

static void a_pause(void *ud) {
  tgt *t = ud;
  pthread_mutex_lock(&t->mu);
  t->pause_req = 1;
  ls_agent_conn *cs[MAX_PEERS];
  int n = 0;
  for (int i = 0; i < t->n_peers; i++)
    if (t->peers[i]->alive && !t->peers[i]->stop) cs[n++] = t->peers[i]->c;
  pthread_mutex_unlock(&t->mu);
  for (int i = 0; i < n; i++) ls_agent_conn_send(cs[i], "pause", NULL);
}

static void a_terminate(void *ud) {
  tgt *t = ud;
  pthread_mutex_lock(&t->mu);
  t->terminate_req = 1;
  ls_agent_conn *cs[MAX_PEERS];
  int n = 0;
  for (int i = 0; i < t->n_peers; i++)
    if (t->peers[i]->alive) cs[n++] = t->peers[i]->c;
  pthread_mutex_unlock(&t->mu);
  /* attach: the program runs on without hooks; launch: ls__agent_wait_program kills it */
  if (t->o.attach)
    for (int i = 0; i < n; i++) ls_agent_conn_send(cs[i], "detach", NULL);
}

static void a_reset(void *ud) {
  tgt *t = ud;
  pthread_mutex_lock(&t->mu);
  t->terminate_req = t->pause_req = 0;
  t->ever_connected = 0;
  t->pid = 0;
  pthread_mutex_unlock(&t->mu);
}

static int a_threads(void *ud, ls_dbg_thread *out, int cap) {
  tgt *t = ud;
  pthread_mutex_lock(&t->mu);
  int n = 0;
  for (int i = 0; i < t->n_peers && n < cap; i++) {
    if (!t->peers[i]->alive) continue;
    peer_name(t->peers[i]);
    out[n++] = (ls_dbg_thread){t->peers[i]->thread, t->peers[i]->name};
  }
  pthread_mutex_unlock(&t->mu);
  return n;
}

static int a_frames(void *ud, int thread, ls_dbg_frame *out, int cap) {
  tgt *t = ud;
  pthread_mutex_lock(&t->mu);
  int n = 0;
  for (int i = 0; i < t->n_peers; i++) {
    peer *p = t->peers[i];
    if (p->thread != thread || !p->stop) continue;
    for (int k = 0; k < p->stop->n_frames && n < cap; k++) out[n++] = p->stop->frames[k];
  }
  pthread_mutex_unlock(&t->mu);
  return n;
}

static void a_free(void *ud) {
  tgt *t = ud;
  for (size_t i = 0; i < t->n_mods; i++) {
    ls_free(t->names[i]);
    ls_free(t->types[i]);
  }
  ls_free(t->names);
  ls_free(t->types);
  ls_free(t->depths);
  ls_strmap_deinit(&t->by_name);
  for (size_t i = 0; i < t->n_owned; i++) ls_free(t->owned[i]);
  ls_free(t->owned);
  ls_free((void *)t->o.launch.args);
  ls_free((void *)t->o.launch.env);
  json_decref(t->config);
  pthread_mutex_destroy(&t->mu);
  pthread_mutex_destroy(&t->report_mu);
  pthread_mutex_destroy(&t->out_mu);
  ls_free(t);
}

/* A parameter or buffer by its full path, from the process of a stopped thread. */
static int a_fetch_named(void *ud, int thread, const char *path, ls_dbg_var *meta, void **buf, ls_diag *d) {
  tgt *t = ud;
  pthread_mutex_lock(&t->mu);
  ls_agent_conn *c = NULL;
  for (int i = 0; i < t->n_peers; i++)
    if (t->peers[i]->thread == thread && t->peers[i]->stop) c = t->peers[i]->c;
  pthread_mutex_unlock(&t->mu);
  if (!c) return 0;
  json_t *args = json_pack("{s:s}", "name", path), *resp = NULL;
  size_t n = 0;
  int rc = ls_agent_conn_request(c, "param", args, FETCH_TIMEOUT_MS, &resp, buf, &n, d);
  json_decref(args);
  if (rc != LS_OK) return rc == LS_EINVAL ? 0 : rc; /* EINVAL: the agent has no such tensor */
  json_t *b = json_object_get(resp, "body"), *shape = json_object_get(b, "shape");
  int ok = dtype_of(json_string_value(json_object_get(b, "dtype")), &meta->dtype) &&
           json_array_size(shape) <= LS_DBG_MAX_DIMS;
  meta->name = NULL;
  meta->ndim = (int)json_array_size(shape);
  uint64_t count = 1, nbytes = 0;
  for (int i = 0; ok && i < meta->ndim; i++) {
    meta->shape[i] = json_integer_value(json_array_get(shape, (size_t)i));
    ok = meta->shape[i] >= 0;
    count *= (uint64_t)meta->shape[i];
  }
  ok = ok && ls_dtype_nbytes(meta->dtype, count, &nbytes) == LS_OK && nbytes == n;
  json_decref(resp);
  if (!ok) {
    ls_free(*buf);
    *buf = NULL;
    return ls_diag_set(d, LS_EFORMAT, "%s: the program sent a tensor that does not match its shape", path);
  }
  if (!*buf && !(*buf = ls_malloc(1))) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  return 1;
}

static const ls_dbg_target_ops k_agent_ops = {a_describe, a_check,  a_run,   a_resume,   a_pause,
                                              a_terminate, a_reset, a_threads, a_frames, a_free,
                                              a_configure, a_fetch_named};

int ls_agent_target_new(ls_dbg_target *out, const ls_agent_target_opts *o, ls_diag *d) {
  tgt *t = ls_calloc(1, sizeof *t);
  if (!t) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  pthread_mutex_init(&t->mu, NULL);
  pthread_mutex_init(&t->report_mu, NULL);
  pthread_mutex_init(&t->out_mu, NULL);
  t->out_fds[0] = t->out_fds[1] = -1;
  ls_strmap_init(&t->by_name);
  t->o = *o;
  t->config = json_pack("{s:[], s:[], s:b, s:{s:i}}", "breakpoints", "exceptions", "stopOnEntry", 0, "health", "every",
                        o->health_every > 0 ? o->health_every : 0);
  ls_agent_launch *la = &t->o.launch;
  int n_args = la->n_args > 0 ? la->n_args : 0, n_env = la->n_env > 0 ? la->n_env : 0;
  const char **args = ls_calloc((size_t)n_args + 1, sizeof *args), **env = ls_calloc((size_t)n_env + 1, sizeof *env);
  int ok = args && env && t->config;
  for (int i = 0; ok && i < n_args; i++) ok = (args[i] = dup_or_null(t, o->launch.args[i])) != NULL;
  for (int i = 0; ok && i < n_env; i++) ok = (env[i] = dup_or_null(t, o->launch.env[i])) != NULL;
  la->args = args;
  la->env = env;
#define DUP(f) if (ok && f) ok = (f = dup_or_null(t, f)) != NULL
  DUP(la->python);
  DUP(la->program);
  DUP(la->module);
  DUP(la->cwd);
  DUP(t->o.attach);
#undef DUP
  if (!ok) {
    a_free(t);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  *out = (ls_dbg_target){&k_agent_ops, t};
  return LS_OK;
}
