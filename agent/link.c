/* link.c: the adapter's end of the agent link (see link.h): the private socket, one reader
 * thread per agent process, requests with responses matched by seq, tensor bytes as the raw
 * frame after a `tensor` response, and starting the user's program with the agent loaded. */
#include "agent/link.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "rpc/framing.h"

#define MAX_CONNS 256
#define MAX_BODY ((size_t)1 << 30) /* one tensor's bytes at most */

typedef struct waiter {
  int seq;
  int done;            /* response (and data, when announced) arrived, or the link ended */
  int want_data;       /* the response announced nbytes > 0: the next frame is the data */
  json_t *resp;        /* new reference */
  void *data;          /* ls_malloc'd copy of the data frame */
  size_t n;
  struct waiter *next;
} waiter;

struct ls_agent_conn {
  ls_agent_srv *srv;
  int fd;
  int id, pid, rank;
  pthread_t reader;
  pthread_mutex_t mu;  /* guards seq, waiters, closed, and writes */
  pthread_cond_t cv;
  int seq;
  int closed;
  waiter *waiters;
  waiter *data_for;    /* the waiter whose data frame comes next (guarded by mu) */
  int drop_data;       /* the next frame is data nobody waits for (guarded by mu) */
  rpc_framer fr;
};

struct ls_agent_srv {
  ls_agent_cbs cb;
  char dir[PATH_MAX], path[PATH_MAX + 16];
  int lfd;                   /* listening socket, -1 for attach */
  int wake[2];               /* closes the accept thread */
  pthread_t acceptor;
  int acceptor_started;
  pthread_mutex_t mu;        /* guards conns */
  ls_agent_conn *conns[MAX_CONNS];
  int n_conns;
};

/* ------------------------------------------------------------ reading */

static void conn_msg(void *ud, const char *body, size_t len) {
  ls_agent_conn *c = ud;
  pthread_mutex_lock(&c->mu);
  if (c->drop_data) {
    c->drop_data = 0;
    pthread_mutex_unlock(&c->mu);
    return;
  }
  if (c->data_for) { /* the tensor bytes announced by the response before */
    waiter *w = c->data_for;
    c->data_for = NULL;
    w->data = ls_malloc(len ? len : 1);
    if (w->data) {
      memcpy(w->data, body, len);
      w->n = len;
    }
    w->done = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return;
  }
  pthread_mutex_unlock(&c->mu);
  json_error_t je;
  json_t *m = json_loadb(body, len, 0, &je);
  if (!json_is_object(m)) {
    json_decref(m);
    return; /* not JSON: the agent is ours, so this is a broken stream; ignore the frame */
  }
  const char *type = json_string_value(json_object_get(m, "type"));
  if (type && strcmp(type, "response") == 0) {
    int seq = (int)json_integer_value(json_object_get(m, "request_seq"));
    json_int_t nbytes = json_integer_value(json_object_get(json_object_get(m, "body"), "nbytes"));
    pthread_mutex_lock(&c->mu);
    waiter *w = c->waiters;
    while (w && w->seq != seq) w = w->next;
    if (w) {
      w->resp = json_incref(m);
      if (nbytes > 0 && json_is_true(json_object_get(m, "success"))) c->data_for = w;
      else w->done = 1;
      pthread_cond_broadcast(&c->cv);
    } else if (nbytes > 0) {
      c->drop_data = 1; /* nobody waits (timed out): drop the data frame */
    }
    pthread_mutex_unlock(&c->mu);
  } else if (type && strcmp(type, "event") == 0) {
    const char *ev = json_string_value(json_object_get(m, "event"));
    json_t *b = json_object_get(m, "body");
    if (ev && strcmp(ev, "hello") == 0) {
      c->pid = (int)json_integer_value(json_object_get(b, "pid"));
      if (json_is_integer(json_object_get(b, "rank"))) c->rank = (int)json_integer_value(json_object_get(b, "rank"));
    } else if (ev && strcmp(ev, "rank") == 0 && json_is_integer(json_object_get(b, "rank"))) {
      c->rank = (int)json_integer_value(json_object_get(b, "rank"));
    }
    if (ev && c->srv->cb.on_event) c->srv->cb.on_event(c->srv->cb.ud, c, ev, b);
  }
  json_decref(m);
}

static void conn_err(void *ud, int code, const char *msg) {
  (void)ud;
  (void)code;
  (void)msg; /* resynchronised by the framer; the agent is ours, nothing to tell the user */
}

