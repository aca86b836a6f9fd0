/* engine_args.c: parsing and opening the inputs of a forward pass for `run` and `profile`
 * (engine_args.h). */
#include "cli/engine_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"

void ls_cli_engine_args_init(ls_cli_engine_args *a, const char *cmd) {
  memset(a, 0, sizeof *a);
  a->cmd = cmd;
  a->n_random = -1;
  /* --compute fp32|bf16 (matrix products; see core/engine/ops_bf16.h); the environment's
   * LAYERSCOPE_COMPUTE gives the default, so benchmarks can switch without new flags */
  a->compute_arg = getenv("LAYERSCOPE_COMPUTE");
  if (a->compute_arg && !*a->compute_arg) a->compute_arg = NULL;
}

static int bad_int(const ls_cli_engine_args *a, const char *opt, const char *v, const char *range) {
  fprintf(stderr, "layerscope %s: %s: '%s' is not %s\n", a->cmd, opt, v, range);
  return 2;
}

int ls_cli_engine_arg(ls_cli_engine_args *a, int argc, char **argv, int *i) {
  const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
  if (o[0] != '-') {
    if (a->config) return 0;
    a->config = o;
    return 1;
  }
  if (strcmp(o, "--random-weights") == 0) {
    a->random_weights = 1;
    return 1;
  }
  if (!v) return 0;
  if (strcmp(o, "--weights") == 0) a->weights = v;
  else if (strcmp(o, "--prompt") == 0) a->prompt_arg = v;
  else if (strcmp(o, "--tokenizer") == 0) a->tokenizer_arg = v;
  else if (strcmp(o, "--tokens") == 0) a->tokens_arg = v;
  else if (strcmp(o, "--token-types") == 0) a->types_arg = v;
  else if (strcmp(o, "--attention-mask") == 0) a->mask_arg = v;
  else if (strcmp(o, "--compute") == 0) a->compute_arg = v;
  else if (strcmp(o, "--random-tokens") == 0) {
    if (ls_cli_parse_i64(v, 1, 1 << 20, &a->n_random)) return bad_int(a, o, v, "in 1..1048576");
  } else if (strcmp(o, "--batch") == 0) {
    if (ls_cli_parse_i64(v, 1, 1 << 20, &a->batch)) return bad_int(a, o, v, "in 1..1048576");
  } else if (strcmp(o, "--seed") == 0) {
    if (ls_cli_parse_i64(v, 0, INT64_MAX, &a->seed)) return bad_int(a, o, v, "a non-negative integer");
  } else if (strcmp(o, "--layers") == 0) {
    if (ls_cli_parse_i64(v, 1, 1 << 20, &a->layers)) return bad_int(a, o, v, "in 1..1048576");
  } else if (strcmp(o, "--threads") == 0) {
    if (ls_cli_parse_i64(v, 1, 64, &a->threads)) return bad_int(a, o, v, "in 1..64");
  } else {
    return 0;
  }
  (*i)++;
  return 1;
}

/* "1,2,3" -> ids; returns the count, or -1 with the bad item named on stderr. */
static int64_t parse_list(const char *cmd, const char *s, int64_t **out, const char *what) {
  int64_t n = 1;
  for (const char *p = s; *p; p++) n += *p == ',';
  int64_t *v = ls_calloc((size_t)n, sizeof *v);
  char *copy = ls_strdup(s);
  if (!v || !copy) {
    ls_free(v);
    ls_free(copy);
    fprintf(stderr, "layerscope %s: out of memory\n", cmd);
    return -1;
  }
  int64_t k = 0;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (ls_cli_parse_i64(tok, 0, INT64_MAX, &v[k]) != 0) {
      fprintf(stderr, "layerscope %s: %s: '%s' is not a non-negative integer\n", cmd, what, tok);
      ls_free(copy);
      ls_free(v);
      return -1;
    }
    k++;
  }
  ls_free(copy);
  if (k == 0) {
    fprintf(stderr, "layerscope %s: %s: empty list\n", cmd, what);
    ls_free(v);
    return -1;
  }
  *out = v;
  return k;
}

