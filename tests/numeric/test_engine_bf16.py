"""test_engine_bf16.py: the engine's opt-in bf16 compute mode (`layerscope run --compute
bf16`, core/engine/ops_bf16.h) on seeded random bf16 models, a GPT-2 (Conv1D weights, the
transposed-panel path) and a llama with grouped-query attention (Linear weights read in
place), against three independent references:

1. Each projection on its own: the engine's dumped input of a projection (the output of the
   norm before it) rounded to bf16 here, times the stored bf16 weight, in float64, must equal
   the engine's dumped projection output within 1e-5 of max(|x| @ |W|) (fp32 accumulation of
   exact bf16 products; forgetting to round x would be off by ~1e-3).
   And the whole model: PyTorch emulating what the mode computes, i.e. the fp32 reference
   (ref_models.py) with a forward pre-hook on every nn.Linear / Conv1D that rounds its input
   to bf16, and its attention (ref_models.eager_attention, replaced for the run) taking
   q, k, v and the probabilities rounded to bf16 into its two products. Every module output and the logits agree within 1e-2 of their scale: the first
   projection of a model agrees to ~1e-7, but fp32 noise elsewhere (summation order, exp)
   now and then puts an activation on the other side of a bf16 rounding boundary (a 2^-8
   step), and those flips compound layer by layer (measured: ~4e-3 after 3 layers).
2. PyTorch's native bf16 path, model.to(torch.bfloat16) (what the bench compares with): it also
   rounds every intermediate (norm outputs, residual sums, attention scores, activations) to
   bf16, which the engine keeps in fp32. Each such rounding is up to 2^-9 relative, a few dozen
   of them per layer compound (measured 1-2e-2 here), so the logits are compared with a
   tolerance of 4e-2 of the logits' scale, and the top-1 token of at least 90% of the positions must agree.
3. The engine's own fp32 path: within 4e-2 of the scale as well, and NOT identical (the mode
   must actually change the arithmetic on a CPU that has AVX512_BF16).

On a CPU without AVX512_BF16 the engine says so and computes in fp32; the test then checks
that the fallback matches the fp32 path exactly and skips the bf16-specific bounds."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import engine_check as C
import ref_models as R

C.require_exe()
small = C.SANITIZE


def run(cpath, wpath, toks, dump, compute):
    cmd = [C.EXE, "run", cpath, "--weights", wpath, "--tokens", ",".join(map(str, toks)),
           "--dump", dump, "--compute", compute]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        C.die("engine failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    return R.read_safetensors(dump), p.stderr


def rel(a, b):
    a, b = a.float().reshape(-1), b.float().reshape(-1)
    return (a - b).abs().max().item() / max(b.abs().max().item(), 1e-6)


def bf16_input_hooks(model):
    """Rounds the input of every Linear / Conv1D to bf16: the engine's bf16 mode in PyTorch."""
    def pre(m, inp):
        return (inp[0].to(torch.bfloat16).float(),) + tuple(inp[1:])
    return [m.register_forward_pre_hook(pre) for m in model.modules()
            if isinstance(m, (torch.nn.Linear, R.Conv1D))]


def bf16_attention(q, k, v, mask, scale, n_rep):
    """ref_models.eager_attention with bf16 inputs into both products, fp32 everywhere else:
    the engine's bf16 attention (ls_ops_attention_bf16)."""
    b = lambda t: t.to(torch.bfloat16).float()
    if n_rep > 1:
        k = k.repeat_interleave(n_rep, dim=1)
        v = v.repeat_interleave(n_rep, dim=1)
    w = torch.matmul(b(q), b(k).transpose(2, 3)) * scale
    if mask is not None:
        w = w + mask
    p = F.softmax(w, dim=-1, dtype=torch.float32)
    return torch.matmul(b(p), b(v)), p


def check_local(name, eng, model, pairs):
    """pairs: (projection module, module whose output is its input)."""
    n = 0
    for proj, src in pairs:
        if proj not in eng or src not in eng:
            continue
        mod = model.get_submodule(proj)
        W = mod.weight.detach().double()
        if isinstance(mod, torch.nn.Linear):
            W = W.t()  # -> [in, out]
        x = eng[src].float().reshape(-1, W.shape[0]).to(torch.bfloat16).double()
        want = x @ W
        if getattr(mod, "bias", None) is not None:
            want = want + mod.bias.detach().double()
        got = eng[proj].double().reshape(want.shape)
        scale = (x.abs() @ W.abs()).max().item()
        err = (got - want).abs().max().item()
        if not err <= 1e-5 * scale:
            C.die("%s: %s differs from bf16(x) @ W in float64 by %.3g (scale %.3g, tolerance 1e-5)"
                  % (name, proj, err, scale))
        n += 1
    if n < 3:
        C.die("%s: only %d projections checked on their own" % (name, n))
    print("  %s: %d projections equal bf16(input) @ W within 1e-5" % (name, n))


