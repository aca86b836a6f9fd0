"""engine_check.py: the shared harness of the tests/numeric/test_engine_*.py tests. One case:
write a config.json and seeded random weights (safetensors, in f32 / f16 / bf16) for a small
model, run `$LAYERSCOPE run CONFIG --weights W --tokens ... --dump OUT`, run the same
(stored, i.e. already rounded) weights through the PyTorch reference of ref_models.py with a
forward hook on every module, and compare every module output both sides have plus the
logits. The tolerance is relative to each output's scale: max |engine - torch| <=
rtol * max(|torch|), with rtol 1e-4 by default (fp32 compute on both sides; bf16 / f16 /
quantized weights are compared on the same dequantized values, so the same bound holds).

Also a coverage check: the names the engine dumps must include every module the reference
calls that has parameters (so a family cannot pass by dumping nothing)."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

import ref_models as R

SANITIZE = os.environ.get("LS_SANITIZE") == "1"
EXE = os.environ.get("LAYERSCOPE")


def die(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def encode(t, dtype):
    """float tensor -> (safetensors dtype, numpy array) in the stored encoding."""
    if dtype == "F32":
        return "F32", t.numpy().astype(np.float32)
    if dtype == "F16":
        return "F16", t.numpy().astype(np.float16)
    if dtype == "BF16":
        return "BF16", R.to_bf16_bits(t)
    raise ValueError(dtype)


def write_model(d, cfg, model, w, wdtype="F32", packed=None):
    """Writes cfg as d/config.json and the weights w in wdtype as d/model.safetensors, and
    loads the stored (rounded) values into model. packed: name -> (dict stored name ->
    (dtype, numpy array), float tensor they decode to): weights written in their own
    encoding instead (gpt-oss's MXFP4 experts), the reference loading the decoded values.
    Returns (config path, weights path)."""
    packed = packed or {}
    cpath = os.path.join(d, "config.json")
    with open(cpath, "w") as f:
        json.dump(cfg, f)
    wpath = os.path.join(d, "model.safetensors")
    enc = {}
    for k, v in w.items():
        enc.update(packed[k][0] if k in packed else {k: encode(v, wdtype)})
    R.write_safetensors(wpath, enc)
    stored = R.read_safetensors(wpath)  # the rounded values both sides use
    for k, (parts, deq) in packed.items():
        for p in parts:
            del stored[p]
        stored[k] = deq
    R.load_weights(model, stored)
    return cpath, wpath


def run_engine(cfg_path, weights, tokens, dump, extra=()):
    cmd = [EXE, "run", cfg_path, "--tokens", ",".join(str(t) for t in tokens), "--top-k", "5",
           "--dump", dump] + list(extra)
    if weights:
        cmd[3:3] = ["--weights", weights]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        die("engine failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    return p.stdout


def compare(name, eng, ref, rtol=1e-4, skip=()):
    """eng, ref: dict name -> tensor. Returns the number of tensors compared."""
    n = 0
    worst = (0.0, "")
    worst_abs = 0.0
    for k, r in ref.items():
        if k not in eng or any(k.startswith(s) for s in skip):
            continue
        e = eng[k]
        r = r.float().reshape(-1)
        e = e.float().reshape(-1)
        if e.numel() != r.numel():
            die("%s: %s has %d elements in the engine dump, %d in PyTorch" % (name, k, e.numel(), r.numel()))
        scale = max(r.abs().max().item(), 1e-6)
        err = (e - r).abs().max().item()
        if not (err <= rtol * scale):
            die("%s: module %s differs: max abs diff %.3g, scale %.3g (tolerance %.3g)"
                % (name, k, err, scale, rtol * scale))
        worst = max(worst, (err / scale, k))
        worst_abs = max(worst_abs, err)
        n += 1
    print("  %s: %d tensors agree, worst relative error %.2e (%s), max abs diff %.2e"
          % (name, n, worst[0], worst[1], worst_abs))
    return n


def check_case(name, cfg, tokens, wdtype="F32", seed=0, std=0.08, rtol=1e-4, kw=None, extra=(),
               skip=(), mutate=None, layout=None, pack=None):
    """Runs one model both ways and compares. mutate(weights) may edit the float weights
    before they are stored. layout(name, tensor) may return a reference output in the
    engine's element order where upstream's differs only by a transpose (gemma3's per-head
    q_norm / k_norm outputs are [B, heads, S, head_dim], the engine's [B, S, heads,
    head_dim]). pack(weights) may return write_model's `packed` (weights stored in another
    encoding). Returns the engine's dump."""
    kw = kw or {}
    model = R.build(cfg)
    w = R.random_weights(model, seed, std=std)
    if mutate:
        mutate(w)
    with tempfile.TemporaryDirectory() as d:
        cpath, wpath = write_model(d, cfg, model, w, wdtype, pack(w) if pack else None)
        dump = os.path.join(d, "dump.safetensors")
        run_engine(cpath, wpath, tokens, dump, extra)
        eng = R.read_safetensors(dump)
    ids = torch.tensor([tokens])
    logits, outs = R.dump_modules(model, ids, **kw)
    outs["logits"] = logits
    if layout:
        outs = {k: layout(k, v) for k, v in outs.items()}
    # coverage: every reference module with its own parameters must be in the dump
    missing = []
    for mname, mod in model.named_modules():
        own = [p for p, _ in mod.named_parameters(recurse=False)]
        if mname and own and mname in outs and mname not in eng and \
                not any(mname.startswith(s) for s in skip):
            missing.append(mname)
    if missing:
        die("%s: the engine dump lacks modules the reference runs: %s" % (name, missing[:8]))
    if "logits" not in eng:
        die("%s: no logits in the dump" % name)
    n = compare(name, eng, outs, rtol, skip)
    if n < 5:
        die("%s: only %d tensors compared" % (name, n))
    return eng


def expect_refusal(name, cfg, tensors, words):
    """Writes cfg and tensors (name -> (safetensors dtype, numpy array)) and requires
    `layerscope run` to fail with a message containing every one of words."""
    with tempfile.TemporaryDirectory() as d:
        cpath, wpath = os.path.join(d, "config.json"), os.path.join(d, "model.safetensors")
        with open(cpath, "w") as f:
            json.dump(cfg, f)
        R.write_safetensors(wpath, tensors)
        p = subprocess.run([EXE, "run", cpath, "--weights", wpath, "--tokens", "1,2,3"],
                           capture_output=True, text=True, timeout=120)
    if p.returncode == 0 or not all(w in p.stderr for w in words):
        die("%s: expected a refusal naming %s, got rc %d: %s" % (name, words, p.returncode, p.stderr))
    print("  %s: refused (%s)" % (name, p.stderr.strip().splitlines()[-1][:100]))


def heads_major_to_seq_major(*suffixes):
    """A check_case layout for per-head norms that upstream runs on [B, heads, S, head_dim]
    (gemma3's q_norm / k_norm, phi's q_layernorm / k_layernorm), where the engine's order is
    [B, S, heads, head_dim]: the same values, transposed."""
    def layout(name, t):
        return t.transpose(1, 2).contiguous() if name.endswith(suffixes) else t
    return layout


def tokens_for(vocab, n, seed):
    g = np.random.default_rng(seed)
    return [int(t) for t in g.integers(0, vocab, size=n)]


def require_exe():
    if not EXE or not os.path.exists(EXE):
        die("LAYERSCOPE is not set to the built binary")
