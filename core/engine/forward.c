/* forward.c: the lifecycle of one forward pass (ls_fwd): buffers, the module events and the
 * pause / step / abort machinery of forward.h, and the small helpers (linear, norm) that
 * wrap a kernel in its module's enter and exit events. The family code (fwd_decoder.c,
 * fwd_encoder.c) is a straight-line program over the plan that calls these helpers.
 *
 * Pausing is a condition variable owned by the pass: the engine thread sets PAUSED,
 * notifies (on_pause), then waits for resume_pending; ls_fwd_resume fills it. Every state
 * change broadcasts the same condition, which is also what ls_fwd_wait sleeps on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/engine_int.h"
#include "core/engine/ops_bf16.h"
#include "core/engine/rng.h"

/* ---- events -------------------------------------------------------------------------- */

ls_fwd_tensor ls__act(const char *name, const float *data, int64_t rows, int64_t cols) {
  ls_fwd_tensor t = {.name = name, .dtype = LS_DT_F32, .data = data};
  if (rows < 0) {
    t.ndim = 2;
    t.shape[0] = 1;
    t.shape[1] = cols;
  } else {
    t.ndim = 3;
    t.shape[0] = 1;
    t.shape[1] = rows;
    t.shape[2] = cols;
  }
  return t;
}

ls_fwd_tensor ls__ids(const ls_fwd *f) {
  ls_fwd_tensor t = {.name = "input_ids", .dtype = LS_DT_I64, .data = f->tokens, .ndim = 2,
                     .shape = {f->B, f->L}};
  return t;
}

static void fill_params(ls_fwd *f, ls_fwd_event *ev) {
  const ls_model_module *mod = ev->mod;
  ev->n_params = 0;
  for (int i = 0; i < mod->n_tensors && ev->n_params < LS_FWD_MAX_TENSORS; i++) {
    const ls_model_tensor *t = &f->m->tensors[mod->first_tensor + i];
    const ls__wb *b = &f->e->wb[mod->first_tensor + i];
    ls_fwd_tensor *p = &ev->params[ev->n_params++];
    p->name = t->leaf;
    p->dtype = b->dtype;
    p->data = b->mat.data;
    p->ndim = t->ndim;
    memcpy(p->shape, t->shape, sizeof p->shape);
    if (b->mat.type == LS_OPS_MXFP4) { /* the blocks as stored, u8 [E, out, in / 32, 16] */
      const int64_t shp[4] = {t->shape[0], t->shape[2], t->shape[1] / 32, 16};
      p->ndim = 4;
      memcpy(p->shape, shp, sizeof shp);
    }
  }
}

static int step_matches(const ls_fwd *f, const ls_fwd_event *ev) {
  switch (f->step_mode) {
  case LS_FWD_STEP_IN: return 1;
  case LS_FWD_STEP_OVER: return ev->depth <= f->step_depth;
  case LS_FWD_STEP_OUT: return ev->phase == LS_FWD_EXIT && ev->depth < f->step_depth;
  default: return 0;
  }
}

/* Blocks the engine thread at ev until resumed; returns LS_ECANCELED for ABORT. */
static int pause_at(ls_fwd *f, const ls_fwd_event *ev, ls_fwd_reason why) {
  pthread_mutex_lock(&f->mu);
  f->state = LS_FWD_PAUSED;
  f->paused = ev;
  f->resume_pending = 0;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
  if (f->o.on_pause) f->o.on_pause(f->o.ud, ev, why);
  pthread_mutex_lock(&f->mu);
  while (!f->resume_pending && !atomic_load(&f->abort_req)) pthread_cond_wait(&f->cv, &f->mu);
  int action = f->resume_pending ? f->resume_action : LS_FWD_ABORT;
  f->resume_pending = 0;
  f->paused = NULL;
  f->state = LS_FWD_RUNNING;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
  f->step_mode = 0;
  if (action == LS_FWD_ABORT) return LS_ECANCELED;
  if (action == LS_FWD_STEP_IN || action == LS_FWD_STEP_OVER || action == LS_FWD_STEP_OUT) {
    f->step_mode = action;
    f->step_depth = ev->depth;
  }
  return LS_OK;
}

/* A batch: the family code builds activations as [1, B * L, cols] (ls__act); the event
 * shows them as [B, L, cols]. */
