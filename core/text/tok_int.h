/* tok_int.h: the tokenizer's internal structures, shared by the files of core/text/. The
 * pipeline mirrors Hugging Face tokenizers' TokenizerImpl: added tokens are cut out of the
 * raw text, each remaining piece is normalized (then normalized added tokens are cut out of
 * it), pre-tokenizers split the pieces further, the model turns each piece into ids, and the
 * post-processor adds the special tokens. Only ids are computed (no offsets), so a piece is
 * a byte range of a work buffer plus an id once it is a token.
 *
 * Ownership: everything a tokenizer holds (strings, tables, compiled patterns) belongs to
 * the ls_tok and is freed by ls_tok_free; strings live in its arena. */
#ifndef LS_TEXT_TOK_INT_H
#define LS_TEXT_TOK_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/arena.h"
#include "core/base/diag.h"
#include "core/text/tokenizer.h"

#define LS__TOK_MAX_ID 0x7fffffffu   /* ids are stored in int32 slots (-1: none) */

/* ---- hash tables ------------------------------------------------------------------- */

/* Byte string -> id. Keys are borrowed (the tokenizer's arena); put replaces the id of an
 * equal key, as inserting into a Rust HashMap does. */
typedef struct ls__smap_slot { const char *key; uint32_t len, hash, id; } ls__smap_slot;
typedef struct ls__smap { ls__smap_slot *slots; size_t cap, n; } ls__smap;
int ls__smap_put(ls__smap *m, const char *key, uint32_t len, uint32_t id);
int ls__smap_get(const ls__smap *m, const char *key, size_t len, uint32_t *id); /* 1 found */
void ls__smap_free(ls__smap *m);

/* uint64 -> uint64 (keys never UINT64_MAX): BPE merges ((a << 32 | b) -> (rank << 32 | id)),
 * the added-token trie's edges. put replaces. */
typedef struct ls__u64map { uint64_t *keys, *vals; size_t cap, n; } ls__u64map;
int ls__u64map_put(ls__u64map *m, uint64_t key, uint64_t val);
int ls__u64map_get(const ls__u64map *m, uint64_t key, uint64_t *val); /* 1 found */
void ls__u64map_free(ls__u64map *m);
static inline uint32_t ls__hash_bytes(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, folded */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return (uint32_t)(h ^ (h >> 32));
}

/* ---- growable buffers -------------------------------------------------------------- */

typedef struct ls__buf { char *p; size_t len, cap; } ls__buf;
int ls__buf_reserve(ls__buf *b, size_t extra);
int ls__buf_add(ls__buf *b, const void *s, size_t n);
int ls__buf_add_cp(ls__buf *b, uint32_t cp); /* UTF-8 encoding of a code point */
void ls__buf_free(ls__buf *b);

typedef struct ls__ids { uint32_t *p; size_t n, cap; } ls__ids;
int ls__ids_add(ls__ids *v, uint32_t id);

/* ---- Unicode (tok_unicode.c) ------------------------------------------------------- */

/* Decodes the code point at s (valid UTF-8 assumed), its length in *n. */
static inline uint32_t ls__utf8_next(const char *s, int *n) {
  const unsigned char *u = (const unsigned char *)s;
  if (u[0] < 0x80) { *n = 1; return u[0]; }
  if (u[0] < 0xE0) { *n = 2; return ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F); }
  if (u[0] < 0xF0) { *n = 3; return ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F); }
  *n = 4;
  return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) | ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
}
static inline int ls__utf8_len(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}
int ls__utf8_encode(uint32_t cp, char out[4]);
/* Offset of the first byte of an ill-formed sequence, or -1 when s is valid UTF-8. */
int64_t ls__utf8_check(const char *s, size_t n);

/* Character classes as Rust's char and the crates tokenizers uses define them. */
int ls__uc_is_whitespace(uint32_t c);   /* char::is_whitespace: White_Space */
int ls__uc_is_numeric(uint32_t c);      /* char::is_numeric: Nd, Nl, No */
int ls__uc_is_punct(uint32_t c);        /* ASCII punctuation or P* (BERT, Punctuation) */
int ls__uc_is_other(uint32_t c);        /* Cc, Cf, Co (unicode_categories' is_other) */
int ls__uc_is_mn(uint32_t c);           /* nonspacing mark */
int ls__uc_is_combining(uint32_t c);    /* Mn, Mc, Me */
int ls__uc_is_word(uint32_t c);         /* regex crate's \w */
int ls__uc_is_chinese(uint32_t c);      /* BERT's CJK ranges */
/* char::to_lowercase (full mapping, so U+0130 becomes "i\u0307"), appended to b. */
int ls__uc_lower_append(ls__buf *b, uint32_t c);
/* NFC/NFD/NFKC/NFKD of s[0, n) appended to b. form: 'C', 'D', 'c' (NFKC), 'd' (NFKD). */
int ls__uc_normalize(ls__buf *b, const char *s, size_t n, char form);

