/* summary.c: `layerscope summary CONFIG`: the module tree and figures of a model config, as
 * a torchinfo-like table (text, markdown) or as the JSON contract of docs/summary-json.md.
 * A thin front end: every number comes from core/model (model.h, figures.h). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/fmt.h"
#include "cli/cli.h"
#include "core/base/errors.h"
#include "core/model/figures.h"
#include "core/model/model.h"

typedef enum { FMT_TEXT, FMT_JSON, FMT_MD } out_fmt;

typedef struct sum_opts {
  const char *path;
  int64_t batch, seq;
  int depth;
  int have_dtype;
  ls_model_wdtype dtype;
  out_fmt fmt;
  const char *arch;
  int generic;
  ls_model_attn_impl attn;
} sum_opts;

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || !end || *end || end == s || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, sum_opts *o) {
  memset(o, 0, sizeof *o);
  o->depth = 3;
  o->batch = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int64_t n;
    if (strcmp(a, "--batch") == 0 || strcmp(a, "--seq") == 0 || strcmp(a, "--depth") == 0) {
      if (!v || parse_i64(v, a[2] == 'd' ? 0 : 1, a[2] == 'd' ? 64 : ((int64_t)1 << 40), &n)) {
        fprintf(stderr, "layerscope summary: %s needs a %s, got '%s'\n", a,
                a[2] == 'd' ? "depth from 0 to 64" : "positive integer up to 2^40", v ? v : "");
        return 2;
      }
      if (a[2] == 'b') o->batch = n;
      else if (a[2] == 's') o->seq = n;
      else o->depth = (int)n;
      i++;
    } else if (strcmp(a, "--dtype") == 0) {
      if (!v || ls_model_wdtype_parse(v, &o->dtype)) {
        fprintf(stderr, "layerscope summary: --dtype must be fp32, bf16, fp16, int8, int4, q8_0 or q4_0, got '%s'\n",
                v ? v : "");
        return 2;
      }
      o->have_dtype = 1;
      i++;
    } else if (strcmp(a, "--format") == 0) {
      if (v && strcmp(v, "text") == 0) o->fmt = FMT_TEXT;
      else if (v && strcmp(v, "json") == 0) o->fmt = FMT_JSON;
      else if (v && (strcmp(v, "markdown") == 0 || strcmp(v, "md") == 0)) o->fmt = FMT_MD;
      else {
        fprintf(stderr, "layerscope summary: --format must be text, json or markdown, got '%s'\n", v ? v : "");
        return 2;
      }
      i++;
    } else if (strcmp(a, "--arch") == 0) {
      if (!v) { fprintf(stderr, "layerscope summary: --arch needs a class name or 'base'\n"); return 2; }
      o->arch = v;
      i++;
    } else if (strcmp(a, "--attn-impl") == 0) {
      if (!v || ls_model_attn_impl_parse(v, &o->attn)) {
        fprintf(stderr, "layerscope summary: --attn-impl must be sdpa, eager or flash, got '%s'\n", v ? v : "");
        return 2;
      }
      i++;
    } else if (strcmp(a, "--generic") == 0) {
      o->generic = 1;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      ls_cli_usage(stdout, "summary");
      return -1;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "layerscope summary: unknown option '%s'\n", a);
      return 2;
    } else if (!o->path) {
      o->path = a;
    } else {
      fprintf(stderr, "layerscope summary: one config at a time ('%s' is extra)\n", a);
      return 2;
    }
  }
  if (!o->path) {
    ls_cli_usage(stderr, "summary");
    return 2;
  }
  return 0;
}

/* ---------------------------------------------------------------- helpers */

static void print_issues(const ls_model *m, const char *path) {
  for (size_t i = 0; i < m->n_issues; i++) {
    const ls_model_issue *is = &m->issues[i];
    fprintf(stderr, "%s: %s [%s]: %s\n", path,
            is->severity == LS_MODEL_SEV_ERROR ? "error" : is->severity == LS_MODEL_SEV_WARNING ? "warning" : "note",
            is->code, is->msg);
  }
}

/* ---------------------------------------------------------------- text / markdown */

