/* smells.c: the rule table (smells.def), the report, and the document and schema rules:
 * JSON syntax (LS001, LS002), unknown keys with a did-you-mean (LS003), files that are not
 * model configs (LS008), the model's value checks mapped to rules (LS004-LS007, LS119) and
 * the model_type rules (LS117, LS118). The architecture rules are in smells_rules.c; the reasons
 * and upstream references of every rule are in docs/rules.md. */
#include <strings.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/model/family.h"
#include "core/model/smells_int.h"

/* ---------------------------------------------------------------- the rule table */

static const ls_smell_rule k_rules[] = {
#define X(id, code, name, sev, title) {LS_SMELL_##id, code, name, LS_SMELL_##sev, title},
#include "core/model/smells.def"
#undef X
};

const ls_smell_rule *ls_smell_rules(size_t *n_out) {
  if (n_out) *n_out = LS_SMELL_COUNT;
  return k_rules;
}

const ls_smell_rule *ls_smell_rule_get(ls_smell_id id) {
  return (unsigned)id < LS_SMELL_COUNT ? &k_rules[id] : NULL;
}

const ls_smell_rule *ls_smell_rule_find(const char *s) {
  if (!s) return NULL;
  for (size_t i = 0; i < LS_SMELL_COUNT; i++)
    if (strcasecmp(k_rules[i].code, s) == 0 || strcmp(k_rules[i].name, s) == 0) return &k_rules[i];
  return NULL;
}

const char *ls_smell_severity_name(ls_smell_severity s) {
  switch (s) {
  case LS_SMELL_ERROR: return "error";
  case LS_SMELL_WARNING: return "warning";
  case LS_SMELL_INFO: return "information";
  case LS_SMELL_HINT: return "hint";
  }
  return "error";
}

int ls_smell_doc_url(const ls_smell_rule *r, const char *base, char *buf, size_t cap) {
  if (!base) base = getenv("LAYERSCOPE_DOCS_URL");
  if (!base || !*base) base = LS_SMELL_DOCS_URL;
  return snprintf(buf, cap, "%s#%s", base, r ? r->code : "");
}

/* ---------------------------------------------------------------- finding builder */

void ls__sb_init(ls__sb *b, ls_smell_id rule, ls_json_span span, const char *key,
                 const char *fmt, ...) {
  memset(b, 0, sizeof *b);
  b->rule = rule;
  b->severity = k_rules[rule].severity;
  b->key = key;
  b->span = span;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->msg, sizeof b->msg, fmt, ap);
  va_end(ap);
}

void ls__sb_related(ls__sb *b, ls_json_span span, const char *fmt, ...) {
  if (b->n_related >= LS__SB_RELATED) return;
  size_t i = b->n_related++;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->related_msg[i], sizeof b->related_msg[i], fmt, ap);
  va_end(ap);
  b->related[i].span = span;
}

int ls__sb_fix(ls__sb *b, int preferred, ls_json_span span, const char *text, const char *fmt,
               ...) {
  if (b->n_fixes >= LS__SB_FIXES) return -1;
  int i = (int)b->n_fixes++;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->fix[i].title, sizeof b->fix[i].title, fmt, ap);
  va_end(ap);
  b->fix[i].preferred = preferred;
  b->fix[i].n_edits = 0;
  ls__sb_fix_edit(b, i, span, text);
  return i;
}

void ls__sb_fix_edit(ls__sb *b, int fix, ls_json_span span, const char *text) {
  if (fix < 0 || (size_t)fix >= b->n_fixes || b->fix[fix].n_edits >= LS__SB_EDITS) return;
  size_t e = b->fix[fix].n_edits++;
  b->fix[fix].span[e] = span;
  snprintf(b->fix[fix].text[e], sizeof b->fix[fix].text[e], "%s", text);
}

/* Copies s into the report as valid UTF-8 (invalid bytes -> U+FFFD): messages quote file
 * text and end up in protocol JSON and SARIF. one_line also turns control characters into
 * spaces, for messages shown as `file:line:col:` lines; fix texts are kept exact. */
