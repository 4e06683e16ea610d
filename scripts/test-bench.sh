#!/usr/bin/env bash
# Smoke tests of chat-bench against the real server: one tiny profile of each
# mode against a fresh debug server, checking the JSON line each run prints,
# then `chat-bench report` over such a line recorded as scripts/bench.sh does.
# (The report's tables and verdicts are unit tests: cargo test -p chat-bench.)
# The last line counts the checks that passed and failed; the exit status is
# non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

BENCH_BIN="${BENCH_BIN:-$ROOT/target/debug/chat-bench}"
if [ -z "${SKIP_BUILD:-}" ]; then
  log "cargo build (chat-server, chat-bench)"
  cargo build --locked -p chat-server -p chat-bench >&2 || die "build failed"
fi

# The load generator registers its users from one address and logs them in
# again: lift the per-address limits (docs/PROTOCOL.md §6.5) explicitly.
export REGISTER_LIMIT=0 LOGIN_FAILURES_PER_ADDRESS=0
# Every other suite runs the server on its default multi-threaded runtime;
# this one runs it single-threaded (--worker-threads 1), as the saturation
# profile of scripts/bench.sh does, so that both runtimes carry real traffic.
start_chat_server --worker-threads 1
OUT=$(mktemp -d /tmp/chat-bench-test.XXXXXX)
trap 'stop_chat_server; rm -rf "$OUT"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); printf '  ok    %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf '  FAIL  %s\n' "$1"; }

# has NAME FILE REGEX...: the last JSON line in FILE matches every extended regex.
has() {
  local name=$1 line re
  line=$(grep '^{' "$2" | tail -1); shift 2
  for re in "$@"; do
    grep -qE -- "$re" <<<"$line" || { fail "$name (no /$re/)"; echo "    JSON: $line" >&2; return; }
  done
  ok "$name"
}
# num FILE KEY: the number under KEY (a key found once in the line) in FILE's last JSON line.
num() { grep '^{' "$1" | tail -1 | grep -o "\"$2\":[0-9.]*" | head -1 | cut -d: -f2; }
# is NAME EXPRESSION: a bash arithmetic test (over num's integers) holds.
is() { if (($2)) 2>/dev/null; then ok "$1"; else fail "$1 ($2)"; fi; }
# pct FIELD: the regex of its percentiles (p50, p90, p99, max in ms).
pct() { echo "\"$1\":\\{\"count\":[0-9]+,\"p50\":[0-9.]+,\"p90\":[0-9.]+,\"p99\":[0-9.]+,\"max\":[0-9.]+"; }

# bench NAME ARGS...: runs chat-bench, keeps stdout (the JSON line) in $OUT/NAME.json.
bench() {
  local name=$1; shift
  log "chat-bench $*"
  "$BENCH_BIN" "$@" --url "$CHAT_URL" --server-pid "$CHAT_PID" --label "test-$name" \
    >"$OUT/$name.json" 2>"$OUT/$name.log"
  local rc=$?
  cat "$OUT/$name.log" >&2
  if [ $rc -eq 0 ]; then ok "$name exits 0"; else fail "$name exits $rc"; fi
}

bench chat chat --sockets 10 --senders 3 --rate 1 --warmup 1 --duration 3 --user-prefix tchat
C="$OUT/chat.json"
has "chat: fields present" "$C" '"sent":' '"acked":' '"refused":' '"delivered":' '"expected":' \
  '"lost":' '"deliveries_per_s":' '"latency_ms":' '"ack_ms":' '"connect_errors":' '"server":'
has "chat: percentiles" "$C" "$(pct latency_ms)" "$(pct ack_ms)" "$(pct connect_ms)"
is "chat: messages sent and acked" \
  "$(num "$C" sent) >= 9 && $(num "$C" acked) == $(num "$C" sent) && $(num "$C" refused) == 0"
is "chat: delivered == expected, lost == 0" \
  "$(num "$C" expected) == $(num "$C" acked) * 10 && $(num "$C" delivered) == $(num "$C" expected) && $(num "$C" lost) == 0"
