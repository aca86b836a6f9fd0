"""test_engine_cli.py: `layerscope run` as a user meets it: the top-k printout agrees with
PyTorch's top-k on the same weights, --dump-filter keeps exactly the matching modules, and
bad input gets exit status 1 or 2 with a message naming the problem (a token outside the
vocabulary, a missing weight file, a weight file missing a tensor, a mis-shaped tensor, an
unsupported family, malformed options), never a crash."""
import json
import os
import subprocess
import tempfile

import torch

import engine_check as C
import ref_models as R

C.require_exe()
cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 100,
       "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
       "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 32}


def run(*args):
    return subprocess.run([C.EXE, "run"] + list(args), capture_output=True, text=True, timeout=120)


def expect_fail(p, status, words, what):
    if p.returncode != status or any(w not in p.stderr for w in words):
        C.die("%s: status %d (want %d), stderr %r (want %s)" % (what, p.returncode, status, p.stderr, words))


with tempfile.TemporaryDirectory() as d:
    cpath = os.path.join(d, "config.json")
    with open(cpath, "w") as f:
        json.dump(cfg, f)
    model = R.build(cfg)
    w = R.random_weights(model, 41, std=0.3)
    wpath = os.path.join(d, "w.safetensors")
    R.write_safetensors(wpath, {k: ("F32", v.numpy()) for k, v in w.items()})
    toks = [5, 17, 99, 0, 42]
    dump = os.path.join(d, "d.safetensors")
    p = run(cpath, "--weights", wpath, "--tokens", ",".join(map(str, toks)), "--top-k", "3",
            "--dump", dump, "--dump-filter", "model.layers.*.mlp")
    if p.returncode != 0:
        C.die("run failed: " + p.stderr)
    R.load_weights(model, R.read_safetensors(wpath))
    with torch.no_grad():
        logits = model(torch.tensor([toks]))[0, -1]
    top = torch.topk(logits, 3)
    lines = [l.split() for l in p.stdout.splitlines() if l.strip().startswith(("1 ", "2 ", "3 "))]
    got = [(int(l[2]), float(l[4])) for l in lines]
    want = [(int(i), float(v)) for v, i in zip(top.values, top.indices)]
    if [g[0] for g in got] != [w_[0] for w_ in want] or \
            any(abs(g[1] - w_[1]) > 1e-4 * max(1.0, abs(w_[1])) for g, w_ in zip(got, want)):
        C.die("top-3 %s, PyTorch %s" % (got, want))
    names = sorted(R.read_safetensors(dump))
    if names != ["logits", "model.layers.0.mlp", "model.layers.1.mlp"]:
        C.die("--dump-filter kept %s" % names)
    print("  top-3 and --dump-filter agree with PyTorch")

    # a sharded checkpoint (two shards + model.safetensors.index.json) gives the same logits
    names = list(w)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    sd = os.path.join(d, "sharded")
    os.mkdir(sd)
    for fname, keys in shards.items():
        R.write_safetensors(os.path.join(sd, fname), {k: ("F32", w[k].numpy()) for k in keys})
    with open(os.path.join(sd, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": {k: fn for fn, ks in shards.items() for k in ks}}, f)
    sdump = os.path.join(d, "s.safetensors")
    p = run(cpath, "--weights", os.path.join(sd, "model.safetensors.index.json"), "--tokens",
            ",".join(map(str, toks)), "--dump", sdump, "--dump-filter", "model.layers.*.mlp")
    if p.returncode != 0:
        C.die("sharded run failed: " + p.stderr)
    a, b = R.read_safetensors(dump)["logits"], R.read_safetensors(sdump)["logits"]
    if not torch.equal(a, b):
        C.die("sharded checkpoint logits differ from the single file's")
    print("  sharded checkpoint: same logits as the single file")

    expect_fail(run(cpath, "--weights", wpath, "--tokens", "1,100"), 1, ["vocab"], "token >= vocab")
    expect_fail(run(cpath, "--weights", os.path.join(d, "none.safetensors"), "--tokens", "1"), 1,
                ["none.safetensors"], "missing file")
    part = dict(w)
    del part["model.layers.1.mlp.up_proj.weight"]
    ppath = os.path.join(d, "part.safetensors")
    R.write_safetensors(ppath, {k: ("F32", v.numpy()) for k, v in part.items()})
    expect_fail(run(cpath, "--weights", ppath, "--tokens", "1"), 1,
                ["model.layers.1.mlp.up_proj.weight"], "missing tensor")
    bad = dict(w)
    bad["model.norm.weight"] = torch.ones(31)
    bpath = os.path.join(d, "bad.safetensors")
    R.write_safetensors(bpath, {k: ("F32", v.numpy()) for k, v in bad.items()})
    expect_fail(run(cpath, "--weights", bpath, "--tokens", "1"), 1, ["model.norm.weight", "31"],
                "mis-shaped tensor")
    t5 = os.path.join(d, "t5.json")
    with open(t5, "w") as f:
        json.dump({"model_type": "t5", "vocab_size": 64, "d_model": 32, "d_kv": 8, "d_ff": 64,
                   "num_layers": 1, "num_heads": 4}, f)
    expect_fail(run(t5, "--random-tokens", "3"), 1, ["t5"], "unsupported family")
    expect_fail(run(cpath, "--tokens", "1,x"), 2, ["'x'"], "bad token list")
    expect_fail(run(cpath, "--tokens", "1", "--random-tokens", "4"), 2, ["--tokens"], "both inputs")
    expect_fail(run(cpath, "--random-tokens", "0"), 2, ["--random-tokens"], "zero tokens")
    expect_fail(run(cpath, "--random-tokens", "3", "--threads", "0"), 2, ["--threads"], "threads 0")
    p = run(cpath, "--random-tokens", "6", "--seed", "3")
    if p.returncode != 0 or "top-5" not in p.stdout:
        C.die("random weights run failed: " + p.stderr)
print("ok")