/* ---- patterns (tok_regex.c) -------------------------------------------------------- */

/* A Split/Replace pattern: a Regex (Oniguruma syntax in the file, translated to PCRE2) or a
 * String (matched literally). find_matches reproduces rust-onig's find_iter. */
typedef struct ls__tre {
  pcre2_code *code;
  pcre2_match_data *md;
  pcre2_match_context *mctx;
  pcre2_jit_stack *jit;
  char *src;            /* the pattern as the file wrote it (arena), for messages */
} ls__tre;
int ls__tre_compile(ls__tre *re, const char *pat, size_t len, int literal, ls_arena *a, ls_diag *d);
void ls__tre_free(ls__tre *re);

typedef struct ls__span { uint32_t s, e; uint8_t match; } ls__span;
typedef struct ls__spans { ls__span *p; size_t n, cap; } ls__spans;
int ls__spans_add(ls__spans *v, uint32_t s, uint32_t e, int match);
/* Appends to out the pieces of s[0, n) that the pattern finds (match=1) and the gaps
 * between them (match=0), covering s exactly (Pattern::find_matches). */
int ls__tre_find_matches(ls__tre *re, const char *s, size_t n, ls__spans *out, ls_diag *d);

/* ---- the pipeline's pieces --------------------------------------------------------- */

typedef struct ls__piece {
  uint32_t off, len;    /* bytes of the piece in the work buffer */
  int32_t id;           /* >= 0: already a token (an added token); -1: still text */
  uint8_t first;        /* the piece starts at offset 0 of the original text */
} ls__piece;

typedef struct ls__work {
  ls__buf text;                 /* every piece's bytes; transformed text is appended */
  ls__piece *pieces, *next;     /* [n] current pieces, and room for the next stage's */
  size_t n, cap, n_next, cap_next;
  ls__spans spans;              /* scratch for splitting */
  ls__buf scratch, scratch2;    /* scratch for normalizers */
} ls__work;
int ls__work_emit(ls__work *w, uint32_t off, uint32_t len, int32_t id, int first);
void ls__work_swap(ls__work *w);  /* the pieces emitted become the current ones */

typedef enum ls__split_beh {
  LS__SPLIT_REMOVED, LS__SPLIT_ISOLATED, LS__SPLIT_MERGED_PREV, LS__SPLIT_MERGED_NEXT,
  LS__SPLIT_CONTIGUOUS
} ls__split_beh;
/* Emits the pieces piece p splits into, given its matches (NormalizedString::split);
 * empty pieces are dropped, as PreTokenizedString::split does. */
int ls__split_emit(ls__work *w, const ls__piece *p, const ls__spans *m, ls__split_beh beh,
                   int invert);

/* ---- normalizers (tok_normalize.c) ------------------------------------------------- */

typedef enum ls__norm_kind {
  LS__N_SEQUENCE, LS__N_NFC, LS__N_NFD, LS__N_NFKC, LS__N_NFKD, LS__N_LOWERCASE,
  LS__N_STRIP, LS__N_STRIP_ACCENTS, LS__N_REPLACE, LS__N_PREPEND, LS__N_BERT, LS__N_NMT
} ls__norm_kind;
typedef struct ls__norm {
  ls__norm_kind kind;
  struct ls__norm *items; size_t n;     /* Sequence */
  int left, right;                      /* Strip */
  ls__tre re;                           /* Replace */
  const char *content; size_t content_len; /* Replace's content, Prepend's prepend */
  int clean_text, chinese, strip_accents, lowercase; /* BertNormalizer */
} ls__norm;
/* Normalizes s[0, n) into out (cleared first). */
int ls__norm_apply(const ls__norm *nm, const char *s, size_t n, ls__buf *out, ls__buf *tmp,
                   ls_diag *d);
void ls__norm_free(ls__norm *nm);

/* ---- pre-tokenizers (tok_pretok.c) ------------------------------------------------- */

