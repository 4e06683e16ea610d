#!/usr/bin/env bash
# Scale-out suite: three chat-server nodes on one PostgreSQL and one Redis, nginx
# in front, the conformance suite against each node, the Compose/nginx files
# checked. The program is tests/cluster/run.py (its docstring says more).
#   CLUSTER_SUITES="cluster conformance deploy" CLUSTER_NO_NGINX=1 CLUSTER_KEEP=1
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT" || exit 1
PY="$VENV/bin/python"; [ -x "$PY" ] || PY=python3
exec "$PY" tests/cluster/run.py "$@"
