/* params.c: typed access to request parameters with errors that name the field. Every
 * handler reads its params through lsp_param, so a wrong type or a missing field is answered
 * the same way everywhere: InvalidParams "field 'textDocument.uri' must be a string, got
 * number" for requests; a log line and window/logMessage for notifications (which cannot be
 * answered). */
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/base/log.h"
#include "lsp/server.h"
#include "lsp/server_impl.h"

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "object";
  case JSON_ARRAY: return "array";
  case JSON_STRING: return "string";
  case JSON_INTEGER: return "integer";
  case JSON_REAL: return "number";
  case JSON_TRUE: case JSON_FALSE: return "boolean";
  case JSON_NULL: default: return "null";
  }
}

static const char *want_name(lsp_ptype t) {
  switch (t) {
  case LSP_T_OBJECT: return "an object";
  case LSP_T_ARRAY: return "an array";
  case LSP_T_STRING: return "a string";
  case LSP_T_INTEGER: return "an integer";
  case LSP_T_UINTEGER: return "a non-negative integer below 2^31";
  case LSP_T_NUMBER: return "a number";
  case LSP_T_BOOL: return "a boolean";
  case LSP_T_ANY: default: return "a value";
  }
}

static int type_ok(const json_t *v, lsp_ptype t) {
  switch (t) {
  case LSP_T_OBJECT: return json_is_object(v);
  case LSP_T_ARRAY: return json_is_array(v);
  case LSP_T_STRING: return json_is_string(v);
  case LSP_T_INTEGER: return json_is_integer(v);
  case LSP_T_UINTEGER:
    return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 2147483647;
  case LSP_T_NUMBER: return json_is_number(v);
  case LSP_T_BOOL: return json_is_boolean(v);
  case LSP_T_ANY: default: return 1;
  }
}

static int bad(lsp_server *s, lsp_req *req, const char *msg) {
  if (req) {
    lsp_reply_error(s, req, LSP_ERR_INVALID_PARAMS, "%s", msg);
  } else {
    const char *m = s->impl && s->impl->cur_method ? s->impl->cur_method : "notification";
    lsp_log_message(s, LSP_MSG_ERROR, "%s: invalid params: %s", m, msg);
  }
  return LS_EINVAL;
}

int lsp_param(lsp_server *s, lsp_req *req, json_t *params, const char *path, lsp_ptype type,
              int required, json_t **out) {
  char msg[320];
  *out = NULL;
  json_t *cur = params;
  const char *seg = path;
  while (1) {
    const char *dot = strchr(seg, '.');
    size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
    if (!json_is_object(cur)) {
      if (cur == params) {
        if (!cur && !required) return LS_OK;
        snprintf(msg, sizeof msg, "params must be an object with field '%s'", path);
      } else {
        snprintf(msg, sizeof msg, "field '%.*s' must be an object, got %s", (int)(seg - path - 1),
                 path, type_name(cur));
      }
      return bad(s, req, msg);
    }
    char key[128];
    if (n >= sizeof key) n = sizeof key - 1;
    memcpy(key, seg, n);
    key[n] = '\0';
    json_t *child = json_object_get(cur, key);
    if (!child) {
      if (!required) return LS_OK;
      snprintf(msg, sizeof msg, "missing required field '%s'", path);
      return bad(s, req, msg);
    }
    if (!dot) {
      if (!type_ok(child, type)) {
        const char *got = json_is_integer(child) && type == LSP_T_UINTEGER ? "an out-of-range integer"
                                                                            : type_name(child);
        snprintf(msg, sizeof msg, "field '%s' must be %s, got %s", path, want_name(type), got);
        return bad(s, req, msg);
      }
      *out = child;
      return LS_OK;
    }
    cur = child;
    seg = dot + 1;
  }
}

int lsp_param_pos(lsp_server *s, lsp_req *req, json_t *params, const char *path, ls_pos *p) {
  char sub[160];
  json_t *line, *ch;
  snprintf(sub, sizeof sub, "%s.line", path);
  if (lsp_param(s, req, params, sub, LSP_T_UINTEGER, 1, &line)) return LS_EINVAL;
  snprintf(sub, sizeof sub, "%s.character", path);
  if (lsp_param(s, req, params, sub, LSP_T_UINTEGER, 1, &ch)) return LS_EINVAL;
  p->line = (uint32_t)json_integer_value(line);
  p->col = (uint32_t)json_integer_value(ch);
  return LS_OK;
}
