/* test_json.c: unit tests of the position-aware, error-tolerant JSON reader (core/base/json.h).
 * Each case states the bytes, the tree and spans it must yield, and the errors (by span and
 * message fragment). Spans are checked against offsets computed from the input text with
 * strstr, not against numbers copied from the reader's output. The differential test
 * against jansson and the mutation loop are in test_json_diff.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/json.h"

static ls_json_doc *parse(const char *t) {
  ls_json_doc *d = NULL;
  assert_int_equal(ls_json_parse(t, strlen(t), &d), LS_OK);
  assert_non_null(d);
  return d;
}

/* Offset of the n-th (0-based) occurrence of needle in hay. */
static size_t off_of(const char *hay, const char *needle, int nth) {
  const char *p = hay;
  for (;;) {
    const char *q = strstr(p, needle);
    assert_non_null(q);
    if (nth-- == 0) return (size_t)(q - hay);
    p = q + 1;
  }
}

/* True when some error's message contains frag (and, when start != SIZE_MAX, starts at
 * start). */
static int has_error(const ls_json_doc *d, const char *frag, size_t start) {
  for (size_t i = 0; i < d->n_errors; i++)
    if (strstr(d->errors[i].msg, frag) && (start == SIZE_MAX || d->errors[i].span.start == start))
      return 1;
  return 0;
}

static void dump_errors(const ls_json_doc *d) {
  for (size_t i = 0; i < d->n_errors; i++)
    print_message("  error [%zu,%zu) %s\n", d->errors[i].span.start, d->errors[i].span.end,
                  d->errors[i].msg);
}

static void expect_error(const ls_json_doc *d, const char *frag, size_t start) {
  if (!has_error(d, frag, start)) {
    print_message("missing error '%s' at %zu; got:\n", frag, start);
    dump_errors(d);
    fail();
  }
}

/* ---- valid documents ---------------------------------------------------------------------- */

static void test_spans(void **state) {
  (void)state;
  const char *t = "{\n  \"hidden_size\": 4096,\n  \"arch\": [\"A\", \"B\"],\n  \"o\": {\"x\": null},"
                  " \"t\": true, \"f\": false\n}\n";
  ls_json_doc *d = parse(t);
  assert_int_equal(d->n_errors, 0);
  assert_int_equal(d->root->kind, LS_JSON_OBJECT);
  assert_int_equal(d->root->span.start, 0);
  assert_int_equal(d->root->span.end, strlen(t) - 1); /* the final newline is outside */
  assert_int_equal(d->root->u.obj.n, 5);
  const ls_json_member *m = ls_json_get_member(d->root, "hidden_size");
  assert_non_null(m);
  assert_int_equal(m->key_span.start, off_of(t, "\"hidden_size\"", 0));
  assert_int_equal(m->key_span.end, off_of(t, "\"hidden_size\"", 0) + 13);
  assert_int_equal(m->key_len, 11);
  assert_int_equal(m->value->span.start, off_of(t, "4096", 0));
  assert_int_equal(m->value->span.end, off_of(t, "4096", 0) + 4);
  const ls_json *arch = ls_json_get(d->root, "arch");
  assert_int_equal(arch->kind, LS_JSON_ARRAY);
  assert_int_equal(arch->u.arr.n, 2);
  assert_int_equal(arch->span.start, off_of(t, "[", 0));
  assert_int_equal(arch->span.end, off_of(t, "]", 0) + 1);
  assert_int_equal(arch->u.arr.items[1]->span.start, off_of(t, "\"B\"", 0));
  assert_string_equal(arch->u.arr.items[1]->u.str.s, "B");
  const ls_json *o = ls_json_get(d->root, "o");
  assert_int_equal(ls_json_get(o, "x")->kind, LS_JSON_NULL);
  assert_int_equal(ls_json_get(o, "x")->span.start, off_of(t, "null", 0));
  assert_int_equal(ls_json_get(d->root, "t")->u.boolean, 1);
  assert_int_equal(ls_json_get(d->root, "f")->u.boolean, 0);
  assert_null(ls_json_get(d->root, "missing"));
  assert_null(ls_json_get(arch, "A"));  /* not an object */
  assert_null(ls_json_get(NULL, "A"));
  ls_json_doc_free(d);
}

