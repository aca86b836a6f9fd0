/* fwd_decoder.c: the plan and forward pass of the decoder-only families: gpt2 (pre-LN,
 * learned positions, fused Conv1D c_attn, tanh GELU MLP, lm_head tied to wte) and the llama
 * family (llama / TinyLlama, mistral with a sliding window, qwen2 with q/k/v biases, gemma
 * with (1 + w) RMSNorm and sqrt(hidden) embedding scale, phi3 with fused qkv_proj and
 * gate_up_proj, mixtral with top-k routed experts). Each follows the upstream
 * modeling_<family>.py forward; the events are emitted in upstream module-call order, so a
 * hook sees exactly what a PyTorch forward hook on the same module would.
 *
 * Buffers are the pass's (engine_int.h); the residual stream ping-pongs between x and x2 so
 * a layer's input is still intact when its exit event shows it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/engine_int.h"
#include "core/engine/ops_bf16.h"

/* ---- plan ---------------------------------------------------------------------------- */

static int plan_layer(ls_engine *e, int64_t l, const char *pre, ls_diag *d) {
  const ls_model *m = e->m;
  ls__layer *L = &e->layer[l];
  const int64_t H = e->H, D = e->head_dim, nh = e->n_heads, nkv = e->n_kv, I = e->inter;
  char b[512];
  int rc = 0;
  L->moe = L->experts_list = L->attn_self = L->attn_out = L->inter_mod = L->out_mod = -1;
  if (e->arch == LS__ARCH_GPT2) {
    snprintf(b, sizeof b, "%sh.%lld", pre, (long long)l);
    L->mod = ls__mod(e, "%s", b);
    L->attn = ls__mod(e, "%s.attn", b);
    L->mlp = ls__mod(e, "%s.mlp", b);
    char n[600];
    snprintf(n, sizeof n, "%s.ln_1", b);
    rc = rc ? rc : ls__norm_bind(e, &L->n1, n, H, 1, d);
    snprintf(n, sizeof n, "%s.ln_2", b);
    rc = rc ? rc : ls__norm_bind(e, &L->n2, n, H, 1, d);
    snprintf(n, sizeof n, "%s.attn.c_attn", b);
    rc = rc ? rc : ls__lin_bind(e, &L->qkv, n, 0, H, 3 * H, 1, d);
    snprintf(n, sizeof n, "%s.attn.c_proj", b);
    rc = rc ? rc : ls__lin_bind(e, &L->o, n, 0, H, H, 1, d);
    snprintf(n, sizeof n, "%s.mlp.c_fc", b);
    rc = rc ? rc : ls__lin_bind(e, &L->fc1, n, 0, H, I, 1, d);
    snprintf(n, sizeof n, "%s.mlp.c_proj", b);
    rc = rc ? rc : ls__lin_bind(e, &L->fc2, n, 0, I, H, 1, d);
    L->window = 0;
    return rc;
  }
  snprintf(b, sizeof b, "%slayers.%lld", pre, (long long)l);
  L->mod = ls__mod(e, "%s", b);
  L->attn = ls__mod(e, "%s.self_attn", b);
  char n[600];
  snprintf(n, sizeof n, "%s.input_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->n1, n, H, 1, d);
  snprintf(n, sizeof n, "%s.post_attention_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->n2, n, H, 1, d);
  if (m->family == LS_MODEL_FAMILY_PHI3) {
    snprintf(n, sizeof n, "%s.self_attn.qkv_proj", b);
    rc = rc ? rc : ls__lin_bind(e, &L->qkv, n, 1, H, (nh + 2 * nkv) * D, 1, d);
  } else {
    snprintf(n, sizeof n, "%s.self_attn.q_proj", b);
    rc = rc ? rc : ls__lin_bind(e, &L->q, n, 1, H, nh * D, 1, d);
    snprintf(n, sizeof n, "%s.self_attn.k_proj", b);
    rc = rc ? rc : ls__lin_bind(e, &L->k, n, 1, H, nkv * D, 1, d);
    snprintf(n, sizeof n, "%s.self_attn.v_proj", b);
    rc = rc ? rc : ls__lin_bind(e, &L->v, n, 1, H, nkv * D, 1, d);
  }
  snprintf(n, sizeof n, "%s.self_attn.o_proj", b);
  rc = rc ? rc : ls__lin_bind(e, &L->o, n, 1, nh * D, H, 1, d);
  if (rc) return rc;
  L->window = L->attn >= 0 ? m->modules[L->attn].attn_window : m->sem.sliding_window;
  if (e->n_experts > 0) {
    L->moe = ls__mod(e, "%s.block_sparse_moe", b);
    L->experts_list = ls__mod(e, "%s.block_sparse_moe.experts", b);
    L->mlp = -1;
    snprintf(n, sizeof n, "%s.block_sparse_moe.gate", b);
    rc = ls__lin_bind(e, &L->router, n, 1, H, e->n_experts, 1, d);
    if (rc) return rc;
    L->experts = ls_calloc((size_t)e->n_experts, sizeof *L->experts);
    if (!L->experts) return ls_diag_set(d, LS_ENOMEM, "out of memory");
    for (int64_t x = 0; x < e->n_experts && !rc; x++) {
      ls__expert *X = &L->experts[x];
      X->mod = ls__mod(e, "%s.block_sparse_moe.experts.%lld", b, (long long)x);
      snprintf(n, sizeof n, "%s.block_sparse_moe.experts.%lld.w1", b, (long long)x);
      rc = ls__lin_bind(e, &X->w1, n, 1, H, I, 1, d);
      snprintf(n, sizeof n, "%s.block_sparse_moe.experts.%lld.w2", b, (long long)x);
      rc = rc ? rc : ls__lin_bind(e, &X->w2, n, 1, I, H, 1, d);
      snprintf(n, sizeof n, "%s.block_sparse_moe.experts.%lld.w3", b, (long long)x);
      rc = rc ? rc : ls__lin_bind(e, &X->w3, n, 1, H, I, 1, d);
    }
    return rc;
  }
  L->mlp = ls__mod(e, "%s.mlp", b);
  if (m->family == LS_MODEL_FAMILY_PHI3) {
    snprintf(n, sizeof n, "%s.mlp.gate_up_proj", b);
    rc = ls__lin_bind(e, &L->fc1, n, 1, H, 2 * I, 1, d);
  } else {
    snprintf(n, sizeof n, "%s.mlp.gate_proj", b);
    rc = ls__lin_bind(e, &L->fc1, n, 1, H, I, 1, d);
    snprintf(n, sizeof n, "%s.mlp.up_proj", b);
    rc = rc ? rc : ls__lin_bind(e, &L->up, n, 1, H, I, 1, d);
  }
  snprintf(n, sizeof n, "%s.mlp.down_proj", b);
  return rc ? rc : ls__lin_bind(e, &L->fc2, n, 1, I, H, 1, d);
}

static int plan_rope(ls_engine *e, ls_diag *d) {
  const ls_model_sem *s = &e->m->sem;
  ls_ops_rope *r = &e->rope;
  memset(r, 0, sizeof *r);
  int kind = ls_ops_rope_kind_parse(s->rope_type);
  if (kind < 0)
    return ls_diag_set(d, LS_EUNSUPPORTED, "rope_scaling type \"%s\" is not supported by the "
                       "engine (it runs default, linear, dynamic, llama3)", s->rope_type);
  double pr = s->partial_rotary > 0 ? s->partial_rotary : 1.0;
  int rot = (int)((double)e->head_dim * pr);
  rot -= rot % 2;
  r->kind = kind;
  r->rot_dim = rot;
  r->theta = s->rope_theta > 0 ? s->rope_theta : 10000.0;
  r->factor = s->rope_factor > 0 ? s->rope_factor : 1.0;
  r->low_freq_factor = s->rope_low_freq_factor;
  r->high_freq_factor = s->rope_high_freq_factor;
  r->original_max_pos = (double)s->rope_original_max_pos;
  r->max_pos = (double)e->max_pos;
  if (kind == LS_OPS_ROPE_LLAMA3 &&
      (r->original_max_pos <= 0 || r->low_freq_factor <= 0 ||
       r->high_freq_factor <= r->low_freq_factor))
    return ls_diag_set(d, LS_EINVAL, "rope_scaling llama3 needs original_max_position_embeddings"
                       " > 0 and high_freq_factor > low_freq_factor > 0");
  return LS_OK;
}

int ls__engine_plan_decoder(ls_engine *e, ls_diag *d) {
  const ls_model *m = e->m;
  const ls_model_sem *s = &m->sem;
  e->arch = m->family == LS_MODEL_FAMILY_GPT2 ? LS__ARCH_GPT2 : LS__ARCH_LLAMA;
  e->H = s->hidden;
  e->n_heads = s->n_heads;
  e->n_kv = s->n_kv_heads > 0 ? s->n_kv_heads : s->n_heads;
  e->head_dim = s->head_dim > 0 ? s->head_dim : (s->n_heads > 0 ? s->hidden / s->n_heads : 0);
  e->inter = s->intermediate;
  e->vocab = s->vocab;
  e->max_pos = s->max_pos;
  e->n_layers = s->n_layers;
  e->n_experts = s->n_experts;
  e->top_k = s->top_k;
  if (e->H <= 0 || e->n_heads <= 0 || e->head_dim <= 0 || e->n_kv <= 0 || e->inter <= 0 ||
      e->vocab <= 0 || e->n_layers < 0 || e->n_heads % e->n_kv != 0)
    return ls_diag_set(d, LS_EINVAL, "the config's sizes cannot be run (hidden %lld, heads %lld, "
                       "kv heads %lld, head_dim %lld)", (long long)e->H, (long long)e->n_heads,
                       (long long)e->n_kv, (long long)e->head_dim);
  if (e->n_experts > 256)
    return ls_diag_set(d, LS_EUNSUPPORTED, "%lld experts: the engine routes at most 256",
                       (long long)e->n_experts);
  if (e->n_experts > 0 && (e->top_k <= 0 || e->top_k > e->n_experts))
    return ls_diag_set(d, LS_EINVAL, "num_experts_per_tok %lld must be in 1..%lld",
                       (long long)e->top_k, (long long)e->n_experts);
  if (s->attn_logit_softcap > 0 || s->final_logit_softcap > 0 || s->query_pre_attn_scalar > 0)
    return ls_diag_set(d, LS_EUNSUPPORTED, "logit soft-capping / query_pre_attn_scalar (gemma2) "
                       "is not supported by the engine");
  e->act = ls_ops_act_parse(s->act);
  if (e->act < 0)
    return ls_diag_set(d, LS_EUNSUPPORTED, "activation \"%s\" is not supported by the engine",
                       s->act ? s->act : "(none)");
  const char *pre = m->base_prefix ? m->base_prefix : "";
  size_t pl = strlen(pre);
  e->root = 0;
  e->backbone = pl > 0 ? ls__mod(e, "%.*s", (int)(pl - 1), pre) : -1;
  int rc = 0;
  e->layer = ls_calloc((size_t)(e->n_layers > 0 ? e->n_layers : 1), sizeof *e->layer);
  if (!e->layer) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  char n[512];
  if (e->arch == LS__ARCH_GPT2) {
    snprintf(n, sizeof n, "%swte.weight", pre);
    e->tok_emb = ls__wb_find(e, n);
    e->tok_emb_mod = ls__mod(e, "%swte", pre);
    snprintf(n, sizeof n, "%swpe.weight", pre);
    e->pos_emb = ls__wb_find(e, n);
    e->pos_emb_mod = ls__mod(e, "%swpe", pre);
    e->layers_list = ls__mod(e, "%sh", pre);
    snprintf(n, sizeof n, "%sln_f", pre);
    rc = ls__norm_bind(e, &e->final_norm, n, e->H, 1, d);
    if (!e->pos_emb || e->pos_emb->ndim != 2 || e->pos_emb->shape[1] != e->H)
      return rc ? rc : ls_diag_set(d, LS_EUNSUPPORTED, "no %swpe.weight [n_positions, n_embd]", pre);
    e->max_pos = e->pos_emb->shape[0];
  } else {
    snprintf(n, sizeof n, "%sembed_tokens.weight", pre);
    e->tok_emb = ls__wb_find(e, n);
    e->tok_emb_mod = ls__mod(e, "%sembed_tokens", pre);
    e->pos_emb_mod = -1;
    e->layers_list = ls__mod(e, "%slayers", pre);
    snprintf(n, sizeof n, "%snorm", pre);
    rc = ls__norm_bind(e, &e->final_norm, n, e->H, 1, d);
    if (!rc) rc = plan_rope(e, d);
  }
  if (rc) return rc;
  if (!e->tok_emb || e->tok_emb->ndim != 2 || e->tok_emb->shape[1] != e->H ||
      e->tok_emb->shape[0] < e->vocab)
    return ls_diag_set(d, LS_EUNSUPPORTED, "no token embedding [vocab_size, hidden] in the tree");
  e->final_norm_mod = e->final_norm.mod;
  for (int64_t l = 0; l < e->n_layers && !rc; l++) rc = plan_layer(e, l, pre, d);
  if (rc) return rc;
  rc = ls__lin_bind(e, &e->lm_head, "lm_head", 1, e->H, e->vocab, 0, d);
  e->lm_head_mod = e->lm_head.mod;
  return rc;
}

/* ---- forward ------------------------------------------------------------------------- */

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static int moe_block(ls_fwd *f, const ls__layer *L, const float *in, float *out) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H, E = e->n_experts, K = e->top_k, I = e->inter;
  ls_fwd_tensor tin = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->moe, &tin, 1));
  TRY(ls__fw_linear(f, &L->router, in, S, f->router));
  /* upstream: softmax over all experts in fp32, top-k, renormalise over the top-k */
  float probs[256]; /* [E] router softmax of one token (E <= 256, checked by the plan) */
  int64_t sel[256]; /* [K] selected experts */
  float w[256];     /* [K] their probabilities */
  memset(f->routing, 0, (size_t)(S * E) * sizeof(float));
  for (int64_t s = 0; s < S; s++) {
    memcpy(probs, f->router + s * E, (size_t)E * sizeof(float));
    ls_ops_softmax(probs, 1, E);
    ls_ops_topk(probs, E, (int)K, sel, w);
    double sum = 0;
    for (int64_t k = 0; k < K; k++) sum += w[k];
    for (int64_t k = 0; k < K; k++) f->routing[s * E + sel[k]] = (float)(w[k] / sum);
  }
  memset(out, 0, (size_t)(S * H) * sizeof(float));
  ls_fwd_tensor tl = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->experts_list, &tl, 1));
  for (int64_t x = 0; x < E; x++) {
    const ls__expert *X = &L->experts[x];
    int64_t n = 0;
    for (int64_t s = 0; s < S; s++)
      if (f->routing[s * E + x] != 0.0f) f->ex_rows[n++] = s;
    if (n == 0) continue; /* upstream calls only the experts some token was routed to */
    for (int64_t r = 0; r < n; r++) memcpy(f->ex_in + r * H, in + f->ex_rows[r] * H, (size_t)H * 4);
    ls_fwd_tensor xin = ls__act("input", f->ex_in, n, H);
    TRY(ls__fw_enter(f, X->mod, &xin, 1));
    TRY(ls__fw_linear(f, &X->w1, f->ex_in, n, f->ff1));
    TRY(ls__fw_linear(f, &X->w3, f->ex_in, n, f->ff2));
    ls_ops_glu(e->pool, e->act, f->ff1, f->ff2, n * I);
    TRY(ls__fw_linear(f, &X->w2, f->ff1, n, f->ex_out));
    ls_fwd_tensor xout = ls__act("output", f->ex_out, n, H);
    TRY(ls__fw_exit(f, X->mod, &xin, 1, &xout, 1, NULL, 0));
    for (int64_t r = 0; r < n; r++) {
      int64_t s = f->ex_rows[r];
      float wgt = f->routing[s * E + x];
      for (int64_t t = 0; t < H; t++) out[s * H + t] += f->ex_out[r * H + t] * wgt;
    }
  }
  ls_fwd_tensor tout = ls__act("output", out, S, H);
  TRY(ls__fw_exit(f, L->experts_list, &tl, 1, &tout, 1, NULL, 0));
  ls_fwd_tensor rw = ls__act("routing_weights", f->routing, S, E);
  return ls__fw_exit(f, L->moe, &tin, 1, &tout, 1, &rw, 1);
}

