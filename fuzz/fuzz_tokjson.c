/* fuzz_tokjson.c: libFuzzer target for the tokenizer.json reader (core/text/tok_json.c and
 * everything a loaded tokenizer runs: added-token tries, PCRE2 patterns translated from
 * Oniguruma syntax, normalizers, pre-tokenizers, models, post-processors, decoders). Any
 * bytes go to ls_tok_load_json; a tokenizer that loads then encodes a few fixed texts and
 * the input itself (repaired to UTF-8), with and without special tokens, and decodes the
 * ids. Invariants: a failed load returns no tokenizer and a message; encode either
 * succeeds or fails with a message; decoded text is valid UTF-8 of the reported length;
 * a decode fails only with LS_ENOENT (an id a template names that the vocabulary lacks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tokenizer.h"
#include "fuzz/fuzz_common.h"

static void fail(const char *what, const char *msg) {
  fprintf(stderr, "fuzz invariant broken: %s (%s)\n", what, msg);
  abort();
}

static void encode_decode(ls_tok *t, const char *s, size_t n) {
  for (int special = 0; special < 2; special++) {
    uint32_t *ids = NULL;
    size_t m = 0;
    ls_diag d;
    ls_diag_init(&d);
    int rc = ls_tok_encode(t, s, n, special, &ids, &m, &d);
    if (rc != LS_OK) {
      if (!d.msg[0]) fail("encode failed without a message", "");
      continue;
    }
    for (int skip = 0; skip < 2; skip++) {
      char *text = NULL;
      size_t len = 0;
      ls_diag_init(&d);
      rc = ls_tok_decode(t, ids, m, skip, &text, &len, &d);
      if (rc == LS_OK) {
        if (strlen(text) > len) fail("decoded length", text);
        char *fixed;
        size_t fl;
        int64_t bad;
        if (ls_tok_utf8_lossy(text, len, &fixed, &fl, &bad) == LS_OK) {
          ls_free(fixed);
          if (bad >= 0) fail("decoded text is not valid UTF-8", "");
        }
      } else if (rc != LS_ENOENT && rc != LS_ENOMEM && rc != LS_ELIMIT && rc != LS_EUNSUPPORTED) {
        fail("decode error", d.msg);
      }
      ls_free(text);
    }
    ls_free(ids);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_setup();
  ls_diag d;
  ls_diag_init(&d);
  ls_tok *t = NULL;
  int rc = ls_tok_load_json((const char *)data, size, &t, &d);
  if (rc != LS_OK) {
    if (t) fail("a failed load returned a tokenizer", d.msg);
    if (!d.msg[0]) fail("a failed load without a message", "");
    return 0;
  }
  static const char *texts[] = {"", "Hello world", " a  b\n\n\tc ", "<s>x</s> [CLS] \xE2\x96\x81y", "caf\xC3\xA9 \xE4\xB8\xAD 123 \xF0\x9F\x98\x80"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) encode_decode(t, texts[i], strlen(texts[i]));
  char *s;
  size_t n;
  if (ls_tok_utf8_lossy((const char *)data, size > 512 ? 512 : size, &s, &n, NULL) == LS_OK) {
    encode_decode(t, s, n);
    ls_free(s);
  }
  ls_tok_free(t);
  return 0;
}
