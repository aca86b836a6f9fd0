/* text.h: the engine's side of text, shared by `layerscope run`, `debug`, `profile` and the
 * debug adapter's launch so that a prompt is found, encoded and labelled the same way
 * everywhere. The tokenizer comes from, in this order: a path named explicitly (--tokenizer,
 * launch "tokenizer": a tokenizer.json, a directory holding one, or a .gguf), the
 * tokenizer.json beside the config (a hub model directory holds one), or the tokenizer.*
 * arrays of the GGUF file bound as weights. The prompt is encoded as Hugging Face's
 * encode(text) does by default: with the post-processor's special tokens (BOS, ...).
 *
 * Ownership: ls_engine_text_open returns a new ls_tok (ls_tok_free); ids from
 * ls_engine_text_encode are new (ls_free). */
#ifndef LS_ENGINE_TEXT_H
#define LS_ENGINE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/engine/source.h"
#include "core/text/tokenizer.h"

/* Finds and opens the tokenizer of a resolved source (given: NULL or a path). *where (cap
 * bytes) gets the path it was read from. LS_ENOENT when there is none, the message naming
 * every place looked at; the tokenizer's own errors otherwise. */
int ls_engine_text_open(const ls_engine_src *s, const char *given, ls_tok **out, char *where, size_t cap,
                        ls_diag *d);

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
