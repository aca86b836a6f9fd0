/* expr_int.h: the parsed form of a debugger expression, shared by the parser (expr.c) and
 * the evaluator (expr_eval.c). Nodes live in one array and refer to each other by index. */
#ifndef LS_DEBUG_EXPR_INT_H
#define LS_DEBUG_EXPR_INT_H

#include "core/debug/expr.h"

#define LS_DBG_MAX_NAME 160
#define LS_DBG_MAX_ARGS 4

/* X(id, "name", min_args, max_args): the functions of the language. */
#define LS_DBG_FUNCS(X)            \
  X(STATS, "stats", 1, 1)          \
  X(HIST, "hist", 1, 2)            \
  X(TOPK, "topk", 1, 2)            \
  X(NORM, "norm", 1, 1)            \
  X(MEAN, "mean", 1, 1)            \
  X(STD, "std", 1, 1)              \
  X(MIN, "min", 1, 1)              \
  X(MAX, "max", 1, 1)              \
  X(ABSMAX, "absmax", 1, 1)        \
  X(DIFF, "diff", 2, 2)            \
  X(COS, "cos", 2, 2)              \
  X(ABS, "abs", 1, 1)              \
  X(LENS, "lens", 1, 2)

enum {
#define X(id, name, lo, hi) LS_DBG_F_##id,
  LS_DBG_FUNCS(X)
#undef X
};

typedef enum ls_dbg_nkind {
  LS_DBG_N_NUM, LS_DBG_N_NAME, LS_DBG_N_PROP, LS_DBG_N_INDEX, LS_DBG_N_SLICE, LS_DBG_N_CALL,
  LS_DBG_N_NEG, LS_DBG_N_NOT, LS_DBG_N_BIN
} ls_dbg_nkind;

typedef enum ls_dbg_op {
  LS_DBG_OP_OR, LS_DBG_OP_AND, LS_DBG_OP_LT, LS_DBG_OP_LE, LS_DBG_OP_GT, LS_DBG_OP_GE,
  LS_DBG_OP_EQ, LS_DBG_OP_NE, LS_DBG_OP_ADD, LS_DBG_OP_SUB, LS_DBG_OP_MUL, LS_DBG_OP_DIV,
  LS_DBG_OP_MOD
} ls_dbg_op;

typedef struct ls_dbg_node {
  int kind;                   /* ls_dbg_nkind */
  size_t col;                 /* 0-based byte column where the node starts */
  double num;                 /* NUM */
  char name[LS_DBG_MAX_NAME]; /* NAME (dotted path) and PROP */
  int op;                     /* BIN */
  int a, b, c;                /* operands: BIN a op b; PROP/NEG/NOT/INDEX base a; SLICE a:b */
  int func, nargs;            /* CALL; INDEX uses nargs + args for its items */
  int args[LS_DBG_MAX_ARGS];
} ls_dbg_node;

struct ls_dbg_expr {
  char *src;
  ls_dbg_node *nodes;
  size_t n, cap;
  int root;
};

int ls__dbg_func_arity(int f, int *lo, int *hi);
/* 1-based column in characters (UTF-8 code points) of byte offset `byte` of src. */
size_t ls__dbg_column(const char *src, size_t byte);
const char *ls__dbg_func_name(int f);

/* Text reports of expr_text.c: the k largest values of x [numel of t] with their indices
 * (and token text where the scope has it), and the logit lens of h (t) per position; new. */
char *ls__dbg_topk_text(const ls_dbg_scope *sc, const float *x, const ls_dbg_tensor *t, int k);
int ls__dbg_lens_text(const ls_dbg_scope *sc, const float *x, const ls_dbg_tensor *t, int k, char **out,
                      ls_diag *d);

#endif
