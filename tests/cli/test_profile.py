"""test_profile.py: `layerscope profile` through the CLI, on small llama, gpt2 and mixtral
configs with seeded random weights.

The parts add up: every module's self time plus its children's totals is its total, the
self times of all modules and the per-kind totals each sum to the root's total exactly
(integer nanoseconds), and the root's total agrees with outside clocks: it is at most the
pass's wall time measured around ls_fwd_run, which exceeds it by at most 5 ms + 5% (the
code of ls_fwd_run outside the root module's events), and that wall time is at most the
whole process's time measured here.

FLOPs and bytes are checked against figures computed here from the config (not from
layerscope's output): 2 x weights x rows for each product, 4 x S x keys x heads x head_dim
for attention, an expert's product on the tokens routed to it, an embedding's rows looked
up, the LM head's weight and activations. With given peaks the roofline is checked against
its definition. The exports: the collapsed stacks sum to the total, the SVG parses as XML
with one box per module call in proportion to its time. Usage errors exit 2, a file that
cannot be written exits 1 naming it. A model directory profiles its config.json, with its
weights when it holds a safetensors file (without any: an error unless --random-weights). (The trace is checked against the Trace Event Format
by test_profile_trace.js.)"""
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from math import prod

LS = os.environ.get("LAYERSCOPE", "layerscope")
FAILS = []

LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
         "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
         "num_hidden_layers": 2, "vocab_size": 96, "max_position_embeddings": 2048,
         "torch_dtype": "float32"}
GPT2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 96, "n_positions": 64,
        "n_embd": 32, "n_layer": 2, "n_head": 4}
MIXTRAL = {"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "hidden_size": 32,
           "intermediate_size": 48, "num_attention_heads": 4, "num_key_value_heads": 2,
           "num_hidden_layers": 2, "vocab_size": 96, "num_local_experts": 4, "num_experts_per_tok": 2,
           "max_position_embeddings": 512, "torch_dtype": "float32"}


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def ls(*args, timeout=300):
    return subprocess.run([LS] + list(args), capture_output=True, text=True, timeout=timeout)


def profile(cfg, *extra):
    t0 = time.perf_counter()
    p = ls("profile", cfg, "--format", "json", "--threads", "2", *extra)
    outside_ns = (time.perf_counter() - t0) * 1e9
    check(p.returncode == 0, "profile %s %s: exit %d: %s" % (cfg, extra, p.returncode, p.stderr))
    if p.returncode:
        return None, 0
    return json.loads(p.stdout), outside_ns


def by_name(prof):
    return {m["name"]: m for m in prof["modules"]}


def check_sums(prof, outside_ns, what):
    mods = prof["modules"]
    total = prof["total_ns"]
    check(total > 0, what + ": total is 0")
    check(sum(m["self_ns"] for m in mods) == total, what + ": self times do not sum to the total")
    check(sum(k["self_ns"] for k in prof["kinds"]) == total, what + ": the kinds do not sum to the total")
    idx = {m["index"]: m for m in mods}
    for m in mods:
        kids = sum(c["total_ns"] for c in mods if c["parent"] == m["index"])
        check(m["self_ns"] + kids == m["total_ns"], what + ": %s: self + children != total" % m["name"])
        check(m["self_ns"] >= 0 and m["total_ns"] >= 0, what + ": %s: negative time" % m["name"])
        if m["parent"] >= 0:
            check(m["parent"] in idx, what + ": %s: its parent did not run" % m["name"])
    root = idx.get(0)
    check(root is not None and root["total_ns"] == total, what + ": the root's total is not the total")
    wall = prof["wall_ns"]
    check(total <= wall <= total + 5e6 + 0.05 * total,
          what + ": wall %d ns vs root total %d ns: outside the stated bound" % (wall, total))
    check(wall <= outside_ns, what + ": the pass (%d ns) took longer than the whole process (%d ns)" % (wall, outside_ns))


