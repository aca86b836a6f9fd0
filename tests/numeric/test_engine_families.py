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
  bert base model -- BertModel with its pooler;
and the newer llama-style families of ref_decoders.py (each written from its upstream
modeling_<family>.py, cited there):
  qwen3       -- per-head q_norm / k_norm before RoPE, head_dim != hidden / heads, GQA, a
                 sliding window on the layers >= max_window_layers;
  qwen3_moe   -- sparse layers on the decoder_sparse_step grid, a dense one in
                 mlp_only_layers, moe_intermediate_size experts, with and without
                 norm_topk_prob;
  gpt_oss     -- sink logits (drawn N(0, 1) so they take a visible share), biases, sliding
                 even layers, YaRN RoPE (truncate off, then on with mscale), the top-k router
                 with its bias, stacked experts with gate/up interleaved and the SwiGLU
                 clamp (gate_up_proj scaled up so that the clamp at 7 bites);
  qwen2_moe   -- qwen2 attention (q/k/v biases, a sliding window on the last layer), routed
                 experts and the sigmoid-gated shared expert, a dense mlp_only layer;
  olmo2       -- q_norm / k_norm over the whole projections, only post-norms;
  granite     -- embedding, attention, residual multipliers and logits_scaling;
  gemma2      -- pre + post norms around both sublayers, query_pre_attn_scalar, soft-capped
                 scores and logits (caps small enough that tanh bends), sliding even layers;
  gemma3_text -- gemma2's layer with (1 + w) per-head q/k norms, the embedding scale inside
                 embed_tokens, sliding layers by sliding_window_pattern and by layer_types
                 with the local RoPE base, linear rope_scaling on the global layers only;
  gemma3      -- Gemma3ForConditionalGeneration on text tokens: the same text model under
                 language_model, configured by text_config (the vision tower's weights are
                 in the file, unused)."""
import torch

import engine_check as C
import ref_decoders

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

qwen3 = {"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"], "vocab_size": 128,
         "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
         "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 1e6,
         "use_sliding_window": True, "sliding_window": 4, "max_window_layers": 1,
         "tie_word_embeddings": True}
C.check_case("qwen3", qwen3, C.tokens_for(128, S, 7), seed=27)

qwen3_moe = dict(qwen3, model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"],
                 num_hidden_layers=3, use_sliding_window=False, num_experts=4,
                 num_experts_per_tok=2, moe_intermediate_size=H // 2 + 16,
                 decoder_sparse_step=1, mlp_only_layers=[1], norm_topk_prob=False,
                 tie_word_embeddings=False)
C.check_case("qwen3_moe", qwen3_moe, C.tokens_for(128, S, 13), seed=33)
C.check_case("qwen3_moe, norm_topk_prob, sparse step 2",
             dict(qwen3_moe, norm_topk_prob=True, decoder_sparse_step=2, mlp_only_layers=[]),
             C.tokens_for(128, S, 14), seed=34)

qwen2_moe = {"model_type": "qwen2_moe", "architectures": ["Qwen2MoeForCausalLM"], "vocab_size": 128,
             "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 3,
             "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
             "rms_norm_eps": 1e-6, "num_experts": 4, "num_experts_per_tok": 2,
             "moe_intermediate_size": H // 2, "shared_expert_intermediate_size": H + 16,
             "mlp_only_layers": [1], "norm_topk_prob": True, "use_sliding_window": True,
             "sliding_window": 4, "max_window_layers": 2}
C.check_case("qwen2_moe", qwen2_moe, C.tokens_for(128, S, 18), seed=38)

gpt_oss = {"model_type": "gpt_oss", "architectures": ["GptOssForCausalLM"], "vocab_size": 128,
           "hidden_size": H, "intermediate_size": H // 2 + 16, "num_hidden_layers": 3,
           "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
           "num_local_experts": 4, "num_experts_per_tok": 2, "sliding_window": 4,
           "rms_norm_eps": 1e-5, "rope_theta": 150000.0, "max_position_embeddings": 32 * 64,
           "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0,
                            "beta_slow": 1.0, "truncate": False,
                            "original_max_position_embeddings": 64}}


def oss_weights(w):
    ref_decoders.gpt_oss_test_weights(w, 35)


C.check_case("gpt_oss", gpt_oss, C.tokens_for(128, S, 15), seed=35, mutate=oss_weights)
oss_ms = dict(gpt_oss, rope_scaling=dict(gpt_oss["rope_scaling"], truncate=True, mscale=1.0,
                                         mscale_all_dim=0.5))
C.check_case("gpt_oss, yarn truncate + mscale", oss_ms, C.tokens_for(128, S, 16), seed=36,
             mutate=oss_weights)

olmo2 = {"model_type": "olmo2", "architectures": ["Olmo2ForCausalLM"], "vocab_size": 128,
         "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
         "rms_norm_eps": 1e-6, "rope_theta": 500000.0}
C.check_case("olmo2", olmo2, C.tokens_for(128, S, 8), seed=28)

granite = {"model_type": "granite", "architectures": ["GraniteForCausalLM"], "vocab_size": 128,
           "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
           "rms_norm_eps": 1e-5, "embedding_multiplier": 12.0, "attention_multiplier": 0.09,
           "residual_multiplier": 0.22, "logits_scaling": 8.0, "attention_bias": True,
           "mlp_bias": True, "tie_word_embeddings": True}
C.check_case("granite", granite, C.tokens_for(128, S, 9), seed=29)

gemma2 = {"model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"], "vocab_size": 128,
          "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 3,
          "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
          "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 24,
          "sliding_window": 4, "attn_logit_softcapping": 0.5, "final_logit_softcapping": 1.5}
C.check_case("gemma2", gemma2, C.tokens_for(128, S, 10), seed=30)


gemma3_layout = C.heads_major_to_seq_major(".q_norm", ".k_norm")
gemma3 = {"model_type": "gemma3_text", "architectures": ["Gemma3ForCausalLM"], "vocab_size": 128,
          "hidden_size": H, "intermediate_size": 2 * H, "num_hidden_layers": 3,
          "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
          "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 24,
          "sliding_window": 4, "sliding_window_pattern": 2, "rope_theta": 1e6,
          "rope_local_base_freq": 100.0, "rope_scaling": {"rope_type": "linear", "factor": 8.0}}
C.check_case("gemma3_text, sliding_window_pattern", gemma3, C.tokens_for(128, S, 11), seed=31,
             layout=gemma3_layout)
types3 = ["full_attention", "sliding_attention", "full_attention"]
gemma3_lt = dict(gemma3, layer_types=types3, final_logit_softcapping=2.0)
C.check_case("gemma3_text, layer_types, final soft-cap", gemma3_lt, C.tokens_for(128, S, 12),
             seed=32, layout=gemma3_layout)
mm = {"model_type": "gemma3", "architectures": ["Gemma3ForConditionalGeneration"],
      "mm_tokens_per_image": 4,
      "text_config": {k: v for k, v in gemma3_lt.items() if k not in ("model_type", "architectures")},
      "vision_config": {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 1,
                        "num_attention_heads": 2, "image_size": 28, "patch_size": 14,
                        "vision_use_head": False}}
mm["text_config"]["model_type"] = "gemma3_text"
C.check_case("gemma3 (text tokens), text_config", mm, C.tokens_for(128, S, 17), seed=37,
             layout=gemma3_layout)
print("ok")