static void *reader(void *arg) {
  ls_agent_conn *c = arg;
  char buf[1 << 16];
  for (;;) {
    ssize_t r = read(c->fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (rpc_framer_feed(&c->fr, buf, (size_t)r) != LS_OK) break;
  }
  pthread_mutex_lock(&c->mu);
  c->closed = 1;
  for (waiter *w = c->waiters; w; w = w->next) w->done = 1;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  if (c->srv->cb.on_closed) c->srv->cb.on_closed(c->srv->cb.ud, c);
  return NULL;
}

static int conn_add(ls_agent_srv *s, int fd) {
  ls_agent_conn *c = ls_calloc(1, sizeof *c);
  if (!c) return LS_ENOMEM;
  c->srv = s;
  c->fd = fd;
  c->rank = -1;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  rpc_framer_init(&c->fr, MAX_BODY, conn_msg, conn_err, c);
  pthread_mutex_lock(&s->mu);
  if (s->n_conns == MAX_CONNS) {
    pthread_mutex_unlock(&s->mu);
    rpc_framer_deinit(&c->fr);
    ls_free(c);
    return LS_ELIMIT;
  }
  c->id = s->n_conns + 1;
  s->conns[s->n_conns++] = c;
  pthread_mutex_unlock(&s->mu);
  if (pthread_create(&c->reader, NULL, reader, c) != 0) {
    c->closed = 1;
    c->reader = 0;
    return LS_ENOMEM;
  }
  return LS_OK;
}

static void *acceptor(void *arg) {
  ls_agent_srv *s = arg;
  for (;;) {
    struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    if (!(p[0].revents & POLLIN)) continue;
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) continue;
    /* only this user's processes: the directory is 0700, and the peer must be us */
    struct ucred cr;
    socklen_t cl = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 || cr.uid != getuid() || conn_add(s, fd) != LS_OK)
      close(fd);
  }
  return NULL;
}

/* ------------------------------------------------------------ server */

static ls_agent_srv *srv_new(const ls_agent_cbs *cb) {
  ls_agent_srv *s = ls_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->cb = *cb;
  s->lfd = -1;
  s->wake[0] = s->wake[1] = -1;
  pthread_mutex_init(&s->mu, NULL);
  return s;
}

int ls_agent_srv_open(ls_agent_srv **out, const ls_agent_cbs *cb, ls_diag *d) {
  *out = NULL;
  ls_agent_srv *s = srv_new(cb);
  if (!s) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp || strlen(tmp) > 80) tmp = "/tmp";
  snprintf(s->dir, sizeof s->dir, "%s/layerscope-XXXXXX", tmp);
  if (!mkdtemp(s->dir)) { /* mkdtemp makes it 0700 */
    int e = errno;
    ls_free(s);
    return ls_diag_set(d, LS_EIO, "cannot make a private directory in %s: %s", tmp, strerror(e));
  }
  snprintf(s->path, sizeof s->path, "%s/agent.sock", s->dir);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  int rc = LS_OK;
  if (strlen(s->path) >= sizeof a.sun_path) {
    rc = ls_diag_set(d, LS_ELIMIT, "socket path too long: %s", s->path);
    goto fail;
  }
  strcpy(a.sun_path, s->path);
  s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->lfd, 64) != 0 ||
      pipe2(s->wake, O_CLOEXEC) != 0) {
    rc = ls_diag_set(d, LS_EIO, "cannot listen on %s: %s", s->path, strerror(errno));
    goto fail;
  }
  if (pthread_create(&s->acceptor, NULL, acceptor, s) != 0) {
    rc = ls_diag_set(d, LS_ENOMEM, "cannot start a thread");
    goto fail;
  }
  s->acceptor_started = 1;
  *out = s;
  return LS_OK;
fail:
  ls_agent_srv_close(s);
  return rc;
}

int ls_agent_srv_attach(ls_agent_srv **out, const char *path, const ls_agent_cbs *cb, ls_diag *d) {
  *out = NULL;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (!path || !*path || strlen(path) >= sizeof a.sun_path)
    return ls_diag_set(d, LS_EINVAL, "'connect' must name the agent's socket (at most %zu bytes)",
                       sizeof a.sun_path - 1);
  struct stat st;
  if (stat(path, &st) != 0)
    return ls_diag_set(d, LS_ENOENT, "%s: %s (did the program call layerscope_agent.listen()?)", path,
                       strerror(errno));
  if (!S_ISSOCK(st.st_mode)) return ls_diag_set(d, LS_EINVAL, "%s: not a socket", path);
  if (st.st_uid != getuid()) return ls_diag_set(d, LS_EINVAL, "%s: owned by another user; refused", path);
  ls_agent_srv *s = srv_new(cb);
  if (!s) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    ls_agent_srv_close(s);
    return ls_diag_set(d, LS_EIO, "cannot connect to %s: %s", path, strerror(e));
  }
  int rc = conn_add(s, fd);
  if (rc != LS_OK) {
    close(fd);
    ls_agent_srv_close(s);
    return ls_diag_set(d, rc, "cannot start the link to %s", path);
  }
  *out = s;
  return LS_OK;
}

const char *ls_agent_srv_path(const ls_agent_srv *s) { return s->path; }

