/* figures.c: parameter, FLOP and memory figures of a built model (see figures.h for the
 * conventions and docs/figures.md for the formulas and references). Everything is summed
 * from the module tree, so a figure is always consistent with the tensor list: weight bytes
 * are per tensor, FLOPs are per Linear/Conv weight plus attention's QK^T and AV. All sums
 * are checked; one overflow makes the whole call fail with LS_EOVERFLOW. */
#include <string.h>

#include "core/base/errors.h"
#include "core/model/figures.h"
#include "core/model/model_int.h"

static const struct { const char *name; uint64_t num, den, block; } k_wd[] = {
#define X(id, name, num, den, block) {name, num, den, block},
    LS_MODEL_WDTYPES(X)
#undef X
};

const char *ls_model_wdtype_name(ls_model_wdtype t) {
  return (unsigned)t < LS_MODEL_WDTYPE_COUNT ? k_wd[t].name : "?";
}

int ls_model_wdtype_parse(const char *s, ls_model_wdtype *out) {
  static const struct { const char *alias; ls_model_wdtype t; } aliases[] = {
      {"float32", LS_MODEL_WDTYPE_F32}, {"f32", LS_MODEL_WDTYPE_F32},
      {"bfloat16", LS_MODEL_WDTYPE_BF16}, {"float16", LS_MODEL_WDTYPE_F16},
      {"f16", LS_MODEL_WDTYPE_F16}, {"half", LS_MODEL_WDTYPE_F16},
      {"q8", LS_MODEL_WDTYPE_Q8_0}, {"q4", LS_MODEL_WDTYPE_Q4_0}};
  if (!s) return LS_EINVAL;
  for (int i = 0; i < LS_MODEL_WDTYPE_COUNT; i++)
    if (strcmp(s, k_wd[i].name) == 0) { *out = (ls_model_wdtype)i; return 0; }
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(s, aliases[i].alias) == 0) { *out = aliases[i].t; return 0; }
  return LS_EINVAL;
}

int ls_model_wdtype_bytes(ls_model_wdtype t, int64_t n, uint64_t *out) {
  if ((unsigned)t >= LS_MODEL_WDTYPE_COUNT || n < 0) return LS_EINVAL;
  uint64_t un = (uint64_t)n, r;
  if (k_wd[t].block) {
    uint64_t blocks = un / k_wd[t].block + (un % k_wd[t].block != 0);
    return ls__mul_u64(blocks, k_wd[t].num, out);
  }
  if (ls__mul_u64(un, k_wd[t].num, &r)) return LS_EOVERFLOW;
  *out = r / k_wd[t].den + (r % k_wd[t].den != 0);
  return 0;
}

int ls_model_attn_impl_parse(const char *s, ls_model_attn_impl *out) {
  if (!s) return LS_EINVAL;
  if (strcmp(s, "sdpa") == 0) *out = LS_MODEL_ATTN_SDPA;
  else if (strcmp(s, "eager") == 0) *out = LS_MODEL_ATTN_EAGER;
  else if (strcmp(s, "flash") == 0 || strcmp(s, "flash_attention_2") == 0) *out = LS_MODEL_ATTN_FLASH;
  else return LS_EINVAL;
  return 0;
}

const char *ls_model_attn_impl_name(ls_model_attn_impl a) {
  return a == LS_MODEL_ATTN_EAGER ? "eager" : a == LS_MODEL_ATTN_FLASH ? "flash" : "sdpa";
}

ls_model_wdtype ls_model_wdtype_default(const ls_model *m) {
  const char *d = m->sem.torch_dtype ? m->sem.torch_dtype : "float32";
  if (strcmp(d, "bfloat16") == 0) return LS_MODEL_WDTYPE_BF16;
  if (strcmp(d, "float16") == 0) return LS_MODEL_WDTYPE_F16;
  return LS_MODEL_WDTYPE_F32;
}

/* ---------------------------------------------------------------- FLOPs */

