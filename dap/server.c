/* server.c: the DAP adapter core (see server.h): request decoding, seq numbering,
 * exactly-one-response, dispatch through requests.def, and the cross-thread event path.
 * DAP has no id to answer an undecodable message with, so framing and JSON errors are
 * logged to stderr; a message that decodes far enough to have a `seq` gets an error
 * response.
 *
 * No reply is ever lost: a response that cannot be built (a string that is not valid UTF-8
 * makes jansson refuse the whole message; a body a handler failed to build for a request
 * whose response needs one, DAP_F_BODY) is replaced by an error response for the same
 * request, and an error message is repaired to valid UTF-8 before it is packed. */
#include "dap/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "dap/debugger.h"
#include "rpc/conn.h"

struct dap_req {
  int64_t seq;
  char *command;    /* owned: the request's command, whole (the response repeats it) */
  int flags;        /* dap_flags of its requests.def line (0 for an unknown command) */
  int replied;
  int deferred;
  int in_dispatch;  /* dispatch frees it; otherwise a deferred request is freed when answered */
};

typedef struct dap_entry {
  const char *name;
  int (*fn)(dap_server *s, dap_req *req, json_t *args);
  int flags;
} dap_entry;

static const dap_entry k_requests[] = {
#define X(id, name, handler, flags) {name, handler, flags},
#include "dap/requests.def"
#undef X
};

typedef struct dap_server_impl {
  uv_loop_t loop;
  rpc_conn *conn;
  int64_t seq;        /* last seq sent */
  int stopping;
  int terminated_sent;
} dap_server_impl;

/* ================================================================ sending */

/* Loop thread: numbers and writes msg (stolen). */
static void send_now(dap_server *s, json_t *msg) {
  if (!msg) { ls_log_error("dap: out of memory building a message"); return; }
  json_object_set_new(msg, "seq", json_integer(++s->impl->seq));
  if (rpc_conn_send_json(s->impl->conn, msg) != LS_OK) ls_log_debug("dap: message dropped (closing)");
  json_decref(msg);
}

static void req_free(dap_req *r) {
  ls_free(r->command);
  ls_free(r);
}

typedef struct posted_msg {
  dap_server *s;
  json_t *msg;
} posted_msg;

static void posted_send(void *arg) {
  posted_msg *p = arg;
  send_now(p->s, p->msg);
  ls_free(p);
}

/* Any thread. */
static int send_msg(dap_server *s, json_t *msg) {
  if (!msg) return LS_ENOMEM;
  if (rpc_conn_on_loop_thread(s->impl->conn)) { send_now(s, msg); return LS_OK; }
  posted_msg *p = ls_malloc(sizeof *p);
  if (!p) { json_decref(msg); return LS_ENOMEM; }
  p->s = s;
  p->msg = msg;
  int rc = rpc_conn_post(s->impl->conn, posted_send, p);
  if (rc != LS_OK) { json_decref(msg); ls_free(p); }
  return rc;
}

int dap_send_event(dap_server *s, const char *event, json_t *body) {
  json_t *m = json_pack("{s:s, s:s}", "type", "event", "event", event);
  if (!m) { json_decref(body); return LS_ENOMEM; }
  if (body) json_object_set_new(m, "body", body);
  return send_msg(s, m);
}

int dap_send_output(dap_server *s, const char *category, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ls_utf8_repair(buf);
  return dap_send_event(s, "output", json_pack("{s:s, s:s}", "category", category, "output", buf));
}

static json_t *error_json(int64_t seq, const char *command, int id, const char *msg) {
  return json_pack("{s:s, s:I, s:b, s:s, s:s, s:{s:{s:i, s:s, s:b}}}", "type", "response", "request_seq",
                   (json_int_t)seq, "success", 0, "command", command, "message", msg, "body", "error", "id", id,
                   "format", msg, "showUser", 1);
}

/* Sends an error response; when msg (or command) is not valid UTF-8 the message is packed
 * again repaired, so the request is answered whatever text the failure carried. */
static void respond_error_raw(dap_server *s, int64_t seq, const char *command, int id, const char *msg) {
  json_t *m = error_json(seq, command, id, msg);
  if (!m) {
    char fixed_msg[1024], fixed_cmd[128];
    snprintf(fixed_msg, sizeof fixed_msg, "%s", msg);
    snprintf(fixed_cmd, sizeof fixed_cmd, "%s", command);
    ls_log_warn("dap: an error response to '%s' needed repairing (not valid UTF-8)", ls_utf8_repair(fixed_cmd));
    m = error_json(seq, fixed_cmd, id, ls_utf8_repair(fixed_msg));
  }
  send_now(s, m);
}

