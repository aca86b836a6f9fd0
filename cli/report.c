/* report.c: `layerscope report RUN.db [--run ID] [--html OUT.html | --format json]
 * [thresholds]`: the training health of a watched run (core/health, ls_health_analyze).
 * Without --html it prints the findings, one line each; --format json prints the same report
 * (schema layerscope.health/1: steps, loss, the layers x steps matrices, the findings) for the
 * editor's Training Health view; with --html it writes one self-contained page (inline CSS and
 * SVG, no script, nothing fetched from the network) with heatmaps of layers x sampled steps:
 * gradient norms, update/weight ratios, dead-unit fractions, the loss, and the findings. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/diag.h"
#include "core/base/errors.h"

#define CELL_W 14
#define CELL_H 14
#define LABEL_W 220

static void usage(FILE *f) {
  ls_cli_usage(f, "report");
  fprintf(f, "\nThe training health of a run recorded by `layerscope watch --health --record RUN.db`:\n"
             "its findings, one line each naming the module and the step they started at.\n\n"
             "  --run ID            the run (default: the latest with health samples)\n"
             "  --html OUT.html     write a self-contained page: heatmaps of gradient norms, update\n"
             "                      ratios and dead units over layers x steps, the loss, the findings\n"
             "  --format json       print the report as JSON (schema layerscope.health/1)\n"
             "  --no-store          leave the record as it is (the findings are otherwise stored in\n"
             "                      its findings table, replacing the run's earlier health findings);\n"
             "                      for a record that a running program is still writing\n%s",
          ls_cli_health_opts_help);
}

static void esc(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

/* A colour for t in [0, 1] (dark blue -> teal -> yellow, close to viridis). */
static void colour(double t, char *buf, size_t cap) {
  static const double stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  if (!isfinite(t)) {
    snprintf(buf, cap, "#eee");
    return;
  }
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  double x = t * 4;
  int i = x >= 4 ? 3 : (int)x;
  double u = x - i;
  snprintf(buf, cap, "rgb(%d,%d,%d)", (int)(stops[i][0] + u * (stops[i + 1][0] - stops[i][0])),
           (int)(stops[i][1] + u * (stops[i + 1][1] - stops[i][1])),
           (int)(stops[i][2] + u * (stops[i + 1][2] - stops[i][2])));
}

/* One heatmap: rows x h->n_steps values, coloured on a log10 scale (log_scale) or linearly
 * on [0, 1]. */
static void heatmap(FILE *f, const ls_health_report *h, const char *title, const char *what, size_t rows,
                    const char (*names)[256], const double *v, int log_scale) {
  size_t ns = h->n_steps;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < rows * ns; i++) {
    double x = log_scale ? (v[i] > 0 ? log10(v[i]) : NAN) : v[i];
    if (isfinite(x)) lo = x < lo ? x : lo, hi = x > hi ? x : hi;
  }
  if (!log_scale) lo = 0, hi = 1;
  fprintf(f, "<h2>%s</h2>\n<p class=\"scale\">%s; colour: ", title, what);
  if (isfinite(lo)) fprintf(f, log_scale ? "%.3g (dark) to %.3g (yellow), log scale" : "%.3g (dark) to %.3g (yellow)",
                            log_scale ? pow(10, lo) : lo, log_scale ? pow(10, hi) : hi);
  else fputs("no values", f);
  fputs("; grey: not sampled</p>\n", f);
  size_t w = LABEL_W + ns * CELL_W + 10, ht = 20 + rows * CELL_H + 10;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%zu\" height=\"%zu\">\n", w, ht);
  for (size_t k = 0; k < ns; k += ns > 40 ? ns / 20 : ns > 10 ? 5 : 1)
    fprintf(f, "<text x=\"%zu\" y=\"14\" class=\"tick\">%lld</text>", LABEL_W + k * CELL_W, (long long)h->steps[k]);
  fputc('\n', f);
  for (size_t r = 0; r < rows; r++) {
    fprintf(f, "<text x=\"%d\" y=\"%zu\" class=\"label\" text-anchor=\"end\">", LABEL_W - 6, 20 + r * CELL_H + 11);
    esc(f, names[r]);
    fputs("</text>", f);
    for (size_t k = 0; k < ns; k++) {
      double x = v[r * ns + k], t = NAN;
      if (log_scale && x > 0) t = hi > lo ? (log10(x) - lo) / (hi - lo) : 0.5;
      else if (!log_scale) t = x;
      char c[32];
      colour(t, c, sizeof c);
      fprintf(f, "<rect x=\"%zu\" y=\"%zu\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>", LABEL_W + k * CELL_W,
              20 + r * CELL_H, CELL_W - 1, CELL_H - 1, c);
      esc(f, names[r]);
      fprintf(f, ", step %lld: %.4g</title></rect>", (long long)h->steps[k], x);
    }
    fputc('\n', f);
  }
  fputs("</svg>\n", f);
}

