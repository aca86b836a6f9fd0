/* spawn.c: starting the user's Python program with the layerscope agent loaded (see
 * link.h): finding an interpreter that can import torch, finding the agent's package and
 * shared library, and the fork/exec with the agent's environment. The program gets its own
 * process group, so terminate can end it with everything it started (mp.spawn ranks). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/link.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"

extern char **environ;

static int is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int ls_agent_paths(char *pydir, size_t pycap, char *lib, size_t libcap, ls_diag *d) {
  char base[PATH_MAX], probe[PATH_MAX + 64];
  const char *env = getenv("LAYERSCOPE_AGENT_DIR");
  if (env && *env) {
    snprintf(pydir, pycap, "%s/python", env);
    snprintf(lib, libcap, "%s/liblayerscope_agent.so", env);
    snprintf(probe, sizeof probe, "%s/layerscope_agent/__init__.py", pydir);
    if (!is_file(probe) || !is_file(lib))
      return ls_diag_set(d, LS_ENOENT, "LAYERSCOPE_AGENT_DIR=%s holds no python/layerscope_agent and "
                                       "liblayerscope_agent.so", env);
    return LS_OK;
  }
  ssize_t n = readlink("/proc/self/exe", base, sizeof base - 1);
  if (n > 0) {
    base[n] = 0;
    char *slash = strrchr(base, '/');
    if (slash) *slash = 0;
    /* installed: PREFIX/bin/layerscope, PREFIX/lib/layerscope/{python,liblayerscope_agent.so} */
    snprintf(probe, sizeof probe, "%s/../lib/layerscope/python/layerscope_agent/__init__.py", base);
    if (is_file(probe)) {
      snprintf(pydir, pycap, "%s/../lib/layerscope/python", base);
      snprintf(lib, libcap, "%s/../lib/layerscope/liblayerscope_agent.so", base);
      if (is_file(lib)) return LS_OK;
    }
  }
#if defined(LS_AGENT_SOURCE_PY) && defined(LS_AGENT_BUILD_LIB)
  /* this build's tree */
  snprintf(pydir, pycap, "%s", LS_AGENT_SOURCE_PY);
  snprintf(lib, libcap, "%s", LS_AGENT_BUILD_LIB);
  if (is_dir(pydir) && is_file(lib)) return LS_OK;
#endif
  return ls_diag_set(d, LS_ENOENT, "the layerscope agent (python/layerscope_agent and liblayerscope_agent.so) "
                                   "was not found beside the executable; set LAYERSCOPE_AGENT_DIR");
}

/* In a forked child: the parent's blocked signals would stay blocked across exec (a front end
 * that takes SIGINT through a signalfd blocks it in every thread), and a program that cannot
 * be interrupted or terminated is not what anyone launched. Async-signal-safe. */
static void child_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Runs `py -c "import torch"` with output to /dev/null; 0 when it works, else a reason. */
static int try_python(const char *py, char *why, size_t cap) {
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, cap, "cannot fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    child_signals();
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
      dup2(nul, 0);
      dup2(nul, 1);
      dup2(nul, 2);
    }
    execlp(py, py, "-c", "import torch", (char *)NULL);
    _exit(127);
  }
  int st = 0;
  time_t t0 = time(NULL);
  for (;;) { /* torch imports in a few seconds; one that hangs is not usable */
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (time(NULL) - t0 > 60) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      snprintf(why, cap, "`import torch` did not finish in 60 s");
      return -1;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127) snprintf(why, cap, "not found");
  else snprintf(why, cap, "cannot import torch");
  return -1;
}

int ls_agent_find_python(const char *want, char *out, size_t cap, ls_diag *d) {
  const char *cands[3];
  int n = 0;
  if (want && *want) cands[n++] = want;
  else {
    cands[n++] = "python3";
    cands[n++] = "/usr/bin/python3";
  }
  char tried[1024] = "";
  size_t tl = 0;
  for (int i = 0; i < n; i++) {
    char why[128];
    if (try_python(cands[i], why, sizeof why) == 0) {
      snprintf(out, cap, "%s", cands[i]);
      return LS_OK;
    }
    tl += (size_t)snprintf(tried + tl, tl < sizeof tried ? sizeof tried - tl : 0, "%s%s (%s)", i ? ", " : "",
                           cands[i], why);
    if (tl >= sizeof tried) tl = sizeof tried - 1;
  }
  return ls_diag_set(d, LS_ENOENT, "no Python that can import torch: tried %s; name an interpreter with torch "
                                   "(launch: 'python'; layerscope watch: --python; Debian: apt-get install "
                                   "python3-torch)", tried);
}

