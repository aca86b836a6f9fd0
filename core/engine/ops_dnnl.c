/* ops_dnnl.c: bf16 matrix products through oneDNN's matmul primitive (see ops_dnnl.h). Each
 * pool worker owns a ls_dnnl_worker: a CPU engine, a stream and a small cache of primitives
 * keyed by shape, with their memory objects, whose data handles are set per call. Creating
 * a primitive descriptor walks oneDNN's implementation list (tens of microseconds), so a
 * forward pass, which repeats a handful of shapes, creates each once. */
#include "core/engine/ops_dnnl.h"

#include <dlfcn.h>
#include <dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/engine/cpu.h"
#include "core/engine/ops_bf16.h"

/* Each worker runs its calls on one thread, the pool being the parallelism. Debian's oneDNN
 * threads with OpenMP (libgomp, loaded as its dependency); omp_set_num_threads is looked up
 * rather than linked, so a oneDNN built on another runtime simply skips it. */
static void one_thread(void) {
  static void (*set)(int);
  static int looked;
  if (!looked) { /* benign race: every thread finds the same symbol */
    *(void **)&set = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    looked = 1;
  }
  if (set) set(1);
}

#define DNNL_CACHE 48 /* primitives per worker: a model has a few dozen product shapes */

typedef struct dnnl_key {
  int64_t M, K, cnt, ldw, ldy;
  int nk, bias;
} dnnl_key;

typedef struct dnnl_entry {
  dnnl_key key;
  dnnl_primitive_t prim;
  dnnl_memory_t src, wei, dst, bia; /* bia NULL without bias */
} dnnl_entry;

struct ls_dnnl_worker {
  dnnl_engine_t eng;
  dnnl_stream_t stream;
  dnnl_entry e[DNNL_CACHE];
  int n, next; /* entries in use; the next one to replace when full */
};

static void entry_clear(dnnl_entry *e) {
  if (e->prim) dnnl_primitive_destroy(e->prim);
  if (e->src) dnnl_memory_destroy(e->src);
  if (e->wei) dnnl_memory_destroy(e->wei);
  if (e->dst) dnnl_memory_destroy(e->dst);
  if (e->bia) dnnl_memory_destroy(e->bia);
  memset(e, 0, sizeof *e);
}

void ls_dnnl_worker_free(ls_dnnl_worker *w) {
  if (!w) return;
  for (int i = 0; i < w->n; i++) entry_clear(&w->e[i]);
  if (w->stream) dnnl_stream_destroy(w->stream);
  if (w->eng) dnnl_engine_destroy(w->eng);
  ls_free(w);
}

static ls_dnnl_worker *worker_new(void) {
  ls_dnnl_worker *w = ls_calloc(1, sizeof *w);
  if (!w) return NULL;
  if (dnnl_engine_create(&w->eng, dnnl_cpu, 0) != dnnl_success ||
      dnnl_stream_create(&w->stream, w->eng, dnnl_stream_default_flags) != dnnl_success) {
    ls_dnnl_worker_free(w);
    return NULL;
  }
  return w;
}

/* The descriptors of a product of key k: src [M, K] bf16, weights [K, cnt] bf16 (strides
 * {1, ldw} for Linear rows, {ldw, 1} for Conv1D), dst [M, cnt] f32 rows ldy apart, bias
 * [1, cnt] f32. */
