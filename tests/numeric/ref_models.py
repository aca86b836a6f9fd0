"""ref_models.py: independent PyTorch reference implementations of the model families the
layerscope engine runs, written from the upstream Hugging Face transformers modeling code
(transformers itself is not installed). Module attribute names reproduce the upstream
module tree, so `named_modules()` / `state_dict()` give exactly the upstream names
(`transformer.h.0.attn.c_attn`, `model.layers.0.self_attn.q_proj`, ...), and a forward hook
on every module yields the reference for every tensor the engine dumps.

Also here: a safetensors writer/reader (the format written by hand: 8-byte little-endian
header length, JSON header, raw little-endian data), a seeded weight generator that follows
the upstream state_dict names, GGUF Q8_0/Q4_0 quantisers (numpy, from the GGML spec) used to
make "same dequantized weights" references, and `dump_modules`, which runs a model and returns
every module's output.

Semantics notes (all from upstream):
  * GPT-2: Conv1D weights are [in, out]; activation gelu_new (tanh); learned positions;
    lm_head tied to wte.
  * Llama family: RMSNorm in fp32, rotate-half RoPE (rope_scaling linear / dynamic / llama3),
    GQA by repeating kv heads, SwiGLU MLP; qwen2 adds q/k/v biases; mistral a sliding window
    (key j visible from query i iff 0 <= i - j < window).
  * Gemma: embeddings times sqrt(hidden) (rounded to the activation dtype), RMSNorm with
    (1 + w), GeGLU with tanh GELU, head_dim from the config, tied lm_head.
  * Phi-3: fused qkv_proj and gate_up_proj (gate first), otherwise Llama.
  * Mixtral: router softmax in fp32 over all experts, top-k, renormalised over the top-k.
  * BERT / RoBERTa: post-LN encoder, erf GELU, token types, additive padding mask with
    finfo.min; RoBERTa positions start at padding_idx + 1 and skip padding.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- safetensors I/O --------

_ST_DTYPES = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.uint16, 2),
              "I32": (np.int32, 4), "I64": (np.int64, 8), "U8": (np.uint8, 1)}


def to_bf16_bits(t):
    """float tensor -> numpy uint16 array of its bfloat16 encoding (round to nearest even)."""
    return t.detach().to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> (dtype string, numpy array). Data laid out in the given order."""
    header = {}
    off = 0
    blobs = []
    for name, (dt, arr) in tensors.items():
        arr = np.ascontiguousarray(arr)
        b = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    hj = json.dumps(header).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    # core/tensor/tfile.c sniffs a first byte of ' ', '\n' or '{' as a JSON index file; a
    # header length whose low byte is one of those is legal but misread there (reported),
    # so pad such headers by 8 more spaces.
    while (len(hj) & 0xff) in (0x20, 0x0a, 0x7b):
        hj += b" " * 8
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns dict name -> float32 torch tensor (F32, F16, BF16 decoded)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        npdt, _ = _ST_DTYPES[info["dtype"]]
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a:base + b], dtype=npdt).reshape(info["shape"])
        if info["dtype"] == "BF16":
            t = torch.from_numpy(arr.astype(np.int32) << 16).view(torch.float32)
        else:
            t = torch.from_numpy(arr.astype(np.float32) if npdt != np.float32 else arr.copy())
        out[name] = t.clone()
    return out

# ---------------------------------------------------------------- MXFP4 (gpt-oss) --------

# transformers integrations/mxfp4.py FP4_VALUES: e2m1 code -> value
FP4_VALUES = [+0.0, +0.5, +1.0, +1.5, +2.0, +3.0, +4.0, +6.0,
              -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]


