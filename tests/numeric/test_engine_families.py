"""test_engine_families.py: the engine against the PyTorch references of the remaining
families, each on seeded random weights, every module output and the logits within 1e-4 of
their scale:
  gemma   -- (1 + w) RMSNorm in fp32, embeddings times sqrt(hidden), GeGLU (tanh GELU),
             head_dim 32 != hidden / heads, tied lm_head (bf16 weights);
  phi3    -- fused qkv_proj and gate_up_proj (gate half first);
  mixtral -- router softmax over all experts, top-2, renormalised; experts run only on the
             tokens routed to them (their dumps have one row per routed token, as upstream);
  bert    -- BertForMaskedLM: post-LN encoder, erf GELU, token types, a padding mask, the MLM
             head with decoder tied to the word embeddings and its bias;
  roberta -- RobertaForMaskedLM: positions from padding_idx + 1 skipping padding tokens;
  bert base model -- BertModel with its pooler."""
import torch

import engine_check as C

C.require_exe()
small = C.SANITIZE
H = 64 if small else 96
S = 10 if small else 32

gemma = {"model_type": "gemma", "architectures": ["GemmaForCausalLM"], "vocab_size": 128,
         "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 32,
         "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh",
         "hidden_activation": "gelu_pytorch_tanh"}
C.check_case("gemma", gemma, C.tokens_for(128, S, 3), wdtype="BF16", seed=21)

phi3 = {"model_type": "phi3", "architectures": ["Phi3ForCausalLM"], "vocab_size": 128,
        "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 64,
        "rms_norm_eps": 1e-5, "hidden_act": "silu", "sliding_window": 2047,
        "tie_word_embeddings": False}
C.check_case("phi3", phi3, C.tokens_for(128, S, 4), seed=22)

mixtral = {"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "vocab_size": 128,
           "hidden_size": H, "intermediate_size": H + 32, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
           "num_local_experts": 4, "num_experts_per_tok": 2, "rms_norm_eps": 1e-5,
           "sliding_window": None, "tie_word_embeddings": False}
C.check_case("mixtral", mixtral, C.tokens_for(128, S, 5), seed=23)

bert = {"model_type": "bert", "architectures": ["BertForMaskedLM"], "vocab_size": 120,
        "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 2,
        "num_attention_heads": 4, "max_position_embeddings": 64, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pad_token_id": 0}
toks = C.tokens_for(120, S, 6)
toks[-2:] = [0, 0]  # padding at the end, masked out
types = [0] * (S // 2) + [1] * (S - S // 2)
mask = [1] * (S - 2) + [0, 0]
kw = {"token_type_ids": torch.tensor([types]), "attention_mask": torch.tensor([mask])}
extra = ["--token-types", ",".join(map(str, types)), "--attention-mask", ",".join(map(str, mask))]
C.check_case("bert mlm, token types, padding", bert, toks, seed=24, kw=kw, extra=extra)

roberta = dict(bert, model_type="roberta", architectures=["RobertaForMaskedLM"], pad_token_id=1,
               max_position_embeddings=S + 2, type_vocab_size=1, layer_norm_eps=1e-5)
rtoks = list(toks)
rtoks[-2:] = [1, 1]
rkw = {"attention_mask": torch.tensor([mask])}
rextra = ["--attention-mask", ",".join(map(str, mask))]
C.check_case("roberta mlm, padding", roberta, rtoks, seed=25, kw=rkw, extra=rextra)

base = dict(bert, architectures=["BertModel"])
C.check_case("bert base + pooler", base, toks[:-2], seed=26)
print("ok")
