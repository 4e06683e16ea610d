#!/usr/bin/env bash
# Installs what the build and the tests need and is missing: Debian packages,
# the npm packages of every tests/*/package.json and the PyPI packages of every
# tests/*/requirements.txt (into .venv), and cargo-fuzz (scripts/fuzz-targets.sh).
# Safe to run again: it skips what is there.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

# podman, runc, catatonit (its --init) and debootstrap: scripts/test-container.sh.
apt_pkgs=(curl sqlite3 pkg-config python3-venv chromium fonts-wqy-microhei fonts-noto-color-emoji cron g++ make perl podman runc catatonit debootstrap)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for pkg in tests/*/package.json; do
  [ -e "$pkg" ] || continue
  dir=$(dirname "$pkg")
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    log "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules"
  fi
done

if [ ! -x "$VENV/bin/python" ]; then
  log "python venv in $VENV"
  python3 -m venv "$VENV"
fi
reqs=(tests/*/requirements.txt)
if [ -e "${reqs[0]}" ]; then
  stamp="$VENV/.requirements.sha"
  sum=$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    log "pip install ${reqs[*]}"
    args=()
    for r in "${reqs[@]}"; do args+=(-r "$r"); done
    "$VENV/bin/pip" install -q --disable-pip-version-check "${args[@]}"
    echo "$sum" >"$stamp"
  fi
fi

if ! command -v cargo-fuzz >/dev/null; then
  log "cargo install cargo-fuzz"
  cargo install --locked cargo-fuzz
fi
