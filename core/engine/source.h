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
 * weights, as before, and the description says so. */
#ifndef LS_ENGINE_SOURCE_H
#define LS_ENGINE_SOURCE_H

#include <stddef.h>

#include "core/base/diag.h"

typedef struct ls_engine_src {
  char config[4096];   /* the config.json to load */
  char weights[4096];  /* the weights to bind; "" = seeded random */
  const char *found;   /* how the weights were chosen: "given", "model.safetensors.index.json",
                          "model.safetensors", "the only tensor file", "random" (static) */
  int dir;             /* 1: the path was a model directory */
} ls_engine_src;

/* path: a config file or a model directory; weights: named explicitly or NULL;
 * random_weights: 1 to run on seeded random weights (an error together with weights).
 * LS_ENOENT (no config.json, no weights in a directory: the message says how to go on),
 * LS_EINVAL (several candidate weight files, random_weights with weights). */
int ls_engine_src_resolve(const char *path, const char *weights, int random_weights, ls_engine_src *out,
                          ls_diag *d);
/* One line for the user: "weights DIR/model.safetensors (model.safetensors)" or "weights:
 * none, seeded random (seed 7)". */
void ls_engine_src_describe(const ls_engine_src *s, unsigned long long seed, char *buf, size_t cap);

#endif
