/* conn.h: one protocol connection over a pair of file descriptors (stdin/stdout in the
 * executable, a socketpair in tests) on a libuv loop. It frames incoming bytes (framing.h),
 * queues outgoing messages so they never interleave, and lets other threads hand work back
 * to the loop thread (rpc_conn_post), which is how a worker or engine thread sends results:
 * the loop thread is the only one that writes.
 *
 * stdin and stdout may be pipes, sockets, terminals or regular files; each kind gets the
 * libuv handle that works for it (regular files are read with uv_fs_read and written with
 * blocking writes, since they cannot be polled). */
#ifndef LS_RPC_CONN_H
#define LS_RPC_CONN_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

typedef struct rpc_conn rpc_conn;

typedef struct rpc_conn_cbs {
  /* A complete message body (borrowed, NUL-terminated, valid during the call). */
  void (*on_message)(void *ud, const char *body, size_t len);
  /* A framing error (see rpc_frame_err_fn): code LS_EFORMAT, LS_ELIMIT or LS_ETRUNC. */
  void (*on_frame_error)(void *ud, int code, const char *msg);
  /* End of input (or a read error): the protocol side decides how to wind down. */
  void (*on_eof)(void *ud);
} rpc_conn_cbs;

typedef struct rpc_conn_opts {
  int in_fd, out_fd;        /* usually 0 and 1 */
  size_t max_message;       /* cap on one message body; 0 -> RPC_MAX_MESSAGE_DEFAULT */
  const char *prefill;      /* bytes already read from in_fd (protocol sniffing), borrowed */
  size_t prefill_len;
} rpc_conn_opts;

/* Creates the connection; does not read yet. Returns 0, LS_ENOMEM or LS_EIO. */
int rpc_conn_new(uv_loop_t *loop, const rpc_conn_opts *opts, const rpc_conn_cbs *cbs, void *ud,
                 rpc_conn **out);
/* Delivers the prefill, then starts reading. */
int rpc_conn_start(rpc_conn *c);
/* Queues one message body for writing with its Content-Length header. Any thread: off the
 * loop thread the bytes are copied and handed to the loop. Returns 0, LS_ENOMEM or LS_ESTATE
 * (connection closing). */
int rpc_conn_send(rpc_conn *c, const char *body, size_t len);
/* Serialises msg (borrowed) compactly and sends it. Any thread. */
int rpc_conn_send_json(rpc_conn *c, const json_t *msg);
/* Runs fn(arg) on the loop thread soon. Any thread. LS_ESTATE once the connection is closed
 * (fn is not run then: the caller still owns arg). */
int rpc_conn_post(rpc_conn *c, void (*fn)(void *arg), void *arg);
/* 1 when called on the loop thread. */
int rpc_conn_on_loop_thread(const rpc_conn *c);
/* Stops reading, lets queued writes finish, then closes the handles; on_closed(arg) runs on
 * the loop thread when everything is closed. Idempotent. */
void rpc_conn_close(rpc_conn *c, void (*on_closed)(void *arg), void *arg);
/* Frees a closed connection (after on_closed ran, or if it was never started). */
void rpc_conn_free(rpc_conn *c);
/* Bytes written so far and writes still queued, for tests and logs. */
size_t rpc_conn_pending_writes(const rpc_conn *c);

#endif
