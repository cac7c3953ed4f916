//! A container's user namespace: the ID mappings that `--userns` (`host`, `keep-id`,
//! `nomap`, `auto`) and `--uidmap`/`--gidmap` ask for, planned from the caller's own
//! IDs as Podman 4.3 plans them. Pure; host IDs are the caller's (for a rootless user,
//! the IDs of its own user namespace, where it is 0 and its subordinate IDs follow).

use std::fmt;

/// `size` IDs from `container` inside mapped to `size` from `host` outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// The uid and gid mappings of a container's user namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMappings {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

fn map_one(ranges: &[IdRange], id: u32) -> Option<u32> {
    ranges
        .iter()
        .find(|r| id >= r.container && id - r.container < r.size)
        .map(|r| r.host + (id - r.container))
}

impl IdMappings {
    /// The host uid of container uid `id`, if mapped.
    pub fn host_uid(&self, id: u32) -> Option<u32> {
        map_one(&self.uids, id)
    }
    pub fn host_gid(&self, id: u32) -> Option<u32> {
        map_one(&self.gids, id)
    }
    /// The spec's `uidMappings`/`gidMappings` entries.
    pub fn spec_entries(ranges: &[IdRange]) -> serde_json::Value {
        ranges
            .iter()
            .map(|r| serde_json::json!({"containerID": r.container, "hostID": r.host, "size": r.size}))
            .collect()
    }
}

impl fmt::Display for IdMappings {
    /// `u0:100:10,g0:100:10`: a stable text naming the mapping (for cache keys).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (tag, ranges) in [('u', &self.uids), ('g', &self.gids)] {
            for r in ranges {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                write!(f, "{tag}{}:{}:{}", r.container, r.host, r.size)?;
            }
        }
        Ok(())
    }
}

/// The caller's IDs: how many it can map and, when rootless, who it is on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// Rootless: the user's host uid and gid (0 inside its namespace).
    pub user: Option<(u32, u32)>,
    /// How many uids and gids the caller can map (from 0).
    pub uid_count: u32,
    pub gid_count: u32,
}

impl Caller {
    /// This process: root on the host, or a rootless user in its namespace.
    pub fn detect() -> Caller {
        let count = |file: &str| -> u32 {
            std::fs::read_to_string(file)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
                .sum::<u64>()
                .min(u32::MAX as u64) as u32
        };
        let gid = std::fs::read_to_string("/proc/self/gid_map")
            .ok()
            .and_then(|m| m.split_whitespace().nth(1)?.parse().ok());
        let user = crate::rootless::host_uid().zip(gid);
        Caller {
            user,
            uid_count: count("/proc/self/uid_map"),
            gid_count: count("/proc/self/gid_map"),
        }
    }
}

/// What `--userns` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsernsMode {
    /// The caller's own namespace (the default).
    Host,
    /// The rootless user keeps its uid and gid inside (`uid=`/`gid=` move them).
    KeepId { uid: Option<u32>, gid: Option<u32> },
    /// The rootless user is not mapped at all.
    NoMap,
    /// A private range of `size` IDs (default 1024) no other such container holds.
    Auto { size: Option<u32> },
}

/// Parses a `--userns` value (Podman's syntax).
pub fn parse_mode(s: &str) -> Result<UsernsMode, String> {
    let (name, opts) = s.split_once(':').unwrap_or((s, ""));
    let number = |k: &str, v: &str| -> Result<u32, String> {
        v.parse()
            .map_err(|_| format!("invalid --userns option {k}={v:?}: not a number"))
    };
    let options = || opts.split(',').filter(|o| !o.is_empty());
    match name {
        "" | "host" if opts.is_empty() => Ok(UsernsMode::Host),
        "keep-id" => {
            let (mut uid, mut gid) = (None, None);
            for o in options() {
                match o.split_once('=') {
                    Some(("uid", v)) => uid = Some(number("uid", v)?),
                    Some(("gid", v)) => gid = Some(number("gid", v)?),
                    _ => {
                        return Err(format!(
                            "invalid --userns keep-id option {o:?}: use uid=N or gid=N"
                        ))
                    }
                }
            }
            Ok(UsernsMode::KeepId { uid, gid })
        }
        "nomap" if opts.is_empty() => Ok(UsernsMode::NoMap),
        "auto" => {
            let mut size = None;
            for o in options() {
                match o.split_once('=') {
                    Some(("size", v)) => size = Some(number("size", v)?).filter(|n| *n > 0),
                    _ => return Err(format!("invalid --userns auto option {o:?}: use size=N")),
                }
            }
            Ok(UsernsMode::Auto { size })
        }
        _ => Err(format!(
            "invalid --userns {s:?}: use host, keep-id[:uid=N,gid=N], nomap or auto[:size=N]"
        )),
    }
}