static void batch_shapes(const ls_fwd *f, ls_fwd_tensor *t, int n) {
  for (int i = 0; i < n; i++)
    if (t[i].ndim == 3 && t[i].shape[0] == 1 && t[i].shape[1] == f->S) {
      t[i].shape[0] = f->B;
      t[i].shape[1] = f->L;
    }
}

static int emit(ls_fwd *f, ls_fwd_event *ev) {
  int armed = f->o.hook || f->step_mode || atomic_load_explicit(&f->pause_req, memory_order_relaxed) ||
              atomic_load_explicit(&f->abort_req, memory_order_relaxed);
  ev->serial = f->serial++;
  if (!armed) return LS_OK;
  if (atomic_load(&f->abort_req)) return LS_ECANCELED;
  ev->mod = &f->m->modules[ev->module];
  ev->name = ev->mod->name;
  ev->depth = ev->mod->depth;
  ev->seq = f->L;
  if (f->B > 1) {
    batch_shapes(f, ev->inputs, ev->n_inputs);
    batch_shapes(f, ev->outputs, ev->n_outputs);
    batch_shapes(f, ev->inter, ev->n_inter);
  }
  fill_params(f, ev);
  int why = -1;
  if (f->o.hook) {
    int act = f->o.hook(f->o.ud, ev);
    if (act == LS_FWD_ABORT) return LS_ECANCELED;
    if (act == LS_FWD_PAUSE) why = LS_FWD_REASON_HOOK;
  }
  if (why < 0 && f->step_mode && step_matches(f, ev)) why = LS_FWD_REASON_STEP;
  if (why < 0 && atomic_exchange(&f->pause_req, 0)) why = LS_FWD_REASON_REQUEST;
  return why < 0 ? LS_OK : pause_at(f, ev, (ls_fwd_reason)why);
}

static void copy_tensors(ls_fwd_tensor *dst, int *n, const ls_fwd_tensor *src, int k) {
  if (k > LS_FWD_MAX_TENSORS) k = LS_FWD_MAX_TENSORS;
  if (k > 0) memcpy(dst, src, (size_t)k * sizeof *src);
  *n = k > 0 ? k : 0;
}

int ls__fw_enter(ls_fwd *f, int mod, const ls_fwd_tensor *in, int n_in) {
  if (mod < 0) return LS_OK;
  ls_fwd_event ev;
  ev.phase = LS_FWD_ENTER;
  ev.module = mod;
  ev.n_outputs = ev.n_inter = 0;
  copy_tensors(ev.inputs, &ev.n_inputs, in, n_in);
  return emit(f, &ev);
}

int ls__fw_exit(ls_fwd *f, int mod, const ls_fwd_tensor *in, int n_in,
                const ls_fwd_tensor *out, int n_out, const ls_fwd_tensor *inter, int n_inter) {
  if (mod < 0) return LS_OK;
  ls_fwd_event ev;
  ev.phase = LS_FWD_EXIT;
  ev.module = mod;
  copy_tensors(ev.inputs, &ev.n_inputs, in, n_in);
  copy_tensors(ev.outputs, &ev.n_outputs, out, n_out);
  copy_tensors(ev.inter, &ev.n_inter, inter, n_inter);
  return emit(f, &ev);
}

int ls__fw_linear(ls_fwd *f, const ls__lin *l, const float *x, int64_t rows, float *y) {
  ls_fwd_tensor in = ls__act("input", x, rows, l->in);
  int rc = ls__fw_enter(f, l->mod, &in, 1);
  if (rc) return rc;
  if (ls_ops_matmul(f->e->pool, y, x, rows, &l->w->mat, l->nk, l->b ? l->b->vec : NULL))
    return ls_diag_set(&f->diag, LS_ENOMEM, "out of memory for a weight panel of %s",
                       l->w->name);
  ls_fwd_tensor out = ls__act("output", y, rows, l->out);
  return ls__fw_exit(f, l->mod, &in, 1, &out, 1, NULL, 0);
}