void dap_respond(dap_server *s, dap_req *req, json_t *body) {
  if (req->replied) {
    ls_log_debug("dap: dropping a second response to '%s'", req->command);
    json_decref(body);
    return;
  }
  json_t *m = json_pack("{s:s, s:I, s:b, s:s}", "type", "response", "request_seq", (json_int_t)req->seq,
                        "success", 1, "command", req->command);
  int built = m && (body ? json_object_set_new(m, "body", body) == 0 : !(req->flags & DAP_F_BODY));
  if (!m) json_decref(body);
  if (!built) {
    /* the handler's body (or the envelope) could not be built: answer with an error */
    json_decref(m);
    dap_respond_error(s, req, DAP_ERR_INTERNAL, "%s: the response could not be built (out of memory, or a "
                      "text that is not valid UTF-8)", req->command);
    return;
  }
  req->replied = 1;
  send_now(s, m);
  if (req->deferred && !req->in_dispatch) req_free(req);
}

void dap_respond_error(dap_server *s, dap_req *req, int id, const char *fmt, ...) {
  if (req->replied) {
    ls_log_debug("dap: dropping a second response to '%s'", req->command);
    return;
  }
  req->replied = 1;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ls_utf8_repair(buf); /* vsnprintf may have cut a character */
  ls_log_info("dap: '%s' failed: %s", req->command, buf);
  respond_error_raw(s, req->seq, req->command, id, buf);
  if (req->deferred && !req->in_dispatch) req_free(req);
}

void dap_req_defer(dap_req *req) { req->deferred = 1; }
const char *dap_req_command(const dap_req *req) { return req->command; }

typedef struct posted_fn {
  dap_server *s;
  void (*fn)(dap_server *s, void *arg);
  void *arg;
} posted_fn;

static void posted_run(void *arg) {
  posted_fn *p = arg;
  p->fn(p->s, p->arg);
  ls_free(p);
}

int dap_server_post(dap_server *s, void (*fn)(dap_server *s, void *arg), void *arg) {
  posted_fn *p = ls_malloc(sizeof *p);
  if (!p) return LS_ENOMEM;
  p->s = s;
  p->fn = fn;
  p->arg = arg;
  int rc = rpc_conn_post(s->impl->conn, posted_run, p);
  if (rc != LS_OK) ls_free(p);
  return rc;
}

int dap_server_post_fn(dap_server *s, void (*fn)(void *arg), void *arg) { return rpc_conn_post(s->impl->conn, fn, arg); }

/* ================================================================ lifecycle */

void dap_session_end(dap_server *s) {
  dap_session *ss = &s->session;
  dap_dbg_end(ss->dbg);
  if (ss->state != DAP_S_NEW && ss->state != DAP_S_TERMINATED) ss->state = DAP_S_TERMINATED;
  if (ss->launched && !s->impl->terminated_sent) {
    s->impl->terminated_sent = 1;
    dap_send_event(s, "terminated", NULL);
  }
}

void dap_server_stop(dap_server *s, int exit_code) {
  if (s->impl->stopping) return;
  s->impl->stopping = 1;
  s->exit_code = exit_code;
  dap_dbg_end(s->session.dbg);
  rpc_conn_close(s->impl->conn, NULL, NULL);
}

/* ================================================================ dispatch */

