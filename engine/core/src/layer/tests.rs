//! Layer store tests on crafted tars: what lands where, what is refused, and that the
//! recorded structure rebuilds the original stream byte for byte.

use super::store::{ExpectedLayer, LayerError, LayerStore};
use super::unpack::UnpackError;
use crate::store::paths::StorePaths;
use berth_registry::digest::Digest;
use berth_registry::manifest::Compression;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// One raw ustar entry; `name` goes in as bytes, so `..` and `/abs` are possible.
fn entry(name: &str, typeflag: u8, link: &str, data: &[u8], mode: u32) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(format!("{mode:07o}\0").as_bytes());
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"14000000000\0");
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut t: Vec<u8> = entries.concat();
    t.extend_from_slice(&[0u8; 1024]);
    t
}

struct Fixture {
    _dir: tempfile::TempDir,
    paths: StorePaths,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = StorePaths {
        root: dir.path().join("root"),
        runroot: dir.path().join("run"),
    };
    paths.create().expect("create store");
    Fixture { _dir: dir, paths }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

fn stage_and_commit(f: &Fixture, tar: &[u8]) -> Result<Digest, LayerError> {
    let blob = gzip(tar);
    let expected = ExpectedLayer {
        blob_digest: Digest::of(&blob),
        blob_size: Some(blob.len() as u64),
        compression: Compression::Gzip,
        diff_id: Digest::of(tar),
    };
    let store = LayerStore::new(&f.paths);
    let staged = store.stage(blob.as_slice(), &expected)?;
    store.commit(staged)?;
    Ok(expected.diff_id)
}

fn staging_is_empty(f: &Fixture) -> bool {
    std::fs::read_dir(f.paths.tmp())
        .expect("tmp")
        .next()
        .is_none()
}

#[test]
fn unpack_writes_files_and_rebuilds_identical_tar() {
    let f = fixture();
    let tar = tar_of(&[
        entry("etc/", b'5', "", b"", 0o755),
        entry("etc/hello.txt", b'0', "", b"hello berth\n", 0o640),
        entry("bin/sh", b'2', "/bin/busybox", b"", 0o777),
        entry("bin/link", b'1', "etc/hello.txt", b"", 0o640),
        entry("/abs.txt", b'0', "", b"absolute", 0o644),
    ]);
    let diff = stage_and_commit(&f, &tar).expect("layer");
    let root = f.paths.layer_dir(diff.hex()).join("diff");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/hello.txt")).expect("read"),
        "hello berth\n"
    );
    assert_eq!(
        std::fs::metadata(root.join("etc/hello.txt"))
            .expect("meta")
            .mode()
            & 0o7777,
        0o640
    );
    assert_eq!(
        std::fs::read_to_string(root.join("abs.txt")).expect("abs lands in root"),
        "absolute"
    );
    let a = std::fs::metadata(root.join("etc/hello.txt")).expect("meta");
    let b = std::fs::metadata(root.join("bin/link")).expect("meta");
    assert_eq!(a.ino(), b.ino(), "hard link shares the inode");
    let mut rebuilt = Vec::new();
    LayerStore::new(&f.paths)
        .open_tar(&diff)
        .expect("open")
        .read_to_end(&mut rebuilt)
        .expect("read");
    assert_eq!(rebuilt, tar, "rebuilt tar is byte-identical");
    assert!(staging_is_empty(&f));
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let f = fixture();
    let tar = tar_of(&[
        entry("opt/.wh.gone.txt", b'0', "", b"", 0o644),
        entry("opt/dir/.wh..wh..opq", b'0', "", b"", 0o644),
        entry("opt/dir/z", b'0', "", b"z", 0o644),
    ]);
    let diff = stage_and_commit(&f, &tar).expect("layer");
    let root = f.paths.layer_dir(diff.hex()).join("diff");
    let wh = std::fs::symlink_metadata(root.join("opt/gone.txt")).expect("whiteout exists");
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
    let opaque = rustix::fs::getxattr(
        root.join("opt/dir"),
        "trusted.overlay.opaque",
        &mut [0u8; 4],
    )
    .expect("xattr");
    assert_eq!(opaque, 1);
    assert!(!root.join("opt/.wh.gone.txt").exists());
}

