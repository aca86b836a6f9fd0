/* breakpoints.c: DAP breakpoint arguments <-> the run's breakpoint sets (breakpoints.h,
 * core/debug/debug.h). Function breakpoints are module-name globs; source breakpoints are
 * kept per source as DAP asks: config.json's lines are the core's line breakpoints, another
 * file's request gets unverified entries saying so and changes nothing; exception filters
 * are nan, inf and fp16. Verification messages come from the session (match counts,
 * reasons). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/text.h"
#include "dap/breakpoints.h"

static const struct { const char *filter, *label, *desc; unsigned flag; } FILTERS[] = {
    {"nan", "NaN", "Stop at the first module whose output contains NaN", LS_DBG_EXC_NAN},
    {"inf", "Inf", "Stop at the first module whose output contains +Inf or -Inf", LS_DBG_EXC_INF},
    {"fp16", "fp16 overflow", "Stop at the first module whose output has a finite value beyond ±65504 "
                              "(it would overflow in float16)", LS_DBG_EXC_FP16},
};

json_t *dap_bps_exception_filters(void) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < sizeof FILTERS / sizeof FILTERS[0]; i++)
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:b}", "filter", FILTERS[i].filter, "label", FILTERS[i].label,
                                       "description", FILTERS[i].desc, "default", 0));
  return a;
}

int dap_bps_set_exceptions(dap_dbg *x, json_t *filters, json_t *options, const char **why) {
  unsigned flags = 0;
  if (!json_is_array(filters)) {
    *why = "'filters' must be an array of filter ids";
    return LS_EINVAL;
  }
  size_t i;
  json_t *f;
  json_array_foreach(filters, i, f) {
    const char *id = json_string_value(f);
    size_t k = 0;
    while (id && k < sizeof FILTERS / sizeof FILTERS[0] && strcmp(FILTERS[k].filter, id) != 0) k++;
    if (!id || k == sizeof FILTERS / sizeof FILTERS[0]) {
      *why = "unknown exception filter (known: nan, inf, fp16)";
      return LS_EINVAL;
    }
    flags |= FILTERS[k].flag;
  }
  json_array_foreach(options, i, f) {
    const char *id = json_string_value(json_object_get(f, "filterId"));
    for (size_t k = 0; id && k < sizeof FILTERS / sizeof FILTERS[0]; k++)
      if (strcmp(FILTERS[k].filter, id) == 0) flags |= FILTERS[k].flag;
  }
  ls_dbg_set_exceptions(x->g, flags);
  return LS_OK;
}

static const char *opt_str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The response body: exactly one entry per requested breakpoint, in order (clients pair
 * them by position), so an entry whose message cannot be packed is packed again with the
 * message repaired; NULL (the request gets an error) only when out of memory. */
static json_t *results_json(const ls_dbg_bp_result *r, size_t n, json_t *source, int line_base) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    char msg[sizeof r[i].message];
    snprintf(msg, sizeof msg, "%s", r[i].message);
    json_t *b = json_pack("{s:b, s:s}", "verified", r[i].verified, "message", ls_utf8_repair(msg));
    if (b && r[i].id) json_object_set_new(b, "id", json_integer(r[i].id));
    if (b && source) {
      json_object_set(b, "source", source);
      json_object_set_new(b, "line", json_integer(r[i].line - 1 + line_base));
    }
    if (!b || json_array_append_new(arr, b) != 0) {
      json_decref(arr);
      return NULL;
    }
  }
  return json_pack("{s:o}", "breakpoints", arr);
}

json_t *dap_bps_set_function(dap_dbg *x, json_t *bps, const char **why) {
  if (!json_is_array(bps)) {
    *why = "'breakpoints' must be an array";
    return NULL;
  }
  size_t n = json_array_size(bps);
  ls_dbg_bp_spec *sp = ls_calloc(n ? n : 1, sizeof *sp);
  ls_dbg_bp_result *r = ls_calloc(n ? n : 1, sizeof *r);
  json_t *out = NULL;
  if (!sp || !r) goto done;
  for (size_t i = 0; i < n; i++) {
    json_t *b = json_array_get(bps, i);
    if (!json_is_string(json_object_get(b, "name"))) {
      *why = "each function breakpoint needs a string 'name' (a module name or glob)";
      goto done;
    }
    sp[i] = (ls_dbg_bp_spec){opt_str(b, "name"), 0, opt_str(b, "condition"), opt_str(b, "hitCondition")};
  }
  if (ls_dbg_set_function_bps(x->g, sp, n, r) != LS_OK) goto done;
  out = results_json(r, n, NULL, 1);
done:
  ls_free(sp);
  ls_free(r);
  return out;
}

/* Same file? Compare canonical paths so ./config.json and an absolute path agree. */
static int same_file(const char *a, const char *b) {
  char ra[PATH_MAX], rb[PATH_MAX];
  if (!a || !b) return 0;
  if (realpath(a, ra) && realpath(b, rb)) return strcmp(ra, rb) == 0;
  return strcmp(a, b) == 0;
}

json_t *dap_bps_set_source(dap_server *s, dap_dbg *x, json_t *args, const char **why) {
  json_t *source = json_object_get(args, "source");
  if (!json_is_object(source)) {
    *why = "'source' must be an object";
    return NULL;
  }
  json_t *bps = json_object_get(args, "breakpoints");
  json_t *lines = json_object_get(args, "lines");
  size_t n = json_is_array(bps) ? json_array_size(bps) : json_is_array(lines) ? json_array_size(lines) : 0;
  ls_dbg_bp_spec *sp = ls_calloc(n ? n : 1, sizeof *sp);
  ls_dbg_bp_result *r = ls_calloc(n ? n : 1, sizeof *r);
  json_t *out = NULL;
  if (!sp || !r) goto done;
  int base = s->lines_start_at1 ? 1 : 0;
  for (size_t i = 0; i < n; i++) {
    json_t *b = json_is_array(bps) ? json_array_get(bps, i) : NULL;
    json_t *line = b ? json_object_get(b, "line") : json_array_get(lines, i);
    if (!json_is_integer(line) || json_integer_value(line) < base || json_integer_value(line) > INT_MAX / 2) {
      *why = "each source breakpoint needs an integer 'line'";
      goto done;
    }
    sp[i] = (ls_dbg_bp_spec){NULL, (int)(json_integer_value(line) - base + 1), opt_str(b, "condition"),
                             opt_str(b, "hitCondition")};
  }
  const char *config = ls_dbg_run_info(x->run)->config_path;
  if (config && !same_file(opt_str(source, "path"), config)) {
    /* Only the launched config has layer meaning: answer every line unverified. Clients
     * send one setBreakpoints per source, so this must not touch config.json's set (the
     * core's line breakpoints are all config lines). */
    for (size_t i = 0; i < n; i++) {
      memset(&r[i], 0, sizeof r[i]);
      r[i].line = sp[i].line;
      snprintf(r[i].message, sizeof r[i].message, "not the launched config (%.*s)", ls_utf8_clip(config, 200), config);
    }
  } else if (ls_dbg_set_line_bps(x->g, sp, n, r) != LS_OK) {
    goto done;
  }
  out = results_json(r, n, source, base);
done:
  ls_free(sp);
  ls_free(r);
  return out;
}
