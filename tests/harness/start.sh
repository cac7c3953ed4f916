#!/usr/bin/env bash
# Brings up the e2e test environment in STATE_DIR (an empty directory):
#   1. builds berth-testimages and the test images (cached in target/berth-testimages),
#   2. makes a test CA + server certificate, a token signing certificate and
#      an htpasswd file,
#   3. starts a token server (tests/harness/token_server.py) and four
#      docker-registry instances on free 127.0.0.1 ports: plain HTTP, TLS,
#      TLS + basic auth, and TLS + Bearer token auth (trusting the token server),
#   4. pushes the images with skopeo and checks with curl what the registries serve,
#   5. creates the rootless test users (as root),
#   6. installs the API clients (tests/py/requirements.txt) in target/test-venv,
#   7. writes STATE_DIR/env.sh with the BERTH_* variables the tests read.
# The registries and the token server keep running after this script exits;
# tests/harness/down.sh STATE_DIR stops them. Use tests/run.sh or
# `source tests/harness/up.sh` rather than calling this directly.
#
# Environment: BERTH_BIN, BERTH_TEST_IMAGES (the image cache directory) and
# BERTH_TESTIMAGES_BIN (a prebuilt berth-testimages) override the defaults.
set -euo pipefail
# shellcheck source=tests/harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

state=${1:?usage: start.sh STATE_DIR}
mkdir -p "$state"
state=$(cd "$state" && pwd)
: >"$state/pids"
require_tools

auth_user=berth-test
auth_pass=berth-test-password
images=${BERTH_TEST_IMAGES:-$harness_target/berth-testimages}

# 1. Test images.
t=$(now)
if [ -z "${BERTH_TESTIMAGES_BIN:-}" ]; then
  (cd "$harness_root" && cargo build -q -p berth-e2e --bin berth-testimages) \
    || die "building berth-testimages failed"
  BERTH_TESTIMAGES_BIN=$harness_target/debug/berth-testimages
fi
"$BERTH_TESTIMAGES_BIN" "$images" || die "building the test images failed"
echo "images $(since "$t")" >>"$state/timings"

# 2. Certificates (server key and cert and the token signing key and cert in
#    tls/, the CA alone in certs.d/ for --cert-dir) and the htpasswd file.
t=$(now)
make_certs "$state/tls"
make_token_cert "$state/tls"
mkdir -p "$state/certs.d"
cp "$state/tls/ca.crt" "$state/certs.d/ca.crt"
htpasswd -Bbn "$auth_user" "$auth_pass" >"$state/htpasswd" 2>/dev/null || die "htpasswd failed"

# 3. Registries, and the token server before the registry that trusts it.
plain_port=$(start_registry "$state" registry-plain plain)
tls_port=$(start_registry "$state" registry-tls tls)
auth_port=$(start_registry "$state" registry-auth auth)
start_token_server "$state" "$auth_user" "$auth_pass" >/dev/null
token_port=$(start_registry "$state" registry-token token)
echo "registries $(since "$t")" >>"$state/timings"
plain=127.0.0.1:$plain_port tls=127.0.0.1:$tls_port auth=127.0.0.1:$auth_port token=127.0.0.1:$token_port
cacert=(--cacert "$state/certs.d/ca.crt")

# 4. Push and check. Every image to the plain registry, busybox and multilayer
#    to the TLS, auth and token ones too (skopeo gets its token itself).
t=$(now)
: >"$state/pushed"
for image in $(jq -r '.images | keys[]' "$images/manifest.json"); do
  tag=$(jq -r --arg i "$image" '.images[$i].tag' "$images/manifest.json")
  push "$images" "$image" "$plain/berth-test/$image:$tag" --dest-tls-verify=false
  echo "$plain berth-test/$image:$tag" >>"$state/pushed"
done
for image in busybox multilayer; do
  push "$images" "$image" "$tls/berth-test/$image:latest" --dest-cert-dir "$state/certs.d"
  push "$images" "$image" "$auth/berth-test/$image:latest" --dest-cert-dir "$state/certs.d" \
    --dest-creds "$auth_user:$auth_pass"
  push "$images" "$image" "$token/berth-test/$image:latest" --dest-cert-dir "$state/certs.d" \
    --dest-creds "$auth_user:$auth_pass"
  printf '%s berth-test/%s:latest\n' "$tls" "$image" "$auth" "$image" "$token" "$image" >>"$state/pushed"
