/* fuzz_tokenize.c: libFuzzer target for encoding arbitrary text (core/text): byte 0 picks
 * one of three fixed tokenizers built at start-up, the rest is the text (repaired to UTF-8
 * as the CLI does):
 *   0  byte-level BPE with the whole 256-byte alphabet, Llama 3's split pattern (PCRE2) and
 *      special tokens: decoding the ids must give back the text exactly, byte for byte;
 *   1  SentencePiece-style BPE (Prepend/Replace normalizer, byte fallback for all 256
 *      bytes, <s> template, Llama 2's decoder chain): ids in range, decoded text valid;
 *   2  BERT WordPiece (BertNormalizer, BertPreTokenizer, [CLS] A [SEP]): the same.
 * Long runs without spaces, whitespace runs and special-token look-alikes come from the
 * dictionary and mutations; the per-input timeout catches anything super-linear. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/text/tokenizer.h"
#include "fuzz/fuzz_common.h"

static ls_tok *g_tok[3];

static void fail(const char *what, const char *msg) {
  fprintf(stderr, "fuzz invariant broken: %s (%s)\n", what, msg);
  abort();
}

/* GPT-2's byte -> character map (bytes_to_unicode). */
static uint32_t byte_cp(int b) {
  if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
  int n = 0;
  for (int i = 0; i < b; i++)
    if (!((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF))) n++;
  return 256u + (uint32_t)n;
}

static void utf8(uint32_t cp, char *o) {
  if (cp < 0x80) { o[0] = (char)cp; o[1] = 0; }
  else { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); o[2] = 0; }
}

static ls_tok *build(json_t *doc) {
  char *s = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  ls_diag d;
  ls_diag_init(&d);
  ls_tok *t = NULL;
  if (!s || ls_tok_load_json(s, strlen(s), &t, &d) != LS_OK) fail("a fixed tokenizer does not load", d.msg);
  free(s);
  return t;
}

static json_t *added(const char *content, int id) {
  return json_pack("{s:i,s:s,s:b,s:b,s:b,s:b,s:b}", "id", id, "content", content, "single_word", 0, "lstrip", 0,
                   "rstrip", 0, "normalized", 0, "special", 1);
}

