/* analysis.c: the per-document analysis cache (see analysis.h): snapshot the text, run the
 * config pipeline of the core on it (core/model/config.h) with the user's settings, and
 * publish diagnostics for the generation that was analysed. Nothing here parses, builds,
 * checks or computes a figure itself: it wires core results to the document lifecycle. */
#include "lsp/analysis.h"

#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/log.h"
#include "core/base/strmap.h"
#include "lsp/render.h"

/* ---------------------------------------------------------------- state */

struct lsp_cache {
  ls_strmap by_uri;        /* uri -> lsp_analysis * (owned; keyed by the entry's own uri) */
  lsp_settings settings;   /* in effect */
  uint64_t settings_gen;   /* bumped when they change: analyses of an older one are stale */
  int trim_posted;         /* a heap trim is queued on the loop */
};

static const lsp_settings k_default_settings = {1, 0, 0, LS_MODEL_WDTYPE_F32, {0}, LS_MODEL_ATTN_SDPA, 0};

int lsp_cache_new(lsp_cache **out) {
  lsp_cache *c = ls_calloc(1, sizeof *c);
  if (!c) return LS_ENOMEM;
  ls_strmap_init(&c->by_uri);
  c->settings = k_default_settings;
  c->settings_gen = 1;
  *out = c;
  return LS_OK;
}

static void analysis_free(lsp_analysis *a) {
  if (!a) return;
  ls_config_analysis_deinit(&a->cfg);
  ls_free(a->uri);
  ls_free(a);
}

void lsp_cache_free(lsp_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->by_uri.cap; i++) analysis_free(c->by_uri.slots[i].value);
  ls_strmap_deinit(&c->by_uri);
  ls_free(c);
}

const lsp_settings *lsp_analysis_settings(const lsp_server *s) { return &s->cache->settings; }

static lsp_analysis *entry_find(lsp_server *s, const char *uri) { return ls_strmap_get(&s->cache->by_uri, uri); }

static lsp_analysis *entry_get(lsp_server *s, const char *uri) {
  lsp_analysis *a = entry_find(s, uri);
  if (a) return a;
  a = ls_calloc(1, sizeof *a);
  if (!a) return NULL;
  a->uri = ls_strdup(uri);
  a->published_gen = -1;
  if (!a->uri || ls_strmap_put(&s->cache->by_uri, a->uri, a) != LS_OK) {
    analysis_free(a);
    return NULL;
  }
  return a;
}

static void trim_run(lsp_server *s, void *arg) {
  (void)arg;
  s->cache->trim_posted = 0;
  ls_alloc_trim();
}

/* Frees the entry of uri once nothing needs it: its document is closed and no queued run or
 * pool job refers to it. The memory goes back to the system after the batch of messages
 * being handled (one trim for a burst of didClose), so that closing documents shrinks the
 * server and not only its heap's free lists. */
static void entry_release(lsp_server *s, const char *uri) {
  lsp_analysis *a = entry_find(s, uri);
  if (!a || a->posted || a->job_running || lsp_docs_find(&s->docs, uri)) return;
  ls_strmap_remove(&s->cache->by_uri, a->uri);
  analysis_free(a);
  if (!s->cache->trim_posted && lsp_server_post(s, trim_run, NULL) == LS_OK) s->cache->trim_posted = 1;
}

void lsp_analysis_forget(lsp_server *s, const char *uri) { entry_release(s, uri); }

/* ---------------------------------------------------------------- computing */

/* A copy of the document's text for an analysis (which keeps it: spans point into it). */
static char *text_copy(const lsp_doc *doc) {
  char *t = ls_malloc(doc->len + 1);
  if (!t) return NULL;
  memcpy(t, doc->text, doc->len);
  t[doc->len] = 0;
  return t;
}

static int job_canceled(void *job) { return rpc_job_canceled(job); }

/* The pipeline's options at settings set; job (may be NULL) cancels it. */
static ls_config_opts config_opts(const lsp_settings *set, rpc_job *job, const char *uri) {
  ls_config_opts o = {.disabled = set->disabled, .figures = 1, .batch = set->batch, .seq = set->seq,
                      .have_dtype = set->have_dtype, .dtype = set->dtype, .attn = set->attn, .generic = set->generic,
                      .path = uri};
  if (job) { o.canceled = job_canceled; o.cancel_ud = job; }
  return o;
}

static int analysis_fresh(const lsp_server *s, const lsp_analysis *a, const lsp_doc *doc) {
  return a->cfg.text && a->generation == doc->generation && a->settings_gen == s->cache->settings_gen;
}

