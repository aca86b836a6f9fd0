/* target_program.c: the program's process for the agent target: starting it with the agent
 * (agent/spawn.c), pumping its stdout and stderr to the host when output is captured, and
 * waiting for it, ending its process group when the run is terminated. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/target_int.h"
#include "core/base/errors.h"

/* ------------------------------------------------------------ output of the program */


static const ls_dbg_output k_out_kind[2] = {LS_DBG_OUT_STDOUT, LS_DBG_OUT_STDERR};

/* Reads what pipe `which` holds now and hands it to the host, chunk by chunk (out_mu held):
 * 0 at its end or on an error, 1 when it is empty for now. */
static int output_read(tgt *t, int which) {
  char buf[4096 + 1];
  int fd = t->out_fds[which];
  if (fd < 0) return 0;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
    if (r <= 0) return 0;
    buf[r] = 0;
    const ls_dbg_target_host *h = t->host;
    if (h) h->output(h->hud, k_out_kind[which], buf);
  }
}

void ls__agent_output_drain(tgt *t) {
  pthread_mutex_lock(&t->out_mu);
  for (int i = 0; i < 2; i++) output_read(t, i); /* at its end: its pump closes it */
  pthread_mutex_unlock(&t->out_mu);
}

static void *pump_run(void *arg) {
  pump *p = arg;
  tgt *t = p->t;
  int open = 1;
  while (open) {
    struct pollfd pf = {t->out_fds[p->which], POLLIN, 0};
    int n = poll(&pf, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    pthread_mutex_lock(&t->out_mu);
    open = n > 0 && output_read(t, p->which);
    if (!open) {
      close(t->out_fds[p->which]);
      t->out_fds[p->which] = -1;
    }
    pthread_mutex_unlock(&t->out_mu);
  }
  return NULL;
}

int ls__agent_start_program(tgt *t, pump *pumps, int *n_pumps, ls_diag *d) {
  ls_agent_launch la = t->o.launch;
  int fds[2][2] = {{-1, -1}, {-1, -1}};
  if (t->o.capture_output) {
    for (int i = 0; i < 2; i++)
      if (pipe2(fds[i], O_CLOEXEC) != 0) return ls_diag_set(d, LS_EIO, "cannot make a pipe: %s", strerror(errno));
    la.out_fd = fds[0][1];
    la.err_fd = fds[1][1];
  } else {
    la.out_fd = la.err_fd = -1;
  }
  pid_t pid;
  int rc = ls_agent_spawn(t->srv, &la, &pid, d);
  for (int i = 0; i < 2; i++)
    if (fds[i][1] >= 0) close(fds[i][1]);
  if (rc != LS_OK) {
    for (int i = 0; i < 2; i++)
      if (fds[i][0] >= 0) close(fds[i][0]);
    return rc;
  }
  pthread_mutex_lock(&t->mu);
  t->pid = pid;
  pthread_mutex_unlock(&t->mu);
  for (int i = 0; t->o.capture_output && i < 2; i++) {
    fcntl(fds[i][0], F_SETFL, fcntl(fds[i][0], F_GETFL) | O_NONBLOCK); /* the read end only */
    pthread_mutex_lock(&t->out_mu);
    t->out_fds[i] = fds[i][0];
    pthread_mutex_unlock(&t->out_mu);
    pumps[*n_pumps] = (pump){t, i, 0};
    if (pthread_create(&pumps[*n_pumps].th, NULL, pump_run, &pumps[*n_pumps]) == 0) {
      (*n_pumps)++;
    } else {
      pthread_mutex_lock(&t->out_mu);
      close(fds[i][0]);
      t->out_fds[i] = -1;
      pthread_mutex_unlock(&t->out_mu);
    }
  }
  return LS_OK;
}

int ls__agent_wait_program(tgt *t, int *status) {
  int killed = 0;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    pid_t r = waitpid(t->pid, status, WNOHANG);
    if (r == t->pid) break;
    if (r < 0 && errno != EINTR) return LS_EIO;
    pthread_mutex_lock(&t->mu);
    int term = t->terminate_req;
    pthread_mutex_unlock(&t->mu);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (term && !killed) {
      kill(-t->pid, SIGTERM);
      killed = 1;
      t0 = now;
    } else if (term && killed == 1 && now.tv_sec - t0.tv_sec >= 3) {
      kill(-t->pid, SIGKILL);
      killed = 2;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(-t->pid, SIGTERM); /* whatever it left running (ranks of a launcher that exited) */
  return LS_OK;
}
