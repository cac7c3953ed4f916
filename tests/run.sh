#!/usr/bin/env bash
# Runs Berth's whole test suite: brings up the e2e harness (test images, four
# local docker-registry instances and a token server, pushed images; see
# tests/harness/start.sh), runs `cargo test --workspace` with the BERTH_*
# environment, tears everything down on exit (failure and Ctrl-C included) and
# prints a summary.
#
#   tests/run.sh                      everything
#   tests/run.sh pull                 only tests whose name contains "pull"
#   tests/run.sh -p berth-e2e -- --nocapture
#
# Arguments go to `cargo test --workspace` as they are (`--workspace` is left out
# when they name packages with -p/--package, which it would override). Works as root, after
# ./installer/install.sh. BERTH_BIN picks the binary under test (default:
# target/release/berth if it exists, else a debug build made here);
# BERTH_HARNESS_KEEP=1 keeps the registry logs and state directory.
set -euo pipefail
# shellcheck source=tests/harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness/lib.sh"
cd "$harness_root"

state=$(mktemp -d "${TMPDIR:-/tmp}/berth-harness.XXXXXX")
status=''
test_time=''
test_cmd=''
started=$(now)
# Free disk where the build and the stores live, in GiB (a full disk fails tests late).
free_gib() { df -P -k . "${TMPDIR:-/tmp}" | awk 'NR > 1 { printf "%s%.1f", sep, $4 / 1048576; sep = "/" }'; }
disk_at_start=$(free_gib)

# On any exit: stop the registries, remove the state, print what happened.
# shellcheck disable=SC2317 # called by the EXIT trap
finish() {
  local rc=$?
  set +e
  local registries='' timings=''
  if [ -f "$state/env.sh" ]; then
    # shellcheck disable=SC1091 # written by start.sh
    registries=$(. "$state/env.sh" && echo "plain $BERTH_TEST_REGISTRY, tls $BERTH_TEST_REGISTRY_TLS, auth $BERTH_TEST_REGISTRY_AUTH, token $BERTH_TEST_REGISTRY_TOKEN (stopped)")
  fi
  [ -f "$state/timings" ] && timings=$(paste -sd, "$state/timings" | sed 's/,/, /g')
  # Totals over every "test result: ok. N passed; N failed; N ignored" line.
  local totals=''
  [ -f "$state/test.log" ] && totals=$(awk '/^test result:/ {
      for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i }
    } END { printf "%d passed, %d failed, %d skipped", p, f, s }' "$state/test.log")
  tests/harness/down.sh "$state" 2>/dev/null
  echo
  echo "== berth test summary =="
  echo "berth binary: ${BERTH_BIN:-none}"
  echo "registries:   ${registries:-setup did not finish (stopped)}"
  echo "harness:      ${timings:-not completed}"
  if [ -n "$status" ]; then
    echo "command:      $test_cmd: exit $status after $test_time"
    echo "tests: $totals"
  else
    echo "tests did not finish (harness setup failed or interrupted; exit $rc)"
  fi
  echo "disk free:    $disk_at_start GiB at the start, $(free_gib) GiB at the end (tree/tmp)"
  echo "total:        $(since "$started")"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The binary under test.
if [ -z "${BERTH_BIN:-}" ]; then
  if [ -x "$harness_target/release/berth" ]; then
    BERTH_BIN=$harness_target/release/berth
    newer=$(find . -path ./target -prune -o \( -name '*.rs' -o -name Cargo.toml \) -newer "$BERTH_BIN" -print -quit)
    [ -z "$newer" ] || log "warning: $BERTH_BIN is older than $newer; rebuild it or set BERTH_BIN"
  else
    log "building berth (debug)"
    cargo build -p berth-cli -p berth-monitor --bins || die "building berth failed"
    BERTH_BIN=$harness_target/debug/berth
  fi
fi
export BERTH_BIN

# The whole suite also checks what CI must keep true: formatting, clippy, and that the
# CLI builds without the Linux engine (as on macOS and Windows).
if [ $# -eq 0 ]; then
  log "static checks: cargo fmt, clippy, remote-only CLI"
  cargo fmt --all -- --check || die "cargo fmt --check: the tree is not formatted"
  cargo clippy --workspace --all-targets -- -D warnings || die "cargo clippy found problems"
  cargo check -p berth-cli --no-default-features || die "the CLI does not build without the local engine"
fi

tests/harness/start.sh "$state"
# shellcheck disable=SC1091 # written by start.sh
. "$state/env.sh"

# --workspace, unless the arguments pick packages themselves.
scope=(--workspace)
for arg in "$@"; do
  case $arg in
    --) break ;;
    -p | -p* | --package | --package=*) scope=() ;;
  esac
done

# The container tests run on crun. crun 1.8 refuses hosts whose hybrid cgroup layout
# puts controllers in the unified hierarchy (MACHINE-FACTS); there the tests run in a
# private mount namespace without that mount, which is a pure cgroup v1 host to crun
# and Berth alike. Without arguments, the container suites then run again on runc, on
# the host as it is (where Berth itself has to pick runc).
crun_ns=()
if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
  # shellcheck disable=SC2016 # expanded by the inner shell
  crun_ns=(unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
fi
container_suites=(--test containers --test container_faults --test container_concurrency
  --test container_security --test volumes --test userns --test pods --test kube)

test_cmd="BERTH_TEST_RUNTIME=crun cargo test ${scope[*]:+${scope[*]} }$*"
[ $# -eq 0 ] && test_cmd+="; BERTH_TEST_RUNTIME=runc cargo test -p berth-e2e ${container_suites[*]}"
t=$(now)
set +e
BERTH_TEST_RUNTIME=crun "${crun_ns[@]}" cargo test "${scope[@]}" --no-fail-fast "$@" 2>&1 | tee "$state/test.log"
status=${PIPESTATUS[0]}
if [ $# -eq 0 ]; then
  log "the container suites again, on runc"
  BERTH_TEST_RUNTIME=runc cargo test --no-fail-fast -p berth-e2e "${container_suites[@]}" 2>&1 | tee -a "$state/test.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
set -e
test_time=$(since "$t")
exit "$status"
