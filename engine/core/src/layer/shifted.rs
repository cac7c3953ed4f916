//! An image's file tree for containers in a user namespace of their own: copied once
//! per ID mapping, every owner moved to the host ID its container ID maps to, so that
//! inside the container the files belong to whom the image says. (This kernel cannot
//! idmap overlayfs, and a rootless user cannot idmap the store's filesystem; Podman
//! copies and chowns the same way then.) Each copy is made under a staging name and
//! renamed into place, once, under a lock; `gc` removes those of removed images.

use crate::container::idmap::IdMappings;
use crate::store::lock::FileLock;
use crate::store::paths::StorePaths;
use rustix::fs::{AtFlags, Mode, Timestamps, CWD};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The container ID files of unmapped owners get: nobody, as the kernel shows them.
const OVERFLOW_ID: u32 = 65534;

fn dir_of(paths: &StorePaths, image_id: &str, mappings: &IdMappings) -> PathBuf {
    let key = hex::encode(Sha256::digest(mappings.to_string().as_bytes()));
    paths.idmapped().join(format!(
        "{}-{}",
        &image_id[..image_id.len().min(12)],
        &key[..16]
    ))
}

/// The image's tree (`lowers`, topmost first) with owners shifted by `mappings`: made
/// now unless an earlier container made it.
pub fn shifted_tree(
    paths: &StorePaths,
    image_id: &str,
    lowers: &[PathBuf],
    mappings: &IdMappings,
) -> io::Result<PathBuf> {
    let dir = dir_of(paths, image_id, mappings);
    if dir.is_dir() {
        return Ok(dir);
    }
    std::fs::create_dir_all(paths.idmapped())?;
    let _lock = FileLock::exclusive(&dir.with_extension("lock"))?;
    if dir.is_dir() {
        return Ok(dir);
    }
    let staging = dir.with_extension("tmp");
    let mnt = dir.with_extension("mnt");
    for leftover in [&staging, &mnt] {
        let _ = rustix::mount::unmount(leftover, rustix::mount::UnmountFlags::DETACH);
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)?;
        }
    }
    let copied = (|| {
        // One layer is its own tree; several are merged by a read-only overlay.
        let source = match lowers {
            [] => return Err(io::Error::other("the image has no layers")),
            [only] => only.clone(),
            _ => {
                std::fs::create_dir(&mnt)?;
                mount_merged(lowers, &mnt)?;
                mnt.clone()
            }
        };
        let mut copier = Copier {
            mappings,
            links: HashMap::new(),
            skip_whiteouts: lowers.len() == 1,
        };
        let result = copier.copy_dir(&source, &staging);
        if lowers.len() > 1 {
            let _ = rustix::mount::unmount(&mnt, rustix::mount::UnmountFlags::DETACH);
            let _ = std::fs::remove_dir(&mnt);
        }
        result
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(io::Error::new(
            e.kind(),
            format!("copying image {image_id} for user namespace {mappings}: {e}"),
        ));
    }
    // Durable before it is visible under its real name.
    rustix::fs::syncfs(std::fs::File::open(&staging)?)?;
    std::fs::rename(&staging, &dir)?;
    Ok(dir)
}

/// Removes the copies of images not in `keep` (image IDs).
pub fn remove_unused(paths: &StorePaths, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(paths.idmapped()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((short, _)) = name.split_once('-') else {
            continue;
        };
        if !keep.iter().any(|id| id.starts_with(short)) {
            let path = e.path();
            if path.is_dir() {
                super::store::remove_tree(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

fn mount_merged(lowers: &[PathBuf], at: &Path) -> io::Result<()> {
    let lower: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
    crate::container::rootfs::mount_overlay(
        &format!("lowerdir={}", lower.join(":")),
        at,
        rustix::mount::MountFlags::RDONLY,
    )
}

struct Copier<'a> {
    mappings: &'a IdMappings,
    /// (device, inode) of files with several links → the first copy's path.
    links: HashMap<(u64, u64), PathBuf>,
    /// Copying one layer directly: its whiteouts (0:0 character devices) mean nothing.
    skip_whiteouts: bool,
}

impl Copier<'_> {
    /// The host owner of a file owned by `uid`:`gid` in the image: the mapped IDs;
    /// for IDs the mapping lacks, its nobody, or else the IDs as they were (outside the
    /// mapping, which the container sees as nobody too, as the layer itself has them).
    fn owner(&self, uid: u32, gid: u32) -> (u32, u32) {
        let m = self.mappings;
        let uid = m
            .host_uid(uid)
            .or_else(|| m.host_uid(OVERFLOW_ID))
            .unwrap_or(uid);
        let gid = m
            .host_gid(gid)
            .or_else(|| m.host_gid(OVERFLOW_ID))
            .unwrap_or(gid);
        (uid, gid)
    }

    fn copy_dir(&mut self, src: &Path, dst: &Path) -> io::Result<()> {
        let meta = std::fs::symlink_metadata(src)?;
        std::fs::create_dir(dst)?;
        for entry in std::fs::read_dir(src)? {
            let entry = entry?;
            self.copy_entry(&entry.path(), &dst.join(entry.file_name()))?;
        }
        self.finish(src, dst, &meta)
    }

    fn copy_entry(&mut self, src: &Path, dst: &Path) -> io::Result<()> {
        let meta = std::fs::symlink_metadata(src)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            return self.copy_dir(src, dst);
        }
        if !ft.is_symlink() && meta.nlink() > 1 {
            if let Some(first) = self.links.get(&(meta.dev(), meta.ino())) {
                return std::fs::hard_link(first, dst);
            }
            self.links
                .insert((meta.dev(), meta.ino()), dst.to_path_buf());
        }
        if ft.is_file() {
            let mut from = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(src)?;
            let mut to = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dst)?;
            io::copy(&mut from, &mut to)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(src)?, dst)?;
        } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
            if self.skip_whiteouts && ft.is_char_device() && meta.rdev() == 0 {
                return Ok(());
            }
            let kind = if ft.is_fifo() {
                rustix::fs::FileType::Fifo
            } else if ft.is_char_device() {
                rustix::fs::FileType::CharacterDevice
            } else {
                rustix::fs::FileType::BlockDevice
            };
            if let Err(e) =
                rustix::fs::mknodat(CWD, dst, kind, Mode::from_raw_mode(0o600), meta.rdev())
            {
                // A rootless user may not make device nodes (nor did its unpacking).
                tracing::debug!(path = %dst.display(), error = %e, "skipping a device node");
                return Ok(());
            }
        } else {
            // Sockets are not content.
            return Ok(());
        }
        self.finish(src, dst, &meta)
    }

    /// Owner, mode, extended attributes and times, in the order that keeps each
    /// (a chown drops set-id bits and file capabilities).
    fn finish(&self, src: &Path, dst: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
        let (uid, gid) = self.owner(meta.uid(), meta.gid());
        rustix::fs::chownat(
            CWD,
            dst,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )?;
        let symlink = meta.file_type().is_symlink();
        if !symlink {
            rustix::fs::chmodat(
                CWD,
                dst,
                Mode::from_raw_mode(meta.mode() & 0o7777),
                AtFlags::empty(),
            )?;
        }
        copy_xattrs(src, dst);
        let time = |s: i64, ns: i64| rustix::fs::Timespec {
            tv_sec: s,
            tv_nsec: ns as _,
        };
        let times = Timestamps {
            last_access: time(meta.atime(), meta.atime_nsec()),
            last_modification: time(meta.mtime(), meta.mtime_nsec()),
        };
        rustix::fs::utimensat(CWD, dst, &times, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }
}

