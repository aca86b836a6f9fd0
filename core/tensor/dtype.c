/* dtype.c: the dtype table (from dtype.def) and the conversion of every plain element type
 * to f32. Block quantizations are decoded in quant.c; ls_dtype_to_f32 dispatches to both.
 * The f16 and bf16 paths use AVX2/F16C when the CPU has them (chosen once at run time),
 * because the engine converts weight rows on every matrix product. */
#include "core/tensor/dtype.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/tensor/quant.h"

typedef struct dtype_row {
  const char *name;
  int block_elems, block_bytes;
  char kind;
  double min_normal;
} dtype_row;

static const dtype_row k_dtypes[LS_DT_COUNT] = {
#define X(id, name, be, bb, kind, mn) {name, be, bb, #kind[0], mn},
#include "core/tensor/dtype.def"
#undef X
};

const char *ls_dtype_name(ls_dtype dt) {
  return (unsigned)dt < LS_DT_COUNT ? k_dtypes[dt].name : "?";
}

int ls_dtype_parse(const char *name, ls_dtype *out) {
  for (int i = 0; i < LS_DT_COUNT; i++)
    if (strcmp(k_dtypes[i].name, name) == 0) { *out = (ls_dtype)i; return LS_OK; }
  return LS_ENOENT;
}

int ls_dtype_block_elems(ls_dtype dt) { return (unsigned)dt < LS_DT_COUNT ? k_dtypes[dt].block_elems : 1; }
int ls_dtype_block_bytes(ls_dtype dt) { return (unsigned)dt < LS_DT_COUNT ? k_dtypes[dt].block_bytes : 1; }
ls_dtype_kind ls_dtype_kind_of(ls_dtype dt) {
  return (unsigned)dt < LS_DT_COUNT ? (ls_dtype_kind)k_dtypes[dt].kind : LS_DK_B;
}
double ls_dtype_min_normal(ls_dtype dt) { return (unsigned)dt < LS_DT_COUNT ? k_dtypes[dt].min_normal : 0; }

int ls_dtype_nbytes(ls_dtype dt, uint64_t n, uint64_t *out) {
  if ((unsigned)dt >= LS_DT_COUNT) return LS_EINVAL;
  uint64_t be = (uint64_t)k_dtypes[dt].block_elems, bb = (uint64_t)k_dtypes[dt].block_bytes;
  if (n % be != 0) return LS_EFORMAT;
  if (__builtin_mul_overflow(n / be, bb, out)) return LS_EOVERFLOW;
  return LS_OK;
}

/* ---------------------------------------------------------------- scalar conversions */

static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

float ls_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13)); /* inf / nan */
  if (exp != 0) return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
  /* zero and subnormals: man * 2^-24, exact in f32 */
  float v = (float)man * 5.9604644775390625e-08f;
  return sign ? -v : v;
}

uint16_t ls_f32_to_f16(float f) {
  uint32_t u = f32_bits(f), sign = (u >> 16) & 0x8000;
  uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 : 0));
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: inf */
  if (a < 0x38800000u) { /* below the smallest f16 normal: round man * 2^-24 to integer */
    float v = bits_f32(a) * 16777216.0f;
    return (uint16_t)(sign | (uint32_t)nearbyintf(v));
  }
  uint32_t r = a + 0xfffu + ((a >> 13) & 1); /* round to nearest even on the dropped 13 bits */
  return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

float ls_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t ls_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}

float ls_f8e4m3_to_f32(uint8_t v) {
  uint32_t sign = v & 0x80, exp = (v >> 3) & 0xf, man = v & 7;
  float r;
  if (exp == 0xf && man == 7) return NAN; /* E4M3FN: only S.1111.111 is NaN, no infinities */
  if (exp == 0) r = (float)man * 0.001953125f; /* man * 2^-9 */
  else r = ldexpf(1.0f + (float)man / 8.0f, (int)exp - 7);
  return sign ? -r : r;
}

float ls_f8e5m2_to_f32(uint8_t v) { return ls_f16_to_f32((uint16_t)(v << 8)); }

/* ---------------------------------------------------------------- bulk conversion */

