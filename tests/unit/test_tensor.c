/* test_tensor.c: unit tests of core/tensor's readers on hand-made bad files: every prefix
 * of valid safetensors/GGUF/npy files, header lengths beyond the file, out-of-range and
 * overlapping offsets, byte sizes that do not match dtype x shape, absurd dimension counts
 * and sizes, non-UTF-8 and duplicate names, GGUF counts of billions, unsupported types;
 * each must fail with the right code and a message naming the file and the tensor, never
 * crash or read outside the mapping (this runs under ASan in the asan build). Also: the
 * safetensors writer round trip, the scalar float conversions against published bit
 * patterns, partial-block reads and allocation-failure injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/tensor/tensor.h"

static char g_dir[256];

static const char *tmp_path(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
  return buf[k];
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n) assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

/* A safetensors file from a header string and `data_len` bytes of data (value = index). */
static size_t make_st(unsigned char *out, const char *header, size_t hlen, size_t data_len) {
  for (int i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  memcpy(out + 8, header, hlen);
  for (size_t i = 0; i < data_len; i++) out[8 + hlen + i] = (unsigned char)i;
  return 8 + hlen + data_len;
}

/* Opens `path`, expects failure with `code` and a message containing `needle`. */
static void expect_fail(const char *path, int code, const char *needle) {
  ls_tfile *f = NULL;
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_tfile_open(path, &f, &d);
  if (rc == LS_OK) ls_tfile_close(f);
  if (rc != code || !strstr(d.msg, needle))
    fail_msg("%s: expected %s containing '%s', got %s: %s", path, ls_err_name(code), needle, ls_err_name(rc), d.msg);
  assert_null(f);
}

static void st_case(const char *header, size_t data_len, int code, const char *needle) {
  static unsigned char buf[1 << 16];
  size_t n = make_st(buf, header, strlen(header), data_len);
  const char *p = tmp_path("case.safetensors");
  write_bytes(p, buf, n);
  expect_fail(p, code, needle);
}

static const char k_good_st[] =
    "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
    "\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}";

static void test_st_good(void **state) {
  (void)state;
  unsigned char buf[1024];
  size_t n = make_st(buf, k_good_st, strlen(k_good_st), 32);
  const char *p = tmp_path("good.safetensors");
  write_bytes(p, buf, n);
  ls_tfile *f;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_tfile_open(p, &f, &d), LS_OK);
  assert_int_equal(ls_tfile_count(f), 2);
  assert_string_equal(ls_tfile_at(f, 0)->name, "a"); /* file order = data order */
  const ls_tensor *b = ls_tfile_find(f, "b");
  assert_non_null(b);
  assert_int_equal(b->ndim, 2);
  assert_int_equal(b->shape[1], 3);
  assert_int_equal(b->nbytes, 24);
  assert_ptr_equal(b->data, (const unsigned char *)ls_tfile_at(f, 0)->data + 8);
  const char *fmt;
  assert_int_equal(ls_tfile_meta_str(f, "format", &fmt), LS_OK);
  assert_string_equal(fmt, "pt");
  assert_null(ls_tfile_find(f, "zzz"));
  ls_tfile_close(f);
}

/* A header length whose low byte is '{' (123) must not be taken for an index file. */
static void test_st_brace_length(void **state) {
  (void)state;
  char h[124];
  const char *j = "{\"w\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}";
  memset(h, ' ', sizeof h);
  memcpy(h, j, strlen(j));
  h[123] = 0;
  unsigned char buf[256];
  size_t n = make_st(buf, h, 123, 3);
  assert_int_equal(buf[0], '{');
  write_bytes(tmp_path("brace.safetensors"), buf, n);
  ls_tfile *f;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_tfile_open(tmp_path("brace.safetensors"), &f, &d) != LS_OK) fail_msg("%s", d.msg);
  assert_int_equal(ls_tfile_format_of(f), LS_TF_SAFETENSORS);
  ls_tfile_close(f);
}

/* Every strict prefix of a valid file is an error, and never a crash. */
static void test_st_prefixes(void **state) {
  (void)state;
  unsigned char buf[1024];
  size_t n = make_st(buf, k_good_st, strlen(k_good_st), 32);
  const char *p = tmp_path("prefix.safetensors");
  for (size_t len = 0; len < n; len++) {
    write_bytes(p, buf, len);
    ls_tfile *f = NULL;
    ls_diag d;
    ls_diag_init(&d);
    int rc = ls_tfile_open(p, &f, &d);
    if (rc == LS_OK) fail_msg("prefix of %zu bytes accepted", len);
    assert_non_null(strstr(d.msg, "prefix.safetensors"));
  }
}

