#!/usr/bin/python3
"""make_seeds.py: regenerates the seed corpora under fuzz/corpus/<target>/ (they are
committed; run this only to rebuild them). Tensor files come from tests/numeric/
lib_tensorgen.py (written from the published formats, independent of layerscope's readers)
and numpy's own .npy writer; configs are the real ones of tests/fixtures/configs; LSP and DAP
seeds are NUL-separated message bodies (the harness frames them, see fuzz_lsp.c). Every
seed is small (the whole corpus stays far below 2 MB) so that mutations stay fast."""
import io
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "numeric"))
import lib_tensorgen as tg  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
rng = np.random.default_rng(1234)


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def via_file(fn, *args, **kw):
    """Runs a lib_tensorgen writer into a temporary file and returns its bytes."""
    p = os.path.join(CORPUS, ".tmp")
    fn(p, *args, **kw)
    with open(p, "rb") as f:
        b = f.read()
    os.remove(p)
    return b


def configs():
    src = os.path.join(ROOT, "tests", "fixtures", "configs")
    files = [os.path.join(src, f) for f in sorted(os.listdir(src)) if f.endswith(".json")]
    files += [os.path.join(src, "extra", f) for f in sorted(os.listdir(os.path.join(src, "extra")))
              if f.endswith(".json")]
    for p in files:
        b = open(p, "rb").read()
        if len(b) > 8192:  # vit's 1000-label id2label: too big to mutate usefully
            continue
        out("json", os.path.basename(p), b)
        out("model", os.path.basename(p), b)
    edge = {
        "syntax-errors.json": b'{"a": 1,, "b": [1 2], c: True, "d": \'x\', "e": NaN, // c\n}',
        "strings.json": b'{"\\u00e9\\ud83d\\ude00": "\\n\\t\\"\\\\", "k": "\\ud800", "z": "\xff"}',
        "numbers.json": b'[0, -0, 1e400, -1e-400, 9223372036854775807, 9223372036854775808, 1.5e3, 4096.0]',
        "dup.json": b'{"a": 1, "a": {"a": [1, {"a": null}]}}',
        "deep.json": b"[" * 600 + b"]" * 600,
        "truncated.json": b'{"model_type": "llama", "hidden_size": 4096, "num_attention_he',
    }
    for k, v in edge.items():
        out("json", k, v)
    absurd = {
        "llama-absurd.json": {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 9223372036854775807,
                              "num_attention_heads": 3, "num_key_value_heads": 0, "num_hidden_layers": 100000000,
                              "intermediate_size": -1, "vocab_size": 1.5, "max_position_embeddings": 0,
                              "rope_scaling": {"rope_type": "yarn", "factor": -4}},
        "gpt2-absurd.json": {"model_type": "gpt2", "n_embd": 4294967296, "n_head": 65536, "n_layer": 65536,
                             "n_positions": 4294967296, "vocab_size": 4294967297, "n_inner": None},
        "mixtral-absurd.json": {"model_type": "mixtral", "hidden_size": 64, "num_attention_heads": 8,
                                "num_local_experts": 1000000, "num_experts_per_tok": 2000000,
                                "sliding_window": -5, "torch_dtype": "int4"},
        "bert-types.json": {"model_type": "bert", "hidden_size": "768", "num_attention_heads": [12],
                            "num_hidden_layers": {"n": 12}, "type_vocab_size": True},
    }
    for k, v in absurd.items():
        out("model", k, json.dumps(v).encode())


