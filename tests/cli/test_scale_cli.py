"""test_scale_cli.py: the CLI at input sizes where work that grows faster than the input
shows. Each command runs under a subprocess timeout that linear work meets many times over
(a second or two here, sanitizers included) and that the quadratic code it replaced exceeded
by far; what is asserted is the output, never a measured speed:
  - `check` on a one-line config with 50,000 keys: each finding's column used to be counted
    from the start of the line (59 s at 40,000 keys); the columns printed are checked
    against byte offsets computed here;
  - `stats` on a safetensors index (model.safetensors.index.json): 100,000 weight_map
    entries over 4 real shards (written here, one tiny F32 tensor per entry) are all read
    and checked;
    and an index naming a different shard for each of 200,000 tensors, whose shard names
    were deduplicated with a list searched linearly (27 s at 100,000), is refused at once
    with the first missing shard named."""
import json
import os
import struct
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


def write_shard(path, names):
    header = {}
    for k, name in enumerate(names):
        header[name] = {"dtype": "F32", "shape": [1], "data_offsets": [4 * k, 4 * k + 4]}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + struct.pack("<%df" % len(names), *range(len(names))))


def test_stats_index(tmp):
    n, shards = 100000, 4
    d = os.path.join(tmp, "ckpt")
    os.mkdir(d)
    weight_map = {}
    per = n // shards
    for s in range(shards):
        fn = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
        names = ["model.layers.%d.w" % i for i in range(s * per, (s + 1) * per)]
        write_shard(os.path.join(d, fn), names)
        weight_map.update({name: fn for name in names})
    index = os.path.join(d, "model.safetensors.index.json")
    with open(index, "w") as f:
        json.dump({"metadata": {"total_size": 4 * n}, "weight_map": weight_map}, f)
    # The whole index is read and checked (every name in the shard it names); statistics
    # only for the last tensor of every 10,000, in each of the shards: its value is its
    # position in its shard, as written.
    p = run(["stats", index, "--filter", "model.layers.*9999.w", "--format", "json"])
    if p is not None:
        try:
            got = {t["name"]: t["mean"] for t in json.loads(p.stdout)["tensors"]}
        except (ValueError, KeyError, TypeError):
            got = None
        want = {"model.layers.%d.w" % i: float(i % per) for i in range(9999, n, 10000)}
        if p.returncode != 0 or got != want:
            fail("stats over %d shards: rc=%d, got %r, stderr %r" % (shards, p.returncode, got, p.stderr[-300:]))

    # One shard name per tensor, none of them on disk: the first is reported as missing.
    d2 = os.path.join(tmp, "many-shards")
    os.mkdir(d2)
    index2 = os.path.join(d2, "model.safetensors.index.json")
    with open(index2, "w") as f:
        json.dump({"weight_map": {"t.%d" % i: "shard-%d.safetensors" % i for i in range(200000)}}, f)
    p = run(["stats", index2])
    if p is not None:
        err = p.stderr.decode()
        if p.returncode == 0 or "shard-0.safetensors: cannot open" not in err:
            fail("stats with 200000 shard names: rc=%d, stderr %r" % (p.returncode, err[-300:]))


if __name__ == "__main__":
    if not LS:
        print("LAYERSCOPE is not set")
        sys.exit(2)
    with tempfile.TemporaryDirectory() as tmp:
        test_check_one_line(tmp)
        test_stats_index(tmp)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("ok")