static void test_numbers(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int is_int, fits;
    int64_t iv;
    double v;
  } cases[] = {
    {"128256", 1, 1, 128256, 128256.0},
    {"0", 1, 1, 0, 0.0},
    {"-7", 1, 1, -7, -7.0},
    {"1e3", 0, 0, 0, 1000.0},         /* lexically not an integer, though integral */
    {"1E+3", 0, 0, 0, 1000.0},
    {"4096.0", 0, 0, 0, 4096.0},
    {"1e-05", 0, 0, 0, 1e-05},
    {"-1.5e-3", 0, 0, 0, -1.5e-3},
    {"9223372036854775807", 1, 1, INT64_MAX, 9223372036854775807.0},
    {"-9223372036854775808", 1, 1, INT64_MIN, -9223372036854775808.0},
    {"9223372036854775808", 1, 0, 0, 9223372036854775808.0},   /* one past: does not fit */
    {"-9223372036854775809", 1, 0, 0, -9223372036854775809.0},
    {"123456789012345678901234567890", 1, 0, 0, 1.2345678901234568e29},
    {"9007199254740993", 1, 1, 9007199254740993LL, 9007199254740992.0}, /* exact beyond 2^53 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ls_json_doc *d = parse(cases[i].text);
    if (d->n_errors) dump_errors(d);
    assert_int_equal(d->n_errors, 0);
    assert_int_equal(d->root->kind, LS_JSON_NUMBER);
    assert_int_equal(d->root->u.num.is_integer, cases[i].is_int);
    assert_int_equal(d->root->u.num.fits_int64, cases[i].fits);
    if (cases[i].fits) assert_true(d->root->u.num.int_value == cases[i].iv);
    assert_true(d->root->u.num.value == cases[i].v);
    assert_int_equal(d->root->span.end, strlen(cases[i].text));
    ls_json_doc_free(d);
  }
  /* -0 is an integer that fits, value 0, and the double keeps its sign. */
  ls_json_doc *d = parse("-0");
  assert_int_equal(d->n_errors, 0);
  assert_true(d->root->u.num.is_integer && d->root->u.num.fits_int64);
  assert_true(d->root->u.num.int_value == 0);
  assert_true(d->root->u.num.value == 0.0 && signbit(d->root->u.num.value));
  ls_json_doc_free(d);
  /* A huge exponent is valid JSON: +inf as Python's json would read it, no error. */
  d = parse("1e999");
  assert_int_equal(d->n_errors, 0);
  assert_true(isinf(d->root->u.num.value) && !d->root->u.num.is_integer);
  ls_json_doc_free(d);
}

static void test_bad_numbers(void **state) {
  (void)state;
  static const struct { const char *text; const char *frag; int kind; double v; } cases[] = {
    {"01", "leading zeros", LS_JSON_NUMBER, 1.0},
    {".5", "invalid number", LS_JSON_NUMBER, 0.5},
    {"+1", "invalid number", LS_JSON_NUMBER, 1.0},
    {"1.", "invalid number", LS_JSON_NUMBER, 1.0},
    {"1e", "invalid number", LS_JSON_INVALID, 0},
    {"-", "invalid number", LS_JSON_INVALID, 0},
    {"12abc", "invalid number", LS_JSON_INVALID, 0},
    {"0x10", "invalid number", LS_JSON_NUMBER, 16.0}, /* strtod reads hex: value kept */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ls_json_doc *d = parse(cases[i].text);
    expect_error(d, cases[i].frag, 0);
    assert_int_equal(d->root->kind, cases[i].kind);
    /* A number that breaks the grammar is never an exact integer. */
    if (cases[i].kind == LS_JSON_NUMBER) {
      assert_false(d->root->u.num.is_integer);
      assert_true(d->root->u.num.value == cases[i].v);
    }
    assert_int_equal(d->root->span.end, strlen(cases[i].text));
    ls_json_doc_free(d);
  }
}

