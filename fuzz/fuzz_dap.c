/* fuzz_dap.c: libFuzzer target for the DAP adapter as a whole, in-process: request
 * decoding, seq numbering, dispatch through requests.def, the session state machine and the
 * launch arguments (no debug target is plugged in: launch validates its arguments, and
 * configurationDone ends the session saying so). The input is a sequence
 * of message bodies separated by NUL bytes; the harness frames each with a correct Content-Length (framing itself is
 * fuzz_framing's job, and wrong lengths would only resynchronise here) and hands the whole
 * stream to dap_server_main as its "prefill" (the bytes the protocol sniffer already read),
 * with /dev/null as the rest of stdin and as stdout. The server then runs to the end of
 * input, answers everything and returns; a crash, leak, sanitizer report or hang (libFuzzer
 * -timeout) is a finding. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz_common.h"
#include "dap/server.h"

/* Frames the NUL-separated bodies of data into "Content-Length: N\r\n\r\n<body>" messages;
 * returns a malloc'd stream (*out_len bytes) or NULL. */
static char *frame_all(const uint8_t *data, size_t size, size_t *out_len) {
  size_t cap = size + 64 * (size / 2 + 2), len = 0;
  char *out = malloc(cap);
  if (!out) return NULL;
  size_t start = 0;
  for (size_t i = 0; i <= size; i++) {
    if (i < size && data[i] != 0) continue;
    size_t n = i - start;
    if (n > 0) {
      len += (size_t)snprintf(out + len, cap - len, "Content-Length: %zu\r\n\r\n", n);
      memcpy(out + len, data + start, n);
      len += n;
    }
    start = i + 1;
  }
  *out_len = len;
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_setup();
  static int in_fd = -1, out_fd = -1;
  if (in_fd < 0) in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0) out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (in_fd < 0 || out_fd < 0) return 0;
  size_t len = 0;
  char *stream = frame_all(data, size, &len);
  if (!stream) return 0;
  dap_server_opts o = {in_fd, out_fd, 1 << 20, stream, len, NULL};
  dap_server_main(&o);
  free(stream);
  return 0;
}
