/* text.h: positions in text documents. LSP clients count columns in UTF-16 code units (or
 * UTF-8 bytes / UTF-32 code points when negotiated); the core works in byte offsets. A line
 * index converts between the two, with "\n", "\r\n" and "\r" all ending a line as LSP says.
 * Positions past the end of a line clamp to the line end; past the last line, to the end of
 * the text (the LSP rule for out-of-range positions). Invalid UTF-8 counts one unit per byte.
 *
 * Cost: a conversion is a binary search for the line, then a walk over at most
 * LS_TEXT_MARK_STRIDE bytes of it: lines longer than that carry marks (a character start
 * with its columns) every LS_TEXT_MARK_STRIDE bytes, so a one-line file with thousands of
 * diagnostics is converted in linear time, whatever the order of the offsets. */
#ifndef LS_TEXT_H
#define LS_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef enum ls_pos_enc { LS_POS_UTF16 = 0, LS_POS_UTF8, LS_POS_UTF32 } ls_pos_enc;

typedef struct ls_pos { uint32_t line, col; } ls_pos; /* 0-based, col in the encoding's units */

/* Bytes between two marks of a long line (and the length from which a line gets marks). */
#define LS_TEXT_MARK_STRIDE 256

/* A character start inside a long line, with the columns before it in the line. The UTF-8
 * column is off minus the line start. */
typedef struct ls_text_mark {
  size_t off;            /* byte offset of a character start (never a line start) */
  uint32_t u16, u32;     /* columns at off in UTF-16 code units and in code points */
} ls_text_mark;

typedef struct ls_text_index {
  const char *text;      /* borrowed: the indexed text, must outlive the index */
  size_t len;            /* bytes */
  size_t *line_starts;   /* [n_lines] byte offset of each line's first byte (owned) */
  size_t n_lines;        /* >= 1 */
  ls_text_mark *marks;   /* [n_marks] owned, ascending offsets; NULL when no line is long */
  size_t n_marks;
} ls_text_index;

int ls_text_index_init(ls_text_index *idx, const char *text, size_t len); /* LS_ENOMEM */
void ls_text_index_deinit(ls_text_index *idx);
ls_pos ls_text_pos_of(const ls_text_index *idx, size_t offset, ls_pos_enc enc);
size_t ls_text_offset_of(const ls_text_index *idx, ls_pos pos, ls_pos_enc enc);
/* Byte offset just past the last content byte of `line` (before its line break); the text
 * length for lines past the end. */
size_t ls_text_line_end(const ls_text_index *idx, uint32_t line);
/* New text (caller frees with ls_free, NUL-terminated): text[0, start) + ins + text[end, len).
 * LS_EINVAL if start > end or end > len; LS_EOVERFLOW; LS_ENOMEM. */
int ls_text_splice(const char *text, size_t len, size_t start, size_t end, const char *ins,
                   size_t ins_len, char **out, size_t *out_len);

/* ---- UTF-8 in messages. Messages that quote user text (an expression, a path, a glob)
 * must stay valid UTF-8 when they are cut to a buffer's size, or a JSON encoder refuses
 * the whole message. */

/* Bytes of the well-formed UTF-8 character at s[0..n) (1 to 4), 0 when s[0] starts none. */
size_t ls_utf8_char_len(const char *s, size_t n);
/* Length of the longest prefix of the NUL-terminated s that has at most max bytes and does
 * not cut a character, as an int for "%.*s". */
int ls_utf8_clip(const char *s, size_t max);
/* Makes the NUL-terminated s valid UTF-8 in place: a character cut off at the end is
 * dropped, any other byte that starts no well-formed character becomes '?'. Returns s. */
char *ls_utf8_repair(char *s);

#endif
