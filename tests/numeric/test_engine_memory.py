"""test_engine_memory.py: memory before work, and --layers N.
  - A Llama-2-70B-shaped config on random weights (fp32: about 257 GiB, more than any machine
    this runs on has available): `run` and `debug` refuse within seconds, before allocating
    (the children's peak RSS stays small), with the figures (GiB needed and available,
    MemAvailable) and the ways out (--layers N, bf16 random weights, a smaller config).
  - --layers N on a weight file: the first N layers of a 3-layer model agree with the
    PyTorch reference built with N layers from the same stored weights (1e-4).
  - --layers N on random weights is the N-layer config's random model (weights are seeded
    per tensor name), so their logits are equal."""
import json
import os
import resource
import subprocess
import tempfile
import time

import torch

import engine_check as C
import ref_models as R

C.require_exe()

BIG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 32000, "hidden_size": 8192,
       "intermediate_size": 28672, "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8,
       "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "torch_dtype": "float32"}


def ls(*args):
    t0 = time.monotonic()
    p = subprocess.run([C.EXE] + list(args), capture_output=True, text=True, timeout=120)
    return p, time.monotonic() - t0


with tempfile.TemporaryDirectory() as d:
    big = os.path.join(d, "llama-70b.json")
    with open(big, "w") as f:
        json.dump(BIG, f)
    for cmd in (["run", big, "--tokens", "1,2"], ["debug", big, "--tokens", "1,2", "--eval", "1"]):
        p, dt = ls(*cmd)
        msg = p.stderr
        if p.returncode != 1:
            C.die("%s: exit %d (expected a refusal)\n%s%s" % (cmd[0], p.returncode, p.stdout, msg))
        for want in ("need 25", "GiB", "MemAvailable", "refusing before allocating", "--layers N",
                     "bfloat16", "smaller config"):
            if want not in msg:
                C.die("%s: the refusal lacks %r:\n%s" % (cmd[0], want, msg))
        if dt > 10:
            C.die("%s: the refusal took %.1f s" % (cmd[0], dt))
        print("  %s refuses in %.2f s: %s" % (cmd[0], dt, msg.strip().splitlines()[-1][:160]))
    rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if rss_mib > 256:
        C.die("a refusing child peaked at %.0f MiB: it allocated" % rss_mib)

    # --layers N with a weight file: the reference with N layers on the same stored weights
    cfg3 = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 96, "hidden_size": 64,
            "intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4,
            "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-5}
    toks = C.tokens_for(96, 8, 3)
    m3 = R.build(cfg3)
    w = R.random_weights(m3, 41, std=0.08)
    cpath, wpath = C.write_model(d, cfg3, m3, w)
    m2 = R.build(dict(cfg3, num_hidden_layers=2))
    stored = R.read_safetensors(wpath)
    R.load_weights(m2, {k: v for k, v in stored.items() if ".layers.2." not in k})
    with torch.no_grad():
        want = m2(torch.tensor([toks]))[0]
    dump = os.path.join(d, "l2.safetensors")
    p, _ = ls("run", cpath, "--weights", wpath, "--layers", "2", "--tokens", ",".join(map(str, toks)),
              "--dump", dump, "--dump-filter", "model.layers.*")
    if p.returncode != 0:
        C.die("--layers 2: exit %d: %s" % (p.returncode, p.stderr))
    eng = R.read_safetensors(dump)
    if any(k.startswith("model.layers.2") for k in eng):
        C.die("--layers 2 ran layer 2")
    err = (eng["logits"][0] - want).abs().max().item()
    if not err <= 1e-4 * want.abs().max().item():
        C.die("--layers 2: logits differ from the 2-layer reference by %.3g" % err)
    print("  --layers 2 of 3 (weight file): logits agree with the 2-layer reference (%.2e)" % err)

    # --layers N with random weights is the N-layer config's random model
    c2 = os.path.join(d, "two.json")
    with open(c2, "w") as f:
        json.dump(dict(cfg3, num_hidden_layers=2), f)
    a = ls("run", cpath, "--random-weights", "--layers", "2", "--tokens", "5,6,7", "--top-k", "3")[0]
    b = ls("run", c2, "--tokens", "5,6,7", "--top-k", "3")[0]
    top = lambda out: [l for l in out.splitlines() if "logit" in l]
    if a.returncode or b.returncode or not top(a.stdout) or top(a.stdout) != top(b.stdout):
        C.die("--layers 2 on random weights differs from the 2-layer config:\n%s\n%s" % (a.stdout + a.stderr, b.stdout))
    print("  --layers 2 of 3 (random weights) = the 2-layer config")
print("ok")
