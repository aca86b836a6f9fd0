"""test_engine_batch.py: batched forward passes (`layerscope run --tokens "r0;r1;r2"`, rows of
different lengths, right-padded) against the PyTorch references run on the same padded batch
with the same attention mask (ref_models: transformers' eager attention with its causal +
padding mask for llama and GPT-2, BERT's additive padding mask): a llama-style model (GQA,
RoPE), GPT-2 (learned positions) and BERT, three rows each. Every module output and the
logits must agree at the valid positions within 1e-4 of their scale; and each row of the
batch must agree with that row run alone (B = 1, no padding). Also the CLI's refusals: a
ragged mask, an empty row, --batch with a row count that differs, --generate on a batch."""
import os
import subprocess
import tempfile

import torch

import engine_check as C
import ref_models as R

C.require_exe()
small = C.SANITIZE
H = 64 if small else 128
S = 10 if small else 24
LENS = [S, S - 4, S - 7]  # row 0 is full; rows 1 and 2 padded


def rows_for(vocab, seed):
    full = C.tokens_for(vocab, S, seed)
    return [full[:n] if b == 0 else C.tokens_for(vocab, n, seed + 10 * b) for b, n in enumerate(LENS)]


def arg(rows):
    return ";".join(",".join(str(t) for t in r) for r in rows)


def valid(t, mask):
    """The [B, S, ...] tensor's values at the positions where mask [B, S] is 1 (a [1, S, ...]
    tensor, as GPT-2's position embeddings, is the same for every row)."""
    if t.dim() >= 2 and t.shape[0] == 1 and t.shape[1] == mask.shape[1]:
        t = t.expand(mask.shape[0], *t.shape[1:])
    return t[mask.bool()] if t.dim() >= 2 and tuple(t.shape[:2]) == tuple(mask.shape) else t


def engine(cpath, wpath, tokens_arg, dump, extra=()):
    cmd = [C.EXE, "run", cpath, "--weights", wpath, "--tokens", tokens_arg, "--dump", dump] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        C.die("engine failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    return p.stdout, R.read_safetensors(dump)


def check_batch(name, cfg, seed, with_mask_arg):
    model = R.build(cfg)
    w = R.random_weights(model, seed, std=0.08)
    rows = rows_for(cfg["vocab_size"], seed)
    B = len(rows)
    ids = torch.zeros((B, S), dtype=torch.long)
    mask = torch.zeros((B, S), dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.tensor(r)
        mask[b, :len(r)] = 1
    with tempfile.TemporaryDirectory() as d:
        cpath, wpath = C.write_model(d, cfg, model, w)
        extra = ["--attention-mask", arg([[1] * len(r) for r in rows])] if with_mask_arg else []
        out, eng = engine(cpath, wpath, arg(rows), os.path.join(d, "batch.safetensors"), extra)
        singles = [engine(cpath, wpath, arg([r]), os.path.join(d, "row%d.safetensors" % b))[1]
                   for b, r in enumerate(rows)]
    for b in range(B):
        if ("row %d (%d tokens)" % (b, len(rows[b]))) not in out:
            C.die("%s: no output line for row %d:\n%s" % (name, b, out))
    logits, outs = R.dump_modules(model, ids, attention_mask=mask)
    outs["logits"] = logits
    if tuple(eng["logits"].shape) != (B, S, logits.shape[-1]):
        C.die("%s: batched logits have shape %s" % (name, tuple(eng["logits"].shape)))
    for k, v in eng.items():
        if k in outs and tuple(v.shape[:2]) == (1, B * S):
            C.die("%s: %s has no batch dimension: %s" % (name, k, tuple(v.shape)))
    ref = {k: valid(v, mask) for k, v in outs.items()}
    got = {k: valid(v, mask) for k, v in eng.items()}
    n = C.compare(name + " vs PyTorch batch", got, ref)
    if n < 5:
        C.die("%s: only %d tensors compared" % (name, n))
    for b, one in enumerate(singles):  # row b alone: [1, len, ...] vs the batch's row b
        L = len(rows[b])
        row = {k: v[b, :L] for k, v in eng.items() if v.dim() >= 2 and v.shape[0] == B and v.shape[1] == S}
        alone = {k: v[0, :L] for k, v in one.items() if k in row}
        if C.compare("%s row %d vs its own run" % (name, b), row, alone) < 5:
            C.die("%s: row %d: too few tensors compared" % (name, b))


def expect_fail(cpath, wpath, args, words):
    p = subprocess.run([C.EXE, "run", cpath, "--weights", wpath] + args, capture_output=True, text=True,
                       timeout=120)
    if p.returncode == 0 or not all(wd in p.stderr for wd in words):
        C.die("run %s: expected a failure naming %s, got %d: %s" % (args, words, p.returncode, p.stderr))


llama = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 128,
         "hidden_size": H, "intermediate_size": 2 * H + 32, "num_hidden_layers": 2,
         "num_attention_heads": 8, "num_key_value_heads": 2, "max_position_embeddings": 64,
         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
         "tie_word_embeddings": False}
check_batch("llama gqa batch 3", llama, 31, False)
gpt2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 160,
        "n_positions": 64, "n_embd": H, "n_layer": 2, "n_head": 4, "layer_norm_epsilon": 1e-5,
        "activation_function": "gelu_new"}
check_batch("gpt2 batch 3", gpt2, 32, True)
bert = {"model_type": "bert", "architectures": ["BertForMaskedLM"], "vocab_size": 120,
        "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 2,
        "num_attention_heads": 4, "max_position_embeddings": 64, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pad_token_id": 0}
check_batch("bert batch 3", bert, 33, False)

# refusals, on the llama model
model = R.build(llama)
with tempfile.TemporaryDirectory() as d:
    cpath, wpath = C.write_model(d, llama, model, R.random_weights(model, 1, std=0.08))
    expect_fail(cpath, wpath, ["--tokens", "1,2;3", "--attention-mask", "1,1;1,1"],
                ["attention mask", "row 1", "2 values for 1 tokens"])
    expect_fail(cpath, wpath, ["--tokens", "1,2;;3"], ["--tokens", "row 1 is empty"])
    expect_fail(cpath, wpath, ["--tokens", "1,2;3", "--attention-mask", "1,1"], ["1 rows for 2 rows"])
    expect_fail(cpath, wpath, ["--tokens", "1,2;3", "--batch", "3"], ["--batch 3", "2 rows"])
    expect_fail(cpath, wpath, ["--tokens", "1,2;3", "--generate", "2"], ["--generate runs one row"])
    expect_fail(cpath, wpath, ["--random-tokens", "600000", "--batch", "2"], ["at most 1048576 tokens"])
    # --random-tokens N --batch B: B rows of N, one output line each
    p = subprocess.run([C.EXE, "run", cpath, "--weights", wpath, "--random-tokens", "5", "--batch", "2"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or "2 rows of 5 tokens" not in p.stdout or "row 1 (5 tokens)" not in p.stdout:
        C.die("--random-tokens 5 --batch 2: %d %s %s" % (p.returncode, p.stdout, p.stderr))
print("ok")
