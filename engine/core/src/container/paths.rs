//! Where a container's files live: persistent ones under the graph root (its writable
//! layer, the bundle, the log) and volatile ones under the run root (attach socket,
//! pid and exit files), plus each OCI runtime's state directory.

use crate::store::paths::StorePaths;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ContainerPaths {
    /// `ROOT/containers/<id>`: upper, work, merged, bundle config, log.
    pub dir: PathBuf,
    /// `RUNROOT/containers/<id>`: attach socket, pid file, exit file.
    pub run: PathBuf,
}

impl ContainerPaths {
    pub fn new(store: &StorePaths, id: &str) -> ContainerPaths {
        ContainerPaths {
            dir: store.root.join("containers").join(id),
            run: store.runroot.join("containers").join(id),
        }
    }
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }
    /// The OCI bundle directory (holds config.json; its root is `merged`).
    pub fn bundle(&self) -> PathBuf {
        self.dir.join("userdata")
    }
    pub fn config_json(&self) -> PathBuf {
        self.bundle().join("config.json")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("userdata/ctr.log")
    }
    pub fn attach_socket(&self) -> PathBuf {
        self.run.join("attach")
    }
    pub fn pid_file(&self) -> PathBuf {
        self.run.join("pidfile")
    }
    pub fn exit_file(&self) -> PathBuf {
        self.run.join("exit")
    }
    pub fn console_socket(&self) -> PathBuf {
        self.run.join("console.sock")
    }
}

/// The state directory given to an OCI runtime with `--root`.
pub fn runtime_root(store: &StorePaths, runtime_name: &str) -> PathBuf {
    store.runroot.join("runtime").join(runtime_name)
}

/// Where containers of the store live.
pub fn containers_dir(store: &StorePaths) -> PathBuf {
    store.root.join("containers")
}

/// A unix socket path short enough for `sun_path` (108 bytes): the path itself, or, for
/// a deep store, `/proc/self/fd/N/NAME` through an open handle on its directory
/// (kept alive by the returned guard).
pub fn socket_path(
    path: &std::path::Path,
) -> std::io::Result<(Option<std::os::fd::OwnedFd>, PathBuf)> {
    socket_path_with(path, rustix::fs::OFlags::CLOEXEC)
}

/// Like [`socket_path`], with a directory handle children inherit, so a child process
/// (the runtime, handed a console socket) resolves the same short path.
pub fn inheritable_socket_path(
    path: &std::path::Path,
) -> std::io::Result<(Option<std::os::fd::OwnedFd>, PathBuf)> {
    socket_path_with(path, rustix::fs::OFlags::empty())
}

fn socket_path_with(
    path: &std::path::Path,
    extra: rustix::fs::OFlags,
) -> std::io::Result<(Option<std::os::fd::OwnedFd>, PathBuf)> {
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
    use std::os::fd::AsRawFd;
    let short = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())).join(name);
    Ok((Some(fd), short))
}
