# shellcheck shell=bash
# Shared shell functions of the e2e test harness: logging, free ports, test
# certificates, starting a docker-registry instance and the token server it may
# trust, pushing images with skopeo and checking what the registry serves.
# Sourced by start.sh; not run alone.

# The repository root and the cargo target directory.
harness_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
harness_target=${CARGO_TARGET_DIR:-$harness_root/target}
case $harness_target in /*) ;; *) harness_target=$harness_root/$harness_target ;; esac

# The token registry's `service` and `issuer` (the token server puts them in
# each token's aud and iss claims).
token_service=berth-test-registry
token_issuer=berth-test-token-server

# Every Accept type a pull may want; used when checking what a registry serves.
manifest_accept='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'

log() { printf 'harness: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Seconds since the epoch with milliseconds, for timings.
now() { date +%s.%3N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# Fails with a hint when a tool the harness needs is missing.
require_tools() {
  local missing=()
  for tool in docker-registry skopeo openssl htpasswd curl jq cargo python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ -x /bin/busybox ] || missing+=(/bin/busybox)
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: run ./installer/install.sh (Debian packages docker-registry skopeo openssl apache2-utils jq curl busybox-static python3)"
}

# Prints a 127.0.0.1 TCP port nothing listens on (a registry that still loses
# the race to another process is retried by start_registry).
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found"
}

# make_certs DIR: a CA (DIR/ca.crt, DIR/ca.key) and a server certificate for
# IP:127.0.0.1 and DNS:localhost signed by it (DIR/server.crt, DIR/server.key).
make_certs() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 -subj "/CN=berth-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || die "openssl: making the test CA failed"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=localhost" \
    2>/dev/null || die "openssl: making the server key failed"
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/server.crt" -days 3650 -extfile "$dir/server.ext" 2>/dev/null \
    || die "openssl: signing the server certificate failed"
}

# make_token_cert DIR: an RSA key that signs the token server's JWTs
# (DIR/token.key) and its certificate, signed by the test CA of make_certs
# (DIR/token.crt); the token registry trusts the CA as its rootcertbundle.
make_token_cert() {
  local dir=$1
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/token.key" -out "$dir/token.csr" \
    -subj "/CN=berth-test-token-signer" 2>/dev/null || die "openssl: making the token signing key failed"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" >"$dir/token.ext"
  openssl x509 -req -in "$dir/token.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/token.crt" -days 3650 -extfile "$dir/token.ext" 2>/dev/null \
    || die "openssl: signing the token signing certificate failed"
}

# write_registry_config FILE PORT STORAGE [TLS_DIR [AUTH]]: a docker-registry
# (CNCF distribution 2.8) config for one instance on 127.0.0.1:PORT. AUTH is the
# YAML of the `auth` section's one entry, e.g. `htpasswd: {realm: r, path: p}`.
write_registry_config() {
  local file=$1 port=$2 storage=$3 tls=${4:-} auth=${5:-}
  {
    echo "version: 0.1"
    echo "log: {level: info, accesslog: {disabled: false}}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: \"$storage\"}"
    echo "  delete: {enabled: true}"
    echo "  maintenance: {uploadpurging: {enabled: false}}"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  secret: berth-test-secret"
    if [ -n "$tls" ]; then
      echo "  tls: {certificate: \"$tls/server.crt\", key: \"$tls/server.key\"}"
    fi
    if [ -n "$auth" ]; then
      echo "auth:"
      echo "  $auth"
    fi
  } >"$file"
}

# wait_registry URL PID [CURL_ARGS...]: waits until URL answers with any HTTP
# status (200, or 401 behind auth); fails when PID died or after 30 s.
wait_registry() {
  local url=$1 pid=$2 code
  shift 2
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 1
    code=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null || true)
    case $code in 200 | 401) return 0 ;; esac
    sleep 0.1
  done
  return 1
}

# start_registry STATE NAME MODE: starts one registry (MODE plain, tls, auth
# or token; token needs the token server of start_token_server running) with its
# storage in STATE/NAME, records "PID NAME" in STATE/pids and prints its port.
# Retries on another port if the chosen one was taken meanwhile.
start_registry() {
  local state=$1 name=$2 mode=$3 port pid tls='' auth='' scheme=http curl_args=()
  if [ "$mode" != plain ]; then tls=$state/tls scheme=https curl_args=(--cacert "$state/certs.d/ca.crt"); fi
  case $mode in
    auth) auth="htpasswd: {realm: berth-test, path: \"$state/htpasswd\"}" ;;
    token)
      auth="token: {realm: \"$(token_realm "$state")\", service: $token_service, issuer: $token_issuer,"
      auth+=" rootcertbundle: \"$state/tls/ca.crt\"}"
      ;;
  esac
  mkdir -p "$state/$name"
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    write_registry_config "$state/$name.yml" "$port" "$state/$name" "$tls" "$auth"
    docker-registry serve "$state/$name.yml" </dev/null >>"$state/$name.log" 2>&1 &
    pid=$!
    echo "$pid $name" >>"$state/pids"
    if wait_registry "$scheme://127.0.0.1:$port/v2/" "$pid" "${curl_args[@]}"; then
      echo "$port"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    log "registry $name did not come up on port $port; retrying (log: $state/$name.log)"
  done
  tail -n 20 "$state/$name.log" >&2
  die "registry $name failed to start"
}

# start_token_server STATE USER PASSWORD: starts tests/harness/token_server.py
# over HTTPS (the server certificate of STATE/tls) signing with STATE/tls/token.key,
# granting USER:PASSWORD everything and anonymous clients nothing; records
# "PID token-server" in STATE/pids, logs to STATE/token-server.log and prints
# its port once a token request succeeds (the port is kept in STATE/token-server.port).
start_token_server() {
  local state=$1 user=$2 pass=$3 pid port=''
  rm -f "$state/token-server.port"
  python3 "$harness_root/tests/harness/token_server.py" \
    --tls-cert "$state/tls/server.crt" --tls-key "$state/tls/server.key" \
    --signing-key "$state/tls/token.key" --signing-cert "$state/tls/token.crt" \
    --issuer "$token_issuer" --service "$token_service" --user "$user" --password "$pass" \
    --port-file "$state/token-server.port" </dev/null >>"$state/token-server.log" 2>&1 &
  pid=$!
  echo "$pid token-server" >>"$state/pids"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    if [ -s "$state/token-server.port" ]; then
      port=$(cat "$state/token-server.port")
      if curl -sf -o /dev/null --cacert "$state/certs.d/ca.crt" \
        "https://127.0.0.1:$port/token?service=$token_service" 2>/dev/null; then
        echo "$port"
        return 0
      fi
    fi
    sleep 0.1
  done
  tail -n 20 "$state/token-server.log" >&2
  die "the token server failed to start"
}

# token_realm STATE: the token endpoint of the running token server.
token_realm() {
  echo "https://127.0.0.1:$(cat "$1/token-server.port")/token"
}

# token_for STATE SCOPE USER:PASSWORD: prints a token for SCOPE (e.g.
# repository:berth-test/busybox:pull) from the token server.
token_for() {
  local state=$1 scope=$2 creds=$3
  curl -sf --cacert "$state/certs.d/ca.crt" -u "$creds" -G "$(token_realm "$state")" \
    --data-urlencode "service=$token_service" --data-urlencode "scope=$scope" | jq -er .token \
    || die "no token for $scope from $(token_realm "$state")"
}

# push IMAGES_DIR IMAGE DEST_REF [SKOPEO_ARGS...]: copies the OCI layout of IMAGE
# to docker://DEST_REF keeping its exact digests (all platforms of an index).
push() {
  local images=$1 image=$2 dest=$3 all=()
  shift 3
  if [ "$(jq -r --arg i "$image" '.images[$i].platforms | length' "$images/manifest.json")" != 0 ]; then
    all=(--all)
  fi
  # No :tag after the layout path: each layout holds one entry, and skopeo 1.9
  # refuses a tag lookup of a Docker media type in an OCI layout.
  skopeo --insecure-policy copy -q --preserve-digests "${all[@]}" "$@" \
    "oci:$images/$image" "docker://$dest" || die "skopeo: pushing $image to $dest failed"
}

# check_manifest URL DIGEST MEDIA_TYPE [CURL_ARGS...]: fails unless the registry
# serves the manifest at URL with exactly this digest and Content-Type.
check_manifest() {
  local url=$1 digest=$2 media_type=$3 headers body got_type got_digest got_sum
  shift 3
  headers=$(mktemp) body=$(mktemp)
  curl -sf -D "$headers" -o "$body" -H "Accept: $manifest_accept" "$@" "$url" \
    || die "curl $url failed"
  got_type=$(tr -d '\r' <"$headers" | awk -F': ' 'tolower($1) == "content-type" { print $2 }')
  got_digest=$(tr -d '\r' <"$headers" | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
  got_sum=sha256:$(sha256sum <"$body" | cut -d' ' -f1)
  rm -f "$headers" "$body"
  [ "$got_type" = "$media_type" ] || die "$url: Content-Type $got_type, expected $media_type"
  if [ "$got_digest" != "$digest" ] || [ "$got_sum" != "$digest" ]; then
    die "$url: digest $got_digest (body $got_sum), expected $digest"
  fi
}
