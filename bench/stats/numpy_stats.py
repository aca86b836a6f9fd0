"""numpy_stats.py: the numpy side of the statistics benchmark: the same figures as
`layerscope stats` (count, NaN, +Inf, -Inf, zeros, subnormals, and mean, std, min, max,
absmax over the finite values, per-row absmax for dead rows) for the one tensor of a
safetensors file, memory-mapped with numpy, in the straightforward vectorised way a user
would write. Prints the seconds taken and the figures as JSON."""
import json
import struct
import sys
import time

import numpy as np


def main(path):
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        (name, info), = [(k, v) for k, v in json.loads(f.read(n)).items() if k != "__metadata__"]
    raw = np.memmap(path, mode="r", offset=8 + n, shape=tuple(info["shape"]),
                    dtype={"F32": np.float32, "F16": np.float16, "BF16": np.uint16}[info["dtype"]])
    # Chunks of rows keep numpy's temporaries (bool masks, float64 copies) near 1 GiB, as a
    # user would on a multi-GB tensor; the figures are combined exactly (counts, sums in
    # float64, Chan's formula is not needed since sums of x and x^2 are float64).
    rows = raw.shape[0]
    step = max(1, (1 << 24) // max(1, raw[0].size))
    c = dict(count=0, nan=0, pinf=0, ninf=0, zeros=0, subnormals=0, finite=0, dead_rows=0)
    s1 = s2 = 0.0
    lo, hi = np.inf, -np.inf
    for r in range(0, rows, step):
        blk = raw[r:r + step]
        if info["dtype"] == "BF16":
            x = (blk.astype(np.uint32) << 16).view(np.float32)
            tiny = np.finfo(np.float32).tiny
        else:
            x = np.asarray(blk)
            tiny = np.finfo(x.dtype).tiny
        fin = np.isfinite(x)
        xf = x[fin].astype(np.float64)
        a = np.abs(x)
        c["count"] += x.size
        c["nan"] += int(np.isnan(x).sum())
        c["pinf"] += int(np.isposinf(x).sum())
        c["ninf"] += int(np.isneginf(x).sum())
        c["zeros"] += int((x == 0).sum())
        c["subnormals"] += int(((a < tiny) & (x != 0)).sum())
        c["finite"] += xf.size
        s1 += float(xf.sum())
        s2 += float(np.dot(xf, xf))
        if xf.size:
            lo, hi = min(lo, float(xf.min())), max(hi, float(xf.max()))
        if x.ndim == 2:
            c["dead_rows"] += int((np.nanmax(a, axis=1) == 0).sum())
    mean = s1 / c["finite"]
    out = dict(c, mean=mean, std=max(0.0, s2 / c["finite"] - mean * mean) ** 0.5, min=lo, max=hi,
               absmax=max(abs(lo), abs(hi)))
    out["seconds"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
