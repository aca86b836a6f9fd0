/* vars.h: the variablesReference table of one stop (vars.c). A reference names a scope group
 * of the stopped event, a tensor (with stats, histogram and slices as children), the
 * statistics of a tensor, or its histogram; references end at every resume, as DAP asks.
 *
 * Ownership: the table keeps the tensors it is given by reference (the stop's memory, valid
 * until resume) and takes the buffers passed as `owned` (freed at reset). */
#ifndef LS_DAP_VARS_H
#define LS_DAP_VARS_H

#include <jansson.h>
#include <stdint.h>

#include "core/debug/expr.h"
#include "dap/debugger.h"

dap_vars *dap_vars_new(void);
void dap_vars_free(dap_vars *v);
void dap_vars_reset(dap_vars *v);
/* A reference for a scope group (ls_dbg_group: inputs, outputs, parameters, intermediates,
 * gradients). */
int dap_vars_scope(dap_vars *v, int group);
/* The same for the scope of a given stopped thread (0: the reported stop's). The group
 * DAP_SCOPE_STEP is the Step scope of a program: step, pass, thread. */
#define DAP_SCOPE_STEP LS_DBG_G_COUNT
/* The KV cache scope of a generation run's attention stop: the layer, the cached tokens, and
 * the layer's keys and values after this pass as [T, n_kv, head_dim] tensors. The engine
 * hands them over as the intermediates cache_keys / cache_values [1, T, n_kv * head_dim],
 * which this scope shows instead of Intermediates. */
#define DAP_SCOPE_KV (LS_DBG_G_COUNT + 1)
/* 1 when an intermediate of that name is part of the KV cache (shown in its own scope). */
int dap_vars_is_kv(const char *name);
/* The number of the event's intermediates that are part of the KV cache. */
int dap_vars_kv_count(const ls_dbg_event *ev);
int dap_vars_scope_on(dap_vars *v, int group, int thread);
/* A reference for a tensor; when owned != NULL the table takes the buffer (freed at reset). */
int dap_vars_tensor(dap_vars *v, const ls_dbg_tensor *t, const char *name, void *owned);
/* The `variables` response body for a reference; NULL with *why when unknown. */
json_t *dap_vars_list(dap_dbg *x, int ref, json_t *args, const char **why);
/* The raw bytes of a tensor reference (for readMemory: memoryReference "tensor:REF"). */
int dap_vars_memory(dap_dbg *x, int ref, const void **data, uint64_t *nbytes);
/* The tensor behind a tensor reference (borrowed, valid until the run resumes) and its
 * display name; LS_ENOENT for an unknown reference or one that is not a tensor. */
int dap_vars_tensor_get(dap_vars *v, int ref, ls_dbg_tensor *out, const char **name);
/* One-line value of a tensor with the stop's cached statistics. */
void dap_vars_tensor_line(dap_dbg *x, const ls_dbg_tensor *t, char *buf, size_t cap);

#endif