/* "1,2;3" -> rows of ids (each parse_list'ed), *B rows; 0, or -1 with the message printed. */
static int parse_rows(const char *cmd, const char *s, const char *what, int64_t ***rows, int64_t **lens, int64_t *B) {
  int64_t n = 1;
  for (const char *p = s; *p; p++) n += *p == ';';
  *rows = ls_calloc((size_t)n, sizeof **rows);
  *lens = ls_calloc((size_t)n, sizeof **lens);
  char *copy = ls_strdup(s);
  *B = 0;
  if (!*rows || !*lens || !copy) {
    ls_free(copy);
    fprintf(stderr, "layerscope %s: out of memory\n", cmd);
    return -1;
  }
  char *at = copy;
  for (int64_t b = 0; b < n; b++) {
    char *end = strchr(at, ';');
    if (end) *end = '\0';
    if (!*at) {
      fprintf(stderr, "layerscope %s: %s: row %lld is empty\n", cmd, what, (long long)b);
      ls_free(copy);
      return -1;
    }
    (*lens)[b] = parse_list(cmd, at, &(*rows)[b], what);
    if ((*lens)[b] < 0) {
      ls_free(copy);
      return -1;
    }
    *B = b + 1;
    at = end ? end + 1 : at + strlen(at);
  }
  ls_free(copy);
  return 0;
}

static void free_rows(int64_t **rows, int64_t *lens, int64_t B) {
  for (int64_t b = 0; rows && b < B; b++) ls_free(rows[b]);
  ls_free(rows);
  ls_free(lens);
}

/* A batch (--tokens with ';' rows, or --batch): c->tokens, c->mask, c->B packed by the core's
 * ls_fwd_batch_pack. Returns an exit status. */
static int open_batch(const ls_cli_engine_args *a, int64_t n_random, ls_cli_engine *c, ls_diag *d) {
  int64_t **rows = NULL, *lens = NULL, B = 0, **mrows = NULL, *mlens = NULL, MB = 0;
  int64_t *rand = NULL;
  int status = 2;
  if (a->tokens_arg) {
    if (parse_rows(a->cmd, a->tokens_arg, "--tokens", &rows, &lens, &B)) goto out;
  } else { /* --random-tokens N --batch B: B rows of N from one seeded stream */
    B = a->batch;
    rows = ls_calloc((size_t)B, sizeof *rows);
    lens = ls_calloc((size_t)B, sizeof *lens);
    if (n_random > (1 << 20) / B) {
      fprintf(stderr, "layerscope %s: --batch %lld of --random-tokens %lld: at most 1048576 tokens in all\n",
              a->cmd, (long long)B, (long long)n_random);
      goto out;
    }
    rand = ls_calloc((size_t)(B * n_random), sizeof *rand);
    if (!rows || !lens || !rand) {
      status = 1;
      fprintf(stderr, "layerscope %s: out of memory\n", a->cmd);
      goto out;
    }
    ls_fwd_random_tokens((uint64_t)a->seed, c->m->sem.vocab, rand, B * n_random);
    for (int64_t b = 0; b < B; b++) {
      rows[b] = NULL;
      lens[b] = n_random;
    }
  }
  if (a->batch && a->batch != B) {
    fprintf(stderr, "layerscope %s: --batch %lld but --tokens has %lld rows\n", a->cmd, (long long)a->batch,
            (long long)B);
    goto out;
  }
  if (a->mask_arg) {
    if (parse_rows(a->cmd, a->mask_arg, "--attention-mask", &mrows, &mlens, &MB)) goto out;
    if (MB != B) {
      fprintf(stderr, "layerscope %s: --attention-mask has %lld rows for %lld rows of tokens\n", a->cmd,
              (long long)MB, (long long)B);
      goto out;
    }
  }
  if (a->types_arg) {
    fprintf(stderr, "layerscope %s: --token-types is for one row; a batch has %lld\n", a->cmd, (long long)B);
    goto out;
  }
  const int64_t **rp = ls_calloc((size_t)B, sizeof *rp);
  if (!rp) {
    status = 1;
    fprintf(stderr, "layerscope %s: out of memory\n", a->cmd);
    goto out;
  }
  for (int64_t b = 0; b < B; b++) rp[b] = rand ? rand + b * n_random : rows[b];
  int64_t L = 0;
  int rc = ls_fwd_batch_pack(rp, lens, B, (const int64_t *const *)mrows, mlens, &c->tokens, &c->mask, &L, d);
  ls_free(rp);
  if (rc) {
    ls_cli_engine_fail(a->cmd, d);
    status = rc == LS_ENOMEM ? 1 : 2;
    goto out;
  }
  c->B = B;
  c->n = B * L;
  status = 0;
out:
  ls_free(rand);
  free_rows(rows, lens, rows ? B : 0);
  free_rows(mrows, mlens, MB);
  return status;
}

