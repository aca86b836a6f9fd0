/* strmap.h: a hash map from NUL-terminated strings to pointers, for the places where a list
 * searched by name would grow with the input: the language server's open documents and their
 * analyses (keyed by URI; thousands open in one workspace), the shard names of a safetensors
 * index (one per tensor). Open addressing with linear probing and backward-shift deletion
 * (no tombstones, so a map that sees many opens and closes never slows down), FNV-1a hashes
 * kept beside the keys. Lookups, insertions and removals are O(1) on average.
 *
 * Ownership: keys are borrowed: a key must stay valid and unchanged while it is in the map
 * (the map stores the pointer, usually to a string owned by the value). Values are borrowed
 * too; the map never frees either. */
#ifndef LS_STRMAP_H
#define LS_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls__strmap_slot {
  const char *key;       /* NULL: free slot */
  uint64_t hash;
  void *value;
} ls__strmap_slot;

/* The entries are the slots with a key: iterating slots[0, cap) visits each once (in no
 * particular order), which is how an owner frees the values before ls_strmap_deinit. */
typedef struct ls_strmap {
  ls__strmap_slot *slots; /* [cap] cap is 0 or a power of two */
  size_t cap, n;          /* n entries */
} ls_strmap;

void ls_strmap_init(ls_strmap *m);
void ls_strmap_deinit(ls_strmap *m);
/* The value stored under key, or NULL. */
void *ls_strmap_get(const ls_strmap *m, const char *key);
/* Stores value under key (replacing the value and key pointer of an equal key). LS_ENOMEM
 * leaves the map as it was. */
int ls_strmap_put(ls_strmap *m, const char *key, void *value);
/* Removes key; returns the value it had, or NULL when it was not there. */
void *ls_strmap_remove(ls_strmap *m, const char *key);

#endif