/// Extended attributes but overlay's own (file capabilities and the image's `user.`
/// attributes stay); an attribute the filesystem refuses is left out.
fn copy_xattrs(src: &Path, dst: &Path) {
    let mut names = vec![0u8; 4096];
    let Ok(n) = rustix::fs::llistxattr(src, &mut names) else {
        return;
    };
    for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") {
            continue;
        }
        let mut value = vec![0u8; 65536];
        if let Ok(len) = rustix::fs::lgetxattr(src, name, &mut value) {
            let _ =
                rustix::fs::lsetxattr(dst, name, &value[..len], rustix::fs::XattrFlags::empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::idmap::IdRange;
    use std::os::unix::fs::PermissionsExt;

    fn mappings() -> IdMappings {
        let r = |container, host, size| IdRange {
            container,
            host,
            size,
        };
        IdMappings {
            uids: vec![r(0, 300000, 2000)],
            gids: vec![r(0, 400000, 2000)],
        }
    }

    #[test]
    fn a_layer_is_copied_with_owners_shifted_and_everything_else_kept() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: changing owners needs root");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let layer = tmp.path().join("layer");
        std::fs::create_dir_all(layer.join("bin")).expect("mkdir");
        std::fs::write(layer.join("bin/tool"), b"#!/bin/sh\n").expect("write");
        std::fs::set_permissions(
            layer.join("bin/tool"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .expect("chmod");
        std::fs::hard_link(layer.join("bin/tool"), layer.join("bin/alias")).expect("link");
        std::os::unix::fs::symlink("tool", layer.join("bin/sym")).expect("symlink");
        std::fs::write(layer.join("owned"), b"x").expect("write");
        std::os::unix::fs::chown(layer.join("owned"), Some(1000), Some(1001)).expect("chown");
        std::fs::write(layer.join("unmapped"), b"x").expect("write");
        std::os::unix::fs::chown(layer.join("unmapped"), Some(50000), Some(50000)).expect("chown");
        // A whiteout means nothing in a lone layer and is not copied.
        rustix::fs::mknodat(
            CWD,
            layer.join("gone"),
            rustix::fs::FileType::CharacterDevice,
            Mode::from_raw_mode(0),
            0,
        )
        .expect("mknod");

        let paths = StorePaths {
            root: tmp.path().join("root"),
            runroot: tmp.path().join("run"),
        };
        let m = mappings();
        let tree = shifted_tree(&paths, "abcdef0123456789", std::slice::from_ref(&layer), &m)
            .expect("copied");
        let meta = |p: &str| std::fs::symlink_metadata(tree.join(p)).expect(p);
        assert_eq!((meta("bin").uid(), meta("bin").gid()), (300000, 400000));
        let tool = meta("bin/tool");
        assert_eq!((tool.uid(), tool.gid()), (300000, 400000));
        assert_eq!(
            tool.mode() & 0o7777,
            0o4755,
            "set-id bits survive the chown"
        );
        assert_eq!(tool.ino(), meta("bin/alias").ino(), "hard links stay links");
        assert_eq!(
            std::fs::read_link(tree.join("bin/sym")).expect("link"),
            PathBuf::from("tool")
        );
        assert_eq!(meta("bin/sym").uid(), 300000);
        assert_eq!((meta("owned").uid(), meta("owned").gid()), (301000, 401001));
        // Owners outside a mapping without nobody keep their IDs (nobody inside).
        assert_eq!(meta("unmapped").uid(), 50000);
        assert!(!tree.join("gone").exists());

        // Made once: a second call finds it; rmi of the image frees it.
        std::fs::write(tree.join("marker"), b"").expect("marker");
        let again = shifted_tree(&paths, "abcdef0123456789", &[layer], &m).expect("found");
        assert!(again.join("marker").exists());
        remove_unused(&paths, &["ffff".into()]);
        assert!(!tree.exists());
    }
}
