/* fuzz_gguf.c: libFuzzer target for the GGUF reader (core/tensor/gguf.c, gguf_names.c and
 * the block dequantizers of quant.c): header, typed key/values, tensor infos, alignment,
 * llama.cpp name mapping and the q/k row map. The input is the whole file; inputs without
 * the "GGUF" magic are rejected (-1), since another reader would take them. The same file
 * then goes to the tokenizer reader (core/text/tok_gguf.c: the tokenizer.ggml.* arrays,
 * merges derived from scores); a tokenizer that loads encodes and decodes a fixed text, and
 * a failure must leave a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tokenizer.h"
#include "fuzz/fuzz_common.h"

static void tokenizer(const uint8_t *data, size_t size) {
  const char *path = fuzz_memfile(data, size);
  if (!path) return;
  ls_diag d;
  ls_diag_init(&d);
  ls_tok *t = NULL;
  if (ls_tok_open(path, &t, &d) != LS_OK) {
    if (t || !d.msg[0]) { fprintf(stderr, "fuzz invariant broken: a failed tokenizer load (%s)\n", d.msg); abort(); }
    return;
  }
  static const char text[] = "Hello  world <s>\n caf\xc3\xa9 123";
  uint32_t *ids = NULL;
  size_t n = 0;
  if (ls_tok_encode(t, text, sizeof text - 1, 1, &ids, &n, &d) == LS_OK) {
    char *s = NULL;
    size_t len;
    ls_diag_init(&d);
    ls_tok_decode(t, ids, n, 0, &s, &len, &d);
    ls_free(s);
  }
  ls_free(ids);
  ls_tok_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4 || memcmp(data, "GGUF", 4) != 0) return -1;
  fuzz_tensor_file(data, size);
  tokenizer(data, size);
  return 0;
}
