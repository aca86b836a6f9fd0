"""test_stats_cli.py: `layerscope stats` end to end: text and JSON output, findings (NaN,
Inf, all-zero tensors, dead rows, an outlier layer among siblings), --filter, --fail-on exit
codes as a CI gate, and clear errors for missing, truncated and malformed files. Fixtures
are written here (seeded) with the minimal safetensors writer of tests/numeric."""
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
    return subprocess.run([LS, *args], capture_output=True, text=True)


def main():
    rng = np.random.default_rng(11)
    with tempfile.TemporaryDirectory() as d:
        layers = []
        for i in range(8):
            std = 0.3 if i == 5 else 0.02
            w = (rng.standard_normal((16, 32)) * std).astype(np.float32)
            layers.append((f"model.layers.{i}.mlp.down_proj.weight", "F32", [16, 32], w.tobytes()))
            b = (rng.standard_normal(16) * 0.01).astype(np.float32)
            layers.append((f"model.layers.{i}.mlp.down_proj.bias", "F32", [16], b.tobytes()))
        model = os.path.join(d, "model.safetensors")
        tg.write_safetensors(model, layers)
        p = ls("stats", model)
        check(p.returncode == 0, f"clean model exit {p.returncode}: {p.stderr}")
        lines = [l for l in p.stdout.splitlines() if l.startswith("model.layers.")]
        check(len(lines) == 16, f"{len(lines)} tensor lines")
        first = lines[0].split()
        check(first[0] == "model.layers.0.mlp.down_proj.weight" and first[1] == "f32" and first[2] == "[16,32]",
              f"line format: {lines[0]}")
        outl = [l for l in p.stdout.splitlines() if l.strip().startswith("outlier")]
        check(len(outl) == 1 and "model.layers.5.mlp.down_proj.weight" in outl[0], f"outlier findings: {outl}")
        check(ls("stats", model, "--fail-on", "outlier").returncode == 1, "--fail-on outlier should exit 1")
        check(ls("stats", model, "--fail-on", "nan,inf").returncode == 0, "--fail-on nan,inf on a clean model should exit 0")
        j = json.loads(ls("stats", model, "--format", "json", "--filter", "*.bias").stdout)
        check(len(j["tensors"]) == 8 and all(t["name"].endswith(".bias") for t in j["tensors"]), "--filter *.bias")
        w5 = np.frombuffer(layers[10][3], dtype=np.float32)
        t5 = json.loads(ls("stats", model, "--format", "json", "--filter", "model.layers.5.mlp.down_proj.weight").stdout)["tensors"][0]
        check(abs(t5["std"] - w5.astype(np.float64).std()) < 1e-6 * w5.std(), f"layer 5 std {t5['std']}")

        bad = (rng.standard_normal((8, 8))).astype(np.float32)
        bad[1, 2] = np.nan
        inf = np.ones((4, 4), np.float32)
        inf[0, 0] = np.inf
        dead = (rng.standard_normal((10, 6))).astype(np.float32)
        dead[[2, 5]] = 0
        broken = os.path.join(d, "broken.safetensors")
        tg.write_safetensors(broken, [("a.nan", "F32", [8, 8], bad.tobytes()), ("b.inf", "F32", [4, 4], inf.tobytes()),
                                      ("c.zero", "F32", [3, 5], np.zeros((3, 5), np.float32).tobytes()),
                                      ("d.dead", "F32", [10, 6], dead.tobytes())])
        p = ls("stats", broken)
        out = p.stdout
        check("nan      a.nan: 1 NaN of 64 values" in out, "NaN finding")
        check("inf      b.inf: 1 +Inf, 0 -Inf of 16 values" in out, "Inf finding")
        check("zero     c.zero: all 15 values are zero" in out, "all-zero finding")
        check("dead     d.dead: 2 of 10 rows have |x| <= 0 (first: row 2)" in out, f"dead rows finding:\n{out}")
        check(ls("stats", broken, "--fail-on", "nan").returncode == 1, "--fail-on nan exit 1")
        check(ls("stats", broken, "--fail-on", "inf", "--filter", "a.*").returncode == 0, "--fail-on inf with only NaN: exit 0")
        j = json.loads(ls("stats", broken, "--format", "json").stdout)
        kinds = sorted({f["kind"] for f in j["findings"]})
        check(kinds == ["constant", "dead", "inf", "nan", "zero"], f"finding kinds {kinds}")  # b.inf rows 1-3 are all 1.0
        a = [t for t in j["tensors"] if t["name"] == "a.nan"][0]
        check(a["nan"] == 1 and a["finite"] == 63 and abs(a["mean"] - np.nanmean(bad.astype(np.float64))) < 1e-6, "a.nan figures")

        # bad input: clear message naming the file and the problem, exit 1; usage errors exit 2
        p = ls("stats", os.path.join(d, "missing.safetensors"))
        check(p.returncode == 1 and "missing.safetensors" in p.stderr, f"missing file: {p.returncode} {p.stderr}")
        with open(model, "rb") as f:
            raw = f.read()
        trunc = os.path.join(d, "trunc.safetensors")
        with open(trunc, "wb") as f:
            f.write(raw[: len(raw) - 100])
        p = ls("stats", trunc)
        check(p.returncode == 1 and "trunc.safetensors" in p.stderr and "beyond the data" in p.stderr
              and "model.layers.7" in p.stderr, f"truncated: {p.stderr}")
        hdr = os.path.join(d, "hdr.safetensors")
        with open(hdr, "wb") as f:
            f.write((10 ** 9).to_bytes(8, "little") + b"{}")
        p = ls("stats", hdr)
        check(p.returncode == 1 and "header length 1000000000 is beyond the file size 10" in p.stderr, f"header: {p.stderr}")
        check(ls("stats", model, "--format", "xml").returncode == 2, "--format xml is a usage error")
        check(ls("stats", model, "--fail-on", "bogus").returncode == 2, "--fail-on bogus is a usage error")
        check(ls("stats").returncode == 2, "no file is a usage error")

        # GGUF through the CLI: upstream names
        q = rng.standard_normal((2, 32)).astype(np.float32)
        raw, _ = tg.quant_q8_0(q.reshape(-1))
        g = os.path.join(d, "m.gguf")
        tg.write_gguf(g, [("general.architecture", tg.GSTR, "llama")], [("blk.3.ffn_up.weight", "q8_0", (2, 32), raw)])
        p = ls("stats", g)
        check("model.layers.3.mlp.up_proj.weight" in p.stdout and "q8_0" in p.stdout and "[2,32]" in p.stdout, p.stdout)
    if FAILS:
        print(f"{len(FAILS)} failures")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
