"""ref_decoders.py: PyTorch references of the newer llama-style decoder families the engine
runs, written from the upstream Hugging Face transformers modeling files (transformers is not
installed here), one class per upstream class, with the upstream attribute names so that
`named_modules()` gives the checkpoint names. ref_models.build() dispatches here; the shared
pieces (RMSNorm, RoPE frequencies, rotate-half, the eager attention, masks) are
ref_models.py's.

  qwen3       -- models/qwen3/modeling_qwen3.py: Qwen3Attention applies q_norm / k_norm
                 (RMSNorm over head_dim) to q_proj(x).view(B, S, heads, head_dim) before
                 RoPE; sliding window on the layers >= max_window_layers when
                 use_sliding_window (Qwen3Config.layer_types).
  qwen2_moe   -- models/qwen2_moe/modeling_qwen2_moe.py: qwen2's attention (q/k/v biases),
                 Qwen2MoeSparseMoeBlock: qwen3_moe's routing plus a shared expert on every
                 token weighted by sigmoid(shared_expert_gate(x)).
  qwen3_moe   -- models/qwen3_moe/modeling_qwen3_moe.py: qwen3's attention; on the sparse
                 layers (decoder_sparse_step, mlp_only_layers) Qwen3MoeSparseMoeBlock:
                 router softmax in fp32, top-k, renormalised only with norm_topk_prob,
                 experts of moe_intermediate_size run on the tokens routed to them.
  gpt_oss     -- models/gpt_oss/modeling_gpt_oss.py (transformers 4.55): biases on q/k/v/o,
                 a learned sink logit per head (one more softmax column, then dropped),
                 sliding window on even layers, YaRN RoPE (modeling_rope_utils.py
                 _compute_yarn_parameters), GptOssTopKRouter (top-k of the logits, softmax
                 over those k), GptOssExperts with stacked, interleaved gate/up parameters,
                 clamped inputs (limit 7.0) and (up + 1) * gate * sigmoid(1.702 gate).
  olmo2       -- models/olmo2/modeling_olmo2.py: q_norm / k_norm over the whole projection
                 (heads * head_dim); Olmo2DecoderLayer has no pre-norms: x + norm(attn(x)),
                 then h + norm(mlp(h)).
  granite     -- models/granite/modeling_granite.py: embeddings * embedding_multiplier,
                 scores * attention_multiplier, residual + out * residual_multiplier,
                 logits / logits_scaling.
  gemma2      -- models/gemma2/modeling_gemma2.py: (1 + w) RMSNorms before and after both
                 sublayers, embeddings * sqrt(hidden) in the model's forward,
                 query_pre_attn_scalar ** -0.5, attention scores soft-capped before the mask,
                 sliding window on even layers, final_logit_softcapping.
  gemma3_text -- models/gemma3/modeling_gemma3.py: Gemma 2's layer with q_norm / k_norm
                 ((1 + w), over head_dim, applied after transpose(1, 2), so their outputs are
                 [B, heads, S, head_dim]), the sqrt(hidden) scale inside embed_tokens
                 (Gemma3TextScaledWordEmbedding), sliding layers by layer_types or
                 sliding_window_pattern, those layers rotated with rope_local_base_freq and
                 default RoPE, the others with rope_theta and rope_scaling.
  gemma3      -- Gemma3ForConditionalGeneration (transformers 4.50 module names) on text
                 tokens only: its language_model (the gemma3_text model above, configured
                 by text_config); the vision tower and projector are not called without
                 pixel_values, so they are parameter holders here, for the weight file."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import ref_models as R

# Upstream config-class defaults for the keys read with .get() (configuration_<family>.py).
DEFAULTS = {
    "qwen3": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu", "head_dim": 128,
              "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28,
              "attention_bias": False, "tie_word_embeddings": False,
              "max_position_embeddings": 32768},
    "qwen2_moe": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
                  "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28,
                  "tie_word_embeddings": False, "decoder_sparse_step": 1,
                  "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
                  "num_experts_per_tok": 4, "num_experts": 60, "norm_topk_prob": False,
                  "mlp_only_layers": [], "qkv_bias": True, "max_position_embeddings": 32768},
    "qwen3_moe": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
                  "head_dim": 128, "use_sliding_window": False, "sliding_window": 4096,
                  "max_window_layers": 28, "attention_bias": False, "tie_word_embeddings": False,
                  "decoder_sparse_step": 1, "moe_intermediate_size": 768,
                  "num_experts_per_tok": 8, "num_experts": 128, "norm_topk_prob": False,
                  "mlp_only_layers": [], "max_position_embeddings": 32768},
    "gpt_oss": {"rope_theta": 150000.0, "rms_norm_eps": 1e-5, "head_dim": 64, "hidden_act": "silu",
                "sliding_window": 128, "attention_bias": True, "tie_word_embeddings": False,
                "num_local_experts": 128, "num_experts_per_tok": 4, "layer_types": None,
                "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0,
                                 "beta_slow": 1.0, "truncate": False,
                                 "original_max_position_embeddings": 4096},
                "max_position_embeddings": 131072},
    "olmo2": {"rope_theta": 10000.0, "rms_norm_eps": 1e-5, "hidden_act": "silu",
              "attention_bias": False, "tie_word_embeddings": False,
              "max_position_embeddings": 2048},
    "granite": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
                "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": False,
                "embedding_multiplier": 1.0, "attention_multiplier": 1.0,
                "residual_multiplier": 1.0, "logits_scaling": 1.0,
                "max_position_embeddings": 2048},
    "gemma2": {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "head_dim": 256,
               "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 256,
               "sliding_window": 4096, "final_logit_softcapping": 30.0,
               "attn_logit_softcapping": 50.0, "attention_bias": False,
               "tie_word_embeddings": True, "max_position_embeddings": 8192},
    "gemma3_text": {"rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0,
                    "rms_norm_eps": 1e-6, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
                    "query_pre_attn_scalar": 256, "sliding_window": 4096,
                    "sliding_window_pattern": 6, "final_logit_softcapping": None,
                    "attn_logit_softcapping": None, "attention_bias": False,
                    "tie_word_embeddings": True, "max_position_embeddings": 131072},
}


def _rope(c, D, S, theta=None, default=False):
    """cos, sin [S, D] as the upstream RotaryEmbedding computes them (fp32)."""
    cc = dict(c)
    if theta is not None:
        cc["rope_theta"] = theta
    if default:
        cc["rope_scaling"] = None
    inv = R.rope_inv_freq(cc, D, S)
    ang = torch.arange(S, dtype=torch.float32)[:, None] * inv[None, :]
    emb = torch.cat((ang, ang), dim=-1)
    return emb.cos(), emb.sin()


def _yarn(c, dim):
    """_compute_yarn_parameters: (inv_freq [dim / 2], attention_factor)."""
    rs = c["rope_scaling"]
    base, factor = c["rope_theta"], rs["factor"]
    attention_factor, mscale, mscale_all_dim = rs.get("attention_factor"), rs.get("mscale"), rs.get("mscale_all_dim")
    original = rs.get("original_max_position_embeddings") or c["max_position_embeddings"]

    def get_mscale(scale, mscale=1):
        return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0

    if attention_factor is None:
        if mscale and mscale_all_dim:
            attention_factor = float(get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim))
        else:
            attention_factor = get_mscale(factor)
    beta_fast = rs.get("beta_fast") or 32
    beta_slow = rs.get("beta_slow") or 1

    def find_correction_dim(num_rotations):
        return (dim * math.log(original / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

    def find_correction_range(low_rot, high_rot, truncate):
        low, high = find_correction_dim(low_rot), find_correction_dim(high_rot)
        if truncate:
            low, high = math.floor(low), math.ceil(high)
        return max(low, 0), min(high, dim - 1)

    def linear_ramp_factor(lo, hi, n):
        if lo == hi:
            hi += 0.001
        return torch.clamp((torch.arange(n, dtype=torch.float32) - lo) / (hi - lo), 0, 1)

    pos_freqs = base ** (torch.arange(0, dim, 2).to(dtype=torch.float) / dim)
    inv_extra, inv_inter = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
    lo, hi = find_correction_range(beta_fast, beta_slow, rs.get("truncate", True))
    extra_factor = 1 - linear_ramp_factor(lo, hi, dim // 2)
    return inv_inter * (1 - extra_factor) + inv_extra * extra_factor, attention_factor


def _rotate(q, k, cs):
    cos, sin = cs
    return q * cos + R.rotate_half(q) * sin, k * cos + R.rotate_half(k) * sin


def _attend(q, k, v, mask, scaling, softcap, n_rep):
    """eager_attention_forward of gemma2/3 (softcap before the mask); q [B, H, S, D]."""
    if n_rep > 1:
        k = k.repeat_interleave(n_rep, dim=1)
        v = v.repeat_interleave(n_rep, dim=1)
    w = torch.matmul(q, k.transpose(2, 3)) * scaling
    if softcap is not None:
        w = torch.tanh(w / softcap) * softcap
    w = w + mask
    p = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
    return torch.matmul(p, v), p


def _attend_sinks(q, k, v, mask, scaling, sinks, n_rep):
    """gpt_oss's eager_attention_forward: the sink logit as one more column, max
    subtracted, softmax, the sink column dropped."""
    if n_rep > 1:
        k = k.repeat_interleave(n_rep, dim=1)
        v = v.repeat_interleave(n_rep, dim=1)
    w = torch.matmul(q, k.transpose(2, 3)) * scaling + mask
    s = sinks.reshape(1, -1, 1, 1).expand(q.shape[0], -1, q.shape[-2], -1)
    comb = torch.cat([w, s], dim=-1)
    comb = comb - comb.max(dim=-1, keepdim=True).values
    p = F.softmax(comb, dim=-1, dtype=comb.dtype)[..., :-1]
    return torch.matmul(p, v), p


class GptOssTopKRouter(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.top_k = c["num_experts_per_tok"]
        self.weight = nn.Parameter(torch.zeros(c["num_local_experts"], c["hidden_size"]))
        self.bias = nn.Parameter(torch.zeros(c["num_local_experts"]))

    def forward(self, x):
        x = x.reshape(-1, self.weight.shape[1])
        logits = F.linear(x, self.weight, self.bias)
        top, idx = torch.topk(logits, self.top_k, dim=-1)
        top = F.softmax(top, dim=1, dtype=top.dtype)
        return torch.zeros_like(logits).scatter_(1, idx, top), idx


class GptOssExperts(nn.Module):
    """The inference branch of GptOssExperts.forward: every expert on every token, weighted
    by the (mostly zero) router scores and summed."""

    def __init__(self, c):
        super().__init__()
        E, H, I = c["num_local_experts"], c["hidden_size"], c["intermediate_size"]
        self.H = H
        self.gate_up_proj = nn.Parameter(torch.zeros(E, H, 2 * I))
        self.gate_up_proj_bias = nn.Parameter(torch.zeros(E, 2 * I))
        self.down_proj = nn.Parameter(torch.zeros(E, I, H))
        self.down_proj_bias = nn.Parameter(torch.zeros(E, H))
        self.alpha, self.limit = 1.702, 7.0

    def forward(self, x, router_indices=None, routing_weights=None):
        B = x.shape[0]
        h = x.reshape(-1, self.H)
        E = routing_weights.shape[1]
        h = h.repeat(E, 1).view(E, -1, self.H)
        gate_up = torch.bmm(h, self.gate_up_proj) + self.gate_up_proj_bias[..., None, :]
        gate, up = gate_up[..., ::2], gate_up[..., 1::2]
        gate = gate.clamp(min=None, max=self.limit)
        up = up.clamp(min=-self.limit, max=self.limit)
        glu = gate * torch.sigmoid(gate * self.alpha)
        out = torch.bmm((up + 1) * glu, self.down_proj) + self.down_proj_bias[..., None, :]
        out = out.view(E, B, -1, self.H) * routing_weights.transpose(0, 1).view(E, B, -1)[..., None]
        return out.sum(dim=0)


class GptOssMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.router = GptOssTopKRouter(c)
        self.experts = GptOssExperts(c)

    def forward(self, x):
        scores, idx = self.router(x)
        return self.experts(x, router_indices=idx, routing_weights=scores), scores


class GatedMLP(nn.Module):
    """Qwen3MLP / Olmo2MLP / GraniteMLP / Gemma2MLP / Gemma3MLP: down(act(gate(x)) * up(x))."""

    def __init__(self, c, act, bias=False):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(H, I, bias=bias)
        self.up_proj = nn.Linear(H, I, bias=bias)
        self.down_proj = nn.Linear(I, H, bias=bias)
        self.act = R.act_fn(act)

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class Qwen3MoeSparseMoeBlock(nn.Module):
    """Also Qwen2MoeSparseMoeBlock (shared=True): + sigmoid(shared_expert_gate(x)) *
    shared_expert(x)."""

    def __init__(self, c, shared=False):
        super().__init__()
        self.k = c["num_experts_per_tok"]
        self.norm_topk_prob = c["norm_topk_prob"]
        self.gate = nn.Linear(c["hidden_size"], c["num_experts"], bias=False)
        ec = dict(c, intermediate_size=c["moe_intermediate_size"])
        self.experts = nn.ModuleList([GatedMLP(ec, c["hidden_act"]) for _ in range(c["num_experts"])])
        if shared:
            sc = dict(c, intermediate_size=c["shared_expert_intermediate_size"])
            self.shared_expert = GatedMLP(sc, c["hidden_act"])
            self.shared_expert_gate = nn.Linear(c["hidden_size"], 1, bias=False)

    def forward(self, x):
        B, S, H = x.shape
        h = x.view(-1, H)
        logits, w, sel = R.route_topk(self.gate, h, self.k, self.norm_topk_prob)
        out = R.run_experts(self.experts, h, w, sel)
        if hasattr(self, "shared_expert"):
            out = out + torch.sigmoid(self.shared_expert_gate(h)) * self.shared_expert(h)
        return out.view(B, S, H), logits


class Attention(nn.Module):
    """The attention of the five families; `kind` selects the upstream differences."""

    def __init__(self, c, kind, idx):
        super().__init__()
        H = c["hidden_size"]
        self.kind, self.c = kind, c
        self.nh = c["num_attention_heads"]
        self.nkv = c.get("num_key_value_heads") or self.nh
        if kind in ("olmo2", "granite"):
            self.d = H // self.nh
        else:
            self.d = c.get("head_dim") or H // self.nh
        b = bool(c.get("attention_bias"))
        qb = bool(c["qkv_bias"]) if kind == "qwen2_moe" else b  # Qwen2MoeAttention: o_proj without
        self.q_proj = nn.Linear(H, self.nh * self.d, bias=qb)
        self.k_proj = nn.Linear(H, self.nkv * self.d, bias=qb)
        self.v_proj = nn.Linear(H, self.nkv * self.d, bias=qb)
        self.o_proj = nn.Linear(self.nh * self.d, H, bias=b)
        eps = c["rms_norm_eps"]
        if kind in ("qwen3", "qwen3_moe"):
            self.q_norm = R.RMSNorm(self.d, eps)
            self.k_norm = R.RMSNorm(self.d, eps)
        elif kind == "olmo2":
            self.q_norm = R.RMSNorm(self.nh * self.d, eps)
            self.k_norm = R.RMSNorm(self.nkv * self.d, eps)
        elif kind == "gemma3_text":
            self.q_norm = R.RMSNorm(self.d, eps, gemma=True)
            self.k_norm = R.RMSNorm(self.d, eps, gemma=True)
        self.scaling = self.d ** -0.5
        if kind in ("gemma2", "gemma3_text"):
            self.scaling = c["query_pre_attn_scalar"] ** -0.5
        elif kind == "granite":
            self.scaling = c["attention_multiplier"]
        self.softcap = c.get("attn_logit_softcapping") if kind in ("gemma2", "gemma3_text") else None
        if kind == "gpt_oss":
            self.sinks = nn.Parameter(torch.zeros(self.nh))
        self.window = None
        self.local = False
        if kind in ("qwen3", "qwen3_moe", "qwen2_moe") and c["use_sliding_window"] and \
                idx >= c["max_window_layers"]:
            self.window = c["sliding_window"]
        elif kind in ("gemma2", "gpt_oss") and idx % 2 == 0:
            self.window = c["sliding_window"]
        elif kind == "gemma3_text":
            lt = c.get("layer_types")
            self.local = lt[idx] == "sliding_attention" if lt else bool((idx + 1) % c["sliding_window_pattern"])
            self.window = c["sliding_window"] if self.local else None
        self.probs = None

    def forward(self, x):
        B, S, _ = x.shape
        D = self.d
        shp = (B, S, -1, D)
        if self.kind in ("qwen3", "qwen3_moe"):
            q = self.q_norm(self.q_proj(x).view(shp)).transpose(1, 2)
            k = self.k_norm(self.k_proj(x).view(shp)).transpose(1, 2)
            v = self.v_proj(x).view(shp).transpose(1, 2)
        elif self.kind == "olmo2":
            q = self.q_norm(self.q_proj(x)).view(shp).transpose(1, 2)
            k = self.k_norm(self.k_proj(x)).view(shp).transpose(1, 2)
            v = self.v_proj(x).view(shp).transpose(1, 2)
        else:
            q = self.q_proj(x).view(shp).transpose(1, 2)
            k = self.k_proj(x).view(shp).transpose(1, 2)
            v = self.v_proj(x).view(shp).transpose(1, 2)
            if self.kind == "gemma3_text":
                q = self.q_norm(q)
                k = self.k_norm(k)
        if self.kind == "gemma3_text" and self.local:
            cs = _rope(self.c, D, S, theta=self.c["rope_local_base_freq"], default=True)
        elif self.kind == "gpt_oss":  # GptOssRotaryEmbedding: cos, sin times attention_scaling
            inv, att = _yarn(self.c, D)
            ang = torch.arange(S, dtype=torch.float32)[:, None] * inv[None, :]
            emb = torch.cat((ang, ang), dim=-1)
            cs = emb.cos() * att, emb.sin() * att
        else:
            cs = _rope(self.c, D, S)
        q, k = _rotate(q, k, cs)
        mask = R.causal_mask(S, self.window, q.dtype)
        if self.kind == "gpt_oss":
            o, self.probs = _attend_sinks(q, k, v, mask, self.scaling, self.sinks, self.nh // self.nkv)
        else:
            o, self.probs = _attend(q, k, v, mask, self.scaling, self.softcap, self.nh // self.nkv)
        return self.o_proj(o.transpose(1, 2).reshape(B, S, self.nh * D))


class DecoderLayer(nn.Module):
    def __init__(self, c, kind, idx):
        super().__init__()
        H, eps = c["hidden_size"], c["rms_norm_eps"]
        self.kind, self.c = kind, c
        gemma = kind in ("gemma2", "gemma3_text")
        self.self_attn = Attention(c, kind, idx)
        act = (c.get("hidden_activation") or "gelu_pytorch_tanh") if gemma else c["hidden_act"]
        sparse = kind in ("qwen3_moe", "qwen2_moe") and idx not in (c["mlp_only_layers"] or []) and \
            c["num_experts"] > 0 and (idx + 1) % c["decoder_sparse_step"] == 0
        if sparse:
            self.mlp = Qwen3MoeSparseMoeBlock(c, shared=kind == "qwen2_moe")
        elif kind == "gpt_oss":
            self.mlp = GptOssMLP(c)
        else:
            self.mlp = GatedMLP(c, act, bias=bool(c.get("mlp_bias")) if kind == "granite" else False)
        if kind != "olmo2":
            self.input_layernorm = R.RMSNorm(H, eps, gemma)
        self.post_attention_layernorm = R.RMSNorm(H, eps, gemma)
        if gemma:
            self.pre_feedforward_layernorm = R.RMSNorm(H, eps, gemma)
        if gemma or kind == "olmo2":
            self.post_feedforward_layernorm = R.RMSNorm(H, eps, gemma)

    def forward(self, x):
        if self.kind in ("qwen3", "qwen3_moe", "qwen2_moe", "gpt_oss"):
            h = x + self.self_attn(self.input_layernorm(x))
            f = self.mlp(self.post_attention_layernorm(h))
            return h + (f[0] if isinstance(f, tuple) else f)
        if self.kind == "granite":  # GraniteDecoderLayer
            m = self.c["residual_multiplier"]
            h = x + self.self_attn(self.input_layernorm(x)) * m
            return h + self.mlp(self.post_attention_layernorm(h)) * m
        if self.kind == "olmo2":
            h = x + self.post_attention_layernorm(self.self_attn(x))
            return h + self.post_feedforward_layernorm(self.mlp(h))
        h = x + self.post_attention_layernorm(self.self_attn(self.input_layernorm(x)))
        return h + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(h)))


class ScaledWordEmbedding(nn.Embedding):
    """Gemma3TextScaledWordEmbedding: the lookup times embed_scale (in the weight's dtype)."""

    def __init__(self, n, dim, scale):
        super().__init__(n, dim)
        self.scale = scale

    def forward(self, ids):
        return super().forward(ids) * torch.tensor(self.scale, dtype=self.weight.dtype)


class DecoderModel(nn.Module):
    def __init__(self, c, kind):
        super().__init__()
        H = c["hidden_size"]
        self.kind, self.c = kind, c
        if kind == "gemma3_text":
            self.embed_tokens = ScaledWordEmbedding(c["vocab_size"], H, H ** 0.5)
        else:
            self.embed_tokens = nn.Embedding(c["vocab_size"], H)
        self.layers = nn.ModuleList([DecoderLayer(c, kind, i) for i in range(c["num_hidden_layers"])])
        self.norm = R.RMSNorm(H, c["rms_norm_eps"], kind in ("gemma2", "gemma3_text"))

    def forward(self, ids):
        x = self.embed_tokens(ids)
        if self.kind == "gemma2":  # Gemma2Model.forward: normalizer in the activations' dtype
            x = x * torch.tensor(self.c["hidden_size"] ** 0.5, dtype=x.dtype)
        elif self.kind == "granite":  # GraniteModel.forward
            x = x * self.c["embedding_multiplier"]
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class DecoderForCausalLM(nn.Module):
    def __init__(self, c, kind):
        super().__init__()
        self.kind, self.c = kind, c
        self.model = DecoderModel(c, kind)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.tied = {}
        if c["tie_word_embeddings"]:
            self.lm_head.weight = self.model.embed_tokens.weight
            self.tied = {"lm_head.weight": "model.embed_tokens.weight"}

    def forward(self, ids, **kw):
        logits = self.lm_head(self.model(ids))
        if self.kind == "granite":
            logits = logits / self.c["logits_scaling"]
        cap = self.c.get("final_logit_softcapping") if self.kind in ("gemma2", "gemma3_text") else None
        if cap is not None:
            logits = torch.tanh(logits / cap) * cap
        return logits


SIGLIP_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                   "num_attention_heads": 12, "num_channels": 3, "image_size": 224,
                   "patch_size": 16, "layer_norm_eps": 1e-6, "vision_use_head": True}


