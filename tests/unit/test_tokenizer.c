/* test_tokenizer.c: the tokenizer core (core/text) on small tokenizer.json documents whose
 * answers are worked out by hand from Hugging Face's rules: BPE merges by rank (not by
 * position), byte fallback and fused unk, added tokens (leftmost-longest, lstrip/rstrip,
 * single_word, normalized vs raw), WordPiece's greedy longest match, Metaspace, the
 * template post-processor, decoders, the Oniguruma-to-PCRE2 pattern translation, UTF-8
 * repair by maximal subparts, errors that name the unsupported feature, a megabyte-long
 * word (the heap keeps BPE at O(n log n)), and allocation failures at every step. The
 * comparison with the reference implementation itself is tests/tokenizers/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tokenizer.h"

static ls_tok *load(const char *json) {
  ls_diag d;
  ls_diag_init(&d);
  ls_tok *t = NULL;
  int rc = ls_tok_load_json(json, strlen(json), &t, &d);
  if (rc) fprintf(stderr, "load failed: %s\n", d.msg);
  assert_int_equal(rc, LS_OK);
  return t;
}

static int load_err(const char *json, const char *needle) {
  ls_diag d;
  ls_diag_init(&d);
  ls_tok *t = NULL;
  int rc = ls_tok_load_json(json, strlen(json), &t, &d);
  assert_null(t);
  if (!strstr(d.msg, needle)) fprintf(stderr, "message '%s' lacks '%s'\n", d.msg, needle);
  assert_non_null(strstr(d.msg, needle));
  return rc;
}

/* Encodes and compares with the expected ids, given as "1,2,3". */
static void expect_ids(ls_tok *t, const char *text, int special, const char *want) {
  uint32_t *ids;
  size_t n;
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_tok_encode(t, text, strlen(text), special, &ids, &n, &d);
  if (rc) fprintf(stderr, "encode failed: %s\n", d.msg);
  assert_int_equal(rc, LS_OK);
  char got[4096] = "";
  size_t o = 0;
  for (size_t i = 0; i < n && o < sizeof got - 16; i++) o += (size_t)snprintf(got + o, sizeof got - o, "%s%u", i ? "," : "", ids[i]);
  if (strcmp(got, want) != 0) fprintf(stderr, "'%s': got %s, want %s\n", text, got, want);
  assert_string_equal(got, want);
  ls_free(ids);
}

static void expect_decode(ls_tok *t, const uint32_t *ids, size_t n, int skip, const char *want) {
  char *s;
  size_t len;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_tok_decode(t, ids, n, skip, &s, &len, &d), LS_OK);
  assert_int_equal(len, strlen(want));
  assert_memory_equal(s, want, len);
  ls_free(s);
}

/* ---- BPE --------------------------------------------------------------------------- */

/* Merges go by rank: "b c" (rank 0) beats "a b" (rank 1) although "a b" comes first in the
 * word, then "a bc" makes "abc". Position breaks ties between equal ranks. */
static const char *k_bpe =
  "{\"version\":\"1.0\",\"added_tokens\":[],\"normalizer\":null,"
  "\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},\"post_processor\":null,\"decoder\":null,"
  "\"model\":{\"type\":\"BPE\",\"unk_token\":\"?\",\"fuse_unk\":true,"
  "\"vocab\":{\"?\":0,\"a\":1,\"b\":2,\"c\":3,\"ab\":4,\"bc\":5,\"abc\":6,\"aa\":7},"
  "\"merges\":[\"b c\",\"a b\",\"a bc\",\"a a\"]}}";

