#!/usr/bin/env bash
# Where a server's CPU goes under a chat load: `perf record` of the server
# process while chat-bench runs, summed by who owns each sampled function.
#
#   scripts/profile.sh                    # bare socketioxide, then chat-server (1 worker), 1,000 x 1 msg/s
#   PROFILE_SERVERS="ours" PROFILE_LOAD=400x1 scripts/profile.sh
#
# Servers: bare (crates/chat-bench/examples/bare_server.rs), ours-1
# (chat-server --worker-threads 1), ours (chat-server, default workers); all
# on SQLite in a temporary folder. Each report goes to
# $BENCH_OUT/profile-<server>-<load>.txt; docs/BENCHMARKS.md quotes a run.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"
command -v perf >/dev/null || die "perf is not installed"

read -r -a SERVERS <<<"${PROFILE_SERVERS:-bare ours-1}"
LOAD="${PROFILE_LOAD:-1000x1}"
SECONDS_RECORDED="${PROFILE_SECONDS:-8}"
BENCH_OUT="${BENCH_OUT:-$ROOT/target/bench}"
mkdir -p "$BENCH_OUT"
cargo build --release --locked -p chat-server -p chat-bench >&2 || die "release build failed"
cargo build --release --locked -p chat-bench --example bare_server >&2 || die "release build failed"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

DATA=$(mktemp -d /tmp/chat-profile.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$DATA"
}
trap cleanup EXIT

for server in "${SERVERS[@]}"; do
  port=$(free_port)
  case $server in
    bare) target/release/examples/bare_server "$port" >"$DATA/server.log" 2>&1 & ;;
    ours-1 | ours)
      flags=(); [ "$server" = ours-1 ] && flags=(--worker-threads 1)
      mkdir -p "$DATA/up"
      target/release/chat-server --host 127.0.0.1 --port "$port" --database-url "$DATA/$server.db" \
        --upload-dir "$DATA/up" --bcrypt-cost 4 "${flags[@]}" >"$DATA/server.log" 2>&1 & ;;
    *) die "unknown server $server (bare, ours-1, ours)" ;;
  esac
  PID=$!
  wait_http "http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling" 30 || die "$server did not start"
  k=${LOAD%x*} rate=${LOAD#*x}
  log "$server: chat-bench chat, 1,000 sockets, $k senders at $rate msg/s; perf records ${SECONDS_RECORDED} s"
  target/release/chat-bench chat --url "http://127.0.0.1:$port" --sockets 1000 --senders "$k" \
    --rate "$rate" --warmup 3 --duration $((SECONDS_RECORDED + 4)) --server-pid "$PID" \
    >"$DATA/bench.json" 2>"$DATA/bench.txt" &
  bench=$!
  # Record once the 1,000 sockets are connected and the warm-up is over.
  for _ in $(seq 600); do
    [ "$(ss -Htn state established "( sport = :$port )" | wc -l)" -ge 1000 ] && break
    sleep 0.1
  done
  sleep 4
  perf record -F 999 -p "$PID" -o "$DATA/perf.data" -- sleep "$SECONDS_RECORDED" >/dev/null 2>&1
  wait "$bench"
  out="$BENCH_OUT/profile-$server-$LOAD.txt"
  {
    echo "# $server, 1,000 sockets, $k senders x $rate msg/s; perf record -F 999 for ${SECONDS_RECORDED} s"
    grep -E "deliveries|latency|server " "$DATA/bench.txt"
    perf report -i "$DATA/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null |
      python3 "$ROOT/scripts/lib/profile_owners.py"
  } >"$out"
  cat "$out"
  kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=
done
