"""test_record.py: the run record through the CLI: `layerscope profile --record` creates
it (or adds to it), `layerscope query` reads it, and both fail clearly on bad input.

The record is read back here independently with Python's sqlite3 module (the schema's
version and application id, every table the contract in docs/run-record.md names, with its
columns), and its figures are checked against the same profile printed as JSON: each
module's times and FLOPs, each module call an event whose duration is the module's total.
Every SQL example of docs/run-record.md is run through `layerscope query` in all three
formats (table, CSV, JSON: the CSV and JSON agree with what sqlite3 returns for the same
query). Query errors: bad SQL (the message says where), two statements, statements that
write, ATTACH, pragmas that set, a missing file, a directory, a file that is not SQLite, a
damaged one, a SQLite file that is not a record, a record of a newer schema; none changes
the file. A blank SQLite file is given the schema when a profile is recorded into it."""
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

LS = os.environ.get("LAYERSCOPE", "layerscope")
SRC = os.environ.get("LS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FAILS = []
LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
         "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
         "num_hidden_layers": 2, "vocab_size": 96, "max_position_embeddings": 512, "torch_dtype": "float32"}
VERSION = 1
APP_ID = 0x4C535252
# the contract: table -> columns (docs/run-record.md)
SCHEMA = {
    "runs": ["id", "kind", "started_at", "ended_at", "status", "config", "weights", "architecture", "model_type",
             "seq", "threads", "compute", "program", "cpu", "peak_gflops", "peak_gbps", "wall_ns", "total_ns",
             "summary"],
    "modules": ["run_id", "idx", "name", "type", "kind", "parent", "depth", "layer", "calls", "total_ns",
                "self_ns", "flops", "self_flops", "weight_bytes", "act_bytes", "gflops", "gbps", "intensity",
                "bound", "roof_frac"],
    "events": ["run_id", "seq", "module", "phase", "thread", "step", "start_ns", "dur_ns"],
}


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def ls(*args):
    return subprocess.run([LS] + list(args), capture_output=True, text=True, timeout=300)


def doc_queries():
    text = open(os.path.join(SRC, "docs", "run-record.md")).read()
    return [q.strip() for q in re.findall(r"```sql\n(.*?)```", text, re.S)]


