/* profile.c: `layerscope profile`, the command-line front end of the engine's profiler
 * (core/engine/profile.h). It opens the engine from the same options as `run` (engine_args.h;
 * 128 random tokens when none are given), calls ls_prof_run once, and turns the profile
 * into a terminal table (the modules with the most self time, the totals per kind, the
 * notes) or JSON (--format json, schema "layerscope.profile/1": every module that ran, most
 * self time first, for the editor's Profile view and scripts), and writes the exports asked for: --trace (Chrome trace event JSON), --flame
 * (SVG), --collapsed (collapsed stacks). The peaks of the roofline are measured unless
 * --no-peaks, or given with --peak-gflops and --peak-gbps. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/engine_args.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/profile.h"
#include "core/record/record_profile.h"

typedef struct prof_cli {
  const char *trace, *flame, *collapsed, *format, *sort, *record;
  int64_t top, warmup;
  int fused, no_peaks;
  double peak_gflops, peak_gbps;
} prof_cli;

static int usage(void) {
  ls_cli_usage(stderr, "profile");
  return 2;
}

static int parse_pos_double(const char *opt, const char *v, double *out) {
  char *end;
  double x = strtod(v, &end);
  if (*end || !(x > 0) || x > 1e9) {
    fprintf(stderr, "layerscope profile: %s: '%s' is not a positive number\n", opt, v);
    return 2;
  }
  *out = x;
  return 0;
}

/* Options of its own; 1 taken, 0 not one of them, 2 bad value. */
static int prof_arg(prof_cli *o, int argc, char **argv, int *i) {
  const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
  if (strcmp(a, "--fused") == 0) return o->fused = 1;
  if (strcmp(a, "--no-peaks") == 0) return o->no_peaks = 1;
  if (!v) return 0;
  if (strcmp(a, "--trace") == 0) o->trace = v;
  else if (strcmp(a, "--flame") == 0) o->flame = v;
  else if (strcmp(a, "--collapsed") == 0) o->collapsed = v;
  else if (strcmp(a, "--record") == 0) o->record = v;
  else if (strcmp(a, "--format") == 0) o->format = v;
  else if (strcmp(a, "--sort") == 0) o->sort = v;
  else if (strcmp(a, "--top") == 0) {
    if (ls_cli_parse_i64(v, 1, 100000, &o->top)) {
      fprintf(stderr, "layerscope profile: --top: '%s' is not in 1..100000\n", v);
      return 2;
    }
  } else if (strcmp(a, "--warmup") == 0) {
    if (ls_cli_parse_i64(v, 0, 100, &o->warmup)) {
      fprintf(stderr, "layerscope profile: --warmup: '%s' is not in 0..100\n", v);
      return 2;
    }
  } else if (strcmp(a, "--peak-gflops") == 0) {
    if (parse_pos_double(a, v, &o->peak_gflops)) return 2;
  } else if (strcmp(a, "--peak-gbps") == 0) {
    if (parse_pos_double(a, v, &o->peak_gbps)) return 2;
  } else {
    return 0;
  }
  (*i)++;
  return 1;
}

/* ---- text ------------------------------------------------------------------------------- */

/* qsort_r comparators (glibc's argument order): most time first, then module order. */
static int by_self(const void *a, const void *b, void *ud) {
  const ls_prof *p = ud;
  int64_t x = p->mods[*(const int *)a].self_ns, y = p->mods[*(const int *)b].self_ns;
  return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}

static int by_total(const void *a, const void *b, void *ud) {
  const ls_prof *p = ud;
  int64_t x = p->mods[*(const int *)a].total_ns, y = p->mods[*(const int *)b].total_ns;
  return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}

static double ms(int64_t ns) { return (double)ns / 1e6; }
static double pct(const ls_prof *p, int64_t ns) { return p->total_ns ? 100.0 * (double)ns / (double)p->total_ns : 0; }

