/* gguf_names.h (internal to core/tensor): llama.cpp tensor names -> upstream (Hugging Face
 * state_dict) names, per GGUF general.architecture (llama family, phi3, gpt2, bert; mixtral
 * files are architecture "llama" with experts). */
#ifndef LS_TENSOR_GGUF_NAMES_H
#define LS_TENSOR_GGUF_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Writes the upstream name of llama.cpp tensor `name` into out (the name itself when no
 * mapping is known). */
void ls__gguf_upstream_name(const char *arch, const char *name, char *out, size_t size);
/* 1 if `name` is a merged mixtral experts tensor ("blk.N.ffn_{gate,down,up}_exps.weight" of
 * architecture "llama"): ne = [in, out, n_expert], one upstream tensor per expert. */
int ls__gguf_merged_experts(const char *arch, const char *name);
/* Upstream name of expert `expert` of merged tensor `name`:
 * model.layers.N.block_sparse_moe.experts.E.w1.weight (gate w1, down w2, up w3). */
void ls__gguf_expert_name(const char *arch, const char *name, int64_t expert, char *out, size_t size);
/* 1 if llama.cpp's converter permuted this tensor's rows for interleaved rotary embeddings
 * (attn_q / attn_k weights of the "llama" architecture, which also covers mistral and
 * mixtral files; phi3, qwen2, gemma and bert are not permuted). */
int ls__gguf_rope_permuted(const char *arch, const char *name);

#endif
