/* server.c: the LSP server core (see server.h): JSON-RPC envelope decoding, the lifecycle
 * state machine, dispatch through methods.def, the exactly-one-response rule, server->client
 * requests with response routing, and background jobs tied to requests so $/cancelRequest
 * can stop them. The transport (rpc/conn.h) delivers whole message bodies; nothing here
 * knows about framing. */
#include "lsp/server.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/log.h"
#include "lsp/analysis.h"
#include "lsp/server_impl.h"
#include "rpc/conn.h"

const lsp_method_entry lsp__methods[] = {
#define X(id, name, handler, kind, flags, cap) {name, handler, kind, flags, cap},
#include "lsp/methods.def"
#undef X
};
const size_t lsp__n_methods = sizeof lsp__methods / sizeof lsp__methods[0];

/* ================================================================ sending */

static void send_msg(lsp_server *s, json_t *m) {
  if (!m) { ls_log_error("lsp: out of memory building a message"); return; }
  if (rpc_conn_send_json(s->impl->conn, m) != LS_OK)
    ls_log_debug("lsp: message dropped (connection closing)");
  json_decref(m);
}

static void send_error(lsp_server *s, json_t *id, int code, const char *msg) {
  json_t *m = json_pack("{s:s, s:O?, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                        "error", "code", code, "message", msg);
  send_msg(s, m);
}

int lsp_notify(lsp_server *s, const char *method, json_t *params) {
  json_t *m = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
  if (!m) { json_decref(params); return LS_ENOMEM; }
  if (params) json_object_set_new(m, "params", params);
  send_msg(s, m);
  return LS_OK;
}

void lsp_log_message(lsp_server *s, int type, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ls_log(type == LSP_MSG_ERROR ? LS_LOG_ERROR : type == LSP_MSG_WARNING ? LS_LOG_WARN : LS_LOG_INFO,
         "lsp: %s", buf);
  lsp_notify(s, "window/logMessage", json_pack("{s:i, s:s}", "type", type, "message", buf));
}

int lsp_publish_diagnostics(lsp_server *s, const char *uri, int64_t version, json_t *diagnostics) {
  json_t *p = json_pack("{s:s, s:o}", "uri", uri, "diagnostics", diagnostics ? diagnostics : json_array());
  if (!p) return LS_ENOMEM;
  if (version >= 0) json_object_set_new(p, "version", json_integer(version));
  return lsp_notify(s, "textDocument/publishDiagnostics", p);
}

int lsp_request(lsp_server *s, const char *method, json_t *params, lsp_response_fn cb, void *ud) {
  lsp_server_impl *im = s->impl;
  lsp_out_req *o = ls_calloc(1, sizeof *o);
  if (!o) { json_decref(params); return LS_ENOMEM; }
  o->id = ++im->next_out_id;
  o->cb = cb;
  o->ud = ud;
  json_t *m = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", (json_int_t)o->id, "method", method);
  if (!m) { ls_free(o); json_decref(params); return LS_ENOMEM; }
  if (params) json_object_set_new(m, "params", params);
  o->next = im->out;
  im->out = o;
  send_msg(s, m);
  return LS_OK;
}

static void route_response(lsp_server *s, json_t *msg, json_t *id) {
  lsp_server_impl *im = s->impl;
  if (!json_is_integer(id)) { ls_log_warn("lsp: response with an id we never used"); return; }
  for (lsp_out_req **pp = &im->out; *pp; pp = &(*pp)->next) {
    lsp_out_req *o = *pp;
    if (o->id != json_integer_value(id)) continue;
    *pp = o->next;
    json_t *err = json_object_get(msg, "error");
    json_t *res = json_object_get(msg, "result");
    if (err) ls_log_warn("lsp: the client answered request %" PRId64 " with an error", o->id);
    if (o->cb) o->cb(s, o->ud, err ? NULL : (res ? res : json_null()), err);
    ls_free(o);
    return;
  }
  ls_log_warn("lsp: response to unknown request id %" JSON_INTEGER_FORMAT, json_integer_value(id));
}

/* ================================================================ requests */

static void req_release(lsp_server *s, lsp_req *r) {
  if (--r->refs > 0) return;
  for (lsp_req **pp = &s->impl->pending; *pp; pp = &(*pp)->next)
    if (*pp == r) { *pp = r->next; break; }
  json_decref(r->id);
  ls_free(r);
}

void lsp_reply(lsp_server *s, lsp_req *req, json_t *result) {
  if (req->replied) {
    ls_log_debug("lsp: dropping a second reply to '%s' (already answered or canceled)", req->method);
    json_decref(result);
    return;
  }
  req->replied = 1;
  json_t *m = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", req->id, "result",
                        result ? result : json_null());
  send_msg(s, m);
}

