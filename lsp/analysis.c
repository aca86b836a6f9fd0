/* analysis.c: the per-document analysis cache (see analysis.h): snapshot the text, parse it
 * with the tolerant reader, build the model, run the smell rules, compute the figures at the
 * user's settings, and publish diagnostics for the generation that was analysed. Nothing here
 * computes a figure or a finding itself: it wires core results to the document lifecycle. */
#include "lsp/analysis.h"

#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/log.h"
#include "lsp/render.h"

/* ---------------------------------------------------------------- state */

/* Process-wide (see analysis.h): the open documents' analyses and the settings. */
static lsp_analysis **g_items; /* [g_n] owned */
static size_t g_n, g_cap;
static lsp_settings g_settings = {1, 0, 0, LS_MODEL_WDTYPE_F32, {0}};
static uint64_t g_settings_gen = 1;

const lsp_settings *lsp_analysis_settings(void) { return &g_settings; }

static void analysis_clear(lsp_analysis *a) {
  ls_smell_report_free(a->report);
  ls_model_free(a->model);
  ls_json_doc_free(a->doc);
  ls_text_index_deinit(&a->index);
  ls_free(a->text);
  a->report = NULL;
  a->model = NULL;
  a->doc = NULL;
  a->text = NULL;
  a->len = 0;
  a->is_model = 0;
  a->have_fig = 0;
  memset(&a->index, 0, sizeof a->index);
}

static void analysis_free(lsp_analysis *a) {
  if (!a) return;
  analysis_clear(a);
  ls_free(a->uri);
  ls_free(a);
}

static lsp_analysis *entry_find(const char *uri) {
  for (size_t i = 0; i < g_n; i++)
    if (strcmp(g_items[i]->uri, uri) == 0) return g_items[i];
  return NULL;
}

static lsp_analysis *entry_get(const char *uri) {
  lsp_analysis *a = entry_find(uri);
  if (a) return a;
  if (g_n == g_cap) {
    size_t cap = g_cap ? g_cap * 2 : 8;
    lsp_analysis **items = ls_realloc(g_items, cap * sizeof *items);
    if (!items) return NULL;
    g_items = items;
    g_cap = cap;
  }
  a = ls_calloc(1, sizeof *a);
  if (!a) return NULL;
  a->uri = ls_strdup(uri);
  if (!a->uri) { ls_free(a); return NULL; }
  a->published_gen = -1;
  g_items[g_n++] = a;
  return a;
}

void lsp_analysis_sweep(lsp_server *s) {
  size_t j = 0;
  for (size_t i = 0; i < g_n; i++) {
    if (lsp_docs_find(&s->docs, g_items[i]->uri) || g_items[i]->posted || g_items[i]->job_running)
      g_items[j++] = g_items[i];
    else analysis_free(g_items[i]);
  }
  g_n = j;
}

/* ---------------------------------------------------------------- computing */

/* Copies the document's text into a (loop thread). */
static int analysis_snapshot(lsp_analysis *a, const lsp_doc *doc) {
  analysis_clear(a);
  a->generation = doc->generation;
  a->version = doc->version;
  a->settings_gen = g_settings_gen;
  a->text = ls_malloc(doc->len + 1);
  if (!a->text) return LS_ENOMEM;
  memcpy(a->text, doc->text, doc->len);
  a->text[doc->len] = 0;
  a->len = doc->len;
  return LS_OK;
}

/* Parses, builds, checks and computes figures from a's snapshot. Pure: safe on a pool thread
 * (job non-NULL: stops between stages once canceled, returning LS_ECANCELED). */
static int analysis_compute(lsp_analysis *a, const lsp_settings *set, rpc_job *job) {
  if (ls_text_index_init(&a->index, a->text, a->len) != LS_OK) return LS_ENOMEM;
  if (ls_json_parse(a->text, a->len, &a->doc) != LS_OK) return LS_ENOMEM;
  a->is_model = ls_smell_is_model_config(a->doc);
  if (!a->is_model) return LS_OK;
  if (job && rpc_job_canceled(job)) return LS_ECANCELED;
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_model_build(a->doc, NULL, &a->model, &d);
  if (rc == LS_ENOMEM) return rc;
  if (rc != LS_OK) a->model = NULL; /* not an object at the root: document rules only */
  if (job && rpc_job_canceled(job)) return LS_ECANCELED;
  ls_smell_opts so = {set->disabled, NULL};
  if (ls_smell_check(a->doc, a->model, &so, &a->report) != LS_OK) return LS_ENOMEM;
  if (a->model && a->model->n_errors == a->model->n_json_errors && a->model->n_modules > 0) {
    ls_model_figopts fo = {set->batch, set->seq, set->have_dtype ? set->dtype : ls_model_wdtype_default(a->model)};
    ls_diag_init(&d);
    a->have_fig = ls_model_figures_compute(a->model, &fo, &a->fig, &d) == LS_OK;
  }
  return LS_OK;
}

