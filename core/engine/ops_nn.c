/* ops_nn.c: the non-matmul kernels of ops.h: activations, LayerNorm / RMSNorm, softmax,
 * rotary embeddings with the upstream rope_scaling variants, masked multi-head attention
 * with grouped-query heads, and top-k. Attention runs one head per pool task, with the two
 * products (q k^T and p v) through sgemm on strided views, so it needs no copies. */
#include <cblas.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "core/engine/ops.h"
#include "core/engine/ops_simd.h"

/* ---- element-wise -------------------------------------------------------------------- */

void ls_ops_add(float *y, const float *x, int64_t n) { ls__add3_vec(y, y, x, n); }

void ls_ops_scale(float *y, float s, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] *= s;
}

int ls_ops_act_parse(const char *name) {
  static const struct { const char *name; int act; } k[] = {
      {"gelu_new", LS_OPS_ACT_GELU_TANH},  {"gelu_pytorch_tanh", LS_OPS_ACT_GELU_TANH},
      {"gelu_fast", LS_OPS_ACT_GELU_TANH}, {"gelu_tanh", LS_OPS_ACT_GELU_TANH},
      {"gelu", LS_OPS_ACT_GELU_ERF},       {"gelu_python", LS_OPS_ACT_GELU_ERF},
      {"silu", LS_OPS_ACT_SILU},           {"swish", LS_OPS_ACT_SILU},
      {"relu", LS_OPS_ACT_RELU},
  };
  if (!name) return -1;
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (strcasecmp(name, k[i].name) == 0) return k[i].act;
  return -1;
}

#define CHUNK 16384 /* elements per task of element-wise kernels */

enum { EW_ACT, EW_GLU, EW_ADD };

typedef struct ew_job {
  int act;
  float *y;
  const float *x;   /* act input, or the "up" half of a GLU */
  int64_t n;
  int op;           /* EW_ACT: y = act(x); EW_GLU: y = act(y) * x; EW_ADD: y = a + x */
  const float *a;   /* EW_ADD only */
} ew_job;

static void ew_task(void *ctx, int i, int worker) {
  const ew_job *j = ctx;
  int64_t a = (int64_t)i * CHUNK, n = j->n - a < CHUNK ? j->n - a : CHUNK;
  switch (j->op) {
  case EW_ADD: ls__add3_vec(j->y + a, j->a + a, j->x + a, n); break;
  case EW_GLU: ls__glu_vec(j->act, j->y + a, j->x + a, n); break;
  default: ls__act_vec(j->act, j->y + a, j->x + a, n); break;
  }
}

void ls_ops_act_apply(ls_pool *p, int act, float *y, const float *x, int64_t n) {
  ew_job j = {.act = act, .y = y, .x = x, .n = n, .op = EW_ACT};
  ls_pool_run(p, (int)((n + CHUNK - 1) / CHUNK), ew_task, &j);
}

void ls_ops_add2(ls_pool *p, float *y, const float *a, const float *b, int64_t n) {
  ew_job j = {.y = y, .a = a, .x = b, .n = n, .op = EW_ADD};
  ls_pool_run(p, (int)((n + CHUNK - 1) / CHUNK), ew_task, &j);
}

void ls_ops_glu(ls_pool *p, int act, float *gate, const float *up, int64_t n) {
  ew_job j = {.act = act, .y = gate, .x = up, .n = n, .op = EW_GLU};
  ls_pool_run(p, (int)((n + CHUNK - 1) / CHUNK), ew_task, &j);
}

/* ---- reductions ---------------------------------------------------------------------- */

/* Sums in double with 4 interleaved partial sums: a single accumulator is one dependent add
 * per element (4 cycles each); four give the adds room to overlap (GCC also packs them
 * into one vector), still in a fixed order, so results do not depend on the thread count. */
static double sum_f64(const float *x, int64_t n) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t t = 0;
  for (; t + 4 <= n; t += 4) {
    a0 += x[t];
    a1 += x[t + 1];
    a2 += x[t + 2];
    a3 += x[t + 3];
  }
  for (; t < n; t++) a0 += x[t];
  return (a0 + a1) + (a2 + a3);
}

