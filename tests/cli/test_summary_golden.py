"""test_summary_golden.py: `layerscope summary --format json` against the golden tensor lists
in tests/golden/shapes/ (state_dict names and shapes written by the PyTorch reference of
test_summary_torch.py; see that folder's README). Runs without PyTorch."""
import json
import os
import subprocess
import sys

LS = os.environ.get("LAYERSCOPE", "layerscope")
SRC = os.environ.get("LS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
GOLD = os.path.join(SRC, "tests", "golden", "shapes")
CFG = os.path.join(SRC, "tests", "fixtures", "configs")


def main():
    files = sorted(f for f in os.listdir(GOLD) if f.endswith(".tsv"))
    bad = 0
    for f in files:
        lines = open(os.path.join(GOLD, f)).read().splitlines()
        head = lines[0][2:].split()
        params = int(lines[1].rsplit(" ", 1)[1])
        want = [(l.split("\t")[0], [int(x) for x in l.split("\t")[1].split(",") if x]) for l in lines[2:]]
        p = subprocess.run([LS, "summary", os.path.join(CFG, head[0]), "--format", "json", *head[1:]],
                           capture_output=True, text=True, check=False)
        if p.returncode != 0:
            print(f"FAIL {f}: exit {p.returncode}: {p.stderr}")
            bad += 1
            continue
        d = json.loads(p.stdout)
        got = [(t["name"], t["shape"]) for t in d["tensors"]]
        if got != want or d["params"] != params:
            diff = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            print(f"FAIL {f}: first difference at tensor {diff}: "
                  f"{got[diff] if diff < len(got) else None} vs golden {want[diff] if diff < len(want) else None}; "
                  f"params {d['params']} vs {params}")
            bad += 1
    print(f"{len(files) - bad}/{len(files)} golden tensor lists match")
    return 1 if bad or not files else 0


if __name__ == "__main__":
    sys.exit(main())
