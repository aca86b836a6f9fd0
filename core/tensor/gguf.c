/* gguf.c: the GGUF v2/v3 reader (llama.cpp's file format, docs/gguf.md of ggml):
 *   "GGUF" u32 version, u64 n_tensors, u64 n_kv,
 *   n_kv x { string key, u32 type, value }      (string = u64 length + bytes)
 *   n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
 *   padding to general.alignment (default 32), then the data; offsets are relative to it.
 * Counts are checked against the bytes left in the file before anything is allocated or
 * looped over, so a header claiming billions of entries fails at once with a clear message.
 * Tensor names are mapped to upstream names (gguf_names.c) and ne[] (fastest first) is
 * reversed to row-major shape. Data is never copied or reordered. */
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/gguf_names.h"
#include "core/tensor/tfile_int.h"

enum { GT_U8, GT_I8, GT_U16, GT_I16, GT_U32, GT_I32, GT_F32, GT_BOOL, GT_STRING, GT_ARRAY, GT_U64,
       GT_I64, GT_F64, GT_COUNT };
static const int k_gt_size[GT_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

/* ggml_type numbers (ggml.h) of the types we decode. */
static int ggml_to_dtype(uint32_t t, ls_dtype *out) {
  switch (t) {
  case 0: *out = LS_DT_F32; return 1;
  case 1: *out = LS_DT_F16; return 1;
  case 2: *out = LS_DT_Q4_0; return 1;
  case 3: *out = LS_DT_Q4_1; return 1;
  case 6: *out = LS_DT_Q5_0; return 1;
  case 7: *out = LS_DT_Q5_1; return 1;
  case 8: *out = LS_DT_Q8_0; return 1;
  case 12: *out = LS_DT_Q4_K; return 1;
  case 14: *out = LS_DT_Q6_K; return 1;
  case 24: *out = LS_DT_I8; return 1;
  case 25: *out = LS_DT_I16; return 1;
  case 26: *out = LS_DT_I32; return 1;
  case 27: *out = LS_DT_I64; return 1;
  case 28: *out = LS_DT_F64; return 1;
  case 30: *out = LS_DT_BF16; return 1;
  default: return 0;
  }
}

typedef struct cur {
  const unsigned char *p;
  uint64_t size, pos;
  const char *path;
  ls_diag *d;
} cur;

static int need(cur *c, uint64_t n, const char *what) {
  if (n > c->size - c->pos)
    return ls_diag_set_at(c->d, LS_ETRUNC, c->path, (int64_t)c->pos,
                          "%s: truncated at byte %llu reading %s (%llu bytes needed, %llu left)", c->path,
                          (unsigned long long)c->pos, what, (unsigned long long)n,
                          (unsigned long long)(c->size - c->pos));
  return LS_OK;
}

static int rd_u32(cur *c, uint32_t *v, const char *what) {
  int rc = need(c, 4, what);
  if (rc) return rc;
  *v = 0;
  for (int i = 3; i >= 0; i--) *v = (*v << 8) | c->p[c->pos + (uint64_t)i];
  c->pos += 4;
  return LS_OK;
}

static int rd_u64(cur *c, uint64_t *v, const char *what) {
  int rc = need(c, 8, what);
  if (rc) return rc;
  *v = 0;
  for (int i = 7; i >= 0; i--) *v = (*v << 8) | c->p[c->pos + (uint64_t)i];
  c->pos += 8;
  return LS_OK;
}

/* A string: returns a pointer into the mapping (not NUL-terminated) and its length. */
static int rd_str(cur *c, const char **s, uint64_t *n, const char *what) {
  int rc = rd_u64(c, n, what);
  if (rc) return rc;
  if ((rc = need(c, *n, what))) return rc;
  *s = (const char *)c->p + c->pos;
  c->pos += *n;
  return LS_OK;
}

/* Reads one value of type `type`; scalars and strings are stored as metadata under key
 * (when key != NULL); arrays are skipped after their size is checked. */
static int rd_value(cur *c, ls_tfile *f, const char *key, uint32_t type, int depth) {
  if (type >= GT_COUNT)
    return ls_diag_set_at(c->d, LS_EFORMAT, c->path, (int64_t)c->pos, "%s: metadata '%s': unknown value type %u",
                          c->path, key ? key : "(array item)", type);
  if (type == GT_STRING) {
    const char *s;
    uint64_t n;
    int rc = rd_str(c, &s, &n, "a metadata string");
    if (rc || !key) return rc;
    if (n > 1u << 20) return LS_OK; /* long strings (chat templates) are not kept */
    char *z = ls_strndup(s, (size_t)n);
    if (!z) return ls_diag_set(c->d, LS_ENOMEM, "out of memory");
    rc = ls__tfile_meta_add(f, key, LS__META_STR, 0, 0, z);
    ls_free(z);
    return rc ? ls_diag_set(c->d, LS_ENOMEM, "out of memory") : LS_OK;
  }
  if (type == GT_ARRAY) {
    uint32_t et;
    uint64_t n;
    int rc = rd_u32(c, &et, "an array type");
    if (!rc) rc = rd_u64(c, &n, "an array length");
    if (rc) return rc;
    if (depth > 4) return ls_diag_set_at(c->d, LS_ELIMIT, c->path, (int64_t)c->pos, "%s: metadata '%s': arrays nested too deep", c->path, key ? key : "?");
    if (et >= GT_COUNT)
      return ls_diag_set_at(c->d, LS_EFORMAT, c->path, (int64_t)c->pos, "%s: metadata '%s': unknown array item type %u",
                            c->path, key ? key : "?", et);
    /* Each item takes at least 1 byte (8 for strings and arrays): bound n by the file. */
    uint64_t min_item = k_gt_size[et] ? (uint64_t)k_gt_size[et] : 8;
    if (n > (c->size - c->pos) / min_item)
      return ls_diag_set_at(c->d, LS_ETRUNC, c->path, (int64_t)c->pos,
                            "%s: metadata '%s': array of %llu items cannot fit in the %llu bytes left", c->path,
                            key ? key : "?", (unsigned long long)n, (unsigned long long)(c->size - c->pos));
    uint64_t start = c->pos;
    if (k_gt_size[et]) c->pos += n * min_item;
    else
      for (uint64_t i = 0; i < n; i++)
        if ((rc = rd_value(c, f, NULL, et, depth + 1))) return rc;
    /* kept in place, for ls_tfile_meta_array (the tokenizer's arrays) */
    if (key && ls__tfile_meta_add_array(f, key, n, (int)et, c->p + start, c->pos - start))
      return ls_diag_set(c->d, LS_ENOMEM, "out of memory");
    return LS_OK;
  }
  int rc = need(c, (uint64_t)k_gt_size[type], "a metadata value");
  if (rc) return rc;
  const unsigned char *p = c->p + c->pos;
  c->pos += (uint64_t)k_gt_size[type];
  if (!key) return LS_OK;
  uint64_t u = 0;
  for (int i = k_gt_size[type] - 1; i >= 0; i--) u = (u << 8) | p[i];
  int64_t iv = 0;
  double fv = 0;
  ls__meta_type mt = LS__META_INT;
  switch (type) {
  case GT_I8: iv = (int8_t)u; break;
  case GT_I16: iv = (int16_t)u; break;
  case GT_I32: iv = (int32_t)u; break;
  case GT_I64: iv = (int64_t)u; break;
  case GT_F32: { uint32_t b = (uint32_t)u; float x; memcpy(&x, &b, 4); fv = x; mt = LS__META_F64; break; }
  case GT_F64: memcpy(&fv, &u, 8); mt = LS__META_F64; break;
  default: iv = (int64_t)u; break; /* unsigned and bool */
  }
  return ls__tfile_meta_add(f, key, mt, iv, fv, NULL) ? ls_diag_set(c->d, LS_ENOMEM, "out of memory") : LS_OK;
}

/* Adds t (offset still relative) with nbytes 0, so that no pointer into the mapping is
 * formed before the bounds check, then restores its byte size. */
static int add_pending(ls_tfile *f, const ls_tensor *t, ls_diag *d) {
  ls_tensor c = *t;
  c.nbytes = 0;
  int rc = ls__tfile_add(f, &c, d);
  if (rc == LS_OK) f->tensors[f->n_tensors - 1].nbytes = t->nbytes;
  return rc;
}

/* Most experts a merged tensor may hold when the file has no <arch>.expert_count: bounds
 * the views added for a header of a few bytes (a [0, 0, 2^40] tensor has no data). */
enum { MAX_EXPERTS = 4096 };

/* A merged mixtral experts tensor t (upstream shape [n_expert, out, in]) becomes n_expert
 * views [out, in] into the same bytes, named model.layers.N.block_sparse_moe.experts.E.wK.
 * Each slice must be a whole number of quantization blocks, so that it starts on a block. */
static int add_experts(ls_tfile *f, const ls_tensor *t, const char *arch, int64_t n_expert, uint64_t *budget,
                       const char *path, ls_diag *d) {
  const char *name = t->stored_name;
  if (t->ndim != 3)
    return ls_diag_set_at(d, LS_ESHAPE, path, -1, "%s: tensor '%s': merged experts tensor has %d dimensions "
                          "(expected 3: [n_expert, out, in])", path, name, t->ndim);
  int64_t ne = t->shape[0];
  if (n_expert >= 0 && ne != n_expert)
    return ls_diag_set_at(d, LS_ESHAPE, path, -1, "%s: tensor '%s': holds %lld experts but %s.expert_count is %lld",
                          path, name, (long long)ne, arch, (long long)n_expert);
  if (ne < 1 || ne > MAX_EXPERTS)
    return ls_diag_set_at(d, LS_ELIMIT, path, -1, "%s: tensor '%s': %lld experts (expected 1..%d)", path, name,
                          (long long)ne, MAX_EXPERTS);
  /* Views are only worth their memory when they have bytes: the merged tensors together
   * cannot hold more than the file (they may not overlap), which bounds the views added. */
  if (t->nbytes == 0 || t->nbytes > *budget)
    return ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: tensor '%s': merged experts tensor of %llu bytes is empty or "
                          "larger than the rest of the file", path, name, (unsigned long long)t->nbytes);
  *budget -= t->nbytes;
  ls_tensor s = *t;
  s.ndim = 2;
  s.shape[0] = t->shape[1];
  s.shape[1] = t->shape[2];
  s.shape[2] = 0;
  s.nelem = t->nelem / (uint64_t)ne;
  int64_t be = ls_dtype_block_elems(t->dtype);
  if (s.nelem % (uint64_t)be)
    return ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: tensor '%s': an expert slice of %llu elements is not a whole "
                          "number of %s blocks (%lld): slices would not start on a block", path, name,
                          (unsigned long long)s.nelem, ls_dtype_name(t->dtype), (long long)be);
  if (ls_dtype_nbytes(t->dtype, s.nelem, &s.nbytes) || s.nbytes * (uint64_t)ne != t->nbytes)
    return ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: tensor '%s': expert slices do not tile the tensor's %llu bytes",
                          path, name, (unsigned long long)t->nbytes);
  char up[600], stored[600];
  for (int64_t e = 0; e < ne; e++) {
    ls__gguf_expert_name(arch, name, e, up, sizeof up);
    snprintf(stored, sizeof stored, "%s[%lld]", name, (long long)e); /* errors name the slice */
    s.name = up;
    s.stored_name = stored;
    s.offset = t->offset + (uint64_t)e * s.nbytes; /* no overflow: nbytes * ne == t->nbytes */
    int rc = add_pending(f, &s, d);
    if (rc) return rc;
  }
  return LS_OK;
}

