"""test_engine_gguf.py: end to end through a GGUF file. The test writes, from the GGUF
specification (v3: header, metadata key/values, tensor infos, 32-byte aligned data) and
llama.cpp's conventions (blk.N.* names, ne[0] = row length, q/k rows permuted by
convert_hf_to_gguf.py's `permute` for its interleaved rotary layout), a llama model with
Q8_0 attention weights, Q4_0 MLP weights, an F16 embedding and F32 norms; and the same
dequantized values as an f32 safetensors file. `layerscope run` on the two files must give the
same logits and module outputs (up to float summation order), and both must match the
PyTorch reference on the dequantized weights. The GGUF file also runs alone (no config.json:
the config from its general.architecture and llama.* / gpt2.* keys) with the same outputs,
and its tokenizer.ggml.* arrays (a small SentencePiece vocabulary written here) encode a
--prompt: "a b" -> <s> ▁a ▁b by SentencePiece's rules (dummy prefix, the highest-scored
merges)."""
import json
import os
import struct
import subprocess
import tempfile

import numpy as np
import torch

import engine_check as C
import ref_models as R

C.require_exe()
# The comparisons below hold quantized products to the dequantized weights: the fp32 path.
# The int8 path (ops_q8.h), which also quantizes the activations, is checked at the end of
# test_engine_gguf.py against PyTorch quantizing them the same way.
os.environ["LAYERSCOPE_Q8"] = "fp32"
small = C.SANITIZE
H, NH, NKV, I, V, L = (64, 4, 2, 128, 96, 1) if small else (128, 8, 2, 256, 160, 2)
cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": V,
       "hidden_size": H, "intermediate_size": I, "num_hidden_layers": L,
       "num_attention_heads": NH, "num_key_value_heads": NKV, "max_position_embeddings": 64,
       "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False}

GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8
GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STR, GGUF_ARR = 4, 5, 6, 7, 8, 9


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def permute(rows, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute, on whole rows (quantized rows are
    moved as units)."""
    r = rows.shape[0]
    return rows.reshape(n_head, 2, r // n_head // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def write_gguf(path, meta, tensors):
    """tensors: list of (name, ggml type, upstream shape [rows, cols] or [n], raw bytes)."""
    kv = b""
    for k, (t, v) in meta.items():
        kv += gguf_str(k) + struct.pack("<I", t)
        if t == GGUF_ARR:  # (GGUF_ARR, (item type, [items]))
            it, items = v
            kv += struct.pack("<IQ", it, len(items))
            kv += b"".join({GGUF_STR: gguf_str, GGUF_F32: lambda x: struct.pack("<f", x),
                            GGUF_I32: lambda x: struct.pack("<i", x)}[it](x) for x in items)
            continue
        kv += {GGUF_U32: lambda x: struct.pack("<I", x), GGUF_F32: lambda x: struct.pack("<f", x),
               GGUF_BOOL: lambda x: struct.pack("<B", x), GGUF_STR: gguf_str}[t](v)
    infos = b""
    off = 0
    blobs = []
    for name, gt, shape, raw in tensors:
        ne = list(reversed(shape))
        infos += gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        infos += struct.pack("<IQ", gt, off)
        pad = (-len(raw)) % 32
        blobs.append(raw + b"\0" * pad)
        off += len(raw) + pad
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)) + kv + infos
    head += b"\0" * ((-len(head)) % 32)
    with open(path, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)


model = R.build(cfg)
w = R.random_weights(model, 31, std=0.08)
deq = {}
gg = []
names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
         "lm_head.weight": "output.weight"}
sub = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
       "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
       "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
       "mlp.down_proj": "ffn_down"}
for name, t in w.items():
    a = t.numpy().astype(np.float32)
    if name.startswith("model.layers."):
        parts = name.split(".")
        gname = "blk.%s.%s.weight" % (parts[2], sub[".".join(parts[3:-1])])
    else:
        gname = names[name]
    if a.ndim == 1:
        gg.append((gname, GGML_F32, list(a.shape), a.tobytes()))
        deq[name] = torch.from_numpy(a.copy())
        continue
    if "embed" in name:
        h = a.astype(np.float16)
        raw_rows, d = h.view(np.uint8).reshape(a.shape[0], -1), h.astype(np.float32)
        gt = GGML_F16
    else:
        q = R.quant_q4_0 if "mlp" in name else R.quant_q8_0
        raw, d = q(a)
        raw_rows = np.frombuffer(raw, dtype=np.uint8).reshape(a.shape[0], -1)
        gt = GGML_Q4_0 if "mlp" in name else GGML_Q8_0
    if name.endswith("q_proj.weight"):
        raw_rows = permute(raw_rows, NH)
    elif name.endswith("k_proj.weight"):
        raw_rows = permute(raw_rows, NKV)
    gg.append((gname, gt, list(a.shape), np.ascontiguousarray(raw_rows).tobytes()))
    deq[name] = torch.from_numpy(d.copy())

meta = {"general.architecture": (GGUF_STR, "llama"), "llama.block_count": (GGUF_U32, L),
        "llama.embedding_length": (GGUF_U32, H), "llama.feed_forward_length": (GGUF_U32, I),
        "llama.attention.head_count": (GGUF_U32, NH), "llama.attention.head_count_kv": (GGUF_U32, NKV),
        "llama.rope.freq_base": (GGUF_F32, 10000.0), "llama.context_length": (GGUF_U32, 64),
        "llama.attention.layer_norm_rms_epsilon": (GGUF_F32, 1e-5)}
toks = C.tokens_for(V, 10 if small else 33, 8)
with tempfile.TemporaryDirectory() as d:
    cpath = os.path.join(d, "config.json")
    with open(cpath, "w") as f:
        json.dump(cfg, f)
    gpath = os.path.join(d, "model.gguf")
    write_gguf(gpath, meta, gg)
    spath = os.path.join(d, "model.safetensors")
    R.write_safetensors(spath, {k: ("F32", v.numpy()) for k, v in deq.items()})
    C.run_engine(cpath, gpath, toks, os.path.join(d, "g.safetensors"))
    C.run_engine(cpath, spath, toks, os.path.join(d, "s.safetensors"))
    eg = R.read_safetensors(os.path.join(d, "g.safetensors"))
    es = R.read_safetensors(os.path.join(d, "s.safetensors"))
    # the same file alone, with a SentencePiece tokenizer in its arrays: <unk> <s> </s>, then
    # ▁ a b ▁a ▁b (the merges, scored highest) and fillers
    vocab = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "\u2581b"] + ["t%d" % i for i in range(V - 8)]
    scores = [0.0, 0.0, 0.0, -1.0, -2.0, -2.0, 5.0, 5.0] + [-100.0] * (V - 8)
    types = [2, 3, 3] + [1] * (V - 3)
    alone = dict(meta, **{"tokenizer.ggml.model": (GGUF_STR, "llama"),
                          "tokenizer.ggml.tokens": (GGUF_ARR, (GGUF_STR, vocab)),
                          "tokenizer.ggml.scores": (GGUF_ARR, (GGUF_F32, scores)),
                          "tokenizer.ggml.token_type": (GGUF_ARR, (GGUF_I32, types)),
                          "tokenizer.ggml.bos_token_id": (GGUF_U32, 1),
                          "tokenizer.ggml.eos_token_id": (GGUF_U32, 2),
                          "tokenizer.ggml.unknown_token_id": (GGUF_U32, 0),
                          "tokenizer.ggml.add_bos_token": (GGUF_BOOL, 1)})
    apath = os.path.join(d, "alone.gguf")
    write_gguf(apath, alone, gg)
    C.run_engine(apath, None, toks, os.path.join(d, "a.safetensors"))
    ea = R.read_safetensors(os.path.join(d, "a.safetensors"))
    p = subprocess.run([C.EXE, "run", apath, "--prompt", "a b"], capture_output=True, text=True, timeout=300)
    if p.returncode != 0 or 'prompt: 3 tokens (tokenizer %s): [0] "<s>" [1] "\u2581a" [2] "\u2581b"' % apath not in p.stdout:
        C.die("run model.gguf --prompt: exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    if "(a GGUF file alone: the config from its metadata)" not in p.stdout:
        C.die("run model.gguf does not say where its config came from:\n" + p.stdout)
C.compare("the GGUF file alone vs with its config.json", ea, eg, rtol=1e-5)
if set(eg) != set(es):
    C.die("the GGUF and safetensors runs dumped different modules: %s" % sorted(set(eg) ^ set(es)))
C.compare("gguf q8_0/q4_0 vs the same weights as f32 safetensors", eg, es, rtol=1e-5)
R.load_weights(model, deq)
logits, outs = R.dump_modules(model, torch.tensor([toks]))
outs["logits"] = logits
C.compare("gguf vs PyTorch on the dequantized weights", eg, outs, rtol=1e-4)

# GPT-2: llama.cpp stores the Conv1D weights transposed, as Linear [out, in] (ggml ne[0] =
# in), and no position permutation; Q8_0 for the matrices, F32 for the rest.
g2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 96,
      "n_positions": 32, "n_embd": 64, "n_layer": 2, "n_head": 4}
gm = R.build(g2)
gw = R.random_weights(gm, 32, std=0.08)
gsub = {"ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
        "ln_2": "ffn_norm", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}
gtop = {"transformer.wte": "token_embd", "transformer.wpe": "position_embd",
        "transformer.ln_f": "output_norm"}
gg2, gdeq = [], {}
for name, t in gw.items():
    stem, leaf = name.rsplit(".", 1)
    if stem.startswith("transformer.h."):
        parts = stem.split(".")
        gname = "blk.%s.%s.%s" % (parts[2], gsub[".".join(parts[3:])], leaf)
    else:
        gname = gtop[stem] + "." + leaf
    a = t.numpy().astype(np.float32)
    if a.ndim == 2 and stem.startswith("transformer.h."):
        raw, d = R.quant_q8_0(a.T.copy())  # stored [out, in]
        gg2.append((gname, GGML_Q8_0, list(a.T.shape), raw))
        gdeq[name] = torch.from_numpy(d.T.copy())
    else:
        gg2.append((gname, GGML_F32, list(a.shape), a.tobytes()))
        gdeq[name] = torch.from_numpy(a.copy())
gmeta = {"general.architecture": (GGUF_STR, "gpt2"), "gpt2.block_count": (GGUF_U32, 2),
         "gpt2.embedding_length": (GGUF_U32, 64), "gpt2.attention.head_count": (GGUF_U32, 4),
         "gpt2.context_length": (GGUF_U32, 32)}
gtoks = C.tokens_for(96, 9, 9)
with tempfile.TemporaryDirectory() as d:
    cpath = os.path.join(d, "config.json")
    with open(cpath, "w") as f:
        json.dump(g2, f)
    gpath = os.path.join(d, "gpt2.gguf")
    write_gguf(gpath, gmeta, gg2)
    C.run_engine(cpath, gpath, gtoks, os.path.join(d, "g.safetensors"))
    eg2 = R.read_safetensors(os.path.join(d, "g.safetensors"))
    # alone: no feed_forward_length (n_inner's default, 4 * n_embd), the vocabulary from
    # token_embd.weight (no tokenizer arrays)
    C.run_engine(gpath, None, gtoks, os.path.join(d, "a.safetensors"))
    ea2 = R.read_safetensors(os.path.join(d, "a.safetensors"))
C.compare("the gpt2 GGUF file alone vs with its config.json", ea2, eg2, rtol=1e-5)
R.load_weights(gm, gdeq)
logits, outs = R.dump_modules(gm, torch.tensor([gtoks]))
outs["logits"] = logits
C.compare("gpt2 gguf (transposed Conv1D, q8_0) vs PyTorch", eg2, outs, rtol=1e-4)

# The int8 path (core/engine/ops_q8.h, CPUs with AVX512-VNNI): every Q8_0 / Q4_0 product
# quantizes its input rows to int8 in blocks of 32 (scale = block max |x| / 127 in fp32,
# round half to even) and sums exact integer products. PyTorch does the same here with a
# pre-hook on each of those Linears; the engine must match it as closely as the fp32 path
# matches the plain reference (rtol 1e-4; an activation that fp32 noise moves across a
# rounding boundary moves one step, a few 1e-5 of the scale), and stay within a loose 5e-2
# of the unquantized reference (what quantizing activations costs on this random model).
def q8_input(mod, inp):
    x = inp[0]
    shp = x.shape
    b = x.reshape(-1, 32)
    d = b.abs().amax(dim=1, keepdim=True) / 127.0
    q = torch.where(d > 0, torch.round(b * torch.where(d > 0, 1.0 / d, torch.zeros_like(d))),
                    torch.zeros_like(b)).clamp(-127, 127)
    return ((q * d).reshape(shp),)


del os.environ["LAYERSCOPE_Q8"]
with tempfile.TemporaryDirectory() as d:
    cpath = os.path.join(d, "config.json")
    with open(cpath, "w") as f:
        json.dump(cfg, f)
    gpath = os.path.join(d, "model.gguf")
    write_gguf(gpath, meta, gg)
    C.run_engine(cpath, gpath, toks, os.path.join(d, "g8.safetensors"))
    e8 = R.read_safetensors(os.path.join(d, "g8.safetensors"))
    # --timing names the path the products took
    p = subprocess.run([C.EXE, "run", cpath, "--weights", gpath, "--tokens", "1,2,3", "--timing"],
                       capture_output=True, text=True, timeout=600)
    vnni = "avx512_vnni" in open("/proc/cpuinfo").read().split()
    want = "q8_0/q4_0 as int8 (avx512_vnni)" if vnni else "q8_0/q4_0 dequantized to fp32"
    if p.returncode != 0 or want not in p.stderr:
        C.die("--timing should say '%s': %s" % (want, p.stderr))
if vnni:
    R.load_weights(model, deq)
    plain_logits, _ = R.dump_modules(model, torch.tensor([toks]))
    hooks = [m.register_forward_pre_hook(q8_input) for n, m in model.named_modules()
             if isinstance(m, torch.nn.Linear) and "embed" not in n]
    logits, outs8 = R.dump_modules(model, torch.tensor([toks]))
    for h in hooks:
        h.remove()
    outs8["logits"] = logits
    C.compare("gguf int8 products vs PyTorch quantizing the activations the same way", e8, outs8, rtol=1e-4)
    C.compare("gguf int8 products vs PyTorch on the dequantized weights (quantization error)",
              {"logits": e8["logits"]}, {"logits": plain_logits}, rtol=5e-2)

else:
    C.compare("gguf without AVX512-VNNI: the fp32 path whatever LAYERSCOPE_Q8 says", e8, eg, rtol=0)
print("ok")
