/* record.c: opening a run record (record.h), its schema and migrations, transactions, and
 * read-only queries. The schema is a list of steps, one per version: a file at version N
 * gets steps N+1.. in one transaction, so a failed migration leaves it as it was. A file is
 * ours when its application_id says so, or when it is a SQLite file with no tables at all
 * (then it gets the schema, as a new file does). Queries run on a connection whose
 * authorizer refuses ATTACH and anything that writes, on top of SQLite's own read-only flag
 * for LS_REC_READ, so `layerscope query` and the debugger's `sql` cannot change a record or
 * reach another file. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/file.h"
#include "core/record/record_int.h"

/* ---- the schema, one step per version (docs/run-record.md is the contract) ---------------- */

static const char *const k_steps[] = {
    /* 1: runs, modules, events */
    "CREATE TABLE runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  kind TEXT NOT NULL,\n"
    "  started_at TEXT NOT NULL,\n"
    "  ended_at TEXT,\n"
    "  status TEXT NOT NULL DEFAULT 'running',\n"
    "  config TEXT, weights TEXT, architecture TEXT, model_type TEXT,\n"
    "  seq INTEGER, threads INTEGER, compute TEXT, program TEXT,\n"
    "  cpu TEXT, peak_gflops REAL, peak_gbps REAL,\n"
    "  wall_ns INTEGER, total_ns INTEGER, summary TEXT);\n"
    "CREATE TABLE modules (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL,\n"
    "  name TEXT NOT NULL, type TEXT, kind TEXT,\n"
    "  parent INTEGER, depth INTEGER NOT NULL, layer INTEGER,\n"
    "  calls INTEGER NOT NULL DEFAULT 0, total_ns INTEGER, self_ns INTEGER,\n"
    "  flops INTEGER, self_flops INTEGER, weight_bytes INTEGER, act_bytes INTEGER,\n"
    "  gflops REAL, gbps REAL, intensity REAL, bound TEXT, roof_frac REAL,\n"
    "  PRIMARY KEY (run_id, idx)) WITHOUT ROWID;\n"
    "CREATE TABLE events (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  seq INTEGER NOT NULL,\n"
    "  module INTEGER,\n"
    "  phase TEXT NOT NULL,\n"
    "  thread INTEGER NOT NULL,\n"
    "  step INTEGER NOT NULL DEFAULT 0,\n"
    "  start_ns INTEGER NOT NULL,\n"
    "  dur_ns INTEGER NOT NULL CHECK (dur_ns >= 0),\n"
    "  PRIMARY KEY (run_id, seq)) WITHOUT ROWID;\n"
    "CREATE INDEX events_module ON events(run_id, module);\n",
    /* 2: tensor statistics (sampled at every module, or at a debugger's stops) and findings */
    "CREATE TABLE tensor_stats (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  module INTEGER NOT NULL,\n"
    "  tensor TEXT NOT NULL,\n"
    "  source TEXT NOT NULL,\n"
    "  step INTEGER NOT NULL DEFAULT 0,\n"
    "  thread INTEGER NOT NULL DEFAULT 1,\n"
    "  event_seq INTEGER,\n"
    "  dtype TEXT, shape TEXT,\n"
    "  count INTEGER NOT NULL, finite INTEGER, nan INTEGER NOT NULL, pinf INTEGER NOT NULL,\n"
    "  ninf INTEGER NOT NULL, zeros INTEGER,\n"
    "  mean REAL, std REAL, min REAL, max REAL, absmax REAL);\n"
    "CREATE INDEX tensor_stats_module ON tensor_stats(run_id, module);\n"
    "CREATE TABLE findings (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  module INTEGER,\n"
    "  kind TEXT NOT NULL,\n"
    "  step INTEGER NOT NULL DEFAULT 0,\n"
    "  thread INTEGER NOT NULL DEFAULT 1,\n"
    "  event_seq INTEGER,\n"
    "  message TEXT NOT NULL);\n",
    /* 3: training health sampled by the agent (steps, health) and where modules are called
     * in the user's source (sources) */
    "CREATE TABLE steps (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  step INTEGER NOT NULL,\n"
    "  rank INTEGER NOT NULL DEFAULT 0,\n"
    "  thread INTEGER NOT NULL DEFAULT 1,\n"
    "  loss REAL, grad_norm REAL, scale REAL,\n"
    "  sample_ns INTEGER);\n"
    "CREATE INDEX steps_step ON steps(run_id, step);\n"
    "CREATE TABLE health (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  step INTEGER NOT NULL,\n"
    "  rank INTEGER NOT NULL DEFAULT 0,\n"
    "  thread INTEGER NOT NULL DEFAULT 1,\n"
    "  module INTEGER NOT NULL,\n"
    "  tensor TEXT NOT NULL,\n"
    "  shape TEXT, count INTEGER,\n"
    "  grad_norm REAL, grad_rms REAL, grad_absmax REAL,\n"
    "  weight_norm REAL, update_norm REAL, update_ratio REAL,\n"
    "  mean REAL, std REAL, absmax REAL, zeros REAL, dead REAL, units INTEGER,\n"
    "  calls INTEGER, time_ns INTEGER);\n"
    "CREATE INDEX health_module ON health(run_id, module);\n"
    "CREATE INDEX health_step ON health(run_id, step);\n"
    "CREATE TABLE sources (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  rank INTEGER NOT NULL DEFAULT 0,\n"
    "  module INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  file TEXT NOT NULL,\n"
    "  line INTEGER NOT NULL,\n"
    "  col INTEGER, end_col INTEGER,\n"
    "  step INTEGER,\n"
    "  inputs TEXT, outputs TEXT);\n"
    "CREATE INDEX sources_file ON sources(file, line);\n",
    /* 4: training-health findings are stored as findings rows, with the rank, the module or
     * parameter they name and the figure that tripped the rule beside what it was compared with */
    "ALTER TABLE findings ADD COLUMN rank INTEGER;\n"
    "ALTER TABLE findings ADD COLUMN name TEXT;\n"
    "ALTER TABLE findings ADD COLUMN value REAL;\n"
    "ALTER TABLE findings ADD COLUMN baseline REAL;\n",
};