def check_cli(cpath, wpath, toks, d, eb):
    """LAYERSCOPE_COMPUTE=bf16 selects the mode like --compute bf16; a bad value is a usage
    error naming it."""
    env = dict(os.environ, LAYERSCOPE_COMPUTE="bf16")
    dump = os.path.join(d, "env.safetensors")
    p = subprocess.run([C.EXE, "run", cpath, "--weights", wpath, "--tokens",
                        ",".join(map(str, toks)), "--dump", dump, "--dump-filter", "none"],
                       capture_output=True, text=True, timeout=600, env=env)
    if p.returncode != 0 or not torch.equal(R.read_safetensors(dump)["logits"], eb["logits"]):
        C.die("LAYERSCOPE_COMPUTE=bf16 did not give --compute bf16's logits: %s" % p.stderr)
    p = subprocess.run([C.EXE, "run", cpath, "--tokens", "1", "--compute", "fp16"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 2 or "'fp16' is not fp32 or bf16" not in p.stderr:
        C.die("--compute fp16: want exit 2 naming the value, got %d: %s" % (p.returncode, p.stderr))


def case(name, cfg, toks, seed, pairs):
    model = R.build(cfg)
    w = R.random_weights(model, seed, std=0.08)
    with tempfile.TemporaryDirectory() as d:
        cpath = os.path.join(d, "config.json")
        with open(cpath, "w") as f:
            json.dump(cfg, f)
        wpath = os.path.join(d, "model.safetensors")
        R.write_safetensors(wpath, {k: C.encode(v, "BF16") for k, v in w.items()})
        R.load_weights(model, R.read_safetensors(wpath))
        eb, err = run(cpath, wpath, toks, os.path.join(d, "b.safetensors"), "bf16")
        ef, _ = run(cpath, wpath, toks, os.path.join(d, "f.safetensors"), "fp32")
        check_cli(cpath, wpath, toks, d, eb)
    ids = torch.tensor([toks])
    if "no AVX512_BF16" in err:
        print("  %s: this CPU has no AVX512_BF16; checking the fp32 fallback only" % name)
        if not torch.equal(eb["logits"], ef["logits"]):
            C.die("%s: the fp32 fallback of --compute bf16 differs from --compute fp32" % name)
        return
    # 1. each projection on its own, then the whole model against the emulation
    check_local(name, eb, model, pairs)
    hooks = bf16_input_hooks(model)
    fp32_attention, R.eager_attention = R.eager_attention, bf16_attention
    try:
        logits, outs = R.dump_modules(model, ids)
    finally:
        R.eager_attention = fp32_attention
    for h in hooks:
        h.remove()
    outs["logits"] = logits
    n = C.compare(name + " vs torch emulation", eb, outs, rtol=1e-2)
    if n < 5:
        C.die("%s: only %d tensors compared" % (name, n))
    # 2. PyTorch native bf16
    mb = R.build(cfg)
    R.load_weights(mb, {k: v for k, v in model.state_dict().items()})
    mb = mb.to(torch.bfloat16)
    with torch.no_grad():
        tb = mb(ids).float()
    lb = eb["logits"].float().reshape(tb.shape)
    r_native = rel(lb, tb)
    top1 = (lb.argmax(-1) == tb.argmax(-1)).float().mean().item()
    # 3. fp32 path
    r_fp32 = rel(lb, ef["logits"].reshape(tb.shape))
    print("  %s: logits vs torch bf16 %.2e of scale, top-1 agreement %.0f%%; vs engine fp32 %.2e"
          % (name, r_native, 100 * top1, r_fp32))
    if not r_native <= 4e-2:
        C.die("%s: logits differ from PyTorch bf16 by %.3g of their scale (tolerance 4e-2)"
              % (name, r_native))
    if top1 < 0.9:
        C.die("%s: top-1 tokens agree with PyTorch bf16 at only %.0f%% of positions"
              % (name, 100 * top1))
    if not r_fp32 <= 4e-2:
        C.die("%s: bf16 logits differ from the fp32 path by %.3g of their scale" % (name, r_fp32))
    if not r_fp32 > 1e-6:
        C.die("%s: --compute bf16 gave the fp32 path's logits: the bf16 kernel did not run" % name)


H = 64 if small else 128
S = 12 if small else 40
gpt2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 160,
        "n_positions": 64, "n_embd": H, "n_layer": 2 if small else 3, "n_head": 4,
        "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}
L = gpt2["n_layer"]
case("gpt2 bf16", gpt2, C.tokens_for(160, S, 1), seed=3,
     pairs=[("transformer.h.%d.attn.c_attn" % i, "transformer.h.%d.ln_1" % i) for i in range(L)]
     + [("transformer.h.%d.mlp.c_fc" % i, "transformer.h.%d.ln_2" % i) for i in range(L)]
     + [("lm_head", "transformer.ln_f")])
llama = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 128,
         "hidden_size": H, "intermediate_size": 2 * H + 32, "num_hidden_layers": 2,
         "num_attention_heads": 8, "num_key_value_heads": 2, "max_position_embeddings": 64,
         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
         "tie_word_embeddings": False}
P = "model.layers.%d."
case("llama gqa bf16", llama, C.tokens_for(128, S, 2), seed=6,
     pairs=[(P % i + "self_attn." + p, P % i + "input_layernorm") for i in range(2)
            for p in ("q_proj", "k_proj", "v_proj")]
     + [(P % i + "mlp." + p, P % i + "post_attention_layernorm") for i in range(2)
        for p in ("gate_proj", "up_proj")]
     + [("lm_head", "model.norm")])
print("ok")
