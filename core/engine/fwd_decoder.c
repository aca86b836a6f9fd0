/* fwd_decoder.c: the plan and forward pass of the decoder-only families: gpt2 (pre-LN,
 * learned positions, fused Conv1D c_attn, tanh GELU MLP, lm_head tied to wte) and the llama
 * family (llama / TinyLlama, mistral with a sliding window, qwen2 with q/k/v biases, gemma
 * with (1 + w) RMSNorm and sqrt(hidden) embedding scale, phi3 with fused qkv_proj and
 * gate_up_proj, mixtral with top-k routed experts). The newer llama-style families differ
 * only in pieces the plan sets per layer or per model: qwen3 (RMSNorm of each head's queries
 * and keys before RoPE), qwen3_moe (qwen3 with mixtral-style routed experts on its sparse
 * layers, renormalised only with norm_topk_prob; qwen2_moe the same with qwen2's attention
 * and a sigmoid-gated shared expert), gpt_oss (sink logits, YaRN, a top-k
 * router softmaxed over the chosen logits, stacked experts with a clamped SwiGLU), olmo2
 * (no pre-norms: norms of the attention and MLP outputs, q/k norms over the whole
 * projection), granite (embedding, attention, residual and logit multipliers), gemma2 (pre
 * and post norms around both sublayers, query_pre_attn_scalar, soft-capped scores and
 * logits, alternating sliding windows) and gemma3_text (gemma2's layer with per-head q/k
 * norms, the embedding scale inside embed_tokens, and a local RoPE base on its sliding
 * layers). gpt_neox and phi (a parallel block: the MLP reads the layer input, not the
 * attention's residual) are planned by fwd_parallel.c and run by this pass; deepseek_v2 /
 * v3's layers are planned by fwd_mla.c, which also runs their multi-head latent attention and
 * routes their MoE blocks (run by moe_block below). Each follows the upstream
 * modeling_<family>.py forward; the events are emitted in upstream module-call order, so a
 * hook sees what a PyTorch forward hook on the same module would (gemma3's q_norm / k_norm,
 * phi's q_layernorm / k_layernorm: the same values in [S, heads, head_dim] order, where
 * upstream's tensor is [heads, S, head_dim]).
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

/* Where a layer's norms sit. Llama: input_layernorm before attention, post_attention_layernorm
 * before the MLP (despite its name). Gemma2/3 (modeling_gemma2.py Gemma2DecoderLayer) norm
 * both sides of both sublayers: input_layernorm, post_attention_layernorm (of the attention
 * output), pre_feedforward_layernorm, post_feedforward_layernorm. OLMo2 (Olmo2DecoderLayer)
 * keeps only the post-norms. So a post_feedforward_layernorm makes post_attention_layernorm
 * a post-norm too. */