int ls_agent_launch_check(const ls_agent_launch *la, ls_diag *d) {
  if (!la->program == !la->module)
    return ls_diag_set(d, LS_EINVAL, "give either 'program' (a .py file) or 'module' (python -m), not %s",
                       la->program ? "both" : "neither");
  if (la->cwd && !is_dir(la->cwd)) return ls_diag_set(d, LS_ENOENT, "cwd %s: no such directory", la->cwd);
  if (la->program) { /* the program starts in cwd: a relative path is found from there */
    char p[PATH_MAX];
    int in_cwd = la->cwd && la->program[0] != '/';
    if (snprintf(p, sizeof p, "%s%s%s", in_cwd ? la->cwd : "", in_cwd ? "/" : "", la->program) >= (int)sizeof p)
      return ls_diag_set(d, LS_EINVAL, "program %s: path too long", la->program);
    if (!is_file(p))
      return ls_diag_set(d, LS_ENOENT, "program %s: no such file%s%s", la->program, in_cwd ? " in " : "",
                         in_cwd ? la->cwd : "");
  }
  return LS_OK;
}

int ls_agent_spawn(ls_agent_srv *s, const ls_agent_launch *la, pid_t *pid, ls_diag *d) {
  *pid = -1;
  int rc = ls_agent_launch_check(la, d);
  if (rc != LS_OK) return rc;
  char py[PATH_MAX], pydir[PATH_MAX], lib[PATH_MAX];
  if (la->python_ok && la->python) snprintf(py, sizeof py, "%s", la->python);
  else rc = ls_agent_find_python(la->python, py, sizeof py, d);
  if (rc == LS_OK) rc = ls_agent_paths(pydir, sizeof pydir, lib, sizeof lib, d);
  if (rc != LS_OK) return rc;

  /* argv: python [-m module | program] args... */
  size_t na = (size_t)(la->n_args > 0 ? la->n_args : 0);
  char **argv = ls_calloc(na + 5, sizeof *argv);
  /* environment: ours, then the launch's overrides, then the agent's variables */
  size_t ne = 0;
  while (environ[ne]) ne++;
  size_t nov = (size_t)(la->n_env > 0 ? la->n_env : 0);
  char **envp = ls_calloc(ne + nov + 4, sizeof *envp);
  char *pp = NULL, *conn = NULL, *libv = NULL;
  if (!argv || !envp) {
    rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
    goto out;
  }
  size_t k = 0;
  argv[k++] = py;
  if (la->module) {
    argv[k++] = (char *)"-m";
    argv[k++] = (char *)la->module;
  } else {
    argv[k++] = (char *)la->program;
  }
  for (size_t i = 0; i < na; i++) argv[k++] = (char *)la->args[i];
  const char *old_pp = NULL;
  size_t e = 0;
  for (size_t i = 0; i < ne + nov; i++) {
    const char *v = i < ne ? environ[i] : la->env[i - ne];
    if (!v || !strchr(v, '=')) continue;
    if (strncmp(v, "PYTHONPATH=", 11) == 0) {
      old_pp = v + 11;
      continue;
    }
    if (strncmp(v, "LAYERSCOPE_AGENT_", 17) == 0) continue;
    /* a later override of the same name replaces an earlier entry */
    size_t nl = (size_t)(strchr(v, '=') - v);
    size_t j = 0;
    while (j < e && !(strncmp(envp[j], v, nl + 1) == 0)) j++;
    envp[j == e ? e++ : j] = (char *)v;
  }
  size_t ppl = 2 * strlen(pydir) + (old_pp ? strlen(old_pp) : 0) + 32;
  pp = ls_malloc(ppl);
  conn = ls_malloc(strlen(ls_agent_srv_path(s)) + 32);
  libv = ls_malloc(strlen(lib) + 32);
  if (!pp || !conn || !libv) {
    rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
    goto out;
  }
  snprintf(pp, ppl, "PYTHONPATH=%s/boot:%s%s%s", pydir, pydir, old_pp && *old_pp ? ":" : "", old_pp ? old_pp : "");
  sprintf(conn, "LAYERSCOPE_AGENT_CONNECT=%s", ls_agent_srv_path(s));
  sprintf(libv, "LAYERSCOPE_AGENT_LIB=%s", lib);
  envp[e++] = pp;
  envp[e++] = conn;
  envp[e++] = libv;
  envp[e] = NULL;

  pid_t p = fork();
  if (p < 0) {
    rc = ls_diag_set(d, LS_EIO, "cannot start %s: %s", py, strerror(errno));
    goto out;
  }
  if (p == 0) { /* only async-signal-safe calls from here on */
    setpgid(0, 0);
    child_signals();
    if (la->out_fd >= 0) dup2(la->out_fd, 1);
    if (la->err_fd >= 0) dup2(la->err_fd, 2);
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, 0);
    if (la->cwd && chdir(la->cwd) != 0) _exit(126);
    execvpe(py, argv, envp);
    _exit(127);
  }
  setpgid(p, p); /* also from here, so it holds before the child runs */
  *pid = p;
out:
  ls_free(argv);
  ls_free(envp);
  ls_free(pp);
  ls_free(conn);
  ls_free(libv);
  return rc;
}
