/* fwd_mla.c: DeepSeek-V2 and V3 in the decoder pass: their multi-head latent attention (MLA)
 * and their routers, following transformers' models/deepseek_v3/modular_deepseek_v3.py and
 * models/deepseek_v2/modular_deepseek_v2.py (the MoE blocks as transformers 4.5x registers
 * them, per-expert ModuleLists, the checkpoints' names). DeepseekV3Attention:
 *
 *   q      = q_proj(x), or q_b_proj(q_a_layernorm(q_a_proj(x)))    [S, heads, nope + rope]
 *   c      = kv_a_proj_with_mqa(x) = [latent (kv_lora_rank) | k_rot (rope)], k_rot shared by
 *            all heads
 *   kv     = kv_b_proj(kv_a_layernorm(latent))                      [S, heads, nope + v]
 *   scores = ([q_nope | rope(q_rot)] . [k_nope | rope(k_rot)]) * scaling, causal softmax,
 *            times v, then o_proj.
 *
 * rope_interleave (DeepSeek's layout, the default): the rotary dims come as pairs (2i, 2i+1)
 * rotated by frequency i; upstream de-interleaves them (evens then odds) and rotates halves,
 * which is what is done here. scaling = (nope + rope)^-0.5, times mscale^2 with
 * mscale = 0.1 mscale_all_dim ln(factor) + 1 when rope_scaling is set and has
 * mscale_all_dim. The two inner norms are DeepseekV3RMSNorm with its default eps 1e-6 (upstream
 * does not pass rms_norm_eps to them).
 *
 * The engine's attention kernel takes one head_dim for q, k and v, so each head is laid out
 * zero-padded to head_dim = max(nope + rope, v), its dims reordered [rope | nope] (the same
 * order in q and k, so every dot product is upstream's); the output's first v dims of each
 * head are then packed for o_proj.
 *
 * The layers from first_k_dense_replace on are DeepseekV3MoE, run by fwd_decoder.c's
 * moe_block with the routing of ls__ds_route (DeepseekV3TopkRouter): sigmoid of the router
 * logits; for the choice only, plus e_score_correction_bias; experts in n_group groups, each
 * scored by the sum of its two best, the topk_group best groups kept and the other experts'
 * choice scores set to 0.0 (masked_fill, not -inf); the top_k by choice score; their weights
 * the sigmoid scores, renormalised (sum + 1e-20) with norm_topk_prob, times
 * routed_scaling_factor; then + shared_experts(x), ungated.
 *
 * DeepSeek-V2 differs in three places: DeepseekV2Attention rotates the rotary dims as complex
 * pairs (2i, 2i+1) (apply_rotary_emb; the same rotation as rope_interleave) and its scaling
 * is (nope + rope)^-0.5 without mscale; DeepseekV2MoEGate takes the softmax of the logits,
 * then top-k of them (greedy) or of those in the topk_group groups with the best maximum
 * (group_limited_greedy; the others 0.0), weights the chosen probabilities times
 * routed_scaling_factor, never renormalised (norm_topk_prob is not read). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/engine/engine_int.h"

#define MLA_NORM_EPS 1e-6f /* DeepseekV3RMSNorm's default: q_a_layernorm, kv_a_layernorm */

static int64_t cfg_i(const ls_model *m, const char *key, int64_t def) {
  const ls_model_value *v = ls_model_value_get(m, key);
  return v && v->kind == LS_MODEL_VT_INT ? v->i : def;
}

static double rs_num(const ls_json *rs, const char *k) {
  const ls_json *v = rs ? ls_json_get(rs, k) : NULL;
  return v && v->kind == LS_JSON_NUMBER ? v->u.num.value : 0.0;
}

