"""test_engine_generate_families.py: generation with the KV cache (core/engine/generate.c) on
the families whose attention has more than llama's: qwen3 (q/k norms, a sliding window on some
layers), gemma2 (soft-capped scores, alternating windows), gemma3_text (local RoPE base on the
sliding layers), gpt_oss (attention sinks, YaRN, windows) granite (attention multiplier), gpt_neox and phi (parallel blocks, partial rotary, phi's q/k
LayerNorms) and deepseek_v2 / v3 (MLA: the cache holds each head's expanded keys and values).
Each cached step must give the logits that a full pass over the prompt and the tokens chosen
so far gives for its last position, within 1e-4 of their scale: the full pass itself is held
to PyTorch by test_engine_families.py, so a cached step that used the wrong rotary table, a
window counted from the wrong position or a sink lost in the cached softmax fails here.
Seeded random weights (`--random-weights --seed`), the same in every process."""
import os
import subprocess
import tempfile
import json

import engine_check as C
import ref_models as R

C.require_exe()
STEPS = 4 if C.SANITIZE else 8


def run(cpath, toks, extra, dump):
    cmd = [C.EXE, "run", cpath, "--random-weights", "--seed", "5", "--tokens",
           ",".join(map(str, toks)), "--dump", dump] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        C.die("engine failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    return p.stdout


def check(name, cfg, seed):
    prompt = C.tokens_for(cfg["vocab_size"], 6, seed)
    with tempfile.TemporaryDirectory() as d:
        cpath = os.path.join(d, "config.json")
        with open(cpath, "w") as f:
            json.dump(cfg, f)
        out = run(cpath, prompt, ["--generate", str(STEPS), "--dump-filter", "generate.*"],
                  os.path.join(d, "g.safetensors"))
        ids = [int(t) for t in [l for l in out.splitlines() if l.startswith("generated ids:")][0]
               .split(":", 1)[1].split(",")]
        gen = R.read_safetensors(os.path.join(d, "g.safetensors"))["generate.logits"].float()
        worst = 0.0
        for s in range(STEPS):
            run(cpath, prompt + ids[:s], ["--dump-filter", "logits"], os.path.join(d, "f.safetensors"))
            full = R.read_safetensors(os.path.join(d, "f.safetensors"))["logits"].float()
            last = full.reshape(-1, full.shape[-1])[-1]
            scale = last.abs().max().item()
            err = (gen[s] - last).abs().max().item()
            if not err <= 1e-4 * scale:
                C.die("%s: cached step %d differs from a full pass by %.3g (scale %.3g)" % (name, s, err, scale))
            worst = max(worst, err / scale)
    print("  %s: %d cached steps equal full passes (worst %.2e of scale)" % (name, STEPS, worst))


base = {"vocab_size": 128, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
        "rms_norm_eps": 1e-6}
check("qwen3, q/k norms, window 3 on layer 2+", dict(base, model_type="qwen3", architectures=["Qwen3ForCausalLM"],
      head_dim=32, rope_theta=1e6, use_sliding_window=True, sliding_window=3, max_window_layers=1), 1)
check("gemma2, soft-caps, window 3", dict(base, model_type="gemma2", architectures=["Gemma2ForCausalLM"],
      head_dim=32, query_pre_attn_scalar=24, sliding_window=3, attn_logit_softcapping=0.5,
      final_logit_softcapping=1.5), 2)
check("gemma3_text, local RoPE base", dict(base, model_type="gemma3_text", architectures=["Gemma3ForCausalLM"],
      head_dim=32, query_pre_attn_scalar=24, sliding_window=3, sliding_window_pattern=2,
      rope_theta=1e6, rope_local_base_freq=100.0), 3)
check("gpt_oss, sinks, yarn, window 3", dict(base, model_type="gpt_oss", architectures=["GptOssForCausalLM"],
      head_dim=32, intermediate_size=48, num_local_experts=4, num_experts_per_tok=2, sliding_window=3,
      rope_theta=150000.0, max_position_embeddings=2048,
      rope_scaling={"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0,
                    "truncate": False, "original_max_position_embeddings": 64}), 4)
check("granite, multipliers", dict(base, model_type="granite", architectures=["GraniteForCausalLM"],
      embedding_multiplier=12.0, attention_multiplier=0.09, residual_multiplier=0.22,
      logits_scaling=8.0), 5)
check("gpt_neox, parallel residual, partial rotary", {"model_type": "gpt_neox",
      "architectures": ["GPTNeoXForCausalLM"], "vocab_size": 128, "hidden_size": 64,
      "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4, "rotary_pct": 0.25,
      "rotary_emb_base": 10000, "max_position_embeddings": 64, "layer_norm_eps": 1e-5,
      "hidden_act": "gelu", "use_parallel_residual": True}, 6)
check("phi, qk_layernorm, GQA", {"model_type": "phi", "architectures": ["PhiForCausalLM"],
      "vocab_size": 128, "hidden_size": 64, "intermediate_size": 256, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "partial_rotary_factor": 0.5,
      "rope_theta": 10000.0, "max_position_embeddings": 64, "layer_norm_eps": 1e-5,
      "hidden_act": "gelu_new", "qk_layernorm": True}, 7)
ds = {"model_type": "deepseek_v3", "architectures": ["DeepseekV3ForCausalLM"], "vocab_size": 128,
      "hidden_size": 64, "intermediate_size": 128, "moe_intermediate_size": 32,
      "num_hidden_layers": 3, "first_k_dense_replace": 1, "num_attention_heads": 4,
      "num_key_value_heads": 4, "q_lora_rank": 48, "kv_lora_rank": 32, "qk_rope_head_dim": 16,
      "qk_nope_head_dim": 24, "v_head_dim": 20, "max_position_embeddings": 64,
      "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "n_routed_experts": 8,
      "num_experts_per_tok": 2, "n_group": 2, "topk_group": 1, "n_shared_experts": 1}
check("deepseek_v3, MLA (cache of expanded keys/values), MoE", ds, 8)
check("deepseek_v2, MLA, greedy routing", dict(ds, model_type="deepseek_v2",
      architectures=["DeepseekV2ForCausalLM"], topk_method="greedy", n_group=None, topk_group=None), 9)
print("ok")
