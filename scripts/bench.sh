#!/usr/bin/env bash
# Benchmarks of the chat server with chat-bench, release builds, on this machine.
#
#   scripts/bench.sh                 every profile, on SQLite then PostgreSQL
#   scripts/bench.sh chat-400 join-1000   only those profiles
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
# $BENCH_OUT/profile-*.txt).
#
# Each profile gets fresh server processes (bcrypt cost 4 for the set-up, cost
# 12 for the login profiles' storms); each backend a fresh database: SQLite in a temporary folder, and on
# PostgreSQL a database bench_<random> created through $BENCH_POSTGRES_URL and
# dropped afterwards. Every JSON line goes to $BENCH_OUT/results.jsonl, and the
# tables of docs/BENCHMARKS.md (between its bench markers) are rewritten from
# them (results of profiles not run this time are kept). BENCH_REPORT_ONLY=1
# only rewrites the tables from an existing results.jsonl; BENCH_DOC names
# another page to write.
#
# Only loopback addresses are used. The load generator shares the machine's
# cores with the server: the numbers are those of both together.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

ALL_PROFILES=(chat-100 chat-400 sweep join-1000 join-2000 idle-10000 login-12 saturation login-chat-12 cluster perf)
PROFILES=("$@")
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
IDLE_USERS="${BENCH_IDLE_USERS:-1000}"
# Saturation: SENDERSxRATE steps, raised until every server's p99 > 100 ms.
SATURATION_STEPS="${BENCH_SATURATION_STEPS:-200x1 400x1 600x1 800x1 1000x1 1000x1.3 1000x1.6 1000x1.9}"
BARE_BIN="$ROOT/target/release/examples/bare_server"

mkdir -p "$BENCH_OUT"
RESULTS="$BENCH_OUT/results.jsonl"
if [ -z "${BENCH_REPORT_ONLY:-}" ]; then
: >"$RESULTS"

log "cargo build --release (chat-server, chat-bench, bare_server)"
cargo build --release --locked -p chat-server -p chat-bench >&2 || die "release build failed"
cargo build --release --locked -p chat-bench --example bare_server >&2 || die "release build failed"

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
  record "$backend" "$profile" "$line"
}
# record BACKEND PROFILE JSON-LINE: keep one run's line, tagged.
record() {
  local line=$3 commit
  [ -n "$line" ] || line='{"ok":false,"error":"chat-bench printed nothing"}'
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
  [ -n "$(git status --porcelain --untracked-files=no -- crates 2>/dev/null)" ] && commit+="+uncommitted"
  python3 -c '
import json, sys
r = json.loads(sys.argv[1]); r["backend"] = sys.argv[2]; r["profile"] = sys.argv[3]; r["commit"] = sys.argv[4]
print(json.dumps(r))' "$line" "$1" "$2" "$commit" >>"$RESULTS"
  LAST="$line"
}
p99_of() { python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print((r.get("latency_ms") or {}).get("p99", 1e9))' "$1"; }
above_100ms() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 100 else 1)' "$1"; }

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
  record "$backend" login-chat-12 "$(grep -E '^\{' "$chat_out" | tail -1)"
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

run_backend() {
  local backend=$1 p
  DATA=$(mktemp -d /tmp/chat-bench.XXXXXX)
  case $backend in
    sqlite) DB_URL="$DATA/chat_app.db" ;;
    postgres)
      if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        "$ROOT/scripts/start-services.sh" >&2 || { log "PostgreSQL unavailable: skipped"; return; }
      fi
      PG_DB="bench_$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
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
      cluster)
        if [ "$backend" = postgres ]; then cluster_profile "$backend"
        else log "[$backend] the cluster runs on PostgreSQL only"; fi ;;
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
fi # BENCH_REPORT_ONLY: only rewrite the tables from an existing $RESULTS

# The tables of docs/BENCHMARKS.md, rebuilt from these results and the ones
# already in the document (kept for profiles not run this time).
python3 - "$RESULTS" "$DOC" <<'PY'
import datetime, json, os, platform, re, subprocess, sys

