"""test_scale_cli.py: the CLI at input sizes where work that grows faster than the input
shows. Each command runs under a subprocess timeout that linear work meets many times over
(a second or two here, sanitizers included) and that the quadratic code it replaced exceeded
by far; what is asserted is the output, never a measured speed:
  - `check` on a one-line config with 50,000 keys: each finding's column used to be counted
    from the start of the line (59 s at 40,000 keys); the columns printed are checked
    against byte offsets computed here."""
import json
import os
import subprocess
import sys
import tempfile

LS = os.environ.get("LAYERSCOPE")
TIMEOUT = 20  # seconds; the linear code takes well under 2 s for each command below
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(args):
    try:
        p = subprocess.run([LS] + args, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail("%s: no answer within %d s" % (" ".join(args[:1]), TIMEOUT))
        return None
    if p.returncode < 0 or b"Sanitizer" in p.stderr or b"runtime error" in p.stderr:
        fail("crash or sanitizer report for %s: rc=%d\n%s" % (args[:1], p.returncode, p.stderr.decode(errors="replace")[-2000:]))
    return p


def test_check_one_line(tmp):
    n = 50000
    cfg = {"model_type": "llama"}
    for i in range(n):
        cfg["zz_key_é_%d" % i] = i  # a 2-byte letter: columns are bytes in text output
    text = json.dumps(cfg, ensure_ascii=False).encode()
    path = os.path.join(tmp, "one-line.json")
    with open(path, "wb") as f:
        f.write(text)
    p = run(["check", path])
    if p is None:
        return
    lines = [l for l in p.stdout.decode().splitlines() if "[LS003 unknown-key]" in l]
    if len(lines) != n:
        fail("check: %d unknown-key findings, expected %d" % (len(lines), n))
        return
    by_key = {}
    for l in lines:
        loc, _, msg = l.partition(": hint ")
        key = msg.split('"')[1]
        by_key[key] = loc
    for i in (0, 1, n // 2, n - 1):
        key = "zz_key_é_%d" % i
        col = text.index(('"%s"' % key).encode()) + 1  # 1-based byte column of the key's quote
        want = "%s:1:%d" % (path, col)
        if by_key.get(key) != want:
            fail("check: %s at %s, expected %s" % (key, by_key.get(key), want))


if __name__ == "__main__":
    if not LS:
        print("LAYERSCOPE is not set")
        sys.exit(2)
    with tempfile.TemporaryDirectory() as tmp:
        test_check_one_line(tmp)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("ok")