static const char *adup_text(ls__sctx *c, const char *s, int one_line) {
  size_t n = strlen(s);
  char *r = n <= (SIZE_MAX - 1) / 3 ? ls_arena_alloc(&c->rep->arena, n * 3 + 1) : NULL;
  if (!r) { c->oom = 1; return NULL; }
  const unsigned char *u = (const unsigned char *)s;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    size_t k = u[i] < 0x80 ? 1 : (u[i] >= 0xc2 && u[i] <= 0xdf) ? 2 : (u[i] & 0xf0) == 0xe0 ? 3
             : (u[i] >= 0xf0 && u[i] <= 0xf4) ? 4 : 0;
    int ok = k > 0 && i + k <= n;
    for (size_t t = 1; ok && t < k; t++) ok = (u[i + t] & 0xc0) == 0x80;
    if (ok && k == 3) ok = !(u[i] == 0xe0 && u[i + 1] < 0xa0) && !(u[i] == 0xed && u[i + 1] > 0x9f);
    if (ok && k == 4) ok = !(u[i] == 0xf0 && u[i + 1] < 0x90) && !(u[i] == 0xf4 && u[i + 1] > 0x8f);
    if (!ok) {
      memcpy(r + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    } else if (one_line && k == 1 && (u[i] < 0x20 || u[i] == 0x7f)) {
      r[o++] = ' ';
      i++;
    } else {
      memcpy(r + o, s + i, k);
      o += k;
      i += k;
    }
  }
  r[o] = 0;
  return r;
}

static const char *adup(ls__sctx *c, const char *s) { return adup_text(c, s, 1); }

void ls__sb_commit(ls__sctx *c, ls__sb *b) {
  if (c->oom) return;
  if (c->opts && c->opts->disabled && c->opts->disabled[b->rule]) return;
  if (c->opts && c->opts->severity && c->opts->severity[b->rule] >= LS_SMELL_ERROR &&
      c->opts->severity[b->rule] <= LS_SMELL_HINT)
    b->severity = (ls_smell_severity)c->opts->severity[b->rule];
  if (c->n == c->cap) {
    size_t nc = c->cap ? c->cap * 2 : 16;
    ls_smell_finding *nl = ls_reallocarray(c->list, nc, sizeof *nl);
    if (!nl) { c->oom = 1; return; }
    c->list = nl;
    c->cap = nc;
  }
  ls_smell_finding *f = &c->list[c->n];
  memset(f, 0, sizeof *f);
  ls_arena *a = &c->rep->arena;
  f->rule = b->rule;
  f->severity = b->severity;
  f->key = b->key ? adup(c, b->key) : NULL; /* keys are decoded text: may hold anything */
  f->msg = adup(c, b->msg);
  f->span = b->span;
  if (b->n_related) {
    f->related = ls_arena_calloc(a, b->n_related, sizeof *f->related);
    if (!f->related) { c->oom = 1; return; }
    for (size_t i = 0; i < b->n_related; i++) {
      f->related[i].span = b->related[i].span;
      f->related[i].msg = adup(c, b->related_msg[i]);
    }
    f->n_related = b->n_related;
  }
  if (b->n_fixes) {
    f->fixes = ls_arena_calloc(a, b->n_fixes, sizeof *f->fixes);
    if (!f->fixes) { c->oom = 1; return; }
    for (size_t i = 0; i < b->n_fixes; i++) {
      ls_smell_fix *x = &f->fixes[i];
      x->title = adup(c, b->fix[i].title);
      x->preferred = b->fix[i].preferred;
      x->edits = ls_arena_calloc(a, b->fix[i].n_edits, sizeof *x->edits);
      if (!x->edits) { c->oom = 1; return; }
      for (size_t e = 0; e < b->fix[i].n_edits; e++) {
        x->edits[e].span = b->fix[i].span[e];
        x->edits[e].text = adup_text(c, b->fix[i].text[e], 0);
      }
      x->n_edits = b->fix[i].n_edits;
    }
    f->n_fixes = b->n_fixes;
  }
  if (!c->oom) c->n++;
}

