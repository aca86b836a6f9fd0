/* expr.c: lexer and parser of the debugger's expression language (grammar in expr.h). The
 * parser builds a small tree once (a breakpoint condition is parsed when it is set and then
 * evaluated at every module it may stop at); expr_eval.c evaluates it. Every node keeps the
 * column it starts at so that errors can name the position (counted in characters; a
 * character quoted in an error is always a whole one, so messages stay valid UTF-8). Inputs
 * are untrusted (typed in a REPL, sent by a DAP client): lengths and nesting are bounded and
 * nothing aborts. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/text.h"
#include "core/debug/expr_int.h"

#define MAX_SRC 4096
#define MAX_DEPTH 64

typedef struct parser {
  const char *src;
  size_t pos;
  int depth;
  ls_dbg_expr *e;
  ls_diag *d;
} parser;

static const struct { const char *name; int min_args, max_args; } FUNCS[] = {
#define X(id, name, lo, hi) {name, lo, hi},
  LS_DBG_FUNCS(X)
#undef X
};

static int fail(parser *p, size_t at, const char *fmt, const char *arg) {
  char msg[300];
  snprintf(msg, sizeof msg, fmt, arg);
  return ls_diag_set(p->d, LS_EPARSE, "column %zu: %s", ls__dbg_column(p->src, at), msg);
}

/* The character at s quoted for a message: a whole UTF-8 character (é, ≠, an emoji), or
 * the byte in hex when s starts no well-formed character. */
static int fail_unexpected(parser *p, size_t at, const char *fmt) {
  const char *s = p->src + at;
  char tok[32];
  size_t k = ls_utf8_char_len(s, strnlen(s, 4));
  if (k) snprintf(tok, sizeof tok, "'%.*s'", (int)k, s);
  else snprintf(tok, sizeof tok, "byte 0x%02X (not UTF-8)", (unsigned char)*s);
  return fail(p, at, fmt, tok);
}

size_t ls__dbg_column(const char *src, size_t byte) {
  size_t col = 1;
  for (size_t i = 0; i < byte && src[i]; i++) col += ((unsigned char)src[i] & 0xC0) != 0x80;
  return col;
}

