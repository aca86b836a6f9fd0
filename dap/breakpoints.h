/* breakpoints.h: DAP breakpoint arguments <-> the run's breakpoint sets (breakpoints.c):
 * function breakpoints on module globs, source breakpoints on lines of the launched
 * config.json, and the exception filters nan, inf and fp16. */
#ifndef LS_DAP_BREAKPOINTS_H
#define LS_DAP_BREAKPOINTS_H

#include <jansson.h>

#include "dap/debugger.h"

/* The response bodies of setFunctionBreakpoints / setBreakpoints; NULL with *why. */
json_t *dap_bps_set_function(dap_dbg *x, json_t *bps, const char **why);
json_t *dap_bps_set_source(dap_server *s, dap_dbg *x, json_t *args, const char **why);
/* setExceptionBreakpoints: 0, or LS_EINVAL with *why. */
int dap_bps_set_exceptions(dap_dbg *x, json_t *filters, json_t *options, const char **why);
/* The initialize capability `exceptionBreakpointFilters`. */
json_t *dap_bps_exception_filters(void);

#endif
