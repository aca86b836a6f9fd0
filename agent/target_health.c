/* target_health.c: the agent's `health` event (a training step's sample of every parameter's
 * gradient and update and every module's output, with the source lines of the modules) read
 * into the run's health sample (core/debug/debug.h, core/record). */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "agent/target_int.h"
#include "core/base/alloc.h"

/* ------------------------------------------------------------ health samples */

#define MAX_HEALTH_ROWS 1000000

static double num_or_nan(json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }
static int64_t int_or_neg(json_t *v) { return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1; }

/* The process's module index v as the table's, -1 when it is not one. t->mu held. */
static int map_module(peer *p, json_t *v) {
  json_int_t i = json_integer_value(v);
  return json_is_integer(v) && i >= 0 && (size_t)i < p->n_map ? p->map[i] : -1;
}


/* A `health` body as a sample (strings borrowed from body); rows that name no module of
 * the table are left out. 0, or -1 when it cannot be read. t->mu held. */
int ls__agent_health_build(peer *p, json_t *b, hsample *hs) {
  memset(hs, 0, sizeof *hs);
  json_t *params = json_object_get(b, "params"), *outs = json_object_get(b, "outputs"),
         *srcs = json_object_get(b, "sources");
  size_t np = json_array_size(params), no = json_array_size(outs), ns = json_array_size(srcs);
  if (!json_is_integer(json_object_get(b, "step")) || np + no > MAX_HEALTH_ROWS || ns > MAX_HEALTH_ROWS) return -1;
  hs->rows = ls_calloc(np + no + 1, sizeof *hs->rows);
  hs->src = ls_calloc(ns + 1, sizeof *hs->src);
  if (!hs->rows || !hs->src) return -1;
  json_t *rk = json_object_get(b, "rank");
  hs->h = (ls_dbg_health){.thread = p->thread,
                          .step = {.step = json_integer_value(json_object_get(b, "step")),
                                   .rank = json_is_integer(rk) ? (int)json_integer_value(rk) : 0,
                                   .thread = p->thread,
                                   .loss = num_or_nan(json_object_get(b, "loss")),
                                   .grad_norm = num_or_nan(json_object_get(b, "gradNorm")),
                                   .scale = num_or_nan(json_object_get(b, "scale")),
                                   .sample_ns = int_or_neg(json_object_get(b, "sampleNs"))}};
  size_t n = 0, i;
  json_t *e;
  json_array_foreach(params, i, e) { /* [module, name, shape, count, gnorm, grms, gabsmax, wnorm, unorm, uratio] */
    int m = map_module(p, json_array_get(e, 0));
    const char *name = json_string_value(json_array_get(e, 1));
    if (m < 0 || !name) continue;
    hs->rows[n++] = (ls_rec_health_row){
        .module = m, .tensor = name, .shape = json_string_value(json_array_get(e, 2)),
        .count = int_or_neg(json_array_get(e, 3)), .grad_norm = num_or_nan(json_array_get(e, 4)),
        .grad_rms = num_or_nan(json_array_get(e, 5)), .grad_absmax = num_or_nan(json_array_get(e, 6)),
        .weight_norm = num_or_nan(json_array_get(e, 7)), .update_norm = num_or_nan(json_array_get(e, 8)),
        .update_ratio = num_or_nan(json_array_get(e, 9)), .mean = NAN, .std = NAN, .absmax = NAN, .zeros = NAN,
        .dead = NAN, .units = -1, .calls = -1, .time_ns = -1};
  }
  json_array_foreach(outs, i, e) { /* [module, count, mean, std, absmax, zeros, dead, units, calls, time_ns] */
    int m = map_module(p, json_array_get(e, 0));
    if (m < 0) continue;
    hs->rows[n++] = (ls_rec_health_row){
        .module = m, .tensor = "output", .count = int_or_neg(json_array_get(e, 1)),
        .grad_norm = NAN, .grad_rms = NAN, .grad_absmax = NAN, .weight_norm = NAN, .update_norm = NAN,
        .update_ratio = NAN, .mean = num_or_nan(json_array_get(e, 2)), .std = num_or_nan(json_array_get(e, 3)),
        .absmax = num_or_nan(json_array_get(e, 4)), .zeros = num_or_nan(json_array_get(e, 5)),
        .dead = num_or_nan(json_array_get(e, 6)), .units = int_or_neg(json_array_get(e, 7)),
        .calls = int_or_neg(json_array_get(e, 8)), .time_ns = int_or_neg(json_array_get(e, 9))};
  }
  hs->h.rows = hs->rows;
  hs->h.n_rows = n;
  n = 0;
  json_array_foreach(srcs, i, e) { /* [module, kind, file, line, col, end_col, inputs, outputs] */
    int m = map_module(p, json_array_get(e, 0));
    const char *kind = json_string_value(json_array_get(e, 1)), *file = json_string_value(json_array_get(e, 2));
    int64_t line = int_or_neg(json_array_get(e, 3)), col = int_or_neg(json_array_get(e, 4)),
            end = int_or_neg(json_array_get(e, 5));
    if (m < 0 || !kind || !file || line < 1 || line > INT_MAX || col > INT_MAX || end > INT_MAX) continue;
    hs->src[n++] = (ls_rec_source_row){.rank = hs->h.step.rank, .module = m, .kind = kind, .file = file,
                                       .line = (int)line, .col = (int)col, .end_col = (int)end,
                                       .step = hs->h.step.step, .inputs = json_string_value(json_array_get(e, 6)),
                                       .outputs = json_string_value(json_array_get(e, 7))};
  }
  hs->h.sources = hs->src;
  hs->h.n_sources = n;
  return 0;
}
