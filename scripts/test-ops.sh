#!/usr/bin/env bash
# Tests of the deployment files that need no Docker engine: Dockerfile and
# Compose file (static checks), the container entrypoint and the cleanup
# scheduler (run for real outside Docker, with temp folders), the cron line
# and scripts/install-cron.sh, and the systemd units (systemd-analyze verify).
#
# The parts that need the real binaries use target/debug/chat-server and
# target/debug/chat-cleanup (build them: cargo build -p chat-server -p chat-cleanup;
# override with CHAT_SERVER_BIN / CHAT_CLEANUP_BIN). They are skipped with a
# message while the binaries are missing or placeholders, unless
# OPS_REQUIRE_BINARIES=1, which turns those skips into failures.
#
# Usage: scripts/test-ops.sh        Last line: "N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT" || exit 1

CHAT_CLEANUP_BIN="${CHAT_CLEANUP_BIN:-$ROOT/target/debug/chat-cleanup}"
STRICT=${OPS_REQUIRE_BINARIES:-0}
passed=0 failed=0 skipped=0
TMP=$(mktemp -d /tmp/chat-ops.XXXXXX)
bg_pids=()

finish() {
  local p
  for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  # Stubs orphaned by a broken entrypoint: processes running from our temp folder.
  for p in /proc/[0-9]*; do
    grep -qF "$TMP/" "$p/cmdline" 2>/dev/null && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap finish EXIT

section() { printf '\n\033[1m%s\033[0m\n' "$*"; }
ok() { passed=$((passed + 1)); printf '  ok    %s\n' "$1"; }
ko() {
  failed=$((failed + 1))
  printf '  \033[31mFAIL\033[0m  %s\n' "$1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | tail -20 | sed 's/^/        /'; fi
}
skip() {
  skipped=$((skipped + 1))
  printf '  \033[33mskip\033[0m  %s: %s\n' "$1" "$2"
}
# skip_bin: a skip for want of the real binaries (a failure when STRICT).
skip_bin() {
  if [ "$STRICT" = 1 ]; then ko "$1 (skipped: $2; OPS_REQUIRE_BINARIES=1)"; return; fi
  skip "$@"
}
# check NAME CMD...: passes when CMD succeeds; shows its output when it fails.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else ko "$name" "$out"; fi
}
# check_fails NAME CMD...: passes when CMD fails.
check_fails() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ko "$name (it succeeded)" "$out"; else ok "$name"; fi
}
# eventually SECONDS CMD...: CMD succeeds within SECONDS.
eventually() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
gone() { ! kill -0 "$1" 2>/dev/null; }
# wait_exit PID SECONDS: waits for our child PID; sets rc (124 on timeout).
wait_exit() {
  if eventually "$2" gone "$1"; then
    wait "$1"
    rc=$?
  else
    rc=124
  fi
}
# The pid of the cleanup scheduler started by process $1, if any.
sched_of() {
  local p
  for p in $(ps -o pid= --ppid "$1"); do
    grep -q cleanup-scheduler "/proc/$p/cmdline" 2>/dev/null && { echo "$p"; return; }
  done
}
# HH:MM:SS, N seconds from now (local time).
clock_in() { date -d "@$(($(date +%s) + $1))" +%H:%M:%S; }
# The binary is the real one (not missing, not a placeholder).
real_bin() { [ -x "$1" ] && "$1" --help 2>&1 | grep -q -- '--database-url'; }

have_server=0 have_cleanup=0
real_bin "$CHAT_SERVER_BIN" && have_server=1
real_bin "$CHAT_CLEANUP_BIN" && have_cleanup=1
no_bin_reason="real binaries not built (cargo build -p chat-server -p chat-cleanup)"

