/* cli.h: the subcommand handlers of the layerscope executable (see commands.def) and small
 * helpers they share. */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "core/debug/run.h"
#include "core/health/health.h"

#define X(name, handler, usage, desc) int handler(int argc, char **argv);
#include "cli/commands.def"
#undef X

/* Prints "layerscope NAME: usage: ..." for the named subcommand to f. */
void ls_cli_usage(FILE *f, const char *name);

/* Parses a whole decimal integer in [lo, hi] ("12abc", "", overflow: -1); 0 on success. */
int ls_cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* A JSON string from bytes that may not be valid UTF-8 (model messages quote the file):
 * invalid bytes become U+FFFD so jansson accepts it; new reference, json_null() for NULL. */
json_t *ls_cli_jstr(const char *s);

/* `layerscope diff` of two run records (diff_runs.c): runs 0 = each file's latest. */
int ls_cli_diff_runs(const char *a, const char *b, const char *format, int64_t run_a, int64_t run_b, int top);

/* ---- training health (health.c), shared by `watch --health` and `report` */

#define LS_CLI_HEALTH_EVERY 10 /* --health alone: sample every 10th step */

typedef ls_health_opts ls_cli_health_opts;
void ls_cli_health_opts_init(ls_cli_health_opts *o);
/* A threshold option a with value v: 1 taken (v consumed), 0 not one, -1 a bad value (said
 * on stderr, naming cmd). */
int ls_cli_health_opt(ls_cli_health_opts *o, const char *a, const char *v, const char *cmd);
extern const char *ls_cli_health_opts_help;
/* The compact line of a sampled step. */
void ls_cli_health_line(FILE *f, const ls_dbg_health_line *l, int show_rank);
/* Reads run run_id (0: the latest with health) of the record at path, computes its health
 * report (*out new, ls_health_report_free) and, with store, keeps the findings in the record's
 * `findings` table (a record that cannot be written is said on stderr, the report still returned).
 * Errors are said on stderr naming cmd; a negative LS_E* code. */
int ls_cli_health_load(const char *path, int64_t run_id, const ls_cli_health_opts *o, int store,
                       ls_health_report **out, const char *cmd);
/* The findings of run run_id (0: the latest with health) of the record at path, one line
 * each: their number, or a negative LS_E* code (said on stderr). */
int ls_cli_health_findings(FILE *f, const char *path, int64_t run_id, const ls_cli_health_opts *o);

#endif
