/* run.c: `layerscope run`, the command-line front end of the reference engine. It loads a
 * config into the module tree, binds weights (a file, or the seeded random initialisation),
 * runs one forward pass over the given or random tokens and prints the top-k next tokens of
 * the last position. --dump keeps a copy of the output of every module whose name matches
 * --dump-filter (a shell glob, default "*") through an engine hook and writes them, plus
 * `logits`, as f32 tensors of a safetensors file named by module, so `layerscope diff` and
 * PyTorch can compare them with a reference. --timing prints the forward pass's wall time
 * and tokens/s to stderr; --stats-hook arms a hook computing statistics of every module
 * output (the cost a debugger session adds), for benchmarks. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/forward.h"
#include "core/model/model.h"
#include "core/tensor/stats.h"
#include "core/tensor/tensor.h"

typedef struct run_dump {
  char *name;
  int ndim;
  int64_t shape[4];
  float *data;
} run_dump;

typedef struct run_ctx {
  const char *filter;
  run_dump *dumps;
  size_t n, cap;
  int failed;
  int stats;       /* --stats-hook */
  double checksum; /* keeps the statistics from being optimised away */
} run_ctx;

/* "1,2,3" -> ids; returns the count or -1 naming the bad item on stderr. */
static int64_t parse_list(const char *s, int64_t **out, const char *what) {
  int64_t n = 1;
  for (const char *p = s; *p; p++) n += *p == ',';
  int64_t *v = ls_calloc((size_t)n, sizeof *v);
  if (!v) return -1;
  char *copy = ls_strdup(s);
  if (!copy) {
    ls_free(v);
    return -1;
  }
  int64_t k = 0;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (ls_cli_parse_i64(tok, 0, INT64_MAX, &v[k]) != 0) {
      fprintf(stderr, "layerscope run: %s: '%s' is not a non-negative integer\n", what, tok);
      ls_free(copy);
      ls_free(v);
      return -1;
    }
    k++;
  }
  ls_free(copy);
  if (k == 0) {
    fprintf(stderr, "layerscope run: %s: empty list\n", what);
    ls_free(v);
    return -1;
  }
  *out = v;
  return k;
}