# Stubs standing in for the binaries where only the scripts are under test.
STUB=$TMP/stub-bin
mkdir -p "$STUB"
cat >"$STUB/chat-server" <<'EOF'
#!/bin/sh
# Stub server: records its pid, args and env, exits 0 on SIGTERM.
{ echo "pid=$$"; echo "args=$*"; echo "db=$DATABASE_URL"; } >"$STUB_OUT.tmp"
mv "$STUB_OUT.tmp" "$STUB_OUT"
trap 'echo stopped >>"$STUB_OUT"; exit 0' TERM
while :; do sleep 0.1; done
EOF
cat >"$STUB/chat-cleanup" <<'EOF'
#!/bin/sh
# Stub cleanup: appends its args and env to CLEANUP_OUT, exits CLEANUP_RC.
[ "${1:-}" = --help ] && { echo "usage: chat-cleanup [--database-url URL] [--dry-run]"; exit 0; }
echo "run args=$* db=$DATABASE_URL up=${UPLOAD_DIR:-}" >>"${CLEANUP_OUT:-/dev/null}"
exit "${CLEANUP_RC:-0}"
EOF
chmod +x "$STUB/chat-server" "$STUB/chat-cleanup"

# ---------------------------------------------------------------------------
section "Scripts"
for f in scripts/docker-entrypoint.sh scripts/cleanup-scheduler.sh scripts/install-cron.sh scripts/test-ops.sh; do
  check "$f is executable" test -x "$f"
done
check "docker-entrypoint.sh is valid POSIX sh (dash -n)" dash -n scripts/docker-entrypoint.sh
check "cleanup-scheduler.sh is valid POSIX sh (dash -n)" dash -n scripts/cleanup-scheduler.sh
check "install-cron.sh is valid bash" bash -n scripts/install-cron.sh
if command -v shellcheck >/dev/null; then
  check "shellcheck" shellcheck -x scripts/docker-entrypoint.sh scripts/cleanup-scheduler.sh scripts/install-cron.sh scripts/test-ops.sh
else
  skip "shellcheck" "not installed"
fi

# ---------------------------------------------------------------------------
section "Dockerfile (static checks; no Docker engine here)"
df=Dockerfile
dfgrep() { grep -Eq -- "$1" "$df"; }
check "builder stage is rust:1-bookworm" dfgrep '^FROM rust:1-bookworm AS [a-z]+'
check "builder installs libpq-dev" dfgrep 'apt-get install .*libpq-dev'
check "builds both binaries with --locked" dfgrep 'cargo build --release --locked -p chat-server -p chat-cleanup'
check "runtime stage is debian:bookworm-slim" dfgrep '^FROM debian:bookworm-slim'
check "runtime installs libpq5, ca-certificates, curl" dfgrep 'apt-get install .*libpq5 ca-certificates curl'
check "user chat has uid 10001" dfgrep 'useradd .*--uid 10001 .*chat'
check "/data belongs to chat" dfgrep 'chown -R chat:chat /data'
check "runs as USER chat" dfgrep '^USER chat$'
check "WORKDIR /app" dfgrep '^WORKDIR /app$'
check "binaries go to /usr/local/bin" dfgrep '^COPY --from=[a-z]+ .*chat-server .*chat-cleanup /usr/local/bin/$'
check "web/ goes to /app/web" dfgrep '^COPY web/ /app/web/$'
for kv in DATABASE_URL=/data/db/chat_app.db UPLOAD_DIR=/data/uploads LOG_DIR=/data/logs WEB_DIR=/app/web; do
  check "ENV $kv" dfgrep "(ENV|^) +${kv}( |$)"
done
check 'VOLUME ["/data/db", "/data/uploads", "/data/logs"]' dfgrep '^VOLUME \["/data/db", "/data/uploads", "/data/logs"\]$'
check "EXPOSE 5000" dfgrep '^EXPOSE 5000$'
check "HEALTHCHECK present" dfgrep '^HEALTHCHECK '
check "HEALTHCHECK command" dfgrep 'CMD curl -fsS .*http://127.0.0.1:\$\{PORT:-5000\}/healthz'
check "ENTRYPOINT is the entrypoint script (exec form)" dfgrep '^ENTRYPOINT \["/usr/local/bin/docker-entrypoint.sh"\]$'
check "the entrypoint execs chat-server" grep -Eq '^exec chat-server "\$@"$' scripts/docker-entrypoint.sh
# Every COPY source of the build context must exist and not be dockerignored.
copy_sources() { sed -n 's/^COPY \([^-][^ ]*\( [^ ]*\)*\) [^ ]*$/\1/p' "$df" | tr ' ' '\n'; }
for src in $(copy_sources); do
  [ "$src" = . ] && continue
  if [ ! -e "$src" ]; then
    if [ "$src" = web/ ]; then skip "COPY source $src exists" "web/ is not written yet"; else ko "COPY source $src exists"; fi
    continue
  fi
  top=${src%%/*}
  if grep -Eqx -- "/?(\*\*/)?$top/?" .dockerignore; then ko "COPY source $src is not in .dockerignore"; else ok "COPY source $src exists, not dockerignored"; fi
