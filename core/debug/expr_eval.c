/* expr_eval.c: evaluation of parsed debugger expressions (see expr.h). Values are numbers,
 * tensors (borrowed from the scope, or new f32 buffers for results of indexing and
 * arithmetic) and text reports (stats, hist, topk, diff). Statistics go through the scope's
 * cache so a condition evaluated at a stop and the variables shown there share one pass.
 * Every allocation size is checked; bad input is an LS_EINVAL error naming the column. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/debug/expr_int.h"

typedef struct evctx {
  const ls_dbg_expr *e;
  const ls_dbg_scope *sc;
  ls_diag *d;
} evctx;

static int err(evctx *c, const ls_dbg_node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err(evctx *c, const ls_dbg_node *n, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ls_diag_set(c->d, LS_EINVAL, "column %zu: %s", ls__dbg_column(c->e->src, n->col), msg);
}

void ls_dbg_value_free(ls_dbg_value *v) {
  if (!v) return;
  ls_free(v->t.owned);
  ls_free(v->text);
  memset(v, 0, sizeof *v);
}

uint64_t ls_dbg_tensor_numel(const ls_dbg_tensor *t) {
  uint64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= (uint64_t)t->shape[i];
  return n;
}

int ls_dbg_tensor_stats(const ls_dbg_scope *sc, const ls_dbg_tensor *t, ls_stats *out) {
  if (sc && sc->stats && !t->owned) {
    const ls_stats *s = sc->stats(sc->ud, t);
    if (s) {
      *out = *s;
      return LS_OK;
    }
  }
  return ls_stats_compute(t->dtype, t->data, ls_dbg_tensor_numel(t), out);
}

/* A new f32 tensor value of the given shape (data uninitialised). */
static int tensor_new(evctx *c, const ls_dbg_node *n, ls_dbg_value *v, int ndim, const int64_t *shape) {
  memset(v, 0, sizeof *v);
  uint64_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0 || (shape[i] && numel > UINT64_MAX / (uint64_t)shape[i])) return err(c, n, "tensor too large");
    numel *= (uint64_t)shape[i];
  }
  if (numel > SIZE_MAX / sizeof(float)) return err(c, n, "tensor too large");
  float *buf = ls_malloc(numel ? numel * sizeof(float) : sizeof(float));
  if (!buf) return ls_diag_set(c->d, LS_ENOMEM, "out of memory for a %llu-element result", (unsigned long long)numel);
  v->kind = LS_DBG_V_TENSOR;
  v->t.dtype = LS_DT_F32;
  v->t.data = v->t.owned = buf;
  v->t.ndim = ndim;
  memcpy(v->t.shape, shape, (size_t)ndim * sizeof(int64_t));
  return LS_OK;
}

/* The tensor's values as f32: borrowed when already f32, else a new buffer in *tmp. */
static int as_f32(evctx *c, const ls_dbg_node *n, const ls_dbg_tensor *t, const float **out, float **tmp) {
  *tmp = NULL;
  if (t->dtype == LS_DT_F32) {
    *out = t->data;
    return LS_OK;
  }
  uint64_t numel = ls_dbg_tensor_numel(t);
  if (numel > SIZE_MAX / sizeof(float)) return err(c, n, "tensor too large");
  *tmp = ls_malloc(numel ? numel * sizeof(float) : sizeof(float));
  if (!*tmp) return ls_diag_set(c->d, LS_ENOMEM, "out of memory converting a tensor to f32");
  if (ls_dtype_to_f32(t->dtype, t->data, numel, *tmp) != LS_OK) {
    ls_free(*tmp);
    *tmp = NULL;
    return err(c, n, "cannot convert %s values to f32 element by element", ls_dtype_name(t->dtype));
  }
  *out = *tmp;
  return LS_OK;
}

static int eval(evctx *c, int idx, ls_dbg_value *out);

static const char *kind_name(const ls_dbg_value *v) {
  return v->kind == LS_DBG_V_NUM ? "a number" : v->kind == LS_DBG_V_TENSOR ? "a tensor" : "text";
}

