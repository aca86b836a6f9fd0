"""ref_cached.py: PyTorch greedy decoding with a KV cache over the reference modules of
ref_models.py (llama-style and GPT-2), written for the tests and benches of the engine's
generation (test_engine_generate.py, bench/engine/bench_decode.py): the cache is a dict
layer -> (keys, values) after RoPE, concatenated each step, as transformers' DynamicCache.
Works in the model's dtype (fp32 for the tests, bf16 for the bench)."""
import torch
import torch.nn.functional as F

import ref_models as R


def attend(q, K, V, pos0, scale):
    """q [1, H, S, D] at positions pos0.., K/V [1, H, T, D] (T = pos0 + S): causal."""
    S, T = q.shape[2], K.shape[2]
    w = torch.matmul(q, K.transpose(2, 3)) * scale
    i = torch.arange(pos0, pos0 + S)[:, None]
    j = torch.arange(T)[None, :]
    w = w.masked_fill(j > i, float("-inf"))
    return torch.matmul(F.softmax(w, dim=-1), V)


def llama_cached(model, cfg, ids, cache, pos0):
    m = model.model
    x = m.embed_tokens(ids)
    S = ids.shape[1]
    for li, layer in enumerate(m.layers):
        a = layer.self_attn
        h = layer.input_layernorm(x)
        q = a.q_proj(h).view(1, S, a.nh, a.d).transpose(1, 2)
        k = a.k_proj(h).view(1, S, a.nkv, a.d).transpose(1, 2)
        v = a.v_proj(h).view(1, S, a.nkv, a.d).transpose(1, 2)
        inv = R.rope_inv_freq(cfg, a.d, pos0 + S)
        ang = torch.arange(pos0, pos0 + S, dtype=torch.float32)[:, None] * inv[None, :]
        emb = torch.cat((ang, ang), dim=-1)
        q, k = R.apply_rope(q, k, emb.cos().to(q.dtype), emb.sin().to(q.dtype), a.d)
        if li in cache:
            k = torch.cat((cache[li][0], k), dim=2)
            v = torch.cat((cache[li][1], v), dim=2)
        cache[li] = (k, v)
        rep = a.nh // a.nkv
        o = attend(q, k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1), pos0, a.scale)
        x = x + a.o_proj(o.transpose(1, 2).reshape(1, S, a.nh * a.d))
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return model.lm_head(m.norm(x))


def gpt2_cached(model, cfg, ids, cache, pos0):
    t = model.transformer
    S = ids.shape[1]
    x = t.wte(ids) + t.wpe(torch.arange(pos0, pos0 + S)[None])
    for li, blk in enumerate(t.h):
        a = blk.attn
        E = x.shape[-1]
        D = E // a.nh
        q, k, v = a.c_attn(blk.ln_1(x)).split(E, dim=2)
        q, k, v = (z.view(1, S, a.nh, D).transpose(1, 2) for z in (q, k, v))
        if li in cache:
            k = torch.cat((cache[li][0], k), dim=2)
            v = torch.cat((cache[li][1], v), dim=2)
        cache[li] = (k, v)
        o = attend(q, k, v, pos0, 1.0 / D ** 0.5)
        x = x + a.c_proj(o.transpose(1, 2).reshape(1, S, E))
        x = x + blk.mlp(blk.ln_2(x))
    return model.lm_head(t.ln_f(x))
