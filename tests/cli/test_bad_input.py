"""test_bad_input.py: every bad-input case tried across the project, run against the built
binary, checked, and written up as the table of docs/bad-input.md.

Each case builds its input here (bytes written from the format specifications, not by
layerscope), runs the binary (a CLI command, or raw bytes into `layerscope lsp` / `dap`),
and checks: no crash or sanitizer report, the expected exit status, and that the answer
names the problem (a regular expression of the key words, not the whole text). Run with
`--write` (and LAYERSCOPE set) to regenerate docs/bad-input.md from the real answers:
    LAYERSCOPE=build/release/cli/layerscope python3 tests/cli/test_bad_input.py --write"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

LS = os.environ.get("LAYERSCOPE")
SRC = os.environ.get("LS_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
failures = []
TINY = {"model_type": "llama", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 32}


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def cfg(**kw):
    c = dict(TINY)
    c.update(kw)
    return json.dumps(c).encode()


def st(header, data=b"", hlen=None):
    hb = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(hb) if hlen is None else hlen) + hb + data


def gguf(n_tensors, n_kv, rest=b"", version=3, magic=b"GGUF"):
    return magic + struct.pack("<IQQ", version, n_tensors, n_kv) + rest


def gguf_str(s):
    return struct.pack("<Q", len(s)) + s


def npy(header, data=b"", magic=b"\x93NUMPY"):
    h = header.encode()
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    return magic + b"\x01\x00" + struct.pack("<H", len(h)) + h + data


def write(d, name, data):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def model_dir(d, name):
    """A hub-style model directory holding config.json only (no weights)."""
    path = os.path.join(d, name)
    os.makedirs(path, exist_ok=True)
    write(path, "config.json", cfg())
    return path


def frame(body, length=None):
    b = body if isinstance(body, bytes) else json.dumps(body).encode()
    return b"Content-Length: %d\r\n\r\n" % (len(b) if length is None else length) + b


LSP_INIT = frame({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}})
DAP_INIT = frame({"seq": 1, "type": "request", "command": "initialize", "arguments": {"adapterID": "x"}})

# (area, case, kind, input, argv-or-None, expected exit statuses, regex the answer must match)
#   kind "cli": input is a dict name -> bytes written to files; argv uses {name} for their paths
#   kind "lsp"/"dap": input is the raw bytes sent on stdin (then stdin closes), or a function of
#   the scratch folder returning them (to name files it writes there)
CASES = [
    ("config", "not JSON", "cli", {"c.json": b"{ hidden_size: 32 "}, ["summary", "{c.json}"], (1, 2), r"(?i)json|expected|parse"),
    ("config", "a credentials file, not JSON at all", "cli", {"c.json": b"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n"}, ["summary", "{c.json}"], (1, 2), r"not JSON: it starts with 'A'"),
    ("config", "a binary file", "cli", {"c.json": b"\x00\x01secret-bytes"}, ["summary", "{c.json}"], (1, 2), r"not JSON: it holds binary data"),
    ("config", "empty file", "cli", {"c.json": b""}, ["summary", "{c.json}"], (1, 2), r"(?i)empty|end of|expected"),
    ("config", "missing file", "cli", {}, ["summary", "/nonexistent/config.json"], (1, 2), r"(?i)no such|cannot|not found"),
    ("config", "a directory", "cli", {}, ["summary", "/tmp"], (1, 2), r"(?i)directory|read"),
    ("config", "unknown model_type", "cli", {"c.json": cfg(model_type="frobnicator")}, ["summary", "{c.json}"], (2,), r"frobnicator.*not a model type.*supported: gpt2.*--generic"),
    ("config", "hidden_size 10^12", "cli", {"c.json": cfg(hidden_size=10**12)}, ["summary", "{c.json}"], (1, 2), r"hidden_size"),
    ("config", "num_hidden_layers -1", "cli", {"c.json": cfg(num_hidden_layers=-1)}, ["summary", "{c.json}"], (1, 2), r"num_hidden_layers"),
    ("config", "num_attention_heads 0", "cli", {"c.json": cfg(num_attention_heads=0)}, ["summary", "{c.json}"], (1, 2), r"num_attention_heads"),
    ("config", "hidden_size not divisible by heads", "cli", {"c.json": cfg(hidden_size=33)}, ["summary", "{c.json}"], (0, 1, 2), r"divisible|head"),
    ("config", "vocab_size a string", "cli", {"c.json": cfg(vocab_size="lots")}, ["summary", "{c.json}"], (1, 2), r"vocab_size"),
    ("config", "vocab_size 2^63 (products overflow)", "cli", {"c.json": cfg(vocab_size=2**63 - 1, hidden_size=2**31)}, ["summary", "{c.json}"], (1, 2), r"(?i)vocab_size|hidden_size|overflow|too large"),
    ("config", "nesting 100,000 deep", "cli", {"c.json": b"[" * 100000 + b"]" * 100000}, ["summary", "{c.json}"], (1, 2), r"(?i)deep|nest"),
    ("safetensors", "header length beyond the file", "cli", {"m.safetensors": st({}, hlen=1 << 40)}, ["stats", "{m.safetensors}"], (1, 2), r"(?i)header|truncat|beyond|exceed|larger"),
    ("safetensors", "file shorter than 8 bytes", "cli", {"m.safetensors": b"\x01\x02"}, ["stats", "{m.safetensors}"], (1, 2), r"(?i)short|truncat|small|header"),
    ("safetensors", "header not JSON", "cli", {"m.safetensors": st(b"{not json")}, ["stats", "{m.safetensors}"], (1, 2), r"(?i)json|header|expected"),
    ("safetensors", "data_offsets beyond the file", "cli", {"m.safetensors": st({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8)}, ["stats", "{m.safetensors}"], (1, 2), r"(?i)w|offset|beyond|truncat|exceed"),
    ("safetensors", "overlapping tensors", "cli", {"m.safetensors": st({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\0" * 24)}, ["stats", "{m.safetensors}"], (1, 2), r"(?i)overlap"),
    ("safetensors", "shape does not match the byte size", "cli", {"m.safetensors": st({"w": {"dtype": "F32", "shape": [5], "data_offsets": [0, 16]}}, b"\0" * 16)}, ["stats", "{m.safetensors}"], (1, 2), r"(?i)shape|size|bytes"),
    ("safetensors", "shape product overflows", "cli", {"m.safetensors": st({"w": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 16]}}, b"\0" * 16)}, ["stats", "{m.safetensors}"], (1, 2), r"(?i)overflow|shape|large"),
    ("safetensors", "unknown dtype", "cli", {"m.safetensors": st({"w": {"dtype": "F7", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16)}, ["stats", "{m.safetensors}"], (1, 2), r"F7"),
    ("gguf", "bad magic", "cli", {"m.gguf": gguf(0, 0, magic=b"GGUX")}, ["stats", "{m.gguf}"], (1, 2), r"(?i)magic|gguf|format|recogni"),
    ("gguf", "unsupported version 99", "cli", {"m.gguf": gguf(0, 0, version=99)}, ["stats", "{m.gguf}"], (1, 2), r"(?i)version"),
    ("gguf", "tensor count 2^33", "cli", {"m.gguf": gguf(2**33, 0)}, ["stats", "{m.gguf}"], (1, 2), r"(?i)count|tensors|truncat|limit"),
    ("gguf", "metadata count 2^40", "cli", {"m.gguf": gguf(0, 2**40)}, ["stats", "{m.gguf}"], (1, 2), r"(?i)count|metadata|truncat|limit|kv"),
    ("gguf", "string length 2^60", "cli", {"m.gguf": gguf(0, 1, struct.pack("<Q", 2**60) + b"\0" * 64)}, ["stats", "{m.gguf}"], (1, 2), r"(?i)string|length|truncat|beyond"),
    ("gguf", "tensor table shorter than its count", "cli", {"m.gguf": gguf(1, 0, gguf_str(b"w") + struct.pack("<I", 2))}, ["stats", "{m.gguf}"], (1, 2), r"(?i)impossible|truncat"),
    ("gguf", "tensor data offset beyond the file", "cli", {"m.gguf": gguf(1, 0, gguf_str(b"w") + struct.pack("<IQIQ", 1, 4, 1, 1 << 40) + b"\0" * 64)}, ["stats", "{m.gguf}"], (1, 2), r"(?i)beyond|offset|truncat"),
    ("npy", "bad magic", "cli", {"a.npy": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", magic=b"\x93NUMPX")}, ["stats", "{a.npy}"], (1, 2), r"(?i)magic|npy|format|recogni"),
    ("npy", "data shorter than the shape", "cli", {"a.npy": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }", b"\0" * 16)}, ["stats", "{a.npy}"], (1, 2), r"(?i)truncat|short|bytes|size"),
    ("npy", "unknown descr", "cli", {"a.npy": npy("{'descr': '<q9', 'fortran_order': False, 'shape': (4,), }", b"\0" * 64)}, ["stats", "{a.npy}"], (1, 2), r"q9|descr|dtype"),
    ("npy", "header not a dict", "cli", {"a.npy": npy("[1, 2, 3]", b"\0" * 16)}, ["stats", "{a.npy}"], (1, 2), r"(?i)header|dict|descr|expected"),
    ("tokenizer", "tokenizer.json not JSON", "cli", {"tokenizer.json": b'{"model": {"type": "BPE", '}, ["tokenize", "{tokenizer.json}", "--text", "x"], (1,), r"not valid JSON"),
    ("tokenizer", "a Unigram model", "cli", {"tokenizer.json": b'{"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}'}, ["tokenize", "{tokenizer.json}", "--text", "x"], (1,), r"model type 'Unigram' is not supported"),
    ("tokenizer", "text not UTF-8 under --strict-utf8", "cli", {"tokenizer.json": b'{"model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0}}}', "t.txt": b"ab\xffc"}, ["tokenize", "{tokenizer.json}", "--file", "{t.txt}", "--strict-utf8"], (1,), r"not valid UTF-8"),
    ("tokenizer", "GGUF: a token array of 2^40 strings", "cli", {"m.gguf": gguf(0, 1, gguf_str(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2**40))}, ["tokenize", "{m.gguf}", "--text", "x"], (1,), r"(?i)array of \d+ items cannot fit"),
    ("tokenizer", "GGUF: a pre-tokenizer it does not know", "cli", {"m.gguf": gguf(0, 3, gguf_str(b"tokenizer.ggml.model") + struct.pack("<I", 8) + gguf_str(b"gpt2") + gguf_str(b"tokenizer.ggml.pre") + struct.pack("<I", 8) + gguf_str(b"starcoder") + gguf_str(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 1) + gguf_str(b"a"))}, ["tokenize", "{m.gguf}", "--text", "x"], (1,), r"tokenizer\.ggml\.pre 'starcoder' is not supported"),
    ("tokenizer", "--decode an id outside the vocabulary", "cli", {"tokenizer.json": b'{"model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0}}}'}, ["tokenize", "{tokenizer.json}", "--decode", "0,70000"], (1,), r"token id 70000 is not in the vocabulary"),
    ("expression", "syntax error", "cli", {"c.json": cfg()}, ["debug", "{c.json}", "--random-tokens", "2", "--break", "model.layers.0", "--eval", "output +* 2"], (0, 1, 2), r"column \d+"),
    ("expression", "unknown name", "cli", {"c.json": cfg()}, ["debug", "{c.json}", "--random-tokens", "2", "--break", "model.layers.0", "--eval", "nosuch.mean"], (0, 1, 2), r"nosuch"),
    ("expression", "shapes differ", "cli", {"c.json": cfg()}, ["debug", "{c.json}", "--random-tokens", "2", "--break", "model.layers.0", "--eval", "output + output[:, :, 0:3]"], (0, 1, 2), r"(?i)shape"),
    ("expression", "index out of range", "cli", {"c.json": cfg()}, ["debug", "{c.json}", "--random-tokens", "2", "--break", "model.layers.0", "--eval", "output[5]"], (0, 1, 2), r"(?i)range|index|bounds"),
    ("expression", "division by zero tensor", "cli", {"c.json": cfg()}, ["debug", "{c.json}", "--random-tokens", "2", "--break", "model.layers.0", "--eval", "output.mean / 0"], (0, 1, 2), r"(?i)inf|nan|zero"),
    ("debug options", "--compute fp8", "cli", {"c.json": cfg()}, ["debug", "{c.json}", "--compute", "fp8"], (2,), r"fp32 or bf16"),
    ("debug options", "--seed 12abc", "cli", {"c.json": cfg()}, ["debug", "{c.json}", "--seed", "12abc"], (2,), r"non-negative integer"),
    ("lsp framing", "Content-Length 2^62", "lsp", LSP_INIT + b"Content-Length: 4611686018427387904\r\n\r\n{}", None, (0, 1), r"(?i)content-length|too large|limit|exceed"),
    ("lsp framing", "Content-Length not a number", "lsp", LSP_INIT + b"Content-Length: twelve\r\n\r\n{}", None, (0, 1), r"(?i)content-length|header"),
    ("lsp framing", "no Content-Length header", "lsp", LSP_INIT + b"Content-Type: x\r\n\r\n{}", None, (0, 1), r"(?i)content-length|header"),
    ("lsp framing", "body not JSON", "lsp", LSP_INIT + frame(b"{\"jsonrpc\": \"2.0\", \"id\": 5, "), None, (0, 1), r"(?i)-32700|parse"),
    ("lsp framing", "JSON but not an object", "lsp", LSP_INIT + frame(b"[1, 2, 3]"), None, (0, 1), r"(?i)-32600|invalid request|object"),
    ("lsp framing", "end of input inside a body", "lsp", LSP_INIT + b"Content-Length: 100\r\n\r\n{\"a\":", None, (0, 1), r"(?i)end of input"),
    ("lsp request", "unknown method", "lsp", LSP_INIT + frame({"jsonrpc": "2.0", "id": 7, "method": "no/such", "params": {}}), None, (0, 1), r"(?i)-32601|method not found|unknown"),
    ("lsp request", "hover params of the wrong type", "lsp", LSP_INIT + frame({"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": {"textDocument": 5, "position": "x"}}), None, (0, 1), r"(?i)-32602|textDocument|invalid params"),
    ("lsp request", "hover on a document never opened", "lsp", LSP_INIT + frame({"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": {"textDocument": {"uri": "file:///x.json"}, "position": {"line": 0, "character": 0}}}), None, (0, 1), r"(?i)not open|unknown document|null|result"),
    ("dap framing", "Content-Length 2^62", "dap", DAP_INIT + b"Content-Length: 4611686018427387904\r\n\r\n{}", None, (0, 1), r"(?i)content-length|too large|limit|exceed"),
    ("dap framing", "body not JSON", "dap", DAP_INIT + frame(b"{\"seq\": 2, "), None, (0, 1), r"(?i)json|parse"),
    ("dap request", "launch without config", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {}}), None, (0, 1), r"config"),
    ("dap request", "launch with a missing config", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"config": "/nonexistent/c.json"}}), None, (0, 1), r"(?i)nonexistent|no such|cannot"),
    ("dap request", "threads: 10^9", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"config": os.path.join(SRC, "tests", "fixtures", "configs", "gpt2.config.json"), "threads": 10**9}}), None, (0, 1), r"threads"),
    ("dap request", "compute: fp8", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"config": os.path.join(SRC, "tests", "fixtures", "configs", "gpt2.config.json"), "compute": "fp8"}}), None, (0, 1), r"compute.*fp32.*bf16"),
    ("dap request", "launch: token outside the vocabulary", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"config": os.path.join(SRC, "tests", "fixtures", "configs", "gpt2.config.json"), "tokens": [1, 60000]}}), None, (0, 1), r"token 60000 .*vocabulary"),
    ("dap request", "launch: weights of the wrong shape", "dap", lambda d: DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"config": os.path.join(SRC, "tests", "fixtures", "configs", "gpt2.config.json"), "weights": write(d, "w.safetensors", st({"transformer.wte.weight": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16))}}), None, (0, 1), r"transformer\.wte\.weight has shape \[4\]"),
    ("dap request", "launch: a model directory without weights", "dap", lambda d: DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"model": model_dir(d, "m")}}), None, (0, 1), r"config\.json but no weights.*randomWeights"),
    ("dap request", "launch: a 70B config on random weights (more than the memory available)", "dap", lambda d: DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"config": write(d, "big.json", cfg(hidden_size=8192, intermediate_size=28672, num_hidden_layers=80, num_attention_heads=64, num_key_value_heads=8, vocab_size=32000, torch_dtype="float32"))}}), None, (0, 1), r"random weights need .* GiB .* available \(MemAvailable.*refusing before allocating.*--layers N"),
    ("dap request", "launch: model and config", "dap", lambda d: DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"model": model_dir(d, "m"), "config": os.path.join(d, "m", "config.json")}}), None, (0, 1), r"either 'model'.*or 'config'"),
    ("dap request", "launch: a program that does not exist", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"program": "/nonexistent/train.py"}}), None, (0, 1), r"program '/nonexistent/train\.py' does not exist"),
    ("dap request", "launch: a Python without torch", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"program": os.path.join(SRC, "tests", "fixtures", "programs", "gpt_train.py"), "python": "/bin/false"}}), None, (0, 1), r"no Python that can import torch: tried /bin/false"),
    ("dap request", "launch: program and module", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"program": os.path.join(SRC, "tests", "fixtures", "programs", "gpt_train.py"), "module": "train"}}), None, (0, 1), r"either 'program'.*or 'module', not both"),
    ("dap request", "attach: no socket there", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "attach", "arguments": {"connect": "/nonexistent/agent.sock"}}), None, (0, 1), r"agent\.sock.*layerscope_agent\.listen"),
    ("dap request", "unknown command", "dap", DAP_INIT + frame({"seq": 2, "type": "request", "command": "frobnicate"}), None, (0, 1), r"frobnicate"),
    ("dap request", "request before initialize", "dap", frame({"seq": 1, "type": "request", "command": "threads"}), None, (0, 1), r"(?i)initialize"),
]


def answer_of(kind, out, err):
    """The user-visible answer: for protocol cases, the error responses/log messages the
    server sent after initialize, else its stderr; for the CLI, stderr then stdout."""
    text = err.decode(errors="replace")
    if kind in ("lsp", "dap"):
        msgs = []
        data = out
        while b"\r\n\r\n" in data:
            h, data = data.split(b"\r\n\r\n", 1)
            n = int(h.split(b":")[1])
            msgs.append(json.loads(data[:n]))
            data = data[n:]
        parts = []
        for m in msgs:
            if kind == "lsp" and "error" in m:
                parts.append("error %d: %s" % (m["error"]["code"], m["error"]["message"]))
            elif kind == "lsp" and m.get("method") == "window/logMessage":
                parts.append("log: " + m["params"]["message"])
            elif kind == "lsp" and m.get("id") not in (0, None) and "result" in m:
                parts.append("result: %s" % json.dumps(m["result"])[:80])
            elif kind == "dap" and m.get("type") == "response" and not m.get("success"):
                parts.append("error: " + ((m.get("body") or {}).get("error") or {}).get("format", m.get("message", "")))
        parts += [l for l in text.splitlines() if l.strip()]
        return " / ".join(parts)
    lines = [l for l in text.splitlines() if l.strip()] or [l for l in out.decode(errors="replace").splitlines() if l.strip()]
    return " / ".join(lines[:3])


def run_case(d, case):
    area, name, kind, inp, argv, want_rc, rx = case
    if kind == "cli":
        paths = {}
        for fn, data in inp.items():
            paths[fn] = os.path.join(d, fn)
            with open(paths[fn], "wb") as f:
                f.write(data)
        args = [paths[a[1:-1]] if a.startswith("{") and a.endswith("}") else a for a in argv]
        p = subprocess.run([LS] + args, capture_output=True, timeout=60)
        out, err = p.stdout, p.stderr
        if "--eval" in args:
            # the debugger prints evaluation errors on stdout next to the stop they belong to
            expr = args[args.index("--eval") + 1]
            lines = [l.strip() for l in (out + err).decode(errors="replace").splitlines() if expr in l]
            answer = " / ".join(lines[:2])
        else:
            answer = answer_of(kind, out, err)
    else:
        if callable(inp):  # input naming files written into the scratch folder
            inp = inp(d)
        p = subprocess.run([LS, kind], input=inp, capture_output=True, timeout=60, env=dict(os.environ, LAYERSCOPE_LOG="warn"))
        out, err = p.stdout, p.stderr
        answer = answer_of(kind, out, err)
    bad = [w for w in ("Sanitizer", "runtime error", "backtrace") if w in err.decode(errors="replace")]
    if p.returncode < 0 or bad:
        fail("%s / %s: crash (rc %d) %s" % (area, name, p.returncode, err.decode(errors="replace")[-800:]))
    elif p.returncode not in want_rc:
        fail("%s / %s: exit status %d, want %s: %s" % (area, name, p.returncode, want_rc, answer[:300]))
    elif not re.search(rx, answer):
        fail("%s / %s: answer does not match /%s/: %r" % (area, name, rx, answer[:300]))
    else:
        print("ok %-12s %-40s rc=%d %s" % (area, name, p.returncode, answer[:110]))
    return p.returncode, answer


def main():
    if not LS or not os.path.exists(LS):
        print("LAYERSCOPE must name the built binary")
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="ls-bad-input-") as d:
        for c in CASES:
            rc, answer = run_case(d, c)
            # the table shows <dir>/ for the scratch folder and drops log timestamps
            answer = re.sub(r"layerscope \d\d:\d\d:\d\d\.\d+ ", "layerscope ", answer.replace(d + "/", "<dir>/"))
            rows.append((c[0], c[1], rc, answer))
    if "--write" in sys.argv:
        write_doc(rows)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


def write_doc(rows):
    path = os.path.join(SRC, "docs", "bad-input.md")
    esc = lambda s: s.replace("|", "\\|").replace("\n", " ")
    with open(path, "w") as f:
        f.write(HEADER)
        f.write("| Area | Bad input | Exit | Answer (verbatim, truncated to 200 characters) |\n|---|---|---|---|\n")
        for area, name, rc, answer in rows:
            f.write("| %s | %s | %d | %s |\n" % (area, esc(name), rc, esc(answer[:200])))
        f.write(FOOTER)
    print("wrote", path)


HEADER = """# Bad input and the answers layerscope gives