static int write_html(const char *path, const char *db, const ls_health_report *h) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "layerscope report: cannot write %s\n", path);
    return 1;
  }
  fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>layerscope: training health</title>\n"
        "<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}"
        "h2{font-size:16px;margin-top:28px}.scale{color:#666;font-size:12px}.label,.tick{font:11px monospace;"
        "fill:#333}li{font-family:monospace;margin:2px 0}.none{color:#2a7}</style></head><body>\n", f);
  fputs("<h1>Training health of ", f);
  esc(f, db);
  fprintf(f, ", run %lld</h1>\n<p>%zu sampled steps, %zu layers with parameters, %d rank%s.</p>\n",
          (long long)h->run_id, h->n_steps, h->n_layers, h->n_ranks, h->n_ranks == 1 ? "" : "s");
  fprintf(f, "<h2>Findings (%zu)</h2>\n", h->n_findings);
  if (!h->n_findings) fputs("<p class=\"none\">none</p>\n", f);
  else fputs("<ul>\n", f);
  for (size_t i = 0; i < h->n_findings; i++) {
    fputs("<li>", f);
    esc(f, h->findings[i].message);
    fputs("</li>\n", f);
  }
  if (h->n_findings) fputs("</ul>\n", f);
  static const char loss_name[1][256] = {"loss"};
  heatmap(f, h, "Loss", "the step's loss (mean over ranks)", 1, loss_name, h->loss, 1);
  heatmap(f, h, "Gradient norm", "per layer: the L2 norm of its parameters' gradients before clipping", h->n_layers,
          (const char (*)[256])h->layer_names, h->layer_grad, 1);
  heatmap(f, h, "Update ratio", "per layer: ||W_after - W_before|| / ||W_before|| at optimizer.step()", h->n_layers,
          (const char (*)[256])h->layer_names, h->layer_update, 1);
  heatmap(f, h, "Dead units", "per module output: the fraction of units zero for the whole step", h->n_outs,
          (const char (*)[256])h->out_names, h->out_dead, 0);
  fputs("</body></html>\n", f);
  int bad = ferror(f);
  if (fclose(f) || bad) {
    fprintf(stderr, "layerscope report: cannot write %s\n", path);
    return 1;
  }
  return 0;
}

/* ---------------------------------------------------------------- JSON */

/* A figure: NaN and infinities (unknown, not sampled) are null. */
static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *jnums(const double *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, jnum(v[i]));
  return a;
}

/* The report as one JSON object (docs/health.md, "JSON"): rows of the matrices are per layer
 * or per output, each with one value per sampled step. */