def llama_checks(prof, S):
    H, I, V, L = 32, 64, 96, 2
    nh, nkv, D = 4, 2, 8
    per_layer = 2 * H * nh * D + 2 * 2 * H * nkv * D + 2 * nh * D * H + 3 * 2 * H * I + 4 * S * nh * D
    expect = S * (L * per_layer + 2 * H * V)
    m = by_name(prof)
    check(m[""]["flops"] == expect, "llama: root FLOPs %d, expected %d" % (m[""]["flops"], expect))
    check(m["model.layers.0.self_attn"]["self_flops"] == 4 * S * S * nh * D, "llama: attention's own FLOPs")
    check(m["model.layers.1.self_attn.k_proj"]["flops"] == 2 * S * H * nkv * D, "llama: k_proj FLOPs")
    check(m["model.norm"]["flops"] == 0, "llama: a norm has FLOPs")
    head = m["lm_head"]
    check(head["weight_bytes"] == V * H * 4, "llama: lm_head weight bytes %d" % head["weight_bytes"])
    check(head["act_bytes"] == S * H * 4 + S * V * 4, "llama: lm_head activation bytes %d" % head["act_bytes"])
    emb = m["model.embed_tokens"]
    check(emb["weight_bytes"] == S * H * 4, "llama: embedding bytes are the rows looked up, got %d" % emb["weight_bytes"])
    probs = 4 * nh * S * S * 2  # [1, nh, S, S] f32, written then read
    check(m["model.layers.0.self_attn"]["act_bytes"] - sum(
        m["model.layers.0.self_attn." + p]["act_bytes"] for p in ("q_proj", "k_proj", "v_proj", "o_proj")) == probs,
        "llama: attention's own bytes are its probabilities written and read")
    kinds = {k["kind"]: k for k in prof["kinds"]}
    check(kinds["attention"]["flops"] == L * (per_layer - 3 * 2 * H * I) * S, "llama: attention kind FLOPs")
    check(kinds["head"]["flops"] == 2 * H * V * S, "llama: head kind FLOPs")
    for name, kind in (("model.layers.0.self_attn.q_proj", "attention"), ("model.layers.0.mlp.down_proj", "mlp"),
                       ("model.layers.0.input_layernorm", "norm"), ("model.embed_tokens", "embedding"),
                       ("lm_head", "head"), ("model.layers.0", "other")):
        check(m[name]["kind"] == kind, "llama: %s counts as %s, not %s" % (name, m[name]["kind"], kind))


def roofline_checks(prof):
    pk = prof["peaks"]
    check(pk["given"] and pk["gflops"] == 100 and pk["gbps"] == 10 and abs(pk["ridge"] - 10) < 1e-9,
          "given peaks not used: %s" % pk)
    for m in prof["modules"]:
        if m["total_ns"] <= 0:
            continue
        byts = m["weight_bytes"] + m["act_bytes"]
        gflops = m["flops"] / m["total_ns"]
        check(abs(m["gflops"] - gflops) <= 1e-9 * max(1, gflops), "%s: GFLOP/s" % m["name"])
        if m["flops"] and byts:
            ai = m["flops"] / byts
            roof = min(100.0, ai * 10.0)
            want = "memory" if ai < 10 else "compute"
            check(m["bound"] == want, "%s: %s-bound at %.2f FLOP/byte" % (m["name"], m["bound"], ai))
            check(abs(m["roof_frac"] - gflops / roof) <= 1e-6 * max(1, gflops / roof), "%s: roof fraction" % m["name"])
        elif byts:
            check(m["bound"] == "memory" and abs(m["roof_frac"] - byts / m["total_ns"] / 10) < 1e-6,
                  "%s: a module without FLOPs sits under the bandwidth roof" % m["name"])


