/* smells_families.c: rules for mistakes the configs of the families added for issue 17 allow
 * and upstream rejects when the model is built (LS120-LS123). Each reads the resolved config
 * (values by name, defaults included) and points at the key to change; the upstream check it
 * mirrors and the reason are in docs/rules.md under its code. Official configs of these
 * families raise none of them (tests/cli/test_check.py). */
#include <stdio.h>
#include <string.h>

#include "core/model/smells_int.h"

/* The value of a key of the model's family by name when usable (present and valid, or
 * defaulted), else NULL. */
static const ls_model_value *val(const ls_model *m, const char *name) {
  const ls_model_value *v = ls_model_value_get(m, name);
  return v && !(v->present && !v->valid) ? v : NULL;
}

static int int_of(const ls_model_value *v, int64_t *out) { return ls__sv_int(v, out); }

static ls_json_span at(const ls__sctx *c, const ls_model_value *v) {
  return v && v->present ? v->value_span : ls__anchor(c);
}

static void rel(ls__sb *b, const ls_model_value *v, const char *what) {
  if (v && v->present) ls__sb_related(b, v->key_span, "%s%s", ls__sv_name(v), what);
}

/* LS120: PretrainedConfig's layer_type_validation raises ValueError when layer_types does
 * not have num_hidden_layers entries (Qwen3, Gemma 3, gpt-oss read it per layer). */
static void rule_layer_types(ls__sctx *c) {
  const ls_model *m = c->m;
  static const char *const names[] = {"layer_types", "text_config.layer_types"};
  for (size_t k = 0; k < 2; k++) {
    const ls_model_value *lt = val(m, names[k]);
    const ls_model_value *n = ls__sv(m, LS_MODEL_ROLE_N_LAYERS);
    int64_t nl;
    if (!lt || !lt->present || !lt->json || lt->json->kind != LS_JSON_ARRAY || int_of(n, &nl)) continue;
    size_t len = lt->json->u.arr.n;
    if ((int64_t)len == nl) continue;
    ls__sb b;
    ls__sb_init(&b, LS_SMELL_LAYER_TYPES, lt->value_span, ls__sv_name(lt),
                "%s has %zu entries for %s = %lld layers: transformers raises ValueError when "
                "the model is built (one attention type per layer)", ls__sv_name(lt), len,
                ls__sv_name(n), (long long)nl);
    rel(&b, n, " is set here");
    ls__sb_commit(c, &b);
  }
}

/* LS121: DeepSeek's group-limited routing views the n_routed_experts scores as
 * [n_group, n_routed_experts / n_group] and takes the topk_group best groups. */
static void rule_expert_groups(ls__sctx *c) {
  const ls_model *m = c->m;
  if (m->family != LS_MODEL_FAMILY_DEEPSEEK_V2 && m->family != LS_MODEL_FAMILY_DEEPSEEK_V3) return;
  const ls_model_value *ne = val(m, "n_routed_experts"), *g = val(m, "n_group"), *tg = val(m, "topk_group");
  int64_t nev, gv, tgv;
  if (int_of(ne, &nev) || int_of(g, &gv) || gv < 1 || nev < 1) return; /* null: no grouping */
  ls__sb b;
  if (nev % gv != 0) {
    ls__sb_init(&b, LS_SMELL_EXPERT_GROUPS, at(c, g), ls__sv_name(g),
                "n_group = %lld does not divide n_routed_experts = %lld: the router reshapes the "
                "expert scores into n_group equal groups and fails", (long long)gv, (long long)nev);
    rel(&b, ne, " is set here");
    ls__sb_commit(c, &b);
  }
  if (!int_of(tg, &tgv) && tgv > gv) {
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)gv);
    ls__sb_init(&b, LS_SMELL_EXPERT_GROUPS, at(c, tg), ls__sv_name(tg),
                "topk_group = %lld is more than n_group = %lld: torch.topk over the groups fails "
                "with \"selected index k out of range\"", (long long)tgv, (long long)gv);
    rel(&b, g, " is set here");
    if (tg->present) ls__sb_fix(&b, 1, tg->value_span, text, "Set topk_group to %lld", (long long)gv);
    ls__sb_commit(c, &b);
  }
}

/* LS122: Mamba2Mixer works on expand x hidden_size channels and reshapes them into num_heads
 * heads of head_dim; the two must agree. */
static void rule_ssm_heads(ls__sctx *c) {
  const ls_model *m = c->m;
  if (m->family != LS_MODEL_FAMILY_MAMBA2) return;
  const ls_model_value *h = ls__sv(m, LS_MODEL_ROLE_HIDDEN), *e = val(m, "expand"), *nh = val(m, "num_heads"),
                       *hd = val(m, "head_dim");
  int64_t hv, ev, nhv, hdv;
  if (int_of(h, &hv) || int_of(e, &ev) || int_of(nh, &nhv) || int_of(hd, &hdv)) return;
  if (nhv < 1 || hdv < 1 || ev * hv == nhv * hdv) return;
  ls__sb b;
  ls__sb_init(&b, LS_SMELL_SSM_HEADS, at(c, hd), ls__sv_name(hd),
              "num_heads x head_dim = %lld x %lld = %lld, but the mixer has expand x hidden_size = "
              "%lld x %lld = %lld channels: the scan's reshape into heads fails",
              (long long)nhv, (long long)hdv, (long long)(nhv * hdv), (long long)ev, (long long)hv,
              (long long)(ev * hv));
  rel(&b, nh, " is set here");
  rel(&b, e, " is set here");
  if (hd->present && (ev * hv) % nhv == 0) {
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)(ev * hv / nhv));
    ls__sb_fix(&b, 1, hd->value_span, text, "Set head_dim to %lld", (long long)(ev * hv / nhv));
  }
  ls__sb_commit(c, &b);
}

/* LS123: JambaConfig._check_supported_offset raises ValueError when an offset is not below
 * its period. */
static void rule_hybrid_offset(ls__sctx *c) {
  const ls_model *m = c->m;
  if (m->family != LS_MODEL_FAMILY_JAMBA) return;
  static const char *const pairs[][3] = {{"attn_layer_offset", "attn_layer_period", "attention"},
                                         {"expert_layer_offset", "expert_layer_period", "expert"}};
  for (size_t k = 0; k < 2; k++) {
    const ls_model_value *o = val(m, pairs[k][0]), *p = val(m, pairs[k][1]);
    int64_t ov, pv;
    if (int_of(o, &ov) || int_of(p, &pv) || ov < pv) continue;
    ls__sb b;
    ls__sb_init(&b, LS_SMELL_HYBRID_OFFSET, at(c, o), ls__sv_name(o),
                "%s = %lld is not smaller than %s = %lld: JambaConfig raises ValueError (\"%s layer "
                "offset must be smaller than %s layer period\"), and no layer would be of that kind",
                ls__sv_name(o), (long long)ov, ls__sv_name(p), (long long)pv, pairs[k][2], pairs[k][2]);
    rel(&b, p, " is set here");
    ls__sb_commit(c, &b);
  }
}

void ls__smell_family_rules_run(ls__sctx *c) {
  rule_layer_types(c);
  rule_expert_groups(c);
  rule_ssm_heads(c);
  rule_hybrid_offset(c);
}
