"""sanitize.py: how the CLI tests run watched Python programs when layerscope is the
sanitizer build (LS_SANITIZE=1). The agent's library is then built with AddressSanitizer and
Python is not, so the ASan runtime must be loaded first in the program's process, and
libstdc++ with it: the runtime resolves __cxa_throw when it starts, and Python does not link
libstdc++ (torch.distributed's C++ exceptions would hit a null interceptor). The runtime is
the one the agent's library names in its DT_NEEDED (libasan.so.N), found by the loader by
that name. Leak checks are off: the leaks would be Python's own.

Two shapes of the same thing, for test_health.py (an environment for the process that runs
the program) and test_watch.py (an interpreter wrapper given to `layerscope watch` as the
command's first word)."""
import os
import re

SYS_PY = "/usr/bin/python3"
ENABLED = os.environ.get("LS_SANITIZE") == "1"


def runtime(layerscope):
    """The ASan runtime's soname the agent library next to this layerscope build needs, or
    (None, why)."""
    build = os.environ.get("LS_BUILD_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(layerscope)))
    lib = os.path.join(build, "agent", "liblayerscope_agent.so")
    try:
        with open(lib, "rb") as f:
            m = re.search(rb"libasan\.so\.\d+", f.read())
    except OSError as e:
        return None, "%s (%s)" % (lib, e)
    if not m:
        return None, "%s names no libasan.so.N" % lib
    return m.group(0).decode(), None


def preload(layerscope):
    """The LD_PRELOAD value, or raises RuntimeError naming what is missing."""
    so, why = runtime(layerscope)
    if not so:
        raise RuntimeError("the ASan runtime the agent's library needs was not found: " + why)
    return so + " libstdc++.so.6"


def env(layerscope):
    """Extra environment for a process that runs a watched program: {} unless LS_SANITIZE=1."""
    if not ENABLED:
        return {}
    return {"LD_PRELOAD": preload(layerscope), "ASAN_OPTIONS": "detect_leaks=0", "LSAN_OPTIONS": "detect_leaks=0"}


def interpreter(layerscope, directory):
    """The Python the programs run on: /usr/bin/python3, or under ASan a wrapper in directory
    that preloads the runtime (named python3-* so that `layerscope watch` recognises it as the
    interpreter when it is the command's first word)."""
    if not ENABLED:
        return SYS_PY
    path = os.path.join(directory, "python3-asan")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nLD_PRELOAD='%s' ASAN_OPTIONS=detect_leaks=0 exec %s \"$@\"\n" % (preload(layerscope), SYS_PY))
    os.chmod(path, 0o755)
    return path
