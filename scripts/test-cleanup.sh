#!/usr/bin/env bash
# chat-cleanup against a live server under traffic: while users send messages
# over Socket.IO (tests/cleanup/traffic.py) and old messages keep appearing in
# the server's SQLite file, chat-cleanup runs in a loop. Then: every new
# message is stored and served, no old message is left, an image that a new
# message shows stays, one only old messages showed is gone, old log files are
# gone and other files stay, every cleanup run succeeded, the server logged no
# error and still answers.
# The Rust tests (cargo test -p chat-cleanup) cover the exact file and message
# rules on SQLite and PostgreSQL; this covers the concurrency.
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

CLEANUP_BIN="${CLEANUP_BIN:-$ROOT/target/debug/chat-cleanup}"
PY="$VENV/bin/python"
SECONDS_OF_TRAFFIC="${CLEANUP_TEST_SECONDS:-15}"

passed=0 failed=0
pass() { passed=$((passed + 1)); printf 'PASS %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

loop_pid=
cleanup_on_exit() {
  [ -n "$loop_pid" ] && kill "$loop_pid" 2>/dev/null && wait "$loop_pid" 2>/dev/null
  stop_chat_server
  [ -n "${CHAT_DATA:-}" ] && [ -z "${KEEP_TEST_DATA:-}" ] && rm -rf "$CHAT_DATA"
}
trap cleanup_on_exit EXIT

if [ -z "${CLEANUP_TEST_NO_BUILD:-}" ]; then
  log "cargo build -p chat-server -p chat-cleanup"
  if ! cargo build -q -p chat-server -p chat-cleanup; then
    fail "build"; finish
  fi
fi
[ -x "$CLEANUP_BIN" ] || { fail "no $CLEANUP_BIN"; finish; }
[ -x "$CHAT_SERVER_BIN" ] || { fail "no $CHAT_SERVER_BIN"; finish; }
"$PY" -c 'import socketio, requests' 2>/dev/null || { fail "python-socketio missing in $VENV (run scripts/install-deps.sh)"; finish; }

log "starting chat-server"
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; fail "$*"; finish; }  # start_chat_server's failure
start_chat_server
pass "chat-server started on $CHAT_URL"
DB="$CHAT_DATA/chat_app.db"
UPLOADS="$CHAT_DATA/uploads"
LOGS="$CHAT_DATA/cleanup-logs"
mkdir -p "$UPLOADS" "$LOGS"

# Log files of known ages next to files that must stay.
old_stamp=$(date -d '40 days ago' '+%Y%m%d%H%M')
for f in chat-server.log.2020-01-01 chat-server.log app.log.1.gz; do
  echo old >"$LOGS/$f"; touch -t "$old_stamp" "$LOGS/$f"
done
echo keep >"$LOGS/notes.txt"; touch -t "$old_stamp" "$LOGS/notes.txt"
echo new >"$LOGS/chat-server.log.today"
mkdir "$LOGS/archive.log"; echo keep >"$LOGS/archive.log/deep.log"; touch -t "$old_stamp" "$LOGS/archive.log/deep.log"

# chat-cleanup in a loop until told to stop; each run's exit status is recorded.
runs="$CHAT_DATA/cleanup-runs"
stopfile="$CHAT_DATA/stop-cleanup"
: >"$runs"
(
  i=0
  while [ ! -e "$stopfile" ]; do
    i=$((i + 1))
    "$CLEANUP_BIN" --database-url "$DB" --upload-dir "$UPLOADS" --log-dir "$LOGS" \
      --batch-size 100 --batch-pause-ms 10 >"$CHAT_DATA/cleanup-$i.out" 2>"$CHAT_DATA/cleanup-$i.err"
    echo "$i $?" >>"$runs"
    sleep 0.2
  done
) &
loop_pid=$!

log "traffic for ${SECONDS_OF_TRAFFIC}s while chat-cleanup runs in a loop"
if "$PY" tests/cleanup/traffic.py run --url "$CHAT_URL" --db "$DB" \
  --state "$CHAT_DATA/state.json" --seconds "$SECONDS_OF_TRAFFIC"; then
  pass "traffic sent while cleaning"
else
  fail "traffic sent while cleaning"
fi
touch "$stopfile"
wait "$loop_pid"
loop_pid=

nruns=$(wc -l <"$runs")
bad=$(awk '$2 != 0' "$runs" | wc -l)
if [ "$nruns" -ge 3 ] && [ "$bad" -eq 0 ]; then
  pass "$nruns concurrent cleanup runs, all succeeded"
else
  fail "concurrent cleanup runs: $nruns runs, $bad failed"
  for f in $(awk '$2 != 0 {print $1}' "$runs" | head -3); do tail -5 "$CHAT_DATA/cleanup-$f.err"; done
fi
busy_runs=$(grep -l '^messages: [1-9]' "$CHAT_DATA"/cleanup-*.out 2>/dev/null | wc -l)
if [ "$busy_runs" -ge 2 ]; then
  pass "$busy_runs runs deleted messages while the server took new ones"
else
  fail "only $busy_runs runs had old messages to delete"
fi

# One last run after the traffic: what the old-message writer added last.
if "$CLEANUP_BIN" --database-url "$DB" --upload-dir "$UPLOADS" --log-dir "$LOGS" >"$CHAT_DATA/final.out" 2>"$CHAT_DATA/final.err"; then
  pass "final cleanup run"
else
  fail "final cleanup run: $(tail -3 "$CHAT_DATA/final.err")"
fi

while read -r line; do
  case $line in
    PASS*) pass "${line#PASS }" ;;
    FAIL*) fail "${line#FAIL }" ;;
    *) echo "$line" ;;
  esac
done < <("$PY" tests/cleanup/traffic.py verify --url "$CHAT_URL" --db "$DB" \
  --uploads "$UPLOADS" --state "$CHAT_DATA/state.json" 2>&1)

gone=0 kept=0
for f in chat-server.log.2020-01-01 chat-server.log app.log.1.gz; do [ -e "$LOGS/$f" ] || gone=$((gone + 1)); done
for f in notes.txt chat-server.log.today archive.log/deep.log; do [ -e "$LOGS/$f" ] && kept=$((kept + 1)); done
if [ "$gone" -eq 3 ] && [ "$kept" -eq 3 ]; then
  pass "old log files removed, other files kept"
else
  fail "log folder: $gone of 3 old logs removed, $kept of 3 other files kept"
fi

# A dry run now finds nothing, and a second real run removes nothing.
out=$("$CLEANUP_BIN" --database-url "$DB" --upload-dir "$UPLOADS" --log-dir "$LOGS" 2>/dev/null)
if grep -q '^messages: 0 ' <<<"$out" && grep -q '^images: 0 ' <<<"$out" && grep -q '^log files: 0 ' <<<"$out"; then
  pass "running it again removes nothing"
else
  fail "running it again: $out"
fi

if curl -fsS -o /dev/null "$CHAT_URL/healthz"; then
  pass "server still healthy"
else
  fail "server no longer answers /healthz"
fi
if grep -E '\bERROR\b|"level":"ERROR"|panicked' "$CHAT_DATA/server.log" >"$CHAT_DATA/server-errors" 2>/dev/null; then
  fail "server logged errors: $(head -3 "$CHAT_DATA/server-errors")"
else
  pass "server logged no error"
fi

finish
