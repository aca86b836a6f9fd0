/* conn.c: the libuv side of the transport (see conn.h). Reading: a stream handle (pipe, tty,
 * socket) or a chain of uv_fs_read requests (regular files), both feeding the framer.
 * Writing: each message becomes one uv_write of header + body, so libuv's per-stream write
 * queue keeps messages whole and in order; regular files are written with blocking write(2).
 * Cross-thread hand-off: a mutex-protected list of closures and a uv_async_t that drains it on
 * the loop thread. Closing waits for queued writes, then closes every handle. */
#include "rpc/conn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/log.h"
#include "rpc/framing.h"

#define READ_CHUNK 65536

typedef struct post_node {
  struct post_node *next;
  void (*fn)(void *arg);
  void *arg;
} post_node;

typedef struct write_req {
  uv_write_t req;
  rpc_conn *c;
  size_t len;
  char data[]; /* [len] header + body */
} write_req;

typedef struct posted_send {
  rpc_conn *c;
  size_t len;
  char body[]; /* [len] */
} posted_send;

struct rpc_conn {
  uv_loop_t *loop;
  rpc_conn_cbs cbs;
  void *ud;
  rpc_framer framer;
  int in_fd, out_fd;
  uv_stream_t *in;           /* NULL when stdin is a regular file */
  uv_stream_t *out;          /* NULL when stdout is a regular file */
  uv_fs_t read_req;          /* file reading */
  int file_read_busy;        /* a uv_fs_read is in flight */
  char *rbuf;                /* [READ_CHUNK] file read buffer */
  char *prefill;             /* [prefill_len] */
  size_t prefill_len;
  uv_async_t async;
  uv_signal_t *sig[2];       /* SIGTERM, SIGINT: end input like EOF, then exit */
  uv_mutex_t mu;             /* guards posts, posts_closed */
  post_node *posts, *posts_tail;
  int posts_closed;
  uv_thread_t loop_thread;
  size_t pending_writes;
  int started, reading, eof_seen, closing, write_failed;
  int busy;                  /* open handles + in-flight file reads, while closing */
  void (*on_closed)(void *);
  void *on_closed_arg;
};

/* ---------------------------------------------------------------- reading */

static void on_frame_msg(void *ud, const char *body, size_t len) {
  rpc_conn *c = ud;
  if (c->closing) return; /* e.g. the rest of a chunk after an `exit` */
  if (c->cbs.on_message) c->cbs.on_message(c->ud, body, len);
}

static void on_frame_err(void *ud, int code, const char *msg) {
  rpc_conn *c = ud;
  ls_log_warn("rpc: %s", msg);
  if (!c->closing && c->cbs.on_frame_error) c->cbs.on_frame_error(c->ud, code, msg);
}

static void signal_eof(rpc_conn *c) {
  if (c->eof_seen) return;
  c->eof_seen = 1;
  rpc_framer_finish(&c->framer);
  if (!c->closing && c->cbs.on_eof) c->cbs.on_eof(c->ud);
}

static void maybe_finish_close(rpc_conn *c);

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  rpc_conn *c = h->data;
  (void)suggested;
  buf->base = c->rbuf;
  buf->len = READ_CHUNK;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  rpc_conn *c = s->data;
  (void)buf;
  if (n > 0) {
    if (rpc_framer_feed(&c->framer, c->rbuf, (size_t)n) == LS_ENOMEM)
      ls_log_error("rpc: out of memory while reading a message");
    return;
  }
  if (n == 0) return; /* EAGAIN */
  if (n != UV_EOF) ls_log_warn("rpc: read error: %s", uv_strerror((int)n));
  uv_read_stop(s);
  c->reading = 0;
  signal_eof(c);
}

static void file_read_cb(uv_fs_t *req);

static void file_read_next(rpc_conn *c) {
  uv_buf_t b = uv_buf_init(c->rbuf, READ_CHUNK);
  c->file_read_busy = 1;
  if (uv_fs_read(c->loop, &c->read_req, c->in_fd, &b, 1, -1, file_read_cb) != 0) {
    c->file_read_busy = 0;
    signal_eof(c);
  }
}

