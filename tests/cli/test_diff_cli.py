"""test_diff_cli.py: `layerscope diff A B` end to end: per-tensor max abs/rel difference,
cosine similarity and first differing index checked against numpy; shape mismatches, names
present in only one file, tolerances, ordering and exit codes."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "numeric"))
import lib_tensorgen as tg  # noqa: E402

LS = os.environ.get("LAYERSCOPE", "layerscope")
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def ls(*args):
    p = subprocess.run([LS, *args], capture_output=True, text=True)
    if p.returncode not in (0, 1, 2):
        print(f"layerscope {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
    return p


def main():
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory() as d:
        x = rng.standard_normal((4, 6)).astype(np.float32)
        y = x.copy()
        y[2, 3] += 1.0
        y[3, 5] *= 1.001
        same = rng.standard_normal(10).astype(np.float32)
        a = os.path.join(d, "a.safetensors")
        b = os.path.join(d, "b.safetensors")
        tg.write_safetensors(a, [("z.same", "F32", [10], same.tobytes()), ("m.changed", "F32", [4, 6], x.tobytes()),
                                 ("shape", "F32", [2, 3], np.zeros(6, np.float32).tobytes()),
                                 ("only.a", "F32", [1], b"\0\0\0\0")])
        tg.write_safetensors(b, [("z.same", "BF16", [10], tg.f32_to_bf16_bits(same).tobytes()),
                                 ("m.changed", "F32", [4, 6], y.tobytes()),
                                 ("shape", "F32", [3, 2], np.zeros(6, np.float32).tobytes()),
                                 ("only.b", "F32", [1], b"\0\0\0\0")])
        p = ls("diff", a, b, "--format", "json")
        check(p.returncode == 1, f"exit {p.returncode}: {p.stderr}")
        rows = {r["name"]: r for r in json.loads(p.stdout)["tensors"]}
        m = rows["m.changed"]
        xd, yd = x.astype(np.float64), y.astype(np.float64)
        diff = np.abs(xd - yd)
        check(m["status"] == "differ" and m["first_mismatch"] == "[2,3]", f"first mismatch {m['first_mismatch']}")
        check(abs(m["max_abs"] - diff.max()) < 1e-12, f"max_abs {m['max_abs']} vs {diff.max()}")
        check(abs(m["max_rel"] - (diff / np.abs(yd)).max()) < 1e-9, f"max_rel {m['max_rel']}")
        cos = (xd * yd).sum() / np.sqrt((xd * xd).sum() * (yd * yd).sum())
        check(abs(m["cosine"] - cos) < 1e-9, f"cosine {m['cosine']} vs {cos}")
        isclose = ~np.isclose(xd, yd, rtol=1e-5, atol=1e-8)
        check(m["mismatches"] == int(isclose.sum()), f"mismatches {m['mismatches']} vs numpy {int(isclose.sum())}")
        check(rows["shape"]["status"] == "shape_mismatch", "shape mismatch")
        check(rows["only.a"]["status"] == "only_in_a" and rows["only.b"]["status"] == "only_in_b", "only in one")
        check(rows["z.same"]["status"] == "differ" and rows["z.same"].get("dtype_mismatch"), "bf16 rounding differs at rtol 1e-5")
        p = ls("diff", a, b, "--format", "json", "--rtol", "0.01", "--filter", "z.*")
        check(p.returncode == 0 and json.loads(p.stdout)["tensors"][0]["status"] == "match", "bf16 within rtol 1e-2")
        p = ls("diff", a, b, "--order", "name")
        names = [l.split()[0] for l in p.stdout.splitlines()[1:] if l and not l[0].isdigit() and not l.startswith("tensor")]
        check(names == sorted(names) and len(names) == 5, f"order by name: {names}")
        p = ls("diff", a, b)
        names = [l.split()[0] for l in p.stdout.splitlines()[1:6]]
        check(names == ["z.same", "m.changed", "shape", "only.a", "only.b"], f"file order: {names}")
        check(ls("diff", a, a).returncode == 0, "a file equals itself")
        check(ls("diff", a).returncode == 2, "one file is a usage error")
        check(ls("diff", a, b, "--rtol", "x").returncode == 2, "bad rtol is a usage error")
        p = ls("diff", a, os.path.join(d, "nope.safetensors"))
        check(p.returncode == 1 and "nope.safetensors" in p.stderr, "missing B")
    if FAILS:
        print(f"{len(FAILS)} failures")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