static int64_t numel(const ls_fwd_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

static int run_hook(void *ud, const ls_fwd_event *ev) {
  run_ctx *c = ud;
  if (ev->phase != LS_FWD_EXIT || ev->n_outputs == 0) return LS_FWD_CONTINUE;
  const ls_fwd_tensor *o = &ev->outputs[0];
  if (c->stats) { /* what a debugger stop computes: core/tensor's one-pass statistics */
    ls_stats st;
    if (ls_stats_f32(o->data, (uint64_t)numel(o), &st) == LS_OK) c->checksum += st.sum;
  }
  if (c->filter && ev->name[0] && fnmatch(c->filter, ev->name, 0) == 0) {
    if (c->n == c->cap) {
      size_t nc = c->cap ? c->cap * 2 : 64;
      run_dump *nd = ls_reallocarray(c->dumps, nc, sizeof *nd);
      if (!nd) { c->failed = 1; return LS_FWD_ABORT; }
      c->dumps = nd;
      c->cap = nc;
    }
    run_dump *d = &c->dumps[c->n];
    size_t bytes = (size_t)numel(o) * sizeof(float);
    d->name = ls_strdup(ev->name);
    d->data = ls_malloc(bytes ? bytes : 1);
    if (!d->name || !d->data) {
      ls_free(d->name);
      ls_free(d->data);
      c->failed = 1;
      return LS_FWD_ABORT;
    }
    memcpy(d->data, o->data, bytes);
    d->ndim = o->ndim;
    memcpy(d->shape, o->shape, sizeof d->shape);
    c->n++;
  }
  return LS_FWD_CONTINUE;
}

static int write_dump(const char *path, run_ctx *c, const float *logits, int64_t rows,
                      int64_t cols, ls_diag *d) {
  ls_st_writer *w = NULL;
  int rc = ls_st_writer_open(path, &w, d);
  if (rc) return rc;
  for (size_t i = 0; i < c->n && !rc; i++) {
    /* a module called twice (none today) keeps its first output */
    int dup = 0;
    for (size_t j = 0; j < i && !dup; j++) dup = strcmp(c->dumps[j].name, c->dumps[i].name) == 0;
    if (!dup)
      rc = ls_st_writer_add(w, c->dumps[i].name, LS_DT_F32, c->dumps[i].ndim, c->dumps[i].shape,
                            c->dumps[i].data, d);
  }
  int64_t shape[3] = {1, rows, cols};
  if (!rc) rc = ls_st_writer_add(w, "logits", LS_DT_F32, 3, shape, logits, d);
  if (rc) {
    ls_st_writer_abort(w);
    return rc;
  }
  return ls_st_writer_close(w, d);
}

/* VmHWM of /proc/self/status: the peak RSS of this process image. (getrusage's ru_maxrss
 * survives execve on Linux, so it would report the forked parent's size.) -1 if unknown. */
static double peak_rss_mib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  double kib = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kib = strtod(line + 6, NULL);
  fclose(f);
  return kib < 0 ? -1 : kib / 1024.0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int ls_cli_run(int argc, char **argv) {
  const char *config = NULL, *weights = NULL, *tokens_arg = NULL, *dump = NULL;
  const char *filter = "*", *types_arg = NULL, *mask_arg = NULL;
  int64_t n_random = -1, seed = 0, top_k = 5, threads = 0;
  int timing = 0, stats = 0;
  /* --compute fp32|bf16 (matrix products; see core/engine/ops_bf16.h); the environment's
   * LAYERSCOPE_COMPUTE gives the default, so benchmarks can switch without new flags */
  const char *compute_arg = getenv("LAYERSCOPE_COMPUTE");
  if (compute_arg && !*compute_arg) compute_arg = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = 1;
    if (strcmp(a, "--weights") == 0 && v) weights = v;
    else if (strcmp(a, "--tokens") == 0 && v) tokens_arg = v;
    else if (strcmp(a, "--token-types") == 0 && v) types_arg = v;
    else if (strcmp(a, "--attention-mask") == 0 && v) mask_arg = v;
    else if (strcmp(a, "--dump") == 0 && v) dump = v;
    else if (strcmp(a, "--dump-filter") == 0 && v) filter = v;
    else if (strcmp(a, "--compute") == 0 && v) compute_arg = v;
    else if (strcmp(a, "--random-tokens") == 0 && v) {
      if (ls_cli_parse_i64(v, 1, 1 << 20, &n_random)) {
        fprintf(stderr, "layerscope run: --random-tokens: '%s' is not in 1..1048576\n", v);
        return 2;
      }
    } else if (strcmp(a, "--seed") == 0 && v) {
      if (ls_cli_parse_i64(v, 0, INT64_MAX, &seed)) {
        fprintf(stderr, "layerscope run: --seed: '%s' is not a non-negative integer\n", v);
        return 2;
      }
    } else if (strcmp(a, "--top-k") == 0 && v) {
      if (ls_cli_parse_i64(v, 1, 1000000, &top_k)) {
        fprintf(stderr, "layerscope run: --top-k: '%s' is not in 1..1000000\n", v);
        return 2;
      }
    } else if (strcmp(a, "--threads") == 0 && v) {
      if (ls_cli_parse_i64(v, 1, 64, &threads)) {
        fprintf(stderr, "layerscope run: --threads: '%s' is not in 1..64\n", v);
        return 2;
      }
    } else if (strcmp(a, "--timing") == 0) { timing = 1; takes = 0; }
    else if (strcmp(a, "--stats-hook") == 0) { stats = 1; takes = 0; }
    else if (a[0] != '-' && !config) { config = a; takes = 0; }
    else {
      fprintf(stderr, "layerscope run: unknown or incomplete argument '%s'\n", a);
      ls_cli_usage(stderr, "run");
      return 2;
    }
    i += takes;
  }
  if (!config || (tokens_arg && n_random > 0) || (!tokens_arg && n_random <= 0)) {
    fprintf(stderr, "layerscope run: give a CONFIG and either --tokens or --random-tokens\n");
    ls_cli_usage(stderr, "run");
    return 2;
  }
  int compute = compute_arg ? ls_engine_compute_parse(compute_arg) : LS_ENGINE_COMPUTE_F32;
  if (compute < 0) {
    fprintf(stderr, "layerscope run: --compute / LAYERSCOPE_COMPUTE: '%s' is not fp32 or bf16\n",
            compute_arg);
    return 2;
  }
  ls_diag d;
  ls_diag_init(&d);
  ls_model *m = NULL;
  ls_engine *e = NULL;
  ls_fwd *f = NULL;
  int64_t *tokens = NULL, *types = NULL, *mask64 = NULL, *ids = NULL;
  float *vals = NULL;
  int *mask = NULL;
  run_ctx ctx = {.filter = dump ? filter : NULL, .stats = stats};
  int status = 1;
  int64_t n = 0;
  if (ls_model_load_file(config, NULL, &m, &d)) goto fail;
  ls_engine_opts eo = {.weights = weights, .seed = (uint64_t)seed, .threads = (int)threads,
                       .compute = compute};
  if (ls_engine_open(&e, m, &eo, &d)) goto fail;
  if (compute != ls_engine_compute_get(e))
    fprintf(stderr, "layerscope run: this CPU has no AVX512_BF16; computing in fp32\n");
  if (tokens_arg) {
    n = parse_list(tokens_arg, &tokens, "--tokens");
    if (n < 0) { status = 2; goto out; }
  } else {
    n = n_random;
    tokens = ls_calloc((size_t)n, sizeof *tokens);
    if (!tokens) { ls_diag_set(&d, LS_ENOMEM, "out of memory"); goto fail; }
    ls_fwd_random_tokens((uint64_t)seed, m->sem.vocab, tokens, n);
  }
  if (types_arg && parse_list(types_arg, &types, "--token-types") != n) {
    fprintf(stderr, "layerscope run: --token-types needs one value per token (%lld)\n", (long long)n);
    status = 2;
    goto out;
  }
  if (mask_arg) {
    if (parse_list(mask_arg, &mask64, "--attention-mask") != n) {
      fprintf(stderr, "layerscope run: --attention-mask needs one value per token (%lld)\n",
              (long long)n);
      status = 2;
      goto out;
    }
    mask = ls_calloc((size_t)n, sizeof *mask);
    if (!mask) { ls_diag_set(&d, LS_ENOMEM, "out of memory"); goto fail; }
    for (int64_t i = 0; i < n; i++) mask[i] = mask64[i] != 0;
  }
  ls_fwd_opts fo = {.hook = (dump || stats) ? run_hook : NULL, .ud = &ctx,
                    .token_type_ids = types, .attention_mask = mask};
  if (ls_fwd_new(&f, e, tokens, n, &fo, &d)) goto fail;
  double t0 = now_s();
  if (ls_fwd_run(f, &d)) {
    if (ctx.failed) ls_diag_set(&d, LS_ENOMEM, "out of memory keeping module outputs");
    goto fail;
  }
  double dt = now_s() - t0;
  if (timing)
    fprintf(stderr, "forward: %lld tokens in %.4f s (%.1f tokens/s, %d threads)%s; peak RSS %.1f MiB\n",
            (long long)n, dt, (double)n / dt, ls_engine_threads(e),
            stats ? ", statistics hook on every module" : "", peak_rss_mib());
  int64_t rows, cols;
  const float *logits = ls_fwd_logits(f, &rows, &cols);
  if (top_k > cols) top_k = cols;
  int k = (int)top_k;
  ids = ls_calloc((size_t)k, sizeof *ids);
  vals = ls_calloc((size_t)k, sizeof *vals);
  if (!ids || !vals) { ls_diag_set(&d, LS_ENOMEM, "out of memory"); goto fail; }
  int ranked = 0;
  int64_t nan = 0, all = 0;
  ls_fwd_next_tokens(f, k, ids, vals, &ranked, &nan, &all);
  printf("%s: %s, %lld tokens, weights %s\n", config, m->architecture, (long long)n,
         weights ? weights : "random (seeded)");
  if (ranked)
    printf("top-%d next tokens at position %lld%s:\n", ranked, (long long)(n - 1),
           cols == m->sem.vocab ? "" : " (no LM head: hidden units)");
  for (int i = 0; i < ranked; i++) printf("  %2d  token %-8lld logit %.6f\n", i + 1, (long long)ids[i], vals[i]);
  /* NaN logits are no tokens: counted, never ranked */
  if (nan)
    printf("the logits contain %lld NaN of %lld values at position %lld%s\n", (long long)nan, (long long)all,
           (long long)(n - 1), ranked ? " (not ranked)" : ": no next tokens to rank");
  if (dump) {
    if (write_dump(dump, &ctx, logits, rows, cols, &d)) goto fail;
    fprintf(stderr, "wrote %zu module outputs and logits to %s\n", ctx.n, dump);
  }
  status = 0;
  goto out;
fail:;
  /* Most core messages already start with the file they name. */
  int named = d.file[0] && strncmp(d.msg, d.file, strlen(d.file)) != 0;
  fprintf(stderr, "layerscope run: %s%s%s\n", named ? d.file : "", named ? ": " : "",
          d.msg[0] ? d.msg : "failed");
  status = 1;
out:
  for (size_t i = 0; i < ctx.n; i++) {
    ls_free(ctx.dumps[i].name);
    ls_free(ctx.dumps[i].data);
  }
  ls_free(ctx.dumps);
  ls_fwd_free(f);
  ls_engine_close(e);
  ls_model_free(m);
  ls_free(tokens);
  ls_free(types);
  ls_free(mask64);
  ls_free(mask);
  ls_free(ids);
  ls_free(vals);
  return status;
}