/* sum of (x[t] - c)^2 in double, likewise */
static double sumsq_f64(const float *x, int64_t n, double c) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t t = 0;
  for (; t + 4 <= n; t += 4) {
    double d0 = x[t] - c, d1 = x[t + 1] - c, d2 = x[t + 2] - c, d3 = x[t + 3] - c;
    a0 += d0 * d0;
    a1 += d1 * d1;
    a2 += d2 * d2;
    a3 += d3 * d3;
  }
  for (; t < n; t++) a0 += (x[t] - c) * (x[t] - c);
  return (a0 + a1) + (a2 + a3);
}

/* max of x[n] (n >= 1; NaN entries are skipped unless all are NaN), 4 partial maxima */
static float max_f32(const float *x, int64_t n) {
  float m0 = -INFINITY, m1 = -INFINITY, m2 = -INFINITY, m3 = -INFINITY;
  int64_t t = 0;
  for (; t + 4 <= n; t += 4) {
    m0 = x[t] > m0 ? x[t] : m0;
    m1 = x[t + 1] > m1 ? x[t + 1] : m1;
    m2 = x[t + 2] > m2 ? x[t + 2] : m2;
    m3 = x[t + 3] > m3 ? x[t + 3] : m3;
  }
  for (; t < n; t++) m0 = x[t] > m0 ? x[t] : m0;
  m0 = m1 > m0 ? m1 : m0;
  m2 = m3 > m2 ? m3 : m2;
  return m2 > m0 ? m2 : m0;
}

/* ---- norms --------------------------------------------------------------------------- */

typedef struct norm_job {
  float *y;
  const float *x;
  int64_t rows, n, per_task;
  const float *w, *b;
  float offset, eps;
  int rms;
} norm_job;

static void norm_task(void *ctx, int i, int worker) {
  const norm_job *j = ctx;
  int64_t r0 = (int64_t)i * j->per_task;
  int64_t r1 = r0 + j->per_task < j->rows ? r0 + j->per_task : j->rows;
  const int64_t n = j->n;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * n;
    float *y = j->y + r * n;
    if (j->rms) {
      double ss = sumsq_f64(x, n, 0.0);
      float inv = (float)(1.0 / sqrt(ss / (double)n + (double)j->eps));
      if (j->w)
        for (int64_t t = 0; t < n; t++) y[t] = (x[t] * inv) * (j->w[t] + j->offset);
      else
        for (int64_t t = 0; t < n; t++) y[t] = x[t] * inv;
    } else {
      double mean = sum_f64(x, n) / (double)n;
      double ss = sumsq_f64(x, n, mean);
      float inv = (float)(1.0 / sqrt(ss / (double)n + (double)j->eps));
      float mf = (float)mean;
      for (int64_t t = 0; t < n; t++) {
        float v = (x[t] - mf) * inv;
        if (j->w) v *= j->w[t];
        if (j->b) v += j->b[t];
        y[t] = v;
      }
    }
  }
}

static void norm_run(ls_pool *p, norm_job *j) {
  int tasks = ls_pool_threads(p) * 2;
  j->per_task = (j->rows + tasks - 1) / tasks;
  if (j->per_task < 1) j->per_task = 1;
  ls_pool_run(p, (int)((j->rows + j->per_task - 1) / j->per_task), norm_task, j);
}

void ls_ops_layernorm(ls_pool *p, float *y, const float *x, int64_t rows, int64_t n,
                      const float *w, const float *b, float eps) {
  norm_job j = {.y = y, .x = x, .rows = rows, .n = n, .w = w, .b = b, .eps = eps, .rms = 0};
  norm_run(p, &j);
}

void ls_ops_rmsnorm(ls_pool *p, float *y, const float *x, int64_t rows, int64_t n,
                    const float *w, float offset, float eps) {
  norm_job j = {.y = y, .x = x, .rows = rows, .n = n, .w = w, .offset = offset, .eps = eps,
                .rms = 1};
  norm_run(p, &j);
}

/* ---- softmax ------------------------------------------------------------------------- */

static void softmax_row(float *x, int64_t n) {
  float mx = max_f32(x, n);
  if (mx == -INFINITY) { /* every entry masked: uniform, as an all-finfo.min row gives */
    for (int64_t t = 0; t < n; t++) x[t] = 1.0f / (float)n;
    return;
  }
  for (int64_t t = 0; t < n; t++) x[t] -= mx;
  ls__exp_vec(x, x, n);
  float inv = (float)(1.0 / sum_f64(x, n));
  for (int64_t t = 0; t < n; t++) x[t] *= inv;
}

void ls_ops_softmax(float *x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; r++) softmax_row(x + r * n, n);
}

/* ---- rotary embeddings --------------------------------------------------------------- */

