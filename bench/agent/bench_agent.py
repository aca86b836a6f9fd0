"""bench_agent.py: what the layerscope agent costs a training step, against what a user
would otherwise run. One training step (forward + backward + AdamW) of a GPT-2-small-shaped
PyTorch model (12 layers, 768 wide, 12 heads, vocab 50257), fp32 and bf16 weights, with:
  none      no hooks;
  watch     the agent watching every module output and every gradient for NaN/Inf (what
            `layerscope watch` and the NaN/Inf exception filters arm);
  stats     the agent computing full statistics (count, NaN/Inf, mean, std, min, max, zeros)
            of every module output and every gradient;
  health    `watch --health-every 1`: watching plus a training-health sample of the step
            (docs/health.md: gradient and update norms, activation statistics, dead units,
            call sites), the sample encoded as for the adapter; the line after the table
            estimates `--health` (every 10 steps) as 0.9 watch + 0.1 health;
  anomaly   torch.autograd.detect_anomaly();
  ddo       a DebugUnderflowOverflow-style hook (transformers' debug_utils) written with
            torch reductions: abs min/max and NaN/Inf checks of every module output and
            every parameter and gradient.
The agent runs in-process exactly as under the adapter (hooks, decisions, statistics in
liblayerscope_agent.so); no stop happens, so no adapter is needed. Variants are interleaved,
each step is timed, and the median of each is reported with its ratio to `none`, in one run.

  LAYERSCOPE_AGENT_LIB=build/release/agent/liblayerscope_agent.so \\
    /usr/bin/python3 bench/agent/bench_agent.py [--threads 2] [--steps 5] [--batch 4] [--seq 128]"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "agent", "python"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.act = nn.GELU()
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        B, S, D = x.shape
        q, k, v = self.attn(self.ln_1(x)).split(D, dim=2)
        q, k, v = [t.view(B, S, self.h, D // self.h).transpose(1, 2) for t in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D // self.h)
        mask = torch.ones(S, S, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, S, D)
        x = x + self.proj(y)
        return x + self.mlp_proj(self.act(self.fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, vocab=50257, n_pos=1024, d=768, layers=12, heads=12):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(n_pos, d)
        self.h = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.h:
            x = b(x)
        return self.lm_head(self.ln_f(x))


def ddo_hooks(model):
    """transformers.debug_utils.DebugUnderflowOverflow's checks, with torch reductions."""
    bad = []

    def check(t, what):
        if t is None or not t.is_floating_point():
            return
        if torch.isnan(t).any() or torch.isinf(t).any():
            bad.append(what)
        t.abs().min(), t.abs().max()

    def fwd(m, inp, out):
        for p in m.parameters(recurse=False):
            check(p.detach(), "param")
        for t in (out if isinstance(out, tuple) else (out,)):
            if isinstance(t, torch.Tensor):
                check(t.detach(), "output")
                if t.requires_grad:
                    t.register_hook(lambda g: check(g, "grad"))
    hs = [m.register_forward_hook(fwd) for m in model.modules()]
    hs += [p.register_hook(lambda g: check(g, "param grad")) for p in model.parameters()]
    return hs


class _EncodeOnly:
    """A link that encodes each message as the real one does and drops it: the health
    variant pays for building and encoding its sample, without an adapter."""

    def send(self, msg, data=None):
        json.dumps(msg)

    def close(self):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--dtypes", default="f32,bf16")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from layerscope_agent.agent import Agent
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.processor())
    print("CPU: %s; torch %s; %d threads; batch %d, seq %d; median of %d steps per variant (interleaved)"
          % (cpu, torch.__version__, a.threads, a.batch, a.seq, a.steps))
    variants = ["none", "watch", "stats", "health", "anomaly", "ddo"]
    for dname in a.dtypes.split(","):
        dt = {"f32": torch.float32, "bf16": torch.bfloat16}[dname]
        torch.manual_seed(0)
        model = GPT().to(dt)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        idx = torch.randint(0, 50257, (a.batch, a.seq))
        times = {v: [] for v in variants}

        def step():
            logits = model(idx)
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), idx.view(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        step()  # warm-up: allocator, AdamW state
        for rep in range(a.steps + 1):
            for v in variants:
                agent = hooks = None
                if v in ("watch", "stats", "health"):
                    agent = Agent()
                    agent.start()
                    agent._configure({"exceptions": ["nan", "inf"], "collect": v == "stats",
                                      "health": {"every": 1 if v == "health" else 0}})
                    if v == "health":
                        agent.link = _EncodeOnly()  # the sample is encoded as for the adapter
                elif v == "ddo":
                    hooks = ddo_hooks(model)
                t0 = time.perf_counter()
                if v == "anomaly":
                    with torch.autograd.detect_anomaly():
                        step()
                else:
                    step()
                dt_s = time.perf_counter() - t0
                if agent is not None:
                    assert not agent.stops_offline, agent.stops_offline
                    agent.detach()
                for h in hooks or []:
                    h.remove()
                if rep > 0:  # the first round warms each variant's path
                    times[v].append(dt_s)
        base = statistics.median(times["none"])
        print("\n%s weights | step (median) | vs none" % dname)
        for v in variants:
            m = statistics.median(times[v])
            print("  %-8s | %8.1f ms | %+6.1f%%" % (v, m * 1e3, (m / base - 1) * 100))
        # `watch --health` (every 10 steps): nine steps as watched, one sampled
        w, hl = statistics.median(times["watch"]), statistics.median(times["health"])
        print("  health every 10 steps (0.9 watch + 0.1 health): %+6.1f%%" % (((0.9 * w + 0.1 * hl) / base - 1) * 100))


if __name__ == "__main__":
    main()
