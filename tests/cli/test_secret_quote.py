"""test_secret_quote.py: error messages about a file that is not JSON do not quote it.

A config path that names the wrong file (an .env with credentials, a private key, a
binary) must not have its content copied into messages, which end up in CI logs and the
editor's Debug Console. Through the CLI (`summary`, `check` in text, JSON and SARIF, `run`,
`debug`, and the file given as `--weights` where an index is expected):
  - a file whose first byte is not '{' or '[' gets "the file is not JSON: it starts with 'A'"
    (one character) and nothing more of its content;
  - a file with NUL or control bytes gets "it holds binary data" and no content at all;
  - a file that does look like JSON is quoted 8 bytes at most where a stray word is reported;
  - every output (stdout and stderr) is searched for the fake secret's distinctive parts.
The DAP side (the output events of a launch) is in tests/protocol/test_dap_files.js."""
import json
import os
import subprocess
import sys
import tempfile

LS = os.environ.get("LAYERSCOPE")
FAILS = []
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ENV = "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n" % (KEY_ID, SECRET)
# Pieces no message may contain: the credentials, and any 9 consecutive bytes of the file.
NEEDLES = [KEY_ID[:9], SECRET[:9], SECRET[-9:], "ACCESS_KEY", "SECRET_AC"]


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def ls(args, cwd):
    p = subprocess.run([LS] + args, cwd=cwd, capture_output=True, text=True, timeout=60, errors="replace")
    return p.returncode, p.stdout + p.stderr


def no_leak(what, out, needles=NEEDLES):
    leaked = [n for n in needles if n in out]
    check(not leaked, "%s quotes the file (%s): %s" % (what, leaked, out.strip()[:400]))


def main():
    if not LS or not os.path.exists(LS):
        print("LAYERSCOPE must name the built binary")
        sys.exit(2)
    with tempfile.TemporaryDirectory() as d:
        files = {
            "env.json": ENV.encode(),                                    # text, not JSON
            "quoted.json": ('"%s %s"\n' % (KEY_ID, SECRET)).encode(),   # a JSON-ish string, unterminated below
            "key.json": b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + SECRET.encode() + b"\n",
            "binary.json": b"\x00\x01\x02" + KEY_ID.encode() + b"\x00" + SECRET.encode(),
            "braced.json": ("{\x01 %s: %s}" % (KEY_ID, SECRET)).encode(),  # '{' but binary
        }
        files["quoted.json"] = files["quoted.json"].rstrip(b'"\n')
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"model_type": "gpt2", "vocab_size": 64, "n_embd": 32, "n_layer": 1, "n_head": 4,
                       "n_positions": 16}, f)
        for name in files:
            binary = name in ("binary.json", "braced.json")
            runs = {
                "summary": ["summary", name],
                "check": ["check", name],
                "check json": ["check", "--format", "json", name],
                "check sarif": ["check", "--format", "sarif", name],
                "run": ["run", name, "--random-tokens", "2"],
                "debug": ["debug", name, "--random-tokens", "2"],
            }
            for what, argv in runs.items():
                rc, out = ls(argv, d)
                check(rc != 0, "%s %s: exit 0" % (what, name))
                no_leak("%s %s" % (what, name), out)
                check("not JSON" in out, "%s %s: the answer says the file is not JSON: %s" % (what, name, out.strip()[:300]))
                if binary:
                    check("binary data" in out, "%s %s: the answer says binary: %s" % (what, name, out.strip()[:300]))
            # Named as weights: read as a checkpoint index (jansson), or as a tensor file.
            rc, out = ls(["run", "config.json", "--random-tokens", "2", "--weights", name], d)
            check(rc != 0, "run --weights %s: exit 0" % name)
            no_leak("run --weights %s" % name, out)
            rc, out = ls(["stats", name], d)
            check(rc != 0 or "0 tensors" in out, "stats %s: no error" % name)
            no_leak("stats %s" % name, out)
        # The first character may be quoted, escaped; nothing after it.
        rc, out = ls(["summary", "env.json"], d)
        check("starts with 'A'" in out, "env.json: the answer names the first character: %s" % out.strip())
        # A file that looks like JSON: a stray word is quoted to 8 bytes at most.
        with open(os.path.join(d, "typo.json"), "w") as f:
            f.write('{"model_type": "gpt2", "n_embd": %s}\n' % SECRET.replace("/", ""))
        for argv in (["summary", "typo.json"], ["check", "typo.json"]):
            rc, out = ls(argv, d)
            check(rc != 0 and "unexpected 'wJalrXUt...'" in out, "%s: the stray word quoted to 8 bytes: %s" % (argv[0], out.strip()[:300]))
            no_leak(argv[0] + " typo.json", out, [SECRET[:9]])
    if FAILS:
        print("%d failures" % len(FAILS))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
