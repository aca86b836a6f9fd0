/* test_regress_lsp.c: regression tests for bugs that fuzz/fuzz_lsp found in the LSP server.
 *
 * fuzz_lsp crash-cb123079 (ASan heap-buffer-overflow in ls_text_index_init,
 * core/base/text.c:54, from lsp/docs.c:41): a didOpen whose text holds "\u0000". JSON
 * allows the escape and jansson decodes it (the server reads messages with
 * JSON_ALLOW_NUL), so the text's length counts bytes after the NUL. lsp_docs_set_text
 * (lsp/docs.c:51) copied it with ls_strndup, which stops at the first NUL and allocates only
 * that much, but recorded the full length: the line index, and every later reader of
 * doc->text, then ran past the allocation. The test opens and resets a document with an
 * embedded NUL and checks that all len bytes are kept (ASan reports the overflow; the
 * release build sees the lost bytes). lsp_docs_change (lsp/docs.c:115) made its working copy
 * the same way, so an incremental edit of such a document overflowed too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "core/base/diag.h"
#include "core/base/errors.h"
#include "lsp/docs.h"

static void test_did_open_text_with_nul(void **state) {
  (void)state;
  static const char text[] = "{\"a\": \"x\0y\",\n\"b\": 1}\n";
  const size_t len = sizeof text - 1; /* 22 bytes, a NUL at offset 9 */
  lsp_docs ds;
  lsp_docs_init(&ds);
  lsp_doc *d = NULL;
  assert_int_equal(lsp_docs_open(&ds, "file:///tmp/c.json", "json", 1, text, len, &d), LS_OK);
  assert_non_null(d);
  assert_int_equal(d->len, len);
  assert_memory_equal(d->text, text, len);
  assert_int_equal(d->text[len], '\0');
  /* the same through a full-text change */
  assert_int_equal(lsp_docs_set_text(d, text + 1, len - 1), LS_OK);
  assert_int_equal(d->len, len - 1);
  assert_memory_equal(d->text, text + 1, len - 1);
  /* an incremental edit after the NUL: insert "z" at line 1, character 0 */
  assert_int_equal(lsp_docs_set_text(d, text, len), LS_OK);
  json_t *changes = json_loads("[{\"range\": {\"start\": {\"line\": 1, \"character\": 0}, "
                               "\"end\": {\"line\": 1, \"character\": 0}}, \"text\": \"z\"}]", 0, NULL);
  assert_non_null(changes);
  ls_diag dg;
  ls_diag_init(&dg);
  assert_int_equal(lsp_docs_change(d, changes, 2, LS_POS_UTF16, &dg), LS_OK);
  json_decref(changes);
  static const char want[] = "{\"a\": \"x\0y\",\nz\"b\": 1}\n";
  assert_int_equal(d->len, sizeof want - 1);
  assert_memory_equal(d->text, want, sizeof want - 1);
  lsp_docs_deinit(&ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_did_open_text_with_nul),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
