#!/usr/bin/env bash
# test_nvim.sh: the README's Neovim set-up, for real: Neovim's built-in LSP client (Debian 12's
# neovim 0.7.2, installed by scripts/install-deps.sh) runs `layerscope lsp` on a config whose
# head count does not divide the hidden size, gets the smell diagnostic, hovers
# `num_attention_heads` and stops the server cleanly (probe.lua). Without nvim it is a CTest
# skip (77), and under CI a failure.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BIN="${LAYERSCOPE:?LAYERSCOPE must name the binary}"
if ! command -v nvim >/dev/null; then
  if [ -n "${CI:-}" ] && [ "${CI:-}" != "false" ]; then echo "FAIL (CI does not skip): nvim is not installed (scripts/install-deps.sh installs neovim)"; exit 1; fi
  echo "skipped: nvim is not installed (scripts/install-deps.sh installs neovim)"; exit 77
fi
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
cat > "$d/config.json" <<'JSON'
{
  "model_type": "llama",
  "hidden_size": 1000,
  "num_attention_heads": 12,
  "num_hidden_layers": 2,
  "intermediate_size": 2048,
  "vocab_size": 32000
}
JSON
out=$(cd "$d" && HOME="$d" XDG_CONFIG_HOME="$d" XDG_DATA_HOME="$d" XDG_STATE_HOME="$d" \
  LS_BIN="$BIN" PROBE_FILE="$d/config.json" PROBE_HOVER=3:5 \
  PROBE_EXPECT_HOVER="num_attention_heads" PROBE_EXPECT_DIAG="divisible" \
  timeout 120 nvim --headless --clean -n -u NONE -c "luafile $here/probe.lua" 2>&1)
rc=$?
echo "$out"
echo "$out" | grep -q '^FAIL' && rc=1
[ $rc -eq 0 ] && echo "$out" | grep -q '^ok shutdown and exit' || { echo "FAIL: nvim probe exit $rc"; exit 1; }
echo "PASS"