static int analysis_fresh(const lsp_analysis *a, const lsp_doc *doc) {
  return a->text && a->generation == doc->generation && a->settings_gen == g_settings_gen;
}

/* Moves the results of src (a job's analysis) into the cache entry dst. */
static void analysis_install(lsp_analysis *dst, lsp_analysis *src) {
  analysis_clear(dst);
  dst->generation = src->generation;
  dst->version = src->version;
  dst->settings_gen = src->settings_gen;
  dst->text = src->text;
  dst->len = src->len;
  dst->index = src->index;
  dst->doc = src->doc;
  dst->is_model = src->is_model;
  dst->model = src->model;
  dst->report = src->report;
  dst->have_fig = src->have_fig;
  dst->fig = src->fig;
  dst->published_gen = -1;
  memset(&src->index, 0, sizeof src->index);
  src->text = NULL;
  src->doc = NULL;
  src->model = NULL;
  src->report = NULL;
}

lsp_analysis *lsp_analysis_get(lsp_server *s, lsp_doc *doc) {
  (void)s;
  lsp_analysis *a = entry_get(doc->uri);
  if (!a) return NULL;
  if (analysis_fresh(a, doc)) return a;
  a->published_gen = -1; /* new text or settings: its diagnostics are not out yet */
  if (analysis_snapshot(a, doc) != LS_OK || analysis_compute(a, &g_settings, NULL) != LS_OK) {
    ls_log_error("lsp: out of memory analysing %s", doc->uri);
    analysis_clear(a);
    return NULL;
  }
  return a;
}

/* ---------------------------------------------------------------- large documents: pool */

/* A document this large is analysed on the pool, so the loop keeps answering and the work can
 * be canceled; below it the analysis takes a few milliseconds at most (bench/lsp) and runs
 * inline. */
#define LSP_ANALYSIS_INLINE_MAX ((size_t)256 * 1024)

typedef struct ajob {
  lsp_analysis a;            /* the job's own analysis, installed into the cache when current */
  lsp_settings set;          /* settings copied for the pool thread */
  int rc;
  int (*again)(lsp_server *s, lsp_req *req, json_t *params); /* request path: handler to re-run */
  json_t *params;            /* request path: owned reference */
} ajob;

static void ajob_free(ajob *j) {
  analysis_clear(&j->a);
  json_decref(j->params);
  ls_free(j);
}

static void ajob_work(rpc_job *job, void *arg) {
  ajob *j = arg;
  j->rc = rpc_job_canceled(job) ? LS_ECANCELED : analysis_compute(&j->a, &j->set, job);
}

/* Installs j's analysis when it is still for the document's current text and settings;
 * returns the cache entry, or NULL when the result is stale (and is dropped). */
static lsp_analysis *ajob_install(lsp_server *s, ajob *j, lsp_doc **doc_out) {
  lsp_doc *doc = lsp_docs_find(&s->docs, j->a.uri);
  *doc_out = doc;
  if (!doc || j->rc != LS_OK || j->a.generation != doc->generation || j->a.settings_gen != g_settings_gen)
    return NULL;
  lsp_analysis *e = entry_get(doc->uri);
  if (e) analysis_install(e, &j->a);
  return e;
}

static ajob *ajob_new(lsp_doc *doc) {
  ajob *j = ls_calloc(1, sizeof *j);
  if (!j) return NULL;
  j->a.uri = ls_strdup(doc->uri);
  j->set = g_settings;
  if (!j->a.uri || analysis_snapshot(&j->a, doc) != LS_OK) {
    ls_free(j->a.uri);
    j->a.uri = NULL;
    ajob_free(j);
    return NULL;
  }
  return j;
}

static void ajob_free_all(ajob *j) {
  ls_free(j->a.uri);
  j->a.uri = NULL;
  ajob_free(j);
}

static void schedule_large(lsp_server *s, lsp_doc *doc);