static void print_text(const ls_prof *p, const ls_cli_engine *ea, const prof_cli *o, const int *order, int n) {
  printf("%s: %s, S=%lld, %d threads, %s compute (products: %s), %s%s\n", ea->config,
         p->m->architecture, (long long)p->seq, p->threads,
         p->compute == LS_ENGINE_COMPUTE_BF16 ? "bf16" : "fp32", p->products, ea->weights_line,
         p->separate_products ? "" : ", fused products");
  printf("pass: %.3f ms (%.1f tokens/s); %.3f ms inside the root module; %llu module events timed\n",
         ms(p->wall_ns), p->wall_ns ? (double)p->seq * 1e9 / (double)p->wall_ns : 0, ms(p->total_ns),
         (unsigned long long)p->events);
  printf("machine: %s", p->cpu[0] ? p->cpu : "unknown CPU");
  if (p->peaks.gflops > 0)
    printf("; peaks %.1f GFLOP/s (matrix-product kernel), %.1f GB/s (streaming read)%s; ridge %.1f FLOP/byte",
           p->peaks.gflops, p->peaks.gbps, p->peaks.given ? " as given" : ", measured", p->ridge);
  printf("\n\n");
  int top = (int)o->top < n ? (int)o->top : n;
  printf("top %d modules by %s time\n", top, strcmp(o->sort, "total") == 0 ? "total" : "self");
  printf("  %-42s %5s %10s %6s %10s %8s %8s %8s %-7s %5s\n", "module", "calls", "self ms", "self%",
         "total ms", "GFLOP", "GFLOP/s", "GB/s", "bound", "roof");
  for (int k = 0; k < top; k++) {
    int i = order[k];
    const ls_prof_mod *pm = &p->mods[i];
    const char *name = ls_prof_mod_name(p, i);
    size_t len = strlen(name);
    char shown[64];
    if (len > 42) snprintf(shown, sizeof shown, "...%s", name + len - 39);
    else snprintf(shown, sizeof shown, "%s", name);
    char roof[16] = "-";
    if (pm->bound != LS_PROF_BOUND_NONE) snprintf(roof, sizeof roof, "%.0f%%", 100 * pm->roof_frac);
    printf("  %-42s %5d %10.3f %5.1f%% %10.3f %8.3f %8.2f %8.2f %-7s %5s\n", shown, pm->calls, ms(pm->self_ns),
           pct(p, pm->self_ns), ms(pm->total_ns), (double)pm->flops / 1e9, pm->gflops, pm->gbps,
           ls_prof_bound_name(pm->bound), roof);
  }
  printf("\nper kind (self time; the kinds sum to the pass)\n");
  for (int k = 0; k < LS_PROF_KIND_COUNT; k++) {
    int64_t t = p->kind_ns[k];
    printf("  %-10s %10.3f ms %5.1f%%  %9.3f GFLOP", ls_prof_kind_name((ls_prof_kind)k), ms(t), pct(p, t),
           (double)p->kind_flops[k] / 1e9);
    if (t > 0 && p->kind_flops[k]) printf("  %8.2f GFLOP/s", (double)p->kind_flops[k] / (double)t);
    printf("\n");
  }
  printf("  %-10s %10.3f ms 100.0%%  %9.3f GFLOP\n", "total", ms(p->total_ns), (double)p->mods[0].flops / 1e9);
  if (p->n_notes) {
    printf("\nnotes\n");
    for (int k = 0; k < p->n_notes; k++) printf("  - %s\n", p->notes[k]);
  }
  if (p->next_tokens[0]) printf("\n%s\n", p->next_tokens);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static json_t *jnum(double x) { return json_real(x == x ? x : 0); }

static json_t *to_json(const ls_prof *p, const ls_cli_engine *ea, const int *order, int n) {
  json_t *mods = json_array(), *kinds = json_array(), *notes = json_array();
  for (int k = 0; k < n; k++) {
    int i = order[k];
    const ls_prof_mod *pm = &p->mods[i];
    const ls_model_module *md = &p->m->modules[i];
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                          "name", md->name, "type", md->type ? md->type : "", "depth", md->depth,
                          "kind", ls_prof_kind_name(pm->kind), "calls", pm->calls,
                          "rows", (json_int_t)pm->rows, "total_ns", (json_int_t)pm->total_ns,
                          "self_ns", (json_int_t)pm->self_ns, "flops", (json_int_t)pm->flops,
                          "self_flops", (json_int_t)pm->self_flops,
                          "weight_bytes", (json_int_t)pm->weight_bytes,
                          "act_bytes", (json_int_t)pm->act_bytes, "parent", (json_int_t)md->parent);
    if (!o) continue;
    json_object_set_new(o, "gflops", jnum(pm->gflops));
    json_object_set_new(o, "gbps", jnum(pm->gbps));
    json_object_set_new(o, "intensity", jnum(pm->intensity));
    json_object_set_new(o, "bound", json_string(ls_prof_bound_name(pm->bound)));
    json_object_set_new(o, "roof_frac", jnum(pm->roof_frac));
    json_object_set_new(o, "index", json_integer(i));
    json_array_append_new(mods, o);
  }
  for (int k = 0; k < LS_PROF_KIND_COUNT; k++)
    json_array_append_new(kinds, json_pack("{s:s, s:I, s:I}", "kind", ls_prof_kind_name((ls_prof_kind)k),
                                           "self_ns", (json_int_t)p->kind_ns[k], "flops",
                                           (json_int_t)p->kind_flops[k]));
  for (int k = 0; k < p->n_notes; k++) json_array_append_new(notes, json_string(p->notes[k]));
  json_t *peaks = json_pack("{s:f, s:f, s:b, s:f}", "gflops", p->peaks.gflops, "gbps", p->peaks.gbps,
                            "given", p->peaks.given, "ridge", p->ridge);
  return json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:s, s:s, s:b, s:I, s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:s}",
                   "schema", "layerscope.profile/1", "config", ea->config, "architecture", p->m->architecture,
                   "weights", ea->weights ? ea->weights : "", "seq", (json_int_t)p->seq, "threads", p->threads,
                   "compute", p->compute == LS_ENGINE_COMPUTE_BF16 ? "bf16" : "fp32",
                   "products", p->products,
                   "separate_products", p->separate_products, "wall_ns", (json_int_t)p->wall_ns,
                   "total_ns", (json_int_t)p->total_ns, "events", (json_int_t)p->events, "cpu", p->cpu,
                   "peaks", peaks, "kinds", kinds, "modules", mods, "notes", notes,
                   "next_tokens", p->next_tokens);
}

