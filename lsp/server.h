/* server.h: the LSP server as the handlers see it. server.c owns the lifecycle (state
 * machine uninitialized -> running -> shut down -> exited), decodes JSON-RPC envelopes,
 * dispatches through methods.def, and guarantees that every request gets exactly one
 * response: a handler replies with lsp_reply / lsp_reply_error, or defers the request to a
 * background job; if it returns without doing either the server answers InternalError
 * itself, and a second reply is dropped with a log line.
 *
 * Threading: everything here runs on the loop thread, except the work function of a job
 * (lsp_req_run_job / lsp_server_run_job), which runs on libuv's pool and must touch nothing
 * but its own argument; its done function runs back on the loop thread and publishes. */
#ifndef LS_LSP_SERVER_H
#define LS_LSP_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/text.h"
#include "lsp/docs.h"
#include "rpc/job.h"

/* JSON-RPC and LSP error codes. */
enum lsp_error_code {
  LSP_ERR_PARSE = -32700,
  LSP_ERR_INVALID_REQUEST = -32600,
  LSP_ERR_METHOD_NOT_FOUND = -32601,
  LSP_ERR_INVALID_PARAMS = -32602,
  LSP_ERR_INTERNAL = -32603,
  LSP_ERR_SERVER_NOT_INITIALIZED = -32002,
  LSP_ERR_UNKNOWN = -32001,
  LSP_ERR_REQUEST_FAILED = -32803,
  LSP_ERR_SERVER_CANCELLED = -32802,
  LSP_ERR_CONTENT_MODIFIED = -32801,
  LSP_ERR_REQUEST_CANCELLED = -32800,
};

/* MessageType of window/logMessage. */
enum lsp_message_type { LSP_MSG_ERROR = 1, LSP_MSG_WARNING = 2, LSP_MSG_INFO = 3, LSP_MSG_LOG = 4 };

enum lsp_kind { LSP_REQUEST = 0, LSP_NOTIFICATION = 1 };
enum lsp_flags { LSP_F_PRE_INIT = 1, LSP_F_DEBUG = 2 };

typedef enum lsp_state {
  LSP_S_UNINITIALIZED = 0, /* before `initialize` */
  LSP_S_RUNNING,           /* after `initialize` was answered */
  LSP_S_SHUTDOWN,          /* after `shutdown`: only `exit` is accepted */
  LSP_S_EXITING            /* after `exit` or end of input: winding down */
} lsp_state;

typedef enum lsp_trace { LSP_TRACE_OFF = 0, LSP_TRACE_MESSAGES, LSP_TRACE_VERBOSE } lsp_trace;

typedef struct lsp_server lsp_server;
typedef struct lsp_req lsp_req;       /* one incoming request awaiting its response */
typedef struct lsp_job lsp_job;       /* one background job owned by the server */

typedef enum lsp_method {
#define X(id, name, handler, kind, flags, cap) LSP_M_##id,
#include "lsp/methods.def"
#undef X
  LSP_M__COUNT
} lsp_method;

/* Handlers, one per line of methods.def. */
#define X(id, name, handler, kind, flags, cap) int handler(lsp_server *s, lsp_req *req, json_t *params);
#include "lsp/methods.def"
#undef X

/* Server state the handlers read and write. */
struct lsp_server {
  lsp_state state;
  int shutdown_received;
  int exit_code;
  ls_pos_enc enc;              /* negotiated position encoding */
  json_t *client_caps;         /* owned: InitializeParams.capabilities */
  json_t *init_options;        /* owned or NULL: initializationOptions */
  json_t *settings;            /* owned object: the "layerscope" settings section */
  json_t *client_info;         /* owned or NULL */
  lsp_trace trace;
  lsp_docs docs;
  struct lsp_cache *cache;     /* owned: the features' analyses of the open documents and the
                                  settings they use (lsp/analysis.h) */
  int debug_methods;           /* LAYERSCOPE_DEBUG_METHODS=1: enables LSP_F_DEBUG methods */
  struct lsp_server_impl *impl; /* transport, pending requests, jobs: server.c only */
};

