"""test_engine_generate.py: `layerscope run --generate N` (the engine's KV cache: prefill,
then one cached pass per token) against a PyTorch greedy loop with its own KV cache, written
here over the reference modules of ref_models.py (the cache is the test's, not the engine's
design pasted back): for a llama-shaped config (GQA, RoPE) and a GPT-2-shaped one (learned
positions, fused c_attn), on the same seeded weights stored as safetensors, the 32 generated
tokens must be the same and the logits each token was chosen from must agree within 1e-4 of
their scale at every step; mistral's sliding window is checked against a full PyTorch pass per
token. A sampling run with a vanishing top-p must pick the greedy tokens,
and the same seed must give the same sample twice. --prompt without a tokenizer is an error
naming where it looked."""
import json
import os
import subprocess
import tempfile

import torch

import engine_check as C
import ref_models as R
from ref_cached import llama_cached, gpt2_cached

C.require_exe()
STEPS = 32


def torch_greedy(model, cfg, step_fn, prompt, n):
    if step_fn is None:  # no cached reference: a full pass per token
        ids, rows = list(prompt), []
        with torch.no_grad():
            for _ in range(n):
                rows.append(model(torch.tensor([ids]))[0, -1].clone())
                ids.append(int(torch.argmax(rows[-1])))
        return ids[len(prompt):], torch.stack(rows)
    cache, ids, rows = {}, list(prompt), []
    with torch.no_grad():
        logits = step_fn(model, cfg, torch.tensor([prompt]), cache, 0)
        for _ in range(n):
            row = logits[0, -1]
            rows.append(row.clone())
            tok = int(torch.argmax(row))
            ids.append(tok)
            logits = step_fn(model, cfg, torch.tensor([[tok]]), cache, len(ids) - 1)
    return ids[len(prompt):], torch.stack(rows)


def engine_generate(cpath, wpath, prompt, n, extra=(), dump=None):
    cmd = [C.EXE, "run", cpath, "--weights", wpath, "--tokens", ",".join(map(str, prompt)),
           "--generate", str(n)] + list(extra)
    if dump:
        cmd += ["--dump", dump]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        C.die("engine failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    lines = [l for l in p.stdout.splitlines() if l.startswith("generated ids:")]
    if len(lines) != 1:
        C.die("no 'generated ids:' line in\n" + p.stdout)
    steps = [l for l in p.stdout.splitlines() if l.strip().startswith("step ")]
    if len(steps) != n:
        C.die("%d step lines for %d tokens:\n%s" % (len(steps), n, p.stdout))
    return [int(t) for t in lines[0].split(":", 1)[1].strip().split(",")]


def check(name, cfg, step_fn, seed):
    model = R.build(cfg)
    w = R.random_weights(model, seed, std=0.08)
    prompt = C.tokens_for(cfg["vocab_size"], 7, seed)
    with tempfile.TemporaryDirectory() as d:
        cpath, wpath = C.write_model(d, cfg, model, w)
        dump = os.path.join(d, "gen.safetensors")
        got = engine_generate(cpath, wpath, prompt, STEPS, dump=dump)
        eng = R.read_safetensors(dump)["generate.logits"].float()
        want, ref = torch_greedy(model, cfg, step_fn, prompt, STEPS)
        # the reference cache agrees with a full pass over prompt + generated tokens
        with torch.no_grad():
            full = model(torch.tensor([prompt + want]))[0, len(prompt) - 1:-1]
        if (full - ref).abs().max() > 1e-4 * ref.abs().max():
            C.die("%s: the reference's KV-cached loop disagrees with its own full pass" % name)
        if got != want:
            C.die("%s: generated %s, PyTorch %s" % (name, got, want))
        if eng.shape != ref.shape:
            C.die("%s: logits %s vs %s" % (name, tuple(eng.shape), tuple(ref.shape)))
        for s in range(STEPS):
            scale = ref[s].abs().max().item()
            err = (eng[s] - ref[s]).abs().max().item()
            if not err <= 1e-4 * scale:
                C.die("%s: step %d logits differ by %.3g (scale %.3g)" % (name, s, err, scale))
        print("  %s: %d tokens agree, logits within 1e-4 at every step" % (name, STEPS))
        # sampling: a vanishing nucleus is the argmax; one seed, one sequence
        top1 = engine_generate(cpath, wpath, prompt, 8, ["--temperature", "0.7", "--top-p", "1e-9"])
        if top1 != want[:8]:
            C.die("%s: top-p 1e-9 sampled %s, greedy %s" % (name, top1, want[:8]))
        s1 = engine_generate(cpath, wpath, prompt, 16, ["--temperature", "1.5", "--seed", "9"])
        s2 = engine_generate(cpath, wpath, prompt, 16, ["--temperature", "1.5", "--seed", "9"])
        if s1 != s2:
            C.die("%s: the same seed sampled %s and %s" % (name, s1, s2))


llama = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 128,
         "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
         "num_attention_heads": 8, "num_key_value_heads": 2, "max_position_embeddings": 64,
         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
         "tie_word_embeddings": False}
gpt2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 160,
        "n_positions": 64, "n_embd": 64, "n_layer": 2, "n_head": 4, "layer_norm_epsilon": 1e-5,
        "activation_function": "gelu_new"}
# a text prompt needs a tokenizer: a config without one is an error naming where it looked
# (prompts with tokenizers: test_engine_text.py)
with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(llama, f)
    p = subprocess.run([C.EXE, "run", os.path.join(d, "config.json"), "--prompt", "Hello", "--generate", "2"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 1 or "no tokenizer" not in p.stderr or os.path.join(d, "tokenizer.json") not in p.stderr:
        C.die("--prompt without a tokenizer: exit %d, %r" % (p.returncode, p.stderr))
check("llama gqa", llama, llama_cached, 21)
check("gpt2", gpt2, gpt2_cached, 22)
# a sliding window shorter than the sequence, against full passes (the window moves with
# every cached step)
check("mistral window 5", dict(llama, model_type="mistral", architectures=["MistralForCausalLM"],
                               sliding_window=5), None, 23)
print("ok")
