/* gguf_names.c: the table from llama.cpp tensor names (gguf-py's tensor_mapping.py, in
 * reverse) to upstream state_dict names. Block tensors are "blk.N.<suffix>"; the table maps
 * the suffix, and N is kept. Two naming families cover the architectures the engine runs:
 * llama-style decoders (llama, mistral, qwen2, gemma, ...: "model." prefix) and gpt2
 * ("transformer." prefix). */
#include "core/tensor/gguf_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct name_row { const char *gguf, *upstream; } name_row;

static const name_row k_llama_top[] = {
  {"token_embd", "model.embed_tokens"}, {"output_norm", "model.norm"}, {"output", "lm_head"},
};
static const name_row k_llama_blk[] = {
  {"attn_q", "self_attn.q_proj"}, {"attn_k", "self_attn.k_proj"}, {"attn_v", "self_attn.v_proj"},
  {"attn_output", "self_attn.o_proj"}, {"attn_norm", "input_layernorm"},
  {"ffn_norm", "post_attention_layernorm"}, {"ffn_gate", "mlp.gate_proj"}, {"ffn_up", "mlp.up_proj"},
  {"ffn_down", "mlp.down_proj"}, {"ffn_gate_inp", "block_sparse_moe.gate"},
  {"attn_q_norm", "self_attn.q_norm"}, {"attn_k_norm", "self_attn.k_norm"},
};
static const name_row k_gpt2_top[] = {
  {"token_embd", "transformer.wte"}, {"position_embd", "transformer.wpe"},
  {"output_norm", "transformer.ln_f"}, {"output", "lm_head"},
};
static const name_row k_gpt2_blk[] = {
  {"attn_norm", "ln_1"}, {"attn_qkv", "attn.c_attn"}, {"attn_output", "attn.c_proj"},
  {"ffn_norm", "ln_2"}, {"ffn_up", "mlp.c_fc"}, {"ffn_down", "mlp.c_proj"},
};

/* Splits "stem.weight" into stem and suffix (".weight"/".bias", or "" if neither). */
static size_t stem_len(const char *name) {
  const char *dot = strrchr(name, '.');
  if (dot && (strcmp(dot, ".weight") == 0 || strcmp(dot, ".bias") == 0)) return (size_t)(dot - name);
  return strlen(name);
}

static const char *lookup(const name_row *rows, size_t n, const char *s, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(rows[i].gguf) == len && memcmp(rows[i].gguf, s, len) == 0) return rows[i].upstream;
  return NULL;
}

void ls__gguf_upstream_name(const char *arch, const char *name, char *out, size_t size) {
  int gpt2 = strcmp(arch, "gpt2") == 0;
  const name_row *top = gpt2 ? k_gpt2_top : k_llama_top, *blk = gpt2 ? k_gpt2_blk : k_llama_blk;
  size_t ntop = gpt2 ? sizeof k_gpt2_top / sizeof *k_gpt2_top : sizeof k_llama_top / sizeof *k_llama_top;
  size_t nblk = gpt2 ? sizeof k_gpt2_blk / sizeof *k_gpt2_blk : sizeof k_llama_blk / sizeof *k_llama_blk;
  size_t sl = stem_len(name);
  const char *suffix = name + sl;
  if (strncmp(name, "blk.", 4) == 0) {
    char *end;
    unsigned long layer = strtoul(name + 4, &end, 10);
    if (end != name + 4 && *end == '.' && end < name + sl) {
      const char *rest = end + 1;
      const char *up = lookup(blk, nblk, rest, (size_t)(name + sl - rest));
      if (up) {
        snprintf(out, size, "%s.%lu.%s%s", gpt2 ? "transformer.h" : "model.layers", layer, up, suffix);
        return;
      }
    }
  } else {
    const char *up = lookup(top, ntop, name, sl);
    if (up) { snprintf(out, size, "%s%s", up, suffix); return; }
  }
  snprintf(out, size, "%s", name);
}

int ls__gguf_rope_permuted(const char *arch, const char *name) {
  if (strcmp(arch, "llama") != 0 || strncmp(name, "blk.", 4) != 0) return 0;
  const char *dot = strchr(name + 4, '.');
  return dot && (strcmp(dot, ".attn_q.weight") == 0 || strcmp(dot, ".attn_k.weight") == 0);
}
