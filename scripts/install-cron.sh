#!/usr/bin/env bash
# Installs the daily chat-cleanup cron job (scripts/crontab) into /etc/cron.d.
#
# Usage: scripts/install-cron.sh [--bin PATH] [--database-url URL]
#          [--upload-dir DIR] [--log-dir DIR] [--user USER]
#          [--target FILE] [--dry-run]
#   --bin PATH          chat-cleanup binary (default /usr/local/bin/chat-cleanup);
#                       it must exist and be executable
#   --database-url URL  SQLite path or postgres:// URL (default /var/lib/chat/chat_app.db)
#   --upload-dir DIR    uploads folder (default /var/lib/chat/uploads)
#   --log-dir DIR       the server's log folder (default /var/log/chat)
#   --user USER         user the job runs as (default chat); must exist unless
#                       --dry-run is given
#   --target FILE       where to write (default /etc/cron.d/chat-cleanup)
#   --dry-run           print the cron file instead of installing it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
template=$here/crontab
bin=/usr/local/bin/chat-cleanup
database_url=/var/lib/chat/chat_app.db
upload_dir=/var/lib/chat/uploads
log_dir=/var/log/chat
user=chat
target=/etc/cron.d/chat-cleanup
dry_run=0

usage() { sed -n '4,15s/^# \{0,1\}//p' "$0"; exit "${1:-2}"; }
die() { echo "install-cron: $*" >&2; exit 1; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case $1 in
    --bin) need "$@"; bin=$2; shift 2 ;;
    --database-url) need "$@"; database_url=$2; shift 2 ;;
    --upload-dir) need "$@"; upload_dir=$2; shift 2 ;;
    --log-dir) need "$@"; log_dir=$2; shift 2 ;;
    --user) need "$@"; user=$2; shift 2 ;;
    --target) need "$@"; target=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "install-cron: unknown argument: $1" >&2; usage ;;
  esac
done

[ -f "$template" ] || die "template $template is missing"
[[ $bin == /* ]] || die "--bin must be an absolute path (cron has a minimal PATH): $bin"
[ -e "$bin" ] || die "chat-cleanup binary not found: $bin (build it with cargo build --release -p chat-cleanup and copy it there)"
[ -f "$bin" ] && [ -x "$bin" ] || die "not an executable file: $bin"
"$bin" --help >/dev/null 2>&1 || die "$bin --help failed; is it the chat-cleanup binary?"
[[ $user =~ ^[a-z_][a-z0-9_-]*[$]?$ ]] || die "invalid user name: $user"
if ! id -u "$user" >/dev/null 2>&1; then
  if [ "$dry_run" = 1 ]; then
    echo "install-cron: warning: user $user does not exist on this machine" >&2
  else
    die "user $user does not exist (create it: useradd --system --home /var/lib/chat --shell /usr/sbin/nologin $user)"
  fi
fi

# Quote a value for the cron command line (run by /bin/sh). cron also treats
# an unescaped % as a newline, so % becomes \%.
quote() {
  local v=${1//\'/\'\\\'\'}
  v=${v//%/\\%}
  printf "'%s'" "$v"
}
# Fill in the placeholders. The replacements are double-quoted so that bash
# 5.2 does not read & in them as "the matched text".
render() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line//@USER@/"$user"}
    line=${line//@BIN@/"$(quote "$bin")"}
    line=${line//@DATABASE_URL@/"$(quote "$database_url")"}
    line=${line//@UPLOAD_DIR@/"$(quote "$upload_dir")"}
    line=${line//@LOG_DIR@/"$(quote "$log_dir")"}
    printf '%s\n' "$line"
  done <"$template"
}

content=$(render)
if [ "$dry_run" = 1 ]; then
  printf '%s\n' "$content"
  exit 0
fi

mkdir -p "$(dirname "$target")"
tmp=$(mktemp "$(dirname "$target")/.chat-cleanup.XXXXXX")
trap 'rm -f "$tmp"' EXIT
printf '%s\n' "$content" >"$tmp"
# cron.d files must not be group/other-writable; 0600 also keeps a
# postgres:// password in the URL private.
chmod 0600 "$tmp"
mv -f "$tmp" "$target"
trap - EXIT
echo "install-cron: installed $target (daily at 02:00 as $user)"
