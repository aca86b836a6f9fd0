#!/usr/bin/env bash
# test_vscode.sh: ctest entry point of the VS Code end-to-end test (see run.sh).
exec bash "$(dirname "$0")/run.sh" "$@"
