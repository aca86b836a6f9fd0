/* text.c: finding a model's tokenizer, encoding a prompt and labelling tokens (text.h). */
#include "core/engine/text.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

static int is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

int ls_engine_tokref_find(const ls_engine_src *s, const char *given, ls_engine_tokref *r, ls_diag *d) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  r->init = 1;
  if (given) {
    snprintf(r->path, sizeof r->path, "%s", given);
    return LS_OK;
  }
  if (s->gguf) { /* a GGUF file alone carries its own */
    snprintf(r->path, sizeof r->path, "%s", s->weights);
    return LS_OK;
  }
  /* beside the config: a hub directory's tokenizer.json */
  char beside[4200];
  const char *slash = strrchr(s->config, '/');
  if (slash)
    snprintf(beside, sizeof beside, "%.*s/tokenizer.json", (int)(slash - s->config), s->config);
  else
    snprintf(beside, sizeof beside, "tokenizer.json");
  if (is_file(beside)) {
    snprintf(r->path, sizeof r->path, "%s", beside);
    return LS_OK;
  }
  if (s->weights[0] && ends_with(s->weights, ".gguf")) {
    snprintf(r->path, sizeof r->path, "%s", s->weights);
    return LS_OK;
  }
  return ls_diag_set(d, LS_ENOENT, "no tokenizer for the prompt: looked for %s%s%s; name one with --tokenizer "
                     "(launch: \"tokenizer\"): a tokenizer.json or a .gguf, or give token ids with --tokens",
                     beside, s->weights[0] ? " and in the weights " : " (no GGUF weights to read one from)",
                     s->weights[0] ? s->weights : "");
}

/* Reads it on the first call; the caller holds r->mu. */
static int read_locked(ls_engine_tokref *r, ls_diag *d) {
  if (r->tried) return r->tok ? LS_OK : ls_diag_set(d, LS_EINVAL, "the tokenizer %s could not be read", r->path);
  r->tried = 1;
  if (!r->path[0]) return ls_diag_set(d, LS_ENOENT, "no tokenizer was found");
  return ls_tok_open(r->path, &r->tok, d);
}

int ls_engine_tokref_open(ls_engine_tokref *r, ls_tok **out, ls_diag *d) {
  pthread_mutex_lock(&r->mu);
  int rc = read_locked(r, d);
  pthread_mutex_unlock(&r->mu);
  *out = rc == LS_OK ? r->tok : NULL;
  return rc;
}

ls_tok *ls_engine_tokref_get(ls_engine_tokref *r) {
  if (!r || !r->init || !r->path[0]) return NULL;
  ls_diag quiet;
  ls_diag_init(&quiet);
  pthread_mutex_lock(&r->mu);
  if (read_locked(r, &quiet) != LS_OK) r->tok = NULL;
  ls_tok *t = r->tok;
  pthread_mutex_unlock(&r->mu);
  return t;
}

int ls_engine_tokref_found(const ls_engine_tokref *r) { return r && r->path[0] != 0; }

void ls_engine_tokref_free(ls_engine_tokref *r) {
  if (!r || !r->init) return;
  ls_tok_free(r->tok);
  r->tok = NULL;
  pthread_mutex_destroy(&r->mu);
  r->init = 0;
}

int ls_engine_text_encode(ls_tok *t, const char *text, int64_t vocab, int64_t **ids, int64_t *n, ls_diag *d) {
  *ids = NULL;
  *n = 0;
  uint32_t *u = NULL;
  size_t k = 0;
  int rc = ls_tok_encode(t, text, strlen(text), 1, &u, &k, d);
  if (rc) return rc;
  if (k == 0) return ls_diag_set(d, LS_EINVAL, "the prompt encodes to no token");
  int64_t *v = ls_calloc(k, sizeof *v);
  if (!v) {
    ls_free(u);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < k; i++) {
    if ((int64_t)u[i] >= vocab) {
      rc = ls_diag_set(d, LS_EINVAL, "the prompt's token %zu is id %u, past the model's vocabulary of %lld: "
                       "the tokenizer does not belong to this model", i, u[i], (long long)vocab);
      ls_free(u);
      ls_free(v);
      return rc;
    }
    v[i] = u[i];
  }
  ls_free(u);
  *ids = v;
  *n = (int64_t)k;
  return LS_OK;
}

/* s[0, len) quoted, escaped as in C; bytes >= 0x80 kept (UTF-8). */
static void quote(const char *s, size_t len, char *buf, size_t cap) {
  if (!cap) return;
  size_t o = 0;
#define PUT(c) do { if (o + 1 < cap) buf[o++] = (c); } while (0)
  PUT('"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') { PUT('\\'); PUT((char)c); }
    else if (c == '\n') { PUT('\\'); PUT('n'); }
    else if (c == '\t') { PUT('\\'); PUT('t'); }
    else if (c == '\r') { PUT('\\'); PUT('r'); }
    else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", c);
      for (char *h = hex; *h; h++) PUT(*h);
    } else PUT((char)c);
  }
  PUT('"');
#undef PUT
  buf[o] = 0;
}

void ls_engine_text_label(const ls_tok *t, int64_t id, char *buf, size_t cap) {
  size_t len = 0;
  const char *s = id >= 0 && id <= UINT32_MAX ? ls_tok_token(t, (uint32_t)id, &len) : NULL;
  if (!s) snprintf(buf, cap, "?");
  else quote(s, len, buf, cap);
}

void ls_engine_text_piece(const ls_tok *t, int64_t prev, int64_t id, char *buf, size_t cap) {
  ls_diag d;
  ls_diag_init(&d);
  if (id < 0 || id > UINT32_MAX || prev > UINT32_MAX) {
    snprintf(buf, cap, "?");
    return;
  }
  uint32_t ids[2] = {(uint32_t)prev, (uint32_t)id};
  char *head = NULL, *both = NULL;
  size_t nh = 0, nb = 0;
  int rc;
  if (prev < 0 || ls_tok_decode(t, ids, 1, 0, &head, &nh, &d) != LS_OK ||
      ls_tok_decode(t, ids, 2, 0, &both, &nb, &d) != LS_OK || nb < nh || memcmp(head, both, nh) != 0) {
    ls_free(head);
    ls_free(both);
    head = both = NULL;
    nh = 0;
    rc = ls_tok_decode_one(t, (uint32_t)id, &both, &nb, &d);
  } else {
    rc = LS_OK;
  }
  if (rc != LS_OK) snprintf(buf, cap, "?");
  else quote(both + nh, nb - nh, buf, cap);
  ls_free(head);
  ls_free(both);
}
