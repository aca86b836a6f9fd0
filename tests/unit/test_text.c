/* test_text.c: byte offset <-> LSP position conversion (core/base/text.c). Expected columns
 * are worked out by hand from the UTF-8 encodings and the LSP rules (UTF-16 code units,
 * surrogate pairs count two; "\r\n", "\n" and "\r" end lines; out-of-range positions clamp).
 * Also the UTF-8 helpers for messages: clipping never cuts a character, repair leaves valid
 * UTF-8 (a cut character dropped, stray bytes as '?'). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/text.h"

static ls_text_index idx_of(const char *s) {
  ls_text_index idx;
  assert_int_equal(ls_text_index_init(&idx, s, strlen(s)), LS_OK);
  return idx;
}

static void test_line_breaks(void **state) {
  (void)state;
  const char *s = "a\r\nbc\nd\re"; /* lines: "a" "bc" "d" "e" */
  ls_text_index idx = idx_of(s);
  assert_int_equal(idx.n_lines, 4);
  assert_int_equal(idx.line_starts[1], 3);
  assert_int_equal(idx.line_starts[2], 6);
  assert_int_equal(idx.line_starts[3], 8);
  ls_pos p = ls_text_pos_of(&idx, 4, LS_POS_UTF16); /* 'c' */
  assert_int_equal(p.line, 1);
  assert_int_equal(p.col, 1);
  /* An offset inside "\r\n" belongs to the end of line 0. */
  p = ls_text_pos_of(&idx, 2, LS_POS_UTF16);
  assert_int_equal(p.line, 0);
  assert_int_equal(p.col, 1);
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){3, 1}, LS_POS_UTF16), 9);
  assert_int_equal(ls_text_line_end(&idx, 0), 1);
  assert_int_equal(ls_text_line_end(&idx, 1), 5);
  ls_text_index_deinit(&idx);
}

static void test_surrogate_pairs(void **state) {
  (void)state;
  /* "x😀y": 😀 is U+1F600, 4 bytes in UTF-8, 2 UTF-16 units, 1 UTF-32 unit. */
  const char *s = "x\xF0\x9F\x98\x80y";
  ls_text_index idx = idx_of(s);
  assert_int_equal(ls_text_pos_of(&idx, 5, LS_POS_UTF16).col, 3);
  assert_int_equal(ls_text_pos_of(&idx, 5, LS_POS_UTF8).col, 5);
  assert_int_equal(ls_text_pos_of(&idx, 5, LS_POS_UTF32).col, 2);
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){0, 3}, LS_POS_UTF16), 5);
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){0, 1}, LS_POS_UTF16), 1);
  /* Column 2 falls between the two halves of the pair: it rounds down to the character. */
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){0, 2}, LS_POS_UTF16), 1);
  /* An offset inside the 4-byte sequence reports the character's start. */
  assert_int_equal(ls_text_pos_of(&idx, 3, LS_POS_UTF16).col, 1);
  ls_text_index_deinit(&idx);
}

static void test_utf8_two_and_three_bytes(void **state) {
  (void)state;
  /* "é€a": é = C3 A9 (1 UTF-16 unit), € = E2 82 AC (1 unit). */
  const char *s = "\xC3\xA9\xE2\x82\xAC" "a";
  ls_text_index idx = idx_of(s);
  assert_int_equal(ls_text_pos_of(&idx, 5, LS_POS_UTF16).col, 2);
  assert_int_equal(ls_text_pos_of(&idx, 5, LS_POS_UTF8).col, 5);
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){0, 2}, LS_POS_UTF16), 5);
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){0, 2}, LS_POS_UTF8), 2);
  ls_text_index_deinit(&idx);
}

static void test_invalid_utf8(void **state) {
  (void)state;
  /* A lone continuation byte, an overlong "/" (C0 AF) and a truncated sequence: one unit per byte. */
  const char *s = "\x80\xC0\xAF\xE2\x82" "z";
  ls_text_index idx = idx_of(s);
  assert_int_equal(ls_text_pos_of(&idx, 5, LS_POS_UTF16).col, 5);
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){0, 5}, LS_POS_UTF16), 5);
  ls_text_index_deinit(&idx);
}

static void test_clamping(void **state) {
  (void)state;
  const char *s = "ab\r\ncd";
  ls_text_index idx = idx_of(s);
  /* Past the end of a line: the line end, before its break. */
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){0, 99}, LS_POS_UTF16), 2);
  /* Past the last line: the end of the text. */
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){7, 0}, LS_POS_UTF16), 6);
  /* Past the end of the text. */
  ls_pos p = ls_text_pos_of(&idx, 1000, LS_POS_UTF16);
  assert_int_equal(p.line, 1);
  assert_int_equal(p.col, 2);
  ls_text_index_deinit(&idx);
}

