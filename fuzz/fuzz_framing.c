/* fuzz_framing.c: libFuzzer target for the Content-Length framer (rpc/framing.c). The input
 * is a byte stream; its first byte picks the body cap (so the over-cap skip path runs on
 * small inputs) and the chunking. The stream is fed twice, once whole and once in chunks of
 * 1..N bytes, and the two runs must deliver the same messages: framing is a pure function
 * of the bytes, not of how reads split them. Every delivered body must be NUL-terminated at
 * its length and within the cap. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/errors.h"
#include "fuzz/fuzz_common.h"
#include "rpc/framing.h"

typedef struct sink {
  size_t max_len;
  uint64_t n_msgs, n_errs;
  uint64_t hash; /* FNV-1a over every body and its length, in order */
} sink;

static void on_msg(void *ud, const char *body, size_t len) {
  sink *s = ud;
  if (len > s->max_len) { fprintf(stderr, "body of %zu bytes over the cap %zu\n", len, s->max_len); abort(); }
  if (body[len] != '\0') { fprintf(stderr, "body not NUL-terminated\n"); abort(); }
  s->n_msgs++;
  uint64_t h = s->hash ^ len;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)body[i]) * 1099511628211ull;
  s->hash = h * 1099511628211ull;
}

static void on_err(void *ud, int code, const char *msg) {
  sink *s = ud;
  if (code != LS_EFORMAT && code != LS_ELIMIT && code != LS_ETRUNC && code != LS_ENOMEM) {
    fprintf(stderr, "unexpected framing error code %d: %s\n", code, msg);
    abort();
  }
  if (!msg || !msg[0]) { fprintf(stderr, "framing error without a message\n"); abort(); }
  s->n_errs++;
}

static void run(const char *p, size_t n, size_t max_len, size_t chunk, sink *s) {
  rpc_framer f;
  memset(s, 0, sizeof *s);
  s->max_len = max_len ? max_len : RPC_MAX_MESSAGE_DEFAULT;
  s->hash = 14695981039346656037ull;
  rpc_framer_init(&f, max_len, on_msg, on_err, s);
  if (chunk == 0) {
    rpc_framer_feed(&f, p, n);
  } else {
    for (size_t i = 0; i < n; i += chunk) rpc_framer_feed(&f, p + i, n - i < chunk ? n - i : chunk);
  }
  int rc = rpc_framer_finish(&f);
  if (rc == 0 && !rpc_framer_idle(&f)) { fprintf(stderr, "finish said idle but framer is not\n"); abort(); }
  rpc_framer_deinit(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned sel = data[0];
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  /* cap: 16, 64, 1024 bytes or the default (256 MiB) */
  static const size_t caps[4] = {16, 64, 1024, 0};
  size_t cap = caps[sel & 3];
  size_t chunk = 1 + (sel >> 2); /* 1..64 */
  sink whole, parts;
  run(p, n, cap, 0, &whole);
  run(p, n, cap, chunk, &parts);
  if (whole.n_msgs != parts.n_msgs || whole.hash != parts.hash) {
    fprintf(stderr, "chunking changed the messages: %llu vs %llu (chunk %zu)\n",
            (unsigned long long)whole.n_msgs, (unsigned long long)parts.n_msgs, chunk);
    abort();
  }
  return 0;
}