static int write_json(const char *db, const ls_health_report *h) {
  size_t ns = h->n_steps;
  json_t *steps = json_array();
  for (size_t k = 0; k < ns; k++) json_array_append_new(steps, json_integer(h->steps[k]));
  json_t *layers = json_array();
  for (size_t i = 0; i < h->n_layers; i++)
    json_array_append_new(layers, json_pack("{s:o,s:i,s:o,s:o}", "name", ls_cli_jstr(h->layer_names[i]), "module",
                                            h->layer_module[i], "grad_norm", jnums(h->layer_grad + i * ns, ns),
                                            "update_ratio", jnums(h->layer_update + i * ns, ns)));
  json_t *outs = json_array();
  for (size_t i = 0; i < h->n_outs; i++)
    json_array_append_new(outs, json_pack("{s:o,s:o}", "name", ls_cli_jstr(h->out_names[i]), "dead",
                                          jnums(h->out_dead + i * ns, ns)));
  json_t *fs = json_array();
  for (size_t i = 0; i < h->n_findings; i++) {
    const ls_health_finding *f = &h->findings[i];
    json_array_append_new(fs, json_pack("{s:s,s:o,s:o,s:I,s:i,s:o,s:o,s:o}", "kind", ls_health_kind_name(f->kind),
                                        "module", f->module >= 0 ? json_integer(f->module) : json_null(), "name",
                                        ls_cli_jstr(f->name), "step", (json_int_t)f->step, "rank", f->rank, "value",
                                        jnum(f->value), "baseline", jnum(f->baseline), "message",
                                        ls_cli_jstr(f->message)));
  }
  json_t *o = json_pack("{s:s,s:o,s:I,s:i,s:o,s:o,s:o,s:o,s:o,s:o}", "schema", "layerscope.health/1", "record",
                        ls_cli_jstr(db), "run_id", (json_int_t)h->run_id, "n_ranks", h->n_ranks, "steps", steps, "loss",
                        jnums(h->loss, ns), "grad_norm", jnums(h->grad_norm, ns), "layers", layers, "outputs", outs,
                        "findings", fs);
  if (!o) {
    fprintf(stderr, "layerscope report: out of memory\n");
    return 2;
  }
  int rc = json_dumpf(o, stdout, JSON_INDENT(1)) || fputc('\n', stdout) == EOF;
  json_decref(o);
  return rc ? 2 : 0;
}

/* ---------------------------------------------------------------- the command */

int ls_cli_report(int argc, char **argv) {
  const char *db = NULL, *html = NULL, *format = "text";
  int64_t run = 0;
  int no_store = 0;
  ls_cli_health_opts o;
  ls_cli_health_opts_init(&o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    int hr = ls_cli_health_opt(&o, a, v, "report");
    if (hr < 0) return 2;
    if (hr > 0) {
      i++;
    } else if (!strcmp(a, "--html") && v) {
      html = argv[++i];
    } else if (!strcmp(a, "--no-store")) {
      no_store = 1;
    } else if (!strcmp(a, "--format") && v) {
      format = argv[++i];
      if (strcmp(format, "text") && strcmp(format, "json")) {
        fprintf(stderr, "layerscope report: --format is text or json, not '%s'\n", format);
        return 2;
      }
    } else if (!strcmp(a, "--run") && v) {
      if (ls_cli_parse_i64(v, 1, INT64_MAX, &run)) {
        fprintf(stderr, "layerscope report: --run needs a run id, not '%s'\n", v);
        return 2;
      }
      i++;
    } else if (a[0] != '-' && !db) {
      db = a;
    } else {
      fprintf(stderr, "layerscope report: %s '%s'\n", a[0] == '-' ? "unknown option or missing value" : "extra argument", a);
      ls_cli_usage(stderr, "report");
      return 2;
    }
  }
  if (html && !strcmp(format, "json")) {
    fprintf(stderr, "layerscope report: --html and --format json are two outputs; pick one\n");
    return 2;
  }
  if (!db) {
    ls_cli_usage(stderr, "report");
    return 2;
  }
  ls_health_report *h = NULL;
  int rc = ls_cli_health_load(db, run, &o, !no_store, &h, "report");
  if (rc) return rc == LS_ENOENT || rc == LS_EINVAL ? 1 : 2;
  int status = 0;
  if (!strcmp(format, "json")) {
    status = write_json(db, h);
  } else if (html) {
    status = write_html(html, db, h);
    if (!status) printf("wrote %s: %zu findings over %zu sampled steps\n", html, h->n_findings, h->n_steps);
  } else {
    printf("health: %zu finding%s over %zu sampled steps\n", h->n_findings, h->n_findings == 1 ? "" : "s", h->n_steps);
    for (size_t i = 0; i < h->n_findings; i++) printf("  %s\n", h->findings[i].message);
  }
  ls_health_report_free(h);
  return status;
}
