/* arena.c: bump allocation in linked blocks (see arena.h). */
#include "core/base/arena.h"
#include "core/base/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct ls_arena_block {
  ls_arena_block *prev;
  size_t size; /* usable bytes in data */
  size_t used;
  _Alignas(16) unsigned char data[];
};

void ls_arena_init(ls_arena *a, size_t block_size) {
  a->head = NULL;
  a->block_size = block_size ? block_size : 64 * 1024;
  a->used_total = 0;
}

void *ls_arena_alloc(ls_arena *a, size_t n) {
  if (n > SIZE_MAX - 32) return NULL;
  size_t need = (n + 15) & ~(size_t)15;
  if (need == 0) need = 16;
  ls_arena_block *b = a->head;
  if (!b || b->size - b->used < need) {
    size_t size = need > a->block_size ? need : a->block_size;
    if (size > SIZE_MAX - sizeof *b) return NULL;
    ls_arena_block *nb = ls_malloc(sizeof *nb + size);
    if (!nb) return NULL;
    nb->prev = b;
    nb->size = size;
    nb->used = 0;
    a->head = b = nb;
  }
  void *p = b->data + b->used;
  b->used += need;
  a->used_total += need;
  return p;
}

void *ls_arena_calloc(ls_arena *a, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  void *p = ls_arena_alloc(a, count * size);
  if (p) memset(p, 0, count * size);
  return p;
}

char *ls_arena_strndup(ls_arena *a, const char *s, size_t n) {
  if (n == SIZE_MAX) return NULL;
  char *r = ls_arena_alloc(a, n + 1);
  if (!r) return NULL;
  memcpy(r, s, n);
  r[n] = 0;
  return r;
}

char *ls_arena_sprintf(ls_arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *r = n < 0 ? NULL : ls_arena_alloc(a, (size_t)n + 1);
  if (r) vsnprintf(r, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return r;
}

void ls_arena_reset(ls_arena *a) {
  ls_arena_block *b = a->head;
  while (b && b->prev) {
    ls_arena_block *p = b->prev;
    ls_free(b);
    b = p;
  }
  if (b) b->used = 0;
  a->head = b;
  a->used_total = 0;
}

void ls_arena_deinit(ls_arena *a) {
  ls_arena_reset(a);
  ls_free(a->head);
  a->head = NULL;
}
