/* st_write.c: the streaming safetensors writer (tensor.h). Tensors arrive one at a time
 * (the engine dumps module outputs as the forward pass goes), so their bytes are appended
 * to OUT.tmp at once and only names, dtypes, shapes and offsets are kept in memory. Closing
 * writes OUT: the 8-byte header length, the JSON header (keys sorted, padded with spaces to
 * a multiple of 8 as the reference writer does, so data stays aligned) and the data copied
 * from OUT.tmp, which is then removed. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/tfile_int.h"

struct ls_st_writer {
  char *path, *tmp_path;
  FILE *tmp;
  json_t *header; /* the JSON header being built */
  uint64_t size;  /* data bytes written so far */
};

int ls_st_writer_open(const char *path, ls_st_writer **out, ls_diag *d) {
  *out = NULL;
  ls_st_writer *w = ls_calloc(1, sizeof *w);
  if (!w) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  size_t n = strlen(path) + 5;
  w->path = ls_strdup(path);
  w->tmp_path = ls_malloc(n);
  w->header = json_object();
  if (!w->path || !w->tmp_path || !w->header) { ls_st_writer_abort(w); return ls_diag_set(d, LS_ENOMEM, "out of memory"); }
  snprintf(w->tmp_path, n, "%s.tmp", path);
  w->tmp = fopen(w->tmp_path, "wb");
  if (!w->tmp) {
    int e = errno;
    ls_st_writer_abort(w);
    return ls_diag_set_at(d, LS_EIO, path, -1, "%s.tmp: cannot create: %s", path, strerror(e));
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
    return ls_diag_set_at(d, LS_EIO, w->tmp_path, -1, "%s: write failed: %s", w->tmp_path, strerror(errno));
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
  if (w->tmp) { fclose(w->tmp); unlink(w->tmp_path); }
  json_decref(w->header);
  ls_free(w->path);
  ls_free(w->tmp_path);
  ls_free(w);
}

int ls_st_writer_close(ls_st_writer *w, ls_diag *d) {
  int rc = LS_OK;
  char *js = json_dumps(w->header, JSON_COMPACT | JSON_SORT_KEYS);
  FILE *out = NULL;
  if (!js) { rc = ls_diag_set(d, LS_ENOMEM, "out of memory"); goto done; }
  if (fflush(w->tmp) != 0) { rc = ls_diag_set_at(d, LS_EIO, w->tmp_path, -1, "%s: write failed", w->tmp_path); goto done; }
  out = fopen(w->path, "wb");
  if (!out) { rc = ls_diag_set_at(d, LS_EIO, w->path, -1, "%s: cannot create: %s", w->path, strerror(errno)); goto done; }
  size_t jl = strlen(js), padded = (jl + 7) / 8 * 8;
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
  int ok = fwrite(len8, 1, 8, out) == 8 && fwrite(js, 1, jl, out) == jl;
  for (size_t i = jl; ok && i < padded; i++) ok = fputc(' ', out) != EOF;
  rewind(w->tmp);
  FILE *in = fopen(w->tmp_path, "rb");
  if (!in) ok = 0;
  char buf[1 << 16];
  for (size_t n; ok && in && (n = fread(buf, 1, sizeof buf, in)) > 0;) ok = fwrite(buf, 1, n, out) == n;
  if (in) fclose(in);
  if (fclose(out) != 0) ok = 0;
  if (!ok) {
    unlink(w->path);
    rc = ls_diag_set_at(d, LS_EIO, w->path, -1, "%s: write failed: %s", w->path, strerror(errno));
  }
done:
  free(js); /* from jansson's allocator (malloc) */
  ls_st_writer_abort(w);
  return rc;
}
