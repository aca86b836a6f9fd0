/* clang_compat.h: force-included (-include) into the project's sources in the fuzz build
 * only. Debian's clang 14 rejects __builtin_cpu_supports("f16c") ("invalid cpu feature
 * string"; GCC and clang >= 16 accept it), which core/tensor/dtype.c and stats.c use to pick
 * their F16C/AVX2 paths. This maps the builtin to a function that answers "f16c" from
 * CPUID (leaf 1, ECX bit 29, with clang's own check that AVX state is saved) and the other
 * names the project uses with clang's builtin. Nothing changes for GCC builds. */
#ifndef LS_FUZZ_CLANG_COMPAT_H
#define LS_FUZZ_CLANG_COMPAT_H
#if defined(__clang__) && __clang_major__ < 16 && defined(__x86_64__)
#include <cpuid.h>
#include <string.h>

static inline int ls_fuzz_cpu_f16c(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  return (c >> 29) & 1u;
}

/* Defined before the macro below, so the builtins named here are clang's own. */
static inline int ls_fuzz_cpu_supports(const char *f) {
  if (strcmp(f, "f16c") == 0) return __builtin_cpu_supports("avx") && ls_fuzz_cpu_f16c();
  if (strcmp(f, "avx2") == 0) return __builtin_cpu_supports("avx2");
  if (strcmp(f, "fma") == 0) return __builtin_cpu_supports("fma");
  if (strcmp(f, "avx512f") == 0) return __builtin_cpu_supports("avx512f");
  if (strcmp(f, "avx512bw") == 0) return __builtin_cpu_supports("avx512bw");
  if (strcmp(f, "avx512vl") == 0) return __builtin_cpu_supports("avx512vl");
  if (strcmp(f, "avx512dq") == 0) return __builtin_cpu_supports("avx512dq");
  return 0; /* a feature this shim does not know: take the portable path */
}
#define __builtin_cpu_supports(feat) ls_fuzz_cpu_supports(feat)
#endif
#endif