/* ---------------------------------------------------------------- value helpers */

const ls_model_value *ls__sv(const ls_model *m, ls_model_role role) {
  const ls_model_value *v = m ? ls_model_value_by_role(m, role) : NULL;
  if (!v || (v->present && !v->valid)) return NULL;
  return v;
}

int ls__sv_int(const ls_model_value *v, int64_t *out) {
  if (!v) return -1;
  if (v->kind == LS_MODEL_VT_INT) { *out = v->i; return 0; }
  /* range first: casting an out-of-range float (inf, 1e300) is undefined */
  if (v->kind == LS_MODEL_VT_FLOAT && v->f > -9.2e18 && v->f < 9.2e18 && v->f == (double)(int64_t)v->f) {
    *out = (int64_t)v->f;
    return 0;
  }
  return -1;
}

int ls__sv_num(const ls_model_value *v, double *out) {
  if (!v) return -1;
  if (v->kind == LS_MODEL_VT_INT) { *out = (double)v->i; return 0; }
  if (v->kind == LS_MODEL_VT_FLOAT) { *out = v->f; return 0; }
  return -1;
}

ls_json_span ls__sv_span(const ls_model_value *v, ls_json_span fallback) {
  return v && v->present ? v->key_span : fallback;
}

const char *ls__sv_name(const ls_model_value *v) {
  return v->present && v->spelling ? v->spelling : v->info->name;
}

ls_json_span ls__anchor(const ls__sctx *c) {
  const ls_json_member *mt = ls_json_get_member(c->doc->root, "model_type");
  if (mt) return mt->key_span;
  const ls_json_member *ar = ls_json_get_member(c->doc->root, "architectures");
  if (ar) return ar->key_span;
  ls_json_span s = {0, 0};
  if (c->doc->root && c->doc->root->span.start < c->doc->len)
    s = (ls_json_span){c->doc->root->span.start, c->doc->root->span.start + 1}; /* the '{' */
  return s;
}

int ls_smell_edit_distance(const char *a, size_t na, const char *b, size_t nb, int max) {
  /* Optimal string alignment with three rows; strings past 64 bytes are never typos of a
   * config key. */
  if (na > 64 || nb > 64) return max + 1;
  if ((na > nb ? na - nb : nb - na) > (size_t)max) return max + 1;
  int r0[65], r1[65], r2[65];
  int *pp = r0, *p = r1, *cur = r2;
  for (size_t j = 0; j <= nb; j++) p[j] = (int)j;
  for (size_t i = 1; i <= na; i++) {
    cur[0] = (int)i;
    int row_min = cur[0];
    for (size_t j = 1; j <= nb; j++) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = p[j] + 1;
      if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
      if (p[j - 1] + cost < v) v = p[j - 1] + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
        v = pp[j - 2] + 1;
      cur[j] = v;
      if (v < row_min) row_min = v;
    }
    if (row_min > max) return max + 1;
    int *t = pp;
    pp = p;
    p = cur;
    cur = t;
  }
  return p[nb] > max ? max + 1 : p[nb];
}

/* ---------------------------------------------------------------- document rules */

