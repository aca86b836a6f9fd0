/* dap.c: `layerscope dap`: the debug adapter on stdin/stdout (dap/server.c does the work).
 * Exit status 0 after disconnect or end of input, 2 for bad arguments. */
#include "cli/cli.h"
#include "cli/serve.h"

int ls_cli_dap(int argc, char **argv) {
  ls_cli_serve_opts o;
  int rc = ls_cli_serve_parse(argc, argv, "dap", &o);
  if (rc) return rc < 0 ? 0 : rc;
  return ls_cli_serve_dap(&o);
}
