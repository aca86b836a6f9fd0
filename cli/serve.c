/* serve.c: option parsing for the protocol subcommands and the protocol sniffer (see
 * serve.h). The sniffer reads with plain read(2) before libuv touches stdin, runs the bytes
 * through the same framer the transport uses, and hands everything it read to the
 * transport as prefill, so no byte is lost or parsed twice. */
#include "cli/serve.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/log.h"
#include "dap/debugger.h"
#include "dap/server.h"
#include "lsp/server.h"
#include "rpc/framing.h"

static int parse_size(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v == 0 || v > (unsigned long long)SIZE_MAX / 2) return -1;
  *out = (size_t)v;
  return 0;
}

int ls_cli_serve_parse(int argc, char **argv, const char *name, ls_cli_serve_opts *o) {
  memset(o, 0, sizeof *o);
  const char *env = getenv("LAYERSCOPE_MAX_MESSAGE");
  if (env && parse_size(env, &o->max_message) != 0) {
    fprintf(stderr, "layerscope %s: LAYERSCOPE_MAX_MESSAGE='%s' is not a positive byte count\n", name, env);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { ls_cli_usage(stdout, name); return -1; }
    /* Editors' launchers append these; stdio is the only transport, the pid is not needed. */
    if (strcmp(a, "--stdio") == 0) continue;
    if (strncmp(a, "--clientProcessId=", 18) == 0) continue;
    if (strcmp(a, "--clientProcessId") == 0 && i + 1 < argc) { i++; continue; }
    if (strcmp(a, "--max-message") == 0 || strncmp(a, "--max-message=", 14) == 0) {
      const char *v = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v || parse_size(v, &o->max_message) != 0) {
        fprintf(stderr, "layerscope %s: --max-message needs a positive byte count\n", name);
        ls_cli_usage(stderr, name);
        return 2;
      }
      continue;
    }
    fprintf(stderr, "layerscope %s: unknown argument '%s'\n", name, a);
    ls_cli_usage(stderr, name);
    return 2;
  }
  return 0;
}

typedef struct sniff_state {
  char *body;   /* first message body (new) */
  size_t len;
} sniff_state;

static void sniff_msg(void *ud, const char *body, size_t len) {
  sniff_state *st = ud;
  if (st->body) return;
  st->body = ls_strndup(body, len);
  st->len = len;
}

static void sniff_err(void *ud, int code, const char *msg) {
  (void)ud;
  (void)code;
  ls_log_warn("protocol detection: %s", msg);
}

const char *ls_cli_serve_sniff(ls_cli_serve_opts *o) {
  rpc_framer f;
  sniff_state st = {NULL, 0};
  rpc_framer_init(&f, o->max_message, sniff_msg, sniff_err, &st);
  size_t cap = 0;
  char chunk[4096];
  const char *proto = NULL;
  while (!st.body) {
    ssize_t n = read(0, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "layerscope: no subcommand, and stdin ended before a complete protocol message; "
                      "use 'layerscope lsp' or 'layerscope dap'\n");
      goto out;
    }
    if (o->prefill_len + (size_t)n > cap) {
      size_t ncap = cap ? cap * 2 : 65536;
      while (ncap < o->prefill_len + (size_t)n) ncap *= 2;
      char *grown = ls_realloc(o->prefill, ncap);
      if (!grown) { fprintf(stderr, "layerscope: out of memory\n"); goto out; }
      o->prefill = grown;
      cap = ncap;
    }
    memcpy(o->prefill + o->prefill_len, chunk, (size_t)n);
    o->prefill_len += (size_t)n;
    rpc_framer_feed(&f, chunk, (size_t)n);
  }
  json_t *m = json_loadb(st.body, st.len, 0, NULL);
  if (json_object_get(m, "jsonrpc")) proto = "lsp";
  else if (json_object_get(m, "seq") && json_object_get(m, "type")) proto = "dap";
  else fprintf(stderr, "layerscope: cannot tell the protocol from the first message (neither LSP's "
                       "'jsonrpc' nor DAP's 'seq' and 'type'); use 'layerscope lsp' or 'layerscope dap'\n");
  json_decref(m);
  if (proto) ls_log_info("protocol detected from the first message: %s", proto);
out:
  ls_free(st.body);
  rpc_framer_deinit(&f);
  return proto;
}

void ls_cli_serve_opts_free(ls_cli_serve_opts *o) {
  ls_free(o->prefill);
  o->prefill = NULL;
  o->prefill_len = 0;
}

int ls_cli_serve_lsp(ls_cli_serve_opts *o) {
  lsp_server_opts so = {0, 1, o->max_message, o->prefill, o->prefill_len};
  int rc = lsp_server_main(&so);
  ls_free(o->prefill);
  o->prefill = NULL;
  return rc;
}

int ls_cli_serve_dap(ls_cli_serve_opts *o) {
  /* a launch debugs the engine's forward pass (dap/debugger.c) */
  dap_server_opts so = {0, 1, o->max_message, o->prefill, o->prefill_len, dap_target_open};
  int rc = dap_server_main(&so);
  ls_free(o->prefill);
  o->prefill = NULL;
  return rc;
}