static void file_read_cb(uv_fs_t *req) {
  rpc_conn *c = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  c->file_read_busy = 0;
  if (c->closing) { maybe_finish_close(c); return; }
  if (n > 0) {
    if (rpc_framer_feed(&c->framer, c->rbuf, (size_t)n) == LS_ENOMEM)
      ls_log_error("rpc: out of memory while reading a message");
    if (!c->closing) file_read_next(c);
    else maybe_finish_close(c);
    return;
  }
  if (n < 0) ls_log_warn("rpc: read error: %s", uv_strerror((int)n));
  c->reading = 0;
  signal_eof(c);
}

/* ---------------------------------------------------------------- handles */

static void free_handle(uv_handle_t *h) { ls_free(h); }

static int open_stream(rpc_conn *c, int fd, int readable, uv_stream_t **out) {
  uv_handle_type t = uv_guess_handle(fd);
  uv_stream_t *s = NULL;
  int rc = 0;
  if (t == UV_NAMED_PIPE) {
    uv_pipe_t *p = ls_calloc(1, sizeof *p);
    if (!p) return LS_ENOMEM;
    uv_pipe_init(c->loop, p, 0);
    rc = uv_pipe_open(p, fd);
    s = (uv_stream_t *)p;
  } else if (t == UV_TCP) {
    uv_tcp_t *p = ls_calloc(1, sizeof *p);
    if (!p) return LS_ENOMEM;
    uv_tcp_init(c->loop, p);
    rc = uv_tcp_open(p, fd);
    s = (uv_stream_t *)p;
  } else if (t == UV_TTY) {
    uv_tty_t *p = ls_calloc(1, sizeof *p);
    if (!p) return LS_ENOMEM;
    rc = uv_tty_init(c->loop, p, fd, readable);
    s = (uv_stream_t *)p;
  } else {
    *out = NULL; /* regular file, /dev/null, unknown: plain blocking I/O */
    return LS_OK;
  }
  s->data = c;
  if (rc != 0) {
    ls_log_error("rpc: cannot use fd %d: %s", fd, uv_strerror(rc));
    /* An initialised handle must be closed before its memory goes. */
    uv_close((uv_handle_t *)s, free_handle);
    return LS_EIO;
  }
  *out = s;
  return LS_OK;
}

static void async_cb(uv_async_t *a);

int rpc_conn_new(uv_loop_t *loop, const rpc_conn_opts *o, const rpc_conn_cbs *cbs, void *ud,
                 rpc_conn **out) {
  rpc_conn *c = ls_calloc(1, sizeof *c);
  if (!c) return LS_ENOMEM;
  c->loop = loop;
  c->cbs = *cbs;
  c->ud = ud;
  c->in_fd = o->in_fd;
  c->out_fd = o->out_fd;
  c->loop_thread = uv_thread_self();
  c->read_req.data = c;
  rpc_framer_init(&c->framer, o->max_message, on_frame_msg, on_frame_err, c);
  c->rbuf = ls_malloc(READ_CHUNK);
  if (!c->rbuf) goto nomem;
  if (o->prefill_len) {
    c->prefill = ls_malloc(o->prefill_len);
    if (!c->prefill) goto nomem;
    memcpy(c->prefill, o->prefill, o->prefill_len);
    c->prefill_len = o->prefill_len;
  }
  if (uv_mutex_init(&c->mu) != 0) goto nomem;
  if (uv_async_init(loop, &c->async, async_cb) != 0) { uv_mutex_destroy(&c->mu); goto nomem; }
  c->async.data = c;
  int rc = open_stream(c, c->in_fd, 1, &c->in);
  if (rc == LS_OK) rc = open_stream(c, c->out_fd, 0, &c->out);
  if (rc != LS_OK) {
    /* Close what was opened through the normal path and let the loop finish the closes. */
    c->closing = 1;
    maybe_finish_close(c);
    uv_run(loop, UV_RUN_DEFAULT);
    rpc_conn_free(c);
    *out = NULL;
    return rc;
  }
  *out = c;
  return LS_OK;
nomem:
  rpc_framer_deinit(&c->framer);
  ls_free(c->rbuf);
  ls_free(c->prefill);
  ls_free(c);
  return LS_ENOMEM;
}

