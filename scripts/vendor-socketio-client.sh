#!/usr/bin/env bash
# Refreshes web/vendor/socket.io.js, socket.io.min.js and socket.io-client.LICENSE
# from the npm package socket.io-client (4.8.x by default; override with
# SOCKETIO_CLIENT_VERSION=4.8.1). The server embeds these files to serve
# /socket.io/socket.io.js and /socket.io/socket.io.min.js.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${SOCKETIO_CLIENT_VERSION:-4.8}"
DEST="$ROOT/web/vendor"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
tarball=$(npm pack --silent "socket.io-client@$VERSION" | tail -n1)
[ -f "$tarball" ] || { echo "npm pack did not produce a tarball" >&2; exit 1; }
tar xzf "$tarball"

for f in package/dist/socket.io.js package/dist/socket.io.min.js package/LICENSE; do
  [ -s "$f" ] || { echo "missing $f in $tarball" >&2; exit 1; }
done

mkdir -p "$DEST"
cp package/dist/socket.io.js "$DEST/socket.io.js"
cp package/dist/socket.io.min.js "$DEST/socket.io.min.js"
cp package/LICENSE "$DEST/socket.io-client.LICENSE"

version=$(node -p 'require("./package/package.json").version' 2>/dev/null || echo "$tarball")
echo "web/vendor: socket.io-client $version" >&2
