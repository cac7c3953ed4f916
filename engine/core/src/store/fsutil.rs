//! Crash-safe writes: temp file in the same directory, fsync, rename, fsync the directory.

use std::io::{self, Write};
use std::path::Path;

/// Atomically replaces `path` with `data`; readers see the old or the new file, never a part.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other(format!("{} has no parent", path.display())))?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Replaces `path` with `data` by rename, without syncing: for files that are rebuilt
/// every time they are needed (a container's bundle), where a crash loses nothing.
pub fn write_replace(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other(format!("{} has no parent", path.display())))?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `openat2`, tried again while it answers EAGAIN: the kernel says so when a rename or
/// mount anywhere on the system raced a walk of `..` under `RESOLVE_IN_ROOT` or
/// `RESOLVE_BENEATH`, and the walk is to be repeated.
pub fn openat2<Fd: std::os::fd::AsFd, P: rustix::path::Arg + Copy>(
    dir: Fd,
    path: P,
    flags: rustix::fs::OFlags,
    mode: rustix::fs::Mode,
    resolve: rustix::fs::ResolveFlags,
) -> rustix::io::Result<std::os::fd::OwnedFd> {
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(dir.as_fd(), path, flags, mode, resolve) {
            Err(rustix::io::Errno::AGAIN) if tries < 100 => tries += 1,
            other => return other,
        }
    }
}
