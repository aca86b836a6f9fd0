"""gen.py: writes the benchmark's big tensor files (seeded) with a minimal safetensors
writer: one [rows, 4096] tensor of normal values (std 0.02, a few NaN/zero rows) per dtype.
Usage: gen.py OUTDIR GIB DTYPE...   (DTYPE: f32 bf16 f16). Files go to OUTDIR (use /tmp, not
the repository)."""
import json
import struct
import sys

import numpy as np


def write(path, dtype, gib):
    esize = 4 if dtype == "f32" else 2
    cols = 4096
    rows = int(gib * (1 << 30)) // (cols * esize)
    nbytes = rows * cols * esize
    st = {"f32": "F32", "bf16": "BF16", "f16": "F16"}[dtype]
    header = json.dumps({"weight": {"dtype": st, "shape": [rows, cols], "data_offsets": [0, nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    rng = np.random.default_rng(1234)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        step = 4096
        for r in range(0, rows, step):
            n = min(step, rows - r)
            x = (rng.standard_normal((n, cols), dtype=np.float32) * 0.02 + 0.001).astype(np.float32)
            if r == 0:
                x[7] = 0.0
                x[9, 3] = np.nan
            if dtype == "f32":
                f.write(x.tobytes())
            elif dtype == "f16":
                f.write(x.astype(np.float16).tobytes())
            else:  # bf16: round to nearest even on the upper 16 bits
                u = x.view(np.uint32).astype(np.uint64)
                u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
                f.write(u.tobytes())


if __name__ == "__main__":
    out, gib = sys.argv[1], float(sys.argv[2])
    for dt in sys.argv[3:]:
        write(f"{out}/bench_{dt}.safetensors", dt, gib)
