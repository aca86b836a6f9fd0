/* gguf_names.h (internal to core/tensor): llama.cpp tensor names -> upstream (Hugging Face
 * state_dict) names, per GGUF general.architecture. */
#ifndef LS_TENSOR_GGUF_NAMES_H
#define LS_TENSOR_GGUF_NAMES_H

#include <stddef.h>

/* Writes the upstream name of llama.cpp tensor `name` into out (the name itself when no
 * mapping is known). */
void ls__gguf_upstream_name(const char *arch, const char *name, char *out, size_t size);
/* 1 if llama.cpp's converter permuted this tensor's rows for interleaved rotary embeddings
 * (attn_q / attn_k weights of the "llama" architecture, which also covers mistral and
 * mixtral files). */
int ls__gguf_rope_permuted(const char *arch, const char *name);

#endif
