/* server.h: the DAP adapter as its handlers see it. server.c decodes requests, numbers every
 * outgoing message (`seq`, strictly increasing from 1, assigned on the loop thread so events
 * from a run's thread interleave correctly), answers each request exactly once (a handler
 * that returns without answering or deferring gets an error response from the server), and
 * dispatches through requests.def.
 *
 * Thread safety: dap_send_event and dap_server_post may be called from any thread (a run's
 * thread); everything else runs on the loop thread. */
#ifndef LS_DAP_SERVER_H
#define LS_DAP_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "dap/session.h"

/* ids of the Message objects in error responses (body.error.id). */
enum dap_error_id {
  DAP_ERR_UNKNOWN_COMMAND = 1001,
  DAP_ERR_BAD_ARGUMENTS = 1002,
  DAP_ERR_BAD_STATE = 1003,
  DAP_ERR_INTERNAL = 1004,
  DAP_ERR_UNSUPPORTED = 1005,
  DAP_ERR_BAD_REQUEST = 1006,
};

/* requests.def flags: DAP_F_PRE_INIT allowed before `initialize`; DAP_F_BODY the response
 * must carry a body (the DAP schema requires one), so a success without one (the handler's
 * body could not be built) is turned into an error response instead. */
enum dap_flags { DAP_F_PRE_INIT = 1, DAP_F_BODY = 2 };

typedef struct dap_req dap_req;

#define X(id, name, handler, flags) int handler(dap_server *s, dap_req *req, json_t *args);
#include "dap/requests.def"
#undef X

struct dap_server {
  dap_session session;
  json_t *client_args;        /* owned: initialize arguments (client capabilities) */
  int lines_start_at1;        /* from initialize, default 1 */
  int columns_start_at1;
  int exit_code;
  struct dap_server_impl *impl;
};

/* Success response; body is stolen (NULL: no body). Every request gets a response: when
 * the message cannot be built, or body is NULL for a DAP_F_BODY request, an error response
 * ("the response could not be built") goes out instead. */
void dap_respond(dap_server *s, dap_req *req, json_t *body);
/* Error response with message and body.error {id, format, showUser}. */
void dap_respond_error(dap_server *s, dap_req *req, int id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The handler will answer later (from a job or a run callback, on the loop thread);
 * the request stays valid until answered and is freed by the answer. A deferred request
 * must be answered exactly once, also when the session ends. */
void dap_req_defer(dap_req *req);
const char *dap_req_command(const dap_req *req);
/* Sends an event; body stolen. Any thread. */
int dap_send_event(dap_server *s, const char *event, json_t *body);
/* Sends an `output` event (category console/stdout/stderr/important). Any thread. */
int dap_send_output(dap_server *s, const char *category, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Runs fn(s, arg) on the loop thread; any thread. LS_ESTATE when closing. */
int dap_server_post(dap_server *s, void (*fn)(dap_server *s, void *arg), void *arg);
/* The same for a plain fn(arg), as core/debug/run.h's post wants it. */
int dap_server_post_fn(dap_server *s, void (*fn)(void *arg), void *arg);
/* Ends the session: ends the run, sends `terminated` once (if a run was launched). */
void dap_session_end(dap_server *s);
/* Flushes queued messages, then ends the process loop with exit_code. */
void dap_server_stop(dap_server *s, int exit_code);

typedef struct dap_server_opts {
  int in_fd, out_fd;
  size_t max_message;
  const char *prefill;
  size_t prefill_len;
  dap_target_open_fn open_target; /* the target of a launch; NULL: none (fuzzing) */
} dap_server_opts;

/* Runs the adapter until disconnect or end of input; returns the exit status. */
int dap_server_main(const dap_server_opts *o);

#endif
