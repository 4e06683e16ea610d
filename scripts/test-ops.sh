#!/usr/bin/env bash
# Tests of the deployment files that need no Docker engine: Dockerfile and
# Compose file (static checks), the container entrypoint and the daily
# cleanup it starts (`chat-cleanup --daily-at`; run for real outside Docker,
# with temp folders), the cron line and scripts/install-cron.sh, and the
# systemd units (systemd-analyze verify). The schedule's arithmetic (zones,
# DST, missed days) is tested in Rust: cargo test -p chat-cleanup.
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
# The pid of the daily cleanup (chat-cleanup --daily-at) started by process $1, if any.
sched_of() {
  local p
  for p in $(ps -o pid= --ppid "$1"); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- 'chat-cleanup --daily-at' && { echo "$p"; return; }
  done
}
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
# Stub cleanup: appends its args and env to CLEANUP_OUT. With --next-run it
# exits CLEANUP_CHECK_RC; with --daily-at it stays until SIGTERM; else it
# exits CLEANUP_RC.
[ "${1:-}" = --help ] && { echo "usage: chat-cleanup [--database-url URL] [--dry-run]"; exit 0; }
echo "args=$* db=$DATABASE_URL up=${UPLOAD_DIR:-} tz=${TZ:-}" >>"${CLEANUP_OUT:-/dev/null}"
case " $* " in
  *" --next-run "*) [ "${CLEANUP_CHECK_RC:-0}" = 0 ] || echo "stub: invalid CLEANUP_AT" >&2; exit "${CLEANUP_CHECK_RC:-0}" ;;
  *" --daily-at "*) trap 'exit 0' TERM; while :; do sleep 0.1; done ;;
esac
exit "${CLEANUP_RC:-0}"
EOF
chmod +x "$STUB/chat-server" "$STUB/chat-cleanup"

# ---------------------------------------------------------------------------
section "Scripts"
for f in scripts/docker-entrypoint.sh scripts/install-cron.sh scripts/test-ops.sh; do
  check "$f is executable" test -x "$f"
done
check "docker-entrypoint.sh is valid POSIX sh (dash -n)" dash -n scripts/docker-entrypoint.sh
check "install-cron.sh is valid bash" bash -n scripts/install-cron.sh
check "the shell scheduler is gone (chat-cleanup --daily-at replaced it)" test ! -e scripts/cleanup-scheduler.sh
if command -v shellcheck >/dev/null; then
  check "shellcheck (warnings and errors)" shellcheck -x -S warning scripts/docker-entrypoint.sh scripts/install-cron.sh scripts/test-ops.sh
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
check "runtime installs tzdata (TZ names for the daily cleanup)" dfgrep 'apt-get install .*tzdata'
check "ENV CLEANUP_AT=02:00" dfgrep '(ENV|^) +CLEANUP_AT=02:00( |$)'
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
check "the entrypoint starts chat-cleanup --daily-at, watching its own pid" \
  grep -Eq '^ +chat-cleanup --daily-at "\$at" --watch-pid \$\$ </dev/null &$' scripts/docker-entrypoint.sh
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
section "Entrypoint (outside Docker, stub server and cleanup)"
E=$TMP/entry
mkdir -p "$E"
export STUB_OUT=$E/server.out
PATH="$STUB:$PATH" DATABASE_URL=$E/data/db/chat_app.db UPLOAD_DIR=$E/data/uploads LOG_DIR=$E/data/logs \
  CLEANUP_AT=03:30 TZ=Europe/Paris CLEANUP_OUT=$E/cleanup.out \
  scripts/docker-entrypoint.sh --port 1234 --bcrypt-cost 4 >"$E/entry.log" 2>&1 &
