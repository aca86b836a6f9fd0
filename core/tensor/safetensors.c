/* safetensors.c: the safetensors reader, single files and sharded checkpoints.
 * Format (huggingface/safetensors): u64 little-endian header size N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"k": "v"}}, then the data buffer; offsets are relative to it.
 * A sharded checkpoint is model.safetensors.index.json: {"weight_map": {"name": "shard"}};
 * opening it maps every shard and parses only the shard headers; a shard must stay in the
 * checkpoint directory, as named (no "..") and once links are resolved. Every number from
 * the header is checked: size against the file, offsets against the data buffer, byte size
 * against dtype x shape, overlaps between tensors. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/strmap.h"
#include "core/base/file.h"
#include "core/tensor/tfile_int.h"

/* The reference implementation refuses headers above 100 MB; so do we. */
#define ST_MAX_HEADER (100u * 1024u * 1024u)
/* An index lists one line per tensor: a few hundred KiB for the largest checkpoints. */
#define ST_MAX_INDEX ((size_t)64 << 20)

static const struct { const char *name; ls_dtype dt; } k_st_dtypes[] = {
  {"F64", LS_DT_F64}, {"F32", LS_DT_F32}, {"F16", LS_DT_F16}, {"BF16", LS_DT_BF16},
  {"F8_E4M3", LS_DT_F8_E4M3}, {"F8_E5M2", LS_DT_F8_E5M2}, {"I64", LS_DT_I64}, {"I32", LS_DT_I32},
  {"I16", LS_DT_I16}, {"I8", LS_DT_I8}, {"U64", LS_DT_U64}, {"U32", LS_DT_U32}, {"U16", LS_DT_U16},
  {"U8", LS_DT_U8}, {"BOOL", LS_DT_BOOL},
};

const char *ls__st_dtype_name(ls_dtype dt) {
  for (size_t i = 0; i < sizeof k_st_dtypes / sizeof k_st_dtypes[0]; i++)
    if (k_st_dtypes[i].dt == dt) return k_st_dtypes[i].name;
  return NULL;
}

static int parse_entry(ls_tfile *f, int file, const char *path, const char *name, json_t *v,
                       uint64_t data_start, uint64_t data_size, ls_diag *d) {
#define BAD(code, ...) ls_diag_set_at(d, code, path, -1, __VA_ARGS__)
  if (!ls__utf8_valid(name, strlen(name)))
    return BAD(LS_EFORMAT, "%s: tensor name is not valid UTF-8", path);
  if (!json_is_object(v)) return BAD(LS_EFORMAT, "%s: tensor '%s': entry is not an object", path, name);
  json_t *jdt = json_object_get(v, "dtype"), *jsh = json_object_get(v, "shape"),
         *jof = json_object_get(v, "data_offsets");
  if (!json_is_string(jdt)) return BAD(LS_EFORMAT, "%s: tensor '%s': missing or non-string \"dtype\"", path, name);
  ls_tensor t = {0};
  t.name = name;
  t.file = file;
  int found = 0;
  for (size_t i = 0; i < sizeof k_st_dtypes / sizeof k_st_dtypes[0]; i++)
    if (strcmp(json_string_value(jdt), k_st_dtypes[i].name) == 0) { t.dtype = k_st_dtypes[i].dt; found = 1; }
  if (!found)
    return BAD(LS_EUNSUPPORTED, "%s: tensor '%s': unsupported dtype \"%s\"", path, name, json_string_value(jdt));
  if (!json_is_array(jsh)) return BAD(LS_EFORMAT, "%s: tensor '%s': missing or non-array \"shape\"", path, name);
  if (json_array_size(jsh) > LS_TENSOR_MAX_DIMS)
    return BAD(LS_ELIMIT, "%s: tensor '%s': %zu dimensions (at most %d supported)", path, name,
               json_array_size(jsh), LS_TENSOR_MAX_DIMS);
  t.ndim = (int)json_array_size(jsh);
  for (int i = 0; i < t.ndim; i++) {
    json_t *e = json_array_get(jsh, (size_t)i);
    if (!json_is_integer(e) || json_integer_value(e) < 0)
      return BAD(LS_EFORMAT, "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name, i);
    t.shape[i] = (int64_t)json_integer_value(e);
  }
  int rc = ls__shape_nelem(t.shape, t.ndim, &t.nelem);
  if (rc == LS_OK) rc = ls_dtype_nbytes(t.dtype, t.nelem, &t.nbytes);
  if (rc != LS_OK) return BAD(LS_EOVERFLOW, "%s: tensor '%s': shape overflows 64-bit sizes", path, name);
  if (!json_is_array(jof) || json_array_size(jof) != 2 || !json_is_integer(json_array_get(jof, 0)) ||
      !json_is_integer(json_array_get(jof, 1)))
    return BAD(LS_EFORMAT, "%s: tensor '%s': \"data_offsets\" is not [begin, end]", path, name);
  json_int_t b = json_integer_value(json_array_get(jof, 0)), e = json_integer_value(json_array_get(jof, 1));
  if (b < 0 || e < b)
    return BAD(LS_EFORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] are not 0 <= begin <= end", path,
               name, (long long)b, (long long)e);
  if ((uint64_t)e > data_size)
    return BAD(LS_ETRUNC, "%s: tensor '%s': data_offsets end %lld is beyond the data (%llu bytes; file truncated?)",
               path, name, (long long)e, (unsigned long long)data_size);
  if ((uint64_t)(e - b) != t.nbytes)
    return BAD(LS_ESHAPE, "%s: tensor '%s': %lld bytes stored but %s x shape needs %llu", path, name,
               (long long)(e - b), json_string_value(jdt), (unsigned long long)t.nbytes);
  t.offset = data_start + (uint64_t)b;
  return ls__tfile_add(f, &t, d);
#undef BAD
}

