/* check.c: `layerscope check FILE... [--format text|json|sarif]`, the config diagnostics of
 * the language server for terminals and CI. Each file goes through the same pipeline as an
 * open document of the language server (ls_config_analyse_file, core/model/config.h: the
 * error-tolerant parse, the model built from whatever parsed, the smell rules); this file
 * only renders the findings:
 *   text   `file:line:col: severity [LS101 name] message` (1-based line, byte column),
 *          related locations and fixes indented below;
 *   json   the contract documented in docs/rules.md ("Machine-readable output");
 *   sarif  SARIF 2.1.0 for code-scanning services (columns in UTF-16 code units).
 * Exit status: 0 when no error-level finding, 1 when any, 2 on usage errors or unreadable
 * files (which SARIF also records: invocations[0].executionSuccessful false, with a
 * toolExecutionNotification per file). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/text.h"
#include "core/model/config.h"
#include "ls_version.h"

typedef enum fmt { FMT_TEXT, FMT_JSON, FMT_SARIF } fmt;

typedef struct checked {
  const char *path;
  ls_config_analysis an;     /* text, line index, parse, model; report NULL when it failed */
  char error[512];           /* why the file could not be checked ("" when it was) */
} checked;

/* ---------------------------------------------------------------- input */

/* A file that cannot be checked: said on stderr, and kept for SARIF's invocation record. */
static int check_failed(checked *c, const char *msg) {
  snprintf(c->error, sizeof c->error, "%s", msg);
  fprintf(stderr, "layerscope check: %s\n", msg);
  return -1;
}

static int check_one(checked *c, const unsigned char *disabled) {
  ls_diag d;
  ls_diag_init(&d);
  /* guarded: a file that does not look like JSON is said to be so without quoting it */
  ls_config_opts co = {.disabled = disabled, .guarded = 1, .path = c->path};
  if (ls_config_analyse_file(c->path, &co, &c->an, &d) != LS_OK) return check_failed(c, d.msg);
  if (c->an.model_rc) fprintf(stderr, "layerscope check: %s: %s\n", c->path, c->an.model_diag.msg);
  return 0;
}

/* ---------------------------------------------------------------- text */

static void print_loc(FILE *o, const checked *c, ls_json_span s) {
  ls_pos p = ls_text_pos_of(&c->an.index, s.start, LS_POS_UTF8);
  fprintf(o, "%s:%u:%u", c->path, p.line + 1, p.col + 1);
}

static void render_text(FILE *o, const checked *c) {
  for (size_t i = 0; i < c->an.report->n_findings; i++) {
    const ls_smell_finding *f = &c->an.report->findings[i];
    const ls_smell_rule *r = ls_smell_rule_get(f->rule);
    print_loc(o, c, f->span);
    fprintf(o, ": %s [%s %s] %s\n", ls_smell_severity_name(f->severity), r->code, r->name, f->msg);
    for (size_t k = 0; k < f->n_related; k++) {
      fputs("    related: ", o);
      print_loc(o, c, f->related[k].span);
      fprintf(o, ": %s\n", f->related[k].msg);
    }
    for (size_t k = 0; k < f->n_fixes; k++)
      fprintf(o, "    fix%s: %s\n", f->fixes[k].preferred ? " (preferred)" : "", f->fixes[k].title);
  }
}

/* ---------------------------------------------------------------- JSON helpers */

static json_t *lsp_range(const checked *c, ls_json_span s) {
  ls_pos a = ls_text_pos_of(&c->an.index, s.start, LS_POS_UTF16);
  ls_pos b = ls_text_pos_of(&c->an.index, s.end, LS_POS_UTF16);
  return json_pack("{s:{s:I,s:I},s:{s:I,s:I}}", "start", "line", (json_int_t)a.line, "character",
                   (json_int_t)a.col, "end", "line", (json_int_t)b.line, "character",
                   (json_int_t)b.col);
}

static json_t *offsets(ls_json_span s) {
  return json_pack("{s:I,s:I}", "start", (json_int_t)s.start, "end", (json_int_t)s.end);
}

static const char *const k_sev_keys[] = {"", "error", "warning", "information", "hint"};

static json_t *summary_obj(const size_t *by_sev) {
  json_t *o = json_object();
  for (int s = 1; s <= 4; s++) json_object_set_new(o, k_sev_keys[s], json_integer((json_int_t)by_sev[s]));
  return o;
}

