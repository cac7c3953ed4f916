//! Tests for the container-facing volume calls: copy-up safety, once-only copy-up,
//! anonymous volumes and the in-use record.

use super::*;
use std::path::Path;

/// A copy-up source: the directory `p` inside the container root `/` (tests use host temp dirs).
fn src_of(p: &Path) -> crate::volume::copy::Source<'_> {
    crate::volume::copy::Source {
        root: Path::new("/"),
        path: p.to_str().expect("utf-8 test path"),
    }
}
use crate::engine::{EngineOptions, LocalEngine};
use berth_types::volume::VolumeRemoveRequest;
use berth_types::ErrorKind;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

struct Fixture {
    _dir: tempfile::TempDir,
    base: PathBuf,
    engine: LocalEngine,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().to_path_buf();
    let engine = LocalEngine::new(EngineOptions {
        root: Some(base.join("root")),
        runroot: Some(base.join("run")),
        ..EngineOptions::default()
    })
    .expect("engine");
    Fixture {
        _dir: dir,
        base,
        engine,
    }
}

fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read_dir")
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p
                .strip_prefix(base)
                .expect("under base")
                .display()
                .to_string();
            let ft = e.file_type().expect("file type");
            out.push(rel);
            if ft.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn copy_up_copies_symlinks_as_symlinks_and_never_leaves_the_source() {
    let f = fixture();
    let ctx = f.engine.ctx().expect("ctx");
    let outside = f.base.join("outside");
    std::fs::create_dir(&outside).expect("outside");
    std::fs::write(outside.join("secret"), b"do not copy").expect("secret");
    let img = f.base.join("rootfs");
    let src = img.join("data");
    std::fs::create_dir_all(src.join("sub")).expect("src");
    std::fs::write(src.join("file.txt"), b"hello").expect("file");
    set_mode(&src.join("file.txt"), 0o640);
    std::fs::write(src.join("sub/inner"), b"inner").expect("inner");
    set_mode(&src.join("sub"), 0o750);
    std::os::unix::fs::symlink("/etc", src.join("etc_link")).expect("etc link");
    std::os::unix::fs::symlink("../../", src.join("up")).expect("up link");
    std::os::unix::fs::symlink("../../outside", src.join("escape")).expect("escape");
    std::os::unix::fs::symlink("/sub/inner", src.join("abs")).expect("abs");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        src.join("fifo").as_path(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_bits_truncate(0o644),
        0,
    )
    .expect("fifo");
    set_mode(&src, 0o711);
    let outside_before = tree(&outside);

    let (name, data) = ensure_volume(ctx, Some("v")).expect("volume");
    assert_eq!(name, "v");
    copy_up(ctx, "v", &src_of(&src)).expect("copy-up");

    assert_eq!(
        tree(&data),
        vec![
            "abs",
            "escape",
            "etc_link",
            "fifo",
            "file.txt",
            "sub",
            "sub/inner",
            "up"
        ]
    );
    for (link, target) in [
        ("etc_link", "/etc"),
        ("up", "../../"),
        ("escape", "../../outside"),
        ("abs", "/sub/inner"),
    ] {
        let meta = std::fs::symlink_metadata(data.join(link)).expect("link");
        assert!(meta.file_type().is_symlink(), "{link} stays a symlink");
        assert_eq!(
            std::fs::read_link(data.join(link)).expect("readlink"),
            PathBuf::from(target)
        );
    }
    assert_eq!(
        std::fs::read(data.join("file.txt")).expect("file"),
        b"hello"
    );
    let mode = |p: &str| {
        std::fs::symlink_metadata(data.join(p))
            .expect("meta")
            .mode()
            & 0o7777
    };
    assert_eq!(mode("file.txt"), 0o640);
    assert_eq!(mode("sub"), 0o750);
    assert!(std::fs::symlink_metadata(data.join("fifo"))
        .expect("fifo")
        .file_type()
        .is_fifo());
    let data_mode = std::fs::metadata(&data).expect("_data").mode() & 0o7777;
    assert_eq!(data_mode, 0o711, "_data takes the source directory's mode");
    assert_eq!(tree(&outside), outside_before, "nothing written outside");
    assert_eq!(
        tree(&img),
        vec![
            "data",
            "data/abs",
            "data/escape",
            "data/etc_link",
            "data/fifo",
            "data/file.txt",
            "data/sub",
            "data/sub/inner",
            "data/up"
        ]
    );
    assert!(!data.parent().expect("volume dir").join(".copyup").exists());
    let v = crate::volume::ops::inspect(ctx, "v").expect("inspect");
    assert!(!v.needs_copy_up && !v.needs_chown);
}

use std::os::unix::fs::FileTypeExt;

