/* server_impl.h: the private part of the LSP server shared by server.c, params.c and the
 * handlers that need the method table (initialize: capabilities; $/cancelRequest). Not for
 * use outside lsp/. */
#ifndef LS_LSP_SERVER_IMPL_H
#define LS_LSP_SERVER_IMPL_H

#include <uv.h>

#include "lsp/server.h"
#include "rpc/conn.h"

typedef struct lsp_method_entry {
  const char *name;
  int (*fn)(lsp_server *s, lsp_req *req, json_t *params);
  int kind;            /* LSP_REQUEST or LSP_NOTIFICATION */
  int flags;           /* LSP_F_* */
  const char *cap;     /* ServerCapabilities key set to true, or NULL */
} lsp_method_entry;

extern const lsp_method_entry lsp__methods[];
extern const size_t lsp__n_methods;

struct lsp_req {
  lsp_req *next;       /* in impl->pending */
  json_t *id;          /* owned reference */
  char method[96];
  int replied;         /* a response (or the cancel error) went out */
  int deferred;        /* a job will reply */
  int refs;            /* dispatch + job */
  lsp_job *job;        /* the job answering it, or NULL */
};

struct lsp_job {
  lsp_job *next;       /* in impl->jobs */
  lsp_server *s;
  lsp_req *req;        /* NULL for server-side jobs */
  rpc_job *job;        /* the pool job, valid until job_done */
  rpc_job_work_fn work;
  lsp_job_done_fn done;
  void *arg;
};

typedef struct lsp_out_req {
  struct lsp_out_req *next;
  int64_t id;
  lsp_response_fn cb;
  void *ud;
} lsp_out_req;

typedef struct lsp_server_impl {
  uv_loop_t loop;
  rpc_conn *conn;
  lsp_req *pending;    /* requests not yet released */
  lsp_job *jobs;       /* running or queued jobs */
  lsp_out_req *out;    /* server->client requests awaiting a response */
  int64_t next_out_id;
  const char *cur_method; /* method being dispatched (for notification error messages) */
  int close_started;
} lsp_server_impl;

/* $/cancelRequest: answers the request with RequestCancelled and cancels its job. */
void lsp__server_cancel(lsp_server *s, json_t *id);
/* Cancels every pending request but `except` (may be NULL), and every job. */
void lsp__server_cancel_all(lsp_server *s, lsp_req *except, const char *why);

#endif
