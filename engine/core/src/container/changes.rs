//! A container's changes against its image, read from the overlay's upper directory:
//! `diff` lists them; `commit` turns them into a new layer tar (overlay whiteouts back
//! into `.wh.` entries and opaque markers) and a new image; `export` tars the whole
//! merged root.

use super::ops::{lock, lookup};
use super::paths::ContainerPaths;
use super::rootfs;
use super::store::State;
use crate::engine::{storage, LocalEngine, StoreContext};
use crate::store::db;
use berth_types::{EngineError, ErrorKind, Result};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

fn fail(msg: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorKind::Storage, msg.to_string())
}

fn is_whiteout(meta: &std::fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(path: &Path) -> bool {
    let mut buf = [0u8; 4];
    matches!(rustix::fs::lgetxattr(path, super::super::layer::unpack::OPAQUE_XATTR, &mut buf), Ok(1) if buf[0] == b'y')
}

/// The image's layer roots (bottom first), for other modules.
pub fn lower_roots_for(ctx: &StoreContext, image_id: &str) -> Result<Vec<PathBuf>> {
    lower_roots(ctx, image_id)
}

/// The image's layer roots (bottom first) for "was this path there before?".
fn lower_roots(ctx: &StoreContext, image_id: &str) -> Result<Vec<PathBuf>> {
    let image = db::get_image(&ctx.db(), image_id)
        .map_err(storage)?
        .ok_or_else(|| fail(format!("image {image_id} is gone")))?;
    Ok(image
        .layers
        .iter()
        .map(|d| {
            ctx.paths
                .layer_dir(d.trim_start_matches("sha256:"))
                .join("diff")
        })
        .collect())
}

fn existed_below(lowers: &[PathBuf], rel: &Path) -> bool {
    lowers
        .iter()
        .any(|l| std::fs::symlink_metadata(l.join(rel)).is_ok_and(|m| !is_whiteout(&m)))
}

/// Paths the runtime creates in the upper layer only as mount points (the /etc files
/// Berth binds, and the container's mounts): not changes of the container's own.
fn mount_stubs(row: &super::store::ContainerRow) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = [
        "etc/hostname",
        "etc/hosts",
        "etc/resolv.conf",
        "run/.containerenv",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    v.extend(
        row.config
            .mounts
            .iter()
            .map(|m| PathBuf::from(m.destination.trim_start_matches('/'))),
    );
    v
}

fn is_stub(stubs: &[PathBuf], rel: &Path, meta: &std::fs::Metadata) -> bool {
    stubs.iter().any(|s| s == rel) && (meta.len() == 0 || meta.is_dir())
}

/// `diff`: `A`dded, `C`hanged and `D`eleted paths, sorted, as Podman prints them.
pub fn diff(engine: &LocalEngine, name: &str) -> Result<Vec<(char, String)>> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    let upper = ContainerPaths::new(&ctx.paths, &row.id).upper();
    let lowers = lower_roots(ctx, &row.image_id)?;
    let stubs = mount_stubs(&row);
    let mut out = Vec::new();
    let mut stub_parents: Vec<String> = Vec::new();
    walk(&upper, Path::new(""), &mut |rel, meta| {
        if is_stub(&stubs, rel, meta) {
            let mut p = rel.parent();
            while let Some(parent) = p.filter(|p| !p.as_os_str().is_empty()) {
                stub_parents.push(format!("/{}", parent.display()));
                p = parent.parent();
            }
            return;
        }
        let shown = format!("/{}", rel.display());
        if is_whiteout(meta) {
            out.push(('D', shown));
        } else if existed_below(&lowers, rel) {
            out.push(('C', shown));
        } else {
            out.push(('A', shown));
        }
    })
    .map_err(|e| fail(format!("reading changes of container {}: {e}", row.id)))?;
    // A directory that changed only because a mount point was made in it is no change.
    let all: Vec<String> = out.iter().map(|(_, p)| p.clone()).collect();
    out.retain(|(_, path)| {
        !stub_parents.contains(path) || all.iter().any(|p| p.starts_with(&format!("{path}/")))
    });
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Visits every entry under `root` (depth first, parents before children), never
/// following symlinks.
fn walk(
    root: &Path,
    rel: &Path,
    visit: &mut dyn FnMut(&Path, &std::fs::Metadata),
) -> std::io::Result<()> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(e) => e.flatten().collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let child = rel.join(e.file_name());
        let meta = std::fs::symlink_metadata(root.join(&child))?;
        visit(&child, &meta);
        if meta.is_dir() {
            walk(root, &child, visit)?;
        }
    }
    Ok(())
}

/// Writes the upper directory as a layer tar: whiteouts become `.wh.NAME`, opaque
/// directories get `.wh..wh..opq`.
pub fn write_layer_tar(
    upper: &Path,
    skip: &[PathBuf],
    out: impl std::io::Write,
) -> std::io::Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    let mut result = Ok(());
    walk(upper, Path::new(""), &mut |rel, meta| {
        if result.is_err() || is_stub(skip, rel, meta) {
            return;
        }
        let full = upper.join(rel);
        let r = if is_whiteout(meta) {
            let name = rel
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let path = rel.with_file_name(format!(".wh.{name}"));
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(0);
            h.set_mode(0o600);
            h.set_mtime(meta.mtime().max(0) as u64);
            b.append_data(&mut h, path, std::io::empty())
        } else {
            b.append_path_with_name(&full, rel).and_then(|_| {
                if meta.is_dir() && is_opaque(&full) {
                    let mut h = tar::Header::new_gnu();
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(0);
                    h.set_mode(0o600);
                    b.append_data(&mut h, rel.join(".wh..wh..opq"), std::io::empty())
                } else {
                    Ok(())
                }
            })
        };
        if let Err(e) = r {
            result = Err(e);
        }
    })?;
    result?;
    b.finish()
}

