/* fuzz_npy.c: libFuzzer target for the .npy reader (core/tensor/npy.c): magic, version
 * 1/2/3 header length, the Python-literal header dict (descr, fortran_order, shape) and the
 * Fortran-order read path. The input is the whole file; inputs without the "\x93NUMPY"
 * magic are rejected (-1), since another reader would take them. */
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6 || memcmp(data, "\x93NUMPY", 6) != 0) return -1;
  fuzz_tensor_file(data, size);
  return 0;
}
