"""test_summary.py: `layerscope summary` end to end.

- every fixture and every extra config loads; counts equal the published figures in
  tests/fixtures/configs/params.tsv and extra/params.tsv;
- the JSON contract of docs/summary-json.md (fields, types, one entry per tensor);
- weight memory equals bytes summed over the tensor list (computed here);
- text and markdown tables fold to --depth and print totals;
- bad input: invalid JSON with line:column, bad dimensions naming key and value, usage
  errors with exit status 2, never a crash (signals are failures).
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

LS = os.environ.get("LAYERSCOPE", "layerscope")
SRC = os.environ.get("LS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CFG = os.path.join(SRC, "tests", "fixtures", "configs")
FAILS = []


def run(*args, input_file=None):
    p = subprocess.run([LS, "summary", *args], capture_output=True, text=True, check=False)
    if p.returncode < 0:
        raise AssertionError(f"layerscope summary {args} died with signal {-p.returncode}: {p.stderr}")
    return p


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL", msg)


def published(tsv):
    with open(tsv) as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["params"].strip()]


def test_counts():
    n = 0
    for base in (CFG, os.path.join(CFG, "extra"), os.path.join(CFG, "families")):
        for row in published(os.path.join(base, "params.tsv")):
            extra = ["--arch", "DistilBertModel"] if row["counted_as"].startswith("DistilBertModel") else []
            p = run(os.path.join(base, row["file"]), "--format", "json", *extra)
            check(p.returncode == 0, f"{row['file']}: exit {p.returncode}: {p.stderr}")
            if p.returncode:
                continue
            d = json.loads(p.stdout)
            check(d["params"] == int(row["params"]),
                  f"{row['file']}: params {d['params']} != published {row['params']}")
            n += 1
    check(n >= 30, f"only {n} configs checked")
    print(f"ok counts: {n} configs equal their published parameter counts")


# Rounded figures that model cards publish besides the total: (config under families/, how
# the publisher counts it from the JSON, published value in billions, decimals, truncated
# rather than rounded, where). Qwen's "Non-Embedding" leaves out the LM head as well as the
# token embedding (8,190,735,360 - 2 x 622,329,856 = 6.946 B for Qwen3-8B), where
# params_non_embedding counts the head (Kaplan et al.); Qwen's "3.3B activated" is
# 3,353,032,704 cut to one decimal.


def lm_head(j):
    return sum(t["numel"] for t in j["tensors"] if t["name"] == "lm_head.weight" and "tied_to" not in t)


PUBLISHED_ROUNDED = [
    ("qwen3-8b", lambda j: j["params_non_embedding"] - lm_head(j), 6.95, 2, False, "Qwen/Qwen3-8B model card, Non-Embedding"),
    ("qwen3-0.6b", lambda j: j["params_non_embedding"] - lm_head(j), 0.44, 2, False, "Qwen/Qwen3-0.6B model card, Non-Embedding"),
    ("qwen3-30b-a3b", lambda j: j["params_active"], 3.3, 1, True, "Qwen/Qwen3-30B-A3B model card, activated"),
    ("qwen3-30b-a3b", lambda j: j["params_non_embedding"] - lm_head(j), 29.9, 1, False, "Qwen/Qwen3-30B-A3B model card, Non-Embedding"),
    ("gemma-3-1b-it", lambda j: j["params_embedding"], 0.302, 3, False, "Gemma 3 Technical Report, Table 1, embedding"),
    ("gemma-3-1b-it", lambda j: j["params_non_embedding"], 0.698, 3, False, "Gemma 3 Technical Report, Table 1, non-embedding"),
    ("gemma-3-4b-it", lambda j: under(j, "vision_tower."), 0.417, 3, False, "Gemma 3 Technical Report, Table 1, vision encoder"),
    ("gemma-3-4b-it", lambda j: under(j, "language_model.model.layers.") + under(j, "language_model.model.norm."),
     3.209, 3, False, "Gemma 3 Technical Report, Table 1, non-embedding"),
    ("deepseek-v3", lambda j: j["params"], 671, 0, False, "DeepSeek-V3 README_WEIGHTS.md, main model"),
    # the MTP layer's decoder layer: DeepSeek's "11.5B unique parameters"
    ("deepseek-v3", lambda j: under(j, "model.layers.61.self_attn.") + under(j, "model.layers.61.mlp.") +
     under(j, "model.layers.61.input_layernorm.") + under(j, "model.layers.61.post_attention_layernorm."),
     11.5, 1, False, "DeepSeek-V3 README_WEIGHTS.md, MTP module"),
    ("deepseek-v2-lite", lambda j: j["params"], 15.7, 1, False, "DeepSeek-V2-Lite model page"),
    # OpenAI counts the active parameters without the embedding table (a lookup, not a matmul)
    ("gpt-oss-20b", lambda j: j["params"], 20.91, 2, False, "gpt-oss model card, Table 1, total"),
    ("gpt-oss-20b", lambda j: j["params_active"] - j["params_embedding"], 3.61, 2, False, "gpt-oss model card, active"),
    ("gpt-oss-20b", lambda j: j["memory"]["weights_stored"] / 2 ** 30 * 1e9, 12.8, 1, False, "gpt-oss model card, checkpoint GiB"),
    ("gpt-oss-120b", lambda j: j["params"], 116.83, 2, False, "gpt-oss model card, Table 1, total"),
    ("gpt-oss-120b", lambda j: j["params_active"] - j["params_embedding"], 5.13, 2, False, "gpt-oss model card, active"),
    ("gpt-oss-120b", lambda j: j["memory"]["weights_stored"] / 2 ** 30 * 1e9, 60.8, 1, False, "gpt-oss model card, checkpoint GiB"),
    ("olmo-2-1124-7b", lambda j: j["params"], 7.3, 1, False, "allenai/OLMo-2-1124-7B model page"),
    ("granite-3.1-8b-instruct", lambda j: j["params"], 8.17, 2, False, "ibm-granite/granite-3.1-8b-instruct model page"),
    ("smollm3-3b", lambda j: j["params"], 3.08, 2, False, "HuggingFaceTB/SmolLM3-3B model page"),
    ("falcon-mamba-7b", lambda j: j["params"], 7.27, 2, False, "tiiuae/falcon-mamba-7b model page"),
    ("jamba-v0.1", lambda j: j["params"], 51.6, 1, False, "ai21labs/Jamba-v0.1 model page"),
    ("jamba-v0.1", lambda j: j["params_active"], 12, 0, False, "Jamba paper, Table 1: active"),
    # 4 attention layers: 4 GiB of KV cache at 256K tokens (Jamba paper, Table 1)
    ("jamba-v0.1", lambda j: j["memory"]["kv_cache_per_token"] * 262144 / 2 ** 30 * 1e9, 4, 0, False,
     "Jamba paper, Table 1: KV cache at 256K context"),
    ("phi-3.5-moe-instruct", lambda j: j["params"], 41.9, 1, False, "microsoft/Phi-3.5-MoE-instruct model page"),
    ("phi-3.5-moe-instruct", lambda j: j["params_active"], 6.6, 1, False, "Phi-3.5-MoE model card: 6.6B active"),
]


def test_ssm_state():
    """State-space models: no KV cache; the state per sequence (conv + scan) computed here from
    the config, as MambaCache / Mamba2Cache allocate it; training activations not modelled."""
    for name, per_layer in (
            ("mamba-codestral-7b", lambda c: (2 * c["hidden_size"] + 2 * c["n_groups"] * c["state_size"]) * c["conv_kernel"]
             + c["num_heads"] * c["head_dim"] * c["state_size"]),
            ("falcon-mamba-7b", lambda c: c["intermediate_size"] * (c["conv_kernel"] + c["state_size"]))):
        path = os.path.join(CFG, "families", name + ".config.json")
        c = json.load(open(path))
        p = run(path, "--format", "json", "--batch", "3")
        j = json.loads(p.stdout)
        m = j["memory"]
        want = per_layer(c) * c["num_hidden_layers"] * 2  # bf16
        check(m["kv_cache_per_token"] == 0 and m["ssm_state_per_sequence"] == want and m["ssm_state"] == 3 * want,
              f"{name}: kv {m['kv_cache_per_token']}, state {m.get('ssm_state_per_sequence')} != {want}")
        check(m["training"]["activations"] is None and m["training"]["total"] is None,
              f"{name}: training activations should be unknown")
    print("ok SSM state")


def under(j, prefix):
    return sum(t["numel"] for t in j["tensors"] if t["name"].startswith(prefix) and "tied_to" not in t)


def test_published_rounded():
    import math
    for name, field, want, dec, trunc, where in PUBLISHED_ROUNDED:
        p = run(os.path.join(CFG, "families", name + ".config.json"), "--format", "json")
        if p.returncode:
            check(False, f"{name}: exit {p.returncode}: {p.stderr}")
            continue
        got = field(json.loads(p.stdout))
        shown = math.floor(got / 10 ** (9 - dec)) / 10 ** dec if trunc else round(got / 1e9, dec)
        check(abs(shown - want) < 1e-9, f"{name}: {got} does not give {want} B ({where})")
    print(f"ok published rounded figures: {len(PUBLISHED_ROUNDED)}")


def test_attn_impl():
    """--attn-impl: eager keeps 5 a s^2 b bytes of probabilities per layer, sdpa (default)
    and flash 4 a s b of log-sum-exp (docs/figures.md); the difference is computed here."""
    path = os.path.join(CFG, "gpt2.config.json")
    got = {}
    for impl in ("sdpa", "eager", "flash"):
        p = run(path, "--format", "json", "--seq", "1024", "--batch", "2", "--attn-impl", impl)
        check(p.returncode == 0, f"--attn-impl {impl}: exit {p.returncode}")
        if p.returncode == 0:
            t = json.loads(p.stdout)["memory"]["training"]
            check(t["attn_implementation"] == impl, f"--attn-impl {impl}: says {t['attn_implementation']}")
            got[impl] = t["activations"]
    s, b, a, L = 1024, 2, 12, 12
    if len(got) == 3:
        check(got["eager"] - got["sdpa"] == L * (5 * a * s * s * b - 4 * a * s * b), f"eager - sdpa: {got}")
        check(got["flash"] == got["sdpa"], f"flash != sdpa: {got}")
    default = json.loads(run(path, "--format", "json", "--seq", "1024", "--batch", "2").stdout)["memory"]["training"]
    check(default["attn_implementation"] == "sdpa" and default["activations"] == got.get("sdpa"), "default is sdpa")
    check(run(path, "--attn-impl", "xformers").returncode == 2, "--attn-impl xformers: usage error")
    print("ok attention implementations")


def test_every_family_loads():
    fams = set()
    for base in (CFG, os.path.join(CFG, "extra"), os.path.join(CFG, "families")):
        for f in sorted(os.listdir(base)):
            if f.endswith(".json"):
                p = run(os.path.join(base, f), "--format", "json")
                check(p.returncode == 0, f"{f}: exit {p.returncode}: {p.stderr}")
                if p.returncode == 0:
                    fams.add(json.loads(p.stdout)["family"])
    want = {"gpt2", "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "gemma", "gemma2", "phi", "phi3",
            "gpt_neox", "falcon", "bloom", "opt", "bert", "roberta", "distilbert", "t5", "vit", "whisper",
            "qwen3", "qwen3_moe", "gemma3_text", "gemma3", "deepseek_v2", "deepseek_v3", "gpt_oss", "olmo2", "granite", "smollm3",
            "mamba2", "falcon_mamba", "jamba", "phimoe"}
    check(want <= fams, f"families not loaded: {sorted(want - fams)}")
    print(f"ok families: {len(fams)} loaded")


def test_json_contract():
    p = run(os.path.join(CFG, "mixtral-8x7b-v0.1.config.json"), "--format", "json", "--seq", "512",
            "--batch", "2", "--dtype", "bf16")
    d = json.loads(p.stdout)
    for k, t in [("model_type", str), ("architecture", str), ("params", int), ("params_active", int),
                 ("flops_per_token", int), ("memory", dict), ("modules", list), ("tensors", list)]:
        check(isinstance(d.get(k), t), f"contract: {k} missing or not {t.__name__}")
    check(d["architecture"] == "MixtralForCausalLM", "architecture")
    # Mixtral: 2 of 8 experts active; published 12.9B active of 46.7B
    check(round(d["params_active"] / 1e9, 1) == 12.9, f"active {d['params_active']}")
    for m in d["modules"]:
        check(set(m) >= {"name", "type", "params", "output_shape"}, f"module fields {m}")
    names = [t["name"] for t in d["tensors"]]
    check(len(names) == len(set(names)), "tensor names unique")
    check("model.layers.0.block_sparse_moe.experts.7.w3.weight" in names, "expert tensor listed")
    k = next(t for t in d["tensors"] if t["name"] == "model.layers.0.self_attn.k_proj.weight")
    check(k["shape"] == [1024, 4096] and k["dtype"] == "bf16", f"k_proj {k}")
    layer = next(m for m in d["modules"] if m["name"] == "model.layers.5")
    check(layer["output_shape"] == ["B", "S", 4096], f"symbolic shape {layer['output_shape']}")
    check(layer["output_shape_bound"] == [2, 512, 4096], f"bound shape {layer['output_shape_bound']}")
    # memory: bytes summed over the tensor list (tied counted once)
    n = sum(t["numel"] for t in d["tensors"] if "tied_to" not in t)
    w = d["memory"]["weights"]
    check(n == d["params"], "tensor numel sum == params")
    check(w["bf16"] == 2 * n and w["fp32"] == 4 * n and w["int8"] == n, "dense weight bytes")
    q8 = sum((t["numel"] + 31) // 32 * 34 for t in d["tensors"] if "tied_to" not in t)
    q4 = sum((t["numel"] + 31) // 32 * 18 for t in d["tensors"] if "tied_to" not in t)
    check(w["q8_0"] == q8 and w["q4_0"] == q4, "GGUF block bytes")
    # KV cache: 2 x 32 layers x 8 kv heads x 128 x 2 bytes, x batch x seq
    check(d["memory"]["kv_cache_per_token"] == 2 * 32 * 8 * 128 * 2, "kv per token")
    check(d["memory"]["kv_cache"] == 2 * 32 * 8 * 128 * 2 * 2 * 512, "kv at B=2 S=512")
    print("ok json contract")


def test_text_and_markdown():
    p = run(os.path.join(CFG, "llama-2-7b-hf.config.json"), "--depth", "1")
    check(p.returncode == 0, "text exit")
    check("LlamaForCausalLM" in p.stdout and "lm_head" in p.stdout, "text rows")
    rows = [l.split()[0] for l in p.stdout.splitlines() if l.startswith(" ")]
    check(rows == ["model", "lm_head"], f"depth 1 rows {rows}")
    check("Total params: 6,738,415,616" in p.stdout, "text total")
    p = run(os.path.join(CFG, "llama-2-7b-hf.config.json"), "--depth", "3", "--format", "markdown")
    check(p.stdout.startswith("| Module |"), "markdown header")
    check("`model.layers.31`" in p.stdout, "markdown layer rows at depth 3")
    check("`model.layers.31.mlp`" not in p.stdout, "markdown folds below depth 3")
    print("ok text, markdown")


def write(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    f.write(text)
    f.close()
    return f.name


def test_bad_input():
    cases = [
        ('{\n  "model_type": "llama",\n  "hidden_size": 4096,\n  "vocab_size" 32000\n}', ":4:", "invalid JSON"),
        ('{"model_type": "llama", "hidden_size": 0}', "hidden_size is 0", "bad-dim"),
        ('{"model_type": "llama", "num_attention_heads": -8}', "num_attention_heads is -8", "bad-dim"),
        ('{"model_type": "llama", "intermediate_size": 11008.5}', "11008.5", "bad-type"),
        ('{"model_type": "llama", "hidden_size": "4096"}', "hidden_size is a string", "bad-type"),
        ('{"model_type": "llama", "vocab_size": 18446744073709551617}', "vocab_size", "overflow"),
        ('{"model_type": "llama", "hidden_size": 3037000500, "num_attention_heads": 1, "intermediate_size": 3037000500}',
         "overflow", "overflow"),
        ('{"model_type": "mixtral", "num_local_experts": 0}', "num_local_experts is 0", "bad-dim"),
    ]
    for text, needle, code in cases:
        path = write(text)
        p = run(path)
        os.unlink(path)
        check(p.returncode == 1, f"{text!r}: exit {p.returncode}")
        check(needle in p.stderr and code in p.stderr, f"{text!r}: stderr lacks {needle!r}/{code!r}: {p.stderr}")
    path = write('{"model_type": "gpt2", "n_embd": 100, "n_head": 12, "n_layer": 1}')
    p = run(path)
    os.unlink(path)
    check(p.returncode == 0 and "heads-divide" in p.stderr and "n_embd = 100" in p.stderr,
          f"heads warning: {p.returncode} {p.stderr}")
    for args in (["--seq", "0", os.path.join(CFG, "gpt2.config.json")], ["--format", "xml", "x"],
                 ["--dtype", "fp8", "x"], [], ["--bogus"]):
        p = run(*args)
        check(p.returncode == 2, f"usage {args}: exit {p.returncode}")
    p = run(os.path.join(CFG, "extra", "llama-3.1-405b.config.json"), "--seq", str(2**40), "--batch", str(2**40))
    check(p.returncode == 1 and "overflow" in p.stderr, f"figure overflow: {p.returncode} {p.stderr}")
    p = run("/nonexistent/config.json")
    check(p.returncode == 1 and "cannot open" in p.stderr, "missing file")
    print("ok bad input")


def test_readings():
    """Issue 17: a model_type layerscope does not model gets no confident figure (exit 2,
    naming the type and the supported list) unless --generic asks for the llama-style
    reading, which then says so in text and JSON; a legacy config without model_type is
    recognised by its name as AutoConfig does, else by its keys, and the reading says how."""
    with tempfile.TemporaryDirectory() as d:
        cfg = {"architectures": ["Qwen3NextForCausalLM"], "model_type": "qwen3_next", "hidden_size": 2048,
               "num_attention_heads": 16, "num_hidden_layers": 48, "vocab_size": 151936}
        path = os.path.join(d, "config.json")
        json.dump(cfg, open(path, "w"))
        p = run(path)
        check(p.returncode == 2, f"unsupported type: exit {p.returncode}, expected 2")
        check('"qwen3_next"' in p.stderr and "supported: gpt2, llama" in p.stderr and "--generic" in p.stderr,
              f"unsupported type: message {p.stderr!r}")
        check(p.stdout == "", "unsupported type: nothing on stdout")
        p = run(path, "--format", "json", "--generic")
        check(p.returncode == 0, f"--generic: exit {p.returncode}")
        if p.returncode == 0:
            j = json.loads(p.stdout)
            check(j["reading"] == "generic" and "not this model's" in j["reading_note"], f"--generic JSON: {j.get('reading')}")
        p = run(path, "--generic", "--depth", "0")
        check(p.stdout.startswith("Reading: GENERIC"), f"--generic text: {p.stdout[:80]!r}")
        # a config that is not JSON-typed as a family layerscope or transformers knows: same
        json.dump({"model_type": "frobnicator", "hidden_size": 64}, open(path, "w"))
        check(run(path).returncode == 2, "unknown type: exit 2")
    legacy = os.path.join(CFG, "legacy", "roberta-base", "config.json")
    p = run(legacy, "--format", "json")
    check(p.returncode == 0, f"legacy roberta-base: exit {p.returncode}: {p.stderr}")
    if p.returncode == 0:
        j = json.loads(p.stdout)
        check(j["family"] == "roberta" and j["reading"] == "inferred" and "roberta-base" in j["reading_note"],
              f"legacy roberta-base: {j['family']} {j['reading']} {j.get('reading_note')}")
        check(j["architecture"] == "RobertaModel", f"legacy roberta-base: class {j['architecture']}")
        # RobertaModel with its pooler: roberta-base's published RobertaForMaskedLM count
        # (extra/params.tsv, 124,697,433) less the LM head, plus the pooler
        h, v = 768, 50265
        want = 124697433 - (h * h + h + 2 * h + v) + (h * h + h)
        check(j["params"] == want == 124645632, f"legacy roberta-base: params {j['params']} != {want}")
    with tempfile.TemporaryDirectory() as d:  # no name to go by: the keys say RoBERTa
        os.makedirs(os.path.join(d, "ckpt"))
        path = os.path.join(d, "ckpt", "config.json")
        open(path, "w").write(open(legacy).read())
        p = run(path, "--format", "json")
        j = json.loads(p.stdout) if p.returncode == 0 else {}
        check(j.get("family") == "roberta" and "from its keys" in j.get("reading_note", ""),
              f"legacy config without a name: {p.returncode} {j.get('family')} {j.get('reading_note')}")
    print("ok readings: unsupported types exit 2, --generic labelled, legacy roberta-base inferred")


def main():
    test_readings()
    test_counts()
    test_published_rounded()
    test_attn_impl()
    test_ssm_state()
    test_every_family_loads()
    test_json_contract()
    test_text_and_markdown()
    test_bad_input()
    if FAILS:
        print(f"{len(FAILS)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