/// `export`: the container's whole filesystem as a tar (mounted for the occasion if stopped).
pub fn export(engine: &LocalEngine, name: &str, out: &mut dyn std::io::Write) -> Result<()> {
    let ctx = engine.ctx()?;
    let row = lookup(ctx, name)?;
    let _lock = lock(ctx, &row.id)?;
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    let was_mounted = rootfs::is_mounted(&paths.merged());
    if !was_mounted {
        super::prepare::mount_root(ctx, &row)?;
    }
    let result = (|| {
        let mut b = tar::Builder::new(out);
        b.follow_symlinks(false);
        b.append_dir_all(".", paths.merged())?;
        b.finish()
    })();
    if !was_mounted && row.state != State::Running {
        let _ = rootfs::unmount_rootfs(&paths);
    }
    result.map_err(|e| fail(format!("exporting container {}: {e}", row.id)))
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// `commit`: the upper directory as a new layer on top of the image, with the
/// container's run configuration and the `--change`s. Returns the image ID.
pub fn commit(engine: &LocalEngine, req: &berth_types::container::CommitRequest) -> Result<String> {
    use crate::image::build;
    let ctx = engine.ctx()?;
    let row = lookup(ctx, &req.container)?;
    let names = match &req.image {
        Some(n) => {
            vec![crate::image::names::normalize_new_name(n).map_err(crate::engine::lookup_err)?]
        }
        None => Vec::new(),
    };
    let _gc = build::hold_gc(ctx)?;
    let staging = crate::layer::store::LayerStore::new(&ctx.paths)
        .new_staging_dir()
        .map_err(fail)?;
    let tar_path = staging.path().join("layer.tar");
    let upper = ContainerPaths::new(&ctx.paths, &row.id).upper();
    let file = std::fs::File::create(&tar_path).map_err(fail)?;
    write_layer_tar(&upper, &mount_stubs(&row), std::io::BufWriter::new(file))
        .map_err(|e| fail(format!("committing container {}: {e}", row.id)))?;
    let diff_id =
        build::add_layer_from_file(ctx, &tar_path, berth_registry::manifest::Compression::None)?;
    let mut config = super::prepare::image_config(ctx, &row)?;
    let run = config.config.get_or_insert_with(Default::default);
    if !row.config.command.is_empty() {
        run.cmd = Some(row.config.command.clone());
    }
    if let Some(ep) = &row.config.entrypoint {
        run.entrypoint = Some(ep.clone());
    }
    if let Some(w) = &row.config.workdir {
        run.working_dir = Some(w.clone());
    }
    if let Some(u) = &row.config.user {
        run.user = Some(u.clone());
    }
    if !row.config.env.is_empty() {
        let env = run.env.get_or_insert_with(Vec::new);
        for kv in &row.config.env {
            let k = kv.split('=').next().unwrap_or(kv);
            env.retain(|e| e.split('=').next() != Some(k));
            env.push(kv.clone());
        }
    }
    for (k, v) in &row.config.labels {
        run.labels
            .get_or_insert_with(Default::default)
            .insert(k.clone(), v.clone());
    }
    build::apply_changes(&mut config, &req.changes)?;
    config.rootfs.diff_ids.push(diff_id);
    let created = now_rfc3339();
    config.created = Some(created.clone());
    if let Some(a) = &req.author {
        config.author = Some(a.clone());
    }
    config.history.push(berth_registry::manifest::History {
        created: Some(created),
        created_by: Some(format!("berth commit {}", row.name)),
        author: req.author.clone(),
        comment: req.message.clone(),
        empty_layer: false,
    });
    build::store_image(ctx, &config, &names)
}

/// `import`: a root filesystem tarball (gzip, zstd or plain) as a one-layer image.
pub fn import(
    engine: &LocalEngine,
    req: &berth_types::container::ImportRequest,
    input: &mut dyn std::io::Read,
) -> Result<String> {
    use crate::image::build;
    let ctx = engine.ctx()?;
    let names = match &req.image {
        Some(n) => {
            vec![crate::image::names::normalize_new_name(n).map_err(crate::engine::lookup_err)?]
        }
        None => Vec::new(),
    };
    let _gc = build::hold_gc(ctx)?;
    let staging = crate::layer::store::LayerStore::new(&ctx.paths)
        .new_staging_dir()
        .map_err(fail)?;
    let path = staging.path().join("import.tar");
    let mut file = std::fs::File::create(&path).map_err(fail)?;
    std::io::copy(input, &mut file).map_err(|e| fail(format!("reading the tarball: {e}")))?;
    drop(file);
    let mut magic = [0u8; 4];
    let n = std::io::Read::read(&mut std::fs::File::open(&path).map_err(fail)?, &mut magic)
        .map_err(fail)?;
    let compression = match &magic[..n] {
        [0x1f, 0x8b, ..] => berth_registry::manifest::Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => berth_registry::manifest::Compression::Zstd,
        _ => berth_registry::manifest::Compression::None,
    };
    let diff_id = build::add_layer_from_file(ctx, &path, compression)?;
    let created = now_rfc3339();
    let mut config = berth_registry::manifest::ImageConfig {
        created: Some(created.clone()),
        architecture: berth_registry::manifest::host_arch().to_string(),
        os: "linux".into(),
        ..Default::default()
    };
    config.rootfs.kind = "layers".into();
    config.rootfs.diff_ids.push(diff_id);
    build::apply_changes(&mut config, &req.changes)?;
    config.history.push(berth_registry::manifest::History {
        created: Some(created),
        created_by: Some("berth import".into()),
        comment: req.message.clone(),
        ..Default::default()
    });
    build::store_image(ctx, &config, &names)
}