int ls__plan_mla(ls_engine *e, ls_diag *d) {
  const ls_model *m = e->m;
  e->mla_nope = cfg_i(m, "qk_nope_head_dim", 0);
  e->mla_rope = cfg_i(m, "qk_rope_head_dim", 0);
  e->mla_v = cfg_i(m, "v_head_dim", 0);
  e->mla_kv_rank = cfg_i(m, "kv_lora_rank", 0);
  e->mla_q_rank = cfg_i(m, "q_lora_rank", 0);
  const ls_model_value *il = ls_model_value_get(m, "rope_interleave");
  e->ds_v2 = m->family == LS_MODEL_FAMILY_DEEPSEEK_V2;
  e->mla_interleave = e->ds_v2 || !(il && il->kind == LS_MODEL_VT_BOOL && !il->i);
  if (e->mla_nope < 0 || e->mla_rope <= 0 || e->mla_rope % 2 || e->mla_v <= 0 || e->mla_kv_rank <= 0 ||
      e->mla_q_rank < 0)
    return ls_diag_set(d, LS_EINVAL, "MLA sizes cannot be run (qk_nope_head_dim %lld, "
                       "qk_rope_head_dim %lld, v_head_dim %lld, kv_lora_rank %lld)",
                       (long long)e->mla_nope, (long long)e->mla_rope, (long long)e->mla_v,
                       (long long)e->mla_kv_rank);
  e->ds_first_moe = cfg_i(m, "first_k_dense_replace", 0);
  if (e->n_experts > 0 && e->ds_first_moe < e->n_layers) {
    const int64_t E = e->n_experts;
    e->ds_groups = cfg_i(m, "n_group", 1);
    e->ds_topk_groups = cfg_i(m, "topk_group", 1);
    if (e->ds_v2) {
      const ls_model_value *tm = ls_model_value_get(m, "topk_method");
      const char *method = tm && tm->kind == LS_MODEL_VT_STRING && tm->s ? tm->s : "greedy";
      if (strcmp(method, "greedy") == 0) {
        e->ds_groups = e->ds_topk_groups = 1;
      } else if (strcmp(method, "group_limited_greedy") != 0) {
        return ls_diag_set(d, LS_EUNSUPPORTED, "deepseek_v2 topk_method \"%s\" is not run by the "
                           "engine (transformers has greedy and group_limited_greedy)", method);
      }
    }
    const ls_model_value *rs = ls_model_value_get(m, "routed_scaling_factor");
    e->ds_scale = !rs ? 1.0f : rs->kind == LS_MODEL_VT_FLOAT ? (float)rs->f
                : rs->kind == LS_MODEL_VT_INT ? (float)rs->i : 1.0f;
    e->shared_inter = e->moe_inter * cfg_i(m, "n_shared_experts", 0);
    const int64_t min_per = e->ds_v2 ? 1 : 2; /* v3 scores a group by its two best */
    if (e->ds_groups <= 0 || E % e->ds_groups || E / e->ds_groups < min_per || e->ds_topk_groups <= 0 ||
        e->ds_topk_groups > e->ds_groups || e->top_k > e->ds_topk_groups * (E / e->ds_groups))
      return ls_diag_set(d, LS_EINVAL, "%s routing cannot be run: %lld experts in n_group %lld "
                         "(at least %lld per group), topk_group %lld, num_experts_per_tok %lld",
                         m->model_type, (long long)E, (long long)e->ds_groups, (long long)min_per,
                         (long long)e->ds_topk_groups, (long long)e->top_k);
  } else {
    e->n_experts = 0;
  }
  const int64_t qk = e->mla_nope + e->mla_rope, nh = e->n_heads;
  e->head_dim = qk > e->mla_v ? qk : e->mla_v;
  e->n_kv = nh;
  e->rope.rot_dim = (int)e->mla_rope; /* frequencies over the rotary dims (config head_dim) */
  double scale = 1.0 / sqrt((double)qk);
  const ls_json *rs = m->sem.rope_scaling;
  double msa = rs_num(rs, "mscale_all_dim"), factor = rs_num(rs, "factor");
  if (rs && msa != 0 && factor > 1 && !e->ds_v2) { /* yarn_get_mscale(factor, mscale_all_dim)^2 */
    double ms = 0.1 * msa * log(factor) + 1.0;
    scale *= ms * ms;
  }
  e->attn_scale = (float)scale;
  /* q, q_a, q_a normed, kv_a, latent, latent normed, kv_b */
  e->mla_scratch = nh * qk + 2 * e->mla_q_rank + (e->mla_kv_rank + e->mla_rope) + 2 * e->mla_kv_rank +
                   nh * (e->mla_nope + e->mla_v);
  return LS_OK;
}

