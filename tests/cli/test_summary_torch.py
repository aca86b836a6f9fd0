"""test_summary_torch.py: an independent check of `layerscope summary` tensor lists.

For each config, a PyTorch model is built here from the upstream transformers modeling code's
structure (same module attributes, registration order, Conv1D/Linear weight layouts, tied
weights), on the `meta` device so full-size models cost no memory. Its state_dict() names and
shapes, in order, must equal the `tensors` array of `layerscope summary --format json`, and
sum(p.numel() for p in model.parameters()) (PyTorch de-duplicates tied parameters) must equal
`params`. transformers itself is not installed; the classes below follow
transformers/models/<family>/modeling_<family>.py __init__ methods.
"""
import json
import os
import subprocess
import sys

import torch
from torch import nn

LS = os.environ.get("LAYERSCOPE", "layerscope")
SRC = os.environ.get("LS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CFG = os.path.join(SRC, "tests", "fixtures", "configs")
META = {"device": "meta"}


def lin(i, o, bias=True):
    return nn.Linear(i, o, bias=bias, **META)


def emb(n, d):
    return nn.Embedding(n, d, **META)


def ln(d, eps=1e-5):
    return nn.LayerNorm(d, eps=eps, **META)


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d, **META))


# ---------------------------------------------------------------- GPT-2 (modeling_gpt2.py)

