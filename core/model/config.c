/* config.c: the config pipeline shared by the language server and `layerscope check` (see
 * config.h), and the bounded reader of config files. The stages run in the order their
 * results depend on each other; a canceled run stops between stages so that a pool job of
 * the language server gives its thread back quickly. Whether a document is a model config
 * decides only whether a model is built: the smell rules run on every document, since the
 * document rules (syntax errors, a root that is not an object) apply to any JSON. */
#include "core/model/config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/file.h"

/* ---------------------------------------------------------------- the pipeline */

static int canceled(const ls_config_opts *o) { return o && o->canceled && o->canceled(o->cancel_ud); }

int ls_config_analyse(char *text, size_t len, const ls_config_opts *opts, ls_config_analysis *out) {
  memset(out, 0, sizeof *out);
  ls_diag_init(&out->model_diag);
  out->text = text;
  out->len = len;
  if (ls_text_index_init(&out->index, text, len) != LS_OK) return LS_ENOMEM;
  /* guarded: a text that does not look like JSON gets one error that quotes none of it */
  if ((opts && opts->guarded ? ls_json_parse_guarded(text, len, &out->doc) : ls_json_parse(text, len, &out->doc)) !=
      LS_OK)
    return LS_ENOMEM;
  out->is_model = ls_smell_is_model_config(out->doc) || ls_model_is_legacy_config(out->doc, opts ? opts->path : NULL);
  if (out->is_model) {
    if (canceled(opts)) return LS_ECANCELED;
    ls_model_opts mo = {NULL, 0, opts ? opts->generic : 0, opts ? opts->path : NULL, 0};
    int rc = ls_model_build(out->doc, &mo, &out->model, &out->model_diag);
    if (rc == LS_ENOMEM) return rc;
    if (rc != LS_OK) { /* no object at the root: the document rules still run */
      ls_model_free(out->model);
      out->model = NULL;
      out->model_rc = rc;
    }
  }
  if (canceled(opts)) return LS_ECANCELED;
  ls_smell_opts so = {opts ? opts->disabled : NULL, NULL};
  if (ls_smell_check(out->doc, out->model, &so, &out->report) != LS_OK) return LS_ENOMEM;
  const ls_model *m = out->model;
  /* Figures need a tree without errors; JSON syntax errors alone leave it whole. */
  if (opts && opts->figures && m && m->n_errors == m->n_json_errors && m->n_modules > 0) {
    ls_model_figopts fo = {opts->batch, opts->seq, opts->have_dtype ? opts->dtype : ls_model_wdtype_default(m),
                           opts->attn};
    ls_diag d;
    ls_diag_init(&d);
    out->have_fig = ls_model_figures_compute(m, &fo, &out->fig, &d) == LS_OK;
  }
  return LS_OK;
}

void ls_config_analysis_deinit(ls_config_analysis *a) {
  ls_smell_report_free(a->report);
  ls_model_free(a->model);
  ls_json_doc_free(a->doc);
  ls_text_index_deinit(&a->index);
  ls_free(a->text);
  memset(a, 0, sizeof *a);
}

/* ---------------------------------------------------------------- reading */

int ls_config_read_file(const char *path, char **text, size_t *len, ls_diag *d) {
  /* Regular files only, never blocking on a FIFO (core/base/file.h). */
  ls_diag fd;
  ls_diag_init(&fd);
  int rc = ls_file_read(path, LS_CONFIG_MAX_FILE, text, len, &fd);
  if (rc == LS_ELIMIT)
    return ls_diag_set_at(d, rc, path, -1, "%s: larger than %zu MiB, not a config file", path, LS_CONFIG_MAX_FILE >> 20);
  if (rc != LS_OK) return ls_diag_set_at(d, rc, path, -1, "%s", fd.msg);
  return LS_OK;
}

int ls_config_analyse_file(const char *path, const ls_config_opts *opts, ls_config_analysis *out,
                           ls_diag *d) {
  memset(out, 0, sizeof *out);
  char *text;
  size_t len;
  int rc = ls_config_read_file(path, &text, &len, d);
  if (rc != LS_OK) return rc;
  rc = ls_config_analyse(text, len, opts, out);
  if (rc != LS_OK) ls_diag_set(d, rc, "%s: %s", path, ls_err_str(rc));
  return rc;
}
