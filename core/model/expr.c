/* expr.c: the small expression language of family tables (see family.h). Shapes, counts,
 * defaults and conditions are written as expressions over config keys, and evaluating one
 * also records which keys it read, so the key -> tensor relation needs no per-family code.
 *
 * Grammar (C precedence, 64-bit signed integers, every operation overflow-checked):
 *   expr := or ['?' expr ':' expr]      or := and {'||' and}      and := cmp {'&&' cmp}
 *   cmp  := add [('=='|'!='|'<'|'>'|'<='|'>=') add]
 *   add  := mul {('+'|'-') mul}          mul := unary {('*'|'/'|'%') unary}
 *   unary := ('!'|'-') unary | primary
 *   primary := INT | IDENT | '(' expr ')' | startswith(IDENT, "lit") | inlist(IDENT, expr)
 *            | itemis(IDENT, expr, "lit") | has(IDENT)
 *   IDENT may be a dotted path into a nested config: text_config.hidden_size
 *   itemis(list, i, "lit") is true when item i is the string lit, or an integer whose decimal
 *   spelling is lit (SmolLM3's no_rope_layers: itemis(no_rope_layers, L, "0"))
 * Division is floor division as Python's `//` (upstream computes head_dim that way);
 * division by zero is an error, never a trap. The source strings come from our own tables,
 * but the values come from untrusted config files, hence the checks. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/model/family.h"

int ls__mul_i64(int64_t a, int64_t b, int64_t *out) {
  return __builtin_mul_overflow(a, b, out) ? LS_EOVERFLOW : 0;
}
int ls__add_i64(int64_t a, int64_t b, int64_t *out) {
  return __builtin_add_overflow(a, b, out) ? LS_EOVERFLOW : 0;
}
int ls__mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
  return __builtin_mul_overflow(a, b, out) ? LS_EOVERFLOW : 0;
}
int ls__add_u64(uint64_t a, uint64_t b, uint64_t *out) {
  return __builtin_add_overflow(a, b, out) ? LS_EOVERFLOW : 0;
}

typedef struct expr_p {
  const char *s;
  const ls__expr_env *env;
  ls_model_keyset *deps;
  char *err;
  size_t err_cap;
  int rc;
  int depth;
} expr_p;

static int64_t fail(expr_p *p, int rc, const char *fmt, const char *arg) {
  if (p->rc == 0) {
    p->rc = rc;
    snprintf(p->err, p->err_cap, fmt, arg);
  }
  return 0;
}

static void skip_ws(expr_p *p) {
  while (*p->s == ' ' || *p->s == '\t') p->s++;
}

static int accept(expr_p *p, const char *tok) {
  skip_ws(p);
  size_t n = strlen(tok);
  if (strncmp(p->s, tok, n) != 0) return 0;
  /* do not take '<' out of "<=", nor '=' alone */
  if (n == 1 && (tok[0] == '<' || tok[0] == '>' || tok[0] == '!') && p->s[1] == '=') return 0;
  p->s += n;
  return 1;
}

static int64_t parse_expr(expr_p *p);

static int ident_len(const char *s) {
  int n = 0;
  if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
  while (isalnum((unsigned char)s[n]) || s[n] == '_' ||
         (s[n] == '.' && (isalpha((unsigned char)s[n + 1]) || s[n + 1] == '_')))
    n++;
  return n;
}

/* A string literal at p->s: its start and length; p->s moves past it. */
static const char *parse_lit(expr_p *p, size_t *ln) {
  skip_ws(p);
  if (*p->s != '"') { fail(p, LS_EINVAL, "expected a string at '%s'", p->s); return NULL; }
  const char *lit = ++p->s;
  while (*p->s && *p->s != '"') p->s++;
  *ln = (size_t)(p->s - lit);
  if (*p->s == '"') p->s++;
  return lit;
}