static void test_empty_and_trailing_newline(void **state) {
  (void)state;
  ls_text_index idx = idx_of("");
  assert_int_equal(idx.n_lines, 1);
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){0, 0}, LS_POS_UTF16), 0);
  ls_text_index_deinit(&idx);
  idx = idx_of("x\n");
  assert_int_equal(idx.n_lines, 2);
  ls_pos p = ls_text_pos_of(&idx, 2, LS_POS_UTF16);
  assert_int_equal(p.line, 1);
  assert_int_equal(p.col, 0);
  ls_text_index_deinit(&idx);
}

static void test_many_lines_grow(void **state) {
  (void)state;
  char buf[3000];
  for (int i = 0; i < 1000; i++) { buf[3 * i] = 'a'; buf[3 * i + 1] = 'b'; buf[3 * i + 2] = '\n'; }
  buf[2999] = '\0';
  ls_text_index idx = idx_of(buf);
  assert_int_equal(idx.n_lines, 1000);
  ls_pos p = ls_text_pos_of(&idx, 3 * 777 + 1, LS_POS_UTF16);
  assert_int_equal(p.line, 777);
  assert_int_equal(p.col, 1);
  assert_int_equal(ls_text_offset_of(&idx, (ls_pos){500, 2}, LS_POS_UTF16), 1502);
  ls_text_index_deinit(&idx);
}

static void test_alloc_failure(void **state) {
  (void)state;
  ls_text_index idx;
  ls_alloc_fail_after(0);
  assert_int_equal(ls_text_index_init(&idx, "a\nb", 3), LS_ENOMEM);
  ls_alloc_fail_reset();
  /* Growth failure frees the first block (ASan checks the leak). */
  static char many[200];
  memset(many, '\n', sizeof many - 1);
  many[sizeof many - 1] = 0;
  ls_alloc_fail_after(1);
  assert_int_equal(ls_text_index_init(&idx, many, strlen(many)), LS_ENOMEM);
  ls_alloc_fail_reset();
}

/* Long lines carry marks (text.h): every position of a long line, in every encoding, must be
 * what the character-by-character definition gives. The text is built from pieces whose
 * characters and units are known by hand: a, é (2 bytes), € (3), 😀 (4 bytes, 2 UTF-16
 * units), a lone FF and a truncated E2 82 (one unit per byte), so the expected column of
 * every byte is counted while building, independently of text.c. */
typedef struct piece { const char *bytes; int n_chars; int char_len[2]; int u16[2]; } piece;

static void test_long_lines_marks(void **state) {
  (void)state;
  static const piece pieces[] = {
      {"a", 1, {1}, {1}},           {"\xC3\xA9", 1, {2}, {1}},        {"\xE2\x82\xAC", 1, {3}, {1}},
      {"\xF0\x9F\x98\x80", 1, {4}, {2}}, {"\xFF", 1, {1}, {1}},         {"\xE2\x82", 2, {1, 1}, {1, 1}},
  };
  enum { N = 20000 };
  char *text = ls_malloc(N * 4 + 64);
  /* Per byte: its line, the character start it belongs to, and the columns at that start. */
  uint32_t *line = ls_malloc((N * 4 + 64) * sizeof *line);
  size_t *cstart = ls_malloc((N * 4 + 64) * sizeof *cstart);
  uint32_t (*col)[3] = ls_malloc((N * 4 + 64) * sizeof *col);
  assert_non_null(text);
  assert_non_null(line);
  assert_non_null(cstart);
  assert_non_null(col);
  size_t n = 0;
  uint32_t ln = 0, c8 = 0, c16 = 0, c32 = 0;
  unsigned rnd = 12345;
  for (int i = 0; i < N; i++) {
    rnd = rnd * 1103515245u + 12345u;
    if (i == N / 3 || i == 2 * N / 3) { /* three long lines, the first ending in CRLF */
      const char *br = i == N / 3 ? "\r\n" : "\n";
      for (const char *b = br; *b; b++) { text[n] = *b; line[n] = ln; cstart[n] = n; col[n][0] = c8; col[n][1] = c16; col[n][2] = c32; n++; }
      ln++; c8 = c16 = c32 = 0;
      continue;
    }
    const piece *pc = &pieces[(rnd >> 16) % 6];
    size_t o = 0;
    for (int k = 0; k < pc->n_chars; k++) {
      size_t st = n;
      for (int b = 0; b < pc->char_len[k]; b++, o++) {
        text[n] = pc->bytes[o]; line[n] = ln; cstart[n] = st; col[n][0] = c8; col[n][1] = c16; col[n][2] = c32; n++;
      }
      c8 += (uint32_t)pc->char_len[k];
      c16 += (uint32_t)pc->u16[k];
      c32 += 1;
    }
  }
  text[n] = 0;
  ls_text_index idx;
  assert_int_equal(ls_text_index_init(&idx, text, n), LS_OK);
  assert_int_equal(idx.n_lines, 3);
  assert_true(idx.n_marks > 100);
  static const ls_pos_enc encs[] = {LS_POS_UTF8, LS_POS_UTF16, LS_POS_UTF32};
  for (size_t off = 0; off < n; off++) {
    int in_break = text[off] == '\r' || text[off] == '\n';
    for (int e = 0; e < 3; e++) {
      ls_pos p = ls_text_pos_of(&idx, off, encs[e]);
      assert_int_equal(p.line, line[off]);
      /* A line break reports the end of its line, which is where its columns were counted. */
      assert_int_equal(p.col, col[off][e]);
      if (in_break || cstart[off] != off) continue;
      /* offset_of is the inverse at every character start. */
      assert_int_equal(ls_text_offset_of(&idx, p, encs[e]), off);
    }
  }
  /* A UTF-16 column between the halves of a surrogate pair rounds down to the pair. */
  for (size_t off = 0; off + 4 <= n; off++) {
    if ((unsigned char)text[off] != 0xF0 || cstart[off] != off) continue;
    ls_pos p = {line[off], col[off][1] + 1};
    assert_int_equal(ls_text_offset_of(&idx, p, LS_POS_UTF16), off);
  }
  ls_text_index_deinit(&idx);
  /* Out of memory while placing marks: LS_ENOMEM, nothing leaked (ASan). */
  ls_alloc_fail_after(1);
  assert_int_equal(ls_text_index_init(&idx, text, n), LS_ENOMEM);
  ls_alloc_fail_reset();
  ls_free(text);
  ls_free(line);
  ls_free(cstart);
  ls_free(col);
}

