/* test_json_diff.c: the JSON reader checked against an independent implementation and
 * against hostile input.
 *   - Differential: on valid documents (the real configs in tests/golden/smells/real/ and
 *     thousands of random documents with escapes, surrogate pairs, raw UTF-8, integers at the
 *     int64 edges and doubles), our tree must hold exactly the values jansson reads.
 *   - Mutation: thousands of random byte edits of the real configs (deletions, insertions of
 *     JSON punctuation, duplications, truncations, bit flips). The reader must never crash
 *     (run under ASan/UBSan), and its output must stay well formed: every span inside the
 *     text, children nested inside their parents and in order, keys before their values,
 *     errors sorted and inside the text, messages valid UTF-8.
 * A fixed seed keeps runs reproducible; LS_JSON_FUZZ_SEED overrides it to explore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/base/json.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}
static size_t rndn(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

typedef struct buf { char *p; size_t n, cap; } buf;
static void put(buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

typedef struct file { char name[1280]; char *text; size_t len; } file;
static file g_files[64];
static size_t g_n_files;

/* Loads the real configs once. They live beside the smell goldens so the unit tests do not
 * depend on /work/shared. */
static int load_configs(void **state) {
  (void)state;
  const char *src = getenv("LS_SOURCE_DIR");
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/tests/golden/smells/real", src ? src : "../..");
  DIR *dp = opendir(dir);
  if (!dp) {
    fprintf(stderr, "cannot open %s (set LS_SOURCE_DIR)\n", dir);
    return -1;
  }
  struct dirent *e;
  while ((e = readdir(dp)) && g_n_files < 64) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
    file *f = &g_files[g_n_files];
    snprintf(f->name, sizeof f->name, "%s/%s", dir, e->d_name);
    FILE *fp = fopen(f->name, "rb");
    if (!fp) continue;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->text = malloc((size_t)n + 1);
    f->len = fread(f->text, 1, (size_t)n, fp);
    fclose(fp);
    g_n_files++;
  }
  closedir(dp);
  const char *seed = getenv("LS_JSON_FUZZ_SEED");
  if (seed) rng_state = strtoull(seed, NULL, 0) | 1;
  return g_n_files >= 12 ? 0 : -1;
}

static int free_configs(void **state) {
  (void)state;
  for (size_t i = 0; i < g_n_files; i++) free(g_files[i].text);
  return 0;
}

/* ---- differential --------------------------------------------------------------------------- */

/* Compares our node with jansson's value; prints the path on mismatch. */
static int same(const ls_json *a, const json_t *b, const char *path) {
  switch (json_typeof(b)) {
  case JSON_NULL: if (a->kind == LS_JSON_NULL) return 1; break;
  case JSON_TRUE: if (a->kind == LS_JSON_BOOL && a->u.boolean == 1) return 1; break;
  case JSON_FALSE: if (a->kind == LS_JSON_BOOL && a->u.boolean == 0) return 1; break;
  case JSON_INTEGER:
    if (a->kind == LS_JSON_NUMBER && a->u.num.is_integer && a->u.num.fits_int64 &&
        a->u.num.int_value == json_integer_value(b) &&
        a->u.num.value == (double)json_integer_value(b))
      return 1;
    break;
  case JSON_REAL:
    if (a->kind == LS_JSON_NUMBER && !a->u.num.is_integer && a->u.num.value == json_real_value(b))
      return 1;
    break;
  case JSON_STRING:
    if (a->kind == LS_JSON_STRING && a->u.str.len == json_string_length(b) &&
        memcmp(a->u.str.s, json_string_value(b), a->u.str.len) == 0)
      return 1;
    break;
  case JSON_ARRAY:
    if (a->kind == LS_JSON_ARRAY && a->u.arr.n == json_array_size(b)) {
      for (size_t i = 0; i < a->u.arr.n; i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (!same(a->u.arr.items[i], json_array_get(b, i), sub)) return 0;
      }
      return 1;
    }
    break;
  case JSON_OBJECT:
    if (a->kind == LS_JSON_OBJECT) {
      /* Every jansson key maps to the same value through our lookup (last one wins in both),
       * and we hold no key jansson lacks. */
      const char *k;
      json_t *v;
      json_object_foreach((json_t *)b, k, v) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s.%s", path, k);
        const ls_json *mine = ls_json_get(a, k);
        if (!mine) { print_message("%s: missing\n", sub); return 0; }
        if (!same(mine, v, sub)) return 0;
      }
      for (size_t i = 0; i < a->u.obj.n; i++)
        if (!json_object_getn(b, a->u.obj.members[i].key, a->u.obj.members[i].key_len)) {
          print_message("%s.%s: extra key\n", path, a->u.obj.members[i].key);
          return 0;
        }
      return 1;
    }
    break;
  }
  print_message("%s: mismatch (ours: %s)\n", path, ls_json_kind_name(a->kind));
  return 0;
}