static void skip_ws(parser *p) {
  while (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' || p->src[p->pos] == '\n' || p->src[p->pos] == '\r') p->pos++;
}

static int new_node(parser *p, int kind, size_t col) {
  ls_dbg_expr *e = p->e;
  if (e->n == e->cap) {
    size_t nc = e->cap ? e->cap * 2 : 16;
    ls_dbg_node *g = ls_reallocarray(e->nodes, nc, sizeof *g);
    if (!g) return ls_diag_set(p->d, LS_ENOMEM, "out of memory parsing an expression");
    e->nodes = g;
    e->cap = nc;
  }
  ls_dbg_node *n = &e->nodes[e->n];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->col = col;
  n->a = n->b = n->c = -1;
  return (int)e->n++;
}

static int is_name_start(int c) { return isalpha(c) || c == '_'; }
static int is_name_char(int c) { return isalnum(c) || c == '_'; }

/* A dotted name: ident ('.' (ident | digits))*. Dots followed by anything else end it. It
 * may be qualified by the rank of the process it lives in, `rank1:model.lm_head.weight`
 * (no blanks around the colon: `x[rank:8]` stays a slice). */
static size_t name_len(const char *s) {
  size_t i = 0;
  if (strncmp(s, "rank", 4) == 0 && isdigit((unsigned char)s[4])) {
    size_t k = 4;
    while (isdigit((unsigned char)s[k])) k++;
    if (s[k] == ':' && is_name_char((unsigned char)s[k + 1])) { /* a path may start with a digit: "0.weight" */
      s += k + 1;
      i = k + 1;
    }
  }
  size_t q = i;
  i = 0;
  if (!(q ? is_name_char : is_name_start)((unsigned char)s[0])) return 0;
  while (is_name_char((unsigned char)s[i])) i++;
  while (s[i] == '.' && is_name_char((unsigned char)s[i + 1])) {
    i++;
    while (is_name_char((unsigned char)s[i])) i++;
  }
  return q + i;
}

static int func_index(const char *s, size_t len) {
  for (size_t i = 0; i < sizeof FUNCS / sizeof FUNCS[0]; i++)
    if (strlen(FUNCS[i].name) == len && memcmp(FUNCS[i].name, s, len) == 0) return (int)i;
  return -1;
}

int ls__dbg_func_arity(int f, int *lo, int *hi) {
  *lo = FUNCS[f].min_args;
  *hi = FUNCS[f].max_args;
  return 0;
}
const char *ls__dbg_func_name(int f) { return FUNCS[f].name; }

static int parse_expr(parser *p, int *out);
static int parse_postfix(parser *p, int *out);

/* Can the text at pos start an argument of a command-style call (`diff a b`)? */
static int starts_primary(parser *p) {
  char c = p->src[p->pos];
  return is_name_start((unsigned char)c) || isdigit((unsigned char)c) || c == '(' ||
         (c == '.' && isdigit((unsigned char)p->src[p->pos + 1]));
}

static int parse_call(parser *p, int f, size_t col, int *out) {
  int lo, hi, node = new_node(p, LS_DBG_N_CALL, col);
  if (node < 0) return node;
  ls__dbg_func_arity(f, &lo, &hi);
  int args[LS_DBG_MAX_ARGS];
  int n = 0, rc;
  skip_ws(p);
  if (p->src[p->pos] == '(') {
    p->pos++;
    skip_ws(p);
    if (p->src[p->pos] != ')') {
      for (;;) {
        if (n == LS_DBG_MAX_ARGS) return fail(p, p->pos, "too many arguments to %s", FUNCS[f].name);
        if ((rc = parse_expr(p, &args[n]))) return rc;
        n++;
        skip_ws(p);
        if (p->src[p->pos] == ',') { p->pos++; continue; }
        break;
      }
    }
    skip_ws(p);
    if (p->src[p->pos] != ')') return fail(p, p->pos, "expected ')' to close the arguments of %s", FUNCS[f].name);
    p->pos++;
  } else {
    /* command style: up to the maximum number of arguments, each a postfix expression, so
     * `diff a b > 0.1` reads as (diff a b) > 0.1 and `topk output 3` as topk(output, 3) */
    while (n < hi) {
      skip_ws(p);
      if (!starts_primary(p)) break;
      if ((rc = parse_postfix(p, &args[n]))) return rc;
      n++;
    }
  }
  if (n < lo || n > hi) {
    char msg[160];
    if (lo == hi) snprintf(msg, sizeof msg, "%s takes %d argument%s, got %d", FUNCS[f].name, lo, lo == 1 ? "" : "s", n);
    else snprintf(msg, sizeof msg, "%s takes %d to %d arguments, got %d", FUNCS[f].name, lo, hi, n);
    return fail(p, col, "%s", msg);
  }
  ls_dbg_node *nd = &p->e->nodes[node];
  nd->func = f;
  nd->nargs = n;
  memcpy(nd->args, args, sizeof args);
  *out = node;
  return LS_OK;
}

static int parse_primary(parser *p, int *out) {
  skip_ws(p);
  size_t col = p->pos;
  const char *s = p->src + p->pos;
  int rc;
  if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE) return fail(p, col, "%s", "bad number");
    if (is_name_char((unsigned char)*end)) return fail(p, (size_t)(end - p->src), "%s", "unexpected character after a number");
    int n = new_node(p, LS_DBG_N_NUM, col);
    if (n < 0) return n;
    p->e->nodes[n].num = v;
    p->pos += (size_t)(end - s);
    *out = n;
    return LS_OK;
  }
  if (*s == '(') {
    p->pos++;
    if ((rc = parse_expr(p, out))) return rc;
    skip_ws(p);
    if (p->src[p->pos] != ')') return fail(p, p->pos, "%s", "expected ')'");
    p->pos++;
    return LS_OK;
  }
  size_t len = name_len(s);
  if (len) {
    int f = func_index(s, len);
    if (f >= 0) {
      size_t save = p->pos;
      p->pos += len;
      skip_ws(p);
      if (p->src[p->pos] == '(' || starts_primary(p)) return parse_call(p, f, col, out);
      p->pos = save;
    }
    if (len >= LS_DBG_MAX_NAME) return fail(p, col, "%s", "name too long");
    int n = new_node(p, LS_DBG_N_NAME, col);
    if (n < 0) return n;
    memcpy(p->e->nodes[n].name, s, len);
    p->e->nodes[n].name[len] = 0;
    p->pos += len;
    *out = n;
    return LS_OK;
  }
  if (!*s) return fail(p, col, "%s", "unexpected end of expression");
  return fail_unexpected(p, col, "unexpected %s");
}

