"""bench_engine.py: prefill speed of the layerscope reference engine against PyTorch CPU,
same weights, same thread count, in one run.

Cases (sequence 128, batch 1, random seeded weights written to a temporary directory):
  gpt2-small   n_embd 768, 12 layers, 12 heads, vocab 50257       weights f32 and bf16
  tinyllama    hidden 2048, 22 layers, 32 heads / 4 kv, inter 5632, vocab 32000   bf16
For each: layerscope `run --timing` (forward pass only, weights already mapped), with no
hook and with a statistics hook on every module (--stats-hook: count, mean, std, min, max,
NaN, Inf, zeros of every module output), against PyTorch (ref_models.py modules, eval,
no_grad) with no hook and with forward hooks on every module computing the same figures
in Python. PyTorch runs bf16 weights both natively (bf16 matmuls) and upcast to f32 (what
the engine computes in); both are reported. For bf16 weights the engine also runs with
`--compute bf16` (rows "layerscope bf16": bf16 activations into the matrix products, fp32
accumulation, AVX512_BF16; core/engine/ops_bf16.h), the like-for-like rival of torch bf16. Each figure is the best of --reps repetitions, run round-robin (every
repetition runs every runner once, so a busy spell of a shared machine hits them alike),
after a warm-up. The peak RSS of the layerscope TinyLlama run (reported by the process itself) is
compared with the weight file size + 1 GiB.

usage: LAYERSCOPE=build/engine/layerscope python3 bench/engine/bench_engine.py
       [--threads N] [--reps R] [--cases gpt2-f32,gpt2-bf16,tinyllama-bf16] [--seq 128]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "numeric"))
import ref_models as R  # noqa: E402

GPT2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 50257,
        "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12}
TINY = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 32000,
        "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
        "num_attention_heads": 32, "num_key_value_heads": 4, "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False}


def write_weights(model, path, dtype, seed=0):
    """Seeded N(0, 0.02) weights straight into a safetensors file, one tensor at a time."""
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, p in model.state_dict().items():
        if name in getattr(model, "tied", {}):
            continue
        if p.dim() == 1:
            t = torch.ones(p.shape) if "norm" in name or "ln_" in name else torch.zeros(p.shape)
        else:
            t = torch.randn(p.shape, generator=g) * 0.02
        tensors[name] = ("BF16", R.to_bf16_bits(t)) if dtype == "bf16" else ("F32", t.numpy())
    R.write_safetensors(path, tensors)


def stats_hook(mod, inp, out):
    t = out[0] if isinstance(out, (tuple, list)) else out
    if not torch.is_tensor(t):
        return
    t = t.float()
    fin = torch.isfinite(t)
    v = t[fin]
    _ = (t.numel(), v.mean().item() if v.numel() else 0.0, v.std().item() if v.numel() > 1 else 0.0,
         v.min().item() if v.numel() else 0.0, v.max().item() if v.numel() else 0.0,
         torch.isnan(t).sum().item(), torch.isinf(t).sum().item(), (t == 0).sum().item())


def time_torch(model, ids, hooks):
    hs = [m.register_forward_hook(stats_hook) for n, m in model.named_modules() if n] if hooks else []
    with torch.no_grad():
        t0 = time.perf_counter()
        model(ids)
        dt = time.perf_counter() - t0
    for h in hs:
        h.remove()
    return dt


def time_engine(cfg_path, wpath, seq, threads, hooks, compute="fp32", matmul=None):
    """One `layerscope run --timing` process; returns (forward seconds, peak RSS bytes).
    matmul: force the bf16 product path (LAYERSCOPE_MATMUL=kernel|dnnl), else the CPU's."""
    cmd = [os.environ["LAYERSCOPE"], "run", cfg_path, "--weights", wpath, "--random-tokens",
           str(seq), "--seed", "1", "--threads", str(threads), "--timing", "--compute", compute]
    if hooks:
        cmd.append("--stats-hook")
    env = dict(os.environ)
    env.pop("LAYERSCOPE_MATMUL", None)
    if matmul:
        env["LAYERSCOPE_MATMUL"] = matmul
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit("layerscope failed: %s" % p.stderr)
    PATHS[(compute, matmul)] = p.stderr.split("products: ")[1].split("\n")[0]
    line = [l for l in p.stderr.splitlines() if l.startswith("forward:")][0]
    # the process reports its own VmHWM: getrusage(RUSAGE_CHILDREN) here would count the
    # forked copy of this (large) Python process before exec
    return (float(line.split(" in ")[1].split(" s")[0]),
            float(line.split("peak RSS ")[1].split(" MiB")[0]) * 2**20)


