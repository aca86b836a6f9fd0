"""test_engine_parallel.py: the engine against the PyTorch references of ref_parallel.py
(written from upstream modeling_gpt_neox.py and modeling_phi.py, cited there), on seeded
random weights with the upstream tensor names, every module output and the logits within
1e-4 of their scale:
  gpt_neox -- query_key_value with each head's q, k, v adjacent, partial rotary
              (rotary_pct 0.25, rotary_emb_base), LayerNorms with bias, erf GELU, the
              parallel residual, then use_parallel_residual false (sequential residuals)
              with attention_bias false and a tied embed_out;
  phi      -- one input_layernorm feeding attention and MLP, partial_rotary_factor 0.5,
              dense, gelu_new, final_layernorm, lm_head with bias; then qk_layernorm
              (LayerNorm over head_dim on [B, heads, S, head_dim]) with GQA."""
import engine_check as C

C.require_exe()
small = C.SANITIZE
H = 64 if small else 128
S = 10 if small else 32

neox = {"model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"], "vocab_size": 128,
        "hidden_size": H, "intermediate_size": 4 * H, "num_hidden_layers": 2,
        "num_attention_heads": 4, "rotary_pct": 0.25, "rotary_emb_base": 10000,
        "max_position_embeddings": 64, "layer_norm_eps": 1e-5, "hidden_act": "gelu",
        "use_parallel_residual": True}
C.check_case("gpt_neox, parallel residual", neox, C.tokens_for(128, S, 41), seed=41)
C.check_case("gpt_neox, sequential residual, no attention bias, tied",
             dict(neox, use_parallel_residual=False, attention_bias=False, tie_word_embeddings=True,
                  rotary_pct=0.5, rotary_emb_base=500),
             C.tokens_for(128, S, 42), seed=42)

phi = {"model_type": "phi", "architectures": ["PhiForCausalLM"], "vocab_size": 128,
       "hidden_size": H, "intermediate_size": 4 * H, "num_hidden_layers": 2,
       "num_attention_heads": 4, "partial_rotary_factor": 0.5, "rope_theta": 10000.0,
       "max_position_embeddings": 64, "layer_norm_eps": 1e-5, "hidden_act": "gelu_new"}
C.check_case("phi", phi, C.tokens_for(128, S, 43), seed=43)
C.check_case("phi, qk_layernorm, GQA", dict(phi, qk_layernorm=True, num_key_value_heads=2,
                                            partial_rotary_factor=0.25),
             C.tokens_for(128, S, 44), seed=44,
             layout=C.heads_major_to_seq_major(".q_layernorm", ".k_layernorm"))
print("ok")
