/* run.c: `layerscope run`, the command-line front end of the reference engine. It loads a
 * config into the module tree, binds weights (a file, or the seeded random initialisation),
 * runs one forward pass over the given or random tokens and prints the top-k next tokens of
 * the last position (a batch, --tokens "1,2;3" or --batch B: of each row's last unmasked
 * position, one line per row). --dump keeps a copy of the output of every module whose name matches
 * --dump-filter (a shell glob, default "*") through an engine hook and writes them, plus
 * `logits`, as f32 tensors of a safetensors file named by module, so `layerscope diff` and
 * PyTorch can compare them with a reference. --timing prints the forward pass's wall time
 * and tokens/s to stderr; --stats-hook arms a hook computing statistics of every module
 * output (the cost a debugger session adds), for benchmarks. --generate N generates N
 * tokens after the given ones instead (run_generate.c). --prompt TEXT encodes the text with
 * the model's tokenizer (core/engine/text.h); whenever a tokenizer is found, the top-k tokens
 * and generated tokens are shown with their text. */
#include <math.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/engine_args.h"
#include "cli/run_generate.h"
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

static int write_dump(const char *path, run_ctx *c, const float *logits, int64_t batch, int64_t rows,
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
  int64_t shape[3] = {batch, rows, cols}; /* [B, S, vocab] */
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
  ls_cli_engine_args ea;
  ls_cli_engine_args_init(&ea, "run");
  const char *dump = NULL, *filter = "*";
  int64_t top_k = 5;
  int timing = 0, stats = 0;
  ls_cli_gen_args ga = {.n = 0, .temperature = 0, .top_p = 1.0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int took = ls_cli_engine_arg(&ea, argc, argv, &i);
    if (took == 2) return 2;
    if (took) continue;
    if (strcmp(a, "--dump") == 0 && v) dump = argv[++i];
    else if (strcmp(a, "--dump-filter") == 0 && v) filter = argv[++i];
    else if (strcmp(a, "--top-k") == 0 && v) {
      if (ls_cli_parse_i64(v, 1, 1000000, &top_k)) {
        fprintf(stderr, "layerscope run: --top-k: '%s' is not in 1..1000000\n", v);
        return 2;
      }
      i++;
    } else if (strcmp(a, "--generate") == 0 && v) {
      if (ls_cli_parse_i64(v, 1, 1 << 20, &ga.n)) {
        fprintf(stderr, "layerscope run: --generate: '%s' is not in 1..1048576\n", v);
        return 2;
      }
      i++;
    } else if ((strcmp(a, "--temperature") == 0 || strcmp(a, "--top-p") == 0) && v) {
      char *end = NULL;
      double x = strtod(v, &end);
      int top_p = a[2] == 't' && a[3] == 'o';
      if (!end || *end || !isfinite(x) || x < 0 || (top_p && (x <= 0 || x > 1))) {
        fprintf(stderr, "layerscope run: %s: '%s' is not %s\n", a, v, top_p ? "in (0, 1]" : "a number >= 0");
        return 2;
      }
      if (top_p) ga.top_p = x;
      else ga.temperature = x;
      i++;
    } else if (strcmp(a, "--timing") == 0) timing = 1;
    else if (strcmp(a, "--stats-hook") == 0) stats = 1;
    else {
      fprintf(stderr, "layerscope run: unknown or incomplete argument '%s'\n", a);
      ls_cli_usage(stderr, "run");
      return 2;
    }
  }
  if (!ga.n && (ga.temperature > 0 || ga.top_p < 1)) {
    fprintf(stderr, "layerscope run: --temperature and --top-p need --generate N\n");
    return 2;
  }
  ls_cli_engine c;
  int status = ls_cli_engine_open(&ea, 0, &c);
  if (status) return status;
  ls_diag d;
  ls_diag_init(&d);
  if (ga.n && c.B > 1) {
    fprintf(stderr, "layerscope run: --generate runs one row; this input has a batch of %lld rows\n",
            (long long)c.B);
    ls_cli_engine_close(&c);
    return 2;
  }
  if (ga.n) {
    ga.seed = ea.seed;
    ga.dump = dump;
    ga.timing = timing;
    ga.prompt = ea.prompt_arg != NULL;
    status = ls_cli_run_generate(&c, &ga, &d) ? 1 : 0;
    if (status) ls_cli_engine_fail("run", &d);
    ls_cli_engine_close(&c);
    return status;
  }
  ls_fwd *f = NULL;
  int64_t *ids = NULL;
  float *vals = NULL;
  run_ctx ctx = {.filter = dump ? filter : NULL, .stats = stats};
  const int64_t n = c.n;
  const char *config = c.config;
  ls_model *m = c.m;
  ls_engine *e = c.e;
  ls_fwd_opts fo = {.hook = (dump || stats) ? run_hook : NULL, .ud = &ctx,
                    .token_type_ids = c.types, .attention_mask = c.mask, .batch = c.B};
  if (ls_fwd_new(&f, e, c.tokens, n, &fo, &d)) goto fail;
  double t0 = now_s();
  if (ls_fwd_run(f, &d)) {
    if (ctx.failed) ls_diag_set(&d, LS_ENOMEM, "out of memory keeping module outputs");
    goto fail;
  }
  double dt = now_s() - t0;
  if (timing)
    fprintf(stderr, "forward: %lld tokens in %.4f s (%.1f tokens/s, %d threads)%s; peak RSS %.1f MiB; "
            "products: %s\n",
            (long long)n, dt, (double)n / dt, ls_engine_threads(e),
            stats ? ", statistics hook on every module" : "", peak_rss_mib(),
            ls_engine_matmul_path(e));
  int64_t rows, cols;
  const float *logits = ls_fwd_logits(f, &rows, &cols);
  if (top_k > cols) top_k = cols;
  int k = (int)top_k;
  ids = ls_calloc((size_t)k, sizeof *ids);
  vals = ls_calloc((size_t)k, sizeof *vals);
  if (!ids || !vals) { ls_diag_set(&d, LS_ENOMEM, "out of memory"); goto fail; }
  if (c.B > 1) {
    printf("%s: %s, %lld rows of %lld tokens, %s\n", config, m->architecture, (long long)c.B,
           (long long)(n / c.B), c.weights_line);
    for (int64_t b = 0; b < c.B; b++) {
      char line[1024];
      int64_t len = ls_fwd_row_len(f, b);
      ls_fwd_next_tokens_line_row(f, b, k < 16 ? k : 16, line, sizeof line);
      printf("row %lld (%lld token%s): %s\n", (long long)b, (long long)len, len == 1 ? "" : "s", line);
    }
  } else {
    int ranked = 0;
    int64_t nan = 0, all = 0;
    ls_fwd_next_tokens(f, k, ids, vals, &ranked, &nan, &all);
    printf("%s: %s, %lld tokens, %s\n", config, m->architecture, (long long)n, c.weights_line);
    if (ea.prompt_arg) ls_cli_engine_print_prompt(&c);
    if (ranked)
      printf("top-%d next tokens at position %lld%s:\n", ranked, (long long)(n - 1),
             cols == m->sem.vocab ? "" : " (no LM head: hidden units)");
    for (int i = 0; i < ranked; i++) {
      printf("  %2d  token %-8lld logit %.6f", i + 1, (long long)ids[i], vals[i]);
      if (cols == m->sem.vocab && ls_cli_engine_tok(&c)) { /* the token's text: what it decodes to after the prompt */
        char text[256];
        ls_engine_text_piece(ls_cli_engine_tok(&c), c.tokens[n - 1], ids[i], text, sizeof text);
        printf("  %s", text);
      }
      printf("\n");
    }
    /* NaN logits are no tokens: counted, never ranked */
    if (nan)
      printf("the logits contain %lld NaN of %lld values at position %lld%s\n", (long long)nan, (long long)all,
             (long long)(n - 1), ranked ? " (not ranked)" : ": no next tokens to rank");
  }
  if (dump) {
    if (write_dump(dump, &ctx, logits, c.B, rows / c.B, cols, &d)) goto fail;
    fprintf(stderr, "wrote %zu module outputs and logits to %s\n", ctx.n, dump);
  }
  status = 0;
  goto out;
fail:
  ls_cli_engine_fail("run", &d);
  status = 1;
out:
  for (size_t i = 0; i < ctx.n; i++) {
    ls_free(ctx.dumps[i].name);
    ls_free(ctx.dumps[i].data);
  }
  ls_free(ctx.dumps);
  ls_fwd_free(f);
  ls_cli_engine_close(&c);
  ls_free(ids);
  ls_free(vals);
  return status;
}