int ls__gguf_load(ls_tfile *f, const char *path, ls_diag *d) {
  int file;
  int rc = ls__tfile_map(f, path, &file, d);
  if (rc) return rc;
  cur c = {f->maps[file].base, f->maps[file].size, 0, path, d};
  uint32_t magic, version;
  uint64_t n_tensors, n_kv;
  if ((rc = rd_u32(&c, &magic, "the magic")) || (rc = rd_u32(&c, &version, "the version"))) return rc;
  if (version != 2 && version != 3)
    return ls_diag_set_at(d, LS_EUNSUPPORTED, path, 4, "%s: GGUF version %u (only 2 and 3 are supported)", path, version);
  if ((rc = rd_u64(&c, &n_tensors, "the tensor count")) || (rc = rd_u64(&c, &n_kv, "the metadata count"))) return rc;
  /* A key/value takes at least 8+4+1 bytes, a tensor info 8+4+4+8. */
  if (n_kv > (c.size - c.pos) / 13)
    return ls_diag_set_at(d, LS_EFORMAT, path, 16, "%s: metadata count %llu is impossible for a file of %llu bytes",
                          path, (unsigned long long)n_kv, (unsigned long long)c.size);
  if (n_tensors > (c.size - c.pos) / 24)
    return ls_diag_set_at(d, LS_EFORMAT, path, 8, "%s: tensor count %llu is impossible for a file of %llu bytes",
                          path, (unsigned long long)n_tensors, (unsigned long long)c.size);
  char key[512];
  for (uint64_t i = 0; i < n_kv; i++) {
    const char *k;
    uint64_t kn;
    uint32_t type;
    if ((rc = rd_str(&c, &k, &kn, "a metadata key"))) return rc;
    if (kn >= sizeof key || !ls__utf8_valid(k, (size_t)kn) || memchr(k, 0, (size_t)kn))
      return ls_diag_set_at(d, LS_EFORMAT, path, (int64_t)c.pos, "%s: metadata key %llu is not a valid name", path,
                            (unsigned long long)i);
    memcpy(key, k, (size_t)kn);
    key[kn] = 0;
    if ((rc = rd_u32(&c, &type, "a metadata type")) || (rc = rd_value(&c, f, key, type, 0))) return rc;
  }
  int64_t align = 32;
  if (ls_tfile_meta_int(f, "general.alignment", &align) == LS_OK &&
      (align <= 0 || align > (1 << 20) || (align & (align - 1))))
    return ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: general.alignment %lld is not a power of two <= 1 MiB", path,
                          (long long)align);
  if (f->meta_only) return LS_OK; /* the tensor infos are not read: any ggml type may follow */
  const char *arch = "";
  ls_tfile_meta_str(f, "general.architecture", &arch);
  char akey[160];
  int64_t n_head = 0, n_head_kv = 0;
  snprintf(akey, sizeof akey, "%s.attention.head_count", arch);
  ls_tfile_meta_int(f, akey, &n_head);
  snprintf(akey, sizeof akey, "%s.attention.head_count_kv", arch);
  if (ls_tfile_meta_int(f, akey, &n_head_kv) != LS_OK) n_head_kv = n_head;

  int64_t n_expert = -1; /* <arch>.expert_count, -1 when absent */
  snprintf(akey, sizeof akey, "%s.expert_count", arch);
  if (ls_tfile_meta_int(f, akey, &n_expert) != LS_OK) n_expert = -1;

  /* Until the data start is known, each added tensor's `offset` holds its offset relative
   * to the data section (a merged experts tensor adds one tensor per expert). */
  size_t first = f->n_tensors;
  uint64_t expert_budget = c.size;
  for (uint64_t i = 0; i < n_tensors && rc == LS_OK; i++) {
    const char *nm;
    uint64_t nn, rel;
    uint32_t nd, gt;
    char name[512], up[600];
    if ((rc = rd_str(&c, &nm, &nn, "a tensor name"))) break;
    if (nn == 0 || nn >= sizeof name || !ls__utf8_valid(nm, (size_t)nn) || memchr(nm, 0, (size_t)nn)) {
      rc = ls_diag_set_at(d, LS_EFORMAT, path, (int64_t)c.pos, "%s: tensor %llu: name is empty, too long or not UTF-8",
                          path, (unsigned long long)i);
      break;
    }
    memcpy(name, nm, (size_t)nn);
    name[nn] = 0;
    if ((rc = rd_u32(&c, &nd, "a dimension count"))) break;
    if (nd > LS_TENSOR_MAX_DIMS) {
      rc = ls_diag_set_at(d, LS_ELIMIT, path, (int64_t)c.pos, "%s: tensor '%s': %u dimensions (at most %d)", path, name,
                          nd, LS_TENSOR_MAX_DIMS);
      break;
    }
    ls_tensor t = {0};
    t.ndim = (int)nd;
    t.file = file;
    for (uint32_t k = 0; k < nd && rc == LS_OK; k++) {
      uint64_t ne;
      if ((rc = rd_u64(&c, &ne, "a dimension"))) break;
      if (ne > (uint64_t)INT64_MAX)
        rc = ls_diag_set_at(d, LS_EOVERFLOW, path, (int64_t)c.pos, "%s: tensor '%s': dimension %u is %llu", path, name,
                            k, (unsigned long long)ne);
      t.shape[nd - 1 - k] = (int64_t)ne; /* ne[0] is the fastest: last in row-major order */
    }
    if (rc || (rc = rd_u32(&c, &gt, "a tensor type")) || (rc = rd_u64(&c, &rel, "a tensor offset"))) break;
    if (!ggml_to_dtype(gt, &t.dtype)) {
      rc = ls_diag_set_at(d, LS_EUNSUPPORTED, path, -1, "%s: tensor '%s': ggml type %u is not supported", path, name, gt);
      break;
    }
    if ((rc = ls__shape_nelem(t.shape, t.ndim, &t.nelem))) {
      rc = ls_diag_set_at(d, LS_EOVERFLOW, path, -1, "%s: tensor '%s': element count overflows", path, name);
      break;
    }
    int64_t be = ls_dtype_block_elems(t.dtype);
    if (be > 1 && (nd == 0 || t.shape[nd - 1] % be != 0)) {
      rc = ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: tensor '%s': row length %lld is not a multiple of the %s block (%lld)",
                          path, name, (long long)(nd ? t.shape[nd - 1] : 0), ls_dtype_name(t.dtype), (long long)be);
      break;
    }
    if (ls_dtype_nbytes(t.dtype, t.nelem, &t.nbytes)) {
      rc = ls_diag_set_at(d, LS_EOVERFLOW, path, -1, "%s: tensor '%s': byte size overflows", path, name);
      break;
    }
    if (rel % (uint64_t)align) {
      rc = ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: tensor '%s': offset %llu is not a multiple of the alignment %lld",
                          path, name, (unsigned long long)rel, (long long)align);
      break;
    }
    ls__gguf_upstream_name(arch, name, up, sizeof up);
    t.name = up;
    t.stored_name = name;
    if (ls__gguf_rope_permuted(arch, name)) {
      t.rowmap = LS_ROWMAP_ROPE_INTERLEAVED;
      t.rowmap_heads = (int)(strstr(name, "attn_k") ? n_head_kv : n_head);
      if (t.rowmap_heads <= 0 || t.ndim < 1 || t.shape[0] % t.rowmap_heads || (t.shape[0] / t.rowmap_heads) % 2) {
        rc = ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: tensor '%s': %lld rows do not split into %d heads of even size",
                            path, name, (long long)(t.ndim ? t.shape[0] : 0), t.rowmap_heads);
        break;
      }
    }
    t.offset = rel; /* relative until the data start is known (below) */
    t.data = NULL;
    if (ls__gguf_merged_experts(arch, name)) {
      rc = add_experts(f, &t, arch, n_expert, &expert_budget, path, d);
      continue;
    }
    rc = add_pending(f, &t, d);
  }
  uint64_t data_start = 0;
  if (rc == LS_OK) {
    data_start = (c.pos + (uint64_t)align - 1) / (uint64_t)align * (uint64_t)align;
    if (data_start > c.size && n_tensors > 0)
      rc = ls_diag_set_at(d, LS_ETRUNC, path, (int64_t)c.pos, "%s: file ends before the data section (byte %llu)", path,
                          (unsigned long long)data_start);
  }
  for (size_t i = first; rc == LS_OK && i < f->n_tensors; i++) {
    ls_tensor *t = &f->tensors[i];
    uint64_t r = t->offset, avail = c.size - data_start;
    if (r > avail || t->nbytes > avail - r) {
      rc = ls_diag_set_at(d, LS_ETRUNC, path, -1, "%s: tensor '%s': bytes %llu..%llu of the data section are beyond "
                          "the end of the file (%llu data bytes; truncated?)", path, t->stored_name,
                          (unsigned long long)r, (unsigned long long)(r + t->nbytes), (unsigned long long)avail);
      break;
    }
    t->offset = data_start + r;
    t->data = t->nbytes ? f->maps[file].base + t->offset : NULL;
  }
  if (rc == LS_OK) rc = ls__tfile_check_overlap(f, file, d);
  return rc;
}