results_path, doc_path = sys.argv[1], sys.argv[2]
BEGIN, END = "<!-- bench:begin (generated by scripts/bench.sh) -->", "<!-- bench:end -->"
doc = open(doc_path).read() if os.path.exists(doc_path) else ""
old = {}
m = re.search(r"```jsonl\n(.*?)```", doc[doc.find(BEGIN):] if BEGIN in doc else "", re.S)
if m:
    for line in m.group(1).splitlines():
        try:
            r = json.loads(line); old[r["label"]] = r
        except Exception:
            pass
new = {}
for line in open(results_path):
    line = line.strip()
    if line:
        r = json.loads(line); new[r["label"]] = r
# A profile run this time replaces all of its old lines (a sweep may stop earlier).
ran = {(r["backend"], r["profile"]) for r in new.values()}
rows = {k: v for k, v in old.items() if (v.get("backend"), v.get("profile")) not in ran}
rows.update(new)
when = {}
for r in new.values():
    r.setdefault("date", datetime.date.today().isoformat())

def cpu_model():
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

def mem_gib():
    try:
        for l in open("/proc/meminfo"):
            if l.startswith("MemTotal"):
                return round(int(l.split()[1]) / 1024 / 1024)
    except OSError:
        return "?"

def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "?"
commit = git("rev-parse", "--short", "HEAD")
dirty = git("status", "--porcelain", "--untracked-files=no", "--", "crates")
for r in new.values():
    # Stamped when the run was recorded; this is only for lines without one
    # (kept from the page when it has the same run).
    r.setdefault("commit", old.get(r["label"], {}).get("commit")
                 or commit + ("+uncommitted" if dirty and dirty != "?" else ""))
machine = f"{os.cpu_count()} cores ({cpu_model()}), {mem_gib()} GiB, {platform.system()} {platform.release()}"
for r in new.values():
    r.setdefault("machine", old.get(r["label"], {}).get("machine") or machine)

def g(r, *path, fmt="{}", default="–"):
    v = r
    for p in path:
        if not isinstance(v, dict) or p not in v or v[p] is None:
            return default
        v = v[p]
    return fmt.format(v)

def ms(r, k, q):
    return g(r, k, q, fmt="{:.1f}")

order = ["sqlite", "postgres"]
def sort_key(r):
    b = r.get("backend", "")
    return (order.index(b) if b in order else 9, r.get("senders") or 0, r.get("rate") or 0, r.get("label"))

def table(header, rs, cells):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in sorted(rs, key=sort_key):
        out.append("| " + " | ".join(cells(r)) + " |")
    return "\n".join(out)

def server_cpu(r):
    return g(r, "server", "cpu_pct", fmt="{:.0f} %")

def chat_cells(r):
    return [r.get("backend", "?"), g(r, "senders"), g(r, "rate"), g(r, "sent"), g(r, "acked"), g(r, "refused"),
            f'{g(r, "delivered")} / {g(r, "expected")}', g(r, "lost"),
            g(r, "deliveries_per_s", fmt="{:.0f}"),
            ms(r, "latency_ms", "p50"), ms(r, "latency_ms", "p90"), ms(r, "latency_ms", "p99"),
            ms(r, "latency_ms", "max"), ms(r, "ack_ms", "p50"), ms(r, "ack_ms", "p99"),
            server_cpu(r), g(r, "server", "rss_kb_after", fmt="{:,} kB"),
            g(r, "bench_cpu_s", fmt="{:.1f} s"), g(r, "loadavg_at_start", fmt="{:.1f}"), g(r, "date")]
CHAT_H = ["backend", "senders", "msg/s each", "sent", "acked", "refused", "delivered / expected", "lost",
          "deliveries/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "ack p50 ms", "ack p99 ms",
          "server CPU", "server RSS", "bench CPU", "load", "date"]