/* ---- replying (exactly once per request) ---- */
/* result is stolen; NULL sends `null`. */
void lsp_reply(lsp_server *s, lsp_req *req, json_t *result);
void lsp_reply_error(lsp_server *s, lsp_req *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 1 once the request was answered or canceled: long handlers can stop early. */
int lsp_req_done(const lsp_req *req);
const char *lsp_req_method(const lsp_req *req);

/* ---- parameters ---- */
typedef enum lsp_ptype {
  LSP_T_ANY = 0, LSP_T_OBJECT, LSP_T_ARRAY, LSP_T_STRING, LSP_T_INTEGER, LSP_T_UINTEGER,
  LSP_T_NUMBER, LSP_T_BOOL
} lsp_ptype;
/* Looks up a dotted path ("textDocument.uri") below params and checks its type. On a
 * missing required field or a wrong type it answers InvalidParams naming the field (for a
 * request) or logs it and sends window/logMessage (for a notification, req == NULL), and
 * returns LS_EINVAL. A missing optional field gives *out = NULL and 0. *out is borrowed. */
int lsp_param(lsp_server *s, lsp_req *req, json_t *params, const char *path, lsp_ptype type,
              int required, json_t **out);
/* Reads a Position object into p (line/character must be uintegers); names `path` on error. */
int lsp_param_pos(lsp_server *s, lsp_req *req, json_t *params, const char *path, ls_pos *p);

/* ---- server -> client ---- */
/* params is stolen (NULL: none). */
int lsp_notify(lsp_server *s, const char *method, json_t *params);
void lsp_log_message(lsp_server *s, int type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sends textDocument/publishDiagnostics; diagnostics (array) is stolen; version < 0: none. */
int lsp_publish_diagnostics(lsp_server *s, const char *uri, int64_t version, json_t *diagnostics);
/* Called with the client's answer to a server->client request: result or error is set
 * (borrowed); both NULL when the connection closed first. */
typedef void (*lsp_response_fn)(lsp_server *s, void *ud, json_t *result, json_t *error);
/* Sends a request (params stolen) and routes the response to cb. */
int lsp_request(lsp_server *s, const char *method, json_t *params, lsp_response_fn cb, void *ud);

/* ---- background work ---- */
/* done runs on the loop thread; canceled = 1 after $/cancelRequest, shutdown or exit. */
typedef void (*lsp_job_done_fn)(lsp_server *s, lsp_req *req, void *arg, int canceled);
/* Defers req and runs work(job, arg) on the pool; done must reply (a reply after a
 * cancellation is dropped, so done need not check). LS_ENOMEM: nothing was queued and the
 * handler still owns req. */
int lsp_req_run_job(lsp_server *s, lsp_req *req, rpc_job_work_fn work, lsp_job_done_fn done,
                    void *arg);
/* The same without a request (diagnostics after a change): done gets req == NULL. */
int lsp_server_run_job(lsp_server *s, rpc_job_work_fn work, lsp_job_done_fn done, void *arg);
/* Runs fn(s, arg) on the loop thread; callable from any thread. LS_ESTATE when closing. */
int lsp_server_post(lsp_server *s, void (*fn)(lsp_server *s, void *arg), void *arg);

/* ---- hooks and lifecycle ---- */
/* Called after a document opened, changed or was saved: the hook where analyses (diagnostics,
 * inlay hints caches) are scheduled. */
void lsp_server_doc_changed(lsp_server *s, lsp_doc *doc);
/* Called after a document closed: where what the features keep for it is released. */
void lsp_server_doc_closed(lsp_server *s, const char *uri);
/* Asks the client for the "layerscope" settings section when it supports
 * workspace/configuration; the answer lands in s->settings. */
void lsp_server_pull_settings(lsp_server *s);
/* Begins winding down: cancels jobs, flushes writes, closes the connection. */
void lsp_server_stop(lsp_server *s, int exit_code);
const char *lsp_enc_name(ls_pos_enc enc);

typedef struct lsp_server_opts {
  int in_fd, out_fd;
  size_t max_message;          /* 0: default cap */
  const char *prefill;         /* bytes the protocol sniffer already read */
  size_t prefill_len;
} lsp_server_opts;

/* Runs the server until `exit` or end of input; returns the process exit status (0 after
 * shutdown + exit, 1 otherwise). */
int lsp_server_main(const lsp_server_opts *o);

#endif
