#!/bin/sh
# run_q8.sh: the int8 products for Q8_0 / Q4_0 weights (core/engine/ops_q8.h) against the
# engine's own fp32 path on the same weights (LAYERSCOPE_Q8=fp32), one TinyLlama layer's
# products, prefill of 128 tokens and one decode token, 2 threads; the two paths alternate
# process by process (REPS rounds, best of each), and the ratio fp32 / int8 is printed with
# the CPU model. Usage: bench/engine/run_q8.sh [BUILD_DIR] [ROUNDS]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build/release}
ROUNDS=${2:-3}
OUT=${TMPDIR:-/tmp}/ls_bench_q8
cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT" "$ROOT/bench/engine/bench_q8.c" "$BUILD/core/libls_core.a" \
  $(pkg-config --libs jansson libunwind openblas sqlite3) -ldnnl -lpthread -lm -ldl -o "$OUT"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
R=$(mktemp)
for r in $(seq "$ROUNDS"); do
  for M in 128 1; do
    LAYERSCOPE_Q8=fp32 "$OUT" "$M" 2 5 | sed 's/^/fp32 /' >>"$R"
    "$OUT" "$M" 2 5 | sed 's/^/int8 /' >>"$R"
  done
done
grep -q '^int8 path int8' "$R" || echo "note: this CPU has no AVX512-VNNI: both rows are the fp32 path"
awk '$2 != "path" { k = $2; if (!(($1, k) in best) || $3 < best[$1, k]) best[$1, k] = $3; keys[k] = 1 }
     END { printf "%-12s %12s %12s %8s\n", "case", "fp32 ms", "int8 ms", "ratio";
           for (k in keys) printf "%-12s %12.3f %12.3f %7.2fx\n", k, best["fp32", k], best["int8", k],
                                  best["fp32", k] / best["int8", k] }' "$R" | sort
rm -f "$R"
