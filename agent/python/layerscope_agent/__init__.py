"""layerscope_agent: the PyTorch side of layerscope's debugger. Loaded into the user's
program by the adapter (through PYTHONPATH and boot/sitecustomize.py: `layerscope dap`
launch, `layerscope watch`), or by the program itself for attach, like debugpy:

    import layerscope_agent
    layerscope_agent.listen()          # prints and returns the socket path
    layerscope_agent.wait_for_client() # blocks until `attach` with {"connect": PATH}

Standard library + torch only; statistics and conditions run in liblayerscope_agent.so.
See docs/agent.md."""
import os
import socket
import sys
import tempfile

_agent = None
_listener = None


def _make_agent(**kw):
    global _agent
    from .agent import Agent
    _agent = Agent(**kw)
    return _agent


def listen(path=None):
    """Listens on a Unix socket for the adapter (attach). Without a path, one is made in a new
    private directory (mode 0700). Returns the path, also printed to stderr."""
    global _listener
    if path is None:
        d = tempfile.mkdtemp(prefix="layerscope-")
        os.chmod(d, 0o700)
        path = os.path.join(d, "agent.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o600)
    s.listen(1)
    _listener = (s, path)
    sys.stderr.write("layerscope agent: listening on %s\n" % path)
    sys.stderr.flush()
    return path


def wait_for_client():
    """Blocks until the adapter attaches, then hooks the program and returns."""
    global _listener
    if _listener is None:
        raise RuntimeError("layerscope_agent.listen() first")
    s, path = _listener
    conn, _ = s.accept()
    s.close()
    try:
        os.unlink(path)
    except OSError:
        pass
    _listener = None
    from .link import Link
    _make_agent(link=Link(conn)).start()


def detach():
    """Removes every hook and closes the link (what `disconnect` after attach does)."""
    if _agent is not None:
        _agent.detach()


def _boot():
    """Launch mode: LAYERSCOPE_AGENT_CONNECT names the adapter's socket. Hooks go in when the
    program imports torch; the link opens when the first module runs."""
    path = os.environ.get("LAYERSCOPE_AGENT_CONNECT")
    if not path:
        return
    rank = os.environ.get("RANK")

    def install():
        from .link import Link
        try:
            a = _make_agent(connect=lambda: Link.connect(path), rank=int(rank) if rank and rank.isdigit() else None)
            a.start()
        except Exception as e:  # never break the user's program
            sys.stderr.write("layerscope agent: not loaded: %s\n" % e)

    if "torch" in sys.modules:
        install()
    else:
        from ._importhook import on_import
        on_import("torch", install)
