/* test_regress_json.c: regression tests for bugs that fuzz/fuzz_json found in the JSON
 * reader (core/base/json.c). Each test rebuilds the minimised fuzz input byte for byte and
 * checks the invariant the fuzzer saw broken. The input is put in a heap buffer of exactly
 * its length, so that ASan also catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/base/json.h"

/* Every span of the tree inside [0, len]; iterative like the reader. */
static void assert_spans_inside(const ls_json *root, size_t len) {
  const ls_json *stack[1100];
  size_t top = 0;
  stack[top++] = root;
  while (top) {
    const ls_json *n = stack[--top];
    assert_true(n->span.start <= n->span.end);
    assert_true(n->span.end <= len);
    if (n->kind == LS_JSON_ARRAY)
      for (size_t i = 0; i < n->u.arr.n && top < 1100; i++) stack[top++] = n->u.arr.items[i];
    if (n->kind == LS_JSON_OBJECT)
      for (size_t i = 0; i < n->u.obj.n && top < 1100; i++) {
        assert_true(n->u.obj.members[i].key_span.end <= len);
        stack[top++] = n->u.obj.members[i].value;
      }
  }
}

/* fuzz_json crash-08c7c0c8 (minimised): 512 '[' (the depth limit), then a container whose
 * string ends in a lone backslash at the end of the text. skip_deep() stepped over the
 * backslash and the (absent) byte after it, so the skipped value's span, and every
 * enclosing span, ended one byte past the text: [0, len + 1). An editor converting that
 * offset to a position would read past the document. */
static void test_deep_string_ends_in_backslash(void **state) {
  (void)state;
  const size_t depth = LS_JSON_MAX_DEPTH;
  const char tail[] = "{\"[[[[[[[[[[[[[\\";
  size_t len = depth + sizeof tail - 1;
  char *text = malloc(len);
  assert_non_null(text);
  memset(text, '[', depth);
  memcpy(text + depth, tail, sizeof tail - 1);
  ls_json_doc *doc = NULL;
  assert_int_equal(ls_json_parse(text, len, &doc), LS_OK);
  assert_non_null(doc->root);
  assert_spans_inside(doc->root, len);
  int depth_err = 0;
  for (size_t i = 0; i < doc->n_errors; i++) {
    assert_true(doc->errors[i].span.end <= len);
    if (doc->errors[i].kind == LS_JSON_ERR_DEPTH) depth_err = 1;
  }
  assert_true(depth_err);
  ls_json_doc_free(doc);
  free(text);
}

/* The same bug at the smallest scale: the deep value is just `["\` */
static void test_deep_short_backslash(void **state) {
  (void)state;
  size_t len = LS_JSON_MAX_DEPTH + 3;
  char *text = malloc(len);
  assert_non_null(text);
  memset(text, '[', LS_JSON_MAX_DEPTH + 1);
  text[LS_JSON_MAX_DEPTH + 1] = '"';
  text[LS_JSON_MAX_DEPTH + 2] = '\\';
  ls_json_doc *doc = NULL;
  assert_int_equal(ls_json_parse(text, len, &doc), LS_OK);
  assert_non_null(doc->root);
  assert_spans_inside(doc->root, len);
  ls_json_doc_free(doc);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_deep_string_ends_in_backslash),
    cmocka_unit_test(test_deep_short_backslash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
