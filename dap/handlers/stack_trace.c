/* stack_trace.c: the DAP `stackTrace` request. The frames are the run's (ls_dbg_run_frames):
 * the module path of the stopped event, innermost first (`down_proj` in `mlp` in
 * `model.layers.3` in `model` in the root), each located in config.json at the line of the
 * key that defines it (the root at `architectures`), then the target's own frames: the
 * engine thread's native frames (showNativeFrames, presentation "subtle") or, for a program,
 * its source frames. Frame ids are 1-based positions in this list, valid until the run
 * resumes. */
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "dap/debugger.h"

#define MAX_FRAMES 96
#define MAX_THREADS 256

static const char *base_name(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

int dap_on_stack_trace(dap_server *s, dap_req *req, json_t *args) {
  dap_dbg *x = dap_dbg_stopped(s, req);
  if (!x) return LS_OK;
  json_t *tid = json_object_get(args, "threadId");
  ls_dbg_thread th[MAX_THREADS];
  int nt = ls_dbg_run_threads(x->run, th, MAX_THREADS), known = 0;
  for (int i = 0; i < nt && json_is_integer(tid); i++) known |= json_integer_value(tid) == th[i].id;
  if (!known) {
    if (nt == 1)
      dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "stackTrace: 'threadId' must be %d (the %s)", th[0].id,
                        th[0].name);
    else
      dap_respond_error(s, req, DAP_ERR_BAD_ARGUMENTS, "stackTrace: 'threadId' must be one of the %d threads of the %s",
                        nt, dap_dbg_what(s));
    return LS_OK;
  }
  int thread = (int)json_integer_value(tid);
  json_int_t start = json_integer_value(json_object_get(args, "startFrame"));
  json_int_t levels = json_integer_value(json_object_get(args, "levels"));
  ls_dbg_frame fr[MAX_FRAMES];
  int n = ls_dbg_run_frames(x->run, thread, fr, MAX_FRAMES);
  json_t *frames = json_array();
  int lb = s->lines_start_at1 ? 0 : -1, col = s->columns_start_at1 ? 1 : 0;
  for (int i = (int)(start > 0 ? start : 0); i < n && (levels <= 0 || i < start + levels); i++) {
    const ls_dbg_frame *f = &fr[i];
    char name[320];
    int line = f->line;
    if (f->kind == LS_DBG_FRAME_MODULE) {
      const char *mname = f->name[0] ? f->name : "(root)";
      const ls_dbg_event *tev = i == 0 ? ls_dbg_run_event(x->run, thread) : NULL;
      if (tev)
        snprintf(name, sizeof name, "%.200s (%.60s, %s)", mname, f->type,
                 tev->pass == LS_DBG_BACKWARD ? "backward" : tev->phase == LS_DBG_ENTER ? "enter" : "exit");
      else
        snprintf(name, sizeof name, "%.200s (%.60s)", mname, f->type);
      /* every module is configured by config.json: a module no key locates (a config
       * without architectures or model_type) sits on its first line rather than on no
       * source, which a client shows as "Unknown Source" */
      if (line <= 0) line = 1;
    } else {
      snprintf(name, sizeof name, "%s", f->name);
    }
    json_t *o;
    if (f->path && line > 0)
      o = json_pack("{s:i, s:s, s:i, s:i, s:{s:s, s:s}}", "id", i + 1, "name", name, "line", line + lb, "column", col,
                    "source", "name", base_name(f->path), "path", f->path);
    else /* module frames of a program (no config.json: a label above the Python frames), and
          * native frames of the engine's thread: no source */
      o = json_pack("{s:i, s:s, s:i, s:i, s:s}", "id", i + 1, "name", name, "line", 0, "column", 0,
                    "presentationHint", f->kind == LS_DBG_FRAME_MODULE || f->kind == LS_DBG_FRAME_TOKEN ? "label" : "subtle");
    if (o && f->kind == LS_DBG_FRAME_LIBRARY) { /* torch's frames: shown, the user's get the focus */
      json_object_set_new(o, "presentationHint", json_string("subtle"));
      json_t *src = json_object_get(o, "source");
      if (src) json_object_set_new(src, "presentationHint", json_string("deemphasize"));
    }
    if (o) json_object_set_new(o, "id", json_integer(dap_dbg_frame_id(x, thread, i)));
    if (o) json_array_append_new(frames, o);
  }
  dap_respond(s, req, json_pack("{s:o, s:i}", "stackFrames", frames, "totalFrames", n));
  return LS_OK;
}
