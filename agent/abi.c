/* abi.c: the C ABI that the Python agent (agent/python/layerscope_agent) loads with ctypes
 * into the user's PyTorch process, as liblayerscope_agent.so. It exposes the core's tensor
 * statistics and the debugger's expression language so that the agent's hooks decide, inside
 * the user's process and on the tensor's own memory (CPU tensors: zero copy), whether a
 * module event stops: a NaN/Inf/fp16-overflow scan of every module output and gradient and
 * the breakpoint conditions (`grad.absmax > 1e3 && step >= 100`). Nothing here talks to the
 * adapter; only stops travel (agent/python/layerscope_agent/link.py).
 *
 * The ABI is plain C types only (no core structs cross it), versioned by lsa_abi_version;
 * the agent refuses a library whose version differs from the one it was written for. Every
 * function validates its arguments and returns a negative LS_E* code (core/base/errors.def)
 * with a message in the caller's buffer instead of crashing: a condition typed by the user
 * is untrusted input. Names are lsa_* and nothing else is exported (agent/abi.map).
 *
 * Threads: all functions are thread-safe; statistics run on the core's own pool
 * (LAYERSCOPE_THREADS caps it), parsed expressions are immutable. Ownership: lsa_expr_parse
 * returns a new expression (lsa_expr_free). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/base/text.h"
#include "core/debug/expr.h"
#include "core/tensor/dtype.h"
#include "core/tensor/stats.h"

#define LSA_ABI_VERSION 2
#define LSA_MAX_DIMS LS_DBG_MAX_DIMS

#define LSA_EXPORT __attribute__((visibility("default")))

/* Statistics as the agent reads them (mirrors ls_stats field for field, fixed layout). */
typedef struct lsa_stats {
  uint64_t count, finite, nan, pinf, ninf, zeros, subnormals;
  double sum, mean, std, min, max, absmax;
} lsa_stats;

/* A value a name resolves to: kind 1 a number, 2 a tensor (dtype an ls_dtype id, data
 * borrowed from the Python object for the duration of the call, row-major, ndim <= 4). */
typedef struct lsa_value {
  int kind;
  double num;
  int dtype;
  const void *data;
  int ndim;
  int64_t shape[LSA_MAX_DIMS];
} lsa_value;

/* Resolves an exact name; returns 1 and fills *out, or 0 when the name is unknown. */
typedef int (*lsa_lookup_fn)(void *ud, const char *name, lsa_value *out);
/* Writes the names that are in scope (for the "unknown name" error) into buf[cap]. */
typedef void (*lsa_names_fn)(void *ud, char *buf, size_t cap);

LSA_EXPORT int lsa_abi_version(void) { return LSA_ABI_VERSION; }

/* Worker threads for statistics in the user's process; call before the first statistics.
 * The agent asks for 1: the hook's own thread does the work, so no thread of ours competes
 * with torch's intra-op threads, which spin between operations. */
LSA_EXPORT void lsa_threads_set(int n) { ls_stats_threads_set(n > 0 ? n : 1); }

/* ls_dtype id of a dtype name ("f32", "bf16", "f16", "f64", "i64", ...), -1 if unknown. */
LSA_EXPORT int lsa_dtype(const char *name) {
  ls_dtype dt;
  if (!name || ls_dtype_parse(name, &dt) != LS_OK) return -1;
  return (int)dt;
}

static void say(char *err, size_t cap, const char *msg) {
  if (!err || !cap) return;
  snprintf(err, cap, "%s", msg);
  ls_utf8_repair(err); /* the message may quote the user's text */
}

static int valid_dtype(int dt) { return dt >= 0 && dt < LS_DT_COUNT; }

LSA_EXPORT int lsa_stats_compute(int dtype, const void *data, uint64_t n, lsa_stats *out) {
  if (!out || !valid_dtype(dtype) || (!data && n)) return LS_EINVAL;
  ls_stats s;
  int rc = ls_stats_compute((ls_dtype)dtype, data, n, &s);
  if (rc != LS_OK) return rc;
  *out = (lsa_stats){s.count, s.finite, s.nan, s.pinf, s.ninf, s.zeros, s.subnormals,
                     s.sum, s.mean, s.std, s.min, s.max, s.absmax};
  return LS_OK;
}

/* Dead units of a module output for training health: the tensor seen as [outer, units,
 * inner] (a Linear's [B, S, F]: outer B*S, units F, inner 1; a convolution's [N, C, H, W]:
 * outer N, units C, inner H*W). A unit is dead when every value of it is exactly zero (a
 * unit with a NaN or Inf is not). One pass (core/tensor/stats.h, per-row and per-column
 * absmax); *dead counts the dead units. */