done
for pat in target node_modules .venv .git data; do
  check ".dockerignore excludes $pat" grep -Eqx -- "(\*\*/)?$pat" .dockerignore
done
if command -v hadolint >/dev/null; then
  check "hadolint" hadolint --ignore DL3008 "$df"
else
  skip "hadolint" "not installed"
fi

# ---------------------------------------------------------------------------
section "docker-compose.yml"
if python3 -c 'import yaml' 2>/dev/null; then
  out=$(python3 - docker-compose.yml <<'EOF' 2>&1
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
errors = []
def expect(cond, what):
    if not cond: errors.append(what)
svc = doc.get("services", {}).get("chat")
expect(svc is not None, "service chat")
svc = svc or {}
b = svc.get("build")
expect(b == "." or (isinstance(b, dict) and b.get("context", ".") == "."), "build from the Dockerfile in .")
expect("5000:5000" in [str(p) for p in svc.get("ports", [])], 'port "5000:5000"')
vols = svc.get("volumes", [])
for name, path in (("db", "/data/db"), ("uploads", "/data/uploads"), ("logs", "/data/logs")):
    expect(f"{name}:{path}" in vols, f"volume {name}:{path}")
    expect(name in (doc.get("volumes") or {}), f"named volume {name} declared")
expect(svc.get("restart") == "unless-stopped", "restart: unless-stopped")
hc = svc.get("healthcheck", {})
expect(any("/healthz" in str(t) for t in hc.get("test", [])), "healthcheck on /healthz")
expect("stop_grace_period" in svc, "stop_grace_period")
env = svc.get("environment", {})
for k in ("DATABASE_URL", "UPLOAD_DIR", "LOG_DIR", "RETENTION_DAYS"):
    expect(k in env, f"environment {k}")
expect(str(env.get("UPLOAD_DIR")) == "/data/uploads", "UPLOAD_DIR inside the uploads volume")
expect(str(env.get("LOG_DIR")) == "/data/logs", "LOG_DIR inside the logs volume")
expect("/data/db/" in str(env.get("DATABASE_URL")), "DATABASE_URL inside the db volume")
if errors:
    print("missing or wrong: " + "; ".join(errors)); sys.exit(1)
EOF
  ) && ok "compose file parses and has the chat service as specified" || ko "compose file" "$out"
else
  skip "compose file" "python3 has no yaml module"
fi
check "compose file tells how to run the cleanup ad hoc" grep -q 'docker compose exec chat chat-cleanup --dry-run' docker-compose.yml

# ---------------------------------------------------------------------------
section "Cleanup scheduler: next-run computation"
next_at() { CLEANUP_NOW=$2 scripts/cleanup-scheduler.sh --at "$1" --next-run; }
while read -r at now want; do
  got=$(next_at "$at" "$now" 2>&1)
  [ "$got" = "$want" ] && ok "at $at, from $now: next run in ${want}s" || ko "at $at, from $now: want ${want}s, got '$got'"