void ls_agent_srv_close(ls_agent_srv *s) {
  if (!s) return;
  if (s->acceptor_started) {
    if (write(s->wake[1], "x", 1) < 0) { /* the acceptor also ends when the pipe closes */
    }
    pthread_join(s->acceptor, NULL);
  }
  if (s->lfd >= 0) close(s->lfd);
  for (int i = 0; i < 2; i++)
    if (s->wake[i] >= 0) close(s->wake[i]);
  for (int i = 0; i < s->n_conns; i++) {
    ls_agent_conn *c = s->conns[i];
    shutdown(c->fd, SHUT_RDWR);
    if (c->reader) pthread_join(c->reader, NULL);
    close(c->fd);
    rpc_framer_deinit(&c->fr);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    ls_free(c);
  }
  if (s->path[0] && s->lfd >= 0) unlink(s->path);
  if (s->dir[0]) rmdir(s->dir);
  pthread_mutex_destroy(&s->mu);
  ls_free(s);
}

/* ------------------------------------------------------------ connections */

int ls_agent_conn_id(const ls_agent_conn *c) { return c->id; }
int ls_agent_conn_pid(const ls_agent_conn *c) { return c->pid; }
int ls_agent_conn_rank(const ls_agent_conn *c) { return c->rank; }
void ls_agent_conn_set_rank(ls_agent_conn *c, int rank) { c->rank = rank; }

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return LS_EIO;
    p += w;
    n -= (size_t)w;
  }
  return LS_OK;
}

/* Sends a request; c->mu held. *seq gets its number. */
static int send_locked(ls_agent_conn *c, const char *cmd, json_t *args, int *seq) {
  if (c->closed) return LS_EIO;
  int s = ++c->seq;
  json_t *m = json_pack("{s:s, s:i, s:s, s:o}", "type", "request", "seq", s, "command", cmd, "arguments",
                        args ? json_incref(args) : json_object());
  char *body = m ? json_dumps(m, JSON_COMPACT) : NULL;
  json_decref(m);
  if (!body) return LS_ENOMEM;
  char head[64];
  int hn = snprintf(head, sizeof head, "Content-Length: %zu\r\n\r\n", strlen(body));
  int rc = write_all(c->fd, head, (size_t)hn);
  if (rc == LS_OK) rc = write_all(c->fd, body, strlen(body));
  free(body); /* jansson's allocator */
  if (seq) *seq = s;
  return rc;
}

int ls_agent_conn_send(ls_agent_conn *c, const char *cmd, json_t *args) {
  pthread_mutex_lock(&c->mu);
  int rc = send_locked(c, cmd, args, NULL);
  pthread_mutex_unlock(&c->mu);
  return rc;
}

int ls_agent_conn_request(ls_agent_conn *c, const char *cmd, json_t *args, int timeout_ms, json_t **resp,
                          void **data, size_t *n, ls_diag *d) {
  *resp = NULL;
  if (data) *data = NULL;
  if (n) *n = 0;
  waiter w;
  memset(&w, 0, sizeof w);
  pthread_mutex_lock(&c->mu);
  int rc = send_locked(c, cmd, args, &w.seq);
  if (rc != LS_OK) {
    pthread_mutex_unlock(&c->mu);
    return ls_diag_set(d, rc, "the program's agent is gone (%s)", cmd);
  }
  w.next = c->waiters;
  c->waiters = &w;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  while (!w.done)
    if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT) break;
  for (waiter **p = &c->waiters; *p; p = &(*p)->next)
    if (*p == &w) {
      *p = w.next;
      break;
    }
  if (c->data_for == &w) { /* timed out between the response and its data */
    c->data_for = NULL;
    c->drop_data = 1;
  }
  int closed = c->closed;
  pthread_mutex_unlock(&c->mu);
  if (!w.resp) {
    ls_free(w.data);
    return closed ? ls_diag_set(d, LS_EIO, "the program's agent is gone (%s)", cmd)
                  : ls_diag_set(d, LS_ECANCELED, "the program did not answer '%s' within %d ms", cmd, timeout_ms);
  }
  if (!json_is_true(json_object_get(w.resp, "success"))) {
    const char *msg = json_string_value(json_object_get(w.resp, "message"));
    ls_diag_set(d, LS_EINVAL, "%s", msg ? msg : "the agent refused the request");
    json_decref(w.resp);
    ls_free(w.data);
    return LS_EINVAL;
  }
  if (json_integer_value(json_object_get(json_object_get(w.resp, "body"), "nbytes")) > 0 && !w.data) {
    json_decref(w.resp);
    return ls_diag_set(d, closed ? LS_EIO : LS_ECANCELED, "the tensor's bytes did not arrive (%s)", cmd);
  }
  *resp = w.resp;
  if (data) *data = w.data;
  else ls_free(w.data);
  if (n) *n = w.n;
  return LS_OK;
}