PATHS = {}  # (compute, forced path) -> the products path the engine reported


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--cases", default="gpt2-f32,gpt2-bf16,tinyllama-bf16")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    print("CPU: %s (%s)" % (cpu, " ".join(f for f in ("avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni")
                                          if f in flags) or "no AVX-512 BF16 / AMX"))
    print("threads %d, seq %d, best of %d; torch %s" % (a.threads, a.seq, a.reps, torch.__version__))
    print("%-16s %-22s %10s %13s %13s" % ("case", "runner", "tokens/s", "vs torch f32", "vs torch bf16"))
    ids = torch.randint(0, 32000, (1, a.seq), generator=torch.Generator().manual_seed(1))
    for case in a.cases.split(","):
        name, dtype = case.rsplit("-", 1)
        cfg = GPT2 if name == "gpt2" else TINY
        with tempfile.TemporaryDirectory() as d:
            cpath = os.path.join(d, "config.json")
            with open(cpath, "w") as f:
                json.dump(cfg, f)
            wpath = os.path.join(d, "model.safetensors")
            model = R.build(cfg)
            write_weights(model, wpath, dtype)
            wbytes = os.path.getsize(wpath)
            R.load_weights(model, R.read_safetensors(wpath))
            runners = [("layerscope", False), ("layerscope +stats", True),
                       ("torch f32", False), ("torch f32 +hooks", True)]
            models = {"torch f32": model}
            if dtype == "bf16":
                import copy
                models["torch bf16"] = copy.deepcopy(model).to(torch.bfloat16)
                runners += [("torch bf16", False), ("torch bf16 +hooks", True),
                            ("layerscope bf16", False), ("layerscope bf16 +stats", True),
                            ("layerscope bf16 kernel", False), ("layerscope bf16 onednn", False)]
            # Round-robin: every repetition runs every runner once, so a busy spell on a
            # shared machine slows all of them alike; each keeps its best time. Repetition 0
            # is a warm-up for the in-process PyTorch runs.
            best = {r: 1e9 for r, _ in runners}
            rss = 0
            for rep in range(a.reps + 1):
                for r, hooks in runners:
                    if r.startswith("layerscope"):
                        forced = "kernel" if r.endswith(" kernel") else "dnnl" if r.endswith(" onednn") else None
                        t, m_rss = time_engine(cpath, wpath, a.seq, a.threads, hooks,
                                               "bf16" if " bf16" in r else "fp32", forced)
                        rss = max(rss, m_rss)
                    else:
                        t = time_torch(models[r.replace(" +hooks", "")], ids, hooks)
                        if rep == 0:
                            continue
                    best[r] = min(best[r], t)
            del model, models
            rows = [(r, best[r], rss if r.startswith("layerscope") else 0) for r, _ in runners]
            tt = {False: best["torch f32"], True: best["torch f32 +hooks"]}
            tb = {False: best["torch bf16"], True: best["torch bf16 +hooks"]} if dtype == "bf16" else {}
            for runner, t, rss in rows:
                hk = runner.endswith("+stats") or runner.endswith("+hooks")
                vb = "%12.2fx" % (tb[hk] / t) if tb else "%13s" % "-"
                print("%-16s %-22s %10.1f %12.2fx %s" % (case, runner, a.seq / t, tt[hk] / t, vb))
            for (comp, forced), path in sorted(PATHS.items(), key=str):
                print("%-16s %-22s %s" % (case, "products %s%s" % (comp, " (forced %s)" % forced if forced else ""), path))
            PATHS.clear()
            slow = rows[1][1] / rows[0][1] - 1
            print("%-16s %-22s %9.1f%%" % (case, "stats hook slowdown", 100 * slow))
            if dtype == "bf16":
                slow = best["layerscope bf16 +stats"] / best["layerscope bf16"] - 1
                print("%-16s %-22s %9.1f%%" % (case, "bf16 stats slowdown", 100 * slow))
            if name == "tinyllama":
                print("%-16s %-22s %6.2f GiB (weights %.2f GiB, target < %.2f GiB)"
                      % (case, "layerscope peak RSS", rows[1][2] / 2**30, wbytes / 2**30,
                         wbytes / 2**30 + 1))


if __name__ == "__main__":
    main()