static void rule_json_errors(ls__sctx *c) {
  for (size_t i = 0; i < c->doc->n_errors; i++) {
    const ls_json_error *e = &c->doc->errors[i];
    ls__sb b;
    ls_smell_id id = e->kind == LS_JSON_ERR_DUPLICATE_KEY ? LS_SMELL_DUPLICATE_KEY : LS_SMELL_JSON_SYNTAX;
    ls__sb_init(&b, id, e->span, NULL, "%s", e->msg);
    /* Python's NaN / Infinity: the config loads (transformers reads it with Python's json) */
    if (e->kind == LS_JSON_ERR_PYTHON_NUMBER) b.severity = LS_SMELL_INFO;
    if (id == LS_SMELL_DUPLICATE_KEY) {
      /* Point at the earlier occurrence so the editor can show both. */
      const ls_json *parent = NULL;
      int on_key = 0;
      const ls_json_member *later = ls_json_member_at(c->doc, e->span.start, &on_key, &parent);
      if (later && parent && on_key) {
        for (size_t k = 0; k < parent->u.obj.n; k++) {
          const ls_json_member *mm = &parent->u.obj.members[k];
          if (mm == later) break;
          if (mm->key_len == later->key_len && memcmp(mm->key, later->key, mm->key_len) == 0) {
            ls__sb_related(&b, mm->key_span, "first \"%s\" (its value is ignored)", mm->key);
            break;
          }
        }
        b.key = later->key;
      }
    }
    if (e->fix)
      ls__sb_fix(&b, 1, e->fix_span, e->fix,
                 e->fix[0] == 0 ? "Delete it" : "Write '%s'", e->fix);
    ls__sb_commit(c, &b);
  }
}

int ls_smell_is_model_config(const ls_json_doc *doc) {
  return doc && doc->root && doc->root->kind == LS_JSON_OBJECT &&
         (ls_json_get_member(doc->root, "model_type") || ls_json_get_member(doc->root, "architectures"));
}

/* Unknown keys, at the top level and inside the nested configs the family reads
 * (text_config, vision_config: keys "text_config.<key>" in its table). A key is known when
 * the model read it (its family's keys, legacy aliases, the PretrainedConfig keys, which a
 * nested config accepts too, being a PretrainedConfig itself). A typo of a known key (edit
 * distance <= 2 and less than half the key) is a warning with a rename fix; any other unknown
 * key is only a hint, since transformers keeps unknown keys as plain attributes without
 * complaint. Renames are only proposed towards keys that shape or configure the model (a
 * family's own keys, common keys with a role): "num_heads" is Mamba-2's head count, not a typo
 * of the generation setting num_beams. For a type layerscope does not model nothing is said:
 * its keys are not known here, so no key of it is a typo. */

/* The family key at the level of `prefix` ("" or "text_config.") nearest to `key`, or NULL;
 * the name returned has the prefix stripped. */
static const char *typo_target(const ls_model *m, const char *prefix, const char *key, size_t key_len) {
  size_t plen = strlen(prefix);
  const char *best = NULL;
  int best_d = 3;
  int max = key_len >= 6 ? 2 : 1;
  for (size_t k = 0; k < m->n_values; k++) {
    const ls_model_keyinfo *ki = m->values[k].info;
    if ((ki->flags & LS_MODEL_KEY_COMMON) && ki->role == LS_MODEL_ROLE_NONE) continue;
    if (strncmp(ki->name, prefix, plen) != 0) continue;
    const char *name = ki->name + plen;
    if (strchr(name, '.')) continue; /* a key of another level */
    int d = ls_smell_edit_distance(key, key_len, name, strlen(name), max);
    if (d <= max && d < best_d) { best_d = d; best = name; }
  }
  return best;
}

static int is_common_key(const char *key) {
  size_t n;
  const ls_model_keyinfo *common = ls__common_keys(&n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(common[i].name, key) == 0) return 1;
  return 0;
}

