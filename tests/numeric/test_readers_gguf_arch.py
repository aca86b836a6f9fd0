"""test_readers_gguf_arch.py: GGUF tensor names of the architectures beyond llama/gpt2 --
mixtral (merged experts tensors blk.N.ffn_{gate,down,up}_exps in F32, F16 and Q8_0, old
per-expert tensors, the router, the q/k permutation of the llama converter), phi3 (fused
qkv_proj and gate_up_proj, no permutation) and bert. Each GGUF is written here (seeded) with
llama.cpp's names and layout from known upstream tensors; `layerscope diff --rtol 0 --atol 0`
against the same tensors written as safetensors with upstream names must find every tensor
identical (quantized ones against numpy's own Q8_0 decoding), and `stats` must list exactly
the upstream names and shapes. Bad merged tensors must fail with an error naming them."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import lib_tensorgen as tg

LS = os.environ.get("LAYERSCOPE", "layerscope")
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def run(*args, ok=(0,)):
    p = subprocess.run([LS, *args], capture_output=True, text=True)
    if p.returncode not in ok:
        print(p.stdout[-3000:], p.stderr[-3000:])
        raise SystemExit(f"layerscope {' '.join(args)} exited {p.returncode}")
    return p


def encode(dtype, x):
    """Raw GGUF bytes of x (row-major) in dtype and the values a reader must decode."""
    if dtype == "f32":
        return x.astype("<f4").tobytes(), x.astype(np.float32)
    if dtype == "f16":
        h = x.astype("<f2")
        return h.tobytes(), h.astype(np.float32)
    raw, vals = tg.quant_q8_0(x.reshape(-1).astype(np.float32))
    return raw, vals.reshape(x.shape)


def expect(d, tag, kvs, gguf_tensors, ref):
    """Writes the GGUF and the reference safetensors; diff and stats must agree with ref."""
    gpath = os.path.join(d, tag + ".gguf")
    rpath = os.path.join(d, tag + "_ref.safetensors")
    tg.write_gguf(gpath, kvs, gguf_tensors)
    tg.write_safetensors(rpath, [(n, "F32", v.shape, v.astype("<f4").tobytes()) for n, v in ref.items()])
    rows = json.loads(run("diff", gpath, rpath, "--rtol", "0", "--atol", "0", "--format", "json", ok=(0, 1)).stdout)["tensors"]
    for r in rows:
        check(r["status"] == "match", f"{tag}: {r['name']}: {r['status']} (max_abs {r.get('max_abs')}, first {r.get('first_mismatch')})")
    check(sorted(r["name"] for r in rows) == sorted(ref), f"{tag}: compared {sorted(r['name'] for r in rows)}")
    got = {t["name"]: t for t in json.loads(run("stats", "--format", "json", gpath, ok=(0, 1)).stdout)["tensors"]}
    check(sorted(got) == sorted(ref), f"{tag}: stats names {sorted(got)} != {sorted(ref)}")
    for n, v in ref.items():
        if n in got:
            check(got[n]["shape"] == list(v.shape), f"{tag} {n}: shape {got[n]['shape']} != {list(v.shape)}")
    return gpath


def test_mixtral(d, rng, dtype):
    n_head, n_kv, hd, hidden, ff, n_exp = 4, 2, 16, 64, 96, 4
    kvs = [("general.architecture", tg.GSTR, "llama"), ("llama.attention.head_count", tg.GU32, n_head),
           ("llama.attention.head_count_kv", tg.GU32, n_kv), ("llama.expert_count", tg.GU32, n_exp),
           ("llama.expert_used_count", tg.GU32, 2)]
    tensors, ref = [], {}
    # The llama converter (which converts Mixtral) permutes q/k rows: the view must undo it.
    q = rng.standard_normal((n_head * hd, hidden)).astype(np.float32)
    tensors.append(("blk.0.attn_q.weight", "f32", q.shape, tg.llama_permute(q, n_head).astype("<f4").tobytes()))
    ref["model.layers.0.self_attn.q_proj.weight"] = q
    k = rng.standard_normal((n_kv * hd, hidden)).astype(np.float32)
    tensors.append(("blk.0.attn_k.weight", "f32", k.shape, tg.llama_permute(k, n_kv).astype("<f4").tobytes()))
    ref["model.layers.0.self_attn.k_proj.weight"] = k
    router = rng.standard_normal((n_exp, hidden)).astype(np.float32)
    tensors.append(("blk.0.ffn_gate_inp.weight", "f32", router.shape, router.tobytes()))
    ref["model.layers.0.block_sparse_moe.gate.weight"] = router
    # Merged experts: torch.stack of the upstream [out, in] weights -> [n_exp, out, in].
    for gname, w, shape in (("ffn_gate_exps", "w1", (ff, hidden)), ("ffn_down_exps", "w2", (hidden, ff)),
                            ("ffn_up_exps", "w3", (ff, hidden))):
        x = (rng.standard_normal((n_exp, *shape)) * 0.1).astype(np.float32)
        raw, vals = encode(dtype, x)
        tensors.append((f"blk.0.{gname}.weight", dtype, x.shape, raw))
        for e in range(n_exp):
            ref[f"model.layers.0.block_sparse_moe.experts.{e}.{w}.weight"] = vals[e]
    # Old files: one tensor per expert, blk.N.ffn_gate.E.weight.
    for gname, w, shape in (("ffn_gate", "w1", (ff, hidden)), ("ffn_down", "w2", (hidden, ff)), ("ffn_up", "w3", (ff, hidden))):
        for e in range(n_exp):
            x = rng.standard_normal(shape).astype(np.float32)
            raw, vals = encode(dtype, x)
            tensors.append((f"blk.1.{gname}.{e}.weight", dtype, shape, raw))
            ref[f"model.layers.1.block_sparse_moe.experts.{e}.{w}.weight"] = vals
    expect(d, f"mixtral_{dtype}", kvs, tensors, ref)


def test_phi3(d, rng):
    hidden, ff = 32, 48
    kvs = [("general.architecture", tg.GSTR, "phi3"), ("phi3.attention.head_count", tg.GU32, 4),
           ("phi3.attention.head_count_kv", tg.GU32, 4)]
    names = {"token_embd.weight": ("model.embed_tokens.weight", (50, hidden)),
             "output_norm.weight": ("model.norm.weight", (hidden,)),
             "output.weight": ("lm_head.weight", (50, hidden)),
             "blk.0.attn_norm.weight": ("model.layers.0.input_layernorm.weight", (hidden,)),
             "blk.0.attn_qkv.weight": ("model.layers.0.self_attn.qkv_proj.weight", (3 * hidden, hidden)),
             "blk.0.attn_output.weight": ("model.layers.0.self_attn.o_proj.weight", (hidden, hidden)),
             "blk.0.ffn_norm.weight": ("model.layers.0.post_attention_layernorm.weight", (hidden,)),
             "blk.0.ffn_up.weight": ("model.layers.0.mlp.gate_up_proj.weight", (2 * ff, hidden)),
             "blk.0.ffn_down.weight": ("model.layers.0.mlp.down_proj.weight", (hidden, ff))}
    tensors, ref = [], {}
    for g, (u, shape) in names.items():
        x = rng.standard_normal(shape).astype(np.float32)
        tensors.append((g, "f32", shape, x.tobytes()))
        ref[u] = x
    expect(d, "phi3", kvs, tensors, ref)


def test_bert(d, rng):
    hidden, ff = 32, 64
    kvs = [("general.architecture", tg.GSTR, "bert"), ("bert.attention.head_count", tg.GU32, 4)]
    top = {"token_embd": ("bert.embeddings.word_embeddings", (40, hidden)),
           "position_embd": ("bert.embeddings.position_embeddings", (16, hidden)),
           "token_types": ("bert.embeddings.token_type_embeddings", (2, hidden))}
    blk = {"attn_q": ("attention.self.query", (hidden, hidden)), "attn_k": ("attention.self.key", (hidden, hidden)),
           "attn_v": ("attention.self.value", (hidden, hidden)),
           "attn_output": ("attention.output.dense", (hidden, hidden)),
           "ffn_up": ("intermediate.dense", (ff, hidden)), "ffn_down": ("output.dense", (hidden, ff))}
    norms = {"attn_output_norm": "attention.output.LayerNorm", "layer_output_norm": "output.LayerNorm"}
    tensors, ref = [], {}

    def add(g, u, shape):
        x = rng.standard_normal(shape).astype(np.float32)
        tensors.append((g, "f32", shape, x.tobytes()))
        ref[u] = x
    for g, (u, shape) in top.items():
        add(g + ".weight", u + ".weight", shape)
    add("token_embd_norm.weight", "bert.embeddings.LayerNorm.weight", (hidden,))
    add("token_embd_norm.bias", "bert.embeddings.LayerNorm.bias", (hidden,))
    for layer in (0, 3):
        for g, (u, shape) in blk.items():
            add(f"blk.{layer}.{g}.weight", f"bert.encoder.layer.{layer}.{u}.weight", shape)
            add(f"blk.{layer}.{g}.bias", f"bert.encoder.layer.{layer}.{u}.bias", (shape[0],))
        for g, u in norms.items():
            add(f"blk.{layer}.{g}.weight", f"bert.encoder.layer.{layer}.{u}.weight", (hidden,))
            add(f"blk.{layer}.{g}.bias", f"bert.encoder.layer.{layer}.{u}.bias", (hidden,))
    expect(d, "bert", kvs, tensors, ref)


def expect_error(d, tag, kvs, tensors, words):
    path = os.path.join(d, tag + ".gguf")
    tg.write_gguf(path, kvs, tensors)
    p = subprocess.run([LS, "stats", path], capture_output=True, text=True)
    check(p.returncode != 0 and p.returncode < 128 and "layerscope stats: " + path in p.stderr,
          f"{tag}: exit {p.returncode}, expected an error: {p.stderr.strip()}")
    for w in words:
        check(w in p.stderr, f"{tag}: error does not mention '{w}': {p.stderr.strip()}")


def test_bad(d, rng):
    kv = [("general.architecture", tg.GSTR, "llama"), ("llama.expert_count", tg.GU32, 3)]
    x = np.ones((4, 8, 32), np.float32)
    expect_error(d, "bad_count", kv, [("blk.2.ffn_up_exps.weight", "f32", x.shape, x.tobytes())],
                 ["blk.2.ffn_up_exps.weight", "4 experts", "llama.expert_count is 3"])
    raw, _ = tg.quant_q8_0(np.ones(4 * 8 * 48, np.float32)[: 4 * 8 * 32])  # right bytes for 32-wide rows
    expect_error(d, "bad_block", kv[:1], [("blk.0.ffn_gate_exps.weight", "q8_0", (4, 8, 48), raw + raw[: len(raw) // 2])],
                 ["blk.0.ffn_gate_exps.weight", "q8_0"])
    y = np.ones((8, 32), np.float32)
    expect_error(d, "bad_ndim", kv[:1], [("blk.0.ffn_down_exps.weight", "f32", y.shape, y.tobytes())],
                 ["blk.0.ffn_down_exps.weight", "3"])
    # No expert_count key: a header may not create more than 4096 views per tensor, nor
    # views of nothing, nor slices past the end of the file.
    z = np.ones((5000, 1, 32), np.float32)
    expect_error(d, "bad_many", kv[:1], [("blk.0.ffn_up_exps.weight", "f32", z.shape, z.tobytes())],
                 ["blk.0.ffn_up_exps.weight", "5000 experts"])
    expect_error(d, "bad_empty", kv[:1], [("blk.0.ffn_up_exps.weight", "f32", (4, 0, 32), b"")],
                 ["blk.0.ffn_up_exps.weight", "empty"])
    path = os.path.join(d, "bad_trunc.gguf")
    tg.write_gguf(path, kv[:1], [("blk.5.ffn_gate_exps.weight", "f32", x.shape, x.tobytes())])
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 100)
    p = subprocess.run([LS, "stats", path], capture_output=True, text=True)
    check(p.returncode == 1 and "blk.5.ffn_gate_exps.weight" in p.stderr and "truncated" in p.stderr,
          f"bad_trunc: exit {p.returncode}: {p.stderr.strip()}")


def main():
    rng = np.random.default_rng(1234)
    with tempfile.TemporaryDirectory() as d:
        for dt in ("f32", "f16", "q8_0"):
            test_mixtral(d, rng, dt)
        test_phi3(d, rng)
        test_bert(d, rng)
        test_bad(d, rng)
    if FAILS:
        print(f"{len(FAILS)} failures")
        return 1
    print("ok: mixtral (f32, f16, q8_0), phi3, bert names and values; bad merged tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
