#!/usr/bin/env bash
# Scale-out suite: three chat-server nodes on one PostgreSQL database and one
# Redis behave as one room (crates/chat-server/src/cluster, docs/CLUSTER.md).
#
#   scripts/test-cluster.sh        # after `cargo build` and scripts/install-deps.sh
#
# 1. The cluster tests (tests/cluster, node --test): messages, presence,
#    sessions, flood limit, lockout, uploads across nodes; a node killed with
#    SIGKILL; Redis stopped and restarted (the last two are destructive and
#    run last; the killed node is started again afterwards).
# 2. The conformance suite (scripts/test-conformance.sh) against each node.
# 3. The deployment files: docker-compose.cluster.yml parsed and checked,
#    deploy/nginx/chat-cluster.conf checked with `nginx -t` and put in front
#    of the nodes for a smoke test (nginx-light is installed when missing;
#    CLUSTER_NO_NGINX=1 skips that part).
#
# All nodes share the Redis keys chat:*; this suite deletes them at the start,
# so run it alone (scripts/test.sh runs the suites one after another). It
# stops Redis for a while and always starts it again on exit.
# Optional: CLUSTER_SUITES="cluster conformance deploy" chooses the parts.
# The last line is "N passed, N failed"; the exit status is non-zero on failure.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

