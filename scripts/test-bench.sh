#!/usr/bin/env bash
# Tests of chat-bench: one tiny profile of each mode against a fresh debug
# server, checking the JSON line each run prints. The last line counts the
# checks that passed and failed; the exit status is non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

BENCH_BIN="${BENCH_BIN:-$ROOT/target/debug/chat-bench}"
if [ -z "${SKIP_BUILD:-}" ]; then
  log "cargo build (chat-server, chat-bench)"
  cargo build --locked -p chat-server -p chat-bench >&2 || die "build failed"
fi

# Every other suite runs the server on its default multi-threaded runtime;
# this one runs it single-threaded (--worker-threads 1), as the saturation
# profile of scripts/bench.sh does, so that both runtimes carry real traffic.
start_chat_server --worker-threads 1
trap stop_chat_server EXIT
OUT=$(mktemp -d /tmp/chat-bench-test.XXXXXX)
passed=0 failed=0

# check NAME FILE PYTHON-EXPRESSION: the expression over `r` (the JSON line) is true.
check() {
  local name=$1 file=$2 expr=$3
  if python3 - "$file" "$expr" <<'PY'
import json, sys
line = [l for l in open(sys.argv[1]).read().splitlines() if l.startswith("{")][-1]
r = json.loads(line)
ok = eval(sys.argv[2], {"r": r})
if not ok:
    print("    JSON:", line, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
  then
    passed=$((passed + 1)); printf '  ok    %s\n' "$name"
  else
    failed=$((failed + 1)); printf '  FAIL  %s (%s)\n' "$name" "$expr"
  fi
}

# bench NAME ARGS...: runs chat-bench, keeps stdout (the JSON line) in $OUT/NAME.json.
bench() {
  local name=$1; shift
  log "chat-bench $*"
  "$BENCH_BIN" "$@" --url "$CHAT_URL" --server-pid "$CHAT_PID" --label "test-$name" \
    >"$OUT/$name.json" 2>"$OUT/$name.log"
  local rc=$?
  cat "$OUT/$name.log" >&2
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1)); printf '  ok    %s exits 0\n' "$name"
  else
    failed=$((failed + 1)); printf '  FAIL  %s exits %s\n' "$name" "$rc"
  fi
}

PCT='all(k in r[f] for f in FIELDS for k in ("p50", "p90", "p99", "max"))'

bench chat chat --sockets 10 --senders 3 --rate 1 --warmup 1 --duration 3 --user-prefix tchat
check "chat: fields present" "$OUT/chat.json" \
  'all(k in r for k in ("sent","acked","refused","delivered","expected","lost","deliveries_per_s","latency_ms","ack_ms","connect_errors","server"))'
check "chat: percentiles" "$OUT/chat.json" "$(echo "$PCT" | sed 's/FIELDS/("latency_ms","ack_ms","connect_ms")/')"
check "chat: messages sent and acked" "$OUT/chat.json" 'r["sent"] >= 9 and r["acked"] == r["sent"] and r["refused"] == 0'
check "chat: delivered == expected, lost == 0" "$OUT/chat.json" \
  'r["expected"] == r["acked"] * 10 and r["delivered"] == r["expected"] and r["lost"] == 0'
check "chat: all connected, ok" "$OUT/chat.json" 'r["connected"] == 10 and r["connect_errors"] == 0 and r["ok"] is True'
check "chat: server usage" "$OUT/chat.json" 'r["server"]["rss_kb_after"] > 0 and r["server"]["cpu_s"] >= 0'

bench join join --sockets 20 --user-prefix tjoin
check "join: settled with all 20" "$OUT/join.json" \
  'r["connected"] == 20 and r["settled"] == 20 and r["settle_ms"] > 0 and r["ok"] is True'
check "join: connect times" "$OUT/join.json" "$(echo "$PCT" | sed 's/FIELDS/("connect_ms",)/')"

bench idle idle --sockets 20 --duration 2 --user-prefix tidle
check "idle: held 20 sockets" "$OUT/idle.json" \
  'r["connected"] == 20 and r["disconnects"] == 0 and r["connect_errors"] == 0 and r["ok"] is True'
check "idle: memory per socket" "$OUT/idle.json" '"server_bytes_per_socket" in r and r["server"]["rss_kb_before"] > 0'

bench idle-tabs idle --sockets 20 --users 5 --duration 1 --user-prefix ttabs
check "idle: second tabs" "$OUT/idle-tabs.json" 'r["users"] == 5 and r["connected"] == 20 and r["settled"] == 20'