static void print_table(const ls_model *m, const ls_model_figures *f, const sum_opts *o, int md) {
  char sh[96], p1[40], p2[40], h1[40];
  /* a reading that is not exact says so before any number */
  if (m->reading == LS_MODEL_READING_GENERIC)
    printf("%sReading: GENERIC (llama-style, not the model's): %s%s\n\n", md ? "> " : "", m->reading_note, "");
  else if (m->reading == LS_MODEL_READING_INFERRED)
    printf("%sReading: inferred: %s\n\n", md ? "> " : "", m->reading_note);
  if (md) {
    printf("| Module | Type | Output shape | Params |\n|---|---|---|---:|\n");
  } else {
    printf("%-52s %-36s %-22s %15s\n", "Module", "Type", "Output shape", "Params");
    printf("%.*s\n", 128, "===================================================================="
                            "====================================================================");
  }
  for (size_t i = 0; i < m->n_modules; i++) {
    const ls_model_module *mo = &m->modules[i];
    if (mo->depth > o->depth) continue;
    ls_model_shape_format(&mo->out, 0, 0, 0, sh, sizeof sh);
    const char *name = mo->depth == 0 ? m->architecture : mo->name;
    /* a module whose only weights are tied to another's (GPT-2 lm_head) says so */
    int tied = mo->n_tensors > 0 && mo->params == 0 && mo->first_child < 0;
    const char *pv = tied ? "(tied)" : ls_fmt_grouped(mo->params, p1, sizeof p1);
    if (md) {
      char ind[3 * 6 * 16 + 1] = "";
      for (int k = 0; k < mo->depth && k < 16; k++) strcat(ind, "&nbsp;&nbsp;");
      printf("| %s`%s` | %s | %s | %s |\n", ind, name, mo->type, sh, pv);
    } else {
      char label[160];
      snprintf(label, sizeof label, "%*s%s", mo->depth * 2, "", mo->depth == 0 ? name : mo->leaf);
      printf("%-52s %-36s %-22s %15s\n", label, mo->type, sh, pv);
    }
  }
  const char *sep = md ? "\n" : "";
  if (!md) printf("%.*s\n", 128, "=================================================================="
                                    "======================================================================");
  printf("%s%sTotal params: %s (%s)%s\n", sep, md ? "- " : "", ls_fmt_grouped(f->params, p1, sizeof p1),
         ls_fmt_count((double)f->params, h1, sizeof h1), md ? "" : "");
  if (f->params_active != f->params)
    printf("%sActive params per token: %s\n", md ? "- " : "", ls_fmt_grouped(f->params_active, p1, sizeof p1));
  if (f->params_mtp)
    printf("%sMTP layers stored in the checkpoint (not loaded by transformers, not in the figures): %s params\n",
           md ? "- " : "", ls_fmt_grouped(f->params_mtp, p1, sizeof p1));
  printf("%sEmbedding params: %s; non-embedding: %s\n", md ? "- " : "", ls_fmt_grouped(f->params_embedding, p1, sizeof p1),
         ls_fmt_grouped(f->params_non_embedding, p2, sizeof p2));
  printf("%sForward FLOPs per token at S=%lld: %s (matmul %s + attention %s; 1 MAC = 2 FLOPs)\n", md ? "- " : "",
         (long long)f->seq, ls_fmt_si((double)f->flops_per_token, "FLOP", h1, sizeof h1),
         ls_fmt_grouped((int64_t)f->flops_matmul_per_token, p1, sizeof p1), ls_fmt_grouped((int64_t)f->flops_attn_per_token, p2, sizeof p2));
  if (f->flops_per_image)
    printf("%sVision tower and projector, once per image: %s (not in the per-token figures)\n", md ? "- " : "",
           ls_fmt_si((double)f->flops_per_image, "FLOP", h1, sizeof h1));
  printf("%sTraining FLOPs per token: %s; forward pass B=%lld S=%lld: %s\n", md ? "- " : "",
         ls_fmt_si((double)f->flops_train_per_token, "FLOP", h1, sizeof h1), (long long)f->batch, (long long)f->seq,
         ls_fmt_si((double)f->flops_forward, "FLOP", p1, sizeof p1));
  printf("%sWeights:", md ? "- " : "");
  for (int w = 0; w < LS_MODEL_WDTYPE_COUNT; w++)
    printf("%s %s %s", w ? "," : "", ls_model_wdtype_name((ls_model_wdtype)w), ls_fmt_bytes(f->weight_bytes[w], h1, sizeof h1));
  printf("\n");
  if (f->weight_bytes_stored)
    printf("%sWeights as stored (%s): %s\n", md ? "- " : "", f->stored_format, ls_fmt_bytes(f->weight_bytes_stored, h1, sizeof h1));
  else
    printf("%sWeights as stored: %s\n", md ? "- " : "", f->stored_format);
  if (f->kv_bytes_per_token)
    printf("%sKV cache (%s): %s per token, %s at B=%lld S=%lld\n", md ? "- " : "", ls_model_wdtype_name(f->dtype),
           ls_fmt_bytes(f->kv_bytes_per_token, h1, sizeof h1), ls_fmt_bytes(f->kv_bytes, p1, sizeof p1), (long long)f->batch,
           (long long)f->seq);
  if (f->kv_bytes_per_token_expanded)
    printf("%s  (MLA latent, as MLA-aware engines cache it; transformers' cache holds K and V expanded: %s per token)\n",
           md ? "- " : "", ls_fmt_bytes(f->kv_bytes_per_token_expanded, h1, sizeof h1));
  if (f->ssm_state_bytes_per_seq)
    printf("%sSSM state (%s): %s per sequence, whatever its length; %s at B=%lld\n", md ? "- " : "",
           ls_model_wdtype_name(f->dtype), ls_fmt_bytes(f->ssm_state_bytes_per_seq, h1, sizeof h1),
           ls_fmt_bytes(f->ssm_state_bytes, p1, sizeof p1), (long long)f->batch);
  if (f->train_activations_unknown)
    printf("%sTraining memory: weights, gradients and Adam states %s; activations not modelled for state-space "
           "layers, so no total\n", md ? "- " : "",
           ls_fmt_bytes(f->train_weights + f->train_grads + f->train_optimizer, h1, sizeof h1));
  else
    printf("%sTraining memory (mixed-precision Adam, %s attention, B=%lld S=%lld): %s; with activation checkpointing %s\n",
           md ? "- " : "", ls_model_attn_impl_name(f->attn), (long long)f->batch, (long long)f->seq,
           ls_fmt_bytes(f->train_total, h1, sizeof h1), ls_fmt_bytes(f->train_total_ckpt, p1, sizeof p1));
}

