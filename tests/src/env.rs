//! `TestEnv`: what the harness (`tests/run.sh`, `tests/harness/up.sh`) set up,
//! read from the `BERTH_*` environment variables.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::images::Catalogue;

/// The harness's registries, images and the berth binary under test.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// `BERTH_BIN`: the berth binary the tests run.
    pub berth_bin: PathBuf,
    /// `BERTH_TEST_IMAGES`: the OCI layouts and their `manifest.json`.
    pub images_dir: PathBuf,
    /// `BERTH_TEST_REGISTRY`: host:port of the plain-HTTP registry holding every image.
    pub registry: String,
    /// `BERTH_TEST_REGISTRY_TLS`: host:port of the TLS registry (busybox, multilayer).
    pub registry_tls: String,
    /// `BERTH_TEST_CERT_DIR`: a directory holding only the test CA as `ca.crt`.
    pub cert_dir: PathBuf,
    /// `BERTH_TEST_REGISTRY_AUTH`: host:port of the TLS + basic-auth registry.
    pub registry_auth: String,
    /// `BERTH_TEST_AUTH_USER` / `BERTH_TEST_AUTH_PASS`: its credentials, and
    /// those the token server grants pull and push for.
    pub auth_user: String,
    pub auth_pass: String,
    /// `BERTH_TEST_REGISTRY_TOKEN`: host:port of the TLS registry with Bearer token
    /// auth; its challenge names the harness's token server (HTTPS, same CA) as realm.
    pub registry_token: String,
    /// `BERTH_TEST_PLAIN_STORAGE`: the plain registry's storage root (read it;
    /// corrupt blobs only in a `PrivateRegistry`, which no other test shares).
    pub plain_storage: PathBuf,
    /// `BERTH_TEST_ROOTLESS_USER`: a non-root user with /etc/subuid and /etc/subgid ranges.
    pub rootless_user: String,
    /// `BERTH_TEST_NOSUBID_USER`: a non-root user without any.
    pub nosubid_user: String,
    /// `BERTH_TEST_VENV`: a Python virtual environment with the API clients
    /// (docker-py, podman-py, docker compose v2).
    pub venv: PathBuf,
}

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: the e2e tests need the registries and images of the test harness.\n\
             Run them with ./tests/run.sh [TEST NAME FILTER] (or `source tests/harness/up.sh` \
             in this shell first, then cargo test)."
        ),
    }
}

impl TestEnv {
    /// The environment, read once; panics saying to use ./tests/run.sh when unset.
    pub fn get() -> &'static TestEnv {
        static ENV: OnceLock<TestEnv> = OnceLock::new();
        ENV.get_or_init(|| TestEnv {
            berth_bin: var("BERTH_BIN").into(),
            images_dir: var("BERTH_TEST_IMAGES").into(),
            registry: var("BERTH_TEST_REGISTRY"),
            registry_tls: var("BERTH_TEST_REGISTRY_TLS"),
            cert_dir: var("BERTH_TEST_CERT_DIR").into(),
            registry_auth: var("BERTH_TEST_REGISTRY_AUTH"),
            auth_user: var("BERTH_TEST_AUTH_USER"),
            auth_pass: var("BERTH_TEST_AUTH_PASS"),
            registry_token: var("BERTH_TEST_REGISTRY_TOKEN"),
            plain_storage: var("BERTH_TEST_PLAIN_STORAGE").into(),
            rootless_user: var("BERTH_TEST_ROOTLESS_USER"),
            nosubid_user: var("BERTH_TEST_NOSUBID_USER"),
            venv: var("BERTH_TEST_VENV").into(),
        })
    }

    /// `<plain registry>/berth-test/<image>:latest`, e.g. for `berth pull`.
    /// `--cert-dir` for the TLS registries: the directory with the harness CA.
    pub fn cert_dir_arg(&self) -> String {
        self.cert_dir.display().to_string()
    }

    pub fn image_ref(&self, image: &str) -> String {
        format!("{}/berth-test/{image}:latest", self.registry)
    }

    /// The same image on the TLS registry (only busybox and multilayer are there).
    pub fn tls_ref(&self, image: &str) -> String {
        format!("{}/berth-test/{image}:latest", self.registry_tls)
    }

    /// The same image on the auth registry (only busybox and multilayer are there).
    pub fn auth_ref(&self, image: &str) -> String {
        format!("{}/berth-test/{image}:latest", self.registry_auth)
    }

    /// The same image on the token-auth registry (only busybox and multilayer are there).
    pub fn token_ref(&self, image: &str) -> String {
        format!("{}/berth-test/{image}:latest", self.registry_token)
    }
}

/// The catalogue of test images (`manifest.json`), read once.
pub fn images() -> &'static Catalogue {
    static IMAGES: OnceLock<Catalogue> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let dir = &TestEnv::get().images_dir;
        Catalogue::load(dir).unwrap_or_else(|e| panic!("test images in {}: {e:#}", dir.display()))
    })
}
