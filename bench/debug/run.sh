#!/usr/bin/env bash
# run.sh: the debug adapter's benchmark (issue 7, "Done when"), in one run, with PyTorch
# doing the same things beside it as ratios:
#   1. `launch` -> first `stopped` (function breakpoint on model.layers.0) on the TinyLlama-1.1B
#      shape, with seeded random weights and with a 2.2 GB bf16 safetensors file (written
#      once under $WORK, never in the repository; measured with the file in the page cache
#      and, where the kernel honours POSIX_FADV_DONTNEED, evicted first), split by the
#      adapter's progress events; PyTorch: read the same file, build the model, load the
#      state dict, forward to a hook on model.layers.0.
#   2. `variables` on the scope holding a 100M-element tensor (probs f32[1,64,1250,1250] of a
#      1-layer llama with 64 heads over 1250 tokens): first request (statistics computed
#      then) and second (cached); PyTorch: the same statistics of a 100M-element tensor.
# Usage: bench/debug/run.sh [--bin PATH] [--work DIR] [--no-torch] [--no-random] [--no-cold]
# Needs node (no npm package: bench.js is a raw DAP client) and /usr/bin/python3 with torch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${LAYERSCOPE:-$root/build/release/cli/layerscope}"
work="${TMPDIR:-/tmp}/layerscope-bench-debug"
torch=1 random=1 cold=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --no-torch) torch=0; shift ;;
    --no-random) random=0; shift ;;
    --no-cold) cold=0; shift ;;
    *) echo "usage: $0 [--bin PATH] [--work DIR] [--no-torch] [--no-random] [--no-cold]" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "run.sh: no layerscope binary at $bin (build first or pass --bin)" >&2; exit 2; }
py=/usr/bin/python3
cfg="$root/tests/fixtures/configs/tinyllama-1.1b-3t-ft.config.json"
mkdir -p "$work"
weights="$work/tinyllama-1.1b-bf16.safetensors"
res="$work/results.jsonl"
: > "$res"
echo "# $(date -u +%FT%TZ) $(uname -n), $(nproc) cores, $bin"
echo "# load before: $(uptime)"

if [ ! -s "$weights" ]; then
  echo "# writing $weights (once)"
  t=$(date +%s%N)
  "$py" "$here/gen_weights.py" "$cfg" "$weights.part" >&2
  mv "$weights.part" "$weights"
  echo "# written in $(( ($(date +%s%N) - t) / 1000000 )) ms"
fi

# 100M-element attention probabilities: 64 heads x 1250 x 1250 = 100,000,000.
attn="$work/attn100m.config.json"
cat > "$attn" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 512,
 "intermediate_size": 1024, "num_attention_heads": 64, "num_key_value_heads": 64,
 "num_hidden_layers": 1, "vocab_size": 1000, "max_position_embeddings": 2048,
 "rms_norm_eps": 1e-05, "torch_dtype": "float32", "tie_word_embeddings": false}
JSON

evict() { # drop this one file's pages from the page cache (no root needed, nobody else's)
  "$py" -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$1"
}
cached() { fincore -nb -o RES "$1" 2>/dev/null | awk '{print $1}' || echo "?"; }
tag() { sed "s/^{/{\"case\":\"$1\",/" >> "$res"; }

B="node $here/bench.js"
if [ "$random" = 1 ]; then
  echo "# layerscope: random weights"
  $B launch --bin "$bin" --config "$cfg" --break model.layers.0 | tag ls_random
fi
if [ "$cold" = 1 ]; then
  evict "$weights"
  echo "# layerscope: weights file, evicted (resident before launch: $(cached "$weights") bytes)"
  $B launch --bin "$bin" --config "$cfg" --weights "$weights" --break model.layers.0 | tag ls_file_cold
fi
cat "$weights" > /dev/null
echo "# layerscope: weights file, in the page cache"
$B launch --bin "$bin" --config "$cfg" --weights "$weights" --break model.layers.0 | tag ls_file_warm
if [ "$torch" = 1 ]; then
  echo "# torch: same file, hook on model.layers.0 (page cache warm), float32 and bfloat16"
  "$py" "$here/torch_ref.py" hook "$cfg" "$weights" 16 | tag torch_hook_warm
  "$py" "$here/torch_ref.py" hook "$cfg" "$weights" 16 bfloat16 | tag torch_hook_warm_bf16
  if [ "$cold" = 1 ]; then
    evict "$weights"
    echo "# torch: same file, evicted"
    "$py" "$here/torch_ref.py" hook "$cfg" "$weights" 16 | tag torch_hook_cold
  fi
fi
echo "# layerscope: variables on a 100M-element tensor (3 sessions)"
for i in 1 2 3; do
  $B vars --bin "$bin" --config "$attn" --break model.layers.0.self_attn --scope Intermediates --var probs \
    --tokens 1250 | tag "ls_vars$i"
done
if [ "$torch" = 1 ]; then
  echo "# torch: statistics of a 100M-element tensor"
  "$py" "$here/torch_ref.py" stats 100000000 | tag torch_stats
fi
echo "# load after: $(uptime)"
"$py" "$here/table.py" "$res"
