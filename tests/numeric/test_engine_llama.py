"""test_engine_llama.py: the engine's llama-family forward passes against the PyTorch
reference (ref_models.LlamaForCausalLM: fp32 RMSNorm, rotate-half RoPE, GQA, SwiGLU):
llama with grouped-query attention in f32 and bf16, TinyLlama's shape ratios, every upstream
rope_scaling variant (linear, dynamic with the sequence beyond max_position_embeddings,
llama3), attention_bias, tied embeddings, mistral's sliding window (shorter than the
sequence, so it matters), and qwen2's q/k/v biases. Every module output and the logits must
agree within 1e-4 of their scale."""
import engine_check as C

C.require_exe()
small = C.SANITIZE
H = 64 if small else 128
base = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 128,
        "hidden_size": H, "intermediate_size": 2 * H + 32, "num_hidden_layers": 2,
        "num_attention_heads": 8, "num_key_value_heads": 2, "max_position_embeddings": 64,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": False}
S = 12 if small else 40
toks = C.tokens_for(base["vocab_size"], S, 2)

C.check_case("llama gqa f32", base, toks, seed=5)
C.check_case("llama gqa bf16", base, toks, wdtype="BF16", seed=6)
C.check_case("llama tied, attention_bias", dict(base, tie_word_embeddings=True, attention_bias=True,
                                                num_key_value_heads=8), toks, seed=7)
C.check_case("llama rope linear", dict(base, rope_scaling={"type": "linear", "factor": 4.0}), toks, seed=8)
C.check_case("llama rope dynamic", dict(base, max_position_embeddings=S // 2,
                                        rope_scaling={"type": "dynamic", "factor": 2.0}), toks, seed=9)
C.check_case("llama3 rope", dict(base, rope_theta=500000.0,
                                 rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                               "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                               "original_max_position_embeddings": 16}),
             toks, seed=10)
mistral = dict(base, model_type="mistral", architectures=["MistralForCausalLM"], sliding_window=5)
C.check_case("mistral sliding window 5", mistral, toks, seed=11)
qwen2 = dict(base, model_type="qwen2", architectures=["Qwen2ForCausalLM"], rope_theta=1000000.0)
C.check_case("qwen2 qkv bias", qwen2, toks, wdtype="BF16", seed=12)
print("ok")
