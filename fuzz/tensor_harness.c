/* tensor_harness.c: fuzz_tensor_file() of fuzz_common.h, shared by fuzz_safetensors,
 * fuzz_gguf and fuzz_npy. It checks the invariants the readers promise (tensor.h): every
 * tensor's bytes lie inside the file, nelem is the product of the shape, rows x row_len ==
 * nelem, a row past the end is refused; a broken invariant aborts, which libFuzzer reports
 * as a crash with the input. */
#include <stdio.h>
#include <stdlib.h>

#include "core/base/diag.h"
#include "core/base/errors.h"
#include "core/tensor/stats.h"
#include "core/tensor/tensor.h"
#include "fuzz/fuzz_common.h"

/* Aborts with a message: libFuzzer then saves the input as a crash. */
static void fail(const char *what, const ls_tensor *t) {
  fprintf(stderr, "fuzz invariant broken: %s (tensor %s)\n", what, t && t->name ? t->name : "?");
  abort();
}

static void read_rows(const ls_tensor *t) {
  enum { CAP = 4096 };
  static float buf[CAP]; /* [CAP] dequantized elements */
  ls_diag d;
  if (t->nelem == 0) return;
  /* A window of elements at the start, the middle and the end. */
  uint64_t starts[3] = {0, t->nelem / 2, t->nelem > 64 ? t->nelem - 64 : 0};
  for (int i = 0; i < 3; i++) {
    size_t n = (size_t)(t->nelem - starts[i] < 64 ? t->nelem - starts[i] : 64);
    ls_diag_init(&d);
    ls_tensor_read_f32(t, starts[i], n, buf, &d);
  }
  if (t->ndim < 1) return;
  int64_t rows = ls_tensor_rows(t), row_len = ls_tensor_row_len(t);
  if (rows < 0 || row_len < 0) fail("negative rows or row length", t);
  if ((uint64_t)rows * (uint64_t)row_len != t->nelem && rows != 0) fail("rows x row_len != nelem", t);
  if (row_len > CAP) return;
  int64_t pick[3] = {0, rows / 2, rows - 1};
  for (int i = 0; i < 3; i++) {
    ls_diag_init(&d);
    ls_tensor_row_f32(t, pick[i], buf, &d);
    (void)ls_tensor_row_data(t, pick[i]);
  }
  /* Out of range must be refused, not read. */
  ls_diag_init(&d);
  if (ls_tensor_row_f32(t, rows, buf, &d) == LS_OK) fail("row past the end accepted", t);
}

void fuzz_tensor_file(const uint8_t *data, size_t size) {
  fuzz_setup();
  static int once;
  if (!once) {
    once = 1;
    ls_stats_threads_set(1); /* one input at a time: a pool would only add noise */
  }
  const char *path = fuzz_memfile(data, size);
  if (!path) return;
  ls_tfile *f = NULL;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_tfile_open(path, &f, &d) != LS_OK) return;
  size_t n = ls_tfile_count(f);
  for (size_t i = 0; i < n; i++) {
    const ls_tensor *t = ls_tfile_at(f, i);
    if (!t || !t->name) fail("missing tensor or name", t);
    if (t->ndim < 0 || t->ndim > LS_TENSOR_MAX_DIMS) fail("ndim out of range", t);
    uint64_t prod = 1;
    for (int k = 0; k < t->ndim; k++) {
      if (t->shape[k] < 0) fail("negative dimension", t);
      prod *= (uint64_t)t->shape[k];
    }
    if (prod != t->nelem) fail("nelem is not the product of the shape", t);
    if (t->nbytes > size || t->offset > size - t->nbytes) fail("data outside the file", t);
    if (t->nbytes && t->data != NULL) {
      /* Touch the first and last byte: ASan cannot see mmap, but a read past the mapping
       * faults. */
      volatile unsigned char c = ((const unsigned char *)t->data)[0];
      c = ((const unsigned char *)t->data)[t->nbytes - 1];
      (void)c;
    }
    if (ls_tfile_find(f, t->name) == NULL) fail("tensor not found by its own name", t);
    char desc[256];
    ls_tensor_describe(t, desc, sizeof desc);
    ls_stats st;
    ls_diag_init(&d);
    ls_stats_tensor(t, &st, &d);
    read_rows(t);
  }
  const char *s;
  int64_t iv;
  double fv;
  ls_tfile_meta_str(f, "general.architecture", &s);
  ls_tfile_meta_int(f, "general.alignment", &iv);
  ls_tfile_meta_f64(f, "llama.rope.freq_base", &fv);
  ls_tfile_close(f);
}
