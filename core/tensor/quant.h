/* quant.h (internal to core/tensor): decoding of one GGUF/ggml quantization block. The
 * layouts are ggml's block_q8_0, block_q4_0, block_q4_1, block_q5_0, block_q5_1, block_q4_K
 * and block_q6_K (little-endian, packed), documented in docs/tensors.md. */
#ifndef LS_TENSOR_QUANT_H
#define LS_TENSOR_QUANT_H

#include "core/tensor/dtype.h"

/* Decodes the block at src (ls_dtype_block_bytes(dt) bytes) into
 * dst[ls_dtype_block_elems(dt)]. dt must be a block-quantized type. */
void ls__quant_block_to_f32(ls_dtype dt, const unsigned char *src, float *dst);

#endif
