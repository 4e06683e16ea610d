#!/usr/bin/env bash
# Tests of the deployment files outside Docker (Dockerfile, Compose file,
# entrypoint, cron line, systemd units): tests/ops/test_ops.py, with pytest.
# OPS_REQUIRE_BINARIES=1 turns the skips for want of the real binaries into
# failures; CHAT_SERVER_BIN / CHAT_CLEANUP_BIN override target/debug/*.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"
export PYTHONDONTWRITEBYTECODE=1
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/ops "$@"