#define N_STEPS ((int)(sizeof k_steps / sizeof k_steps[0]))
_Static_assert(N_STEPS == LS_REC_SCHEMA_VERSION, "one schema step per version");

/* ---- errors ---------------------------------------------------------------------------- */

int ls__rec_fail(ls_rec *r, ls_diag *d, const char *what) {
  int code = sqlite3_extended_errcode(r->db) & 0xff;
  int rc = code == SQLITE_NOMEM ? LS_ENOMEM : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? LS_EINVAL : LS_EIO;
  return ls_diag_set_at(d, rc, r->path, -1, "%s: %s: %s%s", r->path, what, sqlite3_errmsg(r->db),
                        rc == LS_EINVAL ? " (the file is damaged or not a database)" : "");
}

/* ---- opening --------------------------------------------------------------------------- */

static int pragma_int(ls_rec *r, const char *sql, int *out) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    *out = sqlite3_column_int(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

static int exec(ls_rec *r, const char *sql, ls_diag *d, const char *what) {
  return sqlite3_exec(r->db, sql, NULL, NULL, NULL) == SQLITE_OK ? LS_OK : ls__rec_fail(r, d, what);
}

/* Reads the header pragmas; decides whether the file is a run record; migrates for WRITE. */
static int check_schema(ls_rec *r, ls_diag *d) {
  int app = 0, ver = 0, tables = 0;
  if (pragma_int(r, "PRAGMA application_id", &app) != SQLITE_OK ||
      pragma_int(r, "PRAGMA user_version", &ver) != SQLITE_OK ||
      pragma_int(r, "SELECT count(*) FROM sqlite_master", &tables) != SQLITE_OK)
    return ls__rec_fail(r, d, "cannot read it as a SQLite database");
  int blank = app == 0 && ver == 0 && tables == 0;
  if (!blank && app != LS_REC_APPLICATION_ID)
    return ls_diag_set_at(d, LS_EINVAL, r->path, -1,
                          "%s: a SQLite database, but not a layerscope run record (application_id %d)", r->path, app);
  if (ver > LS_REC_SCHEMA_VERSION)
    return ls_diag_set_at(d, LS_EUNSUPPORTED, r->path, -1,
                          "%s: written by a newer layerscope (record schema %d; this one knows up to %d)", r->path, ver,
                          LS_REC_SCHEMA_VERSION);
  if (ver < 1 && !r->writable)
    return ls_diag_set_at(d, LS_EINVAL, r->path, -1, "%s: an empty SQLite database, no runs recorded", r->path);
  r->version = ver;
  if (!r->writable || ver == LS_REC_SCHEMA_VERSION) return LS_OK;
  /* migrate (or create) in one transaction */
  int rc = exec(r, "BEGIN IMMEDIATE", d, "cannot lock it to update its schema");
  for (int v = ver; !rc && v < LS_REC_SCHEMA_VERSION; v++) rc = exec(r, k_steps[v], d, "schema update failed");
  if (!rc) {
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d", LS_REC_APPLICATION_ID,
             LS_REC_SCHEMA_VERSION);
    rc = exec(r, sql, d, "schema update failed");
  }
  if (!rc) rc = exec(r, "COMMIT", d, "schema update failed");
  if (rc) {
    sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
  }
  r->migrated_from = ver;
  r->version = LS_REC_SCHEMA_VERSION;
  return LS_OK;
}

