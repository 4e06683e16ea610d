#!/usr/bin/env bash
# End-to-end browser tests of the page (web/) with Debian's Chromium via playwright-core.
# With CHAT_URL set, runs against that server; otherwise starts target/debug/chat-server
# on a free port with a fresh database (scripts/lib/common.sh) and stops it afterwards.
# Needs: /usr/bin/chromium and tests/e2e/node_modules (scripts/install-deps.sh).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || die "no Chromium at ${CHROMIUM_PATH:-/usr/bin/chromium}: run scripts/install-deps.sh"
if [ ! -d tests/e2e/node_modules/playwright-core ] || [ ! -f tests/e2e/node_modules/axe-core/axe.min.js ]; then
  log "npm ci in tests/e2e"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# Every browser registers from 127.0.0.1, more than 20 accounts in all: lift
# that one limit (docs/PROTOCOL.md §6.5); the others stay at their defaults.
export REGISTER_LIMIT=0
# The moderation tests (tests/e2e/moderation.test.mjs) register this name and act
# as the room's admin (docs/PROTOCOL.md §6.6); against a server of your own
# (CHAT_URL), start it with --admin-users naming E2E_ADMIN too.
export E2E_ADMIN="${E2E_ADMIN:-e2e-admin}"
if [ -z "${CHAT_URL:-}" ]; then
  [ -x "$CHAT_SERVER_BIN" ] || die "no server binary at $CHAT_SERVER_BIN: cargo build -p chat-server"
  trap stop_chat_server EXIT
  start_chat_server --web-dir "$ROOT/web" --admin-users "$E2E_ADMIN"
  log "chat-server on $CHAT_URL (data in $CHAT_DATA)"
else
  log "testing against CHAT_URL=$CHAT_URL"
fi

# One file at a time: the tests assert online counts on a shared server.
set +e
node --test --test-concurrency=1 --test-reporter=spec tests/e2e/*.test.mjs
rc=$?
set -e
if [ $rc -ne 0 ] && [ -n "${CHAT_DATA:-}" ] && [ -f "$CHAT_DATA/server.log" ]; then
  log "last lines of the server log"
  tail -40 "$CHAT_DATA/server.log" >&2
fi
exit $rc
