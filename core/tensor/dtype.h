/* dtype.h: the element types of tensor files (generated from dtype.def) and their
 * conversion to f32. Every type, including the GGUF block quantizations, has a dequantizing
 * reader: ls_dtype_to_f32 turns a run of stored elements into floats. The engine calls it on
 * rows of memory-mapped weights; statistics call it on blocks of non-f32 data. */
#ifndef LS_TENSOR_DTYPE_H
#define LS_TENSOR_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum ls_dtype {
#define X(id, name, be, bb, kind, mn) LS_DT_##id,
#include "core/tensor/dtype.def"
#undef X
  LS_DT_COUNT
} ls_dtype;

typedef enum ls_dtype_kind {
  LS_DK_F = 'F', LS_DK_I = 'I', LS_DK_U = 'U', LS_DK_B = 'B', LS_DK_Q = 'Q'
} ls_dtype_kind;

/* Borrowed static name ("bf16", "q4_k"); "?" for out-of-range values. */
const char *ls_dtype_name(ls_dtype dt);
/* Parses a name as printed by ls_dtype_name; returns LS_OK or LS_ENOENT. */
int ls_dtype_parse(const char *name, ls_dtype *out);
int ls_dtype_block_elems(ls_dtype dt);   /* 1 for plain types, 32 or 256 for quants */
int ls_dtype_block_bytes(ls_dtype dt);   /* bytes per block (per element if plain) */
ls_dtype_kind ls_dtype_kind_of(ls_dtype dt);
double ls_dtype_min_normal(ls_dtype dt); /* 0 when the type has no subnormals */

/* Bytes needed for n elements; LS_EOVERFLOW if that overflows uint64 and LS_EFORMAT if
 * n is not a whole number of blocks of a block-quantized type. */
int ls_dtype_nbytes(ls_dtype dt, uint64_t n, uint64_t *out);

/* Scalar conversions of the 16- and 8-bit float formats (IEEE binary16, bfloat16, OCP FP8
 * E4M3FN (no infinities, 0x7f/0xff NaN, max 448) and E5M2 (IEEE-like)). */
float ls_f16_to_f32(uint16_t h);
uint16_t ls_f32_to_f16(float f); /* round to nearest even */
float ls_bf16_to_f32(uint16_t h);
uint16_t ls_f32_to_bf16(float f); /* round to nearest even, NaN kept NaN */
float ls_f8e4m3_to_f32(uint8_t v);
float ls_f8e5m2_to_f32(uint8_t v);

/* Dequantizes n elements that start at `src` into dst[n] (f32). For block-quantized
 * types src must point at a block boundary and n must be a multiple of the block size
 * (the tensor-level ls_tensor_read_f32 handles arbitrary element ranges). f64 and 64-bit
 * integers are rounded to the nearest f32. Never fails for valid dt; returns LS_EINVAL
 * for a bad dt or a partial block. Thread-safe. */
int ls_dtype_to_f32(ls_dtype dt, const void *src, size_t n, float *dst);

#endif