REDIS_START='redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
REDIS_URL=redis://127.0.0.1:6379
PG_ADMIN=(psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
NODE_NAMES=(A B C)
ALLOWED_ORIGIN="http://allowed.example:8080"
SUITES=${CLUSTER_SUITES:-cluster conformance deploy}

passed=0 failed=0 failures=()
pass() { passed=$((passed + 1)); printf '\033[1;32mok\033[0m   %s\n' "$1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); printf '\033[1;31mFAIL\033[0m %s\n' "$1"; }
finish() {
  [ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}
wants() { [[ " $SUITES " == *" $1 "* ]]; }

"$ROOT/scripts/start-services.sh" || die "starting PostgreSQL/Redis failed"
[ -x "$CHAT_SERVER_BIN" ] || die "$CHAT_SERVER_BIN missing: cargo build -p chat-server"
[ -d "$ROOT/tests/cluster/node_modules/socket.io-client" ] || die "tests/cluster/node_modules missing: run scripts/install-deps.sh"

WORK=$(mktemp -d /tmp/chat-cluster.XXXXXX)
chmod 755 "$WORK"
DB="chat_cluster_$(date +%s)_$RANDOM"
DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
UPLOADS="$WORK/uploads"
mkdir -p "$UPLOADS"
PORTS=() PIDS=() URLS=()
NGINX_PID=

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
start_redis() {
  mkdir -p /var/lib/redis /var/log/redis
  sh -c "$REDIS_START"
  for _ in $(seq 1 50); do redis_up && return 0; sleep 0.2; done
  return 1
}

cleanup() {
  local pid
  [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null
  for pid in "${PIDS[@]}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}" $NGINX_PID; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null
  done
  if ! redis_up; then
    log "Redis is down: starting it again"
    start_redis || printf 'error: Redis did not come back; start it with: %s\n' "$REDIS_START" >&2
  fi
  "${PG_ADMIN[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  if [ "$failed" -eq 0 ] && [ -z "${CLUSTER_KEEP:-}" ]; then
    rm -rf "$WORK"
  else
    log "logs kept in $WORK (node-A.log ...)"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_node INDEX: (re)starts node INDEX on its port (a free one the first time).
start_node() {
  local i=$1 name=${NODE_NAMES[$1]}
  PORTS[$i]=${PORTS[$i]:-$(free_port)}
  URLS[$i]="http://127.0.0.1:${PORTS[$i]}"
  "$CHAT_SERVER_BIN" --host 127.0.0.1 --port "${PORTS[$i]}" \
    --database-url "$DATABASE_URL" --redis-url "$REDIS_URL" --behind-proxy \
    --upload-dir "$UPLOADS" --bcrypt-cost 4 --allowed-origins "$ALLOWED_ORIGIN" \
    >>"$WORK/node-$name.log" 2>&1 &
  PIDS[$i]=$!
}

wait_node() {
  local i=$1
  if ! wait_http "${URLS[$i]}/healthz" 60; then
    tail -30 "$WORK/node-${NODE_NAMES[$i]}.log" >&2
    return 1
  fi
}

node_logs_tail() {
  local n
  for n in "${NODE_NAMES[@]}"; do
    log "last lines of node $n's log ($WORK/node-$n.log)"
    tail -15 "$WORK/node-$n.log" >&2
  done
}

joined() { local IFS=,; echo "$*"; }

if wants cluster || wants conformance || wants deploy; then
  log "database $DB, uploads $UPLOADS, logs in $WORK"
  "${PG_ADMIN[@]}" -c "CREATE DATABASE $DB" >/dev/null || die "creating database $DB failed"
  # Nodes of one run share these keys (presence, limits, node list): start clean.
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern 'chat:*' | xargs -r redis-cli -h 127.0.0.1 -p 6379 del >/dev/null
  # One node first, so that the schema is created once.
  start_node 0 && wait_node 0 || { fail "node A starts"; finish; }
  for i in 1 2; do start_node "$i"; done
  for i in 1 2; do wait_node "$i" || { fail "node ${NODE_NAMES[$i]} starts"; finish; }; done
  log "nodes: A ${URLS[0]} (pid ${PIDS[0]}), B ${URLS[1]} (pid ${PIDS[1]}), C ${URLS[2]} (pid ${PIDS[2]})"
fi

############################################################ cluster tests ###
if wants cluster; then
  log "cluster tests (tests/cluster)"
  tap="$WORK/cluster.tap"
  (cd "$ROOT/tests/cluster" &&
    CLUSTER_URLS=$(joined "${URLS[@]}") CLUSTER_PIDS=$(joined "${PIDS[@]}") REDIS_START="$REDIS_START" \
      node --test --test-concurrency=1 --test-timeout=120000 \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$tap" \
      cluster.test.mjs)
  # top-level results of the TAP report, one per test
  while IFS= read -r line; do
    name=${line#*- }
    name=${name% # *}
    case $line in
      "ok "*) pass "cluster: $name" ;;
      "not ok "*) fail "cluster: $name" ;;
    esac
  done < <(grep -E '^(not )?ok [0-9]+ - ' "$tap" 2>/dev/null)
  grep -qE '^(not )?ok [0-9]+ - ' "$tap" 2>/dev/null || fail "cluster: the test run produced no results"
  [ "$failed" -gt 0 ] && node_logs_tail

  # The kill test SIGKILLed node C: it comes back as a new node on its port.
  if ! kill -0 "${PIDS[2]}" 2>/dev/null; then
    wait "${PIDS[2]}" 2>/dev/null
    redis_up || start_redis || die "Redis did not come back"
    echo "---- restarted after SIGKILL ----" >>"$WORK/node-C.log"
    start_node 2
    if wait_node 2; then pass "a node killed with SIGKILL starts again on its port and is healthy"
    else fail "a node killed with SIGKILL starts again on its port and is healthy"; fi
  fi
  for i in 0 1 2; do
    wait_http "${URLS[$i]}/healthz" 20 || fail "node ${NODE_NAMES[$i]} healthy after the cluster tests"
  done
fi

###################################################### conformance per node ###
if wants conformance; then
  for i in 0 1 2; do
    name="conformance suite against node ${NODE_NAMES[$i]} of the cluster"
    log "$name (${URLS[$i]})"
    if CHAT_URL=${URLS[$i]} CHAT_ALLOWED_ORIGIN=$ALLOWED_ORIGIN "$ROOT/scripts/test-conformance.sh" \
      >"$WORK/conformance-${NODE_NAMES[$i]}.log" 2>&1; then
      pass "$name"
    else
      fail "$name"
      grep -E '^(not ok|✖|FAILED|E  )|failed' "$WORK/conformance-${NODE_NAMES[$i]}.log" | head -40 >&2
      log "full output: $WORK/conformance-${NODE_NAMES[$i]}.log"
    fi
  done
fi

############################################################ deployment ###
if wants deploy; then
  log "deployment files"
  if python3 - "$ROOT/docker-compose.cluster.yml" "$ROOT/deploy/nginx/chat-cluster.conf" <<'EOF'; then
import re, sys
import yaml

compose_path, nginx_path = sys.argv[1:3]
doc = yaml.safe_load(open(compose_path))
problems = []
def check(cond, msg):
    if not cond:
        problems.append(msg)

services = doc.get("services") or {}
def env(svc):
    e = services.get(svc, {}).get("environment") or {}
    if isinstance(e, list):
        e = dict(x.split("=", 1) if "=" in x else (x, "") for x in e)
    return {k: str(v) for k, v in e.items()}
def volumes(svc):
    out = []
    for v in services.get(svc, {}).get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source"), v.get("target")))
        else:
            parts = v.split(":")
            out.append((parts[0], parts[1] if len(parts) > 1 else None))
    return out

apps = [n for n, s in services.items() if s.get("build") is not None or "chat-server" in str(s.get("image", ""))]
check(len(apps) >= 2, f"two app nodes built from the Dockerfile, found {apps}")
pg = [n for n, s in services.items() if str(s.get("image", "")).startswith("postgres:16")]
rd = [n for n, s in services.items() if str(s.get("image", "")).startswith("redis:7")]
ng = [n for n, s in services.items() if str(s.get("image", "")).startswith("nginx")]
check(len(pg) == 1, "one postgres:16 service")
check(len(rd) == 1, "one redis:7 service")
check(len(ng) == 1, "one nginx service")
named = set((doc.get("volumes") or {}).keys())
if pg:
    p = services[pg[0]]
    check("healthcheck" in p, "PostgreSQL has a healthcheck")
    check(any(src in named and tgt == "/var/lib/postgresql/data" for src, tgt in volumes(pg[0])),
          "PostgreSQL keeps its data in a named volume at /var/lib/postgresql/data")
upload_vols = []
cleanup_on = []
for a in apps:
    s, e = services[a], env(a)
    if s.get("build") is not None:
        b = s["build"]
        ctx = b if isinstance(b, str) else b.get("context", ".")
        df = "Dockerfile" if isinstance(b, str) else b.get("dockerfile", "Dockerfile")
        check(ctx in (".", "./") and df == "Dockerfile", f"{a} builds the repository's Dockerfile")
    check(re.match(r"^(\$\{[^}]*:-)?postgres(ql)?://", e.get("DATABASE_URL", "")) is not None,
          f"{a}: DATABASE_URL is a postgres:// URL: {e.get('DATABASE_URL')!r}")
    check(e.get("REDIS_URL", "").endswith("redis://redis:6379") or "redis://redis:6379" in e.get("REDIS_URL", ""),
          f"{a}: REDIS_URL=redis://redis:6379: {e.get('REDIS_URL')!r}")
    check(e.get("UPLOAD_DIR") == "/data/uploads", f"{a}: UPLOAD_DIR=/data/uploads")
    ups = [src for src, tgt in volumes(a) if tgt == "/data/uploads"]
    check(len(ups) == 1 and ups[0] in named, f"{a} mounts a named volume at /data/uploads")
    upload_vols += ups
    if not re.match(r"^(off|disabled)$", e.get("CLEANUP_AT", "02:00")):
        cleanup_on.append(a)
    deps = s.get("depends_on") or {}
    for need in pg + rd:
        check(need in deps, f"{a} depends on {need}")
    check("ports" not in s, f"{a} publishes no port of its own (nginx does)")
check(len(set(upload_vols)) == 1, f"every node mounts the same uploads volume: {upload_vols}")
check(len(cleanup_on) == 1, f"exactly one node runs the daily cleanup (CLEANUP_AT=off on the others): {cleanup_on}")
if ng:
    n = services[ng[0]]
    check(any(str(p).split(":")[-2:] == ["5000", "5000"] or str(p) == "5000:5000" for p in n.get("ports") or []),
          f"nginx publishes port 5000: {n.get('ports')}")
    mounts = " ".join(str(v) for v in n.get("volumes") or [])
    check("deploy/nginx/chat-cluster.conf" in mounts, "nginx mounts deploy/nginx/chat-cluster.conf")
    check(all(a in (n.get("depends_on") or {}) for a in apps), "nginx depends on the app nodes")

conf = open(nginx_path).read()
check(re.search(r"upstream\s+\w+\s*\{[^}]*\bip_hash\s*;", conf, re.S), "upstream with ip_hash")
for a in apps:
    check(re.search(rf"server\s+{re.escape(a)}:5000", conf), f"upstream lists {a}:5000")
check(re.search(r"location\s+/socket\.io/", conf), "a location for /socket.io/")
check(re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade", conf), "Upgrade header passed")
check(re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade", conf) and re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade", conf), "Connection header from a map of $http_upgrade")
check(re.search(r"proxy_http_version\s+1\.1", conf), "HTTP/1.1 to the nodes")
check(re.search(r"client_max_body_size\s+6m", conf), "client_max_body_size 6m")
for h in ("Host", "X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto"):
    check(re.search(rf"proxy_set_header\s+{h}\s", conf), f"proxy header {h}")
check(re.search(r"listen\s+5000", conf), "nginx listens on 5000")

if problems:
    print("\n".join("  - " + p for p in problems))
    sys.exit(1)
print(f"compose: services {sorted(services)}; app nodes {apps}; cleanup on {cleanup_on}")
EOF
    pass "docker-compose.cluster.yml and deploy/nginx/chat-cluster.conf: services, settings and shared volumes"
  else
    fail "docker-compose.cluster.yml and deploy/nginx/chat-cluster.conf: services, settings and shared volumes"
  fi

  if [ -z "${CLUSTER_NO_NGINX:-}" ] && ! command -v nginx >/dev/null && [ "$(id -u)" = 0 ]; then
    log "installing nginx-light (for nginx -t)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1; }
  fi
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  if [ -n "${CLUSTER_NO_NGINX:-}" ] || [ ! -x "$NGINX" ]; then
    log "nginx not available: skipping nginx -t and the smoke test through nginx"
  else
    # The conf as Compose mounts it, with the upstream servers pointed at the
    # local nodes and the listen port at a free one.
    ngx="$WORK/nginx"
    mkdir -p "$ngx/conf.d" "$ngx/logs" "$ngx/tmp"
    NGINX_PORT=$(free_port)
    upstream_servers=""
    for i in 0 1 2; do upstream_servers+="    server 127.0.0.1:${PORTS[$i]};\n"; done
    awk -v servers="$upstream_servers" -v port="$NGINX_PORT" '
      /^[[:space:]]*server[[:space:]]+[A-Za-z0-9_.-]+:5000/ { if (!done) { printf "%s", servers; done = 1 } ; next }
      /^[[:space:]]*listen[[:space:]]+(\[::\]:)?5000/ { if ($0 ~ /\[::\]/) next; sub(/listen[[:space:]]+5000/, "listen 127.0.0.1:" port) }
      { print }' "$ROOT/deploy/nginx/chat-cluster.conf" >"$ngx/conf.d/chat-cluster.conf"
    cat >"$ngx/nginx.conf" <<EOF
$([ "$(id -u)" = 0 ] && echo "user root;")
worker_processes 1;
daemon off;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log info;
events { worker_connections 512; }
http {
  access_log $ngx/logs/access.log;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  include $ngx/conf.d/*.conf;
}
EOF
    if "$NGINX" -t -p "$ngx" -c "$ngx/nginx.conf" >"$ngx/nginx-t.log" 2>&1; then
      pass "nginx -t accepts deploy/nginx/chat-cluster.conf"
      "$NGINX" -p "$ngx" -c "$ngx/nginx.conf" >"$ngx/logs/stdout.log" 2>&1 &
      NGINX_PID=$!
      if wait_http "http://127.0.0.1:$NGINX_PORT/healthz" 15; then
        log "nginx smoke test through http://127.0.0.1:$NGINX_PORT"
        if (cd "$ROOT/tests/cluster" &&
          CLUSTER_URLS=$(joined "${URLS[@]}") NGINX_URL="http://127.0.0.1:$NGINX_PORT" \
            node --test --test-timeout=60000 --test-reporter=spec nginx.test.mjs); then
          pass "through nginx (chat-cluster.conf): page, login, polling and websocket sockets, 5 MiB upload"
        else
          fail "through nginx (chat-cluster.conf): page, login, polling and websocket sockets, 5 MiB upload"
          tail -20 "$ngx/logs/error.log" >&2
        fi
      else
        fail "nginx in front of the nodes answers /healthz"
        cat "$ngx/logs/error.log" >&2
      fi
    else
      cat "$ngx/nginx-t.log" >&2
      fail "nginx -t accepts deploy/nginx/chat-cluster.conf"
    fi
  fi
fi

finish
