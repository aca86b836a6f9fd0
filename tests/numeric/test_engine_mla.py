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
A config with MoE layers (first_k_dense_replace below num_hidden_layers) must be refused
with a message that says so, not run wrong."""
import json
import os
import subprocess
import tempfile

import engine_check as C

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
with tempfile.TemporaryDirectory() as d:
    cpath = os.path.join(d, "config.json")
    with open(cpath, "w") as f:
        json.dump(dict(ds, first_k_dense_replace=1), f)
    p = subprocess.run([C.EXE, "run", cpath, "--tokens", "1,2,3"], capture_output=True, text=True,
                       timeout=120)
    if p.returncode == 0 or "MoE layers" not in p.stderr:
        C.die("deepseek_v3 with MoE layers: expected a refusal naming them, got rc %d: %s"
              % (p.returncode, p.stderr))
    print("  deepseek_v3 with MoE layers: refused (%s)" % p.stderr.strip().splitlines()[-1])
print("ok")
