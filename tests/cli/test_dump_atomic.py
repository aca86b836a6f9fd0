"""test_dump_atomic.py: `layerscope run --dump OUT` replaces OUT atomically.

The dump is written to a temporary file beside OUT and renamed over it only when complete,
so a run that fails while writing (here: the file size limit, RLIMIT_FSIZE, set between the
size of the tensor data and the size of the whole file, so that the data is kept and the
final file cannot be completed, as when the disk fills up or the process is killed during
the copy) leaves the previous OUT byte for byte as it was, and no temporary file behind.
The happy path is checked too: the dump reads back (with the reader written here) with
every module and the logits, replaces an older dump, and leaves nothing else in the folder.
"""
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import json

LS = os.environ.get("LAYERSCOPE", "layerscope")
FAILS = []
CONFIG = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 96, "n_positions": 64,
          "n_embd": 32, "n_layer": 2, "n_head": 4}


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def run(cfg, out, seed, fsize=None):
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return subprocess.run([LS, "run", cfg, "--random-tokens", "8", "--seed", str(seed), "--dump", out],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit if fsize else None)


def header(path):
    """(header dict, data size) of a safetensors file, read independently of layerscope."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n])
    return h, len(raw) - 8 - n


def main():
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "config.json")
        with open(cfg, "w") as f:
            json.dump(CONFIG, f)
        outdir = os.path.join(d, "out")
        os.mkdir(outdir)
        out = os.path.join(outdir, "dump.safetensors")
        # Happy path: a complete dump, readable, nothing else left in the folder.
        p = run(cfg, out, 1)
        check(p.returncode == 0, "first dump: exit %d: %s" % (p.returncode, p.stderr))
        h, data = header(out)
        names = [k for k in h if k != "__metadata__"]
        check("logits" in names and "transformer.h.1.mlp" in names and len(names) > 10, "dump tensors: %s" % names)
        check(max(v["data_offsets"][1] for k, v in h.items() if k != "__metadata__") == data, "data size matches the header")
        check(os.listdir(outdir) == ["dump.safetensors"], "files after the first dump: %s" % os.listdir(outdir))
        # Replacing works and changes the content (another seed, other tokens).
        first = open(out, "rb").read()
        p = run(cfg, out, 2)
        check(p.returncode == 0, "second dump: exit %d: %s" % (p.returncode, p.stderr))
        good = open(out, "rb").read()
        check(good != first and len(good) == len(first), "the second dump replaced the first")
        check(os.listdir(outdir) == ["dump.safetensors"], "files after the second dump: %s" % os.listdir(outdir))
        # A write that fails part way: enough room for the data, not for header + data.
        h, data = header(out)
        limit = data + 4
        p = run(cfg, out, 3, fsize=limit)
        check(p.returncode != 0, "a dump that cannot be written must fail (exit %d)" % p.returncode)
        check("dump.safetensors" in p.stderr, "the error names the dump: %s" % p.stderr.strip())
        check(os.path.exists(out) and open(out, "rb").read() == good,
              "a failed dump must leave the previous file as it was (now %s)"
              % ("%d bytes" % os.path.getsize(out) if os.path.exists(out) else "missing"))
        check(os.listdir(outdir) == ["dump.safetensors"], "files left after a failed dump: %s" % os.listdir(outdir))
        # The folder does not exist: an error, nothing created.
        p = run(cfg, os.path.join(d, "nope", "dump.safetensors"), 1)
        check(p.returncode != 0 and "nope" in p.stderr, "dump into a missing folder: exit %d: %s" % (p.returncode, p.stderr))
    if FAILS:
        print("%d failures" % len(FAILS))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
