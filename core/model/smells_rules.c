/* smells_rules.c: the architecture rules (LS101-LS116). Each reads the resolved config of
 * the model (values by role, with defaults and spans) and its semantics (ls_model_sem), and
 * commits findings with the other keys involved as related spans and a fix where one is
 * clear. A rule stays silent when a value it needs was rejected by the model (that value
 * already has its own finding), so one mistake is reported once. What upstream does in each
 * case, and why it matters, is written in docs/rules.md under the rule's code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/smells_int.h"

/* ---------------------------------------------------------------- helpers */

/* Span of the value when present (where the squiggle goes), else the fallback. */
static ls_json_span vspan(const ls_model_value *v, ls_json_span fallback) {
  return v && v->present ? v->value_span : fallback;
}

/* Adds "name = value is set here" (or "... by default") as related information. */
static void rel(ls__sb *b, const ls_model_value *v, const char *what) {
  if (!v || !v->present) return;
  ls__sb_related(b, v->key_span, "%s%s", ls__sv_name(v), what);
}

static const char *dflt(const ls_model_value *v) { return v && v->present ? "" : " (default)"; }

static int64_t round_up64(int64_t x) { return x > INT64_MAX - 63 ? x : (x + 63) / 64 * 64; }

/* ---------------------------------------------------------------- attention geometry */

/* LS101. Families without a head_dim key derive it as hidden // heads and check it at
 * construction (GPT-2, BERT, OPT, BLOOM, GPT-NeoX, Whisper, ViT raise ValueError): an error.
 * Families with a head_dim key whose default is hidden // heads (Llama, Mistral, Qwen2) build
 * anyway with heads * (hidden // heads) != hidden: a warning, since older transformers
 * raised and it is rarely meant. An explicit head_dim, or a family whose default head_dim
 * does not depend on hidden (Gemma: 256), decouples them: no finding. */
static void rule_hidden_heads(ls__sctx *c) {
  const ls_model *m = c->m;
  const ls_model_value *h = ls__sv(m, LS_MODEL_ROLE_HIDDEN), *n = ls__sv(m, LS_MODEL_ROLE_N_HEADS);
  const ls_model_value *hd = ls_model_value_by_role(m, LS_MODEL_ROLE_HEAD_DIM);
  int64_t hv, nv;
  if (ls__sv_int(h, &hv) || ls__sv_int(n, &nv) || hv < 1 || nv < 1) return;
  if (hd && hd->present) return;
  if (hd && hd->info->default_expr && !strstr(hd->info->default_expr, "/")) return;
  if (hv % nv == 0) return;
  ls__sb b;
  ls_json_span span = vspan(n, vspan(h, ls__anchor(c)));
  if (!hd) {
    ls__sb_init(&b, LS_SMELL_HIDDEN_HEADS, span, ls__sv_name(n),
                "%s = %lld%s is not divisible by %s = %lld%s: each head would get %lld / %lld "
                "channels; %s raises ValueError when the model is built",
                ls__sv_name(h), (long long)hv, dflt(h), ls__sv_name(n), (long long)nv, dflt(n),
                (long long)hv, (long long)nv, ls_model_family_name(m->family));
  } else {
    ls__sb_init(&b, LS_SMELL_HIDDEN_HEADS, span, ls__sv_name(n),
                "%s = %lld%s is not divisible by %s = %lld%s: head_dim becomes %lld // %lld = "
                "%lld, so attention works on %lld channels, not %lld (older transformers raise "
                "ValueError); set head_dim explicitly if this is intended",
                ls__sv_name(h), (long long)hv, dflt(h), ls__sv_name(n), (long long)nv, dflt(n),
                (long long)hv, (long long)nv, (long long)(hv / nv), (long long)(hv / nv * nv),
                (long long)hv);
    b.severity = LS_SMELL_WARNING;
  }
  rel(&b, h, " is set here");
  rel(&b, n, " is set here");
  ls__sb_commit(c, &b);
}

