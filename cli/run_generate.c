/* run_generate.c: `layerscope run --generate N`, generation through core/engine/generate.h:
 * one line per generated token (its position, the token chosen, its logit, and the best
 * token when sampling chose another), then the generated ids as one list. --dump writes the
 * logits each token was chosen from as `generate.logits` [N, vocab] (f32), so a test can
 * compare every step with a reference.
 *
 * Text: when the model has a tokenizer (core/engine/text.h), each step shows the text its
 * token decodes to, and the generated tokens are decoded together at the end ("generated
 * text:"), special tokens left out, as Hugging Face's decode(ids, skip_special_tokens=True). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/run_generate.h"
#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/forward.h"
#include "core/engine/generate.h"
#include "core/tensor/tensor.h"

/* The generated ids [from, n) decoded together, printed as "generated text: ..." (quoted). */
static int print_text(ls_cli_engine *c, const int64_t *ids, int64_t from, int64_t n, ls_diag *d) {
  uint32_t *u = ls_calloc((size_t)(n - from) + 1, sizeof *u);
  if (!u) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  for (int64_t i = from; i < n; i++) u[i - from] = (uint32_t)ids[i];
  char *text = NULL;
  size_t len = 0;
  int rc = ls_tok_decode(ls_cli_engine_tok(c), u, (size_t)(n - from), 1, &text, &len, d);
  ls_free(u);
  if (rc) return rc;
  printf("generated text: %s\n", text);
  ls_free(text);
  return LS_OK;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int ls_cli_run_generate(ls_cli_engine *c, const ls_cli_gen_args *ga, ls_diag *d) {
  ls_gen_opts go = {.max_new = ga->n, .temperature = ga->temperature, .top_p = ga->top_p,
                    .seed = ga->seed};
  ls_gen *g = NULL;
  float *all = NULL; /* [n, vocab] chosen-from logits for --dump */
  int rc = ls_gen_begin(&g, c->e, c->tokens, c->n, &go, d);
  if (rc) return rc;
  int64_t V = c->m->sem.vocab;
  if (ga->dump && !(all = ls_calloc((size_t)(ga->n * V), sizeof *all))) {
    ls_gen_end(g);
    return ls_diag_set(d, LS_ENOMEM, "out of memory keeping the logits of %lld steps", (long long)ga->n);
  }
  printf("%s: %s, %lld prompt tokens, %s\n", c->config, c->m->architecture, (long long)c->n, c->weights_line);
  if (ga->prompt && ls_cli_engine_tok(c)) ls_cli_engine_print_prompt(c);
  if (ga->temperature > 0)
    printf("generating %lld tokens: sampling, temperature %g, top-p %g, seed %lld (KV cache)\n",
           (long long)ga->n, ga->temperature, ga->top_p > 0 && ga->top_p < 1 ? ga->top_p : 1.0,
           (long long)ga->seed);
  else
    printf("generating %lld tokens: greedy (KV cache)\n", (long long)ga->n);
  double t_prefill = 0, t_decode = 0; /* step 0 is the prefill pass, each later step one token */
  int64_t prev = c->tokens[c->n - 1]; /* the token before the step's, for its text */
  for (int64_t i = 0; i < ga->n && !rc; i++) {
    ls_gen_token st;
    double t0 = now_s();
    rc = ls_gen_step(g, &st, d);
    if (rc) break;
    *(i == 0 ? &t_prefill : &t_decode) += now_s() - t0;
    char text[256] = "";
    if (ls_cli_engine_tok(c)) ls_engine_text_piece(ls_cli_engine_tok(c), prev, st.token, text, sizeof text);
    printf("  step %-4lld pos %-5lld token %-8lld logit %.6f", (long long)st.index, (long long)st.pos,
           (long long)st.token, st.logit);
    if (st.top != st.token) printf("  (top %lld, logit %.6f)", (long long)st.top, st.top_logit);
    if (st.n_nan) printf("  (%lld NaN logits)", (long long)st.n_nan);
    if (text[0]) printf("  %s", text);
    printf("\n");
    prev = st.token;
    if (all) memcpy(all + i * V, st.logits, (size_t)V * sizeof *all);
  }
  if (!rc && ga->timing) {
    fprintf(stderr, "prefill: %lld tokens in %.4f s (%.1f tokens/s)\n", (long long)c->n, t_prefill,
            t_prefill > 0 ? (double)c->n / t_prefill : 0);
    if (ga->n > 1)
      fprintf(stderr, "decode: %lld tokens in %.4f s (%.1f tokens/s, %.2f ms/token, %d threads); "
              "products: %s\n", (long long)(ga->n - 1), t_decode,
              t_decode > 0 ? (double)(ga->n - 1) / t_decode : 0, 1e3 * t_decode / (double)(ga->n - 1),
              ls_engine_threads(c->e), ls_engine_matmul_path(c->e));
  }
  if (!rc) {
    int64_t n;
    const int64_t *ids = ls_gen_tokens(g, &n);
    printf("generated ids:");
    for (int64_t i = c->n; i < n; i++) printf("%s%lld", i == c->n ? " " : ",", (long long)ids[i]);
    printf("\n");
    if (ls_cli_engine_tok(c)) rc = print_text(c, ids, c->n, n, d);
  }
  if (!rc && all) {
    ls_st_writer *w = NULL;
    int64_t shape[2] = {ga->n, V};
    rc = ls_st_writer_open(ga->dump, &w, d);
    if (!rc) rc = ls_st_writer_add(w, "generate.logits", LS_DT_F32, 2, shape, all, d);
    if (!rc) rc = ls_st_writer_close(w, d);
    else if (w) ls_st_writer_abort(w);
    if (!rc) fprintf(stderr, "wrote the logits of %lld steps to %s\n", (long long)ga->n, ga->dump);
  }
  ls_free(all);
  ls_gen_end(g);
  return rc;
}