static void test_bpe_rank_order(void **state) {
  (void)state;
  ls_tok *t = load(k_bpe);
  expect_ids(t, "abc", 1, "6");
  expect_ids(t, "ab", 1, "4");
  expect_ids(t, "cab", 1, "3,4");
  /* "aaa": the pair at position 0 wins the tie, leaving "aa a" */
  expect_ids(t, "aaa", 1, "7,1");
  /* unknown characters fuse into one unk; split on whitespace */
  expect_ids(t, "axyzb c", 1, "1,0,2,3");
  expect_ids(t, "", 1, "");
  assert_int_equal(ls_tok_vocab_size(t), 8);
  size_t len;
  assert_string_equal(ls_tok_token(t, 6, &len), "abc");
  assert_null(ls_tok_token(t, 99, &len));
  /* no decoder: tokens joined by spaces; an unknown id is an error naming it */
  uint32_t ids[] = {6, 1};
  expect_decode(t, ids, 2, 0, "abc a");
  uint32_t bad = 99;
  char *s;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_tok_decode(t, &bad, 1, 0, &s, &len, &d), LS_ENOENT);
  assert_non_null(strstr(d.msg, "99"));
  ls_tok_free(t);
}

/* SentencePiece style (Llama 2): the normalizer prepends and replaces spaces by U+2581,
 * unknown characters fall back to their bytes, the template adds <s>, and the decoder
 * undoes it all. */
static const char *k_sp =
  "{\"version\":\"1.0\",\"added_tokens\":["
  "{\"id\":0,\"content\":\"<unk>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
  "{\"id\":1,\"content\":\"<s>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
  "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"},"
  "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"}]},"
  "\"pre_tokenizer\":null,"
  "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
  "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}},"
  "\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\\u2581\"},\"content\":\" \"},"
  "{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]},"
  "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"fuse_unk\":true,\"byte_fallback\":true,"
  "\"vocab\":{\"<unk>\":0,\"<s>\":1,\"<0xC3>\":2,\"<0xA9>\":3,\"\\u2581\":4,\"h\":5,\"i\":6,\"\\u2581h\":7,\"\\u2581hi\":8},"
  "\"merges\":[\"\\u2581 h\",\"\\u2581h i\"]}}";

static void test_sentencepiece_byte_fallback(void **state) {
  (void)state;
  ls_tok *t = load(k_sp);
  expect_ids(t, "hi", 1, "1,8");
  expect_ids(t, "hi", 0, "8");
  /* "é" is not in the vocabulary: its two bytes */
  expect_ids(t, "hi \xC3\xA9", 1, "1,8,4,2,3");
  /* the added token splits the text; each side is normalized on its own */
  expect_ids(t, "hi<s>hi", 1, "1,8,1,8");
  expect_ids(t, "", 1, "1");
  uint32_t ids[] = {1, 8, 4, 2, 3};
  expect_decode(t, ids, 5, 0, "<s> hi \xC3\xA9");
  expect_decode(t, ids, 5, 1, "hi \xC3\xA9");
  /* a lone byte of a two-byte character decodes to U+FFFD */
  uint32_t lone[] = {2, 6};
  expect_decode(t, lone, 2, 0, "\xEF\xBF\xBDi");
  /* a lone "▁" decodes to nothing: the chain leaves every token empty (fuzz_tokjson found
   * the empty buffer read at a NULL base; fuzz/corpus/tokjson/regress-f30fdff8-*) */
  uint32_t space[] = {4, 4};
  expect_decode(t, space, 1, 0, "");
  expect_decode(t, space, 2, 0, " ");
  char *s;
  size_t len;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_tok_decode_one(t, 7, &s, &len, &d), LS_OK);
  assert_string_equal(s, "h"); /* the first token's space is stripped, as the reference does */
  ls_free(s);
  assert_true(ls_tok_is_special(t, 1));
  assert_false(ls_tok_is_special(t, 8));
  ls_tok_free(t);
}

/* A SentencePiece-style model merges its whole text as one word; it may be cut before each
 * "▁" only when no token holds "▁" after another character. Here "h▁" is a token, so the
 * merge across "h|▁" must still happen: "h h" -> "▁h▁h" -> ▁, h▁, h. */
static void test_sentencepiece_inner_space_token(void **state) {
  (void)state;
  ls_tok *t = load(
    "{\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"},"
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"}]},"
    "\"model\":{\"type\":\"BPE\",\"unk_token\":\"?\",\"vocab\":{\"?\":0,\"\\u2581\":1,\"h\":2,\"h\\u2581\":3},"
    "\"merges\":[\"h \\u2581\"]}}");
  expect_ids(t, "h h", 1, "1,3,2");
  ls_tok_free(t);
  /* without that token the cut is taken, and "▁hi" repeated comes from the word cache */
  t = load(k_sp);
  expect_ids(t, "hi hi hi", 0, "8,8,8");
  ls_tok_free(t);
}