def main():
    with tempfile.TemporaryDirectory() as d:
        cfgs = {}
        for name, c in (("llama", LLAMA), ("gpt2", GPT2), ("mixtral", MIXTRAL)):
            cfgs[name] = os.path.join(d, name + ".json")
            with open(cfgs[name], "w") as f:
                json.dump(c, f)

        S = 24
        prof, outside = profile(cfgs["llama"], "--random-tokens", str(S), "--peak-gflops", "100", "--peak-gbps", "10")
        if prof:
            check_sums(prof, outside, "llama")
            llama_checks(prof, S)
            roofline_checks(prof)
            check(prof["seq"] == S and prof["threads"] == 2 and prof["separate_products"], "llama: header fields")
            check(prof["next_tokens"].startswith("top-5 next tokens:"), "llama: no result line")

        prof, outside = profile(cfgs["llama"], "--random-tokens", str(S), "--fused", "--no-peaks", "--compute", "bf16")
        if prof:
            check_sums(prof, outside, "llama fused bf16")
            check(not prof["separate_products"], "--fused not in effect")
            check(all(m["bound"] == "-" for m in prof["modules"]), "--no-peaks still placed modules on a roofline")

        prof, outside = profile(cfgs["gpt2"], "--tokens", "1,2,3,4,5,6,7,8", "--no-peaks")
        if prof:
            check_sums(prof, outside, "gpt2")
            m = by_name(prof)
            check(m["transformer.h.0.attn.c_attn"]["flops"] == 2 * 8 * 32 * 96, "gpt2: c_attn FLOPs")
            check(m["transformer.wpe"]["weight_bytes"] == 8 * 32 * 4, "gpt2: wpe bytes are the positions used")

        # MoE: every expert's product counts on the tokens routed to it; S x top_k rows in all
        prof, outside = profile(cfgs["mixtral"], "--random-tokens", "16", "--no-peaks")
        if prof:
            check_sums(prof, outside, "mixtral")
            m = by_name(prof)
            rows = 0
            for e in range(4):
                x = m.get("model.layers.0.block_sparse_moe.experts.%d" % e)
                if not x:
                    continue
                rows += x["rows"]
                check(x["flops"] == 3 * 2 * 32 * 48 * x["rows"], "mixtral: expert %d FLOPs" % e)
            check(rows == 16 * 2, "mixtral: %d rows routed to the experts of layer 0, expected 32" % rows)

        # A long sequence on a narrow model: attention's S^2 term dominates, and the notes say so.
        prof, outside = profile(cfgs["llama"], "--random-tokens", "1024", "--no-peaks")
        if prof:
            check_sums(prof, outside, "llama S=1024")
            check(any("S^2 term" in n and "dominates" in n for n in prof["notes"]),
                  "no note that the S^2 term dominates at S=1024: %s" % prof["notes"])

        # The terminal table and the exports.
        trace, svg, col = (os.path.join(d, x) for x in ("t.json", "f.svg", "c.txt"))
        p = ls("profile", cfgs["llama"], "--random-tokens", "32", "--threads", "2", "--trace", trace, "--flame", svg,
               "--collapsed", col, "--top", "5", "--no-peaks")
        check(p.returncode == 0, "profile with exports: exit %d: %s" % (p.returncode, p.stderr))
        out = p.stdout
        for want in ("top 5 modules by self time", "per kind (self time", "attention", "total", "top-5 next tokens"):
            check(want in out, "table lacks %r:\n%s" % (want, out))
        table = out.split("top 5 modules by self time\n")[1].split("\n\n")[0].splitlines()
        check(len(table) == 6, "--top 5 shows %d rows" % (len(table) - 1))
        prof, _ = profile(cfgs["llama"], "--random-tokens", "32", "--collapsed", col, "--flame", svg, "--no-peaks")
        if prof:
            lines = open(col).read().splitlines()
            vals = [int(line.rsplit(" ", 1)[1]) for line in lines]
            check(sum(vals) == round(prof["total_ns"] / 1000), "collapsed stacks sum to %d us, total %d ns" % (
                sum(vals), prof["total_ns"]))
            check(all(line.startswith("LlamaForCausalLM") for line in lines), "a stack does not start at the root")
            check(any(";layers.1;self_attn;q_proj " in line for line in lines), "no q_proj stack in layer 1")
            root = ET.parse(svg).getroot()
            ns = "{http://www.w3.org/2000/svg}"
            boxes = root.findall(".//%sg" % ns)
            calls = sum(m["calls"] for m in prof["modules"])
            check(0 < len(boxes) <= calls, "SVG has %d boxes for %d module calls" % (len(boxes), calls))
            first = boxes[0].find(ns + "rect")
            check(abs(float(first.get("width")) - 1200) < 0.01, "the root's box is not the full width")
            titles = [b.find(ns + "title").text for b in boxes]
            check(any(t.startswith("model.layers.0.mlp ") for t in titles), "no box for model.layers.0.mlp")

        # a model directory: its config.json, and its weights when it holds some
        mdir = os.path.join(d, "model")
        os.mkdir(mdir)
        with open(os.path.join(mdir, "config.json"), "w") as f:
            json.dump(LLAMA, f)
        p = ls("profile", mdir, "--random-tokens", "4", "--no-peaks")
        check(p.returncode == 1 and "--random-weights" in p.stderr,
              "model directory without weights and without --random-weights: exit %d" % p.returncode)
        prof, _ = profile(mdir, "--random-tokens", "4", "--no-peaks", "--random-weights")
        check(prof is not None and prof["config"] == os.path.join(mdir, "config.json") and prof["weights"] == "",
              "model directory without weights: %r" % ((prof or {}).get("config"), ))
        summ = json.loads(ls("summary", cfgs["llama"], "--format", "json").stdout)
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "numeric"))
        import lib_tensorgen as tg
        tg.write_safetensors(os.path.join(mdir, "model.safetensors"),
                             [(t["name"], "F32", t["shape"], bytes(4 * prod(t["shape"])))
                              for t in summ["tensors"]])
        prof, _ = profile(mdir, "--random-tokens", "4", "--no-peaks")
        check(prof is not None and prof["weights"] == os.path.join(mdir, "model.safetensors") and
              prof["next_tokens"].startswith("top-5"),
              "model directory with weights: %r" % ((prof or {}).get("weights"), ))

        # usage and write errors
        for bad in (["--format", "xml"], ["--peak-gflops", "5"], ["--top", "0"], ["--sort", "name"],
                    ["--warmup", "x"], ["--bogus"], ["--tokens", "1,2", "--random-tokens", "3"]):
            p = ls("profile", cfgs["llama"], *bad)
            check(p.returncode == 2, "profile %s: exit %d, expected 2" % (bad, p.returncode))
        p = ls("profile")
        check(p.returncode == 2, "profile without a config: exit %d" % p.returncode)
        p = ls("profile", cfgs["llama"], "--random-tokens", "4", "--no-peaks", "--trace", os.path.join(d, "no", "t.json"))
        check(p.returncode == 1 and "t.json" in p.stderr, "unwritable trace: exit %d: %s" % (p.returncode, p.stderr))
        p = ls("profile", os.path.join(d, "missing.json"))
        check(p.returncode == 1 and "missing.json" in p.stderr, "missing config: exit %d: %s" % (p.returncode, p.stderr))
    if FAILS:
        print("%d failure(s)" % len(FAILS))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
