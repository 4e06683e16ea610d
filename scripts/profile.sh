#!/usr/bin/env bash
# Where a server's CPU goes under a chat load: `perf record` of the server
# process while chat-bench runs, summed by who owns each sampled function.
#
#   scripts/profile.sh                    # bare socketioxide, then chat-server (1 worker), 1,000 x 1 msg/s
#   PROFILE_SERVERS="ours" PROFILE_LOAD=400x1 scripts/profile.sh
#   PROFILE_SERVERS="ours" PROFILE_LOAD=100x1 PROFILE_STORMS=1 scripts/profile.sh
#
#   PROFILE_SERVERS="ours" PROFILE_JOIN=1000 PROFILE_SECONDS=4 scripts/profile.sh
#   PROFILE_SERVERS="ours" PROFILE_BACKEND=postgres PROFILE_JOIN=1000 PROFILE_STORM=1 scripts/profile.sh
#
# PROFILE_STORMS=1: chat-server at bcrypt cost 12, with login storms (8 at a
# time) for as long as perf records (the chat's accounts are made at cost 4
# beforehand, so only the storms hash at cost 12). PROFILE_JOIN=N: a join
# storm of N users instead of the chat, recorded from its first tenth; with
# PROFILE_STORM=1 they all connect at once and then fetch what they missed
# (`after_id`), as pages do after a restart (bench.sh's storm-1000).
#
# Servers: bare (crates/chat-bench/examples/bare_server.rs), ours-1
# (chat-server --worker-threads 1), ours (chat-server, default workers); on
# SQLite in a temporary folder, or with PROFILE_BACKEND=postgres on a fresh
# database created through $BENCH_POSTGRES_URL and dropped afterwards. Each
# report goes to $BENCH_OUT/profile-<server>[-postgres]-<load>.txt;
# docs/BENCHMARKS.md quotes a run.
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
# The load comes from one address (docs/PROTOCOL.md §6.5): lift those limits.
export REGISTER_LIMIT=0 LOGIN_FAILURES_PER_ADDRESS=0

DATA=$(mktemp -d /tmp/chat-profile.XXXXXX)
PID= PG_DB=
PG_ADMIN_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [ -n "$PG_DB" ] && psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1
  rm -rf "$DATA"
}
trap cleanup EXIT
# new_database SERVER: DB_URL, where chat-server SERVER keeps its data; each
# server of the loop begins empty, on either backend.
BACKEND="${PROFILE_BACKEND:-sqlite}" TAG=
case $BACKEND in
  sqlite) new_database() { DB_URL="$DATA/$1.db"; } ;;
  postgres)
    pg_isready -q -h 127.0.0.1 -p 5432 || "$ROOT/scripts/start-services.sh" >&2 || die "PostgreSQL unavailable"
    TAG=-postgres
    new_database() {
      [ -n "$PG_DB" ] && psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1
      PG_DB=$(printf 'profile_%04x%04x' $RANDOM $RANDOM)
      psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE $PG_DB" >/dev/null || die "cannot create $PG_DB"
      DB_URL="${PG_ADMIN_URL%/*}/$PG_DB"
    } ;;
  *) die "unknown PROFILE_BACKEND $BACKEND (sqlite, postgres)" ;;
esac

STORMS="${PROFILE_STORMS:-}"
JOIN="${PROFILE_JOIN:-}"
STORM="${PROFILE_STORM:-}"
# start SERVER COST: the server on $port, its pid in $PID.
start() {
  case $1 in
    bare) target/release/examples/bare_server "$port" >"$DATA/server.log" 2>&1 & ;;
    ours-1 | ours)
      local flags=(); [ "$1" = ours-1 ] && flags=(--worker-threads 1)
      mkdir -p "$DATA/up"
      target/release/chat-server --host 127.0.0.1 --port "$port" --database-url "$DB_URL" \
        --upload-dir "$DATA/up" --bcrypt-cost "$2" "${flags[@]}" >"$DATA/server.log" 2>&1 & ;;
    *) die "unknown server $1 (bare, ours-1, ours)" ;;
  esac
  PID=$!
  wait_http "http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling" 30 || die "$1 did not start"
}

# server_metrics NAME: the histogram NAME of chat-server on $port, if it is one.
server_metrics() {
  [ "$server" = bare ] && return
  curl -fsS "http://127.0.0.1:$port/metrics" | { grep -E "^$1_(bucket|count|sum)" || true; } | sed 's/^/  /'
}

# finish FILE: the report ($DATA/head.txt, then the samples by owner:
# `chat-bench perf-owners`) into FILE and on standard output; the server is stopped.
finish() {
  {
    cat "$DATA/head.txt"
    perf report -i "$DATA/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null |
      target/release/chat-bench perf-owners
  } >"$1"
  cat "$1"
  kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=
}

