# shellcheck shell=bash
# Source me: brings the e2e test registries up for a developer's shell and
# exports the BERTH_* variables, so `cargo test -p berth-e2e ...` can be run
# by hand afterwards. Tear down with tests/harness/down.sh.
#
#   source tests/harness/up.sh
#   cargo test -p berth-e2e harness
#   tests/harness/down.sh
#
# Runs the work in a child bash (start.sh) so the caller's shell options are
# left alone; a previous environment of this shell is torn down first.
if ! (return 0 2>/dev/null); then
  echo "up.sh must be sourced: source ${BASH_SOURCE[0]}" >&2
  exit 1
fi
_berth_harness=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${BERTH_HARNESS_STATE:-}" ] && [ -d "$BERTH_HARNESS_STATE" ]; then
  "$_berth_harness/down.sh" "$BERTH_HARNESS_STATE"
fi
BERTH_HARNESS_STATE=$(mktemp -d "${TMPDIR:-/tmp}/berth-harness.XXXXXX")
export BERTH_HARNESS_STATE
if "$_berth_harness/start.sh" "$BERTH_HARNESS_STATE"; then
  # shellcheck disable=SC1091 # written by start.sh
  . "$BERTH_HARNESS_STATE/env.sh"
  env | grep '^BERTH_' | sort >&2
  unset _berth_harness
else
  "$_berth_harness/down.sh" "$BERTH_HARNESS_STATE"
  unset _berth_harness BERTH_HARNESS_STATE
  return 1
fi
