"""test_debug_cli.py: `layerscope debug` end to end on a tiny random llama. Scripted runs
(--break, --break-on, --eval): stops in order at the matching modules; the one-line tensor
statistics of a stopped module agree with numpy on the same tensor dumped by
`layerscope run --dump`; a NaN planted in model.layers.1.mlp.down_proj.weight[5, 17] stops
exactly there with 8 of 512 values (column 5 of each of the 8 tokens), exit 1; expression
errors name the column (exit 1); command mode on stdin (stack, next, step, out, quit);
usage errors exit 2; NaN logits are counted at the end of `debug` and `run`, never ranked."""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "numeric"))
import lib_tensorgen as tg  # noqa: E402

LS = os.environ.get("LAYERSCOPE", "layerscope")
FAILS = []
TOKENS = "3,17,42,99,5,64,7,120"
CONFIG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 128, "hidden_size": 64,
          "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
          "max_position_embeddings": 64, "tie_word_embeddings": False}


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def ls(*args, stdin=None):
    return subprocess.run([LS, *args], capture_output=True, text=True, input=stdin, timeout=120)


def main():
    d = tempfile.mkdtemp(prefix="ls-debug-cli-")
    cfg = os.path.join(d, "config.json")
    with open(cfg, "w") as f:
        json.dump(CONFIG, f, indent=2)

    # 1. breakpoints in order; the stats line agrees with numpy on the dumped output
    r = ls("debug", cfg, "--tokens", TOKENS, "--break", "model.layers.*.mlp", "--eval", "output", "--eval",
           "output.numel + layer")
    check(r.returncode == 0, f"scripted run exit {r.returncode}: {r.stderr}")
    stops = re.findall(r"^stopped \((.*?)\) at (\S+)", r.stdout, re.M)
    check(stops == [("function breakpoint", "model.layers.0.mlp"), ("function breakpoint", "model.layers.1.mlp")],
          f"stops {stops}")
    check("breakpoint 1: model.layers.*.mlp: matches 2 modules" in r.stderr, r.stderr)
    check(re.search(r"output.numel \+ layer = 513$", r.stdout, re.M) is not None, r.stdout)
    lines = re.findall(r"^  output = (f32\[1,8,64\] μ=(\S+) σ=(\S+) \[(\S+), (\S+)\] nan=0 inf=0 .*)$", r.stdout, re.M)
    check(len(lines) == 2, f"output lines: {r.stdout}")
    dump = os.path.join(d, "dump.safetensors")
    rr = ls("run", cfg, "--tokens", TOKENS, "--dump", dump, "--dump-filter", "model.layers.0.mlp")
    check(rr.returncode == 0, f"run --dump: {rr.stderr}")
    if lines and rr.returncode == 0:
        t = tg.read_safetensors(dump)
        key = [k for k in t if k.startswith("model.layers.0.mlp")]
        check(len(key) >= 1, f"dump keys {list(t)}")
        if key:
            x = t[key[0]].astype(np.float64)
            _, mu, sd, lo, hi = lines[0]
            for name, got, want in (("mean", mu, x.mean()), ("std", sd, x.std()), ("min", lo, x.min()),
                                    ("max", hi, x.max())):
                check(abs(float(got) - want) <= 0.006 * abs(want) + 1e-7, f"{name}: {got} vs numpy {want}")

    # 2. NaN planted at a known module
    summ = json.loads(ls("summary", cfg, "--format", "json").stdout)
    rng = np.random.default_rng(5)
    tensors = []
    for t in summ["tensors"]:
        a = (rng.standard_normal(t["shape"]) * 0.05).astype(np.float32)
        if t["name"].endswith("norm.weight"):
            a[...] = 1
        if t["name"] == "model.layers.1.mlp.down_proj.weight":
            a[5, 17] = np.nan
        tensors.append((t["name"], "F32", t["shape"], a.tobytes()))
    w = os.path.join(d, "nan.safetensors")
    tg.write_safetensors(w, tensors)

    def planted(value, name):
        out = []
        for tname, dt, shape, raw in tensors:
            if tname == "model.layers.1.mlp.down_proj.weight":
                a = np.frombuffer(raw, dtype=np.float32).reshape(shape).copy()
                a[5, 17] = value
                raw = a.tobytes()
            out.append((tname, dt, shape, raw))
        path = os.path.join(d, name)
        tg.write_safetensors(path, out)
        return path

    # Inf and a huge finite weight: the Inf / fp16 filters stop at the same module, column 5
    r = ls("debug", cfg, "--weights", planted(np.inf, "inf.safetensors"), "--tokens", TOKENS, "--break-on", "inf",
           "--eval", "output[0, :, 5].inf")
    check("Inf in model.layers.1.mlp.down_proj output: 8 of 512 values, first at [0, 0, 5]" in r.stdout, r.stdout)
    r = ls("debug", cfg, "--weights", planted(1e12, "big.safetensors"), "--tokens", TOKENS, "--break-on", "fp16",
           "--eval", "output[0, :, 5].absmax > 65504")
    check(re.search(r"fp16 overflow in model\.layers\.1\.mlp\.down_proj output: \d of 512 values beyond ±65504 "
                    r"\(absmax \S+\), first at \[0, \d, 5\]", r.stdout) is not None, r.stdout)
    r = ls("debug", cfg, "--weights", w, "--tokens", TOKENS, "--break-on", "nan,inf", "--eval", "output[0, :, 5].nan")
    check(r.returncode == 1, f"NaN run exit {r.returncode} (want 1): {r.stderr}")
    check("stopped (exception) at model.layers.1.mlp.down_proj [Linear, exit]" in r.stdout, r.stdout)
    check("NaN in model.layers.1.mlp.down_proj output: 8 of 512 values, first at [0, 0, 5]" in r.stdout, r.stdout)
    check(re.search(r"output\[0, :, 5\]\.nan = 8$", r.stdout, re.M) is not None, r.stdout)
    check(r.stdout.count("stopped (exception)") == 1, "the NaN filter fires once per run")

    # NaN logits: counted and said so, never ranked as next tokens (debug and run)
    def nan_weights(name, tensor, index):
        out = []
        for tname, dt, shape, raw in tensors:
            a = np.frombuffer(raw, dtype=np.float32).reshape(shape).copy()
            if tname == "model.layers.1.mlp.down_proj.weight":
                a[5, 17] = 0.01  # undo the NaN planted above
            if tname == tensor:
                a[index] = np.nan
            out.append((tname, dt, shape, a.tobytes()))
        path = os.path.join(d, name)
        tg.write_safetensors(path, out)
        return path

    all_nan = nan_weights("nan-norm.safetensors", "model.norm.weight", (0,))
    r = ls("debug", cfg, "--weights", all_nan, "--tokens", TOKENS, stdin="run\n")
    check("done: the logits contain 128 NaN of 128 values at the last position: no next tokens to rank" in r.stdout,
          f"debug, all logits NaN: {r.stdout}")
    r = ls("run", cfg, "--weights", all_nan, "--tokens", TOKENS)
    check(r.returncode == 0 and "the logits contain 128 NaN of 128 values at position 7: no next tokens to rank"
          in r.stdout and not re.search(r"token \d+\s+logit", r.stdout), f"run, all logits NaN: {r.stdout}")
    one_nan = nan_weights("nan-row7.safetensors", "lm_head.weight", (7, 3))
    r = ls("debug", cfg, "--weights", one_nan, "--tokens", TOKENS, stdin="run\n")
    m = re.search(r"^done: top-5 next tokens:((?: \d+ \(-?\d+\.\d{3}\)){5}); the logits contain 1 NaN of 128 values "
                  r"at the last position \(not ranked\)$", r.stdout, re.M)
    check(m is not None and not re.search(r"\b7 \(", m.group(1)), f"debug, one logit NaN: {r.stdout}")
    r = ls("run", cfg, "--weights", one_nan, "--tokens", TOKENS)
    ranked = re.findall(r"^\s+\d+\s+token (\d+)\s+logit (\S+)$", r.stdout, re.M)
    check(len(ranked) == 5 and "7" not in [t for t, _ in ranked] and all("nan" not in v for _, v in ranked)
          and "the logits contain 1 NaN of 128 values at position 7 (not ranked)" in r.stdout,
          f"run, one logit NaN: {r.stdout}")

    # 3. expression errors name the column
    r = ls("debug", cfg, "--tokens", TOKENS, "--break", "model.norm", "--eval", "output[0, 99]", "--eval", "foo * 2")
    check(r.returncode == 1, f"eval errors exit {r.returncode}")
    check("error: column 11: index 99 out of range for a dimension of size 8" in r.stdout, r.stdout)
    check("error: column 1: unknown name 'foo'" in r.stdout, r.stdout)

    # 4. commands on stdin: stack, next (same depth), step (next event), out (end of parent)
    r = ls("debug", cfg, "--tokens", TOKENS, stdin="step\nbreak model.layers.1.self_attn\nrun\nstack\nnext\nstep\nout\nquit\n")
    check("error: the pass has not started" in r.stdout, r.stdout)
    check("model.layers.1.self_attn: matches 1 module" in r.stderr, r.stderr)
    stops = re.findall(r"^stopped \((.*?)\) at (\S+) \[\S+, (\w+)\]", r.stdout, re.M)
    check(stops == [("function breakpoint", "model.layers.1.self_attn", "exit"),
                    ("step", "model.layers.1.post_attention_layernorm", "enter"),
                    ("step", "model.layers.1.post_attention_layernorm", "exit"),
                    ("step", "model.layers.1", "exit")], f"stepping: {stops}")
    frames = re.findall(r"^#(\d) (\S+)", r.stdout, re.M)
    check([f[1] for f in frames] == ["model.layers.1.self_attn", "model.layers.1", "model.layers", "model", "(root)"],
          f"stack {frames}")
    check("done:" not in r.stdout, "quit ends the run early")

    # 5. usage
    check(ls("debug").returncode == 2, "no config: exit 2")
    check(ls("debug", cfg, "--break-on", "bogus").returncode == 2, "bad filter: exit 2")
    for bad, what in [(("--compute", "fp8"), "is not fp32 or bf16"), (("--threads", "0"), "is not in 1..64"),
                      (("--seed", "12abc"), "is not a non-negative integer"),
                      (("--random-tokens", "5x"), "is not in 1..1048576")]:
        r = ls("debug", cfg, *bad)
        check(r.returncode == 2 and what in r.stderr, f"{bad}: exit {r.returncode}: {r.stderr}")
    # --compute bf16 and --threads: the same stops (bf16 products where the CPU has
    # AVX512_BF16, else a note and fp32)
    r = ls("debug", cfg, "--tokens", TOKENS, "--break", "model.layers.*.mlp", "--compute", "bf16", "--threads", "2",
           "--eval", "output.numel")
    stops = re.findall(r"^stopped \((.*?)\) at (\S+)", r.stdout, re.M)
    check(r.returncode == 0 and [s for _, s in stops] == ["model.layers.0.mlp", "model.layers.1.mlp"],
          f"--compute bf16: exit {r.returncode} stops {stops}: {r.stderr}")
    r = ls("debug", cfg, "--break", "model.layers.7")
    check("no module matches 'model.layers.7'" in r.stderr, r.stderr)

    if FAILS:
        print(f"{len(FAILS)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