static int64_t parse_primary(expr_p *p) {
  skip_ws(p);
  if (p->rc) return 0;
  if (*p->s == '(') {
    p->s++;
    int64_t v = parse_expr(p);
    if (!accept(p, ")")) return fail(p, LS_EINVAL, "expected ')' in expression at '%s'", p->s);
    return v;
  }
  if (isdigit((unsigned char)*p->s)) {
    int64_t v = 0;
    while (isdigit((unsigned char)*p->s)) {
      if (ls__mul_i64(v, 10, &v) || ls__add_i64(v, *p->s - '0', &v))
        return fail(p, LS_EOVERFLOW, "integer literal too large at '%s'", p->s);
      p->s++;
    }
    return v;
  }
  int n = ident_len(p->s);
  if (n == 0) return fail(p, LS_EINVAL, "unexpected '%s' in expression", p->s);
  const char *name = p->s;
  p->s += n;
  skip_ws(p);
  int fn = *p->s != '(' ? 0
           : n == 10 && strncmp(name, "startswith", 10) == 0 ? 1
           : n == 6 && strncmp(name, "inlist", 6) == 0 ? 2
           : n == 6 && strncmp(name, "itemis", 6) == 0 ? 3
           : n == 3 && strncmp(name, "has", 3) == 0 ? 4 : 0;
  if (fn) {
    p->s++;
    skip_ws(p);
    const char *arg = p->s;
    int an = ident_len(arg);
    if (an == 0) return fail(p, LS_EINVAL, "expected a key name at '%s'", p->s);
    p->s += an;
    int64_t r = 0;
    if (fn != 4 && !accept(p, ",")) return fail(p, LS_EINVAL, "expected ',' at '%s'", p->s);
    if (fn == 1) {
      size_t ln = 0;
      const char *lit = parse_lit(p, &ln);
      if (!lit) return 0;
      const char *sv = p->env->lookup_str ? p->env->lookup_str(p->env->ctx, arg, (size_t)an, p->deps) : NULL;
      r = sv && strncmp(sv, lit, ln) == 0;
    } else if (fn == 2) {
      int64_t v = parse_expr(p);
      if (p->rc) return 0;
      r = p->env->in_list ? p->env->in_list(p->env->ctx, arg, (size_t)an, v, p->deps) : 0;
    } else if (fn == 3) {
      int64_t v = parse_expr(p);
      if (p->rc) return 0;
      if (!accept(p, ",")) return fail(p, LS_EINVAL, "expected ',' at '%s'", p->s);
      size_t ln = 0;
      const char *lit = parse_lit(p, &ln);
      if (!lit) return 0;
      r = p->env->item_is ? p->env->item_is(p->env->ctx, arg, (size_t)an, v, lit, ln, p->deps) : 0;
    } else {
      r = p->env->present ? p->env->present(p->env->ctx, arg, (size_t)an, p->deps) : 0;
    }
    if (!accept(p, ")")) return fail(p, LS_EINVAL, "expected ')' at '%s'", p->s);
    return r;
  }
  int64_t v = 0;
  int rc = p->env->lookup(p->env->ctx, name, (size_t)n, &v, p->deps);
  if (rc != 0) {
    char nm[64];
    snprintf(nm, sizeof nm, "%.*s", n, name);
    return fail(p, rc, rc == LS_ENOENT ? "unknown name '%s' in expression" : "cannot evaluate '%s'", nm);
  }
  return v;
}

static int64_t parse_unary(expr_p *p) {
  if (p->rc) return 0;
  if (accept(p, "!")) return !parse_unary(p);
  if (accept(p, "-")) {
    int64_t v = parse_unary(p);
    if (v == INT64_MIN) return fail(p, LS_EOVERFLOW, "overflow negating%s", "");
    return -v;
  }
  return parse_primary(p);
}