static void check_against_jansson(const char *text, size_t len) {
  json_error_t jerr;
  json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (!j) {
    print_message("jansson rejects: %s\n%.*s\n", jerr.text, (int)(len > 300 ? 300 : len), text);
    fail();
  }
  ls_json_doc *d = NULL;
  assert_int_equal(ls_json_parse(text, len, &d), LS_OK);
  if (d->n_errors) {
    print_message("we report %s at %zu in\n%.*s\n", d->errors[0].msg, d->errors[0].span.start,
                  (int)(len > 300 ? 300 : len), text);
    fail();
  }
  assert_true(same(d->root, j, "$"));
  json_decref(j);
  ls_json_doc_free(d);
}

static void test_real_configs_match_jansson(void **state) {
  (void)state;
  for (size_t i = 0; i < g_n_files; i++) check_against_jansson(g_files[i].text, g_files[i].len);
}

static void gen_ws(buf *b) {
  static const char *ws[] = {"", "", " ", "\n", "\r\n", "\t", "  \n    "};
  puts_(b, ws[rndn(7)]);
}

/* is_key: jansson cannot hold NUL in object keys, so keys get no \u0000. */
static void gen_string(buf *b, int is_key) {
  puts_(b, "\"");
  size_t n = rndn(12);
  for (size_t i = 0; i < n; i++) {
    char tmp[16];
    switch (rndn(10)) {
    case 0: { static const char *esc[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
              puts_(b, esc[rndn(8)]); break; }
    case 1: snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)(1 + rndn(0xd7ff))); puts_(b, tmp); break;
    case 2: { /* a surrogate pair, random case of hex digits */
      uint32_t cp = 0x10000 + (uint32_t)rndn(0x100000);
      snprintf(tmp, sizeof tmp, rndn(2) ? "\\u%04x\\u%04x" : "\\u%04X\\u%04X",
               0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
      puts_(b, tmp);
      break;
    }
    case 3: puts_(b, rndn(2) ? "\xc3\xa9" : "\xe4\xb8\xad\xf0\x9f\x98\x80"); break;
    case 4: puts_(b, is_key ? "\\u0001" : "\\u0000"); break;
    default: { char c = (char)(' ' + 1 + rndn(94)); if (c == '"' || c == '\\') c = 'x'; put(b, &c, 1); }
    }
  }
  puts_(b, "\"");
}

static void gen_number(buf *b) {
  char tmp[64];
  switch (rndn(8)) {
  case 0: snprintf(tmp, sizeof tmp, "%lld", (long long)(int64_t)rnd()); break;
  case 1: snprintf(tmp, sizeof tmp, "%s", rndn(2) ? "9223372036854775807" : "-9223372036854775808"); break;
  case 2: snprintf(tmp, sizeof tmp, "%d", (int)rndn(200000)); break;
  case 3:
    snprintf(tmp, sizeof tmp, "%.17g", (double)(int64_t)rnd() / (double)(1 + rndn(1u << 30)));
    if (!strpbrk(tmp, ".e")) strcat(tmp, ".5");
    break;
  case 4: snprintf(tmp, sizeof tmp, "%de%s%d", (int)rndn(100), rndn(2) ? "-" : "+", (int)rndn(300)); break;
  case 5: snprintf(tmp, sizeof tmp, "%s", rndn(2) ? "-0" : "-0.0"); break;
  case 6: snprintf(tmp, sizeof tmp, "1e-%d", 5 + (int)rndn(10)); break;
  default: snprintf(tmp, sizeof tmp, "%d.%03dE%d", (int)rndn(10), (int)rndn(1000), (int)rndn(20)); break;
  }
  puts_(b, tmp);
}

static void gen_value(buf *b, int depth) {
  size_t r = rndn(depth > 6 ? 5 : 8);
  gen_ws(b);
  switch (r) {
  case 0: puts_(b, "null"); break;
  case 1: puts_(b, rndn(2) ? "true" : "false"); break;
  case 2: case 3: gen_number(b); break;
  case 4: gen_string(b, 0); break;
  case 5: case 6: {
    puts_(b, "{");
    size_t n = rndn(6);
    for (size_t i = 0; i < n; i++) {
      if (i) puts_(b, ",");
      gen_ws(b);
      if (rndn(8) == 0) puts_(b, "\"dup\""); else gen_string(b, 1);
      gen_ws(b);
      puts_(b, ":");
      gen_value(b, depth + 1);
    }
    gen_ws(b);
    puts_(b, "}");
    break;
  }
  default: {
    puts_(b, "[");
    size_t n = rndn(6);
    for (size_t i = 0; i < n; i++) {
      if (i) puts_(b, ",");
      gen_value(b, depth + 1);
    }
    gen_ws(b);
    puts_(b, "]");
  }
  }
  gen_ws(b);
}

