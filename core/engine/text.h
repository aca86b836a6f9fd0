/* text.h: the engine's side of text, shared by `layerscope run`, `debug`, `profile` and the
 * debug adapter's launch so that a prompt is found, encoded and labelled the same way
 * everywhere. The tokenizer comes from, in this order: a path named explicitly (--tokenizer,
 * launch "tokenizer": a tokenizer.json, a directory holding one, or a .gguf), the
 * tokenizer.json beside the config (a hub model directory holds one), or the tokenizer.*
 * arrays of the GGUF file bound as weights. The prompt is encoded as Hugging Face's
 * encode(text) does by default: with the post-processor's special tokens (BOS, ...).
 *
 * Ownership: an ls_engine_tokref owns the tokenizer it reads (ls_engine_tokref_free); ids
 * from ls_engine_text_encode are new (ls_free). */
#ifndef LS_ENGINE_TEXT_H
#define LS_ENGINE_TEXT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/engine/source.h"
#include "core/text/tokenizer.h"

/* A model's tokenizer, located at start-up and read on first use: reading one is a parse of
 * the whole vocabulary (a Gemma 3 tokenizer.json is 33 MB, about a second), which a run that
 * never shows a token's text should not pay for, and a debug session should not pay for
 * before its first stop. It is read at most once; the first reader on any thread reads it,
 * under mu, and every later one gets the same tokenizer (read-only from then on). */
typedef struct ls_engine_tokref {
  char path[4200];  /* where the tokenizer is; "" when none was found */
  ls_tok *tok;      /* owned: read on first use */
  int tried;        /* 1 once a read was attempted (failed: tok stays NULL) */
  int init;         /* 1 once ls_engine_tokref_find set it up (mu exists) */
  pthread_mutex_t mu;
} ls_engine_tokref;

/* Locates the tokenizer of a resolved source (given: NULL or a path), without reading it,
 * into *r (initialised here; release with ls_engine_tokref_free even on error; freeing a
 * zeroed one is a no-op). LS_ENOENT
 * when there is none, the message naming every place looked at. */
int ls_engine_tokref_find(const ls_engine_src *s, const char *given, ls_engine_tokref *r, ls_diag *d);

/* Reads the located tokenizer now (once), reporting its errors: for a prompt to encode. */
int ls_engine_tokref_open(ls_engine_tokref *r, ls_tok **out, ls_diag *d);

/* The tokenizer for labels: read on first call; NULL when none was found or it could not be
 * read (ids then show as ids). */
ls_tok *ls_engine_tokref_get(ls_engine_tokref *r);

/* 1 when a tokenizer was found (read or not). */
int ls_engine_tokref_found(const ls_engine_tokref *r);

void ls_engine_tokref_free(ls_engine_tokref *r);

/* Encodes text (UTF-8, with special tokens) into ids[*n] (new). LS_EINVAL when the text
 * encodes to no token or an id is not below vocab (a tokenizer that does not fit the model). */
int ls_engine_text_encode(ls_tok *t, const char *text, int64_t vocab, int64_t **ids, int64_t *n, ls_diag *d);

/* A token as a label: its vocabulary string in double quotes, control characters, quotes and
 * backslashes escaped as in C ("\"▁France\"", "\"<0x0A>\"", "\"\\n\""); "?" for an id the
 * tokenizer does not know. Always NUL-terminated, truncated to cap. */
void ls_engine_text_label(const ls_tok *t, int64_t id, char *buf, size_t cap);

/* The text a token adds after the token prev (the decoding of [prev, id] past that of
 * [prev]), quoted and escaped as above: " France" for "▁France", "\n" for "<0x0A>". A
 * SentencePiece decoder drops the leading space of a first token only, so a continuation
 * keeps it. prev < 0: the token decoded on its own. */
void ls_engine_text_piece(const ls_tok *t, int64_t prev, int64_t id, char *buf, size_t cap);

#endif
