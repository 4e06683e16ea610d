# Shared helpers for the test scripts. Source it: `. "$(dirname "$0")/lib/common.sh"`.
# Nothing here installs anything; scripts/test.sh does that once up front.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT
CHAT_SERVER_BIN="${CHAT_SERVER_BIN:-$ROOT/target/debug/chat-server}"
VENV="$ROOT/.venv"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# A TCP port nobody listens on right now, below the kernel's ephemeral range:
# one inside it can be the local end of an outgoing connection (a load
# generator's thousand sockets), which a connect does not see and a listen
# then fails on.
free_port() {
  local p _ low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$low" -gt 21000 ] 2>/dev/null || low=32768
  for _ in {1..100}; do
    p=$((20000 + RANDOM % (low - 20000)))
    # Nobody answers a connect there.
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# wait_http URL [seconds]: until URL answers 200.
wait_http() {
  local url=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# start_chat_server [extra server flags...]
# Starts the real server on a free port with a fresh data folder (a new SQLite
# file unless --database-url is among the flags) and bcrypt cost 4.
# Sets CHAT_URL, CHAT_PORT, CHAT_PID, CHAT_DATA. Stop it with stop_chat_server.
start_chat_server() {
  CHAT_PORT=$(free_port)
  CHAT_DATA=$(mktemp -d /tmp/chat-test.XXXXXX)
  local db_flag=(--database-url "$CHAT_DATA/chat_app.db")
  local a
  for a in "$@"; do [[ $a == --database-url* ]] && db_flag=(); done
  "$CHAT_SERVER_BIN" --host 127.0.0.1 --port "$CHAT_PORT" \
    --upload-dir "$CHAT_DATA/uploads" --bcrypt-cost 4 \
    "${db_flag[@]}" "$@" >"$CHAT_DATA/server.log" 2>&1 &
  CHAT_PID=$!
  CHAT_URL="http://127.0.0.1:$CHAT_PORT"
  export CHAT_URL CHAT_PORT CHAT_PID CHAT_DATA
  if ! wait_http "$CHAT_URL/healthz" 60; then
    tail -50 "$CHAT_DATA/server.log" >&2
    die "chat-server did not come up on $CHAT_URL"
  fi
}

stop_chat_server() {
  [ -n "${CHAT_PID:-}" ] || return 0
  kill -TERM "$CHAT_PID" 2>/dev/null
  wait "$CHAT_PID" 2>/dev/null
  CHAT_PID=
}