int ls__fw_linears(ls_fwd *f, int n, const ls__lin *const *ls, const float *x, int64_t rows,
                   float *const *ys) {
  if (n < 1 || n > LS_OPS_BF16_MAX_MATS || f->o.separate_products) {
    for (int i = 0; i < n; i++) {
      int rc = ls__fw_linear(f, ls[i], x, rows, ys[i]);
      if (rc) return rc;
    }
    return LS_OK;
  }
  const ls_ops_mat *ws[LS_OPS_BF16_MAX_MATS];
  const float *bs[LS_OPS_BF16_MAX_MATS];
  for (int i = 0; i < n; i++) {
    ws[i] = &ls[i]->w->mat;
    bs[i] = ls[i]->b ? ls[i]->b->vec : NULL;
  }
  /* The products run before the first enter event: a hook only reads the event's tensors,
   * so it cannot tell, and a pass stopped at one of these modules has done a few ms more. */
  if (ls_ops_matmul_multi(f->e->pool, n, ys, x, rows, ws, ls[0]->nk, bs))
    return ls_diag_set(&f->diag, LS_ENOMEM, "out of memory for a weight panel of %s",
                       ls[0]->w->name);
  for (int i = 0; i < n; i++) {
    ls_fwd_tensor in = ls__act("input", x, rows, ls[i]->in);
    int rc = ls__fw_enter(f, ls[i]->mod, &in, 1);
    if (rc) return rc;
    ls_fwd_tensor out = ls__act("output", ys[i], rows, ls[i]->out);
    rc = ls__fw_exit(f, ls[i]->mod, &in, 1, &out, 1, NULL, 0);
    if (rc) return rc;
  }
  return LS_OK;
}

int ls__fw_norm(ls_fwd *f, const ls__norm *n, int kind, const float *x, float *y, int64_t rows,
                int64_t dim, float eps) {
  ls_fwd_tensor in = ls__act("input", x, rows, dim);
  int rc = ls__fw_enter(f, n->mod, &in, 1);
  if (rc) return rc;
  if (kind == LS_MODEL_NORM_LAYER)
    ls_ops_layernorm(f->e->pool, y, x, rows, dim, n->w, n->b, eps);
  else
    ls_ops_rmsnorm(f->e->pool, y, x, rows, dim, n->w, kind == LS_MODEL_NORM_RMS_PLUS1 ? 1.0f : 0.0f,
                   eps);
  ls_fwd_tensor out = ls__act("output", y, rows, dim);
  return ls__fw_exit(f, n->mod, &in, 1, &out, 1, NULL, 0);
}

/* ---- KV cache ------------------------------------------------------------------------ */

size_t ls_kv_bytes(const ls_engine *e, int64_t cap) {
  uint64_t w = (uint64_t)e->n_kv * (uint64_t)e->head_dim, n = (uint64_t)(e->n_layers > 0 ? e->n_layers : 1);
  if (cap <= 0 || w == 0) return 0;
  if ((uint64_t)cap > SIZE_MAX / 8 / w / n) return 0;
  return (size_t)(2 * sizeof(float) * n * (uint64_t)cap * w);
}

int ls_kv_new(ls_kv **out, const ls_engine *e, int64_t cap, ls_diag *d) {
  *out = NULL;
  if (e->arch == LS__ARCH_BERT)
    return ls_diag_set(d, LS_EUNSUPPORTED, "a KV cache is for decoder families; %s is an encoder",
                       e->m->model_type);
  size_t bytes = ls_kv_bytes(e, cap);
  if (!bytes) return ls_diag_set(d, LS_EOVERFLOW, "a KV cache of %lld positions is too large", (long long)cap);
  ls_kv *kv = ls_calloc(1, sizeof *kv);
  if (!kv) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  kv->n_layers = e->n_layers;
  kv->width = e->n_kv * e->head_dim;
  kv->cap = cap;
  kv->k = ls_malloc(bytes / 2);
  kv->v = ls_malloc(bytes / 2);
  if (!kv->k || !kv->v) {
    ls_kv_free(kv);
    return ls_diag_set(d, LS_ENOMEM, "out of memory for a KV cache of %lld positions (%zu bytes)",
                       (long long)cap, bytes);
  }
  *out = kv;
  return LS_OK;
}

void ls_kv_free(ls_kv *kv) {
  if (!kv) return;
  ls_free(kv->k);
  ls_free(kv->v);
  ls_free(kv);
}

int64_t ls_kv_len(const ls_kv *kv) { return kv->len; }
int64_t ls_kv_cap(const ls_kv *kv) { return kv->cap; }

