"""link.py: the agent's end of its link to the layerscope adapter: JSON messages in the
project's Content-Length framing (the LSP/DAP base protocol, rpc/framing.h) over a Unix
stream socket, plus raw byte frames for tensor data (a `tensor` response names the byte
count; the next frame is that many bytes, not JSON). Blocking I/O on a plain socket: the
agent has one reader thread (agent.py) and writers serialised by a lock, so a stopped hook
and the reader can both send.

No network: only AF_UNIX sockets, in a directory the adapter made with mode 0700."""
import json
import socket
import threading

MAX_HEADER = 8192
MAX_BODY = 1 << 30


class LinkClosed(Exception):
    """The other end closed the link or it broke."""


class Link:
    def __init__(self, sock):
        self.sock = sock
        self.wlock = threading.Lock()
        self.buf = b""
        self.closed = False

    @classmethod
    def connect(cls, path, timeout=10.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(path)
        s.settimeout(None)
        return cls(s)

    # ---------------------------------------------------------------- writing
    def send_raw(self, payload, extra=None):
        """One frame: payload (bytes or memoryview); extra (bytes-like) follows as its own
        frame in the same locked write, so a JSON header and its data are never split by
        another writer."""
        with self.wlock:
            if self.closed:
                raise LinkClosed("link closed")
            try:
                self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(payload))
                self.sock.sendall(payload)
                if extra is not None:
                    self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(extra))
                    self.sock.sendall(extra)
            except OSError as e:
                self.closed = True
                raise LinkClosed(str(e))

    def send(self, msg, data=None):
        self.send_raw(json.dumps(msg, separators=(",", ":"), allow_nan=False).encode("utf-8"), data)

    # ---------------------------------------------------------------- reading
    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise LinkClosed("end of stream")
        self.buf += chunk

    def recv_frame(self):
        """The next frame's body as bytes. Headers are matched in any case; unknown headers
        are ignored, as rpc/framing.c does."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buf) > MAX_HEADER:
                raise LinkClosed("header too long")
            self._fill()
        length = None
        for line in self.buf[:end].split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length is None or length < 0 or length > MAX_BODY:
            raise LinkClosed("bad Content-Length")
        self.buf = self.buf[end + 4:]
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return body

    def recv(self):
        return json.loads(self.recv_frame().decode("utf-8"))

    def close(self):
        with self.wlock:
            self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
