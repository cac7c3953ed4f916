//! Hostile layers pulled through the registry: entries that climb out of the
//! layer root, hard links to host files, absolute names, symlinks that point
//! out of the root with a file written through them, and a device node.
//! Whatever berth decides, nothing may be written outside its store; a
//! refused layer exits 125 naming the entry and leaves the store unchanged.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use berth_e2e::fault::{
    diff_ids, engine_error, image_id, image_ids, layer_diff, layer_dirs, pull_plain, tree, Snapshot,
};
use berth_e2e::{images, Store, TestEnv};

/// The marker file the symlink attacks try to plant outside the root.
const PWNED: &str = "pwned-by-berth-test";

/// A store holding busybox, so that "unchanged" is about something.
fn populated_store() -> Store {
    let store = Store::new();
    image_id(&pull_plain(
        &store,
        &TestEnv::get().image_ref("busybox"),
        &[],
    ));
    store
}

/// The only diff ID (hex) of a single-layer test image.
fn only_layer(image: &str) -> String {
    let ids = diff_ids(images().get(image));
    assert_eq!(ids.len(), 1, "{image} has one layer");
    ids.into_iter().next().expect("one layer")
}

/// Pulls `image` into a populated store and asserts it is refused with a
/// message naming every string of `mentions`, changing nothing.
fn assert_refused(image: &str, mentions: &[&str]) -> Store {
    let store = populated_store();
    let before = Snapshot::take(&store);
    let message = engine_error(&pull_plain(&store, &TestEnv::get().image_ref(image), &[]));
    for want in mentions {
        assert!(message.contains(want), "{image}: {want:?} not in {message}");
    }
    before.assert_unchanged(&store, &format!("refusing {image}"));
    store
}

/// Paths (relative to `dir`) of entries called `name` anywhere under `dir`.
fn find_named(dir: &Path, name: &str) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|p| Path::new(p).file_name().is_some_and(|n| n == name))
        .collect()
}

#[test]
fn entry_climbing_out_of_the_root_is_refused_naming_it() {
    let store = assert_refused("evil-traversal", &["../escaped.txt", "layer root"]);
    let found = find_named(store.path(), "escaped.txt");
    assert!(found.is_empty(), "escaped.txt written: {found:?}");
    for dir in ancestors_of(store.path()) {
        assert!(!dir.join("escaped.txt").exists(), "{}", dir.display());
    }
}

#[test]
fn hard_link_to_a_host_file_is_refused_naming_it() {
    let store = assert_refused("evil-hardlink", &["passwd-link"]);
    let found = find_named(store.path(), "passwd-link");
    assert!(found.is_empty(), "passwd-link written: {found:?}");
}

#[test]
fn absolute_entry_lands_inside_the_layer_root() {
    let host_abs = Path::new("/abs.txt").exists();
    let store = Store::new();
    let image = "evil-absolute";
    let id = image_id(&pull_plain(&store, &TestEnv::get().image_ref(image), &[]));
    assert_eq!(id, images().get(image).id());
    let file = layer_diff(&store, &only_layer(image)).join("abs.txt");
    assert_eq!(
        fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())),
        "absolute\n"
    );
    assert!(
        host_abs || !Path::new("/abs.txt").exists(),
        "{image} wrote /abs.txt"
    );
}

/// `dir` and every directory above it.
fn ancestors_of(dir: &Path) -> Vec<&Path> {
    dir.ancestors().collect()
}

/// Pulls a symlink attack; accepts success or refusal, but the marker file
/// may only ever appear inside the layer's diff dir.
fn assert_symlink_attack_stays_inside(image: &str) {
    let etc_marker = Path::new("/etc").join(PWNED);
    assert!(
        !etc_marker.exists(),
        "{} exists before the test: remove it (left by an earlier run?)",
        etc_marker.display()
    );
    let store = populated_store();
    let before = Snapshot::take(&store);
    let layer = only_layer(image);
    let diff = layer_diff(&store, &layer);
    let out = pull_plain(&store, &TestEnv::get().image_ref(image), &[]);
    if out.success() {
        assert_eq!(image_id(&out), images().get(image).id());
        let inside = find_named(&diff, PWNED);
        let regular = inside
            .iter()
            .any(|p| fs::symlink_metadata(diff.join(p)).is_ok_and(|m| m.is_file()));
        assert!(
            regular,
            "{image} pulled but {PWNED} is not in {}",
            diff.display()
        );
    } else {
        engine_error(&out);
        before.assert_unchanged(&store, &format!("refusing {image}"));
    }
    assert!(
        !etc_marker.exists(),
        "{image} wrote {}",
        etc_marker.display()
    );
    for dir in ancestors_of(&diff).into_iter().skip(1) {
        assert!(
            !dir.join(PWNED).exists(),
            "{image} wrote into {}",
            dir.display()
        );
    }
    let diff_rel = diff
        .strip_prefix(store.path())
        .expect("diff is in the store");
    for path in find_named(store.path(), PWNED) {
        assert!(
            Path::new(&path).starts_with(diff_rel),
            "{image} wrote {PWNED} outside the layer: {path}"
        );
    }
}

#[test]
fn symlink_to_etc_never_writes_outside_the_store() {
    assert_symlink_attack_stays_inside("evil-symlink-etc");
}

#[test]
fn symlink_up_the_tree_never_writes_outside_the_store() {
    assert_symlink_attack_stays_inside("evil-symlink-up");
}

#[test]
fn device_node_is_created_as_char_device_1_3_with_its_mode() {
    let store = Store::new();
    let image = "devnode";
    let id = image_id(&pull_plain(&store, &TestEnv::get().image_ref(image), &[]));
    assert_eq!(image_ids(&store), [id]);
    assert_eq!(layer_dirs(&store).len(), 1);
    let node = layer_diff(&store, &only_layer(image)).join("dev/null2");
    let meta = fs::symlink_metadata(&node).unwrap_or_else(|e| panic!("{}: {e}", node.display()));
    assert!(
        meta.file_type().is_char_device(),
        "{} is not a char device",
        node.display()
    );
    let rdev = meta.rdev();
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    assert_eq!((major, minor), (1, 3), "{}", node.display());
    assert_eq!(
        format!("{:o}", meta.permissions().mode() & 0o7777),
        "666",
        "{} mode (the layer says 0666)",
        node.display()
    );
}
