//! The image commands end to end against the real registry: pull (tag, digest,
//! Docker and OCI manifests and indexes, compressions), images, inspect, history,
//! tag/untag, rmi, prune and exists, with the output Podman users expect.

use berth_e2e::{images, Store, TestEnv};
use serde_json::Value;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;

fn pull(store: &Store, image: &str) -> String {
    let r = TestEnv::get().image_ref(image);
    store
        .berth(["pull", "-q", "--tls-verify=false", r.as_str()])
        .ok()
        .trim()
        .to_string()
}

fn inspect(store: &Store, name: &str) -> Value {
    let out = store.berth(["image", "inspect", name]).ok().to_string();
    let v: Value = serde_json::from_str(&out).expect("inspect prints JSON");
    v[0].clone()
}

fn layer_dirs(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(store.root().join("layers"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn pull_by_tag_prints_the_image_id_and_lists_the_name() {
    let store = Store::new();
    let env = TestEnv::get();
    let r = env.image_ref("busybox");
    let out = store.berth(["pull", "--tls-verify=false", r.as_str()]);
    assert_eq!(out.ok().trim(), images().get("busybox").id());
    assert!(
        out.stderr.contains(&format!("Trying to pull {r}...")),
        "{out}"
    );
    assert!(
        out.stderr.contains("Copying blob sha256:"),
        "piped progress is plain lines: {out}"
    );
    assert!(
        !out.stderr.contains('\r'),
        "no bar redraws in a pipe: {out}"
    );
    let listed = store
        .berth(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
        .ok()
        .to_string();
    assert_eq!(
        listed.trim(),
        format!(
            "{}/berth-test/busybox:latest {}",
            env.registry,
            &images().get("busybox").id()[..12]
        )
    );
}

#[test]
fn quiet_pull_prints_only_the_id() {
    let store = Store::new();
    let r = TestEnv::get().image_ref("busybox");
    let out = store.berth(["pull", "--quiet", "--tls-verify=false", r.as_str()]);
    assert_eq!(out.ok(), format!("{}\n", images().get("busybox").id()));
    assert_eq!(out.stderr, "");
}

#[test]
fn pull_by_digest_names_the_repository_without_a_tag() {
    let store = Store::new();
    let env = TestEnv::get();
    let info = images().get("multilayer");
    let r = format!(
        "{}/berth-test/multilayer@{}",
        env.registry, info.manifest_digest
    );
    assert_eq!(
        store
            .berth(["pull", "-q", "--tls-verify=false", r.as_str()])
            .ok()
            .trim(),
        info.id()
    );
    let doc = inspect(&store, &r);
    assert_eq!(doc["RepoTags"], Value::Array(vec![]));
    assert!(
        doc["RepoDigests"]
            .as_array()
            .expect("digests")
            .iter()
            .any(|d| d == &Value::String(r.clone())),
        "{doc}"
    );
    let rows = store
        .berth(["images", "--format", "{{.Repository}} {{.Tag}}"])
        .ok()
        .to_string();
    assert_eq!(
        rows.trim(),
        format!("{}/berth-test/multilayer <none>", env.registry)
    );
}

#[test]
fn inspect_shows_the_image_config_in_podman_shape() {
    let store = Store::new();
    let id = pull(&store, "multilayer");
    let info = images().get("multilayer");
    let doc = inspect(&store, &TestEnv::get().image_ref("multilayer"));
    assert_eq!(doc["Id"], id.as_str());
    assert_eq!(doc["Digest"], info.manifest_digest.as_str());
    assert_eq!(doc["Architecture"], "amd64");
    assert_eq!(doc["Os"], "linux");
    assert_eq!(doc["User"], "1000:1000");
    assert_eq!(doc["Config"]["WorkingDir"], "/app");
    assert_eq!(
        doc["Config"]["Entrypoint"],
        serde_json::json!(["/bin/sh", "-c"])
    );
    assert_eq!(doc["Config"]["Cmd"], serde_json::json!(["echo hello"]));
    assert!(doc["Config"]["Env"]
        .as_array()
        .expect("env")
        .contains(&Value::from("FOO=bar")));
    assert_eq!(doc["Labels"]["org.example.name"], "multilayer");
    assert_eq!(
        doc["ManifestType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let layers: Vec<&str> = doc["RootFS"]["Layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let expected: Vec<&str> = info.layers.iter().map(|l| l.diff_id.as_str()).collect();
    assert_eq!(layers, expected);
    assert_eq!(doc["Size"].as_u64(), Some(info.uncompressed_size()));
    let out = store
        .berth([
            "inspect",
            "--format",
            "{{.Id}} {{index .Config.Labels \"version\"}}",
            &id[..12],
        ])
        .ok()
        .to_string();
    assert_eq!(out, format!("{id} 1.0\n"));
    let missing = store.berth(["image", "inspect", "no-such-image"]);
    assert!(
        missing
            .fails_with(125)
            .contains("no-such-image: image not known"),
        "{missing}"
    );
}

#[test]
fn layers_are_unpacked_with_overlay_whiteouts_and_shared_layers_stored_once() {
    let store = Store::new();
    pull(&store, "busybox");
    pull(&store, "multilayer");
    let ml = images().get("multilayer");
    let bb = images().get("busybox");
    assert_eq!(
        ml.layers[0].diff_id, bb.layers[0].diff_id,
        "the fixture shares the base layer"
    );
    assert_eq!(
        layer_dirs(&store).len(),
        ml.layers.len(),
        "the shared busybox layer is stored once"
    );
    let doc = inspect(&store, &TestEnv::get().image_ref("multilayer"));
    let upper = PathBuf::from(
        doc["GraphDriver"]["Data"]["UpperDir"]
            .as_str()
            .expect("upper dir"),
    );
    let wh = std::fs::symlink_metadata(upper.join("opt/gone.txt")).expect("whiteout");
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "a deleted file is a 0:0 char device"
    );
    let mut buf = [0u8; 8];
    let n = read_xattr(&upper.join("opt/dir"), "trusted.overlay.opaque", &mut buf);
    assert_eq!(&buf[..n], b"y", "opaque directory marked for overlay");
    assert!(
        upper.join("opt/dir/z").is_file(),
        "the file added after the opaque marker is there"
    );
    let lower = doc["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .expect("lower dirs");
    assert_eq!(lower.split(':').count(), 2);
    let base = PathBuf::from(lower.split(':').next_back().expect("base"));
    assert!(
        std::fs::symlink_metadata(base.join("bin/busybox"))
            .expect("busybox")
            .len()
            > 100_000
    );
    assert_eq!(
        std::fs::read_link(base.join("bin/sh")).expect("applet link"),
        PathBuf::from("busybox")
    );
}

/// Reads an extended attribute (through Python's os.getxattr: no extra tools needed).
fn read_xattr(path: &std::path::Path, name: &str, buf: &mut [u8]) -> usize {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import os,sys; sys.stdout.buffer.write(os.getxattr(sys.argv[1], sys.argv[2]))",
        ])
        .arg(path)
        .arg(name)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "reading xattr {name} of {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let n = out.stdout.len().min(buf.len());
    buf[..n].copy_from_slice(&out.stdout[..n]);
    n
}

#[test]
fn gzip_zstd_and_uncompressed_layers_all_unpack() {
    let store = Store::new();
    pull(&store, "compressions");
    let doc = inspect(&store, &TestEnv::get().image_ref("compressions"));
    let upper = PathBuf::from(
        doc["GraphDriver"]["Data"]["UpperDir"]
            .as_str()
            .expect("upper"),
    );
    let mut dirs: Vec<PathBuf> = doc["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .expect("lower")
        .split(':')
        .map(PathBuf::from)
        .collect();
    dirs.push(upper);
    for f in ["c/gzip.txt", "c/zstd.txt", "c/plain.txt"] {
        assert!(dirs.iter().any(|d| d.join(f).is_file()), "{f} unpacked");
    }
}

#[test]
fn docker_schema2_manifest_and_list_pull_to_the_same_ids() {
    let store = Store::new();
    assert_eq!(pull(&store, "busybox-docker"), images().get("busybox").id());
    let doc = inspect(&store, &TestEnv::get().image_ref("busybox-docker"));
    assert_eq!(
        doc["ManifestType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let id = pull(&store, "multiarch-docker");
    let amd = images()
        .get("multiarch-docker")
        .platform("amd64")
        .config_digest
        .clone();
    assert_eq!(format!("sha256:{id}"), amd);
}

#[test]
fn images_lists_rows_per_tag_with_podman_columns() {
    let store = Store::new();
    let env = TestEnv::get();
    let id = pull(&store, "busybox");
    pull(&store, "multilayer");
    store
        .berth(["tag", &id, "mybox", "localhost:5000/other/box:v2"])
        .ok();
    let table = store.berth(["images"]).ok().to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("REPOSITORY")
            && lines[0].contains("IMAGE ID")
            && lines[0].ends_with("SIZE"),
        "{table}"
    );
    assert_eq!(lines.len(), 5, "header + 4 names: {table}");
    let size_col = lines[0].find("SIZE").expect("size column");
    assert!(
        lines[1..].iter().all(|l| l.len() > size_col),
        "columns line up: {table}"
    );
    assert!(
        table.contains("localhost/mybox") && table.contains("2.13 MB"),
        "{table}"
    );
    let quiet = store.berth(["images", "-q"]).ok().to_string();
    assert_eq!(
        quiet.lines().count(),
        2,
        "ids are listed once each: {quiet}"
    );
    let full = store.berth(["images", "--no-trunc", "-q"]).ok().to_string();
    assert!(full.lines().any(|l| l == format!("sha256:{id}")), "{full}");
    let digests = store
        .berth(["images", "--digests", "--noheading"])
        .ok()
        .to_string();
    assert!(
        digests.contains(&images().get("busybox").manifest_digest),
        "{digests}"
    );
    assert!(!digests.contains("REPOSITORY"));
    let labeled = store
        .berth([
            "images",
            "--filter",
            "label=version=1.0",
            "--format",
            "{{.Repository}}",
        ])
        .ok()
        .to_string();
    assert_eq!(
        labeled.trim(),
        format!("{}/berth-test/multilayer", env.registry)
    );
    // As Podman: a reference selects images, and each selected image shows all its names.
    let by_ref = store
        .berth(["images", "--format", "{{.ID}}", "localhost/mybox"])
        .ok()
        .to_string();
    assert_eq!(
        by_ref.lines().collect::<Vec<_>>(),
        vec![&id[..12]; 3],
        "{by_ref}"
    );
    let sorted = store
        .berth([
            "images",
            "--sort",
            "repository",
            "--format",
            "{{.Repository}}",
        ])
        .ok()
        .to_string();
    let mut expected: Vec<&str> = sorted.lines().collect();
    expected.sort();
    assert_eq!(sorted.lines().collect::<Vec<_>>(), expected);
    let json: Value =
        serde_json::from_str(store.berth(["images", "--format", "json"]).ok()).expect("json");
    assert_eq!(json.as_array().expect("array").len(), 2);
    assert!(
        json[0]["Id"].is_string() && json[0]["RepoTags"].is_array() && json[0]["Size"].is_u64(),
        "{json}"
    );
    let bad = store.berth(["images", "--format", "{{.ID"]);
    assert!(
        bad.fails_with(125).starts_with("Error: invalid --format"),
        "{bad}"
    );
    let bad = store.berth(["images", "--filter", "color=red"]);
    assert!(bad.fails_with(125).contains("color"), "{bad}");
}

#[test]
fn tag_untag_and_rmi_follow_podman_rules() {
    let store = Store::new();
    let id = pull(&store, "busybox");
    pull(&store, "multilayer");
    let before = layer_dirs(&store);
    store
        .berth(["tag", "berth-test/busybox", "first", "second:v1"])
        .ok();
    let names = |s: &Store| {
        s.berth(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .ok()
            .to_string()
    };
    assert!(
        names(&store).contains("localhost/first:latest")
            && names(&store).contains("localhost/second:v1")
    );
    store
        .berth([
            "untag",
            "berth-test/busybox",
            "first",
            "localhost/second:v1",
        ])
        .ok();
    assert!(!names(&store).contains("localhost/first") && !names(&store).contains("second"));
    store.berth(["tag", &id, "third"]).ok();
    let by_name = store.berth(["rmi", "third"]).ok().to_string();
    assert_eq!(by_name, "Untagged: localhost/third:latest\n");
    store.berth(["tag", &id, "fourth"]).ok();
    let refused = store.berth(["rmi", &id]);
    assert!(
        refused.fails_with(125).contains("please force removal"),
        "{refused}"
    );
    let forced = store.berth(["rmi", "-f", &id]).ok().to_string();
    assert!(forced.contains(&format!("Deleted: {id}")), "{forced}");
    assert_eq!(
        layer_dirs(&store),
        before,
        "the shared layer stays while multilayer uses it"
    );
    let missing = store.berth(["rmi", "nothing-here"]);
    assert!(
        missing
            .fails_with(1)
            .contains("nothing-here: image not known"),
        "{missing}"
    );
    store.berth(["rmi", "-i", "nothing-here"]).ok();
    store.berth(["rmi", "--all"]).ok();
    assert_eq!(store.berth(["images", "-q"]).ok(), "");
    assert!(layer_dirs(&store).is_empty(), "every layer freed");
    assert_eq!(
        std::fs::read_dir(store.root().join("blobs/sha256"))
            .expect("blobs")
            .count(),
        0,
        "configs and manifests freed"
    );
}

#[test]
fn image_exists_answers_with_the_exit_code() {
    let store = Store::new();
    let id = pull(&store, "busybox");
    store.berth(["image", "exists", &id[..12]]).ok();
    store.berth(["image", "exists", "berth-test/busybox"]).ok();
    assert_eq!(
        store
            .berth(["image", "exists", "berth-test/nope"])
            .fails_with(1),
        ""
    );
}

#[test]
fn history_lists_entries_newest_first() {
    let store = Store::new();
    let id = pull(&store, "multilayer");
    let out = store
        .berth([
            "history",
            "--format",
            "{{.ID}}|{{.CreatedBy}}|{{.Size}}",
            "--no-trunc",
            &id,
        ])
        .ok()
        .to_string();
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows[0].starts_with(&format!("{id}|")), "{out}");
    assert!(rows[0].contains("whiteout"), "newest first: {out}");
    assert!(rows[2].starts_with("<missing>|"), "{out}");
    let table = store.berth(["history", &id]).ok().to_string();
    assert!(
        table.starts_with("ID") && table.contains("CREATED BY"),
        "{table}"
    );
}

#[test]
fn prune_removes_dangling_images_only_unless_all() {
    let store = Store::new();
    let bb = pull(&store, "busybox");
    let ml = pull(&store, "multilayer");
    store.berth(["untag", &bb]).ok();
    let dangling = store
        .berth(["images", "--filter", "dangling=true", "-q", "--no-trunc"])
        .ok()
        .to_string();
    assert_eq!(dangling.trim(), format!("sha256:{bb}"));
    let pruned = store.berth(["image", "prune", "-f"]).ok().to_string();
    assert_eq!(pruned.trim(), bb);
    assert_eq!(
        store.berth(["images", "-q", "--no-trunc"]).ok().trim(),
        format!("sha256:{ml}")
    );
    store.berth(["image", "prune", "-a", "-f"]).ok();
    assert_eq!(store.berth(["images", "-q"]).ok(), "");
    assert!(layer_dirs(&store).is_empty());
}

#[test]
fn pull_policies_missing_and_never_use_the_local_image() {
    let store = Store::new();
    let r = TestEnv::get().image_ref("busybox");
    let never = store.berth(["pull", "--policy", "never", r.as_str()]);
    assert!(never.fails_with(125).contains("image not known"), "{never}");
    let id = pull(&store, "busybox");
    // A registry that cannot be reached is never contacted for a present image.
    store.berth(["tag", &id, "127.0.0.1:1/offline/box:1"]).ok();
    let missing = store.berth(["pull", "--policy", "missing", "127.0.0.1:1/offline/box:1"]);
    assert_eq!(missing.ok().trim(), id);
    let always = store.berth(["pull", "127.0.0.1:1/offline/box:1"]);
    assert!(always.fails_with(125).contains("127.0.0.1:1"), "{always}");
}

#[test]
fn system_df_info_version_and_reset() {
    let store = Store::new();
    pull(&store, "busybox");
    let df = store
        .berth(["system", "df", "--format", "{{.Type}} {{.Total}} {{.Size}}"])
        .ok()
        .to_string();
    assert_eq!(df.lines().next(), Some("Images 1 2.13 MB"), "{df}");
    let root = store
        .berth([
            "info",
            "--format",
            "{{.Store.GraphRoot}} {{.Store.ImageStore.Number}}",
        ])
        .ok()
        .to_string();
    assert_eq!(root.trim(), format!("{} 1", store.root().display()));
    let yaml = store.berth(["info"]).ok().to_string();
    assert!(
        yaml.contains("graphRoot: ") && yaml.contains("host:"),
        "{yaml}"
    );
    let v = store
        .berth(["version", "--format", "{{.Client.Version}}"])
        .ok()
        .to_string();
    assert_eq!(v.trim(), env!("CARGO_PKG_VERSION"));
    store.berth(["system", "reset", "--force"]).ok();
    assert!(
        !store.root().join("layers").exists(),
        "reset removed the store"
    );
    assert_eq!(store.berth(["images", "-q"]).ok(), "");
}
