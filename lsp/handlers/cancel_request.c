/* cancel_request.c: $/cancelRequest. If the request is still pending it is answered with
 * RequestCancelled (-32800) at once and its job is told to stop; the job's own reply, if it
 * comes, is dropped, so the client sees exactly one response. */
#include "core/base/errors.h"
#include "lsp/server.h"
#include "lsp/server_impl.h"

int lsp_on_cancel_request(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *id;
  if (lsp_param(s, req, params, "id", LSP_T_ANY, 1, &id)) return LS_EINVAL;
  if (!json_is_integer(id) && !json_is_string(id)) {
    lsp_log_message(s, LSP_MSG_ERROR, "$/cancelRequest: field 'id' must be an integer or a string");
    return LS_EINVAL;
  }
  lsp__server_cancel(s, id);
  return LS_OK;
}
