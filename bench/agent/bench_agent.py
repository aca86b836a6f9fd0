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
  torchhealth  the same figures written with torch reductions in hooks (what a user would
            write without layerscope): output mean/std/absmax/zeros/dead units, gradient
            norm/RMS/absmax, the weights copied around the step for the update ratio;
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


class TorchHealth:
    """The health variant's figures computed the way a user would write them: torch
    reductions in hooks. Every module output: mean, std and absmax over the finite values,
    the fraction of exact zeros and of dead units (zero over the whole batch); every
    parameter's gradient before the step: L2 norm, RMS and absmax; around the step: a copy of
    the weights and ||W_after - W_before|| / ||W_before||."""

    def __init__(self, model, opt):
        self.model, self.opt, self.rows = model, opt, []

        def fwd(m, inp, out):
            t = out[0] if isinstance(out, tuple) else out
            if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() < 2:
                return
            with torch.no_grad():
                x = t.detach()
                fin = x[torch.isfinite(x)].double()
                zeros = (x == 0)
                dead = (zeros.reshape(-1, x.shape[-1]).all(dim=0)).sum()
                self.rows.append((float(fin.mean()), float(fin.std(unbiased=False)), float(fin.abs().max()),
                                  float(zeros.double().mean()), int(dead)))
        self.hooks = [m.register_forward_hook(fwd) for m in model.modules()]

    def step(self):
        with torch.no_grad():
            for p in self.model.parameters():
                g = p.grad.detach().double()
                n = g.norm()
                self.rows.append((float(n), float(n / math.sqrt(g.numel())), float(g.abs().max())))
            before = [(p, p.detach().clone(), float(p.detach().double().norm())) for p in self.model.parameters()]
        self.opt.step()
        with torch.no_grad():
            for p, c, w in before:
                u = float((p.detach() - c).double().norm())
                self.rows.append((w, u, u / w if w else None))
        json.dumps(self.rows)
        self.rows = []

    def remove(self):
        for h in self.hooks:
            h.remove()


class _EncodeOnly:
    """A link that encodes each message as the real one does and drops it: the health
    variant pays for building and encoding its sample, without an adapter."""

    sample_ns = []  # the agent's own sampling time of each health event (its sampleNs)

    def send(self, msg, data=None):
        json.dumps(msg)
        if msg.get("event") == "health":
            _EncodeOnly.sample_ns.append(msg["body"]["sampleNs"])

    def close(self):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--dtypes", default="f32,bf16")
    ap.add_argument("--variants", default="none,watch,stats,health,torchhealth,anomaly,ddo",
                    help="which variants, in this order (none is always run: the ratios are to it)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from layerscope_agent.agent import Agent
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.processor())
    print("CPU: %s; torch %s; %d threads; batch %d, seq %d; median of %d steps per variant (interleaved)"
          % (cpu, torch.__version__, a.threads, a.batch, a.seq, a.steps))
    variants = ["none"] + [v for v in a.variants.split(",") if v and v != "none"]
    for dname in a.dtypes.split(","):
        dt = {"f32": torch.float32, "bf16": torch.bfloat16}[dname]
        torch.manual_seed(0)
        model = GPT().to(dt)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        idx = torch.randint(0, 50257, (a.batch, a.seq))
        times = {v: [] for v in variants}

        def step(opt, th=None):
            logits = model(idx)
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), idx.view(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if th:
                th.step()
            else:
                opt.step()

        step(opt)  # warm-up: allocator, AdamW state
        state = opt.state_dict()
        for rep in range(a.steps + 1):
            for v in variants:
                agent = hooks = th = None
                if v in ("watch", "stats", "health"):
                    agent = Agent()
                    agent.start()
                    agent._configure({"exceptions": ["nan", "inf"], "collect": v == "stats",
                                      "health": {"every": 1 if v == "health" else 0}})
                    if v == "health":
                        agent.link = _EncodeOnly()  # the sample is encoded as for the adapter
                elif v == "ddo":
                    hooks = ddo_hooks(model)
                # a new optimizer with the same state, made while the variant's agent runs:
                # the agent hooks optimizer.step() of the optimizers created after it starts,
                # as in a watched program (the health sample's update ratios come from there)
                opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
                opt.load_state_dict(state)
                if v == "torchhealth":
                    th = TorchHealth(model, opt)
                t0 = time.perf_counter()
                if v == "anomaly":
                    with torch.autograd.detect_anomaly():
                        step(opt)
                else:
                    step(opt, th)
                dt_s = time.perf_counter() - t0
                if th:
                    th.remove()
                state = opt.state_dict()
                if agent is not None:
                    assert not agent.stops_offline, agent.stops_offline
                    agent.detach()
                for h in hooks or []:
                    h.remove()
                if rep > 0:  # the first round warms each variant's path
                    times[v].append(dt_s)
        base = statistics.median(times["none"])
        # paired: each round's step against the same round's `none` step, so that the
        # machine's drift between rounds (±10% on a shared VM) cancels
        print("\n%s weights | step (median) | vs none | paired (median of rounds)" % dname)
        for v in variants:
            m = statistics.median(times[v])
            paired = statistics.median(t / n - 1 for t, n in zip(times[v], times["none"]))
            print("  %-11s | %8.1f ms | %+6.1f%% | %+6.1f%%" % (v, m * 1e3, (m / base - 1) * 100, paired * 100))
        if "health" in times and "torchhealth" in times:
            th = statistics.median(times["torchhealth"])
            print("  health against torchhealth: %.2fx the cost (%+.1f%% of the step)"
                  % ((statistics.median(times["health"]) - base) / max(th - base, 1e-9),
                     (statistics.median(times["health"]) - th) / base * 100))
        own = sorted(_EncodeOnly.sample_ns[1:])  # the first round warms up
        _EncodeOnly.sample_ns.clear()
        if own:
            med = own[len(own) // 2] / 1e6
            print("  health: the agent's own sampling time (sampleNs, median) %.0f ms = %.1f%% of the step"
                  % (med, med / (base * 1e3) * 100))
        # `watch --health` (every 10 steps): nine steps as watched, one sampled
        if "health" in times and "watch" in times:
            w, hl = statistics.median(times["watch"]), statistics.median(times["health"])
            print("  health every 10 steps (0.9 watch + 0.1 health): %+6.1f%%"
                  % (((0.9 * w + 0.1 * hl) / base - 1) * 100))


if __name__ == "__main__":
    main()