int ls_ops_rope_kind_parse(const char *name) {
  static const char *const k[LS_OPS_ROPE_COUNT] = {"default", "linear", "dynamic", "llama3",
                                                    "yarn"};
  if (!name) return LS_OPS_ROPE_DEFAULT;
  for (int i = 0; i < LS_OPS_ROPE_COUNT; i++)
    if (strcmp(name, k[i]) == 0) return i;
  return -1;
}

/* transformers _compute_yarn_parameters: the dimension at which a wavelength makes
 * num_rot rotations over the original context. */
static double yarn_dim(double num_rot, double dim, double base, double max_pos) {
  return dim * log(max_pos / (num_rot * 2.0 * M_PI)) / (2.0 * log(base));
}

/* YaRN's inverse frequency of pair i (fp32 as upstream's tensors): interpolation (1 /
 * (factor * pos_freq)) below the correction range, extrapolation (1 / pos_freq) above it,
 * a linear ramp between. */
static float yarn_inv(const ls_ops_rope *r, int i, float pos_freq) {
  const double dim = (double)r->rot_dim;
  double lo = yarn_dim(r->beta_fast, dim, r->theta, r->original_max_pos);
  double hi = yarn_dim(r->beta_slow, dim, r->theta, r->original_max_pos);
  if (r->truncate) {
    lo = floor(lo);
    hi = ceil(hi);
  }
  if (lo < 0) lo = 0;
  if (hi > dim - 1) hi = dim - 1;
  if (lo == hi) hi += 0.001;
  float ramp = ((float)i - (float)lo) / ((float)hi - (float)lo);
  ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
  float extra = 1.0f - ramp; /* inv_freq_extrapolation_factor */
  float inv_ex = 1.0f / pos_freq, inv_in = 1.0f / ((float)r->factor * pos_freq);
  return inv_in * (1.0f - extra) + inv_ex * extra;
}

void ls_ops_rope_tables(const ls_ops_rope *r, int64_t S, float *cos_t, float *sin_t) {
  const int half = r->rot_dim / 2;
  const float dim = (float)r->rot_dim;
  double base = r->theta;
  if (r->kind == LS_OPS_ROPE_DYNAMIC && r->max_pos > 0 && (double)S > r->max_pos) {
    /* transformers _compute_dynamic_ntk_parameters, seq_len = max position + 1 */
    double f = r->factor;
    base = base * pow(f * (double)S / r->max_pos - (f - 1.0), (double)dim / (dim - 2.0));
  }
  for (int i = 0; i < half; i++) {
    float inv = 1.0f / powf((float)base, (float)(2 * i) / dim);
    if (r->kind == LS_OPS_ROPE_LINEAR && r->factor > 0) inv = inv / (float)r->factor;
    if (r->kind == LS_OPS_ROPE_LLAMA3 && r->factor > 0) {
      double lo_wl = r->original_max_pos / r->low_freq_factor;
      double hi_wl = r->original_max_pos / r->high_freq_factor;
      double wl = 2.0 * M_PI / (double)inv;
      double v = inv;
      if (wl > lo_wl) {
        v = inv / r->factor;
      } else if (wl >= hi_wl) { /* medium band: smooth interpolation */
        double sm = (r->original_max_pos / wl - r->low_freq_factor) /
                    (r->high_freq_factor - r->low_freq_factor);
        v = (1.0 - sm) * inv / r->factor + sm * inv;
      }
      inv = (float)v;
    }
    float mul = 1.0f;
    if (r->kind == LS_OPS_ROPE_YARN && r->factor > 0) {
      inv = yarn_inv(r, i, powf((float)base, (float)(2 * i) / dim));
      mul = (float)r->attn_factor;
    }
    for (int64_t s = 0; s < S; s++) {
      float ang = (float)s * inv;
      cos_t[s * half + i] = (float)cos((double)ang) * mul;
      sin_t[s * half + i] = (float)sin((double)ang) * mul;
    }
  }
}

void ls_ops_rope_apply(float *x, int64_t S, int64_t H, int64_t head_dim, int64_t stride,
                       int rot_dim, const float *cos_t, const float *sin_t) {
  const int half = rot_dim / 2;
  for (int64_t s = 0; s < S; s++) {
    const float *c = cos_t + s * half, *sn = sin_t + s * half;
    for (int64_t h = 0; h < H; h++) {
      float *v = x + s * stride + h * head_dim;
      for (int i = 0; i < half; i++) {
        float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c[i] - x2 * sn[i];
        v[i + half] = x2 * c[i] + x1 * sn[i];
      }
    }
  }
}

