"""test_summary_torch_families.py: the families of issue 17 checked against PyTorch, as
test_summary_torch.py does for the older ones (same driver: `compare`).

For each fixture in tests/fixtures/configs/families/ a PyTorch model is built here on the
`meta` device from the structure of the upstream transformers modeling code (module
attributes, registration order, parameter shapes, persistent buffers, tied weights); its
state_dict() names and shapes, in order, must equal the `tensors` of
`layerscope summary --format json`, and sum(p.numel() for p in model.parameters()) must equal
`params`. transformers is not installed: each class below names the upstream file it follows.
Tensor names are those of the published checkpoints, which is what the 4.x modeling code
registers (per-expert ModuleLists; gpt-oss's stacked expert parameters).
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_summary_torch as T  # noqa: E402  (the driver and the shared building blocks)

lin, emb, META = T.lin, T.emb, T.META


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d, **META))


def cfg(name):
    return json.load(open(os.path.join(T.CFG, "families", name + ".config.json")))


def mlp(h, i, bias=False):
    """LlamaMLP / Qwen3MLP / GemmaMLP: gate_proj, up_proj, down_proj."""
    m = nn.Module()
    m.gate_proj = lin(h, i, bias)
    m.up_proj = lin(h, i, bias)
    m.down_proj = lin(i, h, bias)
    return m


# ---------------------------------------------------------------- Qwen3, Qwen3-MoE
# (models/qwen3/modular_qwen3.py, models/qwen3_moe/modeling_qwen3_moe.py, transformers 4.51)

class Qwen3Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, nh, kv, hd = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        b = c.get("attention_bias", False)
        self.q_proj = lin(h, nh * hd, b)
        self.k_proj = lin(h, kv * hd, b)
        self.v_proj = lin(h, kv * hd, b)
        self.o_proj = lin(nh * hd, h, b)
        self.q_norm = RMSNorm(hd)  # "unlike olmo, only on the head dim"
        self.k_norm = RMSNorm(hd)


class Qwen3MoeSparseMoeBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate = lin(c["hidden_size"], c["num_experts"], False)
        self.experts = nn.ModuleList([mlp(c["hidden_size"], c["moe_intermediate_size"]) for _ in range(c["num_experts"])])


class Qwen3DecoderLayer(nn.Module):
    def __init__(self, c, i, moe):
        super().__init__()
        h = c["hidden_size"]
        self.self_attn = Qwen3Attention(c)
        sparse = moe and i not in (c.get("mlp_only_layers") or []) and c["num_experts"] > 0 and \
            (i + 1) % c.get("decoder_sparse_step", 1) == 0
        self.mlp = Qwen3MoeSparseMoeBlock(c) if sparse else mlp(h, c["intermediate_size"])
        self.input_layernorm = RMSNorm(h)
        self.post_attention_layernorm = RMSNorm(h)


class Qwen3ForCausalLM(nn.Module):
    def __init__(self, c, moe=False):
        super().__init__()
        h = c["hidden_size"]
        self.model = nn.Module()
        self.model.embed_tokens = emb(c["vocab_size"], h)
        self.model.layers = nn.ModuleList([Qwen3DecoderLayer(c, i, moe) for i in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(h)
        self.lm_head = lin(h, c["vocab_size"], False)
        if c.get("tie_word_embeddings", False):
            self.lm_head.weight = self.model.embed_tokens.weight


# ---------------------------------------------------------------- driver

def main():
    torch.set_grad_enabled(False)
    f = lambda n: "families/" + n + ".config.json"  # noqa: E731
    T.compare(f("qwen3-8b"), Qwen3ForCausalLM(cfg("qwen3-8b")))
    T.compare(f("qwen3-0.6b"), Qwen3ForCausalLM(cfg("qwen3-0.6b")))
    T.compare(f("qwen3-30b-a3b"), Qwen3ForCausalLM(cfg("qwen3-30b-a3b"), moe=True))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-golden":
        T.GOLDEN = sys.argv[2]
        os.makedirs(T.GOLDEN, exist_ok=True)
    sys.exit(main())