static void test_splice(void **state) {
  (void)state;
  char *out;
  size_t n;
  assert_int_equal(ls_text_splice("hello world", 11, 6, 11, "there", 5, &out, &n), LS_OK);
  assert_string_equal(out, "hello there");
  assert_int_equal(n, 11);
  ls_free(out);
  assert_int_equal(ls_text_splice("abc", 3, 0, 0, "", 0, &out, &n), LS_OK);
  assert_string_equal(out, "abc");
  ls_free(out);
  assert_int_equal(ls_text_splice("abc", 3, 2, 1, "", 0, &out, &n), LS_EINVAL);
  assert_int_equal(ls_text_splice("abc", 3, 1, 4, "", 0, &out, &n), LS_EINVAL);
}

static void test_utf8_clip_and_repair(void **state) {
  (void)state;
  const char *s = "a\xC3\xA9\xE2\x89\xA0\xF0\x9F\x98\x80z"; /* a é ≠ 😀 z: 1+2+3+4+1 bytes */
  size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11, 11};
  for (size_t max = 0; max < sizeof want / sizeof want[0]; max++) assert_int_equal(ls_utf8_clip(s, max), want[max]);
  assert_int_equal(ls_utf8_char_len(s + 1, 2), 2);
  assert_int_equal(ls_utf8_char_len(s + 1, 1), 0); /* cut */
  assert_int_equal(ls_utf8_char_len(s + 2, 5), 0); /* a continuation byte */
  char cut[] = "ab\xE2\x89";                       /* ≠ cut after 2 of its 3 bytes */
  assert_string_equal(ls_utf8_repair(cut), "ab");
  char stray[] = "a\xFF" "b\xC3(\xE2\x89\xA0";       /* invalid byte, a lead byte without continuation */
  assert_string_equal(ls_utf8_repair(stray), "a?b?(\xE2\x89\xA0");
  char ok[] = "\xF0\x9F\x98\x80 fine";
  assert_string_equal(ls_utf8_repair(ok), "\xF0\x9F\x98\x80 fine");
  char surrogate[] = "\xED\xA0\x80x";              /* U+D800 encoded: not valid UTF-8 */
  assert_string_equal(ls_utf8_repair(surrogate), "???x");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_line_breaks),       cmocka_unit_test(test_surrogate_pairs),
      cmocka_unit_test(test_utf8_two_and_three_bytes), cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_clamping),          cmocka_unit_test(test_empty_and_trailing_newline),
      cmocka_unit_test(test_many_lines_grow),   cmocka_unit_test(test_alloc_failure),
      cmocka_unit_test(test_splice),            cmocka_unit_test(test_utf8_clip_and_repair),
      cmocka_unit_test(test_splice),            cmocka_unit_test(test_long_lines_marks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
