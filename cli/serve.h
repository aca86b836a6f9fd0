/* serve.h: what the protocol front ends of the CLI share: the options of `layerscope lsp`
 * and `layerscope dap` (including the arguments editors append, like vscode-languageclient's
 * --stdio and --clientProcessId=N), and the protocol sniffer used when no subcommand is
 * given. */
#ifndef LS_CLI_SERVE_H
#define LS_CLI_SERVE_H

#include <stddef.h>

typedef struct ls_cli_serve_opts {
  size_t max_message;  /* cap on one message body; from --max-message or LAYERSCOPE_MAX_MESSAGE */
  char *prefill;       /* owned: bytes already read from stdin by the sniffer */
  size_t prefill_len;
} ls_cli_serve_opts;

/* Parses argv[1..] of `lsp`/`dap` (argv[0] is the subcommand). Returns 0, or 2 after
 * printing the problem and the usage to stderr (-1 for --help, printed to stdout). */
int ls_cli_serve_parse(int argc, char **argv, const char *name, ls_cli_serve_opts *o);
/* Reads stdin up to the end of its first message and says which protocol it speaks:
 * "lsp" (has "jsonrpc") or "dap" (has "seq" and "type"); the bytes read go to o->prefill.
 * Returns NULL after printing why on stderr. */
const char *ls_cli_serve_sniff(ls_cli_serve_opts *o);
void ls_cli_serve_opts_free(ls_cli_serve_opts *o);
/* Run the server (freeing o's prefill); return the exit status. */
int ls_cli_serve_lsp(ls_cli_serve_opts *o);
int ls_cli_serve_dap(ls_cli_serve_opts *o);

#endif