/* ---- the command ------------------------------------------------------------------------- */

int ls_cli_profile(int argc, char **argv) {
  ls_cli_engine_args ea;
  ls_cli_engine_args_init(&ea, "profile");
  prof_cli o = {.format = "text", .sort = "self", .top = 15};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      ls_cli_usage(stdout, "profile");
      return 0;
    }
    int took = ls_cli_engine_arg(&ea, argc, argv, &i);
    if (!took) took = prof_arg(&o, argc, argv, &i);
    if (took == 2) return 2;
    if (!took) {
      fprintf(stderr, "layerscope profile: unknown or incomplete argument '%s'\n", argv[i]);
      return usage();
    }
  }
  if (strcmp(o.format, "text") && strcmp(o.format, "json")) {
    fprintf(stderr, "layerscope profile: --format: '%s' is not text or json\n", o.format);
    return 2;
  }
  if (strcmp(o.sort, "self") && strcmp(o.sort, "total")) {
    fprintf(stderr, "layerscope profile: --sort: '%s' is not self or total\n", o.sort);
    return 2;
  }
  if ((o.peak_gflops > 0) != (o.peak_gbps > 0)) {
    fprintf(stderr, "layerscope profile: give both --peak-gflops and --peak-gbps, or neither\n");
    return 2;
  }
  ls_cli_engine c;
  int status = ls_cli_engine_open(&ea, 128, &c);
  if (status) return status;
  if (c.B > 1) { /* a profile times one sequence; batches run through `layerscope run` */
    fprintf(stderr, "layerscope profile: profiles one row; this input has a batch of %lld rows\n", (long long)c.B);
    ls_cli_engine_close(&c);
    return 2;
  }
  ls_diag d;
  ls_diag_init(&d);
  ls_prof *p = NULL;
  ls_rec *rec = NULL;
  int64_t run_id = 0;
  int *order = NULL;
  /* the record first: a file that cannot take the run fails before the (long) pass */
  if (o.record && ls_rec_open(&rec, o.record, LS_REC_WRITE, &d)) goto fail;
  /* a record keeps every module's output statistics too, so runs can be compared */
  ls_prof_opts po = {.fused = o.fused, .warmup = (int)o.warmup, .peaks = !o.no_peaks, .stats = o.record != NULL,
                     .peak_gflops = o.peak_gflops, .peak_gbps = o.peak_gbps,
                     .token_type_ids = c.types, .attention_mask = c.mask};
  if (ls_prof_run(&p, c.e, c.tokens, c.n, &po, &d)) goto fail;
  if ((o.trace && ls_prof_write_trace(p, o.trace, &d)) || (o.flame && ls_prof_write_svg(p, o.flame, &d)) ||
      (o.collapsed && ls_prof_write_collapsed(p, o.collapsed, &d)))
    goto fail;
  if (rec && ls_rec_add_profile(rec, p, c.config, c.weights, &run_id, &d)) goto fail;
  order = ls_calloc(p->m->n_modules, sizeof *order);
  if (!order) {
    ls_diag_set(&d, LS_ENOMEM, "out of memory");
    goto fail;
  }
  int n = 0;
  for (size_t i = 0; i < p->m->n_modules; i++)
    if (p->mods[i].calls) order[n++] = (int)i;
  qsort_r(order, (size_t)n, sizeof *order, strcmp(o.sort, "total") == 0 ? by_total : by_self, p);
  if (strcmp(o.format, "json") == 0) {
    json_t *j = to_json(p, &c, order, n);
    if (!j || json_dumpf(j, stdout, JSON_COMPACT) != 0) {
      json_decref(j);
      ls_diag_set(&d, LS_ENOMEM, "out of memory");
      goto fail;
    }
    json_decref(j);
    printf("\n");
  } else {
    print_text(p, &c, &o, order, n);
  }
  fflush(stdout);
  if (o.trace) fprintf(stderr, "wrote the trace to %s (open it in ui.perfetto.dev or chrome://tracing)\n", o.trace);
  if (o.flame) fprintf(stderr, "wrote the flame graph to %s\n", o.flame);
  if (o.collapsed) fprintf(stderr, "wrote collapsed stacks to %s (flamegraph.pl, speedscope)\n", o.collapsed);
  if (rec) fprintf(stderr, "recorded as run %lld in %s (layerscope query %s \"SELECT ...\")\n", (long long)run_id,
                   o.record, o.record);
  status = 0;
  goto out;
fail:
  ls_cli_engine_fail("profile", &d);
  status = 1;
out:
  ls_free(order);
  ls_rec_close(rec);
  ls_prof_free(p);
  ls_cli_engine_close(&c);
  return status;
}
