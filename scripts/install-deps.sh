#!/usr/bin/env bash
# install-deps.sh: installs everything layerscope needs to build and test on Debian 12, as
# root, from Debian's archive (and, for the protocol and extension tests, the npm registry
# through package-lock.json files). Safe to run again: it installs only what is missing.
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config git
      libjansson-dev libuv1-dev libcmocka-dev libunwind-dev libopenblas-dev
      python3 python3-numpy python3-torch valgrind clang)
pkgs+=(libclang-rt-14-dev) # libFuzzer runtime for scripts/fuzz-smoke.sh (a Recommends of clang, skipped by --no-install-recommends)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