class Conv1D(nn.Module):
    """transformers.pytorch_utils.Conv1D: weight is [nx, nf] (transposed Linear)."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf, **META))
        self.bias = nn.Parameter(torch.empty(nf, **META))


class GPT2Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["n_embd"]
        self.c_attn = Conv1D(3 * d, d)
        self.c_proj = Conv1D(d, d)


class GPT2MLP(nn.Module):
    def __init__(self, inner, c):
        super().__init__()
        self.c_fc = Conv1D(inner, c["n_embd"])
        self.c_proj = Conv1D(c["n_embd"], inner)


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["n_embd"]
        inner = c.get("n_inner") or 4 * d
        self.ln_1 = ln(d)
        self.attn = GPT2Attention(c)
        self.ln_2 = ln(d)
        self.mlp = GPT2MLP(inner, c)


class GPT2Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = emb(c["vocab_size"], c["n_embd"])
        self.wpe = emb(c.get("n_positions", 1024), c["n_embd"])
        self.h = nn.ModuleList([GPT2Block(c) for _ in range(c["n_layer"])])
        self.ln_f = ln(c["n_embd"])


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = GPT2Model(c)
        self.lm_head = lin(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tie_weights()


# ---------------------------------------------------------------- Llama family (modeling_llama.py,
# modeling_mistral.py, modeling_mixtral.py, modeling_qwen2.py, modeling_gemma.py)

class LlamaAttention(nn.Module):
    def __init__(self, c, qkv_bias, o_bias):
        super().__init__()
        h, nh = c["hidden_size"], c["num_attention_heads"]
        kv = c.get("num_key_value_heads") or nh
        hd = c.get("head_dim") or h // nh
        self.q_proj = lin(h, nh * hd, qkv_bias)
        self.k_proj = lin(h, kv * hd, qkv_bias)
        self.v_proj = lin(h, kv * hd, qkv_bias)
        self.o_proj = lin(nh * hd, h, o_bias)


class LlamaMLP(nn.Module):
    def __init__(self, h, i, bias=False):
        super().__init__()
        self.gate_proj = lin(h, i, bias)
        self.up_proj = lin(h, i, bias)
        self.down_proj = lin(i, h, bias)


class MixtralBlockSparseTop2MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.w1 = lin(h, i, False)
        self.w2 = lin(i, h, False)
        self.w3 = lin(h, i, False)


class MixtralSparseMoeBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate = lin(c["hidden_size"], c["num_local_experts"], False)
        self.experts = nn.ModuleList([MixtralBlockSparseTop2MLP(c) for _ in range(c["num_local_experts"])])


class DecoderLayer(nn.Module):
    def __init__(self, c, family):
        super().__init__()
        qkv_bias = family == "qwen2" or c.get("attention_bias", False)
        o_bias = family != "qwen2" and c.get("attention_bias", False)
        self.self_attn = LlamaAttention(c, qkv_bias, o_bias)
        if family == "mixtral":
            self.block_sparse_moe = MixtralSparseMoeBlock(c)
        else:
            self.mlp = LlamaMLP(c["hidden_size"], c["intermediate_size"], c.get("mlp_bias", False))
        self.input_layernorm = RMSNorm(c["hidden_size"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"])


class LlamaModel(nn.Module):
    def __init__(self, c, family):
        super().__init__()
        self.embed_tokens = emb(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(c, family) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, c, family):
        super().__init__()
        self.model = LlamaModel(c, family)
        self.lm_head = lin(c["hidden_size"], c["vocab_size"], False)
        tie = c.get("tie_word_embeddings", family == "gemma")
        if tie:
            self.lm_head.weight = self.model.embed_tokens.weight


# ---------------------------------------------------------------- Phi-3 (modeling_phi3.py)

class Phi3Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, nh = c["hidden_size"], c["num_attention_heads"]
        kv = c.get("num_key_value_heads") or nh
        hd = h // nh
        self.o_proj = lin(nh * hd, h, False)
        self.qkv_proj = lin(h, nh * hd + 2 * kv * hd, False)


class Phi3MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_up_proj = lin(c["hidden_size"], 2 * c["intermediate_size"], False)
        self.down_proj = lin(c["intermediate_size"], c["hidden_size"], False)


class Phi3DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Phi3Attention(c)
        self.mlp = Phi3MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"])
        self.resid_attn_dropout = nn.Dropout(0.0)
        self.resid_mlp_dropout = nn.Dropout(0.0)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"])


class Phi3ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = nn.Module()
        self.model.embed_tokens = emb(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList([Phi3DecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(c["hidden_size"])
        self.lm_head = lin(c["hidden_size"], c["vocab_size"], False)


# ---------------------------------------------------------------- BERT (modeling_bert.py)

class BertSelfAttention(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.query = lin(h, h)
        self.key = lin(h, h)
        self.value = lin(h, h)


class BertSelfOutput(nn.Module):
    def __init__(self, h, eps):
        super().__init__()
        self.dense = lin(h, h)
        self.LayerNorm = ln(h, eps)


class BertAttention(nn.Module):
    def __init__(self, h, eps):
        super().__init__()
        self.self = BertSelfAttention(h)
        self.output = BertSelfOutput(h, eps)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i, eps = c["hidden_size"], c["intermediate_size"], c["layer_norm_eps"]
        self.attention = BertAttention(h, eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = lin(h, i)
        self.output = nn.Module()
        self.output.dense = lin(i, h)
        self.output.LayerNorm = ln(h, eps)


class BertModel(nn.Module):
    def __init__(self, c, add_pooling_layer=True):
        super().__init__()
        h = c["hidden_size"]
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = emb(c["vocab_size"], h)
        self.embeddings.position_embeddings = emb(c["max_position_embeddings"], h)
        self.embeddings.token_type_embeddings = emb(c["type_vocab_size"], h)
        self.embeddings.LayerNorm = ln(h)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])
        if add_pooling_layer:
            self.pooler = nn.Module()
            self.pooler.dense = lin(h, h)


class BertLMPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.transform = nn.Module()
        self.transform.dense = lin(h, h)
        self.transform.LayerNorm = ln(h)
        self.decoder = lin(h, c["vocab_size"], bias=False)
        self.bias = nn.Parameter(torch.empty(c["vocab_size"], **META))
        self.decoder.bias = self.bias


class BertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c, add_pooling_layer=False)
        self.cls = nn.Module()
        self.cls.predictions = BertLMPredictionHead(c)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(0.1)
        self.classifier = lin(c["hidden_size"], c.get("num_labels", 2))


# ---------------------------------------------------------------- DistilBERT (modeling_distilbert.py)

class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c["dim"], c["hidden_dim"]
        self.attention = nn.Module()
        for n in ("q_lin", "k_lin", "v_lin", "out_lin"):
            setattr(self.attention, n, lin(d, d))
        self.sa_layer_norm = ln(d, 1e-12)
        self.ffn = nn.Module()
        self.ffn.lin1 = lin(d, hd)
        self.ffn.lin2 = lin(hd, d)
        self.output_layer_norm = ln(d, 1e-12)


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dim"]
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = emb(c["vocab_size"], d)
        self.embeddings.position_embeddings = emb(c["max_position_embeddings"], d)
        self.embeddings.LayerNorm = ln(d, 1e-12)
        self.transformer = nn.Module()
        self.transformer.layer = nn.ModuleList([TransformerBlock(c) for _ in range(c["n_layers"])])


class DistilBertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dim"]
        self.distilbert = DistilBertModel(c)
        self.vocab_transform = lin(d, d)
        self.vocab_layer_norm = ln(d, 1e-12)
        self.vocab_projector = lin(d, c["vocab_size"])
        self.vocab_projector.weight = self.distilbert.embeddings.word_embeddings.weight


# ---------------------------------------------------------------- GPT-NeoX (modeling_gpt_neox.py)

class GPTNeoXLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i, b = c["hidden_size"], c["intermediate_size"], c.get("attention_bias", True)
        self.input_layernorm = ln(h)
        self.post_attention_layernorm = ln(h)
        self.post_attention_dropout = nn.Dropout(0.0)
        self.post_mlp_dropout = nn.Dropout(0.0)
        self.attention = nn.Module()
        self.attention.query_key_value = lin(h, 3 * h, b)
        self.attention.dense = lin(h, h, b)
        self.mlp = nn.Module()
        self.mlp.dense_h_to_4h = lin(h, i)
        self.mlp.dense_4h_to_h = lin(i, h)


class GPTNeoXForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.gpt_neox = nn.Module()
        self.gpt_neox.embed_in = emb(c["vocab_size"], h)
        self.gpt_neox.emb_dropout = nn.Dropout(0.0)
        self.gpt_neox.layers = nn.ModuleList([GPTNeoXLayer(c) for _ in range(c["num_hidden_layers"])])
        self.gpt_neox.final_layer_norm = ln(h)
        self.embed_out = lin(h, c["vocab_size"], False)


# ---------------------------------------------------------------- Falcon (modeling_falcon.py)

class FalconDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, nh, b = c["hidden_size"], c["num_attention_heads"], c.get("bias", False)
        hd = h // nh
        new = c.get("new_decoder_architecture", False)
        if new:
            qkv = (c["num_kv_heads"] * 2 + nh) * hd
        elif c.get("multi_query", True):
            qkv = h + 2 * hd
        else:
            qkv = 3 * h
        self.self_attention = nn.Module()
        self.self_attention.query_key_value = lin(h, qkv, b)
        self.self_attention.dense = lin(h, h, b)
        ffn = c.get("ffn_hidden_size") or 4 * h
        self.mlp = nn.Module()
        self.mlp.dense_h_to_4h = lin(h, ffn, b)
        self.mlp.dense_4h_to_h = lin(ffn, h, b)
        nln = c.get("num_ln_in_parallel_attn") or (2 if new else None)
        if new and nln == 2:
            self.ln_attn = ln(h)
            self.ln_mlp = ln(h)
        else:
            self.input_layernorm = ln(h)
            if not c.get("parallel_attn", True):
                self.post_attention_layernorm = ln(h)


class FalconForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.transformer = nn.Module()
        self.transformer.word_embeddings = emb(c["vocab_size"], h)
        self.transformer.h = nn.ModuleList([FalconDecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.transformer.ln_f = ln(h)
        self.lm_head = lin(h, c["vocab_size"], False)
        if c.get("tie_word_embeddings", True):
            self.lm_head.weight = self.transformer.word_embeddings.weight


# ---------------------------------------------------------------- BLOOM (modeling_bloom.py)

class BloomBlock(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.input_layernorm = ln(h)
        self.self_attention = nn.Module()
        self.self_attention.query_key_value = lin(h, 3 * h)
        self.self_attention.dense = lin(h, h)
        self.post_attention_layernorm = ln(h)
        self.mlp = nn.Module()
        self.mlp.dense_h_to_4h = lin(h, 4 * h)
        self.mlp.dense_4h_to_h = lin(4 * h, h)


class BloomForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c.get("hidden_size") or c["n_embed"]
        self.transformer = nn.Module()
        self.transformer.word_embeddings = emb(c["vocab_size"], h)
        self.transformer.word_embeddings_layernorm = ln(h)
        self.transformer.h = nn.ModuleList([BloomBlock(h) for _ in range(c["n_layer"])])
        self.transformer.ln_f = ln(h)
        self.lm_head = lin(h, c["vocab_size"], False)
        self.lm_head.weight = self.transformer.word_embeddings.weight


# ---------------------------------------------------------------- OPT (modeling_opt.py)

class OPTDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, f = c["hidden_size"], c["ffn_dim"]
        self.self_attn = nn.Module()
        for n in ("k_proj", "v_proj", "q_proj", "out_proj"):
            setattr(self.self_attn, n, lin(h, h))
        self.self_attn_layer_norm = ln(h)
        self.fc1 = lin(h, f)
        self.fc2 = lin(f, h)
        self.final_layer_norm = ln(h)


class OPTForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, w = c["hidden_size"], c.get("word_embed_proj_dim") or c["hidden_size"]
        self.model = nn.Module()
        d = self.model.decoder = nn.Module()
        d.embed_tokens = emb(c["vocab_size"], w)
        d.embed_positions = emb(c["max_position_embeddings"] + 2, h)
        if w != h:
            d.project_out = lin(h, w, False)
            d.project_in = lin(w, h, False)
        if c.get("do_layer_norm_before", True) and not c.get("_remove_final_layer_norm", False):
            d.final_layer_norm = ln(h)
        d.layers = nn.ModuleList([OPTDecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.lm_head = lin(w, c["vocab_size"], False)
        self.lm_head.weight = d.embed_tokens.weight


# ---------------------------------------------------------------- Phi (modeling_phi.py)

class PhiDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.self_attn = nn.Module()
        for n in ("q_proj", "k_proj", "v_proj", "dense"):
            setattr(self.self_attn, n, lin(h, h))
        self.mlp = nn.Module()
        self.mlp.fc1 = lin(h, i)
        self.mlp.fc2 = lin(i, h)
        self.input_layernorm = ln(h)


class PhiForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.model = nn.Module()
        self.model.embed_tokens = emb(c["vocab_size"], h)
        self.model.layers = nn.ModuleList([PhiDecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.model.final_layernorm = ln(h)
        self.lm_head = lin(h, c["vocab_size"], True)


# ---------------------------------------------------------------- Gemma 2, Qwen2-MoE

class Gemma2DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = LlamaAttention(c, False, False)
        self.mlp = LlamaMLP(c["hidden_size"], c["intermediate_size"])
        for n in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                  "post_feedforward_layernorm"):
            setattr(self, n, RMSNorm(c["hidden_size"]))


class Gemma2ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = nn.Module()
        self.model.embed_tokens = emb(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList([Gemma2DecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(c["hidden_size"])
        self.lm_head = lin(c["hidden_size"], c["vocab_size"], False)
        self.lm_head.weight = self.model.embed_tokens.weight


class Qwen2MoeSparseMoeBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.gate = lin(h, c["num_experts"], False)
        self.experts = nn.ModuleList([LlamaMLP(h, c["moe_intermediate_size"]) for _ in range(c["num_experts"])])
        self.shared_expert = LlamaMLP(h, c["shared_expert_intermediate_size"])
        self.shared_expert_gate = lin(h, 1, False)


class Qwen2MoeDecoderLayer(nn.Module):
    def __init__(self, c, i):
        super().__init__()
        self.self_attn = LlamaAttention(c, True, False)
        sparse = (i not in (c.get("mlp_only_layers") or [])) and c["num_experts"] > 0 and \
            (i + 1) % c.get("decoder_sparse_step", 1) == 0
        self.mlp = Qwen2MoeSparseMoeBlock(c) if sparse else LlamaMLP(c["hidden_size"], c["intermediate_size"])
        self.input_layernorm = RMSNorm(c["hidden_size"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"])


class Qwen2MoeForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = nn.Module()
        self.model.embed_tokens = emb(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList([Qwen2MoeDecoderLayer(c, i) for i in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(c["hidden_size"])
        self.lm_head = lin(c["hidden_size"], c["vocab_size"], False)


# ---------------------------------------------------------------- RoBERTa (modeling_roberta.py)

class RobertaForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.roberta = BertModel(c, add_pooling_layer=False)
        self.lm_head = nn.Module()
        self.lm_head.dense = lin(h, h)
        self.lm_head.layer_norm = ln(h)
        self.lm_head.decoder = lin(h, c["vocab_size"])
        self.lm_head.bias = nn.Parameter(torch.empty(c["vocab_size"], **META))
        self.lm_head.decoder.bias = self.lm_head.bias
        self.lm_head.decoder.weight = self.roberta.embeddings.word_embeddings.weight


# ---------------------------------------------------------------- T5 (modeling_t5.py)

class T5Attention(nn.Module):
    def __init__(self, c, relative):
        super().__init__()
        d, inner = c["d_model"], c["num_heads"] * c["d_kv"]
        self.q = lin(d, inner, False)
        self.k = lin(d, inner, False)
        self.v = lin(d, inner, False)
        self.o = lin(inner, d, False)
        if relative:
            self.relative_attention_bias = emb(c.get("relative_attention_num_buckets", 32), c["num_heads"])


def t5_ff(c):
    d, f = c["d_model"], c["d_ff"]
    ff = nn.Module()
    if c.get("feed_forward_proj", "relu").startswith("gated"):
        ff.DenseReluDense = nn.Module()
        ff.DenseReluDense.wi_0 = lin(d, f, False)
        ff.DenseReluDense.wi_1 = lin(d, f, False)
        ff.DenseReluDense.wo = lin(f, d, False)
    else:
        ff.DenseReluDense = nn.Module()
        ff.DenseReluDense.wi = lin(d, f, False)
        ff.DenseReluDense.wo = lin(f, d, False)
    ff.layer_norm = RMSNorm(d)
    return ff


class T5Block(nn.Module):
    def __init__(self, c, decoder, first):
        super().__init__()
        sa = nn.Module()
        sa.SelfAttention = T5Attention(c, first)
        sa.layer_norm = RMSNorm(c["d_model"])
        parts = [sa]
        if decoder:
            ca = nn.Module()
            ca.EncDecAttention = T5Attention(c, False)
            ca.layer_norm = RMSNorm(c["d_model"])
            parts.append(ca)
        parts.append(t5_ff(c))
        self.layer = nn.ModuleList(parts)


class T5ForConditionalGeneration(nn.Module):
    """encoder_only=True gives T5EncoderModel (shared + encoder)."""

    def __init__(self, c, encoder_only=False):
        super().__init__()
        d = c["d_model"]
        self.shared = emb(c["vocab_size"], d)
        stacks = [("encoder", c["num_layers"], False),
                  ("decoder", c.get("num_decoder_layers") or c["num_layers"], True)]
        for name, n, dec in stacks[:1] if encoder_only else stacks:
            st = nn.Module()
            st.embed_tokens = self.shared
            st.block = nn.ModuleList([T5Block(c, dec, i == 0) for i in range(n)])
            st.final_layer_norm = RMSNorm(d)
            setattr(self, name, st)
        if encoder_only:
            return
        self.lm_head = lin(d, c["vocab_size"], False)
        if c.get("tie_word_embeddings", True):
            self.lm_head.weight = self.shared.weight


# ---------------------------------------------------------------- ViT (modeling_vit.py)

class ViTLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.attention = nn.Module()
        self.attention.attention = BertSelfAttention(h)
        self.attention.output = nn.Module()
        self.attention.output.dense = lin(h, h)
        self.intermediate = nn.Module()
        self.intermediate.dense = lin(h, i)
        self.output = nn.Module()
        self.output.dense = lin(i, h)
        self.layernorm_before = ln(h)
        self.layernorm_after = ln(h)


class ViTForImageClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, p, img = c["hidden_size"], c["patch_size"], c["image_size"]
        n = (img // p) ** 2
        self.vit = nn.Module()
        e = self.vit.embeddings = nn.Module()
        e.cls_token = nn.Parameter(torch.empty(1, 1, h, **META))
        e.patch_embeddings = nn.Module()
        e.patch_embeddings.projection = nn.Conv2d(c.get("num_channels", 3), h, kernel_size=p, stride=p, **META)
        e.position_embeddings = nn.Parameter(torch.empty(1, n + 1, h, **META))
        self.vit.encoder = nn.Module()
        self.vit.encoder.layer = nn.ModuleList([ViTLayer(c) for _ in range(c["num_hidden_layers"])])
        self.vit.layernorm = ln(h)
        self.classifier = lin(h, len(c["id2label"]))


# ---------------------------------------------------------------- Whisper (modeling_whisper.py)

def whisper_attn(d):
    a = nn.Module()
    a.k_proj = lin(d, d, False)
    a.v_proj = lin(d, d)
    a.q_proj = lin(d, d)
    a.out_proj = lin(d, d)
    return a


class WhisperLayer(nn.Module):
    def __init__(self, d, ffn, decoder):
        super().__init__()
        self.self_attn = whisper_attn(d)
        self.self_attn_layer_norm = ln(d)
        if decoder:
            self.encoder_attn = whisper_attn(d)
            self.encoder_attn_layer_norm = ln(d)
        self.fc1 = lin(d, ffn)
        self.fc2 = lin(ffn, d)
        self.final_layer_norm = ln(d)


class WhisperForConditionalGeneration(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.model = nn.Module()
        enc = self.model.encoder = nn.Module()
        enc.conv1 = nn.Conv1d(c["num_mel_bins"], d, kernel_size=3, padding=1, **META)
        enc.conv2 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1, **META)
        enc.embed_positions = emb(c["max_source_positions"], d)
        enc.layers = nn.ModuleList([WhisperLayer(d, c["encoder_ffn_dim"], False) for _ in range(c["encoder_layers"])])
        enc.layer_norm = ln(d)
        dec = self.model.decoder = nn.Module()
        dec.embed_tokens = emb(c["vocab_size"], d)
        dec.embed_positions = emb(c["max_target_positions"], d)
        dec.layers = nn.ModuleList([WhisperLayer(d, c["decoder_ffn_dim"], True) for _ in range(c["decoder_layers"])])
        dec.layer_norm = ln(d)
        self.proj_out = lin(d, c["vocab_size"], False)
        self.proj_out.weight = dec.embed_tokens.weight


# ---------------------------------------------------------------- driver

def summary(cfg_path, *extra):
    out = subprocess.run([LS, "summary", cfg_path, "--format", "json", *extra],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise AssertionError(f"layerscope summary {cfg_path} failed: {out.stderr}")
    return json.loads(out.stdout)


GOLDEN = None  # set by --write-golden DIR: write PyTorch's tensor lists there


def compare(name, model, extra=()):
    path = os.path.join(CFG, name)
    got = summary(path, *extra)
    want = [(k, list(v.shape)) for k, v in model.state_dict(keep_vars=True).items()]
    if GOLDEN:
        base = os.path.basename(name)
        if base == "config.json":  # a model directory: legacy/roberta-base/config.json -> legacy-roberta-base
            base = os.path.dirname(name).replace("/", "-")
        stem = base.replace(".config.json", "") + ("." + extra[-1] if extra else "")
        with open(os.path.join(GOLDEN, stem + ".tsv"), "w") as f:
            f.write(f"# {name} {' '.join(extra)}\n# state_dict of the PyTorch reference in "
                    f"tests/cli/test_summary_torch.py; params {sum(p.numel() for p in model.parameters())}\n")
            for k, shp in want:
                f.write(f"{k}\t{','.join(map(str, shp))}\n")
    ours = [(t["name"], t["shape"]) for t in got["tensors"]]
    if ours != want:
        for i, (a, b) in enumerate(zip(ours, want)):
            if a != b:
                raise AssertionError(f"{name}: tensor {i}: layerscope {a} != PyTorch {b}")
        raise AssertionError(f"{name}: {len(ours)} tensors from layerscope, {len(want)} from PyTorch")
    unique = sum(p.numel() for p in model.parameters())
    if got["params"] != unique:
        raise AssertionError(f"{name}: params {got['params']} != PyTorch {unique}")
    tied = {t["name"] for t in got["tensors"] if "tied_to" in t}
    print(f"ok {name}: {len(ours)} tensors ({len(tied)} tied), {unique:,} params")


def compare_config(name, config, model, extra=()):
    """compare() for a config written here (a variant of a fixture): into a temporary file."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, os.path.basename(name))
        with open(path, "w") as f:
            json.dump(config, f)
        global GOLDEN
        saved, GOLDEN = GOLDEN, None  # variants have no golden file
        try:
            compare(path, model, extra)
        finally:
            GOLDEN = saved


