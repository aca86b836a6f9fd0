#!/usr/bin/env bash
# run.sh: installs the pinned comparison server (package-lock.json) and runs the hover and
# diagnostics latency benchmark of `layerscope lsp` against vscode-json-languageserver on the
# same 200-line config. Usage: bench/lsp/run.sh [--bin PATH] [--hovers N] [--edits N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -d "$here/node_modules/vscode-json-languageserver" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
exec node "$here/run.js" "$@"