sections = []
titles = {
    "chat-100": "chat-100: 1,000 sockets, 100 senders at 1 msg/s",
    "chat-400": "chat-400: 1,000 sockets, 400 senders at 1 msg/s",
    "sweep": "sweep: 1,000 sockets, senders raised until p99 > 100 ms",
    "join-1000": "join-1000: 1,000 users join one after another",
    "join-2000": "join-2000: 2,000 users join one after another",
    "idle-10000": "idle-10000: 10,000 idle sockets",
    "login-12": "login-12: login storm at bcrypt cost 12",
    "saturation": "saturation: the same loads against bare socketioxide and chat-server, turn by turn",
    "login-chat-12": "login-chat-12: login storms at bcrypt cost 12 while 300 sockets chat",
    "cluster": "cluster: one node alone, then one node of a two-node cluster (PostgreSQL + Redis)",
}

def kind_of(r):  # backend/profile/KIND/step
    parts = r.get("label", "").split("/")
    return parts[2] if len(parts) > 3 else "?"

def within(r):
    return r.get("lost") == 0 and (r.get("latency_ms") or {}).get("p99", 1e9) <= 100

def saturation_point(rs):
    """Highest deliveries/s with nothing lost and p99 <= 100 ms, or None when
    no step went past that (the load never saturated the server)."""
    if all(within(r) for r in rs):
        return None
    return max((r["deliveries_per_s"] for r in rs if within(r)), default=0.0)

def saturation_line(mine, bare, kind):
    if bare is None or mine is None:
        who = "the bare server" if bare is None else KINDS[kind]
        return f"not found: {who} stayed within p99 ≤ 100 ms at every step", False
    share = mine / bare if bare else 0
    return f"{mine:,.0f} against {bare:,.0f} deliveries/s at p99 ≤ 100 ms ({share:.0%})", share >= 0.9

KINDS = {"bare": "bare socketioxide", "ours-1": "chat-server, 1 worker", "ours": "chat-server, default workers"}

def saturation_table(rs):
    steps = sorted({(r.get("senders"), r.get("rate")) for r in rs}, key=lambda x: (x[0] or 0) * (x[1] or 0))
    out = ["| senders × msg/s | " + " | ".join(f"{v}: deliveries/s, p50 / p99 ms, CPU" for v in KINDS.values()) + " |",
           "|---|" + "---|" * len(KINDS)]
    for (k, rate) in steps:
        cells = []
        for kind in KINDS:
            m = [r for r in rs if kind_of(r) == kind and r.get("senders") == k and r.get("rate") == rate]
            if not m:
                cells.append("–")
                continue
            r = m[0]
            cells.append(f'{g(r, "deliveries_per_s", fmt="{:,.0f}")}, {ms(r, "latency_ms", "p50")} / '
                         f'{ms(r, "latency_ms", "p99")}, {server_cpu(r)}' + ("" if r.get("lost") == 0 else f', lost {g(r, "lost")}'))
        out.append(f"| {k} × {rate} | " + " | ".join(cells) + " |")
    out.append("")
    for backend in sorted({r.get("backend") for r in rs}):
        b = [r for r in rs if r.get("backend") == backend]
        bare = saturation_point([r for r in b if kind_of(r) == "bare"])
        for kind in ("ours-1", "ours"):
            mine = saturation_point([r for r in b if kind_of(r) == kind])
            out.append(f"- {backend}, {KINDS[kind]}: " + saturation_line(mine, bare, kind)[0] + ".")
    return "\n".join(out)

