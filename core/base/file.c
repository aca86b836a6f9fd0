/* file.c: opening files without blocking on FIFOs, reading small files whole, keeping the
 * paths a file names inside its folder, and atomic replacement (see file.h). */
#include "core/base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

/* ---------------------------------------------------------------- reading */

static const char *kind_of(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a plain file";
}

int ls_file_open_ro(const char *path, int *fd, uint64_t *size, ls_diag *d) {
  *fd = -1;
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
  int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (f < 0) {
    int e = errno;
    return ls_diag_set_at(d, e == ENOENT ? LS_ENOENT : LS_EIO, path, -1, "%s: cannot open: %s", path,
                          strerror(e));
  }
  struct stat st;
  if (fstat(f, &st) != 0) {
    int e = errno;
    close(f);
    return ls_diag_set_at(d, LS_EIO, path, -1, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(f);
    return ls_diag_set_at(d, LS_EIO, path, -1, "%s: not a regular file (%s)", path, kind_of(st.st_mode));
  }
  int fl = fcntl(f, F_GETFL);
  if (fl < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    int e = errno;
    close(f);
    return ls_diag_set_at(d, LS_EIO, path, -1, "%s: cannot open: %s", path, strerror(e));
  }
  *fd = f;
  if (size) *size = (uint64_t)st.st_size;
  return LS_OK;
}

int ls_file_read(const char *path, size_t max, char **out, size_t *len, ls_diag *d) {
  *out = NULL;
  *len = 0;
  int fd;
  uint64_t size;
  int rc = ls_file_open_ro(path, &fd, &size, d);
  if (rc) return rc;
  if (size > max) {
    close(fd);
    return ls_diag_set_at(d, LS_ELIMIT, path, -1, "%s: %llu bytes, more than the %zu allowed", path,
                          (unsigned long long)size, max);
  }
  /* The size is a hint (the file may change meanwhile): read until end of file or max. */
  size_t cap = (size_t)size + 1, n = 0;
  char *buf = ls_malloc(cap + 1);
  if (!buf) { close(fd); return ls_diag_set(d, LS_ENOMEM, "%s: out of memory", path); }
  for (;;) {
    if (n == cap) {
      if (cap > max) {
        ls_free(buf);
        close(fd);
        return ls_diag_set_at(d, LS_ELIMIT, path, -1, "%s: more than the %zu bytes allowed", path, max);
      }
      size_t nc = cap * 2 < cap ? SIZE_MAX - 1 : cap * 2;
      char *nb = ls_realloc(buf, nc + 1);
      if (!nb) { ls_free(buf); close(fd); return ls_diag_set(d, LS_ENOMEM, "%s: out of memory", path); }
      buf = nb;
      cap = nc;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      ls_free(buf);
      close(fd);
      return ls_diag_set_at(d, LS_EIO, path, -1, "%s: read error: %s", path, strerror(e));
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  if (n > max) { ls_free(buf); return ls_diag_set_at(d, LS_ELIMIT, path, -1, "%s: more than the %zu bytes allowed", path, max); }
  buf[n] = 0;
  *out = buf;
  *len = n;
  return LS_OK;
}

/* ---------------------------------------------------------------- containment */

/* 1 when the resolved path p lies in the resolved folder root. */
static int under(const char *p, const char *root) {
  size_t n = strlen(root);
  if (n == 1 && root[0] == '/') return 1;
  return strncmp(p, root, n) == 0 && (p[n] == '/' || p[n] == 0);
}

int ls_file_check_inside(const char *path, const char *const *roots, int n_roots, const char *where,
                         ls_diag *d) {
  char rp[PATH_MAX], rr[PATH_MAX];
  if (!realpath(path, rp)) return LS_OK; /* missing: the open reports it */
  for (int i = 0; i < n_roots; i++)
    if (realpath(roots[i][0] ? roots[i] : ".", rr) && under(rp, rr)) return LS_OK;
  return ls_diag_set_at(d, LS_EINVAL, path, -1, "%s: resolves to %s, outside %s", path, rp, where);
}

/* ---------------------------------------------------------------- atomic replacement */

/* What mkstemp does (a unique name, O_EXCL), but through open() with mode 0666 so that the
 * umask applies, as it did when the target was written in place; a target that exists
 * keeps its permissions. */
int ls_file_tmp_create(const char *path, char **tmp_path, int *fd, ls_diag *d) {
  static atomic_uint counter;
  *tmp_path = NULL;
  *fd = -1;
  size_t n = strlen(path) + 48;
  char *t = ls_malloc(n);
  if (!t) return ls_diag_set(d, LS_ENOMEM, "%s: out of memory", path);
  struct stat st;
  int keep_mode = stat(path, &st) == 0 && S_ISREG(st.st_mode);
  for (int tries = 0; tries < 100; tries++) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned x = (unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec ^ (atomic_fetch_add(&counter, 1) * 40503u);
    snprintf(t, n, "%s.tmp-%08x", path, x);
    int f = open(t, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (f < 0 && errno == EEXIST) continue;
    if (f < 0) {
      int e = errno;
      ls_free(t);
      return ls_diag_set_at(d, LS_EIO, path, -1, "%s: cannot create a temporary file beside it: %s", path,
                            strerror(e));
    }
    if (keep_mode) (void)fchmod(f, st.st_mode & 07777); /* best effort, like cp */
    *tmp_path = t;
    *fd = f;
    return LS_OK;
  }
  ls_free(t);
  return ls_diag_set_at(d, LS_EIO, path, -1, "%s: cannot create a temporary file beside it", path);
}

void ls_file_tmp_discard(int fd, const char *tmp_path) {
  if (fd >= 0) close(fd);
  if (tmp_path) unlink(tmp_path);
}

/* The folder part of path ("." when there is none), into buf. */
static void folder_of(const char *path, char *buf, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash) { snprintf(buf, cap, "."); return; }
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= cap) n = cap - 1;
  memcpy(buf, path, n);
  buf[n] = 0;
}

int ls_file_tmp_commit(int fd, const char *tmp_path, const char *path, ls_diag *d) {
  if (fsync(fd) != 0) {
    int e = errno;
    ls_file_tmp_discard(fd, tmp_path);
    return ls_diag_set_at(d, LS_EIO, path, -1, "%s: write failed: %s", path, strerror(e));
  }
  if (close(fd) != 0) {
    int e = errno;
    ls_file_tmp_discard(-1, tmp_path);
    return ls_diag_set_at(d, LS_EIO, path, -1, "%s: write failed: %s", path, strerror(e));
  }
  if (rename(tmp_path, path) != 0) {
    int e = errno;
    ls_file_tmp_discard(-1, tmp_path);
    return ls_diag_set_at(d, LS_EIO, path, -1, "%s: cannot replace it: %s", path, strerror(e));
  }
  /* The rename is durable once the folder is flushed; failing here loses nothing already
   * visible, so it is not an error (some file systems refuse fsync on folders). */
  char dir[PATH_MAX];
  folder_of(path, dir, sizeof dir);
  int df = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (df >= 0) {
    (void)fsync(df);
    close(df);
  }
  return LS_OK;
}