static int plan_layer_norms(ls_engine *e, ls__layer *L, const char *b, ls_diag *d) {
  const int64_t H = e->H;
  char n[600];
  ls__norm pa, pre_ff, post_ff;
  snprintf(n, sizeof n, "%s.input_layernorm", b);
  int rc = ls__norm_bind(e, &L->n1, n, H, e->m->family != LS_MODEL_FAMILY_OLMO2, d);
  snprintf(n, sizeof n, "%s.post_attention_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &pa, n, H, 1, d);
  snprintf(n, sizeof n, "%s.pre_feedforward_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &pre_ff, n, H, 0, d);
  snprintf(n, sizeof n, "%s.post_feedforward_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &post_ff, n, H, 0, d);
  if (rc) return rc;
  if (post_ff.w) {
    L->pn1 = pa;
    L->n2 = pre_ff;
    L->pn2 = post_ff;
  } else {
    L->n2 = pa;
    L->pn1.mod = L->pn2.mod = -1;
  }
  return LS_OK;
}

/* q_norm / k_norm of the attention, when the tree has them: [head_dim] weights normalise each
 * head (qwen3, gemma3), [heads * head_dim] the whole projection (olmo2). */
static int plan_qk_norms(ls_engine *e, ls__layer *L, const char *b, ls_diag *d) {
  const int64_t D = e->head_dim, nh = e->n_heads, nkv = e->n_kv;
  char n[600];
  L->qn.mod = L->kn.mod = -1;
  snprintf(n, sizeof n, "%s.self_attn.q_norm.weight", b);
  const ls__wb *qw = ls__wb_find(e, n);
  if (!qw) return LS_OK;
  L->qk_per_head = qw->ndim == 1 && qw->shape[0] == D;
  L->qk_late = e->gemma3;
  e->has_qk_norm = 1;
  snprintf(n, sizeof n, "%s.self_attn.q_norm", b);
  int rc = ls__norm_bind(e, &L->qn, n, L->qk_per_head ? D : nh * D, 1, d);
  snprintf(n, sizeof n, "%s.self_attn.k_norm", b);
  return rc ? rc : ls__norm_bind(e, &L->kn, n, L->qk_per_head ? D : nkv * D, 1, d);
}

/* qwen2_moe's shared expert (Qwen2MoeSparseMoeBlock: shared_expert, shared_expert_gate),
 * when the tree has one. */
static int plan_shared_expert(ls_engine *e, ls__layer *L, const char *b, ls_diag *d) {
  const int64_t H = e->H, SI = e->shared_inter;
  char n[600];
  L->shared_mod = ls__mod(e, "%s.mlp.shared_expert", b);
  if (L->shared_mod < 0) return LS_OK;
  snprintf(n, sizeof n, "%s.mlp.shared_expert.gate_proj", b);
  int rc = ls__lin_bind(e, &L->sh_gate, n, 1, H, SI, 1, d);
  snprintf(n, sizeof n, "%s.mlp.shared_expert.up_proj", b);
  rc = rc ? rc : ls__lin_bind(e, &L->sh_up, n, 1, H, SI, 1, d);
  snprintf(n, sizeof n, "%s.mlp.shared_expert.down_proj", b);
  rc = rc ? rc : ls__lin_bind(e, &L->sh_down, n, 1, SI, H, 1, d);
  snprintf(n, sizeof n, "%s.mlp.shared_expert_gate", b);
  return rc ? rc : ls__lin_bind(e, &L->sh_g, n, 1, H, 1, 1, d);
}

/* A [rows, cols] view of item x of a stacked [n, rows, cols] parameter w ([cols, rows] when
 * stored transposed: MXFP4 experts, multiplied with nk = w->transposed); cols must be whole
 * blocks of its encoding (checked by plan_oss_layer). */
static ls_ops_mat stacked_item(const ls__wb *w, int64_t x) {
  ls_ops_mat v = w->mat;
  v.rows = w->shape[w->transposed ? 2 : 1];
  v.cols = w->shape[w->transposed ? 1 : 2];
  v.data = (const char *)w->mat.data + (size_t)x * (size_t)v.rows * ls_ops_mat_row_bytes(&v);
  if (v.scales) v.scales += (size_t)x * (size_t)v.rows * (size_t)(v.cols / 32);
  return v;
}

/* gpt_oss (modeling_gpt_oss.py): self_attn.sinks, and GptOssMLP: mlp.router (a Linear with a
 * bias, its own top-k softmax) and mlp.experts with the stacked parameters. */
static int plan_oss_layer(ls_engine *e, ls__layer *L, const char *b, ls_diag *d) {
  const int64_t H = e->H, E = e->n_experts, I = e->moe_inter;
  char n[600];
  snprintf(n, sizeof n, "%s.self_attn.sinks", b);
  const ls__wb *sk = ls__wb_find(e, n);
  if (!sk || sk->ndim != 1 || sk->shape[0] != e->n_heads)
    return ls_diag_set(d, LS_ESHAPE, "%s is not a [%lld] tensor", n, (long long)e->n_heads);
  L->sinks = sk->vec;
  L->moe = ls__mod(e, "%s.mlp", b);
  L->experts_list = ls__mod(e, "%s.mlp.experts", b);
  L->mlp = -1;
  snprintf(n, sizeof n, "%s.mlp.router", b);
  int rc = ls__lin_bind(e, &L->router, n, 1, H, E, 1, d);
  if (rc) return rc;
  const ls__wb *w[4];
  static const char *const leaf[4] = {"gate_up_proj", "gate_up_proj_bias", "down_proj", "down_proj_bias"};
  const int64_t shp[4][3] = {{E, H, 2 * I}, {E, 2 * I, 0}, {E, I, H}, {E, H, 0}};
  for (int k = 0; k < 4; k++) {
    snprintf(n, sizeof n, "%s.mlp.experts.%s", b, leaf[k]);
    w[k] = ls__wb_find(e, n);
    int nd = shp[k][2] ? 3 : 2;
    if (!w[k] || w[k]->ndim != nd || w[k]->shape[0] != shp[k][0] || w[k]->shape[1] != shp[k][1] ||
        (nd == 3 && w[k]->shape[2] != shp[k][2]))
      return ls_diag_set(d, LS_ESHAPE, "%s is missing or not [%lld, %lld%s]", n, (long long)shp[k][0],
                         (long long)shp[k][1], nd == 3 ? ", ..." : "");
  }
  L->gate_up = w[0];
  L->down = w[2];
  ls_ops_mat gv = stacked_item(w[0], 0), dv = stacked_item(w[2], 0);
  if (!ls_ops_mat_row_bytes(&gv) || !ls_ops_mat_row_bytes(&dv))
    return ls_diag_set(d, LS_EUNSUPPORTED, "%s.mlp.experts: rows of %s are not whole blocks", b,
                       ls_ops_mat_type_name(&gv));
  L->oss_bias = ls_malloc((size_t)(E * (2 * I + H)) * sizeof(float));
  if (!L->oss_bias) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  for (int64_t x = 0; x < E; x++) {
    ls_ops_mat_row(&w[1]->mat, x, 0, 2 * I, L->oss_bias + x * 2 * I);
    ls_ops_mat_row(&w[3]->mat, x, 0, H, L->oss_bias + E * 2 * I + x * H);
  }
  return LS_OK;
}

int ls__plan_experts(ls_engine *e, ls__layer *L, const char *b, const char *blk, const char *wg,
                     const char *wd, const char *wu, ls_diag *d) {
  const int64_t H = e->H, EI = e->moe_inter;
  char n[600];
  L->moe = ls__mod(e, "%s.%s", b, blk);
  L->experts_list = ls__mod(e, "%s.%s.experts", b, blk);
  L->mlp = -1;
  snprintf(n, sizeof n, "%s.%s.gate", b, blk);
  int rc = ls__lin_bind(e, &L->router, n, 1, H, e->n_experts, 1, d);
  if (rc) return rc;
  L->experts = ls_calloc((size_t)e->n_experts, sizeof *L->experts);
  if (!L->experts) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  for (int64_t x = 0; x < e->n_experts && !rc; x++) {
    ls__expert *X = &L->experts[x];
    X->mod = ls__mod(e, "%s.%s.experts.%lld", b, blk, (long long)x);
    snprintf(n, sizeof n, "%s.%s.experts.%lld.%s", b, blk, (long long)x, wg);
    rc = ls__lin_bind(e, &X->w1, n, 1, H, EI, 1, d);
    snprintf(n, sizeof n, "%s.%s.experts.%lld.%s", b, blk, (long long)x, wd);
    rc = rc ? rc : ls__lin_bind(e, &X->w2, n, 1, EI, H, 1, d);
    snprintf(n, sizeof n, "%s.%s.experts.%lld.%s", b, blk, (long long)x, wu);
    rc = rc ? rc : ls__lin_bind(e, &X->w3, n, 1, H, EI, 1, d);
  }
  return rc;
}

/* A config value by its text model's name: gemma3 (multimodal) nests them in text_config. */
static const ls_model_value *cfg_v(const ls_model *m, const char *key) {
  if (m->family == LS_MODEL_FAMILY_GEMMA3) {
    char k[128];
    snprintf(k, sizeof k, "text_config.%s", key);
    const ls_model_value *v = ls_model_value_get(m, k);
    if (v) return v;
  }
  return ls_model_value_get(m, key);
}

/* Gemma3's sliding layers (Gemma3TextConfig): as layer_types says when written, else every
 * layer but each sliding_window_pattern-th. */
static int gemma3_sliding(const ls_model *m, int64_t l) {
  const ls_model_value *lt = cfg_v(m, "layer_types");
  if (lt && lt->present && lt->json && lt->json->kind == LS_JSON_ARRAY) {
    if ((size_t)l >= lt->json->u.arr.n) return 0;
    const ls_json *it = lt->json->u.arr.items[l];
    return it->kind == LS_JSON_STRING && strcmp(it->u.str.s, "sliding_attention") == 0;
  }
  const ls_model_value *p = cfg_v(m, "sliding_window_pattern");
  int64_t pat = p && p->kind == LS_MODEL_VT_INT && p->i > 0 ? p->i : 6;
  return (l + 1) % pat != 0;
}

/* A float config value (ints and booleans converted), def when absent, null or not a
 * number. */
static double cfg_f(const ls_model *m, const char *key, double def) {
  const ls_model_value *v = cfg_v(m, key);
  if (!v || (v->kind != LS_MODEL_VT_FLOAT && v->kind != LS_MODEL_VT_INT && v->kind != LS_MODEL_VT_BOOL))
    return def;
  return v->kind == LS_MODEL_VT_FLOAT ? v->f : (double)v->i;
}

static int plan_layer(ls_engine *e, int64_t l, const char *pre, ls_diag *d) {
  const ls_model *m = e->m;
  ls__layer *L = &e->layer[l];
  const int64_t H = e->H, D = e->head_dim, nh = e->n_heads, nkv = e->n_kv, I = e->inter;
  char b[512];
  int rc = 0;
  L->moe = L->experts_list = L->attn_self = L->attn_out = L->inter_mod = L->out_mod = -1;
  L->shared_mod = -1;
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
  if (m->family == LS_MODEL_FAMILY_GPT_NEOX || m->family == LS_MODEL_FAMILY_PHI)
    return ls__plan_parallel_layer(e, L, b, d);
  if (m->family == LS_MODEL_FAMILY_DEEPSEEK_V2 || m->family == LS_MODEL_FAMILY_DEEPSEEK_V3)
    return ls__plan_mla_layer(e, l, L, b, d);
  L->mod = ls__mod(e, "%s", b);
  L->attn = ls__mod(e, "%s.self_attn", b);
  char n[600];
  rc = plan_layer_norms(e, L, b, d);
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
  rc = rc ? rc : plan_qk_norms(e, L, b, d);
  if (rc) return rc;
  L->window = L->attn >= 0 ? m->modules[L->attn].attn_window : m->sem.sliding_window;
  L->local_rope = e->has_local_rope && gemma3_sliding(m, l);
  if (m->family == LS_MODEL_FAMILY_GPT_OSS) return plan_oss_layer(e, L, b, d);
  if (e->n_experts > 0) {
    /* mixtral: block_sparse_moe.{gate, experts.N.w1/w2/w3} on every layer; qwen3_moe:
     * mlp.{gate, experts.N.gate_proj/down_proj/up_proj} on its sparse layers (the others
     * have a dense mlp: decoder_sparse_step, mlp_only_layers), so the router marks them */
    int mx = m->family == LS_MODEL_FAMILY_MIXTRAL;
    const char *blk = mx ? "block_sparse_moe" : "mlp";
    const char *wg = mx ? "w1" : "gate_proj", *wd = mx ? "w2" : "down_proj", *wu = mx ? "w3" : "up_proj";
    snprintf(n, sizeof n, "%s.%s.gate", b, blk);
    char gw[620];
    snprintf(gw, sizeof gw, "%s.weight", n);
    if (mx || ls__wb_find(e, gw)) {
      rc = ls__plan_experts(e, L, b, blk, wg, wd, wu, d);
      return rc ? rc : plan_shared_expert(e, L, b, d);
    }
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

static double json_f(const ls_json *o, const char *k, double def) {
  const ls_json *v = o ? ls_json_get(o, k) : NULL;
  return v && v->kind == LS_JSON_NUMBER ? v->u.num.value : def;
}

/* transformers get_mscale of _compute_yarn_parameters */
static double yarn_mscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * log(scale) + 1.0;
}

/* YaRN's parameters from rope_scaling (_compute_yarn_parameters): beta_fast 32, beta_slow 1
 * and truncate true unless given, the original context from original_max_position_embeddings
 * (else max_position_embeddings), and the cos / sin factor: attention_factor when given,
 * else from mscale / mscale_all_dim, else 0.1 ln(factor) + 1. The factor is
 * rope_scaling.factor (gpt-oss's configs have max_position_embeddings = factor x original). */
static void plan_yarn(ls_engine *e, ls_ops_rope *r) {
  const ls_json *rs = e->m->sem.rope_scaling;
  r->beta_fast = json_f(rs, "beta_fast", 0) ? json_f(rs, "beta_fast", 0) : 32.0;
  r->beta_slow = json_f(rs, "beta_slow", 0) ? json_f(rs, "beta_slow", 0) : 1.0;
  const ls_json *tr = rs ? ls_json_get(rs, "truncate") : NULL;
  r->truncate = !(tr && tr->kind == LS_JSON_BOOL && !tr->u.boolean);
  if (r->original_max_pos <= 0) r->original_max_pos = r->max_pos;
  double ms = json_f(rs, "mscale", 0), msa = json_f(rs, "mscale_all_dim", 0);
  r->attn_factor = json_f(rs, "attention_factor", 0);
  if (r->attn_factor <= 0)
    r->attn_factor = ms && msa ? yarn_mscale(r->factor, ms) / yarn_mscale(r->factor, msa)
                               : yarn_mscale(r->factor, 1.0);
}

static int plan_rope(ls_engine *e, ls_diag *d) {
  const ls_model_sem *s = &e->m->sem;
  ls_ops_rope *r = &e->rope;
  memset(r, 0, sizeof *r);
  int kind = ls_ops_rope_kind_parse(s->rope_type);
  if (kind < 0)
    return ls_diag_set(d, LS_EUNSUPPORTED, "rope_scaling type \"%s\" is not supported by the "
                       "engine (it runs default, linear, dynamic, llama3, yarn)", s->rope_type);
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
  if (kind == LS_OPS_ROPE_YARN) plan_yarn(e, r);
  if (kind == LS_OPS_ROPE_LLAMA3 &&
      (r->original_max_pos <= 0 || r->low_freq_factor <= 0 ||
       r->high_freq_factor <= r->low_freq_factor))
    return ls_diag_set(d, LS_EINVAL, "rope_scaling llama3 needs original_max_position_embeddings"
                       " > 0 and high_freq_factor > low_freq_factor > 0");
  return LS_OK;
}

/* The per-family scalars of engine_int.h, from the config (upstream names in comments). */
static void plan_scalars(ls_engine *e) {
  const ls_model *m = e->m;
  const ls_model_sem *s = &m->sem;
  e->attn_scale = (float)(1.0 / sqrt((double)e->head_dim));
  if (s->query_pre_attn_scalar > 0) /* gemma2/3: self.scaling = query_pre_attn_scalar**-0.5 */
    e->attn_scale = (float)(1.0 / sqrt(s->query_pre_attn_scalar));
  e->attn_softcap = (float)s->attn_logit_softcap;
  e->final_softcap = (float)s->final_logit_softcap;
  e->embed_mul = s->embed_scale > 0 ? (float)s->embed_scale : 1.0f;
  e->embed_in_module = e->gemma3;
  if (m->family == LS_MODEL_FAMILY_GEMMA3) { /* the sem fields read top-level keys */
    double q = cfg_f(m, "query_pre_attn_scalar", 0);
    if (q > 0) e->attn_scale = (float)(1.0 / sqrt(q));
    e->attn_softcap = (float)cfg_f(m, "attn_logit_softcapping", 0);
    e->final_softcap = (float)cfg_f(m, "final_logit_softcapping", 0);
  }
  e->resid_mul = 1.0f;
  e->logit_div = 1.0f;
  e->swiglu_limit = (float)cfg_f(m, "swiglu_limit", 7.0);
  if (m->family == LS_MODEL_FAMILY_GRANITE) {
    e->embed_mul = (float)cfg_f(m, "embedding_multiplier", 1.0);
    e->attn_scale = (float)cfg_f(m, "attention_multiplier", 1.0);
    e->resid_mul = (float)cfg_f(m, "residual_multiplier", 1.0);
    e->logit_div = (float)cfg_f(m, "logits_scaling", 1.0);
  }
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
  /* experts' width: mixtral's are intermediate_size wide; qwen3_moe's moe_intermediate_size,
   * and it renormalises the top-k weights only with norm_topk_prob (mixtral always does) */
  e->moe_inter = s->moe_intermediate > 0 ? s->moe_intermediate : s->intermediate;
  e->shared_inter = s->shared_expert_intermediate;
  e->moe_renorm = m->family == LS_MODEL_FAMILY_MIXTRAL || cfg_f(m, "norm_topk_prob", 0) != 0;
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
  e->gemma3 = m->family == LS_MODEL_FAMILY_GEMMA3_TEXT || m->family == LS_MODEL_FAMILY_GEMMA3;
  plan_scalars(e);
  e->act = ls_ops_act_parse(s->act);
  if (e->act < 0)
    return ls_diag_set(d, LS_EUNSUPPORTED, "activation \"%s\" is not supported by the engine",
                       s->act ? s->act : "(none)");
  const char *pre = m->base_prefix ? m->base_prefix : "";
  const char *head = "lm_head";
  e->lm_wrap = -1;
  if (m->family == LS_MODEL_FAMILY_GEMMA3) {
    /* Gemma3ForConditionalGeneration (transformers 4.50 names): the text model is
     * language_model (a Gemma3ForCausalLM) with its own model. and lm_head; text tokens only,
     * so the vision tower and projector are never called, as upstream without pixel_values */
    pre = "language_model.model.";
    head = "language_model.lm_head";
    e->lm_wrap = ls__mod(e, "language_model");
  }
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
    /* upstream names: gpt_neox embed_in, final_layer_norm, embed_out; phi final_layernorm */
    int neox = m->family == LS_MODEL_FAMILY_GPT_NEOX;
    const char *emb = neox ? "embed_in" : "embed_tokens";
    const char *fin = neox ? "final_layer_norm" : m->family == LS_MODEL_FAMILY_PHI ? "final_layernorm" : "norm";
    if (neox) head = "embed_out";
    snprintf(n, sizeof n, "%s%s.weight", pre, emb);
    e->tok_emb = ls__wb_find(e, n);
    e->tok_emb_mod = ls__mod(e, "%s%s", pre, emb);
    e->pos_emb_mod = -1;
    e->layers_list = ls__mod(e, "%slayers", pre);
    snprintf(n, sizeof n, "%s%s", pre, fin);
    rc = ls__norm_bind(e, &e->final_norm, n, e->H, 1, d);
    if (!rc) rc = plan_rope(e, d);
    if (!rc && (m->family == LS_MODEL_FAMILY_DEEPSEEK_V2 || m->family == LS_MODEL_FAMILY_DEEPSEEK_V3))
      rc = ls__plan_mla(e, d);
    if (!rc && e->gemma3) {
      /* Gemma3RotaryEmbedding of the sliding layers: base rope_local_base_freq, and
       * rope_scaling applies to the global layers only */
      e->rope_local = e->rope;
      e->rope_local.kind = LS_OPS_ROPE_DEFAULT;
      e->rope_local.factor = 1.0;
      e->rope_local.theta = cfg_f(m, "rope_local_base_freq", 10000.0);
      e->has_local_rope = 1;
    }
  }
  if (rc) return rc;
  if (!e->tok_emb || e->tok_emb->ndim != 2 || e->tok_emb->shape[1] != e->H ||
      e->tok_emb->shape[0] < e->vocab)
    return ls_diag_set(d, LS_EUNSUPPORTED, "no token embedding [vocab_size, hidden] in the tree");
  e->final_norm_mod = e->final_norm.mod;
  for (int64_t l = 0; l < e->n_layers && !rc; l++) rc = plan_layer(e, l, pre, d);
  if (rc) return rc;
  rc = ls__lin_bind(e, &e->lm_head, head, 1, e->H, e->vocab, 0, d);
  e->lm_head_mod = e->lm_head.mod;
  return rc;
}

/* ---- forward ------------------------------------------------------------------------- */

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

/* Module mod: down(act(gate(x)) * up(x)) over the S rows of in, I wide, into out. */
static int gated_mlp(ls_fwd *f, int mod, const ls__lin *gate, const ls__lin *up,
                     const ls__lin *down, int64_t I, const float *in, float *out) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H;
  ls_fwd_tensor tin = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, mod, &tin, 1));
  const ls__lin *ls[2] = {gate, up};
  float *ys[2] = {f->ff1, f->ff2};
  TRY(ls__fw_linears(f, 2, ls, in, S, ys));
  ls_ops_glu(e->pool, e->act, f->ff1, f->ff2, S * I);
  TRY(ls__fw_linear(f, down, f->ff1, S, out));
  ls_fwd_tensor tout = ls__act("output", out, S, H);
  return ls__fw_exit(f, mod, &tin, 1, &tout, 1, NULL, 0);
}