/* ---------------------------------------------------------------- json */

static json_t *render_json_file(const checked *c) {
  json_t *fs = json_array();
  for (size_t i = 0; i < c->an.report->n_findings; i++) {
    const ls_smell_finding *f = &c->an.report->findings[i];
    const ls_smell_rule *r = ls_smell_rule_get(f->rule);
    char url[512];
    ls_smell_doc_url(r, NULL, url, sizeof url);
    json_t *rel = json_array(), *fixes = json_array();
    for (size_t k = 0; k < f->n_related; k++)
      json_array_append_new(rel, json_pack("{s:o,s:o,s:o}", "message", ls_cli_jstr(f->related[k].msg),
                                           "range", lsp_range(c, f->related[k].span),
                                           "offsets", offsets(f->related[k].span)));
    for (size_t k = 0; k < f->n_fixes; k++) {
      json_t *edits = json_array();
      for (size_t e = 0; e < f->fixes[k].n_edits; e++)
        json_array_append_new(edits, json_pack("{s:o,s:o,s:o}", "range",
                                               lsp_range(c, f->fixes[k].edits[e].span), "offsets",
                                               offsets(f->fixes[k].edits[e].span), "newText",
                                               ls_cli_jstr(f->fixes[k].edits[e].text)));
      json_array_append_new(fixes, json_pack("{s:o,s:b,s:o}", "title", ls_cli_jstr(f->fixes[k].title),
                                             "preferred", f->fixes[k].preferred, "edits", edits));
    }
    json_array_append_new(fs, json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:o,s:o}", "rule",
                                        r->code, "name", r->name, "severity",
                                        ls_smell_severity_name(f->severity), "message", ls_cli_jstr(f->msg),
                                        "key", ls_cli_jstr(f->key), "range", lsp_range(c, f->span),
                                        "offsets", offsets(f->span), "docs", url, "related", rel,
                                        "fixes", fixes));
  }
  json_t *o = json_pack("{s:o,s:b,s:o,s:o,s:o}", "file", ls_cli_jstr(c->path), "is_model_config",
                        c->an.report->is_model_config, "model_type",
                        c->an.model ? ls_cli_jstr(c->an.model->model_type) : json_null(), "findings", fs,
                        "summary", summary_obj(c->an.report->n_by_severity));
  return o;
}

/* ---------------------------------------------------------------- sarif */

static const char *sarif_level(ls_smell_severity s) {
  return s == LS_SMELL_ERROR ? "error" : s == LS_SMELL_WARNING ? "warning" : "note";
}

/* A URI reference for a path: percent-encode everything outside RFC 3986's unreserved set
 * and '/'; absolute paths become file:// URIs. */
static json_t *path_uri(const char *path) {
  size_t n = strlen(path);
  char *b = ls_malloc(n * 3 + 8);
  if (!b) return json_string("");
  size_t o = 0;
  if (path[0] == '/') { memcpy(b, "file://", 7); o = 7; }
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)path[i];
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        strchr("-._~/", ch))
      b[o++] = (char)ch;
    else
      o += (size_t)sprintf(b + o, "%%%02X", ch);
  }
  b[o] = 0;
  json_t *j = json_string(b);
  ls_free(b);
  return j;
}

static json_t *sarif_region(const checked *c, ls_json_span s) {
  ls_pos a = ls_text_pos_of(&c->an.index, s.start, LS_POS_UTF16);
  ls_pos b = ls_text_pos_of(&c->an.index, s.end, LS_POS_UTF16);
  return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "startLine", (json_int_t)a.line + 1,
                   "startColumn", (json_int_t)a.col + 1, "endLine", (json_int_t)b.line + 1,
                   "endColumn", (json_int_t)b.col + 1, "byteOffset", (json_int_t)s.start,
                   "byteLength", (json_int_t)(s.end - s.start));
}

static json_t *sarif_phys(const checked *c, ls_json_span s, int index) {
  return json_pack("{s:{s:o,s:i},s:o}", "artifactLocation", "uri", path_uri(c->path), "index",
                   index, "region", sarif_region(c, s));
}

/* The run's invocation: SARIF's place to say that files could not be checked
 * (executionSuccessful false, one error notification per file) and the exit code.
 * Findings do not make a run unsuccessful. */
