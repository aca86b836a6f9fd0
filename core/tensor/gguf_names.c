/* gguf_names.c: the table from llama.cpp tensor names (gguf-py's tensor_mapping.py, in
 * reverse) to upstream state_dict names. Block tensors are "blk.N.<suffix>"; the table maps
 * the suffix, and N is kept. One naming family per general.architecture group:
 *   - llama-style decoders (llama, mistral, mixtral, qwen2, gemma, ...: "model." prefix),
 *     including mixtral's experts (per-expert "blk.N.ffn_gate.E" of old files, and the
 *     merged "blk.N.ffn_gate_exps" 3-D tensors that gguf.c cuts into one view per expert);
 *   - phi3: the llama names, with fused attn_qkv -> qkv_proj and ffn_up -> gate_up_proj;
 *   - gpt2 ("transformer." prefix);
 *   - bert ("bert." prefix, encoder.layer.N.attention/intermediate/output). */
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
/* phi3 keeps its fused projections: these rows take precedence over the llama ones. */
static const name_row k_phi3_blk[] = {
  {"attn_qkv", "self_attn.qkv_proj"}, {"ffn_up", "mlp.gate_up_proj"},
};
static const name_row k_gpt2_top[] = {
  {"token_embd", "transformer.wte"}, {"position_embd", "transformer.wpe"},
  {"output_norm", "transformer.ln_f"}, {"output", "lm_head"},
};
static const name_row k_gpt2_blk[] = {
  {"attn_norm", "ln_1"}, {"attn_qkv", "attn.c_attn"}, {"attn_output", "attn.c_proj"},
  {"ffn_norm", "ln_2"}, {"ffn_up", "mlp.c_fc"}, {"ffn_down", "mlp.c_proj"},
};
static const name_row k_bert_top[] = {
  {"token_embd", "bert.embeddings.word_embeddings"}, {"position_embd", "bert.embeddings.position_embeddings"},
  {"token_types", "bert.embeddings.token_type_embeddings"}, {"token_embd_norm", "bert.embeddings.LayerNorm"},
};
static const name_row k_bert_blk[] = {
  {"attn_q", "attention.self.query"}, {"attn_k", "attention.self.key"}, {"attn_v", "attention.self.value"},
  {"attn_output", "attention.output.dense"}, {"attn_output_norm", "attention.output.LayerNorm"},
  {"ffn_up", "intermediate.dense"}, {"ffn_down", "output.dense"}, {"layer_output_norm", "output.LayerNorm"},
};
/* Mixtral experts: llama.cpp's gate/down/up are the upstream w1/w2/w3. */
static const name_row k_expert_w[] = {{"ffn_gate", "w1"}, {"ffn_down", "w2"}, {"ffn_up", "w3"}};

#define NROWS(a) (sizeof(a) / sizeof *(a))

typedef struct family {
  const name_row *top, *blk, *blk_over; /* blk_over: consulted before blk (may be NULL) */
  size_t ntop, nblk, nover;
  const char *blk_prefix;
  int experts; /* llama-style mixtral expert names */
} family;

static family family_of(const char *arch) {
  if (strcmp(arch, "gpt2") == 0)
    return (family){k_gpt2_top, k_gpt2_blk, NULL, NROWS(k_gpt2_top), NROWS(k_gpt2_blk), 0, "transformer.h", 0};
  if (strcmp(arch, "bert") == 0)
    return (family){k_bert_top, k_bert_blk, NULL, NROWS(k_bert_top), NROWS(k_bert_blk), 0, "bert.encoder.layer", 0};
  if (strcmp(arch, "phi3") == 0)
    return (family){k_llama_top, k_llama_blk, k_phi3_blk, NROWS(k_llama_top), NROWS(k_llama_blk), NROWS(k_phi3_blk),
                    "model.layers", 0};
  return (family){k_llama_top, k_llama_blk, NULL, NROWS(k_llama_top), NROWS(k_llama_blk), 0, "model.layers", 1};
}

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