static void ajob_diag_done(lsp_server *s, lsp_req *req, void *arg, int canceled) {
  (void)req;
  ajob *j = arg;
  lsp_doc *doc = NULL;
  lsp_analysis *e = canceled ? NULL : ajob_install(s, j, &doc);
  lsp_analysis *entry = entry_find(j->a.uri);
  if (entry) entry->job_running = 0;
  /* A result for an old version is never published; the newest text gets its own run. */
  if (e && s->state == LSP_S_RUNNING) lsp_analysis_publish(s, doc);
  else if (!canceled && doc && j->rc == LS_OK && s->state == LSP_S_RUNNING) schedule_large(s, doc);
  ajob_free_all(j);
}

static void schedule_large(lsp_server *s, lsp_doc *doc) {
  lsp_analysis *e = entry_get(doc->uri);
  if (!e || e->job_running) return; /* the running job's done re-schedules if it is stale */
  if (analysis_fresh(e, doc)) { lsp_analysis_publish(s, doc); return; }
  ajob *j = ajob_new(doc);
  if (!j) return;
  if (lsp_server_run_job(s, ajob_work, ajob_diag_done, j) != LS_OK) { ajob_free_all(j); return; }
  e->job_running = 1;
}

static void ajob_req_done(lsp_server *s, lsp_req *req, void *arg, int canceled) {
  ajob *j = arg;
  lsp_doc *doc = NULL;
  if (!canceled && !lsp_req_done(req)) {
    if (ajob_install(s, j, &doc)) j->again(s, req, j->params);
    else if (j->rc == LS_ENOMEM) lsp_reply_error(s, req, LSP_ERR_INTERNAL, "out of memory analysing %s", j->a.uri);
    else lsp_reply_error(s, req, LSP_ERR_CONTENT_MODIFIED, "%s changed while it was analysed", j->a.uri);
  }
  ajob_free_all(j);
}

lsp_analysis *lsp_analysis_for_request(lsp_server *s, lsp_req *req, json_t *params, json_t *empty,
                                       int (*again)(lsp_server *s, lsp_req *req, json_t *params)) {
  json_t *uri;
  if (lsp_param(s, req, params, "textDocument.uri", LSP_T_STRING, 1, &uri)) {
    json_decref(empty);
    return NULL;
  }
  lsp_doc *doc = lsp_docs_find(&s->docs, json_string_value(uri));
  if (doc && again && doc->len > LSP_ANALYSIS_INLINE_MAX) {
    lsp_analysis *e = entry_get(doc->uri);
    if (e && !analysis_fresh(e, doc)) {
      /* Large and stale: analyse on the pool; the handler runs again when it is done, and
       * $/cancelRequest stops the work. */
      ajob *j = ajob_new(doc);
      if (j) {
        j->again = again;
        j->params = json_incref(params);
        if (lsp_req_run_job(s, req, ajob_work, ajob_req_done, j) == LS_OK) { json_decref(empty); return NULL; }
        ajob_free_all(j);
      }
    }
  }
  lsp_analysis *a = doc ? lsp_analysis_get(s, doc) : NULL;
  if (doc && !a) {
    json_decref(empty);
    lsp_reply_error(s, req, LSP_ERR_INTERNAL, "out of memory analysing %s", doc->uri);
    return NULL;
  }
  if (!a || !a->is_model) {
    lsp_reply(s, req, empty);
    return NULL;
  }
  json_decref(empty);
  return a;
}

size_t lsp_analysis_offset(const lsp_analysis *a, ls_pos p, ls_pos_enc enc) {
  return ls_text_offset_of(&a->index, p, enc);
}

/* ---------------------------------------------------------------- publishing */

void lsp_analysis_publish(lsp_server *s, lsp_doc *doc) {
  lsp_analysis *a = lsp_analysis_get(s, doc);
  if (!a) return;
  /* Published already for this exact text and settings: nothing new to say. */
  if (a->published_gen == (int64_t)a->generation) return;
  /* A document that is not a model config gets nothing, except an empty list once if it
   * used to be one (so its old diagnostics disappear). */
  if (!a->is_model && !a->published_any) { a->published_gen = (int64_t)a->generation; return; }
  json_t *diags = a->is_model ? lsp_render_diagnostics(a, s->enc) : json_array();
  if (!diags) return;
  a->published_any = json_array_size(diags) > 0;
  a->published_gen = (int64_t)a->generation;
  lsp_publish_diagnostics(s, doc->uri, a->version, diags);
}

