/* fwd_encoder.c: the plan and forward pass of the BERT-style encoders (bert, roberta):
 * word + position + token-type embeddings and LayerNorm, post-LN encoder layers
 * (attention.self, attention.output with residual and LayerNorm, intermediate with erf
 * GELU, output with residual and LayerNorm), bidirectional attention with a padding mask,
 * then the pooler (BertModel) or the masked-LM head (BertForMaskedLM: cls.predictions;
 * RobertaForMaskedLM: lm_head). RoBERTa differs only in its position ids, which start at
 * padding_idx + 1 and skip padding tokens, as upstream create_position_ids_from_input_ids. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/engine_int.h"

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static int plan_layer(ls_engine *e, int64_t l, const char *pre, ls_diag *d) {
  ls__layer *L = &e->layer[l];
  const int64_t H = e->H, I = e->inter;
  char b[512], n[600];
  int rc = 0;
  snprintf(b, sizeof b, "%sencoder.layer.%lld", pre, (long long)l);
  L->mod = ls__mod(e, "%s", b);
  L->attn = ls__mod(e, "%s.attention", b);
  L->attn_self = ls__mod(e, "%s.attention.self", b);
  L->attn_out = ls__mod(e, "%s.attention.output", b);
  L->inter_mod = ls__mod(e, "%s.intermediate", b);
  L->out_mod = ls__mod(e, "%s.output", b);
  L->mlp = L->moe = L->experts_list = -1;
  snprintf(n, sizeof n, "%s.attention.self.query", b);
  rc = rc ? rc : ls__lin_bind(e, &L->q, n, 1, H, H, 1, d);
  snprintf(n, sizeof n, "%s.attention.self.key", b);
  rc = rc ? rc : ls__lin_bind(e, &L->k, n, 1, H, H, 1, d);
  snprintf(n, sizeof n, "%s.attention.self.value", b);
  rc = rc ? rc : ls__lin_bind(e, &L->v, n, 1, H, H, 1, d);
  snprintf(n, sizeof n, "%s.attention.output.dense", b);
  rc = rc ? rc : ls__lin_bind(e, &L->o, n, 1, H, H, 1, d);
  snprintf(n, sizeof n, "%s.attention.output.LayerNorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->n1, n, H, 1, d);
  snprintf(n, sizeof n, "%s.intermediate.dense", b);
  rc = rc ? rc : ls__lin_bind(e, &L->fc1, n, 1, H, I, 1, d);
  snprintf(n, sizeof n, "%s.output.dense", b);
  rc = rc ? rc : ls__lin_bind(e, &L->fc2, n, 1, I, H, 1, d);
  snprintf(n, sizeof n, "%s.output.LayerNorm", b);
  rc = rc ? rc : ls__norm_bind(e, &L->n2, n, H, 1, d);
  return rc;
}

int ls__engine_plan_encoder(ls_engine *e, ls_diag *d) {
  const ls_model *m = e->m;
  const ls_model_sem *s = &m->sem;
  e->arch = LS__ARCH_BERT;
  e->H = s->hidden;
  e->n_heads = e->n_kv = s->n_heads;
  e->head_dim = s->n_heads > 0 ? s->hidden / s->n_heads : 0;
  e->inter = s->intermediate;
  e->vocab = s->vocab;
  e->n_layers = s->n_layers;
  if (e->H <= 0 || e->n_heads <= 0 || e->head_dim * e->n_heads != e->H || e->inter <= 0 ||
      e->vocab <= 0 || e->n_layers < 0)
    return ls_diag_set(d, LS_EINVAL, "the config's sizes cannot be run (hidden %lld, heads %lld)",
                       (long long)e->H, (long long)e->n_heads);
  e->act = ls_ops_act_parse(s->act);
  if (e->act < 0)
    return ls_diag_set(d, LS_EUNSUPPORTED, "activation \"%s\" is not supported by the engine",
                       s->act ? s->act : "(none)");
  const ls_model_value *pad = ls_model_value_by_role(m, LS_MODEL_ROLE_PAD_ID);
  e->pad_id = pad && pad->kind == LS_MODEL_VT_INT ? (int)pad->i
              : (m->family == LS_MODEL_FAMILY_ROBERTA ? 1 : 0);
  const char *pre = m->base_prefix ? m->base_prefix : "";
  size_t pl = strlen(pre);
  e->root = 0;
  e->backbone = pl > 0 ? ls__mod(e, "%.*s", (int)(pl - 1), pre) : -1;
  e->emb_container = ls__mod(e, "%sembeddings", pre);
  e->encoder_mod = ls__mod(e, "%sencoder", pre);
  e->layers_list = ls__mod(e, "%sencoder.layer", pre);
  char n[512];
  snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", pre);
  e->tok_emb = ls__wb_find(e, n);
  e->tok_emb_mod = ls__mod(e, "%sembeddings.word_embeddings", pre);
  snprintf(n, sizeof n, "%sembeddings.position_embeddings.weight", pre);
  e->pos_emb = ls__wb_find(e, n);
  e->pos_emb_mod = ls__mod(e, "%sembeddings.position_embeddings", pre);
  snprintf(n, sizeof n, "%sembeddings.token_type_embeddings.weight", pre);
  e->type_emb = ls__wb_find(e, n);
  e->type_emb_mod = ls__mod(e, "%sembeddings.token_type_embeddings", pre);
  if (!e->tok_emb || !e->pos_emb || e->tok_emb->shape[1] != e->H || e->pos_emb->shape[1] != e->H ||
      (e->type_emb && e->type_emb->shape[1] != e->H))
    return ls_diag_set(d, LS_EUNSUPPORTED, "the tree has no %sembeddings tables of width %lld",
                       pre, (long long)e->H);
  e->max_pos = e->pos_emb->shape[0];
  if (m->family == LS_MODEL_FAMILY_ROBERTA) e->max_pos -= e->pad_id + 1;
  snprintf(n, sizeof n, "%sembeddings.LayerNorm", pre);
  int rc = ls__norm_bind(e, &e->emb_norm, n, e->H, 1, d);
  if (rc) return rc;
  e->layer = ls_calloc((size_t)(e->n_layers > 0 ? e->n_layers : 1), sizeof *e->layer);
  if (!e->layer) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  for (int64_t l = 0; l < e->n_layers && !rc; l++) rc = plan_layer(e, l, pre, d);
  if (rc) return rc;
  snprintf(n, sizeof n, "%spooler.dense", pre);
  e->pooler_mod = ls__mod(e, "%spooler", pre);
  rc = ls__lin_bind(e, &e->pooler, n, 1, e->H, e->H, 0, d);
  if (rc) return rc;
  /* masked-LM heads */
  const char *head = m->family == LS_MODEL_FAMILY_ROBERTA ? "lm_head" : "cls.predictions";
  e->mlm_mod = ls__mod(e, "%s", head);
  e->mlm_transform_mod = m->family == LS_MODEL_FAMILY_ROBERTA ? -1 : ls__mod(e, "%s.transform", head);
  if (e->mlm_mod < 0) {
    e->lm_head.mod = -1;
    return LS_OK;
  }
  const char *tr = m->family == LS_MODEL_FAMILY_ROBERTA ? "lm_head" : "cls.predictions.transform";
  snprintf(n, sizeof n, "%s.dense", tr);
  rc = ls__lin_bind(e, &e->mlm_dense, n, 1, e->H, e->H, 1, d);
  snprintf(n, sizeof n, m->family == LS_MODEL_FAMILY_ROBERTA ? "%s.layer_norm" : "%s.LayerNorm", tr);
  if (!rc) rc = ls__norm_bind(e, &e->mlm_norm, n, e->H, 1, d);
  snprintf(n, sizeof n, "%s.decoder", head);
  if (!rc) rc = ls__lin_bind(e, &e->lm_head, n, 1, e->H, e->vocab, 1, d);
  if (rc) return rc;
  e->lm_head_mod = e->lm_head.mod;
  if (!e->lm_head.b) { /* decoder.bias is tied to <head>.bias upstream */
    snprintf(n, sizeof n, "%s.bias", head);
    const ls__wb *b = ls__wb_find(e, n);
    if (b && b->ndim == 1 && b->shape[0] == e->vocab) e->lm_head.b = b;
  }
  return LS_OK;
}