static int mlp_block(ls_fwd *f, const ls__layer *L, const float *in, float *out) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H, I = e->inter;
  ls_fwd_tensor tin = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->mlp, &tin, 1));
  if (e->arch == LS__ARCH_GPT2) {
    TRY(ls__fw_linear(f, &L->fc1, in, S, f->ff1));
    ls_ops_act_apply(e->pool, e->act, f->ff1, f->ff1, S * I);
    TRY(ls__fw_linear(f, &L->fc2, f->ff1, S, out));
  } else if (!L->up.w) { /* phi3: gate_up_proj [S, 2I], gate first; up * act(gate) */
    TRY(ls__fw_linear(f, &L->fc1, in, S, f->ff1));
    for (int64_t s = 0; s < S; s++) {
      memcpy(f->ff2 + s * I, f->ff1 + s * 2 * I, (size_t)I * 4);
      ls_ops_glu(NULL, e->act, f->ff2 + s * I, f->ff1 + s * 2 * I + I, I);
    }
    TRY(ls__fw_linear(f, &L->fc2, f->ff2, S, out));
  } else {
    const ls__lin *ls[2] = {&L->fc1, &L->up};
    float *ys[2] = {f->ff1, f->ff2};
    TRY(ls__fw_linears(f, 2, ls, in, S, ys));
    ls_ops_glu(e->pool, e->act, f->ff1, f->ff2, S * I);
    TRY(ls__fw_linear(f, &L->fc2, f->ff1, S, out));
  }
  ls_fwd_tensor tout = ls__act("output", out, S, H);
  return ls__fw_exit(f, L->mlp, &tin, 1, &tout, 1, NULL, 0);
}