def safetensors():
    f32 = rng.standard_normal((4, 8)).astype(np.float32)
    out("safetensors", "f32.safetensors", via_file(tg.write_safetensors, [("w", "F32", (4, 8), f32.tobytes())]))
    b16 = tg.f32_to_bf16_bits(rng.standard_normal((3, 5)))
    f16 = rng.standard_normal(7).astype(np.float16)
    out("safetensors", "mixed.safetensors", via_file(tg.write_safetensors, [
        ("model.embed_tokens.weight", "BF16", (3, 5), b16.tobytes()),
        ("model.norm.weight", "F16", (7,), f16.tobytes()),
        ("ids", "I64", (2,), np.array([1, -2], dtype=np.int64).tobytes()),
        ("mask", "BOOL", (2, 2), bytes([1, 0, 0, 1])),
        ("fp8", "F8_E4M3", (4,), bytes([0x38, 0x7F, 0xFF, 0x01])),
        ("scalar", "F64", (), struct.pack("<d", 3.5)),
        ("empty", "F32", (0, 3), b""),
    ], metadata={"format": "pt"}))


def gguf():
    f32 = rng.standard_normal((2, 32)).astype(np.float32)
    q8, _ = tg.quant_q8_0(rng.standard_normal(64))
    q4, _ = tg.quant_q4_0(rng.standard_normal(64))
    kvs = [("general.architecture", tg.GSTR, "llama"), ("llama.attention.head_count", tg.GU32, 2),
           ("llama.attention.head_count_kv", tg.GU32, 1), ("general.alignment", tg.GU32, 32),
           ("llama.rope.freq_base", tg.GF32, 10000.0), ("tokenizer.ggml.tokens", tg.GARR, (tg.GSTR, ["a", "b"]))]
    out("gguf", "v3-f32-q8.gguf", via_file(tg.write_gguf, kvs, [
        ("token_embd.weight", "f32", (2, 32), f32.tobytes()),
        ("blk.0.attn_q.weight", "q8_0", (2, 32), q8),
        ("blk.0.attn_k.weight", "q4_0", (2, 32), q4)]))
    q4k, _ = tg.quant_q4_k(1, rng)
    q6k, _ = tg.quant_q6_k(1, rng)
    out("gguf", "v2-kquants.gguf", via_file(tg.write_gguf, kvs[:1], [
        ("blk.0.ffn_up.weight", "q4_k", (1, 256), q4k),
        ("blk.0.ffn_down.weight", "q6_k", (1, 256), q6k),
        ("output_norm.weight", "f16", (8,), rng.standard_normal(8).astype(np.float16).tobytes())], version=2))
    # tokenizers only (no tensors), for core/text/tok_gguf.c: byte-level BPE with merges, and
    # SentencePiece BPE whose merges come from scores, with byte tokens and a user-defined one
    bl = ["a", "b", "\u0120", "\u0120a", "ab", "<|end|>"]
    out("gguf", "tok-gpt2.gguf", via_file(tg.write_gguf, [
        ("tokenizer.ggml.model", tg.GSTR, "gpt2"), ("tokenizer.ggml.pre", tg.GSTR, "llama-bpe"),
        ("tokenizer.ggml.tokens", tg.GARR, (tg.GSTR, bl)),
        ("tokenizer.ggml.token_type", tg.GARR, (tg.GI32, [1, 1, 1, 1, 1, 3])),
        ("tokenizer.ggml.merges", tg.GARR, (tg.GSTR, ["\u0120 a", "a b"])),
        ("tokenizer.ggml.bos_token_id", tg.GU32, 5), ("tokenizer.ggml.add_bos_token", tg.GBOOL, True)], []))
    sp = ["<unk>", "<s>", "<0x0A>", "<0xC3>", "\u2581", "h", "i", "\u2581h", "\u2581hi", "  "]
    out("gguf", "tok-llama.gguf", via_file(tg.write_gguf, [
        ("tokenizer.ggml.model", tg.GSTR, "llama"), ("tokenizer.ggml.tokens", tg.GARR, (tg.GSTR, sp)),
        ("tokenizer.ggml.scores", tg.GARR, (tg.GF32, [0, 0, 0, 0, -1, -2, -3, -4, -5, -6])),
        ("tokenizer.ggml.token_type", tg.GARR, (tg.GI32, [2, 3, 6, 6, 1, 1, 1, 1, 1, 4])),
        ("tokenizer.ggml.bos_token_id", tg.GU32, 1), ("tokenizer.ggml.add_space_prefix", tg.GBOOL, True)], []))