lsp_analysis *lsp_analysis_get(lsp_server *s, lsp_doc *doc) {
  lsp_analysis *a = entry_get(s, doc->uri);
  if (!a) return NULL;
  if (analysis_fresh(s, a, doc)) return a;
  a->published_gen = -1; /* new text or settings: its diagnostics are not out yet */
  ls_config_analysis_deinit(&a->cfg);
  a->generation = doc->generation;
  a->version = doc->version;
  a->settings_gen = s->cache->settings_gen;
  char *text = text_copy(doc);
  ls_config_opts o = config_opts(&s->cache->settings, NULL, doc->uri);
  if (!text || ls_config_analyse(text, doc->len, &o, &a->cfg) != LS_OK) {
    ls_log_error("lsp: out of memory analysing %s", doc->uri);
    ls_config_analysis_deinit(&a->cfg);
    return NULL;
  }
  return a;
}

/* ---------------------------------------------------------------- large documents: pool */

/* A document this large is analysed on the pool, so the loop keeps answering and the work can
 * be canceled; below it the analysis takes a few milliseconds at most (bench/lsp) and runs
 * inline. */
#define LSP_ANALYSIS_INLINE_MAX ((size_t)256 * 1024)

/* One pool analysis: a snapshot of one generation, analysed on the pool thread, installed
 * into the cache back on the loop when it is still current. */
typedef struct ajob {
  char *uri;                 /* owned */
  uint64_t generation;       /* of the snapshot */
  int64_t version;
  uint64_t settings_gen;
  lsp_settings set;          /* settings copied for the pool thread */
  char *text;                /* [len + 1] owned snapshot, until the analysis takes it */
  size_t len;
  ls_config_analysis cfg;    /* the result */
  int rc;
  int (*again)(lsp_server *s, lsp_req *req, json_t *params); /* request path: handler to re-run */
  json_t *params;            /* request path: owned reference */
} ajob;

static void ajob_free(ajob *j) {
  ls_config_analysis_deinit(&j->cfg);
  ls_free(j->text);
  ls_free(j->uri);
  json_decref(j->params);
  ls_free(j);
}

static ajob *ajob_new(lsp_server *s, lsp_doc *doc) {
  ajob *j = ls_calloc(1, sizeof *j);
  if (!j) return NULL;
  j->uri = ls_strdup(doc->uri);
  j->text = text_copy(doc);
  if (!j->uri || !j->text) { ajob_free(j); return NULL; }
  j->len = doc->len;
  j->generation = doc->generation;
  j->version = doc->version;
  j->settings_gen = s->cache->settings_gen;
  j->set = s->cache->settings;
  return j;
}

static void ajob_work(rpc_job *job, void *arg) {
  ajob *j = arg;
  if (rpc_job_canceled(job)) { j->rc = LS_ECANCELED; return; }
  ls_config_opts o = config_opts(&j->set, job, j->uri);
  char *text = j->text;
  j->text = NULL; /* the analysis owns it from here */
  j->rc = ls_config_analyse(text, j->len, &o, &j->cfg);
}

/* Installs j's analysis when it is still for the document's current text and settings;
 * returns the cache entry, or NULL when the result is stale (and is dropped). */
static lsp_analysis *ajob_install(lsp_server *s, ajob *j, lsp_doc **doc_out) {
  lsp_doc *doc = lsp_docs_find(&s->docs, j->uri);
  *doc_out = doc;
  if (!doc || j->rc != LS_OK || j->generation != doc->generation || j->settings_gen != s->cache->settings_gen)
    return NULL;
  lsp_analysis *e = entry_get(s, doc->uri);
  if (!e) return NULL;
  ls_config_analysis_deinit(&e->cfg);
  e->cfg = j->cfg;
  memset(&j->cfg, 0, sizeof j->cfg);
  e->generation = j->generation;
  e->version = j->version;
  e->settings_gen = j->settings_gen;
  e->published_gen = -1;
  return e;
}

static void schedule_large(lsp_server *s, lsp_doc *doc);

static void ajob_diag_done(lsp_server *s, lsp_req *req, void *arg, int canceled) {
  (void)req;
  ajob *j = arg;
  lsp_doc *doc = NULL;
  lsp_analysis *e = canceled ? NULL : ajob_install(s, j, &doc);
  lsp_analysis *entry = entry_find(s, j->uri);
  if (entry) entry->job_running = 0;
  /* A result for an old version is never published; the newest text gets its own run. */
  if (e && s->state == LSP_S_RUNNING) lsp_analysis_publish(s, doc);
  else if (!canceled && doc && j->rc == LS_OK && s->state == LSP_S_RUNNING) schedule_large(s, doc);
  entry_release(s, j->uri); /* the document may have closed while the job ran */
  ajob_free(j);
}

static void schedule_large(lsp_server *s, lsp_doc *doc) {
  lsp_analysis *e = entry_get(s, doc->uri);
  if (!e || e->job_running) return; /* the running job's done re-schedules if it is stale */
  if (analysis_fresh(s, e, doc)) { lsp_analysis_publish(s, doc); return; }
  ajob *j = ajob_new(s, doc);
  if (!j) return;
  if (lsp_server_run_job(s, ajob_work, ajob_diag_done, j) != LS_OK) { ajob_free(j); return; }
  e->job_running = 1;
}

