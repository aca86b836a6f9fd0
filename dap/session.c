/* session.c: the debug session state machine and launch-argument validation (see
 * session.h). Validation happens here, before any engine exists, so a wrong launch.json is
 * answered with one clear error naming the argument instead of failing deep in a run. */
#include "dap/session.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/jansson_kind.h"
#include "core/base/text.h"
#include "core/engine/forward.h" /* ls_engine_compute_parse */

static const char *const k_state_names[] = {"new", "initialized", "configuring", "running",
                                            "stopped", "terminated"};

const char *dap_state_name(dap_state st) {
  return (unsigned)st < sizeof k_state_names / sizeof k_state_names[0] ? k_state_names[st] : "?";
}

int dap_session_transition(dap_session *ss, dap_state to, ls_diag *d) {
  dap_state from = ss->state;
  int ok;
  switch (to) {
  case DAP_S_INITIALIZED: ok = from == DAP_S_NEW; break;
  case DAP_S_CONFIGURING: ok = from == DAP_S_INITIALIZED; break;
  case DAP_S_RUNNING: ok = from == DAP_S_CONFIGURING || from == DAP_S_STOPPED; break;
  case DAP_S_STOPPED: ok = from == DAP_S_RUNNING; break;
  case DAP_S_TERMINATED: ok = from != DAP_S_NEW && from != DAP_S_TERMINATED; break;
  case DAP_S_NEW: default: ok = 0; break;
  }
  if (!ok)
    return ls_diag_set(d, LS_ESTATE, "not possible while the session is %s (wanted: %s)",
                       dap_state_name(from), dap_state_name(to));
  ss->state = to;
  return LS_OK;
}

static void strv_free(char **v, int n) {
  for (int i = 0; i < n; i++) ls_free(v[i]);
  ls_free(v);
}

void dap_launch_args_free(dap_launch_args *a) {
  ls_free(a->program);
  ls_free(a->module);
  strv_free(a->args, a->n_args);
  strv_free(a->env, a->n_env);
  ls_free(a->python);
  ls_free(a->cwd);
  ls_free(a->connect);
  ls_free(a->config);
  ls_free(a->weights);
  ls_free(a->tokens);
  ls_free(a->mask);
  ls_free(a->prompt);
  ls_free(a->tokenizer);
  ls_free(a->unknown);
  ls_free(a->record);
  memset(a, 0, sizeof *a);
}

/* Resolves `p` against base (may be NULL) into a new string. */
static char *resolve(const char *base, const char *p) {
  if (p[0] == '/' || !base) return ls_strdup(p);
  size_t a = strlen(base), b = strlen(p);
  char *out = ls_malloc(a + b + 2);
  if (!out) return NULL;
  memcpy(out, base, a);
  out[a] = '/';
  memcpy(out + a + 1, p, b + 1);
  return out;
}

/* Checks that args[key] is a string naming an existing readable path; dirs_ok allows a
 * directory. *out gets the resolved path (new). */
static int get_path(const json_t *args, const char *key, const char *cwd, int required,
                    int dirs_ok, char **out, ls_diag *d) {
  *out = NULL;
  json_t *v = json_object_get(args, key);
  if (!v || json_is_null(v)) {
    if (!required) return LS_OK;
    return ls_diag_set(d, LS_EINVAL, "launch: argument '%s' is required (the path of the model's config.json; "
                                     "or 'program' to debug your own PyTorch script)", key);
  }
  if (!json_is_string(v) || json_string_length(v) == 0)
    return ls_diag_set(d, LS_EINVAL, "launch: argument '%s' must be a non-empty string path, got %s", key,
                       json_is_string(v) ? "an empty string" : ls_jansson_kind(v));
  if (strlen(json_string_value(v)) != json_string_length(v))
    return ls_diag_set(d, LS_EINVAL, "launch: argument '%s' contains a NUL character", key);
  char *path = resolve(cwd, json_string_value(v));
  if (!path) return LS_ENOMEM;
  struct stat st;
  if (stat(path, &st) != 0) {
    int e = errno;
    ls_diag_set(d, LS_EINVAL, "launch: %s file '%s' cannot be opened: %s", key, path, strerror(e));
    ls_free(path);
    return LS_EINVAL;
  }
  if (!S_ISREG(st.st_mode) && !(dirs_ok && S_ISDIR(st.st_mode))) {
    ls_diag_set(d, LS_EINVAL, "launch: %s '%s' is not a regular file%s", key, path, dirs_ok ? " or a directory" : "");
    ls_free(path);
    return LS_EINVAL;
  }
  if (access(path, R_OK) != 0) {
    int e = errno;
    ls_diag_set(d, LS_EINVAL, "launch: %s file '%s' is not readable: %s", key, path, strerror(e));
    ls_free(path);
    return LS_EINVAL;
  }
  *out = path;
  return LS_OK;
}

