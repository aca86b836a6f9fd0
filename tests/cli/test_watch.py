"""test_watch.py: `layerscope watch` end to end on real small torch programs, written into a
temporary directory and run by the built binary with the agent (the Python for the programs
is /usr/bin/python3, which has torch):
  1. a clean training loop of a small MLP: exit 0, the program's own prints (and its
     arguments) come through; the same with the interpreter as the command's first word,
     `-m module` with --cwd, and a relative program found in --cwd;
  2. a gradient overflow planted in a custom autograd Function inside a custom module (its
     backward multiplies two entries of the weight gradient by inf at step 2): exit 1, the
     report names the parameter's gradient, backward and step 2, the module stack, the Python
     line of loss.backward() in the program, and the statistics of the gradient, whose finite
     part agrees with the same gradient computed here by torch; the program's output before
     the stop is there, nothing after it, and the program is gone;
  3. --break with the backward: phase stops at the module's gradient (not at its forward),
     a plain --break at its forward output; the statistics against torch again;
  4. --break-on inf with a NaN earlier in the forward pass: it skips the NaN and stops at the
     forward Inf, counted and located as torch counts them; the default stops at the NaN;
  5. bad input, exit 2 with the reason: no program, a missing program or --cwd, an unknown
     filter or option, /bin/false and a python3 without torch as the interpreter (the
     message names what was tried), a program that exits before it runs any nn.Module;
     a program that fails by itself after running modules exits with its own status;
  6. SIGINT (and SIGTERM) while a long program runs, and SIGINT at the --interactive
     prompt: exit 130 (143) within seconds, and the program's process is gone;
  7. --interactive: the command loop of `layerscope debug` at the stop (stack with the
     program's frames, inspect, expressions), quit ends the program;
  8. --record: the watched run in a run record (kind watch, the program's command line, the
     Inf stop as an event and a finding), queried at the stop with `sql` and afterwards with
     Python's sqlite3.
Under LS_SANITIZE=1 the agent's library is built with AddressSanitizer and Python is not:
the programs run through a wrapper interpreter that preloads the ASan runtime (leak checks
off for Python's own allocations); layerscope itself runs with the sanitizers as usual.
Without torch in /usr/bin/python3 (or without the ASan runtime in a sanitizer build) the test
is a CTest skip (77), and under CI a failure."""
import contextlib
import importlib.util
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import sanitize

LS = os.environ.get("LAYERSCOPE", "layerscope")
SYS_PY = "/usr/bin/python3"
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)
    return cond


def skip(why):
    if os.environ.get("CI") not in (None, "", "false"):
        print("FAIL (CI does not skip):", why)
        sys.exit(1)
    print("skipped:", why)
    sys.exit(77)


def env(**kw):
    """The programs' environment: Python buffers stdout in a pipe as it does in CI (no
    PYTHONUNBUFFERED from the caller), so the output before a stop must be flushed by the
    agent."""
    e = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    e.update(kw)
    return e