/* True when the text has an object with a repeated key (we report it; jansson does not). */
static int has_dup(const ls_json_doc *d) {
  for (size_t i = 0; i < d->n_errors; i++)
    if (!strstr(d->errors[i].msg, "duplicate key")) return 0;
  return d->n_errors > 0;
}

static void test_random_documents_match_jansson(void **state) {
  (void)state;
  int n_docs = 3000, checked = 0;
  for (int i = 0; i < n_docs; i++) {
    buf b = {0};
    gen_value(&b, 0);
    ls_json_doc *d = NULL;
    assert_int_equal(ls_json_parse(b.p, b.n, &d), LS_OK);
    if (has_dup(d)) {
      /* Duplicates are errors for us but fine for jansson: compare the values anyway. */
      json_t *j = json_loadb(b.p, b.n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
      assert_non_null(j);
      assert_true(same(d->root, j, "$"));
      json_decref(j);
    } else {
      check_against_jansson(b.p, b.n);
    }
    checked++;
    ls_json_doc_free(d);
    free(b.p);
  }
  assert_int_equal(checked, n_docs);
}

/* ---- mutation --------------------------------------------------------------------------- */

static int valid_utf8(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  while (*u) {
    if (*u < 0x80) { u++; continue; }
    size_t k = (*u & 0xe0) == 0xc0 ? 2 : (*u & 0xf0) == 0xe0 ? 3 : (*u & 0xf8) == 0xf0 ? 4 : 0;
    if (!k) return 0;
    for (size_t i = 1; i < k; i++)
      if ((u[i] & 0xc0) != 0x80) return 0;
    u += k;
  }
  return 1;
}

/* Checks the structural invariants of a node; returns the number of nodes visited. */
static size_t check_node(const ls_json *n, ls_json_span outer, size_t len, int depth) {
  assert_non_null(n);
  assert_true(depth <= LS_JSON_MAX_DEPTH + 1);
  assert_true(n->span.start <= n->span.end && n->span.end <= len);
  assert_true(n->span.start >= outer.start && n->span.end <= outer.end);
  size_t count = 1, prev_end = n->span.start;
  if (n->kind == LS_JSON_ARRAY) {
    for (size_t i = 0; i < n->u.arr.n; i++) {
      const ls_json *c = n->u.arr.items[i];
      assert_true(c->span.start >= prev_end);
      count += check_node(c, n->span, len, depth + 1);
      prev_end = c->span.end;
    }
  } else if (n->kind == LS_JSON_OBJECT) {
    for (size_t i = 0; i < n->u.obj.n; i++) {
      const ls_json_member *m = &n->u.obj.members[i];
      assert_non_null(m->key);
      assert_true(m->key_span.start >= prev_end && m->key_span.end <= m->value->span.start);
      assert_true(m->key_span.start >= n->span.start && m->key_span.end <= n->span.end);
      assert_true(strlen(m->key) <= m->key_len);
      count += check_node(m->value, n->span, len, depth + 1);
      prev_end = m->value->span.end;
    }
  } else if (n->kind == LS_JSON_STRING) {
    assert_non_null(n->u.str.s);
    assert_int_equal(n->u.str.s[n->u.str.len], 0);
  }
  return count;
}

static void check_doc(const ls_json_doc *d, size_t len) {
  ls_json_span all = {0, len};
  if (d->root) check_node(d->root, all, len, 1);
  for (size_t i = 0; i < d->n_errors; i++) {
    const ls_json_error *e = &d->errors[i];
    assert_true(e->span.start <= e->span.end && e->span.end <= len);
    if (i) assert_true(d->errors[i - 1].span.start <= e->span.start);
    assert_true(e->msg[0] != 0);
    assert_true(valid_utf8(e->msg));
    if (e->fix) assert_true(e->fix_span.start <= e->fix_span.end && e->fix_span.end <= len);
  }
}

static size_t mutate(const char *in, size_t n, char *out, size_t cap) {
  static const char *ins[] = {",", ":", "{", "}", "[", "]", "\"", "\\", " ", "\n", "1e", "-",
                              "\\u", "\\ud800", "\xff", "\xc3", "tru", "NaN", "//", "/*", "'"};
  memcpy(out, in, n);
  size_t edits = 1 + rndn(4);
  for (size_t e = 0; e < edits; e++) {
    size_t at = rndn(n + 1);
    switch (rndn(6)) {
    case 0: /* delete a short run */
      if (n) {
        size_t k = 1 + rndn(at < n ? (n - at < 8 ? n - at : 8) : 1);
        if (at + k > n) k = n - at;
        memmove(out + at, out + at + k, n - at - k);
        n -= k;
      }
      break;
    case 1: { /* insert a token */
      const char *t = ins[rndn(sizeof ins / sizeof ins[0])];
      size_t k = strlen(t);
      if (n + k > cap) break;
      memmove(out + at + k, out + at, n - at);
      memcpy(out + at, t, k);
      n += k;
      break;
    }
    case 2: /* flip a bit */
      if (at < n) out[at] ^= (char)(1u << rndn(8));
      break;
    case 3: /* truncate */
      n = at;
      break;
    case 4: { /* duplicate a run (repeated members, stray brackets) */
      size_t k = rndn(64);
      if (at + k > n) k = n - at;
      if (n + k > cap) break;
      memmove(out + at + k, out + at, n - at);
      n += k;
      break;
    }
    default: /* random byte */
      if (at < n) out[at] = (char)rnd();
    }
  }
  return n;
}

static void test_mutations_never_break(void **state) {
  (void)state;
  size_t per_file = 1500, total = 0, with_errors = 0;
  for (size_t f = 0; f < g_n_files; f++) {
    size_t cap = g_files[f].len * 2 + 256;
    char *m = malloc(cap);
    for (size_t i = 0; i < per_file; i++) {
      size_t n = mutate(g_files[f].text, g_files[f].len, m, cap);
      /* Exact-size heap copy so ASan catches any read past the end. */
      char *t = malloc(n ? n : 1);
      memcpy(t, m, n);
      ls_json_doc *d = NULL;
      assert_int_equal(ls_json_parse(t, n, &d), LS_OK);
      check_doc(d, n);
      with_errors += d->n_errors > 0;
      /* The queries stay inside the tree at any offset. */
      for (int q = 0; q < 4; q++) {
        size_t off = rndn(n + 2);
        int on_key;
        const ls_json *parent;
        const ls_json_member *mem = ls_json_member_at(d, off, &on_key, &parent);
        if (mem) {
          ls_json_span s = on_key ? mem->key_span : mem->value->span;
          assert_true(off >= s.start && off < s.end);
          assert_non_null(parent);
        }
        const ls_json *nd = ls_json_node_at(d, off);
        if (nd) assert_true(off >= nd->span.start && off < nd->span.end);
      }
      ls_json_doc_free(d);
      free(t);
      total++;
    }
    free(m);
  }
  print_message("mutations: %zu documents, %zu with errors\n", total, with_errors);
  assert_true(total >= 12 * per_file);
  assert_true(with_errors > total / 2); /* the mutations really break documents */
}

/* Every prefix of a real config (what an editor sees while the file is typed top to bottom)
 * parses with the members typed so far intact. */
static void test_every_prefix(void **state) {
  (void)state;
  for (size_t fi = 0; fi < g_n_files; fi++) {
    const file *f = &g_files[fi];
    ls_json_doc *full = NULL;
    assert_int_equal(ls_json_parse(f->text, f->len, &full), LS_OK);
    assert_int_equal(full->root->kind, LS_JSON_OBJECT);
    size_t last = full->root->span.end; /* just past the final '}' */
    for (size_t n = 0; n <= f->len; n++) {
      char *t = malloc(n ? n : 1);
      memcpy(t, f->text, n);
      ls_json_doc *d = NULL;
      assert_int_equal(ls_json_parse(t, n, &d), LS_OK);
      check_doc(d, n);
      if (n < last) assert_true(d->n_errors > 0);
      else assert_int_equal(d->n_errors, 0);
      /* Every top-level member whose value is complete in the prefix is read as in full. */
      for (size_t i = 0; i < full->root->u.obj.n; i++) {
        const ls_json_member *m = &full->root->u.obj.members[i];
        if (m->value->span.end > n) break;
        const ls_json_member *pm = ls_json_get_member(d->root, m->key);
        assert_non_null(pm);
        assert_int_equal(pm->key_span.start, m->key_span.start);
        assert_int_equal(pm->value->span.start, m->value->span.start);
        assert_int_equal(pm->value->span.end, m->value->span.end);
        assert_int_equal(pm->value->kind, m->value->kind);
      }
      ls_json_doc_free(d);
      free(t);
    }
    ls_json_doc_free(full);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_real_configs_match_jansson),
    cmocka_unit_test(test_random_documents_match_jansson),
    cmocka_unit_test(test_mutations_never_break),
    cmocka_unit_test(test_every_prefix),
  };
  return cmocka_run_group_tests(tests, load_configs, free_configs);
}