def npy():
    def save(arr, version=None):
        bio = io.BytesIO()
        if version:
            np.lib.format.write_array(bio, arr, version=version)
        else:
            np.save(bio, arr)
        return bio.getvalue()
    out("npy", "f32-c.npy", save(rng.standard_normal((3, 4)).astype(np.float32)))
    out("npy", "f64-fortran.npy", save(np.asfortranarray(rng.standard_normal((4, 3)))))
    out("npy", "f16-v2.npy", save(rng.standard_normal(5).astype(np.float16), (2, 0)))
    out("npy", "i8-v3.npy", save(np.arange(6, dtype=np.int8).reshape(2, 3), (3, 0)))
    out("npy", "be-u16-scalar.npy", save(np.array(7, dtype=">u2")))


def frame(body):
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def framing():
    a = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}).encode()
    b = json.dumps({"jsonrpc": "2.0", "method": "exit"}).encode()
    out("framing", "two", b"\x02" + frame(a) + frame(b))
    out("framing", "content-type-lf", b"\x41" + b"content-length: 2\nContent-Type: application/vscode-jsonrpc; charset=utf-8\n\n{}")
    out("framing", "junk-resync", b"\x06garbage\r\n" + frame(a) + b"Content-Length: 5\r\n\r\n{}" + frame(b))
    out("framing", "oversize", b"\x00" + frame(a) + frame(b))
    out("framing", "bad-length", b"\x03Content-Length: 99999999999999999999999\r\n\r\n" + frame(b)
        + b"Content-Length: -1\r\n\r\nContent-Length: x\r\n\r\n")
    out("framing", "truncated", b"\x07" + frame(a)[:-3])


