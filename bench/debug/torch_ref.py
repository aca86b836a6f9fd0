#!/usr/bin/python3
"""torch_ref.py: what a user does without layerscope, timed for bench/debug/run.sh.
  hook  CONFIG WEIGHTS TOKENS [DTYPE] : load a bf16 safetensors file (mapped, as the
        safetensors package does) into a PyTorch Llama (the independent reference in
        tests/numeric/ref_models.py, upstream module names) the way `from_pretrained` does:
        parameters in the config's torch_dtype (float32 here, the default) or in DTYPE
        (`torch_dtype=torch.bfloat16`), initialisation skipped; register a forward hook on
        model.layers.0 and time until the hook first fires; split into mapping the file,
        building the model, copying the weights in, and the forward pass up to the hook.
  stats N : the statistics of one line of layerscope (mean, std, min, max, nan / inf counts,
        zeros) of an N-element float32 tensor in PyTorch, as a user types them; first call
        and best of 3; also the naive version that does not exclude NaN/Inf first (median of 3).
Prints one JSON object on stdout.
"""
import json
import mmap
import os
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "numeric"))
import ref_models  # noqa: E402

# Debian's torch starts with one OpenMP thread; layerscope uses every core, so does this.
torch.set_num_threads(os.cpu_count() or 1)

DT = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class Hit(Exception):
    pass


def load_safetensors(path):
    """safetensors.torch.load_file equivalent: the file mapped (private, so tensors may be
    writable without a copy), one bf16 tensor per entry viewing the mapping; the bytes are
    read when load_state_dict copies them into the parameters."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        assert info["dtype"] == "BF16"
        t = torch.frombuffer(mm, dtype=torch.int16, count=(b - a) // 2, offset=8 + n + a)
        out[name] = t.view(torch.bfloat16).reshape(info["shape"])
    return out


def no_init():
    """What transformers' no_init_weights does: parameters are allocated, not initialised."""
    for name in ("kaiming_uniform_", "uniform_", "normal_", "xavier_uniform_"):
        setattr(torch.nn.init, name, lambda t, *a, **k: t)


def hook_run(cfg_path, weights, n_tokens, dtype_name):
    with open(cfg_path) as f:
        cfg = json.load(f)
    t0 = time.perf_counter()
    sd = load_safetensors(weights)
    t_read = time.perf_counter()
    no_init()
    dtype = DT[dtype_name or cfg.get("torch_dtype") or "float32"]
    torch.set_default_dtype(dtype)  # as from_pretrained(torch_dtype=...) builds the model
    model = ref_models.build(cfg)
    torch.set_default_dtype(torch.float32)
    t_build = time.perf_counter()
    with torch.no_grad():
        model.load_state_dict(sd, strict=True)
    t_load = time.perf_counter()
    del sd
    hit = {}

    def hook(mod, inp, out):
        hit["t"] = time.perf_counter()
        raise Hit()

    model.model.layers[0].register_forward_hook(hook)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, cfg["vocab_size"], (1, n_tokens), generator=g)
    try:
        with torch.no_grad():
            model(ids)
    except Hit:
        pass
    return {"what": "torch_hook", "dtype": str(dtype), "threads": torch.get_num_threads(),
            "ms_total": (hit["t"] - t0) * 1e3, "ms_read": (t_read - t0) * 1e3,
            "ms_build": (t_build - t_read) * 1e3, "ms_load_state_dict": (t_load - t_build) * 1e3,
            "ms_forward_to_hook": (hit["t"] - t_load) * 1e3}


def stats_run(n):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(n, generator=g, dtype=torch.float32)
    x[::2] = 0  # zeros, as a causal attention's probabilities have

    def once():
        t = time.perf_counter()
        fin = torch.isfinite(x)
        xf = x[fin]
        r = (xf.mean().item(), xf.std().item(), xf.min().item(), xf.max().item(),
             int(torch.isnan(x).sum()), int(torch.isinf(x).sum()), int((x == 0).sum()))
        return (time.perf_counter() - t) * 1e3, r

    def naive():
        """the same figures without excluding NaN/Inf first (wrong when any are present)"""
        t = time.perf_counter()
        r = (x.mean().item(), x.std().item(), x.min().item(), x.max().item(),
             int(torch.isnan(x).sum()), int(torch.isinf(x).sum()), int((x == 0).sum()))
        return (time.perf_counter() - t) * 1e3, r

    first, _ = once()
    rest = sorted(once()[0] for _ in range(2))
    nv = sorted(naive()[0] for _ in range(3))
    return {"what": "torch_stats", "n": n, "threads": torch.get_num_threads(), "ms_first": first,
            "ms_best_of_3": min(first, rest[0]), "ms_naive_median_of_3": nv[1]}


if __name__ == "__main__":
    if sys.argv[1] == "hook":
        print(json.dumps(hook_run(sys.argv[2], sys.argv[3], int(sys.argv[4]),
                                  sys.argv[5] if len(sys.argv) > 5 else None)))
    else:
        print(json.dumps(stats_run(int(sys.argv[2]))))