/* Byte-level BPE (GPT-2): every byte is a character of the vocabulary; the GPT-2 pattern
 * splits " world" with its space, which becomes "Ġ". */
static const char *k_bytelevel =
  "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":9,\"content\":\"<|end|>\",\"single_word\":false,\"lstrip\":false,"
  "\"rstrip\":false,\"normalized\":false,\"special\":true}],\"normalizer\":null,"
  "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true},"
  "\"post_processor\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":false,\"use_regex\":true},"
  "\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true},"
  "\"model\":{\"type\":\"BPE\",\"vocab\":{\"w\":0,\"o\":1,\"\\u0120\":2,\"\\u0120w\":3,\"\\u0120wo\":4,\"!\":5,\"\\u00c3\":6,\"\\u00a9\":7,\"\\u00c3\\u00a9\":8},"
  "\"merges\":[\"\\u0120 w\",\"\\u0120w o\",\"\\u00c3 \\u00a9\"]}}";

static void test_bytelevel(void **state) {
  (void)state;
  ls_tok *t = load(k_bytelevel);
  expect_ids(t, "wo wo!", 1, "0,1,4,5");
  expect_ids(t, "\xC3\xA9", 1, "8");
  expect_ids(t, "wo<|end|>wo", 1, "0,1,9,0,1");
  uint32_t ids[] = {0, 1, 4, 5, 8, 9};
  expect_decode(t, ids, 6, 0, "wo wo!\xC3\xA9<|end|>");
  expect_decode(t, ids, 6, 1, "wo wo!\xC3\xA9");
  char *s;
  size_t len;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_tok_decode_one(t, 4, &s, &len, &d), LS_OK);
  assert_string_equal(s, " wo");
  ls_free(s);
  ls_tok_free(t);
}

/* ---- added tokens ------------------------------------------------------------------ */

static void test_added_tokens(void **state) {
  (void)state;
  /* ids: "<a>" and "<ab>" are new (after the vocabulary's 3 entries), "x" is in it */
  ls_tok *t = load(
    "{\"added_tokens\":["
    "{\"id\":3,\"content\":\"<a>\",\"single_word\":false,\"lstrip\":true,\"rstrip\":false,\"normalized\":false,\"special\":true},"
    "{\"id\":4,\"content\":\"<a>b\",\"single_word\":false,\"lstrip\":false,\"rstrip\":true,\"normalized\":false,\"special\":false},"
    "{\"id\":5,\"content\":\"x\",\"single_word\":true,\"lstrip\":false,\"rstrip\":false,\"normalized\":true,\"special\":false}],"
    "\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},"
    "\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"?\",\"vocab\":{\"?\":0,\"x\":1,\"b\":2}}}");
  /* leftmost-longest: "<a>b" beats "<a>"; rstrip takes the spaces after it */
  expect_ids(t, "b <a>b  b", 1, "2,4,2");
  /* lstrip takes the spaces before "<a>" */
  expect_ids(t, "b   <a>", 1, "2,3");
  /* single_word: "x" only where it is not inside a word */
  expect_ids(t, "x bxb x", 1, "1,0,1");
  assert_int_equal(ls_tok_vocab_size(t), 5);
  uint32_t id;
  assert_int_equal(ls_tok_token_id(t, "<a>b", 4, &id), LS_OK);
  assert_int_equal(id, 4);
  ls_tok_free(t);
}

/* ---- WordPiece, BERT --------------------------------------------------------------- */

