"""bench_decode.py: decoding speed of `layerscope run --generate` (KV cache, core/engine/
generate.c) on a TinyLlama-shaped bf16 model (random weights, 2.2 GB), 2 threads, against

- PyTorch bf16: a greedy loop with a KV cache over the same weights (tests/numeric/
  ref_cached.py over ref_models.py, model.to(torch.bfloat16), torch.set_num_threads), and
- the memory-bandwidth limit: each decoded token reads every weight once (all but the
  embedding table, of which one row), so tokens/s cannot exceed bandwidth / weight bytes;
  the bandwidth is measured in the same run by stream_bw.c (T threads streaming a 1 GiB
  buffer, best of 5).

Both runners decode 128 tokens after an 8-token prompt; each keeps its best of --reps
round-robin repetitions (a busy spell slows both). Prints the CPU model and the products
path the engine reported.

  LAYERSCOPE=build/release/cli/layerscope /usr/bin/python3 bench/engine/bench_decode.py --reps 3
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "numeric"))
import bench_engine as B  # noqa: E402  (TINY, write_weights, ref_models as B.R)
from ref_cached import llama_cached  # noqa: E402

R = B.R


def engine_decode(exe, cpath, wpath, prompt, n, threads, env_extra=None):
    cmd = [exe, "run", cpath, "--weights", wpath, "--tokens", ",".join(map(str, prompt)),
           "--generate", str(n + 1), "--timing", "--compute", "bf16", "--threads", str(threads)]
    env = dict(os.environ, **(env_extra or {}))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit("layerscope failed: %s" % p.stderr)
    line = [l for l in p.stderr.splitlines() if l.startswith("decode:")][0]
    secs = float(line.split(" in ")[1].split(" s")[0])
    return secs, line.split("products: ")[1]


def torch_decode(model, cfg, prompt, n):
    cache = {}
    with torch.no_grad():
        logits = llama_cached(model, cfg, torch.tensor([prompt]), cache, 0)
        tok = int(torch.argmax(logits[0, -1]))
        pos = len(prompt)
        t0 = time.perf_counter()
        for _ in range(n):
            logits = llama_cached(model, cfg, torch.tensor([[tok]]), cache, pos)
            tok = int(torch.argmax(logits[0, -1]))
            pos += 1
        return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=128)
    a = ap.parse_args()
    exe = os.environ["LAYERSCOPE"]
    torch.set_num_threads(a.threads)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print("CPU: %s; threads %d; decode %d tokens after 8; best of %d; torch %s"
          % (cpu, a.threads, a.tokens, a.reps, torch.__version__))
    bw_exe = os.path.join(tempfile.gettempdir(), "ls_stream_bw")
    subprocess.run(["cc", "-O3", "-march=native", os.path.join(HERE, "stream_bw.c"), "-lpthread",
                    "-o", bw_exe], check=True)
    cfg = B.TINY
    prompt = list(range(1, 9))
    with tempfile.TemporaryDirectory() as d:
        cpath = os.path.join(d, "config.json")
        with open(cpath, "w") as f:
            json.dump(cfg, f)
        wpath = os.path.join(d, "model.safetensors")
        model = R.build(cfg)
        B.write_weights(model, wpath, "bf16")
        R.load_weights(model, R.read_safetensors(wpath))
        model = model.to(torch.bfloat16).eval()
        embed = cfg["vocab_size"] * cfg["hidden_size"] * 2
        wbytes = os.path.getsize(wpath) - embed  # bytes a decoded token reads
        best = {"layerscope": 1e9, "layerscope kernel": 1e9, "torch bf16": 1e9}
        gbps, paths = 0.0, {}
        torch_decode(model, cfg, prompt, 4)  # warm-up
        for _ in range(a.reps):
            bw = json.loads(subprocess.run([bw_exe, "1024", str(a.threads), "5"], capture_output=True,
                                           text=True, check=True).stdout)
            gbps = max(gbps, bw["gbps"])
            t, paths["layerscope"] = engine_decode(exe, cpath, wpath, prompt, a.tokens, a.threads)
            best["layerscope"] = min(best["layerscope"], t)
            t, paths["layerscope kernel"] = engine_decode(exe, cpath, wpath, prompt, a.tokens, a.threads,
                                                          {"LAYERSCOPE_MATMUL": "kernel"})
            best["layerscope kernel"] = min(best["layerscope kernel"], t)
            best["torch bf16"] = min(best["torch bf16"], torch_decode(model, cfg, prompt, a.tokens))
    limit = gbps * 1e9 / wbytes
    print("streaming read: %.2f GB/s (%d threads); weight bytes per token %.3f GB; limit %.1f tokens/s"
          % (gbps, a.threads, wbytes / 1e9, limit))
    print("%-20s %10s %10s %12s %9s  %s" % ("runner", "tokens/s", "ms/token", "vs torch", "of limit", "products"))
    tt = a.tokens / best["torch bf16"]
    for r in ("layerscope", "layerscope kernel", "torch bf16"):
        tps = a.tokens / best[r]
        print("%-20s %10.2f %10.2f %11.2fx %8.0f%%  %s" % (r, tps, 1e3 / tps, tps / tt, 100 * tps / limit,
                                                         paths.get(r, "oneDNN (PyTorch)")))


if __name__ == "__main__":
    main()
