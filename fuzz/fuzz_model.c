/* fuzz_model.c: libFuzzer target for the config analysis chain: JSON text -> ls_model_build
 * (family, key resolution, default expressions, the module tree) -> ls_model_figures_compute
 * (parameters, FLOPs, memory, with default options and with absurd batch/sequence sizes in
 * every storage dtype) -> ls_smell_check (all rules), plus the queries the LSP makes
 * (value at offset, key -> tensors/modules, module FLOPs, shape formatting). The input is a
 * config file; the seeds are real configs, so mutations are mostly absurd values (huge,
 * zero, negative, fractional dimensions, wrong types, heads that do not divide) in otherwise
 * valid configs. Invariants checked: every span reported (issues, values, findings,
 * related ranges, fix edits) lies inside the text; fix edits are ordered and do not
 * overlap; the module tree's links stay inside the module array. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/diag.h"
#include "core/base/json.h"
#include "core/model/figures.h"
#include "core/model/model.h"
#include "core/model/smells.h"
#include "fuzz/fuzz_common.h"

static size_t g_len;

static void fail(const char *what, ls_json_span s) {
  fprintf(stderr, "fuzz invariant broken: %s (span [%zu, %zu), text %zu bytes)\n", what, s.start, s.end, g_len);
  abort();
}

static void check_span(ls_json_span s, const char *what) {
  if (s.start > s.end || s.end > g_len) fail(what, s);
}

static void check_model(const ls_model *m, size_t size) {
  for (size_t i = 0; i < m->n_issues; i++) {
    check_span(m->issues[i].span, "issue span");
    if (!m->issues[i].code || !m->issues[i].msg) fail("issue without code or message", m->issues[i].span);
    if (m->issues[i].key >= (int)m->n_values) fail("issue key out of range", m->issues[i].span);
  }
  /* Per-key queries scan every tensor: on a huge tree (a config with 50,000 layers is a
   * legal input) only a few keys are queried, so the harness does not hide a slow build
   * behind its own quadratic work. */
  int big = m->n_tensors > 20000;
  for (size_t i = 0; i < m->n_values; i++) {
    const ls_model_value *v = &m->values[i];
    check_span(v->key_span, "value key span");
    check_span(v->value_span, "value span");
    char buf[128];
    ls_model_value_format(v, buf, sizeof buf);
    if (big && i >= 4) continue;
    int ks[16];
    int64_t params = 0;
    ls_model_key_tensors(m, (int)i, ks, 16, &params);
    ls_model_key_modules(m, (int)i, ks, 16);
  }
  ls_json_span none = {0, 0};
  for (size_t i = 0; i < m->n_modules; i++) {
    const ls_model_module *mod = &m->modules[i];
    int n = (int)m->n_modules;
    if (mod->parent < -1 || mod->parent >= n || mod->first_child < -1 || mod->first_child >= n ||
        mod->next_sibling < -1 || mod->next_sibling >= n)
      fail("module link out of range", none);
    if (mod->first_tensor < 0 || mod->n_tensors < 0 || (size_t)mod->first_tensor + (size_t)mod->n_tensors > m->n_tensors)
      if (mod->n_tensors > 0) fail("module tensors out of range", none);
    char buf[128];
    ls_model_shape_format(&mod->in, 0, 1, 1, buf, sizeof buf);
    ls_model_shape_format(&mod->out, 1, INT64_MAX, INT64_MAX, buf, sizeof buf);
    uint64_t fl;
    if (i < 64) ls_model_module_flops(m, (int)i, 1 << 20, &fl);
    ls_model_module_def_key(m, (int)i);
  }
  for (size_t i = 0; i < m->n_tensors; i++) {
    const ls_model_tensor *t = &m->tensors[i];
    if (t->ndim < 1 || t->ndim > 4 || t->module < 0 || (size_t)t->module >= m->n_modules)
      fail("tensor rank or module out of range", none);
  }
  size_t step = size <= 256 ? 1 : size / 251;
  for (size_t off = 0; off <= size; off += step) {
    int k = ls_model_value_at(m, off);
    if (k >= (int)m->n_values) fail("value_at out of range", none);
  }
}

static void figures(const ls_model *m) {
  ls_model_figures fig;
  ls_diag d;
  ls_diag_init(&d);
  ls_model_figures_compute(m, NULL, &fig, &d);
  static const int64_t sizes[][2] = {{1, 1}, {INT64_MAX, INT64_MAX}, {1 << 30, 1 << 30}, {-1, -5}, {3, 0}};
  int big = m->n_tensors > 20000;
  for (int dt = 0; dt < LS_MODEL_WDTYPE_COUNT; dt += big ? 3 : 1)
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k += big ? 2 : 1) {
      ls_model_figopts o;
      memset(&o, 0, sizeof o);
      o.batch = sizes[k][0];
      o.seq = sizes[k][1];
      o.dtype = (ls_model_wdtype)dt;
      ls_diag_init(&d);
      ls_model_figures_compute(m, &o, &fig, &d);
    }
}

static void smells(const ls_json_doc *doc, const ls_model *m) {
  ls_smell_report *r = NULL;
  if (ls_smell_check(doc, m, NULL, &r) != 0) return;
  for (size_t i = 0; i < r->n_findings; i++) {
    const ls_smell_finding *f = &r->findings[i];
    check_span(f->span, "finding span");
    if (!f->msg) fail("finding without a message", f->span);
    for (size_t k = 0; k < f->n_related; k++) check_span(f->related[k].span, "related span");
    for (size_t k = 0; k < f->n_fixes; k++) {
      const ls_smell_fix *fx = &f->fixes[k];
      for (size_t e = 0; e < fx->n_edits; e++) {
        check_span(fx->edits[e].span, "fix edit span");
        if (!fx->edits[e].text) fail("fix edit without text", fx->edits[e].span);
        if (e > 0 && fx->edits[e].span.start < fx->edits[e - 1].span.end) fail("fix edits overlap", fx->edits[e].span);
      }
    }
    if (i > 0 && f->span.start < r->findings[i - 1].span.start) fail("findings not in document order", f->span);
  }
  ls_smell_report_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_setup();
  g_len = size;
  ls_json_doc *doc = NULL;
  if (ls_json_parse((const char *)data, size, &doc) != 0) return 0;
  ls_model *m = NULL;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_model_build(doc, NULL, &m, &d) == 0 && m) {
    check_model(m, size);
    figures(m);
    smells(doc, m);
    ls_model_free(m);
    /* The other heads of the family (base model, another class) build other trees. */
    static const char *archs[] = {"base", "LlamaForSequenceClassification", "BertForMaskedLM"};
    ls_model_opts o = {archs[size % 3], (int64_t)(size % 7) - 1, (int)(size & 1), NULL, 0};
    ls_diag_init(&d);
    m = NULL;
    if (ls_model_build(doc, &o, &m, &d) == 0 && m) {
      check_model(m, size);
      figures(m);
      ls_model_free(m);
    }
  } else {
    smells(doc, NULL);
  }
  ls_json_doc_free(doc);
  return 0;
}