done
while read -r registry ref; do
  image=${ref#berth-test/} image=${image%:*}
  digest=$(jq -r --arg i "$image" '.images[$i].manifest_digest' "$images/manifest.json")
  media_type=$(jq -r --arg i "$image" '.images[$i].media_type' "$images/manifest.json")
  case $registry in
    "$plain") check_manifest "http://$registry/v2/${ref%:*}/manifests/${ref##*:}" "$digest" "$media_type" ;;
    "$tls") check_manifest "https://$registry/v2/${ref%:*}/manifests/${ref##*:}" "$digest" "$media_type" "${cacert[@]}" ;;
    "$auth") check_manifest "https://$registry/v2/${ref%:*}/manifests/${ref##*:}" "$digest" "$media_type" \
      "${cacert[@]}" -u "$auth_user:$auth_pass" ;;
    "$token") check_manifest "https://$registry/v2/${ref%:*}/manifests/${ref##*:}" "$digest" "$media_type" \
      "${cacert[@]}" -H "Authorization: Bearer $(token_for "$state" "repository:${ref%:*}:pull" "$auth_user:$auth_pass")" ;;
  esac
done <"$state/pushed"
echo "push+check $(since "$t")" >>"$state/timings"

# 5. Rootless users: one with subordinate ID ranges (useradd gives it 65536 of each),
#    one without. Made once per machine; only as root.
rootless_user=berth-rootless
nosubid_user=berth-nosubid
if [ "$(id -u)" = 0 ]; then
  id "$rootless_user" >/dev/null 2>&1 || useradd -m "$rootless_user"
  grep -q "^$rootless_user:" /etc/subuid || usermod --add-subuids 200000-265535 "$rootless_user"
  grep -q "^$rootless_user:" /etc/subgid || usermod --add-subgids 200000-265535 "$rootless_user"
  id "$nosubid_user" >/dev/null 2>&1 || useradd -m "$nosubid_user"
  sed -i "/^$nosubid_user:/d" /etc/subuid /etc/subgid
  # pasta and slirp4netns (rootless networking) need the tun device, and fuse-overlayfs
  # the fuse device: root's alone on these machines.
  [ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
  [ -c /dev/fuse ] && chmod 0666 /dev/fuse
fi

# 6. The API clients from PyPI (docker-py, podman-py, docker compose v2) in a
#    virtual environment, made again only when the requirements change.
t=$(now)
venv=$harness_target/test-venv
reqs=$harness_root/tests/py/requirements.txt
if ! cmp -s "$reqs" "$venv/requirements.txt" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv" || die "making the test virtual environment failed (python3-venv)"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs" \
    || die "installing the API clients from PyPI failed"
  cp "$reqs" "$venv/requirements.txt"
fi
echo "clients $(since "$t")" >>"$state/timings"

# 7. The machine image: Debian's packages with this tree's binaries (a build is cached
#    under its key and made again only when they change), published to the plain
#    registry as Berth's machine-image artifact. Needs root (mmdebstrap).
t=$(now)
bins=$harness_target/release
machine_image=
if [ "$(id -u)" = 0 ] && [ -x "$bins/berth-images" ] && [ -x "$bins/berth-agent" ]; then
  machine_build=$("$bins/berth-images" push --out "$harness_target/machine-image" \
    --berth "$bins/berth" --agent "$bins/berth-agent" --monitor "$bins/berth-monitor" \
    --pause "$bins/berth-pause" "$plain/berth/machine-os:latest" --tls-verify=false) \
    || die "building the machine image failed"
  machine_image=$plain/berth/machine-os:latest
fi
echo "machine image $(since "$t")" >>"$state/timings"

# 8. The tests' environment.
if [ -z "${BERTH_BIN:-}" ]; then
  BERTH_BIN=$harness_target/debug/berth
  [ -x "$harness_target/release/berth" ] && BERTH_BIN=$harness_target/release/berth
fi
cat >"$state/env.sh" <<EOF
# Written by tests/harness/start.sh: the e2e tests' environment.
export BERTH_HARNESS_STATE='$state'
export BERTH_BIN='$BERTH_BIN'
export BERTH_TEST_IMAGES='$images'
export BERTH_TEST_REGISTRY='$plain'
export BERTH_TEST_REGISTRY_TLS='$tls'
export BERTH_TEST_CERT_DIR='$state/certs.d'
export BERTH_TEST_REGISTRY_AUTH='$auth'
export BERTH_TEST_AUTH_USER='$auth_user'
export BERTH_TEST_AUTH_PASS='$auth_pass'
export BERTH_TEST_REGISTRY_TOKEN='$token'
export BERTH_TEST_PLAIN_STORAGE='$state/registry-plain'
export BERTH_TEST_ROOTLESS_USER='$rootless_user'
export BERTH_TEST_NOSUBID_USER='$nosubid_user'
export BERTH_TEST_VENV='$venv'
export BERTH_TEST_MACHINE_IMAGE='$machine_image'
export BERTH_TEST_MACHINE_BUILD='${machine_build:-}'
EOF
log "up: plain $plain, tls $tls, auth $auth, token $token (token server $(token_realm "$state")); $(wc -l <"$state/pushed") pushes checked; $(paste -sd, "$state/timings" | sed 's/,/, /g')"