const float *ls_kv_layer(const ls_kv *kv, int64_t l, int which, int64_t *len, int64_t *width) {
  if (l < 0 || l >= kv->n_layers) return NULL;
  if (len) *len = kv->len;
  if (width) *width = kv->width;
  return (which ? kv->v : kv->k) + l * kv->cap * kv->width;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

/* The activation buffers come from calloc: large ones are fresh zero pages that fault in
 * on first write, which for GPT-2 small (the [S, vocab] logits alone are 25 MiB at S = 128)
 * would be thousands of page faults inside the first forward pass. fbuf records the large
 * ones, and fbufs_touch writes them once on the engine's workers, so the pass runs at its
 * steady speed from the start. */
#define FBUF_TOUCH_MIN (1 << 16) /* floats; smaller ones come from the heap, already mapped */

typedef struct fbufs {
  int fail;          /* an allocation failed or overflowed */
  int n;
  struct {
    float *p;
    int64_t len;     /* floats */
  } big[32];         /* more than ls_fwd_new allocates */
  int64_t total;     /* sum of big[].len */
  int64_t chunk;     /* floats per touch task */
} fbufs;

static float *fbuf(int64_t a, int64_t b, fbufs *t) {
  if (a <= 0 || b <= 0) return NULL;
  if ((uint64_t)a > SIZE_MAX / sizeof(float) / (uint64_t)b) {
    t->fail = 1;
    return NULL;
  }
  float *p = ls_calloc((size_t)(a * b), sizeof(float));
  if (!p) t->fail = 1;
  else if (a * b >= FBUF_TOUCH_MIN && t->n < (int)(sizeof t->big / sizeof t->big[0])) {
    t->big[t->n].p = p;
    t->big[t->n++].len = a * b;
    t->total += a * b;
  }
  return p;
}

static void fbufs_touch_task(void *ctx, int i, int worker) {
  (void)worker;
  const fbufs *t = ctx;
  int64_t lo = (int64_t)i * t->chunk, hi = lo + t->chunk, at = 0;
  for (int k = 0; k < t->n; k++) {
    int64_t a = lo > at ? lo : at, z = hi < at + t->big[k].len ? hi : at + t->big[k].len;
    if (a < z) memset(t->big[k].p + (a - at), 0, (size_t)(z - a) * sizeof(float));
    at += t->big[k].len;
  }
}

static void fbufs_touch(ls_pool *p, fbufs *t) {
  if (!t->total) return;
  t->chunk = 1 << 18; /* 1 MiB per task */
  ls_pool_run(p, (int)((t->total + t->chunk - 1) / t->chunk), fbufs_touch_task, t);
}

static int check_tokens(int64_t vocab, int64_t learned_pos, const int64_t *tokens, int64_t n, ls_diag *d) {
  if (n <= 0) return ls_diag_set(d, LS_EINVAL, "no input tokens");
  if (learned_pos > 0 && n > learned_pos)
    return ls_diag_set(d, LS_ELIMIT, "%lld tokens exceed the %lld learned positions", (long long)n,
                       (long long)learned_pos);
  if (n > (1 << 20)) return ls_diag_set(d, LS_ELIMIT, "%lld tokens: at most 1048576", (long long)n);
  for (int64_t i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= vocab)
      return ls_diag_set(d, LS_EINVAL, "token %lld at position %lld is outside the vocabulary (vocab_size %lld)",
                         (long long)tokens[i], (long long)i, (long long)vocab);
  return LS_OK;
}

void ls_fwd_random_tokens(uint64_t seed, int64_t vocab, int64_t *out, int64_t n) {
  ls_rng r;
  ls_rng_seed(&r, seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull);
  for (int64_t i = 0; i < n; i++) out[i] = (int64_t)(ls_rng_u64(&r) % (uint64_t)vocab);
}

int ls_fwd_check_tokens(const ls_model *m, const int64_t *tokens, int64_t n, ls_diag *d) {
  int learned = m->family == LS_MODEL_FAMILY_GPT2 || m->family == LS_MODEL_FAMILY_BERT ||
                m->family == LS_MODEL_FAMILY_ROBERTA;
  return check_tokens(m->sem.vocab, learned ? m->sem.max_pos : 0, tokens, n, d);
}

int ls_fwd_batch_pack(const int64_t *const *rows, const int64_t *lens, int64_t B,
                      const int64_t *const *masks, const int64_t *mask_lens, int64_t **tokens,
                      int **mask, int64_t *L, ls_diag *d) {
  *tokens = NULL;
  *mask = NULL;
  *L = 0;
  if (B <= 0) return ls_diag_set(d, LS_EINVAL, "no input rows");
  int64_t len = 0, ragged = 0;
  for (int64_t b = 0; b < B; b++) {
    if (lens[b] <= 0) return ls_diag_set(d, LS_EINVAL, "row %lld has no tokens", (long long)b);
    if (masks && mask_lens[b] != lens[b])
      return ls_diag_set(d, LS_EINVAL, "the attention mask's row %lld has %lld values for %lld tokens",
                         (long long)b, (long long)mask_lens[b], (long long)lens[b]);
    if (b > 0 && lens[b] != len) ragged = 1;
    if (lens[b] > len) len = lens[b];
  }
  if (len > (1 << 20) / B)
    return ls_diag_set(d, LS_ELIMIT, "%lld rows of %lld tokens: at most 1048576 tokens in all", (long long)B,
                       (long long)len);
  int64_t *t = ls_calloc((size_t)(B * len), sizeof *t);
  int *mk = masks || ragged ? ls_calloc((size_t)(B * len), sizeof *mk) : NULL;
  if (!t || ((masks || ragged) && !mk)) {
    ls_free(t);
    ls_free(mk);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < lens[b]; i++) {
      t[b * len + i] = rows[b][i];
      if (mk) mk[b * len + i] = masks ? masks[b][i] != 0 : 1;
    }
  *tokens = t;
  *mask = mk;
  *L = len;
  return LS_OK;
}

int ls_fwd_new(ls_fwd **out, ls_engine *e, const int64_t *tokens, int64_t n,
               const ls_fwd_opts *opts, ls_diag *d) {
  *out = NULL;
  int learned = e->arch == LS__ARCH_GPT2 || e->arch == LS__ARCH_BERT;
  ls_kv *kv = opts ? opts->kv : NULL;
  int64_t pos0 = kv ? kv->len : 0;
  int64_t B = opts && opts->batch > 1 ? opts->batch : 1;
  if (opts && opts->batch < 0) return ls_diag_set(d, LS_EINVAL, "batch %lld: must be >= 1", (long long)opts->batch);
  if (n <= 0) return ls_diag_set(d, LS_EINVAL, "no input tokens");
  if (n % B) return ls_diag_set(d, LS_EINVAL, "%lld tokens do not make %lld rows of one length", (long long)n, (long long)B);
  int64_t L = n / B;
  if (B > 1 && kv)
    return ls_diag_set(d, LS_EUNSUPPORTED, "a batch of %lld rows cannot use a KV cache (generation runs one row)",
                       (long long)B);
  if (kv && e->arch == LS__ARCH_BERT)
    return ls_diag_set(d, LS_EUNSUPPORTED, "a KV cache is for decoder families; %s is an encoder",
                       e->m->model_type);
  if (kv && (n > kv->cap - kv->len || kv->n_layers != e->n_layers))
    return ls_diag_set(d, LS_ELIMIT, "%lld more tokens do not fit the KV cache (%lld of %lld positions used)",
                       (long long)n, (long long)kv->len, (long long)kv->cap);
  if (kv && learned && n > e->max_pos - pos0)
    return ls_diag_set(d, LS_ELIMIT, "positions %lld..%lld exceed the %lld learned positions", (long long)pos0,
                       (long long)(pos0 + n - 1), (long long)e->max_pos);
  if (B > 1 && n > (1 << 20))
    return ls_diag_set(d, LS_ELIMIT, "%lld rows of %lld tokens: at most 1048576 tokens in all", (long long)B,
                       (long long)L);
  for (int64_t b = 0; b < B; b++) { /* positions restart per row */
    int rc = check_tokens(e->vocab, learned && !kv ? e->max_pos : 0, tokens + b * L, L, d);
    if (rc) return rc;
  }
  ls_fwd *f = ls_calloc(1, sizeof *f);
  if (!f) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  f->e = e;
  f->m = e->m;
  f->S = n;
  f->B = B;
  f->L = L;
  f->has_mask = opts && opts->attention_mask;
  f->kv = kv;
  f->pos0 = pos0;
  f->T = pos0 + L;
  if (opts) f->o = *opts;
  f->o.token_type_ids = NULL;
  f->o.attention_mask = NULL;
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cv, NULL);
  ls_diag_init(&f->diag);
  fbufs fb = {.fail = 0};
  const int64_t S = n, H = e->H, D = e->head_dim;
  int64_t qkv = (e->n_heads + 2 * e->n_kv) * D;
  int64_t wide = e->inter * 2 > H ? e->inter * 2 : H;
  if (e->n_experts > 0 && e->moe_inter * 2 > wide) wide = e->moe_inter * 2;
  if (e->shared_inter * 2 > wide) wide = e->shared_inter * 2;
  f->tokens = ls_calloc((size_t)S, sizeof *f->tokens);
  f->types = ls_calloc((size_t)S, sizeof *f->types);
  f->mask = ls_calloc((size_t)S, sizeof *f->mask);
  f->ex_rows = ls_calloc((size_t)S, sizeof *f->ex_rows);
  if (!f->tokens || !f->types || !f->mask || !f->ex_rows) fb.fail = 1;
  f->x = fbuf(S, H, &fb);
  f->x2 = fbuf(S, H, &fb);
  f->h = fbuf(S, H, &fb);
  f->nrm = fbuf(S, H, &fb);
  f->nrm2 = fbuf(S, H, &fb);
  f->aux = fbuf(S, H, &fb);
  f->qkv = fbuf(S, qkv, &fb);
  f->att = fbuf(S, e->n_heads * D, &fb);
  f->ao = fbuf(S, H, &fb);
  f->fo = fbuf(S, H, &fb);
  f->ff1 = fbuf(S, wide, &fb);
  f->ff2 = fbuf(S, wide, &fb);
  const int64_t T = f->T;
  if ((uint64_t)S * (uint64_t)T > (uint64_t)INT64_MAX / (uint64_t)(e->n_heads + 1)) fb.fail = 1;
  else f->probs = fbuf(e->n_heads * S, T, &fb);
  if (e->rope.rot_dim > 0) {
    f->cos_t = fbuf(T, e->rope.rot_dim / 2, &fb);
    f->sin_t = fbuf(T, e->rope.rot_dim / 2, &fb);
    if (e->has_local_rope) {
      f->cos_l = fbuf(T, e->rope.rot_dim / 2, &fb);
      f->sin_l = fbuf(T, e->rope.rot_dim / 2, &fb);
    }
  }
  if (e->has_qk_norm) f->qk = fbuf(S, (e->n_heads + e->n_kv) * D, &fb);
  if (e->has_qkv_per_head) f->qkv_raw = fbuf(S, 3 * e->n_heads * D, &fb);
  if (e->mla_rope > 0) f->mla = fbuf(S, e->mla_scratch, &fb);
  if (e->n_experts > 0) {
    f->router = fbuf(S, e->n_experts, &fb);
    f->routing = fbuf(S, e->n_experts, &fb);
    f->ex_in = fbuf(S, H, &fb);
    f->ex_out = fbuf(S, H, &fb);
  }
  f->logit_rows = S;
  f->logit_cols = e->lm_head.w ? e->lm_head.out : H; /* no LM head: the last hidden state */
  f->logits = fbuf(S, f->logit_cols, &fb);
  if (fb.fail) {
    ls_fwd_free(f);
    if (B > 1)
      return ls_diag_set(d, LS_ENOMEM, "out of memory for the activations of %lld rows of %lld tokens: use a "
                         "smaller batch", (long long)B, (long long)L);
    return ls_diag_set(d, LS_ENOMEM, "out of memory for the activations of %lld tokens", (long long)S);
  }
  fbufs_touch(e->pool, &fb);
  memcpy(f->tokens, tokens, (size_t)S * sizeof *tokens);
  for (int64_t i = 0; i < S; i++) {
    f->types[i] = opts && opts->token_type_ids ? opts->token_type_ids[i] : 0;
    f->mask[i] = opts && opts->attention_mask ? (opts->attention_mask[i] != 0) : 1;
    if (e->type_emb && (f->types[i] < 0 || f->types[i] >= e->type_emb->shape[0])) {
      ls_fwd_free(f);
      return ls_diag_set(d, LS_EINVAL, "token type %lld at position %lld is outside "
                         "type_vocab_size %lld", (long long)opts->token_type_ids[i], (long long)i,
                         (long long)e->type_emb->shape[0]);
    }
  }
  f->state = LS_FWD_READY;
  *out = f;
  return LS_OK;
}

