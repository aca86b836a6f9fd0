"""lib_tensorgen.py: seeded test fixtures for the tensor readers, written independently of
layerscope from the published formats:
  * safetensors: 8-byte little-endian header length, JSON header, data (huggingface/safetensors)
  * GGUF v2/v3: header, typed key/values, tensor infos (ne[0] fastest), aligned data
    (ggml docs/gguf.md), with block quantizations encoded here in numpy
  * .npy: numpy.lib.format (versions 1-3, C and Fortran order)
Each quantizer returns (bytes, reference float64 values) where the reference is computed
from the integer codes and scales it chose, following the block layouts of ggml-common.h;
it never runs layerscope code. Also a 16-bit/8-bit float toolbox in numpy."""
import json
import struct

import numpy as np

# ------------------------------------------------------------------ float formats


def f32_to_bf16_bits(x):
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_bits_to_f32(b):
    return (np.asarray(b, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def e4m3_to_f64(b):
    """OCP FP8 E4M3FN: bias 7, no infinities, S.1111.111 is NaN."""
    b = np.asarray(b, dtype=np.uint8).astype(np.int64)
    s = np.where(b & 0x80, -1.0, 1.0)
    e = (b >> 3) & 0xF
    m = b & 7
    v = np.where(e == 0, m / 8.0 * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e - 7))
    v = np.where((e == 15) & (m == 7), np.nan, v)
    return s * v


def e5m2_to_f64(b):
    """FP8 E5M2: IEEE-like, bias 15, the top byte of an f16."""
    return (np.asarray(b, dtype=np.uint8).astype(np.uint16) << 8).view(np.float16).astype(np.float64)


# ------------------------------------------------------------------ safetensors

ST_DTYPES = {"f64": "F64", "f32": "F32", "f16": "F16", "bf16": "BF16", "f8_e4m3": "F8_E4M3", "f8_e5m2": "F8_E5M2",
             "i64": "I64", "i32": "I32", "i16": "I16", "i8": "I8", "u64": "U64", "u32": "U32", "u16": "U16",
             "u8": "U8", "bool": "BOOL"}


def write_safetensors(path, tensors, metadata=None, raw_header=None):
    """tensors: list of (name, st_dtype, shape, raw bytes). Returns the header dict."""
    header, data, off = {}, b"", 0
    for name, dt, shape, raw in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    hj = raw_header if raw_header is not None else json.dumps(header).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + data)
    return header


def read_safetensors(path):
    """Minimal reader for tests (numpy arrays of plain dtypes)."""
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    h = json.loads(buf[8:8 + n])
    out = {}
    np_dt = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I32": np.int32, "I64": np.int64,
             "U8": np.uint8, "I8": np.int8, "BF16": np.uint16}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        a = np.frombuffer(buf[8 + n + b:8 + n + e], dtype=np_dt[v["dtype"]]).reshape(v["shape"])
        out[k] = bf16_bits_to_f32(a) if v["dtype"] == "BF16" else a
    return out


# ------------------------------------------------------------------ GGUF quantization blocks


def _f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


def quant_q8_0(x):
    b = x.reshape(-1, 32).astype(np.float32)
    d = _f16(np.abs(b).max(1) / 127.0)
    df = d.astype(np.float64)
    q = np.clip(np.round(b / np.where(df == 0, 1, df)[:, None]), -127, 127).astype(np.int8)
    raw = b"".join(d[i].tobytes() + q[i].tobytes() for i in range(len(b)))
    return raw, (df[:, None] * q).astype(np.float32).reshape(-1)


def _pack_nibbles(q):  # q [nb, 32] in 0..15: byte j = q[j] | q[j+16] << 4
    return (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)


def quant_q4_0(x):
    b = x.reshape(-1, 32).astype(np.float32)
    d = _f16(np.abs(b).max(1) / 7.0)
    df = d.astype(np.float64)
    q = np.clip(np.round(b / np.where(df == 0, 1, df)[:, None]) + 8, 0, 15).astype(np.uint8)
    raw = b"".join(d[i].tobytes() + _pack_nibbles(q)[i].tobytes() for i in range(len(b)))
    return raw, (np.float32(1) * (df[:, None] * (q.astype(np.float64) - 8))).astype(np.float32).reshape(-1)