void ls_cli_engine_fail(const char *cmd, const ls_diag *d) {
  /* Most core messages already start with the file they name. */
  int named = d->file[0] && strncmp(d->msg, d->file, strlen(d->file)) != 0;
  fprintf(stderr, "layerscope %s: %s%s%s\n", cmd, named ? d->file : "", named ? ": " : "",
          d->msg[0] ? d->msg : "failed");
}

void ls_cli_engine_close(ls_cli_engine *c) {
  ls_engine_close(c->e);
  ls_model_free(c->m);
  ls_free(c->tokens);
  ls_free(c->types);
  ls_free(c->mask);
  ls_engine_tokref_free(&c->text);
  c->e = NULL;
  c->m = NULL;
  c->tokens = c->types = NULL;
  c->mask = NULL;
}

int ls_cli_engine_open(const ls_cli_engine_args *a_in, int64_t default_random, ls_cli_engine *c) {
  memset(c, 0, sizeof *c);
  ls_cli_engine_args dir_args = *a_in, *a = &dir_args;
  if (a->prompt_arg && (a->tokens_arg || a->n_random > 0)) {
    fprintf(stderr, "layerscope %s: --prompt and --tokens / --random-tokens: choose one\n", a->cmd);
    return 2;
  }
  if (a->prompt_arg && a->batch > 1) {
    fprintf(stderr, "layerscope %s: --prompt is one row; give a batch as --tokens rows\n", a->cmd);
    return 2;
  }
  int64_t n_random = a->n_random;
  if (!a->tokens_arg && !a->prompt_arg && n_random <= 0) n_random = default_random;
  if (!a->config || (a->tokens_arg && a->n_random > 0) || (!a->tokens_arg && !a->prompt_arg && n_random <= 0)) {
    fprintf(stderr, "layerscope %s: give a CONFIG and either --prompt, --tokens or --random-tokens\n", a->cmd);
    ls_cli_usage(stderr, a->cmd);
    return 2;
  }
  int compute = a->compute_arg ? ls_engine_compute_parse(a->compute_arg) : LS_ENGINE_COMPUTE_F32;
  if (compute < 0) {
    fprintf(stderr, "layerscope %s: --compute / LAYERSCOPE_COMPUTE: '%s' is not fp32 or bf16\n", a->cmd,
            a->compute_arg);
    return 2;
  }
  ls_diag d;
  ls_diag_init(&d);
  /* a config file or a hub model directory (config.json + weights), resolved by the core */
  if (ls_engine_src_resolve(a->config, a->weights, a->random_weights, &c->src, &d)) goto fail;
  c->config = c->src.config;
  c->weights = c->src.weights[0] ? c->src.weights : NULL;
  a->config = c->config;
  a->weights = c->weights;
  ls_engine_src_describe(&c->src, (unsigned long long)a->seed, c->weights_line, sizeof c->weights_line);
  if (!c->weights) fprintf(stderr, "layerscope %s: %s\n", a->cmd, c->weights_line);
  ls_model_opts mo = {.max_layers = a->layers}; /* --layers N: the first N layers */
  if (ls_engine_src_model_load(&c->src, &mo, &c->m, &d)) goto fail;
  ls_engine_opts eo = {.weights = a->weights, .seed = (uint64_t)a->seed, .threads = (int)a->threads,
                       .compute = compute};
  if (ls_engine_open(&c->e, c->m, &eo, &d)) goto fail;
  if (compute != ls_engine_compute_get(c->e))
    fprintf(stderr, "layerscope %s: this CPU has no AVX512_BF16; computing in fp32\n", a->cmd);
  c->B = 1;
  /* the tokenizer: read now for --prompt (or a named one, whose errors are reported), else
   * located whenever one is found so ids show as text, and read when first shown */
  ls_tok *tok = NULL;
  if (a->prompt_arg || a->tokenizer_arg) {
    if (ls_engine_tokref_find(&c->src, a->tokenizer_arg, &c->text, &d) || ls_engine_tokref_open(&c->text, &tok, &d))
      goto fail;
  } else {
    ls_diag quiet;
    ls_diag_init(&quiet);
    (void)ls_engine_tokref_find(&c->src, NULL, &c->text, &quiet);
  }
  if (!a->prompt_arg && ((a->tokens_arg && strchr(a->tokens_arg, ';')) || a->batch > 1)) {
    int st = open_batch(a, n_random, c, &d);
    if (st) {
      ls_cli_engine_close(c);
      return st;
    }
    return 0;
  }
  if (a->prompt_arg) {
    if (ls_engine_text_encode(tok, a->prompt_arg, c->m->sem.vocab, &c->tokens, &c->n, &d)) goto fail;
  } else if (a->tokens_arg) {
    c->n = parse_list(a->cmd, a->tokens_arg, &c->tokens, "--tokens");
    if (c->n < 0) goto usage;
  } else {
    c->n = n_random;
    c->tokens = ls_calloc((size_t)c->n, sizeof *c->tokens);
    if (!c->tokens) {
      ls_diag_set(&d, LS_ENOMEM, "out of memory");
      goto fail;
    }
    ls_fwd_random_tokens((uint64_t)a->seed, c->m->sem.vocab, c->tokens, c->n);
  }
  if (a->types_arg && parse_list(a->cmd, a->types_arg, &c->types, "--token-types") != c->n) {
    fprintf(stderr, "layerscope %s: --token-types needs one value per token (%lld)\n", a->cmd, (long long)c->n);
    goto usage;
  }
  if (a->mask_arg) {
    int64_t *mask64 = NULL;
    int64_t k = parse_list(a->cmd, a->mask_arg, &mask64, "--attention-mask");
    if (k != c->n) {
      ls_free(mask64);
      fprintf(stderr, "layerscope %s: --attention-mask needs one value per token (%lld)\n", a->cmd,
              (long long)c->n);
      goto usage;
    }
    c->mask = ls_calloc((size_t)c->n, sizeof *c->mask);
    for (int64_t i = 0; c->mask && i < c->n; i++) c->mask[i] = mask64[i] != 0;
    ls_free(mask64);
    if (!c->mask) {
      ls_diag_set(&d, LS_ENOMEM, "out of memory");
      goto fail;
    }
  }
  return 0;
usage:
  ls_cli_engine_close(c);
  return 2;
fail:
  ls_cli_engine_fail(a->cmd, &d);
  ls_cli_engine_close(c);
  return 1;
}

ls_tok *ls_cli_engine_tok(ls_cli_engine *c) { return ls_engine_tokref_get(&c->text); }

void ls_cli_engine_print_prompt(ls_cli_engine *c) {
  printf("prompt: %lld tokens (tokenizer %s):", (long long)c->n, c->text.path);
  for (int64_t i = 0; i < c->n; i++) {
    char label[256];
    ls_engine_text_label(ls_cli_engine_tok(c), c->tokens[i], label, sizeof label);
    printf(" [%lld] %s", (long long)i, label);
  }
  printf("\n");
}
