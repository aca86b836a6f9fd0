"""test_install_deps.py: every tool that a test or script looks for is installed by the
project's own scripts, so the README's test command works on a fresh Debian 12 machine and
not only on one where earlier work installed things by hand.

It reads the tests and scripts for the tools they look up (`shutil.which("x")`,
`command -v x`, `$(which x)`, and the first word of a literal argv given to subprocess or
child_process), then requires each to be (a) named in the TOOLS table of
scripts/install-deps.sh or installed by tests/e2e_vscode/scripts/setup.sh, and (b) on PATH
here, after the install scripts ran. It also requires Node.js 20 or later on PATH (Debian 12
ships 18; install-deps.sh brings 20 from the npm registry). The scanner is checked on a
planted file first, so this test cannot pass by finding nothing."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("LS_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Part of every Debian base system (coreutils, util-linux, procps, findutils, grep, sed,
# gawk/mawk, bash, tar, gzip, dpkg, apt) or the project's own build outputs.
BASE = set("""bash sh env cat cp mv rm ln mkdir rmdir ls cd echo printf test true false kill sleep
timeout setsid nproc id uname date mktemp dirname basename readlink realpath head tail tee wc
sort uniq tr cut paste seq find xargs mkfifo grep sed awk mawk gawk tar gzip dpkg dpkg-query apt-get
mount umount mountpoint chroot ps pgrep pkill stat touch chmod du df which hash layerscope
python3 node npm npx ctest cmake ninja cc gcc make git""".split())

PATTERNS = [
    re.compile(r"""shutil\.which\(\s*['"]([A-Za-z0-9_.+-]+)['"]"""),
    re.compile(r"""command -v ([A-Za-z0-9_.+-]+)"""),
    re.compile(r"""\$\(which ([A-Za-z0-9_.+-]+)"""),
    re.compile(r"""subprocess\.(?:run|call|check_call|check_output|Popen)\(\s*\[\s*['"]([A-Za-z0-9_.+-]+)['"]"""),
    re.compile(r"""(?:spawn|spawnSync|execFile|execFileSync)\(\s*['"]([A-Za-z0-9_.+-]+)['"]"""),
    re.compile(r"""^\s*trace\s*=\s*\[\s*['"]([A-Za-z0-9_.+-]+)['"]""", re.M),
]
EXTS = (".py", ".sh", ".js", ".ts", ".cmake", ".txt")


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def tools_wanted(top, dirs):
    found = {}
    for d in dirs:
        for base, subdirs, files in os.walk(os.path.join(top, d)):
            subdirs[:] = [s for s in subdirs if s not in ("node_modules", "artifacts", "build")]
            for f in files:
                p = os.path.join(base, f)
                if (not f.endswith(EXTS) and f != "run") or os.path.abspath(p) == os.path.abspath(__file__):
                    continue  # this file names tools only as examples and planted cases
                try:
                    text = open(p, encoding="utf-8", errors="replace").read()
                except OSError:
                    continue
                for pat in PATTERNS:
                    for m in pat.finditer(text):
                        found.setdefault(m.group(1), os.path.relpath(p, top))
    return found


def declared(top):
    text = open(os.path.join(top, "scripts", "install-deps.sh"), encoding="utf-8").read()
    m = re.search(r'^TOOLS="\n(.*?)^"', text, re.S | re.M)
    if not m:
        fail("scripts/install-deps.sh has no TOOLS table")
    tools = {line.split()[0] for line in m.group(1).splitlines() if line.strip()}
    setup = open(os.path.join(top, "tests", "e2e_vscode", "scripts", "setup.sh"), encoding="utf-8").read()
    # setup.sh installs Chromium, ripgrep and code-server for the editor test.
    for t in ("chromium", "rg", "code-server", "curl"):
        if re.search(r"\b%s\b" % re.escape(t if t != "rg" else "ripgrep"), setup):
            tools.add(t)
    return tools


def missing(top, dirs):
    have = declared(top)
    return {t: where for t, where in tools_wanted(top, dirs).items() if t not in BASE and t not in have}


def test_scanner_finds_a_planted_tool():
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "tests", "x"))
        os.makedirs(os.path.join(d, "tests", "e2e_vscode", "scripts"))
        os.makedirs(os.path.join(d, "scripts"))
        shutil.copy(os.path.join(SRC, "scripts", "install-deps.sh"), os.path.join(d, "scripts"))
        shutil.copy(os.path.join(SRC, "tests", "e2e_vscode", "scripts", "setup.sh"),
                    os.path.join(d, "tests", "e2e_vscode", "scripts"))
        # a tool the table does list (not one of the base system's): never reported
        listed = sorted(declared(d) - BASE)[0]
        with open(os.path.join(d, "tests", "x", "test_planted.py"), "w") as f:
            f.write('import shutil, subprocess\nshutil.which("frobnicate")\n'
                    'subprocess.run(["gribble", "-x"])\nsubprocess.run(["%s", "-f"])\n' % listed)
        with open(os.path.join(d, "tests", "x", "t.sh"), "w") as f:
            f.write('command -v wobble >/dev/null || exit 2\n')
        got = missing(d, ["tests", "scripts"])
        for t in ("frobnicate", "gribble", "wobble"):
            if t not in got:
                fail("the scanner missed the planted tool %r (found %r)" % (t, sorted(got)))
        if listed in got:
            fail("%s is in install-deps.sh's TOOLS table but the scanner reports it missing" % listed)


def test_every_tool_is_installed_by_the_project():
    gaps = missing(SRC, ["tests", "scripts", "fuzz", ".ci"])
    if gaps:
        fail("tests or scripts look for tools that scripts/install-deps.sh (TOOLS) does not install: " +
             ", ".join("%s (in %s)" % kv for kv in sorted(gaps.items())))
    wanted = tools_wanted(SRC, ["tests", "scripts", "fuzz", ".ci"])
    # code-server lives under build/e2e-vscode (setup.sh prints its path), not on PATH.
    absent = [t for t in sorted(wanted) if t not in ("code-server", "layerscope") and shutil.which(t) is None]
    if absent:
        fail("not on PATH after scripts/install-deps.sh: %s" % ", ".join(absent))


def test_node_is_20_or_later():
    node = shutil.which("node")
    if not node:
        fail("node is not on PATH (scripts/install-deps.sh installs Node.js 20)")
    v = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    m = re.match(r"v(\d+)\.", v)
    if not m or int(m.group(1)) < 20:
        fail("node on PATH is %r; the protocol tests, vsce and code-server need 20 or later" % v)


if __name__ == "__main__":
    test_scanner_finds_a_planted_tool()
    test_every_tool_is_installed_by_the_project()
    test_node_is_20_or_later()
    print("ok")
