#!/usr/bin/env bash
# Machines under QEMU's software emulation (TCG here; the KVM path where it works),
# in one run:
#   - the floor: the machine's own kernel booting a bare busybox initramfs to /init on
#     the same QEMU with the same CPU model (to QEMU's exit, /init powering off at once)
#   - `berth machine start` to the first successful `berth run --rm busybox true`
#     through the VM (goal: <= 3 x the floor)
#   - a forwarded API call (host socket -> forwarder -> vsock -> the guest's service)
#     vs the same call inside the guest on the service's unix socket, by the same
#     client code (berth-agent --ping: the mean of N calls of GET /_ping, each on a
#     connection of its own, then on one kept-alive connection; the median of
#     ROUNDS rounds after one warm-up round each way; goal <= 1.3 x). Inside the
#     guest the client itself runs emulated too.
# Needs root (the image is built with mmdebstrap unless BERTH_TEST_MACHINE_BUILD names a build).
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
pings=${PINGS:-200}
rounds=${ROUNDS:-5}
need_registry
bins=$bench_root/target/release
build=${BERTH_TEST_MACHINE_BUILD:-}
if [ -z "$build" ]; then
  build=$("$bins/berth-images" push --out "$bench_root/target/machine-image" --berth "$bins/berth" \
    --agent "$bins/berth-agent" --monitor "$bins/berth-monitor" --pause "$bins/berth-pause" \
    "$BERTH_TEST_REGISTRY/berth/machine-os:latest" --tls-verify=false)
fi
qemu=qemu-system-$(uname -m)
accel=$("$BERTH" machine info --format '{{.Host.Accel}}')
cpu=$("$BERTH" machine info --format '{{.Host.CPU}}')

# The floor: a busybox /init that says so and powers off.
mkdir -p "$work/initrd/bin"
cp "$(command -v busybox)" "$work/initrd/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox echo BERTH-FLOOR-INIT\n/bin/busybox poweroff -f\n' >"$work/initrd/init"
chmod 0755 "$work/initrd/init"
(cd "$work/initrd" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initrd.cpio.gz")
floor=()
for _ in $(seq "$runs"); do
  floor+=("$(time_ms "$qemu" -M q35 -accel "$accel" -cpu "$cpu" -smp 2 -m 2048 -nodefaults -nographic \
    -no-user-config -no-reboot -serial "file:$work/floor.log" -kernel "$build/vmlinuz" \
    -initrd "$work/initrd.cpio.gz" -append "console=ttyS0 quiet rdinit=/init")")
  grep -q BERTH-FLOOR-INIT "$work/floor.log" || { echo "the floor's /init did not run" >&2; exit 1; }
done

# The machine, in a HOME of its own, with the image pulled into it once.
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_DATA_HOME=$work/home/.local/share
export XDG_RUNTIME_DIR=$work/run
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$BERTH_TEST_REGISTRY" >"$work/registries.conf"
m() { "$BERTH" --registries-conf "$work/registries.conf" machine "$@"; }
stop_machine() { m rm -f bench >/dev/null 2>&1 || true; bench_cleanup; }
trap stop_machine EXIT
guest_image="10.0.2.2:${BERTH_TEST_REGISTRY##*:}/berth-test/busybox:latest"
m init --image "$BERTH_TEST_REGISTRY/berth/machine-os:latest" bench >/dev/null
m start -q bench
"$BERTH" pull -q --tls-verify=false "$guest_image" >/dev/null
m stop bench >/dev/null
machine=()
for _ in $(seq "$runs"); do
  start=$(now_ns)
  m start -q bench
  "$BERTH" run --rm "$guest_image" true
  end=$(now_ns)
  machine+=($(( (end - start) / 1000000 )))
  m stop bench >/dev/null
done

m start -q bench
socket=$(m inspect bench --format '{{.ConnectionInfo.PodmanSocket.Path}}')
# One round each way first, not counted: both sides warm up (the first connections
# after a boot take their code paths for the first time, under emulation a slow one).
"$bins/berth-agent" --ping "$socket" "$pings" >/dev/null
m ssh bench berth-agent --ping /run/user/1000/berth/berth.sock "$pings" >/dev/null
fwd_new=() fwd_kept=() in_new=() in_kept=()
for _ in $(seq "$rounds"); do
  read -r a b < <("$bins/berth-agent" --ping "$socket" "$pings")
  fwd_new+=("$a") fwd_kept+=("$b")
  read -r a b < <(m ssh bench berth-agent --ping /run/user/1000/berth/berth.sock "$pings" | tr -d '\r')
  in_new+=("$a") in_kept+=("$b")
done
med() { tr ' ' '\n' <<<"$*" | median; }

fm=$(med "${floor[@]}")
mm=$(med "${machine[@]}")
echo "machine start to the first berth run --rm busybox true, QEMU $accel, CPU $cpu ($runs runs each, median)"
echo "  floor (kernel to a bare /init): ${fm} ms   (runs: ${floor[*]})"
echo "  berth machine:                  ${mm} ms   (runs: ${machine[*]})"
echo "  ratio machine/floor: $(ratio "$mm" "$fm")   (goal <= 3)"
echo "API call GET /_ping, mean of $pings calls, median of $rounds rounds (us)"
echo "  a connection per call: forwarded $(med "${fwd_new[@]}")  inside $(med "${in_new[@]}")  ratio $(ratio "$(med "${fwd_new[@]}")" "$(med "${in_new[@]}")")   (goal <= 1.3)"
echo "    rounds forwarded: ${fwd_new[*]}   inside: ${in_new[*]}"
echo "  one kept-alive connection: forwarded $(med "${fwd_kept[@]}")  inside $(med "${in_kept[@]}")  ratio $(ratio "$(med "${fwd_kept[@]}")" "$(med "${in_kept[@]}")")   (goal <= 1.3)"
echo "    rounds forwarded: ${fwd_kept[*]}   inside: ${in_kept[*]}"