void lsp_reply_error(lsp_server *s, lsp_req *req, int code, const char *fmt, ...) {
  if (req->replied) {
    ls_log_debug("lsp: dropping a second reply to '%s'", req->method);
    return;
  }
  req->replied = 1;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ls_log_debug("lsp: '%s' -> error %d: %s", req->method, code, buf);
  send_error(s, req->id, code, buf);
}

int lsp_req_done(const lsp_req *req) { return req->replied; }
const char *lsp_req_method(const lsp_req *req) { return req->method; }

/* ================================================================ jobs */

static void job_work(rpc_job *job, void *arg) {
  lsp_job *lj = arg;
  lj->work(job, lj->arg);
}

static void maybe_close(lsp_server *s) {
  lsp_server_impl *im = s->impl;
  if (s->state == LSP_S_EXITING && !im->jobs && !im->close_started) {
    im->close_started = 1;
    rpc_conn_close(im->conn, NULL, NULL);
  }
}

static void job_done(rpc_job *job, void *arg, int canceled) {
  lsp_job *lj = arg;
  lsp_server *s = lj->s;
  (void)job;
  for (lsp_job **pp = &s->impl->jobs; *pp; pp = &(*pp)->next)
    if (*pp == lj) { *pp = lj->next; break; }
  lj->done(s, lj->req, lj->arg, canceled);
  if (lj->req) {
    if (!lj->req->replied)
      lsp_reply_error(s, lj->req, canceled ? LSP_ERR_REQUEST_CANCELLED : LSP_ERR_INTERNAL,
                      canceled ? "request '%s' was canceled" : "'%s' finished without a result",
                      lj->req->method);
    lj->req->job = NULL;
    req_release(s, lj->req);
  }
  ls_free(lj);
  maybe_close(s);
}

static int run_job(lsp_server *s, lsp_req *req, rpc_job_work_fn work, lsp_job_done_fn done, void *arg) {
  if (s->state == LSP_S_EXITING) return LS_ESTATE;
  lsp_job *lj = ls_calloc(1, sizeof *lj);
  if (!lj) return LS_ENOMEM;
  lj->s = s;
  lj->req = req;
  lj->work = work;
  lj->done = done;
  lj->arg = arg;
  int rc = rpc_job_submit(&s->impl->loop, job_work, job_done, lj, &lj->job);
  if (rc != LS_OK) { ls_free(lj); return rc; }
  lj->next = s->impl->jobs;
  s->impl->jobs = lj;
  if (req) {
    req->deferred = 1;
    req->refs++;
    req->job = lj;
  }
  return LS_OK;
}

int lsp_req_run_job(lsp_server *s, lsp_req *req, rpc_job_work_fn work, lsp_job_done_fn done, void *arg) {
  return run_job(s, req, work, done, arg);
}

int lsp_server_run_job(lsp_server *s, rpc_job_work_fn work, lsp_job_done_fn done, void *arg) {
  return run_job(s, NULL, work, done, arg);
}

void lsp__server_cancel(lsp_server *s, json_t *id) {
  for (lsp_req *r = s->impl->pending; r; r = r->next) {
    if (!json_equal(r->id, id)) continue;
    if (!r->replied)
      lsp_reply_error(s, r, LSP_ERR_REQUEST_CANCELLED, "request '%s' was canceled", r->method);
    if (r->job) rpc_job_cancel(r->job->job);
    return;
  }
  /* Already answered or never seen: nothing to do (the spec allows late cancels). */
}

void lsp__server_cancel_all(lsp_server *s, lsp_req *except, const char *why) {
  for (lsp_req *r = s->impl->pending; r; r = r->next)
    if (!r->replied && r != except) lsp_reply_error(s, r, LSP_ERR_REQUEST_CANCELLED, "request '%s' canceled: %s", r->method, why);
  for (lsp_job *j = s->impl->jobs; j; j = j->next) rpc_job_cancel(j->job);
}

typedef struct post_ctx {
  lsp_server *s;
  void (*fn)(lsp_server *s, void *arg);
  void *arg;
} post_ctx;

static void post_run(void *arg) {
  post_ctx *p = arg;
  p->fn(p->s, p->arg);
  ls_free(p);
}

int lsp_server_post(lsp_server *s, void (*fn)(lsp_server *s, void *arg), void *arg) {
  post_ctx *p = ls_malloc(sizeof *p);
  if (!p) return LS_ENOMEM;
  p->s = s;
  p->fn = fn;
  p->arg = arg;
  int rc = rpc_conn_post(s->impl->conn, post_run, p);
  if (rc != LS_OK) ls_free(p);
  return rc;
}

void lsp_server_stop(lsp_server *s, int exit_code) {
  if (s->state == LSP_S_EXITING) return;
  lsp__server_cancel_all(s, NULL, "the server is exiting");
  s->state = LSP_S_EXITING;
  s->exit_code = exit_code;
  maybe_close(s);
}

