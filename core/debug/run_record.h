/* run_record.h (internal to core/debug): a debug run's recording into a run record
 * (core/record/record.h), for ls_dbg_run_opts.record. run.c calls it at the points of a run:
 * start (a run row begins: kind "debug" or "watch"), every module event the run sees (one
 * event row per enter/exit pair, per thread, with its wall time; module calls and times
 * summed), every reported stop (an event row of phase "stop", the statistics of the stop's
 * tensors that live in this process, a finding for an exception stop; then the rows so far
 * are committed, so the file holds them while the user looks around), and the end (the
 * module table with its calls and times, the run's status and result). Queries (the DAP
 * `sql` command) go through the same handle and see every row written so far.
 *
 * Thread-safety: every function may be called from any thread; one lock guards the file.
 * A write that fails (disk full, file removed) stops the recording; the function returns
 * the error once, with d saying why, so the run can tell the user. */
#ifndef LS_DEBUG_RUN_RECORD_H
#define LS_DEBUG_RUN_RECORD_H

#include "core/debug/run.h"
#include "core/record/record.h"

typedef struct ls__runrec ls__runrec;

/* Opens (creating or migrating) the record at path for runs of kind ("debug", "watch");
 * program labels watched runs (NULL: none). */
int ls__runrec_open(ls__runrec **out, const char *path, const char *kind, const char *program, ls_diag *d);
/* Ends a run still open as "terminated" and closes the file. */
void ls__runrec_close(ls__runrec *x);
/* A run of the target begins (each start and restart). */
int ls__runrec_start(ls__runrec *x, const ls_dbg_target_info *info, ls_diag *d);
/* A module event (target threads). */
int ls__runrec_event(ls__runrec *x, const ls_dbg_event *ev, ls_diag *d);
/* A stop reported to the front end (control thread, while the stop's scope is valid). */
int ls__runrec_stop(ls__runrec *x, ls_dbg_run *r, const ls_dbg_run_stop *stop, ls_diag *d);
/* The run ended: its module table from the session g, status and summary from end. */
int ls__runrec_end(ls__runrec *x, ls_dbg *g, const ls_dbg_run_end *end, ls_diag *d);
/* One read-only statement against the record (ls_rec_query). */
int ls__runrec_query(ls__runrec *x, const char *sql, int timeout_ms, ls_rec_row_fn fn, void *ud, ls_diag *d);

#endif
