//! The API socket: its default path (root's under /run/berth, a user's under
//! `$XDG_RUNTIME_DIR/berth`), and binding it with its mode set before anyone else
//! can connect (0660 and group `berth` when that group exists, for root; 0600 for a
//! user). A stale socket nobody answers on is replaced; a live one is an error. Or the
//! socket systemd opened and passed on (socket activation: `LISTEN_FDS`).

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Where `system service` listens by default for the calling user.
pub fn default_path(rootful: bool) -> PathBuf {
    if rootful {
        return PathBuf::from("/run/berth/berth.sock");
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("berth-{}", rustix::process::getuid().as_raw()))
        });
    runtime.join("berth").join("berth.sock")
}

/// The gid of group `name` in /etc/group.
fn group_id(name: &str) -> Option<u32> {
    std::fs::read_to_string("/etc/group")
        .ok()?
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
        })
}

/// Binds `path` (its directory made 0700/0755 as needed) with `mode`; for root, the
/// socket's group becomes `berth` when that group exists.
pub fn bind(path: &Path, rootful: bool) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
        if !rootful {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{}: another service is listening on it", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    // Bound owner-only (nobody else can connect yet), then given the mode it keeps.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = UnixListener::bind(path);
    rustix::process::umask(old);
    let listener = bound?;
    let group = if rootful { group_id("berth") } else { None };
    let mode = if group.is_some() { 0o660 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    Ok(listener)
}

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

/// The listening unix socket systemd passed on, when this process was socket-activated
/// (`LISTEN_PID` is ours and `LISTEN_FDS` at least 1); the variables are cleared so
/// that nothing started from here takes them for its own.
pub fn activated() -> Option<io::Result<UnixListener>> {
    let pid = std::env::var("LISTEN_PID").ok()?.parse::<u32>().ok()?;
    let count = std::env::var("LISTEN_FDS").ok()?.parse::<u32>().ok()?;
    if pid != std::process::id() || count == 0 {
        return None;
    }
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(var);
    }
    Some(take_listen_fd())
}

fn take_listen_fd() -> io::Result<UnixListener> {
    use std::os::fd::{AsFd, FromRawFd};
    // SAFETY: by the socket-activation protocol descriptor 3 is open and given to this
    // process alone, and it is taken only once (the variables naming it are cleared
    // above before this runs).
    #[allow(unsafe_code)]
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(LISTEN_FDS_START) };
    let is_unix_listener = rustix::fs::fstat(&fd)
        .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket)
        .unwrap_or(false)
        && matches!(
            rustix::net::getsockname(fd.as_fd()),
            Ok(addr) if addr.address_family() == rustix::net::AddressFamily::UNIX
        );
    if !is_unix_listener {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the descriptor passed by socket activation is not a unix socket",
        ));
    }
    let listener = UnixListener::from(fd);
    rustix::io::fcntl_setfd(&listener, rustix::io::FdFlags::CLOEXEC)?;
    Ok(listener)
}