/* One unknown member of `obj`, which is the top level (nest NULL) or the nested config `nest`. */
static void report_unknown_key(ls__sctx *c, const ls_json *obj, const ls_json_member *mem, const char *nest) {
  const ls_model *m = c->m;
  char prefix[64] = "", where[96] = "";
  if (nest) {
    snprintf(prefix, sizeof prefix, "%s.", nest);
    snprintf(where, sizeof where, " in %s", nest);
  }
  const char *best = typo_target(m, prefix, mem->key, mem->key_len);
  const char *fam = ls_model_family_name(m->family);
  ls__sb b;
  if (best && !ls_json_get_member(obj, best)) {
    ls__sb_init(&b, LS_SMELL_UNKNOWN_KEY, mem->key_span, mem->key,
                 "unknown key \"%s\"%s for %s configs: did you mean \"%s\"? As written it is "
                 "ignored and %s%s keeps its default", mem->key, where, fam, best, prefix, best);
    char text[96];
    snprintf(text, sizeof text, "\"%s\"", best);
    ls__sb_fix(&b, 1, mem->key_span, text, "Rename to \"%s\"", best);
  } else {
    ls__sb_init(&b, LS_SMELL_UNKNOWN_KEY, mem->key_span, mem->key,
                 "key \"%s\"%s is not read by %s configs (kept as a plain attribute)%s%s%s",
                 mem->key, where, fam, best ? "; \"" : "", best ? best : "",
                 best ? "\" is set too" : "");
    b.severity = LS_SMELL_HINT;
  }
  ls__sb_commit(c, &b);
}

/* Whether the family reads `name` as a nested config (has a key "name.<key>"). */
static int is_nested_config(const ls_model *m, const char *name, size_t len) {
  for (size_t k = 0; k < m->n_values; k++) {
    const char *kn = m->values[k].info->name;
    if (strncmp(kn, name, len) == 0 && kn[len] == '.') return 1;
  }
  return 0;
}

static void rule_unknown_keys(ls__sctx *c) {
  const ls_model *m = c->m;
  if (m->reading == LS_MODEL_READING_NONE || m->reading == LS_MODEL_READING_GENERIC) return;
  const ls_json *root = c->doc->root;
  for (size_t i = 0; i < root->u.obj.n; i++) {
    const ls_json_member *mem = &root->u.obj.members[i];
    if (ls_model_value_index(m, mem->key) < 0) {
      report_unknown_key(c, root, mem, NULL);
      continue;
    }
    /* a nested config: an object under a key the family reads as one (such names are short,
     * so the prefixes built from them fit; a key with a NUL byte in it is none) */
    const ls_json *nest = mem->value;
    if (nest->kind != LS_JSON_OBJECT || mem->key_len > 48 || strlen(mem->key) != mem->key_len ||
        !is_nested_config(m, mem->key, mem->key_len))
      continue;
    for (size_t j = 0; j < nest->u.obj.n; j++) {
      const ls_json_member *in = &nest->u.obj.members[j];
      char path[160];
      int len = snprintf(path, sizeof path, "%s.%s", mem->key, in->key);
      int known = len > 0 && (size_t)len < sizeof path && ls_model_value_index(m, path) >= 0;
      if (known || is_common_key(in->key)) continue;
      report_unknown_key(c, nest, in, mem->key);
    }
  }
}

/* The model's checks of individual values, as rules. heads-divide and the model_type issues
 * are covered by rules of their own (LS101, LS117, LS118) and skipped here. */
static void rule_model_issues(ls__sctx *c) {
  const ls_model *m = c->m;
  for (size_t i = 0; i < m->n_issues; i++) {
    const ls_model_issue *is = &m->issues[i];
    ls_smell_id id;
    if (strcmp(is->code, "bad-type") == 0) {
      id = LS_SMELL_WRONG_TYPE;
      const ls_model_value *v = is->key >= 0 ? &m->values[is->key] : NULL;
      if (v && (v->info->flags & LS_MODEL_KEY_DIM) && v->json && v->json->kind == LS_JSON_NUMBER)
        id = LS_SMELL_BAD_DIMENSION; /* fractional dimension */
    } else if (strcmp(is->code, "bad-dim") == 0) id = LS_SMELL_BAD_DIMENSION;
    else if (strcmp(is->code, "overflow") == 0) id = LS_SMELL_VALUE_OVERFLOW;
    else if (strcmp(is->code, "bad-value") == 0) id = LS_SMELL_BAD_VALUE;
    else if (strcmp(is->code, "unknown-architecture") == 0) id = LS_SMELL_UNKNOWN_ARCH;
    else continue;
    const ls_model_value *v = is->key >= 0 && (size_t)is->key < m->n_values ? &m->values[is->key] : NULL;
    ls_json_span span = is->span.end > is->span.start ? is->span : ls__anchor(c);
    ls__sb b;
    ls__sb_init(&b, id, span, v ? ls__sv_name(v) : NULL, "%s", is->msg);
    b.severity = is->severity == LS_MODEL_SEV_ERROR ? LS_SMELL_ERROR
                 : is->severity == LS_MODEL_SEV_WARNING ? LS_SMELL_WARNING : LS_SMELL_INFO;
    if (v && v->present && v->key_span.end > v->key_span.start && id != LS_SMELL_UNKNOWN_ARCH)
      ls__sb_related(&b, v->key_span, "%s: %s", v->info->name, v->info->doc ? v->info->doc : "");
    ls__sb_commit(c, &b);
  }
}

