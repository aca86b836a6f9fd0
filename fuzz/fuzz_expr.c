/* fuzz_expr.c: libFuzzer target for the debugger's expression language (core/debug/expr.c
 * parser, expr_eval.c evaluator): the text users type in the Debug Console, watches, hovers
 * and breakpoint conditions. The input is the expression text (cut at the first NUL); it is
 * parsed, evaluated as a value and as a condition against a fixed scope that holds tensors
 * of several dtypes and shapes, including NaN/Inf values, an empty tensor, a scalar, a 4-d
 * attention tensor and a block-quantized (q8_0) one, like the paused-module scope of the
 * debug adapter.
 * Invariants checked besides sanitizers (abort on break):
 *   - a failed parse is LS_EPARSE/LS_ELIMIT with "column N: ..." and 1 <= N <= length + 1
 *     (LS_EPARSE), and leaves *out NULL;
 *   - a failed evaluation is LS_EINVAL/LS_ENOMEM with a message naming a column in range;
 *   - a value is a number, a tensor (ndim 0..4, non-negative shape, data present when it has
 *     elements; every element read back) or a text (non-NULL);
 *   - the condition form agrees with the value form: truth is set only when the value is a
 *     number, and equals (number != 0), NaN counting as true as in C. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/debug/expr.h"
#include "fuzz/fuzz_common.h"

static float g_out[2 * 3 * 4];       /* [2, 3, 4] f32: a ramp with a NaN, +Inf, -Inf and a zero */
static float g_mlp[2 * 3 * 4];       /* [2, 3, 4] f32: ones */
static uint16_t g_in[2 * 3 * 4];     /* [2, 3, 4] bf16: a ramp */
static uint16_t g_w[4 * 4];          /* [4, 4] f16: a ramp */
static float g_bias[4];              /* [4] f32 */
static float g_attn[1 * 2 * 3 * 3];  /* [1, 2, 3, 3] f32: rows sum to 1 */
static float g_scalar[1];            /* [] f32 */
static uint8_t g_q8[34];             /* [1, 32] q8_0: one block */
static int32_t g_ids[5];             /* [5] i32: token ids */

static uint16_t f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (uint16_t)(u >> 16);
}

static void init_data(void) {
  for (int i = 0; i < 24; i++) {
    g_out[i] = (float)i * 0.25f - 3.0f;
    g_mlp[i] = 1.0f;
    g_in[i] = f32_to_bf16((float)i * 0.5f - 6.0f);
  }
  g_out[5] = NAN; g_out[7] = INFINITY; g_out[11] = -INFINITY; g_out[12] = 0.0f;
  for (int i = 0; i < 16; i++) g_w[i] = (uint16_t)(0x3c00 + i * 64); /* f16 1.0 .. */
  for (int i = 0; i < 4; i++) g_bias[i] = (float)i - 1.5f;
  for (int i = 0; i < 18; i++) g_attn[i] = 1.0f / 3.0f;
  g_scalar[0] = 2.5f;
  g_q8[0] = 0x00; g_q8[1] = 0x3c; /* scale 1.0 (f16) */
  for (int i = 0; i < 32; i++) g_q8[2 + i] = (uint8_t)(int8_t)(i - 16);
  for (int i = 0; i < 5; i++) g_ids[i] = 100 + i;
}

static void set_tensor(ls_dbg_value *out, ls_dtype dt, const void *data, int ndim, int64_t d0, int64_t d1,
                       int64_t d2, int64_t d3) {
  out->kind = LS_DBG_V_TENSOR;
  out->t.dtype = dt;
  out->t.data = data;
  out->t.ndim = ndim;
  int64_t dims[4] = {d0, d1, d2, d3};
  for (int i = 0; i < ndim; i++) out->t.shape[i] = dims[i];
}

