#!/usr/bin/env bash
# fresh-root.sh: proves the README on a bare Debian 12 machine. It builds a minimal Debian 12
# (bookworm) root with debootstrap, from the apt mirror this machine is configured with,
# copies in the machine's CA bundle (package registries here are reached through a proxy
# whose certificate a bare root would not trust), clones the commit under test into it, and
# runs the README's two commands there, in order, as root with a clean environment. The two
# commands are read from README.md itself (the sh block under "## The two commands"), so
# the README and what CI runs can never drift apart. .ci/run calls it.
#
# /proc, /sys, /dev and /dev/pts are mounted into the root for the tests and unmounted on
# every exit path; the root is deleted only when nothing is mounted under it, and with
# `rm -rf --one-file-system`, so a bind mount of /dev can never be followed.
#
# Prints each stage's result and time and the total. Exit status: 0 when both commands
# passed; 1 when one failed; 3 when no fresh root could be made (not root, no debootstrap
# and no way to install it, no mirror), after saying why: the caller decides what to do then.
#
# Env: FRESH_DIR (parent of the root; default a new directory under /var/tmp),
#      FRESH_KEEP=1 (keep the root afterwards for inspection), FRESH_LOGS (log folder).
# Usage: scripts/fresh-root.sh [COMMIT]   (default HEAD of this checkout)
set -uo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
commit=$(git -C "$src" rev-parse "${1:-HEAD}") || { echo "fresh-root: not a commit: ${1:-HEAD}" >&2; exit 3; }
t_all=$(date +%s)
say() { printf 'fresh-root: %s\n' "$*" >&2; }

# --- can a fresh root be made here? ------------------------------------------------------
[ "$(id -u)" -eq 0 ] || { say "cannot make a fresh root: debootstrap and chroot need root (running as $(id -un))"; exit 3; }
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1; } ||
    { say "cannot make a fresh root: debootstrap is not installed and apt-get could not install it"; exit 3; }
fi
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { say "cannot make a fresh root: no Debian mirror in /etc/apt/sources.list(.d)"; exit 3; }

# --- the README's two commands -----------------------------------------------------------
mapfile -t cmds < <(git -C "$src" show "$commit:README.md" | awk '
  /^## The two commands/ {sec=1; next}
  sec && /^## / {exit}
  sec && /^```sh/ {blk=1; next}
  blk && /^```/ {exit}
  blk && NF && !/^[[:space:]]*#/ {print}')
[ ${#cmds[@]} -eq 2 ] || { say "README.md at $commit must hold exactly two commands in the sh block under '## The two commands'; found ${#cmds[@]}"; exit 1; }

# --- the root ----------------------------------------------------------------------------
parent=${FRESH_DIR:-$(mktemp -d /var/tmp/layerscope-fresh.XXXXXX)}
root="$parent/root"; logs=${FRESH_LOGS:-$parent/logs}
mkdir -p "$root" "$logs"
mounts=()
cleanup() {
  local m
  for ((i=${#mounts[@]}-1; i>=0; i--)); do m=${mounts[$i]}; mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }; done
  if [ "${FRESH_KEEP:-0}" = 1 ]; then say "kept the root in $root"; return; fi
  if grep -q " $root" /proc/mounts; then
    say "NOT deleting $root: something is still mounted under it"; grep " $root" /proc/mounts >&2
  else
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

names=(); results=(); times=(); failed=0
record() { names+=("$1"); results+=("$2"); times+=("$3"); }

t0=$(date +%s)
say "debootstrap bookworm (minbase) from $mirror into $root"
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" > "$logs/debootstrap.log" 2>&1; then
  tail -20 "$logs/debootstrap.log" >&2
  say "cannot make a fresh root: debootstrap failed (log: $logs/debootstrap.log)"
  exit 3
fi
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/" && rm -f "$root/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$root/etc/" 2>/dev/null || true
ca=/etc/ssl/certs/host-ca.crt
mkdir -p "$root/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$root$ca"
git clone -q --no-checkout "$src" "$root/srv/p" && git -C "$root/srv/p" checkout -q "$commit" ||
  { say "could not clone $commit into the root"; exit 1; }
for m in proc sys dev dev/pts; do
  case $m in proc) mount -t proc proc "$root/proc" ;; sys) mount -t sysfs sys "$root/sys" ;;
             *) mount --bind "/$m" "$root/$m" ;; esac && mounts+=("$root/$m") ||
    { say "could not mount /$m in the root"; exit 1; }
done
record "bare Debian 12 root (debootstrap), clone of ${commit:0:12}" "passed" $(( $(date +%s) - t0 ))

# --- run them ----------------------------------------------------------------------------
i=0
for c in "${cmds[@]}"; do
  i=$((i+1)); log="$logs/command$i.log"; t0=$(date +%s)
  say "command $i: $c   (log: $log)"
  chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI=true \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_EXTRA_CA_CERTS=$ca SSL_CERT_FILE=$ca GIT_SSL_CAINFO=$ca CURL_CA_BUNDLE=$ca \
    /bin/bash -lc "cd /srv/p && $c" > "$log" 2>&1
  rc=$?
  tail -25 "$log" >&2
  if [ $rc -eq 0 ]; then r="passed"; else r="FAILED (exit $rc)"; failed=1; fi
  record "README command $i" "$r" $(( $(date +%s) - t0 ))
done

total=$(( $(date +%s) - t_all ))
{
  echo "== fresh Debian 12 root: summary =="
  for k in "${!names[@]}"; do printf '%-60s %-18s %5d s\n' "${names[$k]}" "${results[$k]}" "${times[$k]}"; done
  printf 'total %d min %d s: %s\n' $((total / 60)) $((total % 60)) "$([ $failed -eq 0 ] && echo 'both README commands passed in a fresh root' || echo 'FAILED in a fresh root')"
} >&2
exit $failed
