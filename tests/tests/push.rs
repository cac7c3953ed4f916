//! `berth push`: blobs the registry has are skipped or mounted from the repository
//! they came from (the manifest is then pushed unchanged); layers a registry lacks
//! are rebuilt from the store and uploaded; what was pushed pulls back identically.

use berth_e2e::{images, PrivateRegistry, Store, TestEnv};

#[test]
fn push_to_the_same_registry_mounts_every_blob_and_keeps_the_digest() {
    let store = Store::new();
    let env = TestEnv::get();
    let info = images().get("multilayer");
    let src = env.image_ref("multilayer");
    store.berth(["pull", "-q", "--tls-verify=false", &src]).ok();
    let dest = format!(
        "{}/pushed/same-registry:{}",
        env.registry,
        std::process::id()
    );
    store.berth(["tag", &src, &dest]).ok();
    let digest_file = store.path().join("digest");
    let df = digest_file.display().to_string();
    let out = store.berth(["push", "--tls-verify=false", "--digestfile", &df, &dest]);
    out.ok();
    let skipped = out.stderr.matches("skipped: already exists").count();
    assert_eq!(
        skipped,
        info.layers.len(),
        "every layer is mounted, none uploaded: {out}"
    );
    assert_eq!(
        std::fs::read_to_string(&digest_file).expect("digest file"),
        info.manifest_digest
    );
    let fresh = Store::new();
    let id = fresh
        .berth(["pull", "-q", "--tls-verify=false", &dest])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id, info.id());
}

#[test]
fn push_to_an_empty_registry_uploads_rebuilt_layers_that_pull_back_identically() {
    let store = Store::new();
    let env = TestEnv::get();
    let registry = PrivateRegistry::start();
    let info = images().get("multilayer");
    let src = env.image_ref("multilayer");
    store.berth(["pull", "-q", "--tls-verify=false", &src]).ok();
    let dest = registry.image_ref("copied/multilayer:v1");
    store.berth(["tag", &src, &dest]).ok();
    let out = store.berth(["push", "--tls-verify=false", &dest]);
    out.ok();
    assert_eq!(
        out.stderr.matches("skipped: already exists").count(),
        0,
        "{out}"
    );
    assert!(
        out.stderr.contains("Writing manifest to image destination"),
        "{out}"
    );
    let fresh = Store::new();
    let id = fresh
        .berth(["pull", "-q", "--tls-verify=false", &dest])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id, info.id(), "same config, so the same image ID");
    let doc: serde_json::Value =
        serde_json::from_str(fresh.berth(["image", "inspect", &dest]).ok()).expect("inspect JSON");
    let layers: Vec<&str> = doc[0]["RootFS"]["Layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    let expected: Vec<&str> = info.layers.iter().map(|l| l.diff_id.as_str()).collect();
    assert_eq!(
        layers, expected,
        "rebuilt layers hash to the original diff IDs"
    );
    // A second push finds everything in place.
    let again = store.berth(["push", "--tls-verify=false", &dest]);
    again.ok();
    assert_eq!(
        again.stderr.matches("skipped: already exists").count(),
        info.layers.len(),
        "{again}"
    );
}

#[test]
fn push_of_an_unknown_image_or_to_an_unreachable_registry_fails_cleanly() {
    let store = Store::new();
    let missing = store.berth(["push", "--tls-verify=false", "127.0.0.1:1/none/such:1"]);
    assert!(
        missing.fails_with(125).contains("image not known"),
        "{missing}"
    );
    let env = TestEnv::get();
    let src = env.image_ref("busybox");
    store.berth(["pull", "-q", "--tls-verify=false", &src]).ok();
    let out = store.berth([
        "push",
        "--tls-verify=false",
        &src,
        "127.0.0.1:1/none/such:1",
    ]);
    let err = out.fails_with(125);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("Error: ")).collect();
    assert_eq!(errors.len(), 1, "{out}");
    assert!(
        errors[0].contains("pinging container registry 127.0.0.1:1"),
        "{out}"
    );
}