/* The rows routed to expert x (routing weight != 0) into ex_rows, their inputs into ex_in
 * [n, H]; returns n. */
static int64_t expert_gather(ls_fwd *f, int64_t x, const float *in) {
  const int64_t S = f->S, H = f->e->H, E = f->e->n_experts;
  int64_t n = 0;
  for (int64_t s = 0; s < S; s++)
    if (f->routing[s * E + x] != 0.0f) f->ex_rows[n++] = s;
  for (int64_t r = 0; r < n; r++) memcpy(f->ex_in + r * H, in + f->ex_rows[r] * H, (size_t)H * 4);
  return n;
}

/* out[ex_rows[r]] += ex_out[r] * the row's routing weight of expert x, r < n. */
static void expert_scatter(ls_fwd *f, int64_t x, int64_t n, float *out) {
  const int64_t H = f->e->H, E = f->e->n_experts;
  for (int64_t r = 0; r < n; r++) {
    int64_t s = f->ex_rows[r];
    float wgt = f->routing[s * E + x];
    for (int64_t t = 0; t < H; t++) out[s * H + t] += f->ex_out[r * H + t] * wgt;
  }
}

static int moe_block(ls_fwd *f, const ls__layer *L, const float *in, float *out) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H, E = e->n_experts, K = e->top_k, I = e->moe_inter;
  ls_fwd_tensor tin = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->moe, &tin, 1));
  TRY(ls__fw_linear(f, &L->router, in, S, f->router));
  /* upstream: softmax over all experts in fp32, top-k, renormalise over the top-k */
  float probs[256]; /* [E] router softmax of one token (E <= 256, checked by the plan) */
  int64_t sel[256]; /* [K] selected experts */
  float w[256];     /* [K] their probabilities */
  memset(f->routing, 0, (size_t)(S * E) * sizeof(float));
  for (int64_t s = 0; s < S && L->ds_route; s++) ls__ds_route(e, L, f->router + s * E, f->routing + s * E);
  for (int64_t s = 0; s < S && !L->ds_route; s++) {
    memcpy(probs, f->router + s * E, (size_t)E * sizeof(float));
    ls_ops_softmax(probs, 1, E);
    ls_ops_topk(probs, E, (int)K, sel, w);
    double sum = 0;
    for (int64_t k = 0; k < K; k++) sum += w[k];
    if (!e->moe_renorm) sum = 1.0;
    for (int64_t k = 0; k < K; k++) f->routing[s * E + sel[k]] = (float)(w[k] / sum);
  }
  memset(out, 0, (size_t)(S * H) * sizeof(float));
  ls_fwd_tensor tl = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->experts_list, &tl, 1));
  for (int64_t x = 0; x < E; x++) {
    const ls__expert *X = &L->experts[x];
    int64_t n = expert_gather(f, x, in);
    if (n == 0) continue; /* upstream calls only the experts some token was routed to */
    ls_fwd_tensor xin = ls__act("input", f->ex_in, n, H);
    TRY(ls__fw_enter(f, X->mod, &xin, 1));
    TRY(ls__fw_linear(f, &X->w1, f->ex_in, n, f->ff1));
    TRY(ls__fw_linear(f, &X->w3, f->ex_in, n, f->ff2));
    ls_ops_glu(e->pool, e->act, f->ff1, f->ff2, n * I);
    TRY(ls__fw_linear(f, &X->w2, f->ff1, n, f->ex_out));
    ls_fwd_tensor xout = ls__act("output", f->ex_out, n, H);
    TRY(ls__fw_exit(f, X->mod, &xin, 1, &xout, 1, NULL, 0));
    expert_scatter(f, x, n, out);
  }
  ls_fwd_tensor tout = ls__act("output", out, S, H);
  TRY(ls__fw_exit(f, L->experts_list, &tl, 1, &tout, 1, NULL, 0));
  if (L->shared_mod >= 0) { /* qwen2_moe: + sigmoid(shared_expert_gate(x)) * shared_expert(x);
                              deepseek_v3: + shared_experts(x) */
    TRY(gated_mlp(f, L->shared_mod, &L->sh_gate, &L->sh_up, &L->sh_down, e->shared_inter, in, f->aux));
    if (!L->sh_g.w) ls_ops_add(out, f->aux, S * H);
  }
  if (L->shared_mod >= 0 && L->sh_g.w) {
    TRY(ls__fw_linear(f, &L->sh_g, in, S, f->ex_out));
    for (int64_t s = 0; s < S; s++) {
      float g = 1.0f / (1.0f + expf(-f->ex_out[s]));
      for (int64_t t = 0; t < H; t++) out[s * H + t] += g * f->aux[s * H + t];
    }
  }
  ls_fwd_tensor rw = ls__act("routing_weights", f->routing, S, E);
  return ls__fw_exit(f, L->moe, &tin, 1, &tout, 1, &rw, 1);
}

