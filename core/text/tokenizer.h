/* tokenizer.h: text in and out. A tokenizer read from a Hugging Face tokenizer.json (or from
 * the tokenizer.ggml.* arrays of a GGUF file) turns UTF-8 text into token ids and ids back
 * into text with the semantics of Hugging Face's `tokenizers` library: the same added and
 * special tokens, normalizers, pre-tokenizers (regular expressions through PCRE2), models
 * (byte-level BPE, BPE with byte fallback, WordPiece, WordLevel), post-processors (the
 * BOS/EOS a template adds) and decoders. A feature the reader does not implement is an
 * LS_EUNSUPPORTED error naming it, never a silently different encoding. docs/tokenizers.md
 * lists what is supported and how it is checked against the reference.
 *
 * Ownership: ls_tok_open/ls_tok_load_json return a new ls_tok (ls_tok_free). Results of
 * ls_tok_encode/ls_tok_decode are new buffers the caller frees with ls_free. Strings that
 * ls_tok_token returns are borrowed from the tokenizer.
 * Threads: an ls_tok keeps a cache of merged words; use one tokenizer from one thread at a
 * time (give each thread its own). */
#ifndef LS_TEXT_TOKENIZER_H
#define LS_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"

typedef struct ls_tok ls_tok;

/* Largest tokenizer.json read (Gemma 3's is 33 MB). */
#define LS_TOK_MAX_JSON ((size_t)512 << 20)

/* Opens PATH: a tokenizer.json, a directory holding one, or a GGUF file (detected by its
 * magic) whose tokenizer.ggml.* keys describe the tokenizer. LS_ENOENT, LS_EIO, LS_EFORMAT,
 * LS_EPARSE, LS_EUNSUPPORTED (naming the feature), LS_ELIMIT, LS_ENOMEM. */
int ls_tok_open(const char *path, ls_tok **out, ls_diag *d);
/* Reads a tokenizer.json held in memory (any bytes). */
int ls_tok_load_json(const char *text, size_t len, ls_tok **out, ls_diag *d);
void ls_tok_free(ls_tok *t);

/* Encodes text[0, len), which must be valid UTF-8 (LS_EFORMAT names the first bad byte;
 * ls_tok_utf8_lossy repairs text the way the reference's bindings receive it). With
 * add_special the post-processor adds its tokens (BOS, [CLS] ... [SEP]), as the reference's
 * encode(text) does by default; truncation and padding configured in the file apply.
 * *ids is new [*n] (ls_free; NULL when *n is 0). LS_ELIMIT when a pre-tokenizer pattern
 * exceeds PCRE2's match limit on this text. */
int ls_tok_encode(ls_tok *t, const char *text, size_t len, int add_special, uint32_t **ids,
                  size_t *n, ls_diag *d);

/* Decodes ids[0, n) to text with the file's decoder (tokens joined by spaces when it has
 * none). skip_special leaves out the tokens marked special. An id the tokenizer does not
 * know is LS_ENOENT naming it (the reference drops it silently). *text is new, NUL-terminated,
 * [*len] bytes of valid UTF-8. */
int ls_tok_decode(const ls_tok *t, const uint32_t *ids, size_t n, int skip_special, char **text,
                  size_t *len, ls_diag *d);

/* The text one token decodes to on its own (ls_tok_decode of [id], keeping special tokens),
 * for labelling token positions in the engine and the debugger: "Ġworld" -> " world" with a
 * byte-level decoder, "<0x0A>" -> "\n" with byte fallback. SentencePiece decoders drop the
 * leading space of a first token, so "▁Hello" -> "Hello", as the reference decodes it. A lone
 * byte of a multi-byte character comes back as U+FFFD. */
int ls_tok_decode_one(const ls_tok *t, uint32_t id, char **text, size_t *len, ls_diag *d);

/* The token's vocabulary string (as in the file: "Ġworld", "▁Hello", "##ing", "<s>"), or
 * NULL for an unknown id. Borrowed; *len bytes (may hold NUL). */
const char *ls_tok_token(const ls_tok *t, uint32_t id, size_t *len);
/* The id of a vocabulary string (added tokens first, then the model's), LS_ENOENT if none. */
int ls_tok_token_id(const ls_tok *t, const char *s, size_t len, uint32_t *id);
/* 1 when the id is an added token marked special (BOS, EOS, [CLS], <|im_start|>...). */
int ls_tok_is_special(const ls_tok *t, uint32_t id);
/* Number of ids: the model's vocabulary plus the added tokens beyond it. */
size_t ls_tok_vocab_size(const ls_tok *t);
/* A short description of the pipeline, e.g. "BPE (byte-level), 128000 + 256 added tokens". */
const char *ls_tok_describe(const ls_tok *t);

/* Copies src[0, len) into a new NUL-terminated buffer (ls_free) with every ill-formed UTF-8
 * sequence replaced by U+FFFD, one per maximal subpart, as Node's TextDecoder, Python's
 * errors="replace" and Rust's from_utf8_lossy do. *first_bad gets the byte offset of the
 * first replaced sequence, or -1 when the text was valid. */
int ls_tok_utf8_lossy(const char *src, size_t len, char **out, size_t *out_len, int64_t *first_bad);

#endif