for server in "${SERVERS[@]}"; do
  port=$(free_port)
  new_database "$server"
  if [ -n "$STORMS" ]; then
    [ "$server" = bare ] && die "PROFILE_STORMS needs chat-server (ours, ours-1)"
    start "$server" 4
    target/release/chat-bench chat --url "http://127.0.0.1:$port" --sockets 1000 --senders 1 \
      --warmup 0 --duration 1 >/dev/null 2>&1 || die "creating the chat's accounts failed"
    kill "$PID"; wait "$PID" 2>/dev/null
    start "$server" 12
    # The storms' own accounts, at cost 12, before anything is recorded.
    target/release/chat-bench login --url "http://127.0.0.1:$port" --logins 32 --concurrency 8 \
      --user-prefix storm >/dev/null 2>&1 || die "creating the storms' accounts failed"
  else
    start "$server" 4
  fi
  if [ -n "$JOIN" ]; then
    storm=()
    [ -n "$STORM" ] && storm=(--connect-concurrency "$JOIN" --catch-up)
    log "$server: chat-bench join, $JOIN users${STORM:+ at once, then catching up}; perf records ${SECONDS_RECORDED} s"
    target/release/chat-bench join --url "http://127.0.0.1:$port" --sockets "$JOIN" "${storm[@]}" \
      --server-pid "$PID" >"$DATA/bench.json" 2>"$DATA/bench.txt" &
    bench=$!
    for _ in $(seq 600); do
      [ "$(ss -Htn state established "( sport = :$port )" | wc -l)" -ge $((JOIN / 10)) ] && break
      sleep 0.1
    done
    # The whole machine too, by command: what PostgreSQL's backends and the
    # load generator take of the same two cores does not show in the server's profile.
    perf record -a -F 99 -o "$DATA/system.data" -- sleep "$SECONDS_RECORDED" >/dev/null 2>&1 &
    system=$!
    perf record -F 999 -p "$PID" -o "$DATA/perf.data" -- sleep "$SECONDS_RECORDED" >/dev/null 2>&1
    wait "$system"
    wait "$bench"
    {
      echo "# $server ($BACKEND) during a join storm of $JOIN users${STORM:+ connecting at once and catching up}; perf record -F 999 for ${SECONDS_RECORDED} s"
      grep -E "settled|caught up|server " "$DATA/bench.txt"
      # What a CPU profile cannot show: the handshakes' time, and the
      # database work's three waits (for a blocking thread, a connection, the
      # database), the set-up's logins included.
      for m in chat_handshake_seconds chat_db_queue_wait_seconds chat_db_pool_wait_seconds chat_db_query_seconds; do
        server_metrics "$m"
      done
      echo "# the machine's samples by command over the same ${SECONDS_RECORDED} s (perf record -a -F 99)"
      perf report -i "$DATA/system.data" --no-children --sort comm --stdio 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -8
    } >"$DATA/head.txt"
    kind=join; [ -n "$STORM" ] && kind=storm
    finish "$BENCH_OUT/profile-$server$TAG-$kind-$JOIN.txt"
    continue
  fi
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
  storms=
  if [ -n "$STORMS" ]; then
    (while :; do
      target/release/chat-bench login --url "http://127.0.0.1:$port" --logins 16 --concurrency 8 \
        --user-prefix storm >>"$DATA/storms.json" 2>"$DATA/storms.log" || break
    done) &
    storms=$!
  fi
  perf record -F 999 -p "$PID" -o "$DATA/perf.data" -- sleep "$SECONDS_RECORDED" >/dev/null 2>&1
  wait "$bench"
  if [ -n "$storms" ]; then
    kill "$storms" 2>/dev/null; wait "$storms" 2>/dev/null
    pkill -f "chat-bench login --url http://127.0.0.1:$port" 2>/dev/null
  fi
  {
    echo "# $server ($BACKEND), 1,000 sockets, $k senders x $rate msg/s${STORMS:+, login storms at cost 12}; perf record -F 999 for ${SECONDS_RECORDED} s"
    grep -E "deliveries|send→receive|server " "$DATA/bench.txt"
    # chat-server's own account of each message's wait, accepted → stored
    # and broadcast (the whole run, warm-up included), beside the clients' p99.
    server_metrics chat_message_broadcast_seconds
    if [ -n "$STORMS" ]; then
      rates=$(grep -o '"logins_per_s":[0-9.]*' "$DATA/storms.json" | cut -d: -f2 | LC_ALL=C xargs -r printf '%.1f logins/s, ')
      echo "  storms $(grep -c '^{' "$DATA/storms.json") runs: ${rates%, }"
    fi
  } >"$DATA/head.txt"
  finish "$BENCH_OUT/profile-$server$TAG-$LOAD${STORMS:+-storms}.txt"
done
