//! Registries that want TLS and credentials: `login`/`logout` against the real
//! TLS + htpasswd registry, the auth files Podman and Docker users have, `--creds`,
//! `--authfile`, `--cert-dir`, and pushing with credentials.

use berth_e2e::{images, Store, TestEnv};
use std::os::unix::fs::PermissionsExt;

fn auth_json(store: &Store) -> std::path::PathBuf {
    store.path().join("xdg-runtime/containers/auth.json")
}

#[test]
fn login_stores_credentials_that_pull_and_push_then_use() {
    let store = Store::new();
    let env = TestEnv::get();
    let (cd, reg) = (TestEnv::get().cert_dir_arg(), env.registry_auth.clone());
    let out = store.login(&reg);
    assert_eq!(out.ok(), "Login Succeeded!\n");
    let file = auth_json(&store);
    let meta = std::fs::metadata(&file).expect("auth.json written");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    assert!(doc["auths"][&reg]["auth"].is_string(), "{doc}");
    let r = env.auth_ref("busybox");
    let id = store
        .berth(["pull", "-q", "--cert-dir", &cd, &r])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id, images().get("busybox").id());
    let dest = format!("{reg}/pushed/by-login:1");
    store.berth(["tag", &id, &dest]).ok();
    store.berth(["push", "--cert-dir", &cd, &dest]).ok();
    let fresh = Store::new();
    let creds = format!("{}:{}", env.auth_user, env.auth_pass);
    assert_eq!(
        fresh
            .berth(["pull", "-q", "--cert-dir", &cd, "--creds", &creds, &dest])
            .ok()
            .trim(),
        id
    );
    let out = store.berth(["logout", &reg]);
    assert_eq!(out.ok(), format!("Removed login credentials for {reg}\n"));
    let denied = store.berth(["pull", "--cert-dir", &cd, &r]);
    assert!(
        denied.fails_with(125).contains("authentication required"),
        "{denied}"
    );
    let nobody = store.berth(["login", "--get-login", &reg]);
    assert!(
        nobody.fails_with(125).contains("not logged into"),
        "{nobody}"
    );
    let again = store.berth(["logout", &reg]);
    assert!(again.fails_with(125).contains("not logged into"), "{again}");
}

#[test]
fn login_with_a_wrong_password_fails_and_writes_nothing() {
    let store = Store::new();
    let env = TestEnv::get();
    let out = store.login_as(&env.registry_auth, &env.auth_user, "wrong");
    let err = out.fails_with(125);
    assert!(err.contains("invalid username or password"), "{out}");
    assert_eq!(err.lines().count(), 1, "one-line error: {out}");
    assert!(!auth_json(&store).exists());
}

#[test]
fn password_stdin_and_authfile_are_honoured() {
    let store = Store::new();
    let env = TestEnv::get();
    let authfile = store.path().join("my-auth.json");
    let af = authfile.display().to_string();
    let out = store.berth_input(
        [
            "login",
            "--cert-dir",
            &TestEnv::get().cert_dir_arg(),
            "--authfile",
            &af,
            "-u",
            &env.auth_user,
            "--password-stdin",
            &env.registry_auth,
        ],
        format!("{}\n", env.auth_pass).as_bytes(),
    );
    out.ok();
    assert!(authfile.exists() && !auth_json(&store).exists());
    let r = env.auth_ref("multilayer");
    store
        .berth([
            "pull",
            "-q",
            "--cert-dir",
            &TestEnv::get().cert_dir_arg(),
            "--authfile",
            &af,
            &r,
        ])
        .ok();
    store.berth(["logout", "--authfile", &af, "--all"]).ok();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&authfile).expect("read")).expect("json");
    assert_eq!(doc["auths"], serde_json::json!({}));
}

#[test]
fn docker_config_json_credentials_are_read() {
    let store = Store::new();
    let env = TestEnv::get();
    let docker = store.home().join(".docker");
    std::fs::create_dir_all(&docker).expect("mkdir");
    let auth = base64_encode(format!("{}:{}", env.auth_user, env.auth_pass).as_bytes());
    let cfg =
        serde_json::json!({"auths": {format!("https://{}", env.registry_auth): {"auth": auth}}});
    std::fs::write(docker.join("config.json"), cfg.to_string()).expect("write");
    let r = env.auth_ref("busybox");
    store
        .berth([
            "pull",
            "-q",
            "--cert-dir",
            &TestEnv::get().cert_dir_arg(),
            &r,
        ])
        .ok();
}

#[test]
fn tls_registry_needs_its_ca_or_tls_verify_false() {
    let store = Store::new();
    let r = TestEnv::get().tls_ref("busybox");
    let untrusted = store.berth(["pull", "-q", &r]);
    assert!(
        untrusted
            .fails_with(125)
            .contains(&TestEnv::get().registry_tls),
        "{untrusted}"
    );
    store
        .berth([
            "pull",
            "-q",
            "--cert-dir",
            &TestEnv::get().cert_dir_arg(),
            &r,
        ])
        .ok();
    store.berth(["pull", "-q", "--tls-verify=false", &r]).ok();
    let missing = store.berth(["pull", "-q", "--cert-dir", "/nonexistent/certs", &r]);
    assert!(
        missing.fails_with(125).contains("/nonexistent/certs"),
        "{missing}"
    );
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