typedef enum ls__pretok_kind {
  LS__P_SEQUENCE, LS__P_BYTELEVEL, LS__P_SPLIT, LS__P_METASPACE, LS__P_BERT, LS__P_WHITESPACE,
  LS__P_WHITESPACE_SPLIT, LS__P_DIGITS, LS__P_PUNCTUATION, LS__P_CHAR_DELIMITER
} ls__pretok_kind;
typedef struct ls__pretok {
  ls__pretok_kind kind;
  struct ls__pretok *items; size_t n;   /* Sequence */
  int add_prefix_space, use_regex;      /* ByteLevel */
  ls__tre re;                           /* Split (and ByteLevel's GPT-2 pattern) */
  ls__split_beh behavior; int invert;   /* Split, Punctuation */
  uint32_t repl; int prepend_scheme; int split; /* Metaspace: 0 always, 1 first, 2 never */
  int individual;                       /* Digits */
  uint32_t delim;                       /* CharDelimiterSplit */
} ls__pretok;
int ls__pretok_apply(const ls__pretok *pt, ls__work *w, ls_diag *d);
void ls__pretok_free(ls__pretok *pt);
/* The byte-level alphabet: byte -> code point (GPT-2's bytes_to_unicode) and back. */
extern const uint16_t ls__bytelevel_cp[256];
int ls__bytelevel_byte(uint32_t cp); /* the byte a code point stands for, or -1 */

/* ---- models (bpe.c, wordpiece.c) --------------------------------------------------- */

typedef enum ls__model_kind { LS__M_BPE, LS__M_WORDPIECE, LS__M_WORDLEVEL } ls__model_kind;
typedef struct ls__bpe_cache_entry { const char *key; uint32_t len, hash, off, n; } ls__bpe_cache_entry;
typedef struct ls__model {
  ls__model_kind kind;
  ls__smap vocab;                 /* token string -> id */
  const char **vocab_s;           /* [n_ids] id -> string (NULL: no token), arena */
  uint32_t *vocab_len;            /* [n_ids] */
  size_t n_ids;                   /* largest id + 1 */
  size_t vocab_count;             /* entries of the vocab (get_vocab_size) */
  size_t max_token_len;           /* longest token, bytes */
  /* BPE */
  ls__u64map merges;              /* (a << 32 | b) -> (rank << 32 | new id) */
  int64_t unk_id;                 /* -1: no unk_token */
  const char *unk_token;          /* as the file names it (arena) or NULL */
  const char *prefix, *suffix;    /* continuing_subword_prefix / end_of_word_suffix or NULL */
  size_t prefix_len, suffix_len;
  int fuse_unk, byte_fallback, ignore_merges;
  int split_meta;                 /* words may be cut before each U+2581 that follows another
                                     character: no token spans such a place (bpe.c) */
  int32_t byte_ids[256];          /* id of "<0xHH>" or -1 */
  int32_t *cp_ids;                /* [0x10000] id of a one-character token, -1 none; NULL
                                     when a prefix/suffix changes what a character looks up */
  /* word cache: merged pieces of up to 255 bytes (as Hugging Face caches them) */
  ls__bpe_cache_entry *cache; size_t cache_cap, cache_n;
  ls__ids cache_ids; ls_arena cache_arena;
  /* WordPiece */
  size_t max_input_chars;
} ls__model;
int ls__bpe_tokenize(ls__model *m, const char *s, size_t n, ls__ids *out, ls_diag *d);
int ls__wordpiece_tokenize(const ls__model *m, const char *s, size_t n, ls__ids *out, ls_diag *d);
int ls__wordlevel_tokenize(const ls__model *m, const char *s, size_t n, ls__ids *out, ls_diag *d);
/* Resolves merges (strings) to ids once the vocabulary is read. */
int ls__bpe_add_merge(ls__model *m, const char *a, size_t alen, const char *b, size_t blen,
                      uint32_t rank, ls_diag *d);
int ls__bpe_finish(ls__model *m, ls_diag *d);
void ls__model_free(ls__model *m);

/* ---- added tokens (tok_added.c) ---------------------------------------------------- */

typedef struct ls__added {
  const char *content; uint32_t len;    /* arena */
  const char *norm; uint32_t norm_len;  /* content after the normalizer (normalized tokens) */
  uint32_t id;
  uint8_t special, single_word, lstrip, rstrip, normalized;
} ls__added;
typedef struct ls__trie {
  ls__u64map edges;     /* (node << 8 | byte) -> child node */
  int32_t *tok;         /* [n_nodes] index into added[] of the token ending here, or -1 */
  size_t n_nodes, cap_nodes;
  uint8_t first[32];    /* bitset of first bytes, to skip quickly */
} ls__trie;

