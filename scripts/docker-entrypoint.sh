#!/bin/sh
# Entrypoint of the Docker image (also runs fine outside Docker, for tests).
#
# 1. Creates the data folders named by DATABASE_URL (SQLite file), UPLOAD_DIR
#    and LOG_DIR when they are missing.
# 2. Starts `chat-cleanup --daily-at CLEANUP_AT` in the background: it cleans
#    every day at CLEANUP_AT (default 02:00, local time of TZ; "off" disables
#    it). Not cron: Debian's cron daemon must run as root, and this container
#    runs as the user chat. With --watch-pid it watches this process's PID
#    (the server's, after the exec below) and exits once the server is gone.
# 3. `exec`s chat-server with the arguments given, so that the server replaces
#    this shell: `docker stop` sends SIGTERM straight to it, and it shuts down
#    gracefully with exit status 0. (Run the container with `--init`, or
#    `init: true` in Compose, so that a tiny init reaps stray processes.)
#
# Any other command is run as is, without the scheduler:
#   docker run --rm IMAGE chat-cleanup --dry-run
#   docker run --rm -it IMAGE sh
set -eu

make_dir() {
  [ -d "$1" ] && return 0
  if ! mkdir -p "$1" 2>/dev/null; then
    echo "docker-entrypoint: cannot create folder $1 as uid $(id -u); make the volume writable by this user (e.g. chown -R $(id -u):$(id -g))" >&2
    exit 1
  fi
}

db=${DATABASE_URL:-chat_app.db}
case $db in
  postgres://* | postgresql://*) ;;
  *)
    db=${db#sqlite://}
    db=${db#sqlite:}
    make_dir "$(dirname "$db")"
    ;;
esac
make_dir "${UPLOAD_DIR:-uploads}"
if [ -n "${LOG_DIR:-}" ]; then make_dir "$LOG_DIR"; fi

case ${1:-} in
  '' | -*) ;;                  # flags only: they are for chat-server
  chat-server) shift ;;
  *) exec "$@" ;;              # any other command: run it as is
esac

at=${CLEANUP_AT:-02:00}
case $at in
  off | disabled)
    echo "docker-entrypoint: scheduled cleanup disabled (CLEANUP_AT=$at)" >&2
    ;;
  *)
    # Refuse to start with a bad CLEANUP_AT (or another bad cleanup setting)
    # rather than silently never cleaning.
    chat-cleanup --daily-at "$at" --next-run >/dev/null || exit 1
    chat-cleanup --daily-at "$at" --watch-pid $$ </dev/null &
    ;;
esac

exec chat-server "$@"
