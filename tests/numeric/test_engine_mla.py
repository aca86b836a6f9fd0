"""test_engine_mla.py: deepseek_v3's dense layers with multi-head latent attention in the
engine against ref_deepseek.py (written from upstream modular_deepseek_v3.py, cited there),
on seeded random weights with the upstream tensor names, every module output and the logits
within 1e-4 of their scale:
  - q_lora_rank set (q_a_proj, q_a_layernorm, q_b_proj), interleaved rotary dims,
    v_head_dim != qk_nope_head_dim + qk_rope_head_dim;
  - q_proj (q_lora_rank null), rope_interleave false, attention_bias, v_head_dim larger
    than the query/key head;
  - YaRN rope_scaling with mscale / mscale_all_dim as DeepSeek-V3 ships it (scores scaled
    by mscale^2, cos / sin by attention_factor).
  - MoE layers from first_k_dense_replace: DeepseekV3TopkRouter's group-limited sigmoid
    routing with e_score_correction_bias, routed_scaling_factor, with and without
    norm_topk_prob, and the shared experts;
  - deepseek_v2 (ref_deepseek.py's V2 differences: complex-pair RoPE, no mscale, softmax
    routing greedy and group_limited_greedy, never renormalised).
A file with DeepSeek-V3's block-scaled fp8 weights (<name>_scale_inv beside an F8_E4M3
weight) is refused, naming the scales, since decoding the fp8 values alone would be wrong."""
import numpy as np

import engine_check as C
import ref_models as R

C.require_exe()
small = C.SANITIZE
H = 64 if small else 96
S = 10 if small else 32

ds = {"model_type": "deepseek_v3", "architectures": ["DeepseekV3ForCausalLM"], "vocab_size": 128,
      "hidden_size": H, "intermediate_size": 2 * H, "moe_intermediate_size": 32,
      "num_hidden_layers": 2, "first_k_dense_replace": 2, "num_attention_heads": 4,
      "num_key_value_heads": 4, "q_lora_rank": 48, "kv_lora_rank": 32, "qk_rope_head_dim": 16,
      "qk_nope_head_dim": 24, "v_head_dim": 20, "max_position_embeddings": 64,
      "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "n_routed_experts": 8,
      "num_experts_per_tok": 2, "n_group": 2, "topk_group": 1}
C.check_case("deepseek_v3 mla, q lora, interleaved rope", ds, C.tokens_for(128, S, 61), seed=61)
C.check_case("deepseek_v3 mla, q_proj, halves rope, bias, v wider",
             dict(ds, q_lora_rank=None, rope_interleave=False, attention_bias=True, v_head_dim=56),
             C.tokens_for(128, S, 62), seed=62)
yarn = {"type": "yarn", "rope_type": "yarn", "factor": 40.0, "beta_fast": 32, "beta_slow": 1,
        "mscale": 1.0, "mscale_all_dim": 1.0, "original_max_position_embeddings": 16}
C.check_case("deepseek_v3 mla, yarn with mscale_all_dim",
             dict(ds, rope_scaling=yarn, max_position_embeddings=640, rope_theta=500.0),
             C.tokens_for(128, S, 63), seed=63)
moe = dict(ds, num_hidden_layers=3, first_k_dense_replace=1, n_routed_experts=8,
           num_experts_per_tok=3, n_group=4, topk_group=2, n_shared_experts=2,
           routed_scaling_factor=2.5, norm_topk_prob=True)
# mlp.gate's upstream output is (topk_indices, topk_weights), indices in torch.topk's
# unsorted order: not a tensor to compare; its choice shows in every expert's input rows
gates = tuple("model.layers.%d.mlp.gate" % i for i in (1, 2))
C.check_case("deepseek_v3 moe: group-limited sigmoid routing, shared experts", moe,
             C.tokens_for(128, S, 64), seed=64, skip=gates)
C.check_case("deepseek_v3 moe: without norm_topk_prob, one group",
             dict(moe, norm_topk_prob=False, n_group=1, topk_group=1, n_shared_experts=1,
                  routed_scaling_factor=1.0),
             C.tokens_for(128, S, 65), seed=65, skip=gates)
v2 = dict(ds, model_type="deepseek_v2", architectures=["DeepseekV2ForCausalLM"], num_hidden_layers=3,
          first_k_dense_replace=1, n_routed_experts=8, num_experts_per_tok=2, n_shared_experts=2,
          topk_method="greedy", routed_scaling_factor=1.5)
del v2["n_group"], v2["topk_group"]
C.check_case("deepseek_v2: complex-pair rope, greedy softmax routing", v2, C.tokens_for(128, S, 66),
             seed=66, skip=gates)
C.check_case("deepseek_v2: group_limited_greedy, q_proj, yarn",
             dict(v2, topk_method="group_limited_greedy", n_group=4, topk_group=2,
                  num_experts_per_tok=3, q_lora_rank=None, rope_scaling=yarn,
                  max_position_embeddings=640, rope_theta=500.0),
             C.tokens_for(128, S, 67), seed=67, skip=gates)
enc = {k: C.encode(v, "F32") for k, v in R.random_weights(R.build(ds), 68).items()}
fp8 = "model.layers.0.self_attn.kv_b_proj.weight"
enc[fp8] = ("F8_E4M3", np.zeros(enc[fp8][1].shape, dtype=np.uint8))
enc[fp8 + "_scale_inv"] = ("F32", np.ones((1, 1), dtype=np.float32))
C.expect_refusal("deepseek_v3 fp8 weight with block scales", ds, enc, [fp8 + "_scale_inv"])
print("ok")
