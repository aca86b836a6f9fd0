#!/usr/bin/env bash
# test.sh: builds layerscope twice (warnings as errors; ASan+UBSan) and runs every test in
# both builds: unit (cmocka), e2e (CLI, and VS Code in Chromium in the release build),
# protocol (real LSP/DAP client libraries) and numeric (against PyTorch/numpy); then the
# protocol tests again with every server under valgrind memcheck, and each libFuzzer target
# of fuzz/ for a short smoke run. This is the README's test command and what CI runs.
#
# Every stage runs even when an earlier one failed (a stage that needs a failed one is
# reported as not run, with the reason), and the end prints one line per stage with its
# result and time, then the total. Exit status: 0 only when every stage passed. A CTest skip
# (a test that could not run here, exit code 77) is reported in the summary; under CI
# (CI=true) the tests themselves turn a skip into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)
t_all=$(date +%s)
names=(); results=(); times=()
failed=0

# stage NAME COMMAND...: runs COMMAND, records its result and time.
stage() {
  local name=$1; shift
  local t0 rc; t0=$(date +%s)
  echo "== $name ==" >&2
  "$@"; rc=$?
  names+=("$name"); times+=($(( $(date +%s) - t0 )))
  if [ $rc -eq 0 ]; then results+=("passed"); else results+=("FAILED (exit $rc)"); failed=1; fi
  return $rc
}
# not_run NAME WHY: a stage that cannot run because one it needs failed.
not_run() { names+=("$1"); times+=(0); results+=("NOT RUN ($2)"); failed=1; }

build() { # name, extra cmake args...
  local name=$1; shift
  cmake -S "$root" -B "$root/build/$name" -G Ninja -DLS_WERROR=ON "$@" >/dev/null &&
    cmake --build "$root/build/$name" -j "$jobs"
}
# ctest_run BUILD: runs CTest and notes skipped tests in the stage's result.
ctest_run() {
  local log; log=$(mktemp)
  ctest --test-dir "build/$1" --output-on-failure -j "$jobs" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local skipped; skipped=$(grep -c -- '\*\*\*Skipped\|Not Run' "$log" || true)
  rm -f "$log"
  [ "$skipped" -gt 0 ] && echo "test.sh: $skipped test(s) skipped in build/$1 (listed above)" >&2
  return "$rc"
}

stage "install Debian packages and Node.js (scripts/install-deps.sh)" bash scripts/install-deps.sh
deps_ok=$?
stage "install npm packages (scripts/install-node-deps.sh)" bash scripts/install-node-deps.sh
# The VS Code end-to-end test needs Chromium and code-server; installing them here keeps the
# download time out of that test's CTest timeout. If it fails, e2e.test_vscode says why.
stage "VS Code end-to-end set-up (Chromium, code-server)" bash -c 'bash tests/e2e_vscode/scripts/setup.sh >/dev/null'

if stage "release build (-Wall -Wextra -Werror)" build release -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  stage "release tests (CTest)" ctest_run release
  stage "protocol tests under valgrind memcheck" bash scripts/valgrind-protocol.sh build/release/cli/layerscope
else
  not_run "release tests (CTest)" "the release build failed"
  not_run "protocol tests under valgrind memcheck" "the release build failed"
fi

if stage "sanitizer build (ASan + UBSan)" build asan -DCMAKE_BUILD_TYPE=Debug -DLS_SANITIZE=ON; then
  stage "sanitizer tests (CTest)" ctest_run asan
else
  not_run "sanitizer tests (CTest)" "the sanitizer build failed"
fi

stage "fuzz smoke (clang, libFuzzer + ASan + UBSan)" env FUZZ_SECS="${FUZZ_SECS:-20}" bash scripts/fuzz-smoke.sh

total=$(( $(date +%s) - t_all ))
{
  echo
  echo "== summary =="
  for i in "${!names[@]}"; do printf '%-64s %-26s %5d s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"; done
  [ "$deps_ok" -eq 0 ] || echo "(the dependencies did not install: later failures may follow from that)"
  printf 'total %d min %d s: %s\n' $((total / 60)) $((total % 60)) "$([ $failed -eq 0 ] && echo 'every stage passed' || echo 'SOME STAGES FAILED')"
} >&2
exit $failed
