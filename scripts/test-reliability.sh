#!/usr/bin/env bash
# The suites that try to break the server (tests/reliability/README.md), each
# bounded: the protocol fuzzer (FUZZ_SECONDS, 60), injected faults, and a
# churn soak (SOAK_MINUTES, 2). Longer runs: scripts/bench.sh soak|fuzz.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"
py="$VENV/bin/python"
failed=()
run() {
  local name=$1; shift
  log "reliability: $name"
  "$@" || failed+=("$name")
}
run "protocol fuzzer" "$py" tests/reliability/fuzz_protocol.py --seconds "${FUZZ_SECONDS:-60}"
run "faults" "$py" -m pytest -q -p no:cacheprovider tests/reliability/test_faults.py
run "soak" "$py" tests/reliability/soak.py --minutes "${SOAK_MINUTES:-2}"
[ ${#failed[@]} -eq 0 ] || { printf 'reliability failed: %s\n' "${failed[*]}"; exit 1; }
