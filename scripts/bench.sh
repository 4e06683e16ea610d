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
# login-12 (login storm at bcrypt cost 12, on a server started with that cost).
#
# Each profile gets a fresh server process (bcrypt cost 4 for the set-up, except
# login-12); each backend a fresh database: SQLite in a temporary folder, and on
# PostgreSQL a database bench_<random> created through $BENCH_POSTGRES_URL and
# dropped afterwards. Every JSON line goes to $BENCH_OUT/results.jsonl, and the
# tables of docs/BENCHMARKS.md (between its bench markers) are rewritten from
# them (results of profiles not run this time are kept). BENCH_REPORT_ONLY=1
# only rewrites the tables from an existing results.jsonl.
#
# Only loopback addresses are used. The load generator shares the machine's
# cores with the server: the numbers are those of both together.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

ALL_PROFILES=(chat-100 chat-400 sweep join-1000 join-2000 idle-10000 login-12)
PROFILES=("$@")
[ ${#PROFILES[@]} -eq 0 ] && PROFILES=("${ALL_PROFILES[@]}")
for p in "${PROFILES[@]}"; do
  [[ " ${ALL_PROFILES[*]} " == *" $p "* ]] || die "unknown profile $p (known: ${ALL_PROFILES[*]})"
done
read -r -a BACKENDS <<<"${BENCH_BACKENDS:-sqlite postgres}"
PG_ADMIN_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BENCH_OUT="${BENCH_OUT:-$ROOT/target/bench}"
DOC="$ROOT/docs/BENCHMARKS.md"
SERVER_BIN="$ROOT/target/release/chat-server"
BENCH_BIN="$ROOT/target/release/chat-bench"
# Chat profiles: seconds of warm-up and of measurement.
WARMUP="${BENCH_WARMUP:-3}"
DURATION="${BENCH_DURATION:-15}"
SWEEP_DURATION="${BENCH_SWEEP_DURATION:-10}"
SWEEP_STEPS="${BENCH_SWEEP_STEPS:-100 200 400 600 800 1000 1000x1.5 1000x1.9}"
IDLE_USERS="${BENCH_IDLE_USERS:-1000}"

mkdir -p "$BENCH_OUT"
RESULTS="$BENCH_OUT/results.jsonl"
if [ -z "${BENCH_REPORT_ONLY:-}" ]; then
: >"$RESULTS"

log "cargo build --release (chat-server, chat-bench)"
cargo build --release --locked -p chat-server -p chat-bench >&2 || die "release build failed"

# Up to ten thousand sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "open files limit: $(ulimit -n)"

SERVER_PID= DATA=
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
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=
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

# bench BACKEND PROFILE LABEL [chat-bench args]: one run, its JSON line kept.
bench() {
  local backend=$1 profile=$2 label=$3; shift 3
  log "[$backend] $label: chat-bench $*"
  local line
  line=$("$BENCH_BIN" "$@" --url "$URL" --server-pid "$SERVER_PID" --label "$label" \
    2> >(sed 's/^/    /' >&2))
  [ -n "$line" ] || line='{"ok":false,"error":"chat-bench printed nothing"}'
  python3 -c '
import json, sys
r = json.loads(sys.argv[1]); r["backend"] = sys.argv[2]; r["profile"] = sys.argv[3]
print(json.dumps(r))' "$line" "$backend" "$profile" >>"$RESULTS"
  LAST="$line"
}

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
    p99=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print((r.get("latency_ms") or {}).get("p99", 1e9))' "$LAST")
    log "[$1] sweep: $k senders at $rate msg/s, p99 $p99 ms"
    if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 100 else 1)' "$p99"; then
      break
    fi
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
    r["commit"] = commit + ("+uncommitted" if dirty and dirty != "?" else "")
machine = f"{os.cpu_count()} cores ({cpu_model()}), {mem_gib()} GiB, {platform.system()} {platform.release()}"
for r in new.values():
    r["machine"] = machine

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
}
for prof, title in titles.items():
    rs = [r for r in rows.values() if r.get("profile") == prof]
    if not rs:
        continue
    s = [f"### {title}", ""]
    if prof.startswith("chat") or prof == "sweep":
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
