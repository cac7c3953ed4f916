//! The spec's `mounts`, as Podman 4.3 writes them: the system mounts (/proc, /dev,
//! /dev/pts, /dev/mqueue, /sys, /sys/fs/cgroup, /dev/shm), tmpfs on /tmp, /var/tmp
//! and /run for `--read-only`, the /etc files, the init binary, then user mounts with
//! options completed by Podman's `ProcessOptions`. A user mount supersedes a default
//! one at the same place (and everything under /dev when it mounts /dev); the list is
//! ordered parents first.

use super::{path_str, MountType, SpecError, SpecInput, INIT_PATH};
use serde_json::{json, Value};

/// `/dev/shm`'s size without `--shm-size` (64 MiB).
pub const DEFAULT_SHM_SIZE: u64 = 64 << 20;

/// Mount options handled before the spec (relabel, chown, volume copy-up).
const BERTH_OPTIONS: &[&str] = &["z", "Z", "U", "nocopy", "copy"];
const PROPAGATIONS: &[&str] = &[
    "private",
    "rprivate",
    "slave",
    "rslave",
    "shared",
    "rshared",
    "unbindable",
    "runbindable",
];
const ATIME_OPTIONS: &[&str] = &[
    "atime",
    "noatime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "diratime",
    "nodiratime",
    "sync",
    "dirsync",
];

struct Mount {
    destination: String,
    kind: &'static str,
    source: String,
    options: Vec<String>,
}

impl Mount {
    fn new(destination: &str, kind: &'static str, source: &str, options: &[&str]) -> Mount {
        Mount {
            destination: destination.to_string(),
            kind,
            source: source.to_string(),
            options: options.iter().map(|o| o.to_string()).collect(),
        }
    }
}

/// `/a//b/` → `/a/b`; `None` for a relative path or one with `..`.
fn clean(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

fn depth(path: &str) -> usize {
    path.split('/').filter(|c| !c.is_empty()).count()
}

/// A size in bytes as a tmpfs option: `65536k` when whole KiB, else bytes.
fn size_option(bytes: u64) -> String {
    if bytes.is_multiple_of(1024) {
        format!("size={}k", bytes / 1024)
    } else {
        format!("size={bytes}")
    }
}

/// `sys_bind`: /sys is the host's, bound (as Podman does when the container has a user
/// namespace of its own but not the network namespace, where sysfs cannot be mounted).
fn system_mounts(privileged: bool, shm_size: u64, sys_bind: bool) -> Vec<Mount> {
    let sys = if sys_bind {
        let rw = if privileged { "rw" } else { "ro" };
        Mount::new(
            "/sys",
            "bind",
            "/sys",
            &["rprivate", "nosuid", "noexec", "nodev", rw, "rbind"],
        )
    } else if privileged {
        Mount::new(
            "/sys",
            "sysfs",
            "sysfs",
            &["rprivate", "nosuid", "noexec", "nodev", "rw"],
        )
    } else {
        Mount::new(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )
    };
    let cgroup_rw = if privileged { "rw" } else { "ro" };
    let shm_size = size_option(shm_size);
    vec![
        Mount::new("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        Mount::new(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"],
        ),
        Mount::new(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        Mount::new(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        sys,
        Mount::new(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &[
                "rprivate", "nosuid", "noexec", "nodev", "relatime", cgroup_rw,
            ],
        ),
        Mount::new(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        ),
    ]
}

/// Podman's `ProcessOptions`: options checked for conflicts, then `rw`, `rprivate`
/// and `rbind` (bind) or `nosuid`, `nodev`, `tmpcopyup` (tmpfs) added when missing.
fn complete_options(
    kind: MountType,
    given: &[String],
    destination: &str,
) -> Result<Vec<String>, SpecError> {
    let tmpfs = kind == MountType::Tmpfs;
    let bad = |reason: String| SpecError::Mount {
        destination: destination.to_string(),
        reason,
    };
    let mut seen: Vec<&'static str> = Vec::new();
    let mut once = |group: &'static str, opt: &str| {
        if seen.contains(&group) {
            return Err(bad(format!(
                "option {opt:?} conflicts with an earlier {group} option"
            )));
        }
        seen.push(group);
        Ok(())
    };
    let mut out = Vec::new();
    for opt in given {
        let name = opt.split_once('=').map_or(opt.as_str(), |(k, _)| k);
        match name {
            n if BERTH_OPTIONS.contains(&n) => continue,
            "rw" | "ro" => once("rw/ro", opt)?,
            "exec" | "noexec" => once("exec", opt)?,
            "suid" | "nosuid" => once("suid", opt)?,
            "dev" | "nodev" => once("dev", opt)?,
            n if PROPAGATIONS.contains(&n) => once("propagation", opt)?,
            n if ATIME_OPTIONS.contains(&n) => {}
            "bind" | "rbind" if !tmpfs => once("bind", opt)?,
            "size" | "mode" | "nr_inodes" | "uid" | "gid" if tmpfs => once(name_group(name), opt)?,
            "tmpcopyup" if tmpfs => once("tmpcopyup", opt)?,
            "notmpcopyup" if tmpfs => {
                once("tmpcopyup", opt)?;
                continue;
            }
            _ => {
                let kind = if tmpfs { "tmpfs" } else { "bind" };
                return Err(bad(format!(
                    "option {opt:?} is not valid for a {kind} mount"
                )));
            }
        }
        out.push(opt.clone());
    }
    let has = |group: &str| seen.contains(&group);
    let mut add = |missing: bool, opt: &str| {
        if missing {
            out.push(opt.to_string());
        }
    };
    add(!has("rw/ro"), "rw");
    add(!has("propagation"), "rprivate");
    if tmpfs {
        add(!has("suid"), "nosuid");
        add(!has("dev"), "nodev");
        add(!has("tmpcopyup"), "tmpcopyup");
    } else {
        add(!has("bind"), "rbind");
    }
    Ok(out)
}

fn name_group(name: &str) -> &'static str {
    match name {
        "size" => "size",
        "mode" => "mode",
        "nr_inodes" => "nr_inodes",
        "uid" => "uid",
        _ => "gid",
    }
}

