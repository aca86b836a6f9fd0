/* storage.c: the bytes a checkpoint stores its weights in, from its quantization_config, for
 * the figure "weights as stored" (figures.h). Two formats are modelled from their upstream
 * definitions; any other quant_method is said to be unknown rather than guessed:
 *   - "fp8" (DeepSeek-V3, transformers' FineGrainedFP8): every nn.Linear weight except
 *     lm_head and modules_to_not_convert is float8 (1 byte) with one float32 weight_scale_inv
 *     per weight_block_size block ([128, 128] by default; edge blocks padded, README_WEIGHTS.md
 *     of deepseek-ai/DeepSeek-V3); everything else stays in torch_dtype, persistent buffers
 *     in float32;
 *   - "mxfp4" (gpt-oss, transformers' Mxfp4 quantizer, OCP Microscaling spec): the experts'
 *     stacked matrices (gate_up_proj, down_proj) are 4-bit e2m1 values, two per byte
 *     (*_blocks), with one 8-bit e8m0 scale per 32 values (*_scales): 17 bytes per 32
 *     elements; everything else stays in torch_dtype.
 * Without quantization_config the weights are stored in torch_dtype. Tied copies and MTP
 * layers are not counted (as in every figure; the MTP layer's bytes would come on top). */
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/model/figures.h"
#include "core/model/model_int.h"

/* glob with '*' (any run of characters), as in modules_to_not_convert patterns */
static int glob_match(const char *p, const char *s) {
  if (!*p) return !*s;
  if (*p == '*') {
    for (;; s++) {
      if (glob_match(p + 1, s)) return 1;
      if (!*s) return 0;
    }
  }
  return *s && *p == *s && glob_match(p + 1, s + 1);
}

/* 1 when the module or one of its ancestors is named by a pattern of the list. */
static int not_converted(const ls_model *m, int module, const ls_json *list) {
  if (!list || list->kind != LS_JSON_ARRAY) return 0;
  for (int md = module; md >= 0; md = m->modules[md].parent)
    for (size_t i = 0; i < list->u.arr.n; i++) {
      const ls_json *it = list->u.arr.items[i];
      if (it->kind == LS_JSON_STRING && glob_match(it->u.str.s, m->modules[md].name)) return 1;
    }
  return 0;
}

static int64_t int_at(const ls_json *arr, size_t i, int64_t def) {
  if (!arr || arr->kind != LS_JSON_ARRAY || i >= arr->u.arr.n) return def;
  const ls_json *v = arr->u.arr.items[i];
  return v->kind == LS_JSON_NUMBER && v->u.num.is_integer && v->u.num.fits_int64 && v->u.num.int_value > 0
             ? v->u.num.int_value : def;
}

int ls__stored_bytes(const ls_model *m, uint64_t *bytes, char *fmt, size_t cap) {
  *bytes = 0;
  ls_model_wdtype dt = ls_model_wdtype_default(m);
  const ls_json *q = m->doc && m->doc->root ? ls_json_get(m->doc->root, "quantization_config") : NULL;
  const ls_json *qm = q && q->kind == LS_JSON_OBJECT ? ls_json_get(q, "quant_method") : NULL;
  const char *method = qm && qm->kind == LS_JSON_STRING ? qm->u.str.s : NULL;
  int fp8 = method && strcmp(method, "fp8") == 0, mx = method && strcmp(method, "mxfp4") == 0;
  if (method && !fp8 && !mx) {
    snprintf(fmt, cap, "unknown: quant_method \"%s\" is not modelled", method);
    return LS_EUNSUPPORTED;
  }
  const ls_json *skip = fp8 ? ls_json_get(q, "modules_to_not_convert") : NULL;
  const ls_json *block = fp8 ? ls_json_get(q, "weight_block_size") : NULL;
  int64_t bo = int_at(block, 0, 128), bi = int_at(block, 1, 128);
  if (fp8) snprintf(fmt, cap, "fp8 e4m3 Linear weights with %lldx%lld float32 block scales, the rest %s",
                    (long long)bo, (long long)bi, ls_model_wdtype_name(dt));
  else if (mx) snprintf(fmt, cap, "mxfp4 experts (4.25 bits per weight), the rest %s", ls_model_wdtype_name(dt));
  else {
    const ls_model_value *tv = ls_model_value_by_role(m, LS_MODEL_ROLE_TORCH_DTYPE);
    snprintf(fmt, cap, "%s (%s)", ls_model_wdtype_name(dt),
             tv && tv->present ? "torch_dtype" : "no torch_dtype: PretrainedConfig's float32");
  }
  for (size_t i = 0; i < m->n_tensors; i++) {
    const ls_model_tensor *t = &m->tensors[i];
    const ls_model_module *md = &m->modules[t->module];
    if (t->tied_to >= 0 || t->mtp) continue;
    uint64_t b, e = (uint64_t)t->numel;
    if (t->buffer) {
      if (ls__mul_u64(e, 4, &b)) return LS_EOVERFLOW;
    } else if (fp8 && md->kind == LS_MODEL_KIND_LINEAR && t->ndim == 2 && strcmp(t->leaf, "weight") == 0 &&
               strcmp(md->name, "lm_head") != 0 && !not_converted(m, t->module, skip)) {
      uint64_t blocks = (uint64_t)((t->shape[0] + bo - 1) / bo) * (uint64_t)((t->shape[1] + bi - 1) / bi);
      if (ls__mul_u64(blocks, 4, &b) || ls__add_u64(b, e, &b)) return LS_EOVERFLOW;
    } else if (mx && t->stacked > 0 && t->ndim == 3) {
      b = e / 2 + e / 32 + (e % 32 != 0); /* nibbles, and one scale byte per 32 */
    } else if (ls_model_wdtype_bytes(dt, t->numel, &b)) {
      return LS_EOVERFLOW;
    }
    if (ls__add_u64(*bytes, b, bytes)) return LS_EOVERFLOW;
  }
  return 0;
}
