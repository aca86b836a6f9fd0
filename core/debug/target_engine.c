/* target_engine.c: the reference engine behind the target seam (target_engine.h). run()
 * binds the weights (progress "weights"), runs one forward pass with a hook that converts
 * each module event into a target event and asks the run (host->event) whether to stop, and
 * reports every pause of the pass (a stop the run asked for, a step, a pause request) with
 * host->stopped from the engine's on_pause callback, still on the engine thread, where its
 * native frames can be captured. Resume, pause and terminate map onto ls_fwd_resume,
 * ls_fwd_request_pause and ls_fwd_abort; the pass exists only inside run(), so requests that
 * come before it (weights still loading) are remembered and applied when it does. */
#include "core/debug/target_engine.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/backtrace.h"
#include "core/base/errors.h"
#include "core/engine/generate.h"
#include "core/engine/lens.h"
#include "core/engine/source.h"
#include "core/engine/text.h"

#define MAX_NATIVE 32

typedef struct eng {
  char *config, *weights, *tokens_what; /* owned copies of the options */
  char weights_line[4400];              /* ls_engine_src_describe: which weights, or random */
  int64_t *tokens;                      /* [n] owned: the input ids, B rows of n / B */
  int64_t n, B;
  int *mask;                            /* [n] owned attention mask, or NULL */
  uint64_t seed;
  int threads, compute, native_frames;
  ls_model *m;                          /* owned */
  ls_engine_tokref text;                /* owned: the model's tokenizer (text.h), for the
                                           prompt and the text of tokens; read on first use */
  pthread_mutex_t mu;                   /* guards f, cancel, pause_req and the native frames */
  ls_fwd *f;                            /* the pass, while run() is on */
  ls_engine *e;                         /* the open engine, while run() is on (lens) */
  int cancel;                           /* terminate asked the run to end */
  int pause_req;                        /* pause asked before the pass existed */
  int64_t generate;                     /* tokens to generate; 0: one forward pass */
  double temperature, top_p;            /* sampling (temperature 0: greedy) */
  int64_t token;                        /* generating: the pass's step (0 = prefill) */
  int step_carry;                       /* a step resumed at a pass's last event: stop at
                                           the next token's first event */
  int step_stop;                        /* the next request-pause is that step's stop */
  char token_frame[96];                 /* control thread: the token frame's name */
  const ls_dbg_target_host *host;       /* run()'s */
  ls_dbg_fwd_event ev;                  /* engine thread: the event decided or stopped at */
  ls_native_frame native[MAX_NATIVE];   /* the engine thread at the stop, innermost first */
  size_t n_native;
  char native_names[MAX_NATIVE][200];   /* control thread: frames() formats them here */
} eng;

/* ------------------------------------------------------------------ events */

static void vars_from(ls_dbg_var *dst, const ls_fwd_tensor *src, int n) {
  for (int i = 0; i < n; i++) {
    dst[i] = (ls_dbg_var){.name = src[i].name, .dtype = src[i].dtype, .ndim = src[i].ndim, .data = src[i].data};
    for (int k = 0; k < src[i].ndim && k < LS_DBG_MAX_DIMS; k++) dst[i].shape[k] = src[i].shape[k];
  }
}

void ls_dbg_event_from_fwd(ls_dbg_fwd_event *out, const ls_fwd_event *fe) {
  ls_dbg_event *ev = &out->ev;
  memset(ev, 0, sizeof *ev);
  ev->module = fe->module;
  ev->name = fe->name;
  ev->type = fe->mod->type;
  ev->depth = fe->depth;
  ev->layer = fe->mod->layer;
  ev->phase = fe->phase == LS_FWD_ENTER ? LS_DBG_ENTER : LS_DBG_EXIT;
  ev->pass = LS_DBG_FORWARD;
  ev->thread = 1;
  ev->serial = fe->serial;
  const ls_fwd_tensor *groups[4] = {fe->inputs, fe->outputs, fe->params, fe->inter};
  const int counts[4] = {fe->n_inputs, fe->n_outputs, fe->n_params, fe->n_inter};
  for (int g = 0; g < 4; g++) { /* LS_DBG_G_INPUTS .. LS_DBG_G_INTER */
    vars_from(out->vars[g], groups[g], counts[g]);
    ev->vars[g] = out->vars[g];
    ev->n_vars[g] = counts[g];
  }
}

