"""test_stats.py: layerscope's statistics against numpy in float64, on every vector path
the CPU has (scalar, avx2, avx512, forced with --simd): 10^8 f32 values (10^7 in the ASan
build) with NaN, +-Inf and zeros must give the exact counts, min and max, and mean/std
within 1e-6 relative; bf16 and f16 likewise; per-row/column figures and histograms of a
crafted matrix match numpy's."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import lib_tensorgen as tg

LS = os.environ.get("LAYERSCOPE", "layerscope")
ASAN = os.environ.get("LS_SANITIZE") == "1"
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def stats(path, *extra):
    p = subprocess.run([LS, "stats", "--format", "json", path, *extra], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        print(p.stderr)
        raise SystemExit(f"stats exited {p.returncode}")
    return {t["name"]: t for t in json.loads(p.stdout)["tensors"]}, p


def paths():
    out = []
    for s in ("scalar", "avx2", "avx512"):
        p = subprocess.run([LS, "stats", "--simd", s, "/dev/null"], capture_output=True, text=True)
        if "not available" not in p.stderr:
            out.append(s)
    return out


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def test_accuracy(d, rng, simds):
    n = 10 ** 7 if ASAN else 10 ** 8
    x = (rng.standard_normal(n, dtype=np.float32) * 2 + 3).astype(np.float32)
    idx = rng.choice(n, 3000, replace=False)
    x[idx[:1000]] = np.nan
    x[idx[1000:1010]] = np.inf
    x[idx[1010:1020]] = -np.inf
    x[idx[1020:]] = 0
    path = os.path.join(d, "big.safetensors")
    tg.write_safetensors(path, [("x", "F32", [n], x.tobytes())])
    small = x[: n // 10]
    bb = tg.f32_to_bf16_bits(small)
    p16 = os.path.join(d, "half.safetensors")
    tg.write_safetensors(p16, [("h", "F16", [small.size], small.astype(np.float16).tobytes()),
                               ("b", "BF16", [small.size], bb.tobytes())])
    refs = {"x": tg.ref_stats(x), "h": tg.ref_stats(small.astype(np.float16)), "b": tg.ref_stats(tg.bf16_bits_to_f32(bb))}
    del x
    for s in simds:
        got, _ = stats(path, "--simd", s)
        got.update(stats(p16, "--simd", s)[0])
        for name, ref in refs.items():
            g = got[name]
            for k in ("count", "finite", "nan", "pinf", "ninf", "zeros"):
                check(g[k] == ref[k], f"{s} {name}: {k} {g[k]} != {ref[k]}")
            for k in ("min", "max"):
                check(g[k] == ref[k], f"{s} {name}: {k} {g[k]!r} != {ref[k]!r}")
            for k in ("mean", "std"):
                check(rel(g[k], ref[k]) <= 1e-6, f"{s} {name}: {k} {g[k]!r} vs numpy {ref[k]!r} (rel {rel(g[k], ref[k]):.2e})")
        print(f"{s}: mean {got['x']['mean']!r} (numpy {refs['x']['mean']!r}) std {got['x']['std']!r} (numpy {refs['x']['std']!r})")


def test_rows_hist(d, rng, simds):
    m = (rng.standard_normal((300, 70)) * 0.1).astype(np.float32)
    m[3] = 0
    m[10] = 1e-9
    m[20] = 0.5
    m[:, 5] = 0
    m[40, 6] = np.nan
    m[41, 7] = 30.0  # largest norm row
    path = os.path.join(d, "rows.safetensors")
    tg.write_safetensors(path, [("w", "BF16", list(m.shape), tg.f32_to_bf16_bits(m).tobytes()),
                                ("v", "F32", list(m.shape), m.tobytes())])
    mb = tg.bf16_bits_to_f32(tg.f32_to_bf16_bits(m)).astype(np.float64)
    for s in simds:
        got, _ = stats(path, "--simd", s, "--eps", "1e-6", "--histogram", "16")
        for name, ref in (("w", mb), ("v", m.astype(np.float64))):
            g = got[name]
            absmax = np.nanmax(np.abs(np.where(np.isnan(ref), 0, ref)), axis=1)
            dead = int((absmax <= 1e-6).sum())
            check(g["dead_rows"] == dead, f"{s} {name}: dead_rows {g['dead_rows']} != {dead}")
            colmax = np.max(np.abs(np.where(np.isnan(ref), 0, ref)), axis=0)
            check(g["dead_cols"] == int((colmax <= 1e-6).sum()), f"{s} {name}: dead_cols {g['dead_cols']}")
            const = sum(1 for r in ref if np.all(np.isfinite(r)) and np.all(r == r[0]) and abs(r[0]) > 1e-6)
            check(g["const_rows"] == const, f"{s} {name}: const_rows {g['const_rows']} != {const}")
            norms = np.sqrt(np.nansum(ref * ref, axis=1))
            check(g["top_norm_row"] == int(np.argmax(norms)), f"{s} {name}: top row {g['top_norm_row']}")
            check(rel(g["top_norm"], float(norms.max())) < 1e-6, f"{s} {name}: top norm {g['top_norm']} vs {norms.max()}")
            top3 = [int(i) for i in np.argsort(-norms, kind="stable")[:3]]
            check([p[0] for p in g["top_norm_rows"]] == top3, f"{s} {name}: top rows {g['top_norm_rows']} vs {top3}")
            fin = ref[np.isfinite(ref)]
            h, _ = np.histogram(fin, bins=16, range=(fin.min(), fin.max()))
            gh = np.array(g["histogram"]["counts"])
            check(gh.sum() == fin.size, f"{s} {name}: histogram total {gh.sum()} != {fin.size}")
            check(np.abs(gh - h).max() <= 1, f"{s} {name}: histogram {gh.tolist()} vs numpy {h.tolist()}")
            ps = g["percentiles"]
            for q, v in ps.items():
                want = np.percentile(fin, float(q))
                check(abs(v - want) <= (fin.max() - fin.min()) / 65536 * 2 + 1e-7, f"{s} {name}: p{q} {v} vs numpy {want}")


def main():
    rng = np.random.default_rng(7)
    simds = paths()
    print("paths:", simds)
    check("scalar" in simds, "scalar path missing")
    with tempfile.TemporaryDirectory() as d:
        test_rows_hist(d, rng, simds)
        test_accuracy(d, rng, simds)
    if FAILS:
        print(f"{len(FAILS)} failures")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
