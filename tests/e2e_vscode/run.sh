#!/usr/bin/env bash
# run.sh: the end-to-end test of the layerscope VS Code extension in real VS Code. Installs
# what it needs (scripts/setup.sh: Debian Chromium, code-server from npm, playwright-core),
# packs the extension into a VSIX with the binary under test bundled in bin/ (and its Python
# agent in lib/layerscope/, for the check that debugs workspace/train.py), starts
# code-server on 127.0.0.1 with a fresh profile, installs the VSIX with code-server's
# --install-extension, and runs e2e.js on a copy of workspace/. Screenshots and the JSON
# report go to artifacts/ (ignored by git). scripts/make_checkpoint.py writes the random-weight
# checkpoint (ckpt/ in the workspace copy) that the `weights` check launches with.
# Exit 0 pass, 1 fail; when Chromium cannot run here it prints "skipped: ..." and exits 77,
# which CTest reports as a skip (SKIP_RETURN_CODE), not a pass; under CI (CI set and not
# "false") a skip is a failure (exit 1), since CI must prove the editor works.
# Env: LAYERSCOPE (binary under test; default build/release/cli/layerscope), PORT,
#      E2E_REQUIRE (comma list of checks that must pass; default below).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
BIN="${LAYERSCOPE:-$root/build/release/cli/layerscope}"
PORT="${PORT:-$((18000 + RANDOM % 1000))}"
ART="${E2E_ARTIFACTS:-$here/artifacts/$(basename "${LS_BUILD_DIR:-local}")}"
REQUIRE="${E2E_REQUIRE:-vsixInstalled,hover,problem,quickfix,layers,layersBreakpoint,summary,profile,health,debugPaused,statusBar,variables,histogram,heatmap,gutterBreakpoint,program,programLayers,programBreakpoint,weights}"
[ -x "$BIN" ] || { echo "FAIL: layerscope binary not found at $BIN (set LAYERSCOPE)"; exit 1; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

CS="$(bash "$here/scripts/setup.sh" | tail -1)"
setup_rc=$?
CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
skip() {
  if [ -n "${CI:-}" ] && [ "${CI:-}" != "false" ]; then echo "FAIL (CI does not skip): $1"; exit 1; fi
  echo "skipped: $1"; exit 77
}
if [ -z "$CHROMIUM" ]; then skip "Debian's chromium is not installed and could not be installed"; fi
if ! timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1; then
  skip "chromium cannot run on this machine ($CHROMIUM --headless failed)"
fi
[ $setup_rc -eq 0 ] && [ -x "$CS" ] || { echo "FAIL: code-server setup failed"; exit 1; }

rm -rf "$ART"; mkdir -p "$ART"
echo "== packing the VSIX with $BIN bundled"
( cd "$root/editor-extension" && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } &&
  LAYERSCOPE_BIN="$BIN" npm run --silent package ) > "$ART/vsix.log" 2>&1 || { tail -20 "$ART/vsix.log"; echo "FAIL: npm run package"; exit 1; }
VSIX="$root/editor-extension/layerscope.vsix"

run="$(mktemp -d)"; mkdir -p "$run/data/User" "$run/ext" "$run/ws"
export XDG_DATA_HOME="$run/xdg-data" XDG_CONFIG_HOME="$run/xdg-config"   # keep code-server out of $HOME
cp -r "$here/workspace/." "$run/ws/"
# ckpt/: a copy of the config with a small random-weight safetensors checkpoint and numpy's
# figures of it (expected.json) for the launch with `weights`.
/usr/bin/python3 "$here/scripts/make_checkpoint.py" "$BIN" "$run/ws/config.json" "$run/ws/ckpt" 5,17,42,99,3,64,7,120 \
  > "$ART/checkpoint.log" 2>&1 || { cat "$ART/checkpoint.log"; echo "FAIL: writing the test checkpoint"; exit 1; }
