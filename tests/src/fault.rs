//! Helpers for the fault, hostile-layer and concurrency tests: asserting the
//! engine-error contract (exit 125, one `Error:` line), snapshots of what a
//! store holds on disk (to prove a failed command changed nothing), checks of
//! the store's layer directories and staging area, and a tmpfs mount guard
//! for out-of-space tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, CmdResult};
use crate::images::{strip_algo, ImageInfo};
use crate::store::Store;

/// Exit code of an engine error.
pub const ENGINE_ERROR: i32 = 125;

/// `berth pull --tls-verify=false EXTRA.. REFERENCE` (a plain-HTTP registry
/// needs `--tls-verify=false`, as with Podman). Progress goes to stderr.
pub fn pull_plain(store: &Store, reference: &str, extra: &[&str]) -> CmdResult {
    let mut args = vec!["pull", "--tls-verify=false"];
    args.extend_from_slice(extra);
    args.push(reference);
    store.berth(args)
}

/// Asserts exit 125 and that stderr holds exactly one `Error: ` line, the last
/// one; returns its message (without `Error: `).
#[track_caller]
pub fn engine_error(result: &CmdResult) -> String {
    let stderr = result.fails_with(ENGINE_ERROR);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("Error: "))
        .collect();
    assert_eq!(errors.len(), 1, "expected one `Error:` line: {result}");
    assert_eq!(
        stderr.lines().last(),
        Some(errors[0]),
        "the `Error:` line should be the last line: {result}"
    );
    errors[0]["Error: ".len()..].to_string()
}

/// Asserts success and that stdout is exactly one 64-hex image ID; returns it.
#[track_caller]
pub fn image_id(result: &CmdResult) -> String {
    let out = result.ok().trim_end();
    assert!(
        out.len() == 64 && out.bytes().all(|b| b.is_ascii_hexdigit()),
        "expected one image ID on stdout: {result}"
    );
    out.to_string()
}

/// The full IDs `berth images -q --no-trunc` lists, sorted, without `sha256:`.
pub fn image_ids(store: &Store) -> Vec<String> {
    let out = store.berth(["images", "-q", "--no-trunc"]);
    let mut ids: Vec<String> = out
        .ok()
        .lines()
        .map(|l| strip_algo(l.trim()).to_string())
        .filter(|l| !l.is_empty())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// `berth image inspect REF`'s single object.
#[track_caller]
pub fn inspect(store: &Store, reference: &str) -> serde_json::Value {
    let out = store.berth(["image", "inspect", reference]);
    let mut list: Vec<serde_json::Value> = serde_json::from_str(out.ok())
        .unwrap_or_else(|e| panic!("image inspect output is not a JSON array ({e}): {out}"));
    assert_eq!(list.len(), 1, "image inspect {reference}: {out}");
    list.remove(0)
}

/// The diff IDs (hex) an inspected image lists under `RootFS.Layers`.
pub fn inspected_layers(inspect: &serde_json::Value) -> Vec<String> {
    inspect["RootFS"]["Layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no RootFS.Layers in {inspect}"))
        .iter()
        .map(|l| strip_algo(l.as_str().expect("diff ID string")).to_string())
        .collect()
}

/// The diff IDs (hex) of a catalogue image's layers.
pub fn diff_ids(info: &ImageInfo) -> BTreeSet<String> {
    info.layers
        .iter()
        .map(|l| strip_algo(&l.diff_id).to_string())
        .collect()
}

/// Names of the directories under `ROOT/layers/` (diff-ID hex).
pub fn layer_dirs(store: &Store) -> BTreeSet<String> {
    entries(&store.root().join("layers"))
}

/// `ROOT/layers/<hex>/diff`.
pub fn layer_diff(store: &Store, diff_hex: &str) -> PathBuf {
    store.root().join("layers").join(diff_hex).join("diff")
}

/// Names directly under `ROOT/tmp/` (the staging area).
pub fn tmp_entries(store: &Store) -> BTreeSet<String> {
    entries(&store.root().join("tmp"))
}

/// Asserts that nothing is left in the staging area `ROOT/tmp/`.
#[track_caller]
pub fn assert_tmp_empty(store: &Store, after: &str) {
    let left = tmp_entries(store);
    assert!(
        left.is_empty(),
        "{}/tmp not empty after {after}: {left:?}",
        store.root().display()
    );
}

/// Asserts that every directory under layers/ is a complete layer: it holds
/// `diff/` and `tar-split.zst`.
#[track_caller]
pub fn assert_layers_complete(store: &Store) {
    for hex in layer_dirs(store) {
        let dir = store.root().join("layers").join(&hex);
        assert!(
            dir.join("diff").is_dir() && dir.join("tar-split.zst").is_file(),
            "half-written layer dir {}: {:?}",
            dir.display(),
            entries(&dir)
        );
    }
}

/// Names directly in `dir`; empty when it does not exist.
pub fn entries(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| {
                e.expect("reading a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
        Err(e) => panic!("reading {}: {e}", dir.display()),
    }
}

/// Every path under `dir` (relative, directories included, symlinks not
/// followed); empty when `dir` does not exist.
pub fn tree(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(dir, Path::new(""), &mut out);
    out
}

fn walk(base: &Path, rel: &Path, out: &mut BTreeSet<String>) {
    for name in entries(&base.join(rel)) {
        let path = rel.join(&name);
        let meta = std::fs::symlink_metadata(base.join(&path))
            .unwrap_or_else(|e| panic!("stat {}: {e}", base.join(&path).display()));
        out.insert(path.to_string_lossy().into_owned());
        if meta.is_dir() {
            walk(base, &path, out);
        }
    }
}

/// What a store shows a user and holds on disk: the image IDs, every path
/// under layers/ and blobs/. `berth.db` and its -wal/-shm are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub images: Vec<String>,
    pub layers: BTreeSet<String>,
    pub blobs: BTreeSet<String>,
}

impl Snapshot {
    /// Takes the snapshot (runs `berth images`).
    pub fn take(store: &Store) -> Snapshot {
        Snapshot {
            images: image_ids(store),
            layers: tree(&store.root().join("layers")),
            blobs: tree(&store.root().join("blobs")),
        }
    }

    /// Asserts that the store still looks exactly like this snapshot and
    /// that its staging area is empty.
    #[track_caller]
    pub fn assert_unchanged(&self, store: &Store, after: &str) {
        let now = Snapshot::take(store);
        assert_eq!(self.images, now.images, "images changed after {after}");
        let added: Vec<_> = now.layers.difference(&self.layers).collect();
        let removed: Vec<_> = self.layers.difference(&now.layers).collect();
        assert!(
            added.is_empty() && removed.is_empty(),
            "layers/ changed after {after}: added {added:?}, removed {removed:?}"
        );
        let added: Vec<_> = now.blobs.difference(&self.blobs).collect();
        let removed: Vec<_> = self.blobs.difference(&now.blobs).collect();
        assert!(
            added.is_empty() && removed.is_empty(),
            "blobs/ changed after {after}: added {added:?}, removed {removed:?}"
        );
        assert_tmp_empty(store, after);
    }
}

/// A tmpfs mounted on a directory, unmounted on drop (panics included).
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// `mount -t tmpfs -o size=SIZE tmpfs PATH` (needs root).
    pub fn mount(path: &Path, size: &str) -> Tmpfs {
        let mut mount = Command::new("mount");
        mount
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path);
        cmd::run(mount, None, std::time::Duration::from_secs(30)).ok();
        Tmpfs {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}
