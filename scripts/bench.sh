#!/usr/bin/env bash
# Benchmarks of the chat server with chat-bench, release builds, on this machine.
#
#   scripts/bench.sh                 every profile, on SQLite then PostgreSQL
#   scripts/bench.sh chat-400 join-1000   only those profiles
#   scripts/bench.sh round-two       issue 17's comparisons: vs-bare-100 storm-1000
#                                    idle-10000 soak-1000 cluster-sweep perf-17
#   BENCH_BACKENDS=sqlite scripts/bench.sh sweep
#
# Profiles: chat-100, chat-400 (1,000 sockets, 100/400 senders at 1 msg/s),
# sweep (senders raised until p99 > 100 ms), join-1000, join-2000, idle-10000
# (10,000 sockets over $BENCH_IDLE_USERS users, default 1,000: ten tabs each),
# login-12 (login storm at bcrypt cost 12, on a server started with that cost),
# saturation (SQLite only: the same rising loads against a bare socketioxide
# server, crates/chat-bench/examples/bare_server.rs, and against chat-server
# with one and with the default worker threads, turn by turn),
# login-chat-12 (login storms at cost 12 for as long as a 300-socket chat
# runs), cluster (PostgreSQL only: one node, then one node of a two-node
# cluster over the local Redis; every socket is on the first node), perf
# (SQLite only, once: scripts/profile.sh's CPU profiles of the bare server and
# chat-server at 600 senders, of a join storm and of logins during chat, into
# $BENCH_OUT/profile-*.txt), vs-bare-100 (chat-100 against a fresh bare
# socketioxide server, then a fresh chat-server: the p99 ratio of issue 17),
# cluster-sweep (PostgreSQL only: two nodes on one PostgreSQL and one Redis,
# 500 sockets each, senders raised until p99 > 100 ms: the cluster's ceiling
# on stored messages per second), perf-17 (perf profiles of chat-100 on the
# bare server and chat-server, and of chat-server's reconnect storm with
# catch-up, on each backend, into $BENCH_OUT/profile-*.txt),
# storm-1000 (1,000 users connect at once, as pages do after a restart,
# against the bare server with its online_users coalesced, then chat-server),
# soak-1000 (SQLite only: tests/reliability/soak.py's churn for SOAK_MINUTES
# (30) with 1,100 users in three client processes, about 1,000 sockets open at
# once; RSS at the end against the first third, issue 17's target 4).
#
# Each profile gets fresh server processes (bcrypt cost 4 for the set-up, cost
# 12 for the login profiles' storms); each backend a fresh database: SQLite in a temporary folder, and on
# PostgreSQL a database bench_<random> created through $BENCH_POSTGRES_URL and
# dropped afterwards. Every JSON line goes to $BENCH_OUT/results.jsonl, and
# `chat-bench report` rewrites the tables of docs/BENCHMARKS.md (between its
# bench markers) from them (results of profiles not run this time are kept).
# BENCH_REPORT_ONLY=1 only rewrites the tables from an existing results.jsonl;
# BENCH_DOC names another page to write.
#
# Only loopback addresses are used. The load generator shares the machine's
# cores with the server: the numbers are those of both together.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

# The long runs of the reliability suites (docs/RELIABILITY.md), on a release
# build; they judge themselves and add nothing to the tables:
#   scripts/bench.sh soak   churn for SOAK_MINUTES (30), SOAK_USERS (40) users
#   scripts/bench.sh fuzz   the protocol fuzzer and every fuzz target for
#                           FUZZ_SECONDS (600) each
case ${1:-} in
  soak | fuzz)
    cargo build --release --locked -p chat-server >&2 || die "release build failed"
    export CHAT_SERVER_BIN="$ROOT/target/release/chat-server"
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    if [ "$1" = soak ]; then
      exec "$VENV/bin/python" tests/reliability/soak.py \
        --minutes "${SOAK_MINUTES:-30}" --users "${SOAK_USERS:-40}"
    fi
    "$VENV/bin/python" tests/reliability/fuzz_protocol.py --seconds "${FUZZ_SECONDS:-600}" || exit 1
    exec scripts/fuzz-targets.sh "${FUZZ_SECONDS:-600}"
    ;;
