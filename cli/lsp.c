/* lsp.c: `layerscope lsp`: the language server on stdin/stdout (lsp/server.c does the work).
 * Exit status 0 after shutdown + exit, 1 when the client exits without shutdown or stdin
 * ends first, 2 for bad arguments. */
#include "cli/cli.h"
#include "cli/serve.h"

int ls_cli_lsp(int argc, char **argv) {
  ls_cli_serve_opts o;
  int rc = ls_cli_serve_parse(argc, argv, "lsp", &o);
  if (rc) return rc < 0 ? 0 : rc;
  return ls_cli_serve_lsp(&o);
}
