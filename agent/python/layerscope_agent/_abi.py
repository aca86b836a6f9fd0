"""_abi.py: ctypes binding of liblayerscope_agent.so (agent/abi.c), the core's statistics
and expression language as a C ABI, called on the tensors' own memory. The library is found
through LAYERSCOPE_AGENT_LIB (the adapter sets it), else beside an installed package
(PREFIX/lib/layerscope/liblayerscope_agent.so for PREFIX/lib/layerscope/python/...).
A library of another ABI version is refused with a message naming both versions."""
import ctypes
import os

ABI_VERSION = 2
MAX_DIMS = 4


class Stats(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("count", "finite", "nan", "pinf", "ninf", "zeros", "subnormals")] + \
               [(n, ctypes.c_double) for n in ("sum", "mean", "std", "min", "max", "absmax")]


class Value(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("num", ctypes.c_double), ("dtype", ctypes.c_int),
                ("data", ctypes.c_void_p), ("ndim", ctypes.c_int), ("shape", ctypes.c_int64 * MAX_DIMS)]


LOOKUP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(Value))
NAMES = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


class AbiError(Exception):
    pass


def _find():
    p = os.environ.get("LAYERSCOPE_AGENT_LIB")
    if p:
        return p
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "..", "..", "liblayerscope_agent.so"),):
        if os.path.exists(cand):
            return os.path.normpath(cand)
    raise AbiError("liblayerscope_agent.so not found: set LAYERSCOPE_AGENT_LIB "
                   "(the adapter does; `cmake --install` puts it beside the package)")


class Abi:
    def __init__(self, path=None):
        path = path or _find()
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            raise AbiError("cannot load %s: %s" % (path, e))
        lib.lsa_abi_version.restype = ctypes.c_int
        v = lib.lsa_abi_version()
        if v != ABI_VERSION:
            raise AbiError("%s has ABI version %d; this agent needs %d" % (path, v, ABI_VERSION))
        lib.lsa_dtype.argtypes = [ctypes.c_char_p]
        lib.lsa_threads_set.argtypes = [ctypes.c_int]
        # statistics on the hook's own thread (LAYERSCOPE_AGENT_THREADS for more): a pool of
        # ours would compete with torch's intra-op threads, which spin between operations
        lib.lsa_threads_set(int(os.environ.get("LAYERSCOPE_AGENT_THREADS", "1") or 1))
        lib.lsa_stats_compute.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.POINTER(Stats)]
        lib.lsa_dead_units.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64,
                                       ctypes.POINTER(ctypes.c_uint64)]
        lib.lsa_expr_parse.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.lsa_expr_parse.restype = ctypes.c_void_p
        lib.lsa_expr_free.argtypes = [ctypes.c_void_p]
        lib.lsa_expr_truth.argtypes = [ctypes.c_void_p, LOOKUP, NAMES, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int),
                                       ctypes.c_char_p, ctypes.c_size_t]
        lib.lsa_tensor_line.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int64),
                                        ctypes.POINTER(Stats), ctypes.c_char_p, ctypes.c_size_t]
        self.lib = lib
        self.path = path
        self.dtype_ids = {}
        for name in ("f64", "f32", "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "bool"):
            i = lib.lsa_dtype(name.encode())
            if i >= 0:
                self.dtype_ids[name] = i

    def stats(self, dtype, ptr, n):
        s = Stats()
        rc = self.lib.lsa_stats_compute(self.dtype_ids[dtype], ptr, n, ctypes.byref(s))
        if rc != 0:
            raise AbiError("statistics failed (%d)" % rc)
        return s

    def dead_units(self, dtype, ptr, outer, units, inner):
        """Units (of [outer, units, inner]) whose every value is exactly zero."""
        n = ctypes.c_uint64(0)
        rc = self.lib.lsa_dead_units(self.dtype_ids[dtype], ptr, outer, units, inner, ctypes.byref(n))
        if rc != 0:
            raise AbiError("dead units failed (%d)" % rc)
        return n.value

    def parse(self, src):
        err = ctypes.create_string_buffer(512)
        h = self.lib.lsa_expr_parse(src.encode("utf-8"), err, len(err))
        if not h:
            raise AbiError(err.value.decode("utf-8", "replace"))
        return Expr(self, h)

    def line(self, dtype, ptr, shape, stats):
        sh = (ctypes.c_int64 * MAX_DIMS)(*shape[:MAX_DIMS])
        buf = ctypes.create_string_buffer(320)
        rc = self.lib.lsa_tensor_line(self.dtype_ids[dtype], ptr, len(shape), sh, ctypes.byref(stats), buf, len(buf))
        return buf.value.decode("utf-8", "replace") if rc == 0 else "(statistics unavailable)"


class Expr:
    """A parsed condition; truth() evaluates it with lookup(name) -> None | float | view."""

    def __init__(self, abi, handle):
        self.abi, self.h = abi, handle

    def __del__(self):
        if self.h:
            self.abi.lib.lsa_expr_free(self.h)
            self.h = None

    def truth(self, lookup, names):
        keep = []

        def cb(_ud, name, out):
            try:
                v = lookup(name.decode("utf-8", "replace"))
            except Exception:
                return 0
            if v is None:
                return 0
            if isinstance(v, (int, float)):
                out[0].kind, out[0].num = 1, float(v)
                return 1
            dtype, ptr, shape, owner = v
            keep.append(owner)
            out[0].kind, out[0].dtype, out[0].data, out[0].ndim = 2, self.abi.dtype_ids[dtype], ptr, len(shape)
            for i, d in enumerate(shape):
                out[0].shape[i] = d
            return 1

        def nm(_ud, buf, cap):
            text = names()[: max(0, cap - 1)].encode("utf-8")[: max(0, cap - 1)]
            ctypes.memmove(buf, text + b"\0", len(text) + 1)

        t = ctypes.c_int(0)
        err = ctypes.create_string_buffer(512)
        rc = self.abi.lib.lsa_expr_truth(self.h, LOOKUP(cb), NAMES(nm), None, ctypes.byref(t), err, len(err))
        if rc != 0:
            raise AbiError(err.value.decode("utf-8", "replace"))
        return bool(t.value)