esac

ALL_PROFILES=(chat-100 chat-400 sweep join-1000 join-2000 idle-10000 login-12 saturation login-chat-12 cluster vs-bare-100 storm-1000 soak-1000 cluster-sweep perf-17 perf)
# Issue 17's comparisons in one command: `scripts/bench.sh round-two`.
ROUND_TWO=(vs-bare-100 storm-1000 idle-10000 soak-1000 cluster-sweep perf-17)
PROFILES=()
for p in "$@"; do
  if [ "$p" = round-two ]; then PROFILES+=("${ROUND_TWO[@]}"); else PROFILES+=("$p"); fi
done
[ ${#PROFILES[@]} -eq 0 ] && PROFILES=("${ALL_PROFILES[@]}")
for p in "${PROFILES[@]}"; do
  [[ " ${ALL_PROFILES[*]} " == *" $p "* ]] || die "unknown profile $p (known: ${ALL_PROFILES[*]})"
done
read -r -a BACKENDS <<<"${BENCH_BACKENDS:-sqlite postgres}"
PG_ADMIN_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BENCH_OUT="${BENCH_OUT:-$ROOT/target/bench}"
DOC="${BENCH_DOC:-$ROOT/docs/BENCHMARKS.md}"
SERVER_BIN="$ROOT/target/release/chat-server"
BENCH_BIN="$ROOT/target/release/chat-bench"
# Chat profiles: seconds of warm-up and of measurement.
WARMUP="${BENCH_WARMUP:-3}"
DURATION="${BENCH_DURATION:-15}"
SWEEP_DURATION="${BENCH_SWEEP_DURATION:-10}"
SWEEP_STEPS="${BENCH_SWEEP_STEPS:-100 200 400 600 800 1000 1000x1.5 1000x1.9}"
# cluster-sweep: senders over both nodes (half each), as SENDERS[xRATE].
CLUSTER_SWEEP_STEPS="${BENCH_CLUSTER_SWEEP_STEPS:-100 200 300 400 600 800 1000 1000x1.5 1000x1.9}"
IDLE_USERS="${BENCH_IDLE_USERS:-1000}"
# Saturation: SENDERSxRATE steps, raised until every server's p99 > 100 ms.
SATURATION_STEPS="${BENCH_SATURATION_STEPS:-200x1 400x1 600x1 800x1 1000x1 1000x1.3 1000x1.6 1000x1.9}"
BARE_BIN="$ROOT/target/release/examples/bare_server"

mkdir -p "$BENCH_OUT"
RESULTS="$BENCH_OUT/results.jsonl"
report() { "$BENCH_BIN" report --results "$RESULTS" --doc "$DOC"; }
if [ -n "${BENCH_REPORT_ONLY:-}" ]; then
  cargo build --release --locked -p chat-bench >&2 || die "release build failed"
  report; exit
fi
: >"$RESULTS"

log "cargo build --release (chat-server, chat-bench, bare_server)"
cargo build --release --locked -p chat-server -p chat-bench >&2 || die "release build failed"
cargo build --release --locked -p chat-bench --example bare_server >&2 || die "release build failed"

# The load generator registers its users from one address and logs them in
# again: lift the per-address limits (docs/PROTOCOL.md §6.5) explicitly.
export REGISTER_LIMIT=0 LOGIN_FAILURES_PER_ADDRESS=0
# Up to ten thousand sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "open files limit: $(ulimit -n)"

SERVER_PID= DATA= EXTRA_PIDS=()
# start_server DATABASE_URL [extra flags]: fresh release server on a free port.
start_server() {
  local db=$1; shift
  local port; port=$(free_port)
  mkdir -p "$DATA/up"
  "$SERVER_BIN" --host 127.0.0.1 --port "$port" --database-url "$db" \
    --upload-dir "$DATA/up" "$@" >>"$DATA/server.log" 2>&1 &
  SERVER_PID=$!
  URL="http://127.0.0.1:$port"
  wait_http "$URL/healthz" 60 || { tail -30 "$DATA/server.log" >&2; die "server did not start"; }
}
# start_bare [coalesced]: a fresh bare socketioxide server as URL / SERVER_PID.
start_bare() {
  local port; port=$(free_port)
  "$BARE_BIN" "$port" "$@" >>"$DATA/bare.log" 2>&1 &
  SERVER_PID=$!
  URL="http://127.0.0.1:$port"
  wait_http "$URL/socket.io/?EIO=4&transport=polling" 30 || die "bare_server did not start"
}
stop_server() {
  local pid
  for pid in $SERVER_PID "${EXTRA_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  SERVER_PID= EXTRA_PIDS=()
}

PG_DB=
cleanup() {
  stop_server
  if [ -n "$PG_DB" ]; then
    psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1
  fi
  [ -n "$DATA" ] && rm -rf "$DATA"
}
trap cleanup EXIT

# bench BACKEND PROFILE LABEL [chat-bench args]: one run against $URL
# ($SERVER_PID), its JSON line kept.
bench() {
  local backend=$1 profile=$2 label=$3; shift 3
  log "[$backend] $label: chat-bench $*"
  local line
  line=$("$BENCH_BIN" "$@" --url "$URL" --server-pid "$SERVER_PID" --label "$label" \
    2> >(sed 's/^/    /' >&2))
  record "$backend" "$profile" "$label" "$line"
}
# record BACKEND PROFILE LABEL JSON-LINE: keep one run's line, tagged.
record() {
  local line=$4 commit
  [[ $line == \{*\} ]] || line="{\"label\":\"$3\",\"ok\":false,\"error\":\"chat-bench printed no JSON line\"}"
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
  [ -n "$(git status --porcelain --untracked-files=no -- crates 2>/dev/null)" ] && commit+="+uncommitted"
  printf '%s,"backend":"%s","profile":"%s","commit":"%s"}\n' "${line%\}}" "$1" "$2" "$commit" >>"$RESULTS"
  LAST="$line"
}
# p99_of JSON-LINE: its send→receive p99 in ms (1e9 when it has none).
p99_of() { local p; p=$(grep -o '"latency_ms":{[^}]*' <<<"$1" | grep -o '"p99":[^,}]*'); echo "${p#*:}" | grep . || echo 1e9; }
above_100ms() { awk -v p="$1" 'BEGIN { exit !(p > 100) }'; }

chat_profile() { # backend profile senders
  start_server "$DB_URL" --bcrypt-cost 4
  bench "$1" "$2" "$1/$2" chat --sockets 1000 --senders "$3" --rate 1 \
    --warmup "$WARMUP" --duration "$DURATION"
  stop_server
}

sweep_profile() { # backend
  # Senders at 1 msg/s, then (all 1,000 users sending) higher rates, until p99 > 100 ms.
  local step k rate p99
  start_server "$DB_URL" --bcrypt-cost 4
  for step in $SWEEP_STEPS; do
    k=${step%x*}; rate=1
    [[ $step == *x* ]] && rate=${step#*x}
    bench "$1" sweep "$1/sweep/$step" chat --sockets 1000 --senders "$k" --rate "$rate" \
      --warmup 2 --duration "$SWEEP_DURATION"
    p99=$(p99_of "$LAST")
    log "[$1] sweep: $k senders at $rate msg/s, p99 $p99 ms"
    if above_100ms "$p99"; then
      break
    fi
  done
  stop_server
}

saturation_profile() { # backend
  # Three servers side by side, each load run against each in turn: the bare
  # socketioxide ceiling (single-threaded runtime), chat-server with one
  # worker thread (like for like) and with its default (one per core).
  local backend=$1 step k rate p99 kind done_kinds
  local -A url pid
  local port; port=$(free_port)
  "$BARE_BIN" "$port" >>"$DATA/bare.log" 2>&1 &
  EXTRA_PIDS+=($!); pid[bare]=$!; url[bare]="http://127.0.0.1:$port"
  wait_http "${url[bare]}/socket.io/?EIO=4&transport=polling" 30 || die "bare_server did not start"
  start_server "$DB_URL" --bcrypt-cost 4 --worker-threads 1
  EXTRA_PIDS+=("$SERVER_PID"); pid[ours-1]=$SERVER_PID; url[ours-1]=$URL
  start_server "$DB_URL" --bcrypt-cost 4
  pid[ours]=$SERVER_PID; url[ours]=$URL
  done_kinds=" "
  for step in $SATURATION_STEPS; do
    k=${step%x*}; rate=${step#*x}
    for kind in bare ours-1 ours; do
      [[ $done_kinds == *" $kind "* ]] && continue
      URL=${url[$kind]} SERVER_PID=${pid[$kind]} \
        bench "$backend" saturation "$backend/saturation/$kind/$step" chat --sockets 1000 \
        --senders "$k" --rate "$rate" --warmup 2 --duration "$SWEEP_DURATION"
      p99=$(p99_of "$LAST")
      log "[$backend] saturation: $kind at $k x $rate msg/s, p99 $p99 ms"
      above_100ms "$p99" && done_kinds+="$kind "
    done
    [ "$done_kinds" = " bare ours-1 ours " ] && break
  done
  SERVER_PID=${pid[ours]}
  stop_server
}

# against_bare BACKEND PROFILE BARE-MODE OURS-ONLY [chat-bench args]: the
# same run against a fresh bare server, then a fresh chat-server (labels
# …/bare, …/ours); OURS-ONLY are chat-bench flags for chat-server's run alone.
against_bare() {
  local backend=$1 profile=$2 mode=$3 ours_only=$4; shift 4
  start_bare $mode
  bench "$backend" "$profile" "$backend/$profile/bare" "$@"
  stop_server
  start_server "$DB_URL" --bcrypt-cost 4
  bench "$backend" "$profile" "$backend/$profile/ours" "$@" $ours_only
  stop_server
}

soak_profile() { # backend (SQLite: the soak reads the acked messages back from the file)
  # soak.py starts its own server; its SOAK_SUMMARY becomes the run's line.
  local backend=$1 out="$DATA/soak.out" ok=false line
  # Every socket receives every join, leave and message, and one Python
  # process reads at most ~500 sockets' worth: three processes share the
  # users, and the churn is paced so that ~1,000 sockets stay readable on a
  # 2-core machine shared with the server. Visits of 20 minutes on average
  # (about one join and one leave a second once all are in), users arriving
  # over 10 minutes, half a message a second in all. (Visits of 2 minutes,
  # 9 joins a second, had the clients evicted as slow readers from ~550
  # sockets on.)
  local users=${SOAK_PROFILE_USERS:-1100} minutes=${SOAK_MINUTES:-30}
  local flags=(--minutes "$minutes" --users "$users" --workers "${SOAK_WORKERS:-3}" --hold "${SOAK_HOLD:-1200}"
    --ramp "${SOAK_RAMP:-600}" --rate "${SOAK_RATE:-0.5}")
  log "[$backend] soak-1000: tests/reliability/soak.py ${flags[*]}"
  CHAT_SERVER_BIN="$SERVER_BIN" "$VENV/bin/python" tests/reliability/soak.py "${flags[@]}" 2>&1 |
    tee "$out" | sed -u 's/^/    /' >&2
  [ "${PIPESTATUS[0]}" = 0 ] && ok=true
  line=$(sed -n 's/^SOAK_SUMMARY {//p' "$out" | tail -1)
  [ -n "$line" ] && line="{\"mode\":\"soak\",\"label\":\"$backend/soak-1000\",\"ok\":$ok,$line"
  record "$backend" soak-1000 "$backend/soak-1000" "$line"
}

login_chat_profile() { # backend
  # Login storms at cost 12 (8 at a time, one storm after another) for as
  # long as a chat of 300 sockets and 100 senders runs on the same server.
  local backend=$1 chat_out="$DATA/login-chat.json" i=0 chat
  # The chat's 300 accounts are hashed at cost 4 by a server of that cost
  # first, so that only the storms' logins cost 12 while the chat runs.
  start_server "$DB_URL" --bcrypt-cost 4
  "$BENCH_BIN" chat --url "$URL" --sockets 300 --senders 1 --warmup 0 --duration 1 \
    --user-prefix lc >/dev/null 2>&1 || log "[$backend] login-chat-12: creating the chat's accounts failed"
  stop_server
  start_server "$DB_URL" --bcrypt-cost 12
  bench "$backend" login-chat-12 "$backend/login-chat-12/setup" login --logins 16 \
    --concurrency 8 --user-prefix storm
  log "[$backend] login-chat-12: chat-bench chat (300 sockets, 100 senders) with login storms"
  "$BENCH_BIN" chat --url "$URL" --server-pid "$SERVER_PID" --label "$backend/login-chat-12/chat" \
    --sockets 300 --senders 100 --rate 1 --warmup 2 --duration 20 --user-prefix lc \
    >"$chat_out" 2> >(sed 's/^/    /' >&2) &
  chat=$!
  while kill -0 "$chat" 2>/dev/null; do
    i=$((i + 1))
    bench "$backend" login-chat-12 "$backend/login-chat-12/storm-$i" login --logins 32 \
      --concurrency 8 --user-prefix storm
  done
  wait "$chat"
  record "$backend" login-chat-12 "$backend/login-chat-12/chat" "$(grep -E '^\{' "$chat_out" | tail -1)"
  stop_server
}

cluster_profile() { # backend (PostgreSQL)
  # The Redis hop: one node alone, then one node of a two-node cluster.
  local backend=$1 kind senders
  "$ROOT/scripts/start-services.sh" >&2 || { log "Redis unavailable: cluster skipped"; return; }
  for kind in single cluster; do
    # The nodes of a cluster share the chat:* keys; start from none.
    redis-cli --scan --pattern 'chat:*' | xargs -r redis-cli del >/dev/null
    if [ "$kind" = cluster ]; then
      start_server "$DB_URL" --bcrypt-cost 4 --redis-url redis://127.0.0.1:6379
      local first_pid=$SERVER_PID first_url=$URL
      start_server "$DB_URL" --bcrypt-cost 4 --redis-url redis://127.0.0.1:6379
      EXTRA_PIDS+=("$SERVER_PID")
      SERVER_PID=$first_pid URL=$first_url
    else
      start_server "$DB_URL" --bcrypt-cost 4
    fi
    for senders in 100 200; do
      bench "$backend" cluster "$backend/cluster/$kind/$senders" chat --sockets 1000 \
        --senders "$senders" --rate 1 --warmup 2 --duration "$SWEEP_DURATION"
    done
    stop_server
  done
}

# cluster_counters URL...: "COMMITS INSERTED-ROWS REDIS-COMMANDS LOCK-BATCHES
# LOCK-HELD-S LOCK-WAIT-S" so far: PostgreSQL's statistics of the bench
# database, Redis's INFO, and the order lock's histograms of the nodes at URL...
cluster_counters() {
  local db redis lock
  db=$(psql "$DB_URL" -At -F ' ' -c \
    "SELECT xact_commit, tup_inserted FROM pg_stat_database WHERE datname = current_database()" 2>/dev/null)
  redis=$(redis-cli info stats 2>/dev/null | tr -d '\r' | sed -n 's/^total_commands_processed://p')
  lock=$(for u in "$@"; do curl -fsS "$u/metrics"; done 2>/dev/null | awk '
    /^chat_order_lock_held_seconds_count/ { n += $2 } /^chat_order_lock_held_seconds_sum/ { h += $2 }
    /^chat_order_lock_wait_seconds_sum/ { w += $2 } END { printf "%d %.6f %.6f", n, h, w }')
  echo "${db:-0 0} ${redis:-0} ${lock:-0 0 0}"
}

cluster_sweep_profile() { # backend (PostgreSQL)
  # The cluster's ceiling on stored messages: two nodes on one PostgreSQL and
  # one Redis, 500 sockets on each (one chat-bench per node, senders split
  # evenly), the senders raised until a node's p99 > 100 ms or one loses a
  # message. Every insert of either node waits for the advisory lock that
  # orders the nodes' batches (docs/CLUSTER.md).
  local backend=$1 step k rate p99 n pids node line
  local -a urls before after
  "$ROOT/scripts/start-services.sh" >&2 || { log "Redis unavailable: cluster-sweep skipped"; return; }
  redis-cli --scan --pattern 'chat:*' | xargs -r redis-cli del >/dev/null
  for n in 1 2; do
    start_server "$DB_URL" --bcrypt-cost 4 --redis-url redis://127.0.0.1:6379
    EXTRA_PIDS+=("$SERVER_PID"); urls[n]=$URL
  done
  for step in $CLUSTER_SWEEP_STEPS; do
    k=${step%x*}; rate=1
    [[ $step == *x* ]] && rate=${step#*x}
    log "[$backend] cluster-sweep: $k senders at $rate msg/s over two nodes"
    read -r -a before <<<"$(cluster_counters "${urls[@]}")"
    pids=()
    for n in 1 2; do
      "$BENCH_BIN" chat --url "${urls[n]}" --server-pid "${EXTRA_PIDS[n - 1]}" \
        --label "$backend/cluster-sweep/$step/node$n" --user-prefix "sweep$n" --sockets 500 \
        --senders $((k / 2)) --rate "$rate" --warmup 2 --duration "$SWEEP_DURATION" \
        >"$DATA/sweep-node$n.json" 2> >(sed "s/^/    node$n: /" >&2) &
      pids+=($!)
    done
    wait "${pids[@]}"
    # The step's work on the shared services, beside node 1's figures: its
    # PostgreSQL commits and inserted rows, and the Redis commands of all.
    read -r -a after <<<"$(cluster_counters "${urls[@]}")"
    p99=0
    for n in 1 2; do
      line=$(grep -E '^\{' "$DATA/sweep-node$n.json" | tail -1)
      if [ "$n" = 1 ] && [[ $line == \{*\} ]]; then
        line="${line%\}},\"pg_commits\":$((after[0] - before[0])),\"pg_rows_inserted\":$((after[1] - before[1]))"
        line+=",\"redis_commands\":$((after[2] - before[2])),\"lock_batches\":$((after[3] - before[3]))"
        line+=",\"lock_held_s\":$(awk -v a="${after[4]}" -v b="${before[4]}" 'BEGIN { printf "%.6f", a - b }')"
        line+=",\"lock_wait_s\":$(awk -v a="${after[5]}" -v b="${before[5]}" 'BEGIN { printf "%.6f", a - b }')}"
      fi
      record "$backend" cluster-sweep "$backend/cluster-sweep/$step/node$n" "$line"
      node=$(p99_of "$LAST")
      log "[$backend] cluster-sweep: node $n p99 $node ms"
      awk -v a="$node" -v b="$p99" 'BEGIN { exit !(a > b) }' && p99=$node
      grep -q '"lost":0[,}]' <<<"$LAST" || p99=1e9
    done
    above_100ms "$p99" && break
  done
  stop_server
}

run_backend() {
  local backend=$1 p
  DATA=$(mktemp -d /tmp/chat-bench.XXXXXX)
  case $backend in
    sqlite) DB_URL="$DATA/chat_app.db" ;;
    postgres)
      if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        "$ROOT/scripts/start-services.sh" >&2 || { log "PostgreSQL unavailable: skipped"; return; }
      fi
      PG_DB=$(printf 'bench_%04x%04x' $RANDOM $RANDOM)
      psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE $PG_DB" >/dev/null || { log "cannot create $PG_DB: skipped"; PG_DB=; return; }
      DB_URL="${PG_ADMIN_URL%/*}/$PG_DB"
      ;;
    *) die "unknown backend $backend" ;;
  esac
  for p in "${PROFILES[@]}"; do
    case $p in
      chat-100) chat_profile "$backend" "$p" 100 ;;
      chat-400) chat_profile "$backend" "$p" 400 ;;
      sweep) sweep_profile "$backend" ;;
      join-1000 | join-2000)
        start_server "$DB_URL" --bcrypt-cost 4
        bench "$backend" "$p" "$backend/$p" join --sockets "${p#join-}" --timeout 60
        stop_server ;;
      idle-10000)
        start_server "$DB_URL" --bcrypt-cost 4
        bench "$backend" "$p" "$backend/$p" idle --sockets 10000 ${IDLE_USERS:+--users "$IDLE_USERS"} \
          --duration 30 --settle-timeout 120 --http-concurrency 16
        stop_server ;;
      login-12)
        # Users of their own, registered at cost 12 on this server.
        start_server "$DB_URL" --bcrypt-cost 12
        bench "$backend" "$p" "$backend/$p" login --logins 100 --concurrency 16 --user-prefix storm
        stop_server ;;
      saturation)
        if [ "$backend" = sqlite ]; then saturation_profile "$backend"
        else log "[$backend] saturation runs on SQLite only"; fi ;;
      login-chat-12) login_chat_profile "$backend" ;;
      vs-bare-100)
        against_bare "$backend" "$p" "" "" chat --sockets 1000 --senders 100 --rate 1 \
          --warmup "$WARMUP" --duration "$DURATION" ;;
      storm-1000)
        # Pages that reconnect then fetch what they missed (`after_id`): ours only.
        against_bare "$backend" "$p" coalesced --catch-up join --sockets 1000 --connect-concurrency 1000 \
          --timeout 60 ;;
      soak-1000)
        if [ "$backend" = sqlite ]; then soak_profile "$backend"
        else log "[$backend] soak-1000 runs on SQLite only"; fi ;;
      cluster)
        if [ "$backend" = postgres ]; then cluster_profile "$backend"
        else log "[$backend] the cluster runs on PostgreSQL only"; fi ;;
      cluster-sweep)
        if [ "$backend" = postgres ]; then cluster_sweep_profile "$backend"
        else log "[$backend] cluster-sweep runs on PostgreSQL only"; fi ;;
      perf-17)
        # Where issue 17's unmet targets go: chat-100 on the bare server and
        # on chat-server, and chat-server's reconnect storm with catch-up.
        if ! command -v perf >/dev/null; then log "perf is not installed: profiles skipped"
        else
          local servers=ours
          [ "$backend" = sqlite ] && servers="bare ours"
          BENCH_OUT="$BENCH_OUT" PROFILE_BACKEND=$backend PROFILE_SERVERS="$servers" PROFILE_LOAD=100x1 \
            PROFILE_SECONDS=12 "$ROOT/scripts/profile.sh" >&2
          BENCH_OUT="$BENCH_OUT" PROFILE_BACKEND=$backend PROFILE_SERVERS=ours PROFILE_JOIN=1000 PROFILE_STORM=1 \
            PROFILE_SECONDS=6 "$ROOT/scripts/profile.sh" >&2
        fi ;;
      perf)
        if [ "$backend" != sqlite ]; then log "[$backend] perf profiles run with SQLite only"
        elif ! command -v perf >/dev/null; then log "perf is not installed: profiles skipped"
        else
          log "perf profiles (scripts/profile.sh) into $BENCH_OUT"
          BENCH_OUT="$BENCH_OUT" PROFILE_SERVERS="bare ours-1 ours" PROFILE_LOAD=600x1 "$ROOT/scripts/profile.sh" >&2
          BENCH_OUT="$BENCH_OUT" PROFILE_SERVERS=ours PROFILE_JOIN=1000 PROFILE_SECONDS=4 "$ROOT/scripts/profile.sh" >&2
          BENCH_OUT="$BENCH_OUT" PROFILE_SERVERS=ours PROFILE_LOAD=100x1 PROFILE_STORMS=1 PROFILE_SECONDS=12 \
            "$ROOT/scripts/profile.sh" >&2
        fi ;;
    esac
    # A room in service has planner statistics (autovacuum analyzes within a
    # minute of a change); a profile that just stored thousands of messages
    # would leave the next one's first seconds without (docs/BENCHMARKS.md,
    # target 3's catch-up).
    [ -n "$PG_DB" ] && psql "$DB_URL" -q -c "ANALYZE" >/dev/null 2>&1
  done
  if [ -n "$PG_DB" ]; then
    psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1
    PG_DB=
  fi
  rm -rf "$DATA"; DATA=
}

START=$(date +%s)
for b in "${BACKENDS[@]}"; do run_backend "$b"; done
log "all runs done in $(($(date +%s) - START)) s; results in $RESULTS"
report