/* ---------------------------------------------------------------- JSON */

static json_t *shape_json(const ls_model_shape *s, int bind, int64_t B, int64_t S) {
  json_t *a = json_array();
  for (int i = 0; i < s->ndim; i++) {
    if (s->d[i].sym && !bind) {
      char c[2] = {s->d[i].sym, 0};
      json_array_append_new(a, json_string(c));
    } else {
      json_array_append_new(a, json_integer(ls_model_dim_bind(s->d[i], B, S)));
    }
  }
  return a;
}

static json_t *summary_json(const ls_model *m, const ls_model_figures *f) {
  json_t *r = json_object();
  json_object_set_new(r, "schema", json_string("layerscope.summary/1"));
  json_object_set_new(r, "model_type", json_string(m->model_type ? m->model_type : "unknown"));
  json_object_set_new(r, "family", json_string(ls_model_family_name(m->family)));
  json_object_set_new(r, "architecture", json_string(m->architecture));
  json_object_set_new(r, "reading", json_string(ls_model_reading_name(m->reading)));
  if (m->reading_note) json_object_set_new(r, "reading_note", json_string(m->reading_note));
  json_object_set_new(r, "batch", json_integer(f->batch));
  json_object_set_new(r, "seq", json_integer(f->seq));
  json_object_set_new(r, "dtype", json_string(ls_model_wdtype_name(f->dtype)));
  json_object_set_new(r, "params", json_integer(f->params));
  json_object_set_new(r, "params_active", json_integer(f->params_active));
  json_object_set_new(r, "params_embedding", json_integer(f->params_embedding));
  json_object_set_new(r, "params_non_embedding", json_integer(f->params_non_embedding));
  if (f->params_mtp) json_object_set_new(r, "params_mtp", json_integer(f->params_mtp));
  json_object_set_new(r, "flops_per_token", json_integer((json_int_t)f->flops_per_token));
  json_object_set_new(r, "flops_per_token_matmul", json_integer((json_int_t)f->flops_matmul_per_token));
  json_object_set_new(r, "flops_per_token_attention", json_integer((json_int_t)f->flops_attn_per_token));
  json_object_set_new(r, "flops_train_per_token", json_integer((json_int_t)f->flops_train_per_token));
  json_object_set_new(r, "flops_forward", json_integer((json_int_t)f->flops_forward));
  json_object_set_new(r, "flops_per_image", json_integer((json_int_t)f->flops_per_image));
  json_object_set_new(r, "flops_convention",
                      json_string("1 multiply-add = 2 FLOPs; matmuls and attention QK^T, AV only; "
                                  "attention over min(seq, sliding_window) keys; MoE counts top-k experts; "
                                  "training = 3 x forward"));
  json_t *mem = json_object(), *w = json_object(), *tr = json_object();
  for (int i = 0; i < LS_MODEL_WDTYPE_COUNT; i++)
    json_object_set_new(w, ls_model_wdtype_name((ls_model_wdtype)i), json_integer((json_int_t)f->weight_bytes[i]));
  json_object_set_new(mem, "weights", w);
  json_object_set_new(mem, "weights_stored", f->weight_bytes_stored ? json_integer((json_int_t)f->weight_bytes_stored) : json_null());
  json_object_set_new(mem, "weights_stored_format", json_string(f->stored_format));
  json_object_set_new(mem, "kv_cache_per_token", json_integer((json_int_t)f->kv_bytes_per_token));
  json_object_set_new(mem, "kv_cache", json_integer((json_int_t)f->kv_bytes));
  if (f->ssm_state_bytes_per_seq) {
    json_object_set_new(mem, "ssm_state_per_sequence", json_integer((json_int_t)f->ssm_state_bytes_per_seq));
    json_object_set_new(mem, "ssm_state", json_integer((json_int_t)f->ssm_state_bytes));
  }
  if (f->kv_bytes_per_token_expanded)
    json_object_set_new(mem, "kv_cache_per_token_expanded", json_integer((json_int_t)f->kv_bytes_per_token_expanded));
  json_object_set_new(tr, "weights", json_integer((json_int_t)f->train_weights));
  json_object_set_new(tr, "grads", json_integer((json_int_t)f->train_grads));
  json_object_set_new(tr, "optimizer", json_integer((json_int_t)f->train_optimizer));
  /* null: not modelled (state-space layers), never a guess */
#define TR(v) (f->train_activations_unknown ? json_null() : json_integer((json_int_t)(v)))
  json_object_set_new(tr, "attn_implementation", json_string(ls_model_attn_impl_name(f->attn)));
  json_object_set_new(tr, "activations", TR(f->train_activations));
  json_object_set_new(tr, "activations_checkpointed", TR(f->train_activations_ckpt));
  json_object_set_new(tr, "total", TR(f->train_total));
  json_object_set_new(tr, "total_checkpointed", TR(f->train_total_ckpt));
#undef TR
  json_object_set_new(mem, "training", tr);
  json_object_set_new(r, "memory", mem);

  const ls_model_sem *s = &m->sem;
  json_t *c = json_object();
  json_object_set_new(c, "hidden_size", json_integer(s->hidden));
  json_object_set_new(c, "num_layers", json_integer(s->n_layers));
  if (s->n_layers_decoder) json_object_set_new(c, "num_decoder_layers", json_integer(s->n_layers_decoder));
  json_object_set_new(c, "num_heads", json_integer(s->n_heads));
  json_object_set_new(c, "num_kv_heads", json_integer(s->n_kv_heads));
  json_object_set_new(c, "head_dim", json_integer(s->head_dim));
  json_object_set_new(c, "intermediate_size", json_integer(s->intermediate));
  json_object_set_new(c, "vocab_size", json_integer(s->vocab));
  json_object_set_new(c, "max_position_embeddings", json_integer(s->max_pos));
  if (s->n_experts) {
    json_object_set_new(c, "num_experts", json_integer(s->n_experts));
    json_object_set_new(c, "num_experts_per_tok", json_integer(s->top_k));
  }
  json_object_set_new(c, "tie_word_embeddings", json_boolean(s->tie_embeddings));
  json_object_set_new(r, "config", c);

  json_t *iss = json_array();
  for (size_t i = 0; i < m->n_issues; i++) {
    json_t *o = json_object();
    const ls_model_issue *is = &m->issues[i];
    json_object_set_new(o, "severity", json_string(is->severity == LS_MODEL_SEV_ERROR ? "error"
                                                   : is->severity == LS_MODEL_SEV_WARNING ? "warning" : "info"));
    json_object_set_new(o, "code", json_string(is->code));
    json_object_set_new(o, "message", json_string(is->msg));
    json_array_append_new(iss, o);
  }
  json_object_set_new(r, "issues", iss);

  json_t *mods = json_array();
  for (size_t i = 0; i < m->n_modules; i++) {
    const ls_model_module *mo = &m->modules[i];
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(mo->name));
    json_object_set_new(o, "type", json_string(mo->type));
    json_object_set_new(o, "kind", json_string(ls_model_kind_name(mo->kind)));
    json_object_set_new(o, "depth", json_integer(mo->depth));
    json_object_set_new(o, "params", json_integer(mo->params));
    json_object_set_new(o, "input_shape", shape_json(&mo->in, 0, 0, 0));
    json_object_set_new(o, "output_shape", shape_json(&mo->out, 0, 0, 0));
    json_object_set_new(o, "output_shape_bound", shape_json(&mo->out, 1, f->batch, f->seq));
    json_array_append_new(mods, o);
  }
  json_object_set_new(r, "modules", mods);

  json_t *ts = json_array();
  for (size_t i = 0; i < m->n_tensors; i++) {
    const ls_model_tensor *t = &m->tensors[i];
    json_t *o = json_object(), *shp = json_array();
    for (int k = 0; k < t->ndim; k++) json_array_append_new(shp, json_integer(t->shape[k]));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "shape", shp);
    json_object_set_new(o, "dtype", json_string(t->dtype));
    json_object_set_new(o, "numel", json_integer(t->numel));
    if (t->tied_to >= 0) json_object_set_new(o, "tied_to", json_string(m->tensors[t->tied_to].name));
    if (t->buffer) json_object_set_new(o, "buffer", json_true());
    if (t->mtp) json_object_set_new(o, "mtp", json_true());
    if (t->stacked) json_object_set_new(o, "stacked_experts", json_integer(t->stacked));
    json_array_append_new(ts, o);
  }
  json_object_set_new(r, "tensors", ts);
  return r;
}

