/* engine.c: ls_engine_open / close: binds every parameter tensor of the module tree to
 * storage and builds the family's plan (engine_int.h).
 *
 * Storage is either a weight file (core/tensor: memory-mapped, kept in its stored encoding)
 * or a seeded random initialisation that follows the upstream `_init_weights`: Linear,
 * Conv1D and Embedding weights ~ N(0, initializer_range), biases 0, LayerNorm / RMSNorm
 * weights 1 (Gemma's (1 + w) norms: 0). Random tensors are generated in the config's
 * torch_dtype (bf16 stays bf16) from a Ziggurat normal generator over a splitmix64 stream
 * (rng.h) seeded by (seed, tensor name, 64 Ki-element chunk), so a tensor's values do not
 * depend on the thread count, the order of generation or the other tensors. docs/engine.md
 * documents the generator. */
#include <math.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/engine_int.h"
#include "core/engine/ops_bf16.h" /* ls_ops_bf16_supported: bf16 compute mode */
#include "core/engine/ops_dnnl.h" /* ls_ops_bf16_path_name */
#include "core/engine/ops_q8.h"   /* ls_ops_q8_supported */
#include "core/engine/rng.h"
#include "core/tensor/tensor.h"

/* ---- owned buffers ------------------------------------------------------------------- */

static void *engine_alloc(ls_engine *e, size_t bytes) {
  if (e->n_owned == e->cap_owned) {
    size_t nc = e->cap_owned ? e->cap_owned * 2 : 64;
    void **no = ls_reallocarray(e->owned, nc, sizeof *no);
    if (!no) return NULL;
    e->owned = no;
    e->cap_owned = nc;
  }
  void *p = ls_malloc(bytes ? bytes : 1);
  if (!p) return NULL;
  e->owned[e->n_owned++] = p;
  e->owned_bytes += bytes;
  return p;
}

/* ---- random initialisation ----------------------------------------------------------- */