/// Parses one `--uidmap`/`--gidmap` value: `CONTAINER:HOST:SIZE`.
pub fn parse_range(flag: &str, s: &str) -> Result<IdRange, String> {
    let f: Vec<&str> = s.split(':').collect();
    let n = |v: &str| v.trim().parse::<u32>().ok();
    match f.as_slice() {
        [c, h, z] => match (n(c), n(h), n(z)) {
            (Some(container), Some(host), Some(size)) if size > 0 => Ok(IdRange {
                container,
                host,
                size,
            }),
            _ => Err(format!(
                "invalid {flag} {s:?}: want CONTAINER_ID:HOST_ID:SIZE, numbers, SIZE above 0"
            )),
        },
        _ => Err(format!(
            "invalid {flag} {s:?}: want CONTAINER_ID:HOST_ID:SIZE"
        )),
    }
}

/// `keep-id` over the caller's `count` IDs, where host 0 is the user and 1.. its
/// subordinate IDs: container `inside` is the user, the container IDs below it are
/// host 1..=inside, and those above map to themselves.
fn keep(count: u32, inside: u32) -> Vec<IdRange> {
    let mut out = Vec::new();
    if inside > 0 {
        out.push(IdRange {
            container: 0,
            host: 1,
            size: inside.min(count - 1),
        });
    }
    out.push(IdRange {
        container: inside,
        host: 0,
        size: 1,
    });
    if inside + 1 < count {
        out.push(IdRange {
            container: inside + 1,
            host: inside + 1,
            size: count - inside - 1,
        });
    }
    out
}

/// The mappings for `mode` and explicit ranges; `None`: no user namespace of its own.
/// `taken`: ranges other `auto` containers hold (host side), which `auto` avoids.
pub fn plan(
    mode: &UsernsMode,
    uidmap: &[IdRange],
    gidmap: &[IdRange],
    caller: &Caller,
    taken: &[IdRange],
) -> Result<Option<IdMappings>, String> {
    if !uidmap.is_empty() || !gidmap.is_empty() {
        // `auto` ranges are chosen once, at create, and kept as explicit maps.
        if !matches!(mode, UsernsMode::Host | UsernsMode::Auto { .. }) {
            return Err("--userns and --uidmap/--gidmap cannot be combined".into());
        }
        let uids = if uidmap.is_empty() { gidmap } else { uidmap }.to_vec();
        let gids = if gidmap.is_empty() { uidmap } else { gidmap }.to_vec();
        check(&uids, caller.uid_count, "--uidmap")?;
        check(&gids, caller.gid_count, "--gidmap")?;
        return Ok(Some(IdMappings { uids, gids }));
    }
    match mode {
        UsernsMode::Host => Ok(None),
        UsernsMode::KeepId { uid, gid } => {
            let Some((host_uid, host_gid)) = caller.user else {
                return Err("--userns=keep-id is only supported in rootless mode".into());
            };
            let inside_uid = uid.unwrap_or(host_uid);
            let inside_gid = gid.unwrap_or(host_gid);
            if inside_uid >= caller.uid_count || inside_gid >= caller.gid_count {
                return Err(format!(
                    "--userns=keep-id: uid {inside_uid} or gid {inside_gid} is beyond the {} IDs this user can map",
                    caller.uid_count.min(caller.gid_count)
                ));
            }
            Ok(Some(IdMappings {
                uids: keep(caller.uid_count, inside_uid),
                gids: keep(caller.gid_count, inside_gid),
            }))
        }
        UsernsMode::NoMap => {
            if caller.user.is_none() {
                return Err("--userns=nomap is only supported in rootless mode".into());
            }
            let range = |count: u32| {
                vec![IdRange {
                    container: 0,
                    host: 1,
                    size: count.saturating_sub(1),
                }]
            };
            Ok(Some(IdMappings {
                uids: range(caller.uid_count),
                gids: range(caller.gid_count),
            }))
        }
        UsernsMode::Auto { size } => {
            let size = size.unwrap_or(1024);
            let limit = caller.uid_count.min(caller.gid_count);
            // Rootless: the user itself (host 0) stays out. Root: the host's own IDs
            // (below 65536) stay out, as Podman takes /etc/subuid's `containers` range.
            let mut start: u32 = if caller.user.is_some() { 1 } else { 65536 };
            let mut sorted = taken.to_vec();
            sorted.sort_by_key(|r| r.host);
            for r in &sorted {
                if r.host >= start.saturating_add(size) {
                    break;
                }
                start = start.max(r.host.saturating_add(r.size));
            }
            if start.checked_add(size).is_none_or(|end| end > limit) {
                return Err(format!(
                    "--userns=auto: no free range of {size} IDs left (other containers hold the rest)"
                ));
            }
            let range = vec![IdRange {
                container: 0,
                host: start,
                size,
            }];
            Ok(Some(IdMappings {
                uids: range.clone(),
                gids: range,
            }))
        }
    }
}

