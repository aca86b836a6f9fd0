"""test_readers.py: every dtype and every GGUF quantization read by layerscope against an
independent numpy decoding. Fixtures are generated here (seeded) by lib_tensorgen's
writers; layerscope's `stats --format json` figures are compared with numpy float64
statistics of the reference values, and `diff --rtol 0 --atol 0` against a safetensors file
holding the reference values as f32 must report every tensor identical (which also checks
names, upstream dimension order, the q/k row permutation, npy Fortran order and shards)."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import lib_tensorgen as tg

LS = os.environ.get("LAYERSCOPE", "layerscope")
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def run(*args, ok=(0,)):
    p = subprocess.run([LS, *args], capture_output=True, text=True)
    if p.returncode not in ok:
        print(p.stdout[-3000:], p.stderr[-3000:])
        raise SystemExit(f"layerscope {' '.join(args)} exited {p.returncode}")
    return p


def stats_json(*paths):
    return {t["name"]: t for t in json.loads(run("stats", "--format", "json", *paths, ok=(0, 1)).stdout)["tensors"]}


def close(a, b, rel=1e-6, abs_=1e-12):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


def compare_stats(name, got, ref, rel=1e-6):
    for k in ("count", "finite", "nan", "pinf", "ninf", "zeros"):
        check(got[k] == ref[k], f"{name}: {k} {got[k]} != numpy {ref[k]}")
    # The mean is compared relative to |mean| + std: a sum's rounding error scales with the
    # magnitude of its terms, so a mean near zero has no meaningful relative error of its own.
    spread = (abs(ref["mean"]) + ref["std"]) if ref["mean"] is not None else 0
    check(close(got["mean"], ref["mean"], 0, rel * spread), f"{name}: mean {got['mean']} != numpy {ref['mean']}")
    for k in ("std", "min", "max"):
        check(close(got[k], ref[k], rel), f"{name}: {k} {got[k]} != numpy {ref[k]}")


def expect_identical(a, b, what):
    p = run("diff", a, b, "--rtol", "0", "--atol", "0", "--format", "json", ok=(0, 1))
    rows = json.loads(p.stdout)["tensors"]
    for r in rows:
        check(r["status"] == "match", f"{what}: {r['name']}: {r['status']} (max_abs {r.get('max_abs')}, first {r.get('first_mismatch')})")
    check(p.returncode == 0, f"{what}: diff exit {p.returncode}")
    return rows


def test_safetensors_dtypes(d, rng):
    shape = (37, 29)
    n = shape[0] * shape[1]
    tensors, refs = [], {}
    x = rng.standard_normal(n) * 3 + 0.5
    x[[3, 17]] = 0.0
    x[5] = np.nan
    x[6] = np.inf
    x[7] = -np.inf
    tensors.append(("t.f64", "F64", shape, x.astype("<f8").tobytes())); refs["t.f64"] = x.astype(np.float32)
    tensors.append(("t.f32", "F32", shape, x.astype("<f4").tobytes())); refs["t.f32"] = x.astype(np.float32)
    tensors.append(("t.f16", "F16", shape, x.astype("<f2").tobytes())); refs["t.f16"] = x.astype(np.float16).astype(np.float32)
    bb = tg.f32_to_bf16_bits(x.astype(np.float32))
    tensors.append(("t.bf16", "BF16", shape, bb.tobytes())); refs["t.bf16"] = tg.bf16_bits_to_f32(bb)
    raw8 = rng.integers(0, 256, n).astype(np.uint8)
    tensors.append(("t.e4m3", "F8_E4M3", shape, raw8.tobytes())); refs["t.e4m3"] = tg.e4m3_to_f64(raw8).astype(np.float32)
    with np.errstate(invalid="ignore"):
        refs["t.e5m2"] = tg.e5m2_to_f64(raw8).astype(np.float32)
    tensors.append(("t.e5m2", "F8_E5M2", shape, raw8.tobytes()))
    for dt, npd in (("I64", "<i8"), ("I32", "<i4"), ("I16", "<i2"), ("I8", "i1"), ("U64", "<u8"), ("U32", "<u4"),
                    ("U16", "<u2"), ("U8", "u1")):
        info = np.iinfo(np.dtype(npd))
        v = rng.integers(max(info.min, -(1 << 20)), min(info.max, 1 << 20), n).astype(npd)
        v[:5] = 0
        tensors.append((f"t.{dt.lower()}", dt, shape, v.tobytes())); refs[f"t.{dt.lower()}"] = v.astype(np.float32)
    bo = rng.integers(0, 2, n).astype(np.uint8)
    tensors.append(("t.bool", "BOOL", shape, bo.tobytes())); refs["t.bool"] = bo.astype(np.float32)
    tensors.append(("t.scalar", "F32", (), np.float32(2.5).tobytes())); refs["t.scalar"] = np.array([2.5], np.float32)
    tensors.append(("t.empty", "F32", (0, 4), b"")); refs["t.empty"] = np.zeros(0, np.float32)
    path = os.path.join(d, "dtypes.safetensors")
    tg.write_safetensors(path, tensors, metadata={"format": "pt"})
    got = stats_json(path)
    check(sorted(got) == sorted(refs), f"tensor names {sorted(got)}")
    for name, ref in refs.items():
        if ref.size:
            compare_stats(name, got[name], tg.ref_stats(ref))
        check(got[name]["shape"] == list(dict((t[0], t[2]) for t in tensors)[name]), f"{name}: shape {got[name]['shape']}")
    # Subnormals of the stored type (an f16 subnormal is normal in f32).
    sub = np.array([1e-40, -3e-39, 0.0, 1.0, 1e-5, 5e-8], dtype=np.float32)
    p2 = os.path.join(d, "subn.safetensors")
    tg.write_safetensors(p2, [("s32", "F32", [6], sub.tobytes()), ("s16", "F16", [6], sub.astype(np.float16).tobytes())])
    g = stats_json(p2)
    s16 = sub.astype(np.float16)
    check(g["s32"]["subnormals"] == int(((sub != 0) & (np.abs(sub) < np.finfo(np.float32).tiny)).sum()), f"f32 subnormals {g['s32']['subnormals']}")
    check(g["s16"]["subnormals"] == int(((s16 != 0) & (np.abs(s16) < np.finfo(np.float16).tiny)).sum()), f"f16 subnormals {g['s16']['subnormals']}")
    # Element-wise: every dtype dequantizes exactly to the numpy reference.
    ref_path = os.path.join(d, "dtypes_ref.safetensors")
    tg.write_safetensors(ref_path, [(k, "F32", dict((t[0], t[2]) for t in tensors)[k], v.astype("<f4").tobytes()) for k, v in refs.items()])
    expect_identical(path, ref_path, "dtypes")


def test_gguf(d, rng, version):
    n_head, n_kv, hd, hidden = 4, 2, 8, 64
    q_up = rng.standard_normal((n_head * hd, hidden)).astype(np.float16).astype(np.float32)
    k_up = rng.standard_normal((n_kv * hd, hidden)).astype(np.float32)
    tensors, ref = [], []
    tensors.append(("blk.0.attn_q.weight", "f16", q_up.shape, tg.llama_permute(q_up, n_head).astype("<f2").tobytes()))
    ref.append(("model.layers.0.self_attn.q_proj.weight", q_up))
    raw, vals = tg.quant_q8_0(tg.llama_permute(k_up, n_kv).reshape(-1))
    tensors.append(("blk.0.attn_k.weight", "q8_0", k_up.shape, raw))
    # Undo the permutation of the decoded values to get upstream order.
    perm = tg.llama_permute(np.arange(k_up.shape[0]), n_kv)  # stored row r holds upstream row perm[r]
    up = np.empty_like(vals.reshape(k_up.shape))
    up[perm] = vals.reshape(k_up.shape)
    ref.append(("model.layers.0.self_attn.k_proj.weight", up))
    x = rng.standard_normal((3, 2 * 256)).astype(np.float32) * 0.05
    for tn, fn, gname, upname in (("q4_0", tg.quant_q4_0, "blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight"),
                                  ("q4_1", tg.quant_q4_1, "blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight"),
                                  ("q5_0", tg.quant_q5_0, "blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight"),
                                  ("q5_1", tg.quant_q5_1, "blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight")):
        raw, vals = fn(x.reshape(-1))
        tensors.append((gname, tn, x.shape, raw)); ref.append((upname, vals.reshape(x.shape)))
    raw, vals = tg.quant_q4_k(6, rng)
    tensors.append(("blk.0.ffn_down.weight", "q4_k", (3, 512), raw)); ref.append(("model.layers.0.mlp.down_proj.weight", vals.reshape(3, 512)))
    raw, vals = tg.quant_q6_k(4, rng)
    tensors.append(("output.weight", "q6_k", (2, 512), raw)); ref.append(("lm_head.weight", vals.reshape(2, 512)))
    e = rng.standard_normal((10, hidden)).astype(np.float32)
    eb = tg.f32_to_bf16_bits(e)
    tensors.append(("token_embd.weight", "bf16", e.shape, eb.tobytes())); ref.append(("model.embed_tokens.weight", tg.bf16_bits_to_f32(eb)))
    nw = rng.standard_normal(hidden).astype(np.float32)
    tensors.append(("output_norm.weight", "f32", nw.shape, nw.tobytes())); ref.append(("model.norm.weight", nw))
    tensors.append(("blk.0.attn_norm.weight", "f64", nw.shape, nw.astype("<f8").tobytes())); ref.append(("model.layers.0.input_layernorm.weight", nw))
    kvs = [("general.architecture", tg.GSTR, "llama"), ("general.alignment", tg.GU32, 64),
           ("llama.attention.head_count", tg.GU32, n_head), ("llama.attention.head_count_kv", tg.GU32, n_kv),
           ("tokenizer.ggml.tokens", tg.GARR, (tg.GSTR, ["a", "b", "c"])), ("llama.rope.freq_base", tg.GF32, 10000.0),
           ("general.nested", tg.GARR, (tg.GARR, [(tg.GU8, [1, 2]), (tg.GU8, [3])]))]
    gpath = os.path.join(d, f"model_v{version}.gguf")
    tg.write_gguf(gpath, kvs, tensors, version=version, alignment=64)
    rpath = os.path.join(d, f"model_v{version}_ref.safetensors")
    tg.write_safetensors(rpath, [(n, "F32", v.shape, v.astype("<f4").tobytes()) for n, v in ref])
    rows = expect_identical(gpath, rpath, f"gguf v{version}")
    check(len(rows) == len(ref), f"gguf v{version}: {len(rows)} tensors compared")
    got = stats_json(gpath)
    for n, v in ref:
        check(n in got, f"gguf: upstream name {n} missing ({sorted(got)})")
        if n in got:
            check(got[n]["shape"] == list(v.shape), f"gguf {n}: shape {got[n]['shape']} != {list(v.shape)}")
            compare_stats(f"gguf {n}", got[n], tg.ref_stats(v))


def test_gguf_gpt2_names(d, rng):
    """gpt2 architecture: llama.cpp names map to transformer.* names; shapes reversed."""
    w = rng.standard_normal((6, 4)).astype(np.float32)
    names = {"token_embd.weight": "transformer.wte.weight", "position_embd.weight": "transformer.wpe.weight",
             "output_norm.bias": "transformer.ln_f.bias", "blk.11.attn_qkv.weight": "transformer.h.11.attn.c_attn.weight",
             "blk.11.ffn_down.bias": "transformer.h.11.mlp.c_proj.bias", "blk.2.attn_norm.weight": "transformer.h.2.ln_1.weight",
             "custom.thing": "custom.thing"}
    path = os.path.join(d, "gpt2.gguf")
    tg.write_gguf(path, [("general.architecture", tg.GSTR, "gpt2")], [(k, "f32", w.shape, w.tobytes()) for k in names])
    got = stats_json(path)
    check(sorted(got) == sorted(names.values()), f"gpt2 names {sorted(got)}")
    for n in names.values():
        if n in got:
            check(got[n]["shape"] == [6, 4], f"gpt2 {n}: shape {got[n]['shape']}")


def test_npy(d, rng):
    a = rng.standard_normal((5, 7, 3)).astype(np.float32)
    ref = []
    for ver in ((1, 0), (2, 0), (3, 0)):
        for order in ("C", "F"):
            name = f"arr_v{ver[0]}_{order}"
            arr = np.asfortranarray(a) if order == "F" else np.ascontiguousarray(a)
            with open(os.path.join(d, name + ".npy"), "wb") as f:
                np.lib.format.write_array(f, arr, version=ver)
            ref.append((name, a))
    np.save(os.path.join(d, "ints.npy"), np.arange(-50, 50, dtype=np.int16).reshape(10, 10))
    for name, v in ref:
        p = os.path.join(d, name + ".npy")
        rp = os.path.join(d, name + "_ref.safetensors")
        tg.write_safetensors(rp, [(name, "F32", v.shape, v.astype("<f4").tobytes())])
        expect_identical(p, rp, name)
        compare_stats(name, stats_json(p)[name], tg.ref_stats(v))
    compare_stats("ints", stats_json(os.path.join(d, "ints.npy"))["ints"], tg.ref_stats(np.arange(-50, 50)))


def test_sharded(d, rng):
    sd = os.path.join(d, "sharded")
    os.makedirs(sd)
    wm, single = {}, []
    for s in range(3):
        ts = []
        for i in range(4):
            name = f"model.layers.{s * 4 + i}.mlp.up_proj.weight"
            v = rng.standard_normal((8, 16)).astype(np.float32)
            ts.append((name, "F32", v.shape, v.tobytes()))
            single.append(ts[-1])
            wm[name] = f"model-0000{s + 1}-of-00003.safetensors"
        tg.write_safetensors(os.path.join(sd, f"model-0000{s + 1}-of-00003.safetensors"), ts)
    with open(os.path.join(sd, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f)
    tg.write_safetensors(os.path.join(d, "merged.safetensors"), single)
    rows = expect_identical(os.path.join(sd, "model.safetensors.index.json"), os.path.join(d, "merged.safetensors"), "index")
    check(len(rows) == 12, f"sharded: {len(rows)} tensors")
    expect_identical(sd, os.path.join(d, "merged.safetensors"), "directory")


def main():
    rng = np.random.default_rng(20261123)
    with tempfile.TemporaryDirectory() as d:
        test_safetensors_dtypes(d, rng)
        test_gguf(d, rng, 3)
        test_gguf(d, rng, 2)
        test_gguf_gpt2_names(d, rng)
        test_npy(d, rng)
        test_sharded(d, rng)
    if FAILS:
        print(f"{len(FAILS)} failures")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