def quant_q4_1(x):
    b = x.reshape(-1, 32).astype(np.float32)
    mn = b.min(1)
    d = _f16((b.max(1) - mn) / 15.0)
    m = _f16(mn)
    df, mf = d.astype(np.float32), m.astype(np.float32)
    q = np.clip(np.round((b - mf[:, None]) / np.where(df == 0, 1, df)[:, None]), 0, 15).astype(np.uint8)
    raw = b"".join(d[i].tobytes() + m[i].tobytes() + _pack_nibbles(q)[i].tobytes() for i in range(len(b)))
    return raw, (df[:, None] * q.astype(np.float32) + mf[:, None]).reshape(-1)


def _q5_high(q):  # bit j of qh holds bit 4 of element j (32 elements -> u32)
    bits = ((q >> 4) & 1).astype(np.uint32)
    return (bits << np.arange(32, dtype=np.uint32)).sum(1).astype("<u4")


def quant_q5_0(x):
    b = x.reshape(-1, 32).astype(np.float32)
    d = _f16(np.abs(b).max(1) / 15.0)
    df = d.astype(np.float64)
    q = np.clip(np.round(b / np.where(df == 0, 1, df)[:, None]) + 16, 0, 31).astype(np.uint8)
    qh = _q5_high(q)
    raw = b"".join(d[i].tobytes() + qh[i].tobytes() + _pack_nibbles(q & 15)[i].tobytes() for i in range(len(b)))
    return raw, (df[:, None] * (q.astype(np.float64) - 16)).astype(np.float32).reshape(-1)


def quant_q5_1(x):
    b = x.reshape(-1, 32).astype(np.float32)
    mn = b.min(1)
    d = _f16((b.max(1) - mn) / 31.0)
    m = _f16(mn)
    df, mf = d.astype(np.float32), m.astype(np.float32)
    q = np.clip(np.round((b - mf[:, None]) / np.where(df == 0, 1, df)[:, None]), 0, 31).astype(np.uint8)
    qh = _q5_high(q)
    raw = b"".join(d[i].tobytes() + m[i].tobytes() + qh[i].tobytes() + _pack_nibbles(q & 15)[i].tobytes()
                   for i in range(len(b)))
    return raw, (df[:, None] * q.astype(np.float32) + mf[:, None]).reshape(-1)


def quant_q4_k(nblocks, rng):
    """Random valid q4_K super-blocks: 8 sub-blocks of 32 with 6-bit scale s_j and min m_j;
    value = d*s_j*q - dmin*m_j. Returns (bytes, values[nblocks*256])."""
    raw, vals = b"", []
    for _ in range(nblocks):
        d, dmin = _f16(rng.uniform(0.001, 0.01)), _f16(rng.uniform(0.001, 0.01))
        s = rng.integers(0, 64, 8)
        m = rng.integers(0, 64, 8)
        q = rng.integers(0, 16, (8, 32))
        sc = np.zeros(12, dtype=np.uint8)
        for j in range(4):
            sc[j] = s[j] | ((s[j + 4] >> 4) << 6)       # low 6: s_j, top 2: high bits of s_{j+4}
            sc[j + 4] = m[j] | ((m[j + 4] >> 4) << 6)   # low 6: m_j, top 2: high bits of m_{j+4}
            sc[j + 8] = (s[j + 4] & 15) | ((m[j + 4] & 15) << 4)
        qs = np.zeros(128, dtype=np.uint8)
        for c in range(4):  # 64 values per chunk: sub-block 2c in low nibbles, 2c+1 in high
            qs[32 * c:32 * c + 32] = q[2 * c] | (q[2 * c + 1] << 4)
        raw += d.tobytes() + dmin.tobytes() + sc.tobytes() + qs.tobytes()
        df, dmf = np.float32(d), np.float32(dmin)
        for j in range(8):
            vals.append(df * np.float32(s[j]) * q[j].astype(np.float32) - dmf * np.float32(m[j]))
    return raw, np.concatenate(vals).astype(np.float32)