bench login login --logins 5 --concurrency 2 --user-prefix tlogin
check "login: 5 logins, no errors" "$OUT/login.json" \
  'r["logins"] == 5 and r["login_errors"] == 0 and r["logins_per_s"] > 0 and r["ok"] is True'
check "login: latency" "$OUT/login.json" "$(echo "$PCT" | sed 's/FIELDS/("login_ms",)/')"

# A rerun reuses the accounts (409 on register, then login).
bench chat-rerun chat --sockets 4 --senders 2 --warmup 0 --duration 1 --user-prefix tchat
check "chat: rerun logs existing users in" "$OUT/chat-rerun.json" 'r["connected"] == 4 and r["lost"] == 0 and r["delivered"] == r["expected"]'

# Refusals: a remote target without --allow-remote, a rate over the flood limit.
log "refusals"
if "$BENCH_BIN" join --url http://192.0.2.1:5000 --sockets 1 >"$OUT/remote.json" 2>/dev/null; then
  failed=$((failed + 1)); echo "  FAIL  a non-loopback target is refused"
else
  check "a non-loopback target is refused" "$OUT/remote.json" 'r["ok"] is False and "loopback" in r["error"]'
fi
if "$BENCH_BIN" chat --url "$CHAT_URL" --rate 5 >"$OUT/flood.json" 2>/dev/null; then
  failed=$((failed + 1)); echo "  FAIL  a rate over the flood limit is refused"
else
  check "a rate over the flood limit is refused" "$OUT/flood.json" 'r["ok"] is False and "flood" in r["error"]'
fi
# A wrong password for existing users is an error, not a hang.
if "$BENCH_BIN" join --url "$CHAT_URL" --sockets 2 --user-prefix tjoin --password wrong-password \
    >"$OUT/badpw.json" 2>/dev/null; then
  failed=$((failed + 1)); echo "  FAIL  a wrong password is reported"
else
  check "a wrong password is reported" "$OUT/badpw.json" 'r["ok"] is False and "401" in r["error"]'
fi

# bench.sh's report judges the targets from the runs: these lines are the
# saturation profile of a run where the bare server and chat-server on one
# worker both last passed p99 100 ms at 800,000/s, the default at 600,000/s.
log "bench.sh report (targets table)"
python3 - "$OUT/results.jsonl" <<'PY'
import json, sys
runs = {"bare": [56, 64, 83, 138], "ours-1": [43, 58, 72, 105], "ours": [53, 65, 118]}
with open(sys.argv[1], "w") as out:
    for kind, p99s in runs.items():
        for senders, p99 in zip((200, 400, 600, 800), p99s):
            out.write(json.dumps({
                "mode": "chat", "label": f"sqlite/saturation/{kind}/{senders}x1", "ok": True,
                "backend": "sqlite", "profile": "saturation", "senders": senders, "rate": 1.0,
                "lost": 0, "deliveries_per_s": senders * 1000.0, "commit": "test",
                "latency_ms": {"p50": p99 / 2, "p99": p99}, "server": {"cpu_pct": 95.0}}) + "\n")
PY
if BENCH_OUT="$OUT" BENCH_DOC="$OUT/BENCHMARKS.md" BENCH_REPORT_ONLY=1 scripts/bench.sh 2>/dev/null; then
  report_has() {
    if grep -qF -- "$2" "$OUT/BENCHMARKS.md"; then
      passed=$((passed + 1)); printf '  ok    %s\n' "$1"
    else
      failed=$((failed + 1)); printf '  FAIL  %s (no "%s")\n' "$1" "$2"
    fi
  }
  report_has "report: saturation of one worker judged met" \
    "(chat-server, 1 worker) | 600,000 against 600,000 deliveries/s at p99 ≤ 100 ms (100%) | **met** |"
  report_has "report: saturation of the default judged not met" \
    "(chat-server, default workers) | 400,000 against 600,000 deliveries/s at p99 ≤ 100 ms (67%) | not met |"
  report_has "report: the saturation table" "| 800 × 1.0 | 800,000, 69.0 / 138.0, 95 % |"
else
  failed=$((failed + 1)); echo "  FAIL  bench.sh writes a report from existing results"
fi

if "$BENCH_BIN" --help | grep -q "chat" && "$BENCH_BIN" chat --help | grep -q -- "--allow-remote"; then
  passed=$((passed + 1)); echo "  ok    --help documents the modes and flags"
else
  failed=$((failed + 1)); echo "  FAIL  --help documents the modes and flags"
fi

rm -rf "$OUT"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