int ls__plan_mla_layer(ls_engine *e, int64_t l, ls__layer *L, const char *b, ls_diag *d) {
  const int64_t H = e->H, nh = e->n_heads, qk = e->mla_nope + e->mla_rope;
  const int64_t R = e->mla_kv_rank, Q = e->mla_q_rank;
  char n[600];
  L->mla = 1;
  L->mod = ls__mod(e, "%s", b);
  L->attn = ls__mod(e, "%s.self_attn", b);
  L->pn1.mod = L->pn2.mod = L->qn.mod = L->kn.mod = -1;
  L->window = 0;
  int rc = 0;
  if (Q > 0) {
    snprintf(n, sizeof n, "%s.self_attn.q_a_proj", b);
    rc = ls__lin_bind(e, &L->q_a, n, 1, H, Q, 1, d);
    snprintf(n, sizeof n, "%s.self_attn.q_a_layernorm", b);
    rc = rc ? rc : ls__norm_bind(e, &L->q_an, n, Q, 1, d);
    snprintf(n, sizeof n, "%s.self_attn.q_b_proj", b);
    rc = rc ? rc : ls__lin_bind(e, &L->q_b, n, 1, Q, nh * qk, 1, d);
  } else {
    snprintf(n, sizeof n, "%s.self_attn.q_proj", b);
    rc = ls__lin_bind(e, &L->q, n, 1, H, nh * qk, 1, d);
  }
  snprintf(n, sizeof n, "%s.self_attn.kv_a_proj_with_mqa", b);
  rc = rc ? rc : ls__lin_bind(e, &L->kv_a, n, 1, H, R + e->mla_rope, 1, d);
  snprintf(n, sizeof n, "%s.self_attn.kv_a_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->kv_an, n, R, 1, d);
  snprintf(n, sizeof n, "%s.self_attn.kv_b_proj", b);
  rc = rc ? rc : ls__lin_bind(e, &L->kv_b, n, 1, R, nh * (e->mla_nope + e->mla_v), 1, d);
  snprintf(n, sizeof n, "%s.self_attn.o_proj", b);
  rc = rc ? rc : ls__lin_bind(e, &L->o, n, 1, nh * e->mla_v, H, 1, d);
  snprintf(n, sizeof n, "%s.input_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->n1, n, H, 1, d);
  snprintf(n, sizeof n, "%s.post_attention_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->n2, n, H, 1, d);
  if (rc) return rc;
  if (e->n_experts > 0 && l >= e->ds_first_moe) {
    rc = ls__plan_experts(e, L, b, "mlp", "gate_proj", "down_proj", "up_proj", d);
    if (rc) return rc;
    L->ds_route = 1;
    if (!e->ds_v2) {
      snprintf(n, sizeof n, "%s.mlp.gate.e_score_correction_bias", b);
      const ls__wb *cb = ls__wb_find(e, n);
      if (!cb || cb->ndim != 1 || cb->shape[0] != e->n_experts)
        return ls_diag_set(d, LS_ESHAPE, "%s is missing or not [%lld]", n, (long long)e->n_experts);
      L->ds_bias = cb->vec;
    }
    L->shared_mod = ls__mod(e, "%s.mlp.shared_experts", b);
    if (L->shared_mod < 0 || e->shared_inter <= 0) return LS_OK;
    snprintf(n, sizeof n, "%s.mlp.shared_experts.gate_proj", b);
    rc = ls__lin_bind(e, &L->sh_gate, n, 1, H, e->shared_inter, 1, d);
    snprintf(n, sizeof n, "%s.mlp.shared_experts.up_proj", b);
    rc = rc ? rc : ls__lin_bind(e, &L->sh_up, n, 1, H, e->shared_inter, 1, d);
    snprintf(n, sizeof n, "%s.mlp.shared_experts.down_proj", b);
    return rc ? rc : ls__lin_bind(e, &L->sh_down, n, 1, e->shared_inter, H, 1, d);
  }
  L->mlp = ls__mod(e, "%s.mlp", b);
  snprintf(n, sizeof n, "%s.mlp.gate_proj", b);
  rc = rc ? rc : ls__lin_bind(e, &L->fc1, n, 1, H, e->inter, 1, d);
  snprintf(n, sizeof n, "%s.mlp.up_proj", b);
  rc = rc ? rc : ls__lin_bind(e, &L->up, n, 1, H, e->inter, 1, d);
  snprintf(n, sizeof n, "%s.mlp.down_proj", b);
  return rc ? rc : ls__lin_bind(e, &L->fc2, n, 1, e->inter, H, 1, d);
}

void ls__ds_route(const ls_engine *e, const ls__layer *L, const float *logits, float *routing) {
  const int64_t E = e->n_experts, G = e->ds_groups, per = E / G, K = e->top_k;
  float sc[256], ch[256], gs[256], v[256]; /* [E] scores, choice scores; [G] group scores */
  int64_t idx[256];
  if (e->ds_v2) { /* softmax; a group's score is its best probability */
    memcpy(sc, logits, (size_t)E * sizeof(float));
    ls_ops_softmax(sc, 1, E);
    memcpy(ch, sc, (size_t)E * sizeof(float));
  } else { /* sigmoid; choose by score + correction bias, a group by its two best */
    for (int64_t x = 0; x < E; x++) {
      sc[x] = 1.0f / (1.0f + expf(-logits[x]));
      ch[x] = sc[x] + L->ds_bias[x];
    }
  }
  for (int64_t g = 0; g < G; g++) {
    ls_ops_topk(ch + g * per, per, e->ds_v2 ? 1 : 2, idx, v);
    gs[g] = e->ds_v2 ? v[0] : v[0] + v[1];
  }
  ls_ops_topk(gs, G, (int)e->ds_topk_groups, idx, v);
  int keep[256] = {0}; /* [G] */
  for (int64_t k = 0; k < e->ds_topk_groups; k++) keep[idx[k]] = 1;
  for (int64_t x = 0; x < E; x++)
    if (!keep[x / per]) ch[x] = 0.0f;
  ls_ops_topk(ch, E, (int)K, idx, v);
  double sum = 0;
  for (int64_t k = 0; k < K; k++) sum += sc[idx[k]];
  double div = e->moe_renorm && !e->ds_v2 ? sum + 1e-20 : 1.0;
  for (int64_t k = 0; k < K; k++) routing[idx[k]] = (float)(sc[idx[k]] / div) * e->ds_scale;
}

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

/* dst[rope] = src's rotary dims: as stored, or de-interleaved (evens, then odds). */
static void rot_dims(float *dst, const float *src, int64_t rope, int interleave) {
  if (!interleave) {
    memcpy(dst, src, (size_t)rope * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < rope / 2; i++) {
    dst[i] = src[2 * i];
    dst[rope / 2 + i] = src[2 * i + 1];
  }
}

int ls__fwd_mla_attn(ls_fwd *f, const ls__layer *L, const float *in, float *out) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H, nh = e->n_heads, D = e->head_dim;
  const int64_t nope = e->mla_nope, rope = e->mla_rope, vd = e->mla_v, qk = nope + rope;
  const int64_t R = e->mla_kv_rank, Q = e->mla_q_rank, W = nh * D;
  /* the projections, [S, width] each, in f->mla */
  float *qp = f->mla;                 /* [S, nh qk] */
  float *qa = qp + S * nh * qk;       /* [S, Q] */
  float *qan = qa + S * Q;            /* [S, Q] */
  float *kva = qan + S * Q;           /* [S, R + rope] */
  float *kvl = kva + S * (R + rope);  /* [S, R] the latent part of kva */
  float *kvn = kvl + S * R;           /* [S, R] */
  float *kvb = kvn + S * R;           /* [S, nh (nope + vd)] */
  float *q = f->qkv, *k = q + S * W, *v = k + S * W; /* [S, nh, D] each, zero-padded */
  ls_fwd_tensor tin = ls__act("input", in, S, H);
  TRY(ls__fw_enter(f, L->attn, &tin, 1));
  if (Q > 0) {
    TRY(ls__fw_linear(f, &L->q_a, in, S, qa));
    TRY(ls__fw_norm(f, &L->q_an, LS_MODEL_NORM_RMS, qa, qan, S, Q, MLA_NORM_EPS));
    TRY(ls__fw_linear(f, &L->q_b, qan, S, qp));
  } else {
    TRY(ls__fw_linear(f, &L->q, in, S, qp));
  }
  TRY(ls__fw_linear(f, &L->kv_a, in, S, kva));
  /* kv_a_layernorm reads the latent part of each row of kva: gather it first */
  for (int64_t s = 0; s < S; s++) memcpy(kvl + s * R, kva + s * (R + rope), (size_t)R * sizeof(float));
  TRY(ls__fw_norm(f, &L->kv_an, LS_MODEL_NORM_RMS, kvl, kvn, S, R, MLA_NORM_EPS));
  TRY(ls__fw_linear(f, &L->kv_b, kvn, S, kvb));
  memset(f->qkv, 0, (size_t)(3 * S * W) * sizeof(float));
  for (int64_t s = 0; s < S; s++)
    for (int64_t h = 0; h < nh; h++) {
      const float *qs = qp + (s * nh + h) * qk, *ks = kvb + (s * nh + h) * (nope + vd);
      float *qd = q + s * W + h * D, *kd = k + s * W + h * D, *vdst = v + s * W + h * D;
      rot_dims(qd, qs + nope, rope, e->mla_interleave);
      memcpy(qd + rope, qs, (size_t)nope * sizeof(float));
      rot_dims(kd, kva + s * (R + rope) + R, rope, e->mla_interleave);
      memcpy(kd + rope, ks, (size_t)nope * sizeof(float));
      memcpy(vdst, ks + nope, (size_t)vd * sizeof(float));
    }
  /* positions pos0.. (with a KV cache, the earlier ones are cached: their rows of the tables
   * are skipped and the cache's keys / values, expanded per head, are appended to) */
  ls__fw_rope_rows(f, q, nh, D, W, (int)rope, f->cos_t, f->sin_t);
  ls__fw_rope_rows(f, k, nh, D, W, (int)rope, f->cos_t, f->sin_t);
  int64_t ks = W, vs = W;
  if (f->kv) ls__fw_kv_append(f, L - e->layer, &k, &v, &ks, &vs);
  ls_ops_attn a = {.n_heads = nh, .n_kv = nh, .head_dim = D, .q_stride = W, .k_stride = ks, .v_stride = vs,
                   .scale = e->attn_scale, .causal = 1};
  TRY(ls__fw_attend_rows(f, &a, q, k, v));
  /* each head's first vd output dims, packed [S, nh vd] for o_proj (in place: the packed
   * index never passes the padded one) */
  for (int64_t s = 0; s < S; s++)
    for (int64_t h = 0; h < nh; h++)
      memmove(f->att + (s * nh + h) * vd, f->att + s * W + h * D, (size_t)vd * sizeof(float));
  TRY(ls__fw_linear(f, &L->o, f->att, S, out));
  ls_fwd_tensor tout = ls__act("output", out, S, H);
  ls_fwd_tensor pr = {.name = "probs", .dtype = LS_DT_F32, .data = f->probs, .ndim = 4,
                      .shape = {f->B, nh, f->L, f->T}};
  return ls__fw_exit(f, L->attn, &tin, 1, &tout, 1, &pr, 1);
}