static int lookup(void *ud, const char *name, ls_dbg_value *out) {
  (void)ud;
  memset(out, 0, sizeof *out);
  snprintf(out->label, sizeof out->label, "%s", name);
  if (!strcmp(name, "layer")) { out->kind = LS_DBG_V_NUM; out->num = 3; return 1; }
  if (!strcmp(name, "step")) { out->kind = LS_DBG_V_NUM; out->num = 0; return 1; }
  if (!strcmp(name, "output")) { set_tensor(out, LS_DT_F32, g_out, 3, 2, 3, 4, 0); return 1; }
  if (!strcmp(name, "model.layers.0.mlp")) { set_tensor(out, LS_DT_F32, g_mlp, 3, 2, 3, 4, 0); return 1; }
  if (!strcmp(name, "input")) { set_tensor(out, LS_DT_BF16, g_in, 3, 2, 3, 4, 0); return 1; }
  if (!strcmp(name, "weight")) { set_tensor(out, LS_DT_F16, g_w, 2, 4, 4, 0, 0); return 1; }
  if (!strcmp(name, "bias")) { set_tensor(out, LS_DT_F32, g_bias, 1, 4, 0, 0, 0); return 1; }
  if (!strcmp(name, "attn_probs")) { set_tensor(out, LS_DT_F32, g_attn, 4, 1, 2, 3, 3); return 1; }
  if (!strcmp(name, "scale")) { set_tensor(out, LS_DT_F32, g_scalar, 0, 0, 0, 0, 0); return 1; }
  if (!strcmp(name, "empty")) { set_tensor(out, LS_DT_F32, g_out, 2, 0, 4, 0, 0); return 1; }
  if (!strcmp(name, "qweight")) { set_tensor(out, LS_DT_Q8_0, g_q8, 2, 1, 32, 0, 0); return 1; }
  if (!strcmp(name, "ids")) { set_tensor(out, LS_DT_I32, g_ids, 1, 5, 0, 0, 0); return 1; }
  return 0;
}

/* The column of "column N" in msg, or -1. */
static long column_of(const char *msg) {
  const char *c = strstr(msg, "column ");
  if (!c) return -1;
  return strtol(c + 7, NULL, 10);
}

static void check_value(const ls_dbg_value *v) {
  switch (v->kind) {
    case LS_DBG_V_NUM: break;
    case LS_DBG_V_TEXT:
      if (!v->text) abort();
      (void)strlen(v->text);
      break;
    case LS_DBG_V_TENSOR: {
      const ls_dbg_tensor *t = &v->t;
      if (t->ndim < 0 || t->ndim > LS_DBG_MAX_DIMS) abort();
      for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] < 0) abort();
      uint64_t n = ls_dbg_tensor_numel(t);
      if (n > 0 && !t->data) abort();
      if (n <= 4096)
        for (uint64_t i = 0; i < n; i++) (void)ls_dbg_tensor_at(t, i);
      char buf[256];
      ls_dbg_shape_format(t, buf, sizeof buf);
      break;
    }
    default: abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once;
  if (!once) {
    fuzz_setup();
    init_data();
    once = 1;
  }
  char *src = malloc(size + 1);
  if (!src) return 0;
  memcpy(src, data, size);
  src[size] = 0;
  size_t len = strlen(src);

  ls_dbg_scope sc = {.lookup = lookup};
  ls_dbg_expr *e = (ls_dbg_expr *)src; /* must be reset to NULL on failure */
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_dbg_expr_parse(src, &e, &d);
  if (rc != LS_OK) {
    if (e) abort();
    if (rc != LS_EPARSE && rc != LS_ELIMIT && rc != LS_ENOMEM) abort();
    if (rc == LS_EPARSE) {
      long col = column_of(d.msg);
      if (col < 1 || (size_t)col > len + 1) abort();
    }
    free(src);
    return 0;
  }
  if (strcmp(ls_dbg_expr_source(e), src) != 0) abort();

  ls_dbg_value v;
  ls_diag_init(&d);
  int vrc = ls_dbg_expr_eval(e, &sc, &v, &d);
  if (vrc == LS_OK) {
    check_value(&v);
  } else {
    if (vrc != LS_EINVAL && vrc != LS_ENOMEM && vrc != LS_ELIMIT) abort();
    long col = column_of(d.msg);
    if (vrc == LS_EINVAL && (col < 1 || (size_t)col > len + 1)) abort();
  }

  int truth = -1;
  ls_diag_init(&d);
  int trc = ls_dbg_expr_truth(e, &sc, &truth, &d);
  if (vrc == LS_OK && v.kind == LS_DBG_V_NUM) {
    if (trc != LS_OK || truth != (v.num != 0 && !isnan(v.num))) abort();
  } else if (trc == LS_OK) {
    abort(); /* a tensor, a text or an error cannot be a condition */
  }
  if (vrc == LS_OK) ls_dbg_value_free(&v);
  ls_dbg_expr_free(e);
  free(src);
  return 0;
}