static int eng_lens(void *ud, const float *h, int64_t rows, int64_t cols, float **logits, int64_t *vocab,
                    ls_diag *d) {
  eng *t = ud;
  return ls_engine_lens(t->e, h, rows, cols, logits, vocab, d);
}

/* The engine event as the run's event, with the generation step when generating, the pass's
 * ids and tokenizer for text, and the lens. */
static void event_of(eng *t, const ls_fwd_event *fe) {
  ls_dbg_event_from_fwd(&t->ev, fe);
  t->ev.ev.has_token = t->generate > 0;
  t->ev.ev.token = t->token;
  int64_t pos0 = 0;
  t->ev.ev.ids = t->f ? ls_fwd_tokens(t->f, &t->ev.ev.n_ids, &pos0) : NULL;
  if (!t->ev.ev.ids) t->ev.ev.n_ids = 0;
  t->ev.ev.tok = &t->text;
  t->ev.ev.lens = t->e ? eng_lens : NULL;
  t->ev.ev.lens_ud = t;
}

static int hook(void *ud, const ls_fwd_event *fe) {
  eng *t = ud;
  event_of(t, fe);
  return t->host->event(t->host->hud, &t->ev.ev) ? LS_FWD_PAUSE : LS_FWD_CONTINUE;
}

static void on_pause(void *ud, const ls_fwd_event *fe, ls_fwd_reason why) {
  eng *t = ud;
  event_of(t, fe); /* the hook may not have seen it (a step, a pause) */
  pthread_mutex_lock(&t->mu);
  int step_stop = t->step_stop && why == LS_FWD_REASON_REQUEST;
  t->step_stop = 0;
  /* the engine thread's own stack: only this thread can unwind itself */
  t->n_native = t->native_frames ? ls_backtrace_capture(t->native, MAX_NATIVE, 1) : 0;
  pthread_mutex_unlock(&t->mu);
  ls_dbg_cause cause = why == LS_FWD_REASON_STEP || step_stop ? LS_DBG_CAUSE_STEP
                       : why == LS_FWD_REASON_REQUEST ? LS_DBG_CAUSE_PAUSE
                                                       : LS_DBG_CAUSE_EVENT;
  t->host->stopped(t->host->hud, &t->ev.ev, cause, NULL);
}

static void progress(void *ud, double fraction, const char *what) {
  eng *t = ud;
  t->host->progress(t->host->hud, LS_DBG_PROGRESS_UPDATE, "weights", fraction, NULL, what ? what : "");
}

/* ------------------------------------------------------------------ the ops */

static void eng_describe(void *ud, ls_dbg_target_info *out) {
  eng *t = ud;
  *out = (ls_dbg_target_info){"forward pass", t->m, t->config};
}

static int eng_check(void *ud, ls_diag *d) {
  eng *t = ud;
  int rc = ls_engine_check(t->m, t->weights, d);
  if (rc) return rc;
  if (t->B > 1 && t->generate > 0)
    return ls_diag_set(d, LS_EUNSUPPORTED, "generation runs one row; these tokens are a batch of %lld rows",
                       (long long)t->B);
  for (int64_t b = 0; b < t->B && !rc; b++) { /* each row from position 0 */
    rc = ls_fwd_check_tokens(t->m, t->tokens + b * (t->n / t->B), t->n / t->B, d);
    if (rc && t->B > 1) ls_diag_prefix(d, "row %lld: ", (long long)b);
  }
  if (rc && t->tokens_what) ls_diag_prefix(d, "%s: ", t->tokens_what);
  return rc;
}

/* Makes f the pass that resume, pause and terminate act on, applying what was asked before
 * it existed (a pause, a terminate, a step from the previous token's last event). */
static void pass_attach(eng *t, ls_fwd *f) {
  pthread_mutex_lock(&t->mu);
  t->f = f;
  if (t->cancel) ls_fwd_abort(f);
  if (t->pause_req || t->step_carry) ls_fwd_request_pause(f);
  t->step_stop = t->step_carry; /* that pause is the step's stop */
  t->pause_req = t->step_carry = 0;
  pthread_mutex_unlock(&t->mu);
}

static void pass_detach(eng *t) {
  pthread_mutex_lock(&t->mu);
  t->f = NULL;
  pthread_mutex_unlock(&t->mu);
}

static void gen_on_pass(void *ud, ls_fwd *f, int64_t index) {
  eng *t = ud;
  t->token = index;
  pass_attach(t, f);
}

