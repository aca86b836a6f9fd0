/* stack_trace.c: the DAP `stackTrace` request. The frames are the module path of the paused
 * event, innermost first (`down_proj` in `mlp` in `model.layers.3` in `model` in the root),
 * each located in config.json at the line of the key that defines it (the root at
 * `architectures`). Frame ids are 1-based positions in this list, valid until the pass
 * resumes. */
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "dap/engine.h"

#define MAX_FRAMES 64

int dap_on_stack_trace(dap_server *s, dap_req *req, json_t *args) {
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  json_t *tid = json_object_get(args, "threadId");
  if (!json_is_integer(tid) || json_integer_value(tid) != 1) {
    dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "stackTrace: 'threadId' must be 1 (the forward pass)");
    return LS_OK;
  }
  json_int_t start = json_integer_value(json_object_get(args, "startFrame"));
  json_int_t levels = json_integer_value(json_object_get(args, "levels"));
  int fr[MAX_FRAMES];
  int nm = ls_dbg_module_frames(x->g, x->ev->module, fr, MAX_FRAMES);
  pthread_mutex_lock(&x->mu);
  int n = nm + (int)x->n_native;
  pthread_mutex_unlock(&x->mu);
  const char *cfg = s->session.launch.config;
  const char *base = strrchr(cfg, '/') ? strrchr(cfg, '/') + 1 : cfg;
  json_t *frames = json_array();
  int lb = s->lines_start_at1 ? 0 : -1;
  for (int i = (int)(start > 0 ? start : 0); i < n && (levels <= 0 || i < start + levels); i++) {
    if (i >= nm) { /* native frames of the engine thread, after the module frames */
      char nname[200];
      ls_backtrace_frame_format(&x->native[i - nm], nname, sizeof nname);
      json_array_append_new(frames, json_pack("{s:i, s:s, s:i, s:i, s:s}", "id", i + 1, "name", nname, "line", 0,
                                              "column", 0, "presentationHint", "subtle"));
      continue;
    }
    const ls_model_module *mod = &x->m->modules[fr[i]];
    char name[320];
    if (i == 0)
      snprintf(name, sizeof name, "%.200s (%.60s, %s)", mod->name[0] ? mod->name : "(root)", mod->type,
               x->ev->phase == LS_FWD_ENTER ? "enter" : "exit");
    else
      snprintf(name, sizeof name, "%.200s (%.60s)", mod->name[0] ? mod->name : "(root)", mod->type);
    /* A stop on a config line shows that line in the innermost frame, so the editor
     * highlights the line the user set the breakpoint on; other frames show the key that
     * defines their module. */
    int line = i == 0 && x->stop.line ? x->stop.line : ls_dbg_module_line(x->g, fr[i]);
    /* every module is configured by config.json: a module no key locates (a config
     * without architectures or model_type) sits on its first line rather than on no
     * source, which a client shows as "Unknown Source" */
    if (line <= 0) line = 1;
    json_t *f = json_pack("{s:i, s:s, s:i, s:i, s:{s:s, s:s}}", "id", i + 1, "name", name, "line", line + lb,
                          "column", s->columns_start_at1 ? 1 : 0, "source", "name", base, "path", cfg);
    if (f) json_array_append_new(frames, f);
  }
  dap_respond(s, req, json_pack("{s:o, s:i}", "stackFrames", frames, "totalFrames", n));
  return LS_OK;
}
