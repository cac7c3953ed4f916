//! Checks of the test harness itself: the registries started by tests/run.sh
//! serve exactly the images and digests of manifest.json, TLS, basic auth and
//! token auth (with the harness's token server) behave, and a `PrivateRegistry`
//! can be started, filled and located on disk.

use std::process::Command;
use std::time::Duration;

use berth_e2e::registry::{blob_data_path, http_status};
use berth_e2e::{cmd, images, CmdResult, PrivateRegistry, TestEnv};
use sha2::{Digest, Sha256};

const ACCEPT: &str = "Accept: application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// A manifest as a registry served it.
struct Served {
    status: u16,
    content_type: String,
    digest_header: String,
    www_authenticate: String,
    body: String,
}

fn curl(args: &[&str]) -> CmdResult {
    let mut c = Command::new("curl");
    c.args(["-s", "-i", "-H", ACCEPT]).args(args);
    cmd::run(c, None, Duration::from_secs(60))
}

/// GETs a manifest with `curl -i` and splits the response.
fn get_manifest(args: &[&str]) -> Served {
    let out = curl(args);
    let text = out.ok();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    Served {
        status,
        content_type: header("content-type"),
        digest_header: header("docker-content-digest"),
        www_authenticate: header("www-authenticate"),
        body: body.into(),
    }
}