/* LS102 / LS103: grouped-query attention repeats each KV head heads / kv times. */
static void rule_kv_heads(ls__sctx *c) {
  const ls_model *m = c->m;
  const ls_model_value *n = ls__sv(m, LS_MODEL_ROLE_N_HEADS), *kv = ls__sv(m, LS_MODEL_ROLE_N_KV_HEADS);
  int64_t nv, kvv;
  if (!kv || ls__sv_int(n, &nv) || ls__sv_int(kv, &kvv) || nv < 1 || kvv < 1) return;
  ls_json_span span = vspan(kv, vspan(n, ls__anchor(c)));
  ls__sb b;
  char text[32];
  if (kvv > nv) {
    ls__sb_init(&b, LS_SMELL_KV_ABOVE_HEADS, span, ls__sv_name(kv),
                "%s = %lld%s is more than %s = %lld%s: heads // kv_heads = 0 key/value "
                "repetitions, and attention fails at the first forward pass",
                ls__sv_name(kv), (long long)kvv, dflt(kv), ls__sv_name(n), (long long)nv, dflt(n));
    rel(&b, n, " is set here");
    if (kv->present) {
      snprintf(text, sizeof text, "%lld", (long long)nv);
      ls__sb_fix(&b, 1, kv->value_span, text, "Set %s to %lld (one KV head per head)",
                 ls__sv_name(kv), (long long)nv);
    }
    ls__sb_commit(c, &b);
    return;
  }
  if (nv % kvv == 0) return;
  /* The nearest divisors of the head count below and above, nearest first. */
  int64_t lo = kvv, hi = kvv;
  while (lo > 1 && nv % lo) lo--;
  while (hi < nv && nv % hi) hi++;
  ls__sb_init(&b, LS_SMELL_HEADS_KV, span, ls__sv_name(kv),
              "%s = %lld%s is not divisible by %s = %lld%s: each KV head must serve the same "
              "number of query heads (repeat_kv); the nearest valid counts are %lld and %lld",
              ls__sv_name(n), (long long)nv, dflt(n), ls__sv_name(kv), (long long)kvv, dflt(kv),
              (long long)lo, (long long)hi);
  rel(&b, n, " is set here");
  if (kv->present) {
    int64_t first = (kvv - lo) <= (hi - kvv) ? lo : hi, second = first == lo ? hi : lo;
    snprintf(text, sizeof text, "%lld", (long long)first);
    ls__sb_fix(&b, 1, kv->value_span, text, "Set %s to %lld", ls__sv_name(kv), (long long)first);
    if (second != first) {
      snprintf(text, sizeof text, "%lld", (long long)second);
      ls__sb_fix(&b, 0, kv->value_span, text, "Set %s to %lld", ls__sv_name(kv), (long long)second);
    }
  }
  ls__sb_commit(c, &b);
}

/* The head dimension as the model uses it, and the keys that set it. */
static int head_dim(const ls_model *m, int64_t *hd, const ls_model_value **from) {
  const ls_model_value *hdv = ls__sv(m, LS_MODEL_ROLE_HEAD_DIM);
  if (hdv && hdv->present) {
    *from = hdv;
    return ls__sv_int(hdv, hd);
  }
  const ls_model_value *h = ls__sv(m, LS_MODEL_ROLE_HIDDEN), *n = ls__sv(m, LS_MODEL_ROLE_N_HEADS);
  *from = n && n->present ? n : h;
  if (m->sem.head_dim > 0) { *hd = m->sem.head_dim; return 0; }
  int64_t hv, nv;
  if (ls__sv_int(h, &hv) || ls__sv_int(n, &nv) || nv < 1 || hv < 1) return -1;
  *hd = hv / nv;
  return 0;
}

