//! Volume directories on disk. A new volume is built under `volumes/.staging/` and
//! renamed into place; a removed one is renamed back into `.staging/` and deleted
//! from there, so `volumes/<name>` is always either whole or absent. Deletion never
//! follows a symlink and never descends into another filesystem (a mount left on a
//! volume stays untouched). Names starting with `.` are not volume names, so
//! `.staging` can never collide with a volume.

use crate::store::fsutil::sync_dir;
use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How deep deletion recurses before it moves a subtree up to the top to continue there.
const MAX_DEPTH: usize = 64;

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// `volumes/.staging`, created when missing.
pub fn staging(volumes: &Path) -> io::Result<PathBuf> {
    let dir = volumes.join(".staging");
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(dir),
        Err(e) => Err(e),
    }
}

/// Builds a volume directory (`0700`) with its `_data` (`0755`) in the staging area,
/// owned by `uid`/`gid` where given; returns its path.
pub fn prepare(volumes: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<PathBuf> {
    let tmp = tempfile::Builder::new()
        .prefix("tmp-")
        .tempdir_in(staging(volumes)?)?;
    let data = tmp.path().join("_data");
    std::fs::create_dir(&data)?;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700))?;
    if uid.is_some() || gid.is_some() {
        let (u, g) = (uid.map(rfs::Uid::from_raw), gid.map(rfs::Gid::from_raw));
        rfs::chown(&data, u, g).map_err(errno_io)?;
        rfs::chown(tmp.path(), u, g).map_err(errno_io)?;
    }
    sync_dir(tmp.path())?;
    Ok(tmp.keep())
}

/// Renames the prepared directory to `volumes/<name>`. Whatever is there already has no
/// database row (the caller checked, under the volumes lock): a crash's leftover, removed.
pub fn install(volumes: &Path, prepared: &Path, name: &str) -> io::Result<()> {
    let target = volumes.join(name);
    if std::fs::symlink_metadata(&target).is_ok() {
        tracing::warn!(
            volume = name,
            "removing a leftover volume directory without a record"
        );
        if let Some(trash) = detach(volumes, name)? {
            remove_tree(&trash);
        }
    }
    if let Err(e) = std::fs::rename(prepared, &target) {
        remove_tree(prepared);
        return Err(e);
    }
    sync_dir(volumes)
}

/// Moves `volumes/<name>` into the staging area; returns where it went (None: absent).
pub fn detach(volumes: &Path, name: &str) -> io::Result<Option<PathBuf>> {
    let staging = staging(volumes)?;
    for _ in 0..16 {
        let trash = staging.join(format!("trash-{}", &super::names::random()?[..16]));
        match rfs::renameat_with(
            rfs::CWD,
            volumes.join(name),
            rfs::CWD,
            &trash,
            RenameFlags::NOREPLACE,
        ) {
            Ok(()) => {
                sync_dir(volumes)?;
                return Ok(Some(trash));
            }
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(errno_io(e)),
        }
    }
    Err(io::Error::other("no free name in the volume staging area"))
}

/// Clears what interrupted creations and removals left in the staging area. Call it
/// holding the volumes lock: every creation stages under that lock, so what is staged
/// now is stale; a removal still deleting its tree only races a harmless second delete.
pub fn sweep_staging(volumes: &Path) {
    let Ok(entries) = std::fs::read_dir(volumes.join(".staging")) else {
        return;
    };
    for entry in entries.flatten() {
        remove_tree(&entry.path());
    }
}

/// Deletes a directory tree, best effort: problems are logged, never fatal, since the
/// volume is already gone from the database by the time its tree is deleted.
pub fn remove_tree(path: &Path) {
    if let Err(e) = try_remove_tree(path) {
        tracing::warn!(path = %path.display(), error = %e, "could not remove all of a volume directory");
    }
}

