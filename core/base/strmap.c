/* strmap.c: the string-keyed hash map (see strmap.h). The table stays at most 3/4 full and
 * doubles beyond; a removal shifts the following entries of its probe run back into the hole
 * (Knuth's algorithm R), which keeps every run contiguous without tombstones. */
#include "core/base/strmap.h"

#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

static uint64_t hash_of(const char *s) { /* FNV-1a 64 */
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

void ls_strmap_init(ls_strmap *m) { memset(m, 0, sizeof *m); }

void ls_strmap_deinit(ls_strmap *m) {
  ls_free(m->slots);
  memset(m, 0, sizeof *m);
}

/* The slot holding key, or the free slot where it would go. cap must be > 0. */
static size_t probe(const ls__strmap_slot *slots, size_t cap, const char *key, uint64_t h) {
  size_t i = (size_t)h & (cap - 1);
  while (slots[i].key && !(slots[i].hash == h && strcmp(slots[i].key, key) == 0)) i = (i + 1) & (cap - 1);
  return i;
}

void *ls_strmap_get(const ls_strmap *m, const char *key) {
  if (m->n == 0) return NULL;
  size_t i = probe(m->slots, m->cap, key, hash_of(key));
  return m->slots[i].key ? m->slots[i].value : NULL;
}

static int grow(ls_strmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 16;
  ls__strmap_slot *slots = ls_calloc(cap, sizeof *slots);
  if (!slots) return LS_ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) slots[probe(slots, cap, m->slots[i].key, m->slots[i].hash)] = m->slots[i];
  ls_free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return LS_OK;
}

int ls_strmap_put(ls_strmap *m, const char *key, void *value) {
  if ((m->n + 1) * 4 > m->cap * 3 && grow(m) != LS_OK) return LS_ENOMEM;
  uint64_t h = hash_of(key);
  size_t i = probe(m->slots, m->cap, key, h);
  if (!m->slots[i].key) m->n++;
  m->slots[i] = (ls__strmap_slot){key, h, value};
  return LS_OK;
}

void *ls_strmap_remove(ls_strmap *m, const char *key) {
  if (m->n == 0) return NULL;
  size_t mask = m->cap - 1;
  size_t i = probe(m->slots, m->cap, key, hash_of(key));
  if (!m->slots[i].key) return NULL;
  void *value = m->slots[i].value;
  /* Move back every later entry of the run that may sit in the hole: one whose home slot is
   * not cyclically within (hole, j]. */
  for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
    size_t home = (size_t)m->slots[j].hash & mask;
    int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    m->slots[i] = m->slots[j];
    i = j;
  }
  m->slots[i] = (ls__strmap_slot){NULL, 0, NULL};
  m->n--;
  return value;
}