static int is_matmul(const ls_model *m, const ls_model_tensor *t) {
  ls_model_kind k = m->modules[t->module].kind;
  if (t->buffer) return 0;
  if (k == LS_MODEL_KIND_VISION) return t->ndim == 2; /* a projector's raw matrix */
  if (t->stacked > 0) return t->ndim == 3;             /* [experts, in, out] matrices */
  return strcmp(t->leaf, "weight") == 0 &&
         (k == LS_MODEL_KIND_LINEAR || k == LS_MODEL_KIND_CONV1D || k == LS_MODEL_KIND_ROUTER ||
          k == LS_MODEL_KIND_CONV);
}

/* Tokens a per-image module works on: the T of its [B, T, ...] shape (1 when symbolic). */
static uint64_t image_tokens(const ls_model_shape *s) {
  return s->ndim >= 2 && !s->d[1].sym && s->d[1].n > 0 ? (uint64_t)s->d[1].n : 1;
}

/* FLOPs of one per-image module's own matrices and attention, per image. */
static int image_flops(const ls_model *m, const ls_model_module *md, uint64_t *acc) {
  uint64_t f;
  if (md->kind == LS_MODEL_KIND_ATTENTION &&
      (ls__mul_u64(4, image_tokens(&md->out), &f) || ls__mul_u64(f, image_tokens(&md->in), &f) ||
       ls__mul_u64(f, (uint64_t)md->attn_dim, &f) || ls__add_u64(*acc, f, acc)))
    return LS_EOVERFLOW;
  for (int k = 0; k < md->n_tensors; k++) {
    const ls_model_tensor *t = &m->tensors[md->first_tensor + k];
    if (!is_matmul(m, t)) continue;
    if (ls__mul_u64(2, (uint64_t)t->numel, &f) || ls__mul_u64(f, image_tokens(&md->out), &f) ||
        ls__add_u64(*acc, f, acc))
      return LS_EOVERFLOW;
  }
  return 0;
}

static int active(const ls_model *m, const ls_model_tensor *t) {
  return t->expert < 0 || t->expert < m->sem.top_k;
}

/* Elements of a matrix that one token multiplies: top_k of n stacked experts. */
static uint64_t active_numel(const ls_model *m, const ls_model_tensor *t) {
  if (t->stacked > 0 && m->sem.top_k > 0 && m->sem.top_k < t->stacked)
    return (uint64_t)(t->numel / t->stacked) * (uint64_t)m->sem.top_k;
  return (uint64_t)t->numel;
}

static int64_t fixed_seq(const ls_model *m) { return ls__derived_get(m, "sem_fixed_seq", 0); }

/* attention FLOPs per token of one attention module at sequence length S: QK^T over d_attn
 * and AV over d_v for each of min(S, window) keys */
static int attn_flops(const ls_model_module *md, int64_t S, uint64_t *acc) {
  uint64_t keys = (uint64_t)S, f, w;
  if (md->attn_window > 0 && (uint64_t)md->attn_window < keys) keys = (uint64_t)md->attn_window;
  if (ls__add_u64((uint64_t)md->attn_dim, (uint64_t)md->attn_v_dim, &w) || ls__mul_u64(2, keys, &f) ||
      ls__mul_u64(f, w, &f))
    return LS_EOVERFLOW;
  return ls__add_u64(*acc, f, acc);
}

