//! registries.conf as Podman users write it: short names resolved through
//! unqualified-search registries and aliases, mirrors tried before the primary
//! location, insecure registries, and blocked ones refused.

use berth_e2e::{cmd, images, CmdResult, Store, TestEnv};

fn with_conf(store: &Store, conf: &str, args: &[&str]) -> CmdResult {
    let path = store.path().join("registries.conf");
    std::fs::write(&path, conf).expect("write registries.conf");
    let mut c = store.command(args);
    c.env("CONTAINERS_REGISTRIES_CONF", &path);
    cmd::run(c, None, cmd::timeout())
}

#[test]
fn short_names_resolve_through_search_registries_and_aliases() {
    let store = Store::new();
    let reg = &TestEnv::get().registry;
    let conf = format!(
        "unqualified-search-registries = [\"{reg}\"]\n\
         [[registry]]\nlocation = \"{reg}\"\ninsecure = true\n\
         [aliases]\n\"shortbox\" = \"{reg}/berth-test/multilayer\"\n"
    );
    let id = with_conf(&store, &conf, &["pull", "-q", "berth-test/busybox"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id, images().get("busybox").id());
    let names = with_conf(
        &store,
        &conf,
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
    )
    .ok()
    .to_string();
    assert_eq!(names.trim(), format!("{reg}/berth-test/busybox:latest"));
    let found = with_conf(
        &store,
        &conf,
        &[
            "image",
            "inspect",
            "--format",
            "{{.Id}}",
            "berth-test/busybox",
        ],
    )
    .ok()
    .to_string();
    assert_eq!(found.trim(), id);
    let aliased = with_conf(&store, &conf, &["pull", "-q", "shortbox"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(aliased, images().get("multilayer").id());
}

#[test]
fn a_short_name_without_search_registries_is_an_error() {
    let store = Store::new();
    let out = with_conf(
        &store,
        "unqualified-search-registries = []\n",
        &["pull", "berth-test/busybox"],
    );
    let err = out.fails_with(125);
    assert!(
        err.contains("berth-test/busybox") && err.contains("unqualified-search"),
        "{out}"
    );
}

#[test]
fn mirrors_are_tried_before_an_unreachable_primary() {
    let store = Store::new();
    let reg = &TestEnv::get().registry;
    let conf = format!(
        "[[registry]]\nprefix = \"primary.invalid\"\nlocation = \"primary.invalid\"\n\
         [[registry.mirror]]\nlocation = \"{reg}\"\ninsecure = true\n"
    );
    let out = with_conf(
        &store,
        &conf,
        &["pull", "primary.invalid/berth-test/busybox:latest"],
    );
    assert_eq!(out.ok().trim(), images().get("busybox").id());
    assert!(
        out.stderr
            .contains(&format!("Trying to pull {reg}/berth-test/busybox:latest")),
        "{out}"
    );
    let names = with_conf(&store, &conf, &["images", "--format", "{{.Repository}}"])
        .ok()
        .to_string();
    assert_eq!(
        names.trim(),
        "primary.invalid/berth-test/busybox",
        "stored under the name asked for"
    );
}

#[test]
fn blocked_registries_are_refused_without_contacting_them() {
    let store = Store::new();
    let reg = &TestEnv::get().registry;
    let conf = format!("[[registry]]\nlocation = \"{reg}\"\nblocked = true\n");
    let r = format!("{reg}/berth-test/busybox");
    let out = with_conf(&store, &conf, &["pull", "--tls-verify=false", &r]);
    assert!(out.fails_with(125).contains("blocked"), "{out}");
    assert_eq!(store.berth(["images", "-q"]).ok(), "");
}

#[test]
fn insecure_in_registries_conf_allows_plain_http() {
    let store = Store::new();
    let reg = &TestEnv::get().registry;
    let r = format!("{reg}/berth-test/busybox");
    let secure = store.berth(["pull", "-q", &r]);
    assert!(
        secure.fails_with(125).contains(reg.as_str()),
        "plain HTTP needs permission: {secure}"
    );
    let conf = format!("[[registry]]\nlocation = \"{reg}\"\ninsecure = true\n");
    with_conf(&store, &conf, &["pull", "-q", &r]).ok();
    let bad = with_conf(&store, "this is = = not toml", &["pull", "-q", &r]);
    assert!(bad.fails_with(125).contains("registries.conf"), "{bad}");
}