done <<'EOF'
02:00 01:00:00 3600
02:00 01:59:59 1
02:00 02:00:00 86400
02:00 02:00:01 86399
02:00 03:00:00 82800
02:00 00:00:00 7200
02:00 23:59:59 7201
02:00 12:34:56 48304
23:30 23:45:00 85500
08:09 08:00:00 540
00:00 23:59:00 60
EOF
check "default time is 02:00" test "$(env -u CLEANUP_AT CLEANUP_NOW=01:00:00 scripts/cleanup-scheduler.sh --next-run)" = 3600
check "CLEANUP_AT sets the time" test "$(CLEANUP_AT=03:15 CLEANUP_NOW=03:00:00 scripts/cleanup-scheduler.sh --next-run)" = 900
# Against the real clock, in several zones: the next 02:00 of that zone.
for tz in UTC Asia/Kolkata America/New_York; do
  got=$(TZ=$tz scripts/cleanup-scheduler.sh --next-run 2>&1)
  want=$(TZ=$tz python3 -c '
import datetime as d, time
now = d.datetime.now().replace(microsecond=0)
t = now.replace(hour=2, minute=0, second=0)
if t <= now: t += d.timedelta(days=1)
print(int((t - now).total_seconds()))')
  if [[ $got =~ ^[0-9]+$ ]] && ((got - want <= 2 && want - got <= 2)); then
    ok "TZ=$tz: next 02:00 in ${got}s"
  else
    ko "TZ=$tz: want ~${want}s, got '$got'"
  fi
done
for bad in 24:00 2:5 12:60 abc "" 02:00:61; do
  check_fails "invalid time '$bad' is refused" scripts/cleanup-scheduler.sh --at "$bad" --next-run
done
out=$(CLEANUP_AT=off scripts/cleanup-scheduler.sh 2>&1) && [[ $out == *disabled* ]] && ok "CLEANUP_AT=off disables it (exit 0)" || ko "CLEANUP_AT=off" "$out"

section "Cleanup scheduler: running"
S=$TMP/sched
mkdir -p "$S"
at=$(clock_in 2)
start=$(date +%s)
out=$(CLEANUP_BIN="$STUB/chat-cleanup" CLEANUP_OUT="$S/runs" DATABASE_URL=/x/chat.db CLEANUP_POLL_SECONDS=1 \
  timeout 10 scripts/cleanup-scheduler.sh --once-at "$at" -- --retention-days 3 2>&1)
rc=$?
took=$(($(date +%s) - start))
[ "$rc" = 0 ] && ok "--once-at $at ran and exited 0 after ${took}s" || ko "--once-at exit status $rc" "$out"
check "it ran chat-cleanup once, with the args after -- and the env" \
  test "$(cat "$S/runs" 2>/dev/null)" = "run args=--retention-days 3 db=/x/chat.db up="
((took >= 1 && took <= 4)) && ok "it waited for the time (${took}s)" || ko "it ran after ${took}s, not ~2s"
CLEANUP_BIN="$STUB/chat-cleanup" CLEANUP_RC=3 CLEANUP_POLL_SECONDS=1 \
  timeout 10 scripts/cleanup-scheduler.sh --once-at "$(clock_in 2)" >/dev/null 2>&1
rc=$?
[ "$rc" = 3 ] && ok "--once passes on chat-cleanup's failure (exit 3)" || ko "--once with a failing cleanup: exit $rc, want 3"

# Daily mode: runs at the time, exactly once, keeps going, stops on SIGTERM.
: >"$S/daily"
CLEANUP_BIN="$STUB/chat-cleanup" CLEANUP_OUT="$S/daily" CLEANUP_RC=1 CLEANUP_POLL_SECONDS=1 CLEANUP_AT=$(clock_in 2) \
  scripts/cleanup-scheduler.sh >"$S/daily.log" 2>&1 &
sp=$!
bg_pids+=("$sp")
eventually 5 test -s "$S/daily"
sleep 2
check "daily mode: ran once at the time and keeps running after a failed run" \
  bash -c "[ \$(wc -l <'$S/daily') = 1 ] && kill -0 $sp"
check "daily mode: logs the failure and the next run" grep -q 'next cleanup in 8[0-9]*s' "$S/daily.log"
kill -TERM "$sp"
wait_exit "$sp" 3
[ "$rc" = 0 ] && ok "SIGTERM stops the scheduler at once with exit 0" || ko "scheduler after SIGTERM: exit $rc"

sleep 30 &
watched=$!
bg_pids+=("$watched")
CLEANUP_BIN="$STUB/chat-cleanup" CLEANUP_POLL_SECONDS=1 CLEANUP_AT=$(clock_in 3600) \
  scripts/cleanup-scheduler.sh --watch-pid "$watched" >/dev/null 2>&1 &
sp=$!
bg_pids+=("$sp")
sleep 1.5
check "--watch-pid: keeps running while the process lives" kill -0 "$sp"
kill "$watched"
wait "$watched" 2>/dev/null
wait_exit "$sp" 3
[ "$rc" = 0 ] && ok "--watch-pid: exits 0 once the process is gone" || ko "--watch-pid: exit $rc"

# ---------------------------------------------------------------------------
section "Entrypoint (outside Docker, stub server and cleanup)"
E=$TMP/entry
mkdir -p "$E"
export STUB_OUT=$E/server.out
PATH="$STUB:$PATH" DATABASE_URL=$E/data/db/chat_app.db UPLOAD_DIR=$E/data/uploads LOG_DIR=$E/data/logs \
  CLEANUP_AT=$(clock_in 2) CLEANUP_POLL_SECONDS=1 CLEANUP_OUT=$E/cleanup.out \
  scripts/docker-entrypoint.sh --port 1234 --bcrypt-cost 4 >"$E/entry.log" 2>&1 &
ep=$!
bg_pids+=("$ep")
if eventually 5 test -s "$STUB_OUT"; then
  ok "the server started"
  for d in db uploads logs; do check "it created data/$d" test -d "$E/data/$d"; done
  check "it exec'd the server (same pid, no wrapper shell left)" grep -qx "pid=$ep" "$STUB_OUT"
  check "the server got the arguments" grep -qx "args=--port 1234 --bcrypt-cost 4" "$STUB_OUT"
  sched=$(sched_of "$ep")
  [ -n "$sched" ] && ok "the cleanup scheduler runs in the background (pid $sched)" || ko "no scheduler process under the server" "$(ps -f --ppid "$ep")"
  check "the scheduled cleanup ran with the server's env" eventually 5 grep -q "db=$E/data/db/chat_app.db up=$E/data/uploads" "$E/cleanup.out"
  kill -TERM "$ep"
  wait_exit "$ep" 5
  [ "$rc" = 0 ] && ok "SIGTERM: the server stopped with exit 0" || ko "SIGTERM: exit $rc" "$(cat "$E/entry.log")"
  check "the server handled SIGTERM itself" grep -qx stopped "$STUB_OUT"
  if [ -n "$sched" ]; then
    check "the scheduler exited after the server" eventually 3 gone "$sched"
  fi
else
  ko "the server started" "$(cat "$E/entry.log")"
fi

rm -f "$STUB_OUT"
out=$(PATH="$STUB:$PATH" DATABASE_URL=$E/d2/chat.db UPLOAD_DIR=$E/d2/up CLEANUP_AT=25:00 \
  timeout 5 scripts/docker-entrypoint.sh 2>&1)
rc=$?
[ "$rc" != 0 ] && [ ! -e "$STUB_OUT" ] && [[ $out == *"invalid time"* ]] \
  && ok "a bad CLEANUP_AT is refused before the server starts" || ko "bad CLEANUP_AT: exit $rc" "$out"

PATH="$STUB:$PATH" DATABASE_URL=$E/d3/chat.db UPLOAD_DIR=$E/d3/up CLEANUP_AT=off \
  scripts/docker-entrypoint.sh >"$E/d3.log" 2>&1 &
ep=$!
bg_pids+=("$ep")
if eventually 5 test -s "$STUB_OUT"; then
  check "CLEANUP_AT=off: server runs without a scheduler" test -z "$(sched_of "$ep")"
  check "LOG_DIR unset: no log folder made" test ! -e "$E/d3/logs"
  kill -TERM "$ep"
  wait_exit "$ep" 5
else
  ko "CLEANUP_AT=off: server did not start" "$(cat "$E/d3.log")"
fi

out=$(PATH="$STUB:$PATH" DATABASE_URL=postgres://u:p@localhost/chat UPLOAD_DIR=$E/d4/up \
  scripts/docker-entrypoint.sh sh -c 'echo "other $0"' cmd 2>&1)
check "another command runs as is (no server, no scheduler)" test "$out" = "other cmd"
check "postgres:// URL: no folder made for it" test ! -e postgres:
check "postgres:// URL: the uploads folder is still made" test -d "$E/d4/up"

: >"$E/afile"
out=$(PATH="$STUB:$PATH" DATABASE_URL=$E/d5/chat.db UPLOAD_DIR=$E/afile/uploads scripts/docker-entrypoint.sh 2>&1)
rc=$?
[ "$rc" = 1 ] && [[ $out == *"cannot create folder $E/afile/uploads"* ]] \
  && ok "an uncreatable folder stops it with a clear message" || ko "uncreatable folder: exit $rc" "$out"
unset STUB_OUT

# ---------------------------------------------------------------------------
section "Entrypoint with the real chat-server and chat-cleanup"
if [ "$have_server" = 1 ] && [ "$have_cleanup" = 1 ]; then
  R=$TMP/real
  mkdir -p "$R/bin"
  ln -s "$CHAT_SERVER_BIN" "$R/bin/chat-server"
  ln -s "$CHAT_CLEANUP_BIN" "$R/bin/chat-cleanup"
  port=$(free_port)
  PATH="$R/bin:$PATH" HOST=127.0.0.1 PORT=$port BCRYPT_COST=4 DATABASE_URL=$R/data/db/chat_app.db \
    UPLOAD_DIR=$R/data/uploads LOG_DIR=$R/data/logs CLEANUP_AT=$(clock_in 6) CLEANUP_POLL_SECONDS=1 \
    scripts/docker-entrypoint.sh >"$R/entry.log" 2>&1 &
  ep=$!
  bg_pids+=("$ep")
  if wait_http "http://127.0.0.1:$port/healthz" 30; then
    ok "GET /healthz answers 200"
    check "the SQLite database was created in data/db" test -s "$R/data/db/chat_app.db"
    check "the scheduled chat-cleanup ran and succeeded" eventually 20 grep -q 'cleanup-scheduler: cleanup finished' "$R/entry.log"
    sched=$(sched_of "$ep")
    check "the scheduler still runs after the cleanup" test -n "$sched"
    kill -TERM "$ep"
    wait_exit "$ep" 15
    [ "$rc" = 0 ] && ok "SIGTERM: chat-server exited 0" || ko "SIGTERM: chat-server exit $rc" "$(tail -20 "$R/entry.log")"
    check_fails "the port is closed afterwards" curl -fsS -m 2 "http://127.0.0.1:$port/healthz"
    [ -n "$sched" ] && check "the scheduler exited after the server" eventually 3 gone "$sched"
  else
    ko "GET /healthz answers 200" "$(tail -30 "$R/entry.log")"
    kill -TERM "$ep" 2>/dev/null
  fi
else
  skip_bin "real server through the entrypoint" "$no_bin_reason"
fi

section "The real chat-cleanup, as cron, systemd and the scheduler run it"
if [ "$have_cleanup" = 1 ]; then
  K=$TMP/clean
  mkdir -p "$K/uploads" "$K/logs"
  : >"$K/chat_app.db"   # an empty SQLite file, as a fresh server leaves it
  check "scheduler --once-at runs the real chat-cleanup (env only), exit 0" env CLEANUP_BIN="$CHAT_CLEANUP_BIN" \
    CLEANUP_POLL_SECONDS=1 DATABASE_URL="$K/chat_app.db" UPLOAD_DIR="$K/uploads" LOG_DIR="$K/logs" \
    timeout 20 scripts/cleanup-scheduler.sh --once-at "$(clock_in 2)"
  check "chat-cleanup --dry-run with the cron line's flags exits 0" "$CHAT_CLEANUP_BIN" --dry-run \
    --database-url "$K/chat_app.db" --upload-dir "$K/uploads" --log-dir "$K/logs"
  out=$("$CHAT_CLEANUP_BIN" --database-url "$K/chat_app.db" --upload-dir "$K/nope" --log-dir "$K/logs" 2>&1)
  rc=$?
  [ "$rc" != 0 ] && [ -n "$out" ] && ok "it fails with a message on a missing folder (exit $rc)" || ko "chat-cleanup with a missing upload folder: exit $rc" "$out"
  out=$(CLEANUP_BIN="$CHAT_CLEANUP_BIN" CLEANUP_POLL_SECONDS=1 DATABASE_URL="$K/none/chat_app.db" UPLOAD_DIR="$K/uploads" \
    timeout 20 scripts/cleanup-scheduler.sh --once-at "$(clock_in 2)" 2>&1)
  rc=$?
  [ "$rc" != 0 ] && [[ $out == *"cleanup failed with exit status $rc"* ]] \
    && ok "the scheduler reports its failure on a missing database (exit $rc)" || ko "missing database through the scheduler: exit $rc" "$out"
else
  skip_bin "real chat-cleanup" "$no_bin_reason"
fi

# ---------------------------------------------------------------------------
section "Cron line and install-cron.sh"
CRON_BIN=$STUB/chat-cleanup
[ "$have_cleanup" = 1 ] && CRON_BIN=$CHAT_CLEANUP_BIN
C=$TMP/cron
mkdir -p "$C"
out=$(scripts/install-cron.sh --bin "$CRON_BIN" --database-url "$C/db dir/chat_app.db" --upload-dir "$C/uploads" \
  --log-dir "$C/logs" --user nobody --dry-run 2>&1)
rc=$?
[ "$rc" = 0 ] && ok "--dry-run prints the cron file" || ko "--dry-run: exit $rc" "$out"
check "no @PLACEHOLDER@ is left" bash -c '! grep -q "@[A-Z_]*@" <<<"$1"' _ "$out"
job=$(grep -Ev '^[[:space:]]*(#|$)|^[A-Za-z_]+=' <<<"$out")
check "exactly one job line" test "$(grep -c . <<<"$job")" = 1
read -r f1 f2 f3 f4 f5 f6 _ <<<"$job"
check "the time fields are '0 2 * * *' (every day at 02:00)" test "$f1 $f2 $f3 $f4 $f5" = "0 2 * * *"
check "the job runs as the given user" test "$f6" = nobody
# The command, split as /bin/sh will split it (after cron turns \% into %).
cmd=$(cut -d' ' -f7- <<<"$job" | sed 's/\\%/%/g')
argv=$(python3 -c 'import shlex,sys; print("\n".join(shlex.split(sys.argv[1].split(" 2>&1")[0])))' "$cmd")
check "the command is the binary given to --bin" test "$(head -1 <<<"$argv")" = "$CRON_BIN"
check "the binary exists and runs --help" "$(head -1 <<<"$argv")" --help
check "--database-url is passed (a path with a space survives)" grep -qzF -- $'--database-url\n'"$C/db dir/chat_app.db"$'\n' <<<"$argv"
check "--upload-dir is passed" grep -qzF -- $'--upload-dir\n'"$C/uploads"$'\n' <<<"$argv"
check "--log-dir is passed" grep -qzF -- $'--log-dir\n'"$C/logs"$'\n' <<<"$argv"
check "the SHELL and PATH of the cron file are set" bash -c 'grep -qx "SHELL=/bin/sh" <<<"$1" && grep -q "^PATH=.*/usr/bin" <<<"$1"' _ "$out"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import croniter' 2>/dev/null; then
  check "croniter: the schedule fires at 02:00 every day" "$VENV/bin/python" -c '
import sys, datetime as d
from croniter import croniter
expr = " ".join(sys.argv[1:6])
assert croniter.is_valid(expr), expr
it = croniter(expr, d.datetime(2026, 3, 1, 1, 0))
got = [it.get_next(d.datetime) for _ in range(3)]
assert got == [d.datetime(2026, 3, n, 2, 0) for n in (1, 2, 3)], got
' "$f1" "$f2" "$f3" "$f4" "$f5"
else
  skip "croniter check of the schedule" "croniter not in $VENV (scripts/install-deps.sh installs tests/ops/requirements.txt)"
fi
out=$(scripts/install-cron.sh --bin "$CRON_BIN" --database-url 'postgres://u:50%off@h/db' --user nobody --dry-run 2>/dev/null)
check "a % in a value is escaped for cron" grep -qF "'postgres://u:50\\%off@h/db'" <<<"$out"

scripts/install-cron.sh --bin "$CRON_BIN" --user nobody --target "$C/cron.d/chat-cleanup" >/dev/null 2>&1
check "--target writes the file" test -s "$C/cron.d/chat-cleanup"
check "the written file is mode 600 (cron.d: not group/other-writable)" test "$(stat -c %a "$C/cron.d/chat-cleanup" 2>/dev/null)" = 600
check "the written file equals the --dry-run output" diff <(scripts/install-cron.sh --bin "$CRON_BIN" --user nobody --dry-run 2>/dev/null) "$C/cron.d/chat-cleanup"

out=$(scripts/install-cron.sh --bin "$C/missing/chat-cleanup" --user nobody --target "$C/t1" 2>&1)
rc=$?
[ "$rc" != 0 ] && [ ! -e "$C/t1" ] && [[ $out == *"not found"* ]] \
  && ok "a missing binary is refused (nothing written)" || ko "missing binary: exit $rc" "$out"
: >"$C/not-exec"
check_fails "a non-executable binary is refused" scripts/install-cron.sh --bin "$C/not-exec" --user nobody --target "$C/t2"
check_fails "a relative --bin is refused" scripts/install-cron.sh --bin chat-cleanup --user nobody --dry-run
check_fails "a binary whose --help fails is refused" scripts/install-cron.sh --bin /bin/false --user nobody --dry-run
out=$(scripts/install-cron.sh --bin "$CRON_BIN" --user no-such-user-xyz --target "$C/t3" 2>&1)
rc=$?
[ "$rc" != 0 ] && [ ! -e "$C/t3" ] && ok "an unknown user is refused (nothing written)" || ko "unknown user: exit $rc" "$out"
check_fails "an unknown option is refused" scripts/install-cron.sh --bin "$CRON_BIN" --frobnicate
check "--help works" scripts/install-cron.sh --help

# ---------------------------------------------------------------------------
section "systemd units"
U=deploy/systemd
for f in chat-server.service chat-cleanup.service chat-cleanup.timer; do
  check "$U/$f exists" test -f "$U/$f"
done
check "timer: OnCalendar=*-*-* 02:00:00" grep -qx 'OnCalendar=\*-\*-\* 02:00:00' "$U/chat-cleanup.timer"
check "timer: Persistent=true" grep -qx 'Persistent=true' "$U/chat-cleanup.timer"
for f in chat-server.service chat-cleanup.service; do
  check "$f: EnvironmentFile /etc/chat-server.env" grep -Eqx 'EnvironmentFile=-?/etc/chat-server.env' "$U/$f"
  check "$f: dedicated user chat" grep -qx 'User=chat' "$U/$f"
  # Under ProtectSystem=strict only StateDirectory/LogsDirectory are writable:
  # every default data path must lie inside them.
  check "$f: data paths are inside the writable folders" bash -c '
    f=$1
    state=/var/lib/$(sed -n "s/^StateDirectory=//p" "$f")
    logs=/var/log/$(sed -n "s/^LogsDirectory=//p" "$f")
    grep -q "^ProtectSystem=strict" "$f" || exit 0
    for k in DATABASE_URL UPLOAD_DIR LOG_DIR; do
      v=$(sed -n "s/^Environment=.*$k=\([^ ]*\).*/\1/p" "$f")
      [ -n "$v" ] || { echo "no default $k"; exit 1; }
      case $v in "$state"/* | "$logs" | "$logs"/*) ;; *) echo "$k=$v is not writable"; exit 1 ;; esac
    done' _ "$U/$f"
done
check "chat-server.service: ExecStart is the installed server" grep -qx 'ExecStart=/usr/local/bin/chat-server' "$U/chat-server.service"
check "chat-cleanup.service: oneshot running the installed chat-cleanup" \
  bash -c 'grep -qx "Type=oneshot" "$1" && grep -qx "ExecStart=/usr/local/bin/chat-cleanup" "$1"' _ "$U/chat-cleanup.service"
if command -v systemd-analyze >/dev/null; then
  # verify wants the ExecStart binaries to exist: point them at local ones.
  V=$TMP/units
  mkdir -p "$V"
  srv=$STUB/chat-server cln=$STUB/chat-cleanup
  [ "$have_server" = 1 ] && srv=$CHAT_SERVER_BIN
  [ "$have_cleanup" = 1 ] && cln=$CHAT_CLEANUP_BIN
  for f in chat-server.service chat-cleanup.service chat-cleanup.timer; do
    sed -e "s#/usr/local/bin/chat-server#$srv#" -e "s#/usr/local/bin/chat-cleanup#$cln#" "$U/$f" >"$V/$f"
  done
  out=$(cd "$V" && systemd-analyze verify ./chat-server.service ./chat-cleanup.service ./chat-cleanup.timer 2>&1)
  rc=$?
  [ "$rc" = 0 ] && [ -z "$out" ] && ok "systemd-analyze verify: no errors, no warnings" || ko "systemd-analyze verify (exit $rc)" "$out"
  check "systemd-analyze calendar accepts the timer's schedule" systemd-analyze calendar '*-*-* 02:00:00'
else
  skip "systemd-analyze verify" "systemd-analyze not installed"
fi

# ---------------------------------------------------------------------------
echo
[ "$skipped" -gt 0 ] && echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
