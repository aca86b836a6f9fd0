/* tfile.c: the format-independent half of tensor files: opening by path (format detected
 * from the content), memory mappings, the tensor table with its name index, metadata, and
 * dequantizing reads of rows and element ranges. The format readers fill the table through
 * the helpers of tfile_int.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/file.h"
#include "core/tensor/tfile_int.h"

/* ---------------------------------------------------------------- building */

int ls__tfile_map(ls_tfile *f, const char *path, int *idx, ls_diag *d) {
  if (f->n_maps == f->cap_maps) {
    int cap = f->cap_maps ? f->cap_maps * 2 : 4;
    ls__map *m = ls_reallocarray(f->maps, (size_t)cap, sizeof *m);
    if (!m) return ls_diag_set(d, LS_ENOMEM, "%s: out of memory", path);
    f->maps = m;
    f->cap_maps = cap;
  }
  int fd;
  uint64_t size;
  int rc = ls_file_open_ro(path, &fd, &size, d); /* never blocks; regular files only */
  if (rc) return rc;
  ls__map m = {ls_strdup(path), NULL, size};
  if (!m.path) { close(fd); return ls_diag_set(d, LS_ENOMEM, "%s: out of memory", path); }
  if (m.size > 0) {
    void *p = mmap(NULL, (size_t)m.size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      ls_free(m.path);
      return ls_diag_set_at(d, LS_EIO, path, -1, "%s: cannot map: %s", path, strerror(e));
    }
    m.base = p;
  }
  close(fd); /* the mapping keeps the file alive */
  *idx = f->n_maps;
  f->maps[f->n_maps++] = m;
  return LS_OK;
}

int ls__tfile_add(ls_tfile *f, const ls_tensor *t, ls_diag *d) {
  if (f->n_tensors == f->cap_tensors) {
    size_t cap = f->cap_tensors ? f->cap_tensors * 2 : 64;
    ls_tensor *n = ls_reallocarray(f->tensors, cap, sizeof *n);
    if (!n) return ls_diag_set(d, LS_ENOMEM, "out of memory adding tensor %s", t->name);
    f->tensors = n;
    f->cap_tensors = cap;
  }
  ls_tensor c = *t;
  c.name = ls_strdup(t->name);
  c.stored_name = ls_strdup(t->stored_name ? t->stored_name : t->name);
  if (!c.name || !c.stored_name) {
    ls_free((char *)c.name);
    ls_free((char *)c.stored_name);
    return ls_diag_set(d, LS_ENOMEM, "out of memory adding tensor %s", t->name);
  }
  c.data = c.nbytes ? f->maps[c.file].base + c.offset : NULL;
  f->tensors[f->n_tensors++] = c;
  return LS_OK;
}

int ls__tfile_meta_add(ls_tfile *f, const char *key, ls__meta_type type, int64_t i, double x,
                       const char *s) {
  if (f->n_meta == f->cap_meta) {
    size_t cap = f->cap_meta ? f->cap_meta * 2 : 32;
    ls__meta *m = ls_reallocarray(f->meta, cap, sizeof *m);
    if (!m) return LS_ENOMEM;
    f->meta = m;
    f->cap_meta = cap;
  }
  ls__meta m = {ls_strdup(key), type, i, x, s ? ls_strdup(s) : NULL, -1, NULL, 0};
  if (!m.key || (s && !m.s)) { ls_free(m.key); ls_free(m.s); return LS_ENOMEM; }
  f->meta[f->n_meta++] = m;
  return LS_OK;
}

int ls__tfile_meta_add_array(ls_tfile *f, const char *key, uint64_t n, int item_type,
                             const unsigned char *items, uint64_t nbytes) {
  if (n > INT64_MAX) return LS_EOVERFLOW;
  int rc = ls__tfile_meta_add(f, key, LS__META_INT, (int64_t)n, 0, NULL);
  if (rc) return rc;
  ls__meta *m = &f->meta[f->n_meta - 1];
  m->arr_type = item_type;
  m->arr = items;
  m->arr_bytes = nbytes;
  return LS_OK;
}

