//! Unix socket paths short enough for `sun_path` (108 bytes), however deep the store.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The path itself, or, for a deep store, `/proc/self/fd/N/NAME` through an open
/// handle on its directory (kept alive by the returned guard).
pub fn socket_path(path: &Path) -> std::io::Result<(Option<OwnedFd>, PathBuf)> {
    socket_path_with(path, rustix::fs::OFlags::CLOEXEC)
}

/// Like [`socket_path`], with a directory handle children inherit, so a child process
/// (the runtime, handed a console socket) resolves the same short path.
pub fn inheritable_socket_path(path: &Path) -> std::io::Result<(Option<OwnedFd>, PathBuf)> {
    socket_path_with(path, rustix::fs::OFlags::empty())
}

fn socket_path_with(
    path: &Path,
    extra: rustix::fs::OFlags,
) -> std::io::Result<(Option<OwnedFd>, PathBuf)> {
    if path.as_os_str().len() < 100 {
        return Ok((None, path.to_path_buf()));
    }
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("socket path has no directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("socket path has no name"))?;
    let fd = rustix::fs::open(
        dir,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | extra,
        rustix::fs::Mode::empty(),
    )?;
    let short = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())).join(name);
    Ok((Some(fd), short))
}
