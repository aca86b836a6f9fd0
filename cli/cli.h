/* cli.h: the subcommand handlers of the layerscope executable (see commands.def) and small
 * helpers they share. */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <stdint.h>
#include <stdio.h>

#define X(name, handler, usage, desc) int handler(int argc, char **argv);
#include "cli/commands.def"
#undef X

/* Prints "layerscope NAME: usage: ..." for the named subcommand to f. */
void ls_cli_usage(FILE *f, const char *name);

/* Parses a whole decimal integer in [lo, hi] ("12abc", "", overflow: -1); 0 on success. */
int ls_cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* `layerscope diff` of two run records (diff_runs.c): runs 0 = each file's latest. */
int ls_cli_diff_runs(const char *a, const char *b, const char *format, int64_t run_a, int64_t run_b, int top);

#endif
