#!/usr/bin/env bash
# fuzz-smoke.sh: builds the libFuzzer targets of fuzz/ with clang (build/fuzz, -DLS_FUZZ=ON:
# the targets get -fsanitize=fuzzer,address,undefined and the project's libraries
# -fsanitize=fuzzer-no-link,address,undefined, see fuzz/CMakeLists.txt; normal builds are
# untouched) and runs each target for a short time (FUZZ_SECS, default 20 s) over its
# committed seed corpus plus the corpus earlier runs left in build/fuzz/corpus. Any crash,
# leak, sanitizer report or timeout (10 s per input) fails the script; the input is then in
# build/fuzz/artifacts/<target>/ and the log in build/fuzz/logs/<target>.log. The long runs
# whose figures fuzz/README.md reports use the same fuzz/run.sh with a longer time.
#   usage: scripts/fuzz-smoke.sh [TARGET...]     (default: every target)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD:-$root/build/fuzz}"
secs="${FUZZ_SECS:-20}"
all=(framing json model safetensors gguf npy expr lsp dap record tokjson tokenize)
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

command -v clang >/dev/null || { echo "fuzz-smoke: clang not found (scripts/install-deps.sh installs it)" >&2; exit 2; }
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
     clang -x c - -fsanitize=fuzzer -o /dev/null 2>/dev/null; then
  echo "fuzz-smoke: clang cannot link libFuzzer (Debian: apt-get install libclang-rt-14-dev)" >&2
  exit 2
fi

CC=clang cmake -S "$root" -B "$build" -G Ninja -DLS_FUZZ=ON -DLS_TESTS=OFF >/dev/null
fail=0
for t in "${targets[@]}"; do
  if ! ninja -C "$build" -j2 "fuzz_$t" >"$build/build-$t.log" 2>&1; then
    echo "fuzz_$t: BUILD FAILED (see $build/build-$t.log)"
    grep -E 'error|undefined reference' "$build/build-$t.log" | head -5 >&2
    fail=1
    continue
  fi
  "$root/fuzz/run.sh" "$t" "$secs" "$build" || fail=1
done
[ $fail -eq 0 ] && echo "fuzz-smoke: all ${#targets[@]} targets ran ${secs}s with no finding"
exit $fail