static int parse_index_item(parser *p, int *out) {
  skip_ws(p);
  size_t col = p->pos;
  int lo = -1, hi = -1, rc;
  if (p->src[p->pos] != ':') {
    if ((rc = parse_expr(p, &lo))) return rc;
    skip_ws(p);
    if (p->src[p->pos] != ':') { *out = lo; return LS_OK; }
  }
  p->pos++; /* ':' */
  skip_ws(p);
  if (p->src[p->pos] != ',' && p->src[p->pos] != ']')
    if ((rc = parse_expr(p, &hi))) return rc;
  int n = new_node(p, LS_DBG_N_SLICE, col);
  if (n < 0) return n;
  p->e->nodes[n].a = lo;
  p->e->nodes[n].b = hi;
  *out = n;
  return LS_OK;
}

static int parse_postfix(parser *p, int *out) {
  int rc, node;
  if (++p->depth > MAX_DEPTH) return fail(p, p->pos, "%s", "expression nested too deeply");
  if ((rc = parse_primary(p, &node))) return rc;
  for (;;) {
    skip_ws(p);
    char c = p->src[p->pos];
    size_t col = p->pos;
    if (c == '[') {
      p->pos++;
      int idx = new_node(p, LS_DBG_N_INDEX, col);
      if (idx < 0) return idx;
      int items[LS_DBG_MAX_DIMS], n = 0;
      for (;;) {
        if (n == LS_DBG_MAX_DIMS) return fail(p, p->pos, "%s", "at most 4 indices");
        if ((rc = parse_index_item(p, &items[n]))) return rc;
        n++;
        skip_ws(p);
        if (p->src[p->pos] == ',') { p->pos++; continue; }
        break;
      }
      if (p->src[p->pos] != ']') return fail(p, p->pos, "%s", "expected ']' or ','");
      p->pos++;
      ls_dbg_node *nd = &p->e->nodes[idx];
      nd->a = node;
      nd->nargs = n;
      memcpy(nd->args, items, sizeof items);
      node = idx;
    } else if (c == '.' && is_name_start((unsigned char)p->src[p->pos + 1])) {
      p->pos++;
      size_t len = 0;
      while (is_name_char((unsigned char)p->src[p->pos + len])) len++;
      if (len >= LS_DBG_MAX_NAME) return fail(p, col, "%s", "property name too long");
      int pr = new_node(p, LS_DBG_N_PROP, col);
      if (pr < 0) return pr;
      memcpy(p->e->nodes[pr].name, p->src + p->pos, len);
      p->e->nodes[pr].name[len] = 0;
      p->e->nodes[pr].a = node;
      p->pos += len;
      node = pr;
    } else {
      break;
    }
  }
  p->depth--;
  *out = node;
  return LS_OK;
}