void ls_fwd_free(ls_fwd *f) {
  if (!f) return;
  if (f->started && !f->joined) {
    ls_fwd_abort(f);
    ls_fwd_join(f, NULL);
  }
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->cv);
  float *bufs[] = {f->x, f->x2, f->h, f->nrm, f->nrm2, f->aux, f->qkv, f->att, f->ao, f->fo,
                   f->ff1, f->ff2, f->probs, f->cos_t, f->sin_t, f->cos_l, f->sin_l, f->qk,
                   f->qkv_raw, f->mla, f->router, f->routing,
                   f->ex_in, f->ex_out, f->logits};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ls_free(bufs[i]);
  ls_free(f->tokens);
  ls_free(f->types);
  ls_free(f->mask);
  ls_free(f->ex_rows);
  ls_free(f);
}

static void set_state(ls_fwd *f, ls_fwd_state s) {
  pthread_mutex_lock(&f->mu);
  f->state = s;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

int ls_fwd_run(ls_fwd *f, ls_diag *d) {
  pthread_mutex_lock(&f->mu);
  if (f->state != LS_FWD_READY) {
    pthread_mutex_unlock(&f->mu);
    return ls_diag_set(d, LS_ESTATE, "this forward pass has already run");
  }
  f->state = LS_FWD_RUNNING;
  pthread_mutex_unlock(&f->mu);
  int rc = f->e->arch == LS__ARCH_BERT ? ls__fwd_encoder(f) : ls__fwd_decoder(f);
  if (rc == 0 && f->kv) f->kv->len = f->T; /* the pass wrote rows pos0..T-1 of every layer */
  f->result = rc;
  if (rc == LS_ECANCELED) ls_diag_set(&f->diag, rc, "forward pass aborted");
  else if (rc && f->diag.code == 0) ls_diag_set(&f->diag, rc, "forward pass failed");
  if (rc && d) *d = f->diag;
  set_state(f, rc == 0 ? LS_FWD_DONE : rc == LS_ECANCELED ? LS_FWD_ABORTED : LS_FWD_FAILED);
  return rc;
}

static void *fwd_thread(void *arg) {
  ls_fwd *f = arg;
  ls_fwd_run(f, NULL);
  return NULL;
}

int ls_fwd_start(ls_fwd *f) {
  if (f->started || f->state != LS_FWD_READY) return LS_ESTATE;
  if (pthread_create(&f->thread, NULL, fwd_thread, f) != 0) return LS_EIO;
  f->started = 1;
  return LS_OK;
}

int ls_fwd_join(ls_fwd *f, ls_diag *d) {
  if (!f->started) return LS_ESTATE;
  if (!f->joined) {
    pthread_join(f->thread, NULL);
    f->joined = 1;
  }
  if (f->result && d) *d = f->diag;
  return f->result;
}

int ls_fwd_resume(ls_fwd *f, int action) {
  if (action != LS_FWD_CONTINUE && action != LS_FWD_ABORT && action != LS_FWD_STEP_IN &&
      action != LS_FWD_STEP_OVER && action != LS_FWD_STEP_OUT)
    return LS_EINVAL;
  pthread_mutex_lock(&f->mu);
  int rc = LS_OK;
  if (f->state != LS_FWD_PAUSED || f->resume_pending) rc = LS_ESTATE;
  else {
    f->resume_action = action;
    f->resume_pending = 1;
    pthread_cond_broadcast(&f->cv);
  }
  pthread_mutex_unlock(&f->mu);
  return rc;
}

void ls_fwd_request_pause(ls_fwd *f) { atomic_store(&f->pause_req, 1); }

void ls_fwd_abort(ls_fwd *f) {
  pthread_mutex_lock(&f->mu);
  atomic_store(&f->abort_req, 1);
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

ls_fwd_state ls_fwd_get_state(ls_fwd *f) {
  pthread_mutex_lock(&f->mu);
  ls_fwd_state s = f->state;
  pthread_mutex_unlock(&f->mu);
  return s;
}

ls_fwd_state ls_fwd_wait(ls_fwd *f, int timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  if (timeout_ms > 0) {
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
  }
  pthread_mutex_lock(&f->mu);
  for (;;) {
    ls_fwd_state s = f->state;
    if ((s == LS_FWD_PAUSED && !f->resume_pending) || s == LS_FWD_DONE || s == LS_FWD_ABORTED ||
        s == LS_FWD_FAILED)
      break;
    if (timeout_ms < 0) pthread_cond_wait(&f->cv, &f->mu);
    else if (timeout_ms == 0 || pthread_cond_timedwait(&f->cv, &f->mu, &until) == ETIMEDOUT)
      break;
  }
  ls_fwd_state s = f->state;
  pthread_mutex_unlock(&f->mu);
  return s;
}

const ls_fwd_event *ls_fwd_paused_event(ls_fwd *f) {
  pthread_mutex_lock(&f->mu);
  const ls_fwd_event *ev = f->state == LS_FWD_PAUSED ? f->paused : NULL;
  pthread_mutex_unlock(&f->mu);
  return ev;
}

void ls_fwd_batch(const ls_fwd *f, int64_t *B, int64_t *S) {
  if (B) *B = f->B;
  if (S) *S = f->L;
}

int64_t ls_fwd_row_len(const ls_fwd *f, int64_t b) {
  if (b < 0 || b >= f->B) return 0;
  int64_t len = f->L;
  while (len > 0 && !f->mask[b * f->L + len - 1]) len--;
  return len;
}

const float *ls_fwd_logits(const ls_fwd *f, int64_t *rows, int64_t *cols) {
  if (rows) *rows = f->logit_rows;
  if (cols) *cols = f->logit_cols;
  return f->state == LS_FWD_DONE ? f->logits : NULL;
}

int ls_fwd_topk(const ls_fwd *f, int k, int64_t *ids, float *logits) {
  if (f->state != LS_FWD_DONE) return LS_ESTATE;
  if (k <= 0 || k > f->logit_cols) return LS_EINVAL;
  ls_ops_topk(f->logits + (f->logit_rows - 1) * f->logit_cols, f->logit_cols, k, ids, logits);
  return LS_OK;
}

/* next_tokens at logits row r */
static int next_tokens_at(const ls_fwd *f, int64_t r, int k, int64_t *ids, float *logits, int *ranked,
                          int64_t *n_nan, int64_t *n) {
  if (f->state != LS_FWD_DONE) return LS_ESTATE;
  if (k <= 0 || k > f->logit_cols || r < 0 || r >= f->logit_rows) return LS_EINVAL;
  const float *row = f->logits + r * f->logit_cols;
  int64_t nan = 0;
  for (int64_t i = 0; i < f->logit_cols; i++) nan += row[i] != row[i];
  /* top-k ranks NaN below every number, so the best (cols - nan) are exactly the numbers */
  int64_t real = f->logit_cols - nan;
  *ranked = real < k ? (int)real : k;
  if (*ranked) ls_ops_topk(row, f->logit_cols, *ranked, ids, logits);
  *n_nan = nan;
  *n = f->logit_cols;
  return LS_OK;
}

int ls_fwd_next_tokens(const ls_fwd *f, int k, int64_t *ids, float *logits, int *ranked, int64_t *n_nan, int64_t *n) {
  return next_tokens_at(f, f->logit_rows - 1, k, ids, logits, ranked, n_nan, n);
}

static int next_tokens_line_at(const ls_fwd *f, int64_t r, int k, char *buf, size_t cap) {
  int64_t ids[16], nan, n;
  float v[16];
  int ranked;
  if (k > 16) return LS_EINVAL;
  int rc = next_tokens_at(f, r, k, ids, v, &ranked, &nan, &n);
  if (rc) return rc;
  size_t len = 0;
  if (!ranked)
    len = (size_t)snprintf(buf, cap, "the logits contain %lld NaN of %lld values at the last position: no next "
                           "tokens to rank", (long long)nan, (long long)n);
  else
    len = (size_t)snprintf(buf, cap, "top-%d next tokens:", ranked);
  for (int i = 0; i < ranked && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, " %lld (%.3f)", (long long)ids[i], v[i]);
  if (ranked && nan && len < cap)
    snprintf(buf + len, cap - len, "; the logits contain %lld NaN of %lld values at the last position (not ranked)",
             (long long)nan, (long long)n);
  return LS_OK;
}

int ls_fwd_next_tokens_line(const ls_fwd *f, int k, char *buf, size_t cap) {
  return next_tokens_line_at(f, f->logit_rows - 1, k, buf, cap);
}

int ls_fwd_next_tokens_line_row(const ls_fwd *f, int64_t b, int k, char *buf, size_t cap) {
  if (b < 0 || b >= f->B) return LS_EINVAL;
  int64_t len = ls_fwd_row_len(f, b);
  return next_tokens_line_at(f, b * f->L + (len > 0 ? len - 1 : f->L - 1), k, buf, cap);
}
