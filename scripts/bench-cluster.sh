#!/usr/bin/env bash
# The cost of the cluster's Redis hop: the same chat load against one node on
# PostgreSQL, then against one node of a two-node cluster (PostgreSQL + Redis).
# chat-bench takes one URL, so in the cluster run every socket is on node A:
# each message is stored under the order lock, published to Redis and emitted
# when it comes back on A's subscription (and on B's, which has no sockets).
# Needs the release binaries (scripts/bench.sh builds them) and the local
# PostgreSQL and Redis; prints one line per run (docs/BENCHMARKS.md).
set -u
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"
"$ROOT/scripts/start-services.sh" || die "PostgreSQL/Redis not available"
cargo build --release --locked -p chat-server -p chat-bench 2>&1 | tail -1
BIN=target/release/chat-server
run() { # label, extra flags...
  local label=$1; shift
  local db=bench_cl_$RANDOM
  psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" >/dev/null
  rm -rf /tmp/clb && mkdir -p /tmp/clb/up
  # All nodes of a cluster share the chat:* keys; start from none.
  redis-cli --scan --pattern 'chat:*' | xargs -r redis-cli del >/dev/null
  $BIN --host 127.0.0.1 --port 7201 --database-url postgres://postgres@127.0.0.1/$db --upload-dir /tmp/clb/up --bcrypt-cost 4 "$@" > /tmp/clb/a.log 2>&1 &
  local a=$!
  local b=
  if [ "$label" = cluster ]; then
    $BIN --host 127.0.0.1 --port 7202 --database-url postgres://postgres@127.0.0.1/$db --upload-dir /tmp/clb/up --bcrypt-cost 4 "$@" > /tmp/clb/b.log 2>&1 &
    b=$!
  fi
  sleep 2
  for senders in 100 200; do
    echo "== $label, 1000 sockets, $senders senders"
    timeout 120 target/release/chat-bench chat --url http://127.0.0.1:7201 -n 1000 -k $senders -r 1 --warmup 2 --duration 10 --server-pid $a --label "$label/$senders" --user-prefix "u$senders" 2>&1 | grep -E "^\{" > /tmp/clb/$label-$senders.json
    python3 -c "import json,sys; d=json.load(open('/tmp/clb/$label-$senders.json')); print(d['label'], 'delivered', d['delivered'], 'expected', d['expected'], 'lost', d['lost'], 'dps', d['deliveries_per_s'], 'p50', d['latency_ms']['p50'], 'p99', d['latency_ms']['p99'], 'ack p99', d['ack_ms']['p99'], 'cpu%', d['server']['cpu_pct'])"
  done
  kill $a $b 2>/dev/null; wait $a $b 2>/dev/null
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
}
run single
run cluster --redis-url redis://127.0.0.1:6379