/* LS104: rotate_half splits the rotary dims in two halves; cos/sin have 2 * ceil(d / 2). */
static void rule_odd_rotary(ls__sctx *c) {
  const ls_model *m = c->m;
  if (m->sem.pos != LS_MODEL_POS_ROPE) return;
  int64_t hd;
  const ls_model_value *from;
  if (head_dim(m, &hd, &from) || hd < 1) return;
  const ls_model_value *pr = ls__sv(m, LS_MODEL_ROLE_PARTIAL_ROTARY);
  double frac = 1.0;
  if (pr && ls__sv_num(pr, &frac)) frac = 1.0;
  if (!(frac > 0 && frac <= 1)) return;
  int64_t rot = (int64_t)((double)hd * frac); /* int(head_dim * partial_rotary_factor) upstream */
  if (rot % 2 == 0) return;
  ls__sb b;
  if (pr && pr->present && frac != 1.0)
    ls__sb_init(&b, LS_SMELL_ODD_ROTARY_DIM, vspan(pr, ls__anchor(c)), ls__sv_name(pr),
                "rotary dimension int(head_dim %lld * %s %g) = %lld is odd: rotate_half splits "
                "it into halves of %lld and %lld and the cos/sin tables have %lld columns, so "
                "the first forward pass fails", (long long)hd, ls__sv_name(pr), frac,
                (long long)rot, (long long)(rot / 2), (long long)(rot - rot / 2),
                (long long)(rot + 1));
  else
    ls__sb_init(&b, LS_SMELL_ODD_ROTARY_DIM, vspan(from, ls__anchor(c)), from ? ls__sv_name(from) : NULL,
                "head dimension %lld is odd but %s applies rotary embeddings to all of it: "
                "rotate_half splits it into halves of %lld and %lld and the cos/sin tables "
                "have %lld columns, so the first forward pass fails", (long long)hd,
                ls_model_family_name(m->family), (long long)(hd / 2), (long long)(hd - hd / 2),
                (long long)(hd + 1));
  if (from) rel(&b, from, " sets the head dimension");
  ls__sb_commit(c, &b);
}

/* LS105 */
static void rule_head_dim_align(ls__sctx *c) {
  int64_t hd;
  const ls_model_value *from;
  if (head_dim(c->m, &hd, &from) || hd < 1 || hd % 8 == 0) return;
  ls__sb b;
  ls__sb_init(&b, LS_SMELL_HEAD_DIM_ALIGN, vspan(from, ls__anchor(c)), from ? ls__sv_name(from) : NULL,
              "head dimension %lld is not a multiple of 8: PyTorch's flash and "
              "memory-efficient SDPA kernels require it in fp16/bf16, so attention falls back "
              "to the slower math kernel", (long long)hd);
  if (from) rel(&b, from, " sets the head dimension");
  ls__sb_commit(c, &b);
}

/* ---------------------------------------------------------------- matmul efficiency */

static void align64(ls__sctx *c, ls_smell_id id, ls_model_role role, const char *what) {
  const ls_model_value *v = ls__sv(c->m, role);
  int64_t x;
  if (!v || !v->present || ls__sv_int(v, &x) || x < 1 || x % 64 == 0) return;
  int64_t up = round_up64(x);
  ls__sb b;
  ls__sb_init(&b, id, v->value_span, ls__sv_name(v),
              "%s = %lld is not a multiple of 64: the %s matrix multiplications run on "
              "partial tiles (%lld would be %.2f%% larger and usually faster)", ls__sv_name(v),
              (long long)x, what, (long long)up, 100.0 * (double)(up - x) / (double)x);
  char text[32];
  snprintf(text, sizeof text, "%lld", (long long)up);
  ls__sb_fix(&b, 0, v->value_span, text, "Round %s up to %lld (the checkpoint must be resized "
             "to match)", ls__sv_name(v), (long long)up);
  ls__sb_commit(c, &b);
}

/* ---------------------------------------------------------------- training / inference */

/* LS108: the legacy `gradient_checkpointing` config flag turns checkpointing on when the
 * model is built; the forward pass then drops use_cache with a warning. */
