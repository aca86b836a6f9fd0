"""test_check_sarif_failures.py: `layerscope check --format sarif` says when it could not do
its job. A code-scanning service reads the SARIF, not the exit status alone: a run with a
file that is missing (or a directory) must record `invocations[0].executionSuccessful:
false` with a `toolExecutionNotifications` entry (level error) naming the file and the
problem, the exit code in `invocations[0].exitCode` equal to the real one (non-zero), and
the findings of the files that could be read still present. A run where every file was
read says `executionSuccessful: true` (findings do not make a run fail) with no error
notification. Required properties follow the SARIF 2.1.0 schema (sarif-schema-2.1.0.json:
an invocation requires executionSuccessful; a notification requires message.text)."""
import json
import os
import subprocess
import sys
import tempfile

LS = os.environ.get("LAYERSCOPE")
FAILS = []
SMELLY = '{"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 7}\n'


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def sarif(args, cwd):
    p = subprocess.run([LS, "check", "--format", "sarif"] + args, cwd=cwd, capture_output=True, text=True, timeout=60)
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        check(False, "%s: SARIF is not JSON (%s): %r" % (args, e, p.stdout[:200]))
        return p.returncode, None
    return p.returncode, doc


def invocation(doc, what):
    inv = doc["runs"][0].get("invocations")
    if not (isinstance(inv, list) and len(inv) == 1 and isinstance(inv[0], dict)):
        check(False, "%s: runs[0].invocations must hold one invocation, got %r" % (what, inv))
        return {}
    check(isinstance(inv[0].get("executionSuccessful"), bool), "%s: executionSuccessful is required" % what)
    return inv[0]


def errors_of(inv):
    notes = inv.get("toolExecutionNotifications", [])
    for n in notes:
        check(isinstance(n.get("message", {}).get("text"), str) and n["message"]["text"], "notification message.text")
        check(n.get("level") in ("none", "note", "warning", "error"), "notification level %r" % n.get("level"))
    return [n for n in notes if n.get("level") == "error"]


def main():
    if not LS or not os.path.exists(LS):
        print("LAYERSCOPE must name the built binary")
        sys.exit(2)
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "smelly.json"), "w") as f:
            f.write(SMELLY)
        os.mkdir(os.path.join(d, "adir"))
        # A missing file alone.
        rc, doc = sarif(["missing.json"], d)
        check(rc not in (0, None), "missing file: exit %s, want non-zero" % rc)
        if doc:
            inv = invocation(doc, "missing file")
            check(inv.get("executionSuccessful") is False, "missing file: executionSuccessful must be false, got %r" % inv.get("executionSuccessful"))
            check(inv.get("exitCode") == rc, "missing file: exitCode %r, exit status %d" % (inv.get("exitCode"), rc))
            errs = errors_of(inv)
            check(len(errs) == 1 and "missing.json" in errs[0]["message"]["text"] and "No such file" in errs[0]["message"]["text"],
                  "missing file: one error notification naming the file and the problem: %r" % errs)
            if errs:
                loc = (errs[0].get("locations") or [{}])[0].get("physicalLocation", {}).get("artifactLocation", {})
                check(loc.get("uri") == "missing.json", "missing file: notification location %r" % loc)
            arts = doc["runs"][0].get("artifacts", [])
            check(all("length" not in a for a in arts), "missing file: an unread artifact has no length: %r" % arts)
        # A readable file with findings, a missing one and a directory: the findings stay.
        rc, doc = sarif(["smelly.json", "missing.json", "adir"], d)
        check(rc not in (0, None), "mixed: exit %s, want non-zero" % rc)
        if doc:
            inv = invocation(doc, "mixed")
            check(inv.get("executionSuccessful") is False, "mixed: executionSuccessful must be false")
            texts = [e["message"]["text"] for e in errors_of(inv)]
            check(len(texts) == 2 and any("missing.json" in t for t in texts) and any("adir" in t and "directory" in t for t in texts),
                  "mixed: error notifications %r" % texts)
            rules = [r["ruleId"] for r in doc["runs"][0]["results"]]
            check("LS102" in rules, "mixed: the readable file's findings are still reported: %r" % rules)
        # Every file read: a successful run, even with error-level findings (exit 1).
        rc, doc = sarif(["smelly.json"], d)
        check(rc == 1, "findings only: exit %d, want 1" % rc)
        if doc:
            inv = invocation(doc, "findings only")
            check(inv.get("executionSuccessful") is True, "findings only: executionSuccessful must be true")
            check(inv.get("exitCode") == 1, "findings only: exitCode %r" % inv.get("exitCode"))
            check(errors_of(inv) == [], "findings only: no error notification")
    if FAILS:
        print("%d failures" % len(FAILS))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
