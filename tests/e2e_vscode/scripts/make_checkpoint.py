#!/usr/bin/python3
"""make_checkpoint.py: writes the small random-weight checkpoint the VS Code end-to-end test
launches with the `weights` argument: OUT/config.json (a copy of CONFIG), OUT/model.safetensors
(every tensor of the model, as `layerscope summary --format json` names and shapes them,
float32 from a seeded normal(0, 0.02); LayerNorm weights 1) and OUT/expected.json: for the
token ids the launch uses, the statistics of the embedding rows those tokens select
(transformer.wte output), computed here with numpy from the written weights, so the test can
check in the Debug Console that the adapter really ran on this file and not on its own
seeded random weights.
Usage: make_checkpoint.py LAYERSCOPE CONFIG OUT_DIR TOKEN[,TOKEN...]"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "numeric"))
from lib_tensorgen import write_safetensors  # noqa: E402


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    binary, config, out, tokens = sys.argv[1], sys.argv[2], sys.argv[3], [int(t) for t in sys.argv[4].split(",")]
    os.makedirs(out, exist_ok=True)
    shutil.copyfile(config, os.path.join(out, "config.json"))
    summary = json.loads(subprocess.check_output([binary, "summary", config, "--format", "json"]))
    rng = np.random.default_rng(20261123)
    tensors, arrays = [], {}
    for t in summary["tensors"]:
        shape = tuple(t["shape"])
        if t["name"].endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            a = np.ones(shape, np.float32)
        else:
            a = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        arrays[t["name"]] = a
        tensors.append((t["name"], "F32", shape, a.tobytes()))
    write_safetensors(os.path.join(out, "model.safetensors"), tensors)
    wte = next(v for k, v in arrays.items() if k.endswith("wte.weight"))
    rows = wte[np.array(tokens)].astype(np.float64)  # [S, n_embd]: what transformer.wte outputs
    expected = {"tokens": tokens, "wte_max": float(rows.max()), "wte_min": float(rows.min()),
                "wte_mean": float(rows.mean()), "n_tensors": len(tensors)}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
    print(json.dumps(expected))


if __name__ == "__main__":
    main()
