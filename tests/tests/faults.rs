//! How `berth pull` fails: unknown references, unreachable, untrusted and
//! password-protected registries, corrupted blobs served by a registry, a
//! platform the image lacks, a full filesystem, and a pull killed or
//! interrupted half-way. Each failure must exit 125 with one `Error:` line
//! naming the problem and leave the store as it was (no image, no layer, an
//! empty staging area), and the store must stay usable afterwards.

use std::fs;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use berth_e2e::fault::{
    assert_layers_complete, assert_tmp_empty, diff_ids, engine_error, image_id, image_ids, inspect,
    layer_diff, layer_dirs, pull_plain, tmp_entries, Snapshot, Tmpfs,
};
use berth_e2e::{images, PrivateRegistry, Store, TestEnv};

/// A store holding the `compressions` image, so that "unchanged" is about
/// something.
fn populated_store() -> Store {
    let store = Store::new();
    let id = image_id(&pull_plain(
        &store,
        &TestEnv::get().image_ref("compressions"),
        &[],
    ));
    assert_eq!(id, images().get("compressions").id());
    store
}

#[test]
fn unknown_tag_or_repository_fails_naming_the_reference() {
    let env = TestEnv::get();
    let store = populated_store();
    let before = Snapshot::take(&store);
    for repo_tag in [
        "berth-test/busybox:no-such-tag",
        "berth-test/no-such-repo:latest",
    ] {
        let reference = format!("{}/{repo_tag}", env.registry);
        let message = engine_error(&pull_plain(&store, &reference, &[]));
        assert!(message.contains(repo_tag), "{reference}: {message}");
        before.assert_unchanged(&store, &format!("pulling {reference}"));
    }
}

#[test]
fn unreachable_registry_fails_naming_it() {
    let store = Store::new();
    let before = Snapshot::take(&store);
    let message = engine_error(&pull_plain(
        &store,
        "127.0.0.1:1/berth-test/busybox:latest",
        &[],
    ));
    assert!(message.contains("127.0.0.1:1"), "{message}");
    before.assert_unchanged(&store, "pulling from 127.0.0.1:1");
}

/// `berth pull --cert-dir CERTS EXTRA.. <auth registry>/berth-test/busybox`.
fn pull_auth(store: &Store, extra: &[&str]) -> berth_e2e::CmdResult {
    let env = TestEnv::get();
    let certs = env.cert_dir.to_str().expect("UTF-8 path");
    let mut args = vec!["pull", "--cert-dir", certs];
    args.extend_from_slice(extra);
    let reference = env.auth_ref("busybox");
    args.push(&reference);
    store.berth(args)
}

#[test]
fn auth_registry_without_credentials_says_authentication_is_required() {
    let store = Store::new();
    let message = engine_error(&pull_auth(&store, &[]));
    assert!(
        message.to_lowercase().contains("authentication required"),
        "{message}"
    );
    assert!(image_ids(&store).is_empty());
}

#[test]
fn auth_registry_with_wrong_credentials_says_invalid_username_or_password() {
    let env = TestEnv::get();
    let store = Store::new();
    let creds = format!("{}:not-the-password", env.auth_user);
    let message = engine_error(&pull_auth(&store, &["--creds", &creds]));
    assert!(
        message.contains("invalid username or password"),
        "{message}"
    );
    assert!(image_ids(&store).is_empty());
}

#[test]
fn auth_registry_with_right_credentials_pulls() {
    let env = TestEnv::get();
    let store = Store::new();
    let creds = format!("{}:{}", env.auth_user, env.auth_pass);
    let id = image_id(&pull_auth(&store, &["--creds", &creds]));
    assert_eq!(id, images().get("busybox").id());
    assert_eq!(image_ids(&store), [id]);
}

#[test]
fn tls_registry_with_an_untrusted_certificate_is_refused() {
    let store = Store::new();
    let before = Snapshot::take(&store);
    let out = store.berth(["pull", &TestEnv::get().tls_ref("busybox")]);
    let message = engine_error(&out);
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    before.assert_unchanged(&store, "pulling from an untrusted TLS registry");
}

#[test]
fn tls_registry_pulls_with_cert_dir_or_without_verification() {
    let env = TestEnv::get();
    let certs = env.cert_dir.to_str().expect("UTF-8 path");
    let reference = env.tls_ref("busybox");
    for flags in [["--cert-dir", certs], ["--tls-verify=false", "-q"]] {
        let store = Store::new();
        let id = image_id(&store.berth(["pull", flags[0], flags[1], &reference]));
        assert_eq!(id, images().get("busybox").id(), "{flags:?}");
    }
}

