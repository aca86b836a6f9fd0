/* alloc.c: malloc wrappers with a per-thread fault-injection countdown (see alloc.h). */
#include "core/base/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static _Thread_local long t_fail_after = -1;
static _Thread_local long t_count = 0;

static int alloc_should_fail(void) {
  t_count++;
  if (t_fail_after < 0) return 0;
  if (t_fail_after == 0) return 1;
  t_fail_after--;
  return 0;
}

void ls_alloc_fail_after(long n) { t_fail_after = n; t_count = 0; }
void ls_alloc_fail_reset(void) { t_fail_after = -1; t_count = 0; }
long ls_alloc_count(void) { return t_count; }

void *ls_malloc(size_t n) {
  if (alloc_should_fail()) return NULL;
  return malloc(n ? n : 1);
}

void *ls_calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  if (alloc_should_fail()) return NULL;
  return calloc(count ? count : 1, size ? size : 1);
}

void *ls_realloc(void *p, size_t n) {
  if (alloc_should_fail()) return NULL;
  return realloc(p, n ? n : 1);
}

void *ls_reallocarray(void *p, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  return ls_realloc(p, count * size);
}

char *ls_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *r = ls_malloc(len + 1);
  if (!r) return NULL;
  memcpy(r, s, len);
  r[len] = 0;
  return r;
}

char *ls_strdup(const char *s) { return ls_strndup(s, SIZE_MAX); }

void ls_free(void *p) { free(p); }

void ls_alloc_trim(void) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}