def convert_moe_packed_tensors(blocks, scales):
    """transformers integrations/mxfp4.py convert_moe_packed_tensors (in fp32, one chunk):
    blocks u8 [E, out, G, 16], scales u8 [E, out, G] -> [E, in = 32 G, out]: low nibble the
    even element, high nibble the odd one, times 2^(scale - 127), then transpose(1, 2)."""
    scales = scales.to(torch.int32) - 127
    lut = torch.tensor(FP4_VALUES, dtype=torch.float32)
    *prefix, G, B = blocks.shape
    rows = int(np.prod(prefix)) * G
    blk = blocks.reshape(rows, B)
    exp = scales.reshape(rows, 1)
    out = torch.empty(rows, B * 2, dtype=torch.float32)
    out[:, 0::2] = lut[(blk & 0x0F).to(torch.long)]
    out[:, 1::2] = lut[(blk >> 4).to(torch.long)]
    torch.ldexp(out, exp, out=out)
    out = out.reshape(*prefix, G, B * 2).view(*prefix, G * B * 2)
    return out.transpose(1, 2).contiguous()


def quant_mxfp4(w):
    """A stacked expert parameter [E, in, out] (in a multiple of 32) -> (blocks u8 [E, out,
    in / 32, 16], scales u8 [E, out, in / 32]) as gpt-oss checkpoints store it: per 32-value
    block along `in` the exponent s = ceil(log2(amax / 6)) + 127 (so the block fits e2m1's
    +-6), each value the nearest e2m1 code of x / 2^(s - 127)."""
    E, n_in, n_out = w.shape
    t = w.detach().float().transpose(1, 2).reshape(E, n_out, n_in // 32, 32)
    amax = t.abs().amax(dim=-1)
    s = torch.where(amax > 0, torch.ceil(torch.log2(amax / 6.0)), torch.zeros_like(amax))
    s = torch.clamp(s + 127, 0, 254)
    v = t / torch.pow(2.0, s - 127)[..., None]
    lut = torch.tensor(FP4_VALUES)
    code = (v[..., None] - lut).abs().argmin(dim=-1).to(torch.uint8)  # [E, out, G, 32]
    blocks = code[..., 0::2] | (code[..., 1::2] << 4)
    return blocks.to(torch.uint8), s.to(torch.uint8)


# ---------------------------------------------------------------- GGML quantisation ------


def quant_q8_0(w):
    """numpy float32 [rows, cols] -> (bytes of Q8_0 blocks, dequantized float32 copy).
    GGML: d = absmax / 127 (stored f16), q = round(x / d)."""
    w = np.asarray(w, dtype=np.float32)
    r, c = w.shape
    blk = w.reshape(r, c // 32, 32)
    amax = np.abs(blk).max(axis=2, keepdims=True)
    d = (amax / 127.0).astype(np.float16)
    df = d.astype(np.float32)
    inv = np.where(df != 0, 1.0 / np.where(df != 0, df, 1), 0)
    q = np.clip(np.round(blk * inv), -128, 127).astype(np.int8)
    raw = np.concatenate([d.view(np.uint8).reshape(r, c // 32, 2),
                          q.view(np.uint8)], axis=2).reshape(r, -1)
    return raw.tobytes(), (q.astype(np.float32) * df).reshape(r, c)


def quant_q4_0(w):
    """GGML Q4_0: d = max / -8 where max is the signed value of largest magnitude,
    q = clamp(round-down(x / d + 8.5), 0, 15); element j in the low nibble of byte j,
    element j + 16 in the high nibble."""
    w = np.asarray(w, dtype=np.float32)
    r, c = w.shape
    blk = w.reshape(r, c // 32, 32)
    idx = np.abs(blk).argmax(axis=2)[..., None]
    mx = np.take_along_axis(blk, idx, axis=2)
    d = (mx / -8.0).astype(np.float16)
    df = d.astype(np.float32)
    inv = np.where(df != 0, 1.0 / np.where(df != 0, df, 1), 0)
    q = np.clip(np.floor(blk * inv + 8.5), 0, 15).astype(np.uint8)
    packed = (q[..., :16] | (q[..., 16:] << 4)).astype(np.uint8)
    raw = np.concatenate([d.view(np.uint8).reshape(r, c // 32, 2), packed], axis=2).reshape(r, -1)
    deq = ((q.astype(np.float32) - 8.0) * df).reshape(r, c)
    return raw.tobytes(), deq

# ---------------------------------------------------------------- shared pieces ----------


def act_fn(name):
    name = (name or "").lower()
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_tanh"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name in ("gelu", "gelu_python"):
        return lambda x: F.gelu(x)
    if name in ("silu", "swish"):
        return F.silu
    if name == "relu":
        return F.relu
    raise ValueError("unknown activation %r" % name)


class Conv1D(nn.Module):
    """GPT-2's Conv1D: weight [in, out], y = x @ W + b."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(
            *x.shape[:-1], self.weight.shape[1])


class RMSNorm(nn.Module):
    def __init__(self, n, eps, gemma=False):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n) if gemma else torch.ones(n))
        self.eps = eps
        self.gemma = gemma

    def forward(self, x):
        xf = x.float()
        h = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        if self.gemma:
            return (h * (1.0 + self.weight.float())).type_as(x)
        return self.weight * h.to(x.dtype)


def rope_inv_freq(cfg, dim, seq_len):
    """upstream ROPE_INIT_FUNCTIONS: default / linear / dynamic / llama3."""
    base = float(cfg.get("rope_theta", 10000.0))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "dynamic":
        maxp = cfg.get("max_position_embeddings", 2048)
        f = rs["factor"]
        if seq_len > maxp:
            base = base * ((f * seq_len / maxp) - (f - 1)) ** (dim / (dim - 2))
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if kind == "linear":
        inv = inv / rs["factor"]
    elif kind == "llama3":
        f, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        lo_wl, hi_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        inv_l = torch.where(wl > lo_wl, inv / f, inv)
        sm = (old / wl - lo) / (hi - lo)
        smoothed = (1 - sm) * inv_l / f + sm * inv_l
        med = ~(wl < hi_wl) * ~(wl > lo_wl)
        inv = torch.where(med, smoothed, inv_l)
    elif kind not in ("default", "linear", "dynamic"):
        raise ValueError("rope type %r" % kind)
    return inv


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(q, k, cos, sin, rot):
    """q, k [B, H, S, D]; cos/sin [S, rot]; rotates the first rot dims (partial rotary)."""
    qr, qp = q[..., :rot], q[..., rot:]
    kr, kp = k[..., :rot], k[..., rot:]
    qr = qr * cos + rotate_half(qr) * sin
    kr = kr * cos + rotate_half(kr) * sin
    return torch.cat((qr, qp), -1), torch.cat((kr, kp), -1)


def causal_mask(S, window=None, dtype=torch.float32):
    i = torch.arange(S)[:, None]
    j = torch.arange(S)[None, :]
    vis = j <= i
    if window:
        vis = vis & ((i - j) < window)
    m = torch.full((S, S), torch.finfo(dtype).min)
    return torch.where(vis, torch.zeros(()), m).to(dtype)


def causal_pad_mask(S, attention_mask=None, window=None, dtype=torch.float32):
    """causal_mask, and with attention_mask [B, S] (1 = token, 0 = padding) transformers'
    causal + padding mask [B, 1, S, S] (_prepare_4d_causal_attention_mask_with_cache_position):
    finfo.min where the key is in the future (or outside the window) or is padding."""
    m = causal_mask(S, window, dtype)
    if attention_mask is None:
        return m
    m = m[None, None].expand(attention_mask.shape[0], 1, S, S).clone()
    pad = attention_mask[:, None, None, :].to(m.dtype)
    return m.masked_fill((m + pad) == 0, torch.finfo(dtype).min)


def eager_attention(q, k, v, mask, scale, n_rep):
    """q [B, H, S, D], k/v [B, KV, S, D]; upstream eager_attention_forward."""
    if n_rep > 1:
        k = k.repeat_interleave(n_rep, dim=1)
        v = v.repeat_interleave(n_rep, dim=1)
    w = torch.matmul(q, k.transpose(2, 3)) * scale
    if mask is not None:
        w = w + mask
    p = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
    return torch.matmul(p, v), p

# ---------------------------------------------------------------- GPT-2 ------------------


class GPT2Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["n_embd"]
        self.nh = c["n_head"]
        self.c_attn = Conv1D(3 * E, E)
        self.c_proj = Conv1D(E, E)
        self.probs = None
        self.pad = None  # [B, S] attention_mask of the current forward, or None

    def forward(self, x):
        B, S, E = x.shape
        D = E // self.nh
        q, k, v = self.c_attn(x).split(E, dim=2)
        q, k, v = (t.view(B, S, self.nh, D).transpose(1, 2) for t in (q, k, v))
        o, self.probs = eager_attention(q, k, v, causal_pad_mask(S, self.pad, None, q.dtype),
                                        1.0 / math.sqrt(D), 1)
        return self.c_proj(o.transpose(1, 2).reshape(B, S, E))


class GPT2MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["n_embd"]
        inner = c.get("n_inner") or 4 * E
        self.c_fc = Conv1D(inner, E)
        self.c_proj = Conv1D(E, inner)
        self.act = act_fn(c.get("activation_function", "gelu_new"))

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        E, eps = c["n_embd"], c.get("layer_norm_epsilon", 1e-5)
        self.ln_1 = nn.LayerNorm(E, eps=eps)
        self.attn = GPT2Attention(c)
        self.ln_2 = nn.LayerNorm(E, eps=eps)
        self.mlp = GPT2MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["n_embd"]
        self.wte = nn.Embedding(c["vocab_size"], E)
        self.wpe = nn.Embedding(c.get("n_positions", 1024), E)
        self.h = nn.ModuleList([GPT2Block(c) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(E, eps=c.get("layer_norm_epsilon", 1e-5))

    def forward(self, ids, attention_mask=None):
        pos = torch.arange(ids.shape[1])[None]  # upstream's default position_ids, mask or not
        x = self.wte(ids) + self.wpe(pos)
        for blk in self.h:
            blk.attn.pad = attention_mask
            x = blk(x)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    tied = {"lm_head.weight": "transformer.wte.weight"}

    def __init__(self, c):
        super().__init__()
        self.transformer = GPT2Model(c)
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, ids, attention_mask=None, **kw):
        return self.lm_head(self.transformer(ids, attention_mask))

# ---------------------------------------------------------------- Llama family -----------


def _head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


class LlamaAttention(nn.Module):
    def __init__(self, c, qkv_bias=False, fused=False):
        super().__init__()
        H = c["hidden_size"]
        self.nh = c["num_attention_heads"]
        self.nkv = c.get("num_key_value_heads") or self.nh
        self.d = _head_dim(c)
        self.c = c
        self.fused = fused
        ab = bool(c.get("attention_bias", False))
        if fused:  # phi3
            self.qkv_proj = nn.Linear(H, (self.nh + 2 * self.nkv) * self.d, bias=False)
        else:
            self.q_proj = nn.Linear(H, self.nh * self.d, bias=qkv_bias or ab)
            self.k_proj = nn.Linear(H, self.nkv * self.d, bias=qkv_bias or ab)
            self.v_proj = nn.Linear(H, self.nkv * self.d, bias=qkv_bias or ab)
        self.o_proj = nn.Linear(self.nh * self.d, H, bias=ab)
        self.window = None
        self.scale = 1.0 / math.sqrt(self.d)
        self.probs = None
        self.pad = None  # [B, S] attention_mask of the current forward, or None

    def forward(self, x):
        B, S, _ = x.shape
        D = self.d
        if self.fused:
            qkv = self.qkv_proj(x)
            q = qkv[..., :self.nh * D]
            k = qkv[..., self.nh * D:(self.nh + self.nkv) * D]
            v = qkv[..., (self.nh + self.nkv) * D:]
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q = q.view(B, S, self.nh, D).transpose(1, 2)
        k = k.view(B, S, self.nkv, D).transpose(1, 2)
        v = v.view(B, S, self.nkv, D).transpose(1, 2)
        rot = int(D * self.c.get("partial_rotary_factor", 1.0))
        rot -= rot % 2
        inv = rope_inv_freq(self.c, rot, S)
        ang = torch.arange(S, dtype=torch.float32)[:, None] * inv[None, :]
        emb = torch.cat((ang, ang), dim=-1)
        q, k = apply_rope(q, k, emb.cos().to(q.dtype), emb.sin().to(q.dtype), rot)
        o, self.probs = eager_attention(q, k, v, causal_pad_mask(S, self.pad, self.window, q.dtype),
                                        self.scale, self.nh // self.nkv)
        return self.o_proj(o.transpose(1, 2).reshape(B, S, self.nh * D))


class LlamaMLP(nn.Module):
    def __init__(self, c, act=None):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        mb = bool(c.get("mlp_bias", False))
        self.gate_proj = nn.Linear(H, I, bias=mb)
        self.up_proj = nn.Linear(H, I, bias=mb)
        self.down_proj = nn.Linear(I, H, bias=mb)
        self.act = act_fn(act or c.get("hidden_act", "silu"))

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class Phi3MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        self.gate_up_proj = nn.Linear(H, 2 * I, bias=False)
        self.down_proj = nn.Linear(I, H, bias=False)
        self.act = act_fn(c.get("hidden_act", "silu"))

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(up * self.act(gate))


class MixtralExpert(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        self.w1 = nn.Linear(H, I, bias=False)
        self.w2 = nn.Linear(I, H, bias=False)
        self.w3 = nn.Linear(H, I, bias=False)
        self.act = act_fn(c.get("hidden_act", "silu"))

    def forward(self, x):
        return self.w2(self.act(self.w1(x)) * self.w3(x))


class MixtralSparseMoeBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.k = c.get("num_experts_per_tok", 2)
        self.gate = nn.Linear(c["hidden_size"], c.get("num_local_experts", 8), bias=False)
        self.experts = nn.ModuleList([MixtralExpert(c) for _ in range(c.get("num_local_experts", 8))])
        self.router_weights = None

    def forward(self, x):
        B, S, H = x.shape
        h = x.view(-1, H)
        _, w, sel = route_topk(self.gate, h, self.k, True)
        self.router_weights = (w, sel)
        return run_experts(self.experts, h, w, sel).view(B, S, H)


def route_topk(gate, h, k, renorm):
    """The router of the upstream sparse MoE blocks: softmax of gate(h) in fp32 over all
    experts, top-k, renormalised over the top-k when renorm (Mixtral always, Qwen3-MoE with
    norm_topk_prob), cast back to h's dtype. Returns (logits, w [T, k], sel [T, k])."""
    logits = gate(h)
    w = F.softmax(logits, dim=1, dtype=torch.float)
    w, sel = torch.topk(w, k, dim=-1)
    if renorm:
        w = w / w.sum(dim=-1, keepdim=True)
    return logits, w.to(h.dtype), sel


def run_experts(experts, h, w, sel):
    """The expert loop of the upstream sparse MoE blocks (Mixtral, Qwen3-MoE): each expert
    runs on the tokens routed to it (h[rows]), weighted by w [T, k] at its slot in sel [T, k],
    summed into a [T, H] output with index_add_; experts without a token are not called."""
    out = torch.zeros_like(h)
    for e, expert in enumerate(experts):
        rows, which = torch.where(sel == e)
        if rows.numel() == 0:
            continue
        out.index_add_(0, rows, expert(h[rows]) * w[rows, which, None])
    return out


class LlamaDecoderLayer(nn.Module):
    def __init__(self, c, kind, idx=0):
        super().__init__()
        H, eps = c["hidden_size"], c.get("rms_norm_eps", 1e-6)
        gemma = kind == "gemma"
        self.self_attn = LlamaAttention(c, qkv_bias=(kind == "qwen2"), fused=(kind == "phi3"))
        if kind in ("mistral", "mixtral"):
            self.self_attn.window = c.get("sliding_window")
        if kind == "qwen2" and c.get("use_sliding_window") and idx >= c.get("max_window_layers", 28):
            self.self_attn.window = c.get("sliding_window")
        if kind == "phi3":
            self.self_attn.window = c.get("sliding_window")
            self.mlp = Phi3MLP(c)
        elif kind == "mixtral":
            self.block_sparse_moe = MixtralSparseMoeBlock(c)
        elif gemma:
            act = c.get("hidden_activation") or "gelu_pytorch_tanh"
            self.mlp = LlamaMLP(c, act=act)
        else:
            self.mlp = LlamaMLP(c)
        self.input_layernorm = RMSNorm(H, eps, gemma)
        self.post_attention_layernorm = RMSNorm(H, eps, gemma)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        ff = self.block_sparse_moe if hasattr(self, "block_sparse_moe") else self.mlp
        return x + ff(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, c, kind):
        super().__init__()
        H = c["hidden_size"]
        self.kind = kind
        self.embed_tokens = nn.Embedding(c["vocab_size"], H)
        self.layers = nn.ModuleList([LlamaDecoderLayer(c, kind, i) for i in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(H, c.get("rms_norm_eps", 1e-6), kind == "gemma")

    def forward(self, ids, attention_mask=None):
        x = self.embed_tokens(ids)
        if self.kind == "gemma":
            x = x * torch.tensor(x.shape[-1] ** 0.5, dtype=x.dtype)
        for layer in self.layers:
            if hasattr(layer.self_attn, "pad"):
                layer.self_attn.pad = attention_mask
            elif attention_mask is not None:
                raise NotImplementedError("attention_mask for this attention")
            x = layer(x)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    """Also qwen2, mistral, mixtral, gemma and phi3 (kind selects the differences)."""

    def __init__(self, c, kind="llama"):
        super().__init__()
        self.model = LlamaModel(c, kind)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        default_tie = kind == "gemma"
        self.tied = {}
        if c.get("tie_word_embeddings", default_tie):
            self.lm_head.weight = self.model.embed_tokens.weight
            self.tied = {"lm_head.weight": "model.embed_tokens.weight"}

    def forward(self, ids, attention_mask=None, **kw):
        return self.lm_head(self.model(ids, attention_mask))

# ---------------------------------------------------------------- BERT / RoBERTa ---------


class BertEmbeddings(nn.Module):
    def __init__(self, c, roberta):
        super().__init__()
        H = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], H)
        self.position_embeddings = nn.Embedding(c.get("max_position_embeddings", 512), H)
        self.token_type_embeddings = nn.Embedding(c.get("type_vocab_size", 2), H)
        self.LayerNorm = nn.LayerNorm(H, eps=c.get("layer_norm_eps", 1e-12))
        self.roberta = roberta
        self.pad = c.get("pad_token_id", 1 if roberta else 0)

    def forward(self, ids, tt):
        S = ids.shape[1]
        if self.roberta:
            m = (ids != self.pad).int()
            pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + self.pad
        else:
            pos = torch.arange(S)[None]
        x = self.word_embeddings(ids) + self.token_type_embeddings(tt) + self.position_embeddings(pos)
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.nh = c["num_attention_heads"]
        self.query = nn.Linear(H, H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.mask = None
        self.probs = None

    def forward(self, x):
        B, S, H = x.shape
        D = H // self.nh
        q, k, v = (p(x).view(B, S, self.nh, D).transpose(1, 2) for p in (self.query, self.key, self.value))
        o, self.probs = eager_attention(q, k, v, self.mask, 1.0 / math.sqrt(D), 1)
        return o.transpose(1, 2).reshape(B, S, H)


class BertSelfOutput(nn.Module):
    def __init__(self, c, inner=None):
        super().__init__()
        H = c["hidden_size"]
        self.dense = nn.Linear(inner or H, H)
        self.LayerNorm = nn.LayerNorm(H, eps=c.get("layer_norm_eps", 1e-12))

    def forward(self, h, resid):
        return self.LayerNorm(self.dense(h) + resid)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x):
        return self.output(self.self(x), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.act = act_fn(c.get("hidden_act", "gelu"))

    def forward(self, x):
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertSelfOutput(c, c["intermediate_size"])

    def forward(self, x):
        a = self.attention(x)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, mask):
        for lyr in self.layer:
            lyr.attention.self.mask = mask
            x = lyr(x)
        return x


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c, roberta=False, pooler=True):
        super().__init__()
        self.embeddings = BertEmbeddings(c, roberta)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c) if pooler else None

    def forward(self, ids, token_type_ids=None, attention_mask=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(ids)
        if attention_mask is None:
            attention_mask = torch.ones_like(ids)
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = self.encoder(self.embeddings(ids, token_type_ids), mask)
        if self.pooler is not None:
            self.pooled = self.pooler(x)
        return x


class BertLMHead(nn.Module):
    """BertForMaskedLM's cls.predictions (roberta: lm_head): dense, gelu, LayerNorm, decoder."""

    def __init__(self, c, roberta):
        super().__init__()
        H = c["hidden_size"]
        eps = c.get("layer_norm_eps", 1e-12)
        if roberta:
            self.dense = nn.Linear(H, H)
            self.layer_norm = nn.LayerNorm(H, eps=eps)
        else:
            self.transform = nn.Module()
            self.transform.dense = nn.Linear(H, H)
            self.transform.LayerNorm = nn.LayerNorm(H, eps=eps)
        self.decoder = nn.Linear(H, c["vocab_size"])
        self.bias = self.decoder.bias  # upstream ties decoder.bias to <head>.bias
        self.roberta = roberta
        self.act = act_fn(c.get("hidden_act", "gelu"))

    def forward(self, x):
        if self.roberta:
            x = self.layer_norm(F.gelu(self.dense(x)))
        else:
            x = self.transform.LayerNorm(self.act(self.transform.dense(x)))
        return self.decoder(x)


class BertForMaskedLM(nn.Module):
    def __init__(self, c, roberta=False):
        super().__init__()
        pre = "roberta" if roberta else "bert"
        setattr(self, pre, BertModel(c, roberta, pooler=False))
        self.pre = pre
        head = BertLMHead(c, roberta)
        if roberta:
            self.lm_head = head
            head.decoder.weight = self.roberta.embeddings.word_embeddings.weight
            self.tied = {"lm_head.decoder.weight": "roberta.embeddings.word_embeddings.weight",
                         "lm_head.decoder.bias": "lm_head.bias"}
        else:
            self.cls = nn.Module()
            self.cls.predictions = head
            head.decoder.weight = self.bert.embeddings.word_embeddings.weight
            self.tied = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
                         "cls.predictions.decoder.bias": "cls.predictions.bias"}

    def forward(self, ids, token_type_ids=None, attention_mask=None):
        x = getattr(self, self.pre)(ids, token_type_ids, attention_mask)
        head = self.lm_head if self.pre == "roberta" else self.cls.predictions
        return head(x)

# ---------------------------------------------------------------- building, weights ------


# Upstream config-class defaults for the keys the references read with .get() (the
# engine gets its defaults from core/model; these are written from the transformers
# configuration_<family>.py files, independently).
DEFAULTS = {
    "gpt2": {"n_positions": 1024, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"},
    "llama": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
              "max_position_embeddings": 2048},
    "mistral": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
                "sliding_window": 4096, "max_position_embeddings": 4096 * 32},
    "qwen2": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
              "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28,
              "max_position_embeddings": 32768},
    "mixtral": {"rope_theta": 1e6, "rms_norm_eps": 1e-5, "hidden_act": "silu",
                "sliding_window": None, "num_local_experts": 8, "num_experts_per_tok": 2,
                "max_position_embeddings": 4096 * 32},
    "gemma": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "head_dim": 256,
              "max_position_embeddings": 8192},
    "phi3": {"rope_theta": 10000.0, "rms_norm_eps": 1e-5, "hidden_act": "silu",
             "max_position_embeddings": 4096},
    "bert": {"layer_norm_eps": 1e-12, "hidden_act": "gelu", "type_vocab_size": 2,
             "pad_token_id": 0, "max_position_embeddings": 512},
    "roberta": {"layer_norm_eps": 1e-12, "hidden_act": "gelu", "type_vocab_size": 2,
                "pad_token_id": 1, "max_position_embeddings": 512},
}


def build(cfg):
    """config dict -> reference nn.Module in eval mode (upstream head chosen from
    architectures[0] where it matters)."""
    cfg = dict(DEFAULTS.get(cfg.get("model_type"), {}), **cfg)
    mt = cfg.get("model_type")
    arch = (cfg.get("architectures") or [""])[0]
    if mt == "gpt2":
        m = GPT2LMHeadModel(cfg)
    elif mt in ("llama", "mistral", "qwen2", "gemma", "phi3", "mixtral"):
        m = LlamaForCausalLM(cfg, mt)
    elif mt in ("bert", "roberta"):
        if arch.endswith("ForMaskedLM"):
            m = BertForMaskedLM(cfg, roberta=(mt == "roberta"))
        else:
            m = BertModel(cfg, roberta=(mt == "roberta"))
            m.tied = {}
    elif mt in ("deepseek_v2", "deepseek_v3"):
        import ref_deepseek  # MLA and the dense layers (imports this module)
        m = ref_deepseek.build(cfg)
    elif mt in ("gpt_neox", "phi"):
        import ref_parallel  # the parallel-block families (imports this module)
        m = ref_parallel.build(cfg)
    else:
        import ref_decoders  # the newer llama-style families (imports this module)
        if mt not in ref_decoders.DEFAULTS and mt != "gemma3":
            raise ValueError("no reference for model_type %r" % mt)
        m = ref_decoders.build(cfg)
    return m.eval()


def random_weights(model, seed, std=0.02, perturb=0.1):
    """Seeded weights for every state_dict entry (tied ones once). Norm weights are
    perturbed around their upstream init and biases are non-zero, so a test notices when an
    engine skips them. Returns dict name -> float32 tensor."""
    g = torch.Generator().manual_seed(seed)
    tied = getattr(model, "tied", {})
    out = {}
    for name, p in model.state_dict().items():
        if name in tied:
            continue
        leaf = name.rsplit(".", 1)[-1]
        mod = name.rsplit(".", 1)[0]
        is_norm = p.dim() == 1 and ("norm" in mod.lower() or "ln_" in mod)
        if is_norm and leaf == "weight":
            init = torch.zeros_like(p) if isinstance(model.get_submodule(mod), RMSNorm) and \
                model.get_submodule(mod).gemma else torch.ones_like(p)
            t = init + perturb * torch.randn(p.shape, generator=g)
        elif leaf == "bias":
            t = perturb * torch.randn(p.shape, generator=g)
        else:
            t = std * torch.randn(p.shape, generator=g)
        out[name] = t.float()
    return out


def load_weights(model, weights):
    """weights: dict name -> float tensor; tied parameters follow their source."""
    sd = model.state_dict()
    missing = [n for n in sd if n not in weights and n not in getattr(model, "tied", {})]
    if missing:
        raise KeyError("weights missing: %s" % missing[:5])
    with torch.no_grad():
        for n, t in weights.items():
            sd[n].copy_(t.reshape(sd[n].shape))
    return model


def dump_modules(model, ids, **kw):
    """Runs the model once and returns (output, dict module name -> first tensor output),
    names from named_modules() (upstream names; the root module is skipped)."""
    outs = {}
    hooks = []
    for name, mod in model.named_modules():
        if not name:
            continue

        def hook(m, i, o, name=name):
            t = o[0] if isinstance(o, (tuple, list)) else o
            if torch.is_tensor(t):
                outs[name] = t.detach().clone()
        hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        y = model(ids, **kw)
    for h in hooks:
        h.remove()
    return y, outs
