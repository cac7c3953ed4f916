#!/usr/bin/env python3
"""A Docker registry token server for Berth's e2e tests (standard library only).

Implements the token side of the Docker Registry v2 Bearer authentication
(distribution's docs/spec/auth/token.md and jwt.md), as the harness's token
registry (tests/harness/start.sh) is configured to trust it:

    GET /token?service=SERVICE&scope=repository:NAME:pull,push[&scope=...]
        [Authorization: Basic base64(user:password)]
    -> 200 {"token": JWT, "access_token": JWT, "expires_in": 300, "issued_at": ...}

* Correct Basic credentials (--user/--password) get every action they ask for
  (pull, push, delete, *) on what the scopes name.
* No Authorization header: an anonymous token that grants nothing, as real token
  servers answer for private repositories; the registry then refuses the pull.
* Wrong credentials, or a non-Basic Authorization: 401, no token.
* A `service` other than --service: 400, and any other path: 404.

Tokens are RS256 JWTs whose header carries `x5c` (the DER signing certificate,
base64), which distribution 2.8 verifies against its `rootcertbundle`; the claims
are iss (--issuer), sub (the user, "" when anonymous), aud (the service),
exp/nbf/iat, jti and access [{"type", "name", "actions"}]. Signing runs
`openssl dgst -sha256 -sign KEY`.

Serves HTTPS on 127.0.0.1 with --tls-cert/--tls-key on a port the kernel picks,
written to --port-file once it listens. Logs one line per request to stderr.

    token_server.py --tls-cert server.crt --tls-key server.key \\
        --signing-key token.key --signing-cert token.crt \\
        --issuer ISSUER --service SERVICE --user USER --password PASSWORD \\
        --port-file PORT_FILE
"""

import argparse
import base64
import binascii
import datetime
import http.server
import json
import os
import secrets
import ssl
import subprocess
import sys
import time
import urllib.parse

TOKEN_LIFETIME = 300
# What an authenticated user may be granted; anything else asked for is dropped.
GRANTABLE = {"pull", "push", "delete", "*"}


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWS wants."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_scope(scope: str):
    """`TYPE[(CLASS)]:NAME:ACTIONS` -> (type, name, [actions]), or None.

    The type is what precedes the first colon and the actions what follows the
    last, so a name with colons in it (allowed by the spec) stays whole.
    """
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not kind or not name:
        return None
    if "(" in kind:
        kind = kind.split("(", 1)[0]
    return kind, name, [a for a in actions.split(",") if a]


class TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config):
        self.config = config
        with open(config.signing_cert, encoding="ascii") as f:
            pem = f.read()
        first = pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
        self.x5c = [base64.b64encode(ssl.PEM_cert_to_DER_cert(first)).decode("ascii")]
        super().__init__(("127.0.0.1", 0), TokenHandler)

    def sign(self, claims) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        signing_input = ".".join(
            b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.config.signing_key],
            input=signing_input.encode("ascii"),
            capture_output=True,
            check=True,
        ).stdout
        return f"{signing_input}.{b64url(signature)}"


class TokenHandler(http.server.BaseHTTPRequestHandler):
    server: TokenServer
    server_version = "berth-test-token-server/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        sys.stderr.write(
            "%s %s\n" % (datetime.datetime.now().isoformat(timespec="milliseconds"), format % args)
        )
        sys.stderr.flush()

    def log_request(self, code="-", size="-"):
        # One line per request comes from do_GET/error instead, with the user and grant.
        pass

    def reply(self, status: int, body, extra_headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, code: str, message: str, extra_headers=()):
        self.log_message("%s %s -> %d %s", self.command, self.path, status, message)
        self.reply(status, {"errors": [{"code": code, "message": message}]}, extra_headers)

    def do_POST(self):  # noqa: N802 (http.server's naming)
        # The OAuth2 form flow (refresh tokens) is not offered; clients fall back to GET.
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.error(405, "UNSUPPORTED", "only GET /token is served")

    def do_GET(self):  # noqa: N802 (http.server's naming)
        config = self.server.config
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.error(404, "NOT_FOUND", f"no such path {url.path}")
            return
        query = urllib.parse.parse_qs(url.query)
        service = query.get("service", [""])[0]
        if service != config.service:
            self.error(400, "UNSUPPORTED", f"unknown service {service!r}, expected {config.service!r}")
            return

        user = self.authenticate()
        if user is None:
            self.error(
                401,
                "UNAUTHORIZED",
                "invalid username or password",
                [("WWW-Authenticate", 'Basic realm="berth-test-token-server"')],
            )
            return

        # Each scope parameter may hold several space-separated scopes.
        requested = [s for value in query.get("scope", []) for s in value.split()]
        access = []
        for scope in requested:
            parsed = parse_scope(scope)
            if parsed is None:
                self.log_message("ignoring malformed scope %r", scope)
                continue
            kind, name, actions = parsed
            granted = [a for a in actions if a in GRANTABLE] if user else []
            access.append({"type": kind, "name": name, "actions": granted})

        now = int(time.time())
        claims = {
            "iss": config.issuer,
            "sub": user,
            "aud": service,
            "exp": now + TOKEN_LIFETIME,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = self.server.sign(claims)
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        self.log_message(
            "GET %s user=%s -> 200 access=%s",
            self.path,
            user or "<anonymous>",
            json.dumps(access, separators=(",", ":")),
        )
        self.reply(
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": TOKEN_LIFETIME,
                "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )

    def authenticate(self):
        """The user name for good credentials, "" for none, None for bad ones."""
        header = self.headers.get("Authorization")
        if header is None:
            return ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        config = self.server.config
        ok = sep and secrets.compare_digest(user, config.user) and secrets.compare_digest(password, config.password)
        return user if ok else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    for name in (
        "tls-cert",
        "tls-key",
        "signing-key",
        "signing-cert",
        "issuer",
        "service",
        "user",
        "password",
        "port-file",
    ):
        parser.add_argument(f"--{name}", required=True)
    config = parser.parse_args()

    server = TokenServer(config)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    # Handshakes happen in the handler threads, so a stalled client blocks no one.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)

    port = server.server_address[1]
    tmp = f"{config.port_file}.tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, config.port_file)
    sys.stderr.write(f"token server listening on https://127.0.0.1:{port}/token (pid {os.getpid()})\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
