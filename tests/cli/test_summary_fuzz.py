"""test_summary_fuzz.py: seeded mutations of real configs through `layerscope summary`.
Each run replaces, deletes or retypes keys of a fixture (zero, negative, fractional, string,
null, huge and container values, truncated text) and requires a clean outcome: exit 0 with a
JSON object, exit 1 with a message on stderr, or exit 2 when a mutation leaves a model_type
that layerscope does not model (or none it can infer): no figure is printed for those (issue
17); never a signal (crash, sanitizer abort)
and never more than a few seconds. In the ASan build this is also a memory-safety check."""
import json
import os
import random
import subprocess
import sys
import tempfile

LS = os.environ.get("LAYERSCOPE", "layerscope")
SRC = os.environ.get("LS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CFG = os.path.join(SRC, "tests", "fixtures", "configs")
VALUES = [0, -1, 1, 2, 3, 7, 64, 4096, 1.5, -0.0, 1e308, 2**31, 2**62, 2**63 - 1, 2**63, 2**64 + 1,
          10**30, "x", "", "4096", None, True, False, [], [1, 2], {}, {"type": "linear"},
          {"rope_type": "llama3", "factor": "x"}]


def main():
    rng = random.Random(20240611)
    names = []
    for base in (CFG, os.path.join(CFG, "extra"), os.path.join(CFG, "families")):
        names += [os.path.join(base, f) for f in sorted(os.listdir(base)) if f.endswith(".json")]
    runs = int(os.environ.get("LS_FUZZ_RUNS", "300"))
    bad = 0
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    for i in range(runs):
        src = rng.choice(names)
        cfg = json.load(open(src))
        keys = list(cfg)
        for _ in range(rng.randint(1, 3)):
            k = rng.choice(keys)
            r = rng.random()
            if r < 0.15:
                cfg.pop(k, None)
            else:
                cfg[k] = rng.choice(VALUES)
        text = json.dumps(cfg)
        if rng.random() < 0.1:
            text = text[: rng.randint(0, len(text))]
        with open(path, "w") as f:
            f.write(text)
        try:
            p = subprocess.run([LS, "summary", path, "--format", "json"], capture_output=True, text=True,
                               timeout=20, check=False)
        except subprocess.TimeoutExpired:
            print(f"FAIL run {i}: timeout on {text[:300]}")
            bad += 1
            continue
        ok = (p.returncode == 0 and p.stdout.startswith("{")) or (p.returncode == 1 and p.stderr.strip()) or \
            (p.returncode == 2 and "supported: gpt2" in p.stderr and not p.stdout)
        if not ok:
            print(f"FAIL run {i} ({os.path.basename(src)}): exit {p.returncode}\n{p.stderr[-2000:]}\ninput: {text[:400]}")
            bad += 1
    os.unlink(path)
    print(f"{runs - bad}/{runs} mutated configs handled cleanly")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