/* ------------------------------------------------------------------ properties */

static int prop(evctx *c, const ls_dbg_node *n, const char *name, ls_dbg_value *v) {
  if (v->kind != LS_DBG_V_TENSOR)
    return err(c, n, "'.%s' needs a tensor, got %s", name, kind_name(v));
  ls_dbg_tensor *t = &v->t;
  if (strcmp(name, "shape") == 0) {
    char buf[128];
    ls_dbg_shape_format(t, buf, sizeof buf);
    char *s = ls_strdup(buf);
    if (!s) return ls_diag_set(c->d, LS_ENOMEM, "out of memory");
    ls_dbg_value_free(v);
    v->kind = LS_DBG_V_TEXT;
    v->text = s;
    return LS_OK;
  }
  double r;
  if (strcmp(name, "ndim") == 0) r = t->ndim;
  else if (strcmp(name, "numel") == 0 || strcmp(name, "count") == 0) r = (double)ls_dbg_tensor_numel(t);
  else {
    ls_stats s;
    int rc = ls_dbg_tensor_stats(c->sc, t, &s);
    if (rc) return err(c, n, "cannot compute statistics of a %s tensor", ls_dtype_name(t->dtype));
    if (strcmp(name, "mean") == 0) r = s.mean;
    else if (strcmp(name, "std") == 0) r = s.std;
    else if (strcmp(name, "min") == 0) r = s.min;
    else if (strcmp(name, "max") == 0) r = s.max;
    else if (strcmp(name, "absmax") == 0) r = s.absmax;
    else if (strcmp(name, "sum") == 0) r = s.sum;
    else if (strcmp(name, "nan") == 0) r = (double)s.nan;
    else if (strcmp(name, "inf") == 0) r = (double)(s.pinf + s.ninf);
    else if (strcmp(name, "zeros") == 0) r = (double)s.zeros;
    else if (strcmp(name, "finite") == 0) r = (double)s.finite;
    else if (strcmp(name, "norm") == 0) r = sqrt((double)s.finite * (s.std * s.std + s.mean * s.mean));
    else
      return err(c, n, "unknown property '%s' (known: shape ndim numel count mean std min max absmax sum norm "
                       "nan inf zeros finite)", name);
  }
  ls_dbg_value_free(v);
  v->kind = LS_DBG_V_NUM;
  v->num = r;
  return LS_OK;
}

/* A dotted name: the longest prefix the scope knows, then properties. */
static int eval_name(evctx *c, const ls_dbg_node *n, ls_dbg_value *out) {
  char buf[LS_DBG_MAX_NAME];
  snprintf(buf, sizeof buf, "%s", n->name);
  size_t len = strlen(buf);
  memset(out, 0, sizeof *out);
  for (;;) {
    buf[len] = 0;
    int found = c->sc && c->sc->lookup ? c->sc->lookup(c->sc->ud, buf, out) : 0;
    if (found < 0) {
      int rc = err(c, n, "'%s' cannot be read: %s", buf, out->text ? out->text : "no value");
      ls_free(out->text);
      out->text = NULL;
      return rc;
    }
    if (found) break;
    char *dot = strrchr(buf, '.');
    if (!dot) {
      len = 0;
      break;
    }
    len = (size_t)(dot - buf);
  }
  if (!len) {
    if (strchr(n->name, '.') == NULL) {
      if (strcmp(n->name, "nan") == 0) { out->kind = LS_DBG_V_NUM; out->num = NAN; return LS_OK; }
      if (strcmp(n->name, "inf") == 0) { out->kind = LS_DBG_V_NUM; out->num = INFINITY; return LS_OK; }
      if (strcmp(n->name, "true") == 0 || strcmp(n->name, "false") == 0) {
        out->kind = LS_DBG_V_NUM;
        out->num = n->name[0] == 't';
        return LS_OK;
      }
    }
    char names[240] = "";
    if (c->sc && c->sc->names) c->sc->names(c->sc->ud, names, sizeof names);
    if (!names[0]) return err(c, n, "unknown name '%s'", n->name);
    return err(c, n, "unknown name '%s' (in scope: %s)", n->name, names);
  }
  if (out->kind == LS_DBG_V_TENSOR && !out->label[0]) snprintf(out->label, sizeof out->label, "%.*s", (int)sizeof out->label - 1, buf);
  /* the rest: properties, each a plain identifier */
  const char *rest = n->name + len;
  while (*rest == '.') {
    rest++;
    char pname[LS_DBG_MAX_NAME];
    size_t k = 0;
    while (rest[k] && rest[k] != '.') k++;
    memcpy(pname, rest, k);
    pname[k] = 0;
    int rc = prop(c, n, pname, out);
    if (rc) {
      ls_dbg_value_free(out);
      return rc;
    }
    rest += k;
  }
  return LS_OK;
}