static void rule_cache_checkpoint(ls__sctx *c) {
  const ls_model_value *g = ls__sv(c->m, LS_MODEL_ROLE_GRAD_CKPT);
  const ls_model_value *u = ls__sv(c->m, LS_MODEL_ROLE_USE_CACHE);
  if (!g || !g->present || g->kind != LS_MODEL_VT_BOOL || !g->i) return;
  if (!u || u->kind != LS_MODEL_VT_BOOL || !u->i) return;
  ls__sb b;
  ls__sb_init(&b, LS_SMELL_CACHE_CHECKPOINT, vspan(u, g->value_span), "use_cache",
              "use_cache is %s while gradient_checkpointing is true: checkpointed training "
              "recomputes activations and cannot keep a KV cache; transformers warns and sets "
              "use_cache=False at every forward pass", u->present ? "true" : "true by default");
  rel(&b, g, " = true is set here");
  if (u->present) {
    ls__sb_fix(&b, 1, u->value_span, "false", "Set use_cache to false");
  } else {
    ls_json_span ins = {g->value_span.end, g->value_span.end};
    ls__sb_fix(&b, 1, ins, ", \"use_cache\": false", "Add \"use_cache\": false");
  }
  ls__sb_commit(c, &b);
}

/* LS109: fp16 has 10 mantissa bits and exponents down to 2^-14 (normal) and 2^-24
 * (subnormal). An eps at or below 2^-25 rounds to zero when stored in fp16. */
static void rule_eps_fp16(ls__sctx *c) {
  const ls_model_value *dt = ls__sv(c->m, LS_MODEL_ROLE_TORCH_DTYPE);
  const ls_model_value *e = ls__sv(c->m, LS_MODEL_ROLE_NORM_EPS);
  double eps;
  if (!dt || dt->kind != LS_MODEL_VT_STRING || strcmp(dt->s, "float16") != 0) return;
  if (ls__sv_num(e, &eps) || !(eps > 0)) return;
  const double sub_min = ldexp(1.0, -24), normal_min = ldexp(1.0, -14);
  ls__sb b;
  if (eps <= sub_min / 2) {
    ls__sb_init(&b, LS_SMELL_EPS_FP16, vspan(e, ls__anchor(c)), ls__sv_name(e),
                "%s = %g%s rounds to 0 in float16 (smallest subnormal 5.96e-8): a norm that "
                "adds eps to the variance in fp16 divides by sqrt(0) on constant inputs and "
                "returns inf/NaN", ls__sv_name(e), eps, dflt(e));
  } else if (eps < normal_min) {
    ls__sb_init(&b, LS_SMELL_EPS_FP16, vspan(e, ls__anchor(c)), ls__sv_name(e),
                "%s = %g%s is subnormal in float16 (smallest normal 6.1e-5): it is stored as "
                "%.4g, and kernels that flush subnormals to zero drop it entirely",
                ls__sv_name(e), eps, dflt(e), round(eps / sub_min) * sub_min);
    b.severity = LS_SMELL_HINT;
  } else {
    return;
  }
  if (dt->present) ls__sb_related(&b, dt->key_span, "torch_dtype is float16 here");
  ls__sb_commit(c, &b);
}

/* LS110 */
static void rule_topk(ls__sctx *c) {
  const ls_model_value *ne = ls__sv(c->m, LS_MODEL_ROLE_N_EXPERTS), *k = ls__sv(c->m, LS_MODEL_ROLE_TOP_K);
  int64_t nev, kv;
  if (ls__sv_int(ne, &nev) || ls__sv_int(k, &kv) || nev < 1 || kv <= nev) return;
  ls__sb b;
  ls__sb_init(&b, LS_SMELL_TOPK_EXPERTS, vspan(k, vspan(ne, ls__anchor(c))), ls__sv_name(k),
              "%s = %lld%s is more than the %lld experts of %s%s: torch.topk over the router "
              "logits fails with \"selected index k out of range\"", ls__sv_name(k),
              (long long)kv, dflt(k), (long long)nev, ls__sv_name(ne), dflt(ne));
  rel(&b, ne, " is set here");
  ls__sb_commit(c, &b);
}

/* LS111: only when the window is active (sem.sliding_window is 0 when it is off, e.g. qwen2
 * with use_sliding_window false). Phi-3's released long-context configs (Phi-3-mini-128k,
 * Phi-3.5-mini) set sliding_window to 262144, twice their context, as their way of saying
 * "no window": in that family a window at or above the context is the upstream idiom, not a
 * mistake (docs/rules.md#LS111). */
