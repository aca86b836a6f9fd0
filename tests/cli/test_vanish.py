"""test_vanish.py: a client that vanishes, for both `layerscope lsp` and `layerscope dap`.

Each case starts the server on raw pipes (no client library) and then misbehaves:
  - stdin closed in the middle of a header, and in the middle of a body;
  - the read end of the server's stdout closed while the server has a large message to write
    (LSP: publishDiagnostics of a document with 8,000 misspelt keys, ~3 MB; DAP: 3,000
    queued responses), so its writes fail with EPIPE (SIGPIPE is ignored);
  - SIGTERM and SIGINT while the server is busy, once with a client that keeps reading and
    once with a client that stopped reading so the pipe is full when the signal comes.
The process must end within 20 s, with no crash report on stderr (backtrace handler,
AddressSanitizer, UBSan), and with the status documented in docs/SECURITY.md: after end of
input (stdin closed, also mid-message) and after a broken stdout, 1 for lsp (the LSP rule for
an exit without shutdown) and 0 for dap; on SIGTERM / SIGINT either terminated by the
signal (the default action today: returncode -15 / -2) or, once the servers handle the
signal as end of input (the fix proposed in docs/SECURITY.md), the end-of-input status. Every byte it wrote must parse
as whole `Content-Length` frames of valid JSON: a signal never leaves half a message."""
import json
import os
import signal
import subprocess
import sys
import time

LS = os.environ.get("LAYERSCOPE")
SAN = os.environ.get("LS_SANITIZE") == "1"
failures = []
TMP = os.environ.get("TMPDIR", "/tmp")
# Exit status when the client vanishes: the LSP specification asks for 1 when input ends
# without a `shutdown` request; DAP has no such rule and the adapter ends with 0.
VANISH_RC = {"lsp": 1, "dap": 0}


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def frame(obj):
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def whole_frames(data):
    """Number of frames in data; raises ValueError on a partial or malformed frame."""
    n = 0
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            raise ValueError("partial header at the end: %r" % data[:80])
        head = data[:end].decode("ascii")
        if not head.startswith("Content-Length: "):
            raise ValueError("bad header %r" % head[:80])
        size = int(head[len("Content-Length: "):])
        body = data[end + 4:end + 4 + size]
        if len(body) < size:
            raise ValueError("half-written body: %d of %d bytes" % (len(body), size))
        json.loads(body)
        data = data[end + 4 + size:]
        n += 1
    return n


def start(mode):
    env = dict(os.environ, LAYERSCOPE_DEBUG_METHODS="1")
    return subprocess.Popen([LS, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


# The first SIGTERM/SIGINT ends input like EOF: the messages under way are finished, so the
# client never receives a half frame (rpc/conn.c); a second signal kills.


def finish(p, what, want_rc, out=b""):
    try:
        rest, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        fail("%s: still running 20 s after the client vanished" % what)
        return
    out += rest or b""
    text = err.decode(errors="replace")
    for bad in ("backtrace", "Sanitizer", "runtime error", "SIGSEGV", "SIGABRT"):
        if bad in text:
            fail("%s: crash report on stderr (%s):\n%s" % (what, bad, text[-2000:]))
    if p.returncode not in want_rc:
        fail("%s: exit status %s, want one of %s; stderr:\n%s" % (what, p.returncode, want_rc, text[-1500:]))
    try:
        n = whole_frames(out)
    except ValueError as e:
        fail("%s: %s" % (what, e))
        return
    print("ok %s: status %s, %d whole frames" % (what, p.returncode, n))


LSP_INIT = frame({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}}) \
    + frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
DAP_INIT = frame({"seq": 1, "type": "request", "command": "initialize", "arguments": {"adapterID": "layerscope"}})


def big_doc():
    keys = ",\n".join('  "hiden_size_%d": %d' % (i, i) for i in range(8000))
    return '{\n  "model_type": "llama",\n  "hidden_size": 64,\n%s\n}\n' % keys


def lsp_open(text):
    return frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "file:///v/config.json", "languageId": "json", "version": 1, "text": text}}})


def dap_flood(n):
    return b"".join(frame({"seq": 2 + i, "type": "request", "command": "threads"}) for i in range(n))


