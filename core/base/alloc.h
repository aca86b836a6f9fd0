/* alloc.h: the allocation functions every layerscope module uses instead of malloc & co.
 * They exist for one reason: fault injection. A test can make the Nth allocation from now
 * fail (ls_alloc_fail_after) and check that the code under test returns LS_ENOMEM and frees
 * what it took. Memory from these functions is ordinary malloc memory: ls_free == free. */
#ifndef LS_ALLOC_H
#define LS_ALLOC_H

#include <stddef.h>

void *ls_malloc(size_t n);
void *ls_calloc(size_t count, size_t size); /* fails (NULL) if count*size overflows */
void *ls_realloc(void *p, size_t n);
/* reallocarray: resize to count*size, NULL on overflow or failure (p is kept then). */
void *ls_reallocarray(void *p, size_t count, size_t size);
char *ls_strdup(const char *s);
char *ls_strndup(const char *s, size_t n);
void ls_free(void *p);
/* Gives free heap memory back to the system (glibc's malloc_trim; nothing elsewhere). free()
 * alone returns only the top of the heap, so after a long-running process dropped many small
 * objects (the language server closing documents) its resident size would stay at the peak.
 * Costs a walk over the free lists: call it after a batch of frees, not after each. */
void ls_alloc_trim(void);

/* Fault injection: after `n` more successful allocations, every further one fails until
 * ls_alloc_fail_reset(); n < 0 disables. Thread-local, so tests can run in parallel. */
void ls_alloc_fail_after(long n);
void ls_alloc_fail_reset(void);
/* How many allocations have been attempted on this thread since the last reset. */
long ls_alloc_count(void);

#endif