/* KV cache: copies this pass's keys and values (after RoPE) of layer l to the cache's rows
 * pos0..T-1 and points k / v at the cache's rows 0..T-1, so attention sees every position. */
static void kv_append(ls_fwd *f, int64_t l, float **k, float **v, int64_t *ks, int64_t *vs) {
  ls_kv *kv = f->kv;
  const int64_t W = kv->width;
  float *kc = kv->k + l * kv->cap * W, *vc = kv->v + l * kv->cap * W; /* [cap, W] */
  for (int64_t s = 0; s < f->S; s++) {
    memcpy(kc + (f->pos0 + s) * W, *k + s * *ks, (size_t)W * sizeof(float));
    memcpy(vc + (f->pos0 + s) * W, *v + s * *vs, (size_t)W * sizeof(float));
  }
  *k = kc;
  *v = vc;
  *ks = *vs = W;
}

static int attn_block(ls_fwd *f, const ls__layer *L, const float *in, float *out) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H, D = e->head_dim, nh = e->n_heads, nkv = e->n_kv;
  ls_fwd_tensor tin = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->attn, &tin, 1));
  float *q, *k, *v;
  int64_t qs, ks, vs;
  if (L->qkv.w) { /* fused: q | k | v along the row */
    TRY(ls__fw_linear(f, &L->qkv, in, S, f->qkv));
    int64_t w = (nh + 2 * nkv) * D;
    q = f->qkv;
    k = q + nh * D;
    v = k + nkv * D;
    qs = ks = vs = w;
  } else {
    q = f->qkv;
    k = q + S * nh * D;
    v = k + S * nkv * D;
    qs = nh * D;
    ks = vs = nkv * D;
    const ls__lin *ls[3] = {&L->q, &L->k, &L->v};
    float *ys[3] = {q, k, v};
    TRY(ls__fw_linears(f, 3, ls, in, S, ys));
  }
  if (e->arch != LS__ARCH_GPT2) { /* positions pos0.. (a KV cache's earlier ones are cached) */
    const int64_t half = e->rope.rot_dim / 2;
    ls_ops_rope_apply(q, S, nh, D, qs, e->rope.rot_dim, f->cos_t + f->pos0 * half, f->sin_t + f->pos0 * half);
    ls_ops_rope_apply(k, S, nkv, D, ks, e->rope.rot_dim, f->cos_t + f->pos0 * half, f->sin_t + f->pos0 * half);
  }
  if (f->kv) kv_append(f, L - e->layer, &k, &v, &ks, &vs);
  ls_ops_attn a = {.S = S, .T = f->T, .q0 = f->pos0, .n_heads = nh, .n_kv = nkv, .head_dim = D,
                   .q_stride = qs, .k_stride = ks, .v_stride = vs,
                   .scale = (float)(1.0 / sqrt((double)D)), .causal = 1, .window = L->window,
                   .key_mask = NULL};
  if (ls_engine_compute_get(e) == LS_ENGINE_COMPUTE_BF16) {
    if (ls_ops_attention_bf16(e->pool, &a, q, k, v, f->probs, f->att))
      return ls_diag_set(&f->diag, LS_ENOMEM, "out of memory for the bf16 attention's buffers");
  } else {
    ls_ops_attention(e->pool, &a, q, k, v, f->probs, f->att);
  }
  TRY(ls__fw_linear(f, &L->o, f->att, S, out));
  ls_fwd_tensor tout = ls__act("output", out, S, H);
  ls_fwd_tensor inter[3] = {{.name = "probs", .dtype = LS_DT_F32, .data = f->probs, .ndim = 4,
                             .shape = {1, nh, S, f->T}}};
  if (f->kv) { /* the layer's cache after this pass: [1, T, n_kv * head_dim] */
    inter[1] = ls__act("cache_keys", k, f->T, nkv * D);
    inter[2] = ls__act("cache_values", v, f->T, nkv * D);
  }
  return ls__fw_exit(f, L->attn, &tin, 1, &tout, 1, inter, f->kv ? 3 : 1);
}

