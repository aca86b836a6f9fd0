"""health.py: training health, sampled by the agent in the user's process every N training
steps (issue 21; docs/agent.md, "Training health"). On a sampled step it measures:
  - for every module output (forward hooks of agent.py): mean, std and absmax over the finite
    values, the fraction of exact zeros, the fraction of dead units (units zero for every
    input of the step: ReLU-style death), the number of calls and their forward wall time;
  - for every parameter of a hooked module, before clipping: the gradient's L2 norm, RMS and
    absmax, unscaled when a GradScaler scaled it. They are taken from `.grad` at the first of
    clip_grad_norm_ / clip_grad_value_, GradScaler.unscale_ and optimizer.step(), so they are
    the accumulated gradient the optimizer would use, before clipping changes it;
  - around optimizer.step(): each parameter's update-to-weight ratio ||W_after - W_before|| /
    ||W_before|| (a copy of the weights is taken just before the step, into buffers kept
    between steps when every step is sampled) and ||W_before||;
  - the loss: the scalar roots of the step's backward() calls (their mean), unscaled;
  - where each module is called in the user's code (file, line, the call's columns on
    Python 3.11+) with the shapes of the call, and where its class's forward is defined.
When the step is done (after optimizer.step(), or at the next step's first forward without
an optimizer) the sample goes to the adapter as one `health` event; the adapter's run writes
it into the run record (core/record, the only writer of its schema).

Statistics run in C on the tensors' own memory (liblayerscope_agent.so; CPU tensors), norms
derived exactly from the core's statistics: sum of squares = finite * (std^2 + mean^2).
Tensors on a device are reduced there with torch, and only numbers come back (written, not
tested here: no GPU)."""
import math
import os
import sys
import time

import torch

from . import tensors as T

PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
MAX_SHAPES = 3  # tensors named per side of a call site