/* jansson's message without its "near '<token>'" tail: the token is file content, and the
 * file may be anything a user named by mistake (messages reach logs and the Debug Console). */
static const char *jansson_msg(json_error_t *je) {
  char *near = strstr(je->text, " near ");
  if (near) *near = 0;
  return je->text;
}

static int cmp_offset(const void *a, const void *b) {
  const ls_tensor *x = a, *y = b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int ls__st_load(ls_tfile *f, const char *path, ls_diag *d) {
  int file;
  int rc = ls__tfile_map(f, path, &file, d);
  if (rc) return rc;
  const ls__map *m = &f->maps[file];
  size_t first = f->n_tensors;
  if (m->size < 8)
    return ls_diag_set_at(d, LS_ETRUNC, path, 0, "%s: %llu bytes: too short for a safetensors header", path,
                          (unsigned long long)m->size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | m->base[i];
  if (n > m->size - 8)
    return ls_diag_set_at(d, LS_ETRUNC, path, 0, "%s: header length %llu is beyond the file size %llu",
                          path, (unsigned long long)n, (unsigned long long)m->size);
  if (n > ST_MAX_HEADER)
    return ls_diag_set_at(d, LS_ELIMIT, path, 0, "%s: header length %llu exceeds the 100 MB limit", path,
                          (unsigned long long)n);
  json_error_t je;
  json_t *root = json_loadb((const char *)m->base + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return ls_diag_set_at(d, LS_EFORMAT, path, 8 + je.position, "%s: header JSON at byte %d: %s", path,
                          8 + je.position, jansson_msg(&je));
  if (!json_is_object(root)) {
    json_decref(root);
    return ls_diag_set_at(d, LS_EFORMAT, path, 8, "%s: header is not a JSON object", path);
  }
  uint64_t data_start = 8 + n, data_size = m->size - data_start;
  const char *key;
  json_t *v;
  rc = LS_OK;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "__metadata__") == 0) {
      const char *mk;
      json_t *mv;
      if (!json_is_object(v)) { rc = ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: __metadata__ is not an object", path); break; }
      json_object_foreach(v, mk, mv) {
        if (json_is_string(mv) && ls__tfile_meta_add(f, mk, LS__META_STR, 0, 0, json_string_value(mv))) {
          rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
          break;
        }
      }
      if (rc) break;
      continue;
    }
    if ((rc = parse_entry(f, file, path, key, v, data_start, data_size, d)) != LS_OK) break;
  }
  json_decref(root);
  if (rc == LS_OK) rc = ls__tfile_check_overlap(f, file, d);
  /* File order = data order (the JSON header is usually sorted by name instead). */
  if (rc == LS_OK && f->n_tensors > first) /* none: f->tensors may be NULL */
    qsort(f->tensors + first, f->n_tensors - first, sizeof *f->tensors, cmp_offset);
  return rc;
}

/* Directory part of path (with trailing '/'), or "" */
static void dir_of(const char *path, char *out, size_t size) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path + 1) : 0;
  if (n >= size) n = size - 1;
  memcpy(out, path, n);
  out[n] = 0;
}

