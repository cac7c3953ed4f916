//! `berth save` / `berth load` on good and bad archives: garbage, a truncated
//! save, and a docker-archive naming a layer it lacks fail with exit 125 and
//! leave the store unchanged; a save→load round trip keeps the image ID, and
//! archives travel both ways between berth and Podman (Debian's podman 4.3)
//! with the same image ID.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_e2e::fault::{
    assert_tmp_empty, diff_ids, engine_error, image_id, image_ids, layer_dirs, pull_plain, Snapshot,
};
use berth_e2e::{cmd, images, CmdResult, Store, TestEnv};

const FORMATS: [&str; 2] = ["docker-archive", "oci-archive"];

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A store holding `image`, pulled from the plain registry.
fn store_with(image: &str) -> Store {
    let store = Store::new();
    let id = image_id(&pull_plain(&store, &TestEnv::get().image_ref(image), &[]));
    assert_eq!(id, images().get(image).id());
    store
}

/// `berth save --format FORMAT -o STORE/NAME multilayer` from a store holding it.
fn saved_multilayer(format: &str) -> (Store, PathBuf) {
    let store = store_with("multilayer");
    let file = store.path().join(format!("multilayer.{format}.tar"));
    let reference = TestEnv::get().image_ref("multilayer");
    store
        .berth([
            "save",
            "-o",
            path_str(&file),
            "--format",
            format,
            &reference,
        ])
        .ok();
    (store, file)
}

/// Loads `archive` into a store holding busybox and asserts the load fails
/// with 125 and changes nothing; returns the message.
fn assert_load_fails(archive: &Path) -> String {
    let store = store_with("busybox");
    let before = Snapshot::take(&store);
    let message = engine_error(&store.berth(["load", "-i", path_str(archive)]));
    before.assert_unchanged(&store, &format!("loading {}", archive.display()));
    message
}

#[test]
fn loading_random_bytes_fails_with_a_readable_message_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("random.tar");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..256 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    fs::write(&file, bytes).expect("writing random.tar");
    let message = assert_load_fails(&file);
    assert!(
        !message.chars().any(|c| c.is_control() || c == '\u{fffd}'),
        "the message shows raw archive bytes: {message:?}"
    );
}

#[test]
fn loading_a_truncated_save_fails_and_changes_nothing() {
    for format in FORMATS {
        let (_saved, file) = saved_multilayer(format);
        let data = fs::read(&file).expect("reading the archive");
        let truncated = file.with_extension("truncated.tar");
        fs::write(&truncated, &data[..data.len() / 2]).expect("writing the truncated archive");
        assert_load_fails(&truncated);
    }
}

#[test]
fn loading_a_docker_archive_missing_a_layer_fails_and_changes_nothing() {
    let (_saved, file) = saved_multilayer("docker-archive");
    let mut manifest = String::new();
    let mut archive = tar::Archive::new(fs::File::open(&file).expect("opening the archive"));
    let mut entries = Vec::new();
    for entry in archive.entries().expect("reading the archive") {
        let mut entry = entry.expect("an archive entry");
        let path = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("reading an entry");
        if path == "manifest.json" {
            manifest = String::from_utf8(data.clone()).expect("UTF-8 manifest.json");
        }
        entries.push((path, data));
    }
    let parsed: serde_json::Value = serde_json::from_str(&manifest).expect("manifest.json");
    let missing = parsed[0]["Layers"]
        .as_array()
        .and_then(|l| l.last())
        .and_then(|l| l.as_str())
        .expect("manifest.json lists layers")
        .to_string();
    let broken = file.with_extension("missing-layer.tar");
    let mut out = tar::Builder::new(fs::File::create(&broken).expect("creating the archive"));
    for (path, data) in entries.iter().filter(|(p, _)| *p != missing) {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        out.append_data(&mut header, path, data.as_slice())
            .expect("appending an entry");
    }
    out.into_inner().expect("finishing the archive");
    assert!(entries.len() > 1 && entries.iter().any(|(p, _)| *p == missing));
    assert_load_fails(&broken);
}

#[test]
fn save_then_load_into_a_fresh_store_keeps_the_image_id() {
    let info = images().get("multilayer");
    for format in FORMATS {
        let (_saved, file) = saved_multilayer(format);
        let store = Store::new();
        store.berth(["load", "-i", path_str(&file)]).ok();
        assert_eq!(image_ids(&store), [info.id()], "{format}");
        assert_eq!(layer_dirs(&store), diff_ids(info), "{format}");
        assert_tmp_empty(&store, "berth load");
    }
}

/// `podman --root D/podman/root --runroot D/podman/run --storage-driver overlay ARGS`.
fn podman(dir: &Path, args: &[&str]) -> CmdResult {
    let mut c = Command::new("podman");
    c.arg("--root")
        .arg(dir.join("podman/root"))
        .arg("--runroot")
        .arg(dir.join("podman/run"))
        .args(["--storage-driver", "overlay"])
        .args(args);
    cmd::run(c, None, cmd::timeout())
}

/// The full image IDs Podman lists.
fn podman_ids(dir: &Path) -> Vec<String> {
    let out = podman(dir, &["images", "-q", "--no-trunc"]);
    out.ok()
        .lines()
        .map(|l| l.trim().trim_start_matches("sha256:").to_string())
        .collect()
}

#[test]
fn podman_loads_what_berth_saved_with_the_same_image_id() {
    for format in FORMATS {
        let (saved, file) = saved_multilayer(format);
        podman(saved.path(), &["load", "-i", path_str(&file)]).ok();
        assert_eq!(
            podman_ids(saved.path()),
            [images().get("multilayer").id()],
            "{format}"
        );
    }
}

#[test]
fn berth_loads_what_podman_saved_with_the_same_image_id() {
    let reference = TestEnv::get().image_ref("multilayer");
    let info = images().get("multilayer");
    let work = Store::new();
    podman(
        work.path(),
        &["pull", "-q", "--tls-verify=false", &reference],
    )
    .ok();
    for format in FORMATS {
        let file = work.path().join(format!("podman.{format}.tar"));
        podman(
            work.path(),
            &[
                "save",
                "--format",
                format,
                "-o",
                path_str(&file),
                &reference,
            ],
        )
        .ok();
        let store = Store::new();
        store.berth(["load", "-i", path_str(&file)]).ok();
        assert_eq!(image_ids(&store), [info.id()], "{format}");
        assert_eq!(layer_dirs(&store), diff_ids(info), "{format}");
        assert_tmp_empty(&store, "berth load of a podman archive");
    }
}
