/* debug_crash.c: layerscope/debugCrash {signal}, a test-only notification (enabled by
 * LAYERSCOPE_DEBUG_METHODS=1) that raises a fatal signal inside a handler, so the tests can
 * check that the crash handler prints a native backtrace naming this function and that the
 * process dies with a non-zero status. */
#include <signal.h>
#include <string.h>

#include "core/base/errors.h"
#include "lsp/server.h"

int lsp_on_debug_crash(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *sig;
  if (lsp_param(s, req, params, "signal", LSP_T_STRING, 1, &sig)) return LS_EINVAL;
  const char *n = json_string_value(sig);
  int signo = strcmp(n, "SEGV") == 0 ? SIGSEGV : strcmp(n, "ABRT") == 0 ? SIGABRT
            : strcmp(n, "FPE") == 0 ? SIGFPE : strcmp(n, "BUS") == 0 ? SIGBUS : 0;
  if (!signo) {
    lsp_log_message(s, LSP_MSG_ERROR, "layerscope/debugCrash: field 'signal' must be SEGV, ABRT, FPE or BUS");
    return LS_EINVAL;
  }
  raise(signo);
  return LS_OK;
}