/* A first SIGTERM/SIGINT is treated as end of input: the messages being written finish (no
 * half frame reaches the client), then the server exits; a second one kills (oneshot). */
static void on_signal(uv_signal_t *h, int signum) {
  rpc_conn *c = h->data;
  ls_log_warn("rpc: signal %d: finishing the messages under way, then exiting", signum);
  if (c->reading && c->in) { uv_read_stop(c->in); c->reading = 0; }
  signal_eof(c);
}

int rpc_conn_start(rpc_conn *c) {
  if (c->started || c->closing) return LS_ESTATE;
  c->started = 1;
  static const int signums[2] = {SIGTERM, SIGINT};
  for (int i = 0; i < 2; i++) {
    c->sig[i] = ls_calloc(1, sizeof *c->sig[i]);
    if (!c->sig[i]) break;
    uv_signal_init(c->loop, c->sig[i]);
    c->sig[i]->data = c;
    uv_signal_start_oneshot(c->sig[i], on_signal, signums[i]);
    uv_unref((uv_handle_t *)c->sig[i]);
  }
  if (c->prefill_len) {
    rpc_framer_feed(&c->framer, c->prefill, c->prefill_len);
    ls_free(c->prefill);
    c->prefill = NULL;
    c->prefill_len = 0;
    if (c->closing) return LS_OK;
  }
  c->reading = 1;
  if (c->in) {
    int rc = uv_read_start(c->in, alloc_cb, read_cb);
    if (rc != 0) {
      ls_log_error("rpc: cannot read input: %s", uv_strerror(rc));
      c->reading = 0;
      signal_eof(c);
    }
  } else {
    file_read_next(c);
  }
  return LS_OK;
}

int rpc_conn_on_loop_thread(const rpc_conn *c) {
  uv_thread_t self = uv_thread_self();
  return uv_thread_equal(&self, &c->loop_thread);
}

/* ---------------------------------------------------------------- writing */

static void write_failed(rpc_conn *c, int err) {
  if (!c->write_failed) ls_log_warn("rpc: write error: %s; the client is gone", uv_strerror(err));
  c->write_failed = 1;
  /* A client that stopped reading is as good as gone: wind down like on EOF. */
  if (c->reading && c->in) { uv_read_stop(c->in); c->reading = 0; }
  signal_eof(c);
}

static void write_cb(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  rpc_conn *c = w->c;
  c->pending_writes--;
  ls_free(w);
  if (status < 0 && status != UV_ECANCELED) write_failed(c, status);
  if (c->closing) maybe_finish_close(c);
}

static int send_on_loop(rpc_conn *c, const char *body, size_t len) {
  if (c->busy || c->write_failed) return LS_ESTATE; /* handles closing or the client is gone */
  char hdr[64];
  int h = snprintf(hdr, sizeof hdr, "Content-Length: %zu\r\n\r\n", len);
  if (len > SIZE_MAX - sizeof(write_req) - (size_t)h) return LS_EOVERFLOW;
  write_req *w = ls_malloc(sizeof *w + (size_t)h + len);
  if (!w) return LS_ENOMEM;
  w->c = c;
  w->len = (size_t)h + len;
  memcpy(w->data, hdr, (size_t)h);
  if (len) memcpy(w->data + h, body, len);
  if (!c->out) { /* regular file: blocking write */
    size_t off = 0;
    while (off < w->len) {
      ssize_t k = write(c->out_fd, w->data + off, w->len - off);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) { ls_free(w); write_failed(c, k < 0 ? -errno : UV_EIO); return LS_EIO; }
      off += (size_t)k;
    }
    ls_free(w);
    return LS_OK;
  }
  uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
  int rc = uv_write(&w->req, c->out, &b, 1, write_cb);
  if (rc != 0) {
    ls_free(w);
    write_failed(c, rc);
    return LS_EIO;
  }
  c->pending_writes++;
  return LS_OK;
}

static void posted_send_run(void *arg) {
  posted_send *p = arg;
  send_on_loop(p->c, p->body, p->len);
  ls_free(p);
}

