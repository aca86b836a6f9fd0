"""test_record.py: the run record through the CLI: `layerscope profile --record` creates
it (or adds to it, or migrates an older one), `layerscope query` reads it, `layerscope
diff` compares two runs, and all fail clearly on bad input.

The record is read back here independently with Python's sqlite3 module (the schema's
version and application id, every table the contract in docs/run-record.md names, with its
columns), and its figures are checked against the same profile printed as JSON: each
module's times and FLOPs, each module call an event whose duration is the module's total.
Every SQL example of docs/run-record.md is run through `layerscope query` in all three
formats (table, CSV, JSON: the CSV and JSON agree with what sqlite3 returns for the same
query), on three runs whose weights make each example answer: plain weights, then the
down projection of layer 1 scaled 100x (its output's std grows 100x), then a NaN planted in
it (the first module with a NaN is that projection). The sampled output statistics agree
with numpy's on the same module output dumped by `layerscope run --dump`. `diff` names the
scaled projection among the modules whose statistics moved most, and refuses a hand-edited
row naming the table, run and row. Query errors: bad SQL (the message says where), two statements, statements that
write, ATTACH, pragmas that set, a missing file, a directory, a file that is not SQLite, a
damaged one, a SQLite file that is not a record, a record of a newer schema; none changes
the file. A debug session recorded with `layerscope debug --record` answers `sql` at its
stops and leaves its run, stops, statistics and NaN finding in the file. A blank SQLite
file is given the schema when a profile is recorded into it, and a
version-1 record (made here with the version-1 tables of the contract) is migrated to
version 2 with its runs kept."""
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "numeric"))
import lib_tensorgen as tg  # noqa: E402

LS = os.environ.get("LAYERSCOPE", "layerscope")
SRC = os.environ.get("LS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FAILS = []
LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
         "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
         "num_hidden_layers": 2, "vocab_size": 96, "max_position_embeddings": 512, "torch_dtype": "float32"}
VERSION = 4
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
    "tensor_stats": ["run_id", "module", "tensor", "source", "step", "thread", "event_seq", "dtype", "shape",
                     "count", "finite", "nan", "pinf", "ninf", "zeros", "mean", "std", "min", "max", "absmax"],
    "findings": ["run_id", "module", "kind", "step", "thread", "event_seq", "message", "rank", "name", "value",
                 "baseline"],
    "steps": ["run_id", "step", "rank", "thread", "loss", "grad_norm", "scale", "sample_ns"],
    "health": ["run_id", "step", "rank", "thread", "module", "tensor", "shape", "count", "grad_norm", "grad_rms",
               "grad_absmax", "weight_norm", "update_norm", "update_ratio", "mean", "std", "absmax", "zeros", "dead",
               "units", "calls", "time_ns"],
    "sources": ["run_id", "rank", "module", "kind", "file", "line", "col", "end_col", "step", "inputs", "outputs"],
}
V1 = ("runs", "modules", "events")
PROJ = "model.layers.1.mlp.down_proj"