int ls_model_module_flops(const ls_model *m, int module, int64_t seq, uint64_t *out) {
  if (module < 0 || (size_t)module >= m->n_modules || seq < 1) return LS_EINVAL;
  if (fixed_seq(m) > 0) seq = fixed_seq(m);
  uint64_t acc = 0;
  int depth = m->modules[module].depth;
  for (size_t i = (size_t)module; i < m->n_modules; i++) {
    const ls_model_module *md = &m->modules[i];
    if (i > (size_t)module && md->depth <= depth) break;
    if (md->mtp && !m->modules[module].mtp) continue; /* checkpoint-only, not the model's */
    if (md->per_image) { /* per image, not per token */
      if (image_flops(m, md, &acc)) return LS_EOVERFLOW;
      continue;
    }
    if (md->kind == LS_MODEL_KIND_ATTENTION && attn_flops(md, seq, &acc)) return LS_EOVERFLOW;
    for (int k = 0; k < md->n_tensors; k++) {
      const ls_model_tensor *t = &m->tensors[md->first_tensor + k];
      uint64_t f;
      if (!is_matmul(m, t) || !active(m, t)) continue;
      if (ls__mul_u64(2, active_numel(m, t), &f) || ls__add_u64(acc, f, &acc)) return LS_EOVERFLOW;
    }
  }
  *out = acc;
  return 0;
}

/* ---------------------------------------------------------------- all figures */

#define CK(expr)                                                                               \
  do {                                                                                         \
    if (expr)                                                                                  \
      return ls_diag_set(d, LS_EOVERFLOW, "figures overflow 64 bits at batch %lld, sequence %lld", \
                         (long long)B, (long long)S);                                          \
  } while (0)

/* Activation bytes of one layer kept for the backward pass, 16-bit activations, no tensor
 * or sequence parallelism (Korthikanti et al. 2022, eq. 1 generalised to an MLP of inner
 * width f and gated MLPs): attention 11sbh + 5as^2b with the eager kernel, which stores the
 * S x S probabilities, or 11sbh + 4asb with sdpa / flash kernels, which keep a float32
 * log-sum-exp per head and token instead (Dao et al. 2022); MLP 3sbh + 4sbf (gated:
 * 3sbh + 6sbf), two LayerNorm inputs 4sbh. */
static int layer_act_bytes(const ls_model *m, ls_model_attn_impl attn, uint64_t s, uint64_t b, uint64_t *out) {
  const ls_model_sem *se = &m->sem;
  uint64_t h = (uint64_t)se->hidden, a = (uint64_t)se->n_heads, f = (uint64_t)se->intermediate;
  if (se->n_experts > 0 && se->top_k > 0) {
    uint64_t ef = (uint64_t)(se->moe_intermediate ? se->moe_intermediate : se->intermediate);
    if (ls__mul_u64(ef, (uint64_t)se->top_k, &f) || ls__add_u64(f, (uint64_t)se->shared_expert_intermediate, &f))
      return LS_EOVERFLOW;
  }
  uint64_t sbh, sbf, scores, t, acc = 0;
  if (ls__mul_u64(s, b, &t) || ls__mul_u64(t, h, &sbh) || ls__mul_u64(t, f, &sbf)) return LS_EOVERFLOW;
  /* eager: a s^2 b elements, 5 bytes each; sdpa / flash: a s b of 4 bytes */
  if (ls__mul_u64(a, s, &scores) || ls__mul_u64(scores, b, &scores) ||
      (attn == LS_MODEL_ATTN_EAGER && ls__mul_u64(scores, s, &scores)))
    return LS_EOVERFLOW;
  uint64_t parts[3][2] = {{11 + 3 + 4, sbh}, {attn == LS_MODEL_ATTN_EAGER ? 5u : 4u, scores},
                          {se->gated_mlp ? 6u : 4u, sbf}};
  for (int i = 0; i < 3; i++) {
    if (ls__mul_u64(parts[i][0], parts[i][1], &t) || ls__add_u64(acc, t, &acc)) return LS_EOVERFLOW;
  }
  *out = acc;
  return 0;
}