LSA_EXPORT int lsa_dead_units(int dtype, const void *data, uint64_t outer, uint64_t units, uint64_t inner,
                              uint64_t *dead) {
  if (!dead || !valid_dtype(dtype) || !outer || !units || !inner || outer > INT64_MAX / units ||
      outer * units > INT64_MAX / inner || !data)
    return LS_EINVAL;
  ls_rowstats rs;
  int64_t rows = (int64_t)(inner == 1 ? outer : outer * units), cols = (int64_t)(inner == 1 ? units : inner);
  int rc = ls_stats_rows((ls_dtype)dtype, data, rows, cols, &rs, NULL);
  if (rc != LS_OK) return rc;
  uint64_t n = 0;
  for (uint64_t u = 0; u < units; u++) {
    int all_zero = 1;
    if (inner == 1) {
      all_zero = rs.col_absmax[u] == 0.0f; /* NaN (no finite value) compares false */
    } else {
      for (uint64_t o = 0; o < outer && all_zero; o++) all_zero = rs.row_absmax[o * units + u] == 0.0f;
    }
    n += (uint64_t)all_zero;
  }
  ls_rowstats_free(&rs);
  *dead = n;
  return LS_OK;
}

/* ------------------------------------------------------------ conditions */

typedef struct scope_ud {
  lsa_lookup_fn lookup;
  lsa_names_fn names;
  void *ud;
} scope_ud;

static int scope_lookup(void *p, const char *name, ls_dbg_value *out) {
  scope_ud *s = p;
  lsa_value v;
  memset(&v, 0, sizeof v);
  if (!s->lookup(s->ud, name, &v)) return 0;
  memset(out, 0, sizeof *out);
  snprintf(out->label, sizeof out->label, "%s", name);
  if (v.kind == 1) {
    out->kind = LS_DBG_V_NUM;
    out->num = v.num;
    return 1;
  }
  if (v.kind != 2 || !valid_dtype(v.dtype) || v.ndim < 0 || v.ndim > LSA_MAX_DIMS) return 0;
  out->kind = LS_DBG_V_TENSOR;
  out->t.dtype = (ls_dtype)v.dtype;
  out->t.data = v.data;
  out->t.ndim = v.ndim;
  for (int i = 0; i < v.ndim; i++) {
    if (v.shape[i] < 0) return 0;
    out->t.shape[i] = v.shape[i];
  }
  if (!v.data && ls_dbg_tensor_numel(&out->t) > 0) return 0;
  return 1;
}

static void scope_names(void *p, char *buf, size_t cap) {
  scope_ud *s = p;
  if (s->names) s->names(s->ud, buf, cap);
  else if (cap) buf[0] = 0;
}

LSA_EXPORT void *lsa_expr_parse(const char *src, char *err, size_t cap) {
  if (!src) {
    say(err, cap, "no expression");
    return NULL;
  }
  ls_dbg_expr *e = NULL;
  ls_diag d;
  ls_diag_init(&d);
  if (ls_dbg_expr_parse(src, &e, &d) != LS_OK) {
    say(err, cap, d.msg);
    return NULL;
  }
  return e;
}

LSA_EXPORT void lsa_expr_free(void *e) { ls_dbg_expr_free(e); }

/* Evaluates a parsed expression as a condition: *truth = 1 when its value is non-zero.
 * A tensor or text result, or an evaluation error, is an error with a message. */
LSA_EXPORT int lsa_expr_truth(void *e, lsa_lookup_fn lookup, lsa_names_fn names, void *ud, int *truth, char *err,
                              size_t cap) {
  if (!e || !lookup || !truth) {
    say(err, cap, "bad arguments");
    return LS_EINVAL;
  }
  scope_ud s = {lookup, names, ud};
  ls_dbg_scope sc = {.lookup = scope_lookup, .stats = NULL, .ud = &s, .names = scope_names};
  ls_diag d;
  ls_diag_init(&d);
  int rc = ls_dbg_expr_truth(e, &sc, truth, &d);
  if (rc != LS_OK) say(err, cap, d.msg);
  return rc;
}

/* One line of a tensor's statistics, as the Variables view shows it:
 * `f32[4,128,768] μ=… σ=… [min, max] nan=0 inf=0 zeros=0%`. */
LSA_EXPORT int lsa_tensor_line(int dtype, const void *data, int ndim, const int64_t *shape, const lsa_stats *st,
                               char *buf, size_t cap) {
  if (!buf || !cap || !valid_dtype(dtype) || ndim < 0 || ndim > LSA_MAX_DIMS || (ndim && !shape)) return LS_EINVAL;
  ls_dbg_tensor t = {.dtype = (ls_dtype)dtype, .data = data, .ndim = ndim};
  for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
  ls_stats s;
  if (st) {
    s = (ls_stats){st->count, st->finite, st->nan, st->pinf, st->ninf, st->zeros, st->subnormals,
                   st->sum, st->mean, st->std, st->min, st->max, st->absmax};
  } else {
    if (!data && ls_dbg_tensor_numel(&t)) return LS_EINVAL;
    int rc = ls_dbg_tensor_stats(NULL, &t, &s);
    if (rc != LS_OK) return rc;
  }
  return ls_dbg_tensor_format(&t, &s, buf, cap) < 0 ? LS_EINVAL : LS_OK;
}
