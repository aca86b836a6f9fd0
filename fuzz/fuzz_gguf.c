/* fuzz_gguf.c: libFuzzer target for the GGUF reader (core/tensor/gguf.c, gguf_names.c and
 * the block dequantizers of quant.c): header, typed key/values, tensor infos, alignment,
 * llama.cpp name mapping and the q/k row map. The input is the whole file; inputs without
 * the "GGUF" magic are rejected (-1), since another reader would take them. */
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4 || memcmp(data, "GGUF", 4) != 0) return -1;
  fuzz_tensor_file(data, size);
  return 0;
}