static int make_pd(dnnl_engine_t eng, const dnnl_key *k, dnnl_primitive_desc_t *pd,
                   dnnl_memory_desc_t *src, dnnl_memory_desc_t *wei, dnnl_memory_desc_t *dst,
                   dnnl_memory_desc_t *bia) {
  dnnl_dims_t sd = {k->M, k->K}, ss = {k->K, 1};
  dnnl_dims_t wd = {k->K, k->cnt}, ws = {k->nk ? 1 : k->ldw, k->nk ? k->ldw : 1};
  dnnl_dims_t dd = {k->M, k->cnt}, ds = {k->ldy, 1};
  dnnl_dims_t bd = {1, k->cnt}, bs = {k->cnt, 1};
  if (dnnl_memory_desc_init_by_strides(src, 2, sd, dnnl_bf16, ss) != dnnl_success ||
      dnnl_memory_desc_init_by_strides(wei, 2, wd, dnnl_bf16, ws) != dnnl_success ||
      dnnl_memory_desc_init_by_strides(dst, 2, dd, dnnl_f32, ds) != dnnl_success ||
      (k->bias && dnnl_memory_desc_init_by_strides(bia, 2, bd, dnnl_f32, bs) != dnnl_success))
    return LS_EIO;
  dnnl_matmul_desc_t md;
  if (dnnl_matmul_desc_init(&md, src, wei, k->bias ? bia : NULL, dst) != dnnl_success) return LS_EIO;
  return dnnl_primitive_desc_create(pd, &md, NULL, eng, NULL) == dnnl_success ? LS_OK : LS_EIO;
}

static dnnl_entry *entry_get(ls_dnnl_worker *w, const dnnl_key *k) {
  for (int i = 0; i < w->n; i++)
    if (!memcmp(&w->e[i].key, k, sizeof *k)) return &w->e[i];
  dnnl_entry *e;
  if (w->n < DNNL_CACHE) {
    e = &w->e[w->n++];
  } else {
    e = &w->e[w->next];
    w->next = (w->next + 1) % DNNL_CACHE;
    entry_clear(e);
  }
  dnnl_memory_desc_t src, wei, dst, bia;
  dnnl_primitive_desc_t pd = NULL;
  int ok = make_pd(w->eng, k, &pd, &src, &wei, &dst, &bia) == LS_OK &&
           dnnl_primitive_create(&e->prim, pd) == dnnl_success &&
           dnnl_memory_create(&e->src, &src, w->eng, DNNL_MEMORY_NONE) == dnnl_success &&
           dnnl_memory_create(&e->wei, &wei, w->eng, DNNL_MEMORY_NONE) == dnnl_success &&
           dnnl_memory_create(&e->dst, &dst, w->eng, DNNL_MEMORY_NONE) == dnnl_success &&
           (!k->bias || dnnl_memory_create(&e->bia, &bia, w->eng, DNNL_MEMORY_NONE) == dnnl_success);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (!ok) {
    entry_clear(e);
    if (e == &w->e[w->n - 1]) w->n--;
    return NULL;
  }
  e->key = *k;
  return e;
}

int ls_dnnl_gemm_bf16(ls_dnnl_worker **slot, const uint16_t *xb, int64_t M, int64_t K,
                      const uint16_t *w, int64_t ldw, int w_is_nk, int64_t cnt, float *y,
                      int64_t ldy, const float *bias) {
  if (!*slot && !(*slot = worker_new())) return LS_ENOMEM;
  ls_dnnl_worker *wk = *slot;
  one_thread(); /* per calling thread: worker 0 is whichever thread calls the pool */
  dnnl_key k;
  memset(&k, 0, sizeof k); /* compared bytewise: no stray padding */
  k.M = M, k.K = K, k.cnt = cnt, k.ldw = ldw, k.ldy = ldy, k.nk = w_is_nk, k.bias = bias != NULL;
  dnnl_entry *e = entry_get(wk, &k);
  if (!e) return LS_EIO;
  dnnl_memory_set_data_handle(e->src, (void *)xb);
  dnnl_memory_set_data_handle(e->wei, (void *)w);
  dnnl_memory_set_data_handle(e->dst, y);
  if (e->bia) dnnl_memory_set_data_handle(e->bia, (void *)bias);
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->wei},
                             {DNNL_ARG_DST, e->dst}, {DNNL_ARG_BIAS, e->bia}};
  if (dnnl_primitive_execute(e->prim, wk->stream, e->bia ? 4 : 3, args) != dnnl_success ||
      dnnl_stream_wait(wk->stream) != dnnl_success)
    return LS_EIO;
  return LS_OK;
}