int ls__shape_nelem(const int64_t *shape, int ndim, uint64_t *out) {
  uint64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return LS_EFORMAT;
    if (__builtin_mul_overflow(n, (uint64_t)shape[i], &n)) return LS_EOVERFLOW;
  }
  /* Element indices must also fit int64 for the row arithmetic. */
  if (n > (uint64_t)INT64_MAX) return LS_EOVERFLOW;
  *out = n;
  return LS_OK;
}

int ls__utf8_valid(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += len;
  }
  return 1;
}

/* Orders of a file's tensor indices, the file as qsort_r's context (glibc; _GNU_SOURCE). */
static int cmp_offset(const void *a, const void *b, void *ctx) {
  const ls_tfile *f = ctx;
  const ls_tensor *x = &f->tensors[*(const size_t *)a];
  const ls_tensor *y = &f->tensors[*(const size_t *)b];
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int cmp_name(const void *a, const void *b, void *ctx) {
  const ls_tfile *f = ctx;
  return strcmp(f->tensors[*(const size_t *)a].name, f->tensors[*(const size_t *)b].name);
}

int ls__tfile_check_overlap(ls_tfile *f, int file, ls_diag *d) {
  size_t n = 0;
  for (size_t i = 0; i < f->n_tensors; i++) n += f->tensors[i].file == file && f->tensors[i].nbytes;
  if (n < 2) return LS_OK;
  size_t *ix = ls_calloc(n, sizeof *ix);
  if (!ix) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  for (size_t i = 0, k = 0; i < f->n_tensors; i++)
    if (f->tensors[i].file == file && f->tensors[i].nbytes) ix[k++] = i;
  qsort_r(ix, n, sizeof *ix, cmp_offset, f);
  int rc = LS_OK;
  for (size_t k = 1; k < n; k++) {
    const ls_tensor *a = &f->tensors[ix[k - 1]], *b = &f->tensors[ix[k]];
    if (b->offset < a->offset + a->nbytes) {
      rc = ls_diag_set_at(d, LS_EFORMAT, f->maps[file].path, (int64_t)b->offset,
                          "%s: tensor '%s' (bytes %llu..%llu) overlaps tensor '%s' (bytes %llu..%llu)",
                          f->maps[file].path, b->stored_name, (unsigned long long)b->offset,
                          (unsigned long long)(b->offset + b->nbytes), a->stored_name,
                          (unsigned long long)a->offset, (unsigned long long)(a->offset + a->nbytes));
      break;
    }
  }
  ls_free(ix);
  return rc;
}

/* Builds the name index; duplicate names (within a file or across shards) are an error. */
int ls__tfile_index(ls_tfile *f, ls_diag *d) {
  if (f->n_tensors == 0 || f->by_name) return LS_OK;
  f->by_name = ls_calloc(f->n_tensors, sizeof *f->by_name);
  if (!f->by_name) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  for (size_t i = 0; i < f->n_tensors; i++) f->by_name[i] = i;
  qsort_r(f->by_name, f->n_tensors, sizeof *f->by_name, cmp_name, f);
  for (size_t k = 1; k < f->n_tensors; k++) {
    const ls_tensor *a = &f->tensors[f->by_name[k - 1]], *b = &f->tensors[f->by_name[k]];
    if (strcmp(a->name, b->name) == 0)
      return ls_diag_set_at(d, LS_EFORMAT, f->maps[b->file].path, -1,
                            "%s: duplicate tensor name '%s' (also in %s)", f->maps[b->file].path,
                            b->name, f->maps[a->file].path);
  }
  return LS_OK;
}

/* ---------------------------------------------------------------- opening */

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int open_file(ls_tfile *f, const char *path, ls_diag *d) {
  unsigned char head[9] = {0};
  int fd;
  int rc = ls_file_open_ro(path, &fd, NULL, d);
  if (rc) return rc;
  size_t got = 0;
  while (got < sizeof head) {
    ssize_t r = read(fd, head + got, sizeof head - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (got >= 4 && memcmp(head, "GGUF", 4) == 0) { f->format = LS_TF_GGUF; return ls__gguf_load(f, path, d); }
  if (got >= 6 && memcmp(head, "\x93NUMPY", 6) == 0) { f->format = LS_TF_NPY; return ls__npy_load(f, path, d); }
  /* A safetensors file starts with its header length, whose low byte may well be '{':
   * "length then '{'" is safetensors; a file starting with JSON text is an index. */
  int st_like = got == 9 && head[8] == '{';
  if (!st_like && (ends_with(path, ".json") || (got > 0 && (head[0] == '{' || head[0] == ' ' || head[0] == '\n')))) {
    f->format = LS_TF_SHARDED;
    return ls__st_load_index(f, path, d);
  }
  f->format = LS_TF_SAFETENSORS;
  return ls__st_load(f, path, d);
}

int ls_tfile_open(const char *path, ls_tfile **out, ls_diag *d) {
  if (out) *out = NULL;
  struct stat st;
  if (stat(path, &st) != 0)
    return ls_diag_set_at(d, errno == ENOENT ? LS_ENOENT : LS_EIO, path, -1, "%s: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    /* Resolve the directory to one file path, then open that. */
    char idx[4096];
    snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", path);
    if (access(idx, R_OK) != 0) {
      DIR *dh = opendir(path);
      if (!dh) return ls_diag_set_at(d, LS_EIO, path, -1, "%s: cannot read directory", path);
      int found = 0;
      for (struct dirent *e; (e = readdir(dh));)
        if (ends_with(e->d_name, ".safetensors") || ends_with(e->d_name, ".gguf") ||
            ends_with(e->d_name, ".safetensors.index.json")) {
          found++;
          snprintf(idx, sizeof idx, "%s/%s", path, e->d_name);
        }
      closedir(dh);
      if (found != 1)
        return ls_diag_set_at(d, found ? LS_EINVAL : LS_ENOENT, path, -1,
                              "%s: directory holds %s tensor file (expected model.safetensors.index.json"
                              " or exactly one .safetensors/.gguf file)", path, found ? "more than one" : "no");
    }
    return ls_tfile_open(idx, out, d);
  }
  ls_tfile *f = ls_calloc(1, sizeof *f);
  if (!f) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  int rc = open_file(f, path, d);
  if (rc == LS_OK) rc = ls__tfile_index(f, d);
  if (rc != LS_OK) { ls_tfile_close(f); return rc; }
  if (out) *out = f; else ls_tfile_close(f);
  return LS_OK;
}

int ls_tfile_open_meta(const char *path, ls_tfile **out, ls_diag *d) {
  *out = NULL;
  ls_tfile *f = ls_calloc(1, sizeof *f);
  if (!f) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  f->meta_only = 1;
  int rc = open_file(f, path, d);
  if (rc == LS_OK && f->format != LS_TF_GGUF) rc = ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: not a GGUF file", path);
  if (rc == LS_OK) rc = ls__tfile_index(f, d);
  if (rc != LS_OK) { ls_tfile_close(f); return rc; }
  *out = f;
  return LS_OK;
}

void ls_tfile_close(ls_tfile *f) {
  if (!f) return;
  for (int i = 0; i < f->n_maps; i++) {
    if (f->maps[i].base) munmap((void *)f->maps[i].base, (size_t)f->maps[i].size);
    ls_free(f->maps[i].path);
  }
  for (size_t i = 0; i < f->n_tensors; i++) {
    ls_free((char *)f->tensors[i].name);
    ls_free((char *)f->tensors[i].stored_name);
  }
  for (size_t i = 0; i < f->n_meta; i++) { ls_free(f->meta[i].key); ls_free(f->meta[i].s); }
  ls_free(f->maps);
  ls_free(f->tensors);
  ls_free(f->by_name);
  ls_free(f->meta);
  ls_free(f);
}

/* ---------------------------------------------------------------- queries */

ls_tfile_format ls_tfile_format_of(const ls_tfile *f) { return f->format; }

const char *ls_tfile_format_name(const ls_tfile *f) {
  switch (f->format) {
  case LS_TF_SAFETENSORS: return "safetensors";
  case LS_TF_SHARDED: return "safetensors-sharded";
  case LS_TF_GGUF: return "gguf";
  case LS_TF_NPY: return "npy";
  }
  return "?";
}

size_t ls_tfile_count(const ls_tfile *f) { return f->n_tensors; }
const ls_tensor *ls_tfile_at(const ls_tfile *f, size_t i) { return i < f->n_tensors ? &f->tensors[i] : NULL; }
int ls_tfile_file_count(const ls_tfile *f) { return f->n_maps; }
const char *ls_tfile_file_path(const ls_tfile *f, int file) {
  return file >= 0 && file < f->n_maps ? f->maps[file].path : NULL;
}

const ls_tensor *ls_tfile_find(const ls_tfile *f, const char *name) {
  size_t lo = 0, hi = f->n_tensors;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(f->tensors[f->by_name[mid]].name, name);
    if (c == 0) return &f->tensors[f->by_name[mid]];
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  for (size_t i = 0; i < f->n_tensors; i++) /* stored (llama.cpp) names: rare, linear */
    if (strcmp(f->tensors[i].stored_name, name) == 0) return &f->tensors[i];
  return NULL;
}

static const ls__meta *meta_find(const ls_tfile *f, const char *key) {
  for (size_t i = 0; i < f->n_meta; i++)
    if (strcmp(f->meta[i].key, key) == 0) return &f->meta[i];
  return NULL;
}

int ls_tfile_meta_str(const ls_tfile *f, const char *key, const char **out) {
  const ls__meta *m = meta_find(f, key);
  if (!m) return LS_ENOENT;
  if (m->type != LS__META_STR) return LS_EFORMAT;
  *out = m->s;
  return LS_OK;
}

int ls_tfile_meta_int(const ls_tfile *f, const char *key, int64_t *out) {
  const ls__meta *m = meta_find(f, key);
  if (!m) return LS_ENOENT;
  if (m->type != LS__META_INT) return LS_EFORMAT;
  *out = m->i;
  return LS_OK;
}

int ls_tfile_meta_f64(const ls_tfile *f, const char *key, double *out) {
  const ls__meta *m = meta_find(f, key);
  if (!m) return LS_ENOENT;
  if (m->type == LS__META_INT) { *out = (double)m->i; return LS_OK; }
  if (m->type != LS__META_F64) return LS_EFORMAT;
  *out = m->f;
  return LS_OK;
}

/* ---------------------------------------------------------------- reading values */

int64_t ls_tensor_rows(const ls_tensor *t) { return t->ndim >= 1 ? t->shape[0] : 1; }
int64_t ls_tensor_row_len(const ls_tensor *t) {
  int64_t r = ls_tensor_rows(t);
  return r > 0 ? (int64_t)(t->nelem / (uint64_t)r) : 0;
}

/* Stored row of upstream row u (the inverse of llama.cpp's permute()). */
static int64_t stored_row(const ls_tensor *t, int64_t u) {
  if (t->rowmap != LS_ROWMAP_ROPE_INTERLEAVED || t->rowmap_heads <= 0) return u;
  int64_t hd = t->shape[0] / t->rowmap_heads, half = hd / 2;
  if (half <= 0 || hd * t->rowmap_heads != t->shape[0]) return u;
  int64_t h = u / hd, r = u % hd, j = r / half, i = r % half;
  return h * hd + 2 * i + j;
}

/* Elements [start, start+n) of the STORED order into dst; handles partial quant blocks. */
static int read_flat(const ls_tensor *t, uint64_t start, size_t n, float *dst) {
  uint64_t be = (uint64_t)ls_dtype_block_elems(t->dtype), bb = (uint64_t)ls_dtype_block_bytes(t->dtype);
  const unsigned char *base = t->data;
  if (n == 0) return LS_OK;
  if (be == 1) return ls_dtype_to_f32(t->dtype, base + start * bb, n, dst);
  float tmp[256]; /* one block of the largest quantization */
  while (n > 0) {
    uint64_t blk = start / be, in = start % be;
    size_t take = (size_t)(be - in) < n ? (size_t)(be - in) : n;
    if (in == 0 && take == be) {
      size_t whole = (size_t)(n / be);
      ls_dtype_to_f32(t->dtype, base + blk * bb, whole * be, dst);
      take = whole * be;
    } else {
      ls_dtype_to_f32(t->dtype, base + blk * bb, be, tmp);
      memcpy(dst, tmp + in, take * sizeof(float));
    }
    dst += take;
    start += take;
    n -= take;
  }
  return LS_OK;
}

const void *ls_tensor_row_data(const ls_tensor *t, int64_t row) {
  if (t->fortran || row < 0 || row >= ls_tensor_rows(t) || !t->data) return NULL;
  uint64_t off;
  if (ls_dtype_nbytes(t->dtype, (uint64_t)stored_row(t, row) * (uint64_t)ls_tensor_row_len(t), &off)) return NULL;
  return (const unsigned char *)t->data + off;
}

int ls_tensor_row_f32(const ls_tensor *t, int64_t row, float *dst, ls_diag *d) {
  if (row < 0 || row >= ls_tensor_rows(t))
    return ls_diag_set(d, LS_EINVAL, "%s: row %lld out of range [0, %lld)", t->name, (long long)row,
                       (long long)ls_tensor_rows(t));
  if (t->fortran) return ls_tensor_read_f32(t, (uint64_t)row * (uint64_t)ls_tensor_row_len(t),
                                            (size_t)ls_tensor_row_len(t), dst, d);
  int64_t len = ls_tensor_row_len(t);
  return read_flat(t, (uint64_t)stored_row(t, row) * (uint64_t)len, (size_t)len, dst);
}

int ls_tensor_read_f32(const ls_tensor *t, uint64_t start, size_t n, float *dst, ls_diag *d) {
  if (start > t->nelem || n > t->nelem - start)
    return ls_diag_set(d, LS_EINVAL, "%s: elements [%llu, +%zu) out of range (%llu elements)", t->name,
                       (unsigned long long)start, n, (unsigned long long)t->nelem);
  if (t->fortran && t->ndim > 1) {
    /* Column-major data: gather each element (row-major index -> multi-index -> offset). */
    for (size_t k = 0; k < n; k++) {
      uint64_t i = start + k, off = 0, stride = 1;
      uint64_t idx[LS_TENSOR_MAX_DIMS];
      for (int a = t->ndim - 1; a >= 0; a--) { idx[a] = i % (uint64_t)t->shape[a]; i /= (uint64_t)t->shape[a]; }
      for (int a = 0; a < t->ndim; a++) { off += idx[a] * stride; stride *= (uint64_t)t->shape[a]; }
      read_flat(t, off, 1, dst + k);
    }
    return LS_OK;
  }
  if (t->rowmap == LS_ROWMAP_NONE) return read_flat(t, start, n, dst);
  uint64_t len = (uint64_t)ls_tensor_row_len(t);
  while (n > 0) {
    uint64_t row = start / len, col = start % len;
    size_t take = (size_t)(len - col) < n ? (size_t)(len - col) : n;
    read_flat(t, (uint64_t)stored_row(t, (int64_t)row) * len + col, take, dst);
    dst += take;
    start += take;
    n -= take;
  }
  return LS_OK;
}

char *ls_tensor_describe(const ls_tensor *t, char *buf, size_t size) {
  size_t p = (size_t)snprintf(buf, size, "%s[", ls_dtype_name(t->dtype));
  for (int i = 0; i < t->ndim && p < size; i++)
    p += (size_t)snprintf(buf + p, size - p, "%s%lld", i ? "," : "", (long long)t->shape[i]);
  if (p < size) snprintf(buf + p, size - p, "]");
  return buf;
}