int ls__st_load_index(ls_tfile *f, const char *path, ls_diag *d) {
  char *text;
  size_t len;
  int rc = ls_file_read(path, ST_MAX_INDEX, &text, &len, d);
  if (rc) return rc;
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  ls_free(text);
  if (!root)
    return ls_diag_set_at(d, LS_EFORMAT, path, je.position, "%s: line %d: %s", path, je.line, jansson_msg(&je));
  json_t *wm = json_object_get(root, "weight_map");
  if (!json_is_object(wm)) {
    json_decref(root);
    return ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: no \"weight_map\" object (not a safetensors index)", path);
  }
  char dir[4096], shard[8192], real_dir[4096];
  dir_of(path, dir, sizeof dir);
  /* Shards must resolve inside the index's folder, or inside the folder the index itself
   * resolves to: the Hugging Face cache keeps every file of snapshots/<rev>/ as a link to
   * ../../blobs/<hash>, index and shards alike. */
  char *rp = realpath(path, NULL);
  dir_of(rp ? rp : path, real_dir, sizeof real_dir);
  free(rp); /* from libc's malloc */
  const char *roots[2] = {dir, real_dir};
  /* Shards in order of first appearance, deduplicated through a set of the names seen: an
   * index names a shard once per tensor, and may name thousands of shards. */
  const char **shards = NULL;
  size_t n_shards = 0, cap_shards = 0;
  ls_strmap seen;
  ls_strmap_init(&seen);
  const char *key;
  json_t *v;
  json_object_foreach(wm, key, v) {
    if (!json_is_string(v)) { rc = ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: weight_map['%s'] is not a string", path, key); break; }
    const char *s = json_string_value(v);
    if (s[0] == '/' || strstr(s, "..") || !*s) {
      rc = ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: weight_map['%s']: shard name '%s' must be a relative path "
                          "inside the checkpoint directory", path, key, s);
      break;
    }
    if (ls_strmap_get(&seen, s)) continue;
    if (n_shards == cap_shards) {
      size_t cap = cap_shards ? cap_shards * 2 : 16;
      const char **ns = ls_reallocarray(shards, cap, sizeof *ns);
      if (!ns) { rc = ls_diag_set(d, LS_ENOMEM, "out of memory"); break; }
      shards = ns;
      cap_shards = cap;
    }
    if (ls_strmap_put(&seen, s, (void *)s) != LS_OK) { rc = ls_diag_set(d, LS_ENOMEM, "out of memory"); break; }
    shards[n_shards++] = s;
  }
  ls_strmap_deinit(&seen);
  for (size_t k = 0; rc == LS_OK && k < n_shards; k++) {
    snprintf(shard, sizeof shard, "%s%s", dir, shards[k]);
    rc = ls_file_check_inside(shard, roots, 2, "the checkpoint directory", d);
    if (rc == LS_OK) rc = ls__st_load(f, shard, d);
    if (rc) ls_diag_prefix(d, "shard of %s: ", path);
  }
  /* Every name of the map must be in the shard it names (checked through the name index,
   * so that a 1000-tensor index stays far below the 10 ms budget). */
  if (rc == LS_OK) rc = ls__tfile_index(f, d);
  if (rc == LS_OK) {
    json_object_foreach(wm, key, v) {
      const ls_tensor *t = ls_tfile_find(f, key);
      int ok = 0;
      if (t) {
        const char *p = f->maps[t->file].path;
        size_t lp = strlen(p), ls = strlen(json_string_value(v));
        ok = lp >= ls && strcmp(p + lp - ls, json_string_value(v)) == 0;
      }
      if (!ok) {
        rc = ls_diag_set_at(d, LS_EFORMAT, path, -1, "%s: tensor '%s' is listed in shard %s but not found there",
                            path, key, json_string_value(v));
        break;
      }
    }
  }
  ls_free(shards);
  json_decref(root);
  return rc;
}
