"""test_check.py: end-to-end tests of `layerscope check` (text, JSON and SARIF output).

Drives the built binary ($LAYERSCOPE) over the golden directories tests/golden/smells/<code>/:
  - trigger.json must produce exactly the findings of expected.json for that rule: severity,
    primary position (computed here from a marked snippet of the file, independently of the
    binary), message fragments, related count and the preferred fix's new text;
  - applying the preferred fixes to trigger.json must make the rule go away;
  - clean.json (a near-identical config) must produce no finding of that rule and no error.
The 12 real configs in tests/golden/smells/real/ must produce no error-level finding, and
exactly the findings listed (and justified) in real/expected.json, so a new false positive
fails here. SARIF output is validated structurally against the 2.1.0 specification's required
properties; text output line/column are checked against positions computed here. Usage
errors, unreadable files, non-JSON and garbage input are checked for exit codes and clean
failure (no crash, sanitizers on in the ASan build)."""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

LS = os.environ.get("LAYERSCOPE")
SRC = os.environ.get("LS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
GOLD = os.path.join(SRC, "tests", "golden", "smells")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(args, cwd=GOLD):
    p = subprocess.run([LS, "check"] + args, cwd=cwd, capture_output=True)
    if p.returncode < 0 or b"Sanitizer" in p.stderr or b"runtime error" in p.stderr:
        fail("crash or sanitizer report for %s: rc=%d\n%s" % (args, p.returncode, p.stderr.decode(errors="replace")[-2000:]))
    return p


def check_json(args, cwd=GOLD):
    p = run(["--format", "json"] + args, cwd)
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError as e:
        fail("invalid JSON output for %s: %s" % (args, e))
        return p.returncode, {"files": []}


def utf16_pos(text_bytes, offset):
    """(line, UTF-16 character) of a byte offset, LSP-style, computed independently."""
    before = text_bytes[:offset].decode("utf-8", errors="replace")
    line = before.count("\n")
    col_text = before[before.rfind("\n") + 1:]
    return line, len(col_text.encode("utf-16-le")) // 2


def marked_offset(text_bytes, marked):
    """Byte offset of the '|' in a snippet like '"num_key_value_heads": |7'."""
    i = marked.index("|")
    snippet = (marked[:i] + marked[i + 1:]).encode()
    at = text_bytes.find(snippet)
    if at < 0:
        raise KeyError(marked)
    return at + len(marked[:i].encode())


def apply_fixes(text_bytes, fixes):
    edits = sorted((e for f in fixes for e in f["edits"]), key=lambda e: e["offsets"]["start"], reverse=True)
    out = text_bytes
    for e in edits:
        out = out[:e["offsets"]["start"]] + e["newText"].encode() + out[e["offsets"]["end"]:]
    return out


# ---------------------------------------------------------------- golden rules

def test_golden():
    # LS003/ is the rule's case; LS003-nested/ another case of the same rule
    cases = sorted(d for d in os.listdir(GOLD) if re.fullmatch(r"LS\d{3}(-[a-z0-9-]+)?", d))
    if len([c for c in cases if len(c) == 5]) < 27:
        fail("expected a golden directory per rule, found %d" % len(cases))
    for case in cases:
        code = case[:5]
        d = os.path.join(GOLD, case)
        exp = json.load(open(os.path.join(d, "expected.json")))
        trig = open(os.path.join(d, "trigger.json"), "rb").read()
        rc, out = check_json([case + "/trigger.json", case + "/clean.json"])
        ft, fc = out["files"][0], out["files"][1]
        mine = [f for f in ft["findings"] if f["rule"] == code]
        if len(mine) != len(exp["findings"]):
            fail("%s: %d findings, expected %d: %s" % (case, len(mine), len(exp["findings"]), [f["message"] for f in mine]))
            continue
        has_error = any(f["severity"] == "error" for f in ft["findings"])
        if rc != (1 if has_error else 0):
            fail("%s: exit %d with error findings=%s" % (code, rc, has_error))
        preferred = []
        for want in exp["findings"]:
            off = marked_offset(trig, want["at"])
            line, ch = utf16_pos(trig, off)
            cands = [f for f in mine if f["offsets"]["start"] == off and all(m in f["message"] for m in want["message"])]
            if not cands:
                fail("%s: no finding at byte %d (%d:%d) with %s; got %s" % (
                    code, off, line, ch, want["message"], [(f["offsets"], f["message"]) for f in mine]))
                continue
            f = cands[0]
            mine.remove(f)
            if f["severity"] != want["severity"]:
                fail("%s: severity %s, expected %s" % (code, f["severity"], want["severity"]))
            if (f["range"]["start"]["line"], f["range"]["start"]["character"]) != (line, ch):
                fail("%s: range %s, expected %d:%d" % (code, f["range"]["start"], line, ch))
            if not f["docs"].endswith("#" + code):
                fail("%s: docs link %s" % (code, f["docs"]))
            if "related" in want and len(f["related"]) != want["related"]:
                fail("%s: %d related, expected %d" % (code, len(f["related"]), want["related"]))
            for r in f["related"]:
                a, b = r["offsets"]["start"], r["offsets"]["end"]
                if not (0 <= a <= b <= len(trig)):
                    fail("%s: related span out of the file" % code)
            if "fix" in want:
                pf = [x for x in f["fixes"] if x["preferred"]] or f["fixes"][:1]
                if not pf or pf[0]["edits"][0]["newText"] != want["fix"]:
                    fail("%s: fix %s, expected %r" % (code, f["fixes"], want["fix"]))
                else:
                    preferred.append(pf[0])
        # Applying the fixes removes the findings they fix (when every finding had one).
        if preferred and len(preferred) == len(exp["findings"]):
            fixed = apply_fixes(trig, preferred)
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as t:
                t.write(fixed)
            try:
                _, out2 = check_json([t.name], cwd="/")
                left = [f for f in out2["files"][0]["findings"] if f["rule"] == code]
                if left:
                    fail("%s: still reported after the fix: %s" % (code, [f["message"] for f in left]))
            finally:
                os.unlink(t.name)
        # The near-identical clean config: nothing from this rule, no errors at all.
        bad = [f for f in fc["findings"] if f["rule"] == code or f["severity"] == "error"]
        if bad:
            fail("%s: clean.json reports %s" % (code, [(f["rule"], f["message"]) for f in bad]))
        # Text format: same position, 1-based line and byte column.
        p = run([case + "/trigger.json"])
        first = exp["findings"][0]
        off = marked_offset(trig, first["at"])
        line = trig[:off].count(b"\n") + 1
        col = off - (trig.rfind(b"\n", 0, off) + 1) + 1
        pat = re.compile(r"^%s/trigger\.json:%d:%d: %s \[%s [a-z0-9-]+\] " % (case, line, col, first["severity"], code))
        if not any(pat.match(l) for l in p.stdout.decode().splitlines()):
            fail("%s: text output lacks %s:%d:%d\n%s" % (case, case, line, col, p.stdout.decode()))


# ---------------------------------------------------------------- real configs

def test_real_configs():
    real = os.path.join(GOLD, "real")
    files = sorted(f for f in os.listdir(real) if f.endswith(".config.json"))
    if len(files) != 12:
        fail("expected the 12 real configs, found %d" % len(files))
    expected = json.load(open(os.path.join(real, "expected.json")))
    rc, out = check_json(["real/" + f for f in files])
    if rc != 0:
        fail("real configs: exit %d (an error-level finding is a false positive)" % rc)
    for f in out["files"]:
        name = os.path.basename(f["file"])
        if not f["is_model_config"] or f["model_type"] is None:
            fail("%s: not read as a model config" % name)
        got = sorted(x["rule"] for x in f["findings"])
        want = sorted(expected["files"].get(name, []))
        if got != want:
            fail("%s: findings %s, expected %s: %s" % (name, got, want, [x["message"] for x in f["findings"]]))
        for x in f["findings"]:
            if x["severity"] == "error":
                fail("%s: false error %s %s" % (name, x["rule"], x["message"]))


def test_fixture_configs_no_errors():
    """Every other real config in the repository (tests/fixtures/configs, examples/): no
    error-level finding. Their exact findings are not pinned here (the files belong to the
    model tests); errors on a real config are false positives."""
    import glob
    files = sorted(glob.glob(os.path.join(SRC, "tests", "fixtures", "configs", "**", "*.json"), recursive=True)
                   + glob.glob(os.path.join(SRC, "examples", "*", "config.json")))
    if not files:
        fail("no fixture configs found under tests/fixtures/configs or examples/ (they are committed)")
    rc, out = check_json(files, cwd=SRC)
    for f in out["files"]:
        for x in f["findings"]:
            if x["severity"] == "error":
                fail("%s: false error %s %s" % (f["file"], x["rule"], x["message"]))
    if rc != 0:
        fail("fixture configs: exit %d" % rc)
    print("fixture configs: %d files, %d findings, none an error" % (len(files), sum(len(f["findings"]) for f in out["files"])))


def test_official_family_configs_no_warning():
    """Issue 17: the official configs of the families added for it (tests/fixtures/configs/
    families/, and Phi-3.5-mini, which used to get LS111) raise no warning or error: a rule
    that fires on a published config is a false alarm."""
    import glob
    fam = os.path.join(SRC, "tests", "fixtures", "configs", "families")
    files = sorted(glob.glob(os.path.join(fam, "*.config.json")))
    files.append(os.path.join(SRC, "tests", "fixtures", "configs", "extra", "phi-3.5-mini-instruct.config.json"))
    if len(files) < 4:
        fail("expected the family fixtures under %s" % fam)
    rc, out = check_json(files, cwd=SRC)
    for f in out["files"]:
        if not f["is_model_config"]:
            fail("%s: not read as a model config" % f["file"])
        for x in f["findings"]:
            if x["severity"] in ("error", "warning"):
                fail("%s: %s %s %s" % (os.path.basename(f["file"]), x["severity"], x["rule"], x["message"]))
    print("official family configs: %d files, no warning" % len(files))


# ---------------------------------------------------------------- SARIF

URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def validate_sarif(doc, n_results_expected):
    """Checks the properties SARIF 2.1.0 requires (sarif-schema-2.1.0.json) and the ones
    GitHub code scanning relies on."""
    def need(cond, what):
        if not cond:
            fail("SARIF: " + what)
        return cond
    need(doc.get("version") == "2.1.0", "version must be 2.1.0")
    need(isinstance(doc.get("$schema"), str) and "sarif" in doc["$schema"], "$schema")
    need(isinstance(doc.get("runs"), list) and len(doc["runs"]) == 1, "runs")
    run0 = doc["runs"][0]
    driver = run0["tool"]["driver"]
    need(isinstance(driver.get("name"), str) and driver["name"], "tool.driver.name")
    rules = driver.get("rules", [])
    ids = [r["id"] for r in rules]
    need(len(ids) == len(set(ids)) and len(ids) >= 27, "rule ids unique, one per rule")
    for r in rules:
        need(URI_RE.match(r.get("helpUri", "")) is not None, "helpUri absolute: %s" % r.get("helpUri"))
        need(r["helpUri"].endswith("#" + r["id"]), "helpUri anchor")
        need(r.get("defaultConfiguration", {}).get("level") in ("none", "note", "warning", "error"), "rule level")
        need(isinstance(r.get("shortDescription", {}).get("text"), str), "shortDescription.text")
    need(run0.get("columnKind") in ("utf16CodeUnits", "unicodeCodePoints"), "columnKind")
    results = run0.get("results", [])
    need(len(results) == n_results_expected, "results %d, expected %d" % (len(results), n_results_expected))
    n_art = len(run0.get("artifacts", []))
    for res in results:
        need(res.get("ruleId") in ids, "ruleId %s" % res.get("ruleId"))
        need(ids[res["ruleIndex"]] == res["ruleId"], "ruleIndex")
        need(res.get("level") in ("none", "note", "warning", "error"), "level")
        need(isinstance(res.get("message", {}).get("text"), str) and res["message"]["text"], "message.text")
        locs = res.get("locations", [])
        need(len(locs) == 1, "one location")
        for loc in locs + res.get("relatedLocations", []):
            pl = loc["physicalLocation"]
            need(isinstance(pl["artifactLocation"]["uri"], str) and " " not in pl["artifactLocation"]["uri"], "artifactLocation.uri")
            need(0 <= pl["artifactLocation"].get("index", 0) < n_art, "artifact index")
            reg = pl["region"]
            for k in ("startLine", "startColumn", "endLine", "endColumn"):
                need(isinstance(reg.get(k), int) and reg[k] >= 1, "region.%s >= 1" % k)
            need((reg["endLine"], reg["endColumn"]) >= (reg["startLine"], reg["startColumn"]), "region ordered")
            need(reg.get("byteOffset", 0) >= 0 and reg.get("byteLength", 0) >= 0, "byte range")
        for i, rl in enumerate(res.get("relatedLocations", [])):
            need(isinstance(rl.get("id"), int) and rl["id"] >= 0, "relatedLocations id")
            need(isinstance(rl.get("message", {}).get("text"), str), "relatedLocations message")
        for fx in res.get("fixes", []):
            need(isinstance(fx["description"]["text"], str), "fix description")
            for ch in fx["artifactChanges"]:
                need(isinstance(ch["artifactLocation"]["uri"], str), "fix uri")
                for rp in ch["replacements"]:
                    need("startLine" in rp["deletedRegion"], "deletedRegion")
                    need(isinstance(rp.get("insertedContent", {}).get("text"), str), "insertedContent")


def test_sarif():
    files = sorted(os.path.join(d, "trigger.json") for d in os.listdir(GOLD) if re.fullmatch(r"LS\d{3}", d))
    _, js = check_json(files)
    n = sum(len(f["findings"]) for f in js["files"])
    p = run(["--format", "sarif"] + files)
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        fail("SARIF is not JSON: %s" % e)
        return
    validate_sarif(doc, n)
    # Regions match the JSON ranges (1-based vs 0-based, both UTF-16).
    flat = [(f["file"], x) for f in js["files"] for x in f["findings"]]
    for res, (fname, x) in zip(doc["runs"][0]["results"], flat):
        reg = res["locations"][0]["physicalLocation"]["region"]
        if (reg["startLine"] - 1, reg["startColumn"] - 1) != (x["range"]["start"]["line"], x["range"]["start"]["character"]):
            fail("SARIF region %s != JSON range %s in %s" % (reg, x["range"], fname))
        if res["ruleId"] != x["rule"]:
            fail("SARIF result order differs from JSON")
    # Non-ASCII path and text: URI percent-encoded, columns in UTF-16.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "my config é.json")
        text = '{"model_type": "llama", "_name_or_path": "\U0001F600\u00e9", "vocab_size": 32001}\n'
        open(path, "w", encoding="utf-8").write(text)
        p = run(["--format", "sarif", path], cwd=tmp)
        doc = json.loads(p.stdout)
        validate_sarif(doc, 1)
        res = doc["runs"][0]["results"][0]
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        if not uri.startswith("file:///") or "%20" not in uri or "%C3%A9" not in uri:
            fail("SARIF uri not encoded: %s" % uri)
        want_col = len(text[:text.index("32001")].encode("utf-16-le")) // 2 + 1
        if res["locations"][0]["physicalLocation"]["region"]["startColumn"] != want_col:
            fail("SARIF column %s, expected UTF-16 column %d" % (res["locations"][0]["physicalLocation"]["region"], want_col))


# ---------------------------------------------------------------- usage and bad input

def test_usage_and_bad_input():
    if run([]).returncode != 2:
        fail("no files: exit must be 2")
    if run(["--format", "xml", "LS101/trigger.json"]).returncode != 2:
        fail("unknown format: exit must be 2")
    if run(["--bogus"]).returncode != 2:
        fail("unknown option: exit must be 2")
    if run(["--disable", "LS999", "LS101/trigger.json"]).returncode != 2:
        fail("unknown rule in --disable: exit must be 2")
    p = run(["does-not-exist.json"])
    if p.returncode != 2 or b"does-not-exist.json" not in p.stderr:
        fail("missing file: exit 2 naming the file, got %d %s" % (p.returncode, p.stderr))
    if run(["real"]).returncode != 2:
        fail("a directory: exit must be 2")
    # Disabling the rule silences it (and the exit status follows).
    rc, out = check_json(["--disable", "LS102", "LS102/trigger.json"])
    if rc != 0 or any(f["rule"] == "LS102" for f in out["files"][0]["findings"]):
        fail("--disable LS102 did not silence it")
    rc, out = check_json(["--disable", "unknown-key", "LS003/trigger.json"])
    if any(f["rule"] == "LS003" for f in out["files"][0]["findings"]):
        fail("--disable by name did not work")
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "empty.json": b"",
            "text.json": b"hello world\n",
            "array.json": b"[1, 2, 3]\n",
            "half.json": b'{"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 7, "hidden_si',
            "binary.json": bytes(random.Random(7).randrange(256) for _ in range(20000)),
            "deep.json": b"[" * 100000,
        }
        for name, data in cases.items():
            open(os.path.join(tmp, name), "wb").write(data)
            rc, out = check_json([name], cwd=tmp)
            if rc != 1:
                fail("%s: exit %d, expected 1" % (name, rc))
            f = out["files"][0] if out["files"] else {"findings": []}
            if not any(x["severity"] == "error" for x in f["findings"]):
                fail("%s: no error reported" % name)
        # The half-typed config still gets its smell besides the syntax error.
        _, out = check_json(["half.json"], cwd=tmp)
        rules = {x["rule"] for x in out["files"][0]["findings"]}
        if not {"LS001", "LS102"} <= rules:
            fail("half-typed config: rules %s, expected LS001 and LS102" % rules)
        _, out = check_json(["array.json"], cwd=tmp)
        if [x["rule"] for x in out["files"][0]["findings"]] != ["LS008"]:
            fail("array.json: expected LS008 only")


