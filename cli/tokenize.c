/* tokenize.c: `layerscope tokenize TOKENIZER|DIR`: text to token ids and ids to text with a
 * tokenizer.json (or a directory holding one, or a GGUF file's tokenizer), through
 * core/text. Encoding prints the ids as the reference's encode(text) returns them, with the
 * post-processor's special tokens (--no-special leaves them out), comma-separated so they
 * paste into `layerscope run --tokens`; --decode 1,2,3 prints the text. --jsonl FILE
 * encodes every line (a JSON string) and prints one JSON object per line with the ids and
 * the text they decode to, with and without special tokens: the form scripts and the
 * reference comparison in tests/tokenizers/ use.
 *
 * Text that is not valid UTF-8 is repaired the way the reference's bindings receive such
 * bytes (each ill-formed sequence becomes U+FFFD) with a warning on stderr naming the first
 * bad byte; --strict-utf8 makes it an error. --timing reports load and encode times on
 * stderr (the figures bench/tokenize/ reads). Exit 0 ok, 1 failure, 2 usage error. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/diag.h"
#include "core/base/file.h"
#include "core/text/tokenizer.h"

#define MAX_TEXT ((size_t)512 << 20)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A JSON string of possibly invalid UTF-8 bytes (a GGUF token), repaired. */
static json_t *jstr(const char *s, size_t n) {
  json_t *v = json_stringn(s, n);
  if (v) return v;
  char *fixed;
  size_t fl;
  if (ls_tok_utf8_lossy(s, n, &fixed, &fl, NULL) != 0) return json_null();
  v = json_stringn(fixed, fl);
  ls_free(fixed);
  return v ? v : json_null();
}

static int parse_ids(const char *s, uint32_t **ids, size_t *n) {
  *ids = NULL;
  *n = 0;
  size_t cap = 0;
  const char *p = s;
  while (*p) {
    char buf[32];
    size_t k = strcspn(p, ", ");
    if (k == 0) { p++; continue; }
    if (k >= sizeof buf) return -1;
    memcpy(buf, p, k);
    buf[k] = 0;
    int64_t v;
    if (ls_cli_parse_i64(buf, 0, 0x7fffffff, &v) != 0) return -1;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      uint32_t *a = ls_reallocarray(*ids, cap, sizeof *a);
      if (!a) return -1;
      *ids = a;
    }
    (*ids)[(*n)++] = (uint32_t)v;
    p += k;
  }
  return *n ? 0 : -1;
}

/* Repairs invalid UTF-8 (or refuses it under --strict-utf8). *out is new. */
static int prepare_text(const char *what, const char *s, size_t n, int strict, char **out, size_t *out_len) {
  int64_t bad;
  if (ls_tok_utf8_lossy(s, n, out, out_len, &bad) != 0) { fprintf(stderr, "layerscope tokenize: out of memory\n"); return 1; }
  if (bad < 0) return 0;
  if (strict) {
    fprintf(stderr, "layerscope tokenize: %s is not valid UTF-8 (first ill-formed byte at offset %lld)\n", what, (long long)bad);
    ls_free(*out);
    *out = NULL;
    return 1;
  }
  fprintf(stderr, "layerscope tokenize: warning: %s is not valid UTF-8 (first ill-formed byte at offset %lld); each "
                  "ill-formed sequence was replaced by U+FFFD, as the reference's bindings receive such bytes\n",
          what, (long long)bad);
  return 0;
}

static void print_ids(FILE *f, const uint32_t *ids, size_t n) {
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%u", i ? "," : "", ids[i]);
}

static json_t *ids_json(const uint32_t *ids, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(ids[i]));
  return a;
}

