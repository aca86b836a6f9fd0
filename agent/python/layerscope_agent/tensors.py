"""tensors.py: torch tensors as the core sees them. A CPU tensor that is contiguous is
passed to the core by its data pointer (zero copy); any other is made contiguous first (a
copy). Statistics run in C (liblayerscope_agent.so) on that memory. CUDA tensors are reduced
on the device with torch (isnan/isinf/abs().max() and friends), and only the few numbers come
back; their data reaches the adapter only when the user opens them.

Shapes with more than 4 dimensions are given to the expression language with the leading
dimensions merged (it holds 4 at most); the Variables view shows the real shape."""
import torch

DTYPES = {
    torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
    torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8",
    torch.bool: "bool",
}
FP16_MAX = 65504.0


def flat_tensors(obj, prefix, out, depth=0):
    """(name, tensor) pairs of a module's inputs or outputs: a tensor, or tensors inside
    tuples, lists, dicts and dataclass-like objects with to_tuple (Hugging Face outputs)."""
    if depth > 4 or len(out) >= 64:
        return out
    if isinstance(obj, torch.Tensor):
        out.append((prefix, obj))
    elif isinstance(obj, (tuple, list)):
        if len(obj) == 1:
            flat_tensors(obj[0], prefix, out, depth + 1)
        else:
            for i, x in enumerate(obj):
                flat_tensors(x, "%s[%d]" % (prefix, i), out, depth + 1)
    elif isinstance(obj, dict):
        for k, x in obj.items():
            flat_tensors(x, "%s.%s" % (prefix, k), out, depth + 1)
    return out


def view(t):
    """(dtype name, data pointer, shape, owner) for the core, or None for an unsupported dtype
    or a device tensor (owner keeps a contiguous copy alive)."""
    dt = DTYPES.get(t.dtype)
    if dt is None or t.device.type != "cpu" or t.is_sparse:
        return None
    c = t.detach()
    if not c.is_contiguous():
        c = c.contiguous()
    shape = list(c.shape)
    if len(shape) > 4:
        lead = 1
        for d in shape[: len(shape) - 3]:
            lead *= d
        shape = [lead] + shape[-3:]
    return dt, c.data_ptr(), shape, c


class Summary:
    """The figures of one tensor that stops and lines need: element count, NaN, +Inf, -Inf,
    finite values beyond fp16's range, and the core's full statistics when computed in C.
    Numbers only: a summary never holds on to the tensor (keeping activations or gradients
    alive past their time would change the program's memory)."""
    __slots__ = ("count", "nan", "pinf", "ninf", "absmax", "stats")

    def __init__(self):
        self.count = self.nan = self.pinf = self.ninf = 0
        self.absmax = 0.0
        self.stats = None


def summarize(abi, t):
    s = Summary()
    s.count = t.numel()
    if s.count == 0 or not (t.is_floating_point() or t.dtype in DTYPES):
        return s
    v = view(t)
    if v is not None:
        st = abi.stats(v[0], v[1], s.count)
        s.nan, s.pinf, s.ninf, s.absmax, s.stats = st.nan, st.pinf, st.ninf, st.absmax, st
        if s.absmax != s.absmax:  # no finite value
            s.absmax = 0.0
        return s
    if not t.is_floating_point():
        return s
    with torch.no_grad():  # on the device: only numbers come back
        x = t.detach()
        s.nan = int(torch.isnan(x).sum())
        s.pinf = int(torch.isposinf(x).sum())
        s.ninf = int(torch.isneginf(x).sum())
        fin = x[torch.isfinite(x)]
        s.absmax = float(fin.abs().max()) if fin.numel() else 0.0
    return s


def first_index(t, kind):
    """Index (a list) of the first NaN / Inf / fp16-overflowing value, row-major."""
    with torch.no_grad():
        x = t.detach()
        if kind == "nan":
            m = torch.isnan(x)
        elif kind == "inf":
            m = torch.isinf(x)
        else:
            m = torch.isfinite(x) & (x.abs() > FP16_MAX)
        nz = m.nonzero()
        return [int(i) for i in nz[0]] if nz.numel() else []


def line(abi, t, s=None):
    """One line: `f32[4,128,768] μ=… σ=… [min, max] nan=0 inf=0 zeros=0%`."""
    if s is None:
        s = summarize(abi, t)
    v = view(t) if s.stats is not None else None
    if v is not None:
        real = "[" + ",".join(str(d) for d in t.shape) + "]"
        text = abi.line(v[0], v[1], v[2], s.stats)
        # the core prints the (maybe merged) shape it was given; show the real one
        head, _, rest = text.partition("[")
        return head + real + rest[rest.index("]") + 1:] if "]" in rest else text
    dt = DTYPES.get(t.dtype, str(t.dtype).replace("torch.", ""))
    return "%s[%s] on %s nan=%d inf=%d absmax=%.6g" % (dt, ",".join(str(d) for d in t.shape), t.device,
                                                      s.nan, s.pinf + s.ninf, s.absmax)


def to_bytes(t):
    """(dtype name, shape, bytes) of a tensor for the adapter (CPU, contiguous copy if
    needed); unsupported dtypes are converted to f32."""
    x = t.detach()
    if x.device.type != "cpu":
        x = x.cpu()
    if x.dtype not in DTYPES:
        x = x.float()
    x = x.contiguous()
    n = x.numel() * x.element_size()
    if n == 0:
        return DTYPES[x.dtype], list(x.shape), b""
    # bytes of the storage without a copy through numpy (bf16 has no numpy type)
    import ctypes
    buf = (ctypes.c_char * n).from_address(x.data_ptr())
    return DTYPES[x.dtype], list(x.shape), bytes(buf)