/// Pushes busybox to a private registry, lets `corrupt` damage it on disk,
/// then pulls it into a populated store: the pull must fail (the message is
/// returned) and change nothing.
fn pull_corrupted(corrupt: impl FnOnce(&PrivateRegistry)) -> String {
    let registry = PrivateRegistry::start();
    let reference = registry.push("busybox", "berth-test/busybox:latest");
    corrupt(&registry);
    let store = populated_store();
    let before = Snapshot::take(&store);
    let message = engine_error(&pull_plain(&store, &reference, &[]));
    before.assert_unchanged(&store, "pulling a corrupted image");
    let layer = diff_ids(images().get("busybox"));
    assert!(layer_dirs(&store).is_disjoint(&layer));
    message
}

/// Inverts `len` bytes in the middle of the blob `digest`, keeping its length.
fn flip_bytes(registry: &PrivateRegistry, digest: &str, len: usize) {
    let path = registry.blob_path(digest);
    let mut data = fs::read(&path).expect("reading the blob");
    let start = data.len() / 2;
    for b in &mut data[start..start + len] {
        *b = !*b;
    }
    fs::write(&path, data).expect("writing the corrupted blob");
}

#[test]
fn layer_blob_with_flipped_bytes_fails_the_digest_check() {
    let layer = images().get("busybox").layers[0].digest.clone();
    let message = pull_corrupted(|r| flip_bytes(r, &layer, 16));
    assert!(message.to_lowercase().contains("digest"), "{message}");
}

#[test]
fn truncated_layer_blob_fails_the_digest_or_size_check() {
    let layer = images().get("busybox").layers[0].clone();
    let message = pull_corrupted(|r| {
        let path = r.blob_path(&layer.digest);
        let data = fs::read(&path).expect("reading the blob");
        fs::write(&path, &data[..data.len() / 2]).expect("truncating the blob");
    });
    // A short blob may be reported by its digest or by its size.
    let lower = message.to_lowercase();
    assert!(
        ["digest", "size", "bytes"]
            .iter()
            .any(|w| lower.contains(w)),
        "{message}"
    );
}

#[test]
fn corrupted_config_blob_fails_the_digest_check() {
    let config = images().get("busybox").config_digest.clone();
    let config = config.expect("busybox has a config");
    let message = pull_corrupted(|r| flip_bytes(r, &config, 4));
    assert!(message.to_lowercase().contains("digest"), "{message}");
}

#[test]
fn missing_platform_fails_listing_the_available_ones() {
    let env = TestEnv::get();
    let store = populated_store();
    let before = Snapshot::take(&store);
    for image in ["multiarch", "multiarch-docker"] {
        let out = pull_plain(&store, &env.image_ref(image), &["--arch", "s390x"]);
        let message = engine_error(&out);
        for platform in ["s390x", "linux/amd64", "linux/arm64/v8"] {
            assert!(message.contains(platform), "{image}: {message}");
        }
        before.assert_unchanged(&store, &format!("pulling {image} for s390x"));
    }
}

/// Pulls `image` with `flags` into a fresh store and checks the pulled image
/// is the `arch` entry of the index.
fn assert_pulls_platform(image: &str, flags: &[&str], arch: &str) {
    let reference = TestEnv::get().image_ref(image);
    let store = Store::new();
    let id = image_id(&pull_plain(&store, &reference, flags));
    let expected = images().get(image).platform(arch);
    assert_eq!(id, expected.id(), "{image} {flags:?}");
    let inspected = inspect(&store, &reference);
    assert_eq!(inspected["Id"], id.as_str(), "{image} {flags:?}");
    assert_eq!(inspected["Architecture"], arch, "{image} {flags:?}");
    assert_eq!(inspected["Os"], "linux", "{image} {flags:?}");
    assert_eq!(inspected["Labels"]["arch"], arch, "{image} {flags:?}");
}

#[test]
fn arch_variant_and_platform_flags_select_the_arm64_manifest() {
    for image in ["multiarch", "multiarch-docker"] {
        assert_pulls_platform(image, &["--arch", "arm64", "--variant", "v8"], "arm64");
        assert_pulls_platform(image, &["--platform", "linux/arm64/v8"], "arm64");
    }
}