/* --jsonl: one JSON string per line in, one object per line out. */
static int run_jsonl(ls_tok *t, const char *path, int add_special, int strict, int timing) {
  char *text;
  size_t len;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_file_read(path, MAX_TEXT, &text, &len, &d) != 0) {
    fprintf(stderr, "layerscope tokenize: %s\n", d.msg);
    return 1;
  }
  int status = 0;
  size_t line_no = 0;
  double enc_ms = 0; /* --timing: encoding only, summed over the lines */
  size_t enc_bytes = 0, enc_tokens = 0;
  for (char *p = text, *end = text + len; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
    line_no++;
    json_t *out = json_object();
    json_error_t je;
    json_t *in = ll ? json_loadb(p, ll, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je) : NULL;
    if (ll == 0) { json_decref(out); p += ll + 1; continue; }
    if (!json_is_string(in)) {
      json_object_set_new(out, "error", json_sprintf("line %zu is not a JSON string", line_no));
      status = 1;
    } else {
      char *s;
      size_t sl;
      uint32_t *ids = NULL;
      size_t n = 0;
      char what[64];
      snprintf(what, sizeof what, "line %zu", line_no);
      if (prepare_text(what, json_string_value(in), json_string_length(in), strict, &s, &sl) != 0) {
        json_object_set_new(out, "error", json_string("not valid UTF-8"));
        status = 1;
      } else {
        ls_diag_init(&d);
        double t1 = now_ms();
        int erc = ls_tok_encode(t, s, sl, add_special, &ids, &n, &d);
        enc_ms += now_ms() - t1;
        enc_bytes += sl;
        enc_tokens += n;
        if (erc != 0) {
          json_object_set_new(out, "error", json_string(d.msg));
          status = 1;
        } else {
          json_object_set_new(out, "ids", ids_json(ids, n));
          for (int skip = 0; skip < 2; skip++) {
            char *dec;
            size_t dl;
            ls_diag_init(&d);
            if (ls_tok_decode(t, ids, n, skip, &dec, &dl, &d) == 0) {
              json_object_set_new(out, skip ? "text_skip_special" : "text", json_stringn(dec, dl));
              ls_free(dec);
            } else {
              json_object_set_new(out, "error", json_string(d.msg));
              status = 1;
            }
          }
        }
        ls_free(ids);
        ls_free(s);
      }
    }
    json_decref(in);
    char *line = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (line) { fputs(line, stdout); fputc('\n', stdout); free(line); }
    json_decref(out);
    p += ll + 1;
  }
  ls_free(text);
  if (timing)
    fprintf(stderr, "layerscope tokenize: encode %.3f ms for %zu bytes in %zu lines -> %zu tokens (%.2f MB/s)\n", enc_ms,
            enc_bytes, line_no, enc_tokens, enc_ms > 0 ? (double)enc_bytes / 1e6 / (enc_ms / 1e3) : 0.0);
  return status;
}

