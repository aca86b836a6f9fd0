"""ref_parallel.py: PyTorch references of the decoder families whose attention and MLP read
the same residual input (a "parallel" block), written from the upstream Hugging Face
transformers modeling files (transformers is not installed here), one class per upstream
class, with the upstream attribute names so that `named_modules()` gives the checkpoint
names. ref_models.build() dispatches here; LayerNorm is torch's, RoPE pieces are
ref_models.py's.

  gpt_neox -- models/gpt_neox/modeling_gpt_neox.py: GPTNeoXModel (embed_in, layers,
              final_layer_norm), GPTNeoXForCausalLM (gpt_neox, embed_out without bias).
              GPTNeoXAttention: query_key_value's output viewed as [B, S, heads, 3 *
              head_size], so each head's q, k, v are adjacent (q = [..., :head_size], k the
              next head_size, v the last); rotary on the first int(head_size * rotary_pct)
              dims with inv_freq over those dims and rotary_emb_base; scores times
              head_size ** -0.5; dense. GPTNeoXLayer: with use_parallel_residual
              x + attn(input_layernorm(x)) + mlp(post_attention_layernorm(x)), else
              h = x + attn(input_layernorm(x)); h + mlp(post_attention_layernorm(h)).
              GPTNeoXMLP: dense_4h_to_h(act(dense_h_to_4h(x))).
  phi      -- models/phi/modeling_phi.py (the modular version, whose attention views q, k
              as [B, heads, S, head_dim] before q_layernorm; earlier versions applied
              LayerNorm(head_dim) to the flat [B, S, heads * head_dim] projection, which
              runs only with one head): PhiModel (embed_tokens,
              layers, final_layernorm), PhiForCausalLM (lm_head with bias). PhiAttention:
              q_proj / k_proj / v_proj / dense with biases, q and k viewed [B, heads, S,
              head_dim], then with qk_layernorm q_layernorm / k_layernorm (LayerNorm over
              head_dim, so their outputs are [B, heads, S, head_dim]), rotary on the first
              int(head_dim * partial_rotary_factor) dims. PhiDecoderLayer: one
              input_layernorm feeding both: x + attn(ln(x)) + mlp(ln(x)). PhiMLP: fc2(act(fc1(x)))
              with gelu_new."""

import torch
import torch.nn as nn

import ref_models as R

# Upstream config-class defaults (configuration_gpt_neox.py, configuration_phi.py).
DEFAULTS = {
    "gpt_neox": {"hidden_act": "gelu", "rotary_pct": 0.25, "rotary_emb_base": 10000,
                 "layer_norm_eps": 1e-5, "use_parallel_residual": True, "attention_bias": True,
                 "tie_word_embeddings": False, "rope_scaling": None,
                 "max_position_embeddings": 2048},
    "phi": {"hidden_act": "gelu_new", "partial_rotary_factor": 0.5, "rope_theta": 10000.0,
            "layer_norm_eps": 1e-5, "qk_layernorm": False, "tie_word_embeddings": False,
            "num_key_value_heads": None, "rope_scaling": None, "max_position_embeddings": 2048},
}


def _cos_sin(base, rot, S):
    """cos, sin [S, rot] of the default RoPE over rot dims."""
    inv = R.rope_inv_freq({"rope_theta": base}, rot, S)
    ang = torch.arange(S, dtype=torch.float32)[:, None] * inv[None, :]
    emb = torch.cat((ang, ang), dim=-1)
    return emb.cos(), emb.sin()


class GPTNeoXAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.nh = c["num_attention_heads"]
        self.d = H // self.nh
        self.rot = int(self.d * c["rotary_pct"])
        self.base = c["rotary_emb_base"]
        self.query_key_value = nn.Linear(H, 3 * H, bias=c["attention_bias"])
        self.dense = nn.Linear(H, H, bias=c["attention_bias"])

    def forward(self, x):
        B, S, H = x.shape
        qkv = self.query_key_value(x).view(B, S, self.nh, 3 * self.d)
        q = qkv[..., :self.d].permute(0, 2, 1, 3)
        k = qkv[..., self.d:2 * self.d].permute(0, 2, 1, 3)
        v = qkv[..., 2 * self.d:].permute(0, 2, 1, 3)
        cos, sin = _cos_sin(self.base, self.rot, S)
        q, k = R.apply_rope(q, k, cos, sin, self.rot)
        o, self.probs = R.eager_attention(q, k, v, R.causal_mask(S), self.d ** -0.5, 1)
        return self.dense(o.permute(0, 2, 1, 3).reshape(B, S, H))


class GPTNeoXMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.dense_4h_to_h = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.act = R.act_fn(c["hidden_act"])

    def forward(self, x):
        return self.dense_4h_to_h(self.act(self.dense_h_to_4h(x)))


class GPTNeoXLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, eps = c["hidden_size"], c["layer_norm_eps"]
        self.parallel = c["use_parallel_residual"]
        self.input_layernorm = nn.LayerNorm(H, eps=eps)
        self.post_attention_layernorm = nn.LayerNorm(H, eps=eps)
        self.attention = GPTNeoXAttention(c)
        self.mlp = GPTNeoXMLP(c)

    def forward(self, x):
        a = self.attention(self.input_layernorm(x))
        if self.parallel:
            return self.mlp(self.post_attention_layernorm(x)) + a + x
        a = a + x
        return self.mlp(self.post_attention_layernorm(a)) + a


class GPTNeoXModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_in = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([GPTNeoXLayer(c) for _ in range(c["num_hidden_layers"])])
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, ids):
        x = self.embed_in(ids)
        for layer in self.layers:
            x = layer(x)
        return self.final_layer_norm(x)


class GPTNeoXForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gpt_neox = GPTNeoXModel(c)
        self.embed_out = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.tied = {}
        if c["tie_word_embeddings"]:
            self.embed_out.weight = self.gpt_neox.embed_in.weight
            self.tied = {"embed_out.weight": "gpt_neox.embed_in.weight"}

    def forward(self, ids, **kw):
        return self.embed_out(self.gpt_neox(ids))


class PhiAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.nh = c["num_attention_heads"]
        self.nkv = c["num_key_value_heads"] or self.nh
        self.d = H // self.nh
        self.rot = int(self.d * c["partial_rotary_factor"])
        self.base = c["rope_theta"]
        self.q_proj = nn.Linear(H, self.nh * self.d)
        self.k_proj = nn.Linear(H, self.nkv * self.d)
        self.v_proj = nn.Linear(H, self.nkv * self.d)
        self.dense = nn.Linear(self.nh * self.d, H)
        self.qk_layernorm = c["qk_layernorm"]
        if self.qk_layernorm:
            self.q_layernorm = nn.LayerNorm(self.d, eps=c["layer_norm_eps"])
            self.k_layernorm = nn.LayerNorm(self.d, eps=c["layer_norm_eps"])

    def forward(self, x):
        B, S, _ = x.shape
        shp = (B, S, -1, self.d)
        q = self.q_proj(x).view(shp).transpose(1, 2)
        k = self.k_proj(x).view(shp).transpose(1, 2)
        v = self.v_proj(x).view(shp).transpose(1, 2)
        if self.qk_layernorm:
            q = self.q_layernorm(q)
            k = self.k_layernorm(k)
        cos, sin = _cos_sin(self.base, self.rot, S)
        q, k = R.apply_rope(q, k, cos, sin, self.rot)
        o, self.probs = R.eager_attention(q, k, v, R.causal_mask(S), self.d ** -0.5, self.nh // self.nkv)
        return self.dense(o.transpose(1, 2).reshape(B, S, self.nh * self.d))


class PhiMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.fc2 = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.activation_fn = R.act_fn(c["hidden_act"])

    def forward(self, x):
        return self.fc2(self.activation_fn(self.fc1(x)))


class PhiDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = PhiAttention(c)
        self.mlp = PhiMLP(c)
        self.input_layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x):
        h = self.input_layernorm(x)
        return self.self_attn(h) + self.mlp(h) + x


class PhiModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([PhiDecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.final_layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x)
        return self.final_layernorm(x)


class PhiForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = PhiModel(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=True)
        self.tied = {}
        if c["tie_word_embeddings"]:
            self.lm_head.weight = self.model.embed_tokens.weight
            self.tied = {"lm_head.weight": "model.embed_tokens.weight"}

    def forward(self, ids, **kw):
        return self.lm_head(self.model(ids))


def build(cfg):
    """config dict (model_type gpt_neox or phi) -> reference model, not yet in eval mode."""
    mt = cfg["model_type"]
    c = dict(DEFAULTS[mt], **cfg)
    return GPTNeoXForCausalLM(c) if mt == "gpt_neox" else PhiForCausalLM(c)
