//! Persistent network namespaces for running containers: a new namespace made on a
//! short-lived thread and bind-mounted onto a file under the run root (as `ip netns
//! add` does), so netavark can configure it before the runtime joins it by path, and
//! it outlives the processes in it until the container's network is torn down.
//! A container with a user namespace of its own gets that namespace made here too,
//! first, so that it owns the network namespace (a namespace's sysctls, sysfs and
//! `setns` belong to its owner): both are kept as files side by side.

use crate::container::idmap::{IdMappings, IdRange};
use std::io;
use std::path::{Path, PathBuf};

/// Where the namespace of container `id` is kept.
pub fn path_for(runroot: &Path, id: &str) -> PathBuf {
    runroot
        .join("netns")
        .join(format!("berth-{}", &id[..id.len().min(12)]))
}

/// Where the user namespace that owns the network namespace at `netns` is kept.
pub fn userns_path(netns: &Path) -> PathBuf {
    let mut name = netns.as_os_str().to_owned();
    name.push(".userns");
    PathBuf::from(name)
}

/// Creates a new network namespace bound to `path`; with `owner`, inside a new user
/// namespace of those mappings, bound to [`userns_path`].
pub fn create(path: &Path, owner: Option<&IdMappings>) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A leftover from a crash: release it first.
    let _ = remove(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    if let Some(mappings) = owner {
        let made = create_owned(path, mappings);
        if made.is_err() {
            let _ = remove(path);
        }
        return made;
    }
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

/// A process (`cat`, waiting on its input) that unshares a user and a network
/// namespace before it starts; its maps are written from here, then both namespaces
/// are bound to their files and the process is let go.
fn create_owned(path: &Path, mappings: &IdMappings) -> io::Result<()> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let userns = userns_path(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&userns)?;
    let mut cmd = Command::new("cat");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: between fork and exec the child only calls unshare(2), which allocates
    // nothing and takes no lock.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| {
            rustix::thread::unshare_unsafe(
                rustix::thread::UnshareFlags::NEWUSER | rustix::thread::UnshareFlags::NEWNET,
            )
            .map_err(io::Error::from)
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("starting a namespace holder: {e}")))?;
    let proc_dir = PathBuf::from(format!("/proc/{}", child.id()));
    let lines = |ranges: &[IdRange]| -> String {
        ranges
            .iter()
            .map(|r| format!("{} {} {}\n", r.container, r.host, r.size))
            .collect()
    };
    let result = (|| -> io::Result<()> {
        std::fs::write(proc_dir.join("uid_map"), lines(&mappings.uids))
            .map_err(|e| io::Error::new(e.kind(), format!("writing the uid map: {e}")))?;
        std::fs::write(proc_dir.join("gid_map"), lines(&mappings.gids))
            .map_err(|e| io::Error::new(e.kind(), format!("writing the gid map: {e}")))?;
        rustix::mount::mount_bind(proc_dir.join("ns/user"), &userns)?;
        rustix::mount::mount_bind(proc_dir.join("ns/net"), path)?;
        Ok(())
    })();
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    result.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "creating user and network namespaces at {}: {e}",
                path.display()
            ),
        )
    })
}

/// Unmounts and removes the namespace file (the namespace ends with its last user),
/// and the owning user namespace's file when there is one.
pub fn remove(path: &Path) -> io::Result<()> {
    let userns = userns_path(path);
    if userns.exists() {
        let _ = rustix::mount::unmount(&userns, rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_file(&userns);
    }
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