/* The next tokens with their text, replacing ls_fwd_next_tokens_line's ids:
 * "top-5 next tokens: 3681 " Paris" (9.120) ...". */
static void next_tokens_text(eng *t, const ls_fwd *f, int k, char *buf, size_t cap) {
  int64_t ids[16], nan, n;
  float v[16];
  int ranked;
  if (ls_fwd_next_tokens(f, k, ids, v, &ranked, &nan, &n) != LS_OK || !ranked || nan) return;
  size_t len = (size_t)snprintf(buf, cap, "top-%d next tokens:", ranked);
  for (int i = 0; i < ranked && len < cap; i++) {
    char text[96];
    ls_engine_text_piece(ls_engine_tokref_get(&t->text), t->tokens[t->n - 1], ids[i], text, sizeof text);
    len += (size_t)snprintf(buf + len, cap - len, " %lld %s (%.3f)", (long long)ids[i], text, v[i]);
  }
}

/* Generation: one pass per token over the KV cache (core/engine/generate.h), each a level
 * of the stack (the token frame) with `token` in expressions; a note per chosen token. */
static int run_generate(eng *t, ls_engine *e, const ls_fwd_opts *fo, ls_dbg_target_end *end, ls_diag *d) {
  ls_gen_opts go = {.max_new = t->generate, .temperature = t->temperature, .top_p = t->top_p, .seed = t->seed,
                    .fwd = *fo, .on_pass = gen_on_pass, .on_pass_ud = t};
  ls_gen *g = NULL;
  int rc = ls_gen_begin(&g, e, t->tokens, t->n, &go, d);
  size_t len = 0;
  int64_t prev = t->tokens[t->n - 1]; /* the token before the step's, for its text */
  for (int64_t i = 0; !rc && i < t->generate; i++) {
    ls_gen_token st;
    rc = ls_gen_step(g, &st, d);
    pass_detach(t);
    if (rc) break;
    char line[320], text[128] = "";
    ls_tok *tok = ls_engine_tokref_get(&t->text);
    if (tok) {
      text[0] = ' ';
      ls_engine_text_piece(tok, prev, st.token, text + 1, sizeof text - 1);
    }
    prev = st.token;
    snprintf(line, sizeof line, "token %lld of %lld: id %lld%s at position %lld (logit %.4f)", (long long)i + 1,
             (long long)t->generate, (long long)st.token, text, (long long)st.pos, st.logit);
    t->host->output(t->host->hud, LS_DBG_OUT_NOTE, line);
    if (len + 24 < sizeof end->summary)
      len += (size_t)snprintf(end->summary + len, sizeof end->summary - len, "%s%lld",
                              i ? "," : "generated ids: ", (long long)st.token);
  }
  pass_detach(t);
  ls_gen_end(g);
  return rc;
}

static int eng_run(void *ud, const ls_dbg_target_host *host, ls_dbg_target_end *end, ls_diag *d) {
  eng *t = ud;
  t->host = host;
  if (t->weights_line[0]) host->output(host->hud, LS_DBG_OUT_NOTE, t->weights_line);
  host->progress(host->hud, LS_DBG_PROGRESS_START, "weights", 0, "Loading weights",
                 t->weights ? t->weights : "random initialisation");
  ls_engine_opts eo = {.weights = t->weights, .seed = t->seed, .threads = t->threads, .compute = t->compute,
                       .progress = progress, .progress_ud = t};
  ls_engine *e = NULL;
  int rc = ls_engine_open(&e, t->m, &eo, d);
  host->progress(host->hud, LS_DBG_PROGRESS_END, "weights", 1, NULL, NULL);
  if (rc != LS_OK) goto out;
  t->e = e;
  if (t->compute != ls_engine_compute_get(e))
    host->output(host->hud, LS_DBG_OUT_NOTE, "this CPU has no AVX512_BF16; computing in fp32");
  ls_fwd_opts fo = {.hook = host->check_events ? hook : NULL, .ud = t, .on_pause = on_pause,
                    .attention_mask = t->mask, .batch = t->B};
  if (t->generate > 0) {
    rc = run_generate(t, e, &fo, end, d);
    goto out;
  }
  ls_fwd *f = NULL;
  if ((rc = ls_fwd_new(&f, e, t->tokens, t->n, &fo, d)) != LS_OK) goto out;
  pass_attach(t, f);
  rc = ls_fwd_run(f, d);
  if (rc == LS_OK) { /* the result: the next tokens of a language model */
    int64_t rows = 0, cols = 0;
    ls_fwd_logits(f, &rows, &cols);
    int k = cols < 5 ? (int)cols : 5;
    if (k <= 0 || t->m->head != LS_MODEL_HEAD_CAUSAL_LM ||
        ls_fwd_next_tokens_line(f, k, end->summary, sizeof end->summary) != LS_OK)
      end->summary[0] = 0;
    else if (t->B > 1) /* a batch: "row 0: top-5 next tokens: ...; row 1: ..." */
      for (int64_t b = 0, len = 0; b < t->B && len + 64 < (int64_t)sizeof end->summary; b++) {
        char line[256];
        if (ls_fwd_next_tokens_line_row(f, b, k, line, sizeof line) != LS_OK) break;
        len += snprintf(end->summary + len, sizeof end->summary - (size_t)len, "%srow %lld: %s", b ? "; " : "",
                        (long long)b, line);
      }
    else if (ls_engine_tokref_get(&t->text))
      next_tokens_text(t, f, k, end->summary, sizeof end->summary);
  }
  pass_detach(t);
  ls_fwd_free(f);
out:
  t->e = NULL;
  if (e) ls_engine_close(e);
  end->exit_code = rc == LS_OK ? 0 : 1;
  return rc;
}