def watch(*args, cwd=None, stdin=None, timeout=180):
    r = subprocess.run([LS, "watch", *args], capture_output=True, text=True, input=stdin, cwd=cwd, timeout=timeout,
                       env=env())
    for stream in (r.stdout, r.stderr):  # no sanitizer report or crash, ever
        check(not re.search(r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer|layerscope: crash", stream),
              f"watch {args}: a crash or sanitizer report:\n{stream[-3000:]}")
    return r


def gone(pid, within=10.0):
    """The program's process has ended (and was reaped) within a few seconds."""
    t0 = time.time()
    while time.time() - t0 < within:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def pid_of(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def line_of(path, text):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if text in line:
                return i
    raise AssertionError(f"{text!r} not in {path}")


def load(path, name):
    """A program as a module here, to compute with torch what layerscope should report."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


STATS = re.compile(r"f32\[([\d,]+)\] μ=(\S+) σ=(\S+) \[(\S+), (\S+)\] nan=(\d+) inf=(\d+)")


def close(got, want, what):
    return check(abs(float(got) - want) <= 0.006 * abs(want) + 1e-6, f"{what}: layerscope {got}, torch {want}")


# ------------------------------------------------------------------ the programs

CLEAN = '''import os, sys
import torch
import torch.nn as nn


def build():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 3))


def data():
    g = torch.Generator().manual_seed(2)
    return torch.randn(5, 6, generator=g), torch.randn(5, 3, generator=g)


def main(steps):
    with open(os.environ.get("PIDFILE", os.devnull), "w") as f:
        f.write(str(os.getpid()))
    net = build()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = data()
    for step in range(steps):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        print("clean step %d loss %.4f" % (step, loss.item()), flush=True)
    print("clean done after", steps, "steps")


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 3)
'''

PLANTED = '''import os
import torch
import torch.nn as nn


class Overflow(torch.autograd.Function):
    """x * w; at the planted step its backward multiplies the weight gradient's entries 3 and
    7 by inf: a gradient overflow the optimizer would turn into a NaN loss."""

    @staticmethod
    def forward(ctx, x, w, blow):
        ctx.save_for_backward(x, w)
        ctx.blow = blow
        return x * w

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gw = (g * x).sum(0)
        if ctx.blow:
            scale = torch.ones_like(gw)
            scale[3] = scale[7] = float("inf")
            gw = gw * scale
        return g * w, gw, None


class Planted(nn.Module):
    def __init__(self, n, at_step):
        super().__init__()
        self.w = nn.Parameter(torch.linspace(0.5, 1.5, n))
        self.calls, self.at_step = 0, at_step

    def forward(self, x):
        self.calls += 1
        return Overflow.apply(x, self.w, self.calls - 1 == self.at_step)


class Net(nn.Module):
    def __init__(self, at_step=2):
        super().__init__()
        torch.manual_seed(0)
        self.fc1 = nn.Linear(8, 16)
        self.planted = Planted(16, at_step)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        return self.fc2(torch.tanh(self.planted(self.fc1(x))))


def train(steps=5, grads=None):
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(32, 8, generator=g), torch.randn(32, 1, generator=g)
    for step in range(steps):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        if grads is not None:
            grads.append(net.planted.w.grad.clone())
        opt.step()
        print("planted step %d loss %.4f" % (step, loss.item()))


if __name__ == "__main__":
    with open(os.environ.get("PIDFILE", os.devnull), "w") as f:
        f.write(str(os.getpid()))
    train()
'''

FORWARD = '''import torch
import torch.nn as nn


class Nanny(nn.Module):
    """Two outputs; the second has a NaN."""

    def forward(self, x):
        y = x.clone()
        y[0, 1] = float("nan")
        return x.clone(), y


class Blowup(nn.Module):
    def forward(self, x):
        return torch.exp(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.nanny, self.blowup = Nanny(), Blowup()

    def forward(self, x):
        return self.blowup(self.nanny(x)[1])


def inputs():
    return torch.linspace(-200.0, 200.0, 16).reshape(2, 8)


if __name__ == "__main__":
    print("forward sum", Net()(inputs()).sum().item())
'''

LONG = '''import os, signal, time
import torch

net = torch.nn.Linear(4, 4)
with open(os.environ["PIDFILE"] + ".blocked", "w") as f:  # signals the program cannot receive
    f.write(" ".join(signal.Signals(s).name for s in sorted(signal.pthread_sigmask(signal.SIG_BLOCK, []))))
with open(os.environ["PIDFILE"], "w") as f:
    f.write(str(os.getpid()))
while True:
    net(torch.randn(2, 4))
    time.sleep(0.01)
'''


def write(d, name, text):
    path = os.path.join(d, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def interpreter(d):
    """The Python the programs run on (sanitize.py: a wrapper preloading ASan under
    LS_SANITIZE=1)."""
    try:
        return sanitize.interpreter(LS, d)
    except RuntimeError as e:
        skip(str(e))


# ------------------------------------------------------------------ the cases

def case_clean(d, py):
    prog = write(d, "clean.py", CLEAN)
    env_pid = os.path.join(d, "clean.pid")
    os.environ["PIDFILE"] = env_pid
    r = watch("--python", py, "--", prog, "--steps", "3")
    check(r.returncode == 0, f"clean: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    steps = re.findall(r"^clean step (\d) loss", r.stdout, re.M)
    check(steps == ["0", "1", "2"] and "clean done after 3 steps" in r.stdout, f"clean: program output {r.stdout!r}")
    check("the program exited with status 0, nothing stopped it" in r.stderr, f"clean: {r.stderr}")
    check("layerscope watch: " not in r.stdout, f"clean: no report expected: {r.stdout}")
    pid = pid_of(env_pid)
    check(pid > 0 and gone(pid), "clean: the program's process is gone")
    # the interpreter as the command's first word, and a different argument
    r = watch("--", py, prog, "--steps", "2")
    check(r.returncode == 0 and "clean done after 2 steps" in r.stdout, f"python first: {r.returncode} {r.stderr}")
    # -m module in --cwd, and a relative program found in --cwd
    proj = os.path.join(d, "proj")
    write(proj, "trainmod.py", CLEAN)
    r = watch("--cwd", proj, "--", py, "-m", "trainmod", "--steps", "1")
    check(r.returncode == 0 and "clean done after 1 steps" in r.stdout, f"-m in --cwd: {r.returncode} {r.stderr}")
    r = watch("--cwd", proj, "--python", py, "trainmod.py")
    check(r.returncode == 0 and "clean done after 3 steps" in r.stdout, f"relative in --cwd: {r.returncode} {r.stderr}")


def case_planted(d, py):
    prog = write(d, "planted.py", PLANTED)
    pidfile = os.path.join(d, "planted.pid")
    os.environ["PIDFILE"] = pidfile
    r = watch("--python", py, prog)
    out = r.stdout
    check(r.returncode == 1, f"planted: exit {r.returncode} (want 1)\n{out}\n{r.stderr}")
    head = re.search(r"^layerscope watch: Inf in gradient of planted\.w \(backward, step 2\): 2 of 16 values, "
                     r"first at \[3\]$", out, re.M)
    check(head is not None, f"planted: the description\n{out}")
    mods = re.search(r"^module stack \(innermost first\):\n  planted \(Planted\)\n  \(root\) \(Net\)\n", out, re.M)
    check(mods is not None, f"planted: module stack\n{out}")
    bwd = line_of(prog, "loss.backward()")
    check(re.search(r"^Python stack \(innermost first\):\n  %s:%d in train\n  %s:\d+ in <module>\n"
                    % (re.escape(prog), bwd, re.escape(prog)), out, re.M) is not None,
          f"planted: the Python stack names {os.path.basename(prog)}:{bwd} (loss.backward()) in train\n{out}")
    check(re.search(r"^  \(\d+ frames? inside torch not shown\)$", out, re.M) is not None, f"planted: torch frames\n{out}")
    m = re.search(r"^tensor w\.grad \(gradient\): " + STATS.pattern + r" zeros=", out, re.M)
    if check(m is not None, f"planted: the gradient's statistics line\n{out}"):
        # the same gradient, by torch in this process: the finite part's figures, the Inf count
        grads = []
        with contextlib.redirect_stdout(io.StringIO()):
            load(prog, "planted_prog").train(steps=3, grads=grads)
        gw = grads[2]
        fin = gw[gw.isfinite()].double()
        check(m.group(1) == "16" and m.group(6) == "0" and m.group(7) == str(int(gw.isinf().sum())),
              f"planted: shape/nan/inf {m.groups()} vs torch inf={int(gw.isinf().sum())}")
        close(m.group(2), float(fin.mean()), "planted: mean of the finite gradient")
        close(m.group(4), float(fin.min()), "planted: min")
        close(m.group(5), float(fin.max()), "planted: max")
    # the program's output up to the stop, nothing after it (it was ended at the stop)
    lines = re.findall(r"^planted step (\d)", out, re.M)
    check(lines == ["0", "1"], f"planted: program output before the stop {lines}")
    check(head is None or 0 <= out.find("planted step 1") < head.start(),
          "planted: the report follows the program's output")
    pid = pid_of(pidfile)
    check(pid > 0 and gone(pid), "planted: the program's process is gone after the stop")


def case_break(d, py):
    prog = os.path.join(d, "clean.py")
    os.environ["PIDFILE"] = os.devnull
    r = watch("--break", "backward:2", "--break-on", "none", "--python", py, prog)
    out = r.stdout
    check(r.returncode == 1, f"backward break: exit {r.returncode}\n{out}\n{r.stderr}")
    check(re.search(r"^layerscope watch: breakpoint 1 \(backward:2\) at 2 \[Linear\] \(backward, step 0\)$", out, re.M)
          is not None, f"backward break: the stop is in the backward pass\n{out}")
    check("clean step" not in out, f"backward break: the stop comes before the first step ends\n{out}")
    check(re.search(r"^  %s:%d in main$" % (re.escape(prog), line_of(prog, "loss.backward()")), out, re.M) is not None,
          f"backward break: Python stack at loss.backward()\n{out}")
    m = re.search(r"^tensor grad \(gradient\): " + STATS.pattern, out, re.M)
    if check(m is not None, f"backward break: the gradient's statistics\n{out}"):
        mod = load(prog, "clean_prog")
        net = mod.build()
        x, y = mod.data()
        seen = []
        net[2].register_full_backward_hook(lambda m_, gi, go: seen.append(go[0].detach().double()))
        ((net(x) - y) ** 2).mean().backward()
        g = seen[0]
        check(m.group(1) == "5,3", f"backward break: gradient shape {m.group(1)}")
        close(m.group(2), float(g.mean()), "backward break: mean of the output gradient")
        close(m.group(4), float(g.min()), "backward break: min")
        close(m.group(5), float(g.max()), "backward break: max")
    # the same module without a phase: its forward output
    r = watch("--break", "2", "--break-on", "none", "--python", py, prog)
    check(r.returncode == 1 and re.search(r"^layerscope watch: breakpoint 1 \(2\) at 2 \[Linear\] \(forward, step 0\)$",
                                          r.stdout, re.M) is not None
          and re.search(r"^tensor output \(output\): f32\[5,3\] ", r.stdout, re.M) is not None,
          f"forward break: {r.returncode}\n{r.stdout}")
    check(re.search(r"^  %s:%d in main$" % (re.escape(prog), line_of(prog, "loss = ((net(x)")), r.stdout, re.M)
          is not None, f"forward break: Python stack at the forward call\n{r.stdout}")
    # a glob that matches nothing: the program runs to its end, and stderr says so
    r = watch("--break", "nosuch.*", "--python", py, prog)
    check(r.returncode == 0 and "layerscope watch: breakpoint 1 (nosuch.*) matched no module of the program"
          in r.stderr, f"unmatched break: {r.returncode} {r.stderr}")


def case_forward_inf(d, py):
    prog = write(d, "forward.py", FORWARD)
    mod = load(prog, "forward_prog")
    y = mod.Net().blowup(mod.Nanny()(mod.inputs())[1])
    n_inf = int(y.isinf().sum())
    first = [int(i) for i in y.isinf().nonzero()[0]]
    r = watch("--break-on", "inf", "--python", py, prog)
    check(r.returncode == 1, f"--break-on inf: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    want = "layerscope watch: Inf in output of blowup (forward, step 0): %d of 16 values, first at [%d, %d]" % (
        n_inf, first[0], first[1])
    check(want in r.stdout, f"--break-on inf: want {want!r}\n{r.stdout}")
    check(re.search(r"^tensor output \(output\): f32\[2,8\] μ=\S+ σ=\S+ \[\S+, \S+\] nan=1 inf=%d " % n_inf,
                    r.stdout, re.M) is not None, f"--break-on inf: statistics\n{r.stdout}")
    check("forward sum" not in r.stdout, "--break-on inf: the program was ended at the stop")
    r = watch("--python", py, prog)
    check(r.returncode == 1 and "layerscope watch: NaN in output[1] of nanny (forward, step 0): 1 of 16 values, "
          "first at [0, 1]" in r.stdout, f"default filters stop at the NaN first\n{r.stdout}")
    # the report's tensor is the one with the NaN, the module's second output
    check(re.search(r"^tensor output\[1\] \(output\): f32\[2,8\] μ=\S+ σ=\S+ \[\S+, \S+\] nan=1 inf=0 ", r.stdout, re.M)
          is not None, f"default filters: the tensor with the NaN\n{r.stdout}")
    r = watch("--break-on", "none", "--python", py, prog)
    check(r.returncode == 0 and "forward sum" in r.stdout, f"--break-on none: {r.returncode}\n{r.stdout}")


def case_bad_input(d, py):
    prog = os.path.join(d, "clean.py")
    for args, rc, want in [
            ((), 2, "no program given"),
            (("--",), 2, "no program given"),
            (("--", py), 2, "no program given"),
            (("--python", py, "missing.py"), 2, "program missing.py: no such file"),
            (("--python", py, "--cwd", os.path.join(d, "nodir"), prog), 2, "no such directory"),
            (("--break-on", "nan,bogus", prog), 2, "unknown filter 'bogus'"),
            (("--frobnicate", prog), 2, "unknown option '--frobnicate'"),
            (("--", py, "-c", "print(1)"), 2, "python option '-c' is not supported"),
            (("--python", "/bin/false", prog), 2, "tried /bin/false (cannot import torch)"),
            (("--python", os.path.join(d, "no-such-python"), prog), 2, "no-such-python (not found)")]:
        r = watch(*args, timeout=120)
        check(r.returncode == rc and want in r.stderr, f"watch {args}: exit {r.returncode} (want {rc}), "
                                                        f"stderr {r.stderr!r} (want {want!r})")
    # a python3 without torch: a virtual environment without the system's packages
    venv = os.path.join(d, "venv")
    made = subprocess.run([SYS_PY, "-m", "venv", "--without-pip", venv], capture_output=True, timeout=120)
    nopy = os.path.join(venv, "bin", "python3")
    if made.returncode != 0:  # no venv module: the same interpreter, without its site packages
        nopy = write(d, "python3-nosite", "#!/bin/sh\nexec %s -S \"$@\"\n" % SYS_PY)
        os.chmod(nopy, 0o755)
    r = watch("--", nopy, prog, timeout=120)
    check(r.returncode == 2 and "no Python that can import torch: tried %s (cannot import torch)" % nopy in r.stderr,
          f"python3 without torch: exit {r.returncode}: {r.stderr}")
    # programs that end before any nn.Module runs: exit 2, their status and output reported
    early = write(d, "early.py", "import sys\nprint('early bye')\nsys.exit(3)\n")
    r = watch("--python", py, early)
    check(r.returncode == 2 and "early bye" in r.stdout
          and "the program exited with status 3 before it ran any nn.Module" in r.stderr,
          f"early exit: {r.returncode} {r.stdout!r} {r.stderr!r}")
    nomod = write(d, "nomod.py", "import torch\nprint('no modules', torch.ones(2).sum().item())\n")
    r = watch("--python", py, nomod)
    check(r.returncode == 2 and "no modules 2.0" in r.stdout
          and "the program exited with status 0 before it ran any nn.Module" in r.stderr,
          f"no module: {r.returncode} {r.stderr!r}")
    # a program that fails by itself after running modules: its own status
    fails = write(d, "fails.py", "import torch\ntorch.nn.Linear(2, 2)(torch.ones(2))\nraise SystemExit(5)\n")
    r = watch("--python", py, fails)
    check(r.returncode == 5 and "the program exited with status 5" in r.stderr, f"status 5: {r.returncode} {r.stderr}")


class Reader:
    """Collects a process's stdout on a thread, so a test can wait for a line."""

    def __init__(self, stream):
        self.text, self.lock = "", threading.Lock()
        self.t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.t.start()

    def _run(self, stream):
        for chunk in iter(lambda: stream.read1(4096) if hasattr(stream, "read1") else stream.read(1), b""):
            with self.lock:
                self.text += chunk.decode("utf-8", "replace")

    def wait_for(self, what, timeout, proc):
        t0 = time.time()
        while time.time() - t0 < timeout and proc.poll() is None:
            with self.lock:
                if what in self.text:
                    return True
            time.sleep(0.05)
        return False


def case_signals(d, py):
    prog = write(d, "long.py", LONG)
    for sig, want in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        pidfile = os.path.join(d, "long-%d.pid" % sig)
        p = subprocess.Popen([LS, "watch", "--python", py, prog], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env(PIDFILE=pidfile))
        t0 = time.time()
        while not pid_of(pidfile) and time.time() - t0 < 120 and p.poll() is None:
            time.sleep(0.05)
        pid = pid_of(pidfile)
        if not check(pid > 0, f"{sig.name}: the long program did not start"):
            p.kill()
            p.communicate()
            continue
        with open(pidfile + ".blocked") as f:
            blocked = f.read()
        check(blocked == "", f"{sig.name}: the program starts with signals blocked: {blocked}")
        time.sleep(0.5)  # modules are running
        t1 = time.time()
        p.send_signal(sig)
        try:
            _, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        took = time.time() - t1
        check(p.returncode == want, f"{sig.name}: exit {p.returncode} (want {want}): {err.decode()}")
        check(took < 6, f"{sig.name}: took {took:.1f} s to end")
        check(gone(pid, 5), f"{sig.name}: the program (pid {pid}) is still there")
    # SIGINT at the --interactive prompt
    pidfile = os.path.join(d, "prompt.pid")
    p = subprocess.Popen([LS, "watch", "--interactive", "--python", py, os.path.join(d, "planted.py")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env(PIDFILE=pidfile))
    rd = Reader(p.stdout)
    if check(rd.wait_for("tensor w.grad", 120, p), f"prompt: no stop report\n{rd.text}"):
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stdin.close()
    check(p.returncode == 130, f"SIGINT at the prompt: exit {p.returncode}")
    pid = pid_of(pidfile)
    check(pid > 0 and gone(pid, 5), "SIGINT at the prompt: the program is gone")


def case_interactive(d, py):
    prog = os.path.join(d, "planted.py")
    os.environ["PIDFILE"] = os.devnull
    r = watch("--interactive", "--python", py, prog, stdin="stack\ninspect\nw.grad.inf\neval nosuch\nquit\n")
    out = r.stdout
    check(r.returncode == 1, f"interactive: exit {r.returncode} (a NaN/Inf stop was seen)\n{out}\n{r.stderr}")
    check("Inf in gradient of planted.w (backward, step 2)" in out, f"interactive: the report\n{out}")
    frames = re.findall(r"^#(\d+) (\S+)(?: \((\w+)\))?(?: at (\S+):(\d+))?( \(library\))?$", out, re.M)
    names = [f[1] for f in frames]
    check(names[:2] == ["planted", "(root)"], f"interactive: stack modules {frames}")
    user = [f for f in frames if f[3] == prog]
    check([(f[1], int(f[4])) for f in user][:1] == [("train", line_of(prog, "loss.backward()"))],
          f"interactive: stack has train at loss.backward() {frames}")
    check(any(f[5] for f in frames), f"interactive: torch's frames are marked (library) {frames}")
    check(re.search(r"^  gradients\s+w\.grad\s+f32\[16\] μ=", out, re.M) is not None, f"interactive: inspect\n{out}")
    check(re.search(r"^2$", out, re.M) is not None, f"interactive: w.grad.inf = 2\n{out}")
    check("error: " in out and "unknown name 'nosuch'" in out, f"interactive: expression error\n{out}")
    check("planted step 2" not in out, "interactive: quit ended the program")


def case_record(d, py):
    prog = os.path.join(d, "planted.py")
    os.environ["PIDFILE"] = os.devnull
    db = os.path.join(d, "watch.db")
    r = watch("--interactive", "--record", db, "--python", py, prog, "--steps", "3",
              stdin="sql SELECT kind, message FROM findings\nquit\n")
    out = r.stdout
    check(r.returncode == 1, f"record: exit {r.returncode}\n{out}\n{r.stderr}")
    check(re.search(r"^inf\s+Inf in gradient of planted\.w \(backward, step 2\)", out, re.M) is not None,
          f"record: sql at the stop\n{out}")
    import sqlite3
    c = sqlite3.connect(db)
    runs = c.execute("SELECT kind, status, program FROM runs").fetchall()
    check(len(runs) == 1 and runs[0][0] == "watch" and runs[0][1] == "terminated" and
          runs[0][2] == prog + " --steps 3", f"record: runs {runs}")
    stops = c.execute("SELECT e.phase, e.step, m.name FROM events e JOIN modules m ON m.run_id = e.run_id "
                      "AND m.idx = e.module WHERE e.phase = 'stop'").fetchall()
    check(stops == [("stop", 2, "planted")], f"record: stop events {stops}")
    c.close()


def main():
    if not os.path.exists(SYS_PY) or subprocess.run([SYS_PY, "-c", "import torch"], capture_output=True,
                                                    timeout=120).returncode != 0:
        skip(f"{SYS_PY} cannot import torch (Debian: apt-get install python3-torch)")
    import torch  # noqa: F401  (the independent figures; this script runs as /usr/bin/python3)
    d = os.path.realpath(tempfile.mkdtemp(prefix="ls-watch-"))
    try:
        py = interpreter(d)
        for case in (case_clean, case_planted, case_break, case_forward_inf, case_bad_input, case_signals,
                     case_interactive, case_record):
            t0 = time.time()
            n = len(FAILS)
            case(d, py)
            print("%s: %s (%.1f s)" % (case.__name__, "ok" if len(FAILS) == n else "FAILED", time.time() - t0))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print(f"{len(FAILS)} failure(s)" if FAILS else "ok")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