/* The tails of the SIMD rows: s may be odd-aligned inside the mapping (fuzz_safetensors). */
static inline uint16_t load_u16(const uint16_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

__attribute__((target("avx2,f16c"))) static void f16_row_f16c(const uint16_t *s, size_t n, float *d) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
  for (; i < n; i++) d[i] = ls_f16_to_f32(load_u16(s + i));
}

__attribute__((target("avx2"))) static void bf16_row_avx2(const uint16_t *s, size_t n, float *d) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(s + i)));
    _mm256_storeu_ps(d + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
  }
  for (; i < n; i++) d[i] = ls_bf16_to_f32(load_u16(s + i));
}

static int have_f16c(void) {
  static int cached = -1;
  int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (c < 0) {
    __builtin_cpu_init();
    c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2");
    __atomic_store_n(&cached, c, __ATOMIC_RELAXED);
  }
  return c;
}

/* Unaligned little-endian loads: mapped tensor data has no alignment guarantee. */
#define LOADU(T, p, i) ({ T v_; memcpy(&v_, (const char *)(p) + (size_t)(i) * sizeof(T), sizeof(T)); v_; })

int ls_dtype_to_f32(ls_dtype dt, const void *src, size_t n, float *dst) {
  const unsigned char *s = src;
  switch (dt) {
  case LS_DT_F64: for (size_t i = 0; i < n; i++) dst[i] = (float)LOADU(double, s, i); return LS_OK;
  case LS_DT_F32: memcpy(dst, s, n * 4); return LS_OK;
  case LS_DT_F16:
    if (have_f16c()) { f16_row_f16c((const uint16_t *)src, n, dst); return LS_OK; }
    for (size_t i = 0; i < n; i++) dst[i] = ls_f16_to_f32(LOADU(uint16_t, s, i));
    return LS_OK;
  case LS_DT_BF16:
    if (have_f16c()) { bf16_row_avx2((const uint16_t *)src, n, dst); return LS_OK; }
    for (size_t i = 0; i < n; i++) dst[i] = bits_f32((uint32_t)LOADU(uint16_t, s, i) << 16);
    return LS_OK;
  case LS_DT_F8_E4M3: for (size_t i = 0; i < n; i++) dst[i] = ls_f8e4m3_to_f32(s[i]); return LS_OK;
  case LS_DT_F8_E5M2: for (size_t i = 0; i < n; i++) dst[i] = ls_f8e5m2_to_f32(s[i]); return LS_OK;
  case LS_DT_I64: for (size_t i = 0; i < n; i++) dst[i] = (float)LOADU(int64_t, s, i); return LS_OK;
  case LS_DT_I32: for (size_t i = 0; i < n; i++) dst[i] = (float)LOADU(int32_t, s, i); return LS_OK;
  case LS_DT_I16: for (size_t i = 0; i < n; i++) dst[i] = (float)LOADU(int16_t, s, i); return LS_OK;
  case LS_DT_I8: for (size_t i = 0; i < n; i++) dst[i] = (float)(int8_t)s[i]; return LS_OK;
  case LS_DT_U64: for (size_t i = 0; i < n; i++) dst[i] = (float)LOADU(uint64_t, s, i); return LS_OK;
  case LS_DT_U32: for (size_t i = 0; i < n; i++) dst[i] = (float)LOADU(uint32_t, s, i); return LS_OK;
  case LS_DT_U16: for (size_t i = 0; i < n; i++) dst[i] = (float)LOADU(uint16_t, s, i); return LS_OK;
  case LS_DT_U8: for (size_t i = 0; i < n; i++) dst[i] = (float)s[i]; return LS_OK;
  case LS_DT_BOOL: for (size_t i = 0; i < n; i++) dst[i] = s[i] ? 1.0f : 0.0f; return LS_OK;
  case LS_DT_Q8_0: case LS_DT_Q4_0: case LS_DT_Q4_1: case LS_DT_Q5_0: case LS_DT_Q5_1:
  case LS_DT_Q4_K: case LS_DT_Q6_K: {
    size_t be = (size_t)ls_dtype_block_elems(dt), bb = (size_t)ls_dtype_block_bytes(dt);
    if (n % be) return LS_EINVAL;
    for (size_t b = 0; b < n / be; b++) ls__quant_block_to_f32(dt, s + b * bb, dst + b * be);
    return LS_OK;
  }
  default: return LS_EINVAL;
  }
}