static json_t *sarif_invocation(const checked *cs, size_t n, int exit_code) {
  json_t *notes = json_array();
  for (size_t fi = 0; fi < n; fi++)
    if (cs[fi].error[0])
      json_array_append_new(notes, json_pack("{s:s,s:{s:o},s:[{s:{s:{s:o,s:i}}}]}", "level", "error", "message",
                                             "text", ls_cli_jstr(cs[fi].error), "locations", "physicalLocation",
                                             "artifactLocation", "uri", path_uri(cs[fi].path), "index", (int)fi));
  return json_pack("{s:b,s:i,s:o}", "executionSuccessful", json_array_size(notes) == 0, "exitCode", exit_code,
                   "toolExecutionNotifications", notes);
}

static json_t *render_sarif(const checked *cs, size_t n, int exit_code) {
  size_t nr;
  const ls_smell_rule *rules = ls_smell_rules(&nr);
  json_t *jrules = json_array();
  for (size_t i = 0; i < nr; i++) {
    char url[512];
    ls_smell_doc_url(&rules[i], NULL, url, sizeof url);
    json_array_append_new(jrules, json_pack("{s:s,s:s,s:{s:s},s:s,s:{s:s}}", "id", rules[i].code,
                                            "name", rules[i].name, "shortDescription", "text",
                                            rules[i].title, "helpUri", url,
                                            "defaultConfiguration", "level",
                                            sarif_level(rules[i].severity)));
  }
  json_t *artifacts = json_array(), *results = json_array();
  for (size_t fi = 0; fi < n; fi++) {
    const checked *c = &cs[fi];
    json_t *art = json_pack("{s:{s:o},s:s}", "location", "uri", path_uri(c->path), "mimeType", "application/json");
    if (c->an.text) json_object_set_new(art, "length", json_integer((json_int_t)c->an.len)); /* unread: unknown */
    json_array_append_new(artifacts, art);
    if (!c->an.report) continue;
    for (size_t i = 0; i < c->an.report->n_findings; i++) {
      const ls_smell_finding *f = &c->an.report->findings[i];
      const ls_smell_rule *r = ls_smell_rule_get(f->rule);
      json_t *res = json_pack("{s:s,s:i,s:s,s:{s:o},s:[{s:o}]}", "ruleId", r->code, "ruleIndex",
                              (int)f->rule, "level", sarif_level(f->severity), "message", "text",
                              ls_cli_jstr(f->msg), "locations", "physicalLocation",
                              sarif_phys(c, f->span, (int)fi));
      if (f->n_related) {
        json_t *rel = json_array();
        for (size_t k = 0; k < f->n_related; k++)
          json_array_append_new(rel, json_pack("{s:i,s:o,s:{s:o}}", "id", (int)k + 1,
                                               "physicalLocation",
                                               sarif_phys(c, f->related[k].span, (int)fi),
                                               "message", "text", ls_cli_jstr(f->related[k].msg)));
        json_object_set_new(res, "relatedLocations", rel);
      }
      if (f->n_fixes) {
        json_t *fixes = json_array();
        for (size_t k = 0; k < f->n_fixes; k++) {
          json_t *reps = json_array();
          for (size_t e = 0; e < f->fixes[k].n_edits; e++)
            json_array_append_new(reps, json_pack("{s:o,s:{s:o}}", "deletedRegion",
                                                  sarif_region(c, f->fixes[k].edits[e].span),
                                                  "insertedContent", "text",
                                                  ls_cli_jstr(f->fixes[k].edits[e].text)));
          json_array_append_new(fixes, json_pack("{s:{s:o},s:[{s:{s:o,s:i},s:o}]}", "description",
                                                 "text", ls_cli_jstr(f->fixes[k].title), "artifactChanges",
                                                 "artifactLocation", "uri", path_uri(c->path),
                                                 "index", (int)fi, "replacements", reps));
        }
        json_object_set_new(res, "fixes", fixes);
      }
      json_array_append_new(results, res);
    }
  }
  return json_pack("{s:s,s:s,s:[{s:{s:{s:s,s:s,s:s,s:o}},s:[o],s:s,s:o,s:o}]}", "$schema",
                   "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs",
                   "tool", "driver", "name", "layerscope", "version", LS_VERSION,
                   "informationUri", "https://github.com/layerscope/layerscope", "rules", jrules,
                   "invocations", sarif_invocation(cs, n, exit_code), "columnKind", "utf16CodeUnits",
                   "artifacts", artifacts, "results", results);
}

