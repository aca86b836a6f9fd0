#!/usr/bin/env bash
# run.sh: runs one libFuzzer target for a given time, the way the figures of fuzz/README.md
# were measured: a working corpus under BUILD/corpus/<target> (started from the committed
# seeds in fuzz/corpus/<target>, which it never writes to), the target's dictionary, one
# process, a per-input timeout of 10 s and a 2 GB RSS cap. Crashes, leaks and timeouts land in
# BUILD/artifacts/<target>/ and make the script exit non-zero; the log is
# BUILD/logs/<target>.log and its last status line gives executions, cov and ft.
#   usage: fuzz/run.sh TARGET SECONDS [BUILD_DIR]   (default BUILD_DIR: build/fuzz)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
t="${1:?usage: fuzz/run.sh TARGET SECONDS [BUILD_DIR]}"
secs="${2:?usage: fuzz/run.sh TARGET SECONDS [BUILD_DIR]}"
build="${3:-$root/build/fuzz}"
bin="$build/fuzz/fuzz_$t"
[ -x "$bin" ] || { echo "run.sh: $bin not built (scripts/fuzz-smoke.sh builds it)" >&2; exit 2; }

# Largest input worth mutating, per target: configs and message sequences are a few KB,
# tensor files a header plus a little data.
case "$t" in
  framing) max_len=4096 ;;
  json|model|tokjson) max_len=16384 ;;
  safetensors|gguf|npy) max_len=8192 ;;
  lsp|dap) max_len=16384 ;;
  record) max_len=65536 ;;
  *) max_len=4096 ;;
esac

corpus="$build/corpus/$t"; art="$build/artifacts/$t"; logs="$build/logs"
mkdir -p "$corpus" "$art" "$logs"
dict=(); [ -f "$root/fuzz/dict/$t.dict" ] && dict=(-dict="$root/fuzz/dict/$t.dict")
# FUZZ_FORK=1: fork mode (still one process at a time) that records timeouts and goes on,
# for a target with a known, reported slow input that would otherwise stop every run.
mode=(); [ "${FUZZ_FORK:-0}" = 1 ] && mode=(-fork=1 -ignore_timeouts=1 -ignore_ooms=0 -ignore_crashes=0)
set +e
"$bin" "${dict[@]}" "${mode[@]}" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$art/" \
  "$corpus" "$root/fuzz/corpus/$t" >"$logs/$t.log" 2>&1
rc=$?
set -e
# (|| true: a run that stopped before its first status line still gets its summary below)
status="$(grep -E '^#[0-9]+' "$logs/$t.log" | tail -1 || true)"
[ -n "$status" ] || status="$(grep -E '^#[0-9]+:? ' "$logs/$t.log" | tail -1 || true)"
execs="$(grep -E '^stat::number_of_executed_units' "$logs/$t.log" | awk '{print $2}' || true)"
[ -n "$execs" ] || execs="$(echo "$status" | sed -E 's/^#([0-9]+).*/\1/')" # fork mode: no final stats
echo "fuzz_$t: rc=$rc ${secs}s execs=${execs:-?} corpus=$(ls "$corpus" | wc -l) last: $status"
if [ $rc -ne 0 ]; then
  grep -E 'ERROR|SUMMARY|==[0-9]+==|invariant|runtime error' "$logs/$t.log" | head -8 >&2 || true
  ls "$art" >&2
fi
exit $rc
