#!/usr/bin/env bash
# install-deps.sh: installs everything layerscope needs to build and test on Debian 12, as
# root, from Debian's archive and the npm registry, and nothing from anywhere else. Every
# tool that a test or script runs is named in TOOLS below with the package that brings it;
# tests/cli/test_install_deps.py fails when a test looks for a tool that is not listed here
# (or in tests/e2e_vscode/scripts/setup.sh, which installs the editor test's Chromium and
# code-server), so a fresh machine never lacks what the suite calls.
#
# Node.js: the protocol tests, the extension's packaging (@vscode/vsce) and code-server need
# Node 20 or later; Debian 12 ships 18.20. When the node on PATH is older than 20 (or
# missing), Debian's nodejs/npm are installed only to reach the npm registry, which serves
# the official Node binary as the package node-linux-<arch> and npm itself as npm; both are
# unpacked under /usr/local/lib/layerscope-node and linked into /usr/local/bin, ahead of
# /usr/bin on PATH. A node >= 20 already on PATH is left alone.
# Safe to run again: it installs only what is missing.
set -euo pipefail

NODE_VERSION=20.20.2   # the Node 20 line; pinned so every machine runs the same binary
NPM_VERSION=10.9.4     # the npm that Node 20 bundles upstream

# tool  package: every command a test, a script or the build runs, and where it comes from.
TOOLS="
cmake cmake
ninja ninja-build
pkg-config pkg-config
cc build-essential
git git
python3 python3
valgrind valgrind
clang clang
strace strace
nvim neovim
debootstrap debootstrap
node nodejs
npm npm
"
pkgs=(build-essential cmake ninja-build pkg-config git ca-certificates
      libjansson-dev libuv1-dev libcmocka-dev libunwind-dev libopenblas-dev libsqlite3-dev libdnnl-dev
      libpcre2-dev libutf8proc-dev   # tokenizers: pre-tokenizer patterns, Unicode normalization
      python3 python3-numpy python3-torch valgrind clang strace neovim
      debootstrap)   # debootstrap: scripts/fresh-root.sh (CI's bare Debian 12 root)
pkgs+=(libclang-rt-14-dev) # libFuzzer runtime for scripts/fuzz-smoke.sh (a Recommends of clang, skipped by --no-install-recommends)

node_major() { "${1:-node}" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }
have_node=$(node_major || true)
need_node=false
if [ -z "$have_node" ] || [ "$have_node" -lt 20 ]; then
  need_node=true
  pkgs+=(nodejs npm)   # a client for the npm registry, to fetch Node 20 below
fi

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >&2
fi

if $need_node; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;; aarch64) arch=arm64 ;; ppc64le) arch=ppc64le ;; s390x) arch=s390x ;;
    *) echo "install-deps: no Node.js $NODE_VERSION package for $(uname -m) on the npm registry" >&2; exit 1 ;;
  esac
  prefix=/usr/local/lib/layerscope-node
  if [ "$(node_major "$prefix/bin/node" || true)" != "${NODE_VERSION%%.*}" ]; then
    echo "install-deps: Node.js on PATH is ${have_node:+v}${have_node:-missing} (need 20 or later); installing Node.js $NODE_VERSION and npm $NPM_VERSION from the npm registry into $prefix" >&2
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && /usr/bin/npm pack --silent --loglevel=error "node-linux-$arch@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
    $SUDO rm -rf "$prefix.new"; $SUDO mkdir -p "$prefix.new/lib/node_modules/npm"
    $SUDO tar -xzf "$tmp/node-linux-$arch-$NODE_VERSION.tgz" -C "$prefix.new" --strip-components=1 package/bin package/include package/LICENSE
    $SUDO tar -xzf "$tmp/npm-$NPM_VERSION.tgz" -C "$prefix.new/lib/node_modules/npm" --strip-components=1
    $SUDO ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$prefix.new/bin/npm"
    $SUDO ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$prefix.new/bin/npx"
    "$prefix.new/bin/node" --version >/dev/null || { echo "install-deps: the Node.js binary from node-linux-$arch does not run here" >&2; exit 1; }
    $SUDO rm -rf "$prefix"; $SUDO mv "$prefix.new" "$prefix"
  fi
  for b in node npm npx; do $SUDO ln -sf "$prefix/bin/$b" "/usr/local/bin/$b"; done
  hash -r
  echo "install-deps: node $(/usr/local/bin/node --version), npm $(/usr/local/bin/npm --version) in /usr/local/bin" >&2
fi

# Every listed tool must now run.
bad=""
while read -r tool pkg; do
  [ -n "$tool" ] || continue
  command -v "$tool" >/dev/null 2>&1 || bad+=" $tool ($pkg)"
done <<< "$TOOLS"
[ -z "$bad" ] || { echo "install-deps: still missing after install:$bad" >&2; exit 1; }
nm=$(node_major || true)
[ -n "$nm" ] && [ "$nm" -ge 20 ] || { echo "install-deps: node on PATH is $(node --version 2>&1), need 20 or later" >&2; exit 1; }
