//! Persistent network namespaces for running containers: a new namespace made on a
//! short-lived thread and bind-mounted onto a file under the run root (as `ip netns
//! add` does), so netavark can configure it before the runtime joins it by path, and
//! it outlives the processes in it until the container's network is torn down.

use std::io;
use std::path::{Path, PathBuf};

/// Where the namespace of container `id` is kept.
pub fn path_for(runroot: &Path, id: &str) -> PathBuf {
    runroot
        .join("netns")
        .join(format!("berth-{}", &id[..id.len().min(12)]))
}

/// Creates a new network namespace bound to `path`.
pub fn create(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A leftover from a crash: release it first.
    let _ = remove(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let target = path.to_path_buf();
    let made = std::thread::spawn(move || -> io::Result<()> {
        // SAFETY: CLONE_NEWNET changes only this thread's network namespace; it shares
        // no file table, filesystem context or memory state with std's assumptions,
        // and the thread ends right after binding the namespace to its file.
        #[allow(unsafe_code)]
        unsafe {
            rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET)?;
        }
        rustix::mount::mount_bind("/proc/thread-self/ns/net", &target)?;
        Ok(())
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))?;
    if let Err(e) = made {
        let _ = std::fs::remove_file(path);
        return Err(io::Error::new(
            e.kind(),
            format!("creating network namespace {}: {e}", path.display()),
        ));
    }
    Ok(())
}

/// Unmounts and removes the namespace file (the namespace ends with its last user).
pub fn remove(path: &Path) -> io::Result<()> {
    match rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