def lsp():
    def seq(*msgs):
        return b"\0".join(json.dumps(m).encode() for m in msgs)
    uri = "file:///tmp/layerscope-fuzz/config.json"
    cfg = open(os.path.join(ROOT, "tests", "fixtures", "configs", "tiny-random-LlamaForCausalLM.config.json")).read()
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}},
                       "initializationOptions": {"layerscope": {}}}}
    inited = {"jsonrpc": "2.0", "method": "initialized", "params": {}}
    opened = {"jsonrpc": "2.0", "method": "textDocument/didOpen",
              "params": {"textDocument": {"uri": uri, "languageId": "json", "version": 1, "text": cfg}}}
    pos = {"textDocument": {"uri": uri}, "position": {"line": 3, "character": 5}}
    rng_ = {"start": {"line": 0, "character": 0}, "end": {"line": 20, "character": 0}}
    reqs = [{"jsonrpc": "2.0", "id": 10 + i, "method": m, "params": p} for i, (m, p) in enumerate([
        ("textDocument/hover", pos), ("textDocument/completion", pos),
        ("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": rng_, "context": {"diagnostics": []}}),
        ("textDocument/inlayHint", {"textDocument": {"uri": uri}, "range": rng_}),
        ("textDocument/codeLens", {"textDocument": {"uri": uri}}),
        ("textDocument/documentSymbol", {"textDocument": {"uri": uri}}),
        ("layerscope/modelTree", {"textDocument": {"uri": uri}})])]
    change = {"jsonrpc": "2.0", "method": "textDocument/didChange",
              "params": {"textDocument": {"uri": uri, "version": 2},
                         "contentChanges": [{"range": {"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 9}},
                                             "text": "\"hidden_size\": 4097,"}, {"text": "{\"model_type\": \"gpt2\", \"n_embd\": 0}"}]}}
    shutdown = {"jsonrpc": "2.0", "id": 99, "method": "shutdown"}
    exit_ = {"jsonrpc": "2.0", "method": "exit"}
    out("lsp", "session", seq(init, inited, opened, *reqs, change, *reqs[:2], shutdown, exit_))
    out("lsp", "lifecycle-errors", seq({"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": pos},
                                       init, init, {"jsonrpc": "2.0", "id": "x", "method": "nope"},
                                       {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}},
                                       {"jsonrpc": "2.0", "method": "$/setTrace", "params": {"value": "verbose"}},
                                       {"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
                                        "params": {"settings": {"layerscope": {"rules": {"LS001": "off"}}}}},
                                       {"jsonrpc": "2.0", "id": [1], "method": "shutdown"}, shutdown, shutdown, exit_)
        + b"\0{\"jsonrpc\": \"2.0\", \"id\": 5, \"method\"\0[1,2]\0null")
    out("lsp", "close-save", seq(init, inited, opened,
                                 {"jsonrpc": "2.0", "method": "textDocument/didSave", "params": {"textDocument": {"uri": uri}}},
                                 {"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}},
                                 reqs[0]))


def dap():
    def seq(*msgs):
        return b"\0".join(json.dumps(m).encode() for m in msgs)
    n = iter(range(1, 100))

    def req(cmd, args=None):
        m = {"seq": next(n), "type": "request", "command": cmd}
        if args is not None:
            m["arguments"] = args
        return m
    init = req("initialize", {"clientID": "vscode", "adapterID": "layerscope", "linesStartAt1": True,
                              "columnsStartAt1": True, "pathFormat": "path"})
    cfg = os.path.join(ROOT, "tests", "fixtures", "configs", "tiny-random-LlamaForCausalLM.config.json")
    out("dap", "launch", seq(init, req("launch", {"config": cfg, "noDebug": False, "stopOnEntry": True}),
                             req("configurationDone"), req("threads"), req("disconnect", {"terminateDebuggee": True})))
    out("dap", "errors", seq(req("threads"), init, init, req("launch", {"config": 5}), req("attach", {}),
                             req("nope"), {"seq": 0, "type": "event", "event": "x"}, {"type": "request"},
                             req("terminate"), req("disconnect")) + b"\0{\"seq\":1,\0[]")


def expr():
    """Expressions as users type them (docs/debugging.md), over the names fuzz_expr.c's
    scope holds, plus a few malformed ones."""
    exprs = [
        "output", "output.absmax > 1e4 && layer >= 10", "output.nan > 0", "cos model.layers.0.mlp output",
        "diff(output, model.layers.0.mlp)", "stats output", "hist(input)", "topk(output[0, -1], 3)",
        "output[0, 1:, :2].mean", "attn_probs[0][1].sum", "weight * 2 - bias", "norm(weight)",
        "(input + 1) / 3 % 2", "!(layer == 3) || step", "output.shape", "qweight.absmax",
        "empty.mean", "scale * output", "ids[-1] + 0.5", "abs(output) >= 1", "-output.min <= output.max",
        "model.layers.0.mlp.output.absmax", "output[::]", "output[1, 2, 3, 4]", "topk output 100",
        "layer >", "((((layer", "output[", "1e999 * 0", "mean std", "\"text\"",
    ]
    for i, e in enumerate(exprs):
        out("expr", "e%02d" % i, e.encode())


def tokenizers():
    """tokjson: small tokenizer.json documents, one per model kind and pipeline stage the
    reader knows (the shapes of tests/unit/test_tokenizer.c), plus malformed ones. tokenize:
    texts behind the selector byte of fuzz_tokenize.c (0 byte-level, 1 SentencePiece, 2 BERT)."""
    def added(content, i):
        return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True}
    docs = {
        "bpe": {"version": "1.0", "pre_tokenizer": {"type": "WhitespaceSplit"},
                "model": {"type": "BPE", "unk_token": "?", "fuse_unk": True,
                          "vocab": {"?": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "bc": 5, "abc": 6},
                          "merges": ["b c", "a b", "a bc"]}},
        "bytelevel": {"added_tokens": [added("<|end|>", 9)],
                      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
                      "post_processor": {"type": "ByteLevel", "trim_offsets": False},
                      "decoder": {"type": "ByteLevel"},
                      "model": {"type": "BPE", "vocab": {"w": 0, "o": 1, "\u0120": 2, "\u0120w": 3, "\u0120wo": 4},
                                "merges": [["\u0120", "w"], ["\u0120w", "o"]], "ignore_merges": True}},
        "split": {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                      {"type": "Split", "pattern": {"Regex": "(?i:'s|'t)|\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
                       "behavior": "Isolated", "invert": False},
                      {"type": "Digits", "individual_digits": True}, {"type": "Punctuation"}]},
                  "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0, "a": 1, "1": 2}}},
        "sentencepiece": {"added_tokens": [added("<unk>", 0), added("<s>", 1)],
                          "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                         {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
                          "post_processor": {"type": "TemplateProcessing",
                                             "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                        {"Sequence": {"id": "A", "type_id": 0}}],
                                             "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
                          "decoder": {"type": "Sequence", "decoders": [
                              {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                              {"type": "ByteFallback"}, {"type": "Fuse"},
                              {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
                          "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": True,
                                    "vocab": {"<unk>": 0, "<s>": 1, "<0xC3>": 2, "<0xA9>": 3, "\u2581": 4, "h": 5, "\u2581h": 6},
                                    "merges": ["\u2581 h"]}},
        "metaspace": {"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
                      "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first"},
                      "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0, "\u2581a": 1}}},
        "bert": {"added_tokens": [added("[CLS]", 2), added("[SEP]", 3)],
                 "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                                "strip_accents": None, "lowercase": True},
                 "pre_tokenizer": {"type": "BertPreTokenizer"},
                 "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
                 "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
                 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                           "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "un": 4, "##aff": 5}}},
        "normalizers": {"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
                                       {"type": "Strip", "left": True, "right": True}, {"type": "NFD"}, {"type": "StripAccents"}]},
                        "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0}}},
    }
    for name, doc in docs.items():
        out("tokjson", name + ".json", json.dumps(doc).encode())
    out("tokjson", "bad-merge.json", b'{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a","a"]]}}')
    out("tokjson", "unigram.json", b'{"model":{"type":"Unigram","vocab":[["a",0.0]]}}')
    out("tokjson", "truncated.json", b'{"model":{"type":"BPE","vocab":{"a":0,"b')
    texts = ["Hello world", "  two  spaces\n\n\ttab", "caf\u00e9 \u4e2d\u6587 \U0001F600 123456789",
             "<|end|>x<|start|> <s>[CLS]", "it's THEY'LL", "\u00e9\u0301 \u2581a", "a" * 300]
    for sel in range(3):
        for i, t in enumerate(texts):
            out("tokenize", "t%d-%02d" % (sel, i), bytes([sel]) + t.encode())
    out("tokenize", "t0-bad-utf8", b"\x00ab\xff\xc3(\xed\xa0\x80z")


TARGETS = {"model": configs, "safetensors": safetensors, "gguf": gguf, "npy": npy, "framing": framing,
           "lsp": lsp, "dap": dap, "expr": expr,
           "tokjson": tokenizers}

if __name__ == "__main__":
    # Rewrites the seed folders of the named targets (default: all); regress-* seeds,
    # committed after findings, are kept.
    chosen = sys.argv[1:] or list(TARGETS)
    folders = set(chosen) | ({"json"} if "model" in chosen else set()) | ({"tokenize"} if "tokjson" in chosen else set())
    for t in folders:
        d = os.path.join(CORPUS, t)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if not f.startswith("regress-"):
                    os.remove(os.path.join(d, f))
    for t in chosen:
        TARGETS[t]()
    print("seeds written under", CORPUS)
