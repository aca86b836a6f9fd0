/* st_write.c: the streaming safetensors writer (tensor.h). Tensors arrive one at a time
 * (the engine dumps module outputs as the forward pass goes), so their bytes are appended
 * to a temporary data file at once and only names, dtypes, shapes and offsets are kept in
 * memory. Closing writes the file: the 8-byte header length, the JSON header (keys sorted,
 * padded with spaces to a multiple of 8 as the reference writer does, so data stays
 * aligned) and the data copied from the data file. That file is built as a second
 * temporary beside OUT and renamed over OUT only once it is complete and on disk
 * (core/base/file.h), so a failure or a kill part way leaves the previous OUT intact; both
 * temporaries are removed on every path that returns. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/file.h"
#include "core/tensor/tfile_int.h"

struct ls_st_writer {
  char *path;      /* OUT */
  char *tmp_path;  /* the data file beside OUT (removed at the end) */
  FILE *tmp;
  json_t *header;  /* the JSON header being built */
  uint64_t size;   /* data bytes written so far */
};

int ls_st_writer_open(const char *path, ls_st_writer **out, ls_diag *d) {
  *out = NULL;
  ls_st_writer *w = ls_calloc(1, sizeof *w);
  if (!w) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  w->path = ls_strdup(path);
  w->header = json_object();
  if (!w->path || !w->header) { ls_st_writer_abort(w); return ls_diag_set(d, LS_ENOMEM, "out of memory"); }
  int fd;
  int rc = ls_file_tmp_create(path, &w->tmp_path, &fd, d);
  if (rc) { ls_st_writer_abort(w); return rc; }
  w->tmp = fdopen(fd, "w+b");
  if (!w->tmp) {
    int e = errno;
    ls_file_tmp_discard(fd, w->tmp_path);
    ls_free(w->tmp_path);
    w->tmp_path = NULL;
    ls_st_writer_abort(w);
    return ls_diag_set_at(d, LS_EIO, path, -1, "%s: cannot create: %s", path, strerror(e));
  }
  *out = w;
  return LS_OK;
}

int ls_st_writer_add(ls_st_writer *w, const char *name, ls_dtype dtype, int ndim, const int64_t *shape,
                     const void *data, ls_diag *d) {
  const char *dn = ls__st_dtype_name(dtype);
  if (!dn) return ls_diag_set(d, LS_EUNSUPPORTED, "%s: dtype %s cannot be stored in safetensors", name, ls_dtype_name(dtype));
  if (ndim < 0 || ndim > LS_TENSOR_MAX_DIMS) return ls_diag_set(d, LS_EINVAL, "%s: %d dimensions", name, ndim);
  if (strcmp(name, "__metadata__") == 0 || json_object_get(w->header, name))
    return ls_diag_set(d, LS_EINVAL, "%s: duplicate tensor name", name);
  if (!ls__utf8_valid(name, strlen(name))) return ls_diag_set(d, LS_EINVAL, "tensor name is not UTF-8");
  uint64_t nelem, nbytes;
  if (ls__shape_nelem(shape, ndim, &nelem) || ls_dtype_nbytes(dtype, nelem, &nbytes))
    return ls_diag_set(d, LS_EOVERFLOW, "%s: shape overflows", name);
  json_t *e = json_object(), *sh = json_array(), *off = json_array();
  if (!e || !sh || !off) { json_decref(e); json_decref(sh); json_decref(off); return ls_diag_set(d, LS_ENOMEM, "out of memory"); }
  for (int i = 0; i < ndim; i++) json_array_append_new(sh, json_integer(shape[i]));
  json_array_append_new(off, json_integer((json_int_t)w->size));
  json_array_append_new(off, json_integer((json_int_t)(w->size + nbytes)));
  json_object_set_new(e, "dtype", json_string(dn));
  json_object_set_new(e, "shape", sh);
  json_object_set_new(e, "data_offsets", off);
  if (json_object_set_new(w->header, name, e)) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  if (nbytes && fwrite(data, 1, (size_t)nbytes, w->tmp) != nbytes)
    return ls_diag_set_at(d, LS_EIO, w->path, -1, "%s: write failed: %s", w->path, strerror(errno));
  w->size += nbytes;
  return LS_OK;
}

int ls_st_writer_meta(ls_st_writer *w, const char *key, const char *value, ls_diag *d) {
  json_t *m = json_object_get(w->header, "__metadata__");
  if (!m) {
    m = json_object();
    if (!m || json_object_set_new(w->header, "__metadata__", m)) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  if (json_object_set_new(m, key, json_string(value))) return ls_diag_set(d, LS_EINVAL, "bad metadata %s", key);
  return LS_OK;
}

void ls_st_writer_abort(ls_st_writer *w) {
  if (!w) return;
  if (w->tmp) fclose(w->tmp);
  if (w->tmp_path) unlink(w->tmp_path);
  json_decref(w->header);
  ls_free(w->path);
  ls_free(w->tmp_path);
  ls_free(w);
}

/* write(2) until all n bytes are out. */
static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

int ls_st_writer_close(ls_st_writer *w, ls_diag *d) {
  int rc = LS_OK, fd = -1;
  char *out_path = NULL;
  char *js = json_dumps(w->header, JSON_COMPACT | JSON_SORT_KEYS);
  if (!js) { rc = ls_diag_set(d, LS_ENOMEM, "out of memory"); goto done; }
  if (fflush(w->tmp) != 0 || fseek(w->tmp, 0, SEEK_SET) != 0) {
    rc = ls_diag_set_at(d, LS_EIO, w->path, -1, "%s: write failed: %s", w->path, strerror(errno));
    goto done;
  }
  if ((rc = ls_file_tmp_create(w->path, &out_path, &fd, d)) != LS_OK) goto done;
  size_t jl = strlen(js), padded = (jl + 7) / 8 * 8;
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
  char buf[1 << 16];
  memset(buf, ' ', padded - jl);
  int ok = write_all(fd, len8, 8) == 0 && write_all(fd, js, jl) == 0 && write_all(fd, buf, padded - jl) == 0;
  uint64_t copied = 0;
  for (size_t n; ok && (n = fread(buf, 1, sizeof buf, w->tmp)) > 0; copied += n) ok = write_all(fd, buf, n) == 0;
  if (ok && copied != w->size) { ok = 0; errno = ferror(w->tmp) ? EIO : ENODATA; }
  if (!ok) {
    rc = ls_diag_set_at(d, LS_EIO, w->path, -1, "%s: write failed: %s", w->path, strerror(errno));
    ls_file_tmp_discard(fd, out_path);
    goto done;
  }
  rc = ls_file_tmp_commit(fd, out_path, w->path, d); /* removes the temporary on failure */
done:
  free(js); /* from jansson's allocator (malloc) */
  ls_free(out_path);
  ls_st_writer_abort(w);
  return rc;
}