fn sha256(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

#[test]
fn plain_registry_serves_every_image_with_its_catalogue_digest() {
    let env = TestEnv::get();
    for (name, info) in &images().images {
        let url = format!(
            "http://{}/v2/berth-test/{name}/manifests/{}",
            env.registry, info.tag
        );
        let served = get_manifest(&[&url]);
        assert_eq!(served.status, 200, "{url}");
        assert_eq!(served.content_type, info.media_type, "{url}");
        assert_eq!(served.digest_header, info.manifest_digest, "{url}");
        assert_eq!(sha256(&served.body), info.manifest_digest, "{url}");
    }
}

#[test]
fn busybox_docker_twin_has_the_same_image_id() {
    let (oci, docker) = (images().get("busybox"), images().get("busybox-docker"));
    assert_eq!(oci.id(), docker.id());
    assert_ne!(oci.manifest_digest, docker.manifest_digest);
    assert_eq!(
        docker.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let list = images().get("multiarch-docker");
    assert_eq!(
        list.media_type,
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
}

#[test]
fn multiarch_index_lists_both_platforms() {
    let env = TestEnv::get();
    let info = images().get("multiarch");
    let url = format!(
        "http://{}/v2/berth-test/multiarch/manifests/latest",
        env.registry
    );
    let index: serde_json::Value =
        serde_json::from_str(&get_manifest(&[&url]).body).expect("index JSON");
    let listed: Vec<(&str, &str)> = index["manifests"]
        .as_array()
        .expect("manifests array")
        .iter()
        .map(|m| {
            (
                m["platform"]["architecture"].as_str().unwrap_or(""),
                m["digest"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let arm64 = info.platform("arm64");
    assert_eq!(arm64.variant.as_deref(), Some("v8"));
    assert_eq!(
        listed,
        [
            ("amd64", info.platform("amd64").manifest_digest.as_str()),
            ("arm64", arm64.manifest_digest.as_str())
        ]
    );
    assert_ne!(info.platform("amd64").id(), arm64.id());
}

#[test]
fn tls_registry_needs_the_test_ca() {
    let env = TestEnv::get();
    let url = format!(
        "https://{}/v2/berth-test/busybox/manifests/latest",
        env.registry_tls
    );
    // curl exits 60 when the server certificate cannot be verified.
    curl(&[&url]).fails_with(60);
    let ca = env.cert_dir.join("ca.crt");
    let served = get_manifest(&["--cacert", ca.to_str().expect("UTF-8 path"), &url]);
    assert_eq!(
        served.digest_header,
        images().get("busybox").manifest_digest
    );
    let localhost = url.replace("127.0.0.1", "localhost");
    assert_eq!(
        get_manifest(&["--cacert", ca.to_str().expect("UTF-8 path"), &localhost]).status,
        200
    );
}

#[test]
fn auth_registry_needs_credentials() {
    let env = TestEnv::get();
    let ca = env.cert_dir.join("ca.crt");
    let ca = ca.to_str().expect("UTF-8 path");
    let url = format!(
        "https://{}/v2/berth-test/multilayer/manifests/latest",
        env.registry_auth
    );
    assert_eq!(get_manifest(&["--cacert", ca, &url]).status, 401);
    let bad = format!("{}:wrong", env.auth_user);
    assert_eq!(
        get_manifest(&["--cacert", ca, "-u", &bad, &url]).status,
        401
    );
    let good = format!("{}:{}", env.auth_user, env.auth_pass);
    let served = get_manifest(&["--cacert", ca, "-u", &good, &url]);
    assert_eq!(served.status, 200);
    assert_eq!(
        served.digest_header,
        images().get("multilayer").manifest_digest
    );
}

/// The value of `key="value"` in a `WWW-Authenticate` challenge.
fn challenge_param(challenge: &str, key: &str) -> String {
    let start = challenge
        .find(&format!("{key}=\""))
        .unwrap_or_else(|| panic!("no {key} in {challenge:?}"))
        + key.len()
        + 2;
    let len = challenge[start..].find('"').expect("closing quote");
    challenge[start..start + len].to_string()
}

/// GETs a token from `realm`; `None` when it answered with another status than 200.
fn fetch_token(
    ca: &str,
    realm: &str,
    service: &str,
    scope: &str,
    user: Option<&str>,
) -> Option<String> {
    let mut args = vec!["-s", "--cacert", ca, "-G", realm, "--data-urlencode"];
    let (service, scope) = (format!("service={service}"), format!("scope={scope}"));
    args.extend([service.as_str(), "--data-urlencode", scope.as_str()]);
    if let Some(user) = user {
        args.extend(["-u", user]);
    }
    args.extend(["-w", "\n%{http_code}"]);
    let mut c = Command::new("curl");
    c.args(&args);
    let out = cmd::run(c, None, Duration::from_secs(60));
    let (body, status) = out.ok().rsplit_once('\n').expect("body and status");
    if status != "200" {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_str(body).expect("token JSON");
    Some(doc["token"].as_str().expect("a token").to_string())
}

#[test]
fn token_registry_accepts_only_tokens_its_token_server_signed() {
    let env = TestEnv::get();
    let ca = env.cert_dir.join("ca.crt");
    let ca = ca.to_str().expect("UTF-8 path");
    let url = format!(
        "https://{}/v2/berth-test/multilayer/manifests/latest",
        env.registry_token
    );
    let challenged = get_manifest(&["--cacert", ca, &url]);
    assert_eq!(challenged.status, 401);
    let challenge = &challenged.www_authenticate;
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let realm = challenge_param(challenge, "realm");
    let service = challenge_param(challenge, "service");
    let scope = challenge_param(challenge, "scope");
    assert!(realm.starts_with("https://127.0.0.1:"), "{challenge}");
    assert_eq!(scope, "repository:berth-test/multilayer:pull");

    // Anonymous: a token, but without access.
    let anonymous = fetch_token(ca, &realm, &service, &scope, None).expect("anonymous token");
    let bearer = |token: &str| format!("Authorization: Bearer {token}");
    let refused = get_manifest(&["--cacert", ca, "-H", &bearer(&anonymous), &url]);
    assert_eq!(refused.status, 401);
    assert!(
        refused.www_authenticate.contains("insufficient_scope"),
        "{}",
        refused.www_authenticate
    );

    let bad = format!("{}:wrong", env.auth_user);
    assert_eq!(fetch_token(ca, &realm, &service, &scope, Some(&bad)), None);

    let good = format!("{}:{}", env.auth_user, env.auth_pass);
    let token = fetch_token(ca, &realm, &service, &scope, Some(&good)).expect("token");
    let served = get_manifest(&["--cacert", ca, "-H", &bearer(&token), &url]);
    assert_eq!(served.status, 200);
    assert_eq!(
        served.digest_header,
        images().get("multilayer").manifest_digest
    );

    // The granting claims with another token's signature: not signed by the server.
    let (signed, _) = token.rsplit_once('.').expect("a JWT");
    let (_, other_signature) = anonymous.rsplit_once('.').expect("a JWT");
    let forged = format!("{signed}.{other_signature}");
    let forged = get_manifest(&["--cacert", ca, "-H", &bearer(&forged), &url]);
    assert_eq!(forged.status, 401);
    assert!(
        forged.www_authenticate.contains("invalid_token"),
        "{}",
        forged.www_authenticate
    );
}

#[test]
fn plain_storage_holds_the_blobs() {
    let env = TestEnv::get();
    for layer in &images().get("multilayer").layers {
        let path = blob_data_path(&env.plain_storage, &layer.digest);
        let len = std::fs::metadata(&path)
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(len, layer.size);
    }
}

#[test]
fn private_registry_push_blob_path_and_drop() {
    let registry = PrivateRegistry::start();
    let reference = registry.push("busybox", "berth-test/busybox:latest");
    assert_eq!(
        reference,
        format!("{}/berth-test/busybox:latest", registry.addr())
    );
    let layer = &images().get("busybox").layers[0];
    let blob = std::fs::read(registry.blob_path(&layer.digest))
        .expect("layer blob in the private registry");
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(&blob))),
        layer.digest
    );

    // Fault injection: a truncated blob is served short.
    std::fs::write(registry.blob_path(&layer.digest), &blob[..1000]).expect("truncating the blob");
    let url = format!(
        "http://{}/v2/berth-test/busybox/blobs/{}",
        registry.addr(),
        layer.digest
    );
    let mut c = Command::new("curl");
    c.args(["-s", "-o", "/dev/null", "-w", "%{size_download}", &url]);
    assert_eq!(cmd::run(c, None, Duration::from_secs(60)).ok(), "1000");

    let addr = registry.addr();
    drop(registry);
    assert_eq!(
        http_status(&addr, "/v2/"),
        None,
        "registry still answers after drop"
    );
}
