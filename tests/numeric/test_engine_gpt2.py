"""test_engine_gpt2.py: the engine's GPT-2 forward pass against the PyTorch reference
(ref_models.GPT2LMHeadModel, upstream semantics: Conv1D [in, out] weights, tanh GELU,
learned positions, lm_head tied to wte) on seeded random weights stored as f32, bf16 and f16:
every module output and the logits must agree within 1e-4 of their scale. Under ASan
(LS_SANITIZE=1) the model is smaller."""
import engine_check as C

C.require_exe()
small = C.SANITIZE
cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 160,
       "n_positions": 64, "n_embd": 64 if small else 128, "n_layer": 2 if small else 3,
       "n_head": 4, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}
toks = C.tokens_for(cfg["vocab_size"], 12 if small else 40, 1)
for dt in ("F32", "BF16", "F16"):
    C.check_case("gpt2 " + dt.lower(), cfg, toks, wdtype=dt, seed=3)
# n_inner set explicitly, and a single token
cfg2 = dict(cfg, n_inner=96, n_layer=1)
C.check_case("gpt2 n_inner=96", cfg2, toks[:1], seed=4)
print("ok")