/* A path to write (it need not exist yet): a non-empty string, resolved against cwd. */
static int get_out_path(const json_t *args, const char *key, const char *cwd, char **out, ls_diag *d) {
  *out = NULL;
  json_t *v = json_object_get(args, key);
  if (!v || json_is_null(v)) return LS_OK;
  if (!json_is_string(v) || json_string_length(v) == 0)
    return ls_diag_set(d, LS_EINVAL, "launch: argument '%s' must be a non-empty string path, got %s", key,
                       json_is_string(v) ? "an empty string" : ls_jansson_kind(v));
  if (strlen(json_string_value(v)) != json_string_length(v))
    return ls_diag_set(d, LS_EINVAL, "launch: argument '%s' contains a NUL character", key);
  *out = resolve(cwd, json_string_value(v));
  return *out ? LS_OK : LS_ENOMEM;
}

static int get_bool(const json_t *args, const char *key, int *out, ls_diag *d) {
  json_t *v = json_object_get(args, key);
  if (!v) return LS_OK;
  if (!json_is_boolean(v))
    return ls_diag_set(d, LS_EINVAL, "launch: argument '%s' must be a boolean, got %s", key, ls_jansson_kind(v));
  *out = json_is_true(v);
  return LS_OK;
}

static int get_int(const json_t *args, const char *key, int64_t lo, int64_t hi, int *present,
                   int64_t *out, ls_diag *d) {
  json_t *v = json_object_get(args, key);
  *present = v != NULL;
  if (!v) return LS_OK;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return ls_diag_set(d, LS_EINVAL, "launch: argument '%s' must be an integer in [%lld, %lld], got %s", key,
                       (long long)lo, (long long)hi, json_is_integer(v) ? "one out of range" : ls_jansson_kind(v));
  *out = json_integer_value(v);
  return LS_OK;
}

/* One row of ids (key[i] or key[b][i]) into out[n]: integers in [0, hi]. */
static int get_id_row(const json_t *v, const char *key, long row, int64_t hi, int64_t *out, ls_diag *d) {
  char at[48] = "";
  if (row >= 0) snprintf(at, sizeof at, "[%ld]", row);
  for (size_t i = 0; i < json_array_size(v); i++) {
    json_t *t = json_array_get(v, i);
    if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > hi)
      return ls_diag_set(d, LS_EINVAL, "launch: argument '%s%s[%zu]' must be %s (integer in [0, %lld]), got %s", key,
                         at, i, hi == 1 ? "0 or 1" : "a token id", (long long)hi,
                         json_is_integer(t) ? "one out of range" : ls_jansson_kind(t));
    out[i] = json_integer_value(t);
  }
  return LS_OK;
}

/* "tokens" and "attentionMask" as arrays of arrays: a batch, packed by the core
 * (ls_fwd_batch_pack: right padding, a mask for rows of different lengths). */