for prof, title in titles.items():
    rs = [r for r in rows.values() if r.get("profile") == prof]
    if not rs:
        continue
    s = [f"### {title}", ""]
    if prof == "saturation":
        s.append(saturation_table(rs))
    elif prof in ("cluster", "login-chat-12"):
        chats = [r for r in rs if r.get("mode") == "chat"]
        if chats:
            s.append(table(["run"] + CHAT_H, chats, lambda r: [r.get("label", "?").split("/", 2)[-1]] + chat_cells(r)))
        storms = [r for r in rs if r.get("mode") == "login"]
        if storms:
            s.append("")
            s.append(table(
                ["run", "logins", "errors", "logins/s", "p50 ms", "p99 ms", "server CPU", "date"],
                storms, lambda r: [r.get("label", "?").split("/", 2)[-1], g(r, "logins"), g(r, "login_errors"),
                                   g(r, "logins_per_s", fmt="{:.1f}"), ms(r, "login_ms", "p50"),
                                   ms(r, "login_ms", "p99"), server_cpu(r), g(r, "date")]))
    elif prof.startswith("chat") or prof == "sweep":
        s.append(table(CHAT_H, rs, chat_cells))
    elif prof.startswith("join"):
        s.append(table(
            ["backend", "users", "connected", "all connected ms", "settled ms", "settled sockets",
             "connect p50 ms", "connect p99 ms", "online_users events", "server CPU s", "server RSS", "date"],
            rs, lambda r: [r.get("backend", "?"), g(r, "sockets"), g(r, "connected"),
                           g(r, "connect_all_ms", fmt="{:.0f}"), g(r, "settle_ms", fmt="{:.0f}", default="not settled"),
                           g(r, "settled"), ms(r, "connect_ms", "p50"), ms(r, "connect_ms", "p99"),
                           g(r, "online_users_events", fmt="{:,}"), g(r, "server", "cpu_s", fmt="{:.1f}"),
                           g(r, "server", "rss_kb_after", fmt="{:,} kB"), g(r, "date")]))
    elif prof.startswith("idle"):
        s.append(table(
            ["backend", "sockets", "users", "connected", "disconnects", "connect p50 ms", "connect p99 ms",
             "all connected ms", "settled ms", "server RSS before", "server RSS after", "bytes/socket", "date"],
            rs, lambda r: [r.get("backend", "?"), g(r, "sockets"), g(r, "users"), g(r, "connected"),
                           g(r, "disconnects"), ms(r, "connect_ms", "p50"), ms(r, "connect_ms", "p99"),
                           g(r, "connect_all_ms", fmt="{:.0f}"), g(r, "settle_ms", fmt="{:.0f}", default="not settled"),
                           g(r, "server", "rss_kb_before", fmt="{:,} kB"), g(r, "server", "rss_kb_after", fmt="{:,} kB"),
                           g(r, "server_bytes_per_socket", fmt="{:,.0f}"), g(r, "date")]))
    else:
        s.append(table(
            ["backend", "logins", "concurrency", "errors", "logins/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
             "server CPU", "date"],
            rs, lambda r: [r.get("backend", "?"), g(r, "logins"), g(r, "concurrency"), g(r, "login_errors"),
                           g(r, "logins_per_s", fmt="{:.1f}"), ms(r, "login_ms", "p50"), ms(r, "login_ms", "p90"),
                           ms(r, "login_ms", "p99"), ms(r, "login_ms", "max"), server_cpu(r), g(r, "date")]))
    failed = [r for r in rs if not r.get("ok")]
    for r in failed:
        s.append("")
        s.append(f'`{r["label"]}` did not pass its own checks' + (f': {r["error"]}' if r.get("error") else "") + ".")
    sections.append("\n".join(s))

def one(label):
    return rows.get(label)

def p99(r):
    return (r or {}).get("latency_ms", {}).get("p99")

def verdict(ok):
    return "**met**" if ok else "not met"

targets = ["| target | measured | |", "|---|---|---|"]
for backend in ("sqlite", "postgres"):
    r = one(f"{backend}/chat-400")
    if r:
        ok = r.get("lost") == 0 and r.get("unacked") == 0 and p99(r) is not None and p99(r) < 50
        targets.append(f"| 1. {backend}: 400 senders, all delivered, p99 < 50 ms | "
                       f'{g(r, "delivered")} of {g(r, "expected")} delivered, p99 {ms(r, "latency_ms", "p99")} ms | {verdict(ok)} |')
for backend in ("sqlite", "postgres"):
    r = one(f"{backend}/chat-100")
    if r:
        ok = r.get("lost") == 0 and p99(r) is not None and p99(r) < 15
        targets.append(f"| 1. {backend}: 100 senders, p99 < 15 ms | p99 {ms(r, 'latency_ms', 'p99')} ms | {verdict(ok)} |")