static void test_strings(void **state) {
  (void)state;
  const char *t = "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u0041\\u00e9\\u20AC\", "
                  "\"\\ud83d\\ude00\", \"caf\xc3\xa9 \xe4\xb8\xad\", \"nul\\u0000x\"]";
  ls_json_doc *d = parse(t);
  if (d->n_errors) dump_errors(d);
  assert_int_equal(d->n_errors, 0);
  ls_json **it = d->root->u.arr.items;
  assert_int_equal(it[0]->u.str.len, 12);
  assert_memory_equal(it[0]->u.str.s, "a\"b\\c/d\b\f\n\r\t", 12);
  assert_string_equal(it[1]->u.str.s, "A\xc3\xa9\xe2\x82\xac");
  assert_string_equal(it[2]->u.str.s, "\xf0\x9f\x98\x80"); /* U+1F600 from a surrogate pair */
  assert_string_equal(it[3]->u.str.s, "caf\xc3\xa9 \xe4\xb8\xad");
  assert_int_equal(it[4]->u.str.len, 5);
  assert_memory_equal(it[4]->u.str.s, "nul\0x", 5);
  ls_json_doc_free(d);
}

static void test_surrogates(void **state) {
  (void)state;
  /* lone high, lone low, high followed by a non-surrogate escape, reversed pair */
  const char *t = "[\"\\ud800x\", \"\\udc00\", \"\\ud800\\u0041\", \"\\ude00\\ud83d\"]";
  ls_json_doc *d = parse(t);
  ls_json **it = d->root->u.arr.items;
  assert_string_equal(it[0]->u.str.s, "\xef\xbf\xbdx");
  assert_string_equal(it[1]->u.str.s, "\xef\xbf\xbd");
  assert_string_equal(it[2]->u.str.s, "\xef\xbf\xbd" "A");
  assert_string_equal(it[3]->u.str.s, "\xef\xbf\xbd\xef\xbf\xbd");
  expect_error(d, "lone high surrogate", off_of(t, "\\ud800", 0));
  expect_error(d, "lone low surrogate", off_of(t, "\\udc00", 0));
  expect_error(d, "lone high surrogate", off_of(t, "\\ud800", 1));
  assert_int_equal(d->n_errors, 5);
  for (size_t i = 0; i < d->n_errors; i++) assert_int_equal(d->errors[i].kind, LS_JSON_ERR_ENCODING);
  ls_json_doc_free(d);
}