static int encoder_layer(ls_fwd *f, const ls__layer *L, const float *x, float *y) {
  ls_engine *e = f->e;
  const int64_t S = f->S, H = e->H, I = e->inter;
  const float eps = (float)f->m->sem.norm_eps;
  ls_fwd_tensor tin = ls__act("input", x, S, H);
  TRY(ls__fw_enter(f, L->mod, &tin, 1));
  TRY(ls__fw_enter(f, L->attn, &tin, 1));
  TRY(ls__fw_enter(f, L->attn_self, &tin, 1));
  float *q = f->qkv, *k = q + S * H, *v = k + S * H;
  TRY(ls__fw_linear(f, &L->q, x, S, q));
  TRY(ls__fw_linear(f, &L->k, x, S, k));
  TRY(ls__fw_linear(f, &L->v, x, S, v));
  const int64_t nh = e->n_heads;
  ls_ops_attn a = {.n_heads = nh, .n_kv = e->n_kv, .head_dim = e->head_dim, .q_stride = H, .k_stride = H,
                   .v_stride = H, .scale = (float)(1.0 / sqrt((double)e->head_dim)), .causal = 0, .window = 0};
  TRY(ls__fw_attend_rows(f, &a, q, k, v)); /* per (row, head), with the row's key mask */
  ls_fwd_tensor sout = ls__act("output", f->att, S, H);
  ls_fwd_tensor pr = {.name = "probs", .dtype = LS_DT_F32, .data = f->probs, .ndim = 4,
                      .shape = {f->B, nh, f->L, f->L}};
  TRY(ls__fw_exit(f, L->attn_self, &tin, 1, &sout, 1, &pr, 1));
  TRY(ls__fw_enter(f, L->attn_out, &sout, 1));
  TRY(ls__fw_linear(f, &L->o, f->att, S, f->ao));
  ls_ops_add(f->ao, x, S * H);
  TRY(ls__fw_norm(f, &L->n1, LS_MODEL_NORM_LAYER, f->ao, f->h, S, H, eps));
  ls_fwd_tensor aout = ls__act("output", f->h, S, H);
  TRY(ls__fw_exit(f, L->attn_out, &sout, 1, &aout, 1, NULL, 0));
  TRY(ls__fw_exit(f, L->attn, &tin, 1, &aout, 1, &pr, 1));
  TRY(ls__fw_enter(f, L->inter_mod, &aout, 1));
  TRY(ls__fw_linear(f, &L->fc1, f->h, S, f->ff1));
  ls_ops_act_apply(e->pool, e->act, f->ff1, f->ff1, S * I);
  ls_fwd_tensor iout = ls__act("output", f->ff1, S, I);
  TRY(ls__fw_exit(f, L->inter_mod, &aout, 1, &iout, 1, NULL, 0));
  TRY(ls__fw_enter(f, L->out_mod, &iout, 1));
  TRY(ls__fw_linear(f, &L->fc2, f->ff1, S, f->fo));
  ls_ops_add(f->fo, f->h, S * H);
  TRY(ls__fw_norm(f, &L->n2, LS_MODEL_NORM_LAYER, f->fo, y, S, H, eps));
  ls_fwd_tensor out = ls__act("output", y, S, H);
  TRY(ls__fw_exit(f, L->out_mod, &iout, 1, &out, 1, NULL, 0));
  return ls__fw_exit(f, L->mod, &tin, 1, &out, 1, NULL, 0);
}