def quant_q6_k(nblocks, rng):
    """Random valid q6_K super-blocks: 16 sub-blocks of 16 with int8 scale; value =
    d*scale*(q-32), q 6-bit split in ql (low 4) and qh (high 2)."""
    raw, vals = b"", []
    for _ in range(nblocks):
        d = _f16(rng.uniform(0.0005, 0.002))
        scales = rng.integers(-128, 128, 16).astype(np.int8)
        q = rng.integers(0, 64, 256)
        ql = np.zeros(128, dtype=np.uint8)
        qh = np.zeros(64, dtype=np.uint8)
        for h in range(2):  # two halves of 128 values
            qq = q[128 * h:128 * h + 128].reshape(4, 32)  # value groups at +0, +32, +64, +96
            ql[64 * h:64 * h + 32] = (qq[0] & 15) | ((qq[2] & 15) << 4)
            ql[64 * h + 32:64 * h + 64] = (qq[1] & 15) | ((qq[3] & 15) << 4)
            qh[32 * h:32 * h + 32] = (qq[0] >> 4) | ((qq[1] >> 4) << 2) | ((qq[2] >> 4) << 4) | ((qq[3] >> 4) << 6)
        raw += ql.tobytes() + qh.tobytes() + scales.tobytes() + d.tobytes()
        sub = np.repeat(scales.astype(np.float32), 16)  # value i uses scale i // 16
        vals.append(np.float32(d) * sub * (q - 32).astype(np.float32))
    return raw, np.concatenate(vals).astype(np.float32)


GGML_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "q4_k": 12, "q6_k": 14,
              "i8": 24, "i16": 25, "i32": 26, "f64": 28, "bf16": 30}

# GGUF value types
GU8, GI8, GU16, GI16, GU32, GI32, GF32, GBOOL, GSTR, GARR, GU64, GI64, GF64 = range(13)


def _gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def _gval(t, v):
    fmt = {GU8: "<B", GI8: "<b", GU16: "<H", GI16: "<h", GU32: "<I", GI32: "<i", GF32: "<f", GBOOL: "<?",
           GU64: "<Q", GI64: "<q", GF64: "<d"}
    if t == GSTR:
        return _gstr(v)
    if t == GARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(_gval(et, i) for i in items)
    return struct.pack(fmt[t], v)


def write_gguf(path, kvs, tensors, version=3, alignment=32, n_tensors=None, n_kv=None):
    """kvs: list of (key, type, value); tensors: list of (name, ggml type name, numpy-order
    shape, raw bytes). Shapes are written reversed (ne[0] fastest)."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                                len(kvs) if n_kv is None else n_kv)
    for k, t, v in kvs:
        out += _gstr(k) + struct.pack("<I", t) + _gval(t, v)
    offs, off = [], 0
    for _, _, _, raw in tensors:
        off = (off + alignment - 1) // alignment * alignment
        offs.append(off)
        off += len(raw)
    for (name, tn, shape, _), o in zip(tensors, offs):
        out += _gstr(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in reversed(shape))
        out += struct.pack("<IQ", GGML_TYPES[tn], o)
    out += b"\0" * (-len(out) % alignment)
    data = bytearray(off)
    for (_, _, _, raw), o in zip(tensors, offs):
        data[o:o + len(raw)] = raw
    with open(path, "wb") as f:
        f.write(out + bytes(data))


def llama_permute(w, n_head):
    """llama.cpp convert_hf_to_gguf's permute() of q/k projection rows."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def ref_stats(x):
    """Reference figures in float64 over finite values (numpy)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    fin = np.isfinite(x)
    xf = x[fin]
    return {"count": x.size, "finite": int(fin.sum()), "nan": int(np.isnan(x).sum()),
            "pinf": int(np.isposinf(x).sum()), "ninf": int(np.isneginf(x).sum()), "zeros": int((x == 0).sum()),
            "mean": float(xf.mean()) if xf.size else None, "std": float(xf.std()) if xf.size else None,
            "min": float(xf.min()) if xf.size else None, "max": float(xf.max()) if xf.size else None}