int ls_cli_tokenize(int argc, char **argv) {
  const char *path = NULL, *text_arg = NULL, *file = NULL, *jsonl = NULL, *decode = NULL, *format = "text";
  int add_special = 1, skip_special = 0, strict = 0, timing = 0;
  int64_t repeat = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int more = i + 1 < argc;
    if (strcmp(a, "--text") == 0 && more) text_arg = argv[++i];
    else if (strcmp(a, "--file") == 0 && more) file = argv[++i];
    else if (strcmp(a, "--jsonl") == 0 && more) jsonl = argv[++i];
    else if (strcmp(a, "--decode") == 0 && more) decode = argv[++i];
    else if (strcmp(a, "--format") == 0 && more) format = argv[++i];
    else if (strcmp(a, "--no-special") == 0) add_special = 0;
    else if (strcmp(a, "--skip-special") == 0) skip_special = 1;
    else if (strcmp(a, "--strict-utf8") == 0) strict = 1;
    else if (strcmp(a, "--timing") == 0) timing = 1;
    else if (strcmp(a, "--repeat") == 0 && more) {
      if (ls_cli_parse_i64(argv[++i], 1, 1000, &repeat) != 0) { ls_cli_usage(stderr, "tokenize"); return 2; }
      timing = 1;
    }
    else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { ls_cli_usage(stdout, "tokenize"); return 0; }
    else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "layerscope tokenize: unknown option '%s'\n", a);
      ls_cli_usage(stderr, "tokenize");
      return 2;
    } else if (!path) path = a;
    else { ls_cli_usage(stderr, "tokenize"); return 2; }
  }
  int inputs = (text_arg != NULL) + (file != NULL) + (jsonl != NULL) + (decode != NULL);
  if (!path || inputs != 1 || (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)) {
    if (path && inputs != 1) fprintf(stderr, "layerscope tokenize: give exactly one of --text, --file, --jsonl, --decode\n");
    ls_cli_usage(stderr, "tokenize");
    return 2;
  }
  uint32_t *ids = NULL;
  size_t n = 0;
  if (decode && parse_ids(decode, &ids, &n) != 0) {
    fprintf(stderr, "layerscope tokenize: --decode takes token ids separated by commas, e.g. 1,15043,3186\n");
    ls_free(ids);
    return 2;
  }

  ls_diag d;
  ls_diag_init(&d);
  ls_tok *t = NULL;
  double t0 = now_ms();
  if (ls_tok_open(path, &t, &d) != 0) {
    fprintf(stderr, "layerscope tokenize: %s\n", d.msg);
    ls_free(ids);
    return 1;
  }
  double t_load = now_ms() - t0;
  int status = 0;
  if (jsonl) {
    status = run_jsonl(t, jsonl, add_special, strict, timing);
    ls_tok_free(t);
    return status;
  }
  json_t *out = json_object();
  json_object_set_new(out, "tokenizer", json_string(path));
  if (decode) {
    char *s;
    size_t sl;
    if (ls_tok_decode(t, ids, n, skip_special, &s, &sl, &d) != 0) {
      fprintf(stderr, "layerscope tokenize: %s\n", d.msg);
      status = 1;
    } else {
      if (strcmp(format, "json") == 0) json_object_set_new(out, "text", json_stringn(s, sl));
      else { fwrite(s, 1, sl, stdout); fputc('\n', stdout); }
      ls_free(s);
    }
  } else {
    char *raw = NULL, *s = NULL;
    size_t rl = 0, sl = 0;
    if (file) {
      if (ls_file_read(file, MAX_TEXT, &raw, &rl, &d) != 0) {
        fprintf(stderr, "layerscope tokenize: %s\n", d.msg);
        status = 1;
      }
    }
    if (status == 0)
      status = prepare_text(file ? file : "--text", file ? raw : text_arg, file ? rl : strlen(text_arg), strict, &s, &sl);
    ls_free(raw);
    if (status == 0) {
      /* --repeat N encodes N times and reports the fastest (warm caches), as bench/tokenize
       * does for the reference */
      double best = 0, first = 0;
      for (int64_t r = 0; r < repeat && status == 0; r++) {
        ls_free(ids);
        ids = NULL;
        double t1 = now_ms();
        if (ls_tok_encode(t, s, sl, add_special, &ids, &n, &d) != 0) {
          fprintf(stderr, "layerscope tokenize: %s\n", d.msg);
          status = 1;
        }
        double el = now_ms() - t1;
        if (r == 0) first = best = el;
        else if (el < best) best = el;
      }
      if (status == 0) {
        if (timing)
          fprintf(stderr, "layerscope tokenize: load %.1f ms, encode %.3f ms for %zu bytes -> %zu tokens (%.2f MB/s; "
                          "first of %lld runs %.3f ms)\n",
                  t_load, best, sl, n, best > 0 ? (double)sl / 1e6 / (best / 1e3) : 0.0, (long long)repeat, first);
        if (strcmp(format, "json") == 0) {
          json_t *toks = json_array();
          for (size_t i = 0; i < n; i++) {
            size_t tl;
            const char *tk = ls_tok_token(t, ids[i], &tl);
            json_array_append_new(toks, tk ? jstr(tk, tl) : json_null());
          }
          json_object_set_new(out, "count", json_integer((json_int_t)n));
          json_object_set_new(out, "ids", ids_json(ids, n));
          json_object_set_new(out, "tokens", toks);
        } else {
          print_ids(stdout, ids, n);
          fputc('\n', stdout);
        }
      }
    }
    ls_free(s);
  }
  if (status == 0 && strcmp(format, "json") == 0) {
    json_object_set_new(out, "description", json_string(ls_tok_describe(t)));
    char *j = json_dumps(out, JSON_INDENT(2));
    if (j) { puts(j); free(j); }
  }
  json_decref(out);
  ls_free(ids);
  ls_tok_free(t);
  return status;
}
