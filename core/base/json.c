/* json.c: the position-aware, error-tolerant JSON reader (see json.h).
 *
 * A recursive-descent parser over raw bytes that never gives up: every syntax error is
 * recorded (span + message + a fix where one is obvious) and parsing resumes at the next
 * place that makes sense, so a half-typed config still yields a tree for hovers and checks.
 * Recovery heuristics, chosen for hand-edited config files:
 *   - a missing ',' between members or items is reported and assumed;
 *   - a trailing ',' before '}' or ']' is reported and ignored;
 *   - a missing value (`"a": ,` or `"a":}`) becomes an LS_JSON_INVALID node with an empty span;
 *   - a string with no closing quote ends at the end of its line (the usual typing state);
 *   - bare words become INVALID nodes, except Python's True/False/None, which are read as
 *     the JSON literal they mean (and reported), and bare keys, which are read as keys;
 *   - a closing bracket of the wrong kind closes the inner containers when it matches an
 *     enclosing one, otherwise it is skipped;
 *   - nesting past LS_JSON_MAX_DEPTH is skipped without recursion.
 * Children are gathered on two scratch stacks shared by all levels (so recursion costs no
 * per-level allocation) and copied into the doc's arena when their container closes. */
#include "core/base/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

/* Past this many errors the document is garbage; one last error says so and the rest are
 * dropped, which bounds memory on adversarial input. */
#define MAX_ERRORS 10000

typedef struct perr {
  ls_json_error e;
  size_t seq; /* insertion order, to keep the sort stable */
} perr;

typedef struct parser {
  const char *s;
  size_t len, pos;
  ls_arena *arena;
  int oom;
  perr *errs;            /* growable (ls_realloc), copied to the arena at the end */
  size_t n_errs, cap_errs;
  ls_json **items;       /* scratch stack of array items being collected */
  size_t n_items, cap_items;
  ls_json_member *mems;  /* scratch stack of object members being collected */
  size_t n_mems, cap_mems;
  char open[LS_JSON_MAX_DEPTH + 2]; /* '[' or '{' for each open container, outermost first */
  int depth;
  int str_unclosed;      /* the last string read had no closing quote */
} parser;

static ls_json *parse_value(parser *p);

/* ---- errors ----------------------------------------------------------------------------- */

static int grow(parser *p, void *arr, size_t n, size_t *cap, size_t elem);

static void err_fix(parser *p, size_t start, size_t end, const char *fix, size_t fs, size_t fe,
                    const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void err_fix(parser *p, size_t start, size_t end, const char *fix, size_t fs, size_t fe,
                    const char *fmt, ...) {
  if (p->n_errs > MAX_ERRORS || grow(p, &p->errs, p->n_errs, &p->cap_errs, sizeof *p->errs))
    return;
  perr *e = &p->errs[p->n_errs];
  memset(e, 0, sizeof *e);
  e->seq = p->n_errs++;
  if (end > p->len) end = p->len;
  if (start > end) start = end;
  e->e.span.start = start;
  e->e.span.end = end;
  if (p->n_errs > MAX_ERRORS) {
    snprintf(e->e.msg, sizeof e->e.msg, "too many syntax errors; the rest are not reported");
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->e.msg, sizeof e->e.msg, fmt, ap);
  va_end(ap);
  if (fix) {
    e->e.fix = ls_arena_strndup(p->arena, fix, strlen(fix));
    if (!e->e.fix) p->oom = 1;
    e->e.fix_span.start = fs;
    e->e.fix_span.end = fe;
  }
}

#define err(p, start, end, ...) err_fix(p, start, end, NULL, 0, 0, __VA_ARGS__)

/* Marks the error just reported as being of another kind than a plain syntax error. */
static void err_kind(parser *p, ls_json_errkind kind) {
  if (p->n_errs && p->n_errs <= MAX_ERRORS) p->errs[p->n_errs - 1].e.kind = kind;
}

static size_t utf8_len(const unsigned char *s, size_t n);

/* How much of the text a message quotes. Content (a stray word, a bad number, what follows
 * the value) is quoted to QUOTE_MAX bytes only: the file may be a secret opened by mistake,
 * and messages end up in logs and the Debug Console. Keys are the config's own structure
 * (and a bare key's fix must hold all of it): up to KEY_QUOTE_MAX. */
#define QUOTE_MAX 8
#define KEY_QUOTE_MAX 40

/* Writes a short printable rendering of the bytes [a, b) into buf, for messages: at most
 * max bytes, control bytes and invalid UTF-8 as \xNN (so messages are always valid UTF-8
 * and can go into protocol JSON), "..." when cut. */
static const char *excerpt_max(const parser *p, size_t a, size_t b, size_t max, char *buf, size_t cap) {
  size_t o = 0;
  if (b > p->len) b = p->len;
  for (size_t i = a; i < b;) {
    unsigned char c = (unsigned char)p->s[i];
    size_t k = c >= 0x80 ? utf8_len((const unsigned char *)p->s + i, b - i) : 1;
    size_t need = (c < 0x20 || c == 0x7f || k == 0) ? 4 : k;
    if (o + need + 4 > cap || i - a >= max) {
      if (o + 4 <= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
      }
      break;
    }
    if (need == 4 && (k == 0 || c < 0x20 || c == 0x7f)) {
      o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
      i++;
    } else {
      memcpy(buf + o, p->s + i, k);
      o += k;
      i += k;
    }
  }
  buf[o] = 0;
  return buf;
}

static const char *excerpt(const parser *p, size_t a, size_t b, char *buf, size_t cap) {
  return excerpt_max(p, a, b, QUOTE_MAX, buf, cap);
}

/* The key of a member for messages: its text without the quotes (bare keys have none). */
static const char *key_excerpt(const parser *p, const ls_json_member *m, char *buf, size_t cap) {
  size_t a = m->key_span.start, b = m->key_span.end;
  if (b > a && (p->s[a] == '"' || p->s[a] == '\'')) {
    a++;
    if (b > a && p->s[b - 1] == p->s[m->key_span.start]) b--;
  }
  return excerpt_max(p, a, b, KEY_QUOTE_MAX, buf, cap);
}

/* ---- lexical helpers --------------------------------------------------------------------- */

static int at_end(const parser *p) { return p->pos >= p->len; }
static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int is_word(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '$';
}

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 when it is not one (overlong
 * forms, surrogates and code points past U+10FFFF are rejected, as RFC 3629 says). */
static size_t utf8_len(const unsigned char *s, size_t n) {
  if (n == 0) return 0;
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t k;
  unsigned lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) k = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    k = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    k = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else return 0;
  if (n < k) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < k; i++)
    if (s[i] < 0x80 || s[i] > 0xbf) return 0;
  return k;
}

