#!/usr/bin/env bash
# Containers, Berth vs Podman, same image and runtime:
#   - median of N `run --rm busybox true` (goal <= 0.3)
#   - `start` of a created container (median of N)
#   - `ps -a` with 200 containers (goal <= 0.25)
#   - peak RSS of Berth's monitor vs conmon while a container runs (goal <= 1)
# Both use --network none (bridge networks are compared by bench/network.sh).
# The run and start figures are taken on runc and on crun. crun 1.8 cannot run on a
# hybrid cgroup host (MACHINE-FACTS); there its part runs in a private mount namespace
# without the unified mount, a pure cgroup v1 host to both engines.
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-20}
need_registry
image="$BERTH_TEST_REGISTRY/berth-test/busybox:latest"
hybrid=''
[ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ] && hybrid=1
runtime=${BENCH_RUNTIME:-runc}
hard_nofile=$(ulimit -Hn); hard_nproc=32768  # MACHINE-FACTS: Podman fails above this here
# Podman asks for rlimits above this machine's hard limits unless told otherwise.
podman_run_flags=(--network none --runtime "$runtime" --ulimit "nofile=$hard_nofile:$hard_nofile" --ulimit "nproc=$hard_nproc:$hard_nproc")
berth_run_flags=(--network none)
berth_cmd --runtime "$runtime" pull -q --tls-verify=false "$image" >/dev/null
podman_cmd pull -q --tls-verify=false "$image" >/dev/null

b=(); p=()
for i in $(seq "$runs"); do
  b+=("$(time_ms berth_cmd --runtime "$runtime" run --rm "${berth_run_flags[@]}" "$image" true)")
  p+=("$(time_ms podman_cmd run --rm "${podman_run_flags[@]}" "$image" true)")
done
report "run --rm busybox true, runtime $runtime ($runs runs each, median)" 0.3 "${b[*]}" "${p[*]}"

b=(); p=()
for i in $(seq "$runs"); do
  berth_cmd --runtime "$runtime" create --name "s$i" "${berth_run_flags[@]}" "$image" true >/dev/null
  podman_cmd create --name "s$i" "${podman_run_flags[@]}" "$image" true >/dev/null
  b+=("$(time_ms berth_cmd --runtime "$runtime" start "s$i")")
  p+=("$(time_ms podman_cmd start "s$i")")
done
report "start of a created container, runtime $runtime ($runs runs each, median)" 0.3 "${b[*]}" "${p[*]}"
berth_cmd rm -a -f >/dev/null 2>&1; podman_cmd rm -a -f >/dev/null 2>&1

# The crun part, once, from the runc run.
if [ -z "${BENCH_RUNTIME:-}" ] && command -v crun >/dev/null; then
  echo
  if [ -n "$hybrid" ]; then
    # shellcheck disable=SC2016 # expanded by the inner shell
    BENCH_RUNTIME=crun BENCH_RUN_ONLY=1 unshare --mount --propagation private \
      sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh bash "$0"
  else
    BENCH_RUNTIME=crun BENCH_RUN_ONLY=1 bash "$0"
  fi
  echo
fi
[ -n "${BENCH_RUN_ONLY:-}" ] && exit 0

for i in $(seq 200); do
  berth_cmd --runtime "$runtime" create "${berth_run_flags[@]}" "$image" true >/dev/null
  podman_cmd create "${podman_run_flags[@]}" "$image" true >/dev/null
done
b=(); p=()
for i in $(seq 10); do
  b+=("$(time_ms berth_cmd ps -a)")
  p+=("$(time_ms podman_cmd ps -a)")
done
report "ps -a with 200 containers (10 runs each, median)" 0.25 "${b[*]}" "${p[*]}"
berth_cmd rm -a -f >/dev/null 2>&1; podman_cmd rm -a -f >/dev/null 2>&1

# Peak RSS (VmHWM) of the per-container monitor process while a container sleeps.
berth_cmd --runtime "$runtime" run -d --name rss "${berth_run_flags[@]}" "$image" sleep 30 >/dev/null
podman_cmd run -d --name rss "${podman_run_flags[@]}" "$image" sleep 30 >/dev/null
sleep 1
bpid=$(berth_cmd inspect --format '{{.State.ConmonPid}}' rss)
ppid=$(podman_cmd inspect --format '{{.State.ConmonPid}}' rss)
brss=$(awk '/VmHWM/ {print $2}' "/proc/$bpid/status")
prss=$(awk '/VmHWM/ {print $2}' "/proc/$ppid/status")
echo "monitor peak RSS"
echo "  berth monitor: ${brss} kB"
echo "  conmon:        ${prss} kB"
echo "  ratio berth/conmon: $(ratio "$brss" "$prss")   (goal <= 1)"
berth_cmd rm -f -t 0 rss >/dev/null 2>&1; podman_cmd rm -f -t 0 rss >/dev/null 2>&1