#[test]
fn entry_with_dotdot_is_refused_and_nothing_is_left() {
    let f = fixture();
    let tar = tar_of(&[entry("../escaped.txt", b'0', "", b"x", 0o644)]);
    let err = stage_and_commit(&f, &tar).expect_err("refused");
    assert!(
        matches!(
            err,
            LayerError::Unpack {
                source: UnpackError::Traversal(_),
                ..
            }
        ),
        "{err}"
    );
    assert!(!f.paths.root.join("escaped.txt").exists());
    assert!(staging_is_empty(&f));
    assert!(std::fs::read_dir(f.paths.layers())
        .expect("layers")
        .next()
        .is_none());
}

#[test]
fn hardlink_outside_the_layer_is_refused() {
    let f = fixture();
    let tar = tar_of(&[entry(
        "passwd-link",
        b'1',
        "../../../etc/passwd",
        b"",
        0o644,
    )]);
    let err = stage_and_commit(&f, &tar).expect_err("refused");
    assert!(
        matches!(
            err,
            LayerError::Unpack {
                source: UnpackError::LinkTraversal { .. },
                ..
            }
        ),
        "{err}"
    );
    let tar = tar_of(&[entry("passwd-link", b'1', "/etc/passwd", b"", 0o644)]);
    let err = stage_and_commit(&f, &tar)
        .expect_err("absolute target is resolved in the layer, where it is missing");
    assert!(
        matches!(
            err,
            LayerError::Unpack {
                source: UnpackError::LinkTarget { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn writes_through_symlinks_stay_inside_the_root() {
    let f = fixture();
    let marker = format!("berth-unit-{}", std::process::id());
    let tar = tar_of(&[
        entry("etc2", b'2', "/etc", b"", 0o777),
        entry(&format!("etc2/{marker}"), b'0', "", b"pwned", 0o644),
        entry("up", b'2', "../..", b"", 0o777),
        entry(&format!("up/{marker}-up"), b'0', "", b"pwned", 0o644),
    ]);
    let diff = stage_and_commit(&f, &tar).expect("layer");
    assert!(
        !std::path::Path::new("/etc").join(&marker).exists(),
        "nothing written to the host's /etc"
    );
    let root = f.paths.layer_dir(diff.hex()).join("diff");
    assert_eq!(
        std::fs::read_to_string(root.join("etc").join(&marker)).expect("inside"),
        "pwned"
    );
    assert_eq!(
        std::fs::read_to_string(root.join(format!("{marker}-up"))).expect("clamped to root"),
        "pwned"
    );
}

#[test]
fn digest_mismatch_is_detected_and_leaves_nothing() {
    let f = fixture();
    let tar = tar_of(&[entry("a", b'0', "", b"a", 0o644)]);
    let blob = gzip(&tar);
    let store = LayerStore::new(&f.paths);
    let wrong_blob = ExpectedLayer {
        blob_digest: Digest::of(b"other"),
        blob_size: Some(blob.len() as u64),
        compression: Compression::Gzip,
        diff_id: Digest::of(&tar),
    };
    assert!(matches!(
        store.stage(blob.as_slice(), &wrong_blob),
        Err(LayerError::BlobMismatch { .. })
    ));
    let wrong_diff = ExpectedLayer {
        blob_digest: Digest::of(&blob),
        diff_id: Digest::of(b"x"),
        ..wrong_blob.clone()
    };
    assert!(matches!(
        store.stage(blob.as_slice(), &wrong_diff),
        Err(LayerError::DiffMismatch { .. })
    ));
    let truncated = &blob[..blob.len() / 2];
    let whole = ExpectedLayer {
        blob_digest: Digest::of(&blob),
        diff_id: Digest::of(&tar),
        ..wrong_blob
    };
    let err = store
        .stage(truncated, &whole)
        .err()
        .expect("truncated blob fails");
    assert!(err.is_corrupt(), "{err}");
    assert!(staging_is_empty(&f));
}

#[test]
fn zstd_and_plain_layers_unpack() {
    let f = fixture();
    let tar = tar_of(&[entry("c/z.txt", b'0', "", b"zstd", 0o644)]);
    let blob = zstd::encode_all(tar.as_slice(), 3).expect("zstd");
    let store = LayerStore::new(&f.paths);
    for (bytes, compression) in [
        (blob.clone(), Compression::Zstd),
        (tar.clone(), Compression::None),
    ] {
        let e = ExpectedLayer {
            blob_digest: Digest::of(&bytes),
            blob_size: Some(bytes.len() as u64),
            compression,
            diff_id: Digest::of(&tar),
        };
        let staged = store.stage(bytes.as_slice(), &e).expect("stage");
        assert_eq!(staged.size, tar.len() as u64);
    }
}