/* gpt_oss's GptOssMLP: the router's scores (top-k of the logits, softmaxed among
 * themselves, scattered into [S, E]: its module output), then GptOssExperts on the routed
 * tokens: gate_up = x W_gu[x] + b (gate and up interleaved), gate <= limit, |up| <= limit,
 * (up + 1) * gate * sigmoid(1.702 gate), then W_down[x] + b, weighted by the score. */
static int oss_moe_block(ls_fwd *f, const ls__layer *L, const float *in, float *out) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H, E = e->n_experts, K = e->top_k, I = e->moe_inter;
  const float lim = e->swiglu_limit, alpha = 1.702f;
  ls_fwd_tensor tin = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->moe, &tin, 1));
  TRY(ls__fw_enter(f, L->router.mod, &tin, 1));
  if (ls_ops_matmul(e->pool, f->router, in, S, &L->router.w->mat, 1, L->router.b ? L->router.b->vec : NULL))
    return ls_diag_set(&f->diag, LS_ENOMEM, "out of memory for a weight panel of %s", L->router.w->name);
  int64_t sel[256]; /* [K] selected experts of one token (E <= 256, checked by the plan) */
  float w[256];     /* [K] their logits, then weights */
  memset(f->routing, 0, (size_t)(S * E) * sizeof(float));
  for (int64_t s = 0; s < S; s++) {
    ls_ops_topk(f->router + s * E, E, (int)K, sel, w);
    ls_ops_softmax(w, 1, K);
    for (int64_t k = 0; k < K; k++) f->routing[s * E + sel[k]] = w[k];
  }
  ls_fwd_tensor sc = ls__act("output", f->routing, S, E);
  TRY(ls__fw_exit(f, L->router.mod, &tin, 1, &sc, 1, NULL, 0));
  TRY(ls__fw_enter(f, L->experts_list, &tin, 1));
  memset(out, 0, (size_t)(S * H) * sizeof(float));
  for (int64_t x = 0; x < E; x++) {
    int64_t n = expert_gather(f, x, in);
    if (n == 0) continue;
    ls_ops_mat gu = stacked_item(L->gate_up, x), dn = stacked_item(L->down, x);
    if (ls_ops_matmul(e->pool, f->ff1, f->ex_in, n, &gu, L->gate_up->transposed, L->oss_bias + x * 2 * I))
      return ls_diag_set(&f->diag, LS_ENOMEM, "out of memory for a weight panel of %s", L->gate_up->name);
    for (int64_t r = 0; r < n * I; r++) {
      float g = f->ff1[2 * r], u = f->ff1[2 * r + 1];
      g = g > lim ? lim : g;
      u = u > lim ? lim : u < -lim ? -lim : u;
      f->ff2[r] = (u + 1.0f) * (g / (1.0f + expf(-g * alpha)));
    }
    if (ls_ops_matmul(e->pool, f->ex_out, f->ff2, n, &dn, L->down->transposed, L->oss_bias + E * 2 * I + x * H))
      return ls_diag_set(&f->diag, LS_ENOMEM, "out of memory for a weight panel of %s", L->down->name);
    expert_scatter(f, x, n, out);
  }
  ls_fwd_tensor tout = ls__act("output", out, S, H);
  TRY(ls__fw_exit(f, L->experts_list, &tin, 1, &tout, 1, NULL, 0));
  ls_fwd_tensor rw = ls__act("routing_weights", f->routing, S, E);
  return ls__fw_exit(f, L->moe, &tin, 1, &tout, 1, &rw, 1);
}

