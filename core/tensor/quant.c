/* quant.c: decoding of ggml's block quantizations, as stored in GGUF files. Each function
 * decodes one block; the formulas follow ggml's dequantize_row_* reference code (ggml-quants.c):
 *   q8_0  [32]: f16 d, i8 q[32]                      x = d*q
 *   q4_0  [32]: f16 d, u8 qs[16]                     x[j] = d*((qs[j]&15)-8), x[j+16] = d*((qs[j]>>4)-8)
 *   q4_1  [32]: f16 d, f16 m, u8 qs[16]              x = d*q + m  (q unsigned 4-bit)
 *   q5_0  [32]: f16 d, u8 qh[4], u8 qs[16]           5th bit of element j in bit j of qh, x = d*(q-16)
 *   q5_1  [32]: f16 d, f16 m, u8 qh[4], u8 qs[16]    x = d*q + m
 *   q4_K [256]: f16 d, f16 dmin, u8 scales[12] (8 6-bit scales and 8 6-bit mins), u8 qs[128]
 *   q6_K [256]: u8 ql[128], u8 qh[64], i8 scales[16], f16 d
 * Block bytes are read with memcpy-free byte arithmetic, so unaligned mappings are fine. */
#include "core/tensor/quant.h"

#include <string.h>

static float rd_f16(const unsigned char *p) { return ls_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

static void q8_0(const unsigned char *b, float *y) {
  float d = rd_f16(b);
  for (int j = 0; j < 32; j++) y[j] = d * (float)(int8_t)b[2 + j];
}

static void q4_0(const unsigned char *b, float *y) {
  float d = rd_f16(b);
  const unsigned char *qs = b + 2;
  for (int j = 0; j < 16; j++) {
    y[j] = d * (float)((qs[j] & 15) - 8);
    y[j + 16] = d * (float)((qs[j] >> 4) - 8);
  }
}

static void q4_1(const unsigned char *b, float *y) {
  float d = rd_f16(b), m = rd_f16(b + 2);
  const unsigned char *qs = b + 4;
  for (int j = 0; j < 16; j++) {
    y[j] = d * (float)(qs[j] & 15) + m;
    y[j + 16] = d * (float)(qs[j] >> 4) + m;
  }
}

static void q5(const unsigned char *b, float *y, int with_min) {
  float d = rd_f16(b), m = with_min ? rd_f16(b + 2) : 0.0f;
  const unsigned char *p = b + (with_min ? 4 : 2);
  uint32_t qh = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
  const unsigned char *qs = p + 4;
  int off = with_min ? 0 : 16;
  for (int j = 0; j < 16; j++) {
    int h0 = (int)((qh >> j) & 1) << 4, h1 = (int)((qh >> (j + 16)) & 1) << 4;
    y[j] = d * (float)(((qs[j] & 15) | h0) - off) + m;
    y[j + 16] = d * (float)(((qs[j] >> 4) | h1) - off) + m;
  }
}

/* The 6-bit scale and min of sub-block j of a q4_K block (ggml's get_scale_min_k4). */
static void scale_min_k4(int j, const unsigned char *q, int *sc, int *mn) {
  if (j < 4) {
    *sc = q[j] & 63;
    *mn = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
    *mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

static void q4_k(const unsigned char *b, float *y) {
  float d = rd_f16(b), dmin = rd_f16(b + 2);
  const unsigned char *scales = b + 4, *q = b + 16;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
    int sc, mn;
    scale_min_k4(is, scales, &sc, &mn);
    float d1 = d * (float)sc, m1 = dmin * (float)mn;
    scale_min_k4(is + 1, scales, &sc, &mn);
    float d2 = d * (float)sc, m2 = dmin * (float)mn;
    for (int l = 0; l < 32; l++) y[j + l] = d1 * (float)(q[l] & 15) - m1;
    for (int l = 0; l < 32; l++) y[j + 32 + l] = d2 * (float)(q[l] >> 4) - m2;
  }
}

static void q6_k(const unsigned char *b, float *y) {
  const unsigned char *ql = b, *qh = b + 128;
  const int8_t *sc = (const int8_t *)(b + 192);
  float d = rd_f16(b + 208);
  for (int n = 0; n < 256; n += 128, ql += 64, qh += 32, sc += 8) {
    for (int l = 0; l < 32; l++) {
      int is = l / 16;
      int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
      int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
      int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[n + l] = d * (float)sc[is] * (float)q1;
      y[n + l + 32] = d * (float)sc[is + 2] * (float)q2;
      y[n + l + 64] = d * (float)sc[is + 4] * (float)q3;
      y[n + l + 96] = d * (float)sc[is + 6] * (float)q4;
    }
  }
}

void ls__quant_block_to_f32(ls_dtype dt, const unsigned char *src, float *dst) {
  switch (dt) {
  case LS_DT_Q8_0: q8_0(src, dst); break;
  case LS_DT_Q4_0: q4_0(src, dst); break;
  case LS_DT_Q4_1: q4_1(src, dst); break;
  case LS_DT_Q5_0: q5(src, dst, 0); break;
  case LS_DT_Q5_1: q5(src, dst, 1); break;
  case LS_DT_Q4_K: q4_k(src, dst); break;
  case LS_DT_Q6_K: q6_k(src, dst); break;
  default: memset(dst, 0, sizeof(float) * (size_t)ls_dtype_block_elems(dt)); break;
  }
}