int ls__fwd_encoder(ls_fwd *f) {
  ls_engine *e = f->e;
  const ls_model *m = e->m;
  const int64_t S = f->S, H = e->H;
  const float eps = (float)m->sem.norm_eps;
  ls_fwd_tensor ids = ls__ids(f);
  TRY(ls__fw_enter(f, e->root, &ids, 1));
  TRY(ls__fw_enter(f, e->backbone, &ids, 1));
  TRY(ls__fw_enter(f, e->emb_container, &ids, 1));
  TRY(ls__fw_enter(f, e->tok_emb_mod, &ids, 1));
  for (int64_t s = 0; s < S; s++) ls_ops_embed(&e->tok_emb->mat, f->tokens[s], f->x + s * H);
  ls_fwd_tensor we = ls__act("output", f->x, S, H);
  TRY(ls__fw_exit(f, e->tok_emb_mod, &ids, 1, &we, 1, NULL, 0));
  if (e->type_emb) { /* upstream order: word + token_type, then + position */
    TRY(ls__fw_enter(f, e->type_emb_mod, NULL, 0));
    for (int64_t s = 0; s < S; s++) ls_ops_embed(&e->type_emb->mat, f->types[s], f->aux + s * H);
    ls_fwd_tensor te = ls__act("output", f->aux, S, H);
    TRY(ls__fw_exit(f, e->type_emb_mod, NULL, 0, &te, 1, NULL, 0));
    ls_ops_add(f->x, f->aux, S * H);
  }
  TRY(ls__fw_enter(f, e->pos_emb_mod, NULL, 0));
  int64_t run = 0;
  for (int64_t s = 0; s < S; s++) { /* positions restart at each batch row */
    int64_t pos = s % f->L;
    if (pos == 0) run = 0;
    if (m->family == LS_MODEL_FAMILY_ROBERTA) {
      int not_pad = f->tokens[s] != e->pad_id;
      run += not_pad;
      pos = not_pad ? run + e->pad_id : e->pad_id;
    }
    ls_ops_embed(&e->pos_emb->mat, pos, f->aux + s * H);
  }
  ls_fwd_tensor pe = ls__act("output", f->aux, S, H);
  TRY(ls__fw_exit(f, e->pos_emb_mod, NULL, 0, &pe, 1, NULL, 0));
  ls_ops_add(f->x, f->aux, S * H);
  TRY(ls__fw_norm(f, &e->emb_norm, LS_MODEL_NORM_LAYER, f->x, f->x2, S, H, eps));
  ls_fwd_tensor eo = ls__act("output", f->x2, S, H);
  TRY(ls__fw_exit(f, e->emb_container, &ids, 1, &eo, 1, NULL, 0));
  float *x = f->x2, *y = f->x;
  TRY(ls__fw_enter(f, e->encoder_mod, &eo, 1));
  TRY(ls__fw_enter(f, e->layers_list, &eo, 1));
  for (int64_t l = 0; l < e->n_layers; l++) {
    TRY(encoder_layer(f, &e->layer[l], x, y));
    float *t = x;
    x = y;
    y = t;
  }
  ls_fwd_tensor xo = ls__act("output", x, S, H);
  TRY(ls__fw_exit(f, e->layers_list, &eo, 1, &xo, 1, NULL, 0));
  TRY(ls__fw_exit(f, e->encoder_mod, &eo, 1, &xo, 1, NULL, 0));
  if (e->pooler.w) { /* tanh(dense(first token)) of each row */
    TRY(ls__fw_enter(f, e->pooler_mod, &xo, 1));
    const float *first = x;
    if (f->B > 1) { /* gather the rows' first tokens [B, H] */
      for (int64_t b = 0; b < f->B; b++) memcpy(f->ao + b * H, x + b * f->L * H, (size_t)H * sizeof(float));
      first = f->ao;
    }
    TRY(ls__fw_linear(f, &e->pooler, first, f->B, f->aux));
    for (int64_t t = 0; t < f->B * H; t++) f->aux[t] = tanhf(f->aux[t]);
    ls_fwd_tensor po = ls__act("output", f->aux, -1, H);
    po.shape[0] = f->B; /* [B, H] */
    TRY(ls__fw_exit(f, e->pooler_mod, &xo, 1, &po, 1, NULL, 0));
  }
  TRY(ls__fw_exit(f, e->backbone, &ids, 1, &xo, 1, NULL, 0));
  if (e->lm_head.w) {
    TRY(ls__fw_enter(f, e->mlm_mod, &xo, 1));
    TRY(ls__fw_enter(f, e->mlm_transform_mod, &xo, 1));
    TRY(ls__fw_linear(f, &e->mlm_dense, x, S, f->h));
    /* roberta's lm_head applies erf GELU whatever hidden_act says; bert uses hidden_act */
    int act = m->family == LS_MODEL_FAMILY_ROBERTA ? LS_OPS_ACT_GELU_ERF : e->act;
    ls_ops_act_apply(e->pool, act, f->h, f->h, S * H);
    TRY(ls__fw_norm(f, &e->mlm_norm, LS_MODEL_NORM_LAYER, f->h, f->nrm, S, H, eps));
    ls_fwd_tensor to = ls__act("output", f->nrm, S, H);
    TRY(ls__fw_exit(f, e->mlm_transform_mod, &xo, 1, &to, 1, NULL, 0));
    TRY(ls__fw_linear(f, &e->lm_head, f->nrm, S, f->logits));
    ls_fwd_tensor lo = ls__act("output", f->logits, S, e->vocab);
    TRY(ls__fw_exit(f, e->mlm_mod, &xo, 1, &lo, 1, NULL, 0));
  } else {
    memcpy(f->logits, x, (size_t)(S * H) * sizeof(float));
  }
  ls_fwd_tensor ro = ls__act("output", f->logits, S, f->logit_cols);
  return ls__fw_exit(f, e->root, &ids, 1, &ro, 1, NULL, 0);
}