sat = [r for r in rows.values() if r.get("profile") == "saturation"]
if sat:
    bare = saturation_point([r for r in sat if kind_of(r) == "bare"])
    for kind in ("ours-1", "ours"):
        mine = saturation_point([r for r in sat if kind_of(r) == kind])
        text, ok = saturation_line(mine, bare, kind)
        targets.append(f"| 2. saturation ≥ 90 % of bare socketioxide ({KINDS[kind]}) | {text} | {verdict(ok)} |")
for n, limit in ((1000, 1500), (2000, 4000)):
    for backend in ("sqlite", "postgres"):
        r = one(f"{backend}/join-{n}")
        if r:
            settle = r.get("settle_ms")
            ok = settle is not None and r.get("settled") == n and settle <= limit
            targets.append(f"| 3. {backend}: join {n:,} settled within {limit / 1000:g} s | "
                           f'{g(r, "settle_ms", fmt="{:,.0f}", default="not settled")} ms | {verdict(ok)} |')
for backend in ("sqlite", "postgres"):
    r = one(f"{backend}/idle-10000")
    if r:
        b = r.get("server_bytes_per_socket")
        ok = r.get("connected") == 10000 and b is not None and b <= 10000
        targets.append(f"| 4. {backend}: ≤ 10 kB per idle socket, 10,000 held | "
                       f'{g(r, "connected")} held, {g(r, "server_bytes_per_socket", fmt="{:,.0f}")} bytes/socket '
                       f'({g(r, "users")} users) | {verdict(ok)} |')
for backend in ("sqlite", "postgres"):
    chat = one(f"{backend}/login-chat-12/chat")
    storms = [r for r in rows.values() if r.get("label", "").startswith(f"{backend}/login-chat-12/storm-")]
    alone = one(f"{backend}/login-12")
    if chat and storms:
        # All the storms together: their logins over their summed durations.
        spent = sum(r["logins"] / r["logins_per_s"] for r in storms if r.get("logins_per_s"))
        rate = sum(r.get("logins") or 0 for r in storms) / spent if spent else 0.0
        ceiling = (alone or {}).get("logins_per_s")
        share = rate / ceiling if ceiling else None
        ok = p99(chat) is not None and p99(chat) < 50 and chat.get("lost") == 0 and share is not None and share >= 0.9
        targets.append(f"| 5. {backend}: logins at cost 12 ≥ 90 % of the cores' rate, chat p99 < 50 ms | "
                       f"chat p99 {ms(chat, 'latency_ms', 'p99')} ms; storms {rate:.1f} logins/s"
                       + (f" against {ceiling:.1f}/s with no chat ({share:.0%})" if ceiling else "") + f" | {verdict(ok)} |")
if len(targets) > 2:
    sections.insert(0, "### Targets of issue 6, from these runs\n\n" + "\n".join(targets) + "\n")

machines = sorted({r.get("machine", "?") for r in rows.values()})
commits = sorted({r.get("commit", "?") for r in rows.values()})
block = [BEGIN, "", "Machine: " + "; ".join(machines) + ". Server at commit " + ", ".join(commits) + ". "
         "The load generator (two threads) runs on the same cores as the server; `load` is the "
         "machine's 1-minute load average when the run started (other work on the machine shows there).", ""]
block += [s + "\n" for s in sections]
block += ["<details><summary>Raw results (one JSON line per run)</summary>", "", "```jsonl"]
block += [json.dumps(r, ensure_ascii=False) for r in sorted(rows.values(), key=lambda r: r["label"])]
block += ["```", "", "</details>", "", END]
block = "\n".join(block)
if BEGIN in doc and END in doc:
    doc = doc[:doc.find(BEGIN)] + block + doc[doc.find(END) + len(END):]
else:
    doc = "# Benchmarks\n\nMeasured with `scripts/bench.sh`.\n\n" + block + "\n"
open(doc_path, "w").write(doc)
print(f"wrote {doc_path}", file=sys.stderr)
PY
