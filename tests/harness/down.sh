#!/usr/bin/env bash
# Tears down what tests/harness/start.sh brought up: stops the registries and
# the token server it recorded in STATE_DIR/pids and removes STATE_DIR (kept, with the registry
# logs, when BERTH_HARNESS_KEEP=1).
#
#   tests/harness/down.sh [STATE_DIR]    (default: $BERTH_HARNESS_STATE)
set -uo pipefail

state=${1:-${BERTH_HARNESS_STATE:-}}
if [ -z "$state" ] || [ ! -d "$state" ]; then
  echo "harness: nothing to tear down (no state dir; pass one or set BERTH_HARNESS_STATE)" >&2
  exit 0
fi

# Only signal processes that are still the registries or token server we
# started (pids get reused).
ours() { grep -qaE 'docker-registry|token_server\.py' "/proc/$1/cmdline" 2>/dev/null; }

pids=()
if [ -f "$state/pids" ]; then
  while read -r pid _name; do
    if ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
  done <"$state/pids"
fi
for pid in "${pids[@]}"; do
  for _ in $(seq 1 50); do
    ours "$pid" || break
    sleep 0.1
  done
  if ours "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
done

if [ "${BERTH_HARNESS_KEEP:-}" = 1 ]; then
  echo "harness: stopped ${#pids[@]} servers (registries, token server); kept $state" >&2
else
  rm -rf "$state"
  echo "harness: stopped ${#pids[@]} servers (registries, token server); removed $state" >&2
fi