static int eng_resume(void *ud, int thread, ls_dbg_action action) {
  eng *t = ud;
  static const int A[] = {LS_FWD_CONTINUE, LS_FWD_STEP_IN, LS_FWD_STEP_OVER, LS_FWD_STEP_OUT};
  if (thread != 1 || (unsigned)action >= sizeof A / sizeof A[0]) return LS_EINVAL;
  pthread_mutex_lock(&t->mu);
  int rc = t->f ? ls_fwd_resume(t->f, A[action]) : LS_ESTATE;
  /* a step from the root's last event of a pass while generating lands on the next
   * token's first event */
  if (rc == LS_OK && t->generate > 0 && action != LS_DBG_CONTINUE && t->ev.ev.depth == 0 &&
      t->ev.ev.phase == LS_DBG_EXIT)
    t->step_carry = 1;
  pthread_mutex_unlock(&t->mu);
  return rc;
}

static void eng_pause(void *ud) {
  eng *t = ud;
  pthread_mutex_lock(&t->mu);
  if (t->f) ls_fwd_request_pause(t->f);
  else t->pause_req = 1; /* weights still loading: the pass pauses once it exists */
  pthread_mutex_unlock(&t->mu);
}

static void eng_terminate(void *ud) {
  eng *t = ud;
  pthread_mutex_lock(&t->mu);
  t->cancel = 1;
  if (t->f) ls_fwd_abort(t->f);
  pthread_mutex_unlock(&t->mu);
}

static void eng_reset(void *ud) {
  eng *t = ud;
  pthread_mutex_lock(&t->mu);
  t->cancel = 0;
  t->pause_req = 0;
  t->step_carry = t->step_stop = 0;
  t->n_native = 0;
  pthread_mutex_unlock(&t->mu);
}

static int eng_threads(void *ud, ls_dbg_thread *out, int cap) {
  (void)ud;
  if (cap < 1) return 0;
  out[0] = (ls_dbg_thread){1, "forward pass"};
  return 1;
}

static int eng_frames(void *ud, int thread, ls_dbg_frame *out, int cap) {
  eng *t = ud;
  if (thread != 1) return 0;
  pthread_mutex_lock(&t->mu);
  int n = 0;
  if (t->generate > 0 && cap > 0) {
    snprintf(t->token_frame, sizeof t->token_frame, "token %lld of %lld (position %lld)", (long long)t->token + 1,
             (long long)t->generate, (long long)(t->n + t->token));
    out[n++] = (ls_dbg_frame){LS_DBG_FRAME_TOKEN, -1, t->token_frame, NULL, NULL, 0};
  }
  for (int k = 0; n < cap && (size_t)k < t->n_native; n++, k++) {
    ls_backtrace_frame_format(&t->native[k], t->native_names[k], sizeof t->native_names[k]);
    out[n] = (ls_dbg_frame){LS_DBG_FRAME_NATIVE, -1, t->native_names[k], NULL, NULL, 0};
  }
  pthread_mutex_unlock(&t->mu);
  return n;
}

