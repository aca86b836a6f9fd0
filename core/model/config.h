/* config.h: one config file analysed, the pipeline every front end runs on a config's text:
 *   text -> line index (core/base/text.h) -> tolerant parse (core/base/json.h) -> model
 *   (model.h, only when the root has model_type or architectures) -> smell report
 *   (smells.h) -> figures at a batch / sequence length / dtype (figures.h, on request).
 * The language server (lsp/analysis.c, per open document, on the loop or on the pool) and
 * `layerscope check` (cli/check.c, per file) call ls_config_analyse and only render what it
 * returns; nothing else in them parses, builds or checks. ls_config_read_file is the one
 * bounded reader of config files (check, and ls_model_load_file for summary, debug, run and
 * the debug adapter).
 *
 * Ownership: ls_config_analyse takes the text (stolen) and fills an ls_config_analysis that
 * owns everything in it, released by ls_config_analysis_deinit. The analysis is immutable
 * once built: reading it from several threads is safe. ls_config_read_file returns new
 * memory (caller frees with ls_free). */
#ifndef LS_MODEL_CONFIG_H
#define LS_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"
#include "core/base/json.h"
#include "core/base/text.h"
#include "core/model/figures.h"
#include "core/model/model.h"
#include "core/model/smells.h"

/* Configs are kilobytes; a file past this is refused before it is read whole. */
#define LS_CONFIG_MAX_FILE ((size_t)64 << 20)

typedef struct ls_config_opts {
  const unsigned char *disabled; /* [LS_SMELL_COUNT] rules switched off; NULL: all on */
  int figures;                   /* compute fig when the model has no errors but syntax ones */
  int64_t batch, seq;            /* figures: B >= 1 and S (0: the model's default) */
  int have_dtype;                /* figures: dtype given; else the config's torch_dtype */
  ls_model_wdtype dtype;
  ls_model_attn_impl attn;       /* figures: attention kernel of the training estimate */
  /* Polled between stages (may be NULL); non-zero stops the analysis with LS_ECANCELED.
   * Lets a pool job of the language server be canceled. */
  int (*canceled)(void *ud);
  void *cancel_ud;
  int generic;                   /* a model_type layerscope does not model gets the labelled
                                    generic reading (ls_model_opts.generic) */
  const char *path;              /* the document's path or URI, for recognising a config
                                    without model_type by its name (may be NULL) */
  int guarded;                   /* parse with ls_json_parse_guarded: a file that does not look
                                    like JSON is said to be so without quoting its content (files
                                    opened by path; an editor's own document is shown as is) */
} ls_config_opts;

typedef struct ls_config_analysis {
  char *text;                /* [len + 1] owned, NUL-terminated (the text may hold NULs) */
  size_t len;                /* bytes */
  ls_text_index index;       /* lines of text */
  ls_json_doc *doc;          /* owned: the tolerant parse, syntax errors inside */
  int is_model;              /* the root is an object with model_type or architectures */
  ls_model *model;           /* owned; NULL when not a model config or building failed */
  int model_rc;              /* why building failed (LS_EINVAL: no object at the root), or 0 */
  ls_diag model_diag;        /* its message when model_rc != 0 */
  ls_smell_report *report;   /* owned; every document gets one (document rules only when
                                model is NULL); NULL only when the analysis failed */
  int have_fig;              /* fig is valid */
  ls_model_figures fig;      /* at opts' batch / seq / dtype */
} ls_config_analysis;

/* Analyses text[0, len) (stolen: text must come from ls_malloc with a NUL at text[len]; it
 * is owned by *out from the call on, whatever the result). Returns LS_OK (also for configs
 * full of errors: those are findings), LS_ENOMEM, or LS_ECANCELED when opts->canceled said
 * so. On failure *out holds what was done so far and must still be deinited. */
int ls_config_analyse(char *text, size_t len, const ls_config_opts *opts, ls_config_analysis *out);
void ls_config_analysis_deinit(ls_config_analysis *a);

/* Reads a config file of at most LS_CONFIG_MAX_FILE bytes into new memory (NUL-terminated,
 * *len without the NUL). Errors name the path: LS_ENOENT "cannot open: <reason>", LS_EIO
 * "is a directory" / "read error", LS_ELIMIT "larger than 64 MiB, not a config file",
 * LS_ENOMEM. */
int ls_config_read_file(const char *path, char **text, size_t *len, ls_diag *d);
/* ls_config_read_file, then ls_config_analyse. The read error is LS_ENOENT/LS_EIO/LS_ELIMIT
 * with d set, and *out is then empty (deinit is still allowed). */
int ls_config_analyse_file(const char *path, const ls_config_opts *opts, ls_config_analysis *out,
                           ls_diag *d);

#endif
