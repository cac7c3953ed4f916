#!/usr/bin/env bash
# Installs what Berth needs on a Debian/Ubuntu machine, then builds Berth and
# installs its binaries into /usr/local/bin.
#
#   ./installer/install.sh            system packages + build + install
#   BERTH_SKIP_APT=1 ./installer/...  build + install only
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
prefix=${PREFIX:-/usr/local}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

packages=(
  # build
  build-essential pkg-config git ca-certificates curl libseccomp-dev
  # OCI runtimes, rootless helpers, storage and networking (used by the engine)
  crun runc uidmap fuse-overlayfs netavark aardvark-dns iptables slirp4netns passt catatonit
  # test harness: the real registry, image tools, TLS and htpasswd, busybox for test images
  docker-registry skopeo busybox-static openssl apache2-utils jq zstd iproute2 procps psmisc
  python3 python3-venv util-linux systemd openssh-server openssh-client
  # the reference engine the benchmarks compare against
  podman golang-github-containers-common
)

if [ -z "${BERTH_SKIP_APT:-}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${packages[@]}"
  # Machines: QEMU (with the qemu-img of its own release: a newer one from backports
  # would block it) and virtiofsd (in qemu-system-common); mmdebstrap and mkfs.ext4
  # build the guest image.
  qemu=$(apt-cache policy qemu-system-x86 | awk '/Candidate:/ {print $2}')
  as_root apt-get install -y -q --no-install-recommends --allow-downgrades \
    "qemu-system-x86=$qemu" "qemu-utils=$qemu" mmdebstrap e2fsprogs
  # The packaged registry starts itself on :5000; tests start their own instances.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found; install a Rust toolchain (rustup) first" >&2
  exit 1
fi

cd "$here"
cargo build --release --locked --bins
# The per-container monitor stays resident for every running container: linked
# statically it maps only the code it uses, which keeps its memory below conmon's.
cargo rustc --release --locked -p berth-monitor --bin berth-monitor -- -C target-feature=+crt-static
# The pause process runs inside pods' infra containers, whose image holds nothing else.
cargo rustc --release --locked -p berth-pause --bin berth-pause -- -C target-feature=+crt-static
as_root install -m 0755 target/release/berth "$prefix/bin/berth"
as_root install -m 0755 target/release/berth-agent "$prefix/bin/berth-agent"
as_root install -D -m 0755 target/release/berth-monitor "$prefix/libexec/berth/berth-monitor"
as_root install -D -m 0755 target/release/berth-pause "$prefix/libexec/berth/berth-pause"
# The vhost-user vsock device machines use where the kernel has no /dev/vhost-vsock.
cargo install -q --locked vhost-device-vsock@0.3.0 --root target/vhost-device-vsock
as_root install -D -m 0755 target/vhost-device-vsock/bin/vhost-device-vsock \
  "$prefix/libexec/berth/vhost-device-vsock"
# The API service's systemd units (system and user): the socket starts the service
# on the first connection; the service exits when idle.
for scope in system user; do
  src=installer/systemd
  [ "$scope" = user ] && src=installer/systemd/user
  for unit in berth.socket berth.service; do
    sed "s|/usr/local/bin/berth|$prefix/bin/berth|" "$src/$unit" >"target/$scope-$unit"
    as_root install -D -m 0644 "target/$scope-$unit" "$prefix/lib/systemd/$scope/$unit"
  done
done
echo "berth installed to $prefix/bin/berth"
