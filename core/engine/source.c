/* source.c: resolving a config file or a hub model directory to a config and weights
 * (source.h). Only stat and readdir: nothing is opened or read here. */
#include "core/engine/source.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/errors.h"

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

static int is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int set_path(char *dst, size_t cap, const char *dir, const char *name, ls_diag *d) {
  if ((size_t)snprintf(dst, cap, "%s/%s", dir, name) >= cap)
    return ls_diag_set(d, LS_ELIMIT, "%s/%s: path too long", dir, name);
  return LS_OK;
}

/* The directory's weights: the hub's names first, else its one tensor file. */
static int find_weights(const char *dir, ls_engine_src *out, ls_diag *d) {
  static const char *const hub[] = {"model.safetensors.index.json", "model.safetensors"};
  for (size_t i = 0; i < sizeof hub / sizeof hub[0]; i++) {
    int rc = set_path(out->weights, sizeof out->weights, dir, hub[i], d);
    if (rc) return rc;
    if (is_file(out->weights)) {
      out->found = hub[i];
      return LS_OK;
    }
  }
  out->weights[0] = 0;
  DIR *dh = opendir(dir);
  if (!dh) return ls_diag_set(d, LS_EIO, "%s: cannot read the directory: %s", dir, strerror(errno));
  int n = 0;
  char first[256] = "", second[256] = "";
  for (struct dirent *e; (e = readdir(dh));) {
    if (!ends_with(e->d_name, ".safetensors") && !ends_with(e->d_name, ".gguf") &&
        !ends_with(e->d_name, ".safetensors.index.json"))
      continue;
    snprintf(n == 0 ? first : second, sizeof first, "%s", e->d_name);
    n++;
  }
  closedir(dh);
  if (n > 1)
    return ls_diag_set(d, LS_EINVAL, "%s: %d tensor files (%s, %s, ...) and no model.safetensors.index.json "
                       "to say which belong together: name one with --weights (launch: \"weights\")", dir, n,
                       first, second);
  if (n == 0)
    return ls_diag_set(d, LS_ENOENT, "%s: config.json but no weights (model.safetensors, "
                       "model.safetensors.index.json, *.gguf): name them with --weights (launch: \"weights\"), "
                       "or run on seeded random weights with --random-weights (launch: \"randomWeights\": true)",
                       dir);
  out->found = "the only tensor file";
  return set_path(out->weights, sizeof out->weights, dir, first, d);
}

int ls_engine_src_resolve(const char *path, const char *weights, int random_weights, ls_engine_src *out,
                          ls_diag *d) {
  memset(out, 0, sizeof *out);
  if (!path) return ls_diag_set(d, LS_EINVAL, "no config or model directory");
  if (weights && random_weights)
    return ls_diag_set(d, LS_EINVAL, "weights %s and random weights: choose one", weights);
  struct stat st;
  out->dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  if (!out->dir) {
    if ((size_t)snprintf(out->config, sizeof out->config, "%s", path) >= sizeof out->config)
      return ls_diag_set(d, LS_ELIMIT, "%s: path too long", path);
    if (ends_with(path, ".gguf") && !weights && !random_weights) { /* a GGUF file alone */
      out->gguf = 1;
      snprintf(out->weights, sizeof out->weights, "%s", path);
      out->found = "the GGUF file itself";
      return LS_OK;
    }
  } else {
    int rc = set_path(out->config, sizeof out->config, path, "config.json", d);
    if (rc) return rc;
    if (!is_file(out->config))
      return ls_diag_set(d, LS_ENOENT, "%s: a directory without config.json (a hub model directory holds "
                         "config.json and its weights)", path);
  }
  if (weights) {
    if ((size_t)snprintf(out->weights, sizeof out->weights, "%s", weights) >= sizeof out->weights)
      return ls_diag_set(d, LS_ELIMIT, "%s: path too long", weights);
    out->found = "given";
    return LS_OK;
  }
  if (random_weights || !out->dir) {
    out->found = "random";
    return LS_OK;
  }
  return find_weights(path, out, d);
}

void ls_engine_src_describe(const ls_engine_src *s, unsigned long long seed, char *buf, size_t cap) {
  if (!s->weights[0])
    snprintf(buf, cap, "weights: none, seeded random (seed %llu)", seed);
  else if (s->gguf)
    snprintf(buf, cap, "weights: %s (a GGUF file alone: the config from its metadata)", s->weights);
  else if (strcmp(s->found, "given") == 0)
    snprintf(buf, cap, "weights: %s", s->weights);
  else
    snprintf(buf, cap, "weights: %s (%s of the model directory)", s->weights, s->found);
}
