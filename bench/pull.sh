#!/usr/bin/env bash
# Pull of the large test image (>= 200 MiB, 5 layers) from the local registry into
# empty stores: Berth vs Podman, alternating, median of N runs each. Prints the
# ratio Berth/Podman (goal: <= 0.5).
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
need_registry
image="$BERTH_TEST_REGISTRY/berth-test/large:latest"
b=(); p=()
for i in $(seq "$runs"); do
  berth_cmd system reset -f >/dev/null 2>&1 || true
  podman_cmd rmi -a -f >/dev/null 2>&1 || true
  b+=("$(time_ms berth_cmd pull -q --tls-verify=false "$image")")
  p+=("$(time_ms podman_cmd pull -q --tls-verify=false "$image")")
done
report "pull $image ($runs runs each, median)" 0.5 "${b[*]}" "${p[*]}"
