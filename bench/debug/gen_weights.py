#!/usr/bin/python3
"""gen_weights.py: writes a bf16 safetensors file with every tensor a Llama config implies
(upstream state_dict names and shapes, computed from the config's sizes), for the debug
benchmark (bench/debug/run.sh). 1.1 B parameters are 2.2 GB, so the file is streamed tensor
by tensor and the values are slices of one 64 Mi-value pool of N(0, 0.02) numbers (taken at
a different offset per tensor) instead of fresh random numbers for each: the benchmark
measures loading and running, for which the values only need to be finite and of a
realistic scale. Norm weights are ones. Usage: gen_weights.py CONFIG OUT.safetensors
"""
import json
import struct
import sys

import numpy as np

POOL = 1 << 26


def tensors(c):
    """(name, shape) in upstream order; computed from the config (no torch model built)."""
    H, I, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    nh = c["num_attention_heads"]
    kvh = c.get("num_key_value_heads") or nh
    hd = c.get("head_dim") or H // nh
    out = [("model.embed_tokens.weight", (V, H))]
    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % i
        out += [(p + "self_attn.q_proj.weight", (nh * hd, H)),
                (p + "self_attn.k_proj.weight", (kvh * hd, H)),
                (p + "self_attn.v_proj.weight", (kvh * hd, H)),
                (p + "self_attn.o_proj.weight", (H, nh * hd)),
                (p + "mlp.gate_proj.weight", (I, H)),
                (p + "mlp.up_proj.weight", (I, H)),
                (p + "mlp.down_proj.weight", (H, I)),
                (p + "input_layernorm.weight", (H,)),
                (p + "post_attention_layernorm.weight", (H,))]
    out.append(("model.norm.weight", (H,)))
    if not c.get("tie_word_embeddings", False):
        out.append(("lm_head.weight", (V, H)))
    return out


def main():
    cfg_path, dst = sys.argv[1], sys.argv[2]
    with open(cfg_path) as f:
        c = json.load(f)
    ts = tensors(c)
    header, off = {}, 0
    for name, shape in ts:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    hj = json.dumps(header).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    # core/tensor/tfile.c sniffs a first byte of ' ', '\n' or '{' as a JSON index file
    # (see tests/numeric/ref_models.py): keep the header length's low byte off those.
    while (len(hj) & 0xff) in (0x20, 0x0a, 0x7b):
        hj += b" " * 8
    rng = np.random.default_rng(1234)
    pool = (rng.standard_normal(POOL, dtype=np.float32) * np.float32(0.02))
    # bf16 = upper 16 bits of the f32 encoding, rounded to nearest even
    u = pool.view(np.uint32)
    pool16 = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    pool16 = np.concatenate([pool16, pool16])  # so any offset has POOL values after it
    ones = np.full(1, 0x3F80, dtype=np.uint16)  # bf16 1.0
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for k, (name, shape) in enumerate(ts):
            n = int(np.prod(shape))
            if len(shape) == 1:
                f.write(np.repeat(ones, n).tobytes())
                continue
            start = (k * 7919 * 4099) % POOL
            left = n
            while left > 0:
                m = min(left, POOL)
                f.write(pool16[start:start + m].tobytes())
                left -= m
    print("wrote %s: %d tensors, %.2f GB" % (dst, len(ts), (8 + len(hj) + off) / 1e9))


if __name__ == "__main__":
    main()
