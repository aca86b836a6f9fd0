/* link.h: the adapter's end of its link to layerscope agents (agent/python/layerscope_agent)
 * in the user's PyTorch processes. A server listens on a Unix socket in a private directory
 * (mode 0700, made by ls_agent_srv_open; its path goes to the program in the environment
 * as LAYERSCOPE_AGENT_CONNECT), or connects to a socket an attached program listens on.
 * Every agent process that runs a module connects once: each connection is one process (one
 * rank). Messages are JSON in the project's Content-Length framing (rpc/framing.h); a
 * `tensor` response is followed by one raw frame holding the tensor's bytes. No network:
 * AF_UNIX only. docs/agent.md gives the protocol.
 *
 * Threads: one thread accepts connections and one reads each connection; they deliver
 * events (hello, modules, rank, stopped, output) and the end of a connection through the
 * callbacks, on those threads. Requests may be sent from any thread: ls_agent_conn_send for
 * fire-and-forget ones, ls_agent_conn_request to wait for the response (with a timeout).
 *
 * Ownership: ls_agent_srv_open returns a new server (ls_agent_srv_close joins its threads,
 * closes every connection, removes the socket and its directory). Connections belong to the
 * server; a pointer stays valid until the server is closed. JSON passed to callbacks is
 * borrowed for the call. */
#ifndef LS_AGENT_LINK_H
#define LS_AGENT_LINK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/diag.h"

typedef struct ls_agent_srv ls_agent_srv;
typedef struct ls_agent_conn ls_agent_conn;

typedef struct ls_agent_cbs {
  /* An event from an agent ("hello", "modules", "rank", "stopped", "output"). */
  void (*on_event)(void *ud, ls_agent_conn *c, const char *event, json_t *body);
  /* The connection ended (the process exited, detached or broke). */
  void (*on_closed)(void *ud, ls_agent_conn *c);
  void *ud;
} ls_agent_cbs;

/* Listens on a new socket in a new private directory under $TMPDIR (or /tmp). */
int ls_agent_srv_open(ls_agent_srv **out, const ls_agent_cbs *cb, ls_diag *d);
/* Connects to an agent that listens itself (attach: layerscope_agent.listen()). The socket
 * must be owned by this user; the connection is delivered like an accepted one. */
int ls_agent_srv_attach(ls_agent_srv **out, const char *path, const ls_agent_cbs *cb, ls_diag *d);
const char *ls_agent_srv_path(const ls_agent_srv *s);
void ls_agent_srv_close(ls_agent_srv *s);

/* Connection identity: a small number in order of connection (1, 2, ...), and what hello
 * said (pid, rank: -1 until known). */
int ls_agent_conn_id(const ls_agent_conn *c);
int ls_agent_conn_pid(const ls_agent_conn *c);
int ls_agent_conn_rank(const ls_agent_conn *c);
void ls_agent_conn_set_rank(ls_agent_conn *c, int rank);

/* Sends a request {"type":"request","seq":N,"command":cmd,"arguments":args}; args is
 * borrowed (NULL: {}). LS_EIO when the connection is gone. */
int ls_agent_conn_send(ls_agent_conn *c, const char *cmd, json_t *args);
/* Sends a request and waits up to timeout_ms for its response. *resp (new reference) is the
 * response; when it carries tensor bytes, *data (new, ls_free) and *n get them (data may be
 * NULL when not wanted). LS_ETRUNC/LS_EIO when the connection ended, LS_ECANCELED on
 * timeout, LS_EINVAL with the agent's message when success is false. */
int ls_agent_conn_request(ls_agent_conn *c, const char *cmd, json_t *args, int timeout_ms, json_t **resp,
                          void **data, size_t *n, ls_diag *d);

/* ------------------------------------------------------------ starting the program */

typedef struct ls_agent_launch {
  const char *python;        /* interpreter; NULL: the first of python3 candidates that imports torch */
  int python_ok;             /* 1: python is known to import torch (found by ls_agent_find_python) */
  const char *program;       /* a .py file, or NULL with module */
  const char *module;        /* `python -m module` */
  const char *const *args;   /* [n_args] */
  int n_args;
  const char *cwd;           /* NULL: inherit */
  const char *const *env;    /* [n_env] "NAME=value" overrides */
  int n_env;
  int out_fd, err_fd;        /* the program's stdout/stderr (-1: inherit) */
} ls_agent_launch;

/* Finds the interpreter: want (an explicit path or name), else python3 on PATH, then
 * /usr/bin/python3; the first that can `import torch`. The error names every candidate and
 * why it failed. */
int ls_agent_find_python(const char *want, char *out, size_t cap, ls_diag *d);
/* Can la start: a program or a module (not both), the program a file (a relative one in
 * cwd), cwd a directory. The error names the path. */
int ls_agent_launch_check(const ls_agent_launch *la, ls_diag *d);
/* Starts the program with the agent loaded (PYTHONPATH gets the agent's boot and package
 * directories; LAYERSCOPE_AGENT_CONNECT and LAYERSCOPE_AGENT_LIB are set) in its own process
 * group. *pid is the child. */
int ls_agent_spawn(ls_agent_srv *s, const ls_agent_launch *la, pid_t *pid, ls_diag *d);
/* Where the agent's Python package and shared library are: LAYERSCOPE_AGENT_DIR (a folder
 * with python/ and liblayerscope_agent.so), else installed beside the executable
 * (../lib/layerscope), else this build's tree. */
int ls_agent_paths(char *pydir, size_t pycap, char *lib, size_t libcap, ls_diag *d);

#endif
