"""test_stats_fortran.py: `layerscope stats` on Fortran-order (fortran_order: True) .npy
files, against numpy on the same arrays.

A row of a Fortran-order 2-D array is strided in the file, so the per-row figures (dead
rows, constant rows, the largest-norm rows) and per-column figures (dead columns) need
their own reading. Each case writes one matrix with np.save(np.asfortranarray(a)) (checked
to carry fortran_order: True) with planted dead rows, dead columns, a constant row and a
row of larger norm, runs `stats --format json`, and compares with numpy's
`(np.abs(a) <= eps).all(axis=1)` and friends on the array as numpy reads it back; the same
matrix in C order must give the same figures. Shapes cross the reader's blocks of 512 rows
and its task split, and dtypes cover every element size (f16, f32, f64, i8)."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

LS = os.environ.get("LAYERSCOPE")
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def stats(path):
    p = subprocess.run([LS, "stats", path, "--format", "json"], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        check(False, "stats %s: exit %d: %s" % (path, p.returncode, p.stderr))
        return None
    return json.loads(p.stdout)["tensors"][0]


def expected(a):
    x = a.astype(np.float64)
    dead_rows = (np.abs(x) <= 0).all(axis=1)
    const_rows = (x == x[:, :1]).all(axis=1) & ~dead_rows
    norms = np.sqrt((x * x).sum(axis=1))
    top3 = [int(i) for i in np.argsort(-norms, kind="stable")[:3]]
    return {"dead_rows": int(dead_rows.sum()), "dead_cols": int((np.abs(x) <= 0).all(axis=0).sum()),
            "const_rows": int(const_rows.sum()), "top_norm_row": top3[0], "top3": top3, "norms": norms,
            "first_dead": int(np.argmax(dead_rows)) if dead_rows.any() else -1}


def case(d, name, rows, cols, dtype, seed, const_row):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((rows, cols)) * 3
    if np.issubdtype(dtype, np.integer):
        a = np.clip(np.round(a), -100, 100)
    a = a.astype(dtype)
    a[a == 0] = 1  # the only zeros are the planted ones
    for r in sorted({1, rows // 2, rows - 1}):
        a[r, :] = 0  # dead rows (the first one away from row 0)
    a[:, cols // 3] = 0  # dead columns (unless the constant row crosses them)
    a[:, cols - 1] = 0
    if const_row:
        a[2, :] = 7
    a[3, :] *= 4  # the largest norm
    want = expected(a)
    path_f = os.path.join(d, name + "_f.npy")
    path_c = os.path.join(d, name + "_c.npy")
    np.save(path_f, np.asfortranarray(a))
    np.save(path_c, np.ascontiguousarray(a))
    with open(path_f, "rb") as f:
        check(b"'fortran_order': True" in f.read(128), "%s: numpy wrote no Fortran-order header" % name)
    back = np.load(path_f)
    check(back.flags.f_contiguous and np.array_equal(back, a), "%s: numpy reads back the same array" % name)
    got = {"F": stats(path_f), "C": stats(path_c)}
    for order, t in got.items():
        if t is None:
            continue
        where = "%s (%s order, %s %dx%d)" % (name, order, np.dtype(dtype).name, rows, cols)
        for k in ("dead_rows", "dead_cols", "const_rows", "top_norm_row"):
            check(t.get(k) == want[k], "%s: %s %s, numpy says %s" % (where, k, t.get(k), want[k]))
        tops = [r for r, _ in t.get("top_norm_rows", [])]
        check(tops == want["top3"], "%s: top norm rows %s, numpy says %s" % (where, tops, want["top3"]))
        for r, nv in t.get("top_norm_rows", []):
            check(abs(nv - want["norms"][r]) <= 1e-5 * want["norms"][r], "%s: norm of row %d %s vs %s" % (where, r, nv, want["norms"][r]))
        x = a.astype(np.float64)
        check(abs(t["mean"] - x.mean()) <= 1e-6 * max(1.0, abs(x).max()), "%s: mean %s vs %s" % (where, t["mean"], x.mean()))
        check(t["zeros"] == int((x == 0).sum()), "%s: zeros %s vs %s" % (where, t["zeros"], int((x == 0).sum())))
    if got["F"] and got["C"]:
        # Counts are exact; sums may be grouped differently (the tiles cut rows into pieces).
        F, C = got["F"], got["C"]
        for k in ("dead_rows", "dead_cols", "const_rows", "zeros", "min", "max"):
            check(F.get(k) == C.get(k), "%s: %s differs between Fortran and C order: %s vs %s" % (name, k, F.get(k), C.get(k)))
        def close(x, y, scale=0.0):
            return x is not None and y is not None and abs(x - y) <= 1e-6 * max(abs(x), abs(y), scale, 1e-30)
        for k in ("mean", "std"):  # a mean near 0 is compared on the scale of the spread
            check(close(F.get(k), C.get(k), C.get("std") or 0.0),
                  "%s: %s differs between Fortran and C order: %s vs %s" % (name, k, F.get(k), C.get(k)))
        ft, ct = F.get("top_norm_rows", []), C.get("top_norm_rows", [])
        check([r for r, _ in ft] == [r for r, _ in ct] and all(close(a[1], b[1]) for a, b in zip(ft, ct)),
              "%s: top norm rows differ between Fortran and C order: %s vs %s" % (name, ft, ct))


def main():
    if not LS or not os.path.exists(LS):
        print("LAYERSCOPE must name the built binary")
        sys.exit(2)
    with tempfile.TemporaryDirectory() as d:
        case(d, "small", 7, 5, np.float32, 1, True)
        case(d, "odd", 37, 300, np.float32, 2, False)
        case(d, "wide", 16, 1000, np.float16, 3, True)
        case(d, "tall", 2000, 33, np.float64, 4, False)     # several blocks of 512 rows
        case(d, "bytes", 50, 257, np.int8, 5, True)
    if FAILS:
        print("%d failures" % len(FAILS))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
