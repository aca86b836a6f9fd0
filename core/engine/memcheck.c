/* memcheck.c: memory before work. Before the engine allocates random weights or reads a
 * weight file, it compares the bytes the weights need with what the machine can give
 * (MemAvailable of /proc/meminfo) and refuses with the figures and the ways out, instead of
 * dying half-way through a 140 GB allocation or thrashing the page cache: the first N layers
 * (`--layers N`, launch "layers", with the N that fits), random weights in bf16, a smaller
 * config. ls_engine_open runs it first thing; ls_engine_check too, so a debug adapter's
 * launch refuses an editor's F5 on a 7B config as an error response. */
#include <stdio.h>
#include <string.h>

#include "core/base/errors.h"
#include "core/engine/engine_int.h"
#include "core/tensor/tensor.h"

/* MemAvailable in bytes; 0 when unknown (no /proc, an old kernel): then nothing is refused. */
static uint64_t mem_available(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  unsigned long long kib = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
  fclose(f);
  return (uint64_t)kib * 1024u;
}

static double gib(uint64_t b) { return (double)b / (1024.0 * 1024.0 * 1024.0); }

/* Bytes of model tensor i: stored in tf, or generated in the config's torch_dtype. */
static uint64_t tensor_bytes(const ls_model *m, size_t i, const ls_tfile *tf, int esz) {
  const ls_model_tensor *t = &m->tensors[i];
  if (t->tied_to >= 0 && (!tf || !ls__stored(m, tf, t->name))) return 0; /* shares its target */
  if (!tf) return (uint64_t)t->numel * (uint64_t)esz;
  const ls_tensor *v = ls__stored(m, tf, t->name);
  return v ? v->nbytes : 0;
}

int ls__engine_mem_check(const ls_model *m, const void *tfile, ls_diag *d) {
  const ls_tfile *tf = tfile;
  const char *td = m->sem.torch_dtype ? m->sem.torch_dtype : "float32";
  int esz = strcmp(td, "bfloat16") == 0 || strcmp(td, "float16") == 0 ? 2 : 4;
  uint64_t need = 0, layered = 0;
  for (size_t i = 0; i < m->n_tensors; i++) {
    uint64_t b = tensor_bytes(m, i, tf, esz);
    need += b;
    if (m->modules[m->tensors[i].module].layer >= 0) layered += b;
  }
  uint64_t avail = mem_available();
  if (!avail || need <= avail) return LS_OK;
  int64_t L = m->sem.n_layers > 0 ? m->sem.n_layers : 1;
  uint64_t per_layer = layered / (uint64_t)L, rest = need - layered;
  char layers[160] = "";
  if (per_layer && rest < avail && (avail - rest) / per_layer >= 1)
    snprintf(layers, sizeof layers, "--layers N (launch: \"layers\": N) to keep the first N of the %lld layers "
             "(%.2f GiB each; N <= %llu fits), ", (long long)L, gib(per_layer),
             (unsigned long long)((avail - rest) / per_layer));
  else
    snprintf(layers, sizeof layers, "--layers N does not help here (the embeddings and head alone need %.2f GiB), ",
             gib(rest));
  char bf16[160] = "";
  if (!tf && esz == 4)
    snprintf(bf16, sizeof bf16, "random weights in bf16 (\"torch_dtype\": \"bfloat16\" in the config: %.2f GiB), ",
             gib(need / 2));
  return ls_diag_set(d, LS_ENOMEM,
                     "the %s need %.2f GiB (%.2f B parameters) and this machine has %.2f GiB available "
                     "(MemAvailable in /proc/meminfo); refusing before allocating anything. Ways out: %s%sor a "
                     "smaller config",
                     tf ? "weights to read" : "random weights", gib(need), (double)m->params / 1e9, gib(avail), layers,
                     bf16);
}