# health.db: a training run with planted exploding gradients recorded by `watch --health`, for
# the Training Health check (layerscope.runRecord names it); health.json: its report, which the
# check compares the webview with.
"$BIN" watch --health-every 1 --record "$run/ws/health.db" --python /usr/bin/python3 -- \
  "$root/tests/fixtures/programs/train_faults.py" explode "$run/health-ref.json" > "$ART/health.log" 2>&1 &&
  "$BIN" report "$run/ws/health.db" --format json > "$run/ws/health.json" 2>> "$ART/health.log" ||
  { tail -20 "$ART/health.log"; echo "FAIL: recording the training-health run"; exit 1; }
cat > "$run/data/User/settings.json" <<JSON
{
  "workbench.startupEditor": "none", "workbench.tips.enabled": false,
  "security.workspace.trust.enabled": false, "telemetry.telemetryLevel": "off",
  "update.mode": "none", "extensions.autoCheckUpdates": false, "extensions.autoUpdate": false,
  "workbench.enableExperiments": false, "chat.disableAIFeatures": true,
  "git.enabled": false, "editor.hover.delay": 100, "json.validate.enable": true,
  "layerscope.trace.server": "messages", "layerscope.runRecord": "$run/ws/health.db"
}
JSON
# PATH without any layerscope: the extension must find the binary bundled in the VSIX.
export PATH="$(echo "$PATH" | tr ':' '\n' | while read -r d; do [ -x "$d/layerscope" ] || echo "$d"; done | paste -sd:)"
timeout 180 "$CS" --user-data-dir "$run/data" --extensions-dir "$run/ext" --install-extension "$VSIX" > "$ART/install.log" 2>&1
installed=false
extdir="$(ls -d "$run"/ext/layerscope.layerscope-* 2>/dev/null | head -1)"
[ -n "$extdir" ] && [ -x "$extdir/bin/layerscope" ] && [ -f "$extdir/lib/layerscope/liblayerscope_agent.so" ] &&
  [ -f "$extdir/lib/layerscope/python/layerscope_agent/__init__.py" ] && installed=true
echo "== VSIX installed: $installed ($(ls "$run/ext" | tr '\n' ' '))"

setsid timeout 720 "$CS" --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry --disable-update-check \
  --disable-workspace-trust --user-data-dir "$run/data" --extensions-dir "$run/ext" > "$ART/code-server.log" 2>&1 &
cspid=$!
trap 'kill -- -$cspid 2>/dev/null; sleep 1; cp -r "$run/data/logs" "$ART/vscode-logs" 2>/dev/null; rm -rf "$run"' EXIT
for _ in $(seq 1 60); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.5; done

NODE_PATH="$here/node_modules" timeout 600 node "$here/e2e.js" --url "http://127.0.0.1:$PORT" --folder "$run/ws" \
  --out "$ART" --chromium "$CHROMIUM" --require "$(echo "$REQUIRE" | tr , "\n" | grep -vx vsixInstalled | paste -sd,)" > "$ART/report.json"
rc=$?
/usr/bin/python3 - "$ART/report.json" "$installed" <<'PY'
import json, sys
try: d = json.load(open(sys.argv[1]))
except Exception as e: print("no report:", e); sys.exit(0)
d.setdefault("checks", {})["vsixInstalled"] = sys.argv[2] == "true"
for k, v in d["checks"].items(): print(f"  {'ok  ' if v else 'FAIL'} {k}")
for k, v in d.get("details", {}).items(): print(f"  {k}: {json.dumps(v)[:300]}")
for e in d.get("errors", []): print("  error:", e)
json.dump(d, open(sys.argv[1], "w"), indent=2)
PY
[ "$installed" = true ] || { echo "FAIL: the VSIX did not install with an executable bin/layerscope and its agent in lib/layerscope"; exit 1; }
[ $rc -eq 0 ] && echo "PASS (screenshots in $ART)" || echo "FAIL (see $ART/report.json and screenshots)"
exit $rc