has "chat: all connected, ok" "$C" '"connected":10[,}]' '"connect_errors":0[,}]' '"ok":true'
has "chat: server usage" "$C" '"rss_kb_after":[1-9]' '"cpu_s":[0-9]'

bench join join --sockets 20 --user-prefix tjoin
has "join: settled with all 20" "$OUT/join.json" \
  '"connected":20[,}]' '"settled":20[,}]' '"settle_ms":[0-9.]*[1-9]' '"ok":true'
has "join: connect times" "$OUT/join.json" "$(pct connect_ms)"

bench idle idle --sockets 20 --duration 2 --user-prefix tidle
has "idle: held 20 sockets" "$OUT/idle.json" \
  '"connected":20[,}]' '"disconnects":0[,}]' '"connect_errors":0[,}]' '"ok":true'
has "idle: memory per socket" "$OUT/idle.json" '"server_bytes_per_socket":' '"rss_kb_before":[1-9]'

bench idle-tabs idle --sockets 20 --users 5 --duration 1 --user-prefix ttabs
has "idle: second tabs" "$OUT/idle-tabs.json" '"users":5[,}]' '"connected":20[,}]' '"settled":20[,}]'

bench login login --logins 5 --concurrency 2 --user-prefix tlogin
has "login: 5 logins, no errors" "$OUT/login.json" \
  '"logins":5[,}]' '"login_errors":0[,}]' '"logins_per_s":[0-9.]*[1-9]' '"ok":true'
has "login: latency" "$OUT/login.json" "$(pct login_ms)"

# A rerun reuses the accounts (409 on register, then login).
bench chat-rerun chat --sockets 4 --senders 2 --warmup 0 --duration 1 --user-prefix tchat
has "chat: rerun logs existing users in" "$OUT/chat-rerun.json" '"connected":4[,}]' '"lost":0[,}]'
is "chat: rerun delivered == expected" "$(num "$OUT/chat-rerun.json" delivered) == $(num "$OUT/chat-rerun.json" expected)"

# Refusals: a remote target without --allow-remote, a rate over the flood limit.
log "refusals"
if "$BENCH_BIN" join --url http://192.0.2.1:5000 --sockets 1 >"$OUT/remote.json" 2>/dev/null; then
  fail "a non-loopback target is refused"
else
  has "a non-loopback target is refused" "$OUT/remote.json" '"ok":false' '"error":"[^"]*loopback'
fi
if "$BENCH_BIN" chat --url "$CHAT_URL" --rate 5 >"$OUT/flood.json" 2>/dev/null; then
  fail "a rate over the flood limit is refused"
else
  has "a rate over the flood limit is refused" "$OUT/flood.json" '"ok":false' '"error":"[^"]*flood'
fi
# A wrong password for existing users is an error, not a hang.
if "$BENCH_BIN" join --url "$CHAT_URL" --sockets 2 --user-prefix tjoin --password wrong-password \
    >"$OUT/badpw.json" 2>/dev/null; then
  fail "a wrong password is reported"
else
  has "a wrong password is reported" "$OUT/badpw.json" '"ok":false' '"error":"[^"]*401'
fi

# The chat run as bench.sh records it (tagged), then the page `chat-bench report` writes.
log "chat-bench report"
line=$(grep '^{' "$C" | tail -1)
printf '%s,"backend":"sqlite","profile":"chat-100","commit":"test"}\n' "${line%\}}" >"$OUT/results.jsonl"
if "$BENCH_BIN" report --results "$OUT/results.jsonl" --doc "$OUT/BENCHMARKS.md" 2>/dev/null; then
  for want in '^### chat-100: ' '^\| sqlite \| 3 \| 1\.0 \| ' '^\{"mode": "chat", "label": "test-chat", '; do
    if grep -qE -- "$want" "$OUT/BENCHMARKS.md"; then ok "report has /$want/"; else fail "report has /$want/"; fi
  done
else
  fail "chat-bench report writes a page from recorded runs"
fi

if "$BENCH_BIN" --help | grep -q "chat" && "$BENCH_BIN" chat --help | grep -q -- "--allow-remote" &&
  "$BENCH_BIN" report --help | grep -q -- "--results"; then
  ok "--help documents the modes and flags"
else
  fail "--help documents the modes and flags"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