/* ------------------------------------------------------------------ indexing */

static int to_index(evctx *c, const ls_dbg_node *n, int idx, int64_t dim, int64_t *out, int is_stop) {
  ls_dbg_value v;
  int rc = eval(c, idx, &v);
  if (rc) return rc;
  const ls_dbg_node *in = &c->e->nodes[idx];
  if (v.kind != LS_DBG_V_NUM || v.num != floor(v.num) || fabs(v.num) > 9e15) {
    ls_dbg_value_free(&v);
    return err(c, in, "an index must be an integer");
  }
  int64_t i = (int64_t)v.num;
  if (i < 0) i += dim;
  if (is_stop) {
    if (i < 0) i = 0;
    if (i > dim) i = dim;
  } else if (i < 0 || i >= dim) {
    (void)n;
    return err(c, in, "index %lld out of range for a dimension of size %lld", (long long)v.num, (long long)dim);
  }
  *out = i;
  return LS_OK;
}

static int eval_index(evctx *c, const ls_dbg_node *n, ls_dbg_value *out) {
  ls_dbg_value base;
  int rc = eval(c, n->a, &base);
  if (rc) return rc;
  if (base.kind != LS_DBG_V_TENSOR) {
    rc = err(c, n, "only tensors can be indexed, got %s", kind_name(&base));
    goto done;
  }
  if (n->nargs > base.t.ndim) {
    rc = err(c, n, "%d indices for a tensor with %d dimensions", n->nargs, base.t.ndim);
    goto done;
  }
  int64_t lo[LS_DBG_MAX_DIMS], hi[LS_DBG_MAX_DIMS];
  int keep[LS_DBG_MAX_DIMS];
  int64_t rshape[LS_DBG_MAX_DIMS];
  int rnd = 0;
  for (int k = 0; k < base.t.ndim; k++) {
    int64_t dim = base.t.shape[k];
    lo[k] = 0;
    hi[k] = dim;
    keep[k] = 1;
    if (k < n->nargs) {
      const ls_dbg_node *it = &c->e->nodes[n->args[k]];
      if (it->kind == LS_DBG_N_SLICE) {
        if (it->a >= 0 && (rc = to_index(c, it, it->a, dim, &lo[k], 1))) goto done;
        if (it->b >= 0 && (rc = to_index(c, it, it->b, dim, &hi[k], 1))) goto done;
        if (hi[k] < lo[k]) hi[k] = lo[k];
      } else {
        if ((rc = to_index(c, it, n->args[k], dim, &lo[k], 0))) goto done;
        hi[k] = lo[k] + 1;
        keep[k] = 0;
      }
    }
    if (keep[k]) rshape[rnd++] = hi[k] - lo[k];
  }
  const float *src;
  float *tmp;
  if ((rc = as_f32(c, n, &base.t, &src, &tmp))) goto done;
  ls_dbg_value r;
  if ((rc = tensor_new(c, n, &r, rnd, rshape))) {
    ls_free(tmp);
    goto done;
  }
  /* walk the selected box in row-major order with a 4-digit odometer */
  int nd = base.t.ndim;
  int64_t stride[LS_DBG_MAX_DIMS], cur[LS_DBG_MAX_DIMS];
  int64_t st = 1;
  for (int k = nd - 1; k >= 0; k--) {
    stride[k] = st;
    st *= base.t.shape[k];
    cur[k] = lo[k];
  }
  uint64_t total = ls_dbg_tensor_numel(&r.t), w = 0;
  float *dst = r.t.owned;
  while (w < total) {
    int64_t off = 0;
    for (int k = 0; k < nd; k++) off += cur[k] * stride[k];
    dst[w++] = src[off];
    for (int k = nd - 1; k >= 0; k--) {
      if (++cur[k] < hi[k]) break;
      cur[k] = lo[k];
    }
  }
  ls_free(tmp);
  if (rnd == 0) {
    double x = dst[0];
    ls_dbg_value_free(&r);
    out->kind = LS_DBG_V_NUM;
    out->num = x;
  } else {
    *out = r;
    size_t bl = strnlen(base.label, sizeof out->label - 6);
    memcpy(out->label, base.label, bl);
    memcpy(out->label + bl, "[...]", 6);
  }
done:
  ls_dbg_value_free(&base);
  return rc;
}

