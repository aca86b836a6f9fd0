/* engine_args.h: the inputs of a forward pass as the CLI takes them, shared by the
 * subcommands that run the reference engine (`run`, `profile`): the config, --weights,
 * --tokens 1,2,3 (or rows "1,2,3;4,5", a batch) or --random-tokens N with --seed and --batch B,
 * --token-types, --attention-mask (rows with the same ';' syntax), --threads and --compute,
 * --prompt TEXT with --tokenizer PATH (core/engine/text.h); the config may be a model
 * directory (default from LAYERSCOPE_COMPUTE). One parser and one opener, so
 * the options mean the same thing and fail with the same messages everywhere. */
#ifndef LS_CLI_ENGINE_ARGS_H
#define LS_CLI_ENGINE_ARGS_H

#include <stdint.h>

#include "core/engine/forward.h"
#include "core/engine/source.h"
#include "core/engine/text.h"
#include "core/model/model.h"

typedef struct ls_cli_engine_args {
  const char *cmd;            /* "run": prefixes every message ("layerscope run: ...") */
  const char *config, *weights, *tokens_arg, *types_arg, *mask_arg, *compute_arg;
  const char *prompt_arg;     /* --prompt TEXT, encoded with the model's tokenizer */
  const char *tokenizer_arg;  /* --tokenizer PATH: a tokenizer.json or .gguf; NULL: the model's */
  int random_weights;         /* --random-weights: seeded random weights, also for a model
                                 directory (which otherwise must hold weights) */
  int64_t n_random;           /* --random-tokens; -1 when not given */
  int64_t seed, threads;
  int64_t batch;              /* --batch B (with --random-tokens): B rows; 0 when not given */
  int64_t layers;             /* --layers N: keep the first N layers; 0 = all */
} ls_cli_engine_args;

/* Defaults for cmd (compute from LAYERSCOPE_COMPUTE when set). */
void ls_cli_engine_args_init(ls_cli_engine_args *a, const char *cmd);

/* Tries argv[*i] (the option, its value in argv[*i + 1]) as one of the engine options, or a
 * bare word as the config. Returns 1 when it took it (*i then points at its last word), 0
 * when it is not one of them, 2 on a bad value (the message printed on stderr). */
int ls_cli_engine_arg(ls_cli_engine_args *a, int argc, char **argv, int *i);

/* What the options open. */
typedef struct ls_cli_engine {
  const char *config;         /* the config file opened (a model directory's config.json) */
  const char *weights;        /* the weights bound, NULL: seeded random */
  ls_engine_src src;          /* what the config argument resolved to (core/engine/source.h) */
  char weights_line[4400];    /* "weights: DIR/model.safetensors (...)", "weights: none, seeded random (seed 0)" */
  ls_model *m;                /* owned */
  ls_engine *e;               /* owned */
  int64_t *tokens;            /* [n] owned: B rows of n / B, right-padded (mask 0) */
  int64_t n;
  int64_t B;                  /* batch rows (1 unless --tokens has rows or --batch) */
  int64_t *types;             /* [n] owned, NULL when not given */
  int *mask;                  /* [n] owned, NULL when not given */
  ls_engine_tokref text;      /* owned: the model's tokenizer, located when one is found (always
                                 with --prompt) and read on first use (ls_cli_engine_tok) */
} ls_cli_engine;

/* Checks the combination (a config; --tokens or --random-tokens, or default_random > 0
 * random tokens when neither is given), loads the model, opens the engine and prepares the
 * tokens. The config may be a hub model directory (core/engine/source.h: its config.json and
 * weights, an error without weights unless --random-weights); random weights are announced
 * on stderr. --prompt is encoded with the tokenizer (an error when none is found); without
 * it the tokenizer is still opened when one is found, so outputs can show text. Returns an exit status: 0, 1 (the core failed, message printed) or 2 (usage). */
int ls_cli_engine_open(const ls_cli_engine_args *a, int64_t default_random, ls_cli_engine *out);
void ls_cli_engine_close(ls_cli_engine *c);

/* Prints the prompt as the tokenizer split it (a tokenizer found): "prompt: 6 tokens (tokenizer
 * DIR/tokenizer.json): [0] "<s>" [1] "▁The" ...". */
void ls_cli_engine_print_prompt(ls_cli_engine *c);

/* The model's tokenizer, read on first call; NULL when none was found: ids print as ids. */
ls_tok *ls_cli_engine_tok(ls_cli_engine *c);

/* Prints "layerscope CMD: <message>" for a core failure, naming the file when the message
 * does not already start with it. */
void ls_cli_engine_fail(const char *cmd, const ls_diag *d);

#endif