#[test]
fn default_platform_is_linux_amd64() {
    assert_eq!(
        std::env::consts::ARCH,
        "x86_64",
        "this test assumes an amd64 host"
    );
    for image in ["multiarch", "multiarch-docker"] {
        assert_pulls_platform(image, &[], "amd64");
    }
}

#[test]
fn full_filesystem_fails_with_no_space_and_the_store_stays_usable() {
    let env = TestEnv::get();
    let store = Store::new();
    let _tmpfs = Tmpfs::mount(&store.root(), "40m");
    let before = Snapshot::take(&store);
    let message = engine_error(&pull_plain(&store, &env.image_ref("large"), &[]));
    assert!(message.to_lowercase().contains("no space"), "{message}");
    before.assert_unchanged(&store, "running out of space");
    assert!(layer_dirs(&store).is_empty());

    let id = image_id(&pull_plain(&store, &env.image_ref("busybox"), &[]));
    assert_eq!(id, images().get("busybox").id());
    assert_eq!(image_ids(&store), [id]);
    assert_tmp_empty(&store, "pulling busybox after running out of space");
}

/// Starts `berth pull large`, waits for its staging dir under tmp/, sends it
/// `signal` (`KILL` or `INT`), then checks nothing is half-visible and a
/// second pull completes with intact data.
fn interrupted_pull_of_large(signal: &str) {
    let env = TestEnv::get();
    let store = Store::new();
    let reference = env.image_ref("large");
    let log = fs::File::create(store.path().join("pull.log")).expect("creating pull.log");
    let mut child = store
        .command(["pull", "--tls-verify=false", &reference])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("cloning the log handle"))
        .stderr(log)
        .spawn()
        .expect("starting berth pull");
    let deadline = Instant::now() + Duration::from_secs(120);
    while tmp_entries(&store).is_empty() {
        let exited = child.try_wait().expect("polling berth pull");
        assert!(
            exited.is_none(),
            "pull ended ({exited:?}) before staging was seen"
        );
        assert!(
            Instant::now() < deadline,
            "no staging dir under tmp/ after 120 s"
        );
        thread::sleep(Duration::from_millis(5));
    }
    thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(sent.success(), "kill -s {signal} failed");
    let status = child.wait().expect("waiting for berth pull");
    let log = fs::read_to_string(store.path().join("pull.log")).unwrap_or_default();
    assert!(
        !status.success(),
        "pull survived SIG{signal}: {status}\n{log}"
    );
    eprintln!(
        "after SIG{signal} ({status}): tmp/ holds {:?}, layers/ {:?}",
        tmp_entries(&store),
        layer_dirs(&store)
    );

    let large = images().get("large");
    assert!(
        image_ids(&store).is_empty(),
        "image visible after SIG{signal}"
    );
    let left = layer_dirs(&store);
    assert!(
        left.is_subset(&diff_ids(large)),
        "stray layer dirs: {left:?}"
    );
    assert_layers_complete(&store);

    let id = image_id(&pull_plain(&store, &reference, &[]));
    assert_eq!(id, large.id());
    assert_eq!(image_ids(&store), [id]);
    assert_eq!(layer_dirs(&store), diff_ids(large));
    assert_layers_complete(&store);
    assert_tmp_empty(&store, "the pull after an interrupted one");
    assert_large_data_intact(&store);
}

/// Every `large/layerN.bin` hashes to the sum stored beside it.
fn assert_large_data_intact(store: &Store) {
    let mut checked = 0;
    for hex in diff_ids(images().get("large")) {
        let dir = layer_diff(store, &hex).join("large");
        for name in berth_e2e::fault::entries(&dir) {
            let Some(stem) = name.strip_suffix(".bin") else {
                continue;
            };
            let want = fs::read_to_string(dir.join(format!("{stem}.sha256")))
                .expect("reading the stored sum");
            let out = Command::new("sha256sum")
                .arg(dir.join(&name))
                .output()
                .expect("running sha256sum");
            let got = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                got.split_whitespace().next(),
                want.split_whitespace().next(),
                "{} is corrupt",
                dir.join(&name).display()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 5, "expected five large/layerN.bin files");
}

#[test]
fn sigkill_mid_pull_leaves_nothing_half_visible_and_a_repull_completes() {
    interrupted_pull_of_large("KILL");
}

#[test]
fn sigint_mid_pull_fails_leaves_nothing_half_visible_and_a_repull_completes() {
    interrupted_pull_of_large("INT");
}