static int mlp_block(ls_fwd *f, const ls__layer *L, const float *in, float *out) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H, I = e->inter;
  if (e->arch != LS__ARCH_GPT2 && L->up.w) return gated_mlp(f, L->mlp, &L->fc1, &L->up, &L->fc2, I, in, out);
  ls_fwd_tensor tin = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->mlp, &tin, 1));
  if (e->arch == LS__ARCH_GPT2 || L->mlp_plain) {
    TRY(ls__fw_linear(f, &L->fc1, in, S, f->ff1));
    ls_ops_act_apply(e->pool, e->act, f->ff1, f->ff1, S * I);
    TRY(ls__fw_linear(f, &L->fc2, f->ff1, S, out));
  } else { /* phi3: gate_up_proj [S, 2I], gate first; up * act(gate) */
    TRY(ls__fw_linear(f, &L->fc1, in, S, f->ff1));
    for (int64_t s = 0; s < S; s++) {
      memcpy(f->ff2 + s * I, f->ff1 + s * 2 * I, (size_t)I * 4);
      ls_ops_glu(NULL, e->act, f->ff2 + s * I, f->ff1 + s * 2 * I + I, I);
    }
    TRY(ls__fw_linear(f, &L->fc2, f->ff2, S, out));
  }
  ls_fwd_tensor tout = ls__act("output", out, S, H);
  return ls__fw_exit(f, L->mlp, &tin, 1, &tout, 1, NULL, 0);
}

