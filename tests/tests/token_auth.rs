//! Registries behind a token server, as Docker Hub, GHCR, Quay and Harbor are:
//! the harness's TLS registry with distribution's `auth: token` sends
//! `WWW-Authenticate: Bearer realm=..,service=..,scope=..`, and Berth must fetch a
//! JWT from the realm (tests/harness/token_server.py, Basic credentials) and
//! retry with `Authorization: Bearer`. Anonymous clients get a token with no
//! access, so pulls are refused; `--creds`, `login` and pushes work with the
//! harness's user and password, and a wrong password is refused by the token server.

use berth_e2e::{images, CmdResult, Store, TestEnv};

fn creds() -> String {
    let env = TestEnv::get();
    format!("{}:{}", env.auth_user, env.auth_pass)
}

/// `berth pull -q --cert-dir CA [EXTRA..] REF`.
fn pull(store: &Store, reference: &str, extra: &[&str]) -> CmdResult {
    let cd = TestEnv::get().cert_dir_arg();
    let mut args = vec!["pull", "-q", "--cert-dir", &cd];
    args.extend_from_slice(extra);
    args.push(reference);
    store.berth(args)
}

/// The image IDs the store holds, in full.
fn stored_ids(store: &Store) -> String {
    store
        .berth(["images", "--no-trunc", "--format", "{{.ID}}"])
        .ok()
        .to_string()
}

#[test]
fn anonymous_pull_gets_no_access_and_fails_asking_to_log_in() {
    let store = Store::new();
    let env = TestEnv::get();
    let out = pull(&store, &env.token_ref("busybox"), &[]);
    let err = out.fails_with(125);
    assert!(err.contains("authentication required"), "{out}");
    assert!(err.contains(&env.registry_token), "{out}");
    assert_eq!(
        stored_ids(&store),
        "",
        "nothing stored after a refused pull"
    );
}

#[test]
fn creds_pull_through_a_bearer_token_gives_the_catalogue_ids() {
    let store = Store::new();
    let env = TestEnv::get();
    let c = creds();
    for image in ["busybox", "multilayer"] {
        let out = pull(&store, &env.token_ref(image), &["--creds", &c]);
        assert_eq!(out.ok().trim(), images().get(image).id(), "{image}");
    }
    let names = store
        .berth(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .to_string();
    let mut names: Vec<&str> = names.lines().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            format!("{}/berth-test/busybox:latest", env.registry_token),
            format!("{}/berth-test/multilayer:latest", env.registry_token),
        ]
    );
}

#[test]
fn login_stores_credentials_that_later_pulls_exchange_for_tokens() {
    let store = Store::new();
    let env = TestEnv::get();
    let reg = env.registry_token.clone();
    let out = store.login(&reg);
    assert_eq!(out.ok(), "Login Succeeded!\n");
    let r = env.token_ref("multilayer");
    assert_eq!(
        pull(&store, &r, &[]).ok().trim(),
        images().get("multilayer").id()
    );
    let out = store.berth(["logout", &reg]);
    assert_eq!(out.ok(), format!("Removed login credentials for {reg}\n"));
    let denied = pull(&store, &r, &[]);
    assert!(
        denied.fails_with(125).contains("authentication required"),
        "{denied}"
    );
}

#[test]
fn a_wrong_password_is_refused_by_the_token_server() {
    let store = Store::new();
    let env = TestEnv::get();
    let wrong = format!("{}:wrong", env.auth_user);
    let out = pull(&store, &env.token_ref("busybox"), &["--creds", &wrong]);
    let err = out.fails_with(125);
    assert!(err.contains("invalid username or password"), "{out}");
    assert!(err.contains(&env.registry_token), "{out}");
    let out = store.login_as(&env.registry_token, &env.auth_user, "wrong");
    let err = out.fails_with(125);
    assert!(err.contains("invalid username or password"), "{out}");
    assert_eq!(err.lines().count(), 1, "one-line error: {out}");
    assert!(!store
        .path()
        .join("xdg-runtime/containers/auth.json")
        .exists());
}

/// Pushes `id` as `dest` with `--creds` and pulls it back into a fresh store.
fn push_and_pull_back(store: &Store, id: &str, dest: &str) {
    let (cd, c) = (TestEnv::get().cert_dir_arg(), creds());
    store.berth(["tag", id, dest]).ok();
    store
        .berth(["push", "--cert-dir", &cd, "--creds", &c, dest])
        .ok();
    let fresh = Store::new();
    assert_eq!(pull(&fresh, dest, &["--creds", &c]).ok().trim(), id);
}

#[test]
fn push_to_a_new_repository_needs_credentials_then_pulls_back() {
    let store = Store::new();
    let env = TestEnv::get();
    // From the plain registry: every layer must be uploaded to the token registry.
    let id = pull(
        &store,
        &env.image_ref("multilayer"),
        &["--tls-verify=false"],
    )
    .ok()
    .trim()
    .to_string();
    let dest = format!("{}/pushed/from-plain:1", env.registry_token);
    store.berth(["tag", &id, &dest]).ok();
    let anonymous = store.berth(["push", "--cert-dir", &TestEnv::get().cert_dir_arg(), &dest]);
    assert!(
        anonymous
            .fails_with(125)
            .contains("authentication required"),
        "{anonymous}"
    );
    push_and_pull_back(&store, &id, &dest);
}

#[test]
fn push_of_an_image_pulled_from_the_same_registry_to_a_new_repository() {
    // The layers are in berth-test/busybox on the same registry, so a client may
    // mount them into pushed/x, which needs a token with pull on berth-test/busybox too.
    let store = Store::new();
    let env = TestEnv::get();
    let id = pull(&store, &env.token_ref("busybox"), &["--creds", &creds()])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id, images().get("busybox").id());
    push_and_pull_back(&store, &id, &format!("{}/pushed/x:1", env.registry_token));
}
