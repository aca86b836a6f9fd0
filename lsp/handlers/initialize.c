/* initialize.c: the `initialize` request. Records the client's capabilities, negotiates the
 * position encoding (utf-8 when the client offers it: byte columns need no transcoding;
 * otherwise the mandatory utf-16), and answers with the server's capabilities: text sync
 * here, one `true` per methods.def line that names a capability, and the capabilities that
 * take richer values than `true` (completion's trigger characters, code lens without
 * resolve). */
#include <string.h>

#include "core/base/errors.h"
#include "lsp/server.h"
#include "lsp/server_impl.h"
#include "ls_version.h"

static int negotiate_encoding(lsp_server *s, lsp_req *req, json_t *params) {
  json_t *encs;
  if (lsp_param(s, req, params, "capabilities.general.positionEncodings", LSP_T_ARRAY, 0, &encs))
    return LS_EINVAL;
  s->enc = LS_POS_UTF16;
  size_t i;
  json_t *e;
  json_array_foreach(encs, i, e) {
    if (!json_is_string(e)) {
      lsp_reply_error(s, req, LSP_ERR_INVALID_PARAMS,
                      "field 'capabilities.general.positionEncodings[%zu]' must be a string", i);
      return LS_EINVAL;
    }
    if (strcmp(json_string_value(e), "utf-8") == 0) s->enc = LS_POS_UTF8;
  }
  return LS_OK;
}

int lsp_on_initialize(lsp_server *s, lsp_req *req, json_t *params) {
  if (s->state != LSP_S_UNINITIALIZED) {
    lsp_reply_error(s, req, LSP_ERR_INVALID_REQUEST, "'initialize' may only be sent once");
    return LS_OK;
  }
  json_t *caps, *pid, *trace, *opts, *info;
  if (lsp_param(s, req, params, "capabilities", LSP_T_OBJECT, 1, &caps)) return LS_EINVAL;
  if (lsp_param(s, req, params, "processId", LSP_T_ANY, 0, &pid)) return LS_EINVAL;
  if (pid && !json_is_integer(pid) && !json_is_null(pid)) {
    lsp_reply_error(s, req, LSP_ERR_INVALID_PARAMS, "field 'processId' must be an integer or null");
    return LS_EINVAL;
  }
  if (lsp_param(s, req, params, "trace", LSP_T_STRING, 0, &trace)) return LS_EINVAL;
  lsp_trace tr = LSP_TRACE_OFF;
  if (trace) {
    const char *t = json_string_value(trace);
    if (strcmp(t, "messages") == 0) tr = LSP_TRACE_MESSAGES;
    else if (strcmp(t, "verbose") == 0) tr = LSP_TRACE_VERBOSE;
    else if (strcmp(t, "off") != 0) {
      lsp_reply_error(s, req, LSP_ERR_INVALID_PARAMS,
                      "field 'trace' must be one of \"off\", \"messages\", \"verbose\"");
      return LS_EINVAL;
    }
  }
  if (lsp_param(s, req, params, "clientInfo", LSP_T_OBJECT, 0, &info)) return LS_EINVAL;
  if (lsp_param(s, req, params, "initializationOptions", LSP_T_ANY, 0, &opts)) return LS_EINVAL;
  if (negotiate_encoding(s, req, params)) return LS_EINVAL;

  json_t *result = json_pack(
      "{s:{s:s, s:{s:b, s:i, s:{s:b}}}, s:{s:s, s:s}}",
      "capabilities", "positionEncoding", lsp_enc_name(s->enc),
      "textDocumentSync", "openClose", 1, "change", 2 /* Incremental */, "save", "includeText", 0,
      "serverInfo", "name", "layerscope", "version", LS_VERSION);
  if (!result) return LS_ENOMEM;
  json_t *sc = json_object_get(result, "capabilities");
  /* Feature capabilities richer than `true` (the feature handlers of issue 4). */
  json_object_set_new(sc, "completionProvider",
                      json_pack("{s:[s, s], s:b}", "triggerCharacters", "\"", ":", "resolveProvider", 0));
  json_object_set_new(sc, "codeActionProvider", json_pack("{s:[s]}", "codeActionKinds", "quickfix"));
  json_object_set_new(sc, "codeLensProvider", json_pack("{s:b}", "resolveProvider", 0));
  for (size_t i = 0; i < lsp__n_methods; i++) {
    const lsp_method_entry *m = &lsp__methods[i];
    if (m->cap && (!(m->flags & LSP_F_DEBUG) || s->debug_methods))
      json_object_set_new(sc, m->cap, json_true());
  }
  s->client_caps = json_incref(caps);
  s->init_options = opts ? json_incref(opts) : NULL;
  s->client_info = info ? json_incref(info) : NULL;
  s->trace = tr;
  s->state = LSP_S_RUNNING;
  lsp_reply(s, req, result);
  return LS_OK;
}