static int get_batch(const json_t *v, const json_t *m, dap_launch_args *a, ls_diag *d) {
  size_t B = json_array_size(v), total = 0;
  if (m && (!json_is_array(m) || json_array_size(m) != B))
    return ls_diag_set(d, LS_EINVAL, "launch: argument 'attentionMask' must be an array of %zu rows like 'tokens', "
                       "got %s", B, json_is_array(m) ? "another number of rows" : ls_jansson_kind(m));
  int64_t **rows = ls_calloc(B, sizeof *rows), **mrows = ls_calloc(B, sizeof *mrows);
  int64_t *lens = ls_calloc(B, sizeof *lens), *mlens = ls_calloc(B, sizeof *mlens), *packed = NULL;
  int rc = !rows || !mrows || !lens || !mlens ? LS_ENOMEM : LS_OK;
  for (size_t b = 0; b < B && !rc; b++) {
    json_t *r = json_array_get(v, b), *mr = m ? json_array_get(m, b) : NULL;
    if (!json_is_array(r) || json_array_size(r) == 0) {
      rc = ls_diag_set(d, LS_EINVAL, "launch: argument 'tokens[%zu]' must be a non-empty array of token ids, got %s",
                       b, json_is_array(r) ? "an empty array" : ls_jansson_kind(r));
      break;
    }
    if (m && (!json_is_array(mr) || json_array_size(mr) != json_array_size(r))) {
      rc = ls_diag_set(d, LS_EINVAL, "launch: argument 'attentionMask[%zu]' must be an array of %zu values like "
                       "'tokens[%zu]', got %s", b, json_array_size(r), b,
                       json_is_array(mr) ? "another length" : ls_jansson_kind(mr));
      break;
    }
    total += json_array_size(r);
    if (total > DAP_MAX_TOKENS) {
      rc = ls_diag_set(d, LS_EINVAL, "launch: argument 'tokens' has more than %d ids in all", DAP_MAX_TOKENS);
      break;
    }
    lens[b] = mlens[b] = (int64_t)json_array_size(r);
    rows[b] = ls_calloc((size_t)lens[b], sizeof **rows);
    mrows[b] = m ? ls_calloc((size_t)lens[b], sizeof **mrows) : NULL;
    if (!rows[b] || (m && !mrows[b])) rc = LS_ENOMEM;
    if (!rc) rc = get_id_row(r, "tokens", (long)b, INT32_MAX, rows[b], d);
    if (!rc && m) rc = get_id_row(mr, "attentionMask", (long)b, 1, mrows[b], d);
  }
  int64_t L = 0;
  if (!rc)
    rc = ls_fwd_batch_pack((const int64_t *const *)rows, lens, (int64_t)B, m ? (const int64_t *const *)mrows : NULL,
                           mlens, &packed, &a->mask, &L, d);
  if (!rc && !(a->tokens = ls_calloc((size_t)((int64_t)B * L), sizeof *a->tokens))) rc = LS_ENOMEM;
  for (int64_t i = 0; !rc && i < (int64_t)B * L; i++) a->tokens[i] = (int32_t)packed[i];
  if (!rc) {
    a->n_tokens = (size_t)((int64_t)B * L);
    a->batch = (int64_t)B;
  }
  for (size_t b = 0; b < B; b++) {
    if (rows) ls_free(rows[b]);
    if (mrows) ls_free(mrows[b]);
  }
  ls_free(rows);
  ls_free(mrows);
  ls_free(lens);
  ls_free(mlens);
  ls_free(packed);
  if (rc == LS_ENOMEM) ls_diag_set(d, LS_ENOMEM, "out of memory");
  return rc;
}

