#!/bin/sh
# run.sh: builds bench_profile against a built layerscope core library and measures the
# profiler's overhead on GPT-2 small (fp32) and TinyLlama 1.1B (bf16 compute), random
# weights, S=128. Usage: bench/profile/run.sh [BUILD_DIR] [PAIRS] (default build/release, 7;
# any -O2 / RelWithDebInfo build, not the ASan one).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build/release}
PAIRS=${2:-7}
OUT=${TMPDIR:-/tmp}/ls_bench_profile
cc -O2 -std=c11 -I"$ROOT" "$ROOT/bench/profile/bench_profile.c" "$BUILD/core/libls_core.a" \
  $(pkg-config --libs jansson libunwind openblas sqlite3) -ldnnl -ldl -lpthread -lm -o "$OUT"
# a tiny model, where the module events are most of the pass: the profiler's cost per event
"$OUT" "$ROOT/tests/fixtures/configs/tiny-random-LlamaForCausalLM.config.json" -s 16 -n 301
"$OUT" "$ROOT/examples/gpt2/config.json" -s 128 -n "$PAIRS"
"$OUT" "$ROOT/examples/tinyllama/config.json" -s 128 -n "$PAIRS" -c bf16
