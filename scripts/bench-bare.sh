#!/usr/bin/env bash
# Saturation against the ceiling (issue target 2): the same chat loads against
# a bare socketioxide server (crates/chat-bench/examples/bare_server.rs: no
# database, no checks, current-thread runtime) and against chat-server on
# SQLite, one after the other, 1,000 sockets, 1,000 senders at rising rates.
# Prints one line per run; docs/BENCHMARKS.md has a run.
set -u
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"
cargo build --release --locked -p chat-server -p chat-bench --example bare_server 2>&1 | tail -1
run() { # label port pid senders rate
  timeout 150 target/release/chat-bench chat --url http://127.0.0.1:$2 -n 1000 -k $4 -r $5 --warmup 2 --duration 10 --server-pid $3 --label "$1/$4x$5" --user-prefix "b$4r${5%.*}" 2>/dev/null | grep -E "^\{" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print(d['label'], 'ok', d['ok'], 'lost', d['lost'], 'dps', d['deliveries_per_s'], 'p50', d['latency_ms']['p50'], 'p99', d['latency_ms']['p99'], 'cpu%', d['server']['cpu_pct'])"
}
rm -rf /tmp/bb && mkdir -p /tmp/bb/up
target/release/examples/bare_server 7401 > /tmp/bb/bare.log 2>&1 & B=$!
target/release/chat-server --host 127.0.0.1 --port 7402 --database-url /tmp/bb/c.db --upload-dir /tmp/bb/up --bcrypt-cost 4 > /tmp/bb/chat.log 2>&1 & C=$!
sleep 1
for load in "400 1" "1000 1" "1000 1.3" "1000 1.6" "1000 1.9"; do
  set -- $load
  run bare 7401 $B $1 $2
  run chat-server 7402 $C $1 $2
done
kill $B $C