/* q_norm / k_norm (plan_qk_norms) of heads x head_dim projections x [S, heads D] into
 * y. Per head, the event shapes are upstream's view [1, S, heads, head_dim] (gemma3 norms
 * after transpose(1, 2), so its PyTorch tensors are [1, heads, S, head_dim]: same values,
 * other order). */
static int qk_norm(ls_fwd *f, const ls__layer *L, const ls__norm *n, int64_t heads,
                   const float *x, float *y) {
  ls_engine *e = f->e;
  const int64_t S = f->S, D = e->head_dim;
  ls_fwd_tensor in = ls__act("input", x, S, heads * D), out = ls__act("output", y, S, heads * D);
  if (L->qk_per_head) {
    in.ndim = out.ndim = 4;
    in.shape[2] = out.shape[2] = heads;
    in.shape[3] = out.shape[3] = D;
  }
  TRY(ls__fw_enter(f, n->mod, &in, 1));
  int64_t rows = L->qk_per_head ? S * heads : S, dim = L->qk_per_head ? D : heads * D;
  if (e->m->sem.norm == LS_MODEL_NORM_LAYER) /* phi's q_layernorm / k_layernorm */
    ls_ops_layernorm(e->pool, y, x, rows, dim, n->w, n->b, (float)e->m->sem.norm_eps);
  else
    ls_ops_rmsnorm(e->pool, y, x, rows, dim, n->w,
                   e->m->sem.norm == LS_MODEL_NORM_RMS_PLUS1 ? 1.0f : 0.0f, (float)e->m->sem.norm_eps);
  return ls__fw_exit(f, n->mod, &in, 1, &out, 1, NULL, 0);
}