static void rule_window(ls__sctx *c) {
  const ls_model *m = c->m;
  if (m->family == LS_MODEL_FAMILY_PHI3 || m->family == LS_MODEL_FAMILY_PHIMOE) return;
  const ls_model_value *w = ls__sv(m, LS_MODEL_ROLE_SLIDING_WINDOW), *mp = ls__sv(m, LS_MODEL_ROLE_MAX_POS);
  int64_t wv, mpv;
  if (ls__sv_int(w, &wv) || ls__sv_int(mp, &mpv) || m->sem.sliding_window <= 0) return;
  if (wv <= mpv) return;
  ls__sb b;
  ls__sb_init(&b, LS_SMELL_WINDOW_CONTEXT, vspan(w, ls__anchor(c)), ls__sv_name(w),
              "%s = %lld%s is larger than the context %s = %lld%s: the window never masks "
              "anything, so this is full attention with a sliding-window cache layout; check "
              "the units or set it to null", ls__sv_name(w), (long long)wv, dflt(w),
              ls__sv_name(mp), (long long)mpv, dflt(mp));
  rel(&b, mp, " is set here");
  ls__sb_commit(c, &b);
}

/* LS114: ids index the embedding table. Negative ids are left alone (-1 is a common "none",
 * and nn.Embedding accepts a negative padding_idx). */
static void check_token(ls__sctx *c, const ls_model_value *vocab, int64_t vv, const char *name,
                        const ls_json *j, ls_json_span key_span) {
  if (!j) return;
  if (j->kind == LS_JSON_ARRAY) {
    for (size_t i = 0; i < j->u.arr.n; i++) check_token(c, vocab, vv, name, j->u.arr.items[i], key_span);
    return;
  }
  if (j->kind != LS_JSON_NUMBER || !j->u.num.fits_int64 || j->u.num.int_value < vv) return;
  ls__sb b;
  ls__sb_init(&b, LS_SMELL_TOKEN_VOCAB, j->span, name,
              "%s %lld is outside the vocabulary (%s = %lld%s: ids 0..%lld): the embedding "
              "lookup fails with an index error%s", name, (long long)j->u.num.int_value,
              ls__sv_name(vocab), (long long)vv, dflt(vocab), (long long)(vv - 1),
              strcmp(name, "pad_token_id") == 0 ? ", and nn.Embedding rejects it as padding_idx "
                                                  "when the model is built" : "");
  rel(&b, vocab, " is set here");
  ls__sb_commit(c, &b);
}

static void rule_tokens(ls__sctx *c) {
  const ls_model *m = c->m;
  const ls_model_value *vocab = ls__sv(m, LS_MODEL_ROLE_VOCAB);
  int64_t vv;
  if (ls__sv_int(vocab, &vv) || vv < 1) return;
  static const ls_model_role roles[] = {LS_MODEL_ROLE_BOS_ID, LS_MODEL_ROLE_EOS_ID, LS_MODEL_ROLE_PAD_ID};
  for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
    const ls_model_value *v = ls_model_value_by_role(m, roles[r]);
    if (v && v->present && v->json) check_token(c, vocab, vv, v->info->name, v->json, v->key_span);
  }
  static const char *const extra[] = {"sep_token_id", "decoder_start_token_id", "cls_token_id"};
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
    const ls_json_member *mem = ls_json_get_member(c->doc->root, extra[i]);
    if (mem) check_token(c, vocab, vv, extra[i], mem->value, mem->key_span);
  }
}

/* LS115: dropout only acts in train mode, so a config that turns it on where the family
 * ships without it (default 0), or on weights that can only be used for inference
 * (quantization_config), most likely carries a training setting by mistake. */