int rpc_conn_send(rpc_conn *c, const char *body, size_t len) {
  if (rpc_conn_on_loop_thread(c)) return send_on_loop(c, body, len);
  if (len > SIZE_MAX - sizeof(posted_send)) return LS_EOVERFLOW;
  posted_send *p = ls_malloc(sizeof *p + len);
  if (!p) return LS_ENOMEM;
  p->c = c;
  p->len = len;
  if (len) memcpy(p->body, body, len);
  int rc = rpc_conn_post(c, posted_send_run, p);
  if (rc != LS_OK) ls_free(p);
  return rc;
}

int rpc_conn_send_json(rpc_conn *c, const json_t *msg) {
  char *s = json_dumps(msg, JSON_COMPACT);
  if (!s) return LS_ENOMEM;
  int rc = rpc_conn_send(c, s, strlen(s));
  free(s); /* jansson allocates with malloc */
  return rc;
}

size_t rpc_conn_pending_writes(const rpc_conn *c) { return c->pending_writes; }

/* ---------------------------------------------------------------- posting */

static void run_posts(rpc_conn *c) {
  uv_mutex_lock(&c->mu);
  post_node *n = c->posts;
  c->posts = c->posts_tail = NULL;
  uv_mutex_unlock(&c->mu);
  while (n) {
    post_node *next = n->next;
    n->fn(n->arg);
    ls_free(n);
    n = next;
  }
}

static void async_cb(uv_async_t *a) { run_posts(a->data); }

int rpc_conn_post(rpc_conn *c, void (*fn)(void *arg), void *arg) {
  post_node *n = ls_malloc(sizeof *n);
  if (!n) return LS_ENOMEM;
  n->next = NULL;
  n->fn = fn;
  n->arg = arg;
  uv_mutex_lock(&c->mu);
  if (c->posts_closed) {
    uv_mutex_unlock(&c->mu);
    ls_free(n);
    return LS_ESTATE;
  }
  if (c->posts_tail) c->posts_tail->next = n; else c->posts = n;
  c->posts_tail = n;
  uv_async_send(&c->async); /* under the lock, so close cannot race the handle away */
  uv_mutex_unlock(&c->mu);
  return LS_OK;
}

/* ---------------------------------------------------------------- closing */

static void handle_closed(uv_handle_t *h) {
  rpc_conn *c = h->data;
  if (h != (uv_handle_t *)&c->async) ls_free(h);
  c->busy--;
  maybe_finish_close(c);
}

static void maybe_finish_close(rpc_conn *c) {
  if (!c->closing) return;
  if (c->busy == 0 && !c->posts_closed) {
    if (c->pending_writes > 0 || c->file_read_busy) return;
    /* Refuse new posts, then run what is queued: the closures own their arguments. */
    uv_mutex_lock(&c->mu);
    c->posts_closed = 1;
    uv_mutex_unlock(&c->mu);
    run_posts(c);
    c->busy = 1;
    uv_close((uv_handle_t *)&c->async, handle_closed);
    if (c->in) { c->busy++; uv_close((uv_handle_t *)c->in, handle_closed); c->in = NULL; }
    if (c->out) { c->busy++; uv_close((uv_handle_t *)c->out, handle_closed); c->out = NULL; }
    for (int i = 0; i < 2; i++)
      if (c->sig[i]) { c->busy++; uv_close((uv_handle_t *)c->sig[i], handle_closed); c->sig[i] = NULL; }
    return;
  }
  if (c->busy == 0 && c->posts_closed && c->on_closed) {
    void (*fn)(void *) = c->on_closed;
    c->on_closed = NULL;
    fn(c->on_closed_arg);
  }
}

void rpc_conn_close(rpc_conn *c, void (*on_closed)(void *arg), void *arg) {
  if (c->closing && c->busy) return;
  if (!c->on_closed) { c->on_closed = on_closed; c->on_closed_arg = arg; }
  c->closing = 1;
  if (c->reading && c->in) uv_read_stop(c->in);
  c->reading = 0;
  if (c->file_read_busy) uv_cancel((uv_req_t *)&c->read_req);
  maybe_finish_close(c);
}

void rpc_conn_free(rpc_conn *c) {
  if (!c) return;
  rpc_framer_deinit(&c->framer);
  uv_mutex_destroy(&c->mu);
  ls_free(c->rbuf);
  ls_free(c->prefill);
  ls_free(c);
}
