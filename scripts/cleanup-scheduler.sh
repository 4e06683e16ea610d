#!/bin/sh
# Runs `chat-cleanup` once a day at a fixed local time (02:00 by default).
#
# Why a shell loop and not cron: the Docker image runs as the non-root user
# `chat`, and Debian's cron daemon must run as root (it switches users and
# writes to /var/run). Instead of running the container as root or adding a
# third-party scheduler, the entrypoint starts this small POSIX-shell loop in
# the background. It re-reads the wall clock at least every
# CLEANUP_POLL_SECONDS, so it honours TZ, daylight-saving changes and clock
# adjustments, and it never runs twice for the same day. Outside Docker, use
# the system cron line (scripts/install-cron.sh) or the systemd timer instead.
#
# Usage: cleanup-scheduler.sh [--at HH:MM[:SS]] [--once] [--once-at HH:MM[:SS]]
#                             [--watch-pid PID] [--next-run] [-- CLEANUP_ARGS...]
#   --at TIME        local time of the daily run (env CLEANUP_AT, default 02:00)
#   --once           run the cleanup once at the next TIME, then exit with its status
#   --once-at TIME   same as --at TIME --once (handy for tests)
#   --watch-pid PID  exit as soon as process PID is gone (env CLEANUP_WATCH_PID);
#                    the entrypoint passes the server's PID so no orphan is left
#   --next-run       print the number of seconds until the next run and exit
#   -- ARGS          extra arguments for chat-cleanup (env CLEANUP_ARGS also works)
# Environment:
#   CLEANUP_BIN           the cleanup program (default: chat-cleanup on PATH)
#   CLEANUP_POLL_SECONDS  longest single sleep (default 30)
#   CLEANUP_NOW           test hook: pretend the local time is HH:MM:SS (--next-run only)
#   TZ                    the time zone of TIME, as for date(1)
# chat-cleanup itself reads DATABASE_URL, UPLOAD_DIR, LOG_DIR, RETENTION_DAYS,
# LOG_RETENTION_DAYS... from the environment it inherits.
set -u

me=cleanup-scheduler
at=${CLEANUP_AT:-02:00}
once=0
next_only=0
watch_pid=${CLEANUP_WATCH_PID:-}
poll=${CLEANUP_POLL_SECONDS:-30}
bin=${CLEANUP_BIN:-chat-cleanup}

say() { printf '%s %s: %s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "$me" "$*" >&2; }
usage() { sed -n '13,28s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }

while [ $# -gt 0 ]; do
  case $1 in
    --at) [ $# -ge 2 ] || usage; at=$2; shift 2 ;;
    --at=*) at=${1#--at=}; shift ;;
    --once) once=1; shift ;;
    --once-at) [ $# -ge 2 ] || usage; at=$2; once=1; shift 2 ;;
    --once-at=*) at=${1#--once-at=}; once=1; shift ;;
    --watch-pid) [ $# -ge 2 ] || usage; watch_pid=$2; shift 2 ;;
    --next-run) next_only=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    *) say "unknown argument: $1"; usage ;;
  esac
done

# Strip leading zeros so that "08" is not read as octal; "" and "00" give 0.
num() { n=$(printf '%s' "$1" | sed 's/^0*//'); printf '%s' "${n:-0}"; }

# Parse TIME (HH:MM or HH:MM:SS) into target_sod, the second of the day.
parse_time() {
  case $1 in
    [0-9]:[0-5][0-9] | [01][0-9]:[0-5][0-9] | 2[0-3]:[0-5][0-9]) t="$1:00" ;;
    [0-9]:[0-5][0-9]:[0-5][0-9] | [01][0-9]:[0-5][0-9]:[0-5][0-9] | 2[0-3]:[0-5][0-9]:[0-5][0-9]) t=$1 ;;
    *) return 1 ;;
  esac
  IFS=: read -r h m s <<EOF
$t
EOF
  target_sod=$(( $(num "$h") * 3600 + $(num "$m") * 60 + $(num "$s") ))
}

# Seconds from now (local wall clock, or CLEANUP_NOW) until the next TIME: 1..86400.
# At exactly TIME it answers 86400: today's run is the one that just started.
seconds_until_next() {
  now=${CLEANUP_NOW:-$(date +%H:%M:%S)}
  IFS=: read -r h m s <<EOF
$now
EOF
  now_sod=$(( $(num "$h") * 3600 + $(num "$m") * 60 + $(num "${s:-0}") ))
  d=$(( target_sod - now_sod ))
  [ "$d" -le 0 ] && d=$(( d + 86400 ))
  echo "$d"
}

if [ "$at" = off ] || [ "$at" = disabled ]; then
  say "scheduled cleanup disabled (CLEANUP_AT=$at)"
  exit 0
fi
if ! parse_time "$at"; then
  say "invalid time '$at' (expected HH:MM or HH:MM:SS, 24-hour clock)"
  exit 2
fi
case $poll in ''|*[!0-9]*|0) say "invalid CLEANUP_POLL_SECONDS '$poll'"; exit 2 ;; esac

if [ "$next_only" = 1 ]; then
  seconds_until_next
  exit 0
fi

if [ $# -eq 0 ] && [ -n "${CLEANUP_ARGS:-}" ]; then
  # shellcheck disable=SC2086  # word splitting of CLEANUP_ARGS is intended
  set -- $CLEANUP_ARGS
fi

sleep_pid=
stop() {
  [ -n "$sleep_pid" ] && kill "$sleep_pid" 2>/dev/null
  say "stopping"
  exit 0
}
trap stop TERM INT HUP

# Sleeps N seconds in the background so that a signal is handled at once.
nap() {
  sleep "$1" &
  sleep_pid=$!
  wait "$sleep_pid"
  sleep_pid=
}

watched_alive() {
  [ -z "$watch_pid" ] || kill -0 "$watch_pid" 2>/dev/null
}

run_cleanup() {
  say "running $bin${*:+ $*}"
  "$bin" "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then say "cleanup finished"; else say "cleanup failed with exit status $rc"; fi
  return "$rc"
}

d=$(seconds_until_next)
say "next cleanup at $at${TZ:+ ($TZ)}, in ${d}s"
while :; do
  if ! watched_alive; then
    say "process $watch_pid is gone, exiting"
    exit 0
  fi
  d=$(seconds_until_next)
  if [ "$d" -le "$poll" ]; then
    nap "$d"
    watched_alive || continue
    run_cleanup "$@"
    rc=$?
    [ "$once" = 1 ] && exit "$rc"
    say "next cleanup in $(seconds_until_next)s"
  else
    nap "$poll"
  fi
done
