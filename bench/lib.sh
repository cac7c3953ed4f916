# Shared by the benchmarks: timing, medians, Podman's settings for this machine,
# and the test registry (brought up by the e2e harness when not already up).
set -euo pipefail
bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH=${BERTH_BIN:-$(command -v berth || echo "$bench_root/target/release/berth")}
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")

# Podman as it works on these machines: cgroupfs, no systemd, its own store under $work,
# and netavark, as Berth (Debian's podman ships a CNI configuration that would otherwise
# make it pick CNI, whose plugins are not installed).
cat >"$work/containers.conf" <<'CONF'
[network]
network_backend = "netavark"
CONF
export CONTAINERS_CONF="$work/containers.conf"
podman_cmd() {
  podman --root "$work/podman-root" --runroot "$work/podman-run" --storage-driver overlay \
    --cgroup-manager cgroupfs "$@"
}
berth_cmd() {
  "$BERTH" --root "$work/berth-root" --runroot "$work/berth-run" "$@"
}

now_ns() { date +%s%N; }

# Wall time of a command in milliseconds (stdout/stderr discarded).
time_ms() {
  local start end
  start=$(now_ns)
  "$@" >/dev/null 2>"$work/last.err" || { echo "benchmark command failed: $*: $(tail -n 3 "$work/last.err")" >&2; return 1; }
  end=$(now_ns)
  echo $(( (end - start) / 1000000 ))
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

bench_cleanup() {
  podman_cmd system reset -f >/dev/null 2>&1 || true
  rm -rf "$work"
  if [ -n "${bench_started_harness:-}" ]; then
    "$bench_root/tests/harness/down.sh" "$BERTH_HARNESS_STATE" >/dev/null 2>&1 || true
  fi
}
trap bench_cleanup EXIT

# Makes sure BERTH_TEST_REGISTRY is up (starts the e2e harness if needed).
need_registry() {
  if [ -z "${BERTH_TEST_REGISTRY:-}" ]; then
    bench_started_harness=1
    BERTH_HARNESS_STATE="$work/harness"
    mkdir -p "$BERTH_HARNESS_STATE"
    "$bench_root/tests/harness/start.sh" "$BERTH_HARNESS_STATE" >&2
    . "$BERTH_HARNESS_STATE/env.sh"
  fi
}

# Prints the medians of two runs lists and their ratio against a goal.
#   report TITLE GOAL "berth runs..." "podman runs..."
report() {
  local title=$1 goal=$2 bm pm
  bm=$(tr ' ' '\n' <<<"$3" | median)
  pm=$(tr ' ' '\n' <<<"$4" | median)
  echo "$title"
  echo "  berth:  ${bm} ms   (runs: $3)"
  echo "  podman: ${pm} ms   (runs: $4)"
  echo "  ratio berth/podman: $(ratio "$bm" "$pm")   (goal <= $goal)"
}

# Podman's containers.conf for container benchmarks: runtime $1, and the ulimits it
# can set here (MACHINE-FACTS: Podman fails above nproc 32768 on these machines).
podman_conf_for() {
  local hard_nofile hard_nproc=32768
  hard_nofile=$(ulimit -Hn)
  cat >>"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$hard_nofile:$hard_nofile", "nproc=$hard_nproc:$hard_nproc"]
[engine]
runtime = "$1"
CONF
}

# Pulls image $1 into both stores from the (plain HTTP) test registry.
pull_both() {
  berth_cmd pull -q --tls-verify=false "$1" >/dev/null
  podman_cmd pull -q --tls-verify=false "$1" >/dev/null
}
