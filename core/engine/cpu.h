/* cpu.h: what the x86-64 CPU and the OS allow, read once for the kernels that dispatch on it
 * at run time (ops_bf16.c: AVX512_BF16; ops_q8.c: AVX512_VNNI; ops_dnnl.c: AMX). A CPU
 * that has AVX-512 under an OS that does not save the zmm registers must not use them, so
 * every AVX-512 check goes through ls_cpu_avx512, which checks the OS first. Elsewhere than
 * x86-64 every answer is "no". */
#ifndef LS_ENGINE_CPU_H
#define LS_ENGINE_CPU_H

/* CPUID leaf 7: subleaf 0's EBX, ECX and EDX and subleaf 1's EAX (0 when absent). */
typedef struct ls_cpu_leaf7 {
  unsigned ebx, ecx, edx, eax1;
} ls_cpu_leaf7;

/* Feature bits of leaf 7 used here. */
enum {
  LS_CPU_EBX_AVX512F = 1u << 16,
  LS_CPU_EBX_AVX512BW = 1u << 30,
  LS_CPU_EBX_AVX512VL = 1u << 31,
  LS_CPU_ECX_AVX512_VNNI = 1u << 11,
  LS_CPU_EDX_AMX_TILE = 1u << 24,
  LS_CPU_EAX1_AVX512_BF16 = 1u << 5, /* gcc 12's __builtin_cpu_supports lacks it */
};

/* Fills *l (zeros where the CPU has no leaf 7). Returns 1 when the OS saves AVX-512 state
 * (OSXSAVE, and XCR0 enables SSE, AVX, opmask, ZMM_Hi256 and Hi16_ZMM), so that the AVX-512
 * bits in *l may be used; 0 otherwise. */
int ls_cpu_avx512(ls_cpu_leaf7 *l);

#endif
