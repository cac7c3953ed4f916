//! Where a container's cgroup lives, by cgroup manager, as Podman places them:
//! `cgroupfs` puts it at `berth/berth-ID` in each hierarchy (v1) or in the unified one
//! (v2), made by the runtime itself; `systemd` has the runtime ask systemd for a
//! `berth-ID.scope` unit in `machine.slice` (`--systemd-cgroup`), the default where
//! systemd is PID 1 (with its system bus) and Berth runs as root. Pure but for
//! [`systemd`].

use std::path::Path;

/// The cgroup manager a container was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupManager {
    Cgroupfs,
    Systemd,
}

impl CgroupManager {
    /// The name `--cgroup-manager` and inspect use.
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupManager::Cgroupfs => "cgroupfs",
            CgroupManager::Systemd => "systemd",
        }
    }

    /// A recorded name; anything but `systemd` is cgroupfs (older containers say none).
    pub fn from_recorded(name: &str) -> CgroupManager {
        if name == "systemd" {
            CgroupManager::Systemd
        } else {
            CgroupManager::Cgroupfs
        }
    }

    /// The spec's `linux.cgroupsPath`.
    pub fn spec_path(self, id: &str) -> String {
        match self {
            CgroupManager::Cgroupfs => format!("/berth/berth-{id}"),
            CgroupManager::Systemd => format!("machine.slice:berth:{id}"),
        }
    }

    /// The cgroup's directory under a hierarchy's mount point.
    pub fn relative_dir(self, id: &str) -> String {
        match self {
            CgroupManager::Cgroupfs => format!("berth/berth-{id}"),
            CgroupManager::Systemd => format!("machine.slice/berth-{id}.scope"),
        }
    }

    /// The runtime's global flags for this manager.
    pub fn runtime_flags(self) -> &'static [&'static str] {
        match self {
            CgroupManager::Cgroupfs => &[],
            CgroupManager::Systemd => &["--systemd-cgroup"],
        }
    }
}

/// Whether the host is cgroup v2 only (the unified hierarchy at /sys/fs/cgroup).
pub fn unified() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Whether this process may make cgroups where `cgroupfs` puts them (the unified
/// hierarchy's root): root may, a rootless user only where that tree was delegated.
pub fn delegated() -> bool {
    rustix::fs::access("/sys/fs/cgroup", rustix::fs::Access::WRITE_OK).is_ok()
}

/// The warning for limits a rootless container cannot have on cgroup v1 (Podman's).
pub const ROOTLESS_V1_LIMITS: &str =
    "Resource limits are not supported and ignored on cgroups V1 rootless systems";

/// The warning for limits a rootless container cannot have without a delegated tree.
pub const ROOTLESS_UNDELEGATED_LIMITS: &str =
    "Resource limits are ignored: no cgroup tree is delegated to this rootless user";

/// What systemd offers a cgroup manager here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemdState {
    /// Not the init system.
    Absent,
    /// The init system, but without the system bus the runtimes ask it through.
    NoBus,
    /// The init system, reachable on the system bus.
    Usable,
}

/// The system bus's socket, where crun and runc reach systemd.
const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// Whether systemd is the init system (`/run/systemd/system`, as sd_booted checks) and
/// its system bus is there.
pub fn systemd() -> SystemdState {
    if !Path::new("/run/systemd/system").is_dir() {
        SystemdState::Absent
    } else if std::env::var_os("DBUS_SYSTEM_BUS_ADDRESS").is_some()
        || Path::new(SYSTEM_BUS).exists()
    {
        SystemdState::Usable
    } else {
        SystemdState::NoBus
    }
}

/// The manager for a new container: the one asked for, else systemd where it is usable
/// and Berth is root (a rootless user's cgroups need a systemd user session), else
/// cgroupfs. Asking for systemd where it cannot be used falls back to cgroupfs with a
/// warning, as Podman does. Unknown names are an error.
pub fn choose(
    requested: Option<&str>,
    systemd: SystemdState,
    rootless: bool,
) -> Result<(CgroupManager, Option<String>), String> {
    let usable = systemd == SystemdState::Usable && !rootless;
    match requested {
        None | Some("") => Ok((
            if usable {
                CgroupManager::Systemd
            } else {
                CgroupManager::Cgroupfs
            },
            None,
        )),
        Some("cgroupfs") => Ok((CgroupManager::Cgroupfs, None)),
        Some("systemd") if usable => Ok((CgroupManager::Systemd, None)),
        Some("systemd") => Ok((
            CgroupManager::Cgroupfs,
            Some(match systemd {
                SystemdState::Absent => "systemd is not running as PID 1: the systemd cgroup manager cannot be used; falling back to cgroupfs".into(),
                _ if rootless => "the systemd cgroup manager needs root here (no systemd user session is used): falling back to cgroupfs".into(),
                _ => format!("systemd's system bus ({SYSTEM_BUS}) is missing (install dbus): the systemd cgroup manager cannot be used; falling back to cgroupfs"),
            }),
        )),
        Some(other) => Err(format!(
            "invalid --cgroup-manager {other:?}: use cgroupfs or systemd"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_each_manager() {
        let c = CgroupManager::Cgroupfs;
        assert_eq!(c.spec_path("abc"), "/berth/berth-abc");
        assert_eq!(c.relative_dir("abc"), "berth/berth-abc");
        assert!(c.runtime_flags().is_empty());
        let s = CgroupManager::Systemd;
        assert_eq!(s.spec_path("abc"), "machine.slice:berth:abc");
        assert_eq!(s.relative_dir("abc"), "machine.slice/berth-abc.scope");
        assert_eq!(s.runtime_flags(), ["--systemd-cgroup"]);
        assert_eq!(CgroupManager::from_recorded(""), c);
        assert_eq!(CgroupManager::from_recorded("systemd"), s);
    }

    #[test]
    fn systemd_is_the_default_where_it_is_usable_for_root_only() {
        use CgroupManager::*;
        assert_eq!(
            choose(None, SystemdState::Usable, false),
            Ok((Systemd, None))
        );
        assert_eq!(
            choose(None, SystemdState::Usable, true),
            Ok((Cgroupfs, None))
        );
        assert_eq!(
            choose(None, SystemdState::Absent, false),
            Ok((Cgroupfs, None))
        );
        assert_eq!(
            choose(None, SystemdState::NoBus, false),
            Ok((Cgroupfs, None))
        );
        assert_eq!(
            choose(Some("cgroupfs"), SystemdState::Usable, false),
            Ok((Cgroupfs, None))
        );
        let (m, warning) =
            choose(Some("systemd"), SystemdState::Absent, false).expect("falls back");
        assert_eq!(m, Cgroupfs);
        assert!(warning.expect("a warning").contains("not running as PID 1"));
        let (m, warning) = choose(Some("systemd"), SystemdState::NoBus, false).expect("falls back");
        assert_eq!(m, Cgroupfs);
        assert!(warning.expect("a warning").contains("install dbus"));
        let (_, warning) = choose(Some("systemd"), SystemdState::Usable, true).expect("falls back");
        assert!(warning.expect("a warning").contains("needs root"));
        let err = choose(Some("sysd"), SystemdState::Usable, false).expect_err("unknown");
        assert!(err.contains("invalid --cgroup-manager \"sysd\""), "{err}");
    }
}
