/* tok_gguf.c: the tokenizer stored in a GGUF file (tokenizer.ggml.* keys). */
#include "core/base/errors.h"
#include "core/text/tok_int.h"

int ls__tok_from_gguf(ls_tok *t, const char *path, ls_diag *d) {
  (void)t;
  return ls_diag_set(d, LS_EUNSUPPORTED, "%s: reading the tokenizer of a GGUF file is not supported yet", path);
}
