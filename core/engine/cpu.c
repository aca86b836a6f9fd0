/* cpu.c: CPUID leaf 7 and the OS's AVX-512 state (cpu.h). */
#include "core/engine/cpu.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>

int ls_cpu_avx512(ls_cpu_leaf7 *l) {
  unsigned a, b, c, d;
  memset(l, 0, sizeof *l);
  if (__get_cpuid_max(0, NULL) >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    l->ebx = b;
    l->ecx = c;
    l->edx = d;
    if (a >= 1) { /* EAX of subleaf 0: the highest subleaf */
      __cpuid_count(7, 1, a, b, c, d);
      l->eax1 = a;
    }
  }
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* no OSXSAVE */
  unsigned xlo, xhi;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  (void)xhi;
  return (xlo & 0xe6u) == 0xe6u;
}

#else

int ls_cpu_avx512(ls_cpu_leaf7 *l) {
  memset(l, 0, sizeof *l);
  return 0;
}

#endif
