#!/usr/bin/env bash
# setup.sh: installs what the VS Code end-to-end test needs and that cannot live in the
# repository: Debian's Chromium (apt), and code-server 4.100.3 from npm (the last release
# that runs on Node 20) under $LS_E2E_PREFIX (default build/e2e-vscode, ignored by git).
# code-server's own postinstall fails without internet (npm 11 EALLOWSCRIPTS inside its
# nested npm install; @vscode/ripgrep downloading rg from GitHub), so its steps are replayed
# here with Debian's ripgrep. playwright-core comes from this folder's package-lock.json.
# Safe to run again: each step is skipped when its result is already there.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"; root="$(cd "$here/../.." && pwd)"
P="${LS_E2E_PREFIX:-$root/build/e2e-vscode}"; VER="${CODE_SERVER_VERSION:-4.100.3}"
mkdir -p "$P"

missing=()
for p in chromium libkrb5-dev ripgrep g++ make curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e setup: apt-get install ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  [ -n "$(find /var/lib/apt/lists -name '*Packages*' -print -quit 2>/dev/null)" ] || $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -d "$here/node_modules/playwright-core" ] || \
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

CS="$P/cs/node_modules/code-server"
if [ ! -f "$P/cs/.done-$VER" ]; then
  echo "e2e setup: code-server $VER -> $P/cs (a few minutes)" >&2
  rm -rf "$P/cs"; mkdir -p "$P/cs"; cd "$P/cs"
  export npm_config_nodedir="${NODEDIR:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")}"   # node-gyp headers of the node that runs (include/node under its prefix)
  export npm_config_yes=true                     # node-pty's postinstall runs `npx node-gyp`
  npm init -y >/dev/null
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error "code-server@$VER" >&2
  npm rebuild argon2 --foreground-scripts >/dev/null 2>&1
  cd "$CS/lib/vscode"
  npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  if [ -f node_modules/@vscode/ripgrep/lib/postinstall.js ]; then
    mkdir -p node_modules/@vscode/ripgrep/bin
    ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  fi
  npm rebuild --foreground-scripts > "$P/rebuild-vscode.log" 2>&1 || { tail -30 "$P/rebuild-vscode.log" >&2; exit 1; }
  if grep -q symlink_asar "$CS/postinstall.sh"; then ln -sfn node_modules node_modules.asar; fi
  (cd bin/remote-cli && ln -sfn code-linux.sh code-server)
  (cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
  (cd extensions && npm install --omit=dev --no-audit --no-fund --loglevel=error --foreground-scripts >&2)
  touch "$P/cs/.done-$VER"
fi
echo "$P/cs/node_modules/.bin/code-server"
