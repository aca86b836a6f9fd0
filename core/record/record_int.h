/* record_int.h (internal to core/record): the handle shared by record.c (opening, schema,
 * queries), record_write.c (rows) and record_profile.c (a profile as rows). */
#ifndef LS_RECORD_INT_H
#define LS_RECORD_INT_H

#include <sqlite3.h>
#include <unistd.h>

#include "core/record/record.h"

/* Prepared statements kept for the life of the handle (record_write.c). */
enum {
  LS__REC_RUN_BEGIN = 0, LS__REC_RUN_END, LS__REC_MODULE, LS__REC_EVENT, LS__REC_TSTATS, LS__REC_FINDING,
  LS__REC_MODULE_DEL, LS__REC_STEP, LS__REC_HEALTH, LS__REC_SOURCE_UPDATE, LS__REC_SOURCE_INSERT, LS__REC_FINDING_ROW,
  LS__REC_FINDING_CLEAR, LS__REC_N_STMTS
};

struct ls_rec {
  sqlite3 *db;
  char path[1024];         /* for messages */
  int writable;            /* opened with LS_REC_WRITE */
  int query_only;          /* the authorizer allows reading only (always on a READ handle;
                              on a WRITE handle while ls_rec_query prepares) */
  int version;             /* schema version after opening */
  int migrated_from;       /* the version it had before a migration, -1 when none ran */
  int denied;              /* the authorizer action code last refused, 0 when none */
  sqlite3_stmt *stmts[LS__REC_N_STMTS];
};

/* Sets d from the connection's last error: "<path>: <what>: <sqlite message>". Returns the
 * LS_E* code. */
int ls__rec_fail(ls_rec *r, ls_diag *d, const char *what);
/* The prepared statement k (record_write.c), its bindings cleared; LS_ESTATE on a handle
 * opened for reading. */
int ls__rec_stmt(ls_rec *r, int k, sqlite3_stmt **out, ls_diag *d);
/* Steps st to its end and resets it: LS_OK, or the failure as ls__rec_fail with what. */
int ls__rec_run(ls_rec *r, sqlite3_stmt *st, ls_diag *d, const char *what);
/* Binds v at i unless it is NaN or infinite (the column stays NULL: unknown). */
void ls__rec_bind_real(sqlite3_stmt *st, int i, double v);
/* Binds s at i unless it is NULL; v at i unless it is negative (unknown). */
void ls__rec_bind_text(sqlite3_stmt *st, int i, const char *s);
void ls__rec_bind_count(sqlite3_stmt *st, int i, int64_t v);
/* "2026-12-07T05:04:33.123Z" (UTC, now). */
void ls__rec_now_utc(char *buf, size_t cap);

#endif
