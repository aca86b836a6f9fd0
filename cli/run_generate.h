/* run_generate.h: `layerscope run --generate N` (run_generate.c), called by run.c once the
 * engine and the prompt tokens are open. */
#ifndef LS_CLI_RUN_GENERATE_H
#define LS_CLI_RUN_GENERATE_H

#include "cli/engine_args.h"
#include "core/base/diag.h"

typedef struct ls_cli_gen_args {
  int64_t n;            /* --generate N */
  double temperature;   /* --temperature T; 0 = greedy */
  double top_p;         /* --top-p P; 1 = off */
  int64_t seed;         /* --seed S (the sampling stream) */
  const char *dump;     /* --dump OUT.safetensors: generate.logits [N, vocab] */
  int timing;           /* --timing: prefill and decode times on stderr */
  int prompt;           /* 1: the tokens came from --prompt (printed as the tokenizer split them) */
} ls_cli_gen_args;

/* Generates and prints; LS_OK or the core's error in d. */
int ls_cli_run_generate(ls_cli_engine *c, const ls_cli_gen_args *ga, ls_diag *d);

#endif