static uint64_t name_hash(const char *s) { /* FNV-1a 64 */
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

#define RAND_CHUNK 65536

typedef struct rand_job {
  void *data;
  int dtype;
  int64_t n;
  double std;
  uint64_t seed;
} rand_job;

static void rand_task(void *ctx, int i, int worker) {
  const rand_job *j = ctx;
  int64_t a = (int64_t)i * RAND_CHUNK, n = j->n - a < RAND_CHUNK ? j->n - a : RAND_CHUNK;
  ls_rng r;
  ls_rng_seed(&r, j->seed ^ (0xd1b54a32d192ed03ull * (uint64_t)(i + 1)));
  if (j->dtype == LS_OPS_F32) {
    float *d = (float *)j->data + a; /* [n] this chunk */
    for (int64_t k = 0; k < n; k++) d[k] = (float)(ls_rng_normal(&r) * j->std);
  } else {
    uint16_t *d = (uint16_t *)j->data + a; /* [n] this chunk, bf16 or f16 bits */
    int bf16 = j->dtype == LS_OPS_BF16;
    for (int64_t k = 0; k < n; k++) {
      float z = (float)(ls_rng_normal(&r) * j->std);
      d[k] = bf16 ? ls_ops_f32_to_bf16(z) : ls_ops_f32_to_f16(z);
    }
  }
}

static int fill_const(void *data, int dtype, int64_t n, float v) {
  for (int64_t i = 0; i < n; i++) {
    if (dtype == LS_OPS_F32) ((float *)data)[i] = v;
    else if (dtype == LS_OPS_BF16) ((uint16_t *)data)[i] = ls_ops_f32_to_bf16(v);
    else ((uint16_t *)data)[i] = ls_ops_f32_to_f16(v);
  }
  return 0;
}

static int bind_random(ls_engine *e, uint64_t seed, const ls_engine_opts *o, ls_diag *d) {
  const ls_model *m = e->m;
  int rc = ls__engine_mem_check(m, NULL, d); /* before allocating anything */
  if (rc) return rc;
  const char *td = m->sem.torch_dtype ? m->sem.torch_dtype : "float32";
  int dtype = strcmp(td, "bfloat16") == 0 ? LS_OPS_BF16
              : strcmp(td, "float16") == 0 ? LS_OPS_F16 : LS_OPS_F32;
  double std = m->sem.initializer_range > 0 ? m->sem.initializer_range : 0.02;
  int64_t total = 0, done = 0;
  for (size_t i = 0; i < m->n_tensors; i++)
    if (m->tensors[i].tied_to < 0) total += m->tensors[i].numel;
  for (size_t i = 0; i < m->n_tensors; i++) {
    const ls_model_tensor *t = &m->tensors[i];
    if (t->tied_to >= 0) continue;
    size_t esz = dtype == LS_OPS_F32 ? 4 : 2;
    if ((uint64_t)t->numel > SIZE_MAX / esz)
      return ls_diag_set(d, LS_EOVERFLOW, "tensor %s is too large to allocate", t->name);
    void *buf = engine_alloc(e, (size_t)t->numel * esz);
    if (!buf) return ls_diag_set(d, LS_ENOMEM, "out of memory for random weights of %s", t->name);
    const ls_model_module *mod = &m->modules[t->module];
    int is_norm = mod->kind == LS_MODEL_KIND_LAYERNORM || mod->kind == LS_MODEL_KIND_RMSNORM;
    if (strcmp(t->leaf, "bias") == 0 || (is_norm && m->sem.norm == LS_MODEL_NORM_RMS_PLUS1))
      fill_const(buf, dtype, t->numel, 0.0f);
    else if (is_norm)
      fill_const(buf, dtype, t->numel, 1.0f);
    else {
      rand_job j = {.data = buf, .dtype = dtype, .n = t->numel, .std = std,
                    .seed = seed * 0x9e3779b97f4a7c15ull ^ name_hash(t->name)};
      ls_pool_run(e->pool, (int)((t->numel + RAND_CHUNK - 1) / RAND_CHUNK), rand_task, &j);
    }
    ls__wb *b = &e->wb[i];
    b->mat.type = dtype;
    b->mat.data = buf;
    b->dtype = dtype == LS_OPS_F32 ? LS_DT_F32 : dtype == LS_OPS_BF16 ? LS_DT_BF16 : LS_DT_F16;
    done += t->numel;
    if (o && o->progress && total > 0)
      o->progress(o->progress_ud, (double)done / (double)total, t->name);
  }
  return LS_OK;
}

/* ---- binding ------------------------------------------------------------------------- */

/* Checks the stored tensor v (NULL: absent) for model tensor i: present unless tied, the
 * config's shape, an encoding the engine computes with. *transposed: GGUF's GPT-2 Conv1D
 * layout; *type, *ext: the ls_ops matrix type. 1 = tied and absent (nothing to bind). */
static int check_tensor(const ls_model *m, size_t i, ls_tfile *tf, const ls_tensor *v, const char *file,
                        int *transposed, int *type, int *ext, ls_diag *d) {
  const ls_model_tensor *t = &m->tensors[i];
  if (!v && t->tied_to >= 0) return 1; /* shares the target's storage */
  if (!v)
    return ls_diag_set(d, LS_ENOENT, "%s: no tensor %s (the config's module tree needs it)", file, t->name);
  /* DeepSeek-V3's released fp8 weights come with per-block scales in <name>_scale_inv
   * ([out/128, in/128] by default); decoding the fp8 values alone would be silently wrong */
  char sn[520];
  snprintf(sn, sizeof sn, "%s_scale_inv", t->name);
  if ((v->dtype == LS_DT_F8_E4M3 || v->dtype == LS_DT_F8_E5M2) && ls_tfile_find(tf, sn))
    return ls_diag_set(d, LS_EUNSUPPORTED, "%s: tensor %s is fp8 with block scales (%s), which the "
                       "engine does not apply; dequantize the checkpoint to bf16 first", file, t->name, sn);
  /* llama.cpp stores GPT-2's Conv1D weights as Linear [out, in] (always, so a square
   * c_proj is transposed too): multiply with the other layout (ls__lin_bind). */
  *transposed = ls_tfile_format_of(tf) == LS_TF_GGUF && t->ndim == 2 && v->ndim == 2 &&
                m->modules[t->module].kind == LS_MODEL_KIND_CONV1D;
  int same = v->ndim == t->ndim;
  for (int k = 0; same && k < t->ndim; k++) same = v->shape[k] == t->shape[*transposed ? 1 - k : k];
  if (!same) {
    char want[96] = "", got[96] = "";
    for (int k = 0; k < t->ndim; k++)
      snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", k ? ", " : "", (long long)t->shape[k]);
    for (int k = 0; k < v->ndim && k < 4; k++)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", k ? ", " : "", (long long)v->shape[k]);
    return ls_diag_set(d, LS_ESHAPE, "%s: tensor %s has shape [%s], the config implies [%s]", file, t->name, got,
                       want);
  }
  *type = ls_ops_type_from_dtype(v->dtype, ext);
  if (*type < 0 || v->fortran)
    return ls_diag_set(d, LS_EUNSUPPORTED, "%s: tensor %s is stored as %s%s, which the engine cannot compute with",
                       file, t->name, ls_dtype_name(v->dtype), v->fortran ? " in Fortran order" : "");
  if (v->rowmap != LS_ROWMAP_NONE && v->rowmap != LS_ROWMAP_ROPE_INTERLEAVED)
    return ls_diag_set(d, LS_EUNSUPPORTED, "%s: tensor %s has a row order the engine does not know", file, t->name);
  return LS_OK;
}

/* The stored tensor for model tensor `name`. Hub checkpoints saved from the base model
 * (GPT-2's own: "h.0.attn.c_attn.weight", "wte.weight") lack the head class's backbone
 * prefix ("transformer."), so a name with the prefix falls back to the name without it.
 * Stored tensors no module owns (GPT-2's h.N.attn.bias / masked_bias buffers,
 * position_ids) are simply never looked up. */
const ls_tensor *ls__stored(const ls_model *m, const void *tfile, const char *name) {
  const ls_tfile *tf = tfile;
  const ls_tensor *v = ls_tfile_find(tf, name);
  size_t pl = m->base_prefix ? strlen(m->base_prefix) : 0;
  if (!v && pl && strncmp(name, m->base_prefix, pl) == 0) v = ls_tfile_find(tf, name + pl);
  return v;
}

/* gpt-oss checkpoints store the stacked expert matrices (mlp.experts.gate_up_proj [E, H, 2I],
 * down_proj [E, I, H]) in MXFP4 as <name>_blocks u8 [E, out, in / 32, 16] and <name>_scales
 * u8 [E, out, in / 32]: each expert's matrix transposed, [out, in], with the 32-value blocks
 * along the reduction (transformers integrations/mxfp4.py: convert_moe_packed_tensors decodes
 * them to [E, out, in], then transposes). Finds and checks such a pair for model tensor i
 * (*bl, *sc); 1 = the file has none. bind_file binds it as an LS_OPS_MXFP4 matrix the
 * products decode a panel at a time (never the whole expert set). */
static int find_mxfp4(const ls_model *m, size_t i, ls_tfile *tf, const char *file, const ls_tensor **blp,
                      const ls_tensor **scp, ls_diag *d) {
  const ls_model_tensor *t = &m->tensors[i];
  char n[512];
  if (t->ndim != 3) return 1;
  snprintf(n, sizeof n, "%s_blocks", t->name);
  const ls_tensor *bl = *blp = ls_tfile_find(tf, n);
  snprintf(n, sizeof n, "%s_scales", t->name);
  const ls_tensor *sc = *scp = ls_tfile_find(tf, n);
  if (!bl || !sc) return 1;
  const int64_t E = t->shape[0], in = t->shape[1], out = t->shape[2], G = in / 32;
  if (in % 32 || bl->dtype != LS_DT_U8 || sc->dtype != LS_DT_U8 || bl->ndim != 4 || sc->ndim != 3 ||
      bl->fortran || sc->fortran || bl->shape[0] != E || bl->shape[1] != out || bl->shape[2] != G ||
      bl->shape[3] != 16 || sc->shape[0] != E || sc->shape[1] != out || sc->shape[2] != G)
    return ls_diag_set(d, LS_ESHAPE, "%s: %s_blocks / %s_scales are not the MXFP4 encoding of [%lld, %lld, "
                       "%lld] (u8 [%lld, %lld, %lld, 16] and [%lld, %lld, %lld], %lld a multiple of 32)",
                       file, t->name, t->name, (long long)E, (long long)in, (long long)out, (long long)E,
                       (long long)out, (long long)G, (long long)E, (long long)out, (long long)G, (long long)in);
  return LS_OK;
}

static int bind_mxfp4(ls_engine *e, size_t i, ls_tfile *tf, const char *file, ls_diag *d) {
  const ls_tensor *bl, *sc;
  int rc = find_mxfp4(e->m, i, tf, file, &bl, &sc, d);
  if (rc) return rc;
  ls__wb *b = &e->wb[i];
  b->transposed = 1;
  b->mat.type = LS_OPS_MXFP4;
  b->mat.data = bl->data;
  b->mat.scales = sc->data;
  b->dtype = LS_DT_U8;
  return LS_OK;
}

static int bind_file(ls_engine *e, const ls_engine_opts *o, ls_diag *d) {
  const ls_model *m = e->m;
  ls_tfile *tf = NULL;
  int rc = ls_tfile_open(o->weights, &tf, d);
  if (rc) return rc;
  e->src = tf;
  if ((rc = ls__engine_mem_check(m, tf, d))) return rc; /* before reading a byte of data */
  for (size_t i = 0; i < m->n_tensors; i++) {
    const ls_model_tensor *t = &m->tensors[i];
    const ls_tensor *v = ls__stored(m, tf, t->name);
    if (!v && (rc = bind_mxfp4(e, i, tf, o->weights, d)) != 1) {
      if (rc) return rc;
      continue;
    }
    int transposed = 0, type = 0, ext = 0;
    rc = check_tensor(m, i, tf, v, o->weights, &transposed, &type, &ext, d);
    if (rc == 1) continue;
    if (rc) return rc;
    ls__wb *b = &e->wb[i];
    b->transposed = transposed;
    b->mat.type = type;
    b->mat.ext = ext;
    b->mat.data = v->data;
    b->dtype = v->dtype;
    if (v->rowmap == LS_ROWMAP_ROPE_INTERLEAVED) b->mat.rowmap_heads = v->rowmap_heads;
    if (o->progress) o->progress(o->progress_ud, (double)(i + 1) / (double)m->n_tensors, t->name);
  }
  return LS_OK;
}

static int finish_bindings(ls_engine *e, ls_diag *d) {
  const ls_model *m = e->m;
  for (size_t i = 0; i < m->n_tensors; i++) {
    const ls_model_tensor *t = &m->tensors[i];
    ls__wb *b = &e->wb[i];
    b->name = t->name;
    b->ndim = t->ndim;
    memcpy(b->shape, t->shape, sizeof b->shape);
    if (!b->mat.data && t->tied_to >= 0) {
      b->mat = e->wb[t->tied_to].mat;
      b->dtype = e->wb[t->tied_to].dtype;
    }
    if (!b->mat.data) return ls_diag_set(d, LS_ENOENT, "no storage for tensor %s", t->name);
    /* transposed: a 2-D [in, out] stored [out, in]; a 3-D [E, in, out] stored [E, out, in] */
    int64_t r0 = !b->transposed ? t->shape[0] : t->ndim == 3 ? t->shape[0] * t->shape[2] : t->shape[1];
    b->mat.rows = t->ndim == 1 ? 1 : r0;
    b->mat.cols = t->ndim == 1 ? t->shape[0] : t->numel / (r0 ? r0 : 1);
    if (ls_ops_mat_row_bytes(&b->mat) == 0 && b->mat.cols > 0)
      return ls_diag_set(d, LS_EFORMAT, "tensor %s: %s rows of %lld elements are not whole blocks",
                         t->name, ls_ops_mat_type_name(&b->mat), (long long)b->mat.cols);
    if (t->ndim == 1) {
      b->vec = engine_alloc(e, (size_t)t->shape[0] * sizeof(float));
      if (!b->vec) return ls_diag_set(d, LS_ENOMEM, "out of memory decoding %s", t->name);
      ls_ops_mat_row(&b->mat, 0, 0, t->shape[0], b->vec);
    }
  }
  return LS_OK;
}

/* ---- prefaulting ---------------------------------------------------------------------- */

typedef struct touch_job {
  const ls__wb *wb;   /* the batch's first binding */
  atomic_uint sink;
} touch_job;

static void touch_task(void *ctx, int i, int worker) {
  touch_job *j = ctx;
  const ls__wb *b = &j->wb[i];
  size_t bytes = ls_ops_mat_row_bytes(&b->mat) * (size_t)b->mat.rows;
  const volatile uint8_t *p = b->mat.data;
  unsigned s = 0;
  for (size_t off = 0; off < bytes; off += 4096) s += p[off];
  atomic_fetch_add_explicit(&j->sink, s, memory_order_relaxed);
}

/* Reads one byte of every page of the mapped weights, in parallel, so that the page faults
 * (and, for a cold file, the disk reads) happen here, reported as loading progress in 32
 * steps, instead of in the middle of the first forward pass. */
static void prefault(ls_engine *e, const ls_engine_opts *o) {
  size_t n = e->m->n_tensors, step = n / 32 + 1;
  for (size_t a = 0; a < n; a += step) {
    size_t k = n - a < step ? n - a : step;
    touch_job j = {.wb = e->wb + a};
    atomic_init(&j.sink, 0);
    ls_pool_run(e->pool, (int)k, touch_task, &j);
    if (o->progress) o->progress(o->progress_ud, (double)(a + k) / (double)n, "reading weights");
  }
}

/* ---- lookups used by the plans ------------------------------------------------------- */

int ls__mod(const ls_engine *e, const char *fmt, ...) {
  char name[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof name) return -1;
  return ls_model_module_find(e->m, name);
}

const ls__wb *ls__wb_find(const ls_engine *e, const char *name) {
  int i = ls_model_tensor_find(e->m, name);
  return i < 0 ? NULL : &e->wb[i];
}

static int shape_is(const ls__wb *w, int64_t a, int64_t b) {
  return w->ndim == 2 && w->shape[0] == a && w->shape[1] == b;
}

int ls__lin_bind(ls_engine *e, ls__lin *l, const char *name, int nk, int64_t in, int64_t out,
                 int required, ls_diag *d) {
  char buf[512];
  memset(l, 0, sizeof *l);
  l->mod = ls_model_module_find(e->m, name);
  l->nk = nk;
  l->in = in;
  l->out = out;
  snprintf(buf, sizeof buf, "%s.weight", name);
  l->w = ls__wb_find(e, buf);
  snprintf(buf, sizeof buf, "%s.bias", name);
  l->b = ls__wb_find(e, buf);
  if (!l->w) {
    l->mod = -1;
    return required ? ls_diag_set(d, LS_EUNSUPPORTED, "the module tree has no %s.weight", name)
                    : LS_OK;
  }
  if (l->w->transposed) l->nk = nk = !nk; /* stored [out, in] for a Conv1D: see bind_file */
  if (!(nk != l->w->transposed ? shape_is(l->w, out, in) : shape_is(l->w, in, out)))
    return ls_diag_set(d, LS_ESHAPE, "%s.weight is [%lld, %lld], expected [%lld, %lld]", name,
                       (long long)l->w->shape[0], (long long)l->w->shape[1],
                       (long long)(nk != l->w->transposed ? out : in),
                       (long long)(nk != l->w->transposed ? in : out));
  if (l->b && (l->b->ndim != 1 || l->b->shape[0] != out))
    return ls_diag_set(d, LS_ESHAPE, "%s.bias does not have %lld elements", name, (long long)out);
  return LS_OK;
}

int ls__norm_bind(ls_engine *e, ls__norm *n, const char *name, int64_t dim, int required,
                  ls_diag *d) {
  char buf[512];
  n->mod = ls_model_module_find(e->m, name);
  snprintf(buf, sizeof buf, "%s.weight", name);
  const ls__wb *w = ls__wb_find(e, buf);
  snprintf(buf, sizeof buf, "%s.bias", name);
  const ls__wb *b = ls__wb_find(e, buf);
  n->w = w ? w->vec : NULL;
  n->b = b ? b->vec : NULL;
  if (!w && required) return ls_diag_set(d, LS_EUNSUPPORTED, "the module tree has no %s.weight", name);
  if ((w && (w->ndim != 1 || w->shape[0] != dim)) || (b && (b->ndim != 1 || b->shape[0] != dim)))
    return ls_diag_set(d, LS_ESHAPE, "%s parameters do not have %lld elements", name, (long long)dim);
  return LS_OK;
}

/* ---- open / close -------------------------------------------------------------------- */

/* The model is one the engine runs: no config errors, a family with a forward pass. */
static int check_model(const ls_model *m, ls_diag *d) {
  if (m && m->n_errors == 0 && m->n_modules == 0 && ls_model_no_tree_reason(m))
    return ls_diag_set(d, LS_EUNSUPPORTED, "no module tree to run: %s", ls_model_no_tree_reason(m));
  if (!m || m->n_errors > 0 || m->n_modules == 0)
    return ls_diag_set(d, LS_EINVAL, "the config has errors; no module tree to run");
  switch (m->family) {
  case LS_MODEL_FAMILY_GPT2:
  case LS_MODEL_FAMILY_GPT_NEOX:
  case LS_MODEL_FAMILY_PHI:
  case LS_MODEL_FAMILY_DEEPSEEK_V2:
  case LS_MODEL_FAMILY_DEEPSEEK_V3:
  case LS_MODEL_FAMILY_LLAMA:
  case LS_MODEL_FAMILY_MISTRAL:
  case LS_MODEL_FAMILY_QWEN2:
  case LS_MODEL_FAMILY_GEMMA:
  case LS_MODEL_FAMILY_PHI3:
  case LS_MODEL_FAMILY_MIXTRAL:
  case LS_MODEL_FAMILY_QWEN2_MOE:
  case LS_MODEL_FAMILY_QWEN3:
  case LS_MODEL_FAMILY_QWEN3_MOE:
  case LS_MODEL_FAMILY_OLMO2:
  case LS_MODEL_FAMILY_GRANITE:
  case LS_MODEL_FAMILY_GPT_OSS:
  case LS_MODEL_FAMILY_GEMMA2:
  case LS_MODEL_FAMILY_GEMMA3_TEXT:
  case LS_MODEL_FAMILY_GEMMA3:
  case LS_MODEL_FAMILY_BERT:
  case LS_MODEL_FAMILY_ROBERTA: return LS_OK;
  default:
    return ls_diag_set(d, LS_EUNSUPPORTED,
                       "the engine does not run model_type \"%s\" yet (it runs gpt2, llama, "
                       "mistral, qwen2, qwen2_moe, qwen3, qwen3_moe, gemma, gemma2, gemma3_text, "
                       "gemma3 (text), phi, phi3, gpt_neox, deepseek_v2, deepseek_v3, mixtral, olmo2, granite, "
                       "gpt_oss, bert, roberta)",
                       m->model_type);
  }
}

int ls_engine_check(const ls_model *m, const char *weights, ls_diag *d) {
  int rc = check_model(m, d);
  if (rc) return rc;
  if (!weights) return ls__engine_mem_check(m, NULL, d);
  ls_tfile *tf = NULL;
  if ((rc = ls_tfile_open(weights, &tf, d))) return rc;
  for (size_t i = 0; i < m->n_tensors && rc <= 0; i++) {
    int transposed, type, ext;
    const ls_tensor *v = ls__stored(m, tf, m->tensors[i].name), *bl, *sc;
    if (!v && (rc = find_mxfp4(m, i, tf, weights, &bl, &sc, d)) != 1) {
      if (rc) break;
      continue;
    }
    rc = check_tensor(m, i, tf, v, weights, &transposed, &type, &ext, d);
    if (rc == 1) rc = LS_OK;
    if (rc) break;
  }
  if (!rc) rc = ls__engine_mem_check(m, tf, d);
  ls_tfile_close(tf);
  return rc;
}

int ls_engine_open(ls_engine **out, const ls_model *m, const ls_engine_opts *opts, ls_diag *d) {
  *out = NULL;
  int rc = check_model(m, d);
  if (rc) return rc;
  ls_engine_opts dflt = {0};
  if (!opts) opts = &dflt;
  ls_engine *e = ls_calloc(1, sizeof *e);
  if (!e) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  e->m = m;
  rc = ls_pool_new(&e->pool, opts->threads);
  if (rc) {
    ls_free(e);
    return ls_diag_set(d, rc, "cannot start %d worker threads", opts->threads);
  }
  e->wb = ls_calloc(m->n_tensors ? m->n_tensors : 1, sizeof *e->wb);
  if (!e->wb) rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
  if (!rc) rc = opts->weights ? bind_file(e, opts, d) : bind_random(e, opts->seed, opts, d);
  if (!rc) rc = finish_bindings(e, d);
  /* bf16 compute mode: flag every weight matrix; ls_ops_matmul then dispatches per call */
  if (!rc && opts->compute == LS_ENGINE_COMPUTE_BF16 && ls_ops_bf16_supported()) {
    e->compute = LS_ENGINE_COMPUTE_BF16;
    for (size_t i = 0; i < m->n_tensors; i++) e->wb[i].mat.compute_bf16 = 1;
  }
  if (!rc) { /* say which code computes the products: per mode, and for GGUF quantized weights */
    int quant = 0, mx = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
      quant |= e->wb[i].mat.type == LS_OPS_Q8_0 || e->wb[i].mat.type == LS_OPS_Q4_0;
      mx |= e->wb[i].mat.type == LS_OPS_MXFP4;
    }
    snprintf(e->matmul_path, sizeof e->matmul_path, "%s%s%s",
             e->compute == LS_ENGINE_COMPUTE_BF16 ? ls_ops_bf16_path_name() : "openblas sgemm",
             !quant ? "" : ls_ops_q8_supported() ? "; q8_0/q4_0 as int8 (avx512_vnni)"
                                                 : "; q8_0/q4_0 dequantized to fp32",
             mx ? "; mxfp4 experts dequantized to fp32 a panel at a time" : "");
  }
  if (!rc && opts->weights) prefault(e, opts);
  if (!rc) {
    if (m->family == LS_MODEL_FAMILY_BERT || m->family == LS_MODEL_FAMILY_ROBERTA)
      rc = ls__engine_plan_encoder(e, d);
    else
      rc = ls__engine_plan_decoder(e, d);
  }
  if (rc) {
    ls_engine_close(e);
    return rc;
  }
  *out = e;
  return LS_OK;
}

