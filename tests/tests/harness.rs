//! Checks of the test harness itself: the registries started by tests/run.sh
//! serve exactly the images and digests of manifest.json, TLS and auth behave,
//! and a `PrivateRegistry` can be started, filled and located on disk.

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
