"""agent.py: the layerscope agent inside the user's PyTorch process. It hooks every
nn.Module globally (forward pre/post hooks; no change to the user's code) and the backward
pass (a hook on each module output's gradient, and on each parameter's), decides in-process
whether an event stops (function breakpoints on module-name globs with a phase, conditions
and hit counts evaluated by the core through liblayerscope_agent.so, NaN/Inf/fp16-overflow
filters on outputs and gradients, stepping, pause requests), and only then talks to the
adapter: it sends a `stopped` event describing the stop, the tensors in scope and the Python
stack, and blocks in the hook, answering the adapter's requests (tensor data), until told
to go on. So a stop is a real stop: the user's stack is intact and the next module has not
run. docs/agent.md describes the protocol and the semantics.

Events and names:
  - module names are the named_modules() paths from the root module (the outermost module
    the program calls), so a Hugging Face model shows `model.layers.3.mlp.down_proj`; a
    second root (a loss module called on its own) is named by its class;
  - forward: `enter` before a module runs, `exit` after (breakpoints stop at exit, as on the
    engine target); backward: `grad` when the gradient of a module's output is ready (before
    that module's backward runs), `param-grad` when a parameter's gradient is computed;
  - step: optimizer.step() calls completed (counted once an optimizer exists; after an
    attach, from the attach), else the root's forward calls so far minus one.

Training health (health.py): when the adapter's configuration asks for it (`health.every`),
every Nth step is sampled: module outputs in the forward hooks, gradients and updates around
clipping, GradScaler.unscale_ and optimizer.step() (patched here), the loss at backward(),
each sample sent as one `health` event.

Threads: hooks run on the user's threads (a thread-local module stack per thread); one
reader thread receives the adapter's messages: configuration and pause requests take effect
at once (under the lock), requests for a stopped thread go to its inbox. A forked child
(DataLoader workers) turns the agent off in itself: the link belongs to the parent."""
import fnmatch
import os
import queue
import re
import sys
import threading
import types

import torch

from . import tensors as T
from ._abi import Abi, AbiError
from .health import Health
from .link import LinkClosed

PKG_DIR = os.path.dirname(os.path.abspath(__file__))
TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))
# Library code the user did not write: torch and the standard library (multiprocessing's
# spawn machinery below a rank's frames). Shown, but de-emphasised.
LIB_DIRS = tuple({TORCH_DIR + os.sep, os.path.dirname(os.path.abspath(os.__file__)) + os.sep})
FILTERS = ("nan", "inf", "fp16")


class Breakpoint:
    __slots__ = ("id", "glob", "phase", "cond", "hit", "hits", "error")

    def __init__(self, spec, abi):
        self.id = int(spec.get("id", 0))
        self.glob = str(spec.get("name", ""))
        self.phase = spec.get("phase", "forward")  # forward | backward | both
        self.cond = None
        self.error = None
        self.hits = 0
        c = (spec.get("condition") or "").strip()
        if c:
            try:
                self.cond = abi.parse(c)
            except AbiError as e:
                self.error = "condition: %s" % e
        self.hit = None
        h = (spec.get("hitCondition") or "").strip()
        if h:
            m = re.fullmatch(r"(>=|==|%|>)?\s*(\d+)", h)
            if not m:
                self.error = "hit condition %r: expected N, >= N or %% N" % h
            else:
                self.hit = (m.group(1) or "==", int(m.group(2)))

    def matches(self, name, phase):
        return (self.phase == "both" or self.phase == phase) and fnmatch.fnmatchcase(name, self.glob)

    def hit_ok(self):
        self.hits += 1
        if not self.hit:
            return True
        op, n = self.hit
        return {"==": self.hits == n, ">=": self.hits >= n, ">": self.hits > n,
                "%": n > 0 and self.hits % n == 0}[op]