/* ---------------------------------------------------------------- metadata arrays */

int ls_tfile_meta_array(const ls_tfile *f, const char *key, ls_meta_array *out) {
  for (size_t i = 0; i < f->n_meta; i++) {
    const ls__meta *m = &f->meta[i];
    if (strcmp(m->key, key) != 0) continue;
    if (m->arr_type < 0) return LS_EFORMAT;
    out->n = (uint64_t)m->i;
    out->gguf_type = m->arr_type;
    out->data = m->arr;
    out->nbytes = m->arr_bytes;
    out->item = m->arr_type == GT_STRING ? LS_META_ITEM_STRING
              : m->arr_type == GT_ARRAY ? LS_META_ITEM_ARRAY
              : (m->arr_type == GT_F32 || m->arr_type == GT_F64) ? LS_META_ITEM_FLOAT : LS_META_ITEM_INT;
    return LS_OK;
  }
  return LS_ENOENT;
}

/* Item i of a fixed-size array as its raw little-endian bits; 0 when out of range. */
static int arr_bits(const ls_meta_array *a, uint64_t i, uint64_t *u) {
  if (a->gguf_type < 0 || a->gguf_type >= GT_COUNT || !k_gt_size[a->gguf_type] || i >= a->n) return 0;
  int sz = k_gt_size[a->gguf_type];
  const unsigned char *p = a->data + i * (uint64_t)sz;
  *u = 0;
  for (int k = sz - 1; k >= 0; k--) *u = (*u << 8) | p[k];
  return 1;
}