static int parse_unary(parser *p, int *out) {
  skip_ws(p);
  char c = p->src[p->pos];
  size_t col = p->pos;
  if (c == '-' || (c == '!' && p->src[p->pos + 1] != '=')) {
    if (++p->depth > MAX_DEPTH) return fail(p, col, "%s", "expression nested too deeply");
    p->pos++;
    int a, rc = parse_unary(p, &a);
    if (rc) return rc;
    p->depth--;
    int n = new_node(p, c == '-' ? LS_DBG_N_NEG : LS_DBG_N_NOT, col);
    if (n < 0) return n;
    p->e->nodes[n].a = a;
    *out = n;
    return LS_OK;
  }
  return parse_postfix(p, out);
}

/* Binary operators by precedence level (lowest first). */
static int match_op(parser *p, int level, int *op, size_t *len) {
  const char *s = p->src + p->pos;
  static const struct { int level; const char *tok; int op; } OPS[] = {
      {0, "||", LS_DBG_OP_OR},  {1, "&&", LS_DBG_OP_AND}, {2, "<=", LS_DBG_OP_LE}, {2, ">=", LS_DBG_OP_GE},
      {2, "==", LS_DBG_OP_EQ},  {2, "!=", LS_DBG_OP_NE},  {2, "<", LS_DBG_OP_LT},  {2, ">", LS_DBG_OP_GT},
      {3, "+", LS_DBG_OP_ADD},  {3, "-", LS_DBG_OP_SUB},  {4, "*", LS_DBG_OP_MUL}, {4, "/", LS_DBG_OP_DIV},
      {4, "%", LS_DBG_OP_MOD},
  };
  for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
    size_t l = strlen(OPS[i].tok);
    if (OPS[i].level == level && strncmp(s, OPS[i].tok, l) == 0) {
      *op = OPS[i].op;
      *len = l;
      return 1;
    }
  }
  return 0;
}

static int parse_level(parser *p, int level, int *out) {
  if (level == 5) return parse_unary(p, out);
  int lhs, rc;
  if ((rc = parse_level(p, level + 1, &lhs))) return rc;
  for (;;) {
    skip_ws(p);
    int op;
    size_t len, col = p->pos;
    if (!match_op(p, level, &op, &len)) break;
    p->pos += len;
    int rhs;
    if ((rc = parse_level(p, level + 1, &rhs))) return rc;
    int n = new_node(p, LS_DBG_N_BIN, col);
    if (n < 0) return n;
    p->e->nodes[n].op = op;
    p->e->nodes[n].a = lhs;
    p->e->nodes[n].b = rhs;
    lhs = n;
    if (level == 2) break; /* comparisons do not chain: a < b < c is an error below */
  }
  *out = lhs;
  return LS_OK;
}

static int parse_expr(parser *p, int *out) {
  if (++p->depth > MAX_DEPTH) return fail(p, p->pos, "%s", "expression nested too deeply");
  int rc = parse_level(p, 0, out);
  p->depth--;
  return rc;
}

int ls_dbg_expr_parse(const char *src, ls_dbg_expr **out, ls_diag *d) {
  *out = NULL;
  size_t len = strlen(src);
  if (len > MAX_SRC) return ls_diag_set(d, LS_ELIMIT, "expression longer than %d characters", MAX_SRC);
  ls_dbg_expr *e = ls_calloc(1, sizeof *e);
  if (!e || !(e->src = ls_strdup(src))) {
    ls_free(e);
    return ls_diag_set(d, LS_ENOMEM, "out of memory parsing an expression");
  }
  parser p = {e->src, 0, 0, e, d};
  int rc = parse_expr(&p, &e->root);
  if (!rc) {
    skip_ws(&p);
    if (e->src[p.pos]) rc = fail_unexpected(&p, p.pos, "unexpected %s after the end of the expression");
  }
  if (rc) {
    ls_dbg_expr_free(e);
    return rc;
  }
  *out = e;
  return LS_OK;
}

void ls_dbg_expr_free(ls_dbg_expr *e) {
  if (!e) return;
  ls_free(e->nodes);
  ls_free(e->src);
  ls_free(e);
}

const char *ls_dbg_expr_source(const ls_dbg_expr *e) { return e->src; }
