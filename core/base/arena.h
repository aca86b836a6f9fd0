/* arena.h: a bump allocator for short-lived data with one owner (one arena per incoming
 * message, reset after the reply is written; one per parsed document). Blocks come from
 * ls_malloc, so fault injection reaches them. Everything allocated is freed at once by
 * ls_arena_reset or ls_arena_deinit; there is no per-object free. */
#ifndef LS_ARENA_H
#define LS_ARENA_H

#include <stddef.h>

typedef struct ls_arena_block ls_arena_block;
typedef struct ls_arena {
  ls_arena_block *head; /* current block, linked to older ones */
  size_t block_size;    /* default size of new blocks, bytes */
  size_t used_total;    /* bytes handed out since the last reset */
} ls_arena;

void ls_arena_init(ls_arena *a, size_t block_size); /* block_size 0 -> 64 KiB */
/* Returns 16-byte aligned memory, or NULL on allocation failure or size overflow. */
void *ls_arena_alloc(ls_arena *a, size_t n);
void *ls_arena_calloc(ls_arena *a, size_t count, size_t size);
char *ls_arena_strndup(ls_arena *a, const char *s, size_t n);
char *ls_arena_sprintf(ls_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees all blocks but the first, which is kept for reuse. */
void ls_arena_reset(ls_arena *a);
void ls_arena_deinit(ls_arena *a);

#endif
