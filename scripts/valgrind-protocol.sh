#!/usr/bin/env bash
# valgrind-protocol.sh: runs every protocol test (tests/protocol/test_*.js) with each server
# the tests start running under valgrind memcheck, and fails on any memory error or
# definite leak. The harness starts whatever $LAYERSCOPE names, so $LAYERSCOPE becomes a
# small wrapper script that execs valgrind on the real binary, one log file per process.
# LS_SANITIZE=1 and LS_VALGRIND=1 are set so the soak tests scale down (valgrind is ~20-50x
# slower); the timeouts of the tests themselves are unchanged, so a test that fails only by
# timing out is reported as such (see the summary), not as a memory error.
# Too slow for the default test command (see docs/SECURITY.md for the measured runtime).
#
# usage: scripts/valgrind-protocol.sh [path/to/layerscope] [test_name.js ...]
#   default binary: build/release/cli/layerscope. Exit status 0 only if every test passed and
#   no valgrind log shows an error or a definite leak.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REAL="${1:-$ROOT/build/release/cli/layerscope}"
shift || true
[ -x "$REAL" ] || { echo "no executable at $REAL (build first, or pass its path)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/install-deps.sh)" >&2; exit 2; }
REAL="$(cd "$(dirname "$REAL")" && pwd)/$(basename "$REAL")"

WORK="$(mktemp -d /tmp/ls-valgrind.XXXXXX)"
LOGS="$WORK/logs"
mkdir -p "$LOGS"
# libunwind (the backtraces of the crash handler and of the debugger's native frames) checks
# that an address is readable by write(2)-ing it to a pipe: memcheck reports those probes as
# "Syscall param write(buf) points to unaddressable/uninitialised byte(s)". They are by
# design, so they are suppressed; nothing else is.
cat > "$WORK/libunwind.supp" <<'SUPP'
{
   libunwind-validate-mem-probe
   Memcheck:Param
   write(buf)
   ...
   obj:*/libunwind.so*
}
SUPP
cat > "$WORK/layerscope" <<WRAP
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
  --show-leak-kinds=definite --suppressions="$WORK/libunwind.supp" --log-file="$LOGS/vg.%p.log" "$REAL" "\$@"
WRAP
chmod +x "$WORK/layerscope"

cd "$ROOT/tests/protocol" || exit 2
if [ $# -gt 0 ]; then TESTS=("$@"); else TESTS=(test_*.js); fi
start=$(date +%s)
failed=()
for t in "${TESTS[@]}"; do
  t0=$(date +%s)
  if LAYERSCOPE="$WORK/layerscope" LS_SANITIZE=1 LS_VALGRIND=1 LS_SOURCE_DIR="$ROOT" node "$t" > "$WORK/${t%.js}.out" 2>&1; then
    echo "pass  $t ($(( $(date +%s) - t0 )) s)"
  else
    echo "FAIL  $t ($(( $(date +%s) - t0 )) s): see $WORK/${t%.js}.out"
    grep -m5 -E '^not ok|error:' "$WORK/${t%.js}.out" | sed 's/^/      /'
    failed+=("$t")
  fi
done

# The logs: one per server process. A clean one is empty (-q prints only errors).
nlogs=$(ls "$LOGS" | wc -l)
errlogs=$(grep -l -E 'ERROR SUMMARY: [1-9]|Invalid (read|write|free)|uninitialised|definitely lost: [1-9]' "$LOGS"/* 2>/dev/null)
echo "valgrind: $nlogs server processes, $(echo -n "$errlogs" | grep -c .) with errors or definite leaks; total $(( $(date +%s) - start )) s"
for f in $errlogs; do echo "--- $f"; head -40 "$f"; done
if [ ${#failed[@]} -gt 0 ] || [ -n "$errlogs" ]; then
  echo "valgrind-protocol: FAILED (${#failed[@]} test file(s) failed); logs kept in $WORK"
  exit 1
fi
rm -rf "$WORK"
echo "valgrind-protocol: OK"
