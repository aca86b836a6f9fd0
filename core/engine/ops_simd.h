/* ops_simd.h: engine-internal vectorised loops shared by ops.c and ops_nn.c: weight row
 * decoders and the transcendental functions behind GELU, SiLU and softmax. They are plain
 * C loops written so the compiler can vectorise them; ops_simd.c compiles each one twice
 * (x86-64-v3 with AVX2/FMA/F16C, and the baseline) and the loader picks the clone the CPU
 * supports (GCC/Clang target_clones), so the binary runs anywhere and fast where it can.
 * exp, tanh-GELU and SiLU, which GCC does not vectorise, are AVX2/FMA intrinsics picked at
 * run time instead (scalar on other CPUs). */
#ifndef LS_ENGINE_OPS_SIMD_H
#define LS_ENGINE_OPS_SIMD_H

#include <stdint.h>
#include <string.h>

static inline float ls__bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* IEEE half to float, exact for every input (subnormals, inf, NaN). Branch-free enough to
 * vectorise: the subnormal case is computed as mantissa * 2^-24 and selected. */
static inline float ls__f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t normal = sign | ((exp + 112u) << 23) | (mant << 13);
  uint32_t infnan = sign | 0x7f800000u | (mant << 13);
  float sub = (float)mant * 5.9604644775390625e-8f; /* 2^-24 */
  uint32_t subu;
  memcpy(&subu, &sub, 4);
  subu |= sign;
  uint32_t u = exp == 0 ? subu : exp == 31 ? infnan : normal;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* out[n] from the encodings of ops.h; q8_0/q4_0 start at a block boundary. */
void ls__dec_f16(float *out, const uint16_t *in, int64_t n);
void ls__dec_bf16(float *out, const uint16_t *in, int64_t n);
void ls__dec_q8_0(float *out, const uint8_t *blocks, int64_t n);
void ls__dec_q4_0(float *out, const uint8_t *blocks, int64_t n);

/* y[n] = exp(x[n]) with about 1 ulp error on the float range (Cephes polynomial);
 * inputs below -87.3 give 0, above 88.7 give +inf. */
void ls__exp_vec(float *y, const float *x, int64_t n);
/* y[n] = act(x[n]) for the ls_ops_act kinds (tanh/erf GELU, SiLU, ReLU). */
void ls__act_vec(int act, float *y, const float *x, int64_t n);
/* g[n] = act(g[n]) * u[n] (a GLU's gate and up halves), bit for bit ls__act_vec then a
 * multiply, in one pass. */
void ls__glu_vec(int act, float *g, const float *u, int64_t n);
/* y[n] = a[n] + b[n]. */
void ls__add3_vec(float *y, const float *a, const float *b, int64_t n);
/* For tests: the widest vector code exp, GELU and SiLU may use (2 AVX-512F, 1 AVX2/FMA,
 * 0 scalar; default 2, still limited by the CPU). Returns the previous limit. */
int ls__simd_limit(int level);

#endif
