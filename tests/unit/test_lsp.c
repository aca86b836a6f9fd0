/* test_lsp.c: the LSP document store (lsp/docs.c): full and incremental changes with
 * positions in UTF-16 and UTF-8, several changes applied in order, atomic rejection of a bad
 * change (the document stays as it was, and the error names the field), close/reopen, and
 * allocation failures. Expected texts are worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "lsp/docs.h"

static json_t *change(int l0, int c0, int l1, int c1, const char *text) {
  return json_pack("{s:{s:{s:i,s:i},s:{s:i,s:i}},s:s}", "range", "start", "line", l0, "character", c0,
                   "end", "line", l1, "character", c1, "text", text);
}

static void test_open_and_incremental(void **state) {
  (void)state;
  lsp_docs ds;
  lsp_docs_init(&ds);
  lsp_doc *d;
  const char *t = "ab\xF0\x9F\x98\x80" "cd\r\nxyz\n"; /* "ab😀cd\r\nxyz\n" */
  assert_int_equal(lsp_docs_open(&ds, "file:///a", "json", 1, t, strlen(t), &d), LS_OK);
  assert_int_equal(d->index.n_lines, 3);
  /* UTF-16: 😀 is columns 2-3, so column 4 is 'c'. Replace "cd" with "Q". */
  json_t *ch = json_pack("[o]", change(0, 4, 0, 6, "Q"));
  ls_diag diag;
  ls_diag_init(&diag);
  assert_int_equal(lsp_docs_change(d, ch, 2, LS_POS_UTF16, &diag), LS_OK);
  json_decref(ch);
  assert_string_equal(d->text, "ab\xF0\x9F\x98\x80Q\r\nxyz\n");
  assert_int_equal(d->version, 2);
  /* Two changes in one notification: the second sees the first's result. UTF-8 columns. */
  ch = json_pack("[o,o]", change(1, 0, 1, 1, "X\nY"), change(2, 1, 2, 3, ""));
  assert_int_equal(lsp_docs_change(d, ch, 3, LS_POS_UTF8, &diag), LS_OK);
  json_decref(ch);
  assert_string_equal(d->text, "ab\xF0\x9F\x98\x80Q\r\nX\nY\n");
  assert_int_equal(d->index.n_lines, 4);
  /* A full replacement. */
  ch = json_pack("[{s:s}]", "text", "new");
  assert_int_equal(lsp_docs_change(d, ch, 4, LS_POS_UTF16, &diag), LS_OK);
  json_decref(ch);
  assert_string_equal(d->text, "new");
  /* Positions past the end clamp (insert at the end of the text). */
  ch = json_pack("[o]", change(9, 9, 9, 9, "!"));
  assert_int_equal(lsp_docs_change(d, ch, 5, LS_POS_UTF16, &diag), LS_OK);
  json_decref(ch);
  assert_string_equal(d->text, "new!");
  lsp_docs_deinit(&ds);
}

static void test_bad_change_is_atomic(void **state) {
  (void)state;
  lsp_docs ds;
  lsp_docs_init(&ds);
  lsp_doc *d;
  assert_int_equal(lsp_docs_open(&ds, "file:///b", "json", 1, "hello", 5, &d), LS_OK);
  const char *why[] = {"contentChanges[1].text", "contentChanges[1].range.start.line", "start (0:3) is after end (0:1)",
                       "contentChanges[1]' must be an object"};
  json_t *second[] = {json_pack("{s:i}", "text", 5), change(-1, 0, 0, 0, "x"), change(0, 3, 0, 1, "x"), json_string("x")};
  for (int i = 0; i < 4; i++) {
    json_t *ch = json_pack("[{s:s}, o]", "text", "changed", second[i]);
    ls_diag diag;
    ls_diag_init(&diag);
    assert_int_equal(lsp_docs_change(d, ch, 9, LS_POS_UTF16, &diag), LS_EINVAL);
    assert_non_null(strstr(diag.msg, why[i]));
    assert_string_equal(d->text, "hello");
    assert_int_equal(d->version, 1);
    json_decref(ch);
  }
  lsp_docs_deinit(&ds);
}

static void test_close_reopen_many(void **state) {
  (void)state;
  lsp_docs ds;
  lsp_docs_init(&ds);
  lsp_doc *d;
  char uri[32];
  for (int i = 0; i < 20; i++) {
    snprintf(uri, sizeof uri, "file:///%d", i);
    assert_int_equal(lsp_docs_open(&ds, uri, "json", i, "x", 1, &d), LS_OK);
  }
  assert_int_equal(ds.n, 20);
  assert_int_equal(lsp_docs_close(&ds, "file:///7"), LS_OK);
  assert_int_equal(lsp_docs_close(&ds, "file:///7"), LS_ENOENT);
  assert_null(lsp_docs_find(&ds, "file:///7"));
  assert_non_null(lsp_docs_find(&ds, "file:///19"));
  /* Reopening replaces text and version in place. */
  assert_int_equal(lsp_docs_open(&ds, "file:///3", "json", 42, "yy", 2, &d), LS_OK);
  assert_int_equal(ds.n, 19);
  assert_int_equal(d->version, 42);
  assert_string_equal(d->text, "yy");
  lsp_docs_deinit(&ds);
}

static void test_alloc_failures(void **state) {
  (void)state;
  /* Every allocation point fails once; nothing leaks (ASan) and the store stays usable. */
  for (long n = 0; n < 12; n++) {
    lsp_docs ds;
    lsp_docs_init(&ds);
    lsp_doc *d = NULL;
    ls_alloc_fail_after(n);
    int rc = lsp_docs_open(&ds, "file:///c", "json", 1, "a\nb", 3, &d);
    if (rc == LS_OK) {
      json_t *ch = json_pack("[{s:s}]", "text", "zz");
      ls_diag diag;
      ls_diag_init(&diag);
      int rc2 = lsp_docs_change(d, ch, 2, LS_POS_UTF16, &diag);
      ls_alloc_fail_reset();
      json_decref(ch);
      assert_true(rc2 == LS_OK || rc2 == LS_ENOMEM);
      assert_string_equal(d->text, rc2 == LS_OK ? "zz" : "a\nb");
    } else {
      ls_alloc_fail_reset();
      assert_int_equal(rc, LS_ENOMEM);
      assert_int_equal(ds.n, 0);
    }
    lsp_docs_deinit(&ds);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_and_incremental), cmocka_unit_test(test_bad_change_is_atomic),
      cmocka_unit_test(test_close_reopen_many),    cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