/* ------------------------------------------------------------------ arithmetic */

static double apply(int op, double x, double y) {
  switch (op) {
  case LS_DBG_OP_ADD: return x + y;
  case LS_DBG_OP_SUB: return x - y;
  case LS_DBG_OP_MUL: return x * y;
  case LS_DBG_OP_DIV: return x / y;
  case LS_DBG_OP_MOD: return fmod(x, y);
  case LS_DBG_OP_LT: return x < y;
  case LS_DBG_OP_LE: return x <= y;
  case LS_DBG_OP_GT: return x > y;
  case LS_DBG_OP_GE: return x >= y;
  case LS_DBG_OP_EQ: return x == y;
  case LS_DBG_OP_NE: return x != y;
  default: return NAN;
  }
}

static int eval_bin(evctx *c, const ls_dbg_node *n, ls_dbg_value *out) {
  ls_dbg_value a, b;
  int rc = eval(c, n->a, &a);
  if (rc) return rc;
  if (n->op == LS_DBG_OP_AND || n->op == LS_DBG_OP_OR) {
    if (a.kind != LS_DBG_V_NUM) {
      rc = err(c, n, "'%s' needs numbers, got %s on the left", n->op == LS_DBG_OP_AND ? "&&" : "||", kind_name(&a));
      ls_dbg_value_free(&a);
      return rc;
    }
    int t = a.num != 0;
    if ((n->op == LS_DBG_OP_AND && !t) || (n->op == LS_DBG_OP_OR && t)) {
      *out = a;
      out->num = t;
      return LS_OK;
    }
    if ((rc = eval(c, n->b, &b))) return rc;
    if (b.kind != LS_DBG_V_NUM) {
      rc = err(c, n, "'%s' needs numbers, got %s on the right", n->op == LS_DBG_OP_AND ? "&&" : "||", kind_name(&b));
      ls_dbg_value_free(&b);
      return rc;
    }
    out->kind = LS_DBG_V_NUM;
    out->num = b.num != 0;
    return LS_OK;
  }
  if ((rc = eval(c, n->b, &b))) {
    ls_dbg_value_free(&a);
    return rc;
  }
  if (a.kind == LS_DBG_V_TEXT || b.kind == LS_DBG_V_TEXT) {
    rc = err(c, n, "operators apply to numbers and tensors, not text");
    goto done;
  }
  memset(out, 0, sizeof *out);
  if (a.kind == LS_DBG_V_NUM && b.kind == LS_DBG_V_NUM) {
    out->kind = LS_DBG_V_NUM;
    out->num = apply(n->op, a.num, b.num);
    goto done;
  }
  /* element-wise: tensor (op) scalar, scalar (op) tensor, or two tensors of one shape */
  const ls_dbg_tensor *shape_of = a.kind == LS_DBG_V_TENSOR ? &a.t : &b.t;
  if (a.kind == LS_DBG_V_TENSOR && b.kind == LS_DBG_V_TENSOR) {
    if (a.t.ndim != b.t.ndim || memcmp(a.t.shape, b.t.shape, (size_t)a.t.ndim * sizeof(int64_t)) != 0) {
      char sa[96], sb[96];
      ls_dbg_shape_format(&a.t, sa, sizeof sa);
      ls_dbg_shape_format(&b.t, sb, sizeof sb);
      rc = err(c, n, "shapes differ: %s and %s", sa, sb);
      goto done;
    }
  }
  const float *xa = NULL, *xb = NULL;
  float *ta = NULL, *tb = NULL;
  if (a.kind == LS_DBG_V_TENSOR && (rc = as_f32(c, n, &a.t, &xa, &ta))) goto done;
  if (b.kind == LS_DBG_V_TENSOR && (rc = as_f32(c, n, &b.t, &xb, &tb))) {
    ls_free(ta);
    goto done;
  }
  if (!(rc = tensor_new(c, n, out, shape_of->ndim, shape_of->shape))) {
    uint64_t cnt = ls_dbg_tensor_numel(shape_of);
    float *dst = out->t.owned;
    for (uint64_t i = 0; i < cnt; i++)
      dst[i] = (float)apply(n->op, xa ? xa[i] : a.num, xb ? xb[i] : b.num);
  }
  ls_free(ta);
  ls_free(tb);
done:
  ls_dbg_value_free(&a);
  ls_dbg_value_free(&b);
  return rc;
}