static void test_wordpiece_bert(void **state) {
  (void)state;
  ls_tok *t = load(
    "{\"added_tokens\":[{\"id\":2,\"content\":\"[CLS]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
    "{\"id\":3,\"content\":\"[SEP]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
    "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
    "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
    "\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",3],\"cls\":[\"[CLS]\",2]},"
    "\"decoder\":{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true},"
    "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":10,"
    "\"vocab\":{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"un\":4,\"##aff\":5,\"##able\":6,\"!\":7,\"\\u4e2d\":8,\"cafe\":9}}}");
  /* greedy longest match; lowercase and accents stripped; punctuation split off */
  expect_ids(t, "Unaffable!", 1, "2,4,5,6,7,3");
  expect_ids(t, "CAF\xC3\x89", 0, "9");
  /* a CJK ideograph is a word of its own; a word with an unmatched position is one [UNK] */
  expect_ids(t, "\xE4\xB8\xAD" "un", 0, "8,4");
  expect_ids(t, "unx", 0, "1");
  /* longer than max_input_chars_per_word */
  expect_ids(t, "unaffableunaffable", 0, "1");
  uint32_t ids[] = {2, 4, 5, 6, 7, 3};
  expect_decode(t, ids, 6, 1, "unaffable!");
  expect_decode(t, ids, 6, 0, "[CLS] unaffable! [SEP]");
  ls_tok_free(t);
}

/* ---- Metaspace, Split, regex translation ------------------------------------------- */

static void test_metaspace_and_split(void **state) {
  (void)state;
  ls_tok *t = load(
    "{\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"first\",\"split\":true},"
    "\"decoder\":{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"first\",\"split\":true},"
    "\"added_tokens\":[{\"id\":3,\"content\":\"<t>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
    "\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"?\",\"vocab\":{\"?\":0,\"\\u2581a\":1,\"a\":2,\"<t>\":3}}}");
  /* "first": only the piece at the start of the text gets the prefix */
  expect_ids(t, "a a", 1, "1,1");
  expect_ids(t, "<t>a", 1, "3,2");
  uint32_t ids[] = {1, 1};
  expect_decode(t, ids, 2, 0, "a a");
  ls_tok_free(t);

  /* Oniguruma's \s is White_Space: U+180E (a format character since Unicode 6.3) is not
   * one, though PCRE2's \s would match it; U+0085 is. Isolated keeps the delimiters. */
  t = load("{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s+\"},\"behavior\":\"Removed\",\"invert\":false},"
           "\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"?\",\"vocab\":{\"?\":0,\"a\":1,\"a\\u180eb\":2,\"b\":3}}}");
  expect_ids(t, "a\xE1\xA0\x8E" "b a\xC2\x85" "b", 1, "2,1,3");
  ls_tok_free(t);
  /* Ruby's \h is a hex digit; (?i) folds case */
  t = load("{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\h+|(?i:x)\"},\"behavior\":\"Isolated\",\"invert\":false},"
           "\"model\":{\"type\":\"WordLevel\",\"unk_token\":\"?\",\"vocab\":{\"?\":0,\"af09\":1,\"X\":2,\"g\":3}}}");
  expect_ids(t, "af09Xg", 1, "1,2,3");
  ls_tok_free(t);
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_errors_name_the_feature(void **state) {
  (void)state;
  assert_int_equal(load_err("{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", "model type 'Unigram' is not supported"), LS_EUNSUPPORTED);
  assert_int_equal(load_err("{\"normalizer\":{\"type\":\"Precompiled\"},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
                            "normalizer 'Precompiled'"), LS_EUNSUPPORTED);
  assert_int_equal(load_err("{\"pre_tokenizer\":{\"type\":\"FixedLength\"},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
                            "pre_tokenizer: pre-tokenizer 'FixedLength'"), LS_EUNSUPPORTED);
  assert_int_equal(load_err("{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"[^\\\\S]\"},"
                            "\"behavior\":\"Isolated\",\"invert\":false}]},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
                            "\\S inside a character class"), LS_EUNSUPPORTED);
  assert_int_equal(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", "vocab['a'] must be an id"), LS_EFORMAT);
  assert_int_equal(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a\"]}}", "model.merges[0]"), LS_EFORMAT);
  assert_int_equal(load_err("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[[\"a\",\"a\"]]}}",
                            "merged token 'aa' is not in the vocabulary"), LS_EFORMAT);
  assert_int_equal(load_err("{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}}],"
                            "\"special_tokens\":{}},\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}",
                            "special token '<s>' is missing"), LS_EFORMAT);
  assert_int_equal(load_err("[1,2]", "must be an object"), LS_EFORMAT);
  assert_int_equal(load_err("{\"model\":", "not valid JSON"), LS_EPARSE);
  assert_int_equal(load_err("{\"version\":\"2.0\",\"model\":{}}", "version '2.0'"), LS_EUNSUPPORTED);
  /* text that is not UTF-8 is refused by the core, naming the byte */
  ls_tok *t = load(k_bpe);
  uint32_t *ids;
  size_t n;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_tok_encode(t, "ab\xff", 3, 1, &ids, &n, &d), LS_EFORMAT);
  assert_non_null(strstr(d.msg, "byte 2"));
  ls_tok_free(t);
}

