/* rng.h: the random numbers behind the engine's seeded weight initialisation. A splitmix64
 * stream (Steele, Lea & Flood 2014) gives uniform bits; normals come from the Ziggurat method
 * of Marsaglia & Tsang (2000, "The Ziggurat Method for Generating Random Variables", JSS 5(8)),
 * 128 layers, with the layer index and the sample drawn from separate bits of one 64-bit word
 * (Doornik 2005 showed that sharing them correlates consecutive draws). About 98.8% of draws
 * cost one table look-up and one multiply, which is what makes random-initialising a
 * billion-parameter model take seconds rather than the half-minute that a Box-Muller
 * transform (a log and a sincos per pair) took. Results depend only on the seed. */
#ifndef LS_ENGINE_RNG_H
#define LS_ENGINE_RNG_H

#include <stdint.h>

typedef struct ls_rng { uint64_t s; } ls_rng;

static inline void ls_rng_seed(ls_rng *r, uint64_t seed) { r->s = seed; }

/* splitmix64: 64 uniform bits per call. */
static inline uint64_t ls_rng_u64(ls_rng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in (0, 1): never 0, so log() of it is finite. */
static inline double ls_rng_uniform(ls_rng *r) {
  return ((double)(ls_rng_u64(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* A standard normal deviate (mean 0, variance 1). Thread-safe: the shared tables are built
 * once, on first use. */
double ls_rng_normal(ls_rng *r);

#endif
