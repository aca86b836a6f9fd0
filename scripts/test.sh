#!/usr/bin/env bash
# test.sh: builds layerscope twice (warnings as errors; ASan+UBSan) and runs every test in
# both builds: unit (cmocka), e2e (CLI, and VS Code in Chromium in the release build),
# protocol (real LSP/DAP client libraries) and numeric (against PyTorch/numpy); then the
# protocol tests again with every server under valgrind memcheck, and each libFuzzer target
# of fuzz/ for a short smoke run. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/install-deps.sh
bash scripts/install-node-deps.sh

jobs=$(nproc)
run_build() { # name, extra cmake args...
  local name=$1; shift
  cmake -S "$root" -B "$root/build/$name" -G Ninja -DLS_WERROR=ON "$@" >/dev/null
  cmake --build "$root/build/$name" -j "$jobs"
}

# The VS Code end-to-end test needs Chromium and code-server; installing them here keeps the
# download time out of that test's CTest timeout. If it fails, the test says why.
echo "== VS Code end-to-end set-up (Chromium, code-server) ==" >&2
bash tests/e2e_vscode/scripts/setup.sh >/dev/null ||
  echo "test.sh: the VS Code end-to-end set-up failed; e2e.test_vscode will report why" >&2

echo "== release build (-Wall -Wextra -Werror) ==" >&2
run_build release -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir build/release --output-on-failure -j "$jobs"

echo "== sanitizer build (ASan + UBSan) ==" >&2
run_build asan -DCMAKE_BUILD_TYPE=Debug -DLS_SANITIZE=ON
ctest --test-dir build/asan --output-on-failure -j "$jobs"

echo "== protocol tests under valgrind memcheck ==" >&2
bash scripts/valgrind-protocol.sh build/release/cli/layerscope

echo "== fuzz smoke (clang, libFuzzer + ASan + UBSan) ==" >&2
FUZZ_SECS="${FUZZ_SECS:-20}" bash scripts/fuzz-smoke.sh
