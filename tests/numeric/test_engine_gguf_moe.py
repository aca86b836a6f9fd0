"""test_engine_gguf_moe.py: a Mixtral model end to end through a GGUF file laid out as
llama.cpp's converter writes it (architecture "llama": q/k rows permuted for its interleaved
rotary layout, router as blk.N.ffn_gate_inp). Layer 0 stores its experts merged
(blk.0.ffn_{gate,down,up}_exps, ne = [in, out, n_expert]) in Q8_0, layer 1 in the older
per-expert form (blk.1.ffn_gate.E) in F16. `layerscope run` on the GGUF and on the same
dequantized weights as f32 safetensors must give the same logits and module outputs, and
both must match PyTorch's Mixtral reference on the dequantized weights."""
import json
import os
import tempfile

import numpy as np
import torch

import engine_check as C
import lib_tensorgen as tg
import ref_models as R

C.require_exe()
# The comparisons below hold quantized products to the dequantized weights: the fp32 path.
# The int8 path (ops_q8.h), which also quantizes the activations, is checked at the end of
# test_engine_gguf.py against PyTorch quantizing them the same way.
os.environ["LAYERSCOPE_Q8"] = "fp32"
H, NH, NKV, E, L = 64, 4, 2, 4, 2
I = H + 32
cfg = {"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "vocab_size": 128,
       "hidden_size": H, "intermediate_size": I, "num_hidden_layers": L,
       "num_attention_heads": NH, "num_key_value_heads": NKV, "max_position_embeddings": 64,
       "num_local_experts": E, "num_experts_per_tok": 2, "rms_norm_eps": 1e-5,
       "sliding_window": None, "tie_word_embeddings": False}

model = R.build(cfg)
w = {k: v.numpy().astype(np.float32) for k, v in R.random_weights(model, 41, std=0.08).items()}
top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
       "lm_head.weight": "output.weight"}
sub = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
       "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
       "block_sparse_moe.gate": "ffn_gate_inp"}
wsub = {"w1": "ffn_gate", "w2": "ffn_down", "w3": "ffn_up"}
gg, deq = [], {}
for name, a in w.items():
    parts = name.split(".")
    if name in top:
        gg.append((top[name], "f32", a.shape, a.tobytes()))
        deq[name] = a
    elif "experts" in parts:
        layer, e, wk = int(parts[2]), int(parts[5]), parts[6]
        if layer == 1:  # old per-expert tensors, F16
            h = a.astype("<f2")
            gg.append((f"blk.1.{wsub[wk]}.{e}.weight", "f16", a.shape, h.tobytes()))
            deq[name] = h.astype(np.float32)
        elif e == 0:  # merged: stack all experts of this weight, Q8_0
            stack = np.stack([w[f"model.layers.0.block_sparse_moe.experts.{x}.{wk}.weight"] for x in range(E)])
            raw, d = R.quant_q8_0(stack.reshape(E * a.shape[0], a.shape[1]))
            gg.append((f"blk.0.{wsub[wk]}_exps.weight", "q8_0", stack.shape, raw))
            for x in range(E):
                deq[f"model.layers.0.block_sparse_moe.experts.{x}.{wk}.weight"] = d.reshape(stack.shape)[x]
    else:
        stem = ".".join(parts[3:-1])
        b = a
        if stem == "self_attn.q_proj":
            b = tg.llama_permute(a, NH)
        elif stem == "self_attn.k_proj":
            b = tg.llama_permute(a, NKV)
        gg.append((f"blk.{parts[2]}.{sub[stem]}.weight", "f32", a.shape, np.ascontiguousarray(b).tobytes()))
        deq[name] = a
if len(deq) != len(w):
    C.die("fixture: %d of %d weights written" % (len(deq), len(w)))
kvs = [("general.architecture", tg.GSTR, "llama"), ("llama.block_count", tg.GU32, L),
       ("llama.embedding_length", tg.GU32, H), ("llama.feed_forward_length", tg.GU32, I),
       ("llama.attention.head_count", tg.GU32, NH), ("llama.attention.head_count_kv", tg.GU32, NKV),
       ("llama.expert_count", tg.GU32, E), ("llama.expert_used_count", tg.GU32, 2)]
toks = C.tokens_for(128, 9, 7)
with tempfile.TemporaryDirectory() as d:
    cpath = os.path.join(d, "config.json")
    with open(cpath, "w") as f:
        json.dump(cfg, f)
    gpath = os.path.join(d, "mixtral.gguf")
    tg.write_gguf(gpath, kvs, gg)
    spath = os.path.join(d, "mixtral.safetensors")
    R.write_safetensors(spath, {k: ("F32", v) for k, v in deq.items()})
    C.run_engine(cpath, gpath, toks, os.path.join(d, "g.safetensors"))
    C.run_engine(cpath, spath, toks, os.path.join(d, "s.safetensors"))
    eg = R.read_safetensors(os.path.join(d, "g.safetensors"))
    es = R.read_safetensors(os.path.join(d, "s.safetensors"))
if set(eg) != set(es):
    C.die("the GGUF and safetensors runs dumped different modules: %s" % sorted(set(eg) ^ set(es)))
C.compare("mixtral gguf (merged q8_0 experts, per-expert f16) vs the same weights as f32 safetensors", eg, es, rtol=1e-5)
R.load_weights(model, {k: torch.from_numpy(v.copy()) for k, v in deq.items()})
logits, outs = R.dump_modules(model, torch.tensor([toks]))
outs["logits"] = logits
C.compare("mixtral gguf vs PyTorch on the dequantized weights", eg, outs, rtol=1e-4)
print("ok")
