/* test_regress_tensor.c: regression tests for bugs that fuzz/fuzz_safetensors, fuzz_gguf
 * and fuzz_npy found in the tensor readers (core/tensor/). Each test writes the minimised
 * file to a temporary path, opens it through the public API and checks both that nothing
 * undefined happens (the ASan+UBSan build halts on any sanitizer report) and the values,
 * which come from the published bit patterns of the formats, not from layerscope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/diag.h"
#include "core/base/errors.h"
#include "core/tensor/tensor.h"

/* Writes n bytes to a new temporary file; returns its path (static buffer). */
static const char *write_tmp(const void *data, size_t n) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/ls-regress-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, n), (ssize_t)n);
  close(fd);
  return path;
}

/* fuzz_safetensors crash-f7ff389b (UBSan: misaligned load, core/tensor/dtype.c:114): a
 * safetensors header of odd length puts the data at an odd file offset. The F16C/AVX2 row
 * converters read the tail (n % 8 elements) through a uint16_t pointer, which is undefined
 * for an odd address; the scalar paths already used memcpy loads. Three BF16 and three F16
 * values (fewer than one vector, so only the tail runs) right after a 57-byte header. */
static void test_odd_offset_16bit_tail(void **state) {
  (void)state;
  const char hdr[] = "{\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                     "\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[6,12]}}";
  size_t hl = sizeof hdr - 1;
  if (hl % 2 == 0) hl++; /* keep the header length odd (a trailing space is valid JSON) */
  unsigned char file[256];
  memset(file, ' ', sizeof file);
  for (int i = 0; i < 8; i++) file[i] = (unsigned char)(hl >> (8 * i));
  memcpy(file + 8, hdr, sizeof hdr - 1);
  /* bf16: 1.0 = 0x3F80, 2.0 = 0x4000, -3.0 = 0xC040; f16: 1.0 = 0x3C00, 2.0 = 0x4000,
   * -3.0 = 0xC200 (little-endian) */
  const unsigned char data[12] = {0x80, 0x3F, 0x00, 0x40, 0x40, 0xC0, 0x00, 0x3C, 0x00, 0x40, 0x00, 0xC2};
  memcpy(file + 8 + hl, data, sizeof data);
  size_t n = 8 + hl + sizeof data;
  assert_true((8 + hl) % 2 == 1);
  const char *path = write_tmp(file, n);
  ls_tfile *f = NULL;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_tfile_open(path, &f, &d), LS_OK);
  const char *names[2] = {"b", "h"};
  for (int k = 0; k < 2; k++) {
    const ls_tensor *t = ls_tfile_find(f, names[k]);
    assert_non_null(t);
    assert_true(((uintptr_t)t->data & 1) == 1); /* the case under test: an odd address */
    float v[3] = {0};
    assert_int_equal(ls_tensor_read_f32(t, 0, 3, v, &d), LS_OK);
    assert_true(v[0] == 1.0f && v[1] == 2.0f && v[2] == -3.0f);
    assert_int_equal(ls_tensor_row_f32(t, 0, v, &d), LS_OK);
    assert_true(v[0] == 1.0f && v[1] == 2.0f && v[2] == -3.0f);
  }
  ls_tfile_close(f);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_odd_offset_16bit_tail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