def test_positions_crlf_non_ascii():
    """CRLF line ends and non-ASCII text before the finding: the JSON range (UTF-16) and the
    text column (bytes) match positions computed here."""
    text = ('{\r\n  "_name_or_path": "m\u00fcnchen/\U0001F600-7b",\r\n  "model_type": "llama",\r\n'
            '  "num_attention_heads": 32,\r\n  "num_key_value_heads": 7\r\n}\r\n')
    data = text.encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        open(os.path.join(tmp, "c.json"), "wb").write(data)
        rc, out = check_json(["c.json"], cwd=tmp)
        f = [x for x in out["files"][0]["findings"] if x["rule"] == "LS102"]
        off = data.index(b"7\r\n}")
        if rc != 1 or len(f) != 1 or f[0]["offsets"]["start"] != off:
            fail("CRLF: LS102 not found at byte %d: %s" % (off, out))
            return
        if (f[0]["range"]["start"]["line"], f[0]["range"]["start"]["character"]) != utf16_pos(data, off):
            fail("CRLF: range %s, expected %s" % (f[0]["range"], utf16_pos(data, off)))
        p = run(["c.json"], cwd=tmp)
        if not p.stdout.decode().startswith("c.json:5:26: error [LS102 "):
            fail("CRLF text position: %s" % p.stdout.decode())
        # The related key (num_attention_heads) is on line 4 (0-based 3).
        if f[0]["related"][0]["range"]["start"] != {"line": 3, "character": 2}:
            fail("CRLF related range %s" % f[0]["related"][0]["range"])


def test_rules_documented():
    p = subprocess.run([LS, "check", "--list-rules"], capture_output=True)
    codes = re.findall(r"^(LS\d{3})\s", p.stdout.decode(), re.M)
    if len(codes) < 27:
        fail("--list-rules lists %d rules" % len(codes))
    doc = open(os.path.join(SRC, "docs", "rules.md"), encoding="utf-8").read()
    for c in codes:
        if '<a id="%s"></a>' % c not in doc or ("### %s " % c) not in doc:
            fail("docs/rules.md has no section for %s" % c)
        if not os.path.isdir(os.path.join(GOLD, c)):
            fail("no golden directory for %s" % c)
    for c in set(re.findall(r'<a id="(LS\d{3})"></a>', doc)) - set(codes):
        fail("docs/rules.md documents %s, which is not a rule" % c)


if __name__ == "__main__":
    if not LS:
        print("LAYERSCOPE is not set")
        sys.exit(2)
    test_golden()
    test_real_configs()
    test_fixture_configs_no_errors()
    test_official_family_configs_no_warning()
    test_sarif()
    test_usage_and_bad_input()
    test_positions_crlf_non_ascii()
    test_rules_documented()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("ok")
