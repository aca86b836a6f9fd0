/* gguf_config.c: a GGUF file run alone (source.h): the Hugging Face config.json its
 * metadata describes, written as JSON text and loaded like any config, so the module tree,
 * shape inference and the engine see the same model they would with a config.json. Key
 * names follow llama.cpp's gguf-py constants (LLM_KV_*): general.architecture, then
 * <arch>.block_count, .embedding_length, .feed_forward_length, .context_length,
 * .attention.head_count(_kv), .attention.layer_norm_rms_epsilon / layer_norm_epsilon and
 * .rope.freq_base (gpt2's feed_forward_length defaults to 4 * embedding_length, as
 * GPT2Config's n_inner does); the vocabulary is the length of tokenizer.ggml.tokens, else
 * <arch>.vocab_size, else the rows of token_embd.weight. llama and gpt2 are mapped; another
 * architecture is LS_EUNSUPPORTED. */
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/source.h"
#include "core/tensor/tensor.h"

static int need_int(const ls_tfile *f, const char *path, const char *arch, const char *key, int64_t *v, ls_diag *d) {
  char k[128];
  snprintf(k, sizeof k, "%s.%s", arch, key);
  if (ls_tfile_meta_int(f, k, v) != LS_OK || *v <= 0 || *v > ((int64_t)1 << 40))
    return ls_diag_set(d, LS_EFORMAT, "%s: no usable %s (a positive integer) in its metadata, which a GGUF run "
                       "without config.json needs", path, k);
  return LS_OK;
}

static double opt_f64(const ls_tfile *f, const char *arch, const char *key, double dflt) {
  char k[128];
  double v;
  snprintf(k, sizeof k, "%s.%s", arch, key);
  return ls_tfile_meta_f64(f, k, &v) == LS_OK ? v : dflt;
}

int ls_engine_gguf_config(const char *path, char **json, size_t *len, ls_diag *d) {
  *json = NULL;
  *len = 0;
  ls_tfile *f = NULL;
  int rc = ls_tfile_open(path, &f, d);
  if (rc) return rc;
  const char *arch = NULL;
  if (ls_tfile_meta_str(f, "general.architecture", &arch) != LS_OK) {
    rc = ls_diag_set(d, LS_EFORMAT, "%s: no general.architecture in its metadata: give a config.json", path);
    goto out;
  }
  int llama = strcmp(arch, "llama") == 0, gpt2 = strcmp(arch, "gpt2") == 0;
  if (!llama && !gpt2) {
    rc = ls_diag_set(d, LS_EUNSUPPORTED, "%s: general.architecture '%s': a GGUF file runs without config.json "
                     "for llama and gpt2; give a config.json for this one", path, arch);
    goto out;
  }
  int64_t L, H, I, NH, NKV = 0, ctx = 0, V = 0;
  if ((rc = need_int(f, path, arch, "block_count", &L, d)) || (rc = need_int(f, path, arch, "embedding_length", &H, d)) ||
      (rc = need_int(f, path, arch, "attention.head_count", &NH, d)))
    goto out;
  char k[128];
  snprintf(k, sizeof k, "%s.feed_forward_length", arch);
  if (gpt2 && (ls_tfile_meta_int(f, k, &I) != LS_OK || I <= 0)) I = 4 * H; /* GPT2Config's n_inner default */
  else if ((rc = need_int(f, path, arch, "feed_forward_length", &I, d))) goto out;
  snprintf(k, sizeof k, "%s.attention.head_count_kv", arch);
  if (ls_tfile_meta_int(f, k, &NKV) != LS_OK || NKV <= 0) NKV = NH;
  snprintf(k, sizeof k, "%s.context_length", arch);
  if (ls_tfile_meta_int(f, k, &ctx) != LS_OK || ctx <= 0) ctx = 2048;
  ls_meta_array toks;
  const ls_tensor *emb = ls_tfile_find(f, "token_embd.weight");
  if (ls_tfile_meta_array(f, "tokenizer.ggml.tokens", &toks) == LS_OK && toks.n > 0) V = (int64_t)toks.n;
  else {
    snprintf(k, sizeof k, "%s.vocab_size", arch);
    if (ls_tfile_meta_int(f, k, &V) != LS_OK || V <= 0) V = emb && emb->ndim == 2 ? emb->shape[0] : 0;
  }
  if (V <= 0) {
    rc = ls_diag_set(d, LS_EFORMAT, "%s: neither tokenizer.ggml.tokens nor token_embd.weight says the vocabulary size",
                     path);
    goto out;
  }
  char buf[1024];
  int n;
  if (llama)
    n = snprintf(buf, sizeof buf,
                 "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": %lld, "
                 "\"hidden_size\": %lld, \"intermediate_size\": %lld, \"num_hidden_layers\": %lld, "
                 "\"num_attention_heads\": %lld, \"num_key_value_heads\": %lld, \"max_position_embeddings\": %lld, "
                 "\"rms_norm_eps\": %.9g, \"rope_theta\": %.9g, \"hidden_act\": \"silu\", "
                 "\"tie_word_embeddings\": %s}\n",
                 (long long)V, (long long)H, (long long)I, (long long)L, (long long)NH, (long long)NKV, (long long)ctx,
                 opt_f64(f, arch, "attention.layer_norm_rms_epsilon", 1e-5), opt_f64(f, arch, "rope.freq_base", 10000.0),
                 ls_tfile_find(f, "output.weight") ? "false" : "true");
  else
    n = snprintf(buf, sizeof buf,
                 "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": %lld, "
                 "\"n_embd\": %lld, \"n_inner\": %lld, \"n_layer\": %lld, \"n_head\": %lld, \"n_positions\": %lld, "
                 "\"layer_norm_epsilon\": %.9g, \"activation_function\": \"gelu_new\"}\n",
                 (long long)V, (long long)H, (long long)I, (long long)L, (long long)NH, (long long)ctx,
                 opt_f64(f, arch, "attention.layer_norm_epsilon", 1e-5));
  if (n < 0 || (size_t)n >= sizeof buf || !(*json = ls_strdup(buf))) {
    rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
    goto out;
  }
  *len = (size_t)n;
out:
  ls_tfile_close(f);
  return rc;
}

int ls_engine_src_model_load(const ls_engine_src *s, const ls_model_opts *mo, ls_model **out, ls_diag *d) {
  if (!s->gguf) return ls_model_load_file(s->config, mo, out, d);
  char *json = NULL;
  size_t len = 0;
  int rc = ls_engine_gguf_config(s->config, &json, &len, d);
  return rc ? rc : ls_model_load_owned(json, len, s->config, mo, out, d);
}