static void rule_dropout(ls__sctx *c) {
  const ls_model *m = c->m;
  const ls_json *q = ls_json_get(c->doc->root, "quantization_config");
  int quantized = q && q->kind == LS_JSON_OBJECT;
  for (size_t i = 0; i < m->n_values; i++) {
    const ls_model_value *v = &m->values[i];
    if (v->info->role != LS_MODEL_ROLE_DROPOUT || !v->present || !v->valid) continue;
    double p, def = 0;
    if (ls__sv_num(v, &p) || !(p > 0)) continue;
    const char *d = v->info->default_expr;
    char *end = NULL;
    if (d) def = strtod(d, &end);
    /* the generic reading's defaults are llama's, not the model's: no claim about them */
    int family_off = d && end && *end == 0 && def == 0 && m->family != LS_MODEL_FAMILY_UNKNOWN;
    if (!family_off && !quantized) continue;
    ls__sb b;
    char why[96];
    if (quantized) snprintf(why, sizeof why, "of quantized, inference-only weights");
    else snprintf(why, sizeof why, "where %s's upstream default is 0.0", ls_model_family_name(m->family));
    ls__sb_init(&b, LS_SMELL_DROPOUT_INFERENCE, v->value_span, ls__sv_name(v),
                "%s = %g in a config %s: dropout only acts in train mode, so inference is "
                "unaffected after model.eval(), but fine-tuning from this file (or code that "
                "forgets eval()) drops %g%% of activations", ls__sv_name(v), p, why, p * 100);
    /* Preferred only for quantized weights: a released config may mean it for fine-tuning. */
    ls__sb_fix(&b, quantized, v->value_span, "0.0", "Set %s to 0.0", ls__sv_name(v));
    ls__sb_commit(c, &b);
  }
}

/* LS116: families released in bfloat16 whose activations are known to exceed the fp16 range
 * (65504); see docs/rules.md#LS116 for the upstream notes per family. */
static void rule_fp16_family(ls__sctx *c) {
  static const ls_model_family bf16[] = {
      LS_MODEL_FAMILY_GEMMA, LS_MODEL_FAMILY_GEMMA2, LS_MODEL_FAMILY_T5, LS_MODEL_FAMILY_QWEN2,
      LS_MODEL_FAMILY_QWEN2_MOE, LS_MODEL_FAMILY_MISTRAL, LS_MODEL_FAMILY_MIXTRAL,
      LS_MODEL_FAMILY_PHI3, LS_MODEL_FAMILY_FALCON, LS_MODEL_FAMILY_BLOOM};
  int hit = 0;
  for (size_t i = 0; i < sizeof bf16 / sizeof bf16[0]; i++) hit |= c->m->family == bf16[i];
  const ls_model_value *dt = ls__sv(c->m, LS_MODEL_ROLE_TORCH_DTYPE);
  if (!hit || !dt || !dt->present || dt->kind != LS_MODEL_VT_STRING || strcmp(dt->s, "float16") != 0)
    return;
  ls__sb b;
  ls__sb_init(&b, LS_SMELL_FP16_BF16_FAMILY, dt->value_span, ls__sv_name(dt),
              "torch_dtype is float16 but %s models are trained in bfloat16: activations "
              "beyond the float16 maximum (65504) become inf and the outputs NaN; bfloat16 "
              "keeps float32's range", ls_model_family_name(c->m->family));
  ls__sb_fix(&b, 1, dt->value_span, "\"bfloat16\"", "Use bfloat16");
  ls__sb_commit(c, &b);
}

/* ---------------------------------------------------------------- rope_scaling */

typedef struct rope_kind {
  const char *type;
  const char *required; /* space separated, besides the type */
  const char *optional;
} rope_kind;

/* From transformers' modeling_rope_utils.py (_validate_*_parameters) and Phi3Config's "su". */
static const rope_kind k_rope[] = {
    {"default", "", ""},
    {"linear", "factor", ""},
    {"dynamic", "factor", ""},
    {"yarn", "factor", "original_max_position_embeddings attention_factor beta_fast beta_slow mscale mscale_all_dim truncate"},
    {"longrope", "short_factor long_factor", "factor attention_factor original_max_position_embeddings"},
    {"su", "short_factor long_factor", "factor attention_factor original_max_position_embeddings"},
    {"llama3", "factor original_max_position_embeddings low_freq_factor high_freq_factor", ""},
    {"mrope", "", "mrope_section"},
};

static int in_list(const char *list, const char *w, size_t n) {
  const char *s = list;
  while (*s) {
    while (*s == ' ') s++;
    const char *e = s;
    while (*e && *e != ' ') e++;
    if ((size_t)(e - s) == n && n && memcmp(s, w, n) == 0) return 1;
    s = e;
  }
  return 0;
}

