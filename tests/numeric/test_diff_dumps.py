"""test_diff_dumps.py: `layerscope diff` on activation dumps of the same model, with its
default tolerances.

1. The engine's dump (`run --dump`) and PyTorch's (ref_models.py, a forward hook on every
   module, the same stored f32 weights) of a 4-layer llama are two correct fp32
   computations that differ only by summation order: `diff` must report no tensor as
   differing (51 of the 53 did with the former numpy.isclose defaults, rtol 1e-5 / atol
   1e-8, which judge each element on its own magnitude). The same for two engine dumps run
   with 1 and 3 threads.
2. The tolerances still catch real differences: the same comparison against bf16-rounded
   PyTorch outputs (relative error up to 2^-9) reports differences, and `--rtol 0 --atol 0`
   is an exact comparison.
3. The report names the first module that diverges in execution order (the order of the
   engine's dump): a copy of the PyTorch dump with one planted change in a middle module
   and every module after it perturbed too (as an error propagates) must be reported with
   that module first, in JSON (`first_difference`) and text, also with `--order name`
   (where other differing names sort before it)."""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

import engine_check as C
import ref_models as R

C.require_exe()
H = 64 if C.SANITIZE else 256
CFG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 256, "hidden_size": H,
       "intermediate_size": 2 * H + 32, "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 2,
       "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
       "tie_word_embeddings": False}
PLANT = "model.layers.1.mlp.up_proj"
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def diff(a, b, *extra):
    p = subprocess.run([C.EXE, "diff", a, b, "--format", "json", *extra], capture_output=True, text=True, timeout=300)
    if p.returncode not in (0, 1):
        C.die("diff %s %s: exit %d: %s" % (a, b, p.returncode, p.stderr))
    return json.loads(p.stdout)


def file_order(path):
    """Tensor names in data order (the header's keys are sorted by name)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return sorted(header, key=lambda k: header[k]["data_offsets"][0])


def differing(rep):
    return [t["name"] for t in rep["tensors"] if t["status"] in ("differ", "shape_mismatch")]


def main():
    model = R.build(CFG)
    w = R.random_weights(model, 5, std=0.08)
    toks = C.tokens_for(CFG["vocab_size"], 12 if C.SANITIZE else 32, 2)
    with tempfile.TemporaryDirectory() as d:
        cpath, wpath = C.write_model(d, CFG, model, w)
        eng1, eng3 = os.path.join(d, "engine-1.safetensors"), os.path.join(d, "engine-3.safetensors")
        C.run_engine(cpath, wpath, toks, eng1, ["--threads", "1"])
        C.run_engine(cpath, wpath, toks, eng3, ["--threads", "3"])
        eng = R.read_safetensors(eng1)
        logits, outs = R.dump_modules(model, torch.tensor([toks]))
        outs["logits"] = logits
        # PyTorch's dump, in the engine's (execution) order, of the modules both sides have.
        order = [k for k in file_order(eng1) if k in outs]
        check(order.index("model.layers.0.mlp") < order.index("model.layers.1.self_attn.q_proj") < order.index("logits"),
              "the engine's dump is not in execution order: %s" % order[:8])
        check(len(order) >= 50, "only %d modules in common" % len(order))
        ref = {k: outs[k].float().numpy().astype(np.float32) for k in order}
        tpath = os.path.join(d, "torch.safetensors")
        R.write_safetensors(tpath, {k: ("F32", v) for k, v in ref.items()})

        # 1. Two correct fp32 computations: nothing differs.
        rep = diff(eng1, tpath)
        check(differing(rep) == [], "engine vs PyTorch: %d of %d tensors differ at the defaults: %s"
              % (len(differing(rep)), len(order), differing(rep)[:6]))
        check(rep.get("first_difference", "absent") is None, "engine vs PyTorch: first_difference %r" % rep.get("first_difference"))
        only = [t["name"] for t in rep["tensors"] if t["status"].startswith("only")]
        check(set(only) <= {"model.layers"}, "only in one file: %s" % only)  # the layer list's own output
        worst = max((t["max_abs"] / t["scale"] for t in rep["tensors"] if t.get("scale")), default=0)
        print("  engine vs PyTorch: %d modules compared; worst max|a-b|/absmax %.2e" % (len(order), worst))
        rep = diff(eng1, eng3)
        check(differing(rep) == [] and all(t["status"] == "match" for t in rep["tensors"]),
              "1 vs 3 threads: %s" % differing(rep))

        # 2. Real differences are still found.
        bpath = os.path.join(d, "torch-bf16.safetensors")
        rounded = {k: (R.to_bf16_bits(torch.from_numpy(v)).astype(np.uint32) << 16).view(np.float32) for k, v in ref.items()}
        R.write_safetensors(bpath, {k: ("F32", v) for k, v in rounded.items()})
        rep = diff(eng1, bpath)
        check(len(differing(rep)) > len(order) // 2, "bf16-rounded reference: only %d tensors differ" % len(differing(rep)))
        rep = diff(eng1, tpath, "--rtol", "0", "--atol", "0")
        check(rep.get("stol") == 0 and len(differing(rep)) > len(order) // 2, "--rtol 0 --atol 0 is exact: %d differ" % len(differing(rep)))

        # 3. A planted change in a middle module, and everything after it perturbed.
        check(PLANT in order, "%s not in the dump" % PLANT)
        planted = dict(ref)
        x = planted[PLANT].copy()
        x.reshape(-1)[x.size // 2] += 0.05 * np.abs(x).max()
        planted[PLANT] = x
        for k in order[order.index(PLANT) + 1:]:
            planted[k] = planted[k] * np.float32(1.002)
        ppath = os.path.join(d, "planted.safetensors")
        R.write_safetensors(ppath, {k: ("F32", v) for k, v in planted.items()})
        for extra in ((), ("--order", "name")):
            rep = diff(eng1, ppath, *extra)
            diffs = differing(rep)
            check(rep.get("first_difference") == PLANT, "planted %s: first_difference %r (%s)"
                  % (" ".join(extra), rep.get("first_difference"), diffs[:4]))
            check(len(diffs) > 10 and PLANT in diffs and not any(order.index(n) < order.index(PLANT) for n in diffs),
                  "planted %s: differing %s" % (" ".join(extra), diffs[:6]))
        p = subprocess.run([C.EXE, "diff", eng1, ppath], capture_output=True, text=True, timeout=300)
        last = p.stdout.strip().splitlines()[-1]
        check(p.returncode == 1 and last.endswith(": " + PLANT), "text report: %s" % last)
    if FAILS:
        print("%d failures" % len(FAILS))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