int ls__fwd_decoder(ls_fwd *f) {
  ls_engine *e = f->e;
  const ls_model *m = e->m;
  const int64_t S = f->S, H = e->H;
  const float eps = (float)m->sem.norm_eps;
  const int nk = m->sem.norm;
  ls_fwd_tensor ids = ls__ids(f);
  TRY(ls__fw_enter(f, e->root, &ids, 1));
  TRY(ls__fw_enter(f, e->backbone, &ids, 1));
  TRY(ls__fw_enter(f, e->tok_emb_mod, &ids, 1));
  for (int64_t s = 0; s < S; s++) ls_ops_embed(&e->tok_emb->mat, f->tokens[s], f->x + s * H);
  ls_fwd_tensor emb = ls__act("output", f->x, S, H);
  TRY(ls__fw_exit(f, e->tok_emb_mod, &ids, 1, &emb, 1, NULL, 0));
  if (e->arch == LS__ARCH_GPT2) {
    TRY(ls__fw_enter(f, e->pos_emb_mod, NULL, 0));
    for (int64_t s = 0; s < S; s++) ls_ops_embed(&e->pos_emb->mat, f->pos0 + s, f->aux + s * H);
    ls_fwd_tensor pe = ls__act("output", f->aux, S, H);
    TRY(ls__fw_exit(f, e->pos_emb_mod, NULL, 0, &pe, 1, NULL, 0));
    ls_ops_add(f->x, f->aux, S * H);
  } else {
    if (m->sem.embed_scale > 0 && m->sem.embed_scale != 1.0)
      ls_ops_scale(f->x, (float)m->sem.embed_scale, S * H);
    ls_ops_rope_tables(&e->rope, f->T, f->cos_t, f->sin_t);
  }
  float *x = f->x, *x2 = f->x2;
  ls_fwd_tensor lin = ls__act("input", x, S, H);
  TRY(ls__fw_enter(f, e->layers_list, &lin, 1));
  for (int64_t l = 0; l < e->n_layers; l++) {
    const ls__layer *L = &e->layer[l];
    ls_fwd_tensor tin = ls__act("input", x, S, H);
    TRY(ls__fw_enter(f, L->mod, &tin, 1));
    TRY(ls__fw_norm(f, &L->n1, nk, x, f->nrm, S, H, eps));
    TRY(attn_block(f, L, f->nrm, f->ao));
    ls_ops_add2(e->pool, f->h, x, f->ao, S * H);
    TRY(ls__fw_norm(f, &L->n2, nk, f->h, f->nrm2, S, H, eps));
    if (L->experts) TRY(moe_block(f, L, f->nrm2, f->fo));
    else TRY(mlp_block(f, L, f->nrm2, f->fo));
    ls_ops_add2(e->pool, x2, f->h, f->fo, S * H);
    ls_fwd_tensor tout = ls__act("output", x2, S, H);
    TRY(ls__fw_exit(f, L->mod, &tin, 1, &tout, 1, NULL, 0));
    float *t = x;
    x = x2;
    x2 = t;
  }
  ls_fwd_tensor lout = ls__act("output", x, S, H);
  TRY(ls__fw_exit(f, e->layers_list, &lin, 1, &lout, 1, NULL, 0));
  TRY(ls__fw_norm(f, &e->final_norm, nk, x, f->nrm, S, H, eps));
  ls_fwd_tensor hid = ls__act("output", f->nrm, S, H);
  TRY(ls__fw_exit(f, e->backbone, &ids, 1, &hid, 1, NULL, 0));
  if (e->lm_head.w) {
    TRY(ls__fw_linear(f, &e->lm_head, f->nrm, S, f->logits));
  } else {
    memcpy(f->logits, f->nrm, (size_t)(S * H) * sizeof(float));
  }
  ls_fwd_tensor lo = ls__act("output", f->logits, S, f->logit_cols);
  return ls__fw_exit(f, e->root, &ids, 1, &lo, 1, NULL, 0);
}