def _siglip_shell(v):
    """SiglipVisionModel's parameters under their upstream names (modeling_siglip.py)."""
    h, f, n = v["hidden_size"], v["intermediate_size"], (v["image_size"] // v["patch_size"]) ** 2
    vm = nn.Module()
    vm.embeddings = nn.Module()
    vm.embeddings.patch_embedding = nn.Conv2d(v["num_channels"], h, v["patch_size"], v["patch_size"])
    vm.embeddings.position_embedding = nn.Embedding(n, h)
    vm.encoder = nn.Module()
    vm.encoder.layers = nn.ModuleList()
    for _ in range(v["num_hidden_layers"]):
        layer = nn.Module()
        layer.self_attn = nn.Module()
        for p in ("k_proj", "v_proj", "q_proj", "out_proj"):
            setattr(layer.self_attn, p, nn.Linear(h, h))
        layer.layer_norm1 = nn.LayerNorm(h)
        layer.mlp = nn.Module()
        layer.mlp.fc1, layer.mlp.fc2 = nn.Linear(h, f), nn.Linear(f, h)
        layer.layer_norm2 = nn.LayerNorm(h)
        vm.encoder.layers.append(layer)
    vm.post_layernorm = nn.LayerNorm(h)
    if v["vision_use_head"]:
        raise ValueError("the reference has no SigLIP pooling head (Gemma 3 turns it off)")
    tower = nn.Module()
    tower.vision_model = vm
    return tower


class Gemma3ForConditionalGeneration(nn.Module):
    def __init__(self, c):
        super().__init__()
        tc = dict(DEFAULTS["gemma3_text"], **c.get("text_config", {}))
        v = dict(SIGLIP_DEFAULTS, **c.get("vision_config", {}))
        self.vision_tower = _siglip_shell(v)
        self.multi_modal_projector = nn.Module()
        self.multi_modal_projector.mm_input_projection_weight = nn.Parameter(
            torch.zeros(v["hidden_size"], tc["hidden_size"]))
        self.multi_modal_projector.mm_soft_emb_norm = R.RMSNorm(v["hidden_size"], v["layer_norm_eps"], gemma=True)
        self.language_model = DecoderForCausalLM(tc, "gemma3_text")
        self.tied = {"language_model." + k: "language_model." + t for k, t in self.language_model.tied.items()}

    def forward(self, ids, **kw):
        return self.language_model(ids)


def gpt_oss_test_weights(w, seed):
    """Edits random gpt_oss weights w so that a test sees what matters: sinks drawn N(0, 1)
    (a visible share of each softmax) and gate_up_proj scaled up so that the SwiGLU clamp
    at 7 bites."""
    g = torch.Generator().manual_seed(seed)
    for k in list(w):
        if k.endswith(".sinks"):
            w[k] = torch.randn(w[k].shape, generator=g)
        elif k.endswith("experts.gate_up_proj"):
            w[k] = w[k] * 30.0


def build(cfg):
    """config dict (model_type one of DEFAULTS, or gemma3) -> reference model, not yet in
    eval mode."""
    mt = cfg["model_type"]
    if mt == "gemma3":
        return Gemma3ForConditionalGeneration(cfg)
    return DecoderForCausalLM(dict(DEFAULTS[mt], **cfg), mt)