static void ajob_req_done(lsp_server *s, lsp_req *req, void *arg, int canceled) {
  ajob *j = arg;
  lsp_doc *doc = NULL;
  if (!canceled && !lsp_req_done(req)) {
    if (ajob_install(s, j, &doc)) j->again(s, req, j->params);
    else if (j->rc == LS_ENOMEM) lsp_reply_error(s, req, LSP_ERR_INTERNAL, "out of memory analysing %s", j->uri);
    else lsp_reply_error(s, req, LSP_ERR_CONTENT_MODIFIED, "%s changed while it was analysed", j->uri);
  }
  ajob_free(j);
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
    lsp_analysis *e = entry_get(s, doc->uri);
    if (e && !analysis_fresh(s, e, doc)) {
      /* Large and stale: analyse on the pool; the handler runs again when it is done, and
       * $/cancelRequest stops the work. */
      ajob *j = ajob_new(s, doc);
      if (j) {
        j->again = again;
        j->params = json_incref(params);
        if (lsp_req_run_job(s, req, ajob_work, ajob_req_done, j) == LS_OK) { json_decref(empty); return NULL; }
        ajob_free(j);
      }
    }
  }
  lsp_analysis *a = doc ? lsp_analysis_get(s, doc) : NULL;
  if (doc && !a) {
    json_decref(empty);
    lsp_reply_error(s, req, LSP_ERR_INTERNAL, "out of memory analysing %s", doc->uri);
    return NULL;
  }
  if (!a || !a->cfg.is_model) {
    lsp_reply(s, req, empty);
    return NULL;
  }
  json_decref(empty);
  return a;
}

size_t lsp_analysis_offset(const lsp_analysis *a, ls_pos p, ls_pos_enc enc) {
  return ls_text_offset_of(&a->cfg.index, p, enc);
}

/* ---------------------------------------------------------------- publishing */

void lsp_analysis_publish(lsp_server *s, lsp_doc *doc) {
  lsp_analysis *a = lsp_analysis_get(s, doc);
  if (!a) return;
  /* Published already for this exact text and settings: nothing new to say. */
  if (a->published_gen == (int64_t)a->generation) return;
  /* A document that is not a model config gets nothing, except an empty list once if it
   * used to be one (so its old diagnostics disappear). */
  if (!a->cfg.is_model && !a->published_any) { a->published_gen = (int64_t)a->generation; return; }
  json_t *diags = a->cfg.is_model ? lsp_render_diagnostics(a, s->enc) : json_array();
  if (!diags) return;
  a->published_any = json_array_size(diags) > 0;
  a->published_gen = (int64_t)a->generation;
  lsp_publish_diagnostics(s, doc->uri, a->version, diags);
}

static void posted_run(lsp_server *s, void *arg) {
  char *uri = arg;
  lsp_analysis *a = entry_find(s, uri);
  if (a) a->posted = 0;
  lsp_doc *doc = lsp_docs_find(&s->docs, uri);
  /* The run analyses whatever the newest text is: edits made since the post coalesce. */
  if (doc && s->state == LSP_S_RUNNING) lsp_analysis_publish(s, doc);
  entry_release(s, uri); /* the document may have closed before the run */
  ls_free(uri);
}

void lsp_analysis_schedule(lsp_server *s, lsp_doc *doc) {
  if (doc->len > LSP_ANALYSIS_INLINE_MAX) { schedule_large(s, doc); return; }
  lsp_analysis *a = entry_get(s, doc->uri);
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
    /* 0 is the model's default (the VS Code extension's default value). */
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= (1 << 24))
      out->seq = json_integer_value(v);
    else {
      lsp_log_message(s, LSP_MSG_WARNING,
                      "layerscope.seqLen must be an integer from 0 (the model's default) to 16777216; ignored");
      bad = 1;
    }
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
  v = json_object_get(j, "attnImplementation");
  if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0)) {
    if (!json_is_string(v) || ls_model_attn_impl_parse(json_string_value(v), &out->attn)) {
      lsp_log_message(s, LSP_MSG_WARNING, "layerscope.attnImplementation must be sdpa, eager or flash; ignored");
      bad = 1;
    }
  }
  v = json_object_get(j, "genericReading");
  if (v && !json_is_null(v)) {
    if (json_is_boolean(v)) out->generic = json_is_true(v);
    else { lsp_log_message(s, LSP_MSG_WARNING, "layerscope.genericReading must be true or false; ignored"); bad = 1; }
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
  lsp_cache *c = s->cache;
  if (memcmp(&next, &c->settings, sizeof next) == 0) return;
  c->settings = next;
  c->settings_gen++;
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
