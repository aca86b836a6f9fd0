"""ref_deepseek.py: PyTorch references of DeepSeek-V3 and DeepSeek-V2, written from upstream
transformers models/deepseek_v3/modular_deepseek_v3.py and
models/deepseek_v2/modular_deepseek_v2.py (transformers 4.5x, per-expert ModuleLists;
transformers is not installed here), with the upstream attribute names so that
`named_modules()` gives the checkpoint names. ref_models.build() dispatches here.

  DeepseekV3Attention -- multi-head latent attention: q = q_proj(x) (q_lora_rank null) or
      q_b_proj(q_a_layernorm(q_a_proj(x))), viewed [B, heads, S, nope + rope] and split
      [q_pass | q_rot]; kv_a_proj_with_mqa(x) split [latent kv_lora_rank | k_rot rope];
      kv_b_proj(kv_a_layernorm(latent)) viewed [B, heads, S, nope + v] and split [k_pass |
      value]; k_rot one head, expanded to all after RoPE; RoPE over qk_rope_head_dim
      (apply_rotary_pos_emb_interleave when rope_interleave: each head's rotary dims viewed
      [d / 2, 2], transposed, then rotate-half); query = [q_pass | q_rot], key = [k_pass |
      k_rot]; eager attention with scaling = (nope + rope) ** -0.5, times
      yarn_get_mscale(factor, mscale_all_dim) ** 2 when rope scaling is set with
      mscale_all_dim; o_proj. q_a_layernorm and kv_a_layernorm are DeepseekV3RMSNorm with
      its default eps 1e-6.
  DeepseekV3DecoderLayer -- LlamaDecoderLayer: pre-norm residuals; DeepseekV3MLP (gated,
      SiLU) on the layers below first_k_dense_replace, DeepseekV3MoE from there.
  DeepseekV3MoE -- as transformers 4.5x registers it (experts as a ModuleList of
      DeepseekV3MLP of moe_intermediate_size, the checkpoints' names): gate =
      DeepseekV3TopkRouter (weight, buffer e_score_correction_bias; sigmoid of the fp32
      logits, group-limited top-k on scores + bias with the other groups' scores
      masked_fill'ed to 0.0, weights the sigmoid scores of the chosen, / (sum + 1e-20) with
      norm_topk_prob, times routed_scaling_factor; its forward returns (topk_indices,
      topk_weights)), each expert on its routed tokens weighted and index_add'ed, then +
      shared_experts(x) (a DeepseekV3MLP of moe_intermediate_size * n_shared_experts).
  DeepSeek-V2 -- DeepseekV2Attention: the same MLA, rotary as complex pairs (apply_rotary_emb:
      view_as_complex of [..., d / 2, 2] times freqs_cis = polar(1, freqs) *
      attention_scaling), scaling (nope + rope) ** -0.5 without mscale; DeepseekV2MoEGate:
      softmax of the fp32 logits, top-k (greedy) or top-k among the topk_group groups with
      the best maximum (group_limited_greedy, the others masked_fill'ed to 0.0), weights
      times routed_scaling_factor (never renormalised); DeepseekV2MoE combines the experts'
      outputs weighted by slot, then + shared_experts(x).
  DeepseekV3RotaryEmbedding -- LlamaRotaryEmbedding over config.head_dim =
      qk_rope_head_dim: default, or YaRN (cos / sin times attention_factor)."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import ref_decoders as D
import ref_models as R

# DeepseekV3Config defaults for the keys read here (configuration_deepseek_v3.py)
DEFAULTS = {"rope_theta": 10000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
            "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_rope_head_dim": 64,
            "qk_nope_head_dim": 128, "v_head_dim": 128, "rope_interleave": True,
            "first_k_dense_replace": 3, "attention_bias": False, "tie_word_embeddings": False,
            "n_routed_experts": 256, "num_experts_per_tok": 8, "n_group": 8, "topk_group": 4,
            "n_shared_experts": 1, "moe_intermediate_size": 2048, "routed_scaling_factor": 2.5,
            "norm_topk_prob": True, "topk_method": "noaux_tc",
            "rope_scaling": None, "max_position_embeddings": 4096}


# DeepseekV2Config's differences (configuration_deepseek_v2.py)
V2_DEFAULTS = dict(DEFAULTS, rope_interleave=True, first_k_dense_replace=0, n_routed_experts=64,
                   n_shared_experts=2, topk_method="greedy", n_group=None, topk_group=None,
                   routed_scaling_factor=1.0, norm_topk_prob=False, moe_intermediate_size=1407,
                   max_position_embeddings=2048)


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = freqs_cis.unsqueeze(1)
    return (torch.view_as_real(xq_ * freqs_cis).flatten(3).type_as(xq),
            torch.view_as_real(xk_ * freqs_cis).flatten(3).type_as(xk))


def yarn_get_mscale(scale=1, mscale=1):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def apply_rotary_pos_emb_interleave(q, k, cos, sin):
    b, h, s, d = q.shape
    q = q.view(b, h, s, d // 2, 2).transpose(4, 3).reshape(b, h, s, d)
    b, h, s, d = k.shape
    k = k.view(b, h, s, d // 2, 2).transpose(4, 3).reshape(b, h, s, d)
    return q * cos + R.rotate_half(q) * sin, k * cos + R.rotate_half(k) * sin


class DeepseekV3Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.c = c
        self.nh = c["num_attention_heads"]
        self.q_lora_rank, self.kv_lora_rank = c["q_lora_rank"], c["kv_lora_rank"]
        self.nope, self.rope, self.v = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        self.qk = self.nope + self.rope
        b = c["attention_bias"]
        if self.q_lora_rank is None:
            self.q_proj = nn.Linear(H, self.nh * self.qk, bias=False)
        else:
            self.q_a_proj = nn.Linear(H, self.q_lora_rank, bias=b)
            self.q_a_layernorm = R.RMSNorm(self.q_lora_rank, 1e-6)
            self.q_b_proj = nn.Linear(self.q_lora_rank, self.nh * self.qk, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(H, self.kv_lora_rank + self.rope, bias=b)
        self.kv_a_layernorm = R.RMSNorm(self.kv_lora_rank, 1e-6)
        self.kv_b_proj = nn.Linear(self.kv_lora_rank, self.nh * (self.nope + self.v), bias=False)
        self.o_proj = nn.Linear(self.nh * self.v, H, bias=b)
        self.scaling = self.qk ** -0.5
        rs = c["rope_scaling"]
        if rs is not None and c["model_type"] == "deepseek_v3":
            msa = rs.get("mscale_all_dim", 0)
            if msa:
                m = yarn_get_mscale(rs["factor"], msa)
                self.scaling = self.scaling * m * m

    def _cos_sin(self, S):
        c = self.c
        if c["rope_scaling"] is not None:  # yarn
            inv, att = D._yarn(c, self.rope)
        else:
            inv, att = R.rope_inv_freq(c, self.rope, S), 1.0
        ang = torch.arange(S, dtype=torch.float32)[:, None] * inv[None, :]
        emb = torch.cat((ang, ang), dim=-1)
        return emb.cos() * att, emb.sin() * att

    def forward(self, x):
        B, S, _ = x.shape
        if self.q_lora_rank is None:
            q = self.q_proj(x)
        else:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(B, S, -1, self.qk).transpose(1, 2)
        q_pass, q_rot = torch.split(q, [self.nope, self.rope], dim=-1)
        ckv = self.kv_a_proj_with_mqa(x)
        k_pass, k_rot = torch.split(ckv, [self.kv_lora_rank, self.rope], dim=-1)
        k_pass = self.kv_b_proj(self.kv_a_layernorm(k_pass)).view(B, S, -1, self.nope + self.v).transpose(1, 2)
        k_pass, value = torch.split(k_pass, [self.nope, self.v], dim=-1)
        k_rot = k_rot.view(B, 1, S, self.rope)
        cos, sin = self._cos_sin(S)
        if self.c["model_type"] == "deepseek_v2":  # freqs_cis = cos + i sin of the first half
            h = self.rope // 2
            q_rot, k_rot = apply_rotary_emb(q_rot, k_rot, torch.complex(cos[None, :, :h], sin[None, :, :h]))
        elif self.c["rope_interleave"]:
            q_rot, k_rot = apply_rotary_pos_emb_interleave(q_rot, k_rot, cos, sin)
        else:
            q_rot, k_rot = q_rot * cos + R.rotate_half(q_rot) * sin, k_rot * cos + R.rotate_half(k_rot) * sin
        k_rot = k_rot.expand(*k_pass.shape[:-1], -1)
        query = torch.cat((q_pass, q_rot), dim=-1)
        key = torch.cat((k_pass, k_rot), dim=-1)
        o, self.probs = R.eager_attention(query, key, value, R.causal_mask(S), self.scaling, 1)
        return self.o_proj(o.transpose(1, 2).reshape(B, S, -1))


class DeepseekV3TopkRouter(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.E, self.k = c["n_routed_experts"], c["num_experts_per_tok"]
        self.n_group, self.topk_group = c["n_group"], c["topk_group"]
        self.weight = nn.Parameter(torch.empty((self.E, c["hidden_size"])))
        self.register_buffer("e_score_correction_bias", torch.zeros(self.E))

    @torch.no_grad()
    def get_topk_indices(self, scores):
        choice = scores.view(-1, self.E) + self.e_score_correction_bias.unsqueeze(0)
        group_scores = choice.view(-1, self.n_group, self.E // self.n_group).topk(2, dim=-1)[0].sum(dim=-1)
        group_idx = torch.topk(group_scores, k=self.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros_like(group_scores)
        group_mask.scatter_(1, group_idx, 1)
        score_mask = group_mask.unsqueeze(-1).expand(-1, self.n_group, self.E // self.n_group).reshape(-1, self.E)
        choice = choice.masked_fill(~score_mask.bool(), 0.0)
        return torch.topk(choice, k=self.k, dim=-1, sorted=False)[1]

    def forward(self, x):
        x = x.view(-1, self.c["hidden_size"])
        logits = F.linear(x.type(torch.float32), self.weight.type(torch.float32))
        scores = logits.sigmoid()
        idx = self.get_topk_indices(scores)
        w = scores.gather(1, idx)
        if self.c["norm_topk_prob"]:
            w = w / (w.sum(dim=-1, keepdim=True) + 1e-20)
        return idx, w * self.c["routed_scaling_factor"]


class DeepseekV3MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        ec = dict(c, intermediate_size=c["moe_intermediate_size"])
        self.experts = nn.ModuleList([D.GatedMLP(ec, c["hidden_act"]) for _ in range(c["n_routed_experts"])])
        self.gate = DeepseekV3TopkRouter(c) if c["model_type"] == "deepseek_v3" else DeepseekV2MoEGate(c)
        sc = dict(c, intermediate_size=c["moe_intermediate_size"] * c["n_shared_experts"])
        self.shared_experts = D.GatedMLP(sc, c["hidden_act"])

    def forward(self, x):
        shape = x.shape
        idx, w = self.gate(x)
        h = x.view(-1, shape[-1])
        out = torch.zeros_like(h, dtype=w.dtype)
        mask = F.one_hot(idx, num_classes=len(self.experts)).permute(2, 0, 1)
        for e, expert in enumerate(self.experts):
            tok, slot = torch.where(mask[e])
            if tok.numel() > 0:
                out.index_add_(0, tok, expert(h[tok]) * w[tok, slot].unsqueeze(-1))
        return out.type(x.dtype).view(*shape) + self.shared_experts(x)


class DeepseekV2MoEGate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.weight = nn.Parameter(torch.empty((c["n_routed_experts"], c["hidden_size"])))

    def forward(self, x):
        c = self.c
        B, S, H = x.shape
        logits = F.linear(x.view(-1, H).type(torch.float32), self.weight.type(torch.float32), None)
        scores = logits.softmax(dim=-1, dtype=torch.float32)
        if c["topk_method"] == "greedy":
            w, idx = torch.topk(scores, k=c["num_experts_per_tok"], dim=-1, sorted=False)
        else:  # group_limited_greedy
            E, G = c["n_routed_experts"], c["n_group"]
            group_scores = scores.view(B * S, G, -1).max(dim=-1).values
            group_idx = torch.topk(group_scores, k=c["topk_group"], dim=-1, sorted=False)[1]
            group_mask = torch.zeros_like(group_scores)
            group_mask.scatter_(1, group_idx, 1)
            score_mask = group_mask.unsqueeze(-1).expand(B * S, G, E // G).reshape(B * S, -1)
            tmp = scores.masked_fill(~score_mask.bool(), 0.0)
            w, idx = torch.topk(tmp, k=c["num_experts_per_tok"], dim=-1, sorted=False)
        return idx, w * c["routed_scaling_factor"]


class DeepseekV3DecoderLayer(nn.Module):
    def __init__(self, c, idx):
        super().__init__()
        H, eps = c["hidden_size"], c["rms_norm_eps"]
        self.self_attn = DeepseekV3Attention(c)
        if idx >= c["first_k_dense_replace"]:
            self.mlp = DeepseekV3MoE(c)
        else:
            self.mlp = D.GatedMLP(c, c["hidden_act"])
        self.input_layernorm = R.RMSNorm(H, eps)
        self.post_attention_layernorm = R.RMSNorm(H, eps)

    def forward(self, x):
        h = x + self.self_attn(self.input_layernorm(x))
        return h + self.mlp(self.post_attention_layernorm(h))


class DeepseekV3Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([DeepseekV3DecoderLayer(c, i) for i in range(c["num_hidden_layers"])])
        self.norm = R.RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class DeepseekV3ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = DeepseekV3Model(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.tied = {}

    def forward(self, ids, **kw):
        return self.lm_head(self.model(ids))


def build(cfg):
    """deepseek_v3 or deepseek_v2 (the same classes; the V2 differences are keyed on
    model_type, as upstream's V2 classes differ from V3's only there)."""
    return DeepseekV3ForCausalLM(dict(V2_DEFAULTS if cfg["model_type"] == "deepseek_v2" else DEFAULTS, **cfg))
