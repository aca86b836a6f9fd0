/* fmt.h: numbers formatted for people, shared by every front end (CLI tables, LSP hovers,
 * inlay hints, code lens, the debugger's console) so that a figure reads the same
 * everywhere. Each function writes into buf (cap bytes, always NUL-terminated when cap > 0)
 * and returns buf, so calls can sit inside a printf argument list. */
#ifndef LS_FMT_H
#define LS_FMT_H

#include <stddef.h>
#include <stdint.h>

/* 1234567 -> "1,234,567"; INT64_MIN included. */
const char *ls_fmt_grouped(int64_t v, char *buf, size_t cap);
/* Parameter counts as model cards write them: 6738415616 -> "6.74 B", 950 -> "950". */
const char *ls_fmt_count(double v, char *buf, size_t cap);
/* Decimal SI prefixes with a unit: 2.44e9, "FLOP" -> "2.44 GFLOP"; 12 -> "12 FLOP". */
const char *ls_fmt_si(double v, const char *unit, char *buf, size_t cap);
/* Binary byte sizes: 13.49 GiB, 44.00 KiB, 512 B. */
const char *ls_fmt_bytes(uint64_t v, char *buf, size_t cap);

#endif
