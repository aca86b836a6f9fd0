/* smells.h: diagnostics on model configs ("architecture smells"). Given the parsed document
 * and the model built from it (model.h), ls_smell_check runs every rule of smells.def and
 * returns findings: rule, severity, a message naming the keys and values, the primary byte
 * span, related spans (the other keys involved, for LSP relatedInformation / SARIF
 * relatedLocations) and, where the fix is clear, fixes as text edits. The LSP (diagnostics,
 * code actions) and `layerscope check` (text, JSON, SARIF) only render these; every rule's
 * reasoning and upstream reference is in docs/rules.md under its code.
 *
 * JSON syntax errors are findings too (LS001, with the reader's fixes), and the rules still
 * run on whatever parsed, so a half-typed config gets its smells.
 *
 * Every message is one line of valid UTF-8 (file text quoted in it is sanitised).
 *
 * Ownership: ls_smell_check returns a new report (free with ls_smell_report_free); every
 * string and array in it is owned by the report. The doc and model are borrowed for the call
 * only. The rule table is static. */
#ifndef LS_SMELLS_H
#define LS_SMELLS_H

#include <stddef.h>

#include "core/base/arena.h"
#include "core/base/json.h"
#include "core/model/model.h"

/* Values equal LSP DiagnosticSeverity. */
typedef enum ls_smell_severity {
  LS_SMELL_ERROR = 1, LS_SMELL_WARNING = 2, LS_SMELL_INFO = 3, LS_SMELL_HINT = 4
} ls_smell_severity;

typedef enum ls_smell_id {
#define X(id, code, name, sev, title) LS_SMELL_##id,
#include "core/model/smells.def"
#undef X
  LS_SMELL_COUNT
} ls_smell_id;

typedef struct ls_smell_rule {
  ls_smell_id id;
  const char *code;            /* "LS101": stable, the anchor in docs/rules.md */
  const char *name;            /* "hidden-not-divisible-by-heads" */
  ls_smell_severity severity;  /* default */
  const char *title;
} ls_smell_rule;

/* The rule table, indexed by ls_smell_id (static). */
const ls_smell_rule *ls_smell_rules(size_t *n_out);
const ls_smell_rule *ls_smell_rule_get(ls_smell_id id);
/* By code ("LS101", case-insensitive) or name; NULL when none. */
const ls_smell_rule *ls_smell_rule_find(const char *code_or_name);
/* "error", "warning", "information", "hint". */
const char *ls_smell_severity_name(ls_smell_severity s);
/* Writes "<base>#<code>" (the rule's section in docs/rules.md). base NULL means
 * LS_SMELL_DOCS_URL (or the LAYERSCOPE_DOCS_URL environment variable when set). Returns the
 * length like snprintf. */
#define LS_SMELL_DOCS_URL "https://github.com/layerscope/layerscope/blob/main/docs/rules.md"
int ls_smell_doc_url(const ls_smell_rule *r, const char *base, char *buf, size_t cap);

typedef struct ls_smell_related {
  ls_json_span span;           /* the other key (or value) involved */
  const char *msg;             /* "num_attention_heads = 32 is set here" */
} ls_smell_related;

typedef struct ls_smell_edit {
  ls_json_span span;           /* bytes to replace ([start, start) inserts) */
  const char *text;            /* replacement */
} ls_smell_edit;

typedef struct ls_smell_fix {
  const char *title;           /* "Round vocab_size up to 50304" */
  ls_smell_edit *edits; size_t n_edits; /* non-overlapping, in text order */
  int preferred;               /* the fix to apply without asking (LSP isPreferred) */
} ls_smell_fix;

typedef struct ls_smell_finding {
  ls_smell_id rule;
  ls_smell_severity severity;  /* the rule's default or, for some findings, adjusted (an
                                  unknown key with no suggestion is a hint) */
  const char *key;             /* primary key as written, NULL when none */
  const char *msg;             /* names the key(s) and values */
  ls_json_span span;           /* primary range; {0,0} means the start of the document */
  ls_smell_related *related; size_t n_related;
  ls_smell_fix *fixes; size_t n_fixes;
} ls_smell_finding;

typedef struct ls_smell_report {
  ls_arena arena;              /* owns everything below */
  ls_smell_finding *findings; size_t n_findings; /* in document order (by span start) */
  size_t n_by_severity[5];     /* indexed by ls_smell_severity */
  int is_model_config;         /* the root is an object with model_type or architectures */
} ls_smell_report;

typedef struct ls_smell_opts {
  /* Rules switched off, indexed by ls_smell_id (NULL: all on). */
  const unsigned char *disabled;
  /* Severity overrides, indexed by ls_smell_id; 0 keeps the default (NULL: none). */
  const unsigned char *severity;
} ls_smell_opts;

/* Whether a parsed document is a model config: its root is an object with a "model_type" or
 * "architectures" key. Other JSON files are left alone by the LSP and reported as such by
 * `layerscope check`. */
int ls_smell_is_model_config(const ls_json_doc *doc);

/* Runs the rules. model may be NULL (the root is not an object, or building failed): then
 * only the document rules run. Returns LS_OK or LS_ENOMEM. */
int ls_smell_check(const ls_json_doc *doc, const ls_model *model, const ls_smell_opts *opts,
                   ls_smell_report **out);
void ls_smell_report_free(ls_smell_report *r);

/* Edit distance (optimal string alignment: insert, delete, substitute, swap adjacent) between
 * a and b, giving up above max (returns max + 1). Used for "did you mean". */
int ls_smell_edit_distance(const char *a, size_t na, const char *b, size_t nb, int max);

#endif