/* Denies ATTACH / DETACH (another file) on every connection, and anything that writes on a
 * read-only one; the rest is allowed. */
static int authorize(void *ud, int action, const char *a, const char *b, const char *c, const char *e) {
  (void)a; (void)b; (void)c; (void)e;
  ls_rec *r = ud;
  if (action == SQLITE_ATTACH || action == SQLITE_DETACH) return r->denied = action, SQLITE_DENY;
  if (r->query_only) {
    switch (action) {
    case SQLITE_SELECT: case SQLITE_READ: case SQLITE_FUNCTION: case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_PRAGMA: {
      /* a pragma with a value sets something, but for those that only read a table's shape */
      static const char *const reading[] = {"table_info", "table_xinfo", "index_list", "index_info",
                                            "index_xinfo", "foreign_key_list"};
      if (!b) return SQLITE_OK;
      for (size_t i = 0; i < sizeof reading / sizeof reading[0]; i++)
        if (a && strcmp(a, reading[i]) == 0) return SQLITE_OK;
      return r->denied = action, SQLITE_DENY;
    }
    default: return r->denied = action, SQLITE_DENY;
    }
  }
  return SQLITE_OK;
}

static int setup(ls_rec *r, ls_diag *d) {
  sqlite3_extended_result_codes(r->db, 1);
  sqlite3_busy_timeout(r->db, 5000);
  sqlite3_limit(r->db, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_db_config(r->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config(r->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
  sqlite3_set_authorizer(r->db, authorize, r);
  if (r->writable && exec(r, "PRAGMA foreign_keys = ON", d, "cannot configure it")) return LS_EIO;
  return check_schema(r, d);
}

static ls_rec *rec_new(const char *path) {
  ls_rec *r = ls_calloc(1, sizeof *r);
  if (!r) return NULL;
  snprintf(r->path, sizeof r->path, "%s", path);
  r->migrated_from = -1;
  return r;
}

int ls_rec_open(ls_rec **out, const char *path, ls_rec_mode mode, ls_diag *d) {
  *out = NULL;
  /* The file itself first, with core/base/file.h's checks (a FIFO never blocks us), so a
   * missing or odd file gets that message rather than SQLite's. */
  int fd = -1;
  uint64_t size = 0;
  int rc = ls_file_open_ro(path, &fd, &size, d);
  if (rc == LS_ENOENT && mode == LS_REC_WRITE) {
    ls_diag_init(d);
  } else if (rc) {
    return rc;
  } else {
    unsigned char head[16];
    ssize_t n = size >= 16 ? pread(fd, head, 16, 0) : 0;
    close(fd);
    if (size > 0 && (n != 16 || !ls_rec_sniff(head, 16)))
      return ls_diag_set_at(d, LS_EINVAL, path, -1, "%s: not a SQLite database (a run record is one)", path);
  }
  ls_rec *r = rec_new(path);
  if (!r) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  r->writable = mode == LS_REC_WRITE;
  r->query_only = !r->writable;
  int flags = (r->writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
              SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (sqlite3_open_v2(path, &r->db, flags, NULL) != SQLITE_OK) {
    rc = r->db ? ls__rec_fail(r, d, "cannot open it") : ls_diag_set(d, LS_ENOMEM, "out of memory");
    ls_rec_close(r);
    return rc;
  }
  if ((rc = setup(r, d))) {
    ls_rec_close(r);
    return rc;
  }
  *out = r;
  return LS_OK;
}

int ls_rec_open_mem(ls_rec **out, const void *bytes, size_t len, ls_diag *d) {
  *out = NULL;
  if (len < 16 || !ls_rec_sniff(bytes, len))
    return ls_diag_set(d, LS_EINVAL, "(memory): not a SQLite database (a run record is one)");
  ls_rec *r = rec_new("(memory)");
  if (!r) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  r->query_only = 1;
  unsigned char *copy = sqlite3_malloc64(len);
  if (!copy || sqlite3_open_v2(":memory:", &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    sqlite3_free(copy);
    ls_rec_close(r);
    return ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  memcpy(copy, bytes, len);
  if (sqlite3_deserialize(r->db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
                          SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
    int rc = ls__rec_fail(r, d, "cannot read it");
    ls_rec_close(r);
    return rc;
  }
  int rc = setup(r, d);
  if (rc) {
    ls_rec_close(r);
    return rc;
  }
  *out = r;
  return LS_OK;
}

void ls_rec_close(ls_rec *r) {
  if (!r) return;
  for (int i = 0; i < LS__REC_N_STMTS; i++) sqlite3_finalize(r->stmts[i]);
  sqlite3_close_v2(r->db);
  ls_free(r);
}

int ls_rec_version(const ls_rec *r) { return r->version; }

int ls_rec_sniff(const void *head, size_t len) {
  return len >= 16 && memcmp(head, "SQLite format 3", 16) == 0;
}

/* ---- transactions ---------------------------------------------------------------------- */

int ls_rec_begin(ls_rec *r, ls_diag *d) { return exec(r, "BEGIN IMMEDIATE", d, "cannot start writing"); }
int ls_rec_commit(ls_rec *r, ls_diag *d) { return exec(r, "COMMIT", d, "cannot commit"); }
void ls_rec_rollback(ls_rec *r) { sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL); }

/* ---- queries --------------------------------------------------------------------------- */

typedef struct deadline {
  struct timespec until;
  int hit;
} deadline;

static int progress(void *ud) {
  deadline *dl = ud;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (now.tv_sec > dl->until.tv_sec || (now.tv_sec == dl->until.tv_sec && now.tv_nsec >= dl->until.tv_nsec))
    return dl->hit = 1;
  return 0;
}

/* Column values of the current row as ls_rec_value (borrowed until the next step). */
static void row_values(sqlite3_stmt *st, int n, ls_rec_value *v) {
  for (int c = 0; c < n; c++) {
    memset(&v[c], 0, sizeof v[c]);
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_INTEGER: v[c].type = LS_REC_INT; v[c].i = sqlite3_column_int64(st, c); break;
    case SQLITE_FLOAT: v[c].type = LS_REC_REAL; v[c].f = sqlite3_column_double(st, c); break;
    case SQLITE_TEXT:
      v[c].type = LS_REC_TEXT;
      v[c].s = (const char *)sqlite3_column_text(st, c);
      v[c].len = (size_t)sqlite3_column_bytes(st, c);
      if (!v[c].s) v[c].type = LS_REC_NULL; /* out of memory converting */
      break;
    case SQLITE_BLOB: v[c].type = LS_REC_BLOB; v[c].len = (size_t)sqlite3_column_bytes(st, c); break;
    default: v[c].type = LS_REC_NULL;
    }
  }
}

static int only_space(const char *s) {
  for (; *s; s++) {
    if (*s == '-' && s[1] == '-') { /* a trailing comment */
      while (*s && *s != '\n') s++;
      if (!*s) break;
    } else if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != ';') {
      return 0;
    }
  }
  return 1;
}

int ls_rec_query(ls_rec *r, const char *sql, int timeout_ms, ls_rec_row_fn fn, void *ud, ls_diag *d) {
  sqlite3_stmt *st = NULL;
  const char *tail = NULL;
  int was = r->query_only;
  r->query_only = 1; /* the authorizer runs while preparing */
  r->denied = 0;
  int prc = sqlite3_prepare_v2(r->db, sql, -1, &st, &tail);
  r->query_only = was;
  if (prc != SQLITE_OK && r->denied == SQLITE_ATTACH)
    return ls_diag_set(d, LS_EINVAL, "ATTACH is refused: a query reads this run record and no other file");
  if (prc != SQLITE_OK && r->denied)
    return ls_diag_set(d, LS_EINVAL, "the run record is queried read-only: this statement would change it");
  if (prc != SQLITE_OK) {
    int off = sqlite3_error_offset(r->db);
    if (off >= 0)
      return ls_diag_set(d, LS_EINVAL, "SQL error at character %d: %s", off + 1, sqlite3_errmsg(r->db));
    return ls_diag_set(d, LS_EINVAL, "SQL error: %s", sqlite3_errmsg(r->db));
  }
  if (!st) return ls_diag_set(d, LS_EINVAL, "no SQL statement given");
  if (tail && !only_space(tail)) {
    sqlite3_finalize(st);
    return ls_diag_set(d, LS_EINVAL, "one SQL statement at a time (more follows at character %d)",
                       (int)(tail - sql) + 1);
  }
  if (!sqlite3_stmt_readonly(st)) {
    sqlite3_finalize(st);
    return ls_diag_set(d, LS_EINVAL, "the run record is queried read-only: this statement would change it");
  }
  deadline dl = {.hit = 0};
  if (timeout_ms > 0) {
    clock_gettime(CLOCK_MONOTONIC, &dl.until);
    dl.until.tv_sec += timeout_ms / 1000;
    dl.until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.until.tv_nsec >= 1000000000L) {
      dl.until.tv_sec++;
      dl.until.tv_nsec -= 1000000000L;
    }
    sqlite3_progress_handler(r->db, 10000, progress, &dl);
  }
  int n = sqlite3_column_count(st);
  const char *names[256];
  ls_rec_value vals[256];
  int rc = LS_OK;
  if (n > 256) rc = ls_diag_set(d, LS_ELIMIT, "the query returns %d columns: at most 256", n);
  for (int c = 0; c < n && !rc; c++) {
    names[c] = sqlite3_column_name(st, c);
    if (!names[c]) rc = ls_diag_set(d, LS_ENOMEM, "out of memory");
  }
  if (!rc && fn(ud, -1, n, names, NULL)) n = -1;
  for (int64_t row = 0; !rc && n >= 0; row++) {
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) break;
    if (s != SQLITE_ROW) {
      if (dl.hit) rc = ls_diag_set(d, LS_ECANCELED, "the query ran longer than %d ms and was stopped", timeout_ms);
      else rc = ls__rec_fail(r, d, "query failed");
      break;
    }
    row_values(st, n, vals);
    if (fn(ud, row, n, names, vals)) break;
  }
  if (timeout_ms > 0) sqlite3_progress_handler(r->db, 0, NULL, NULL);
  sqlite3_finalize(st);
  return rc;
}

/* ---- time stamps ----------------------------------------------------------------------- */

void ls__rec_now_utc(char *buf, size_t cap) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}