/// The mappings a create request asks for on this host (`None`: none of its own).
pub fn for_request(
    req: &berth_types::container::ContainerCreateRequest,
) -> Result<Option<IdMappings>, String> {
    let mode = parse_mode(&req.userns)?;
    let parse = |flag: &str, list: &[String]| -> Result<Vec<IdRange>, String> {
        list.iter().map(|s| parse_range(flag, s)).collect()
    };
    plan(
        &mode,
        &parse("--uidmap", &req.uidmap)?,
        &parse("--gidmap", &req.gidmap)?,
        &Caller::detect(),
        &[],
    )
}

/// `--userns=auto` at create: picks the range (avoiding those of the `others`
/// containers) and records it in the request as `--uidmap`/`--gidmap`, so the
/// container keeps it. Other modes are left as they are. The caller holds a lock that
/// keeps two creates from picking at once.
pub fn assign_auto<'a>(
    req: &mut berth_types::container::ContainerCreateRequest,
    others: impl Iterator<Item = &'a berth_types::container::ContainerCreateRequest>,
) -> Result<(), String> {
    let mode = parse_mode(&req.userns)?;
    if !matches!(mode, UsernsMode::Auto { .. }) || !req.uidmap.is_empty() {
        return Ok(());
    }
    let taken: Vec<IdRange> = others
        .filter(|o| o.userns.starts_with("auto"))
        .flat_map(|o| {
            o.uidmap
                .iter()
                .filter_map(|m| parse_range("--uidmap", m).ok())
        })
        .collect();
    if let Some(m) = plan(&mode, &[], &[], &Caller::detect(), &taken)? {
        let text = |r: &[IdRange]| -> Vec<String> {
            r.iter()
                .map(|r| format!("{}:{}:{}", r.container, r.host, r.size))
                .collect()
        };
        req.uidmap = text(&m.uids);
        req.gidmap = text(&m.gids);
    }
    Ok(())
}

