#!/usr/bin/env bash
# Networking, Berth vs Podman in one run, both on their default bridge network through
# netavark (runc here; crun where it works):
#   - median of N `run --rm busybox true` on the default bridge (goal <= 0.5)
#   - rootless `run --rm` as the test harness's rootless user (goal <= 0.5)
#   - loopback throughput into a container through a published port (goal >= Podman's)
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-10}
need_registry
image="$BERTH_TEST_REGISTRY/berth-test/busybox:latest"
runtime=${BENCH_RUNTIME:-runc}
hard_nofile=$(ulimit -Hn); hard_nproc=32768  # MACHINE-FACTS: Podman fails above this here
podman_run_flags=(--runtime "$runtime" --ulimit "nofile=$hard_nofile:$hard_nofile" --ulimit "nproc=$hard_nproc:$hard_nproc")
berth_cmd pull -q --tls-verify=false "$image" >/dev/null
podman_cmd pull -q --tls-verify=false "$image" >/dev/null

b=(); p=()
for i in $(seq "$runs"); do
  b+=("$(time_ms berth_cmd --runtime "$runtime" run --rm "$image" true)")
  p+=("$(time_ms podman_cmd run --rm "${podman_run_flags[@]}" "$image" true)")
done
report "run --rm busybox true on the default bridge, runtime $runtime ($runs runs each, median)" 0.5 "${b[*]}" "${p[*]}"

# Rootless: the harness's rootless user (tests/harness/start.sh makes it), Berth on
# pasta, Podman 4.3 on slirp4netns (it has no pasta mode), both runc without cgroups.
rootless_user=${BERTH_TEST_ROOTLESS_USER:-berth-rootless}
if id "$rootless_user" >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  as_user() { runuser -u "$rootless_user" -- env -u CONTAINERS_CONF -C / HOME="/home/$rootless_user" "$@"; }
  as_user "$BERTH" pull -q --tls-verify=false "$image" >/dev/null
  as_user podman --cgroup-manager cgroupfs pull -q --tls-verify=false "$image" >/dev/null 2>&1
  b=(); p=()
  for i in $(seq "$runs"); do
    b+=("$(time_ms as_user "$BERTH" run --rm "$image" true)")
    p+=("$(time_ms as_user podman --cgroup-manager cgroupfs run --rm "${podman_run_flags[@]}" "$image" true)")
  done
  report "rootless run --rm busybox true as $rootless_user ($runs runs each, median)" 0.5 "${b[*]}" "${p[*]}"
else
  echo "rootless run --rm: not measured (no user $rootless_user; tests/harness/start.sh makes it)"
fi

# MB/s of 256 MiB sent from the host to 127.0.0.1:PORT, published to `nc -l` in a container.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
send_mib() {
  python3 - "$1" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
chunk = b"\0" * (1 << 20)
deadline = time.time() + 10
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port))
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.05)
start = time.time()
for _ in range(256):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(int(256 / (time.time() - start)))
PY
}
throughput() {
  local engine=$1 port name=tput$RANDOM
  port=$(free_port)
  if [ "$engine" = berth ]; then
    berth_cmd --runtime "$runtime" run -d --name "$name" -p "127.0.0.1:$port:5000" "$image" sh -c 'nc -l -p 5000 > /dev/null' >/dev/null
  else
    podman_cmd run -d --name "$name" "${podman_run_flags[@]}" -p "127.0.0.1:$port:5000" "$image" sh -c 'nc -l -p 5000 > /dev/null' >/dev/null
  fi
  send_mib "$port"
  if [ "$engine" = berth ]; then berth_cmd rm -f -t 0 "$name" >/dev/null; else podman_cmd rm -f -t 0 "$name" >/dev/null; fi
}
b=(); p=()
for i in 1 2 3; do
  b+=("$(throughput berth)")
  p+=("$(throughput podman)")
done
bm=$(tr ' ' '\n' <<<"${b[*]}" | median)
pm=$(tr ' ' '\n' <<<"${p[*]}" | median)
echo "published-port throughput, 256 MiB host -> container (3 runs each, median)"
echo "  berth:  ${bm} MB/s   (runs: ${b[*]})"
echo "  podman: ${pm} MB/s   (runs: ${p[*]})"
echo "  ratio berth/podman: $(ratio "$bm" "$pm")   (goal >= 1)"