def weights(d, cfg, name, scale=1.0, nan=False):
    """A safetensors file for the config: seeded normal weights (norms 1), PROJ scaled / NaN'd."""
    summ = json.loads(subprocess.run([LS, "summary", cfg, "--format", "json"], capture_output=True, text=True,
                                     timeout=60).stdout)
    rng = np.random.default_rng(7)
    out = []
    for t in summ["tensors"]:
        a = (rng.standard_normal(t["shape"]) * 0.1).astype(np.float32)
        if t["name"].endswith("norm.weight"):
            a[...] = 1
        if t["name"] == PROJ + ".weight":
            a *= scale
            if nan:
                a[3, 5] = np.nan
        out.append((t["name"], "F32", t["shape"], a.tobytes()))
    path = os.path.join(d, name)
    tg.write_safetensors(path, out)
    return path


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
        plain, scaled, nanw = (weights(d, cfg, "plain.safetensors"), weights(d, cfg, "scaled.safetensors", 100.0),
                               weights(d, cfg, "nan.safetensors", 100.0, True))
        for w, extra in ((plain, ["--no-peaks"]), (scaled, ["--peak-gflops", "50", "--peak-gbps", "5"]),
                         (nanw, ["--no-peaks"])):
            p = ls("profile", cfg, "--random-tokens", "32", "--threads", "2", "--record", db, "--weights", w,
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
        check(len(runs) == 3, "%d runs recorded" % len(runs))
        for (rid, kind, status, seq, threads, total, wall, peak, config, wpath), prof, w in zip(
                runs, profs, (plain, scaled, nanw)):
            if not prof:
                continue
            check((kind, status, seq, threads, config, wpath) == ("profile", "ok", 32, 2, cfg, w),
                  "run %d: %s" % (rid, (kind, status, seq, threads, config, wpath)))
            check(total == prof["total_ns"] and wall == prof["wall_ns"], "run %d: times" % rid)
            check((peak is None) == (rid != 2), "run %d: peaks %s" % (rid, peak))
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
                check((bound is None) == (rid != 2), "run %d: %s bound %s" % (rid, name, bound))
            ev = con.execute("SELECT e.module, e.dur_ns, m.total_ns FROM events e JOIN modules m "
                             "ON m.run_id = e.run_id AND m.idx = e.module WHERE e.run_id = ? AND e.phase = 'forward'",
                             (rid,)).fetchall()
            check(len(ev) == sum(m["calls"] for m in prof["modules"]), "run %d: one event per module call" % rid)
            check(all(dur == tot for _, dur, tot in ev), "run %d: an event's duration is not its module's total" % rid)
            bad = con.execute("SELECT count(*) FROM events WHERE run_id = ? AND (dur_ns < 0 OR start_ns < 0)",
                              (rid,)).fetchone()[0]
            check(bad == 0, "run %d: negative event times" % rid)
            n_stats = con.execute("SELECT count(*) FROM tensor_stats WHERE run_id = ? AND source = 'sample' AND "
                                  "tensor = 'output'", (rid,)).fetchone()[0]
            check(n_stats == len(mods), "run %d: %d output samples for %d modules" % (rid, n_stats, len(mods)))
        # the sampled statistics against numpy on the dumped output of the projection (plain weights)
        dump = os.path.join(d, "dump.safetensors")
        p = ls("run", cfg, "--random-tokens", "32", "--weights", plain, "--dump", dump, "--dump-filter", PROJ)
        check(p.returncode == 0, "run --dump: %s" % p.stderr)
        if p.returncode == 0:
            x = tg.read_safetensors(dump)[PROJ].astype(np.float64)
            row = con.execute("SELECT s.count, s.mean, s.std, s.min, s.max, s.shape FROM tensor_stats s JOIN modules m "
                              "ON m.run_id = s.run_id AND m.idx = s.module WHERE s.run_id = 1 AND m.name = ?",
                              (PROJ,)).fetchone()
            check(row is not None and row[0] == x.size and row[5] == "[%s]" % ",".join(map(str, x.shape)),
                  "sample of %s: %s vs shape %s" % (PROJ, row, x.shape))
            if row:
                for name, got, want in (("mean", row[1], x.mean()), ("std", row[2], x.std()), ("min", row[3], x.min()),
                                        ("max", row[4], x.max())):
                    check(abs(got - want) <= 1e-5 * max(1.0, abs(want)), "%s %s: %r vs numpy %r" % (PROJ, name, got, want))
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

        # diff: runs 1 and 2 of one file; the scaled projection's output moved 100x
        p = ls("diff", db, db, "--run-a", "1", "--run-b", "2", "--top", "5")
        check(p.returncode == 0, "diff runs: exit %d: %s" % (p.returncode, p.stderr))
        stats_part = p.stdout.split("output statistics")[-1]
        check(PROJ in stats_part and "100x" in stats_part, "diff does not name %s:\n%s" % (PROJ, p.stdout))
        p = ls("diff", db, db, "--run-a", "1", "--run-b", "3", "--format", "json")
        j = json.loads(p.stdout) if p.returncode == 0 else {}
        check(j.get("common") == len(profs[0]["modules"]) if profs[0] else False, "diff json: %s" % p.stderr)
        check(j and j["stats"][0]["b_nonfinite"] > 0 and j["stats"][0]["a_nonfinite"] == 0,
              "a NaN that appeared does not come first: %s" % (j.get("stats", [])[:1],))
        check(ls("diff", db, db, "--run-a", "9").returncode == 1, "diff of a missing run")
        check(ls("diff", db, cfg).returncode == 2, "diff of a record and a config")
        check(ls("diff", cfg, cfg, "--run-a", "1").returncode == 2, "--run-a on tensor files")
        # a hand-edited row: named, not trusted
        edited = os.path.join(d, "edited.db")
        open(edited, "wb").write(open(db, "rb").read())
        c = sqlite3.connect(edited)
        c.execute("UPDATE modules SET self_ns = 'fast' WHERE run_id = 2 AND idx = 3")
        c.execute("UPDATE tensor_stats SET module = 9999 WHERE run_id = 3 AND module = 0")
        c.commit()
        c.close()
        p = ls("diff", edited, edited, "--run-a", "1", "--run-b", "2")
        check(p.returncode == 1 and "modules row 4 of run 2: self_ns is not an integer or NULL" in p.stderr,
              "edited self_ns: %s" % p.stderr)
        p = ls("diff", edited, edited, "--run-a", "1", "--run-b", "3")
        check(p.returncode == 1 and "tensor_stats row" in p.stderr and "names no module of the run" in p.stderr,
              "edited module index: %s" % p.stderr)

        # a version-1 record (its tables as the contract's history says) is migrated, runs kept
        v1 = os.path.join(d, "v1.db")
        c = sqlite3.connect(v1)
        for t in V1:
            cols = ["id INTEGER PRIMARY KEY" if col == "id" else col for col in SCHEMA[t]]
            c.execute("CREATE TABLE %s (%s)" % (t, ", ".join(cols)))
        c.execute("INSERT INTO runs (id, kind, started_at, status) VALUES (1, 'profile', '2026-01-01T00:00:00.000Z', 'ok')")
        c.execute("PRAGMA application_id = %d" % APP_ID)
        c.execute("PRAGMA user_version = 1")
        c.commit()
        c.close()
        p = ls("query", v1, "SELECT count(*) AS n FROM tensor_stats")
        check(p.returncode == 1 and "no such table: tensor_stats" in p.stderr, "v1 read as is: %s" % p.stderr)
        p = ls("profile", cfg, "--random-tokens", "4", "--no-peaks", "--record", v1)
        check(p.returncode == 0, "profile --record into a v1 record: %s" % p.stderr)
        c = sqlite3.connect(v1)
        check(c.execute("PRAGMA user_version").fetchone()[0] == VERSION, "v1 not migrated")
        check([r[0] for r in c.execute("SELECT id FROM runs ORDER BY id")] == [1, 2], "v1 runs not kept")
        check(c.execute("SELECT count(*) FROM tensor_stats WHERE run_id = 2").fetchone()[0] > 0, "no stats after migration")
        c.close()

        # a debug session recorded from the terminal, queried from its REPL with `sql`
        dbg = os.path.join(d, "debug.db")
        p = subprocess.run([LS, "debug", cfg, "--weights", nanw, "--random-tokens", "8", "--break-on", "nan",
                            "--break", "model.layers.0.mlp", "--record", dbg], input="run\nsql SELECT phase, count(*) AS n "
                           "FROM events GROUP BY phase ORDER BY phase\nc\nsql SELECT kind, message FROM findings\n"
                           "sql SELEC 1\nc\n", capture_output=True, text=True, timeout=120)
        check(re.search(r"^forward\s+\d+\nstop\s+1\n\(2 rows\)$", p.stdout, re.M) is not None, "debug sql:\n" + p.stdout)
        check(re.search(r"^nan\s+NaN in %s output" % re.escape(PROJ), p.stdout, re.M) is not None, "finding:\n" + p.stdout)
        check("error: SQL error at character 1" in p.stdout, "bad SQL in the REPL:\n" + p.stdout)
        c = sqlite3.connect(dbg)
        row = c.execute("SELECT kind, status, config FROM runs").fetchall()
        check(row == [("debug", "ok", cfg)], "debug run row %s" % row)
        n_stop = c.execute("SELECT count(*) FROM tensor_stats WHERE source = 'stop'").fetchone()[0]
        check(n_stop == 2, "%d stop statistics, expected 2" % n_stop)
        calls = c.execute("SELECT sum(calls) FROM modules").fetchone()[0]
        ev = c.execute("SELECT count(*) FROM events WHERE phase = 'forward'").fetchone()[0]
        check(calls == ev and calls > 0, "debug: %s calls, %s events" % (calls, ev))
        c.close()

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