static void test_utf8_lossy(void **state) {
  (void)state;
  static const struct { const char *in; size_t n; const char *out; int64_t bad; } cases[] = {
    {"abc", 3, "abc", -1},
    {"a\xff" "b", 3, "a\xEF\xBF\xBD" "b", 1},
    {"\xF0\x9F\x98" "A", 4, "\xEF\xBF\xBD" "A", 0},                     /* truncated: one U+FFFD */
    {"\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 0},                     /* overlong: one per byte */
    {"\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 0},     /* surrogate */
    {"caf\xC3", 4, "caf\xEF\xBF\xBD", 3},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *o;
    size_t n;
    int64_t bad;
    assert_int_equal(ls_tok_utf8_lossy(cases[i].in, cases[i].n, &o, &n, &bad), LS_OK);
    assert_string_equal(o, cases[i].out);
    assert_int_equal(bad, cases[i].bad);
    ls_free(o);
  }
}

/* ---- scale and allocation failures ------------------------------------------------- */

static void test_megabyte_word(void **state) {
  (void)state;
  ls_tok *t = load(k_bpe);
  size_t n = 1 << 20;
  char *s = ls_malloc(n + 1);
  for (size_t i = 0; i < n; i++) s[i] = "abc"[i % 3];
  s[n] = 0;
  uint32_t *ids;
  size_t m;
  ls_diag d;
  ls_diag_init(&d);
  clock_t c0 = clock();
  assert_int_equal(ls_tok_encode(t, s, n, 1, &ids, &m, &d), LS_OK);
  double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
  /* "abc" repeated: every "abc" merges into one token */
  assert_int_equal(m, (n + 2) / 3);
  assert_int_equal(ids[0], 6);
  assert_true(secs < 20.0); /* O(n log n): well under a second in a release build */
  ls_free(ids);
  ls_free(s);
  ls_tok_free(t);
}

static void test_alloc_failures(void **state) {
  (void)state;
  const char *docs[] = {k_bpe, k_sp, k_bytelevel};
  for (size_t k = 0; k < 3; k++) {
    for (long fail = 0;; fail++) {
      ls_alloc_fail_after(fail);
      ls_diag d;
      ls_diag_init(&d);
      ls_tok *t = NULL;
      int rc = ls_tok_load_json(docs[k], strlen(docs[k]), &t, &d);
      uint32_t *ids = NULL;
      size_t n = 0;
      if (rc == LS_OK) rc = ls_tok_encode(t, "hi wo wo! abc \xC3\xA9", 16, 1, &ids, &n, &d);
      char *s = NULL;
      size_t len;
      if (rc == LS_OK) rc = ls_tok_decode(t, ids, n, 0, &s, &len, &d);
      ls_alloc_fail_reset();
      ls_free(s);
      ls_free(ids);
      ls_tok_free(t);
      if (rc == LS_OK) break;
      assert_true(rc == LS_ENOMEM || rc == LS_EPARSE); /* jansson's own allocations are not ours */
      assert_true(fail < 100000);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bpe_rank_order),          cmocka_unit_test(test_sentencepiece_byte_fallback),
    cmocka_unit_test(test_sentencepiece_inner_space_token),
    cmocka_unit_test(test_bytelevel),               cmocka_unit_test(test_added_tokens),
    cmocka_unit_test(test_wordpiece_bert),          cmocka_unit_test(test_metaspace_and_split),
    cmocka_unit_test(test_errors_name_the_feature), cmocka_unit_test(test_utf8_lossy),
    cmocka_unit_test(test_megabyte_word),           cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