static int64_t parse_mul(expr_p *p) {
  int64_t v = parse_unary(p);
  for (;;) {
    if (p->rc) return 0;
    int64_t r;
    if (accept(p, "*")) {
      r = parse_unary(p);
      if (ls__mul_i64(v, r, &v)) return fail(p, LS_EOVERFLOW, "product overflows 64 bits%s", "");
    } else if (accept(p, "/") || (skip_ws(p), *p->s == '%')) {
      int is_mod = *p->s == '%';
      if (is_mod) p->s++;
      r = parse_unary(p);
      if (p->rc) return 0;
      if (r == 0) return fail(p, LS_EINVAL, "division by zero%s", "");
      if (v == INT64_MIN && r == -1) return fail(p, LS_EOVERFLOW, "quotient overflows%s", "");
      int64_t q = v / r, m = v % r;
      if (m != 0 && ((m < 0) != (r < 0))) { q -= 1; m += r; } /* floor, as Python // */
      v = is_mod ? m : q;
    } else {
      return v;
    }
  }
}

static int64_t parse_add(expr_p *p) {
  int64_t v = parse_mul(p);
  for (;;) {
    if (p->rc) return 0;
    if (accept(p, "+")) {
      if (ls__add_i64(v, parse_mul(p), &v)) return fail(p, LS_EOVERFLOW, "sum overflows 64 bits%s", "");
    } else if (accept(p, "-")) {
      int64_t r = parse_mul(p);
      if (__builtin_sub_overflow(v, r, &v)) return fail(p, LS_EOVERFLOW, "difference overflows%s", "");
    } else {
      return v;
    }
  }
}

static int64_t parse_cmp(expr_p *p) {
  int64_t v = parse_add(p);
  if (p->rc) return 0;
  if (accept(p, "==")) return v == parse_add(p);
  if (accept(p, "!=")) return v != parse_add(p);
  if (accept(p, "<=")) return v <= parse_add(p);
  if (accept(p, ">=")) return v >= parse_add(p);
  if (accept(p, "<")) return v < parse_add(p);
  if (accept(p, ">")) return v > parse_add(p);
  return v;
}

static int64_t parse_and(expr_p *p) {
  int64_t v = parse_cmp(p);
  while (!p->rc && accept(p, "&&")) {
    int64_t r = parse_cmp(p);
    v = v && r;
  }
  return v;
}

static int64_t parse_or(expr_p *p) {
  int64_t v = parse_and(p);
  while (!p->rc && accept(p, "||")) {
    int64_t r = parse_and(p);
    v = v || r;
  }
  return v;
}

static int64_t parse_expr(expr_p *p) {
  if (++p->depth > 64) return fail(p, LS_ELIMIT, "expression nested too deeply%s", "");
  int64_t c = parse_or(p);
  if (!p->rc && accept(p, "?")) {
    /* both branches are parsed (and their keys recorded only when taken) */
    ls_model_keyset *saved = p->deps, scratch = {{0, 0}};
    p->deps = c ? saved : &scratch;
    int64_t a = parse_expr(p);
    if (!accept(p, ":")) {
      p->deps = saved;
      return fail(p, LS_EINVAL, "expected ':' at '%s'", p->s);
    }
    ls_model_keyset scratch2 = {{0, 0}};
    p->deps = c ? &scratch2 : saved;
    int64_t b = parse_expr(p);
    p->deps = saved;
    c = c ? a : b;
  }
  p->depth--;
  return c;
}

int ls__expr_eval(const char *src, const ls__expr_env *env, int64_t *out, ls_model_keyset *deps,
                  char *err, size_t err_cap) {
  char dummy[8];
  ls_model_keyset scratch = {{0, 0}};
  expr_p p = {src, env, deps ? deps : &scratch, err ? err : dummy, err ? err_cap : sizeof dummy, 0, 0};
  if (p.err_cap) p.err[0] = 0;
  int64_t v = parse_expr(&p);
  if (!p.rc) {
    skip_ws(&p);
    if (*p.s) fail(&p, LS_EINVAL, "unexpected '%s' after expression", p.s);
  }
  if (p.rc) return p.rc;
  *out = v;
  return 0;
}