def case_stdin_closed(mode, init):
    for label, tail in (("mid-header", b"Content-Length: 80\r\nContent-Ty"), ("mid-body", b"Content-Length: 80\r\n\r\n{\"jsonrpc\": \"2.0\", \"id\"")):
        p = start(mode)
        p.stdin.write(init + tail)
        p.stdin.close()
        p.stdin = None  # communicate() must not flush it
        finish(p, "%s stdin closed %s" % (mode, label), (VANISH_RC[mode],))


def case_stdout_broken(mode, payload):
    p = start(mode)
    p.stdin.write(payload)
    p.stdin.flush()
    time.sleep(0.3)  # the server is now blocked on a full pipe, with more queued
    p.stdout.close()  # EPIPE on its next write
    time.sleep(0.3)
    p.stdin.close()
    p.stdin = None
    finish(p, "%s stdout broken during a large write" % mode, (VANISH_RC[mode],))


def in_big_message(out):
    """True once out holds the header of a message over 1 MB and 100 KB of its body."""
    i = out.find(b"Content-Length: ")
    while i >= 0:
        end = out.find(b"\r\n\r\n", i)
        if end < 0:
            return False
        n = int(out[i + 16:end])
        if n > 1000000:
            return len(out) - (end + 4) > 100000
        i = out.find(b"Content-Length: ", end + 4 + n)
    return False


def case_signal(mode, payload, sig, reading):
    """Signal while busy. A reading client signals in the middle of the large message (LSP:
    once 100 KB of the multi-MB publishDiagnostics arrived; DAP, whose messages are small: once
    200 KB arrived); a client that stopped reading signals after the server has had time to
    start its large message into the full pipe, so one write is half done in the kernel's view
    unless the server keeps messages whole."""
    p = start(mode)
    out = b""
    p.stdin.write(payload)
    p.stdin.flush()
    deadline = time.time() + (10 if SAN else 5)
    if reading:
        os.set_blocking(p.stdout.fileno(), False)
        while time.time() < deadline and not (in_big_message(out) if mode == "lsp" else len(out) > 200000):
            chunk = p.stdout.read()
            if chunk:
                out += chunk
            time.sleep(0.002)
        os.set_blocking(p.stdout.fileno(), True)
    else:
        time.sleep(3 if SAN else 1.5)
    p.send_signal(sig)
    finish(p, "%s %s while busy (%s)" % (mode, signal.Signals(sig).name, "client reading" if reading else "pipe full"),
           (-sig, VANISH_RC[mode]), out)


def dap_run_payload():
    cfg = os.path.join(TMP, "ls-vanish-%d.json" % os.getpid())
    with open(cfg, "w") as f:
        json.dump({"model_type": "llama", "vocab_size": 256, "hidden_size": 256, "intermediate_size": 512,
                   "num_hidden_layers": 8, "num_attention_heads": 8, "num_key_value_heads": 4,
                   "max_position_embeddings": 256, "tie_word_embeddings": False}, f)
    msgs = [frame({"seq": 2, "type": "request", "command": "launch", "arguments": {"config": cfg, "randomTokens": 64, "threads": 1}}),
            frame({"seq": 3, "type": "request", "command": "setFunctionBreakpoints", "arguments": {"breakpoints": [{"name": "model.layers.*.mlp"}]}}),
            frame({"seq": 4, "type": "request", "command": "configurationDone"})]
    return DAP_INIT + b"".join(msgs) + dap_flood(3000), cfg


def main():
    if not LS or not os.path.exists(LS):
        print("LAYERSCOPE must name the built binary")
        return 2
    big = lsp_open(big_doc())
    hovers = b"".join(frame({"jsonrpc": "2.0", "id": 10 + i, "method": "textDocument/hover", "params": {
        "textDocument": {"uri": "file:///v/config.json"}, "position": {"line": 1, "character": 4}}}) for i in range(2000))
    dap_payload, cfg = dap_run_payload()
    try:
        case_stdin_closed("lsp", LSP_INIT)
        case_stdin_closed("dap", DAP_INIT)
        case_stdout_broken("lsp", LSP_INIT + big + hovers)
        case_stdout_broken("dap", DAP_INIT + dap_flood(3000))
        # SIGINT takes the same path as SIGTERM: it runs only against a full pipe, and not in
        # the ASan build, to keep the test fast
        for sig in (signal.SIGTERM,) if SAN else (signal.SIGTERM, signal.SIGINT):
            for reading in (True, False) if sig == signal.SIGTERM else (False,):
                case_signal("lsp", LSP_INIT + big, sig, reading)
                case_signal("dap", dap_payload, sig, reading)
    finally:
        os.unlink(cfg)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
