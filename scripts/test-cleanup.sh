#!/usr/bin/env bash
# chat-cleanup in a loop against a live server under Socket.IO traffic:
# tests/cleanup/test_cleanup_live.py (its docstring lists the checks and the
# environment: CHAT_SERVER_BIN, CLEANUP_BIN, CLEANUP_TEST_SECONDS,
# CLEANUP_TEST_NO_BUILD, KEEP_TEST_DATA). A missing binary is a failure.
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/cleanup "$@"