static void posted_run(lsp_server *s, void *arg) {
  char *uri = arg;
  lsp_analysis *a = entry_find(uri);
  if (a) a->posted = 0;
  lsp_doc *doc = lsp_docs_find(&s->docs, uri);
  /* The run analyses whatever the newest text is: edits made since the post coalesce. */
  if (doc && s->state == LSP_S_RUNNING) lsp_analysis_publish(s, doc);
  ls_free(uri);
  lsp_analysis_sweep(s);
}

void lsp_analysis_schedule(lsp_server *s, lsp_doc *doc) {
  if (doc->len > LSP_ANALYSIS_INLINE_MAX) { schedule_large(s, doc); return; }
  lsp_analysis *a = entry_get(doc->uri);
  if (!a) return;
  if (a->posted) return;
  char *uri = ls_strdup(doc->uri);
  if (!uri) return;
  if (lsp_server_post(s, posted_run, uri) != LS_OK) { ls_free(uri); return; }
  a->posted = 1;
}

/* ---------------------------------------------------------------- settings */

static int settings_parse(lsp_server *s, const json_t *j, lsp_settings *out) {
  memset(out, 0, sizeof *out);
  out->batch = 1;
  out->dtype = LS_MODEL_WDTYPE_F32;
  if (!json_is_object(j)) return 0;
  int bad = 0;
  json_t *v = json_object_get(j, "batch");
  if (v && !json_is_null(v)) {
    if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= (1 << 20))
      out->batch = json_integer_value(v);
    else { lsp_log_message(s, LSP_MSG_WARNING, "layerscope.batch must be an integer from 1 to 1048576; ignored"); bad = 1; }
  }
  v = json_object_get(j, "seqLen");
  if (v && !json_is_null(v)) {
    if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= (1 << 24))
      out->seq = json_integer_value(v);
    else { lsp_log_message(s, LSP_MSG_WARNING, "layerscope.seqLen must be an integer from 1 to 16777216; ignored"); bad = 1; }
  }
  v = json_object_get(j, "dtype");
  if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0)) {
    if (json_is_string(v) && ls_model_wdtype_parse(json_string_value(v), &out->dtype) == LS_OK) out->have_dtype = 1;
    else {
      lsp_log_message(s, LSP_MSG_WARNING,
                      "layerscope.dtype must be one of fp32, bf16, fp16, int8, int4, q8_0, q4_0; ignored");
      bad = 1;
    }
  }
  v = json_object_get(j, "disabledRules");
  if (v && !json_is_null(v)) {
    if (!json_is_array(v)) {
      lsp_log_message(s, LSP_MSG_WARNING, "layerscope.disabledRules must be an array of rule codes; ignored");
      bad = 1;
    } else {
      size_t i;
      json_t *e;
      json_array_foreach(v, i, e) {
        const ls_smell_rule *r = json_is_string(e) ? ls_smell_rule_find(json_string_value(e)) : NULL;
        if (r) out->disabled[r->id] = 1;
        else {
          lsp_log_message(s, LSP_MSG_WARNING, "layerscope.disabledRules[%zu] is not a rule code or name; ignored", i);
          bad = 1;
        }
      }
    }
  }
  return bad;
}

void lsp_analysis_settings_update(lsp_server *s) {
  lsp_settings next;
  settings_parse(s, s->settings, &next);
  if (memcmp(&next, &g_settings, sizeof next) == 0) return;
  g_settings = next;
  g_settings_gen++;
  ls_log_info("lsp: settings changed (batch %lld, seqLen %lld, dtype %s, rules off: %s); re-analysing",
              (long long)next.batch, (long long)next.seq,
              next.have_dtype ? ls_model_wdtype_name(next.dtype) : "from torch_dtype",
              memchr(next.disabled, 1, sizeof next.disabled) ? "some" : "none");
  if (s->state != LSP_S_RUNNING) return;
  for (size_t i = 0; i < s->docs.n; i++) lsp_analysis_schedule(s, s->docs.items[i]);
  /* Inlay hints and the code lens show figures at these settings: ask clients that can to
   * fetch them again. */
  json_t *ws = json_object_get(s->client_caps, "workspace");
  if (json_is_true(json_object_get(json_object_get(ws, "inlayHint"), "refreshSupport")))
    lsp_request(s, "workspace/inlayHint/refresh", NULL, NULL, NULL);
  if (json_is_true(json_object_get(json_object_get(ws, "codeLens"), "refreshSupport")))
    lsp_request(s, "workspace/codeLens/refresh", NULL, NULL, NULL);
}