#[test]
fn copy_up_runs_once_and_never_over_existing_content() {
    let f = fixture();
    let ctx = f.engine.ctx().expect("ctx");
    let src = f.base.join("src");
    std::fs::create_dir(&src).expect("src");
    std::fs::write(src.join("a"), b"a").expect("a");

    let (_, data) = ensure_volume(ctx, Some("full")).expect("volume");
    std::fs::write(data.join("mine"), b"x").expect("user content");
    copy_up(ctx, "full", &src_of(&src)).expect("copy-up");
    assert_eq!(tree(&data), vec!["mine"]);

    let (_, data) = ensure_volume(ctx, Some("once")).expect("volume");
    copy_up(ctx, "once", &src_of(&src)).expect("first");
    std::fs::remove_file(data.join("a")).expect("emptied by the container");
    copy_up(ctx, "once", &src_of(&src)).expect("second");
    assert!(
        tree(&data).is_empty(),
        "a second container does not copy again"
    );

    // Symlinks on the way are resolved inside the container root, never on the host.
    let root = f.base.join("ctr-root");
    std::fs::create_dir_all(root.join("data")).expect("mkdir");
    std::fs::write(root.join("data/inside.txt"), "inside").expect("write");
    std::os::unix::fs::symlink("/data", root.join("abs")).expect("link");
    std::os::unix::fs::symlink("../../../../etc", root.join("up")).expect("link");
    let (_, data) = ensure_volume(ctx, Some("nolink")).expect("volume");
    copy_up(
        ctx,
        "nolink",
        &crate::volume::copy::Source {
            root: &root,
            path: "/abs",
        },
    )
    .expect("symlinked source");
    assert_eq!(
        tree(&data),
        vec!["inside.txt".to_string()],
        "an absolute link resolves in the root"
    );
    let (_, data2) = ensure_volume(ctx, Some("uplink")).expect("volume");
    copy_up(
        ctx,
        "uplink",
        &crate::volume::copy::Source {
            root: &root,
            path: "/up",
        },
    )
    .expect("missing in root is fine");
    assert!(
        tree(&data2).is_empty(),
        "../../etc stays inside the root, where there is no etc: the host's is never read"
    );

    let err = copy_up(ctx, "nope", &src_of(&src)).expect_err("unknown volume");
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[test]
fn nocopy_volumes_are_never_filled() {
    let f = fixture();
    let ctx = f.engine.ctx().expect("ctx");
    let src = f.base.join("src");
    std::fs::create_dir(&src).expect("src");
    std::fs::write(src.join("a"), b"a").expect("a");
    let req = VolumeCreateRequest {
        name: Some("nc".into()),
        options: [("nocopy".to_string(), String::new())]
            .into_iter()
            .collect(),
        ..VolumeCreateRequest::default()
    };
    crate::volume::ops::create(ctx, &req).expect("create");
    copy_up(ctx, "nc", &src_of(&src)).expect("copy-up");
    let (_, data) = ensure_volume(ctx, Some("nc")).expect("existing");
    assert!(tree(&data).is_empty());
}

fn add_container(conn: &Connection, id: &str) {
    conn.execute(
        "INSERT OR IGNORE INTO images (id, digest, manifest_digest, manifest_type, created, created_text, size, architecture, os, added)
         VALUES ('img', 'sha256:d', 'sha256:d', 't', 0, '', 0, 'amd64', 'linux', 0)",
        [],
    )
    .expect("image");
    conn.execute(
        "INSERT INTO containers (id, name, image_id, image_name, created, config, runtime, state)
         VALUES (?1, ?1, 'img', 'img', 0, '{}', 'crun', 'created')",
        [id],
    )
    .expect("container");
}

#[test]
fn anonymous_volumes_are_recorded_and_used_ones_are_kept() {
    let f = fixture();
    let ctx = f.engine.ctx().expect("ctx");
    let (anon, data) = ensure_volume(ctx, None).expect("anonymous");
    assert_eq!(anon.len(), 64);
    assert!(data.ends_with(format!("volumes/{anon}/_data")) && data.is_dir());
    let (named, _) = ensure_volume(ctx, Some("named")).expect("named");
    let (again, _) = ensure_volume(ctx, Some("named")).expect("existing named");
    assert_eq!(named, again);
    {
        let conn = ctx.db();
        add_container(&conn, "c1");
        record_use(&conn, "c1", &anon, "/anon");
        try_record_use(&conn, "c1", &named, "/named").expect("record");
        assert_eq!(anonymous_volumes_of(&conn, "c1"), vec![anon.clone()]);
        assert!(
            try_record_use(&conn, "c1", "missing", "/m").is_err(),
            "foreign key"
        );
    }
    assert!(
        crate::volume::ops::inspect(ctx, &anon)
            .expect("inspect")
            .anonymous
    );
    let err = crate::volume::ops::remove(
        ctx,
        &VolumeRemoveRequest {
            names: vec![named.clone()],
            ..VolumeRemoveRequest::default()
        },
    )
    .expect_err("in use");
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(
        err.message,
        "volume named is being used by the following container(s): c1: volume is being used"
    );
    crate::volume::ops::create(
        ctx,
        &VolumeCreateRequest {
            name: Some("spare".into()),
            ..VolumeCreateRequest::default()
        },
    )
    .expect("spare");
    let pruned = crate::volume::ops::prune(ctx, &[]).expect("prune");
    assert_eq!(pruned, vec!["spare".to_string()]);
    assert!(!f.base.join("root/volumes/spare").exists());
    let unused = crate::volume::ops::list(ctx, &["dangling=false".into()]).expect("list");
    assert_eq!(unused.len(), 2);
}

#[test]
fn concurrent_creations_of_one_name_have_one_winner() {
    let f = fixture();
    let opts = EngineOptions {
        root: Some(f.base.join("root")),
        runroot: Some(f.base.join("run")),
        ..EngineOptions::default()
    };
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let opts = opts.clone();
                s.spawn(move || {
                    let engine = LocalEngine::new(opts).expect("engine");
                    let ctx = engine.ctx().expect("ctx");
                    crate::volume::ops::create(
                        ctx,
                        &VolumeCreateRequest {
                            name: Some("race".into()),
                            ..VolumeCreateRequest::default()
                        },
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.kind, ErrorKind::Conflict);
        assert_eq!(
            r.message,
            "volume with name race already exists: volume already exists"
        );
    }
    let entries: Vec<_> = std::fs::read_dir(f.base.join("root/volumes"))
        .expect("volumes")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(entries, vec!["race".to_string()]);
}