static void rule_model_type(ls__sctx *c) {
  const ls_json *root = c->doc->root;
  const ls_json_member *mt = ls_json_get_member(root, "model_type");
  if (!mt) {
    ls__sb b;
    const ls_json_member *ar = ls_json_get_member(root, "architectures");
    ls_json_span at = ar ? ar->key_span : ls__anchor(c);
    int known = c->m && c->m->family != LS_MODEL_FAMILY_UNKNOWN;
    ls__sb_init(&b, LS_SMELL_NO_MODEL_TYPE, at, NULL,
                "no \"model_type\": AutoConfig can only guess the config class from the model's "
                "name in its path%s%s", c->m && c->m->reading_note ? "; " : "",
                c->m && c->m->reading_note
                    ? c->m->reading_note + (strncmp(c->m->reading_note, "no model_type: ", 15) == 0 ? 15 : 0)
                    : "");
    if (known) {
      char text[96];
      snprintf(text, sizeof text, "\n  \"model_type\": \"%s\",", ls_model_family_name(c->m->family));
      ls_json_span ins = {root->span.start + 1, root->span.start + 1};
      /* preferred only when a class in architectures names the family; a family inferred from
       * a path or from keys is a guess the user confirms */
      ls__sb_fix(&b, ar != NULL && ls_model_family_from_class(c->m->architecture) == c->m->family, ins, text,
                 "Add \"model_type\": \"%s\"", ls_model_family_name(c->m->family));
    }
    ls__sb_commit(c, &b);
    return;
  }
  if (mt->value->kind != LS_JSON_STRING) {
    ls__sb b;
    ls__sb_init(&b, LS_SMELL_WRONG_TYPE, mt->value->span, "model_type",
                "model_type is %s: expected a string such as \"llama\"",
                ls_json_kind_name(mt->value->kind));
    ls__sb_commit(c, &b);
    return;
  }
  const char *t = mt->value->u.str.s;
  if (ls_model_family_from_type(t) != LS_MODEL_FAMILY_UNKNOWN) return;
  ls__sb b;
  if (ls_model_type_is_upstream(t)) {
    /* a real transformers type: never "corrected" to another (qwen3 is not a typo of qwen2) */
    ls__sb_init(&b, LS_SMELL_UNKNOWN_MODEL_TYPE, mt->value->span, "model_type",
                "model_type \"%s\" is a transformers model type that layerscope does not model "
                "yet: no shapes or figures%s", t,
                c->m && c->m->reading == LS_MODEL_READING_GENERIC
                    ? " of its own; the ones shown are a generic llama-style reading, not this model's"
                    : " (a generic llama-style reading is available on request)");
    ls__sb_commit(c, &b);
    return;
  }
  const char *best = NULL;
  int best_d = 3;
  for (int f = 1; f < LS_MODEL_FAMILY_COUNT; f++) {
    const char *name = ls_model_family_name((ls_model_family)f);
    int d = ls_smell_edit_distance(t, mt->value->u.str.len, name, strlen(name), 2);
    if (d < best_d) { best_d = d; best = name; }
  }
  ls__sb_init(&b, LS_SMELL_UNKNOWN_MODEL_TYPE, mt->value->span, "model_type",
              "model_type \"%s\" is not a type layerscope or transformers knows%s%s%s: %s", t,
              best ? " (did you mean \"" : "", best ? best : "", best ? "\"?)" : "",
              c->m && c->m->family != LS_MODEL_FAMILY_UNKNOWN
                  ? "read from architectures instead"
                  : c->m && c->m->reading == LS_MODEL_READING_GENERIC
                        ? "shapes and figures are a generic llama-style reading of the common keys"
                        : "no shapes or figures");
  if (best) {
    char text[96];
    snprintf(text, sizeof text, "\"%s\"", best);
    ls__sb_fix(&b, 1, mt->value->span, text, "Change to \"%s\"", best);
  }
  ls__sb_commit(c, &b);
}