/* Skips whitespace; comments and a byte-order mark are skipped too but reported, since
 * config.json is read by Python's json module, which accepts neither. */
static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      p->pos++;
    } else if (c == '/' && p->pos + 1 < p->len && p->s[p->pos + 1] == '/') {
      size_t a = p->pos;
      while (p->pos < p->len && p->s[p->pos] != '\n' && p->s[p->pos] != '\r') p->pos++;
      err_fix(p, a, p->pos, "", a, p->pos, "comments are not allowed in JSON");
    } else if (c == '/' && p->pos + 1 < p->len && p->s[p->pos + 1] == '*') {
      size_t a = p->pos;
      p->pos += 2;
      int closed = 0;
      while (p->pos + 1 < p->len) {
        if (p->s[p->pos] == '*' && p->s[p->pos + 1] == '/') { p->pos += 2; closed = 1; break; }
        p->pos++;
      }
      if (!closed) {
        p->pos = p->len;
        err(p, a, a + 2, "unterminated comment (comments are not allowed in JSON)");
      } else {
        err_fix(p, a, p->pos, "", a, p->pos, "comments are not allowed in JSON");
      }
    } else if ((unsigned char)c == 0xef && p->pos + 2 < p->len &&
               (unsigned char)p->s[p->pos + 1] == 0xbb && (unsigned char)p->s[p->pos + 2] == 0xbf) {
      err_fix(p, p->pos, p->pos + 3, "", p->pos, p->pos + 3,
              "byte-order mark (U+FEFF) is not allowed in JSON text");
      p->pos += 3;
    } else {
      return;
    }
  }
}

/* ---- nodes ------------------------------------------------------------------------------- */

static ls_json *node_new(parser *p, ls_json_kind kind, size_t start, size_t end) {
  ls_json *n = ls_arena_calloc(p->arena, 1, sizeof *n);
  if (!n) { p->oom = 1; return NULL; }
  n->kind = kind;
  n->span.start = start;
  n->span.end = end;
  return n;
}

