/* fwd_parallel.c: the layer plans of the decoder families whose attention and MLP read the
 * same residual input, run by fwd_decoder.c's pass with the ls__layer flags set here:
 *
 *   gpt_neox (modeling_gpt_neox.py GPTNeoXLayer): input_layernorm -> attention
 *     (query_key_value fused with each head's q, k, v adjacent, partial rotary, dense),
 *     post_attention_layernorm -> mlp (dense_h_to_4h, act, dense_4h_to_h); with
 *     use_parallel_residual the MLP's norm reads the layer input: x + attn(ln1(x)) +
 *     mlp(ln2(x)), else the usual sequential residuals.
 *   phi (modeling_phi.py PhiDecoderLayer): one input_layernorm feeds both: x + attn(ln(x)) +
 *     mlp(ln(x)); self_attn has q_proj / k_proj / v_proj / dense with biases, optional
 *     q_layernorm / k_layernorm (LayerNorm over each head's head_dim, after all three
 *     projections), partial rotary; mlp is fc1, gelu_new, fc2.
 *
 * Model-level names (embed_in / embed_tokens, final_layer_norm / final_layernorm, embed_out /
 * lm_head with phi's bias) are ls__engine_plan_decoder's. */
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/engine/engine_int.h"

/* gpt_neox: query_key_value [H -> 3H] rows are [heads, 3, head_dim]. */
static int plan_neox_attn(ls_engine *e, ls__layer *L, const char *b, ls_diag *d) {
  const int64_t H = e->H, D = e->head_dim, nh = e->n_heads;
  char n[600];
  if (e->n_kv != nh || nh * D != H)
    return ls_diag_set(d, LS_EUNSUPPORTED, "gpt_neox with %lld kv heads of %lld: the engine runs "
                       "query_key_value as heads x [q k v] of hidden_size / heads", (long long)e->n_kv,
                       (long long)nh);
  L->attn = ls__mod(e, "%s.attention", b);
  L->qkv_per_head = 1;
  e->has_qkv_per_head = 1;
  snprintf(n, sizeof n, "%s.attention.query_key_value", b);
  int rc = ls__lin_bind(e, &L->qkv, n, 1, H, 3 * H, 1, d);
  snprintf(n, sizeof n, "%s.attention.dense", b);
  rc = rc ? rc : ls__lin_bind(e, &L->o, n, 1, H, H, 1, d);
  snprintf(n, sizeof n, "%s.input_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->n1, n, H, 1, d);
  snprintf(n, sizeof n, "%s.post_attention_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->n2, n, H, 1, d);
  L->mlp = ls__mod(e, "%s.mlp", b);
  snprintf(n, sizeof n, "%s.mlp.dense_h_to_4h", b);
  rc = rc ? rc : ls__lin_bind(e, &L->fc1, n, 1, H, e->inter, 1, d);
  snprintf(n, sizeof n, "%s.mlp.dense_4h_to_h", b);
  return rc ? rc : ls__lin_bind(e, &L->fc2, n, 1, e->inter, H, 1, d);
}

/* phi: separate projections, dense, optional per-head LayerNorms of q and k. */
static int plan_phi_attn(ls_engine *e, ls__layer *L, const char *b, ls_diag *d) {
  const int64_t H = e->H, D = e->head_dim, nh = e->n_heads, nkv = e->n_kv;
  char n[600];
  L->attn = ls__mod(e, "%s.self_attn", b);
  snprintf(n, sizeof n, "%s.self_attn.q_proj", b);
  int rc = ls__lin_bind(e, &L->q, n, 1, H, nh * D, 1, d);
  snprintf(n, sizeof n, "%s.self_attn.k_proj", b);
  rc = rc ? rc : ls__lin_bind(e, &L->k, n, 1, H, nkv * D, 1, d);
  snprintf(n, sizeof n, "%s.self_attn.v_proj", b);
  rc = rc ? rc : ls__lin_bind(e, &L->v, n, 1, H, nkv * D, 1, d);
  snprintf(n, sizeof n, "%s.self_attn.dense", b);
  rc = rc ? rc : ls__lin_bind(e, &L->o, n, 1, nh * D, H, 1, d);
  snprintf(n, sizeof n, "%s.self_attn.q_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->qn, n, D, 0, d);
  snprintf(n, sizeof n, "%s.self_attn.k_layernorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->kn, n, D, L->qn.w != NULL, d);
  if (rc) return rc;
  if (L->qn.w) {
    L->qk_per_head = 1;
    L->qk_late = 1; /* PhiAttention projects q, k, v, then norms q and k */
    e->has_qk_norm = 1;
  }
  snprintf(n, sizeof n, "%s.input_layernorm", b);
  rc = ls__norm_bind(e, &L->n1, n, H, 1, d);
  L->n2.mod = -1; /* the MLP reads input_layernorm's output */
  L->mlp = ls__mod(e, "%s.mlp", b);
  snprintf(n, sizeof n, "%s.mlp.fc1", b);
  rc = rc ? rc : ls__lin_bind(e, &L->fc1, n, 1, H, e->inter, 1, d);
  snprintf(n, sizeof n, "%s.mlp.fc2", b);
  return rc ? rc : ls__lin_bind(e, &L->fc2, n, 1, e->inter, H, 1, d);
}

int ls__plan_parallel_layer(ls_engine *e, ls__layer *L, const char *b, ls_diag *d) {
  const ls_model *m = e->m;
  L->mod = ls__mod(e, "%s", b);
  L->pn1.mod = L->pn2.mod = L->qn.mod = L->kn.mod = -1;
  L->mlp_plain = 1;
  L->window = 0;
  if (m->family == LS_MODEL_FAMILY_GPT_NEOX) {
    L->parallel = m->sem.parallel_block;
    return plan_neox_attn(e, L, b, d);
  }
  L->parallel = 1;
  return plan_phi_attn(e, L, b, d);
}

void ls__qkv_split_heads(const float *raw, int64_t S, int64_t heads, int64_t head_dim, float *qkv) {
  const int64_t w = 3 * heads * head_dim;
  const size_t bytes = (size_t)head_dim * sizeof(float);
  for (int64_t s = 0; s < S; s++) {
    const float *r = raw + s * w;
    float *q = qkv + s * w, *k = q + heads * head_dim, *v = k + heads * head_dim;
    for (int64_t h = 0; h < heads; h++) {
      memcpy(q + h * head_dim, r + (3 * h) * head_dim, bytes);
      memcpy(k + h * head_dim, r + (3 * h + 1) * head_dim, bytes);
      memcpy(v + h * head_dim, r + (3 * h + 2) * head_dim, bytes);
    }
  }
}
