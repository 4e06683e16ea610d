#!/usr/bin/env bash
# Every test of the project, from a fresh machine: installs what is missing,
# starts PostgreSQL and Redis, builds, then runs each suite. The last line
# counts the suites that passed and failed.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

"$ROOT/scripts/install-deps.sh" || die "installing dependencies failed"
"$ROOT/scripts/start-services.sh" || die "starting PostgreSQL/Redis failed"

# Tests that need PostgreSQL create (and drop) their own databases through this URL.
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export PATH="$VENV/bin:$PATH"
# The binaries are built below: a suite must not skip what needs them.
export OPS_REQUIRE_BINARIES=1

log "cargo build"
cargo build --workspace --locked --bins || die "build failed"

# Each suite's output is kept too: CI shows only the tail of the run, so the
# lines that tell why a suite failed are repeated above the summary.
LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"
passed=0 failed=0 failed_names=()
suite_log() { echo "$LOGS/${1// /-}.log"; }
suite() {
  local name=$1; shift
  log "suite: $name"
  # Not a pipe into tee: a daemon a suite leaves behind would hold it open.
  if "$@" > >(tee "$(suite_log "$name")") 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_names+=("$name")
  fi
}

# The lint gate first (vendor/ and fuzz/ are outside the workspace).
suite "fmt" cargo fmt --all -- --check
suite "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
suite "cargo test" cargo test --workspace --locked --no-fail-fast
# The patched dependencies' own tests (docs/PATCHES.md), outside the workspace.
suite "vendor socketioxide" env CARGO_TARGET_DIR="$ROOT/target/vendor" \
  cargo test --locked --manifest-path vendor/socketioxide/Cargo.toml --lib \
  --features "state extensions tracing __test_harness"
suite "vendor tower-http" env CARGO_TARGET_DIR="$ROOT/target/vendor" \
  cargo test --locked --manifest-path vendor/tower-http/Cargo.toml --features fs \
  --test serve_dir_head_invalid_filename
suite "vendor engineioxide" env CARGO_TARGET_DIR="$ROOT/target/vendor" \
  cargo test --locked --manifest-path vendor/engineioxide/Cargo.toml \
  --features "tracing v3 __test_harness"
suite "vendor tungstenite" env CARGO_TARGET_DIR="$ROOT/target/vendor" \
  cargo test --locked --manifest-path vendor/tungstenite/Cargo.toml --lib
for s in conformance e2e cleanup ops container cluster reliability; do
  script="$ROOT/scripts/test-$s.sh"
  [ -x "$script" ] && suite "$s" "$script"
done
# fuzz/README.md: 10 s a target; the dev profile builds twice as fast cold.
suite "fuzz targets" env FUZZ_PROFILE=dev "$ROOT/scripts/fuzz-targets.sh" 10

for name in "${failed_names[@]}"; do
  printf -- '--- why "%s" failed (the whole output: %s)\n' "$name" "$(suite_log "$name")"
  # Passing tests' lines go first (many test names say "error"); a panic's
  # message is the line after it.
  grep -avE '\.\.\. ok$|; 0 failed;|✔' "$(suite_log "$name")" |
    grep -aE --no-group-separator -A1 -- '^test .* FAILED$|^---- |panicked at|FAILED|[Ee]rror|[Ff]ailed' |
    tail -n 40
done
[ $failed -gt 0 ] && printf 'failed suites: %s\n' "${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