class Event:
    """One module event: what the hooks saw, for the stop decision and the scopes."""
    __slots__ = ("kind", "phase", "module", "inputs", "outputs", "grads", "param", "depth", "cache")

    def __init__(self, kind, module, depth):
        self.kind, self.module, self.depth = kind, module, depth
        self.phase = "forward" if kind in ("enter", "exit") else "backward"
        self.inputs, self.outputs, self.grads, self.param = [], [], [], None
        self.cache = {}  # id(tensor) -> Summary, for this event only


class Agent:
    def __init__(self, link=None, connect=None, rank=None, abi=None):
        """link: an open Link (attach), or connect: a function returning one, called when the
        first root module runs (launch: a process that never runs a module never appears)."""
        self.link = link
        self.connect = connect
        self.abi = abi or Abi()
        self.lock = threading.Lock()
        self.active = True
        self.configured = threading.Event()
        self.tls = threading.local()
        # module table (append-only): index -> name, type, parent; id(module) -> index
        self.names, self.types, self.parents, self.index = [], [], [], {}
        self.modules = []  # index -> module (strong refs: models live as long as the program)
        self.roots = 0
        # configuration
        self.bps = []
        self.bp_cache = {}
        self.filters = set()
        self.fired = set()
        self.stop_on_entry = False
        self.collect = False
        self.health = None  # Health while sampling is on
        self.pause_req = False
        self.step_mode = None  # (mode, depth, phase)
        # step counting
        self.root_calls = 0
        self.opt_steps = 0
        self.saw_optimizer = False
        self.rank = rank
        # stops
        self.inbox = None
        self.handles = []
        self.param_hooked = set()
        self.reader = None
        self.stops_offline = []  # (reason, description, module, event, step) without an adapter

    # ---------------------------------------------------------------- set-up
    def start(self):
        from torch.nn.modules import module as M
        self.handles.append(M.register_module_forward_pre_hook(self._pre))
        self.handles.append(M.register_module_forward_hook(self._post))
        self._patch_optimizer()
        self._patch_distributed()
        self._patch_training()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forked)
        if self.link is not None:
            self._open()

    def _open(self):
        """Says hello and waits for the adapter's configuration (breakpoints, filters)."""
        self.send({"type": "event", "event": "hello", "body": self._hello()})
        self.reader = threading.Thread(target=self._read_loop, name="layerscope-agent-reader", daemon=True)
        self.reader.start()
        # the adapter answers hello with the breakpoints before the program runs on
        self.configured.wait(30.0)

    def _hello(self):
        return {"protocol": 1, "pid": os.getpid(), "rank": self.rank,
                "worldSize": int(os.environ.get("WORLD_SIZE", "0") or 0) or None,
                "python": sys.version.split()[0], "torch": torch.__version__, "argv": sys.argv,
                "cwd": os.getcwd()}

    def _link_up(self):
        if self.connect is None:
            return  # no adapter (benchmarks, tests of the hooks): decisions only, stops ignored
        try:
            self.link = self.connect()
        except Exception as e:
            sys.stderr.write("layerscope agent: cannot reach the adapter (%s); running without it\n" % e)
            self.detach()
            return
        self._open()

    def _forked(self):
        self.active = False  # the child must not speak on the parent's link

    def detach(self):
        """Removes every hook; the program runs on as if the agent were never there."""
        self.active = False
        for h in self.handles:
            try:
                h.remove()
            except Exception:
                pass
        self.handles.clear()
        try:
            if self.link is not None:
                self.link.close()
        except Exception:
            pass

    def _patch_optimizer(self):
        """Hooks optimizer.step() of the optimizers created from now on (Optimizer.__init__
        is patched) and of those that already exist: a program that attaches
        (layerscope_agent.listen) after making its optimizer. Those are found once among the
        live objects, and their step counts from the attach."""
        agent = self
        orig_init = torch.optim.Optimizer.__init__
        if getattr(orig_init, "_layerscope", False):
            return

        def init(opt, *a, **k):
            orig_init(opt, *a, **k)
            agent._hook_optimizer(opt)
        init._layerscope = True
        torch.optim.Optimizer.__init__ = init
        self.handles.append(_Restore(torch.optim.Optimizer, "__init__", orig_init))
        import gc
        for o in gc.get_objects():
            if isinstance(o, torch.optim.Optimizer):
                self._hook_optimizer(o)

    def _hook_optimizer(self, opt):
        """Wraps this optimizer's step: health before and after, the step count. An existing
        optimizer's step may already be an instance attribute (an LR scheduler's counting
        wrapper); that one is called, so the scheduler still sees the step."""
        agent = self
        inner = opt.__dict__.get("step")
        cls_step = type(opt).step

        def step(self_, *sa, **sk):
            h = agent.health if agent.active else None
            if h is not None:
                h.before_step(self_)
            r = inner(*sa, **sk) if inner is not None else cls_step(self_, *sa, **sk)
            if agent.active:
                agent.opt_steps += 1
            if h is not None:
                h.after_step(self_)
            return r
        # a bound method, so LR schedulers' with_counter() can wrap it as they wrap step
        opt.step = types.MethodType(step, opt)
        agent.saw_optimizer = True

    def _patch_training(self):
        """Where health samples gradients, losses and scales: Tensor.backward (the loss),
        clip_grad_norm_ / clip_grad_value_ (gradients before clipping), GradScaler.scale and
        unscale_ (the scale, and gradients before unscaling). Each patch only looks while a
        step is sampled."""
        agent = self

        def wrap(obj, name, before=None, after=None):
            orig = getattr(obj, name, None)
            if orig is None or getattr(orig, "_layerscope", False):
                return

            def patched(*a, **k):
                h = agent.health if agent.active else None
                if h is not None and before is not None:
                    before(h, *a)
                r = orig(*a, **k)
                if h is not None and after is not None:
                    after(h, r, *a)
                return r
            patched._layerscope = True
            patched.__doc__ = orig.__doc__
            patched.__name__ = getattr(orig, "__name__", name)
            setattr(obj, name, patched)
            self.handles.append(_Restore(obj, name, orig))

        wrap(torch.Tensor, "backward", before=lambda h, t, *a: h.note_loss(t))
        import torch.nn.utils as U
        for mod in (U, getattr(U, "clip_grad", None)):
            if mod is not None:
                wrap(mod, "clip_grad_norm_", before=lambda h, *a: h.take_grads())
                wrap(mod, "clip_grad_value_", before=lambda h, *a: h.take_grads())
        scalers = []
        for path in ("amp", "cuda.amp"):
            m = torch
            for part in path.split("."):
                m = getattr(m, part, None)
            cls = getattr(m, "GradScaler", None) if m is not None else None
            if cls is not None and cls not in scalers:
                scalers.append(cls)
        for cls in scalers:
            if "scale" in cls.__dict__:
                wrap(cls, "scale", after=lambda h, r, sc, *a: h.scaled_loss(sc, r))
            if "unscale_" in cls.__dict__:
                wrap(cls, "unscale_", before=lambda h, *a: h.before_unscale(), after=lambda h, r, *a: h.after_unscale())
            if "update" in cls.__dict__:  # a step the scaler skipped (inf found) still ends
                wrap(cls, "update", after=lambda h, r, *a: h.flush() if h.grads is not None else None)

    def _patch_distributed(self):
        try:
            import torch.distributed as dist
        except Exception:
            return
        if not hasattr(dist, "init_process_group"):
            return
        orig = dist.init_process_group
        agent = self

        def init_process_group(*a, **k):
            r = orig(*a, **k)
            try:
                agent.rank = dist.get_rank()
                agent.send({"type": "event", "event": "rank",
                            "body": {"rank": agent.rank, "worldSize": dist.get_world_size()}})
            except Exception:
                pass
            return r
        dist.init_process_group = init_process_group
        self.handles.append(_Restore(dist, "init_process_group", orig))

    # ---------------------------------------------------------------- the adapter's messages
    def send(self, msg, data=None):
        if self.link is None:
            return
        try:
            self.link.send(msg, data)
        except (LinkClosed, ValueError):
            if self.active:
                self.active = False  # the adapter is gone: run on without it

    def _respond(self, req, body=None, error=None, data=None):
        r = {"type": "response", "request_seq": req.get("seq"), "command": req.get("command"),
             "success": error is None}
        if error is not None:
            r["message"] = error
        if body is not None:
            r["body"] = body
        self.send(r, data)

    def _read_loop(self):
        while True:
            try:
                msg = self.link.recv()
            except (LinkClosed, OSError, ValueError):
                break
            cmd = msg.get("command")
            if cmd == "configure":
                self._configure(msg.get("arguments") or {})
                self._respond(msg, {})
                self.configured.set()
            elif cmd == "pause":
                with self.lock:
                    self.pause_req = True
                self._respond(msg, {})
            elif cmd == "detach":
                self._respond(msg, {})
                inbox = self.inbox
                if inbox is not None:
                    inbox.put(msg)
                self.detach()
                break
            else:
                inbox = self.inbox
                if inbox is not None:
                    inbox.put(msg)
                else:
                    self._respond(msg, error="%s: the program is running (not stopped)" % cmd)
        # link gone: never block the program on a stop that nobody will answer
        self.active = False
        self.configured.set()
        inbox = self.inbox
        if inbox is not None:
            inbox.put({"command": "continue", "arguments": {"action": "continue"}})

    def _configure(self, args):
        bps = [Breakpoint(s, self.abi) for s in args.get("breakpoints", [])]
        with self.lock:
            old = {b.id: b.hits for b in self.bps}
            for b in bps:
                b.hits = old.get(b.id, 0)
            self.bps = bps
            self.bp_cache = {}
            self.filters = set(f for f in args.get("exceptions", []) if f in FILTERS)
            self.stop_on_entry = bool(args.get("stopOnEntry", self.stop_on_entry))
            self.collect = bool(args.get("collect", self.collect))
            every = (args.get("health") or {}).get("every", 0) if isinstance(args.get("health"), dict) else 0
            every = every if isinstance(every, int) and every > 0 else 0
            if not every:
                self.health = None
            elif self.health is None or self.health.every != every:
                self.health = Health(self, every)

    # ---------------------------------------------------------------- module table
    def _stack(self):
        s = getattr(self.tls, "stack", None)
        if s is None:
            s = self.tls.stack = []
        return s

    def _add_root(self, module):
        start = len(self.names)
        label = "" if self.roots == 0 else type(module).__name__
        self.roots += 1
        base = {}
        for name, m in module.named_modules():
            if id(m) in self.index:
                continue
            full = (label + "." + name if label and name else label or name)
            parent_name = full.rpartition(".")[0] if full else None
            self.index[id(m)] = len(self.names)
            base[full] = len(self.names)
            self.names.append(full)
            self.types.append(type(m).__name__)
            self.parents.append(base.get(parent_name, -1) if full else -1)
            self.modules.append(m)
        self.send({"type": "event", "event": "modules",
                   "body": {"start": start, "modules": [[self.names[i], self.types[i], self.parents[i]]
                                                        for i in range(start, len(self.names))]}})

    def _bps_for(self, i):
        r = self.bp_cache.get(i)
        if r is None:
            name = self.names[i]
            r = self.bp_cache[i] = [b for b in self.bps if not b.error and fnmatch.fnmatchcase(name, b.glob)]
        return r

    def _want_backward(self):
        return bool(self.filters or self.collect or any(b.phase != "forward" for b in self.bps) or
                    (self.step_mode is not None))

    def step_value(self):
        return self.opt_steps if self.saw_optimizer else max(0, self.root_calls - 1)

    # ---------------------------------------------------------------- hooks
    def _pre(self, module, inputs):
        if not self.active:
            return None
        stack = self._stack()
        i = self.index.get(id(module))
        if not stack:
            if self.link is None and self.connect is not None:
                self._link_up()
                if not self.active:
                    return None
            if i is None:
                self._add_root(module)
                i = self.index[id(module)]
            self.root_calls += 1
            if self.health is not None:
                self.health.begin_forward(self.step_value())
        elif i is None:
            return None  # a module created during the run, outside every root's tree
        stack.append(i)
        h = self.health
        if h is not None and h.on:
            h.pre(i, module, self.tls)
        if self.stop_on_entry or self.pause_req or self.step_mode:
            ev = Event("enter", i, len(stack))
            ev.inputs = T.flat_tensors(inputs, "input", [])
            self._decide(ev)
        return None

    def _post(self, module, inputs, output):
        if not self.active:
            return None
        stack = self._stack()
        if not stack or stack[-1] != self.index.get(id(module)):
            return None
        i = stack[-1]
        ev = Event("exit", i, len(stack))
        try:
            outs = T.flat_tensors(output, "output", [])
            ev.outputs = outs
            if self.bps or self.filters or self.collect or self.pause_req or self.step_mode:
                ev.inputs = T.flat_tensors(inputs, "input", [])
                self._decide(ev)
            h = self.health
            if h is not None and h.on:
                h.post(i, module, inputs, outs, lambda t: self._summary(t, ev.cache), self.tls)
            if self.active and self._want_backward():
                self._hook_backward(i, module, outs)
        finally:
            stack.pop()
        return None

    def _hook_backward(self, i, module, outs):
        for name, t in outs:
            if isinstance(t, torch.Tensor) and t.requires_grad and t.grad_fn is not None:
                t.register_hook(self._grad_hook(i, name))
        for pname, p in module.named_parameters(recurse=False):
            if id(p) not in self.param_hooked and p.requires_grad:
                self.param_hooked.add(id(p))
                self.handles.append(p.register_hook(self._param_hook(i, pname, p)))

    def _grad_hook(self, i, name):
        def hook(g):
            if self.active:
                ev = Event("grad", i, 0)
                ev.grads = [("grad" + name[len("output"):], g)]
                self._decide(ev)
            return None
        return hook

    def _param_hook(self, i, pname, p):
        def hook(g):
            if self.active:
                ev = Event("param-grad", i, 0)
                ev.param = (pname, p)
                ev.grads = [(pname + ".grad", g)]
                self._decide(ev)
            return None
        return hook

    # ---------------------------------------------------------------- the decision
    def _summary(self, t, cache=None):
        """Statistics of t, once per event (cache: a dict for one event; tensors are not kept
        past it, so memory reused by a later tensor is never mistaken for this one)."""
        if cache is None:
            return T.summarize(self.abi, t)
        s = cache.get(id(t))
        if s is None:
            s = cache[id(t)] = T.summarize(self.abi, t)
        return s

    def _tensor_name(self, ev, local):
        name = self.names[ev.module] or "(root)"
        if ev.kind == "param-grad":
            return "gradient of %s.%s" % (self.names[ev.module], ev.param[0])
        if ev.kind == "grad":
            return "gradient of %s %s" % (name, local.replace("grad", "output", 1))
        return "%s of %s" % (local, name)

    def _check_filters(self, ev):
        tensors = ev.outputs if ev.kind == "exit" else ev.grads
        for local, t in tensors:
            if not isinstance(t, torch.Tensor) or not t.is_floating_point():
                continue
            s = self._summary(t, ev.cache)
            for f in FILTERS:
                if f not in self.filters or f in self.fired:
                    continue
                n = s.nan if f == "nan" else (s.pinf + s.ninf) if f == "inf" else 0
                if f == "fp16" and s.absmax > T.FP16_MAX:
                    n = int(((t.detach().abs() > T.FP16_MAX) & torch.isfinite(t.detach())).sum())
                if n:
                    self.fired.add(f)
                    what = {"nan": "NaN", "inf": "Inf", "fp16": "fp16 overflow"}[f]
                    desc = "%s in %s (%s, step %d): %d of %d values, first at %s" % (
                        what, self._tensor_name(ev, local), ev.phase, self.step_value(), n, s.count,
                        T.first_index(t, f))
                    return f, desc
        return None

    def _lookup(self, ev, name):
        if name == "step":
            return self.step_value()
        if name == "rank":
            return self.rank if self.rank is not None else 0
        if name == "depth":
            return ev.depth
        if name == "layer":
            m = re.search(r"\.(\d+)(\.|$)", self.names[ev.module])
            return int(m.group(1)) if m else -1
        for local, t in ev.outputs + ev.inputs + ev.grads:
            if local == name and isinstance(t, torch.Tensor):
                return T.view(t)
        if name in ("weight", "bias") or (ev.param and name == ev.param[0]):
            p = getattr(self.modules[ev.module], name, None)
            if isinstance(p, torch.Tensor):
                return T.view(p)
        return None

    def _names(self, ev):
        n = ["step", "rank", "layer", "depth"] + [local for local, _ in ev.outputs + ev.inputs + ev.grads]
        n += [p for p, _ in self.modules[ev.module].named_parameters(recurse=False)]
        return ", ".join(n)

    def _decide(self, ev):
        reason = desc = None
        hit = []
        with self.lock:
            mode = self.step_mode
            if self.pause_req:
                self.pause_req = False
                reason = "pause"
            elif self.stop_on_entry and ev.kind == "enter":
                self.stop_on_entry = False
                reason = "entry"
            elif mode is not None and ev.kind != "param-grad":
                m, depth, phase = mode
                if m == "stepIn" or (m == "next" and (ev.phase != phase or ev.depth <= depth)) or \
                        (m == "stepOut" and (ev.phase != phase or (ev.kind == "exit" and ev.depth < depth))):
                    reason = "step"
            bps = self._bps_for(ev.module) if ev.kind != "enter" else []
        if reason is None and ev.kind != "enter" and self.filters:
            r = self._check_filters(ev)
            if r:
                reason, desc = "exception", r[1]
        if self.collect and ev.kind != "enter":
            for _, t in (ev.outputs if ev.kind == "exit" else ev.grads):
                if isinstance(t, torch.Tensor) and t.is_floating_point():
                    self._summary(t, ev.cache)
        if reason is None and bps:
            for b in bps:
                if not b.matches(self.names[ev.module], ev.phase):
                    continue
                if b.cond is not None:
                    try:
                        if not b.cond.truth(lambda n: self._lookup(ev, n), lambda: self._names(ev)):
                            continue
                    except AbiError as e:
                        desc = "breakpoint %d: %s" % (b.id, e)
                if b.hit_ok():
                    hit.append(b.id)
            if hit:
                reason = "function breakpoint"
        if reason is not None:
            self._stop(ev, reason, desc, hit)

    # ---------------------------------------------------------------- stopped
    def _scopes(self, ev, handles):
        def entry(name, t):
            handles.append(t)
            s = self._summary(t, ev.cache) if t.is_floating_point() or t.dtype in T.DTYPES else None
            return {"name": name, "handle": len(handles) - 1, "dtype": T.DTYPES.get(t.dtype, str(t.dtype)),
                    "shape": list(t.shape), "value": T.line(self.abi, t, s) if s is not None else str(t.dtype)}
        mod = self.modules[ev.module]
        sc = {}
        if ev.inputs:
            sc["Inputs"] = [entry(n, t) for n, t in ev.inputs if isinstance(t, torch.Tensor)]
        if ev.outputs:
            sc["Outputs"] = [entry(n, t) for n, t in ev.outputs if isinstance(t, torch.Tensor)]
        params = list(mod.named_parameters(recurse=False))
        if params:
            sc["Parameters"] = [entry(n, p) for n, p in params]
        grads = [entry(n, g) for n, g in ev.grads if isinstance(g, torch.Tensor)]
        grads += [entry(n + ".grad", p.grad) for n, p in params if p.grad is not None and
                  not (ev.param and ev.param[0] == n)]
        if grads:
            sc["Gradients"] = grads
        sc["Step"] = [{"name": "step", "value": str(self.step_value())},
                      {"name": "phase", "value": ev.phase},
                      {"name": "rank", "value": str(self.rank if self.rank is not None else 0)}]
        return sc

    def _named_tensor(self, name):
        """A parameter or buffer by its full path in the module table ("model.lm_head.weight")."""
        if not isinstance(name, str) or "." not in name:
            return None
        mod, _, leaf = name.rpartition(".")
        i = next((k for k, n in enumerate(self.names) if n == mod), None)
        if i is None:
            return None
        m = self.modules[i]
        t = m._parameters.get(leaf) if leaf in m._parameters else m._buffers.get(leaf)
        return t if isinstance(t, torch.Tensor) else None

    def _frames(self):
        out = []
        f = sys._getframe(2)
        while f is not None and len(out) < 64:
            fn = f.f_code.co_filename
            if fn.startswith("<"):  # <string>, <stdin>: code without a file
                out.append({"name": f.f_code.co_name, "file": None, "line": f.f_lineno, "subtle": True})
            else:
                fn = os.path.abspath(fn)
                if not fn.startswith(PKG_DIR):
                    out.append({"name": f.f_code.co_name, "file": fn, "line": f.f_lineno,
                                "subtle": fn.startswith(LIB_DIRS)})
            f = f.f_back
        return out

    def _stop(self, ev, reason, desc, hit):
        if self.link is None:
            self.stops_offline.append((reason, desc, self.names[ev.module], ev.kind, self.step_value()))
            return
        handles = []
        inbox = queue.Queue()
        stack = list(self._stack()) if ev.phase == "forward" else [ev.module]
        body = {"reason": reason, "module": ev.module, "event": ev.kind, "phase": ev.phase,
                "step": self.step_value(), "rank": self.rank, "stack": stack[::-1],
                "hitBreakpointIds": hit, "description": desc or "", "frames": self._frames(),
                "scopes": self._scopes(ev, handles)}
        with self.lock:
            self.inbox = inbox
            self.step_mode = None
        _flush_output()
        self.send({"type": "event", "event": "stopped", "body": body})
        try:
            while self.active:
                msg = inbox.get()
                cmd = msg.get("command")
                args = msg.get("arguments") or {}
                if cmd == "continue":
                    action = args.get("action", "continue")
                    with self.lock:
                        self.step_mode = None if action == "continue" else (action, ev.depth, ev.phase)
                    self._respond(msg, {}) if "seq" in msg else None
                    break
                if cmd == "detach":
                    break
                if cmd == "param":
                    t = self._named_tensor(args.get("name"))
                    if t is None:
                        self._respond(msg, error="no parameter or buffer %r in this process" % (args.get("name"),))
                        continue
                    dt, shape, data = T.to_bytes(t)
                    self._respond(msg, {"dtype": dt, "shape": shape, "nbytes": len(data)}, data=data)
                    continue
                if cmd == "tensor":
                    h = args.get("handle")
                    if not isinstance(h, int) or not 0 <= h < len(handles):
                        self._respond(msg, error="no tensor with handle %r at this stop" % (h,))
                        continue
                    dt, shape, data = T.to_bytes(handles[h])
                    self._respond(msg, {"dtype": dt, "shape": shape, "nbytes": len(data)}, data=data)
                else:
                    self._respond(msg, error="%s: unknown request" % cmd)
        finally:
            with self.lock:
                self.inbox = None


def _flush_output():
    """The program's own output so far goes out before a stop is reported: a front end that
    prints the stop (`layerscope watch` in a CI log, where stdout is a pipe and Python buffers
    it) shows it after that output, and a program ended at the stop does not lose it."""
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass


class _Restore:
    """A removable patch, so detach() puts every patched attribute back."""

    def __init__(self, obj, name, orig):
        self.obj, self.name, self.orig = obj, name, orig

    def remove(self):
        setattr(self.obj, self.name, self.orig)