/* Parses "blk.N." at the start of name: the layer into *layer and a pointer past the dot;
 * NULL when name is not a block tensor. */
static const char *blk_rest(const char *name, unsigned long *layer) {
  if (strncmp(name, "blk.", 4) != 0) return NULL;
  char *end;
  *layer = strtoul(name + 4, &end, 10);
  return end != name + 4 && *end == '.' && name[4] >= '0' && name[4] <= '9' ? end + 1 : NULL;
}

/* Old mixtral files store one tensor per expert: "ffn_gate.E" (rest[0..len)). Writes the
 * upstream name and returns 1 when rest is one of those. */
static int old_expert_name(const family *fm, unsigned long layer, const char *rest, size_t len,
                           const char *suffix, char *out, size_t size) {
  const char *dot = memchr(rest, '.', len);
  if (!fm->experts || !dot || dot + 1 == rest + len) return 0;
  const char *w = lookup(k_expert_w, NROWS(k_expert_w), rest, (size_t)(dot - rest));
  for (const char *p = dot + 1; p < rest + len; p++)
    if (*p < '0' || *p > '9') return 0;
  if (!w) return 0;
  unsigned long e = strtoul(dot + 1, NULL, 10);
  snprintf(out, size, "%s.%lu.block_sparse_moe.experts.%lu.%s%s", fm->blk_prefix, layer, e, w, suffix);
  return 1;
}

void ls__gguf_upstream_name(const char *arch, const char *name, char *out, size_t size) {
  family fm = family_of(arch);
  size_t sl = stem_len(name);
  const char *suffix = name + sl;
  unsigned long layer;
  const char *rest = blk_rest(name, &layer);
  if (rest) {
    if (rest < name + sl) {
      size_t len = (size_t)(name + sl - rest);
      const char *up = fm.blk_over ? lookup(fm.blk_over, fm.nover, rest, len) : NULL;
      if (!up) up = lookup(fm.blk, fm.nblk, rest, len);
      if (up) {
        snprintf(out, size, "%s.%lu.%s%s", fm.blk_prefix, layer, up, suffix);
        return;
      }
      if (old_expert_name(&fm, layer, rest, len, suffix, out, size)) return;
    }
  } else {
    const char *up = lookup(fm.top, fm.ntop, name, sl);
    if (up) { snprintf(out, size, "%s%s", up, suffix); return; }
  }
  snprintf(out, size, "%s", name);
}

/* The w1/w2/w3 of a merged "blk.N.ffn_{gate,down,up}_exps.weight", or NULL. */
static const char *merged_w(const char *arch, const char *name, unsigned long *layer) {
  if (strcmp(arch, "llama") != 0) return NULL;
  const char *rest = blk_rest(name, layer);
  if (!rest) return NULL;
  const char *tail = strstr(rest, "_exps.weight");
  if (!tail || strcmp(tail, "_exps.weight") != 0) return NULL;
  return lookup(k_expert_w, NROWS(k_expert_w), rest, (size_t)(tail - rest));
}

int ls__gguf_merged_experts(const char *arch, const char *name) {
  unsigned long layer;
  return merged_w(arch, name, &layer) != NULL;
}

void ls__gguf_expert_name(const char *arch, const char *name, int64_t expert, char *out, size_t size) {
  unsigned long layer = 0;
  const char *w = merged_w(arch, name, &layer);
  snprintf(out, size, "model.layers.%lu.block_sparse_moe.experts.%lld.%s.weight", layer, (long long)expert,
           w ? w : "?");
}

int ls__gguf_rope_permuted(const char *arch, const char *name) {
  if (strcmp(arch, "llama") != 0 || strncmp(name, "blk.", 4) != 0) return 0;
  const char *dot = strchr(name + 4, '.');
  return dot && (strcmp(dot, ".attn_q.weight") == 0 || strcmp(dot, ".attn_k.weight") == 0);
}