static int get_tokens(const json_t *args, dap_launch_args *a, ls_diag *d) {
  json_t *v = json_object_get(args, "tokens"), *m = json_object_get(args, "attentionMask");
  a->batch = 1;
  if (!v) {
    if (m) return ls_diag_set(d, LS_EINVAL, "launch: argument 'attentionMask' needs 'tokens'");
    return LS_OK;
  }
  if (!json_is_array(v) || json_array_size(v) == 0)
    return ls_diag_set(d, LS_EINVAL, "launch: argument 'tokens' must be a non-empty array of token ids, got %s",
                       json_is_array(v) ? "an empty array" : ls_jansson_kind(v));
  if (json_is_array(json_array_get(v, 0))) return get_batch(v, m, a, d);
  size_t n = json_array_size(v);
  if (n > DAP_MAX_TOKENS)
    return ls_diag_set(d, LS_EINVAL, "launch: argument 'tokens' has %zu entries; at most %d are allowed", n, DAP_MAX_TOKENS);
  if (m && (!json_is_array(m) || json_array_size(m) != n))
    return ls_diag_set(d, LS_EINVAL, "launch: argument 'attentionMask' must be an array of %zu values like 'tokens', "
                       "got %s", n, json_is_array(m) ? "another length" : ls_jansson_kind(m));
  int64_t *ids = ls_calloc(n, sizeof *ids), *mk = m ? ls_calloc(n, sizeof *mk) : NULL;
  a->tokens = ls_calloc(n, sizeof *a->tokens);
  a->mask = m ? ls_calloc(n, sizeof *a->mask) : NULL;
  int rc = !ids || (m && !mk) || !a->tokens || (m && !a->mask) ? ls_diag_set(d, LS_ENOMEM, "out of memory") : LS_OK;
  if (!rc) rc = get_id_row(v, "tokens", -1, INT32_MAX, ids, d);
  if (!rc && m) rc = get_id_row(m, "attentionMask", -1, 1, mk, d);
  for (size_t i = 0; !rc && i < n; i++) {
    a->tokens[i] = (int32_t)ids[i];
    if (m) a->mask[i] = mk[i] != 0;
  }
  ls_free(ids);
  ls_free(mk);
  if (!rc) a->n_tokens = n;
  return rc;
}

/* The launch arguments of docs/protocol.md. */
static const char *const k_launch_keys[] = {"config", "model", "randomWeights", "layers", "generate", "weights", "tokens", "attentionMask", "randomTokens", "prompt", "tokenizer", "seed", "threads",
                                            "compute", "stopOnEntry", "showNativeFrames", "noDebug", "cwd",
                                            "program", "module", "args", "env", "python", "connect", "record"};
/* Keys clients put in every launch configuration: VS Code's common attributes (its own keys
 * start with "__": __sessionId, __configurationTarget, __workspaceFolder) and DAP's
 * __restart. Not layerscope's, not unknown either. */
static const char *const k_client_keys[] = {"type", "request", "name", "preLaunchTask", "postDebugTask",
                                            "internalConsoleOptions", "debugServer", "presentation",
                                            "serverReadyAction", "suppressMultipleSessionWarning",
                                            "windows", "osx", "linux"};

static int listed(const char *key, const char *const *keys, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(keys[i], key) == 0) return 1;
  return 0;
}

/* out->unknown: "unknown launch argument 'stopOnEnty' (ignored; known: config, ...)". */
static int find_unknown(const json_t *args, dap_launch_args *out) {
  char names[512] = "";
  size_t len = 0, count = 0;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)args, key, v) {
    if (strncmp(key, "__", 2) == 0 || listed(key, k_launch_keys, sizeof k_launch_keys / sizeof *k_launch_keys) ||
        listed(key, k_client_keys, sizeof k_client_keys / sizeof *k_client_keys))
      continue;
    if (len < sizeof names)
      len += (size_t)snprintf(names + len, sizeof names - len, "%s'%.*s'", count ? ", " : "", ls_utf8_clip(key, 60), key);
    count++;
  }
  if (!count) return LS_OK;
  if (len >= sizeof names) snprintf(names + sizeof names - 5, 5, "...");
  char known[256] = "";
  for (size_t i = 0, k = 0; i < sizeof k_launch_keys / sizeof *k_launch_keys; i++)
    k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "", k_launch_keys[i]);
  size_t cap = sizeof names + sizeof known + 64;
  if (!(out->unknown = ls_malloc(cap))) return LS_ENOMEM;
  snprintf(out->unknown, cap, "unknown launch argument%s %s (ignored; the known ones are %s)", count == 1 ? "" : "s",
           ls_utf8_repair(names), known);
  return LS_OK;
}

static int parse_object(const json_t *args, dap_launch_args *out, ls_diag *d);

int dap_attach_args_parse(const json_t *args, dap_launch_args *out, ls_diag *d) {
  memset(out, 0, sizeof *out);
  if (!json_is_string(json_object_get(args, "connect")))
    return ls_diag_set(d, LS_EINVAL, "attach: argument 'connect' is required (the socket path that "
                                     "layerscope_agent.listen() printed)");
  int rc = dap_launch_args_parse(args, out, d);
  if (rc == LS_OK) out->attach = 1;
  return rc;
}