/* ---------------------------------------------------------------- command */

static void list_rules(void) {
  size_t n;
  const ls_smell_rule *r = ls_smell_rules(&n);
  for (size_t i = 0; i < n; i++)
    printf("%s  %-40s %-11s %s\n", r[i].code, r[i].name, ls_smell_severity_name(r[i].severity),
           r[i].title);
}

/* --disable LS106,unknown-key (codes or names, comma separated, repeatable). */
static int parse_disable(const char *arg, unsigned char *disabled) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", arg);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    const ls_smell_rule *r = ls_smell_rule_find(t);
    if (!r) {
      fprintf(stderr, "layerscope check: unknown rule '%s' (see --list-rules)\n", t);
      return -1;
    }
    disabled[r->id] = 1;
  }
  return 0;
}

int ls_cli_check(int argc, char **argv) {
  fmt format = FMT_TEXT;
  unsigned char disabled[LS_SMELL_COUNT] = {0};
  const char **files = ls_calloc((size_t)argc + 1, sizeof *files);
  if (!files) return 2;
  size_t n = 0;
  int usage = 0;
  for (int i = 1; i < argc && !usage; i++) {
    const char *a = argv[i], *v = NULL;
    if (strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) {
      if (i + 1 >= argc) { usage = 1; break; }
      v = argv[++i];
    } else if (strncmp(a, "--format=", 9) == 0) {
      v = a + 9;
    } else if (strcmp(a, "--disable") == 0 || strncmp(a, "--disable=", 10) == 0) {
      const char *list = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
      if (!list || parse_disable(list, disabled) < 0) usage = 1;
      continue;
    } else if (strcmp(a, "--list-rules") == 0) {
      list_rules();
      ls_free(files);
      return 0;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      ls_cli_usage(stdout, "check");
      ls_free(files);
      return 0;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "layerscope check: unknown option '%s'\n", a);
      usage = 1;
      break;
    } else {
      files[n++] = a;
      continue;
    }
    if (strcmp(v, "text") == 0) format = FMT_TEXT;
    else if (strcmp(v, "json") == 0) format = FMT_JSON;
    else if (strcmp(v, "sarif") == 0) format = FMT_SARIF;
    else {
      fprintf(stderr, "layerscope check: unknown format '%s' (text, json or sarif)\n", v);
      usage = 1;
    }
  }
  if (!usage && n == 0) {
    fprintf(stderr, "layerscope check: no files given\n");
    usage = 1;
  }
  if (usage) {
    ls_cli_usage(stderr, "check");
    ls_free(files);
    return 2;
  }
  checked *cs = ls_calloc(n, sizeof *cs);
  if (!cs) { ls_free(files); return 2; }
  int status = 0;
  size_t total[5] = {0};
  for (size_t i = 0; i < n; i++) {
    cs[i].path = files[i];
    if (check_one(&cs[i], disabled) < 0) { status = 2; continue; }
    for (int s = 1; s <= 4; s++) total[s] += cs[i].an.report->n_by_severity[s];
    if (format == FMT_TEXT) render_text(stdout, &cs[i]);
  }
  if (format == FMT_JSON) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      if (cs[i].an.report) json_array_append_new(arr, render_json_file(&cs[i]));
    json_t *o = json_pack("{s:i,s:o,s:o}", "version", 1, "files", arr, "summary", summary_obj(total));
    json_dumpf(o, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(o);
  } else if (format == FMT_SARIF) {
    json_t *o = render_sarif(cs, n, status ? status : total[LS_SMELL_ERROR] > 0 ? 1 : 0);
    json_dumpf(o, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(o);
  } else {
    fprintf(stderr, "%zu file%s: %zu error%s, %zu warning%s, %zu information, %zu hint%s\n", n,
            n == 1 ? "" : "s", total[1], total[1] == 1 ? "" : "s", total[2],
            total[2] == 1 ? "" : "s", total[3], total[4], total[4] == 1 ? "" : "s");
  }
  for (size_t i = 0; i < n; i++) ls_config_analysis_deinit(&cs[i].an);
  ls_free(cs);
  ls_free(files);
  if (status) return status;
  return total[LS_SMELL_ERROR] > 0 ? 1 : 0;
}