int ls_model_figures_compute(const ls_model *m, const ls_model_figopts *o, ls_model_figures *out,
                             ls_diag *d) {
  memset(out, 0, sizeof *out);
  if (!m || m->n_errors > m->n_json_errors || m->n_modules == 0)
    return ls_diag_set(d, LS_EINVAL, "the model has errors; no figures");
  int64_t B = o && o->batch ? o->batch : 1;
  int64_t S = o && o->seq ? o->seq : (m->sem.max_pos > 0 && m->sem.max_pos < 2048 ? m->sem.max_pos : 2048);
  if (fixed_seq(m) > 0) S = fixed_seq(m);
  if (B < 1 || S < 1) return ls_diag_set(d, LS_EINVAL, "batch and sequence length must be >= 1");
  out->batch = B;
  out->seq = S;
  out->dtype = o ? o->dtype : ls_model_wdtype_default(m);
  out->attn = o ? o->attn : LS_MODEL_ATTN_SDPA;
  if ((unsigned)out->dtype >= LS_MODEL_WDTYPE_COUNT) return ls_diag_set(d, LS_EINVAL, "unknown dtype");
  out->params = m->params;
  out->params_active = m->params_active;
  out->params_embedding = m->params_embedding;
  out->params_non_embedding = m->params - m->params_embedding;
  out->params_mtp = m->params_mtp;

  uint64_t kv_elems_tok = 0, kv_elems = 0;
  uint64_t kv_expanded_tok = 0; /* MLA: K and V as transformers' cache holds them */
  uint64_t ssm_elems = 0;
  for (size_t i = 0; i < m->n_modules; i++) {
    const ls_model_module *md = &m->modules[i];
    if (md->mtp) continue;
    if (md->kind == LS_MODEL_KIND_SSM) {
      CK(ls__add_u64(ssm_elems, (uint64_t)md->ssm_state, &ssm_elems));
      out->train_activations_unknown = 1; /* no published activation formula: said, not guessed */
    }
    if (md->per_image) {
      CK(image_flops(m, md, &out->flops_per_image));
      continue;
    }
    if (md->kind != LS_MODEL_KIND_ATTENTION) continue;
    CK(attn_flops(md, S, &out->flops_attn_per_token));
    if (md->attn_kv_dim > 0) {
      uint64_t per = 0, len = (uint64_t)S, t, v;
      if (md->attn_window > 0 && (uint64_t)md->attn_window < len) len = (uint64_t)md->attn_window;
      /* K of attn_kv_dim (n_kv x d_qk), V of n_kv x d_v = attn_kv_dim x d_v / d_qk */
      v = (uint64_t)md->attn_kv_dim;
      if (md->attn_v_dim != md->attn_dim && md->attn_dim > 0) {
        CK(ls__mul_u64(v, (uint64_t)md->attn_v_dim, &v));
        v /= (uint64_t)md->attn_dim;
      }
      CK(ls__add_u64((uint64_t)md->attn_kv_dim, v, &per));
      if (md->attn_latent > 0) {
        CK(ls__add_u64(kv_expanded_tok, per, &kv_expanded_tok));
        per = (uint64_t)md->attn_latent;
      }
      CK(ls__add_u64(kv_elems_tok, per, &kv_elems_tok));
      CK(ls__mul_u64(per, len, &t) || ls__mul_u64(t, (uint64_t)B, &t));
      CK(ls__add_u64(kv_elems, t, &kv_elems));
    }
  }
  for (size_t i = 0; i < m->n_tensors; i++) {
    const ls_model_tensor *t = &m->tensors[i];
    if (t->mtp) continue;
    if (is_matmul(m, t) && active(m, t) && !m->modules[t->module].per_image) {
      uint64_t f;
      CK(ls__mul_u64(2, active_numel(m, t), &f) || ls__add_u64(out->flops_matmul_per_token, f, &out->flops_matmul_per_token));
    }
    if (t->tied_to >= 0 || t->buffer) continue;
    for (int w = 0; w < LS_MODEL_WDTYPE_COUNT; w++) {
      uint64_t by;
      CK(ls_model_wdtype_bytes((ls_model_wdtype)w, t->numel, &by));
      CK(ls__add_u64(out->weight_bytes[w], by, &out->weight_bytes[w]));
    }
  }
  {
    int src = ls__stored_bytes(m, &out->weight_bytes_stored, out->stored_format, sizeof out->stored_format);
    CK(src == LS_EOVERFLOW);
    if (src) out->weight_bytes_stored = 0; /* a format that is not modelled: said, not guessed */
  }
  CK(ls__add_u64(out->flops_matmul_per_token, out->flops_attn_per_token, &out->flops_per_token));
  CK(ls__mul_u64(out->flops_per_token, 3, &out->flops_train_per_token));
  CK(ls__mul_u64(out->flops_per_token, (uint64_t)B, &out->flops_forward) ||
     ls__mul_u64(out->flops_forward, (uint64_t)S, &out->flops_forward));
  if (ssm_elems) {
    CK(ls_model_wdtype_bytes(out->dtype, (int64_t)ssm_elems, &out->ssm_state_bytes_per_seq));
    CK(ls__mul_u64(out->ssm_state_bytes_per_seq, (uint64_t)B, &out->ssm_state_bytes));
  }
  if (kv_expanded_tok)
    CK(ls_model_wdtype_bytes(out->dtype, (int64_t)kv_expanded_tok, &out->kv_bytes_per_token_expanded));
  if (kv_elems_tok) {
    CK(ls_model_wdtype_bytes(out->dtype, (int64_t)kv_elems_tok, &out->kv_bytes_per_token));
    CK(kv_elems > (uint64_t)INT64_MAX || ls_model_wdtype_bytes(out->dtype, (int64_t)kv_elems, &out->kv_bytes));
  }

  /* training: mixed-precision Adam, 16 bytes per parameter (Rajbhandari et al. 2020) */
  uint64_t P = (uint64_t)m->params, layer, layers;
  CK(ls__mul_u64(P, 2, &out->train_weights));
  CK(ls__mul_u64(P, 2, &out->train_grads));
  CK(ls__mul_u64(P, 12, &out->train_optimizer));
  layers = (uint64_t)(m->sem.n_layers + m->sem.n_layers_decoder);
  CK(layer_act_bytes(m, out->attn, (uint64_t)S, (uint64_t)B, &layer));
  CK(ls__mul_u64(layer, layers, &out->train_activations));
  /* full recomputation keeps each layer's 16-bit input (2sbh) and one layer's working set */
  uint64_t inputs;
  CK(ls__mul_u64((uint64_t)S, 2, &inputs) || ls__mul_u64(inputs, (uint64_t)B, &inputs) || ls__mul_u64(inputs, (uint64_t)m->sem.hidden, &inputs) ||
     ls__mul_u64(inputs, layers, &inputs));
  CK(ls__add_u64(inputs, layers ? layer : 0, &out->train_activations_ckpt));
  uint64_t base;
  CK(ls__add_u64(out->train_weights, out->train_grads, &base) || ls__add_u64(base, out->train_optimizer, &base));
  CK(ls__add_u64(base, out->train_activations, &out->train_total));
  CK(ls__add_u64(base, out->train_activations_ckpt, &out->train_total_ckpt));
  if (out->train_activations_unknown) /* state-space layers: no formula, so no total either */
    out->train_activations = out->train_activations_ckpt = out->train_total = out->train_total_ckpt = 0;
  /* every figure must also fit int64 (JSON writers and callers use signed 64-bit) */
  const uint64_t *all[] = {&out->flops_per_token, &out->flops_train_per_token, &out->flops_forward,
                           &out->kv_bytes, &out->train_total, &out->train_total_ckpt,
                           &out->weight_bytes[LS_MODEL_WDTYPE_F32], &out->weight_bytes[LS_MODEL_WDTYPE_Q8_0],
                           &out->flops_per_image};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (*all[i] > (uint64_t)INT64_MAX)
      return ls_diag_set(d, LS_EOVERFLOW, "a figure exceeds 2^63 at batch %lld, sequence %lld",
                         (long long)B, (long long)S);
  return 0;
}