ep=$!
bg_pids+=("$ep")
if eventually 5 test -s "$STUB_OUT"; then
  ok "the server started"
  for d in db uploads logs; do check "it created data/$d" test -d "$E/data/$d"; done
  check "it exec'd the server (same pid, no wrapper shell left)" grep -qx "pid=$ep" "$STUB_OUT"
  check "the server got the arguments" grep -qx "args=--port 1234 --bcrypt-cost 4" "$STUB_OUT"
  env_seen="db=$E/data/db/chat_app.db up=$E/data/uploads tz=Europe/Paris"
  check "it checked CLEANUP_AT first (chat-cleanup --daily-at 03:30 --next-run)" \
    grep -qxF "args=--daily-at 03:30 --next-run $env_seen" "$E/cleanup.out"
  eventually 5 test -n "$(sched_of "$ep")"
  sched=$(sched_of "$ep")
  [ -n "$sched" ] && ok "chat-cleanup --daily-at runs in the background (pid $sched)" || ko "no chat-cleanup --daily-at under the server" "$(ps -f --ppid "$ep")"
  check "it runs as 'chat-cleanup --daily-at 03:30 --watch-pid <server pid>', with the server's env" \
    eventually 5 grep -qxF "args=--daily-at 03:30 --watch-pid $ep $env_seen" "$E/cleanup.out"
  kill -TERM "$ep"
  wait_exit "$ep" 5
  [ "$rc" = 0 ] && ok "SIGTERM: the server stopped with exit 0" || ko "SIGTERM: exit $rc" "$(cat "$E/entry.log")"
  check "the server handled SIGTERM itself" grep -qx stopped "$STUB_OUT"
  [ -n "$sched" ] && kill -TERM "$sched" 2>/dev/null   # the stub does not watch the server
else
  ko "the server started" "$(cat "$E/entry.log")"
fi

rm -f "$STUB_OUT"
out=$(PATH="$STUB:$PATH" DATABASE_URL=$E/d2/chat.db UPLOAD_DIR=$E/d2/up CLEANUP_CHECK_RC=2 \
  timeout 5 scripts/docker-entrypoint.sh 2>&1)
rc=$?
[ "$rc" != 0 ] && [ ! -e "$STUB_OUT" ] && [[ $out == *"stub: invalid CLEANUP_AT"* ]] \
  && ok "a failed schedule check stops it before the server starts, with the message" || ko "failed schedule check: exit $rc" "$out"

PATH="$STUB:$PATH" DATABASE_URL=$E/d3/chat.db UPLOAD_DIR=$E/d3/up CLEANUP_AT=off CLEANUP_OUT=$E/d3.cleanup \
  scripts/docker-entrypoint.sh >"$E/d3.log" 2>&1 &
ep=$!
bg_pids+=("$ep")
if eventually 5 test -s "$STUB_OUT"; then
  check "CLEANUP_AT=off: server runs without a scheduler" test -z "$(sched_of "$ep")"
  check "CLEANUP_AT=off: chat-cleanup is not even run" test ! -e "$E/d3.cleanup"
  check "CLEANUP_AT=off: it says so" grep -q 'scheduled cleanup disabled' "$E/d3.log"
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
# The scheduled run itself (the real sleep until HH:MM, old messages deleted,
# SIGTERM while asleep) is tested by cargo test -p chat-cleanup (tests/daily.rs).
if [ "$have_server" = 1 ] && [ "$have_cleanup" = 1 ]; then
  R=$TMP/real
  mkdir -p "$R/bin" "$R/mixed"
  ln -s "$CHAT_SERVER_BIN" "$R/bin/chat-server"
  ln -s "$CHAT_CLEANUP_BIN" "$R/bin/chat-cleanup"
  port=$(free_port)
  # UTC+8 all year: Asia/Shanghai, or the same as a POSIX rule without tzdata.
  tz=Asia/Shanghai
  [ -f /usr/share/zoneinfo/$tz ] || tz='<+08>-8'
  PATH="$R/bin:$PATH" HOST=127.0.0.1 PORT=$port BCRYPT_COST=4 DATABASE_URL=$R/data/db/chat_app.db \
    UPLOAD_DIR=$R/data/uploads LOG_DIR=$R/data/logs CLEANUP_AT=03:30 TZ=$tz \
    scripts/docker-entrypoint.sh >"$R/entry.log" 2>&1 &
  ep=$!
  bg_pids+=("$ep")
  if wait_http "http://127.0.0.1:$port/healthz" 30; then
    ok "GET /healthz answers 200"
    check "the SQLite database was created in data/db" test -s "$R/data/db/chat_app.db"
    check "the daily cleanup is scheduled at 03:30 in TZ=$tz" eventually 5 \
      grep -Eq "daily cleanup scheduled at=03:30 zone=TZ=$tz next=[0-9-]+T03:30:00\+08:00 " "$R/entry.log"
    sched=$(sched_of "$ep")
    check "chat-cleanup --daily-at runs under the server" test -n "$sched"
    kill -TERM "$ep"
    wait_exit "$ep" 15
    [ "$rc" = 0 ] && ok "SIGTERM: chat-server exited 0" || ko "SIGTERM: chat-server exit $rc" "$(tail -20 "$R/entry.log")"
    check_fails "the port is closed afterwards" curl -fsS -m 2 "http://127.0.0.1:$port/healthz"
    [ -n "$sched" ] && check "the daily cleanup exited after the server" eventually 3 gone "$sched"
    check "it said why" grep -q "process $ep is gone; stopping" "$R/entry.log"
  else
    ko "GET /healthz answers 200" "$(tail -30 "$R/entry.log")"
    kill -TERM "$ep" 2>/dev/null
  fi
  # A bad CLEANUP_AT, checked by the real chat-cleanup (stub server).
  ln -s "$STUB/chat-server" "$R/mixed/chat-server"
  ln -s "$CHAT_CLEANUP_BIN" "$R/mixed/chat-cleanup"
  for bad in 25:00 2:5 02:00:00 noon; do
    out=$(PATH="$R/mixed:$PATH" STUB_OUT=$R/stub.out DATABASE_URL=$R/d2/chat.db UPLOAD_DIR=$R/d2/up CLEANUP_AT=$bad \
      timeout 5 scripts/docker-entrypoint.sh 2>&1)
    rc=$?
    [ "$rc" != 0 ] && [ ! -e "$R/stub.out" ] && [[ $out == *"invalid value '$bad'"*"HH:MM"* ]] \
      && ok "CLEANUP_AT=$bad is refused before the server starts" || ko "CLEANUP_AT=$bad: exit $rc" "$out"
  done