def main():
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "config.json")
        with open(cfg, "w") as f:
            json.dump(LLAMA, f)
        db = os.path.join(d, "run.db")
        profs = []
        for seed, extra in ((1, ["--no-peaks"]), (2, ["--peak-gflops", "50", "--peak-gbps", "5"])):
            p = ls("profile", cfg, "--random-tokens", "32", "--seed", str(seed), "--threads", "2", "--record", db,
                   "--format", "json", *extra)
            check(p.returncode == 0, "profile --record: exit %d: %s" % (p.returncode, p.stderr))
            check("recorded as run %d in" % (len(profs) + 1) in p.stderr, "no 'recorded as run' line: " + p.stderr)
            profs.append(json.loads(p.stdout) if p.returncode == 0 else None)

        con = sqlite3.connect(db)
        check(con.execute("PRAGMA user_version").fetchone()[0] == VERSION, "schema version")
        check(con.execute("PRAGMA application_id").fetchone()[0] == APP_ID, "application_id")
        for table, cols in SCHEMA.items():
            have = [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)]
            check(have == cols, "%s columns %s, the contract says %s" % (table, have, cols))
        runs = con.execute("SELECT id, kind, status, seq, threads, total_ns, wall_ns, peak_gflops, config, weights "
                           "FROM runs ORDER BY id").fetchall()
        check(len(runs) == 2, "%d runs recorded" % len(runs))
        for (rid, kind, status, seq, threads, total, wall, peak, config, weights), prof in zip(runs, profs):
            if not prof:
                continue
            check((kind, status, seq, threads, config, weights) == ("profile", "ok", 32, 2, cfg, None),
                  "run %d: %s" % (rid, (kind, status, seq, threads, config, weights)))
            check(total == prof["total_ns"] and wall == prof["wall_ns"], "run %d: times" % rid)
            check((peak is None) == (rid == 1), "run %d: peaks %s" % (rid, peak))
            mods = {m["name"]: m for m in prof["modules"]}
            rows = con.execute("SELECT idx, name, calls, total_ns, self_ns, flops, kind, bound FROM modules "
                               "WHERE run_id = ?", (rid,)).fetchall()
            check(sum(1 for r in rows if r[2] > 0) == len(mods), "run %d: modules that ran" % rid)
            check(sum(r[4] for r in rows if r[4] is not None) == total, "run %d: self times sum" % rid)
            for idx, name, calls, tot, self_, flops, kind, bound in rows:
                m = mods.get(name)
                if not m:
                    check(calls == 0 and tot is None, "run %d: %s did not run but has figures" % (rid, name))
                    continue
                check((tot, self_, flops, kind, idx) == (m["total_ns"], m["self_ns"], m["flops"], m["kind"], m["index"]),
                      "run %d: %s differs from the profile" % (rid, name))
                check((bound is None) == (rid == 1), "run %d: %s bound %s" % (rid, name, bound))
            ev = con.execute("SELECT e.module, e.dur_ns, m.total_ns FROM events e JOIN modules m "
                             "ON m.run_id = e.run_id AND m.idx = e.module WHERE e.run_id = ? AND e.phase = 'forward'",
                             (rid,)).fetchall()
            check(len(ev) == sum(m["calls"] for m in prof["modules"]), "run %d: one event per module call" % rid)
            check(all(dur == tot for _, dur, tot in ev), "run %d: an event's duration is not its module's total" % rid)
            bad = con.execute("SELECT count(*) FROM events WHERE run_id = ? AND (dur_ns < 0 OR start_ns < 0)",
                              (rid,)).fetchone()[0]
            check(bad == 0, "run %d: negative event times" % rid)
        con.close()

        # the documented examples, in the three formats
        queries = doc_queries()
        check(len(queries) >= 4, "docs/run-record.md has %d SQL examples" % len(queries))
        con = sqlite3.connect(db)
        for q in queries:
            want = con.execute(q).fetchall()
            p = ls("query", db, q)
            check(p.returncode == 0 and "row" in p.stdout, "doc query (table): %s: %s" % (q[:60], p.stderr))
            p = ls("query", db, q, "--format", "csv")
            check(p.returncode == 0, "doc query (csv): %s: %s" % (q[:60], p.stderr))
            got = list(csv.reader(io.StringIO(p.stdout)))[1:]
            # (a worker that got no CPU during the pass has no jobs: that query may be empty)
            check(len(got) == len(want) and (len(want) > 0 or "'job'" in q),
                  "doc query %r: %d csv rows, sqlite3 %d" % (q[:60], len(got), len(want)))
            for g, w in zip(got, want):
                for a, b in zip(g, w):
                    ok = (b is None and a == "") or (isinstance(b, float) and float(a) == b) or str(b) == a
                    check(ok, "doc query %r: csv %r vs sqlite3 %r" % (q[:40], a, b))
            p = ls("query", db, q, "--format", "json")
            check(p.returncode == 0, "doc query (json): %s" % p.stderr)
            rows = json.loads(p.stdout) if p.returncode == 0 else []
            check([list(r.values()) for r in rows] == [list(w) for w in want], "doc query %r: json rows differ" % q[:60])
        con.close()

        # errors: each exits 1 with a message that says what is wrong; nothing changes the file
        before = open(db, "rb").read()
        notdb = os.path.join(d, "not.db")
        with open(notdb, "w") as f:
            f.write("hello, not a database\n")
        damaged = os.path.join(d, "damaged.db")
        raw = bytearray(before)
        raw[100:] = b"\xa5" * (len(raw) - 100)
        open(damaged, "wb").write(raw)
        other = os.path.join(d, "other.db")
        c = sqlite3.connect(other)
        c.execute("CREATE TABLE t (x)")
        c.commit()
        c.close()
        newer = os.path.join(d, "newer.db")
        open(newer, "wb").write(before)
        c = sqlite3.connect(newer)
        c.execute("PRAGMA user_version = 99")
        c.commit()
        c.close()
        cases = [
            ([db, "SELEC * FROM runs"], "syntax error"),
            ([db, "SELECT nope FROM runs"], "no such column: nope"),
            ([db, "SELECT * FROM runz"], "no such table: runz"),
            ([db, "SELECT 1; SELECT 2"], "one SQL statement at a time"),
            ([db, "DELETE FROM runs"], "read-only"),
            ([db, "UPDATE runs SET kind = 'x'"], "read-only"),
            ([db, "CREATE TABLE x (y)"], "read-only"),
            ([db, "PRAGMA user_version = 5"], "read-only"),
            ([db, "ATTACH '%s' AS o" % other], "ATTACH is refused"),
            ([db, ""], "no SQL statement"),
            ([os.path.join(d, "missing.db"), "SELECT 1"], "missing.db"),
            ([d, "SELECT 1"], "not a regular file"),
            ([notdb, "SELECT 1"], "not a SQLite database"),
            ([damaged, "SELECT * FROM modules"], "damaged"),
            ([other, "SELECT 1"], "not a layerscope run record"),
            ([newer, "SELECT 1"], "newer layerscope"),
        ]
        for args, want in cases:
            p = ls("query", *args)
            check(p.returncode == 1 and want in p.stderr and p.stderr.startswith("layerscope query: "),
                  "query %s: exit %d, stderr %r (want %r)" % (args[1][:40], p.returncode, p.stderr, want))
        check(open(db, "rb").read() == before, "a refused query changed the record")
        check(not os.path.exists(os.path.join(d, "missing.db")), "query created the missing file")
        for args in (["query"], ["query", db], ["query", db, "SELECT 1", "--format", "xml"], ["query", db, "a", "b"]):
            check(ls(*args).returncode == 2, "%s: not a usage error" % args)
        # recording into files that cannot take a run: refused before the pass, file untouched
        for path, want in ((other, "not a layerscope run record"), (newer, "newer layerscope"), (notdb, "not a SQLite")):
            snap = open(path, "rb").read()
            p = ls("profile", cfg, "--random-tokens", "4", "--no-peaks", "--record", path)
            check(p.returncode == 1 and want in p.stderr, "profile --record %s: exit %d: %s" % (path, p.returncode, p.stderr))
            check(open(path, "rb").read() == snap, "profile --record changed %s" % path)

        # a blank SQLite file gets the schema
        blank = os.path.join(d, "blank.db")
        sqlite3.connect(blank).close()
        open(blank, "ab").close()
        p = ls("profile", cfg, "--random-tokens", "4", "--no-peaks", "--record", blank)
        check(p.returncode == 0, "profile --record into an empty file: %s" % p.stderr)
        p = ls("query", blank, "SELECT count(*) AS n FROM runs", "--format", "json")
        check(p.returncode == 0 and json.loads(p.stdout) == [{"n": 1}], "empty file: %s %s" % (p.stdout, p.stderr))
    if FAILS:
        print("%d failure(s)" % len(FAILS))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
