/* generate.c: generation runs (generate.h): prefill then one cached pass per token, and the
 * choice of the next token (greedy, or temperature + top-p sampling). The passes are
 * forward.c's; this file only sequences them over one KV cache. */
#include "core/engine/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/engine_int.h"
#include "core/engine/rng.h"

typedef struct ls__gen_cand {
  double p;             /* exp((logit - max) / T) */
  int64_t id;
} ls__gen_cand;

struct ls_gen {
  ls_engine *e;
  ls_gen_opts o;
  ls_kv *kv;            /* [n_layers, n + max_new, n_kv * head_dim] keys, values */
  int64_t *tokens;      /* [n + max_new] prompt then generated */
  int64_t n_prompt, n;  /* prompt length; tokens so far */
  int64_t done;         /* tokens generated */
  ls_fwd *f;            /* the current / last pass */
  ls_rng rng;
  ls__gen_cand *cand;   /* [vocab] sampling: unnormalised probabilities, sorted for top-p */
  int failed;
};

size_t ls_gen_cache_bytes(const ls_engine *e, int64_t prompt, int64_t max_new) {
  if (prompt < 0 || max_new < 0 || prompt > INT64_MAX - max_new) return 0;
  return ls_kv_bytes(e, prompt + max_new);
}

int ls_gen_begin(ls_gen **out, ls_engine *e, const int64_t *prompt, int64_t n,
                 const ls_gen_opts *o, ls_diag *d) {
  *out = NULL;
  if (!o || o->max_new < 1 || o->max_new > (1 << 20))
    return ls_diag_set(d, LS_EINVAL, "the number of tokens to generate must be in 1..1048576");
  if (e->arch == LS__ARCH_BERT)
    return ls_diag_set(d, LS_EUNSUPPORTED, "%s is an encoder: it does not generate", e->m->model_type);
  if (!e->lm_head.w)
    return ls_diag_set(d, LS_EUNSUPPORTED, "the model has no LM head: nothing to generate from");
  int rc = ls_fwd_check_tokens(e->m, prompt, n, d);
  if (rc) return rc;
  if (e->arch == LS__ARCH_GPT2 && n + o->max_new > e->max_pos)
    return ls_diag_set(d, LS_ELIMIT, "%lld prompt tokens + %lld new ones exceed the %lld learned positions",
                       (long long)n, (long long)o->max_new, (long long)e->max_pos);
  ls_gen *g = ls_calloc(1, sizeof *g);
  if (!g) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  g->e = e;
  g->o = *o;
  g->n_prompt = g->n = n;
  g->tokens = ls_calloc((size_t)(n + o->max_new), sizeof *g->tokens);
  if (o->temperature > 0) g->cand = ls_calloc((size_t)e->vocab, sizeof *g->cand);
  if (!g->tokens || (o->temperature > 0 && !g->cand)) {
    ls_gen_end(g);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  memcpy(g->tokens, prompt, (size_t)n * sizeof *prompt);
  rc = ls_kv_new(&g->kv, e, n + o->max_new, d);
  if (rc) {
    ls_gen_end(g);
    return rc;
  }
  ls_rng_seed(&g->rng, o->seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull);
  *out = g;
  return LS_OK;
}

/* ---- choosing the next token ---------------------------------------------------------- */

static int by_p_desc(const void *a, const void *b) {
  const ls__gen_cand *x = a, *y = b;
  if (x->p != y->p) return x->p > y->p ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* A draw from softmax(row / T) over its nucleus: the most probable tokens whose mass first
 * reaches top_p (as transformers' TopPLogitsWarper keeps them), renormalised. NaN logits
 * get probability 0. */
static int64_t sample(ls_gen *g, const float *row, int64_t V) {
  double mx = -INFINITY, sum = 0, T = g->o.temperature;
  ls__gen_cand *c = g->cand;
  for (int64_t i = 0; i < V; i++)
    if (row[i] == row[i] && row[i] > mx) mx = row[i];
  for (int64_t i = 0; i < V; i++) {
    c[i].p = row[i] == row[i] ? exp(((double)row[i] - mx) / T) : 0.0;
    c[i].id = i;
    sum += c[i].p;
  }
  int64_t keep = V;
  double mass = sum;
  if (g->o.top_p > 0 && g->o.top_p < 1) {
    qsort(c, (size_t)V, sizeof *c, by_p_desc);
    double acc = 0;
    for (keep = 0; keep < V && (keep == 0 || acc < g->o.top_p * sum);) acc += c[keep++].p;
    mass = acc;
  }
  double u = ls_rng_uniform(&g->rng) * mass, acc = 0;
  for (int64_t k = 0; k < keep; k++) {
    acc += c[k].p;
    if (u < acc) return c[k].id;
  }
  return c[keep - 1].id; /* rounding at the very top of the mass */
}

int ls_gen_step(ls_gen *g, ls_gen_token *st, ls_diag *d) {
  if (g->failed) return ls_diag_set(d, LS_ESTATE, "the generation run failed earlier");
  if (g->done >= g->o.max_new) return ls_diag_set(d, LS_ESTATE, "all %lld tokens have been generated",
                                                   (long long)g->o.max_new);
  ls_fwd_free(g->f);
  g->f = NULL;
  /* the prefill covers the prompt; later passes the one token chosen last */
  int64_t from = g->done == 0 ? 0 : g->n - 1, len = g->n - from;
  ls_fwd_opts fo = g->o.fwd;
  fo.kv = g->kv;
  fo.token_type_ids = NULL;
  fo.attention_mask = NULL;
  int rc = ls_fwd_new(&g->f, g->e, g->tokens + from, len, &fo, d);
  if (!rc && g->o.on_pass) g->o.on_pass(g->o.on_pass_ud, g->f, g->done);
  if (!rc) rc = ls_fwd_run(g->f, d);
  if (rc) {
    g->failed = 1;
    return rc;
  }
  int64_t rows, V;
  const float *row = ls_fwd_logits(g->f, &rows, &V) + (rows - 1) * V;
  memset(st, 0, sizeof *st);
  for (int64_t i = 0; i < V; i++) st->n_nan += row[i] != row[i];
  if (st->n_nan == V) {
    g->failed = 1;
    return ls_diag_set(d, LS_EINVAL, "every logit at position %lld is NaN: no token to choose",
                       (long long)(g->n - 1));
  }
  ls_ops_topk(row, V, 1, &st->top, &st->top_logit);
  st->token = g->o.temperature > 0 ? sample(g, row, V) : st->top;
  st->logit = row[st->token];
  st->index = g->done;
  st->pos = g->n;
  st->logits = row;
  st->vocab = V;
  st->cached = g->kv->len;
  g->tokens[g->n++] = st->token;
  g->done++;
  return LS_OK;
}

ls_fwd *ls_gen_fwd(ls_gen *g) { return g->f; }
const ls_kv *ls_gen_kv(const ls_gen *g) { return g->kv; }

const int64_t *ls_gen_tokens(const ls_gen *g, int64_t *n) {
  if (n) *n = g->n;
  return g->tokens;
}

void ls_gen_end(ls_gen *g) {
  if (!g) return;
  ls_fwd_free(g->f);
  ls_kv_free(g->kv);
  ls_free(g->tokens);
  ls_free(g->cand);
  ls_free(g);
}