/* ---- attention ----------------------------------------------------------------------- */

typedef struct attn_job {
  const ls_ops_attn *a;
  const float *q, *k, *v;
  float *probs, *out;
} attn_job;

/* softmax_row over x[n] and one more logit, sink, whose probability is dropped
 * (eager_attention_forward of modeling_gpt_oss.py: cat, subtract the max, softmax, [:-1]). */
static void softmax_row_sink(float *x, int64_t n, float sink) {
  float mx = max_f32(x, n);
  if (sink > mx) mx = sink;
  for (int64_t t = 0; t < n; t++) x[t] -= mx;
  ls__exp_vec(x, x, n);
  float inv = (float)(1.0 / (sum_f64(x, n) + exp((double)(sink - mx))));
  for (int64_t t = 0; t < n; t++) x[t] *= inv;
}

void ls_ops_attn_softmax(const ls_ops_attn *a, int64_t head, float *pr, float mul) {
  const int64_t S = a->S, T = a->T > 0 ? a->T : S;
  for (int64_t i = 0; i < S; i++) {
    float *row = pr + i * T;
    const int64_t p = a->q0 + i; /* the query's position among the keys */
    /* visible keys: [lo, hi) by window and causality, then the key mask */
    int64_t lo = a->window > 0 && p - a->window + 1 > 0 ? p - a->window + 1 : 0;
    int64_t hi = a->causal ? (p + 1 < T ? p + 1 : T) : T;
    if (lo > hi) lo = hi;
    for (int64_t t = 0; t < lo; t++) row[t] = -INFINITY;
    for (int64_t t = hi; t < T; t++) row[t] = -INFINITY;
    if (mul != 1.0f)
      for (int64_t t = lo; t < hi; t++) row[t] *= mul;
    if (a->softcap > 0)
      for (int64_t t = lo; t < hi; t++) row[t] = a->softcap * tanhf(row[t] / a->softcap);
    if (a->key_mask)
      for (int64_t t = lo; t < hi; t++)
        if (!a->key_mask[t]) row[t] = -INFINITY;
    if (a->sinks) softmax_row_sink(row, T, a->sinks[head]);
    else softmax_row(row, T);
  }
}

static void attn_task(void *ctx, int h, int worker) {
  const attn_job *j = ctx;
  const ls_ops_attn *a = j->a;
  const int64_t S = a->S, T = a->T > 0 ? a->T : S, D = a->head_dim;
  const int64_t kvh = h / (a->n_heads / a->n_kv);
  float *pr = j->probs + (int64_t)h * S * T; /* [S, T] */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)S, (int)T, (int)D, a->scale,
              j->q + h * D, (int)a->q_stride, j->k + kvh * D, (int)a->k_stride, 0.0f, pr, (int)T);
  ls_ops_attn_softmax(a, h, pr, 1.0f);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)S, (int)D, (int)T, 1.0f, pr, (int)T,
              j->v + kvh * D, (int)a->v_stride, 0.0f, j->out + h * D, (int)(a->n_heads * D));
}

void ls_ops_attention(ls_pool *p, const ls_ops_attn *a, const float *q, const float *k,
                      const float *v, float *probs, float *out) {
  attn_job j = {.a = a, .q = q, .k = k, .v = v, .probs = probs, .out = out};
  ls_pool_run(p, (int)a->n_heads, attn_task, &j);
}

/* ---- top-k --------------------------------------------------------------------------- */

/* a ranks above b: larger value, NaN lowest, ties to the lower index */
static int ranks_above(float a, int64_t ia, float b, int64_t ib) {
  if (a != a) return 0;
  if (b != b) return 1;
  if (a != b) return a > b;
  return ia < ib;
}

void ls_ops_topk(const float *x, int64_t n, int k, int64_t *idx, float *val) {
  int have = 0;
  for (int64_t i = 0; i < n; i++) {
    if (have == k && !ranks_above(x[i], i, val[k - 1], idx[k - 1])) continue;
    int pos = have < k ? have++ : k - 1;
    while (pos > 0 && ranks_above(x[i], i, val[pos - 1], idx[pos - 1])) {
      val[pos] = val[pos - 1];
      idx[pos] = idx[pos - 1];
      pos--;
    }
    val[pos] = x[i];
    idx[pos] = i;
  }
}