/* ---------------------------------------------------------------- entry */

int ls_cli_summary(int argc, char **argv) {
  sum_opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  ls_diag d;
  ls_diag_init(&d);
  ls_model *m = NULL;
  ls_model_opts mo = {o.arch, 0, o.generic, o.path, 0};
  rc = ls_model_load_file(o.path, &mo, &m, &d);
  if (m && m->reading == LS_MODEL_READING_NONE) {
    /* no confident figure for a type layerscope does not model (exit 2: not a config error) */
    fprintf(stderr, "layerscope summary: %s: %s; --generic prints a llama-style reading of the "
            "common keys, labelled generic\n", o.path, m->reading_note);
    ls_model_free(m);
    return 2;
  }
  if (rc) {
    if (m && rc == LS_EFORMAT) print_issues(m, o.path);
    else fprintf(stderr, "layerscope summary: %s\n", d.msg);
    ls_model_free(m);
    return 1;
  }
  print_issues(m, o.path); /* warnings */
  ls_model_figopts fo = {o.batch, o.seq, o.have_dtype ? o.dtype : ls_model_wdtype_default(m), o.attn};
  ls_model_figures f;
  ls_diag_init(&d);
  if ((rc = ls_model_figures_compute(m, &fo, &f, &d)) != 0) {
    fprintf(stderr, "layerscope summary: %s: %s\n", o.path, d.msg);
    ls_model_free(m);
    return 1;
  }
  if (o.fmt == FMT_JSON) {
    json_t *j = summary_json(m, &f);
    char *s = j ? json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!s) {
      fprintf(stderr, "layerscope summary: out of memory writing JSON\n");
      ls_model_free(m);
      return 1;
    }
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
  } else {
    print_table(m, &f, &o, o.fmt == FMT_MD);
  }
  ls_model_free(m);
  return 0;
}