int ls_meta_array_int(const ls_meta_array *a, uint64_t i, int64_t *v) {
  uint64_t u;
  if (a->item != LS_META_ITEM_INT || !arr_bits(a, i, &u)) return LS_EINVAL;
  switch (a->gguf_type) {
  case GT_I8: *v = (int8_t)u; break;
  case GT_I16: *v = (int16_t)u; break;
  case GT_I32: *v = (int32_t)u; break;
  default: *v = (int64_t)u; break; /* unsigned, bool, i64 */
  }
  return LS_OK;
}

int ls_meta_array_f64(const ls_meta_array *a, uint64_t i, double *v) {
  uint64_t u;
  if (a->item == LS_META_ITEM_INT) {
    int64_t x;
    int rc = ls_meta_array_int(a, i, &x);
    if (rc == LS_OK) *v = (double)x;
    return rc;
  }
  if (a->item != LS_META_ITEM_FLOAT || !arr_bits(a, i, &u)) return LS_EINVAL;
  if (a->gguf_type == GT_F32) { uint32_t b = (uint32_t)u; float x; memcpy(&x, &b, 4); *v = x; }
  else memcpy(v, &u, 8);
  return LS_OK;
}

int ls_meta_array_next_str(const ls_meta_array *a, uint64_t *pos, const char **s, size_t *n) {
  if (a->item != LS_META_ITEM_STRING || *pos >= a->nbytes || a->nbytes - *pos < 8) return LS_ENOENT;
  uint64_t len = 0;
  for (int k = 7; k >= 0; k--) len = (len << 8) | a->data[*pos + (uint64_t)k];
  if (len > a->nbytes - *pos - 8) return LS_ENOENT; /* cannot happen: checked when opened */
  *s = (const char *)a->data + *pos + 8;
  *n = (size_t)len;
  *pos += 8 + len;
  return LS_OK;
}
