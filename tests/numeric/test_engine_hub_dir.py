"""test_engine_hub_dir.py: Hugging Face hub model directories as one unit. Each layout is
built here (safetensors written with struct + json by ref_models.write_safetensors, the
index by hand) and run with `layerscope run DIR` / `layerscope debug DIR`:
  - config.json + model.safetensors: the logits match the PyTorch reference, and the run
    names DIR/model.safetensors;
  - a sharded checkpoint (model.safetensors.index.json + two shards): the same logits, the
    run names the index;
  - GPT-2 as the hub stores it (no `transformer.` prefix, no lm_head, the h.N.attn.bias /
    masked_bias buffers) with a position_ids buffer besides: loads, logits match;
  - a tensor of the wrong shape: exit 1, the message names the tensor and both shapes;
  - config.json alone: exit 1 pointing at --random-weights; with it, random weights are
    announced;
  - `debug DIR` stops at a breakpoint with the directory's weights."""
import json
import os
import subprocess
import tempfile

import numpy as np
import torch

import engine_check as C
import ref_models as R

C.require_exe()


def run(*args, ok=True):
    p = subprocess.run([C.EXE] + list(args), capture_output=True, text=True, timeout=300)
    if ok and p.returncode != 0:
        C.die("%s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr))
    return p


def logits_of(d, toks, extra=()):
    dump = os.path.join(d, "..", os.path.basename(d) + ".dump.safetensors")
    p = run("run", d, "--tokens", ",".join(map(str, toks)), "--dump", dump, "--dump-filter", "none", *extra)
    return R.read_safetensors(dump)["logits"][0], p.stdout + p.stderr


def expect_close(name, got, want):
    err = (got - want).abs().max().item()
    scale = want.abs().max().item()
    if not err <= 1e-4 * scale:
        C.die("%s: logits differ by %.3g (scale %.3g)" % (name, err, scale))
    print("  %s: logits agree (max diff %.2e)" % (name, err))


def reference(cfg, seed):
    """The reference model with seeded weights: (weights, logits over toks)."""
    model = R.build(cfg)
    w = R.random_weights(model, seed, std=0.08)
    R.load_weights(model, w)
    with torch.no_grad():
        return w, model(torch.tensor([toks]))[0]


def model_dir(root, name, cfg):
    """root/name holding config.json only."""
    d = os.path.join(root, name)
    os.mkdir(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    return d


def f32(w):
    return {k: ("F32", v.numpy().astype(np.float32)) for k, v in w.items()}


LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 96, "hidden_size": 64,
         "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "tie_word_embeddings": False}
GPT2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 96, "n_positions": 32,
        "n_embd": 64, "n_layer": 2, "n_head": 4}
toks = C.tokens_for(96, 9, 5)

with tempfile.TemporaryDirectory() as root:
    w, want = reference(LLAMA, 31)

    # one file
    d = model_dir(root, "llama", LLAMA)
    wd = f32(w)
    wd["model.position_ids"] = ("I64", np.arange(64, dtype=np.int64)[None])  # a buffer: tolerated
    R.write_safetensors(os.path.join(d, "model.safetensors"), wd)
    got, out = logits_of(d, toks)
    expect_close("model.safetensors", got, want)
    if os.path.join(d, "model.safetensors") not in out:
        C.die("the run does not name the weights it loaded:\n" + out)

    # sharded: two shards and the hub's index
    s = model_dir(root, "llama-sharded", LLAMA)
    names = sorted(w)
    half = len(names) // 2
    wmap = {}
    for i, part in enumerate((names[:half], names[half:])):
        fn = "model-%05d-of-00002.safetensors" % (i + 1)
        R.write_safetensors(os.path.join(s, fn), f32({k: w[k] for k in part}))
        wmap.update({k: fn for k in part})
    with open(os.path.join(s, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": wmap}, f)
    got, out = logits_of(s, toks)
    expect_close("sharded index", got, want)
    if "model.safetensors.index.json" not in out:
        C.die("the sharded run does not name the index:\n" + out)

    # debug DIR: the directory's weights, a breakpoint, the result
    p = run("debug", d, "--tokens", ",".join(map(str, toks)), "--break", "model.norm", "--eval", "output.shape")
    if "model.norm" not in p.stdout or "[1,9,64]" not in p.stdout.replace(" ", ""):
        C.die("debug DIR did not stop at model.norm:\n" + p.stdout + p.stderr)
    if os.path.join(d, "model.safetensors") not in p.stdout + p.stderr:
        C.die("debug DIR does not name the weights it loaded:\n" + p.stdout + p.stderr)

    # a tensor of the wrong shape names both shapes
    b = model_dir(root, "llama-bad", LLAMA)
    wb = f32(w)
    wb["model.layers.1.mlp.up_proj.weight"] = ("F32", np.zeros((120, 64), np.float32))
    R.write_safetensors(os.path.join(b, "model.safetensors"), wb)
    p = run("run", b, "--tokens", "1,2", ok=False)
    if p.returncode != 1 or not all(x in p.stderr for x in ("model.layers.1.mlp.up_proj.weight", "[120, 64]", "[128, 64]")):
        C.die("a mis-shaped tensor: exit %d, %r" % (p.returncode, p.stderr))

    # config.json alone: an error unless random weights are asked for, then announced
    e = model_dir(root, "llama-config-only", LLAMA)
    p = run("run", e, "--tokens", "1,2", ok=False)
    if p.returncode != 1 or "--random-weights" not in p.stderr or "no weights" not in p.stderr:
        C.die("a directory without weights: exit %d, %r" % (p.returncode, p.stderr))
    p = run("run", e, "--tokens", "1,2", "--random-weights")
    if "seeded random" not in p.stderr or "seeded random" not in p.stdout:
        C.die("random weights are not announced: %r %r" % (p.stdout, p.stderr))
    p = run("debug", e, "--tokens", "1,2", "--eval", "1", ok=False)
    if p.returncode != 1 or "--random-weights" not in p.stderr:
        C.die("debug of a directory without weights: exit %d, %r" % (p.returncode, p.stderr))

    # GPT-2 with the hub's own names: no transformer. prefix, no lm_head, attention buffers
    gw, gwant = reference(GPT2, 32)
    gd = model_dir(root, "gpt2", GPT2)
    hub = {}
    for k, v in f32(gw).items():
        hub[k[len("transformer."):] if k.startswith("transformer.") else k] = v
    P = GPT2["n_positions"]
    for i in range(GPT2["n_layer"]):
        hub["h.%d.attn.bias" % i] = ("F32", np.tril(np.ones((P, P), np.float32))[None, None])
        hub["h.%d.attn.masked_bias" % i] = ("F32", np.array(-1e4, np.float32))
    if "lm_head.weight" in hub or "wte.weight" not in hub:
        C.die("the GPT-2 hub layout is not what the test means to build: %s" % sorted(hub)[:6])
    R.write_safetensors(os.path.join(gd, "model.safetensors"), hub)
    got, _ = logits_of(gd, toks)
    expect_close("gpt2 hub names", got, gwant)
print("ok")
