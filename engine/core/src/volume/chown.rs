//! The `U` volume option: the mount source, and everything under it, is given to the
//! container's user. The walk goes by directory descriptors opened with `O_NOFOLLOW`
//! and changes symlinks themselves (`AT_SYMLINK_NOFOLLOW`), so a symlink inside the
//! tree never leads the chown outside it.

use rustix::fs::{self as rfs, AtFlags, Gid, Mode, OFlags, Uid};
use rustix::io::Errno;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

/// Deeper trees are refused (each level holds one descriptor).
const MAX_DEPTH: usize = 256;

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// Gives `path` (not followed if it is a symlink) and all under it to `uid:gid`.
pub fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let (u, g) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
    match rfs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(dir) => {
            walk(&dir, u, g, 0)?;
            rfs::fchown(&dir, u, g).map_err(errno_io)
        }
        // A file, or a symlink: change it alone.
        Err(Errno::NOTDIR | Errno::LOOP) => {
            rfs::chownat(rfs::CWD, path, u, g, AtFlags::SYMLINK_NOFOLLOW).map_err(errno_io)
        }
        Err(e) => Err(errno_io(e)),
    }
}

fn walk(dir: &OwnedFd, u: Option<Uid>, g: Option<Gid>, depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "the directory tree is deeper than {MAX_DEPTH} levels"
        )));
    }
    for entry in rfs::Dir::read_from(dir).map_err(errno_io)? {
        let entry = entry.map_err(errno_io)?;
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        if entry.file_type() == rfs::FileType::Directory {
            match rfs::openat(
                dir,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(sub) => {
                    walk(&sub, u, g, depth + 1)?;
                    rfs::fchown(&sub, u, g).map_err(errno_io)?;
                    continue;
                }
                // Replaced meanwhile (by a symlink, say): change the entry itself.
                Err(Errno::NOTDIR | Errno::LOOP) => {}
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(errno_io(e)),
            }
        }
        match rfs::chownat(dir, name, u, g, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(errno_io(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_tree_changes_owner_but_symlinked_targets_outside_do_not() {
        if !rustix::process::geteuid().is_root() {
            return; // chown to another user needs root
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "x").expect("write");
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b")).expect("mkdir");
        std::fs::write(tree.join("a/b/file"), "y").expect("write");
        std::os::unix::fs::symlink(&outside, tree.join("a/link")).expect("symlink");
        std::os::unix::fs::symlink(dir.path(), tree.join("up")).expect("symlink");
        chown_tree(&tree, 1234, 5678).expect("chown");
        for p in ["", "a", "a/b", "a/b/file"] {
            let m = std::fs::symlink_metadata(tree.join(p)).expect("stat");
            assert_eq!((m.uid(), m.gid()), (1234, 5678), "{p}");
        }
        let link = std::fs::symlink_metadata(tree.join("a/link")).expect("stat");
        assert_eq!((link.uid(), link.gid()), (1234, 5678));
        let out = std::fs::metadata(&outside).expect("stat");
        assert_eq!((out.uid(), out.gid()), (0, 0), "followed a symlink out");
        let parent = std::fs::metadata(dir.path()).expect("stat");
        assert_eq!(parent.uid(), 0, "followed a symlink up");
    }
}
