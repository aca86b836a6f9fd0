#!/usr/bin/env bash
# run.sh: installs the pinned comparison server (package-lock.json) and runs the start-up
# benchmark of `layerscope lsp` against it. Usage: bench/startup/run.sh [--runs N] [--bin PATH]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -d "$here/node_modules/vscode-json-languageserver" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
exec node "$here/bench.js" "$@"
