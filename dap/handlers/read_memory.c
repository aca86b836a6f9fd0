/* read_memory.c: the DAP `readMemory` request on a tensor's memoryReference
 * ("tensor:REF", from variables or evaluate): the tensor's stored bytes (its dtype, row
 * major), base64-encoded. Addresses are byte offsets into the tensor; bytes past its end
 * are reported as unreadable, and a negative offset reads from the tensor's first byte
 * (address 0x0) what is left of the count after the bytes before it. At most 1 MiB per request (the reply is one JSON message, a
 * third larger in base64): a larger `count` is an error naming the limit rather than a
 * shorter answer, because DAP reads a short answer without unreadableBytes as the end of
 * readable memory; clients read a large tensor in pieces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "dap/vars.h"

#define MAX_READ (1u << 20)

static char *base64(const unsigned char *p, size_t n) {
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = ls_malloc((n + 2) / 3 * 4 + 1), *o = out;
  if (!out) return NULL;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    *o++ = A[v >> 18 & 63];
    *o++ = A[v >> 12 & 63];
    *o++ = i + 1 < n ? A[v >> 6 & 63] : '=';
    *o++ = i + 2 < n ? A[v & 63] : '=';
  }
  *o = 0;
  return out;
}

int dap_on_read_memory(dap_server *s, dap_req *req, json_t *args) {
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  const char *mref = json_string_value(json_object_get(args, "memoryReference"));
  json_t *cnt = json_object_get(args, "count"), *off = json_object_get(args, "offset");
  char *end = NULL;
  long ref = mref && strncmp(mref, "tensor:", 7) == 0 ? strtol(mref + 7, &end, 10) : 0;
  const void *data;
  uint64_t nbytes;
  if (!end || *end || ref <= 0 || ref > 1 << 30 || dap_vars_memory(x, (int)ref, &data, &nbytes) != LS_OK) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS,
                      "readMemory: 'memoryReference' must be a tensor reference of this stop (\"tensor:N\")");
    return LS_OK;
  }
  if (!json_is_integer(cnt) || json_integer_value(cnt) < 0 || (off && !json_is_integer(off))) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "readMemory: 'count' must be an integer >= 0 and 'offset' an integer");
    return LS_OK;
  }
  json_int_t start = off ? json_integer_value(off) : 0, want = json_integer_value(cnt);
  if (want > (json_int_t)MAX_READ) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS,
                      "readMemory: 'count' %lld is more than the %u bytes (1 MiB) one request may read; read in pieces",
                      (long long)want, MAX_READ);
    return LS_OK;
  }
  /* a range that starts before the tensor: the bytes before its first one are skipped (the
   * reply's address says where the data starts), and only the rest of the count is read */
  uint64_t before = start < 0 ? (uint64_t)(-(start + 1)) + 1 : 0;
  uint64_t rest = (uint64_t)want > before ? (uint64_t)want - before : 0;
  uint64_t lo = start < 0 ? 0 : (uint64_t)start, avail = lo < nbytes ? nbytes - lo : 0;
  size_t n = rest < avail ? (size_t)rest : (size_t)avail;
  char *b64 = base64((const unsigned char *)data + (n ? lo : 0), n);
  if (!b64) return LS_ENOMEM;
  char addr[32];
  snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)lo);
  json_t *body = json_pack("{s:s, s:s, s:I}", "address", addr, "data", b64, "unreadableBytes", (json_int_t)(rest - n));
  ls_free(b64);
  dap_respond(s, req, body);
  return LS_OK;
}