/* KV cache: copies this pass's keys and values (after RoPE) of layer l to the cache's rows
 * pos0..T-1 and points k / v at the cache's rows 0..T-1, so attention sees every position. */
void ls__fw_kv_append(ls_fwd *f, int64_t l, float **k, float **v, int64_t *ks, int64_t *vs) {
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

void ls__fw_rope_rows(ls_fwd *f, float *x, int64_t heads, int64_t D, int64_t stride, int rot_dim,
                      const float *cos_t, const float *sin_t) {
  const int64_t half = f->e->rope.rot_dim / 2;
  for (int64_t b = 0; b < f->B; b++)
    ls_ops_rope_apply(x + b * f->L * stride, f->L, heads, D, stride, rot_dim, cos_t + f->pos0 * half,
                      sin_t + f->pos0 * half);
}

int ls__fw_attend_rows(ls_fwd *f, const ls_ops_attn *a0, const float *q, const float *k, const float *v) {
  ls_engine *e = f->e;
  const int64_t R = f->L, nh = a0->n_heads;
  for (int64_t b = 0; b < f->B; b++) {
    ls_ops_attn a = *a0;
    a.S = R;
    a.T = f->T;
    a.q0 = f->pos0;
    a.key_mask = f->has_mask && !f->kv ? f->mask + b * R : NULL;
    const float *qb = q + b * R * a.q_stride, *kb = k + b * R * a.k_stride, *vb = v + b * R * a.v_stride;
    float *pb = f->probs + b * nh * R * f->T, *ob = f->att + b * R * nh * a.head_dim;
    if (ls_engine_compute_get(e) == LS_ENGINE_COMPUTE_BF16) {
      if (ls_ops_attention_bf16(e->pool, &a, qb, kb, vb, pb, ob))
        return ls_diag_set(&f->diag, LS_ENOMEM, "out of memory for the bf16 attention's buffers");
    } else {
      ls_ops_attention(e->pool, &a, qb, kb, vb, pb, ob);
    }
  }
  return LS_OK;
}

static int attn_block(ls_fwd *f, const ls__layer *L, const float *in, float *out) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H, D = e->head_dim, nh = e->n_heads, nkv = e->n_kv;
  ls_fwd_tensor tin = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->attn, &tin, 1));
  float *q, *k, *v;
  int64_t qs, ks, vs;
  if (L->qkv.w) { /* fused: q | k | v along the row (gpt_neox: per head, split here) */
    TRY(ls__fw_linear(f, &L->qkv, in, S, L->qkv_per_head ? f->qkv_raw : f->qkv));
    if (L->qkv_per_head) ls__qkv_split_heads(f->qkv_raw, S, nh, D, f->qkv);
    int64_t w = (nh + 2 * nkv) * D;
    q = f->qkv;
    k = q + nh * D;
    v = k + nkv * D;
    qs = ks = vs = w;
  } else if (L->qn.w) {
    q = f->qkv;
    k = q + S * nh * D;
    v = k + S * nkv * D;
    qs = nh * D;
    ks = vs = nkv * D;
    float *qn = f->qk, *kn = f->qk + S * nh * D; /* [S, nh D], [S, nkv D] */
    /* in upstream call order: qwen3 and olmo2 norm each projection as it comes
     * (q_norm(q_proj(x)), k_norm(k_proj(x)), v_proj(x)); gemma3 and phi project all three
     * first */
    int late = L->qk_late;
    TRY(ls__fw_linear(f, &L->q, in, S, q));
    if (!late) TRY(qk_norm(f, L, &L->qn, nh, q, qn));
    TRY(ls__fw_linear(f, &L->k, in, S, k));
    if (!late) TRY(qk_norm(f, L, &L->kn, nkv, k, kn));
    TRY(ls__fw_linear(f, &L->v, in, S, v));
    if (late) {
      TRY(qk_norm(f, L, &L->qn, nh, q, qn));
      TRY(qk_norm(f, L, &L->kn, nkv, k, kn));
    }
    q = qn;
    k = kn;
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
    const float *ct = L->local_rope ? f->cos_l : f->cos_t, *st = L->local_rope ? f->sin_l : f->sin_t;
    ls__fw_rope_rows(f, q, nh, D, qs, e->rope.rot_dim, ct, st);
    ls__fw_rope_rows(f, k, nkv, D, ks, e->rope.rot_dim, ct, st);
  }
  if (f->kv) ls__fw_kv_append(f, L - e->layer, &k, &v, &ks, &vs);
  ls_ops_attn a = {.n_heads = nh, .n_kv = nkv, .head_dim = D, .q_stride = qs, .k_stride = ks, .v_stride = vs,
                   .scale = e->attn_scale, .causal = 1, .window = L->window, .softcap = e->attn_softcap,
                   .sinks = L->sinks};
  TRY(ls__fw_attend_rows(f, &a, q, k, v));
  TRY(ls__fw_linear(f, &L->o, f->att, S, out));
  ls_fwd_tensor tout = ls__act("output", out, S, H);
  ls_fwd_tensor inter[3] = {{.name = "probs", .dtype = LS_DT_F32, .data = f->probs, .ndim = 4,
                             .shape = {f->B, nh, f->L, f->T}}};
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
  TRY(ls__fw_enter(f, e->lm_wrap, &ids, 1));
  TRY(ls__fw_enter(f, e->backbone, &ids, 1));
  TRY(ls__fw_enter(f, e->tok_emb_mod, &ids, 1));
  for (int64_t s = 0; s < S; s++) ls_ops_embed(&e->tok_emb->mat, f->tokens[s], f->x + s * H);
  if (e->embed_in_module && e->embed_mul != 1.0f) ls_ops_scale(f->x, e->embed_mul, S * H);
  ls_fwd_tensor emb = ls__act("output", f->x, S, H);
  TRY(ls__fw_exit(f, e->tok_emb_mod, &ids, 1, &emb, 1, NULL, 0));
  if (e->arch == LS__ARCH_GPT2) {
    TRY(ls__fw_enter(f, e->pos_emb_mod, NULL, 0));
    for (int64_t s = 0; s < S; s++) ls_ops_embed(&e->pos_emb->mat, f->pos0 + s % f->L, f->aux + s * H);
    ls_fwd_tensor pe = ls__act("output", f->aux, S, H);
    TRY(ls__fw_exit(f, e->pos_emb_mod, NULL, 0, &pe, 1, NULL, 0));
    ls_ops_add(f->x, f->aux, S * H);
  } else {
    if (e->embed_mul != 1.0f && !e->embed_in_module) ls_ops_scale(f->x, e->embed_mul, S * H);
    ls_ops_rope_tables(&e->rope, f->T, f->cos_t, f->sin_t);
    if (e->has_local_rope) ls_ops_rope_tables(&e->rope_local, f->T, f->cos_l, f->sin_l);
  }
  float *x = f->x, *x2 = f->x2;
  ls_fwd_tensor lin = ls__act("input", x, S, H);
  TRY(ls__fw_enter(f, e->layers_list, &lin, 1));
  for (int64_t l = 0; l < e->n_layers; l++) {
    const ls__layer *L = &e->layer[l];
    ls_fwd_tensor tin = ls__act("input", x, S, H);
    TRY(ls__fw_enter(f, L->mod, &tin, 1));
    /* h = x + post(attn(pre(x))) * resid_mul; x2 = h + post(mlp(pre(h))) * resid_mul, each
     * pre / post norm present or not as the plan found them (plan_layer_norms) */
    const float *ain = L->n1.w ? f->nrm : x;
    const float *min = L->n2.w ? f->nrm2 : L->parallel ? f->nrm : f->h;
    float *ao = L->pn1.w ? f->nrm : f->ao, *fo = L->pn2.w ? f->nrm : f->fo;
    if (L->n1.w) TRY(ls__fw_norm(f, &L->n1, nk, x, f->nrm, S, H, eps));
    TRY(L->mla ? ls__fwd_mla_attn(f, L, ain, f->ao) : attn_block(f, L, ain, f->ao));
    if (L->pn1.w) TRY(ls__fw_norm(f, &L->pn1, nk, f->ao, ao, S, H, eps));
    if (e->resid_mul != 1.0f) ls_ops_scale(ao, e->resid_mul, S * H);
    ls_ops_add2(e->pool, f->h, x, ao, S * H);
    /* parallel (gpt_neox, phi): the MLP's norm reads x; x2 = (x + attn) + mlp as below */
    if (L->n2.w) TRY(ls__fw_norm(f, &L->n2, nk, L->parallel ? x : f->h, f->nrm2, S, H, eps));
    if (L->gate_up) TRY(oss_moe_block(f, L, min, f->fo));
    else if (L->experts) TRY(moe_block(f, L, min, f->fo));
    else TRY(mlp_block(f, L, min, f->fo));
    if (L->pn2.w) TRY(ls__fw_norm(f, &L->pn2, nk, f->fo, fo, S, H, eps));
    if (e->resid_mul != 1.0f) ls_ops_scale(fo, e->resid_mul, S * H);
    ls_ops_add2(e->pool, x2, f->h, fo, S * H);
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
    /* after lm_head, outside any module: granite's logits / logits_scaling, gemma2/3's
     * final_logit_softcapping */
    const int64_t n = S * e->lm_head.out;
    if (e->logit_div != 1.0f)
      for (int64_t i = 0; i < n; i++) f->logits[i] /= e->logit_div;
    if (e->final_softcap > 0)
      for (int64_t i = 0; i < n; i++)
        f->logits[i] = e->final_softcap * tanhf(f->logits[i] / e->final_softcap);
  } else {
    memcpy(f->logits, f->nrm, (size_t)(S * H) * sizeof(float));
  }
  ls_fwd_tensor lo = ls__act("output", f->logits, S, f->logit_cols);
  TRY(ls__fw_exit(f, e->lm_wrap, &ids, 1, &lo, 1, NULL, 0));
  return ls__fw_exit(f, e->root, &ids, 1, &lo, 1, NULL, 0);
}