void ls_engine_close(ls_engine *e) {
  if (!e) return;
  if (e->layer)
    for (int64_t l = 0; l < e->n_layers; l++) {
      ls_free(e->layer[l].experts);
      ls_free(e->layer[l].oss_bias);
    }
  ls_free(e->layer);
  for (size_t i = 0; i < e->n_owned; i++) ls_free(e->owned[i]);
  ls_free(e->owned);
  ls_free(e->wb);
  if (e->src) ls_tfile_close(e->src);
  ls_pool_free(e->pool);
  ls_free(e);
}

const ls_model *ls_engine_model(const ls_engine *e) { return e->m; }
int ls_engine_threads(const ls_engine *e) { return ls_pool_threads(e->pool); }
size_t ls_engine_owned_bytes(const ls_engine *e) { return e->owned_bytes; }
int ls_engine_compute_get(const ls_engine *e) { return e->compute; }
const char *ls_engine_matmul_path(const ls_engine *e) { return e->matmul_path; }

int ls_engine_compute_parse(const char *name) {
  if (strcmp(name, "fp32") == 0 || strcmp(name, "f32") == 0) return LS_ENGINE_COMPUTE_F32;
  if (strcmp(name, "bf16") == 0) return LS_ENGINE_COMPUTE_BF16;
  return -1;
}
