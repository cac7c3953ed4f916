#!/usr/bin/env bash
# The API service, Berth vs Podman in one run, each serving its own socket (runc for
# both, netavark for both):
#   - `docker run --rm busybox true` through the socket (goal <= 0.5)
#   - `docker ps` through the socket (goal <= 0.5)
#   - requests per second for GET /containers/json with 50 containers, 4 clients
#     at once for a few seconds (goal: a ratio berth/podman >= 3)
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-7}
need_registry
image="$BERTH_TEST_REGISTRY/berth-test/busybox:latest"
runtime=${BENCH_RUNTIME:-runc}
# Podman with the runtime, and the ulimits it can set here, in its containers.conf;
# the image in both stores.
podman_conf_for "$runtime"
pull_both "$image"

berth_cmd --runtime "$runtime" system service --time 0 "unix://$work/berth.sock" 2>"$work/berth-service.log" &
berth_pid=$!
podman_cmd system service --time 0 "unix://$work/podman.sock" 2>"$work/podman-service.log" &
podman_pid=$!
# The services run inside the wrapper functions' subshells: stop them by their socket.
stop_services() {
  pkill -f "unix://$work/" 2>/dev/null || true
  wait "$berth_pid" "$podman_pid" 2>/dev/null || true
  bench_cleanup
}
trap stop_services EXIT
for s in berth podman; do
  for _ in $(seq 100); do [ -S "$work/$s.sock" ] && break; sleep 0.1; done
done

docker_on() {
  local which=$1; shift
  DOCKER_HOST="unix://$work/$which.sock" DOCKER_CONFIG="$work/docker-config" docker "$@"
}

# Once each before timing (first-use set-up: networks, caches).
docker_on berth run --rm "$image" true >/dev/null
docker_on podman run --rm "$image" true >/dev/null

b=(); p=()
for i in $(seq "$runs"); do
  b+=("$(time_ms docker_on berth run --rm "$image" true)")
  p+=("$(time_ms docker_on podman run --rm "$image" true)")
done
report "docker run --rm busybox true through the API socket ($runs runs each, median)" 0.5 "${b[*]}" "${p[*]}"

for i in $(seq 50); do
  docker_on berth create --name "c$i" "$image" true >/dev/null
  docker_on podman create --name "c$i" "$image" true >/dev/null
done
b=(); p=()
for i in $(seq "$runs"); do
  b+=("$(time_ms docker_on berth ps -a)")
  p+=("$(time_ms docker_on podman ps -a)")
done
report "docker ps -a with 50 containers through the API socket ($runs runs each, median)" 0.5 "${b[*]}" "${p[*]}"

# Requests per second: 4 clients, each sending GET /containers/json?all=1 on its own
# keep-alive connection, for 3 seconds.
rps() {
  python3 - "$1" <<'PY'
import http.client, socket, sys, threading, time
path = sys.argv[1]
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
count = [0] * 4
stop = time.monotonic() + 3
def client(i):
    c = Conn("localhost")
    while time.monotonic() < stop:
        c.request("GET", "/v1.41/containers/json?all=1")
        r = c.getresponse()
        body = r.read()
        if r.status != 200 or body.count(b'"Id"') != 50:
            raise SystemExit(f"bad answer {r.status}: {body[:200]!r}")
        count[i] += 1
threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(sum(count) / 3)
PY
}
br=$(rps "$work/berth.sock")
pr=$(rps "$work/podman.sock")
echo "GET /containers/json with 50 containers, 4 clients for 3 s"
echo "  berth:  $br requests/s"
echo "  podman: $pr requests/s"
echo "  ratio berth/podman: $(ratio "$br" "$pr")   (goal >= 3)"
