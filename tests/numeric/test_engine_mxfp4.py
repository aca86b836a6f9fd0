"""test_engine_mxfp4.py: gpt_oss with its experts stored as the published checkpoints store
them, in MXFP4 (mlp.experts.gate_up_proj_blocks / _scales, down_proj_blocks / _scales: u8,
[E, out, in / 32, 16] and [E, out, in / 32], e2m1 values two a byte, low nibble first,
scale 2^(s - 127) per 32 values), everything else f32 or bf16. The seeded random experts are
quantized here (ref_models.quant_mxfp4), the reference (ref_decoders.py's gpt_oss) runs on
what transformers' convert_moe_packed_tensors (integrations/mxfp4.py, ported in
ref_models.py) decodes them to, and the engine, which decodes them a panel at a time in its
products, must agree with it module by module within 1e-4 of each output's scale. A second
case has experts whose blocks span exponents far apart (scales from 2^-20 to 2^4), and
rows of zeros. `layerscope debug` (whose launch checks the file first) runs the same file and
shows the experts' parameter as the blocks it is stored as (u8 [E, out, in / 32, 16]). A
file whose scales do not match their blocks must be refused with a message naming the MXFP4
pair."""
import subprocess
import tempfile

import torch

import engine_check as C
import ref_decoders
import ref_models as R

C.require_exe()
small = C.SANITIZE
H = 64 if small else 96
S = 10 if small else 32

gpt_oss = {"model_type": "gpt_oss", "architectures": ["GptOssForCausalLM"], "vocab_size": 128,
           "hidden_size": H, "intermediate_size": 64, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
           "num_local_experts": 4, "num_experts_per_tok": 2, "sliding_window": 4,
           "rms_norm_eps": 1e-5, "rope_theta": 150000.0, "max_position_embeddings": 32 * 64,
           "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0,
                            "beta_slow": 1.0, "truncate": False,
                            "original_max_position_embeddings": 64},
           "quantization_config": {"quant_method": "mxfp4",
                                   "modules_to_not_convert": ["model.layers.*.self_attn",
                                                              "model.layers.*.mlp.router",
                                                              "model.embed_tokens", "lm_head"]}}


def oss_weights(w):
    ref_decoders.gpt_oss_test_weights(w, 51)


def spread(w):
    """oss_weights, then each expert block row scaled by 2^-20 .. 2^4 and some rows zero."""
    oss_weights(w)
    g = torch.Generator().manual_seed(52)
    for k in list(w):
        if k.endswith("experts.gate_up_proj") or k.endswith("experts.down_proj"):
            E, n_in, n_out = w[k].shape
            e = torch.randint(-20, 5, (E, n_in // 32, 1, n_out), generator=g).float()
            t = w[k].reshape(E, n_in // 32, 32, n_out) * torch.pow(2.0, e)
            t[:, :, :, 0] = 0.0
            w[k] = t.reshape(E, n_in, n_out)


def mxfp4(w):
    packed = {}
    for k, v in w.items():
        if k.endswith("experts.gate_up_proj") or k.endswith("experts.down_proj"):
            blocks, scales = R.quant_mxfp4(v)
            deq = R.convert_moe_packed_tensors(blocks, scales)
            # the quantizer is faithful: e2m1 rounds within a third of each block's max
            # (s = ceil(log2(amax / 6)) puts amax above 3 scale units, steps are <= 2 units)
            err = (deq - v).abs().reshape(v.shape[0], -1, 32, v.shape[2]).amax(dim=2)
            amax = v.abs().reshape(v.shape[0], -1, 32, v.shape[2]).amax(dim=2)
            if not bool((err <= amax / 3 + 1e-30).all()) or not bool(deq.abs().max() > 0):
                C.die("%s: the MXFP4 quantizer is off (error %g)" % (k, float(err.max())))
            packed[k] = ({k + "_blocks": ("U8", blocks.numpy()), k + "_scales": ("U8", scales.numpy())}, deq)
    return packed


C.check_case("gpt_oss, mxfp4 experts", gpt_oss, C.tokens_for(128, S, 51), seed=51,
             mutate=oss_weights, pack=mxfp4)
with tempfile.TemporaryDirectory() as d:
    model = R.build(gpt_oss)
    w = R.random_weights(model, 54)
    cpath, wpath = C.write_model(d, gpt_oss, model, w, "F32", mxfp4(w))
    p = subprocess.run([C.EXE, "debug", cpath, "--weights", wpath, "--tokens", "1,2,3",
                        "--break", "model.layers.0.mlp.experts", "--eval", "gate_up_proj"],
                       capture_output=True, text=True, timeout=300)
    want = "u8[4,128,%d,16]" % (H // 32)
    if p.returncode != 0 or want not in p.stdout or "done:" not in p.stdout:
        C.die("layerscope debug on MXFP4 experts: rc %d, want %s in:\n%s%s"
              % (p.returncode, want, p.stdout, p.stderr))
    print("  layerscope debug, mxfp4 experts: %s" % next(l for l in p.stdout.splitlines() if want in l).strip())
C.check_case("gpt_oss, mxfp4 experts with spread scales, bf16 rest", gpt_oss,
             C.tokens_for(128, S, 52), wdtype="BF16", seed=52, mutate=spread, pack=mxfp4)
model = R.build(gpt_oss)
w = R.random_weights(model, 53)
enc = {}
for k, v in w.items():
    enc.update(mxfp4({k: v})[k][0] if k.endswith("experts.down_proj") else {k: C.encode(v, "F32")})
bad = next(k for k in enc if k.endswith("down_proj_scales"))
enc[bad] = ("U8", enc[bad][1][:, :, :1].copy())  # one block of scales per row, not two
C.expect_refusal("mismatched MXFP4 scales", gpt_oss, enc, ["MXFP4", "down_proj"])
print("ok")
