/* expr.h: the debugger's expression language, shared by breakpoint conditions, the DAP
 * `evaluate` request (repl, watch, hover) and `layerscope debug --eval`. It is our own small
 * language over numbers and tensors, with no way to reach files, processes or the network:
 * the only names are the ones a scope callback resolves (the paused module's `output`,
 * `input`, `weight`, `bias`, `layer`, intermediates, and module paths of tensors kept from
 * earlier modules).
 *
 *   expr     := or ;   or := and ('||' and)* ;   and := cmp ('&&' cmp)*
 *   cmp      := add (('<' | '<=' | '>' | '>=' | '==' | '!=') add)?
 *   add      := mul (('+' | '-') mul)* ;   mul := unary (('*' | '/' | '%') unary)*
 *   unary    := ('-' | '!') unary | postfix
 *   postfix  := primary ('[' index (',' index)* ']' | '.' property)*
 *   index    := expr | expr? ':' expr?                     (negative indices count from the end)
 *   primary  := number | name | func '(' args ')' | func arg... | '(' expr ')'
 *
 * A name may contain dots (`model.layers.3.mlp.output.absmax`): the longest prefix the scope
 * knows is the value, the rest are properties. Tensor properties: count numel ndim mean std
 * min max absmax sum norm nan inf zeros finite shape. Functions (with parentheses, or
 * command style `diff a b`): stats hist topk norm mean std min max absmax diff cos abs lens.
 * `lens h` (or `lens(h, k)`) runs a hidden state [.., S, H] or [H] through the model's final
 * norm and LM head and reports the top k (5) tokens per position with their text; topk over
 * logits names each token's text, where the scope has a tokenizer.
 * Arithmetic on tensors is element-wise (tensor-scalar or equal shapes); comparisons of
 * tensors give 0/1 masks. Errors are LS_EPARSE (syntax) or LS_EINVAL (evaluation) with a
 * message "column N: problem".
 *
 * Ownership: ls_dbg_expr_parse returns a new expression (ls_dbg_expr_free); values returned
 * by ls_dbg_expr_eval are new (ls_dbg_value_free) and may borrow tensor data from the scope,
 * so they are valid only while the scope's tensors are. Parsed expressions are immutable and
 * may be evaluated from any thread. */
#ifndef LS_DEBUG_EXPR_H
#define LS_DEBUG_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/tensor/dtype.h"
#include "core/tensor/stats.h"

#define LS_DBG_MAX_DIMS 4

/* A tensor as the expression language sees it: any dtype, row-major. */
typedef struct ls_dbg_tensor {
  ls_dtype dtype;
  const void *data;            /* [shape] in dtype; borrowed, or == owned */
  void *owned;                 /* non-NULL when the value owns its data (results, copies) */
  int ndim;                    /* 0..4 (0: a single element) */
  int64_t shape[LS_DBG_MAX_DIMS];
} ls_dbg_tensor;

typedef enum ls_dbg_vkind { LS_DBG_V_NONE = 0, LS_DBG_V_NUM, LS_DBG_V_TENSOR, LS_DBG_V_TEXT } ls_dbg_vkind;

typedef struct ls_dbg_value {
  ls_dbg_vkind kind;
  double num;                  /* NUM */
  ls_dbg_tensor t;             /* TENSOR */
  char *text;                  /* TEXT (owned): stats, hist, topk, diff reports */
  char label[96];              /* what a tensor is ("output", "model.layers.0.mlp"), for display */
} ls_dbg_value;

/* What an expression can see. lookup resolves an exact name to a value (tensor data
 * borrowed) and returns 1, returns 0 when unknown, or -1 when the name is known but its value
 * cannot be read (a tensor a target failed to fetch), with out->text (new) saying why. stats (may be NULL) returns cached
 * statistics of a borrowed tensor, computing them once; NULL falls back to computing.
 * names (may be NULL) describes, in at most cap bytes, the names lookup resolves here, for
 * the "unknown name" error: only names that really are in scope. */
typedef struct ls_dbg_scope {
  int (*lookup)(void *ud, const char *name, ls_dbg_value *out);
  const ls_stats *(*stats)(void *ud, const ls_dbg_tensor *t);
  void *ud;
  void (*names)(void *ud, char *buf, size_t cap);
  /* Text (each may be NULL: no tokenizer, no model). token_text writes, for an index id along
   * a last dimension of cols values at sequence position pos (-1: unknown), the text of that
   * token ("\" Paris\"") and returns 1, or returns 0 when cols is not the vocabulary.
   * position_label writes the label of sequence position pos of a dimension of n values
   * ("\"▁France\"") and returns 1, or 0 when n is not the pass's sequence length. lens applies
   * the model's final norm and LM head to h [rows, cols] (*logits new [rows, *vocab]). */
  int (*token_text)(void *ud, int64_t cols, int64_t pos, int64_t id, char *buf, size_t cap);
  int (*position_label)(void *ud, int64_t n, int64_t pos, char *buf, size_t cap);
  int (*lens)(void *ud, const float *h, int64_t rows, int64_t cols, float **logits, int64_t *vocab, ls_diag *d);
} ls_dbg_scope;

typedef struct ls_dbg_expr ls_dbg_expr;

int ls_dbg_expr_parse(const char *src, ls_dbg_expr **out, ls_diag *d);
void ls_dbg_expr_free(ls_dbg_expr *e);
const char *ls_dbg_expr_source(const ls_dbg_expr *e);
int ls_dbg_expr_eval(const ls_dbg_expr *e, const ls_dbg_scope *sc, ls_dbg_value *out, ls_diag *d);
/* Evaluates as a condition: *truth = value != 0. A tensor or text is an error. */
int ls_dbg_expr_truth(const ls_dbg_expr *e, const ls_dbg_scope *sc, int *truth, ls_diag *d);
void ls_dbg_value_free(ls_dbg_value *v);

/* Elements of a tensor (product of its shape; 1 for ndim 0). */
uint64_t ls_dbg_tensor_numel(const ls_dbg_tensor *t);
/* Statistics of a tensor through the scope's cache (sc may be NULL). */
int ls_dbg_tensor_stats(const ls_dbg_scope *sc, const ls_dbg_tensor *t, ls_stats *out);
/* One line: `bf16[1,128,4096] μ=0.012 σ=0.98 [-3.2, 4.1] nan=0 inf=0 zeros=0.1%`. */
int ls_dbg_tensor_format(const ls_dbg_tensor *t, const ls_stats *s, char *buf, size_t cap);
/* "[1,128,4096]" */
int ls_dbg_shape_format(const ls_dbg_tensor *t, char *buf, size_t cap);
/* A text histogram of the finite values: nbins lines "[lo, hi) count ####". New string. */
char *ls_dbg_tensor_hist(const ls_dbg_tensor *t, const ls_stats *s, int nbins);
/* Sub-tensor t[i] along the first dimension (borrowed data; plain dtypes only). */
int ls_dbg_tensor_index0(const ls_dbg_tensor *t, int64_t i, ls_dbg_tensor *out);
/* Element i (flat, row-major) as a double; NaN for block-quantized types. */
double ls_dbg_tensor_at(const ls_dbg_tensor *t, uint64_t i);

#endif