/* ---- post-processors, decoders (tok_post.c, tok_decode.c) -------------------------- */

typedef enum ls__post_kind {
  LS__PP_TEMPLATE, LS__PP_BERT, LS__PP_ROBERTA, LS__PP_BYTELEVEL, LS__PP_SEQUENCE
} ls__post_kind;
typedef struct ls__post {
  ls__post_kind kind;
  struct ls__post *items; size_t n;     /* Sequence */
  /* Template (single): pieces; seq < 0 marks the sequence, else ids[off, off+len) */
  struct { int is_seq; uint32_t off, len; } *tpl; size_t n_tpl;
  uint32_t *tpl_ids; size_t n_tpl_ids;
  uint32_t cls, sep;                    /* Bert, Roberta */
} ls__post;
int ls__post_apply(const ls__post *pp, const ls__ids *in, ls__ids *out);
void ls__post_free(ls__post *pp);

typedef enum ls__dec_kind {
  LS__D_SEQUENCE, LS__D_BYTELEVEL, LS__D_METASPACE, LS__D_WORDPIECE, LS__D_BPE, LS__D_REPLACE,
  LS__D_BYTE_FALLBACK, LS__D_FUSE, LS__D_STRIP, LS__D_CTC
} ls__dec_kind;
typedef struct ls__dec {
  ls__dec_kind kind;
  struct ls__dec *items; size_t n;      /* Sequence */
  uint32_t repl; int prepend_scheme;    /* Metaspace */
  const char *str; size_t str_len;      /* WordPiece prefix, BPE suffix, Replace content,
                                           CTC pad token */
  const char *str2; size_t str2_len;    /* CTC word delimiter */
  int cleanup;                          /* WordPiece, CTC */
  ls__tre re;                           /* Replace */
  uint32_t strip_cp; size_t start, stop; /* Strip */
} ls__dec;
/* A list of token strings, transformed by each decoder in turn (Decoder::decode_chain). */
typedef struct ls__strs { ls__buf bytes; uint32_t *off, *len; size_t n, cap; } ls__strs;
int ls__strs_add(ls__strs *v, const char *s, size_t n);
void ls__strs_free(ls__strs *v);
int ls__dec_chain(const ls__dec *dc, ls__strs *toks, ls_diag *d);
void ls__dec_free(ls__dec *dc);

/* ---- the tokenizer ----------------------------------------------------------------- */

struct ls_tok {
  ls_arena arena;
  ls__model model;
  ls__norm *norm;                 /* NULL: none */
  ls__pretok *pretok;
  ls__post *post;
  ls__dec *dec;
  ls__added *added; size_t n_added;
  ls__u64map added_by_id;         /* id -> index into added[] */
  ls__smap added_map;             /* content -> id */
  ls__trie trie_raw, trie_norm;   /* non-normalized / normalized added tokens */
  /* truncation (max_len 0: none) and padding (pad 0: none) */
  size_t trunc_max; int trunc_left;
  int pad; size_t pad_len, pad_multiple; uint32_t pad_id; int pad_left;
  ls__work work;                  /* reused between encodes */
  ls__ids scratch_ids;
  char desc[160];
};

/* tok_added.c */
int ls__added_add(ls_tok *t, ls__added *tok, ls_diag *d);  /* AddedVocabulary::add_tokens */
int ls__added_build(ls_tok *t, ls_diag *d);                 /* normalized forms and tries */
/* Splits piece p with the raw or normalized trie (AddedVocabulary::find_matches). */
int ls__added_split(const ls_tok *t, const ls__trie *tr, ls__work *w, const ls__piece *p);
void ls__added_free(ls_tok *t);

/* tok_json.c: from the text of a tokenizer.json, or from the document already parsed
 * (borrowed; tok_gguf.c builds one from a GGUF file's tokenizer.ggml.* keys) */
int ls__tok_from_json(ls_tok *t, const char *text, size_t len, ls_diag *d);
int ls__tok_from_doc(ls_tok *t, const json_t *root, ls_diag *d);
/* tok_gguf.c */
int ls__tok_from_gguf(ls_tok *t, const char *path, ls_diag *d);
/* tokenizer.c */
ls_tok *ls__tok_new(void);

#endif