static void eng_free(void *ud) {
  eng *t = ud;
  if (!t) return;
  ls_model_free(t->m);
  ls_free(t->config);
  ls_free(t->weights);
  ls_free(t->tokens_what);
  ls_engine_tokref_free(&t->text);
  ls_free(t->tokens);
  ls_free(t->mask);
  pthread_mutex_destroy(&t->mu);
  ls_free(t);
}

static const ls_dbg_target_ops k_engine_ops = {eng_describe, eng_check, eng_run,     eng_resume, eng_pause,
                                               eng_terminate, eng_reset, eng_threads, eng_frames, eng_free, NULL, NULL};

int ls_dbg_target_engine_new(ls_dbg_target *out, const ls_dbg_engine_opts *o, ls_diag *d) {
  memset(out, 0, sizeof *out);
  eng *t = ls_calloc(1, sizeof *t);
  if (!t) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  pthread_mutex_init(&t->mu, NULL);
  t->seed = o->seed;
  t->threads = o->threads;
  t->compute = o->compute;
  t->native_frames = o->native_frames;
  t->generate = o->generate;
  t->temperature = o->temperature;
  t->top_p = o->top_p;
  /* a config file or a hub model directory: the same resolution as the CLI's */
  ls_engine_src src;
  int rc = ls_engine_src_resolve(o->config, o->weights, o->random_weights, &src, d);
  if (rc) goto fail;
  rc = LS_ENOMEM;
  if (!(t->config = ls_strdup(src.config)) || (src.weights[0] && !(t->weights = ls_strdup(src.weights))) ||
      (o->tokens_what && !(t->tokens_what = ls_strdup(o->tokens_what)))) {
    ls_diag_set(d, LS_ENOMEM, "out of memory");
    goto fail;
  }
  /* announced when run: random weights always, and the weights a model directory gave */
  if (strcmp(src.found, "given") != 0)
    ls_engine_src_describe(&src, (unsigned long long)o->seed, t->weights_line, sizeof t->weights_line);
  ls_model_opts mo = {.max_layers = o->max_layers};
  if ((rc = ls_engine_src_model_load(&src, &mo, &t->m, d)) != LS_OK) goto fail;
  t->n = o->tokens ? (int64_t)o->n_tokens : o->n_random > 0 ? o->n_random : 8;
  if (!(t->tokens = ls_calloc(t->n > 0 ? (size_t)t->n : 1, sizeof *t->tokens))) {
    rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
    goto fail;
  }
  if (o->prompt || o->tokenizer) { /* read now: its errors are the launch's */
    ls_tok *tok = NULL;
    rc = ls_engine_tokref_find(&src, o->tokenizer, &t->text, d);
    if (!rc) rc = ls_engine_tokref_open(&t->text, &tok, d);
    if (!rc && o->prompt) {
      ls_free(t->tokens);
      t->tokens = NULL;
      rc = ls_engine_text_encode(tok, o->prompt, t->m->sem.vocab, &t->tokens, &t->n, d);
    }
    if (rc) {
      if (o->tokens_what) ls_diag_prefix(d, "prompt: ");
      goto fail;
    }
  } else { /* no prompt: a tokenizer found beside the config still gives tokens their text,
            * read when first shown */
    ls_diag quiet;
    ls_diag_init(&quiet);
    (void)ls_engine_tokref_find(&src, NULL, &t->text, &quiet);
  }
  /* a batch: rows of token ids (a prompt is one row) */
  t->B = !o->prompt && o->tokens && o->batch > 1 ? o->batch : 1;
  if (!o->prompt && o->tokens && o->attention_mask) {
    if (!(t->mask = ls_calloc((size_t)t->n, sizeof *t->mask))) {
      rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
      goto fail;
    }
    memcpy(t->mask, o->attention_mask, (size_t)t->n * sizeof *t->mask);
  }
  if (t->n % t->B) {
    rc = ls_diag_set(d, LS_EINVAL, "%lld tokens do not make %lld rows", (long long)t->n, (long long)t->B);
    goto fail;
  }
  if (o->prompt) {
    /* encoded above */
  } else if (o->tokens) {
    memcpy(t->tokens, o->tokens, (size_t)t->n * sizeof *t->tokens);
  } else if (t->m->sem.vocab > 0) {
    ls_fwd_random_tokens(t->seed, t->m->sem.vocab, t->tokens, t->n);
  }
  out->ops = &k_engine_ops;
  out->ud = t;
  return LS_OK;
fail:
  eng_free(t);
  return rc;
}