/* ================================================================ dispatch */

static void trace_incoming(lsp_server *s, const char *method, json_t *id, json_t *params) {
  if (s->trace == LSP_TRACE_OFF || strcmp(method, "$/logTrace") == 0) return;
  char msg[256];
  if (id) {
    char *ids = json_dumps(id, JSON_ENCODE_ANY);
    snprintf(msg, sizeof msg, "Received request '%s - (%s)'.", method, ids ? ids : "?");
    free(ids);
  } else {
    snprintf(msg, sizeof msg, "Received notification '%s'.", method);
  }
  json_t *p = json_pack("{s:s}", "message", msg);
  if (p && s->trace == LSP_TRACE_VERBOSE && params) {
    char *ps = json_dumps(params, JSON_COMPACT);
    if (ps) json_object_set_new(p, "verbose", json_string(ps));
    free(ps);
  }
  lsp_notify(s, "$/logTrace", p);
}

static const lsp_method_entry *find_method(lsp_server *s, const char *name) {
  for (size_t i = 0; i < lsp__n_methods; i++) {
    if (strcmp(lsp__methods[i].name, name) != 0) continue;
    if ((lsp__methods[i].flags & LSP_F_DEBUG) && !s->debug_methods) return NULL;
    return &lsp__methods[i];
  }
  return NULL;
}

static void dispatch(lsp_server *s, const char *method, json_t *id, json_t *params) {
  lsp_server_impl *im = s->impl;
  trace_incoming(s, method, id, params);
  const lsp_method_entry *e = find_method(s, method);
  if (s->state == LSP_S_UNINITIALIZED && !(e && (e->flags & LSP_F_PRE_INIT))) {
    if (id) {
      char buf[256];
      snprintf(buf, sizeof buf, "server not initialized: '%.200s' received before 'initialize'", method);
      send_error(s, id, LSP_ERR_SERVER_NOT_INITIALIZED, buf);
    } else {
      ls_log_info("lsp: dropping '%s' received before 'initialize'", method);
    }
    return;
  }
  if (s->state == LSP_S_SHUTDOWN && strcmp(method, "exit") != 0) {
    if (id) {
      char buf[256];
      snprintf(buf, sizeof buf, "'%.200s' received after 'shutdown'", method);
      send_error(s, id, LSP_ERR_INVALID_REQUEST, buf);
    }
    return;
  }
  if (e && (e->kind == LSP_REQUEST) != (id != NULL)) {
    /* A request sent as a notification or the reverse: treat as unknown, with a clear note. */
    if (id) {
      char buf[256];
      snprintf(buf, sizeof buf, "'%.200s' is a notification and must not carry an id", method);
      send_error(s, id, LSP_ERR_INVALID_REQUEST, buf);
      return;
    }
    ls_log_warn("lsp: '%s' is a request but came without an id; ignored", method);
    return;
  }
  if (!e) {
    if (id) {
      char buf[256];
      snprintf(buf, sizeof buf, "method not found: '%.200s'", method);
      send_error(s, id, LSP_ERR_METHOD_NOT_FOUND, buf);
    } else if (strncmp(method, "$/", 2) != 0) {
      ls_log_info("lsp: ignoring unknown notification '%s'", method);
    }
    return;
  }
  lsp_req *r = NULL;
  if (id) {
    r = ls_calloc(1, sizeof *r);
    if (!r) { send_error(s, id, LSP_ERR_INTERNAL, "out of memory"); return; }
    r->id = json_incref(id);
    snprintf(r->method, sizeof r->method, "%s", method);
    r->refs = 1;
    r->next = im->pending;
    im->pending = r;
  }
  im->cur_method = method;
  int rc = e->fn(s, r, params);
  im->cur_method = NULL;
  if (r) {
    if (!r->replied && !r->deferred)
      lsp_reply_error(s, r, LSP_ERR_INTERNAL, "'%s' failed: %s", method,
                      rc ? ls_err_str(rc) : "the handler gave no result");
    req_release(s, r);
  } else if (rc && rc != LS_EINVAL) {
    ls_log_warn("lsp: '%s' failed: %s", method, ls_err_str(rc));
  }
}

static int valid_id(const json_t *id) { return json_is_string(id) || json_is_integer(id); }

