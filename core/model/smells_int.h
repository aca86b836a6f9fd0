/* smells_int.h (internal to the smells files): the finding builder shared by smells.c (rule
 * table, report, document and schema rules) and smells_rules.c (architecture rules).
 * A rule fills an ls__sb (fixed-size scratch for related spans and fixes) and commits it;
 * the commit copies everything into the report's arena. */
#ifndef LS_SMELLS_INT_H
#define LS_SMELLS_INT_H

#include <stdarg.h>

#include "core/model/smells.h"

#define LS__SB_RELATED 6
#define LS__SB_FIXES 3
#define LS__SB_EDITS 2

typedef struct ls__sctx {
  const ls_json_doc *doc;
  const ls_model *m;           /* NULL when no model could be built */
  const ls_smell_opts *opts;
  ls_smell_report *rep;
  ls_smell_finding *list;      /* growable (ls_reallocarray); copied into the arena at the end */
  size_t n, cap;
  int oom;
} ls__sctx;

typedef struct ls__sb {
  ls_smell_id rule;
  ls_smell_severity severity;
  const char *key;
  char msg[512];
  ls_json_span span;
  ls_smell_related related[LS__SB_RELATED];
  char related_msg[LS__SB_RELATED][160];
  size_t n_related;
  struct {
    char title[160];
    ls_json_span span[LS__SB_EDITS];
    char text[LS__SB_EDITS][96];
    size_t n_edits;
    int preferred;
  } fix[LS__SB_FIXES];
  size_t n_fixes;
} ls__sb;

/* Starts a finding of rule at span with a printf message; severity is the rule's default. */
void ls__sb_init(ls__sb *b, ls_smell_id rule, ls_json_span span, const char *key,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ls__sb_related(ls__sb *b, ls_json_span span, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a fix with one edit (replace span by text); returns its index for a second edit. */
int ls__sb_fix(ls__sb *b, int preferred, ls_json_span span, const char *text, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
void ls__sb_fix_edit(ls__sb *b, int fix, ls_json_span span, const char *text);
/* Copies the finding into the report unless its rule is disabled. */
void ls__sb_commit(ls__sctx *c, ls__sb *b);

/* Architecture rules (smells_rules.c); each reads c->m and commits its findings. */
void ls__smell_rules_run(ls__sctx *c);
/* Rules of the families added for issue 17 (smells_families.c). */
void ls__smell_family_rules_run(ls__sctx *c);

/* Helpers shared by the rules. */
/* The resolved value with this role when it is usable: present and valid, or defaulted. */
const ls_model_value *ls__sv(const ls_model *m, ls_model_role role);
/* Its integer, when it is an integer (or an integral float); 0 on success. */
int ls__sv_int(const ls_model_value *v, int64_t *out);
int ls__sv_num(const ls_model_value *v, double *out);
/* The key's span when present, else the fallback. */
ls_json_span ls__sv_span(const ls_model_value *v, ls_json_span fallback);
/* Key name as written, or the canonical name. */
const char *ls__sv_name(const ls_model_value *v);
/* A span to pin findings on keys that are absent: the model_type value, else the start. */
ls_json_span ls__anchor(const ls__sctx *c);

#endif