fn try_remove_tree(path: &Path) -> io::Result<()> {
    let top = match rfs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(()),
        Err(Errno::NOTDIR | Errno::LOOP) => {
            return match rfs::unlink(path) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(errno_io(e)),
            }
        }
        Err(e) => return Err(errno_io(e)),
    };
    let dev = rfs::fstat(&top).map_err(errno_io)?.st_dev;
    let mut remover = Remover { top, dev, moved: 0 };
    // Each pass deletes up to MAX_DEPTH levels and moves deeper subtrees to the top.
    loop {
        let moved_before = remover.moved;
        remover.contents(&remover.top.try_clone()?, 0)?;
        if remover.moved == moved_before {
            break;
        }
    }
    match rfs::rmdir(path) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(errno_io(e)),
    }
}

struct Remover {
    top: OwnedFd,
    dev: u64,
    moved: u64,
}

impl Remover {
    fn contents(&mut self, dir: &OwnedFd, depth: usize) -> io::Result<()> {
        let mut names = Vec::new();
        for entry in rfs::Dir::read_from(dir).map_err(errno_io)? {
            let entry = entry.map_err(errno_io)?;
            let name = entry.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                names.push(name);
            }
        }
        for name in names {
            let st = match rfs::statat(dir, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(errno_io(e)),
            };
            if rfs::FileType::from_raw_mode(st.st_mode) != rfs::FileType::Directory {
                match rfs::unlinkat(dir, name.as_slice(), AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => return Err(errno_io(e)),
                }
                continue;
            }
            if st.st_dev != self.dev {
                tracing::warn!(entry = %String::from_utf8_lossy(&name), "not deleting into another filesystem mounted in a volume");
                continue;
            }
            if depth >= MAX_DEPTH {
                self.moved += 1;
                let to = format!(".deep-{}", self.moved);
                match rfs::renameat_with(
                    dir,
                    name.as_slice(),
                    &self.top,
                    to.as_str(),
                    RenameFlags::NOREPLACE,
                ) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => return Err(errno_io(e)),
                }
                continue;
            }
            let sub = match rfs::openat(
                dir,
                name.as_slice(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(errno_io(e)),
            };
            self.contents(&sub, depth + 1)?;
            match rfs::unlinkat(dir, name.as_slice(), AtFlags::REMOVEDIR) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(errno_io(e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_tree_deletes_deep_trees_and_never_follows_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).expect("outside");
        std::fs::write(outside.join("keep"), b"x").expect("keep");
        let tree = dir.path().join("tree");
        let mut deep = tree.clone();
        for i in 0..(MAX_DEPTH * 3 + 5) {
            deep.push(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).expect("deep");
        std::fs::write(deep.join("f"), b"y").expect("file");
        std::os::unix::fs::symlink(&outside, tree.join("link")).expect("link");
        std::os::unix::fs::symlink("../outside", tree.join("d0/up")).expect("up");
        try_remove_tree(&tree).expect("remove");
        assert!(!tree.exists());
        assert!(
            outside.join("keep").exists(),
            "symlink targets are untouched"
        );
    }

    #[test]
    fn install_and_detach_move_whole_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let volumes = dir.path();
        let prepared = prepare(volumes, None, None).expect("prepare");
        install(volumes, &prepared, "v").expect("install");
        let meta = std::fs::metadata(volumes.join("v/_data")).expect("_data");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
        let trash = detach(volumes, "v").expect("detach").expect("was there");
        assert!(!volumes.join("v").exists());
        remove_tree(&trash);
        assert!(detach(volumes, "v").expect("absent").is_none());
        // A leftover without a record is replaced.
        std::fs::create_dir_all(volumes.join("w/_data/old")).expect("leftover");
        let prepared = prepare(volumes, None, None).expect("prepare");
        install(volumes, &prepared, "w").expect("install over leftover");
        assert!(!volumes.join("w/_data/old").exists());
        sweep_staging(volumes);
        let staged: Vec<_> = std::fs::read_dir(volumes.join(".staging"))
            .expect("staging")
            .collect();
        assert!(staged.is_empty());
    }
}
