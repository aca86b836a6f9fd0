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


# ---------------------------------------------------------------- Gemma 3
# (models/gemma3/modeling_gemma3.py and models/siglip/modeling_siglip.py, transformers 4.50,
# whose module layout is the published checkpoints')

class Gemma3Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, nh, kv, hd = c["hidden_size"], c.get("num_attention_heads", 8), c.get("num_key_value_heads", 4), c.get("head_dim", 256)
        b = c.get("attention_bias", False)
        self.q_proj = lin(h, nh * hd, b)
        self.k_proj = lin(h, kv * hd, b)
        self.v_proj = lin(h, kv * hd, b)
        self.o_proj = lin(nh * hd, h, b)
        self.q_norm = RMSNorm(hd)
        self.k_norm = RMSNorm(hd)


class Gemma3DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.self_attn = Gemma3Attention(c)
        self.mlp = mlp(h, c["intermediate_size"])
        self.input_layernorm = RMSNorm(h)
        self.post_attention_layernorm = RMSNorm(h)
        self.pre_feedforward_layernorm = RMSNorm(h)
        self.post_feedforward_layernorm = RMSNorm(h)


class Gemma3ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, v = c["hidden_size"], c.get("vocab_size", 262208)
        self.model = nn.Module()
        self.model.embed_tokens = emb(v, h)  # Gemma3TextScaledWordEmbedding; embed_scale is not persistent
        self.model.layers = nn.ModuleList([Gemma3DecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(h)
        self.lm_head = lin(h, v, False)
        if c.get("tie_word_embeddings", True):
            self.lm_head.weight = self.model.embed_tokens.weight


class SiglipEncoderLayer(nn.Module):
    def __init__(self, h, f):
        super().__init__()
        self.self_attn = nn.Module()
        for n in ("k_proj", "v_proj", "q_proj", "out_proj"):
            setattr(self.self_attn, n, lin(h, h))
        self.layer_norm1 = T.ln(h)
        self.mlp = nn.Module()
        self.mlp.fc1 = lin(h, f)
        self.mlp.fc2 = lin(f, h)
        self.layer_norm2 = T.ln(h)


class SiglipVisionModel(nn.Module):
    def __init__(self, v):
        super().__init__()
        h, f, p, img = v.get("hidden_size", 768), v.get("intermediate_size", 3072), v.get("patch_size", 16), v.get("image_size", 224)
        t = self.vision_model = nn.Module()
        t.embeddings = nn.Module()
        t.embeddings.patch_embedding = nn.Conv2d(v.get("num_channels", 3), h, kernel_size=p, stride=p, **META)
        t.embeddings.position_embedding = emb((img // p) ** 2, h)  # position_ids: not persistent
        t.encoder = nn.Module()
        t.encoder.layers = nn.ModuleList([SiglipEncoderLayer(h, f) for _ in range(v.get("num_hidden_layers", 12))])
        t.post_layernorm = T.ln(h)
        if v.get("vision_use_head", True):
            hd = t.head = nn.Module()
            hd.probe = nn.Parameter(torch.empty(1, 1, h, **META))
            hd.attention = nn.MultiheadAttention(h, v.get("num_attention_heads", 12), batch_first=True, **META)
            hd.layernorm = T.ln(h)
            hd.mlp = nn.Module()
            hd.mlp.fc1 = lin(h, f)
            hd.mlp.fc2 = lin(f, h)


class Gemma3MultiModalProjector(nn.Module):
    def __init__(self, c):
        super().__init__()
        vh, th = c["vision_config"].get("hidden_size", 768), c["text_config"]["hidden_size"]
        self.mm_input_projection_weight = nn.Parameter(torch.empty(vh, th, **META))
        self.mm_soft_emb_norm = RMSNorm(vh)


class Gemma3ForConditionalGeneration(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vision_tower = SiglipVisionModel(c["vision_config"])
        self.multi_modal_projector = Gemma3MultiModalProjector(c)
        self.language_model = Gemma3ForCausalLM(c["text_config"])


# ---------------------------------------------------------------- DeepSeek-V2, DeepSeek-V3
# (models/deepseek_v2/modeling_deepseek_v2.py, models/deepseek_v3/modeling_deepseek_v3.py,
# transformers 4.5x; the MTP layer as vLLM's DeepSeekMultiTokenPredictorLayer and
# README_WEIGHTS.md of deepseek-ai/DeepSeek-V3 describe the checkpoint's layer 61)

class DeepseekAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, nh, b = c["hidden_size"], c["num_attention_heads"], c.get("attention_bias", False)
        nope, rope, v, kvr, qr = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], c["kv_lora_rank"], c.get("q_lora_rank")
        if qr is None:
            self.q_proj = lin(h, nh * (nope + rope), False)
        else:
            self.q_a_proj = lin(h, qr, b)
            self.q_a_layernorm = RMSNorm(qr)
            self.q_b_proj = lin(qr, nh * (nope + rope), False)
        self.kv_a_proj_with_mqa = lin(h, kvr + rope, b)
        self.kv_a_layernorm = RMSNorm(kvr)
        self.kv_b_proj = lin(kvr, nh * (nope + v), False)
        self.o_proj = lin(nh * v, h, b)


class DeepseekV3TopkRouter(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c["n_routed_experts"], c["hidden_size"], **META))
        self.register_buffer("e_score_correction_bias", torch.zeros(c["n_routed_experts"], **META))


class DeepseekMoE(nn.Module):
    def __init__(self, c, v3):
        super().__init__()
        h, mi = c["hidden_size"], c["moe_intermediate_size"]
        self.experts = nn.ModuleList([mlp(h, mi) for _ in range(c["n_routed_experts"])])
        self.gate = DeepseekV3TopkRouter(c) if v3 else lin(h, c["n_routed_experts"], False)
        if c.get("n_shared_experts"):
            self.shared_experts = mlp(h, mi * c["n_shared_experts"])


class DeepseekDecoderLayer(nn.Module):
    def __init__(self, c, i, v3):
        super().__init__()
        h = c["hidden_size"]
        self.self_attn = DeepseekAttention(c)
        self.mlp = DeepseekMoE(c, v3) if i >= c["first_k_dense_replace"] else mlp(h, c["intermediate_size"])
        self.input_layernorm = RMSNorm(h)
        self.post_attention_layernorm = RMSNorm(h)


class DeepseekForCausalLM(nn.Module):
    def __init__(self, c, v3):
        super().__init__()
        h = c["hidden_size"]
        self.model = nn.Module()
        self.model.embed_tokens = emb(c["vocab_size"], h)
        self.model.layers = nn.ModuleList([DeepseekDecoderLayer(c, i, v3) for i in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(h)
        self.lm_head = lin(h, c["vocab_size"], False)


class DeepSeekMTPLayer(nn.Module):
    """The checkpoint's model.layers.<n>: embed_tokens and shared_head.head share the main
    model's embedding and head; enorm, hnorm, eh_proj, shared_head.norm, then a MoE decoder
    layer's self_attn, mlp and norms."""

    def __init__(self, c, main):
        super().__init__()
        h = c["hidden_size"]
        self.embed_tokens = main.model.embed_tokens
        self.enorm = RMSNorm(h)
        self.hnorm = RMSNorm(h)
        self.eh_proj = lin(2 * h, h, False)
        self.shared_head = nn.Module()
        self.shared_head.norm = RMSNorm(h)
        self.shared_head.head = main.lm_head
        layer = DeepseekDecoderLayer(c, c["num_hidden_layers"], True)
        for n, mod in layer.named_children():
            setattr(self, n, mod)


def compare_deepseek(name, c, v3):
    """The transformers model against the tensors layerscope marks as the model's; the MTP
    layers (v3) against the checkpoint's layout, apart."""
    model = DeepseekForCausalLM(c, v3)
    got = T.summary(os.path.join(T.CFG, name), "--format", "json")
    main = [(t["name"], t["shape"]) for t in got["tensors"] if not t.get("mtp")]
    want = [(k, list(v.shape)) for k, v in model.state_dict(keep_vars=True).items()]
    assert main == want, f"{name}: tensors differ at {next((i for i, (a, b) in enumerate(zip(main, want)) if a != b), min(len(main), len(want)))}"
    unique = sum(p.numel() for p in model.parameters())
    assert got["params"] == unique, f"{name}: params {got['params']} != PyTorch {unique}"
    n_mtp = c.get("num_nextn_predict_layers", 0) if v3 else 0
    mtp = [(t["name"], t["shape"]) for t in got["tensors"] if t.get("mtp")]
    want_mtp, mtp_unique = [], 0
    for k in range(n_mtp):
        layer = DeepSeekMTPLayer(c, model)
        pre = f"model.layers.{c['num_hidden_layers'] + k}."
        want_mtp += [(pre + n, list(v.shape)) for n, v in layer.state_dict(keep_vars=True).items()]
        shared = {id(model.model.embed_tokens.weight), id(model.lm_head.weight)}
        mtp_unique += sum(p.numel() for p in layer.parameters() if id(p) not in shared)
    assert mtp == want_mtp, f"{name}: MTP tensors differ"
    assert got.get("params_mtp", 0) == mtp_unique, f"{name}: params_mtp {got.get('params_mtp')} != {mtp_unique}"
    print(f"ok {name}: {len(main)} tensors, {unique:,} params; MTP {len(mtp)} tensors, {mtp_unique:,} params")


# ---------------------------------------------------------------- gpt-oss
# (models/gpt_oss/modeling_gpt_oss.py, transformers 4.55)

class GptOssAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, nh, kv, hd, b = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c.get("attention_bias", True)
        self.q_proj = lin(h, nh * hd, b)
        self.k_proj = lin(h, kv * hd, b)
        self.v_proj = lin(h, kv * hd, b)
        self.o_proj = lin(nh * hd, h, b)
        self.sinks = nn.Parameter(torch.empty(nh, **META))


class GptOssExperts(nn.Module):
    def __init__(self, c):
        super().__init__()
        e, h, i = c["num_local_experts"], c["hidden_size"], c["intermediate_size"]
        self.gate_up_proj = nn.Parameter(torch.empty(e, h, 2 * i, **META))
        self.gate_up_proj_bias = nn.Parameter(torch.empty(e, 2 * i, **META))
        self.down_proj = nn.Parameter(torch.empty(e, i, h, **META))
        self.down_proj_bias = nn.Parameter(torch.empty(e, h, **META))


class GptOssTopKRouter(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c["num_local_experts"], c["hidden_size"], **META))
        self.bias = nn.Parameter(torch.empty(c["num_local_experts"], **META))


class GptOssDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.self_attn = GptOssAttention(c)
        self.mlp = nn.Module()
        self.mlp.router = GptOssTopKRouter(c)
        self.mlp.experts = GptOssExperts(c)
        self.input_layernorm = RMSNorm(h)
        self.post_attention_layernorm = RMSNorm(h)


class GptOssForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.model = nn.Module()
        self.model.embed_tokens = emb(c["vocab_size"], h)
        self.model.layers = nn.ModuleList([GptOssDecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(h)
        self.lm_head = lin(h, c["vocab_size"], False)


# ---------------------------------------------------------------- OLMo 2 (models/olmo2/modeling_olmo2.py, 4.47)

class Olmo2DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, nh = c["hidden_size"], c["num_attention_heads"]
        kv, hd, b = c.get("num_key_value_heads") or nh, h // nh, c.get("attention_bias", False)
        a = self.self_attn = nn.Module()
        a.q_proj = lin(h, nh * hd, b)
        a.k_proj = lin(h, kv * hd, b)
        a.v_proj = lin(h, kv * hd, b)
        a.o_proj = lin(nh * hd, h, b)
        a.q_norm = RMSNorm(nh * hd)  # over the whole projection
        a.k_norm = RMSNorm(kv * hd)
        self.mlp = mlp(h, c["intermediate_size"])
        self.post_attention_layernorm = RMSNorm(h)
        self.post_feedforward_layernorm = RMSNorm(h)


class LlamaDecoderLayer(nn.Module):
    """LlamaDecoderLayer (Granite's is the same tree, modeling_granite.py 4.45; so is SmolLM3's,
    modeling_smollm3.py 4.53, whose NoPE layers only skip the rotation and whose head_dim is
    getattr(config, "head_dim", hidden_size // num_attention_heads))."""

    def __init__(self, c):
        super().__init__()
        h, nh = c["hidden_size"], c["num_attention_heads"]
        kv, hd, b = c.get("num_key_value_heads") or nh, c.get("head_dim") or h // nh, c.get("attention_bias", False)
        a = self.self_attn = nn.Module()
        a.q_proj = lin(h, nh * hd, b)
        a.k_proj = lin(h, kv * hd, b)
        a.v_proj = lin(h, kv * hd, b)
        a.o_proj = lin(nh * hd, h, b)
        self.mlp = mlp(h, c["intermediate_size"], c.get("mlp_bias", False))
        self.input_layernorm = RMSNorm(h)
        self.post_attention_layernorm = RMSNorm(h)


def llama_like(c, layer):
    """XForCausalLM: model.embed_tokens, model.layers, model.norm, lm_head (tied on request)."""
    m = nn.Module()
    h = c["hidden_size"]
    m.model = nn.Module()
    m.model.embed_tokens = emb(c["vocab_size"], h)
    m.model.layers = nn.ModuleList([layer(c) for _ in range(c["num_hidden_layers"])])
    m.model.norm = RMSNorm(h)
    m.lm_head = lin(h, c["vocab_size"], False)
    if c.get("tie_word_embeddings", False):
        m.lm_head.weight = m.model.embed_tokens.weight
    return m


# ---------------------------------------------------------------- Mamba-2, FalconMamba
# (models/mamba2/modeling_mamba2.py 4.44, models/falcon_mamba/modeling_falcon_mamba.py 4.45)

class Mamba2Mixer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, nh, st, k, g = c["hidden_size"], c["num_heads"], c["state_size"], c["conv_kernel"], c["n_groups"]
        inner = int(c.get("expand", 2) * h)
        conv = inner + 2 * g * st
        self.conv1d = nn.Conv1d(conv, conv, kernel_size=k, groups=conv, padding=k - 1, bias=c.get("use_conv_bias", True), **META)
        self.in_proj = lin(h, inner + conv + nh, c.get("use_bias", False))
        self.dt_bias = nn.Parameter(torch.empty(nh, **META))
        self.A_log = nn.Parameter(torch.empty(nh, **META))
        self.norm = RMSNorm(inner)  # MambaRMSNormGated
        self.D = nn.Parameter(torch.empty(nh, **META))
        self.out_proj = lin(inner, h, c.get("use_bias", False))


class FalconMambaMixer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, st, k = c["hidden_size"], c["state_size"], c["conv_kernel"]
        inner = c.get("intermediate_size") or int(c.get("expand", 2) * h)  # the file's value wins
        r = c["time_step_rank"] if c.get("time_step_rank", "auto") != "auto" else -(-h // 16)
        self.conv1d = nn.Conv1d(inner, inner, kernel_size=k, groups=inner, padding=k - 1, bias=c.get("use_conv_bias", True), **META)
        self.in_proj = lin(h, 2 * inner, c.get("use_bias", False))
        self.x_proj = lin(inner, r + 2 * st, False)
        self.dt_proj = lin(r, inner, True)
        self.A_log = nn.Parameter(torch.empty(inner, st, **META))
        self.D = nn.Parameter(torch.empty(inner, **META))
        self.out_proj = lin(inner, h, c.get("use_bias", False))
        # b_c_rms, dt_rms: buffers that are not persistent


class MambaForCausalLM(nn.Module):
    def __init__(self, c, mixer):
        super().__init__()
        h = c["hidden_size"]
        b = self.backbone = nn.Module()
        b.embeddings = emb(c["vocab_size"], h)
        layers = []
        for _ in range(c["num_hidden_layers"]):
            blk = nn.Module()
            blk.norm = RMSNorm(h)
            blk.mixer = mixer(c)
            layers.append(blk)
        b.layers = nn.ModuleList(layers)
        b.norm_f = RMSNorm(h)
        self.lm_head = lin(h, c["vocab_size"], False)
        if c.get("tie_word_embeddings", True):
            self.lm_head.weight = b.embeddings.weight


# ---------------------------------------------------------------- Jamba (models/jamba/modeling_jamba.py, 4.40)

class JambaMambaMixer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, st, k = c["hidden_size"], c["mamba_d_state"], c["mamba_d_conv"]
        inner = c["mamba_expand"] * h
        r = c["mamba_dt_rank"] if c.get("mamba_dt_rank", "auto") != "auto" else -(-h // 16)
        self.conv1d = nn.Conv1d(inner, inner, kernel_size=k, groups=inner, padding=k - 1, bias=c.get("mamba_conv_bias", True), **META)
        self.in_proj = lin(h, 2 * inner, c.get("mamba_proj_bias", False))
        self.x_proj = lin(inner, r + 2 * st, False)
        self.dt_proj = lin(r, inner, True)
        self.A_log = nn.Parameter(torch.empty(inner, st, **META))
        self.D = nn.Parameter(torch.empty(inner, **META))
        self.out_proj = lin(inner, h, c.get("mamba_proj_bias", False))
        self.dt_layernorm = RMSNorm(r)
        self.b_layernorm = RMSNorm(st)
        self.c_layernorm = RMSNorm(st)


class JambaSparseMoeBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.router = lin(c["hidden_size"], c["num_experts"], False)
        self.experts = nn.ModuleList([mlp(c["hidden_size"], c["intermediate_size"]) for _ in range(c["num_experts"])])


class JambaDecoderLayer(nn.Module):
    """JambaAttentionDecoderLayer (self_attn) or JambaMambaDecoderLayer (mamba), then the
    feed_forward and the two norms."""

    def __init__(self, c, i):
        super().__init__()
        h, nh, kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        if i % c["attn_layer_period"] == c["attn_layer_offset"]:
            a = self.self_attn = nn.Module()
            hd = h // nh
            a.q_proj = lin(h, nh * hd, False)
            a.k_proj = lin(h, kv * hd, False)
            a.v_proj = lin(h, kv * hd, False)
            a.o_proj = lin(nh * hd, h, False)
        else:
            self.mamba = JambaMambaMixer(c)
        moe = i % c["expert_layer_period"] == c["expert_layer_offset"]
        self.feed_forward = JambaSparseMoeBlock(c) if moe else mlp(h, c["intermediate_size"])
        self.input_layernorm = RMSNorm(h)
        self.pre_ff_layernorm = RMSNorm(h)


class JambaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.model = nn.Module()
        self.model.embed_tokens = emb(c["vocab_size"], h)
        self.model.layers = nn.ModuleList([JambaDecoderLayer(c, i) for i in range(c["num_hidden_layers"])])
        self.model.final_layernorm = RMSNorm(h)
        self.lm_head = lin(h, c["vocab_size"], False)


# ---------------------------------------------------------------- Phi-3.5-MoE (models/phimoe/modeling_phimoe.py, 4.46)

class PhimoeDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, nh, kv, b = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c.get("attention_bias", False)
        hd = h // nh
        a = self.self_attn = nn.Module()
        a.q_proj = lin(h, nh * hd, b)
        a.k_proj = lin(h, kv * hd, b)
        a.v_proj = lin(h, kv * hd, b)
        a.o_proj = lin(nh * hd, h, b)
        moe = self.block_sparse_moe = nn.Module()
        moe.gate = lin(h, c["num_local_experts"], False)
        experts = []
        for _ in range(c["num_local_experts"]):
            e = nn.Module()
            e.w1 = lin(h, c["intermediate_size"], False)
            e.w2 = lin(c["intermediate_size"], h, False)
            e.w3 = lin(h, c["intermediate_size"], False)
            experts.append(e)
        moe.experts = nn.ModuleList(experts)
        self.input_layernorm = T.ln(h)  # LayerNorm with bias, not RMSNorm
        self.post_attention_layernorm = T.ln(h)


class PhimoeForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.model = nn.Module()
        self.model.embed_tokens = emb(c["vocab_size"], h)
        self.model.layers = nn.ModuleList([PhimoeDecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = T.ln(h)
        self.lm_head = lin(h, c["vocab_size"], c.get("lm_head_bias", False))


# ---------------------------------------------------------------- driver

def main():
    torch.set_grad_enabled(False)
    f = lambda n: "families/" + n + ".config.json"  # noqa: E731
    T.compare(f("qwen3-8b"), Qwen3ForCausalLM(cfg("qwen3-8b")))
    T.compare(f("qwen3-0.6b"), Qwen3ForCausalLM(cfg("qwen3-0.6b")))
    T.compare(f("qwen3-30b-a3b"), Qwen3ForCausalLM(cfg("qwen3-30b-a3b"), moe=True))
    T.compare(f("gemma-3-1b-it"), Gemma3ForCausalLM(cfg("gemma-3-1b-it")))
    T.compare(f("gemma-3-4b-it"), Gemma3ForConditionalGeneration(cfg("gemma-3-4b-it")))
    # the SigLIP attention-pooling head (vision_use_head, SiglipVisionConfig's default)
    g = cfg("gemma-3-4b-it")
    g["vision_config"]["vision_use_head"] = True
    T.compare_config("families/gemma-3-4b-it+head.json", g, Gemma3ForConditionalGeneration(g))
    compare_deepseek(f("deepseek-v2-lite"), cfg("deepseek-v2-lite"), False)
    compare_deepseek(f("deepseek-v3"), cfg("deepseek-v3"), True)
    T.compare(f("gpt-oss-20b"), GptOssForCausalLM(cfg("gpt-oss-20b")))
    T.compare(f("gpt-oss-120b"), GptOssForCausalLM(cfg("gpt-oss-120b")))
    T.compare(f("olmo-2-1124-7b"), llama_like(cfg("olmo-2-1124-7b"), Olmo2DecoderLayer))
    T.compare(f("granite-3.1-8b-instruct"), llama_like(cfg("granite-3.1-8b-instruct"), LlamaDecoderLayer))
    T.compare(f("smollm3-3b"), llama_like(cfg("smollm3-3b"), LlamaDecoderLayer))
    T.compare(f("mamba-codestral-7b"), MambaForCausalLM(cfg("mamba-codestral-7b"), Mamba2Mixer))
    T.compare(f("falcon-mamba-7b"), MambaForCausalLM(cfg("falcon-mamba-7b"), FalconMambaMixer))
    T.compare(f("jamba-v0.1"), JambaForCausalLM(cfg("jamba-v0.1")))
    T.compare(f("phi-3.5-moe-instruct"), PhimoeForCausalLM(cfg("phi-3.5-moe-instruct")))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-golden":
        T.GOLDEN = sys.argv[2]
        os.makedirs(T.GOLDEN, exist_ok=True)
    sys.exit(main())
