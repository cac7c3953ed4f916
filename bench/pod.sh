#!/usr/bin/env bash
# Pods, Berth vs Podman in one run (runc here; crun where it works), both on their
# default bridge network through netavark:
#   - a pod with 3 containers: pod create, 3 creates, pod start, pod rm -f (goal <= 0.5)
#   - kube play of a 5-container pod, started (goal <= 0.5); kube down untimed
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-7}
need_registry
image="$BERTH_TEST_REGISTRY/berth-test/busybox:latest"
runtime=${BENCH_RUNTIME:-runc}
# Podman with the runtime, and the ulimits it can set here, in its containers.conf
# (kube play takes no --ulimit or --runtime); the image in both stores.
podman_conf_for "$runtime"
pull_both "$image"

pod_cycle() {
  local engine=$1 name=bp$RANDOM
  "${engine}_cmd" pod create --name "$name"
  for i in 1 2 3; do
    "${engine}_cmd" create --runtime "$runtime" --pod "$name" --name "$name-$i" "$image" sleep 1000
  done
  "${engine}_cmd" pod start "$name"
  "${engine}_cmd" pod rm -f -t 0 "$name"
}

# Both build their infra image on first use: once before timing.
pod_cycle berth >/dev/null
pod_cycle podman >/dev/null 2>&1

b=(); p=()
for i in $(seq "$runs"); do
  b+=("$(time_ms pod_cycle berth)")
  p+=("$(time_ms pod_cycle podman)")
done
report "pod with 3 containers: create + start + rm -f, runtime $runtime ($runs runs each, median)" 0.5 "${b[*]}" "${p[*]}"

yaml="$work/five.yaml"
{
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: five\nspec:\n  containers:\n'
  for i in 1 2 3 4 5; do
    printf '  - name: c%s\n    image: %s\n    command: ["sleep", "1000"]\n' "$i" "$image"
  done
} >"$yaml"
b=(); p=()
for i in $(seq "$runs"); do
  b+=("$(time_ms berth_cmd --runtime "$runtime" kube play "$yaml")")
  berth_cmd kube down "$yaml" >/dev/null
  p+=("$(time_ms podman_cmd kube play "$yaml")")
  podman_cmd kube down "$yaml" >/dev/null 2>&1
done
report "kube play of a 5-container pod, started, runtime $runtime ($runs runs each, median)" 0.5 "${b[*]}" "${p[*]}"