/* ---------------------------------------------------------------- the report */

static int finding_order(const void *x, const void *y) {
  const ls_smell_finding *a = x, *b = y;
  if (a->span.start != b->span.start) return a->span.start < b->span.start ? -1 : 1;
  if (a->rule != b->rule) return a->rule < b->rule ? -1 : 1;
  return 0;
}

int ls_smell_check(const ls_json_doc *doc, const ls_model *model, const ls_smell_opts *opts,
                   ls_smell_report **out) {
  *out = NULL;
  ls_smell_report *r = ls_calloc(1, sizeof *r);
  if (!r) return LS_ENOMEM;
  ls_arena_init(&r->arena, 16 * 1024);
  ls__sctx c = {doc, model, opts, r, NULL, 0, 0, 0};
  /* a legacy config (no model_type, no architectures) is one when the model recognised it */
  r->is_model_config = ls_smell_is_model_config(doc) || (model && model->reading == LS_MODEL_READING_INFERRED);
  if (doc) rule_json_errors(&c);
  if (doc && doc->root && doc->root->kind != LS_JSON_INVALID && !r->is_model_config) {
    /* Not a model config: say so once and run nothing else (an editor leaves such files
     * alone before calling this; `layerscope check` reports them). */
    ls__sb b;
    if (doc->root->kind != LS_JSON_OBJECT)
      ls__sb_init(&b, LS_SMELL_NOT_A_CONFIG, doc->root->span, NULL,
                  "the document is %s, not an object: a model config is a JSON object of keys",
                  ls_json_kind_name(doc->root->kind));
    else
      ls__sb_init(&b, LS_SMELL_NOT_A_CONFIG, (ls_json_span){doc->root->span.start, doc->root->span.start + 1},
                  NULL, "not a model config: the object has neither \"model_type\" nor "
                  "\"architectures\"");
    ls__sb_commit(&c, &b);
  } else if (doc && doc->root && doc->root->kind == LS_JSON_OBJECT) {
    rule_model_type(&c);
    if (model) {
      rule_unknown_keys(&c);
      rule_model_issues(&c);
      ls__smell_rules_run(&c);
      ls__smell_family_rules_run(&c);
    }
  }
  if (!c.oom && c.n) {
    qsort(c.list, c.n, sizeof *c.list, finding_order);
    r->findings = ls_arena_alloc(&r->arena, c.n * sizeof *r->findings);
    if (!r->findings) c.oom = 1;
    else memcpy(r->findings, c.list, c.n * sizeof *r->findings);
    r->n_findings = c.n;
    for (size_t i = 0; i < c.n; i++) r->n_by_severity[c.list[i].severity]++;
  }
  ls_free(c.list);
  if (c.oom) {
    ls_smell_report_free(r);
    return LS_ENOMEM;
  }
  *out = r;
  return LS_OK;
}

void ls_smell_report_free(ls_smell_report *r) {
  if (!r) return;
  ls_arena_deinit(&r->arena);
  ls_free(r);
}
