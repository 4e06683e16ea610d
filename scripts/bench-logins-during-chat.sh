#!/usr/bin/env bash
# Logins at bcrypt cost 12 while the room chats: a cost-12 release server, a
# chat load (300 sockets, 100 senders at 1 msg/s, 20 s measured) and login
# storms (8 at a time) one after another for as long as the chat runs.
# Results: /tmp/lc/chat.txt (the chat's summary, with the server's CPU) and
# /tmp/lc/logins.json (one JSON line per storm). docs/BENCHMARKS.md has a run.
set -u
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"
cargo build --release --locked -p chat-server -p chat-bench 2>&1 | tail -1
rm -rf /tmp/lc && mkdir -p /tmp/lc/up
target/release/chat-server --host 127.0.0.1 --port 7301 --database-url /tmp/lc/c.db --upload-dir /tmp/lc/up --bcrypt-cost 12 > /tmp/lc/s.log 2>&1 &
S=$!
sleep 1
# the login storm's accounts (cost 12)
timeout 300 target/release/chat-bench login --url http://127.0.0.1:7301 --logins 16 --concurrency 8 --user-prefix storm > /tmp/lc/login0.json 2>/tmp/lc/login0.txt
timeout 900 target/release/chat-bench chat --url http://127.0.0.1:7301 -n 300 -k 100 -r 1 --warmup 2 --duration 20 --server-pid $S --user-prefix lc > /tmp/lc/chat.json 2>/tmp/lc/chat.txt &
C=$!
# logins all along the chat run, 8 at a time
i=0
while kill -0 $C 2>/dev/null; do
  timeout 120 target/release/chat-bench login --url http://127.0.0.1:7301 --logins 32 --concurrency 8 --user-prefix storm >> /tmp/lc/logins.json 2>>/tmp/lc/logins.txt
  i=$((i+1))
done
kill $S
echo "results: /tmp/lc/chat.txt /tmp/lc/logins.json"
