/* check.c: the stop decision taken at every module event a target reports (ls_dbg_check,
 * called by the run owner on the target's thread), and where modules sit in the config for
 * stack frames. Order at an EXIT event: keep the output (forward), then exception filters
 * (the first module whose output, or in the backward pass gradient, has NaN / Inf / fp16
 * overflow, each once per run), then function and line breakpoints with their conditions and
 * hit counts. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/text.h"
#include "core/debug/debug.h"

/* The session's private layout is in session.c; check.c reaches it only through these. */
int ls__dbg_keep(ls_dbg *g, const ls_dbg_event *ev, const ls_dbg_var *out);
int ls__dbg_bps_check(ls_dbg *g, const ls_dbg_event *ev, ls_dbg_stop *stop);
unsigned ls__dbg_exc_take(ls_dbg *g, unsigned problem);
int ls__dbg_stop_on_entry(ls_dbg *g);
const ls_text_index *ls__dbg_lines(const ls_dbg *g);

static void index_format(const ls_dbg_tensor *t, uint64_t flat, char *buf, size_t cap) {
  int64_t idx[4] = {0};
  for (int d = t->ndim - 1; d >= 0; d--) {
    idx[d] = (int64_t)(flat % (uint64_t)t->shape[d]);
    flat /= (uint64_t)t->shape[d];
  }
  size_t len = (size_t)snprintf(buf, cap, "[");
  for (int d = 0; d < t->ndim && len < cap; d++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%lld", d ? ", " : "", (long long)idx[d]);
  if (len < cap) snprintf(buf + len, cap - len, "]");
}

/* Counts the elements with the problem and finds the first (f32 activations). */
static uint64_t scan(const float *x, uint64_t n, unsigned problem, uint64_t *first) {
  uint64_t cnt = 0;
  *first = UINT64_MAX;
  for (uint64_t i = 0; i < n; i++) {
    float v = x[i];
    int bad = problem == LS_DBG_EXC_NAN ? isnan(v) : problem == LS_DBG_EXC_INF ? isinf(v)
                                                                               : (isfinite(v) && fabsf(v) > LS_DBG_FP16_MAX);
    if (bad) {
      if (!cnt) *first = i;
      cnt++;
    }
  }
  return cnt;
}

static int check_exceptions(ls_dbg *g, const ls_dbg_event *ev, unsigned exc, ls_dbg_stop *stop) {
  ls_dbg_group gr = ev->pass == LS_DBG_BACKWARD ? LS_DBG_G_GRADS : LS_DBG_G_OUTPUTS;
  for (int o = 0; o < ev->n_vars[gr]; o++) {
    const ls_dbg_var *ft = &ev->vars[gr][o];
    if (ft->dtype != LS_DT_F32) continue;
    ls_dbg_tensor t;
    if (ls_dbg_var_tensor(g, ev, ft, &t, NULL) != LS_OK) continue;
    const ls_stats *s = ls_dbg_stats_cached(g, &t);
    if (!s) continue;
    static const struct { unsigned flag; const char *filter, *what; } P[] = {
        {LS_DBG_EXC_NAN, "nan", "NaN"}, {LS_DBG_EXC_INF, "inf", "Inf"}, {LS_DBG_EXC_FP16, "fp16", "fp16 overflow"}};
    for (int p = 0; p < 3; p++) {
      if (!(exc & P[p].flag)) continue;
      int has = P[p].flag == LS_DBG_EXC_NAN ? s->nan > 0
                : P[p].flag == LS_DBG_EXC_INF ? s->pinf + s->ninf > 0
                                              : s->finite > 0 && s->absmax > LS_DBG_FP16_MAX;
      if (!has || !ls__dbg_exc_take(g, P[p].flag)) continue;
      uint64_t first, cnt = scan(t.data, s->count, P[p].flag, &first);
      char where[96];
      index_format(&t, first, where, sizeof where);
      stop->reason = LS_DBG_STOP_EXCEPTION;
      stop->filter = P[p].filter;
      if (P[p].flag == LS_DBG_EXC_FP16)
        snprintf(stop->description, sizeof stop->description,
                 "fp16 overflow in %s %s: %llu of %llu values beyond ±65504 (absmax %.4g), first at %s", ev->name,
                 ft->name, (unsigned long long)cnt, (unsigned long long)s->count, s->absmax, where);
      else
        snprintf(stop->description, sizeof stop->description, "%s in %s %s: %llu of %llu values, first at %s",
                 P[p].what, ev->name, ft->name, (unsigned long long)cnt, (unsigned long long)s->count, where);
      return 1;
    }
  }
  return 0;
}

int ls_dbg_check(ls_dbg *g, const ls_dbg_event *ev, ls_dbg_stop *stop) {
  memset(stop, 0, sizeof *stop);
  ls_dbg_resumed(g); /* the previous event's buffers may have been overwritten */
  if (ev->serial == 0 && ls__dbg_stop_on_entry(g)) {
    stop->reason = LS_DBG_STOP_ENTRY;
    return 1;
  }
  if (ev->phase != LS_DBG_EXIT) return 0;
  if (ev->pass == LS_DBG_FORWARD && ev->n_vars[LS_DBG_G_OUTPUTS] > 0)
    ls__dbg_keep(g, ev, &ev->vars[LS_DBG_G_OUTPUTS][0]);
  unsigned exc = ls__dbg_exc_take(g, 0);
  if (exc && check_exceptions(g, ev, exc, stop)) return 1;
  return ls__dbg_bps_check(g, ev, stop);
}

/* The module table's entry and the model's index of its module (session.c). */
int ls__dbg_module_at(const ls_dbg *g, int module, ls_dbg_module *out, int *model_index);

int ls_dbg_module_line(const ls_dbg *g, int module) {
  ls_dbg_module mod;
  int mi;
  if (ls__dbg_module_at(g, module, &mod, &mi) != LS_OK) return 0;
  if (mod.line > 0) return mod.line;
  const ls_model *m = ls_dbg_model(g);
  int key = m && mi >= 0 ? ls_model_module_def_key(m, mi) : -1;
  const ls_text_index *li = ls__dbg_lines(g);
  if (key < 0 || !li->line_starts) return 0;
  return (int)ls_text_pos_of(li, m->values[key].key_span.start, LS_POS_UTF8).line + 1;
}

int ls_dbg_module_frames(const ls_dbg *g, int module, int *out, int cap) {
  int n = 0;
  ls_dbg_module mod;
  while (n < cap && ls_dbg_module_get(g, module, &mod) == LS_OK) {
    out[n++] = module;
    module = mod.parent;
  }
  return n;
}
