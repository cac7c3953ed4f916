//! Rootless Berth: a user without root works inside a user namespace (mapping the
//! user to root and its /etc/subuid and /etc/subgid ranges after it) and a mount
//! namespace, both kept alive by a small pause process, as Podman does. Every `berth`
//! the user runs joins them first, so all see the same mounts and own the same files.

pub mod pause;
pub mod subid;

/// The host user this process stands for when it runs inside a Berth user namespace
/// (its uid_map starts `0 UID 1`); `None` on the host.
pub fn host_uid() -> Option<u32> {
    let map = std::fs::read_to_string("/proc/self/uid_map").ok()?;
    let mut f = map.split_whitespace();
    let (inside, outside, count) = (f.next()?, f.next()?, f.next()?);
    if inside != "0" || count == "4294967295" {
        return None;
    }
    outside.parse().ok()
}

/// Whether Berth runs rootless: as a user, or as that user's root in its namespace.
pub fn active() -> bool {
    !rustix::process::geteuid().is_root() || host_uid().is_some()
}
