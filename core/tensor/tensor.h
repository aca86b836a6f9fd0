/* tensor.h: tensor files and tensor views. One API opens any supported file -- a
 * safetensors file, a sharded checkpoint (model.safetensors.index.json or a directory
 * holding one), a GGUF v2/v3 file or a .npy array -- by memory-mapping it and parsing only
 * its headers; tensors are then views into the mapping, in their stored dtype. Every offset,
 * size and count read from a file is bounds- and overflow-checked before use, and a bad file
 * gets an LS_E* code with an ls_diag naming the file, the tensor and the problem.
 *
 * Names and shapes are the upstream (Hugging Face / PyTorch) ones: GGUF names are mapped
 * from llama.cpp's (blk.3.attn_q.weight -> model.layers.3.self_attn.q_proj.weight) and GGUF
 * dimensions (ne[0] fastest) are reversed to row-major order. The data itself is never
 * rewritten; where llama.cpp's converter reordered rows (q/k projections permuted for its
 * interleaved rotary layout) the view carries a row map that ls_tensor_row_f32 and
 * ls_tensor_read_f32 apply. See docs/tensors.md. */
#ifndef LS_TENSOR_TENSOR_H
#define LS_TENSOR_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/tensor/dtype.h"

#define LS_TENSOR_MAX_DIMS 8

typedef enum ls_tfile_format { LS_TF_SAFETENSORS, LS_TF_SHARDED, LS_TF_GGUF, LS_TF_NPY } ls_tfile_format;

/* How stored rows relate to upstream rows (dimension 0 of the upstream shape). */
typedef enum ls_rowmap {
  LS_ROWMAP_NONE = 0,
  /* llama.cpp's q/k permutation: upstream row u = h*hd + j*(hd/2) + i (head h, half j,
   * pair i) is stored at row h*hd + 2*i + j, with hd = rows / rowmap_heads. */
  LS_ROWMAP_ROPE_INTERLEAVED
} ls_rowmap;

typedef struct ls_tensor {
  const char *name;        /* upstream name; borrowed from the ls_tfile */
  const char *stored_name; /* name as written in the file (llama.cpp's for GGUF) */
  ls_dtype dtype;
  int ndim;                /* 0..LS_TENSOR_MAX_DIMS; 0 is a scalar */
  int64_t shape[LS_TENSOR_MAX_DIMS]; /* [ndim] upstream order, slowest dimension first */
  uint64_t nelem;          /* product of shape (1 for a scalar) */
  uint64_t nbytes;         /* stored bytes */
  const void *data;        /* [nbytes] inside the read-only mapping; NULL when nbytes == 0 */
  uint64_t offset;         /* absolute byte offset of data in its file */
  int file;                /* index of the file it lives in (ls_tfile_file_path) */
  int fortran;             /* 1: .npy in Fortran order, data is column-major */
  ls_rowmap rowmap;        /* row reordering of the stored data (GGUF q/k), see above */
  int rowmap_heads;        /* heads for LS_ROWMAP_ROPE_INTERLEAVED */
} ls_tensor;

typedef struct ls_tfile ls_tfile;

/* Opens a tensor file: FILE.safetensors, model.safetensors.index.json (every shard's header
 * is read, no data), a directory holding an index or exactly one .safetensors/.gguf file,
 * FILE.gguf or FILE.npy (detected by content, not by name). *out is new (ls_tfile_close);
 * tensor pointers stay valid until then. Returns LS_OK, LS_ENOENT, LS_EIO, LS_EFORMAT,
 * LS_ETRUNC, LS_EOVERFLOW, LS_EUNSUPPORTED, LS_ELIMIT or LS_ENOMEM. */
int ls_tfile_open(const char *path, ls_tfile **out, ls_diag *d);
void ls_tfile_close(ls_tfile *f);
/* Opens only the key/values of a GGUF file, not its tensor infos (which may use ggml types
 * the readers do not decode): what the tokenizer reads. No tensors; LS_EFORMAT for another
 * format. *out is new (ls_tfile_close). */
int ls_tfile_open_meta(const char *path, ls_tfile **out, ls_diag *d);

ls_tfile_format ls_tfile_format_of(const ls_tfile *f);
const char *ls_tfile_format_name(const ls_tfile *f); /* "safetensors", "gguf", ... */
size_t ls_tfile_count(const ls_tfile *f);
/* Tensor i in file order (shard order, then data offset). Borrowed. NULL if out of range. */
const ls_tensor *ls_tfile_at(const ls_tfile *f, size_t i);
/* By upstream name (also accepts the stored name); O(log n). Borrowed; NULL if absent. */
const ls_tensor *ls_tfile_find(const ls_tfile *f, const char *name);
int ls_tfile_file_count(const ls_tfile *f);
const char *ls_tfile_file_path(const ls_tfile *f, int file); /* borrowed */