def _num(x):
    """A float for JSON: None for NaN/Inf (the link's JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _shape_text(ts, dtype_of_first_input=None):
    parts = []
    for _, t in ts[:MAX_SHAPES]:
        dt = T.DTYPES.get(t.dtype, str(t.dtype).replace("torch.", ""))
        shape = "[" + ", ".join(str(d) for d in t.shape) + "]"
        parts.append(shape if dtype_of_first_input is not None and t.dtype == dtype_of_first_input else
                     "%s %s" % (shape, dt))
    if len(ts) > MAX_SHAPES:
        parts.append("...")
    return ", ".join(parts)


class _Out:
    """A module's output figures over its calls in the step (merged like Chan's variance)."""
    __slots__ = ("count", "finite", "mean", "m2", "absmax", "zeros", "dead", "units", "calls", "time_ns")

    def __init__(self):
        self.count = self.finite = self.zeros = self.calls = self.time_ns = 0
        self.mean = self.m2 = 0.0
        self.absmax = None
        self.dead = None   # the smallest dead fraction among its calls (a unit dead in all is dead in each)
        self.units = None

    def add(self, count, finite, mean, std, absmax, zeros):
        self.count += count
        self.zeros += zeros
        if finite:
            n = self.finite + finite
            delta = mean - self.mean
            self.m2 += std * std * finite + delta * delta * self.finite * finite / n
            self.mean += delta * finite / n
            self.finite = n
            self.absmax = absmax if self.absmax is None else max(self.absmax, absmax)

    def row(self, module):
        std = math.sqrt(self.m2 / self.finite) if self.finite else None
        return [module, self.count, _num(self.mean) if self.finite else None, _num(std), _num(self.absmax),
                _num(self.zeros / self.count) if self.count else None, _num(self.dead), self.units, self.calls,
                self.time_ns]


class Health:
    def __init__(self, agent, every):
        self.agent = agent
        self.every = max(1, int(every))
        self.step = None        # the step the forward passes belong to
        self.on = False         # that step is sampled
        self.pending = False    # a sample of that step is being gathered, not sent yet
        self.outs = {}          # module index -> _Out
        self.grads = None       # [(module, name, shape, count, norm, rms, absmax)] once taken
        self.grad_sq = 0.0      # sum of squares of every gradient (the global norm)
        self.updates = {}       # (module, name) -> (weight_norm, update_norm, ratio)
        self.before = []        # [(param, copy, module, name, weight_norm)] during optimizer.step()
        self.copies = {}        # id(param) -> its copy's buffer, kept between steps when every step is sampled
        self.loss_sum = 0.0
        self.loss_n = 0
        self.scale = None       # a GradScaler's scale while the gradients carry it
        self.step_scale = None  # the scale of this step's scaled loss
        self.scaled = {}        # id(scaled loss) -> scale
        self.cost_ns = 0        # what sampling cost this step
        self.params = None      # id(parameter) -> (module index, local name)
        self.n_indexed = -1     # module table size when params was built
        self.sent_src = {}      # call-site key -> (inputs, outputs) last sent
        self.new_src = []       # rows for the next event
        self.forward_sent = set()
        self.positions = {}     # code object -> list of co_positions()

    # ---------------------------------------------------------------- steps
    def begin_forward(self, step):
        """The root module is called: a new step starts when the step number moved on."""
        if step == self.step:
            return
        if self.pending:
            self.flush()  # no optimizer.step() ended the last one
        self.step = step
        self.on = step % self.every == 0
        self.pending = self.on

    def flush(self):
        """Sends the step's sample and starts afresh."""
        if not self.pending:
            return
        self.pending = False
        t0 = time.perf_counter_ns()
        if self.grads is None:
            self.take_grads()
        params = []
        for m, name, shape, count, norm, rms, absmax in self.grads or []:
            w, u, r = self.updates.get((m, name), (None, None, None))
            params.append([m, name, shape, count, _num(norm), _num(rms), _num(absmax), _num(w), _num(u), _num(r)])
        outs = [o.row(m) for m, o in self.outs.items()]
        loss = self.loss_sum / self.loss_n if self.loss_n else None
        self.cost_ns += time.perf_counter_ns() - t0
        body = {"step": self.step, "rank": self.agent.rank if self.agent.rank is not None else 0,
                "loss": _num(loss), "gradNorm": _num(math.sqrt(self.grad_sq)) if self.grads else None,
                "scale": _num(self.step_scale), "sampleNs": self.cost_ns,
                "params": params, "outputs": outs, "sources": self.new_src}
        self.outs, self.grads, self.grad_sq, self.updates = {}, None, 0.0, {}
        self.loss_sum, self.loss_n, self.cost_ns, self.new_src = 0.0, 0, 0, []
        self.scaled.clear()
        self.step_scale = None
        self.agent.send({"type": "event", "event": "health", "body": body})

    # ---------------------------------------------------------------- forward
    def _caller(self):
        """(file, line, col, end_col) of the user's line that called the module: the first
        frame outside torch and the agent (None when there is none)."""
        f = sys._getframe(1)
        while f is not None:
            fn = f.f_code.co_filename
            if not (fn.startswith(TORCH_DIR) or fn.startswith(PKG_DIR)) and not fn.startswith("<"):
                break
            f = f.f_back
        if f is None:
            return None
        col = end = -1
        code = f.f_code
        if hasattr(code, "co_positions"):  # Python 3.11+: the columns of the call expression
            pos = self.positions.get(code)
            if pos is None:
                pos = self.positions[code] = list(code.co_positions())
            k = f.f_lasti // 2
            if 0 <= k < len(pos):
                ln, eln, c, ec = pos[k]
                if ln == f.f_lineno and eln == ln and c is not None and ec is not None:
                    col, end = c, ec
        return os.path.abspath(code.co_filename), f.f_lineno, col, end

    def pre(self, i, module, tls):
        t0 = time.perf_counter_ns()
        site = self._caller()
        if i not in self.forward_sent:
            self.forward_sent.add(i)
            fwd = getattr(type(module).forward, "__code__", None)
            if fwd is not None and not fwd.co_filename.startswith(TORCH_DIR):
                self.new_src.append([i, "forward", os.path.abspath(fwd.co_filename), fwd.co_firstlineno, -1, -1,
                                     None, None])
        stack = getattr(tls, "health", None)
        if stack is None:
            stack = tls.health = []
        t1 = time.perf_counter_ns()
        self.cost_ns += t1 - t0
        stack.append((t1, site))

    def post(self, i, module, inputs, outs, summarize, tls):
        t_end = time.perf_counter_ns()
        stack = getattr(tls, "health", None)
        if not stack:
            return
        t_start, site = stack.pop()
        o = self.outs.get(i)
        if o is None:
            o = self.outs[i] = _Out()
        o.calls += 1
        o.time_ns += t_end - t_start
        first = next((t for _, t in outs if isinstance(t, torch.Tensor) and t.is_floating_point()), None)
        if first is not None and first.numel():
            self._output_stats(o, first, summarize)
        if site is not None:
            ins = [(n, t) for n, t in T.flat_tensors(inputs, "input", []) if isinstance(t, torch.Tensor)]
            ots = [(n, t) for n, t in outs if isinstance(t, torch.Tensor)]
            text_in = _shape_text(ins)
            text_out = _shape_text(ots, ins[0][1].dtype if ins else None)
            key = (i,) + site
            if self.sent_src.get(key) != (text_in, text_out):
                self.sent_src[key] = (text_in, text_out)
                self.new_src.append([i, "call", site[0], site[1], site[2], site[3], text_in, text_out])
        t_now = time.perf_counter_ns()
        self.cost_ns += t_now - t_end
        for k, (ts, st) in enumerate(stack):  # the enclosing calls do not count our time
            stack[k] = (ts + (t_now - t_end), st)

    def _output_stats(self, o, t, summarize):
        s = summarize(t)
        if s.stats is not None:
            st = s.stats
            o.add(st.count, st.finite, st.mean, st.std, st.absmax, st.zeros)
            zeros = st.zeros
        else:  # a device tensor: reduced there, numbers back
            with torch.no_grad():
                x = t.detach()
                fin = x[torch.isfinite(x)].double()
                n = fin.numel()
                zeros = int((x == 0).sum())
                if n:
                    o.add(x.numel(), n, float(fin.mean()), float(fin.std(unbiased=False)), float(fin.abs().max()),
                          zeros)
                else:
                    o.add(x.numel(), 0, 0.0, 0.0, 0.0, zeros)
        if t.dim() < 2:
            return
        shape = list(t.shape)
        if t.dim() == 4:  # [N, C, H, W]: channels are the units
            outer, units, inner = shape[0], shape[1], shape[2] * shape[3]
        else:  # [..., F]: features are the units
            units, inner = shape[-1], 1
            outer = t.numel() // units
        o.units = units
        if not zeros:
            frac = 0.0
        else:
            v = T.view(t)
            if v is not None:
                dead = self.agent.abi.dead_units(v[0], v[1], outer, units, inner)
            else:
                with torch.no_grad():
                    x = t.detach().reshape(outer, units, inner)
                    dead = int((x.ne(0).sum(dim=(0, 2)) == 0).sum())
            frac = dead / units
        o.dead = frac if o.dead is None else min(o.dead, frac)

    # ---------------------------------------------------------------- backward and the optimizer
    def note_loss(self, t):
        """A backward() root: its value is the loss (divided by the scale when a GradScaler
        made it)."""
        if not self.on or t.numel() != 1 or not t.is_floating_point():
            return
        t0 = time.perf_counter_ns()
        v = float(t.detach())
        sc = self.scaled.get(id(t))
        if sc:
            v /= sc
        if math.isfinite(v):
            self.loss_sum += v
            self.loss_n += 1
        self.cost_ns += time.perf_counter_ns() - t0

    def _index(self):
        a = self.agent
        if self.params is None or self.n_indexed != len(a.modules):
            self.params = {}
            for i, m in enumerate(a.modules):
                for name, p in m.named_parameters(recurse=False):
                    self.params.setdefault(id(p), (i, name))
            self.n_indexed = len(a.modules)
        return self.params

    def _sumsq(self, t):
        """(count, sum of squares, absmax) of t's finite values."""
        v = T.view(t)
        if v is not None:
            st = self.agent.abi.stats(v[0], v[1], t.numel())
            if not st.finite:
                return st.count, 0.0, None
            return st.count, st.finite * (st.std * st.std + st.mean * st.mean), st.absmax
        with torch.no_grad():
            x = t.detach()
            fin = x[torch.isfinite(x)].double()
            return x.numel(), float((fin * fin).sum()), float(fin.abs().max()) if fin.numel() else None

    def take_grads(self):
        """The gradients of every hooked parameter as they are now (before clipping)."""
        if not self.on or self.grads is not None:
            return
        t0 = time.perf_counter_ns()
        idx = self._index()
        sc = self.scale or 1.0
        rows, total = [], 0.0
        for i, m in enumerate(self.agent.modules):
            for name, p in m.named_parameters(recurse=False):
                if idx.get(id(p)) != (i, name) or p.grad is None or p.grad.is_sparse:
                    continue
                n, sq, amax = self._sumsq(p.grad)
                total += sq
                norm = math.sqrt(sq) / sc
                rows.append((i, name, "[" + ",".join(str(d) for d in p.shape) + "]", n, norm,
                             norm / math.sqrt(n) if n else None, amax / sc if amax is not None else None))
        self.grads, self.grad_sq = rows, total / (sc * sc)
        self.cost_ns += time.perf_counter_ns() - t0

    def before_step(self, opt):
        if not self.on:
            return
        self.take_grads()
        t0 = time.perf_counter_ns()
        idx = self._index()
        self.before = []
        with torch.no_grad():
            for g in opt.param_groups:
                for p in g["params"]:
                    where = idx.get(id(p))
                    if where is None or p.grad is None:
                        continue
                    _, sq, _ = self._sumsq(p)
                    self.before.append((p, self._copy(p), where[0], where[1], math.sqrt(sq)))
        self.cost_ns += time.perf_counter_ns() - t0

    def _copy(self, p):
        """A copy of p's values. Sampling every step, the buffers are kept from one step to
        the next and refilled (a fresh 500 MB copy costs three times a refill, in page
        faults); sampling every N steps, they are dropped after each sample so the memory
        goes back between samples."""
        x = p.detach()
        buf = self.copies.get(id(p)) if self.every == 1 else None
        if buf is None or buf.shape != x.shape or buf.dtype != x.dtype or buf.device != x.device:
            buf = x.clone()
            if self.every == 1:
                self.copies[id(p)] = buf
        else:
            buf.copy_(x)
        return buf

    def after_step(self, opt):
        if not self.on:
            return
        t0 = time.perf_counter_ns()
        with torch.no_grad():
            for p, copy, m, name, w in self.before:
                torch.sub(p.detach(), copy, out=copy)
                _, sq, _ = self._sumsq(copy)
                u = math.sqrt(sq)
                self.updates[(m, name)] = (w, u, u / w if w > 0 else None)
        self.before = []
        self.cost_ns += time.perf_counter_ns() - t0
        self.flush()

    # ---------------------------------------------------------------- GradScaler
    def scaled_loss(self, scaler, out):
        if self.on and isinstance(out, torch.Tensor) and scaler.is_enabled():
            s = float(scaler.get_scale())
            self.scaled[id(out)] = s
            self.scale = self.step_scale = s

    def before_unscale(self):
        self.take_grads()

    def after_unscale(self):
        self.scale = None