static void test_invalid_utf8(void **state) {
  (void)state;
  /* 0xFF and an overlong '/' (C0 AF) inside a string, an encoded surrogate (ED A0 80), and a
   * stray 0xFE between members: all reported, parsing goes on. */
  const char *t = "{\"a\": \"x\xffy\xc0\xafz\xed\xa0\x80\", \xfe \"b\": 2}";
  ls_json_doc *d = parse(t);
  expect_error(d, "invalid UTF-8 byte 0xFF", off_of(t, "\xff", 0));
  expect_error(d, "invalid UTF-8 byte 0xC0", off_of(t, "\xc0", 0));
  expect_error(d, "invalid UTF-8 byte 0xED", off_of(t, "\xed", 0));
  expect_error(d, "invalid UTF-8", off_of(t, "\xfe", 0));
  assert_string_equal(ls_json_get(d->root, "a")->u.str.s,
                      "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  assert_int_equal(ls_json_get(d->root, "b")->u.num.int_value, 2);
  ls_json_doc_free(d);
}

static void test_duplicates(void **state) {
  (void)state;
  const char *t = "{\"a\": 1, \"b\": 2, \"a\": 3, \"a\": 4}";
  ls_json_doc *d = parse(t);
  assert_int_equal(d->root->u.obj.n, 4); /* all kept, in order */
  assert_int_equal(ls_json_get(d->root, "a")->u.num.int_value, 4); /* last wins */
  assert_int_equal(d->n_errors, 2);
  expect_error(d, "duplicate key \"a\"", off_of(t, "\"a\"", 1));
  expect_error(d, "duplicate key \"a\"", off_of(t, "\"a\"", 2));
  assert_true(d->errors[0].span.start < d->errors[1].span.start);
  assert_int_equal(d->errors[0].kind, LS_JSON_ERR_DUPLICATE_KEY);
  ls_json_doc_free(d);
  /* Many distinct keys: no false duplicates (exercises the sorted path). */
  char big[200000];
  size_t o = 0;
  big[o++] = '{';
  for (int i = 0; i < 5000; i++) o += (size_t)sprintf(big + o, "%s\"k%d\": %d", i ? "," : "", i, i);
  big[o++] = '}';
  big[o] = 0;
  d = parse(big);
  assert_int_equal(d->n_errors, 0);
  assert_int_equal(d->root->u.obj.n, 5000);
  assert_int_equal(ls_json_get(d->root, "k4321")->u.num.int_value, 4321);
  ls_json_doc_free(d);
}

static char *nested(int depth, const char *inner) {
  size_t n = (size_t)depth * 2 + strlen(inner) + 1;
  char *s = malloc(n);
  assert_non_null(s);
  memset(s, '[', (size_t)depth);
  strcpy(s + depth, inner);
  memset(s + depth + strlen(inner), ']', (size_t)depth);
  s[n - 1] = 0;
  return s;
}

static void test_depth(void **state) {
  (void)state;
  char *s = nested(LS_JSON_MAX_DEPTH, "1");
  ls_json_doc *d = parse(s);
  assert_int_equal(d->n_errors, 0);
  ls_json_doc_free(d);
  free(s);
  s = nested(LS_JSON_MAX_DEPTH + 1, "1");
  d = parse(s);
  assert_int_equal(d->n_errors, 1);
  expect_error(d, "nesting deeper than 512", LS_JSON_MAX_DEPTH);
  assert_int_equal(d->errors[0].kind, LS_JSON_ERR_DEPTH);
  assert_int_equal(d->root->span.end, strlen(s));
  ls_json_doc_free(d);
  free(s);
  /* A million unclosed brackets: no stack overflow, one depth error plus one unterminated
   * error per open level that was entered. */
  size_t n = 1000000;
  s = malloc(n + 1);
  memset(s, '[', n);
  s[n] = 0;
  d = parse(s);
  expect_error(d, "nesting deeper", LS_JSON_MAX_DEPTH);
  assert_int_equal(d->n_errors, LS_JSON_MAX_DEPTH + 1);
  ls_json_doc_free(d);
  /* Deep objects after the limit, then more members: the outer member survives. */
  free(s);
  char *deep = nested(600, "{\"x\": 1}");
  size_t dl = strlen(deep);
  s = malloc(dl + 64);
  sprintf(s, "{\"a\": %s, \"b\": 7}", deep);
  d = parse(s);
  assert_int_equal(ls_json_get(d->root, "b")->u.num.int_value, 7);
  assert_int_equal(d->n_errors, 1);
  ls_json_doc_free(d);
  free(deep);
  free(s);
}

static void test_not_json(void **state) {
  (void)state;
  const char *t = "{\n  // a comment\n  \"a\": NaN, /* block */ \"b\": Infinity, \"c\": -Infinity,\n"
                  "  \"d\": True, \"e\": None, \"f\": 'single', g: 1\n}";
  ls_json_doc *d = parse(t);
  expect_error(d, "comments are not allowed", off_of(t, "//", 0));
  expect_error(d, "comments are not allowed", off_of(t, "/*", 0));
  expect_error(d, "'NaN' is not strict JSON", off_of(t, "NaN", 0));
  expect_error(d, "'Infinity' is not strict JSON", off_of(t, "Infinity", 0));
  expect_error(d, "'-Infinity' is not strict JSON", off_of(t, "-Infinity", 0));
  expect_error(d, "'True' is Python", off_of(t, "True", 0));
  expect_error(d, "'None' is Python", off_of(t, "None", 0));
  expect_error(d, "double quotes", off_of(t, "'single'", 0));
  expect_error(d, "keys must be double-quoted", off_of(t, "g:", 0));
  assert_int_equal(d->n_errors, 9);
  /* Recovered: every member is in the tree with a sensible value. */
  assert_int_equal(d->root->u.obj.n, 7);
  /* Python's NaN / Infinity / -Infinity (json.dump writes float("inf") so) are kept as
   * numbers, with errors of their own kind; the other spellings Python rejects too */
  assert_int_equal(ls_json_get(d->root, "a")->kind, LS_JSON_NUMBER);
  assert_true(isnan(ls_json_get(d->root, "a")->u.num.value));
  assert_true(isinf(ls_json_get(d->root, "b")->u.num.value) && ls_json_get(d->root, "b")->u.num.value > 0);
  assert_true(isinf(ls_json_get(d->root, "c")->u.num.value) && ls_json_get(d->root, "c")->u.num.value < 0);
  assert_false(ls_json_get(d->root, "b")->u.num.fits_int64);
  size_t n_python = 0;
  for (size_t i = 0; i < d->n_errors; i++) n_python += d->errors[i].kind == LS_JSON_ERR_PYTHON_NUMBER;
  assert_int_equal(n_python, 3);
  assert_int_equal(ls_json_get(d->root, "d")->kind, LS_JSON_BOOL);
  assert_int_equal(ls_json_get(d->root, "d")->u.boolean, 1);
  assert_int_equal(ls_json_get(d->root, "e")->kind, LS_JSON_NULL);
  assert_string_equal(ls_json_get(d->root, "f")->u.str.s, "single");
  assert_int_equal(ls_json_get(d->root, "g")->u.num.int_value, 1);
  /* Fixes for the mechanical ones. */
  for (size_t i = 0; i < d->n_errors; i++)
    if (strstr(d->errors[i].msg, "'True'")) {
      assert_string_equal(d->errors[i].fix, "true");
      assert_int_equal(d->errors[i].fix_span.start, off_of(t, "True", 0));
      assert_int_equal(d->errors[i].fix_span.end, off_of(t, "True", 0) + 4);
    }
  ls_json_doc_free(d);
  d = parse("{\"a\": nan, \"b\": -inf}");
  expect_error(d, "'nan' is not valid JSON", 6);
  assert_int_equal(d->errors[0].kind, LS_JSON_ERR_SYNTAX);
  assert_int_equal(ls_json_get(d->root, "a")->kind, LS_JSON_INVALID);
  ls_json_doc_free(d);
  /* A byte-order mark is skipped and reported. */
  d = parse("\xef\xbb\xbf{\"a\": 1}");
  expect_error(d, "byte-order mark", 0);
  assert_int_equal(ls_json_get(d->root, "a")->u.num.int_value, 1);
  ls_json_doc_free(d);
}

/* ---- recovery ----------------------------------------------------------------------------- */

/* ls_json_parse_guarded: text that does not look like JSON gets one error quoting none of
 * it; text that does keeps every error, with content quoted to 8 bytes. */
static void test_guarded(void **state) {
  (void)state;
  static const struct { const char *text; size_t len; const char *frag; size_t at; int root; } cases[] = {
    /* len 0: strlen */
    {"AWS_SECRET_ACCESS_KEY=abc\n", 0, "not JSON: it starts with 'A'", 0, 0},
    {"  \n\xef\xbb\xbf# comment = secret", 0, "not JSON: it starts with '#'", 6, 0},
    {"\xc3\xa9t\xc3\xa9", 0, "starts with byte 0xc3", 0, 0},
    {"{\"a\": 1}\x00secret", 15, "binary data (control byte 0x00 at offset 8)", 8, 0},
    {"12abc", 0, "not JSON: it starts with '1'", 0, 0},
    /* looks like JSON: the parser's own errors, a stray word cut to 8 bytes */
    {"{\"a\": secretsecret}", 0, "unexpected 'secretse...'", 6, 1},
    {"// note\n{\"a\": 1,}", 0, "trailing comma", 15, 1},
    {"", 0, "empty", 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ls_json_doc *d = NULL;
    size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
    assert_int_equal(ls_json_parse_guarded(cases[i].text, len, &d), LS_OK);
    if (!has_error(d, cases[i].frag, cases[i].at)) {
      print_message("case %zu\n", i);
      dump_errors(d);
    }
    expect_error(d, cases[i].frag, cases[i].at);
    assert_int_equal(d->root != NULL, cases[i].root);
    for (size_t k = 0; k < d->n_errors; k++) assert_null(strstr(d->errors[k].msg, "secretsec")); /* 9 bytes */
    if (!cases[i].root) assert_int_equal(d->n_errors, 1);
    ls_json_doc_free(d);
  }
  /* Valid JSON that is not a container is left alone (no error to replace). */
  ls_json_doc *d = NULL;
  assert_int_equal(ls_json_parse_guarded("\"text\"", 6, &d), LS_OK);
  assert_int_equal(d->n_errors, 0);
  assert_int_equal(d->root->kind, LS_JSON_STRING);
  ls_json_doc_free(d);
}

/* Each case: a broken document, the error expected first (fragment + where, as the needle
 * whose first occurrence starts the span), the number of errors, and a key that must still
 * be read with its integer value afterwards. */
static void test_recovery(void **state) {
  (void)state;
  static const struct {
    const char *text, *frag, *at;
    size_t n_errors;
    const char *key;
    int64_t value;
  } cases[] = {
    {"{\"a\": 1 \"b\": 2}", "expected ','", "\"b\"", 1, "b", 2},
    {"{\"a\": 1\n \"b\": 2\n}", "expected ','", "\"b\"", 1, "b", 2},
    {"{\"a\": 1, \"b\": 2,}", "trailing comma", ",}", 1, "b", 2},
    {"{\"a\": [1, 2,], \"b\": 2}", "trailing comma", ",]", 1, "b", 2},
    {"{\"a\": , \"b\": 2}", "missing value for key \"a\"", "\"a\"", 1, "b", 2},
    {"{\"a\":}", "missing value", "\"a\"", 1, NULL, 0},
    {"{\"a\" 5, \"b\": 2}", "expected ':'", "\"a\"", 1, "b", 2},
    {"{\"a\", \"b\": 2}", "expected ':' and a value", "\"a\"", 1, "b", 2},
    {"{\"a\": \"open\n, \"b\": 2}", "unterminated string", "\"open", 1, "b", 2},
    {"{\"a\": \"open\n  \"b\": 2}", "unterminated string", "\"open", 1, "b", 2},
    {"{\"hidden_si\n  \"b\": 2}", "unterminated string", "\"hidden_si", 1, "b", 2},
    {"{\"a\": @#!, \"b\": 2}", "unexpected '@#!'", "@", 1, "b", 2},
    {"{\"a\": 1 ~~ \"b\": 2}", "expected ',' or '}'", "~", 2, "b", 2},
    {"{\"a\": [1, 2}, \"b\": 2}", "'}' closes an array", "}", 1, "b", 2},
    {"{\"a\": {\"c\": 1], \"b\": 2}", "']' closes an object", "]", 1, "b", 2},
    {"{\"b\": 2, \"a\": [1, 2}", "expected ']' to close", "}", 1, "b", 2},
    {"{\"b\": 2, \"a\": [{\"c\": 1]}", "expected '}' to close", "]", 1, "b", 2},
    {"{\"b\": 2, \"a\": {\"c\": ]}", "missing value", "\"c\"", 2, "b", 2},
    {"{\"a\": 1,, \"b\": 2}", "expected a member before ','", ", \"b", 1, "b", 2},
    {"{\"b\": 2", "unterminated object", "{", 1, "b", 2},
    {"{\"b\": 2, \"c\": [1, 2", "unterminated array", "[", 2, "b", 2},
    {"{\"b\": 2, \"c\": {\"d\": tru", "invalid literal 'tru'", "tru", 3, "b", 2},
    {"{\"b\": 2, \"c\": \"abc", "the document ends before", "\"abc", 2, "b", 2},
    {"{\"b\": 2}\n]", "after the end of the JSON value", "]", 1, "b", 2},
    {"{\"b\": 2, a: 1, a: 2}", "duplicate key \"a\" (first at byte 9)", "a: 2", 3, "b", 2},
    {"{\"b\": 2} {\"c\": 3}", "after the end", "{\"c\"", 1, "b", 2},
    {"{\"b\": 2, \"x\": \"\\q\"}", "invalid escape", "\\q", 1, "b", 2},
    {"{\"b\": 2, \"x\": \"a\tb\"}", "control character U+0009", "\t", 1, "b", 2},
    {"[1 2]", "expected ',' between array items", "2", 1, NULL, 0},
    {"[, 1]", "expected a value before ','", ",", 1, NULL, 0},
    {"", "empty", "", 1, NULL, 0},
    {"   \n", "empty", "", 1, NULL, 0},
    {"}", "expected a value, found '}'", "}", 1, NULL, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *t = cases[i].text;
    ls_json_doc *d = parse(t);
    size_t at = cases[i].at[0] ? off_of(t, cases[i].at, 0) : 0;
    if (!has_error(d, cases[i].frag, at) || d->n_errors != cases[i].n_errors) {
      print_message("case %zu: %s\n", i, t);
      dump_errors(d);
    }
    expect_error(d, cases[i].frag, at);
    assert_int_equal(d->n_errors, cases[i].n_errors);
    if (cases[i].key) {
      const ls_json *v = ls_json_get(d->root, cases[i].key);
      assert_non_null(v);
      assert_int_equal(v->kind, LS_JSON_NUMBER);
      assert_true(v->u.num.int_value == cases[i].value);
    }
    for (size_t k = 0; k < d->n_errors; k++) {
      assert_true(d->errors[k].span.start <= d->errors[k].span.end);
      assert_true(d->errors[k].span.end <= strlen(t));
      if (k) assert_true(d->errors[k - 1].span.start <= d->errors[k].span.start);
    }
    ls_json_doc_free(d);
  }
}

static void test_fixes(void **state) {
  (void)state;
  /* Applying each error's fix to the text yields a document without errors. */
  static const char *cases[] = {
    "{\"a\": 1, \"b\": 2,}",
    "{\"a\": 1 \"b\": 2}",
    "{\"a\": [1 2]}",
    "{a: 1}",
    "{\"a\": True}",
    "{\"a\": 1 // why\n}",
    "{\"a\": [1, 2}",
    "{\"a\": 1",
    "{\"a\": \"x",
    "{\"a\": [1, 2}, \"b\": 2}",
    "{\"b\": 2, \"a\": [{\"c\": 1]}",
    "{\"a\": [[1, 2",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *t = cases[i];
    ls_json_doc *d = parse(t);
    assert_true(d->n_errors >= 1);
    char out[256];
    size_t o = 0, pos = 0;
    /* Apply in text order; at one insertion point the innermost construct (the error that
     * starts later) closes first. */
    const ls_json_error *ord[16];
    size_t n = d->n_errors;
    assert_true(n <= 16);
    for (size_t k = 0; k < n; k++) ord[k] = &d->errors[k];
    for (size_t k = 1; k < n; k++)
      for (size_t j = k; j > 0; j--) {
        const ls_json_error *x = ord[j - 1], *y = ord[j];
        if (x->fix_span.start > y->fix_span.start ||
            (x->fix_span.start == y->fix_span.start && x->span.start < y->span.start)) {
          ord[j - 1] = y;
          ord[j] = x;
        }
      }
    for (size_t k = 0; k < n; k++) {
      const ls_json_error *e = ord[k];
      assert_non_null(e->fix);
      assert_true(e->fix_span.start >= pos);
      memcpy(out + o, t + pos, e->fix_span.start - pos);
      o += e->fix_span.start - pos;
      memcpy(out + o, e->fix, strlen(e->fix));
      o += strlen(e->fix);
      pos = e->fix_span.end;
    }
    strcpy(out + o, t + pos);
    ls_json_doc *d2 = parse(out);
    if (d2->n_errors) {
      print_message("case %zu: '%s' -> '%s'\n", i, t, out);
      dump_errors(d2);
    }
    assert_int_equal(d2->n_errors, 0);
    ls_json_doc_free(d2);
    ls_json_doc_free(d);
  }
}

/* ---- queries ------------------------------------------------------------------------------ */

static void test_member_at(void **state) {
  (void)state;
  const char *t = "{\"a\": 1, \"rope_scaling\": {\"factor\": 8.0, \"type\": \"llama3\"}, "
                  "\"l\": [{\"z\": 2}]}";
  ls_json_doc *d = parse(t);
  int on_key = -1;
  const ls_json *parent = NULL;
  const ls_json_member *m = ls_json_member_at(d, off_of(t, "\"a\"", 0) + 1, &on_key, &parent);
  assert_non_null(m);
  assert_string_equal(m->key, "a");
  assert_int_equal(on_key, 1);
  assert_ptr_equal(parent, d->root);
  m = ls_json_member_at(d, off_of(t, "8.0", 0) + 1, &on_key, &parent);
  assert_string_equal(m->key, "factor");
  assert_int_equal(on_key, 0);
  assert_ptr_equal(parent, ls_json_get(d->root, "rope_scaling"));
  m = ls_json_member_at(d, off_of(t, "\"type\"", 0), &on_key, NULL);
  assert_string_equal(m->key, "type");
  assert_int_equal(on_key, 1);
  m = ls_json_member_at(d, off_of(t, "2}", 0), &on_key, &parent); /* inside an array item */
  assert_string_equal(m->key, "z");
  /* Between members (on the comma) the innermost member is the enclosing one, if any. */
  m = ls_json_member_at(d, off_of(t, ", \"type\"", 0), &on_key, NULL);
  assert_string_equal(m->key, "rope_scaling");
  assert_int_equal(on_key, 0);
  assert_null(ls_json_member_at(d, 0, &on_key, NULL));         /* on the root's '{' */
  assert_null(ls_json_member_at(d, strlen(t) + 5, NULL, NULL)); /* past the end */
  const ls_json *n = ls_json_node_at(d, off_of(t, "llama3", 0));
  assert_int_equal(n->kind, LS_JSON_STRING);
  assert_string_equal(n->u.str.s, "llama3");
  assert_ptr_equal(ls_json_node_at(d, 0), d->root);
  assert_null(ls_json_node_at(d, strlen(t)));
  assert_string_equal(ls_json_kind_name(LS_JSON_OBJECT), "object");
  assert_string_equal(ls_json_kind_name(LS_JSON_INVALID), "invalid");
  ls_json_doc_free(d);
}

/* ---- out of memory ------------------------------------------------------------------------ */

static void test_oom(void **state) {
  (void)state;
  /* A broken document exercises every allocation site (nodes, scratch stacks, errors, fixes,
   * duplicate check). Failing the n-th allocation must give LS_ENOMEM and leak nothing
   * (ASan's leak check runs at exit), for every n until the parse succeeds. */
  const char *t = "{\"a\": [1, 2, {\"b\": \"x\\u00e9\"},], \"a\": True, c: 1 \"d\": 01, // c\n"
                  " \"e\": {\"f\": [[[\"g\"]]]}, \"s\": \"\\ud800\"";
  int succeeded = 0;
  for (long n = 0; n < 10000 && !succeeded; n++) {
    ls_alloc_fail_after(n);
    ls_json_doc *d = NULL;
    int rc = ls_json_parse(t, strlen(t), &d);
    ls_alloc_fail_reset();
    if (rc == LS_OK) {
      assert_non_null(d);
      assert_true(d->n_errors >= 6);
      succeeded = 1;
      ls_json_doc_free(d);
    } else {
      assert_int_equal(rc, LS_ENOMEM);
      assert_null(d);
    }
  }
  assert_true(succeeded);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_spans),
    cmocka_unit_test(test_numbers),
    cmocka_unit_test(test_bad_numbers),
    cmocka_unit_test(test_strings),
    cmocka_unit_test(test_surrogates),
    cmocka_unit_test(test_invalid_utf8),
    cmocka_unit_test(test_duplicates),
    cmocka_unit_test(test_depth),
    cmocka_unit_test(test_not_json),
    cmocka_unit_test(test_guarded),
    cmocka_unit_test(test_recovery),
    cmocka_unit_test(test_fixes),
    cmocka_unit_test(test_member_at),
    cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
