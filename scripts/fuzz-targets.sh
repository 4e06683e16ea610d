#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ (cargo-fuzz, libFuzzer, no sanitizer: it
# works on the stable toolchain) and runs each for SECONDS (default 10) on a
# copy of its seed corpus fuzz/corpus/<target>, so the repo is never changed.
# Fails if any target crashes (a panic, a failed invariant, a timeout or an
# out-of-memory); the input is printed in hex and kept in
# fuzz/artifacts/<target>/ (git-ignored) for `cargo fuzz run`.
#
#   scripts/fuzz-targets.sh [SECONDS]        every target
#   FUZZ_TARGETS="socketio_packet upload_multipart" scripts/fuzz-targets.sh 600
#   FUZZ_PROFILE=dev scripts/fuzz-targets.sh     a faster cold build, slower runs
#
# Needs cargo-fuzz and a C++ compiler (scripts/install-deps.sh installs both);
# installs nothing itself. Builds into fuzz/target, not the main target dir.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

secs=${1:-10}
[[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || die "usage: $0 [SECONDS]"
command -v cargo-fuzz >/dev/null || die "cargo-fuzz is not installed (scripts/install-deps.sh installs it)"
command -v "${CXX:-c++}" >/dev/null || die "no C++ compiler (${CXX:-c++}) for libFuzzer (scripts/install-deps.sh installs g++)"

export CARGO_TARGET_DIR="$ROOT/fuzz/target"
triple=$(rustc -vV | sed -n 's/^host: //p')
# FUZZ_PROFILE=release (the default, cargo fuzz's -O): slower to build cold
# but 8-20x more runs a second than dev; fuzz/Cargo.toml's release profile
# keeps debug assertions and overflow checks on. FUZZ_PROFILE=dev builds about
# twice as fast, for a quick check of the seeds.
profile=${FUZZ_PROFILE:-release}
case $profile in
  release) build_args=() out=release ;;
  dev) build_args=(--dev) out=debug ;;
  *) die "FUZZ_PROFILE is release or dev, not $profile" ;;
esac
log "cargo fuzz build --sanitizer none ${build_args[*]} (into fuzz/target)"
start=$SECONDS
cargo fuzz build --sanitizer none --target "$triple" "${build_args[@]}"
log "built in $((SECONDS - start)) s"

read -r -a targets <<<"${FUZZ_TARGETS:-$(cargo fuzz list | tr '\n' ' ')}"
[ ${#targets[@]} -gt 0 ] || die "no fuzz targets"

work=$(mktemp -d /tmp/chat-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Temp files the targets make (the upload folder) go away with $work.
mkdir -p "$work/tmp"
export TMPDIR="$work/tmp"

failed=()
summary=()
for t in "${targets[@]}"; do
  bin="$CARGO_TARGET_DIR/$triple/$out/$t"
  [ -x "$bin" ] || die "no binary $bin"
  corpus="$work/corpus/$t"
  artifacts="$work/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  [ -d "fuzz/corpus/$t" ] && cp -R "fuzz/corpus/$t/." "$corpus/"
  seeds=$(find "$corpus" -type f | wc -l)
  args=(-max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10
    -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="fuzz/dict/$t.dict")
  log "fuzzing $t for ${secs}s ($seeds seeds)"
  rc=0
  "$bin" "${args[@]}" "$corpus" >"$work/$t.log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$work/$t.log" | tail -1 | cut -d' ' -f2)
  found=$(find "$artifacts" -type f | sort)
  if [ $rc -eq 0 ] && [ -z "$found" ]; then
    summary+=("$(printf '%-18s runs=%-10s cov=%-6s corpus=%s->%s  ok' "$t" "${runs:-?}" "${cov:-?}" "$seeds" "$(find "$corpus" -type f | wc -l)")")
    continue
  fi
  failed+=("$t")
  summary+=("$(printf '%-18s runs=%-10s cov=%-6s CRASHED (exit %s)' "$t" "${runs:-?}" "${cov:-?}" "$rc")")
  # The panic and its place, then each input.
  grep -E -A12 "panicked at|ERROR: libFuzzer|==[0-9]+== ERROR" "$work/$t.log" | head -40 >&2 || tail -40 "$work/$t.log" >&2
  mkdir -p "fuzz/artifacts/$t"
  for a in $found; do
    kept="fuzz/artifacts/$t/$(basename "$a")"
    cp "$a" "$kept"
    printf '\033[1;31m%s crashed\033[0m on %s (%s bytes); reproduce: cargo fuzz run --sanitizer none %s%s %s\n' \
      "$t" "$kept" "$(wc -c <"$a")" "${build_args[*]:+${build_args[*]} }" "$t" "$kept" >&2
    od -An -tx1 -v "$a" | head -64 >&2
  done
done

printf '%s\n' "${summary[@]}"
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ] || die "fuzz targets crashed: ${failed[*]} (inputs in fuzz/artifacts/)"