/* Makes room for one more element in a growable array (*arr holds n of cap). */
static int grow(parser *p, void *arr, size_t n, size_t *cap, size_t elem) {
  if (n < *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 64;
  void *na = ls_reallocarray(*(void **)arr, nc, elem);
  if (!na) { p->oom = 1; return -1; }
  *(void **)arr = na;
  *cap = nc;
  return 0;
}

static int push_item(parser *p, ls_json *v) {
  if (grow(p, &p->items, p->n_items, &p->cap_items, sizeof *p->items)) return -1;
  p->items[p->n_items++] = v;
  return 0;
}

static int push_member(parser *p, const ls_json_member *m) {
  if (grow(p, &p->mems, p->n_mems, &p->cap_mems, sizeof *p->mems)) return -1;
  p->mems[p->n_mems++] = *m;
  return 0;
}

/* ---- strings ----------------------------------------------------------------------------- */

static size_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

static int hex4(const parser *p, size_t at, uint32_t *out) {
  if (at + 4 > p->len) return -1;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int c = (unsigned char)p->s[at + (size_t)i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + (uint32_t)d;
  }
  *out = v;
  return 0;
}

/* Reads the string starting at the quote at p->pos (either '"' or, reported, '\'').
 * *closed tells whether the closing quote was found; when not, the string ends before the
 * end of its line. Decoded bytes go to the arena; never fails except on memory. */
static int parse_string(parser *p, const char **out, size_t *out_len, int *closed) {
  size_t start = p->pos;
  char q = p->s[p->pos];
  if (q == '\'')
    err(p, start, start + 1, "strings must use double quotes (\") in JSON");
  /* Find the raw extent first so the decode buffer can be sized: each input byte yields at
   * most 3 output bytes (a lone invalid byte becomes U+FFFD). */
  size_t i = start + 1;
  *closed = 0;
  while (i < p->len) {
    char c = p->s[i];
    if (c == q) { *closed = 1; break; }
    if (c == '\n' || c == '\r') break;
    if (c == '\\' && i + 1 < p->len && p->s[i + 1] != '\n' && p->s[i + 1] != '\r') i++;
    i++;
  }
  size_t raw_end = i; /* exclusive end of the content */
  size_t raw = raw_end - (start + 1);
  if (raw > (SIZE_MAX - 1) / 3) { p->oom = 1; return -1; }
  char *buf = ls_arena_alloc(p->arena, raw * 3 + 1);
  if (!buf) { p->oom = 1; return -1; }
  size_t o = 0;
  i = start + 1;
  while (i < raw_end) {
    unsigned char c = (unsigned char)p->s[i];
    if (c == '\\') {
      if (i + 1 >= raw_end) {
        err(p, i, i + 1, "unfinished escape sequence at the end of the string");
        i++;
        continue;
      }
      char e = p->s[i + 1];
      const char *simple = strchr("\"\\/bfnrt", e);
      if (e && simple) {
        static const char map[] = "\"\\/\b\f\n\r\t";
        buf[o++] = map[simple - "\"\\/bfnrt"];
        i += 2;
      } else if (e == 'u') {
        uint32_t cp;
        if (hex4(p, i + 2, &cp) < 0 || i + 6 > raw_end) {
          err(p, i, i + 2 < raw_end ? i + 2 : raw_end,
              "invalid \\u escape: expected 4 hexadecimal digits");
          o += put_utf8(buf + o, 0xfffd);
          i += 2;
          continue;
        }
        size_t esc = i;
        i += 6;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t lo;
          if (i + 6 <= raw_end && p->s[i] == '\\' && p->s[i + 1] == 'u' &&
              hex4(p, i + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
          } else {
            err(p, esc, esc + 6, "lone high surrogate \\u%04X (expected a \\uDC00-\\uDFFF after "
                "it); read as U+FFFD", (unsigned)cp);
            err_kind(p, LS_JSON_ERR_ENCODING);
            cp = 0xfffd;
          }
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          err(p, esc, esc + 6, "lone low surrogate \\u%04X; read as U+FFFD", (unsigned)cp);
          err_kind(p, LS_JSON_ERR_ENCODING);
          cp = 0xfffd;
        }
        o += put_utf8(buf + o, cp);
      } else {
        size_t k = utf8_len((const unsigned char *)p->s + i + 1, raw_end - (i + 1));
        if (k == 0) k = 1;
        char tmp[64];
        err(p, i, i + 1 + k, "invalid escape '\\%s' in string (valid: \\\" \\\\ \\/ \\b \\f \\n "
            "\\r \\t \\uXXXX)", excerpt(p, i + 1, i + 1 + k, tmp, sizeof tmp));
        memcpy(buf + o, p->s + i + 1, k); /* keep the character, drop the backslash */
        o += k;
        i += 1 + k;
      }
    } else if (c < 0x20) {
      err(p, i, i + 1, "control character U+%04X must be escaped in a string", c);
      buf[o++] = (char)c;
      i++;
    } else if (c < 0x80) {
      buf[o++] = (char)c;
      i++;
    } else {
      size_t k = utf8_len((const unsigned char *)p->s + i, raw_end - i);
      if (k == 0) {
        err(p, i, i + 1, "invalid UTF-8 byte 0x%02X in string; read as U+FFFD", c);
        err_kind(p, LS_JSON_ERR_ENCODING);
        o += put_utf8(buf + o, 0xfffd);
        i++;
      } else {
        memcpy(buf + o, p->s + i, k);
        o += k;
        i += k;
      }
    }
  }
  buf[o] = 0;
  if (*closed) {
    p->pos = raw_end + 1;
  } else {
    p->pos = raw_end;
    if (raw_end >= p->len)
      err_fix(p, start, raw_end, q == '\'' ? "'" : "\"", raw_end, raw_end,
              "unterminated string: the document ends before the closing quote");
    else
      err_fix(p, start, raw_end, q == '\'' ? "'" : "\"", raw_end, raw_end,
              "unterminated string: missing closing quote before the end of the line");
  }
  p->str_unclosed = !*closed;
  *out = buf;
  *out_len = o;
  return 0;
}

/* ---- numbers and words ------------------------------------------------------------------- */

/* Reads a number token: the longest run of characters that can belong to a number (plus any
 * letters glued to it, so `12abc` is one bad token rather than a number and a word). Checks
 * it against the strict JSON grammar; tokens that only break the grammar in a harmless way
 * (`01`, `.5`, `+1`, `1.`) still get their value so hovers keep working. */
static ls_json *parse_number(parser *p) {
  size_t a = p->pos, i = a;
  while (i < p->len) {
    char c = p->s[i];
    if ((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || is_word(c)) i++;
    else break;
  }
  p->pos = i;
  /* Strict grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  const char *s = p->s;
  size_t k = a;
  int ok = 1, is_int = 1, neg = 0;
  if (k < i && s[k] == '-') { neg = 1; k++; }
  size_t int_start = k;
  if (k < i && s[k] == '0') k++;
  else if (k < i && s[k] >= '1' && s[k] <= '9') while (k < i && s[k] >= '0' && s[k] <= '9') k++;
  else ok = 0;
  size_t int_end = k;
  if (ok && k < i && s[k] == '.') {
    is_int = 0;
    k++;
    if (!(k < i && s[k] >= '0' && s[k] <= '9')) ok = 0;
    while (k < i && s[k] >= '0' && s[k] <= '9') k++;
  }
  if (ok && k < i && (s[k] == 'e' || s[k] == 'E')) {
    is_int = 0;
    k++;
    if (k < i && (s[k] == '+' || s[k] == '-')) k++;
    if (!(k < i && s[k] >= '0' && s[k] <= '9')) ok = 0;
    while (k < i && s[k] >= '0' && s[k] <= '9') k++;
  }
  if (k != i) ok = 0;

  char tmp[96], shown[64];
  size_t n = i - a;
  if (n >= sizeof tmp) n = sizeof tmp - 1;
  memcpy(tmp, s + a, n);
  tmp[n] = 0;
  char *endp = NULL;
  double v = strtod(tmp, &endp);
  int lenient = endp && endp != tmp && *endp == 0 && (i - a) < sizeof tmp;
  if (!ok) {
    excerpt(p, a, i, shown, sizeof shown);
    if (!lenient) {
      err(p, a, i, "invalid number '%s'", shown);
      return node_new(p, LS_JSON_INVALID, a, i);
    }
    if (int_start + 1 < i && s[int_start] == '0' && s[int_start + 1] >= '0' &&
        s[int_start + 1] <= '9')
      err(p, a, i, "invalid number '%s': leading zeros are not allowed in JSON", shown);
    else
      err(p, a, i, "invalid number '%s': JSON numbers are -?digits[.digits][e[+-]digits]", shown);
    /* The lenient reading is only trusted for its value, never as an exact integer. */
    is_int = 0;
  }
  ls_json *nd = node_new(p, LS_JSON_NUMBER, a, i);
  if (!nd) return NULL;
  nd->u.num.is_integer = ok && is_int;
  if (ok && is_int) {
    /* Exact integer value: accumulate the magnitude with overflow checks. */
    uint64_t mag = 0;
    int over = 0;
    for (size_t j = int_start; j < int_end; j++) {
      unsigned d = (unsigned)(s[j] - '0');
      if (mag > (UINT64_MAX - d) / 10) { over = 1; break; }
      mag = mag * 10 + d;
    }
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (!over && mag <= lim) {
      nd->u.num.fits_int64 = 1;
      nd->u.num.int_value = neg ? (mag == lim ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    }
  }
  if (ok && (i - a) >= sizeof tmp) {
    /* Longer than the buffer: only absurd digit strings get here. strtod on a copy. */
    char *big = ls_malloc(i - a + 1);
    if (!big) { p->oom = 1; return nd; }
    memcpy(big, s + a, i - a);
    big[i - a] = 0;
    v = strtod(big, NULL);
    ls_free(big);
  }
  nd->u.num.value = v;
  if (nd->u.num.fits_int64 && nd->u.num.int_value == 0 && neg) nd->u.num.value = -0.0;
  return nd;
}

/* A bare word where a value should be: the JSON literals, Python's spellings of them
 * (common in configs written by hand from Python reprs), NaN/Infinity, or garbage. */
static ls_json *parse_word(parser *p) {
  size_t a = p->pos, i = a;
  while (i < p->len && (is_word((unsigned char)p->s[i]) || p->s[i] == '-' || p->s[i] == '.')) i++;
  if (i == a) i = a + 1;
  p->pos = i;
  size_t n = i - a;
  const char *w = p->s + a;
#define WORD_IS(lit) (n == sizeof(lit) - 1 && memcmp(w, lit, n) == 0)
  if (WORD_IS("true") || WORD_IS("false")) {
    ls_json *nd = node_new(p, LS_JSON_BOOL, a, i);
    if (nd) nd->u.boolean = w[0] == 't';
    return nd;
  }
  if (WORD_IS("null")) return node_new(p, LS_JSON_NULL, a, i);
  if (WORD_IS("True") || WORD_IS("False")) {
    err_fix(p, a, i, w[0] == 'T' ? "true" : "false", a, i,
            "'%s' is Python; JSON spells it '%s'", w[0] == 'T' ? "True" : "False",
            w[0] == 'T' ? "true" : "false");
    ls_json *nd = node_new(p, LS_JSON_BOOL, a, i);
    if (nd) nd->u.boolean = w[0] == 'T';
    return nd;
  }
  if (WORD_IS("None")) {
    err_fix(p, a, i, "null", a, i, "'None' is Python; JSON spells it 'null'");
    return node_new(p, LS_JSON_NULL, a, i);
  }
  if (WORD_IS("NaN") || WORD_IS("Infinity") || WORD_IS("-Infinity")) {
    /* Python's spellings, which its json module reads and writes: the value is kept, and the
     * error is of its own kind so that readers of Python's JSON can let it pass */
    err(p, a, i, "'%s' is not strict JSON (Python's json module reads it as a float, as "
        "transformers does; strict JSON readers reject it)", w[0] == 'N' ? "NaN" : w[0] == 'I' ? "Infinity" : "-Infinity");
    err_kind(p, LS_JSON_ERR_PYTHON_NUMBER);
    ls_json *nd = node_new(p, LS_JSON_NUMBER, a, i);
    if (nd) nd->u.num.value = w[0] == 'N' ? NAN : w[0] == 'I' ? INFINITY : -INFINITY;
    return nd;
  }
  if (WORD_IS("nan") || WORD_IS("inf") || WORD_IS("-inf")) {
    char tmp[32];
    err(p, a, i, "'%s' is not valid JSON (strict JSON has no NaN or infinity; use null or a "
        "finite number)", excerpt_max(p, a, i, KEY_QUOTE_MAX, tmp, sizeof tmp)); /* one of 6 words */
    return node_new(p, LS_JSON_INVALID, a, i);
  }
#undef WORD_IS
  char tmp[64];
  excerpt(p, a, i, tmp, sizeof tmp);
  if (n >= 2 && (memcmp(w, "tru", n < 4 ? n : 4) == 0 || memcmp(w, "fals", n < 5 ? n : 5) == 0 ||
                 memcmp(w, "nul", n < 4 ? n : 4) == 0))
    err(p, a, i, "invalid literal '%s' (expected true, false or null)", tmp);
  else
    err(p, a, i, "unexpected '%s': expected a value (string, number, object, array, true, "
        "false or null)", tmp);
  return node_new(p, LS_JSON_INVALID, a, i);
}

/* ---- containers -------------------------------------------------------------------------- */

/* Skips a container nested past the depth limit without recursing: counts brackets (with
 * strings skipped) until the one that closes it, or the end of the text. */
static void skip_deep(parser *p) {
  size_t level = 0;
  while (p->pos < p->len) {
    char c = p->s[p->pos++];
    if (c == '[' || c == '{') level++;
    else if (c == ']' || c == '}') {
      if (--level == 0) return;
    } else if (c == '"') {
      while (p->pos < p->len && p->s[p->pos] != '"' && p->s[p->pos] != '\n') {
        if (p->s[p->pos] == '\\' && p->pos + 1 < p->len) p->pos++; /* a final '\\' must not step past the end */
        p->pos++;
      }
      if (p->pos < p->len) p->pos++;
    }
  }
}

/* Decides what a closer of the wrong kind (c, at p->pos) means. It closes the innermost
 * container and leaves c to an enclosing one (the user forgot the right closer) when some
 * enclosing container is of c's kind and c is followed by the end of the text or another
 * closer; otherwise it is a typo for the right closer (`[1, 2}, "b": 3`) and is consumed
 * as one. Returns 1 for "forgot" and 0 for "typo". */
static int wrong_closer_forgot(const parser *p, char c) {
  char want = c == ']' ? '[' : '{';
  int outer = 0;
  for (int d = p->depth - 2; d >= 0 && !outer; d--)
    if (p->open[d] == want) outer = 1;
  if (!outer) return 0;
  size_t i = p->pos + 1;
  while (i < p->len && (p->s[i] == ' ' || p->s[i] == '\t' || p->s[i] == '\n' || p->s[i] == '\r'))
    i++;
  return i >= p->len || p->s[i] == ']' || p->s[i] == '}';
}

/* Whether c can start a value or a key (so that, after a member or item, it means a
 * missing comma rather than junk). */
static int starts_value(int c) {
  return c == '"' || c == '\'' || c == '{' || c == '[' || c == '-' || c == '+' || c == '.' ||
         (c >= '0' && c <= '9') || is_word(c);
}

/* Consumes a run of bytes that can start nothing (stray punctuation, invalid UTF-8) and
 * reports it once, with `what` saying what was expected instead. */
static void skip_junk(parser *p, const char *what) {
  size_t a = p->pos;
  while (p->pos < p->len) {
    int c = (unsigned char)p->s[p->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' || c == '{' ||
        c == '}' || c == '[' || c == ']' || starts_value(c))
      break;
    size_t k = c >= 0x80 ? utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos) : 1;
    p->pos += k ? k : 1;
  }
  if (p->pos == a) p->pos++;
  char tmp[64];
  excerpt(p, a, p->pos, tmp, sizeof tmp);
  int bad_utf8 = 0;
  for (size_t i = a; i < p->pos;) {
    size_t k = utf8_len((const unsigned char *)p->s + i, p->pos - i);
    if (!k) { bad_utf8 = 1; break; }
    i += k;
  }
  if (bad_utf8) {
    err(p, a, p->pos, "invalid UTF-8 in the text (%s expected here)", what);
    err_kind(p, LS_JSON_ERR_ENCODING);
  }
  else
    err(p, a, p->pos, "unexpected '%s': expected %s", tmp, what);
}

static ls_json *parse_array(parser *p) {
  size_t a = p->pos++;
  size_t base = p->n_items;
  size_t last_end = a + 1;
  int need_sep = 0;
  size_t close_end = 0;
  for (;;) {
    skip_ws(p);
    int c = peek(p);
    if (c < 0) {
      err_fix(p, a, a + 1, "]", p->len, p->len, "unterminated array: '[' is never closed");
      break;
    }
    if (c == ']') { close_end = ++p->pos; break; }
    if (c == '}') {
      if (wrong_closer_forgot(p, '}')) {
        err_fix(p, p->pos, p->pos + 1, "]", last_end, last_end,
                "expected ']' to close the array opened at byte %zu, found '}'", a);
        break;
      }
      err_fix(p, p->pos, p->pos + 1, "]", p->pos, p->pos + 1,
              "'}' closes an array (opened at byte %zu): expected ']'", a);
      close_end = ++p->pos;
      break;
    }
    if (c == ',') {
      size_t cp = p->pos++;
      if (need_sep == 0) {
        err_fix(p, cp, cp + 1, "", cp, cp + 1, "expected a value before ','");
        continue;
      }
      need_sep = 0;
      skip_ws(p);
      if (peek(p) == ']') {
        err_fix(p, cp, cp + 1, "", cp, cp + 1, "trailing comma before ']'");
        close_end = ++p->pos;
        break;
      }
      continue;
    }
    if (c == ':') {
      err_fix(p, p->pos, p->pos + 1, "", p->pos, p->pos + 1, "unexpected ':' in an array");
      p->pos++;
      continue;
    }
    if (!starts_value(c)) {
      skip_junk(p, need_sep == 1 ? "',' or ']'" : "a value");
      continue;
    }
    if (need_sep == 1)
      err_fix(p, p->pos, p->pos + 1, ",", last_end, last_end,
              "expected ',' between array items");
    ls_json *v = parse_value(p);
    if (!v || push_item(p, v) < 0) { p->oom = 1; return NULL; }
    last_end = v->span.end;
    /* After an unterminated string the comma may or may not have been typed: accept both
     * (need_sep 2) rather than pile a second error on the first. */
    need_sep = v->kind == LS_JSON_STRING && p->str_unclosed ? 2 : 1;
  }
  ls_json *nd = node_new(p, LS_JSON_ARRAY, a, close_end ? close_end : last_end);
  if (!nd) return NULL;
  size_t n = p->n_items - base;
  if (n) {
    nd->u.arr.items = ls_arena_alloc(p->arena, n * sizeof *nd->u.arr.items);
    if (!nd->u.arr.items) { p->oom = 1; return NULL; }
    memcpy(nd->u.arr.items, p->items + base, n * sizeof *nd->u.arr.items);
  }
  nd->u.arr.n = n;
  p->n_items = base;
  return nd;
}

static int key_cmp(const void *x, const void *y) {
  const ls_json_member *a = *(const ls_json_member *const *)x;
  const ls_json_member *b = *(const ls_json_member *const *)y;
  size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
  int c = memcmp(a->key, b->key, n);
  if (c) return c;
  if (a->key_len != b->key_len) return a->key_len < b->key_len ? -1 : 1;
  return a->key_span.start < b->key_span.start ? -1 : a->key_span.start > b->key_span.start;
}

/* Reports every member whose key repeats an earlier one. Sorting pointers keeps large
 * objects (id2label maps with 100k entries) at n log n. */
static void check_duplicates(parser *p, ls_json_member *m, size_t n) {
  if (n < 2) return;
  const ls_json_member **ord = ls_malloc(n * sizeof *ord);
  if (!ord) { p->oom = 1; return; }
  for (size_t i = 0; i < n; i++) ord[i] = &m[i];
  qsort(ord, n, sizeof *ord, key_cmp);
  for (size_t i = 1; i < n; i++) {
    const ls_json_member *first = ord[i - 1];
    size_t j = i;
    while (j < n && ord[j]->key_len == first->key_len &&
           memcmp(ord[j]->key, first->key, first->key_len) == 0) {
      char tmp[64];
      err(p, ord[j]->key_span.start, ord[j]->key_span.end,
          "duplicate key \"%s\" (first at byte %zu); the last one wins",
          key_excerpt(p, ord[j], tmp, sizeof tmp),
          first->key_span.start);
      err_kind(p, LS_JSON_ERR_DUPLICATE_KEY);
      j++;
    }
    i = j;
  }
  ls_free(ord);
}

/* Reads an object key at p->pos into m. Returns 1 when a key was read, 0 when the text
 * there is not a key (an error was reported and at least one byte consumed). *broken is set
 * when the key string was unterminated. */
static int parse_key(parser *p, ls_json_member *m, int *broken) {
  int c = peek(p);
  size_t a = p->pos;
  *broken = 0;
  if (c == '"' || c == '\'') {
    int closed;
    if (parse_string(p, &m->key, &m->key_len, &closed) < 0) return -1;
    m->key_span.start = a;
    m->key_span.end = p->pos;
    *broken = !closed;
    return 1;
  }
  if (is_word(c) && !(c >= '0' && c <= '9')) {
    size_t i = a;
    while (i < p->len && (is_word((unsigned char)p->s[i]) || p->s[i] == '-' || p->s[i] == '.')) i++;
    m->key = ls_arena_strndup(p->arena, p->s + a, i - a);
    if (!m->key) { p->oom = 1; return -1; }
    m->key_len = i - a;
    m->key_span.start = a;
    m->key_span.end = i;
    char fix[80], tmp[64];
    excerpt_max(p, a, i, KEY_QUOTE_MAX, tmp, sizeof tmp);
    snprintf(fix, sizeof fix, "\"%s\"", tmp);
    err_fix(p, a, i, i - a <= KEY_QUOTE_MAX ? fix : NULL, a, i,
            "object keys must be double-quoted strings: \"%s\"", tmp);
    p->pos = i;
    return 1;
  }
  /* Not a key: a value in key position (`{1: 2}`, `{[...]}`) or junk. Read a value so
   * nested brackets stay balanced, then drop it. */
  if (!starts_value(c)) {
    skip_junk(p, "a double-quoted key");
    return 0;
  }
  err(p, a, a + 1, "expected a double-quoted key, found a value");
  ls_json *junk = parse_value(p);
  if (!junk && p->oom) return -1;
  if (p->pos == a) p->pos++;
  return 0;
}

static ls_json *parse_object(parser *p) {
  size_t a = p->pos++;
  size_t base = p->n_mems;
  size_t last_end = a + 1;
  int need_sep = 0;
  size_t close_end = 0;
  for (;;) {
    skip_ws(p);
    int c = peek(p);
    if (c < 0) {
      err_fix(p, a, a + 1, "}", p->len, p->len, "unterminated object: '{' is never closed");
      break;
    }
    if (c == '}') { close_end = ++p->pos; break; }
    if (c == ']') {
      if (wrong_closer_forgot(p, ']')) {
        err_fix(p, p->pos, p->pos + 1, "}", last_end, last_end,
                "expected '}' to close the object opened at byte %zu, found ']'", a);
        break;
      }
      err_fix(p, p->pos, p->pos + 1, "}", p->pos, p->pos + 1,
              "']' closes an object (opened at byte %zu): expected '}'", a);
      close_end = ++p->pos;
      break;
    }
    if (c == ',') {
      size_t cp = p->pos++;
      if (need_sep == 0) {
        err_fix(p, cp, cp + 1, "", cp, cp + 1, "expected a member before ','");
        continue;
      }
      need_sep = 0;
      skip_ws(p);
      if (peek(p) == '}') {
        err_fix(p, cp, cp + 1, "", cp, cp + 1, "trailing comma before '}'");
        close_end = ++p->pos;
        break;
      }
      continue;
    }
    if (need_sep == 1 && !starts_value(c) && c != ':') {
      skip_junk(p, "',' or '}'");
      continue;
    }
    if (need_sep == 1)
      err_fix(p, p->pos, p->pos + 1, ",", last_end, last_end,
              "expected ',' between object members");
    ls_json_member m;
    memset(&m, 0, sizeof m);
    int broken;
    int r = parse_key(p, &m, &broken);
    if (r < 0) return NULL;
    if (r == 0) { need_sep = 0; continue; }
    last_end = m.key_span.end;
    if (broken) {
      /* `"hidden_si` then a newline: the rest of the member is lost; take the next line as
       * the next member without asking for a comma. */
      m.value = node_new(p, LS_JSON_INVALID, m.key_span.end, m.key_span.end);
      if (!m.value || push_member(p, &m) < 0) return NULL;
      need_sep = 2;
      continue;
    }
    skip_ws(p);
    c = peek(p);
    char kt[64];
    key_excerpt(p, &m, kt, sizeof kt);
    if (c == ':') {
      p->pos++;
      skip_ws(p);
      c = peek(p);
      if (c < 0 || c == ',' || c == '}' || c == ']') {
        err(p, m.key_span.start, p->pos, "missing value for key \"%s\"", kt);
        m.value = node_new(p, LS_JSON_INVALID, p->pos, p->pos);
      } else {
        m.value = parse_value(p);
      }
    } else if (c < 0 || c == ',' || c == '}' || c == ']') {
      err_fix(p, m.key_span.start, m.key_span.end, ": null", m.key_span.end, m.key_span.end,
              "expected ':' and a value after key \"%s\"", kt);
      m.value = node_new(p, LS_JSON_INVALID, m.key_span.end, m.key_span.end);
    } else {
      err_fix(p, m.key_span.start, m.key_span.end, ":", m.key_span.end, m.key_span.end,
              "expected ':' after key \"%s\"", kt);
      m.value = parse_value(p);
    }
    if (!m.value || push_member(p, &m) < 0) { p->oom = 1; return NULL; }
    last_end = m.value->span.end > last_end ? m.value->span.end : last_end;
    /* After an unterminated string value the comma may or may not have been typed. */
    need_sep = m.value->kind == LS_JSON_STRING && p->str_unclosed ? 2 : 1;
  }
  ls_json *nd = node_new(p, LS_JSON_OBJECT, a, close_end ? close_end : last_end);
  if (!nd) return NULL;
  size_t n = p->n_mems - base;
  if (n) {
    nd->u.obj.members = ls_arena_alloc(p->arena, n * sizeof *nd->u.obj.members);
    if (!nd->u.obj.members) { p->oom = 1; return NULL; }
    memcpy(nd->u.obj.members, p->mems + base, n * sizeof *nd->u.obj.members);
  }
  nd->u.obj.n = n;
  p->n_mems = base;
  check_duplicates(p, nd->u.obj.members, n);
  return nd;
}

/* ---- values ------------------------------------------------------------------------------ */

static ls_json *parse_value(parser *p) {
  skip_ws(p);
  int c = peek(p);
  size_t a = p->pos;
  if (c < 0) {
    err(p, a, a, "expected a value, found the end of the document");
    return node_new(p, LS_JSON_INVALID, a, a);
  }
  if (c == '{' || c == '[') {
    if (p->depth >= LS_JSON_MAX_DEPTH) {
      skip_deep(p);
      err(p, a, a + 1, "nesting deeper than %d levels; this value is skipped",
          LS_JSON_MAX_DEPTH);
      err_kind(p, LS_JSON_ERR_DEPTH);
      return node_new(p, LS_JSON_INVALID, a, p->pos);
    }
    p->open[p->depth++] = (char)c;
    ls_json *v = c == '{' ? parse_object(p) : parse_array(p);
    p->depth--;
    return v;
  }
  if (c == '"' || c == '\'') {
    const char *s;
    size_t n;
    int closed;
    if (parse_string(p, &s, &n, &closed) < 0) return NULL;
    ls_json *v = node_new(p, LS_JSON_STRING, a, p->pos);
    if (v) {
      v->u.str.s = s;
      v->u.str.len = n;
    }
    return v;
  }
  if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
    if (c == '-' && p->pos + 1 < p->len && (p->s[p->pos + 1] == 'I' || p->s[p->pos + 1] == 'i'))
      return parse_word(p);
    return parse_number(p);
  }
  if (is_word(c)) return parse_word(p);
  if (c == ',' || c == ':' || c == '}' || c == ']') {
    char tmp[8];
    err(p, a, a + 1, "expected a value, found '%s'", excerpt(p, a, a + 1, tmp, sizeof tmp));
    return node_new(p, LS_JSON_INVALID, a, a);
  }
  /* Stray characters (or invalid UTF-8) where a value should be. */
  skip_junk(p, "a value");
  return node_new(p, LS_JSON_INVALID, a, p->pos);
}

/* ---- entry points ------------------------------------------------------------------------ */

static int err_order(const void *x, const void *y) {
  const perr *a = x, *b = y;
  if (a->e.span.start != b->e.span.start) return a->e.span.start < b->e.span.start ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int ls_json_parse(const char *text, size_t len, ls_json_doc **out) {
  *out = NULL;
  ls_json_doc *doc = ls_calloc(1, sizeof *doc);
  if (!doc) return LS_ENOMEM;
  ls_arena_init(&doc->arena, 0);
  doc->text = text;
  doc->len = len;
  parser p;
  memset(&p, 0, sizeof p);
  p.s = text ? text : "";
  p.len = text ? len : 0;
  p.arena = &doc->arena;
  skip_ws(&p);
  if (at_end(&p)) {
    err(&p, 0, p.len, "the document is empty: expected a JSON value");
  } else {
    doc->root = parse_value(&p);
    skip_ws(&p);
    /* A root that consumed nothing (the text starts with '}' or ',') already has its error. */
    if (!p.oom && !at_end(&p) && doc->root && doc->root->span.end > doc->root->span.start) {
      /* Content after the value (often a stray '}'): one error covering all of it. */
      size_t a = p.pos, k = utf8_len((const unsigned char *)p.s + a, p.len - a);
      char tmp[64];
      err(&p, a, p.len, "unexpected '%s' after the end of the JSON value",
          excerpt(&p, a, a + (k ? k : 1), tmp, sizeof tmp));
    }
  }
  if (!p.oom && p.n_errs) {
    qsort(p.errs, p.n_errs, sizeof *p.errs, err_order);
    doc->errors = ls_arena_alloc(&doc->arena, p.n_errs * sizeof *doc->errors);
    if (!doc->errors) p.oom = 1;
    else
      for (size_t i = 0; i < p.n_errs; i++) doc->errors[i] = p.errs[i].e;
    doc->n_errors = p.n_errs;
  }
  ls_free(p.errs);
  ls_free(p.items);
  ls_free(p.mems);
  if (p.oom) {
    ls_json_doc_free(doc);
    return LS_ENOMEM;
  }
  *out = doc;
  return LS_OK;
}

void ls_json_doc_free(ls_json_doc *doc) {
  if (!doc) return;
  ls_arena_deinit(&doc->arena);
  ls_free(doc);
}