static void dispatch(dap_server *s, int64_t seq, const char *command, json_t *args) {
  dap_req *r = ls_calloc(1, sizeof *r);
  if (r) r->command = ls_strdup(command);
  if (!r || !r->command) {
    ls_free(r);
    respond_error_raw(s, seq, command, DAP_ERR_INTERNAL, "out of memory");
    return;
  }
  r->seq = seq;
  const dap_entry *e = NULL;
  for (size_t i = 0; i < sizeof k_requests / sizeof k_requests[0]; i++)
    if (strcmp(k_requests[i].name, command) == 0) e = &k_requests[i];
  if (e) r->flags = e->flags;
  int rc = LS_OK;
  /* Some clients send "arguments": null for requests that take none (disconnect, threads);
   * it means no arguments, as an absent field does. */
  if (json_is_null(args)) args = NULL;
  if (!e) {
    dap_respond_error(s, r, DAP_ERR_UNKNOWN_COMMAND, "unknown command '%.*s'", ls_utf8_clip(command, 100), command);
  } else if (s->session.state == DAP_S_NEW && !(e->flags & DAP_F_PRE_INIT)) {
    dap_respond_error(s, r, DAP_ERR_BAD_STATE, "'%s' received before 'initialize'", command);
  } else if (args && !json_is_object(args)) {
    dap_respond_error(s, r, DAP_ERR_BAD_ARGUMENTS, "%s: 'arguments' must be an object", command);
  } else {
    r->in_dispatch = 1;
    rc = e->fn(s, r, args);
    r->in_dispatch = 0;
  }
  if (r->deferred && !r->replied) return; /* answered later; freed by the answer */
  if (!r->replied)
    dap_respond_error(s, r, DAP_ERR_INTERNAL, "'%s' failed: %s", command,
                      rc ? ls_err_str(rc) : "the handler gave no answer");
  req_free(r);
}

static void on_message(void *ud, const char *body, size_t len) {
  dap_server *s = ud;
  if (s->impl->stopping) return;
  json_error_t jerr;
  json_t *m = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (!m) {
    ls_log_warn("dap: ignoring a message that is not JSON (line %d, column %d: %s)", jerr.line, jerr.column, jerr.text);
    return;
  }
  json_t *seq = json_object_get(m, "seq");
  json_t *type = json_object_get(m, "type");
  json_t *cmd = json_object_get(m, "command");
  if (!json_is_object(m) || !json_is_integer(seq)) {
    ls_log_warn("dap: ignoring a message without an integer 'seq'");
  } else if (!json_is_string(type)) {
    respond_error_raw(s, json_integer_value(seq), json_is_string(cmd) ? json_string_value(cmd) : "",
                      DAP_ERR_BAD_REQUEST, "field 'type' must be a string (\"request\")");
  } else if (strcmp(json_string_value(type), "request") == 0) {
    if (!json_is_string(cmd))
      respond_error_raw(s, json_integer_value(seq), "", DAP_ERR_BAD_REQUEST, "field 'command' must be a string");
    else
      dispatch(s, json_integer_value(seq), json_string_value(cmd), json_object_get(m, "arguments"));
  } else if (strcmp(json_string_value(type), "response") == 0) {
    /* Answers to reverse requests (runInTerminal, ...): none are sent yet. */
    ls_log_debug("dap: ignoring a response from the client");
  } else {
    ls_log_warn("dap: ignoring a message of type '%s'", json_string_value(type));
  }
  json_decref(m);
}

static void on_frame_error(void *ud, int code, const char *msg) {
  (void)ud;
  (void)code;
  (void)msg; /* already logged by the transport; DAP has no id-less error response */
}

static void on_eof(void *ud) {
  dap_server *s = ud;
  ls_log_info("dap: end of input");
  dap_session_end(s);
  dap_server_stop(s, 0);
}

int dap_server_main(const dap_server_opts *o) {
  dap_server s;
  dap_server_impl im;
  memset(&s, 0, sizeof s);
  memset(&im, 0, sizeof im);
  s.impl = &im;
  s.lines_start_at1 = s.columns_start_at1 = 1;
  s.session.open_target = o->open_target;
  if (uv_loop_init(&im.loop) != 0) { ls_log_error("dap: cannot create the event loop"); return 1; }
  rpc_conn_opts co = {o->in_fd, o->out_fd, o->max_message, o->prefill, o->prefill_len};
  rpc_conn_cbs cbs = {on_message, on_frame_error, on_eof};
  int rc = rpc_conn_new(&im.loop, &co, &cbs, &s, &im.conn);
  if (rc == LS_OK) {
    rpc_conn_start(im.conn);
    uv_run(&im.loop, UV_RUN_DEFAULT);
  }
  dap_dbg_free(s.session.dbg); /* joins the run's thread; its posts have all run */
  rpc_conn_free(im.conn);
  if (uv_loop_close(&im.loop) != 0) ls_log_warn("dap: event loop closed with handles still open");
  dap_launch_args_free(&s.session.launch);
  json_decref(s.client_args);
  return rc == LS_OK ? s.exit_code : 1;
}