static void setup(void) {
  fuzz_setup();
  /* 0: byte-level */
  json_t *vocab = json_object();
  char c[4];
  for (int b = 0; b < 256; b++) { utf8(byte_cp(b), c); json_object_set_new(vocab, c, json_integer(b)); }
  const char *extra[] = {"\xC4\xA0t", "he", "\xC4\xA0the", "in", "\xC4\xA0\xC4\xA0", "12"};
  for (int i = 0; i < 6; i++) json_object_set_new(vocab, extra[i], json_integer(256 + i));
  json_t *bl = json_pack("{s:s,s:[o,o],s:n,s:{s:s,s:[{s:s,s:{s:s},s:s,s:b},{s:s,s:b,s:b,s:b}]},s:{s:s},s:{s:s},"
                         "s:{s:s,s:o,s:[s,s,s,s,s,s],s:b}}",
    "version", "1.0", "added_tokens", added("<|end|>", 262), added("<|start|>", 263), "normalizer",
    "pre_tokenizer", "type", "Sequence", "pretokenizers", "type", "Split", "pattern", "Regex",
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    "behavior", "Isolated", "invert", 0, "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 0,
    "post_processor", "type", "ByteLevel", "decoder", "type", "ByteLevel",
    "model", "type", "BPE", "vocab", vocab, "merges", "\xC4\xA0 t", "h e", "\xC4\xA0t he", "i n", "\xC4\xA0 \xC4\xA0", "1 2",
    "ignore_merges", 1);
  g_tok[0] = build(bl);
  /* 1: SentencePiece-style with byte fallback */
  vocab = json_object();
  json_object_set_new(vocab, "<unk>", json_integer(0));
  json_object_set_new(vocab, "<s>", json_integer(1));
  for (int b = 0; b < 256; b++) { char n[8]; snprintf(n, sizeof n, "<0x%02X>", b); json_object_set_new(vocab, n, json_integer(2 + b)); }
  const char *sp[] = {"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab", "\xE2\x96\x81" "ab"};
  for (int i = 0; i < 6; i++) json_object_set_new(vocab, sp[i], json_integer(258 + i));
  json_t *spj = json_pack("{s:[o,o],s:{s:s,s:[{s:s,s:s},{s:s,s:{s:s},s:s}]},s:n,"
                          "s:{s:s,s:[{s:{s:s,s:i}},{s:{s:s,s:i}}],s:{s:{s:s,s:[i],s:[s]}}},"
                          "s:{s:s,s:[{s:s,s:{s:s},s:s},{s:s},{s:s},{s:s,s:s,s:i,s:i}]},"
                          "s:{s:s,s:s,s:b,s:b,s:o,s:[s,s,s]}}",
    "added_tokens", added("<unk>", 0), added("<s>", 1),
    "normalizer", "type", "Sequence", "normalizers", "type", "Prepend", "prepend", "\xE2\x96\x81",
    "type", "Replace", "pattern", "String", " ", "content", "\xE2\x96\x81", "pre_tokenizer",
    "post_processor", "type", "TemplateProcessing", "single", "SpecialToken", "id", "<s>", "type_id", 0,
    "Sequence", "id", "A", "type_id", 0, "special_tokens", "<s>", "id", "<s>", "ids", 1, "tokens", "<s>",
    "decoder", "type", "Sequence", "decoders", "type", "Replace", "pattern", "String", "\xE2\x96\x81", "content", " ",
    "type", "ByteFallback", "type", "Fuse", "type", "Strip", "content", " ", "start", 1, "stop", 0,
    "model", "type", "BPE", "unk_token", "<unk>", "fuse_unk", 1, "byte_fallback", 1, "vocab", vocab,
    "merges", "\xE2\x96\x81 a", "a b", "\xE2\x96\x81" "a b");
  g_tok[1] = build(spj);
  /* 2: BERT */
  vocab = json_object();
  const char *wp[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "!", "a", "##b", "caf", "##e"};
  for (int i = 0; i < 12; i++) json_object_set_new(vocab, wp[i], json_integer(i));
  json_t *bert = json_pack("{s:[o,o],s:{s:s},s:{s:s},s:{s:s,s:[s,i],s:[s,i]},s:{s:s},s:{s:s,s:o}}",
    "added_tokens", added("[CLS]", 2), added("[SEP]", 3), "normalizer", "type", "BertNormalizer",
    "pre_tokenizer", "type", "BertPreTokenizer", "post_processor", "type", "BertProcessing", "sep", "[SEP]", 3,
    "cls", "[CLS]", 2, "decoder", "type", "WordPiece", "model", "type", "WordPiece", "vocab", vocab);
  g_tok[2] = build(bert);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_tok[0]) setup();
  if (size == 0) return 0;
  int which = data[0] % 3;
  char *s;
  size_t n;
  if (ls_tok_utf8_lossy((const char *)data + 1, size - 1, &s, &n, NULL) != LS_OK) return 0;
  ls_tok *t = g_tok[which];
  uint32_t *ids = NULL;
  size_t m = 0;
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_tok_encode(t, s, n, 1, &ids, &m, &d);
  if (rc != LS_OK && rc != LS_ENOMEM && rc != LS_ELIMIT) fail("encode of valid UTF-8 failed", d.msg);
  if (rc == LS_OK) {
    size_t vs = ls_tok_vocab_size(t);
    for (size_t i = 0; i < m; i++)
      if (ids[i] >= vs) fail("an id outside the vocabulary", "");
    char *text = NULL;
    size_t len = 0;
    ls_diag_init(&d);
    if (ls_tok_decode(t, ids, m, 0, &text, &len, &d) != LS_OK) fail("decode of encoded ids failed", d.msg);
    if (which == 0 && (len != n || memcmp(text, s, n) != 0)) fail("byte-level BPE did not round-trip", s);
    ls_free(text);
  }
  ls_free(ids);
  ls_free(s);
  return 0;
}