Every bad-input case below is run against the built binary by `tests/cli/test_bad_input.py`
(part of the test suite), which checks that there is no crash or sanitizer report, that the
exit status is the expected one, and that the answer names the problem. The table is
generated from the real answers:

    LAYERSCOPE=build/release/cli/layerscope python3 tests/cli/test_bad_input.py --write

Exit: the process exit status (CLI cases: 0 ok, 1 findings/errors, 2 usage; protocol cases:
the server's status after its input ends without `shutdown`/`disconnect` — 1 for lsp as the
LSP specification asks, 0 for dap). Protocol answers are the error responses and log
messages the server sent, then its stderr, separated by ` / `.

"""

FOOTER = """
## Answers that could be clearer (reported, 2026-11-23)

- A GGUF or npy file with a damaged magic is not recognised and is read as safetensors, so
  the answer talks about a safetensors "header length ... beyond the file size" instead of
  "not a GGUF/npy file (bad magic)". Safe, but misleading.
- An npy header that is not a Python dict literal is reported as "descr '' is not
  supported" rather than "header is not a dict".

## Covered elsewhere

- Fuzzing (fuzz/, by the fuzz engineer): message framing, whole LSP and DAP message
  sequences, the config reader, config analysis, safetensors/GGUF/npy headers and the
  expression language; their crashes became tests/unit/test_regress_*.
- Expressions that look like file, shell or network access (`open("/etc/passwd")`,
  `system("id")`, `$(id)`, path-like names), 5,000-deep nesting and huge slices:
  tests/cli/test_security.py (docs/SECURITY.md).
- A client that vanishes (stdin closed mid-message, stdout broken, SIGTERM/SIGINT):
  tests/cli/test_vanish.py.
- The protocol robustness tests: tests/protocol/test_lsp_robustness.js,
  test_cli_protocol.js, test_dap.js.
"""

if __name__ == "__main__":
    sys.exit(main())