else
  skip_bin "real server through the entrypoint" "$no_bin_reason"
fi

section "The real chat-cleanup, as cron, systemd and the entrypoint run it"
if [ "$have_cleanup" = 1 ]; then
  K=$TMP/clean
  mkdir -p "$K/uploads" "$K/logs"
  : >"$K/chat_app.db"   # an empty SQLite file, as a fresh server leaves it
  check "chat-cleanup --dry-run with the cron line's flags exits 0" "$CHAT_CLEANUP_BIN" --dry-run \
    --database-url "$K/chat_app.db" --upload-dir "$K/uploads" --log-dir "$K/logs"
  check "CLEANUP_AT in the env alone: one run, exit 0 (as docker exec runs it)" env CLEANUP_AT=02:00 \
    DATABASE_URL="$K/chat_app.db" UPLOAD_DIR="$K/uploads" LOG_DIR="$K/logs" timeout 20 "$CHAT_CLEANUP_BIN"
  out=$("$CHAT_CLEANUP_BIN" --database-url "$K/chat_app.db" --upload-dir "$K/nope" --log-dir "$K/logs" 2>&1)
  rc=$?
  [ "$rc" != 0 ] && [ -n "$out" ] && ok "it fails with a message on a missing folder (exit $rc)" || ko "chat-cleanup with a missing upload folder: exit $rc" "$out"
  out=$(TZ=UTC CLEANUP_AT=04:15 "$CHAT_CLEANUP_BIN" --daily-at --next-run 2>&1)
  [[ $out =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T04:15:00\+00:00$ ]] \
    && ok "--daily-at without a value takes CLEANUP_AT ($out)" || ko "--daily-at with CLEANUP_AT=04:15" "$out"
  for bad in 24:00 2:5 12:60 abc "" 02:00:00; do
    out=$("$CHAT_CLEANUP_BIN" --daily-at "$bad" --next-run 2>&1)
    rc=$?
    [ "$rc" = 2 ] && [[ $out == *HH:MM* ]] && ok "--daily-at '$bad' is a usage error (exit 2)" || ko "--daily-at '$bad': exit $rc" "$out"
  done
  DATABASE_URL="$K/chat_app.db" UPLOAD_DIR="$K/uploads" "$CHAT_CLEANUP_BIN" --daily-at 02:00 >"$K/daily.log" 2>&1 &
  dp=$!
  bg_pids+=("$dp")
  if eventually 5 grep -q 'daily cleanup scheduled' "$K/daily.log"; then
    kill -TERM "$dp"
    wait_exit "$dp" 3
    [ "$rc" = 0 ] && ok "--daily-at: SIGTERM while asleep, exit 0 at once" || ko "--daily-at after SIGTERM: exit $rc" "$(cat "$K/daily.log")"
  else
    ko "--daily-at did not start" "$(cat "$K/daily.log")"
  fi
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