/* ------------------------------------------------------------------ functions */

static int set_text(evctx *c, ls_dbg_value *out, char *text) {
  if (!text) return ls_diag_set(c->d, LS_ENOMEM, "out of memory");
  memset(out, 0, sizeof *out);
  out->kind = LS_DBG_V_TEXT;
  out->text = text;
  return LS_OK;
}

static char *fmt_new(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_new(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = ls_malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

static int eval_call(evctx *c, const ls_dbg_node *n, ls_dbg_value *out) {
  ls_dbg_value av[LS_DBG_MAX_ARGS];
  int rc = LS_OK, got = 0;
  memset(av, 0, sizeof av);
  for (; got < n->nargs; got++)
    if ((rc = eval(c, n->args[got], &av[got]))) goto done;
  const char *fname = ls__dbg_func_name(n->func);
  int ntensor = n->func == LS_DBG_F_DIFF || n->func == LS_DBG_F_COS ? 2 : 1;
  if (n->func == LS_DBG_F_ABS && av[0].kind == LS_DBG_V_NUM) {
    *out = av[0];
    out->num = fabs(out->num);
    av[0].kind = LS_DBG_V_NONE;
    goto done;
  }
  for (int i = 0; i < ntensor; i++)
    if (av[i].kind != LS_DBG_V_TENSOR) {
      rc = err(c, &c->e->nodes[n->args[i]], "%s: argument %d must be a tensor, got %s", fname, i + 1, kind_name(&av[i]));
      goto done;
    }
  int64_t opt = -1;
  if (n->nargs == 2 && ntensor == 1) {
    if (av[1].kind != LS_DBG_V_NUM || av[1].num != floor(av[1].num) || av[1].num < 1 || av[1].num > 1000) {
      rc = err(c, &c->e->nodes[n->args[1]], "%s: the second argument must be an integer in [1, 1000]", fname);
      goto done;
    }
    opt = (int64_t)av[1].num;
  }
  ls_dbg_tensor *t = &av[0].t;
  ls_stats s;
  memset(out, 0, sizeof *out);
  switch (n->func) {
  case LS_DBG_F_STATS: {
    if ((rc = ls_dbg_tensor_stats(c->sc, t, &s))) { rc = err(c, n, "stats: cannot read a %s tensor", ls_dtype_name(t->dtype)); goto done; }
    char line[400];
    ls_dbg_tensor_format(t, &s, line, sizeof line);
    rc = set_text(c, out, fmt_new("%s\ncount=%llu finite=%llu mean=%.6g std=%.6g min=%.6g max=%.6g absmax=%.6g "
                                  "nan=%llu +inf=%llu -inf=%llu zeros=%llu subnormals=%llu",
                                  line, (unsigned long long)s.count, (unsigned long long)s.finite, s.mean, s.std, s.min,
                                  s.max, s.absmax, (unsigned long long)s.nan, (unsigned long long)s.pinf,
                                  (unsigned long long)s.ninf, (unsigned long long)s.zeros,
                                  (unsigned long long)s.subnormals));
    break;
  }
  case LS_DBG_F_HIST: {
    if ((rc = ls_dbg_tensor_stats(c->sc, t, &s))) { rc = err(c, n, "hist: cannot read a %s tensor", ls_dtype_name(t->dtype)); goto done; }
    rc = set_text(c, out, ls_dbg_tensor_hist(t, &s, opt > 0 ? (int)opt : 10));
    break;
  }
  case LS_DBG_F_TOPK: {
    const float *x;
    float *tmp;
    if ((rc = as_f32(c, n, t, &x, &tmp))) goto done;
    rc = set_text(c, out, ls__dbg_topk_text(c->sc, x, t, opt > 0 ? (int)opt : 5));
    ls_free(tmp);
    break;
  }
  case LS_DBG_F_LENS: {
    if (!c->sc->lens) { rc = err(c, n, "lens: this target has no model head to apply"); goto done; }
    const float *x;
    float *tmp;
    if ((rc = as_f32(c, n, t, &x, &tmp))) goto done;
    char *text = NULL;
    ls_diag ld; /* the lens's own message, placed at the call's column */
    ls_diag_init(&ld);
    rc = ls__dbg_lens_text(c->sc, x, t, opt > 0 ? (int)opt : 5, &text, &ld);
    ls_free(tmp);
    if (rc == LS_ENOMEM) { rc = ls_diag_set(c->d, LS_ENOMEM, "out of memory"); goto done; }
    if (rc) { rc = err(c, n, "%s", ld.msg); goto done; }
    rc = set_text(c, out, text);
    break;
  }
  case LS_DBG_F_DIFF:
  case LS_DBG_F_COS: {
    uint64_t na = ls_dbg_tensor_numel(t), nb = ls_dbg_tensor_numel(&av[1].t);
    if (na != nb) {
      rc = err(c, n, "%s: the tensors have %llu and %llu elements", fname, (unsigned long long)na, (unsigned long long)nb);
      goto done;
    }
    const float *xa, *xb;
    float *ta, *tb;
    if ((rc = as_f32(c, n, t, &xa, &ta))) goto done;
    if ((rc = as_f32(c, n, &av[1].t, &xb, &tb))) { ls_free(ta); goto done; }
    ls_diffstats ds;
    rc = ls_stats_diff_f32(xa, xb, na, 1e-5, 1e-8, &ds);
    ls_free(ta);
    ls_free(tb);
    if (rc) { rc = err(c, n, "%s failed", fname); goto done; }
    if (n->func == LS_DBG_F_COS) {
      out->kind = LS_DBG_V_NUM;
      out->num = ds.cosine;
    } else {
      char first[64] = "";
      if (ds.mismatches) snprintf(first, sizeof first, ", first at flat index %lld", (long long)ds.first_mismatch);
      rc = set_text(c, out, fmt_new("max_abs=%.6g max_rel=%.6g cos=%.9g rmse=%.6g mismatches=%llu of %llu "
                                    "(rtol 1e-5, atol 1e-8)%s",
                                    ds.max_abs, ds.max_rel, ds.cosine, ds.rmse, (unsigned long long)ds.mismatches,
                                    (unsigned long long)ds.count, first));
    }
    break;
  }
  case LS_DBG_F_ABS: {
    const float *x;
    float *tmp;
    if ((rc = as_f32(c, n, t, &x, &tmp))) goto done;
    if (!(rc = tensor_new(c, n, out, t->ndim, t->shape))) {
      uint64_t cnt = ls_dbg_tensor_numel(t);
      for (uint64_t i = 0; i < cnt; i++) ((float *)out->t.owned)[i] = fabsf(x[i]);
    }
    ls_free(tmp);
    break;
  }
  default: { /* norm mean std min max absmax: tensor -> number through the stats */
    ls_dbg_value tmp = av[0];
    av[0].t.owned = NULL;
    static const char *const PROP[] = {[LS_DBG_F_NORM] = "norm", [LS_DBG_F_MEAN] = "mean", [LS_DBG_F_STD] = "std",
                                       [LS_DBG_F_MIN] = "min",   [LS_DBG_F_MAX] = "max",   [LS_DBG_F_ABSMAX] = "absmax"};
    rc = prop(c, n, PROP[n->func], &tmp);
    *out = tmp;
    break;
  }
  }
done:
  for (int i = 0; i < LS_DBG_MAX_ARGS; i++) ls_dbg_value_free(&av[i]);
  return rc;
}

/* ------------------------------------------------------------------ dispatch */

static int eval(evctx *c, int idx, ls_dbg_value *out) {
  const ls_dbg_node *n = &c->e->nodes[idx];
  int rc;
  memset(out, 0, sizeof *out);
  switch (n->kind) {
  case LS_DBG_N_NUM:
    out->kind = LS_DBG_V_NUM;
    out->num = n->num;
    return LS_OK;
  case LS_DBG_N_NAME: return eval_name(c, n, out);
  case LS_DBG_N_PROP:
    if ((rc = eval(c, n->a, out))) return rc;
    if ((rc = prop(c, n, n->name, out))) ls_dbg_value_free(out);
    return rc;
  case LS_DBG_N_INDEX: return eval_index(c, n, out);
  case LS_DBG_N_SLICE: return err(c, n, "a slice 'a:b' is only allowed inside [ ]");
  case LS_DBG_N_CALL: return eval_call(c, n, out);
  case LS_DBG_N_NEG:
  case LS_DBG_N_NOT:
    if ((rc = eval(c, n->a, out))) return rc;
    if (out->kind == LS_DBG_V_NUM) {
      out->num = n->kind == LS_DBG_N_NEG ? -out->num : (double)(out->num == 0);
      return LS_OK;
    }
    if (out->kind == LS_DBG_V_TENSOR && n->kind == LS_DBG_N_NEG) {
      ls_dbg_value t = *out, r;
      const float *x;
      float *tmp;
      if ((rc = as_f32(c, n, &t.t, &x, &tmp))) { ls_dbg_value_free(&t); memset(out, 0, sizeof *out); return rc; }
      if (!(rc = tensor_new(c, n, &r, t.t.ndim, t.t.shape))) {
        uint64_t cnt = ls_dbg_tensor_numel(&t.t);
        for (uint64_t i = 0; i < cnt; i++) ((float *)r.t.owned)[i] = -x[i];
      }
      ls_free(tmp);
      ls_dbg_value_free(&t);
      *out = r;
      if (rc) memset(out, 0, sizeof *out);
      return rc;
    }
    rc = err(c, n, "'%c' needs a number, got %s", n->kind == LS_DBG_N_NEG ? '-' : '!', kind_name(out));
    ls_dbg_value_free(out);
    return rc;
  case LS_DBG_N_BIN: return eval_bin(c, n, out);
  default: return err(c, n, "internal: bad node");
  }
}

int ls_dbg_expr_eval(const ls_dbg_expr *e, const ls_dbg_scope *sc, ls_dbg_value *out, ls_diag *d) {
  evctx c = {e, sc, d};
  return eval(&c, e->root, out);
}

int ls_dbg_expr_truth(const ls_dbg_expr *e, const ls_dbg_scope *sc, int *truth, ls_diag *d) {
  ls_dbg_value v;
  int rc = ls_dbg_expr_eval(e, sc, &v, d);
  if (rc) return rc;
  if (v.kind != LS_DBG_V_NUM) {
    rc = ls_diag_set(d, LS_EINVAL, "column 1: a condition must give a number, got %s (try .nan, .absmax, ...)",
                     kind_name(&v));
    ls_dbg_value_free(&v);
    return rc;
  }
  *truth = v.num != 0 && !isnan(v.num);
  return LS_OK;
}
