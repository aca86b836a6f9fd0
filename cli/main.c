/* main.c: the layerscope executable. Parses global options, then dispatches to a
 * subcommand from commands.def. The protocol roles (lsp, dap) are subcommands like the
 * others; with no subcommand and a non-terminal stdin the protocol is detected from the
 * first message. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/serve.h"
#include "core/base/alloc.h"
#include "core/base/backtrace.h"
#include "core/base/log.h"
#include "ls_version.h"

typedef struct cli_command {
  const char *name;
  int (*handler)(int argc, char **argv);
  const char *usage;
  const char *desc;
} cli_command;

static const cli_command k_commands[] = {
#define X(name, handler, usage, desc) {#name, handler, usage, desc},
#include "cli/commands.def"
#undef X
};
static const size_t k_n_commands = sizeof k_commands / sizeof k_commands[0];

static void print_help(FILE *f) {
  fprintf(f, "layerscope %s: language server, debug adapter and CLI for neural-network models\n\n"
             "usage: layerscope [--log-level LEVEL] COMMAND [ARGS...]\n\ncommands:\n", LS_VERSION);
  for (size_t i = 0; i < k_n_commands; i++)
    fprintf(f, "  %-10s %s\n", k_commands[i].name, k_commands[i].desc);
  fprintf(f, "\noptions:\n  --version           print the version\n"
             "  --help              print this help\n"
             "  --log-level LEVEL   off|error|warn|info|debug|trace (also LAYERSCOPE_LOG)\n"
             "\nWith no command and a pipe on stdin, layerscope reads the first message and serves\n"
             "LSP or DAP, whichever it is.\n");
}

/* No subcommand: a terminal gets the help; a pipe is an editor that started us without
 * arguments, so the first message decides between LSP and DAP. */
static int serve_detected(int argc, char **argv) {
  if (isatty(0)) { print_help(stderr); return 2; }
  ls_cli_serve_opts o;
  int rc = ls_cli_serve_parse(argc, argv, "lsp", &o);
  if (rc) return rc < 0 ? 0 : rc;
  const char *proto = ls_cli_serve_sniff(&o);
  if (!proto) { ls_cli_serve_opts_free(&o); return 2; }
  return strcmp(proto, "lsp") == 0 ? ls_cli_serve_lsp(&o) : ls_cli_serve_dap(&o);
}

void ls_cli_usage(FILE *f, const char *name) {
  for (size_t i = 0; i < k_n_commands; i++)
    if (strcmp(k_commands[i].name, name) == 0)
      fprintf(f, "usage: layerscope %s\n", k_commands[i].usage);
}

int ls_cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  ls_backtrace_install_crash_handler();
  ls_log_init_from_env();
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--version") == 0) { printf("layerscope %s\n", LS_VERSION); return 0; }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { print_help(stdout); return 0; }
    if (strcmp(argv[i], "--stdio") == 0 || strncmp(argv[i], "--clientProcessId=", 18) == 0)
      continue; /* appended by editors' launchers even without a subcommand */
    if ((strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) || strncmp(argv[i], "--log-level=", 12) == 0) {
      ls_log_level l;
      const char *v = argv[i][11] == '=' ? argv[i] + 12 : argv[++i];
      if (ls_log_parse_level(v, &l) != 0) {
        fprintf(stderr, "layerscope: unknown log level '%s'\n", v);
        return 2;
      }
      ls_log_set_level(l);
      continue;
    }
    fprintf(stderr, "layerscope: unknown option '%s'\n", argv[i]);
    print_help(stderr);
    return 2;
  }
  if (i >= argc) return serve_detected(1, argv);
  for (size_t c = 0; c < k_n_commands; c++)
    if (strcmp(k_commands[c].name, argv[i]) == 0) return k_commands[c].handler(argc - i, argv + i);
  fprintf(stderr, "layerscope: unknown command '%s'\n\n", argv[i]);
  print_help(stderr);
  return 2;
}

/* A JSON string from bytes that may not be valid UTF-8 (model messages quote the file):
 * invalid bytes become U+FFFD so jansson accepts it. */
json_t *ls_cli_jstr(const char *s) {
  if (!s) return json_null();
  json_t *j = json_string(s);
  if (j) return j;
  size_t n = strlen(s);
  char *b = ls_malloc(n * 3 + 1);
  if (!b) return json_null();
  size_t o = 0;
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t k = u[i] < 0x80 ? 1 : (u[i] & 0xe0) == 0xc0 ? 2 : (u[i] & 0xf0) == 0xe0 ? 3
             : (u[i] & 0xf8) == 0xf0 ? 4 : 0;
    int ok = k > 0 && i + k <= n;
    for (size_t t = 1; ok && t < k; t++) ok = (u[i + t] & 0xc0) == 0x80;
    if (ok) {
      memcpy(b + o, s + i, k);
      o += k;
      i += k;
    } else {
      memcpy(b + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    }
  }
  b[o] = 0;
  j = json_string(b);
  ls_free(b);
  return j ? j : json_null();
}
