/* npy.c: the NumPy .npy reader, format versions 1.0, 2.0 and 3.0 (numpy/lib/format.py):
 *   "\x93NUMPY" u8 major u8 minor, header length (u16 in v1, u32 in v2/v3), then an ASCII
 *   (v3: UTF-8) Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 *   padded with spaces and '\n', then the raw array data.
 * Only little-endian (or byte-sized) numeric descrs are accepted; structured dtypes and
 * object arrays are refused with a message naming the descr. The tensor is named after the
 * file (its base name without ".npy"). Fortran-order arrays keep their logical shape and are
 * flagged so readers gather in the right order. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/tfile_int.h"

static const struct { const char *descr; ls_dtype dt; } k_npy_dtypes[] = {
  {"<f8", LS_DT_F64}, {"<f4", LS_DT_F32}, {"<f2", LS_DT_F16}, {"<i8", LS_DT_I64}, {"<i4", LS_DT_I32},
  {"<i2", LS_DT_I16}, {"|i1", LS_DT_I8}, {"<u8", LS_DT_U64}, {"<u4", LS_DT_U32}, {"<u2", LS_DT_U16},
  {"|u1", LS_DT_U8}, {"|b1", LS_DT_BOOL},
};

/* Finds 'key': in the header and returns a pointer just after the colon and spaces. */
static const char *dict_value(const char *h, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(h, pat);
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

int ls__npy_load(ls_tfile *f, const char *path, ls_diag *d) {
  int file;
  int rc = ls__tfile_map(f, path, &file, d);
  if (rc) return rc;
  const ls__map *m = &f->maps[file];
#define BAD(code, ...) ls_diag_set_at(d, code, path, -1, __VA_ARGS__)
  if (m->size < 10) return BAD(LS_ETRUNC, "%s: truncated .npy preamble", path);
  int major = m->base[6];
  uint64_t hlen, hstart;
  if (major == 1) { hlen = m->base[8] | ((uint64_t)m->base[9] << 8); hstart = 10; }
  else if (major == 2 || major == 3) {
    if (m->size < 12) return BAD(LS_ETRUNC, "%s: truncated .npy preamble", path);
    hlen = m->base[8] | ((uint64_t)m->base[9] << 8) | ((uint64_t)m->base[10] << 16) | ((uint64_t)m->base[11] << 24);
    hstart = 12;
  } else return BAD(LS_EUNSUPPORTED, "%s: .npy format version %d.%d is not supported (1-3 are)", path, major, m->base[7]);
  if (hlen > m->size - hstart)
    return BAD(LS_ETRUNC, "%s: .npy header length %llu is beyond the file size %llu", path, (unsigned long long)hlen,
               (unsigned long long)m->size);
  if (hlen > (1u << 20)) return BAD(LS_ELIMIT, "%s: .npy header of %llu bytes is too large", path, (unsigned long long)hlen);
  char *h = ls_malloc((size_t)hlen + 1); 
  if (!h) return BAD(LS_ENOMEM, "out of memory");
  memcpy(h, m->base + hstart, (size_t)hlen);
  h[hlen] = 0;
  if (strlen(h) != hlen || !ls__utf8_valid(h, (size_t)hlen)) { ls_free(h); return BAD(LS_EFORMAT, "%s: .npy header is not text", path); }
  ls_tensor t = {0};
  t.file = file;
  const char *v = dict_value(h, "descr");
  char descr[16] = "";
  if (v && *v == '\'') {
    size_t k = 0;
    for (v++; *v && *v != '\'' && k + 1 < sizeof descr; v++) descr[k++] = *v;
    descr[k] = 0;
  }
  if (strcmp(descr, "=f4") == 0 || strcmp(descr, "=f8") == 0) descr[0] = '<';
  int found = 0;
  for (size_t i = 0; i < sizeof k_npy_dtypes / sizeof *k_npy_dtypes; i++)
    if (strcmp(descr, k_npy_dtypes[i].descr) == 0) { t.dtype = k_npy_dtypes[i].dt; found = 1; }
  if (!found) { ls_free(h); return BAD(LS_EUNSUPPORTED, "%s: .npy descr '%.15s' is not supported (little-endian numeric only)", path, descr); }
  v = dict_value(h, "fortran_order");
  if (!v || (strncmp(v, "True", 4) != 0 && strncmp(v, "False", 5) != 0)) {
    ls_free(h);
    return BAD(LS_EFORMAT, "%s: .npy header has no fortran_order True/False", path);
  }
  t.fortran = *v == 'T';
  v = dict_value(h, "shape");
  if (!v || *v != '(') { ls_free(h); return BAD(LS_EFORMAT, "%s: .npy header has no shape tuple", path); }
  for (v++;;) {
    while (*v == ' ' || *v == ',') v++;
    if (*v == ')') break;
    if (!isdigit((unsigned char)*v)) { ls_free(h); return BAD(LS_EFORMAT, "%s: .npy shape is not a tuple of integers", path); }
    if (t.ndim == LS_TENSOR_MAX_DIMS) { ls_free(h); return BAD(LS_ELIMIT, "%s: .npy array has more than %d dimensions", path, LS_TENSOR_MAX_DIMS); }
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (x > (unsigned long long)INT64_MAX || end - v > 19) { ls_free(h); return BAD(LS_EOVERFLOW, "%s: .npy dimension too large", path); }
    t.shape[t.ndim++] = (int64_t)x;
    v = end;
  }
  ls_free(h);
  if (ls__shape_nelem(t.shape, t.ndim, &t.nelem) || ls_dtype_nbytes(t.dtype, t.nelem, &t.nbytes))
    return BAD(LS_EOVERFLOW, "%s: .npy shape overflows 64-bit sizes", path);
  t.offset = hstart + hlen;
  if (t.nbytes != m->size - t.offset)
    return BAD(t.nbytes > m->size - t.offset ? LS_ETRUNC : LS_ESHAPE,
               "%s: .npy data is %llu bytes but dtype x shape needs %llu", path,
               (unsigned long long)(m->size - t.offset), (unsigned long long)t.nbytes);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char name[512];
  snprintf(name, sizeof name, "%s", base);
  size_t nl = strlen(name);
  if (nl > 4 && strcmp(name + nl - 4, ".npy") == 0) name[nl - 4] = 0;
  t.name = name;
  return ls__tfile_add(f, &t, d);
#undef BAD
}