/// Ranges must fit what the caller can map and overlap nowhere.
fn check(ranges: &[IdRange], count: u32, flag: &str) -> Result<(), String> {
    for (i, r) in ranges.iter().enumerate() {
        let end = r.host as u64 + r.size as u64;
        if end > count as u64 {
            return Err(format!(
                "{flag} {}:{}:{}: host IDs up to {} are beyond the {count} this user can map",
                r.container,
                r.host,
                r.size,
                end - 1
            ));
        }
        for o in &ranges[..i] {
            let overlap = |a: u32, b: u32| {
                (a as u64) < b as u64 + o.size as u64 && (b as u64) < a as u64 + r.size as u64
            };
            if overlap(r.container, o.container) || overlap(r.host, o.host) {
                return Err(format!(
                    "{flag} {}:{}:{} overlaps {}:{}:{}",
                    r.container, r.host, r.size, o.container, o.host, o.size
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootless(uid: u32) -> Caller {
        Caller {
            user: Some((uid, uid)),
            uid_count: 65537,
            gid_count: 65537,
        }
    }
    const ROOT: Caller = Caller {
        user: None,
        uid_count: u32::MAX,
        gid_count: u32::MAX,
    };
    fn r(container: u32, host: u32, size: u32) -> IdRange {
        IdRange {
            container,
            host,
            size,
        }
    }

    #[test]
    fn modes_parse_as_podman_writes_them() {
        assert_eq!(parse_mode("host"), Ok(UsernsMode::Host));
        assert_eq!(parse_mode(""), Ok(UsernsMode::Host));
        assert_eq!(
            parse_mode("keep-id"),
            Ok(UsernsMode::KeepId {
                uid: None,
                gid: None
            })
        );
        assert_eq!(
            parse_mode("keep-id:uid=200,gid=210"),
            Ok(UsernsMode::KeepId {
                uid: Some(200),
                gid: Some(210)
            })
        );
        assert_eq!(parse_mode("nomap"), Ok(UsernsMode::NoMap));
        assert_eq!(
            parse_mode("auto:size=500"),
            Ok(UsernsMode::Auto { size: Some(500) })
        );
        for bad in [
            "private",
            "keep-id:uid=x",
            "keep-id:foo",
            "auto:size",
            "nomap:x",
        ] {
            assert!(parse_mode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_parse_and_refuse_garbage() {
        assert_eq!(
            parse_range("--uidmap", "0:100000:65536"),
            Ok(r(0, 100000, 65536))
        );
        for bad in ["0:1", "a:1:2", "0:1:0", "0:1:2:3", "-1:0:1"] {
            assert!(parse_range("--uidmap", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keep_id_puts_the_user_at_its_own_uid_and_shifts_the_ids_below() {
        let m = plan(
            &UsernsMode::KeepId {
                uid: None,
                gid: None,
            },
            &[],
            &[],
            &rootless(1000),
            &[],
        )
        .expect("plans")
        .expect("a mapping");
        assert_eq!(
            m.uids,
            vec![r(0, 1, 1000), r(1000, 0, 1), r(1001, 1001, 64536)]
        );
        assert_eq!(m.host_uid(0), Some(1));
        assert_eq!(m.host_uid(1000), Some(0));
        assert_eq!(m.host_uid(1001), Some(1001));
        assert_eq!(m.host_uid(65536), Some(65536));
        assert_eq!(m.host_uid(65537), None);
        let total: u32 = m.uids.iter().map(|r| r.size).sum();
        assert_eq!(total, 65537, "every ID of the user's namespace, once");
    }

    #[test]
    fn keep_id_is_for_rootless_only_and_nomap_leaves_the_user_out() {
        let keep = UsernsMode::KeepId {
            uid: None,
            gid: None,
        };
        let e = plan(&keep, &[], &[], &ROOT, &[]).expect_err("refused");
        assert!(e.contains("only supported in rootless mode"), "{e}");
        let m = plan(&UsernsMode::NoMap, &[], &[], &rootless(1000), &[])
            .expect("plans")
            .expect("a mapping");
        assert_eq!(m.uids, vec![r(0, 1, 65536)]);
        assert_eq!(plan(&UsernsMode::Host, &[], &[], &ROOT, &[]), Ok(None));
    }

    #[test]
    fn uidmap_alone_serves_for_gids_and_is_checked() {
        let m = plan(&UsernsMode::Host, &[r(0, 100000, 65536)], &[], &ROOT, &[])
            .expect("plans")
            .expect("a mapping");
        assert_eq!(m.gids, m.uids);
        assert_eq!(m.to_string(), "u0:100000:65536,g0:100000:65536");
        let e = plan(
            &UsernsMode::Host,
            &[r(0, 1, 70000)],
            &[],
            &rootless(1000),
            &[],
        )
        .expect_err("refused");
        assert!(e.contains("beyond the 65537"), "{e}");
        let e = plan(
            &UsernsMode::Host,
            &[r(0, 10, 10), r(5, 100, 10)],
            &[],
            &ROOT,
            &[],
        )
        .expect_err("refused");
        assert!(e.contains("overlaps"), "{e}");
        let e = plan(&UsernsMode::NoMap, &[r(0, 1, 1)], &[], &rootless(1000), &[])
            .expect_err("refused");
        assert!(e.contains("cannot be combined"), "{e}");
    }

    #[test]
    fn auto_takes_the_lowest_free_range() {
        let auto = UsernsMode::Auto { size: Some(100) };
        let m = plan(&auto, &[], &[], &rootless(1000), &[])
            .expect("plans")
            .expect("a mapping");
        assert_eq!(m.uids, vec![r(0, 1, 100)]);
        let taken = [r(0, 1, 100), r(0, 150, 10)];
        let m = plan(&auto, &[], &[], &rootless(1000), &taken)
            .expect("plans")
            .expect("a mapping");
        assert_eq!(m.uids, vec![r(0, 160, 100)]);
        let taken = [r(0, 1, 50)];
        let m = plan(&auto, &[], &[], &rootless(1000), &taken)
            .expect("plans")
            .expect("a mapping");
        assert_eq!(m.uids, vec![r(0, 51, 100)]);
        let m = plan(&auto, &[], &[], &ROOT, &[])
            .expect("plans")
            .expect("a mapping");
        assert_eq!(m.uids, vec![r(0, 65536, 100)]);
        let big = UsernsMode::Auto { size: Some(70000) };
        assert!(plan(&big, &[], &[], &rootless(1000), &[]).is_err());
    }
}
