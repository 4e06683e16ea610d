#!/usr/bin/env bash
# Protocol conformance suite (PROTOCOL.md): the JS tests (socket.io-client 4.8,
# node --test) once with transports ["websocket"] and once with ["polling"],
# then the Python tests (python-socketio, requests, pytest).
#
#   scripts/test-conformance.sh                 # starts target/debug/chat-server itself
#   CHAT_URL=http://127.0.0.1:5000 scripts/test-conformance.sh   # an already running server
#
# Optional: SIO_TRANSPORTS=websocket|polling runs the JS suite in that mode
# only; CONFORMANCE_SUITES="js py" chooses the suites; extra arguments are
# passed to pytest (e.g. -k lockout). Exits non-zero when any test fails.
# Against an external CHAT_URL, the moderation tests that need an admin, a short
# recall window or chat-admin run only when CONFORMANCE_ADMIN,
# CONFORMANCE_ADMIN_PASSWORD (and CONFORMANCE_ADMIN2), CONFORMANCE_RECALL_SECONDS,
# CHAT_ADMIN_BIN, CHAT_DATABASE_URL and CHAT_UPLOAD_DIR describe that server (tests/cluster/run.py
# sets them); otherwise they are skipped with the reason.
# Needs scripts/install-deps.sh (node_modules of tests/conformance, .venv).
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"

DIR="$ROOT/tests/conformance"
[ -d "$DIR/node_modules/socket.io-client" ] || die "tests/conformance/node_modules missing: run scripts/install-deps.sh"
[ -x "$VENV/bin/python" ] || die "$VENV missing: run scripts/install-deps.sh"

# The Flask room's interface (sections 1-5) has no per-address or per-user
# limits, and these tests register hundreds of accounts from 127.0.0.1: lift
# them (docs/PROTOCOL.md §6.5) here and in the servers the tests start.
export REGISTER_LIMIT=0 LOGIN_FAILURES_PER_ADDRESS=0 UPLOAD_LIMIT=0 SOCKETS_PER_USER=0
if [ -z "${CHAT_URL:-}" ]; then
  [ -x "$CHAT_SERVER_BIN" ] || die "$CHAT_SERVER_BIN missing: cargo build -p chat-server"
  export CHAT_ALLOWED_ORIGIN="http://allowed.example:8080"
  # The moderation tests (js/moderation.test.mjs, py/test_moderation.py): two
  # admins they register (or log in as), a recall window short enough to wait
  # out, and chat-admin run against this server's database.
  export CONFORMANCE_ADMIN=conf_admin CONFORMANCE_ADMIN2=conf_admin2
  export CONFORMANCE_ADMIN_PASSWORD="conf-admin-pw-1"
  export CONFORMANCE_RECALL_SECONDS=3
  trap 'stop_chat_server' EXIT
  trap 'exit 130' INT TERM
  start_chat_server --allowed-origins "$CHAT_ALLOWED_ORIGIN" \
    --admin-users "$CONFORMANCE_ADMIN,$CONFORMANCE_ADMIN2" --recall-seconds "$CONFORMANCE_RECALL_SECONDS"
  log "chat-server on $CHAT_URL (data in $CHAT_DATA)"
  # the Python tests that need servers of their own (restart, Flask database) start this binary
  export CHAT_SERVER_BIN
  export CHAT_DATABASE_URL="$CHAT_DATA/chat_app.db" CHAT_UPLOAD_DIR="$CHAT_DATA/uploads"
  CHAT_ADMIN_BIN="${CHAT_ADMIN_BIN:-$ROOT/target/debug/chat-admin}"
  if [ -x "$CHAT_ADMIN_BIN" ]; then
    export CHAT_ADMIN_BIN
  else
    log "$CHAT_ADMIN_BIN missing (cargo build -p chat-admin): the chat-admin tests are skipped"
    unset CHAT_ADMIN_BIN
  fi
fi
export CHAT_URL

modes=(websocket polling)
[ -n "${SIO_TRANSPORTS:-}" ] && modes=("$SIO_TRANSPORTS")
suites=${CONFORMANCE_SUITES:-js py}

failed=()
cd "$DIR"
if [[ " $suites " == *" js "* ]]; then
  for mode in "${modes[@]}"; do
    log "conformance (JS, transports: [$mode]) against $CHAT_URL"
    if ! SIO_TRANSPORTS=$mode node --test --test-concurrency=1 --test-timeout=120000 \
      --test-reporter=spec js/*.test.mjs; then
      failed+=("js/$mode")
    fi
  done
fi
if [[ " $suites " == *" py "* ]]; then
  log "conformance (Python) against $CHAT_URL"
  # python-socketio starts on polling and upgrades, as a default client does
  if ! env -u SIO_TRANSPORTS "$VENV/bin/python" -m pytest -q -p no:cacheprovider py "$@"; then
    failed+=("py")
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then
  if [ -n "${CHAT_DATA:-}" ] && [ -f "$CHAT_DATA/server.log" ]; then
    log "last lines of the server log ($CHAT_DATA/server.log)"
    tail -40 "$CHAT_DATA/server.log" >&2
  fi
  printf '\033[1;31mconformance failed:\033[0m %s\n' "${failed[*]}" >&2
  exit 1
fi
log "conformance: all passed"
