/* tfile_int.h (internal to core/tensor): the ls_tfile structure and the helpers the format
 * readers (safetensors.c, gguf.c, npy.c) use to add mappings, tensors and metadata. */
#ifndef LS_TENSOR_TFILE_INT_H
#define LS_TENSOR_TFILE_INT_H

#include "core/tensor/tensor.h"

typedef struct ls__map {
  char *path;
  const unsigned char *base; /* [size] read-only mapping; NULL when size == 0 */
  uint64_t size;
} ls__map;

typedef enum ls__meta_type { LS__META_INT, LS__META_F64, LS__META_STR } ls__meta_type;

typedef struct ls__meta {
  char *key;
  ls__meta_type type;
  int64_t i;                 /* an integer, or an array's item count */
  double f;
  char *s;
  int arr_type;              /* an array's GGUF item type; -1 for a scalar or string */
  const unsigned char *arr;  /* [arr_bytes] the array's items inside the mapping */
  uint64_t arr_bytes;
} ls__meta;

struct ls_tfile {
  ls_tfile_format format;
  ls__map *maps; int n_maps, cap_maps;
  ls_tensor *tensors; size_t n_tensors, cap_tensors;
  size_t *by_name;   /* [n_tensors] tensor indices sorted by name */
  ls__meta *meta; size_t n_meta, cap_meta;
  int meta_only;     /* GGUF: stop after the key/values (ls_tfile_open_meta) */
};

/* Maps `path` read-only; *idx receives its file index. */
int ls__tfile_map(ls_tfile *f, const char *path, int *idx, ls_diag *d);
/* Appends a tensor (name strings are copied; t->data is computed from file/offset). */
int ls__tfile_add(ls_tfile *f, const ls_tensor *t, ls_diag *d);
int ls__tfile_meta_add(ls_tfile *f, const char *key, ls__meta_type type, int64_t i, double x,
                       const char *s);
/* Records a GGUF array (its item count is also what ls_tfile_meta_int answers). */
int ls__tfile_meta_add_array(ls_tfile *f, const char *key, uint64_t n, int item_type,
                             const unsigned char *items, uint64_t nbytes);
/* Product of shape with overflow check; LS_EOVERFLOW names the tensor. */
int ls__shape_nelem(const int64_t *shape, int ndim, uint64_t *out);
/* 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int ls__utf8_valid(const char *s, size_t n);

/* Format readers: append the tensors of one file to f. */
int ls__st_load(ls_tfile *f, const char *path, ls_diag *d);
int ls__st_load_index(ls_tfile *f, const char *path, ls_diag *d);
int ls__gguf_load(ls_tfile *f, const char *path, ls_diag *d);
int ls__npy_load(ls_tfile *f, const char *path, ls_diag *d);

/* Builds the sorted name index (once); duplicate names are an error. */
int ls__tfile_index(ls_tfile *f, ls_diag *d);
/* safetensors dtype name ("BF16") of a plain dtype, NULL for others. */
const char *ls__st_dtype_name(ls_dtype dt);

/* Checks that the tensors of file `file` do not overlap (sorting them by offset). */
int ls__tfile_check_overlap(ls_tfile *f, int file, ls_diag *d);

#endif