static void on_message(void *ud, const char *body, size_t len) {
  lsp_server *s = ud;
  if (s->state == LSP_S_EXITING) return;
  json_error_t jerr;
  json_t *m = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (!m) {
    char buf[300];
    snprintf(buf, sizeof buf, "parse error at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    send_error(s, NULL, LSP_ERR_PARSE, buf);
    return;
  }
  if (!json_is_object(m)) {
    send_error(s, NULL, LSP_ERR_INVALID_REQUEST,
               json_is_array(m) ? "batch messages are not supported" : "a message must be a JSON object");
    json_decref(m);
    return;
  }
  json_t *id = json_object_get(m, "id");
  json_t *method = json_object_get(m, "method");
  json_t *jsonrpc = json_object_get(m, "jsonrpc");
  json_t *reply_id = id && valid_id(id) ? id : NULL;
  if (!json_is_string(jsonrpc) || strcmp(json_string_value(jsonrpc), "2.0") != 0) {
    send_error(s, reply_id, LSP_ERR_INVALID_REQUEST, "field 'jsonrpc' must be \"2.0\"");
  } else if (id && !valid_id(id)) {
    send_error(s, NULL, LSP_ERR_INVALID_REQUEST, "field 'id' must be an integer or a string");
  } else if (method) {
    json_t *params = json_object_get(m, "params");
    /* JSON-RPC allows only a structured value, but clients send "params": null for methods
     * that take none (shutdown, exit); it means no params, as an absent field does. */
    if (json_is_null(params)) params = NULL;
    if (!json_is_string(method)) {
      send_error(s, reply_id, LSP_ERR_INVALID_REQUEST, "field 'method' must be a string");
    } else if (params && !json_is_object(params) && !json_is_array(params)) {
      if (id) send_error(s, id, LSP_ERR_INVALID_PARAMS, "field 'params' must be an object or an array");
      else ls_log_warn("lsp: '%s': params must be an object or an array", json_string_value(method));
    } else {
      dispatch(s, json_string_value(method), id, params);
    }
  } else if (id && (json_object_get(m, "result") || json_object_get(m, "error"))) {
    route_response(s, m, id);
  } else {
    send_error(s, reply_id, LSP_ERR_INVALID_REQUEST, "a message needs a 'method' (or 'result'/'error' for a response)");
  }
  json_decref(m);
}

static void on_frame_error(void *ud, int code, const char *msg) {
  lsp_server *s = ud;
  if (s->state == LSP_S_EXITING) return;
  /* No id can be recovered from a broken frame: the answer JSON-RPC allows is id null. */
  (void)code;
  send_error(s, NULL, LSP_ERR_PARSE, msg);
}

static void on_eof(void *ud) {
  lsp_server *s = ud;
  ls_log_info("lsp: end of input");
  lsp_server_stop(s, s->shutdown_received ? 0 : 1);
}

/* ================================================================ lifecycle */

const char *lsp_enc_name(ls_pos_enc enc) {
  return enc == LS_POS_UTF8 ? "utf-8" : enc == LS_POS_UTF32 ? "utf-32" : "utf-16";
}

int lsp_server_main(const lsp_server_opts *o) {
  lsp_server s;
  lsp_server_impl im;
  memset(&s, 0, sizeof s);
  memset(&im, 0, sizeof im);
  s.impl = &im;
  s.enc = LS_POS_UTF16;
  s.exit_code = 1;
  s.settings = json_object();
  const char *dbg = getenv("LAYERSCOPE_DEBUG_METHODS");
  s.debug_methods = dbg && strcmp(dbg, "1") == 0;
  lsp_docs_init(&s.docs);
  if (lsp_cache_new(&s.cache) != LS_OK) { ls_log_error("lsp: out of memory"); json_decref(s.settings); return 1; }
  if (uv_loop_init(&im.loop) != 0) {
    ls_log_error("lsp: cannot create the event loop");
    lsp_cache_free(s.cache);
    json_decref(s.settings);
    return 1;
  }
  rpc_conn_opts co = {o->in_fd, o->out_fd, o->max_message, o->prefill, o->prefill_len};
  rpc_conn_cbs cbs = {on_message, on_frame_error, on_eof};
  int rc = rpc_conn_new(&im.loop, &co, &cbs, &s, &im.conn);
  if (rc == LS_OK) {
    rpc_conn_start(im.conn);
    uv_run(&im.loop, UV_RUN_DEFAULT);
  }
  /* Outstanding server->client requests will never be answered now. */
  while (im.out) {
    lsp_out_req *n = im.out->next;
    if (im.out->cb) im.out->cb(&s, im.out->ud, NULL, NULL);
    ls_free(im.out);
    im.out = n;
  }
  while (im.pending) { /* only possible if the loop stopped abnormally */
    lsp_req *n = im.pending->next;
    json_decref(im.pending->id);
    ls_free(im.pending);
    im.pending = n;
  }
  rpc_conn_free(im.conn);
  if (uv_loop_close(&im.loop) != 0) ls_log_warn("lsp: event loop closed with handles still open");
  lsp_cache_free(s.cache);
  lsp_docs_deinit(&s.docs);
  json_decref(s.client_caps);
  json_decref(s.init_options);
  json_decref(s.settings);
  json_decref(s.client_info);
  return rc == LS_OK ? s.exit_code : 1;
}