/* ---- which path: chosen once per process (a fact about the CPU and the environment) ---- */

static pthread_once_t path_once = PTHREAD_ONCE_INIT;
static ls_bf16_path path_chosen;
static char impl_name[64];
static char path_name[128];

/* AMX tile data is off for a Linux process until it asks (arch_prctl ARCH_REQ_XCOMP_PERM,
 * kernel 5.16+); PyTorch asks in at::cpu::init_amx. Ask once, before oneDNN's first kernel;
 * when the CPU has AMX and Linux refuses, cap oneDNN at AVX-512 BF16 so that it never
 * emits a tile instruction (which would then fault). Returns a note for the path name. */
static const char *amx_init(void) {
#if defined(__x86_64__) && defined(__linux__)
  ls_cpu_leaf7 l;
  (void)ls_cpu_avx512(&l);
  if (!(l.edx & LS_CPU_EDX_AMX_TILE)) return "";
  enum { GET_PERM = 0x1022, REQ_PERM = 0x1023, XTILEDATA = 18 };
  unsigned long mask = 0;
  if (syscall(SYS_arch_prctl, REQ_PERM, XTILEDATA) == 0 &&
      syscall(SYS_arch_prctl, GET_PERM, &mask) == 0 && (mask & (1ul << XTILEDATA)))
    return "";
  dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx512_core_bf16);
  return " (Linux refused AMX tile data: AVX-512 kernels)";
#else
  return "";
#endif
}

static void path_init(void) {
  const char *amx_note = amx_init();
  /* the implementation oneDNN picks for a representative product on this CPU */
  dnnl_engine_t eng;
  if (dnnl_engine_create(&eng, dnnl_cpu, 0) == dnnl_success) {
    dnnl_key k = {.M = 64, .K = 256, .cnt = 64, .ldw = 256, .ldy = 64, .nk = 1};
    dnnl_memory_desc_t src, wei, dst, bia;
    dnnl_primitive_desc_t pd;
    if (make_pd(eng, &k, &pd, &src, &wei, &dst, &bia) == LS_OK) {
      const char *s = NULL;
      if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) == dnnl_success && s)
        snprintf(impl_name, sizeof impl_name, "%s", s);
      dnnl_primitive_desc_destroy(pd);
    }
    dnnl_engine_destroy(eng);
  }
  int native = strstr(impl_name, "amx") || strstr(impl_name, "bf16");
  const char *env = getenv("LAYERSCOPE_MATMUL");
  if (!ls_ops_bf16_supported()) path_chosen = LS_BF16_PATH_NONE;
  else if (env && !strcmp(env, "kernel")) path_chosen = LS_BF16_PATH_KERNEL;
  else if (env && !strcmp(env, "dnnl")) path_chosen = impl_name[0] ? LS_BF16_PATH_DNNL : LS_BF16_PATH_KERNEL;
  else path_chosen = native ? LS_BF16_PATH_DNNL : LS_BF16_PATH_KERNEL;
  if (path_chosen == LS_BF16_PATH_DNNL)
    snprintf(path_name, sizeof path_name, "onednn %s%s", impl_name, amx_note);
  else snprintf(path_name, sizeof path_name, "%s",
                path_chosen == LS_BF16_PATH_KERNEL ? "kernel avx512_bf16" : "fp32");
}

ls_bf16_path ls_ops_bf16_path(void) {
  pthread_once(&path_once, path_init);
  return path_chosen;
}

const char *ls_ops_bf16_path_name(void) {
  pthread_once(&path_once, path_init);
  return path_name;
}

const char *ls_ops_dnnl_impl(void) {
  pthread_once(&path_once, path_init);
  return impl_name;
}