def main():
    torch.set_grad_enabled(False)
    cfg = lambda n: json.load(open(os.path.join(CFG, n)))  # noqa: E731
    compare("gpt2.config.json", GPT2LMHeadModel(cfg("gpt2.config.json")))
    compare("gpt2-medium.config.json", GPT2LMHeadModel(cfg("gpt2-medium.config.json")))
    for n, fam in [("tiny-random-LlamaForCausalLM.config.json", "llama"),
                   ("llama-2-7b-hf.config.json", "llama"),
                   ("tinyllama-1.1b-3t-ft.config.json", "llama"),
                   ("mistral-7b-v0.1.config.json", "mistral"),
                   ("mixtral-8x7b-v0.1.config.json", "mixtral"),
                   ("qwen2.5-0.5b.config.json", "qwen2"),
                   ("gemma-2b-it.config.json", "gemma"),
                   ("extra/llama-3-8b.config.json", "llama"),
                   ("extra/yi-6b.config.json", "llama"),
                   ("extra/mistral-nemo-12b.config.json", "mistral")]:
        compare(n, LlamaForCausalLM(cfg(n), fam))
    compare("phi-3-mini-4k-merge.config.json", Phi3ForCausalLM(cfg("phi-3-mini-4k-merge.config.json")))
    bert = cfg("bert-base-uncased.config.json")
    compare("bert-base-uncased.config.json", BertModel(bert))
    compare("bert-base-uncased.config.json", BertForMaskedLM(bert), ("--arch", "BertForMaskedLM"))
    compare("bert-base-uncased.config.json", BertForSequenceClassification(bert),
            ("--arch", "BertForSequenceClassification"))
    distil = cfg("distilbert-base-uncased.config.json")
    compare("distilbert-base-uncased.config.json", DistilBertForMaskedLM(distil))
    compare("distilbert-base-uncased.config.json", DistilBertModel(distil), ("--arch", "base"))
    x = lambda n: "extra/" + n + ".config.json"  # noqa: E731
    compare(x("pythia-160m"), GPTNeoXForCausalLM(cfg(x("pythia-160m"))))
    compare(x("falcon-7b"), FalconForCausalLM(cfg(x("falcon-7b"))))
    compare(x("falcon-40b"), FalconForCausalLM(cfg(x("falcon-40b"))))
    compare(x("bloom-560m"), BloomForCausalLM(cfg(x("bloom-560m"))))
    compare(x("opt-125m"), OPTForCausalLM(cfg(x("opt-125m"))))
    compare(x("opt-350m"), OPTForCausalLM(cfg(x("opt-350m"))))
    compare(x("phi-2"), PhiForCausalLM(cfg(x("phi-2"))))
    compare(x("gemma-2-2b"), Gemma2ForCausalLM(cfg(x("gemma-2-2b"))))
    compare(x("qwen1.5-moe-a2.7b"), Qwen2MoeForCausalLM(cfg(x("qwen1.5-moe-a2.7b"))))
    compare(x("roberta-base"), RobertaForMaskedLM(cfg(x("roberta-base"))))
    # roberta-base's legacy config (no model_type, no architectures): RobertaModel, pooler included
    compare("legacy/roberta-base/config.json", BertModel(cfg("legacy/roberta-base/config.json")))
    compare(x("t5-small"), T5ForConditionalGeneration(cfg(x("t5-small"))))
    compare(x("flan-t5-small"), T5ForConditionalGeneration(cfg(x("flan-t5-small"))))
    compare(x("flan-t5-small"), T5ForConditionalGeneration(cfg(x("flan-t5-small")), True),
            ("--arch", "T5EncoderModel"))
    compare(x("vit-base-patch16-224"), ViTForImageClassification(cfg(x("vit-base-patch16-224"))))
    compare(x("whisper-tiny"), WhisperForConditionalGeneration(cfg(x("whisper-tiny"))))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-golden":
        GOLDEN = sys.argv[2]
        os.makedirs(GOLDEN, exist_ok=True)
    sys.exit(main())
