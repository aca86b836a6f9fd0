/* source.h: what a front end names to run a model (a config.json, or a Hugging Face hub
 * directory holding config.json and its weights), resolved once in the core so `layerscope
 * run`, `debug`, `profile` and the debug adapter's launch find the same files and fail with
 * the same messages.
 *
 * A directory is one unit: its config.json, and its weights found in this order:
 * model.safetensors.index.json (sharded), model.safetensors, else the one *.safetensors,
 * *.safetensors.index.json or *.gguf file it holds. A directory without weights is an error
 * unless seeded random weights are asked for explicitly (random_weights); weights named
 * explicitly win over the directory's. A config file without weights runs on seeded random
 * weights, as before, and the description says so. A .gguf file named alone (no config.json)
 * is both: its metadata gives the config (llama and gpt2) and it holds the weights and the
 * tokenizer. */
#ifndef LS_ENGINE_SOURCE_H
#define LS_ENGINE_SOURCE_H

#include <stddef.h>

#include "core/base/diag.h"
#include "core/model/model.h"

typedef struct ls_engine_src {
  char config[4096];   /* the config.json to load */
  char weights[4096];  /* the weights to bind; "" = seeded random */
  const char *found;   /* how the weights were chosen: "given", "model.safetensors.index.json",
                          "model.safetensors", "the only tensor file", "random" (static) */
  int dir;             /* 1: the path was a model directory */
  int gguf;            /* 1: a .gguf file named alone: config is that file, its config.json
                          made from its metadata (ls_engine_src_model_load) */
} ls_engine_src;

/* path: a config file or a model directory; weights: named explicitly or NULL;
 * random_weights: 1 to run on seeded random weights (an error together with weights).
 * LS_ENOENT (no config.json, no weights in a directory: the message says how to go on),
 * LS_EINVAL (several candidate weight files, random_weights with weights). */
int ls_engine_src_resolve(const char *path, const char *weights, int random_weights, ls_engine_src *out,
                          ls_diag *d);
/* Loads the model the source names: its config.json, or the config a GGUF file's metadata
 * describes (general.architecture and <arch>.* keys; LS_EUNSUPPORTED for an architecture
 * other than llama and gpt2). *out as from ls_model_load_file. */
int ls_engine_src_model_load(const ls_engine_src *s, const ls_model_opts *mo, ls_model **out, ls_diag *d);
/* The config.json text a GGUF file's metadata describes (*json new, ls_free). */
int ls_engine_gguf_config(const char *path, char **json, size_t *len, ls_diag *d);

/* One line for the user: "weights DIR/model.safetensors (model.safetensors)" or "weights:
 * none, seeded random (seed 7)". */
void ls_engine_src_describe(const ls_engine_src *s, unsigned long long seed, char *buf, size_t cap);

#endif
