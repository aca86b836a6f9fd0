#!/bin/sh
# run.sh: builds bench_figures against a built layerscope core library and runs it on the
# largest configs, then times the whole CLI (`layerscope summary --format json`, process
# start and JSON output of every tensor included). Usage: bench/figures/run.sh [BUILD_DIR]
# (default build/release; any build with -O2 or RelWithDebInfo; not the ASan build).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build/release}
CFG=$ROOT/tests/fixtures/configs
OUT=${TMPDIR:-/tmp}/ls_bench_figures
cc -O2 -std=c11 -I"$ROOT" "$ROOT/bench/figures/bench_figures.c" "$BUILD/core/libls_core.a" \
  $(pkg-config --libs jansson libunwind openblas sqlite3) -ldnnl -ldl -lpthread -lm -o "$OUT"
"$OUT" -n 300 "$CFG/extra/llama-3.1-405b.config.json" "$CFG/mixtral-8x7b-v0.1.config.json" \
  "$CFG/extra/qwen1.5-moe-a2.7b.config.json" "$CFG/gpt2.config.json"
echo "CLI, 20 runs of: layerscope summary llama-3.1-405b.config.json --format json > /dev/null"
python3 - "$BUILD/cli/layerscope" "$CFG/extra/llama-3.1-405b.config.json" <<'PY'
import subprocess, sys, time
ts = []
for _ in range(20):
    t0 = time.perf_counter()
    subprocess.run([sys.argv[1], "summary", sys.argv[2], "--format", "json"], stdout=subprocess.DEVNULL, check=True)
    ts.append((time.perf_counter() - t0) * 1e3)
ts.sort()
print(f"  min {ts[0]:.2f} ms  median {ts[len(ts)//2]:.2f} ms (process start + JSON of every tensor)")
PY