static void rope_missing(ls__sctx *c, const ls_json_member *rs, const char *type, const char *req) {
  const char *s = req;
  while (*s) {
    while (*s == ' ') s++;
    const char *e = s;
    while (*e && *e != ' ') e++;
    char name[64];
    size_t n = (size_t)(e - s);
    if (n && n < sizeof name) {
      memcpy(name, s, n);
      name[n] = 0;
      if (!ls_json_get(rs->value, name)) {
        ls__sb b;
        ls__sb_init(&b, LS_SMELL_ROPE_SCALING, rs->value->span, "rope_scaling",
                    "rope_scaling of type \"%s\" needs \"%s\" (required: %s): transformers "
                    "fails to build the rotary embedding without it", type, name, req);
        ls__sb_related(&b, rs->key_span, "rope_scaling is set here");
        ls__sb_commit(c, &b);
      }
    }
    s = e;
  }
}

static void rule_rope(ls__sctx *c) {
  const ls_json_member *rs = ls_json_get_member(c->doc->root, "rope_scaling");
  const ls_model_value *rv = ls_model_value_by_role(c->m, LS_MODEL_ROLE_ROPE_SCALING);
  if (!rs || !rv || rs->value->kind != LS_JSON_OBJECT) return; /* null is fine; bad types: LS004 */
  const ls_json *o = rs->value;
  const ls_json_member *tm = ls_json_get_member(o, "rope_type");
  if (!tm) tm = ls_json_get_member(o, "type");
  ls__sb b;
  if (!tm || tm->value->kind != LS_JSON_STRING) {
    ls__sb_init(&b, LS_SMELL_ROPE_SCALING, tm ? tm->value->span : o->span, "rope_scaling",
                "rope_scaling has no \"rope_type\" (or legacy \"type\") string: transformers "
                "cannot pick a RoPE initialisation and fails to build the model");
    ls__sb_commit(c, &b);
    return;
  }
  const char *type = tm->value->u.str.s;
  const rope_kind *k = NULL;
  for (size_t i = 0; i < sizeof k_rope / sizeof k_rope[0]; i++)
    if (strcmp(k_rope[i].type, type) == 0) k = &k_rope[i];
  if (!k) {
    const char *best = NULL;
    int best_d = 3;
    for (size_t i = 0; i < sizeof k_rope / sizeof k_rope[0]; i++) {
      int d = ls_smell_edit_distance(type, tm->value->u.str.len, k_rope[i].type,
                                     strlen(k_rope[i].type), 2);
      if (d < best_d) { best_d = d; best = k_rope[i].type; }
    }
    ls__sb_init(&b, LS_SMELL_ROPE_TYPE, tm->value->span, "rope_scaling",
                "rope_scaling type \"%s\" is unknown%s%s%s (known: default linear dynamic yarn "
                "longrope llama3): transformers has no initialisation for it and fails to "
                "build the model", type, best ? "; did you mean \"" : "", best ? best : "",
                best ? "\"?" : "");
    if (best) {
      char text[64];
      snprintf(text, sizeof text, "\"%s\"", best);
      ls__sb_fix(&b, 1, tm->value->span, text, "Change to \"%s\"", best);
    }
    ls__sb_commit(c, &b);
    return;
  }
  rope_missing(c, rs, type, k->required);
  /* factor: a float >= 1 (upstream warns otherwise; older versions raise on an int). */
  const ls_json_member *fm = ls_json_get_member(o, "factor");
  if (fm && fm->value->kind == LS_JSON_NUMBER) {
    double f = fm->value->u.num.value;
    if (f < 1.0) {
      ls__sb_init(&b, LS_SMELL_ROPE_SCALING, fm->value->span, "rope_scaling",
                  "rope_scaling factor %g is below 1: scaling is meant to stretch the context, "
                  "and transformers warns that the factor must be a float >= 1", f);
      b.severity = LS_SMELL_WARNING;
      ls__sb_commit(c, &b);
    } else if (fm->value->u.num.is_integer && strcmp(type, "default") != 0 &&
               c->m->family != LS_MODEL_FAMILY_DEEPSEEK_V2 && c->m->family != LS_MODEL_FAMILY_DEEPSEEK_V3) {
      /* DeepSeek's released configs write factor (and beta_fast, beta_slow) as integers, and
       * its config classes read them as floats ("Models on the hub were saved as int",
       * DeepseekV3Config): not a mistake there (docs/rules.md#LS112) */
      char text[48];
      snprintf(text, sizeof text, "%lld.0", (long long)fm->value->u.num.int_value);
      ls__sb_init(&b, LS_SMELL_ROPE_SCALING, fm->value->span, "rope_scaling",
                  "rope_scaling factor is the integer %lld: transformers checks for a float "
                  "(warns; older versions raise ValueError); write %s",
                  (long long)fm->value->u.num.int_value, text);
      b.severity = LS_SMELL_WARNING;
      ls__sb_fix(&b, 1, fm->value->span, text, "Write %s", text);
      ls__sb_commit(c, &b);
    }
  } else if (fm) {
    ls__sb_init(&b, LS_SMELL_ROPE_SCALING, fm->value->span, "rope_scaling",
                "rope_scaling factor is %s: expected a number >= 1", ls_json_kind_name(fm->value->kind));
    ls__sb_commit(c, &b);
  }
  if (strcmp(type, "llama3") == 0) {
    const ls_json *lo = ls_json_get(o, "low_freq_factor"), *hi = ls_json_get(o, "high_freq_factor");
    if (lo && hi && lo->kind == LS_JSON_NUMBER && hi->kind == LS_JSON_NUMBER &&
        !(hi->u.num.value > lo->u.num.value)) {
      ls__sb_init(&b, LS_SMELL_ROPE_SCALING, hi->span, "rope_scaling",
                  "llama3 rope_scaling needs low_freq_factor (%g) < high_freq_factor (%g): the "
                  "smoothing between them divides by their difference", lo->u.num.value,
                  hi->u.num.value);
      ls__sb_related(&b, lo->span, "low_freq_factor is set here");
      ls__sb_commit(c, &b);
    }
  }
  /* Unknown fields are ignored by transformers, with a warning. */
  for (size_t i = 0; i < o->u.obj.n; i++) {
    const ls_json_member *f = &o->u.obj.members[i];
    if (strcmp(f->key, "type") == 0 || strcmp(f->key, "rope_type") == 0) continue;
    if (in_list(k->required, f->key, f->key_len) || in_list(k->optional, f->key, f->key_len)) continue;
    /* Phi-3.5-MoE's longrope also scales attention by short_mscale / long_mscale, which
     * PhimoeRotaryEmbedding reads */
    if (c->m->family == LS_MODEL_FAMILY_PHIMOE && strcmp(type, "longrope") == 0 &&
        (strcmp(f->key, "short_mscale") == 0 || strcmp(f->key, "long_mscale") == 0))
      continue;
    ls__sb_init(&b, LS_SMELL_ROPE_SCALING, f->key_span, "rope_scaling",
                "\"%s\" is not a field of %s rope_scaling (fields: %s%s%s): transformers "
                "ignores it with a warning", f->key, type, k->required,
                *k->optional ? " " : "", k->optional);
    b.severity = LS_SMELL_INFO;
    ls__sb_commit(c, &b);
  }
}

/* ---------------------------------------------------------------- entry */

void ls__smell_rules_run(ls__sctx *c) {
  rule_hidden_heads(c);
  rule_kv_heads(c);
  rule_odd_rotary(c);
  rule_head_dim_align(c);
  align64(c, LS_SMELL_VOCAB_ALIGN, LS_MODEL_ROLE_VOCAB, "embedding and LM-head");
  align64(c, LS_SMELL_FFN_ALIGN, LS_MODEL_ROLE_INTERMEDIATE, "feed-forward");
  align64(c, LS_SMELL_FFN_ALIGN, LS_MODEL_ROLE_MOE_INTERMEDIATE, "expert feed-forward");
  rule_cache_checkpoint(c);
  rule_eps_fp16(c);
  rule_topk(c);
  rule_window(c);
  rule_rope(c);
  rule_tokens(c);
  rule_dropout(c);
  rule_fp16_family(c);
}