/* A string argument (optional): *out new or NULL. */
static int get_str(const json_t *args, const char *key, char **out, ls_diag *d) {
  *out = NULL;
  json_t *v = json_object_get(args, key);
  if (!v || json_is_null(v)) return LS_OK;
  if (!json_is_string(v) || json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
    return ls_diag_set(d, LS_EINVAL, "launch: argument '%s' must be a non-empty string without NUL, got %s", key,
                       json_is_string(v) ? "another string" : ls_jansson_kind(v));
  return (*out = ls_strdup(json_string_value(v))) ? LS_OK : LS_ENOMEM;
}

/* The program target's arguments: program | module, args, env, python, cwd, connect. */
static int get_program(const json_t *args, const char *cwd, dap_launch_args *out, ls_diag *d) {
  int rc;
  json_t *jp = json_object_get(args, "program");
  if (jp && json_is_string(jp) && json_string_length(jp) && json_string_value(jp)[0] != '/' && cwd) {
    if (!(out->program = resolve(cwd, json_string_value(jp)))) return LS_ENOMEM;
  } else if ((rc = get_str(args, "program", &out->program, d))) {
    return rc;
  }
  if ((rc = get_str(args, "module", &out->module, d)) || (rc = get_str(args, "python", &out->python, d)) ||
      (rc = get_str(args, "connect", &out->connect, d)))
    return rc;
  if (cwd && !(out->cwd = ls_strdup(cwd))) return LS_ENOMEM;
  if (out->program && out->module)
    return ls_diag_set(d, LS_EINVAL, "launch: give either 'program' (a .py file) or 'module', not both");
  if (out->program) {
    struct stat st;
    if (stat(out->program, &st) != 0 || !S_ISREG(st.st_mode))
      return ls_diag_set(d, LS_EINVAL, "launch: program '%s' %s", out->program,
                         errno == ENOENT ? "does not exist" : "is not a regular file");
  }
  json_t *ja = json_object_get(args, "args");
  if (ja && !json_is_null(ja)) {
    if (!json_is_array(ja) || json_array_size(ja) > 4096)
      return ls_diag_set(d, LS_EINVAL, "launch: argument 'args' must be an array of strings");
    out->args = ls_calloc(json_array_size(ja) + 1, sizeof *out->args);
    if (!out->args) return LS_ENOMEM;
    size_t i;
    json_t *x;
    json_array_foreach(ja, i, x) {
      if (!json_is_string(x) || strlen(json_string_value(x)) != json_string_length(x))
        return ls_diag_set(d, LS_EINVAL, "launch: argument 'args[%zu]' must be a string without NUL, got %s", i,
                           ls_jansson_kind(x));
      if (!(out->args[out->n_args++] = ls_strdup(json_string_value(x)))) return LS_ENOMEM;
    }
  }
  json_t *je = json_object_get(args, "env");
  if (je && !json_is_null(je)) {
    if (!json_is_object(je) || json_object_size(je) > 4096)
      return ls_diag_set(d, LS_EINVAL, "launch: argument 'env' must be an object of strings");
    out->env = ls_calloc(json_object_size(je) + 1, sizeof *out->env);
    if (!out->env) return LS_ENOMEM;
    const char *k;
    json_t *x;
    json_object_foreach(je, k, x) {
      if (!json_is_string(x) || !*k || strchr(k, '=') || strlen(json_string_value(x)) != json_string_length(x))
        return ls_diag_set(d, LS_EINVAL, "launch: argument 'env.%.*s' must be a string (and the name without '=')",
                           ls_utf8_clip(k, 60), k);
      size_t n = strlen(k) + json_string_length(x) + 2;
      char *e = ls_malloc(n);
      if (!e) return LS_ENOMEM;
      snprintf(e, n, "%s=%s", k, json_string_value(x));
      out->env[out->n_env++] = e;
    }
  }
  return LS_OK;
}

int dap_launch_args_parse(const json_t *args, dap_launch_args *out, ls_diag *d) {
  memset(out, 0, sizeof *out);
  json_t *none = NULL;
  if (!args) args = none = json_object(); /* clients omit empty arguments */
  if (!args) return LS_ENOMEM;
  int rc = parse_object(args, out, d);
  json_decref(none);
  return rc;
}

static int parse_object(const json_t *args, dap_launch_args *out, ls_diag *d) {
  if (!json_is_object(args))
    return ls_diag_set(d, LS_EINVAL, "launch: 'arguments' must be an object with at least 'config'");
  const char *cwd = NULL;
  json_t *jc = json_object_get(args, "cwd");
  if (jc && !json_is_string(jc))
    return ls_diag_set(d, LS_EINVAL, "launch: argument 'cwd' must be a string, got %s", ls_jansson_kind(jc));
  if (jc) cwd = json_string_value(jc);
  int rc, present;
  int64_t v;
  if ((rc = get_program(args, cwd, out, d))) goto fail;
  int program = out->program || out->module || out->connect;
  /* model: a hub directory (config.json + weights) or a config file; config: the file */
  json_t *jmod = json_object_get(args, "model");
  if (jmod && json_object_get(args, "config")) {
    rc = ls_diag_set(d, LS_EINVAL, "launch: give either 'model' (a model directory) or 'config', not both");
    goto fail;
  }
  if ((rc = get_path(args, jmod ? "model" : "config", cwd, !program, jmod != NULL, &out->config, d)) ||
      (rc = get_bool(args, "randomWeights", &out->random_weights, d)) ||
      (rc = get_path(args, "weights", cwd, 0, 1, &out->weights, d)) ||
      (rc = get_out_path(args, "record", cwd, &out->record, d)) ||
      (rc = get_tokens(args, out, d)) || (rc = get_str(args, "prompt", &out->prompt, d)) ||
      (rc = get_path(args, "tokenizer", cwd, 0, 1, &out->tokenizer, d)))
    goto fail;
  if (out->prompt && out->tokens) {
    rc = ls_diag_set(d, LS_EINVAL, "launch: give either 'prompt' or 'tokens', not both");
    goto fail;
  }
  if ((rc = get_int(args, "randomTokens", 1, DAP_MAX_TOKENS, &present, &v, d))) goto fail;
  if (present) out->random_tokens = v;
  if (out->tokens && out->random_tokens) {
    rc = ls_diag_set(d, LS_EINVAL, "launch: give either 'tokens' or 'randomTokens', not both");
    goto fail;
  }
  if ((rc = get_int(args, "seed", 0, INT64_MAX, &present, &v, d))) goto fail;
  if (present) out->seed = (uint64_t)v;
  if ((rc = get_int(args, "layers", 1, 1 << 20, &present, &v, d))) goto fail;
  if (present) out->layers = v;
  if ((rc = get_int(args, "generate", 1, 1 << 20, &present, &v, d))) goto fail;
  if (present) out->generate = v;
  if ((rc = get_int(args, "threads", 1, DAP_MAX_THREADS, &present, &v, d))) goto fail;
  if (present) out->threads = (int)v;
  json_t *jm = json_object_get(args, "compute");
  if (jm) {
    int c = json_is_string(jm) ? ls_engine_compute_parse(json_string_value(jm)) : -1;
    if (c < 0) {
      rc = ls_diag_set(d, LS_EINVAL, "launch: argument 'compute' must be \"fp32\" or \"bf16\", got %s",
                       json_is_string(jm) ? json_string_value(jm) : ls_jansson_kind(jm));
      goto fail;
    }
    out->compute = c;
  }
  if ((rc = get_bool(args, "stopOnEntry", &out->stop_on_entry, d)) ||
      (rc = get_bool(args, "showNativeFrames", &out->show_native_frames, d)) ||
      (rc = get_bool(args, "noDebug", &out->no_debug, d)))
    goto fail;
  if ((rc = find_unknown(args, out))) goto fail;
  return LS_OK;
fail:
  dap_launch_args_free(out);
  return rc;
}