pub(super) fn mounts(input: &SpecInput) -> Result<Vec<Value>, SpecError> {
    let req = input.req;

    let mut user: Vec<Mount> = Vec::new();
    for m in &input.mounts {
        let dest = clean(&m.destination).ok_or_else(|| SpecError::Mount {
            destination: m.destination.clone(),
            reason: "the destination must be an absolute path without '..'".into(),
        })?;
        if user.iter().any(|u| u.destination == dest) {
            return Err(SpecError::Mount {
                destination: dest,
                reason: "duplicate mount destination".into(),
            });
        }
        let options = complete_options(m.kind, &m.options, &dest)?;
        let (kind, source) = match m.kind {
            MountType::Bind => ("bind", path_str(&m.source)?.to_string()),
            MountType::Tmpfs => ("tmpfs", "tmpfs".to_string()),
        };
        user.push(Mount {
            destination: dest,
            kind,
            source,
            options,
        });
    }
    if req.init {
        let init = input
            .init_binary
            .as_deref()
            .ok_or(SpecError::InitBinaryMissing)?;
        if user.iter().any(|u| u.destination == INIT_PATH) {
            return Err(SpecError::Mount {
                destination: INIT_PATH.into(),
                reason: "conflicts with the mount added by --init".into(),
            });
        }
        user.push(Mount::new(
            INIT_PATH,
            "bind",
            path_str(init)?,
            &["bind", "ro", "rprivate"],
        ));
    }

    let shm = req.shm_size.filter(|s| *s > 0).unwrap_or(DEFAULT_SHM_SIZE);
    let foreign_netns =
        (input.netns.is_some() && !input.userns_owns_netns) || req.network == "host";
    let sys_bind = input.id_mappings.is_some() && foreign_netns;
    let mut base = system_mounts(req.privileged, shm, sys_bind);
    if req.read_only && req.read_only_tmpfs {
        for dest in ["/tmp", "/var/tmp", "/run"] {
            base.push(Mount::new(
                dest,
                "tmpfs",
                "tmpfs",
                &["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"],
            ));
        }
    }
    for (host, dest) in &input.etc_files {
        let mut options = vec!["bind", "rprivate"];
        if req.read_only {
            options.extend(["ro", "nosuid", "noexec", "nodev"]);
        }
        base.push(Mount::new(dest, "bind", path_str(host)?, &options));
    }

    let user_dev = user.iter().any(|u| u.destination == "/dev");
    let mut all: Vec<Mount> = base
        .into_iter()
        .filter(|b| {
            let dest = clean(&b.destination).unwrap_or_default();
            let superseded = user.iter().any(|u| u.destination == dest);
            let under_user_dev = user_dev && dest.starts_with("/dev/");
            !(superseded || under_user_dev)
        })
        .collect();
    all.extend(user);
    all.sort_by_key(|m| depth(&m.destination));
    Ok(all
        .into_iter()
        .map(|m| json!({"destination": m.destination, "type": m.kind, "source": m.source, "options": m.options}))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::ResolvedMount;
    use super::*;
    use berth_types::container::ContainerCreateRequest;
    use std::path::PathBuf;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn spec_mounts(req: &ContainerCreateRequest, user: Vec<ResolvedMount>) -> Vec<Value> {
        let img = image(None, Some(&["/bin/sh"]));
        let mut inp = input(req, &img);
        inp.mounts = user;
        inp.init_binary = Some(PathBuf::from("/usr/bin/catatonit"));
        mounts(&inp).expect("mounts")
    }

    fn find<'a>(mounts: &'a [Value], dest: &str) -> Option<&'a Value> {
        mounts.iter().find(|m| m["destination"] == dest)
    }

    fn bind(src: &str, dest: &str, opts: &[&str]) -> ResolvedMount {
        ResolvedMount {
            source: src.into(),
            destination: dest.into(),
            kind: MountType::Bind,
            options: strs(opts),
        }
    }

    fn tmpfs(dest: &str, opts: &[&str]) -> ResolvedMount {
        ResolvedMount {
            source: "tmpfs".into(),
            destination: dest.into(),
            kind: MountType::Tmpfs,
            options: strs(opts),
        }
    }

    #[test]
    fn default_mounts_are_podmans_in_parent_first_order() {
        let m = spec_mounts(&ContainerCreateRequest::default(), vec![]);
        let dests: Vec<&str> = m.iter().filter_map(|m| m["destination"].as_str()).collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/sys",
                "/dev/pts",
                "/dev/mqueue",
                "/dev/shm",
                "/etc/hosts",
                "/sys/fs/cgroup"
            ]
        );
        assert_eq!(
            m[0],
            json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]})
        );
        assert_eq!(
            find(&m, "/dev").map(|v| &v["options"]),
            Some(&json!([
                "nosuid",
                "noexec",
                "strictatime",
                "mode=755",
                "size=65536k"
            ]))
        );
        assert_eq!(
            find(&m, "/dev/pts").map(|v| &v["options"]),
            Some(&json!([
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5"
            ]))
        );
        assert_eq!(
            find(&m, "/sys"),
            Some(
                &json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                          "options": ["nosuid", "noexec", "nodev", "ro"]})
            )
        );
        assert_eq!(
            find(&m, "/sys/fs/cgroup").map(|v| &v["options"]),
            Some(&json!([
                "rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"
            ]))
        );
        assert_eq!(
            find(&m, "/dev/shm"),
            Some(
                &json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                          "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]})
            )
        );
        assert_eq!(
            find(&m, "/etc/hosts"),
            Some(
                &json!({"destination": "/etc/hosts", "type": "bind", "source": "/run/berth/c/hosts",
                          "options": ["bind", "rprivate"]})
            )
        );
    }

    #[test]
    fn shm_size_sets_the_dev_shm_tmpfs_size() {
        let req = ContainerCreateRequest {
            shm_size: Some(128 << 20),
            ..Default::default()
        };
        let m = spec_mounts(&req, vec![]);
        assert_eq!(
            find(&m, "/dev/shm").map(|v| &v["options"][4]),
            Some(&json!("size=131072k"))
        );
        let req = ContainerCreateRequest {
            shm_size: Some(1000),
            ..Default::default()
        };
        let m = spec_mounts(&req, vec![]);
        assert_eq!(
            find(&m, "/dev/shm").map(|v| &v["options"][4]),
            Some(&json!("size=1000"))
        );
    }

    #[test]
    fn privileged_mounts_sys_and_cgroup_read_write() {
        let req = ContainerCreateRequest {
            privileged: true,
            ..Default::default()
        };
        let m = spec_mounts(&req, vec![]);
        assert_eq!(
            find(&m, "/sys").map(|v| &v["options"]),
            Some(&json!(["rprivate", "nosuid", "noexec", "nodev", "rw"]))
        );
        assert_eq!(
            find(&m, "/sys/fs/cgroup").map(|v| &v["options"][5]),
            Some(&json!("rw"))
        );
    }

    #[test]
    fn read_only_adds_tmpfs_and_makes_etc_files_read_only() {
        let req = ContainerCreateRequest {
            read_only: true,
            read_only_tmpfs: true,
            ..Default::default()
        };
        let m = spec_mounts(&req, vec![]);
        for dest in ["/tmp", "/var/tmp", "/run"] {
            assert_eq!(
                find(&m, dest),
                Some(
                    &json!({"destination": dest, "type": "tmpfs", "source": "tmpfs",
                              "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]})
                ),
                "{dest}"
            );
        }
        assert_eq!(
            find(&m, "/etc/hosts").map(|v| &v["options"]),
            Some(&json!([
                "bind", "rprivate", "ro", "nosuid", "noexec", "nodev"
            ]))
        );
        let req = ContainerCreateRequest {
            read_only: true,
            read_only_tmpfs: false,
            ..Default::default()
        };
        assert!(find(&spec_mounts(&req, vec![]), "/tmp").is_none());
    }

    #[test]
    fn bind_mounts_get_rw_rprivate_rbind_defaults() {
        let m = spec_mounts(
            &ContainerCreateRequest::default(),
            vec![
                bind("/srv/a", "/vol", &["ro", "z"]),
                bind("/srv/b", "/vol2/", &[]),
                bind("/srv/c", "/c", &["rshared", "bind", "nosuid"]),
            ],
        );
        assert_eq!(
            find(&m, "/vol"),
            Some(
                &json!({"destination": "/vol", "type": "bind", "source": "/srv/a", "options": ["ro", "rprivate", "rbind"]})
            )
        );
        assert_eq!(
            find(&m, "/vol2").map(|v| &v["options"]),
            Some(&json!(["rw", "rprivate", "rbind"]))
        );
        assert_eq!(
            find(&m, "/c").map(|v| &v["options"]),
            Some(&json!(["rshared", "bind", "nosuid", "rw"]))
        );
    }

    #[test]
    fn tmpfs_mounts_get_podmans_tmpfs_defaults() {
        let m = spec_mounts(
            &ContainerCreateRequest::default(),
            vec![
                tmpfs("/data", &[]),
                tmpfs("/data2", &["size=1m", "mode=700"]),
            ],
        );
        assert_eq!(
            find(&m, "/data"),
            Some(
                &json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                          "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]})
            )
        );
        assert_eq!(
            find(&m, "/data2").map(|v| &v["options"]),
            Some(&json!([
                "size=1m",
                "mode=700",
                "rw",
                "rprivate",
                "nosuid",
                "nodev",
                "tmpcopyup"
            ]))
        );
    }

    #[test]
    fn user_mounts_supersede_defaults_at_the_same_destination() {
        let req = ContainerCreateRequest {
            read_only: true,
            read_only_tmpfs: true,
            ..Default::default()
        };
        let m = spec_mounts(
            &req,
            vec![
                bind("/my/hosts", "/etc/hosts", &[]),
                tmpfs("/tmp/", &["size=1m"]),
            ],
        );
        let hosts: Vec<&Value> = m
            .iter()
            .filter(|m| m["destination"] == "/etc/hosts")
            .collect();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0]["source"], "/my/hosts");
        assert_eq!(
            find(&m, "/tmp").map(|v| &v["options"][0]),
            Some(&json!("size=1m"))
        );
    }

    #[test]
    fn user_mount_on_dev_drops_the_default_dev_submounts() {
        let m = spec_mounts(
            &ContainerCreateRequest::default(),
            vec![bind("/dev", "/dev", &[])],
        );
        let dests: Vec<&str> = m.iter().filter_map(|m| m["destination"].as_str()).collect();
        assert!(!dests.iter().any(|d| d.starts_with("/dev/")), "{dests:?}");
        assert_eq!(find(&m, "/dev").map(|v| &v["type"]), Some(&json!("bind")));
    }

    #[test]
    fn nested_user_mounts_come_after_their_parents() {
        let m = spec_mounts(
            &ContainerCreateRequest::default(),
            vec![bind("/a", "/x/y/z", &[]), bind("/b", "/x", &[])],
        );
        let x = m.iter().position(|v| v["destination"] == "/x");
        let xyz = m.iter().position(|v| v["destination"] == "/x/y/z");
        assert!(x < xyz, "{m:?}");
    }

    #[test]
    fn init_binary_is_bind_mounted_read_only() {
        let req = ContainerCreateRequest {
            init: true,
            ..Default::default()
        };
        let m = spec_mounts(&req, vec![]);
        assert_eq!(
            find(&m, "/run/berth-init"),
            Some(
                &json!({"destination": "/run/berth-init", "type": "bind", "source": "/usr/bin/catatonit",
                          "options": ["bind", "ro", "rprivate"]})
            )
        );
        let img = image(None, Some(&["/bin/sh"]));
        let inp = input(&req, &img);
        assert!(matches!(mounts(&inp), Err(SpecError::InitBinaryMissing)));
    }

    #[test]
    fn bad_user_mounts_are_errors_naming_the_destination() {
        let img = image(None, Some(&["/bin/sh"]));
        let req = ContainerCreateRequest::default();
        for (list, needle) in [
            (vec![bind("/a", "rel", &[])], "rel"),
            (vec![bind("/a", "/x/../etc", &[])], "/x/../etc"),
            (
                vec![bind("/a", "/x", &[]), bind("/b", "/x/", &[])],
                "duplicate",
            ),
            (vec![bind("/a", "/x", &["ro", "rw"])], "conflicts"),
            (
                vec![bind("/a", "/x", &["size=1m"])],
                "not valid for a bind mount",
            ),
            (vec![tmpfs("/x", &["rbind"])], "not valid for a tmpfs mount"),
            (vec![bind("/a", "/x", &["frobnicate"])], "frobnicate"),
        ] {
            let mut inp = input(&req, &img);
            inp.mounts = list;
            let err = mounts(&inp).expect_err(needle);
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
