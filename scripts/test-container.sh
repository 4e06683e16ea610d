#!/usr/bin/env bash
# The image built from the Dockerfile and run for real with podman (as root):
# tests/container/images.py makes the base images when missing and builds,
# then tests/container/test_container.py runs it as docker-compose.yml does.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"
export PYTHONDONTWRITEBYTECODE=1
"$VENV/bin/python" tests/container/images.py || die "the image did not build"
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/container "$@"
