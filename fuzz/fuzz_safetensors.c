/* fuzz_safetensors.c: libFuzzer target for the safetensors reader (core/tensor/safetensors.c):
 * 8-byte header length, JSON header, data offsets. The input is the whole file. Inputs that
 * the format detection of tfile.c would send to another reader are rejected (-1: not kept
 * in the corpus): a leading "GGUF"/"\x93NUMPY" is another target's, and JSON text at the
 * start is a sharded index, whose shards would be opened as paths on this machine. */
#include <stdint.h>
#include <string.h>

#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 4 && memcmp(data, "GGUF", 4) == 0) return -1;
  if (size >= 6 && memcmp(data, "\x93NUMPY", 6) == 0) return -1;
  int st_like = size >= 9 && data[8] == '{';
  if (!st_like && size > 0 && (data[0] == '{' || data[0] == ' ' || data[0] == '\n')) return -1;
  fuzz_tensor_file(data, size);
  return 0;
}