static void test_st_bad(void **state) {
  (void)state;
  unsigned char buf[64];
  /* header length beyond the file */
  for (int i = 0; i < 8; i++) buf[i] = 0;
  buf[0] = 0xff;
  buf[1] = 0xff;
  memcpy(buf + 8, "{}", 2);
  write_bytes(tmp_path("hl.safetensors"), buf, 10);
  expect_fail(tmp_path("hl.safetensors"), LS_ETRUNC, "beyond the file size");
  memset(buf, 0xff, 8); /* 2^64-1: must not overflow the check */
  write_bytes(tmp_path("hl2.safetensors"), buf, 10);
  expect_fail(tmp_path("hl2.safetensors"), LS_ETRUNC, "beyond the file size");
  st_case("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1000]}}", 16, LS_ETRUNC, "'w': data_offsets end 1000 is beyond");
  st_case("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"v\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
          24, LS_EFORMAT, "overlaps");
  st_case("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16, LS_ESHAPE, "'w': 12 bytes stored but F32 x shape needs 16");
  st_case("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, LS_ELIMIT, "'w': 9 dimensions");
  st_case("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, LS_EOVERFLOW,
          "'w': shape overflows");
  st_case("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, LS_EFORMAT, "shape[0] is not a non-negative");
  st_case("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, LS_EFORMAT, "not 0 <= begin <= end");
  st_case("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
          8, LS_EFORMAT, "duplicate");
  st_case("{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, LS_EFORMAT, "header JSON");
  st_case("{\"w\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, LS_EUNSUPPORTED, "'w': unsupported dtype \"Q9\"");
  st_case("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, LS_EFORMAT, "'w': missing or non-string \"dtype\"");
  st_case("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, LS_EFORMAT, "\"data_offsets\" is not");
  st_case("[1,2]", 0, LS_EFORMAT, "not a JSON object");
  st_case("{\"w\":", 0, LS_EFORMAT, "header JSON");
  write_bytes(tmp_path("empty.safetensors"), "", 0);
  expect_fail(tmp_path("empty.safetensors"), LS_ETRUNC, "too short");
  expect_fail(tmp_path("missing.safetensors"), LS_ENOENT, "missing.safetensors");
}

static void test_index(void **state) {
  (void)state;
  unsigned char buf[1024];
  const char *h1 = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  write_bytes(tmp_path("s1.safetensors"), buf, make_st(buf, h1, strlen(h1), 8));
  write_bytes(tmp_path("s2.safetensors"), buf, make_st(buf, h1, strlen(h1), 8));
  const char *dup = "{\"weight_map\":{\"x\":\"s1.safetensors\",\"y\":\"s2.safetensors\"}}";
  write_bytes(tmp_path("dup.index.json"), dup, strlen(dup));
  expect_fail(tmp_path("dup.index.json"), LS_EFORMAT, "duplicate tensor name 'x'");
  const char *miss = "{\"weight_map\":{\"x\":\"nope.safetensors\"}}";
  write_bytes(tmp_path("miss.index.json"), miss, strlen(miss));
  expect_fail(tmp_path("miss.index.json"), LS_ENOENT, "nope.safetensors");
  const char *trav = "{\"weight_map\":{\"x\":\"../etc/passwd\"}}";
  write_bytes(tmp_path("trav.index.json"), trav, strlen(trav));
  expect_fail(tmp_path("trav.index.json"), LS_EFORMAT, "must be a relative path");
  const char *absent = "{\"weight_map\":{\"x\":\"s1.safetensors\",\"q\":\"s1.safetensors\"}}";
  write_bytes(tmp_path("absent.index.json"), absent, strlen(absent));
  expect_fail(tmp_path("absent.index.json"), LS_EFORMAT, "tensor 'q' is listed in shard s1.safetensors but not found");
  const char *ok = "{\"weight_map\":{\"x\":\"s1.safetensors\"}}";
  write_bytes(tmp_path("ok.index.json"), ok, strlen(ok));
  ls_tfile *f;
  assert_int_equal(ls_tfile_open(tmp_path("ok.index.json"), &f, NULL), LS_OK);
  assert_int_equal(ls_tfile_count(f), 1);
  assert_int_equal(ls_tfile_format_of(f), LS_TF_SHARDED);
  ls_tfile_close(f);
}

/* ------------------------------------------------------------------ GGUF */

typedef struct gbuf { unsigned char b[8192]; size_t n; } gbuf;
static void g_u32(gbuf *g, uint32_t v) { for (int i = 0; i < 4; i++) g->b[g->n++] = (unsigned char)(v >> (8 * i)); }
static void g_u64(gbuf *g, uint64_t v) { for (int i = 0; i < 8; i++) g->b[g->n++] = (unsigned char)(v >> (8 * i)); }
static void g_str(gbuf *g, const char *s) { g_u64(g, strlen(s)); memcpy(g->b + g->n, s, strlen(s)); g->n += strlen(s); }
static void g_pad(gbuf *g, size_t a) { while (g->n % a) g->b[g->n++] = 0; }

/* A GGUF with one kv (general.architecture=llama) and the given tensor infos, data of
 * data_len bytes after 32-byte alignment. */
static void gguf_start(gbuf *g, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
  g->n = 0;
  memcpy(g->b, "GGUF", 4);
  g->n = 4;
  g_u32(g, version);
  g_u64(g, n_tensors);
  g_u64(g, n_kv);
}
static void gguf_tensor(gbuf *g, const char *name, int nd, const uint64_t *ne, uint32_t type, uint64_t off) {
  g_str(g, name);
  g_u32(g, (uint32_t)nd);
  for (int i = 0; i < nd; i++) g_u64(g, ne[i]);
  g_u32(g, type);
  g_u64(g, off);
}
static void gguf_case(gbuf *g, size_t data_len, int code, const char *needle) {
  g_pad(g, 32);
  memset(g->b + g->n, 0, data_len);
  g->n += data_len;
  write_bytes(tmp_path("case.gguf"), g->b, g->n);
  expect_fail(tmp_path("case.gguf"), code, needle);
}

static void gguf_good(gbuf *g) {
  gguf_start(g, 3, 2, 1);
  g_str(g, "general.architecture");
  g_u32(g, 8);
  g_str(g, "llama");
  uint64_t ne[2] = {32, 2};
  gguf_tensor(g, "blk.0.ffn_down.weight", 2, ne, 8 /* q8_0 */, 0);
  gguf_tensor(g, "output_norm.weight", 1, ne, 0 /* f32 */, 96);
  g_pad(g, 32);
  for (int i = 0; i < 96 + 128; i++) g->b[g->n++] = (unsigned char)(i % 7);
}

static void test_gguf_good_and_prefixes(void **state) {
  (void)state;
  gbuf g;
  gguf_good(&g);
  write_bytes(tmp_path("good.gguf"), g.b, g.n);
  ls_tfile *f;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(ls_tfile_open(tmp_path("good.gguf"), &f, &d), LS_OK);
  const ls_tensor *t = ls_tfile_find(f, "model.layers.0.mlp.down_proj.weight");
  assert_non_null(t);
  assert_string_equal(t->stored_name, "blk.0.ffn_down.weight");
  assert_int_equal(t->shape[0], 2); /* ne reversed */
  assert_int_equal(t->shape[1], 32);
  assert_int_equal(t->dtype, LS_DT_Q8_0);
  assert_int_equal(t->nbytes, 68);
  assert_non_null(ls_tfile_find(f, "model.norm.weight"));
  /* partial-block reads agree with the whole-row decode */
  float row[32], part[7];
  assert_int_equal(ls_tensor_row_f32(t, 1, row, NULL), LS_OK);
  assert_int_equal(ls_tensor_read_f32(t, 32 + 5, 7, part, NULL), LS_OK);
  assert_memory_equal(part, row + 5, sizeof part);
  assert_int_not_equal(ls_tensor_read_f32(t, 60, 5, part, NULL), LS_OK);
  ls_tfile_close(f);
  for (size_t len = 0; len < g.n; len++) {
    write_bytes(tmp_path("prefix.gguf"), g.b, len);
    ls_tfile *p = NULL;
    if (ls_tfile_open(tmp_path("prefix.gguf"), &p, NULL) == LS_OK) fail_msg("GGUF prefix of %zu bytes accepted", len);
  }
}

/* Metadata arrays read in place (the tokenizer's tokens, scores and types): values as
 * written by hand in little-endian, strings walked in order, kinds checked. */
static void test_gguf_meta_arrays(void **state) {
  (void)state;
  gbuf g;
  gguf_start(&g, 3, 0, 4);
  g_str(&g, "tokenizer.ggml.tokens");
  g_u32(&g, 9);
  g_u32(&g, 8);
  g_u64(&g, 3);
  g_str(&g, "a");
  g_str(&g, "");
  g_str(&g, "\xe2\x96\x81" "b");
  g_str(&g, "tokenizer.ggml.scores");
  g_u32(&g, 9);
  g_u32(&g, 6); /* f32 */
  g_u64(&g, 2);
  g_u32(&g, 0x3fc00000u); /* 1.5 */
  g_u32(&g, 0xc0200000u); /* -2.5 */
  g_str(&g, "tokenizer.ggml.token_type");
  g_u32(&g, 9);
  g_u32(&g, 5); /* i32 */
  g_u64(&g, 2);
  g_u32(&g, 3);
  g_u32(&g, 0xffffffffu); /* -1 */
  g_str(&g, "general.name");
  g_u32(&g, 8);
  g_str(&g, "x");
  g_pad(&g, 32);
  write_bytes(tmp_path("arrays.gguf"), g.b, g.n);
  ls_tfile *f;
  assert_int_equal(ls_tfile_open(tmp_path("arrays.gguf"), &f, NULL), LS_OK);
  ls_meta_array a;
  assert_int_equal(ls_tfile_meta_array(f, "tokenizer.ggml.tokens", &a), LS_OK);
  assert_int_equal(a.item, LS_META_ITEM_STRING);
  assert_int_equal(a.n, 3);
  const char *want[] = {"a", "", "\xe2\x96\x81" "b"};
  uint64_t pos = 0;
  for (int i = 0; i < 3; i++) {
    const char *str;
    size_t n;
    assert_int_equal(ls_meta_array_next_str(&a, &pos, &str, &n), LS_OK);
    assert_int_equal(n, strlen(want[i]));
    assert_memory_equal(str, want[i], n);
  }
  const char *str;
  size_t n;
  assert_int_equal(ls_meta_array_next_str(&a, &pos, &str, &n), LS_ENOENT);
  int64_t iv;
  assert_int_equal(ls_meta_array_int(&a, 0, &iv), LS_EINVAL); /* strings are not numbers */
  assert_int_equal(ls_tfile_meta_array(f, "tokenizer.ggml.scores", &a), LS_OK);
  assert_int_equal(a.item, LS_META_ITEM_FLOAT);
  double x;
  assert_int_equal(ls_meta_array_f64(&a, 1, &x), LS_OK);
  assert_true(x == -2.5);
  assert_int_equal(ls_meta_array_f64(&a, 2, &x), LS_EINVAL);
  assert_int_equal(ls_tfile_meta_array(f, "tokenizer.ggml.token_type", &a), LS_OK);
  assert_int_equal(a.item, LS_META_ITEM_INT);
  assert_int_equal(ls_meta_array_int(&a, 1, &iv), LS_OK);
  assert_int_equal(iv, -1);
  assert_int_equal(ls_meta_array_f64(&a, 0, &x), LS_OK);
  assert_true(x == 3.0);
  /* the item count still answers as an integer; a scalar is not an array */
  assert_int_equal(ls_tfile_meta_int(f, "tokenizer.ggml.tokens", &iv), LS_OK);
  assert_int_equal(iv, 3);
  assert_int_equal(ls_tfile_meta_array(f, "general.name", &a), LS_EFORMAT);
  assert_int_equal(ls_tfile_meta_array(f, "nope", &a), LS_ENOENT);
  ls_tfile_close(f);
}

static void test_gguf_bad(void **state) {
  (void)state;
  gbuf g;
  uint64_t ne[2] = {32, 2};
  gguf_start(&g, 3, 3000000000ull, 0);
  gguf_case(&g, 0, LS_EFORMAT, "tensor count 3000000000 is impossible");
  gguf_start(&g, 3, 0, 4000000000ull);
  gguf_case(&g, 0, LS_EFORMAT, "metadata count 4000000000 is impossible");
  gguf_start(&g, 1, 0, 0);
  gguf_case(&g, 0, LS_EUNSUPPORTED, "GGUF version 1");
  gguf_start(&g, 3, 0, 1);
  g_str(&g, "tokenizer.ggml.tokens");
  g_u32(&g, 9);
  g_u32(&g, 8);
  g_u64(&g, 2000000000ull);
  gguf_case(&g, 0, LS_ETRUNC, "array of 2000000000 items cannot fit");
  gguf_start(&g, 3, 0, 1);
  g_str(&g, "k");
  g_u32(&g, 99);
  gguf_case(&g, 0, LS_EFORMAT, "unknown value type 99");
  gguf_start(&g, 3, 1, 0);
  gguf_tensor(&g, "blk.0.attn_q.weight", 2, ne, 10 /* q2_K */, 0);
  gguf_case(&g, 256, LS_EUNSUPPORTED, "'blk.0.attn_q.weight': ggml type 10 is not supported");
  gguf_start(&g, 3, 1, 0);
  gguf_tensor(&g, "w", 2, ne, 0, 64);
  gguf_case(&g, 100, LS_ETRUNC, "'w': bytes 64..320 of the data section are beyond");
  gguf_start(&g, 3, 1, 0);
  gguf_tensor(&g, "w", 2, ne, 0, 4);
  gguf_case(&g, 300, LS_EFORMAT, "'w': offset 4 is not a multiple of the alignment");
  gguf_start(&g, 3, 2, 0);
  gguf_tensor(&g, "w", 2, ne, 0, 0);
  gguf_tensor(&g, "v", 2, ne, 0, 128);
  gguf_case(&g, 512, LS_EFORMAT, "overlaps");
  gguf_start(&g, 3, 2, 0);
  gguf_tensor(&g, "w", 2, ne, 0, 0);
  gguf_tensor(&g, "w", 2, ne, 0, 256);
  gguf_case(&g, 512, LS_EFORMAT, "duplicate tensor name 'w'");
  uint64_t ne9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  gguf_start(&g, 3, 1, 0);
  gguf_tensor(&g, "w", 9, ne9, 0, 0);
  gguf_case(&g, 64, LS_ELIMIT, "'w': 9 dimensions");
  uint64_t big[3] = {1ull << 32, 1ull << 32, 1ull << 32};
  gguf_start(&g, 3, 1, 0);
  gguf_tensor(&g, "w", 3, big, 0, 0);
  gguf_case(&g, 64, LS_EOVERFLOW, "'w': element count overflows");
  uint64_t odd[2] = {33, 2};
  gguf_start(&g, 3, 1, 0);
  gguf_tensor(&g, "w", 2, odd, 2 /* q4_0 */, 0);
  gguf_case(&g, 64, LS_EFORMAT, "'w': row length 33 is not a multiple");
  gguf_start(&g, 3, 1, 0);
  gguf_tensor(&g, "bad\xc3\x28", 2, ne, 0, 0);
  gguf_case(&g, 512, LS_EFORMAT, "name is empty, too long or not UTF-8");
  gguf_start(&g, 3, 0, 1);
  g_str(&g, "general.alignment");
  g_u32(&g, 4);
  g_u32(&g, 12);
  gguf_case(&g, 0, LS_EFORMAT, "general.alignment 12 is not a power of two");
  /* q/k permutation needs heads that divide the rows */
  gguf_start(&g, 3, 1, 2);
  g_str(&g, "general.architecture");
  g_u32(&g, 8);
  g_str(&g, "llama");
  g_str(&g, "llama.attention.head_count");
  g_u32(&g, 4);
  g_u32(&g, 4);
  uint64_t q[2] = {32, 6};
  gguf_tensor(&g, "blk.0.attn_q.weight", 2, q, 0, 0);
  gguf_case(&g, 1024, LS_EFORMAT, "6 rows do not split into 4 heads");
}

/* ------------------------------------------------------------------ npy */

static void npy_case(const char *header, size_t data, int version, int code, const char *needle) {
  unsigned char buf[4096];
  size_t hl = strlen(header), n = 0;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)version;
  buf[7] = 0;
  if (version == 1) { buf[8] = (unsigned char)hl; buf[9] = (unsigned char)(hl >> 8); n = 10; }
  else { for (int i = 0; i < 4; i++) buf[8 + i] = (unsigned char)(hl >> (8 * i)); n = 12; }
  memcpy(buf + n, header, hl);
  n += hl;
  memset(buf + n, 0, data);
  n += data;
  write_bytes(tmp_path("case.npy"), buf, n);
  if (code == LS_OK) {
    ls_tfile *f;
    ls_diag d;
    ls_diag_init(&d);
    if (ls_tfile_open(tmp_path("case.npy"), &f, &d) != LS_OK) fail_msg("npy rejected: %s", d.msg);
    assert_string_equal(ls_tfile_at(f, 0)->name, "case");
    ls_tfile_close(f);
  } else {
    expect_fail(tmp_path("case.npy"), code, needle);
  }
}

static void test_npy(void **state) {
  (void)state;
  npy_case("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24, 1, LS_OK, "");
  npy_case("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24, 3, LS_OK, "");
  npy_case("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 20, 1, LS_ETRUNC, "needs 24");
  npy_case("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 30, 2, LS_ESHAPE, "needs 24");
  npy_case("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24, 1, LS_EUNSUPPORTED, "'>f4'");
  npy_case("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", 8, 1, LS_EUNSUPPORTED, "not supported");
  npy_case("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3), }\n", 24, 1, LS_EOVERFLOW, "too large");
  npy_case("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }\n", 24, 1,
           LS_EOVERFLOW, "overflows");
  npy_case("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n", 4, 1, LS_ELIMIT, "more than 8");
  npy_case("{'descr': '<f4', 'shape': (2,), }\n", 8, 1, LS_EFORMAT, "fortran_order");
  npy_case("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }\n", 8, 1, LS_EFORMAT, "tuple of integers");
  npy_case("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, 7, LS_EUNSUPPORTED, "version 7");
  unsigned char b[12] = "\x93NUMPY\x01\x00\xff\xff";
  write_bytes(tmp_path("hl.npy"), b, 10);
  expect_fail(tmp_path("hl.npy"), LS_ETRUNC, "beyond the file size");
}

/* ------------------------------------------------------------------ writer, dtypes, alloc */

static void test_writer(void **state) {
  (void)state;
  ls_st_writer *w;
  float a[6] = {1, 2, 3, 4, 5, 6};
  uint16_t h[3] = {0x3c00, 0xc000, 0x7c00};
  int64_t sa[2] = {2, 3}, sh[1] = {3};
  const char *p = tmp_path("written.safetensors");
  assert_int_equal(ls_st_writer_open(p, &w, NULL), LS_OK);
  assert_int_equal(ls_st_writer_add(w, "model.layers.0", LS_DT_F32, 2, sa, a, NULL), LS_OK);
  assert_int_equal(ls_st_writer_add(w, "half", LS_DT_F16, 1, sh, h, NULL), LS_OK);
  assert_int_equal(ls_st_writer_add(w, "half", LS_DT_F16, 1, sh, h, NULL), LS_EINVAL);
  assert_int_equal(ls_st_writer_add(w, "q", LS_DT_Q4_0, 1, sh, h, NULL), LS_EUNSUPPORTED);
  assert_int_equal(ls_st_writer_meta(w, "producer", "test", NULL), LS_OK);
  assert_int_equal(ls_st_writer_close(w, NULL), LS_OK);
  assert_int_not_equal(access(tmp_path("written.safetensors.tmp"), F_OK), 0);
  ls_tfile *f;
  assert_int_equal(ls_tfile_open(p, &f, NULL), LS_OK);
  const ls_tensor *t = ls_tfile_find(f, "model.layers.0");
  assert_non_null(t);
  assert_memory_equal(t->data, a, sizeof a);
  assert_int_equal((uintptr_t)t->data % 8, 0); /* header padded to 8 */
  float out[3];
  assert_int_equal(ls_tensor_read_f32(ls_tfile_find(f, "half"), 0, 3, out, NULL), LS_OK);
  assert_true(out[0] == 1.0f && out[1] == -2.0f && isinf(out[2]));
  const char *m;
  assert_int_equal(ls_tfile_meta_str(f, "producer", &m), LS_OK);
  ls_tfile_close(f);
}

static void test_conversions(void **state) {
  (void)state;
  /* IEEE binary16 and bfloat16 bit patterns with published values */
  assert_true(ls_f16_to_f32(0x3c00) == 1.0f);
  assert_true(ls_f16_to_f32(0x7bff) == 65504.0f);
  assert_true(ls_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
  assert_true(ls_f16_to_f32(0x8400) == -6.103515625e-05f);
  assert_true(isinf(ls_f16_to_f32(0xfc00)) && ls_f16_to_f32(0xfc00) < 0);
  assert_true(isnan(ls_f16_to_f32(0x7e00)));
  assert_true(ls_bf16_to_f32(0x3f80) == 1.0f);
  assert_true(ls_bf16_to_f32(0xc2f7) == -123.5f);
  assert_int_equal(ls_f32_to_bf16(1.00390625f), 0x3f80);  /* tie: round to even */
  assert_int_equal(ls_f32_to_bf16(1.01171875f), 0x3f82);  /* tie: round to even (up) */
  /* OCP FP8: E4M3FN max 448 (0x7e), NaN 0x7f, min subnormal 2^-9; E5M2 max 57344, inf 0x7c */
  assert_true(ls_f8e4m3_to_f32(0x7e) == 448.0f);
  assert_true(isnan(ls_f8e4m3_to_f32(0x7f)));
  assert_true(ls_f8e4m3_to_f32(0x01) == 0.001953125f);
  assert_true(ls_f8e4m3_to_f32(0xb8) == -1.0f);
  assert_true(ls_f8e5m2_to_f32(0x7b) == 57344.0f);
  assert_true(isinf(ls_f8e5m2_to_f32(0x7c)));
  /* f32 -> f16 -> f32 is the identity on every non-NaN f16 */
  for (uint32_t h = 0; h < 65536; h++) {
    float f = ls_f16_to_f32((uint16_t)h);
    if (!isnan(f) && ls_f32_to_f16(f) != h) fail_msg("f16 0x%04x round trip gives 0x%04x", h, ls_f32_to_f16(f));
  }
  assert_int_equal(ls_f32_to_f16(65520.0f), 0x7c00); /* rounds to inf */
  assert_int_equal(ls_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie to even */
  uint64_t nb;
  assert_int_equal(ls_dtype_nbytes(LS_DT_Q4_K, 512, &nb), LS_OK);
  assert_int_equal(nb, 288);
  assert_int_equal(ls_dtype_nbytes(LS_DT_Q4_K, 100, &nb), LS_EFORMAT);
  assert_int_equal(ls_dtype_nbytes(LS_DT_F64, UINT64_MAX / 2, &nb), LS_EOVERFLOW);
  ls_dtype dt;
  assert_int_equal(ls_dtype_parse("bf16", &dt), LS_OK);
  assert_int_equal(dt, LS_DT_BF16);
  assert_string_equal(ls_dtype_name(LS_DT_Q6_K), "q6_k");
}

/* Every allocation of an open may fail: the open then reports LS_ENOMEM and leaks nothing. */
static void test_alloc_failures(void **state) {
  (void)state;
  unsigned char buf[1024];
  size_t n = make_st(buf, k_good_st, strlen(k_good_st), 32);
  write_bytes(tmp_path("alloc.safetensors"), buf, n);
  gbuf g;
  gguf_good(&g);
  write_bytes(tmp_path("alloc.gguf"), g.b, g.n);
  const char *files[2] = {tmp_path("alloc.safetensors"), tmp_path("alloc.gguf")};
  for (int k = 0; k < 2; k++) {
    int ok = 0;
    for (long fail = 0; fail < 200 && !ok; fail++) {
      ls_alloc_fail_after(fail);
      ls_tfile *f = NULL;
      int rc = ls_tfile_open(files[k], &f, NULL);
      ls_alloc_fail_reset();
      if (rc == LS_OK) { ok = 1; ls_tfile_close(f); }
      else assert_int_equal(rc, LS_ENOMEM);
    }
    assert_true(ok);
  }
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/ls_test_tensor_XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_st_good),      cmocka_unit_test(test_st_brace_length), cmocka_unit_test(test_st_prefixes), cmocka_unit_test(test_st_bad),
    cmocka_unit_test(test_index),        cmocka_unit_test(test_gguf_good_and_prefixes),
    cmocka_unit_test(test_gguf_meta_arrays), cmocka_unit_test(test_gguf_bad), cmocka_unit_test(test_npy),         cmocka_unit_test(test_writer),
    cmocka_unit_test(test_conversions),  cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