/* Metadata: safetensors "__metadata__" strings and GGUF key/values (scalars and strings;
 * arrays are skipped). Return LS_OK, LS_ENOENT (absent) or LS_EFORMAT (other type). */
int ls_tfile_meta_str(const ls_tfile *f, const char *key, const char **out);
int ls_tfile_meta_int(const ls_tfile *f, const char *key, int64_t *out);
int ls_tfile_meta_f64(const ls_tfile *f, const char *key, double *out);

/* GGUF metadata arrays (tokenizer.ggml.tokens, .scores, .token_type, .merges), read in
 * place from the mapping: valid until ls_tfile_close. Items were bounds-checked when the
 * file was opened. ls_tfile_meta_array: LS_OK, LS_ENOENT (absent), LS_EFORMAT (not an
 * array). */
typedef enum ls_meta_item { LS_META_ITEM_INT, LS_META_ITEM_FLOAT, LS_META_ITEM_STRING,
                            LS_META_ITEM_ARRAY } ls_meta_item;
typedef struct ls_meta_array {
  ls_meta_item item;          /* integers include bools */
  uint64_t n;                 /* items */
  int gguf_type;              /* the GGUF item type (for the accessors) */
  const unsigned char *data;  /* [nbytes] the items as stored */
  uint64_t nbytes;
} ls_meta_array;
int ls_tfile_meta_array(const ls_tfile *f, const char *key, ls_meta_array *out);
/* Item i of a numeric array (integers convert to double). LS_EINVAL: i out of range or
 * the wrong kind. */
int ls_meta_array_int(const ls_meta_array *a, uint64_t i, int64_t *v);
int ls_meta_array_f64(const ls_meta_array *a, uint64_t i, double *v);
/* Walks a string array in order: *pos starts at 0 and is advanced; *s points into the
 * mapping (not NUL-terminated), *n bytes. LS_ENOENT past the last item. */
int ls_meta_array_next_str(const ls_meta_array *a, uint64_t *pos, const char **s, size_t *n);

/* Rows of a tensor of ndim >= 1: shape[0] rows of nelem/shape[0] elements each. */
int64_t ls_tensor_rows(const ls_tensor *t);
int64_t ls_tensor_row_len(const ls_tensor *t);
/* Dequantizes upstream row `row` into dst[ls_tensor_row_len(t)], applying the row map.
 * LS_EINVAL if row is out of range, LS_EUNSUPPORTED for Fortran-order tensors. */
int ls_tensor_row_f32(const ls_tensor *t, int64_t row, float *dst, ls_diag *d);
/* Pointer to the stored bytes of upstream row `row` (row map applied), for kernels that
 * dequantize themselves; NULL if out of range or Fortran order. */
const void *ls_tensor_row_data(const ls_tensor *t, int64_t row);
/* Dequantizes elements [start, start+n) of the tensor in upstream row-major order (row map
 * and Fortran order applied; ranges need not be block-aligned) into dst[n]. */
int ls_tensor_read_f32(const ls_tensor *t, uint64_t start, size_t n, float *dst, ls_diag *d);

/* "bf16[32,4096]" into buf (always NUL-terminated); returns buf. */
char *ls_tensor_describe(const ls_tensor *t, char *buf, size_t size);

/* ------------------------------------------------------------ safetensors writer
 * Streams tensors into a safetensors file with bounded memory: data goes to a temporary
 * file beside OUT as it is added; close writes the header (sorted by name, as the reference
 * writer does) and the data into a second temporary, flushes it to disk and renames it over
 * OUT, so OUT is either the previous file or the whole new one. Used by `run --dump`. */
typedef struct ls_st_writer ls_st_writer;
int ls_st_writer_open(const char *path, ls_st_writer **out, ls_diag *d);
/* Adds a tensor: shape[ndim] row-major, data[nbytes of dtype x shape] (copied). Plain
 * dtypes only (safetensors has no block quantizations). Duplicate names -> LS_EINVAL. */
int ls_st_writer_add(ls_st_writer *w, const char *name, ls_dtype dtype, int ndim,
                     const int64_t *shape, const void *data, ls_diag *d);
/* Optional "__metadata__" string entry. */
int ls_st_writer_meta(ls_st_writer *w, const char *key, const char *value, ls_diag *d);
/* Writes the file and frees w (also on error: OUT is then left as it was and the
 * temporaries are removed). */
int ls_st_writer_close(ls_st_writer *w, ls_diag *d);
/* Frees w without writing anything. */
void ls_st_writer_abort(ls_st_writer *w);

#endif
