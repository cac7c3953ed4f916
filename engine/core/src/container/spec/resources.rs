//! The spec's kernel-facing parts as Podman 4.3 sets them: namespaces, cgroup
//! resources (memory, swap at twice the memory unless given, CPU quota over a 100 ms
//! period, shares, cpuset, containers.conf's pids limit of 2048, the device
//! allow-list), `--device`s, and sysctls (containers.conf's
//! `net.ipv4.ping_group_range=0 0`, then `--sysctl`, namespaced ones only).

use super::SpecError;
use berth_types::container::ContainerCreateRequest;
use serde_json::{json, Map, Value};

/// containers.conf's `pids_limit`.
pub const DEFAULT_PIDS_LIMIT: i64 = 2048;
/// The CFS period `--cpus` is expressed over (µs).
const CPU_PERIOD: u64 = 100_000;

/// Sysctls a container may set: its own IPC, network and mqueue namespaces'.
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// A character or block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Char,
    Block,
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRequest {
    pub host: String,
    pub container: String,
    /// Some of `rwm`.
    pub permissions: String,
}

/// A `--device` with the host node's facts (see [`stat_device`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDevice {
    /// Where it appears in the container.
    pub path: String,
    pub kind: DeviceKind,
    pub major: u32,
    pub minor: u32,
    /// The host node's `st_mode` (type bits included, as Podman writes it).
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub permissions: String,
}

fn valid_permissions(p: &str) -> bool {
    !p.is_empty()
        && p.chars().all(|c| "rwm".contains(c))
        && p.chars().enumerate().all(|(i, c)| !p[..i].contains(c))
}

/// Parses `--device` as Podman's `ParseDevice`: a second field that is all `rwm` is
/// the permissions, otherwise the container path.
pub fn parse_device(arg: &str) -> Result<DeviceRequest, SpecError> {
    let bad = |reason: &str| SpecError::Device {
        device: arg.to_string(),
        reason: reason.to_string(),
    };
    let parts: Vec<&str> = arg.split(':').collect();
    let (host, mut container, mut permissions) = (parts[0], "", "rwm");
    match parts.len() {
        1 => {}
        2 | 3 => {
            if parts.len() == 3 {
                if !valid_permissions(parts[2]) {
                    return Err(bad("permissions must be some of r, w and m"));
                }
                permissions = parts[2];
            }
            if parts.len() == 2 && valid_permissions(parts[1]) {
                permissions = parts[1];
            } else if parts[1].starts_with('/') {
                container = parts[1];
            } else {
                return Err(bad("the container path must be absolute"));
            }
        }
        _ => return Err(bad("expected HOST[:CONTAINER][:PERMISSIONS]")),
    }
    if !host.starts_with('/') {
        return Err(bad("the host path must be absolute"));
    }
    Ok(DeviceRequest {
        host: host.to_string(),
        container: if container.is_empty() {
            host
        } else {
            container
        }
        .to_string(),
        permissions: permissions.to_string(),
    })
}

/// Stats the host node of `req` (following symlinks, as Podman). Not pure.
pub fn stat_device(req: &DeviceRequest) -> Result<ResolvedDevice, SpecError> {
    use rustix::fs::{major, minor, stat, FileType};
    let st = stat(req.host.as_str()).map_err(|e| SpecError::Device {
        device: req.host.clone(),
        reason: std::io::Error::from(e).to_string(),
    })?;
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::CharacterDevice => DeviceKind::Char,
        FileType::BlockDevice => DeviceKind::Block,
        _ => {
            return Err(SpecError::Device {
                device: req.host.clone(),
                reason: "not a character or block device".into(),
            })
        }
    };
    Ok(ResolvedDevice {
        path: req.container.clone(),
        kind,
        major: major(st.st_rdev),
        minor: minor(st.st_rdev),
        file_mode: st.st_mode,
        uid: st.st_uid,
        gid: st.st_gid,
        permissions: req.permissions.clone(),
    })
}

fn kind_letter(k: DeviceKind) -> &'static str {
    match k {
        DeviceKind::Char => "c",
        DeviceKind::Block => "b",
    }
}

/// `linux.devices`: the nodes the runtime creates.
pub(super) fn devices(devices: &[ResolvedDevice]) -> Result<Vec<Value>, SpecError> {
    devices
        .iter()
        .map(|d| {
            if !d.path.starts_with('/') || !valid_permissions(&d.permissions) {
                return Err(SpecError::Device {
                    device: d.path.clone(),
                    reason: "needs an absolute path and permissions of r, w and m".into(),
                });
            }
            Ok(json!({"path": d.path, "type": kind_letter(d.kind), "major": d.major, "minor": d.minor,
                      "fileMode": d.file_mode, "uid": d.uid, "gid": d.gid}))
        })
        .collect()
}

/// `linux.namespaces`: pid, network (unless `--network host`), ipc, uts, mount, and
/// cgroup (by default where `cgroup_ns`: on cgroup v2). A `host` mode leaves its
/// namespace out.
/// `netns`: the network namespace to join (a bridge network's, `ns:PATH`, another
/// container's); `joined`: the other namespaces to join, by type.
pub(super) fn namespaces(
    req: &ContainerCreateRequest,
    cgroup_ns: bool,
    netns: Option<&std::path::Path>,
    joined: &[(&'static str, std::path::PathBuf)],
) -> Value {
    let entry = |kind: &str, mode: &str| -> Option<Value> {
        if mode == "host" {
            return None;
        }
        Some(match joined.iter().find(|(k, _)| *k == kind) {
            Some((_, path)) => json!({"type": kind, "path": path}),
            None => json!({"type": kind}),
        })
    };
    let mut ns: Vec<Value> = entry("pid", &req.pid).into_iter().collect();
    match netns {
        Some(p) => ns.push(json!({"type": "network", "path": p})),
        None if req.network != "host" => ns.push(json!({"type": "network"})),
        None => {}
    }
    ns.extend(entry("ipc", &req.ipc));
    ns.extend(entry("uts", &req.uts));
    ns.push(json!({"type": "mount"}));
    let own_cgroup = match req.cgroupns.as_str() {
        "" => cgroup_ns,
        mode => mode != "host",
    };
    if own_cgroup {
        ns.extend(entry("cgroup", &req.cgroupns));
    }
    Value::Array(ns)
}

/// `linux.resources`.
pub(super) fn resources(
    req: &ContainerCreateRequest,
    devices: &[ResolvedDevice],
) -> Result<Value, SpecError> {
    let r = &req.resources;
    let mut out = Map::new();
    let mut rules = vec![json!({"allow": req.privileged, "access": "rwm"})];
    for d in devices {
        rules.push(
            json!({"allow": true, "type": kind_letter(d.kind), "major": d.major,
                          "minor": d.minor, "access": d.permissions}),
        );
    }
    out.insert("devices".into(), Value::Array(rules));

    let memory = r.memory.filter(|m| *m > 0);
    let mut mem = Map::new();
    if let Some(m) = memory {
        mem.insert("limit".into(), json!(m));
    }
    match (r.memory_swap, memory) {
        (None | Some(0), Some(m)) => {
            mem.insert("swap".into(), json!(m.saturating_mul(2)));
        }
        (Some(s), None) if s > 0 => {
            return Err(SpecError::Resources(
                "--memory-swap needs --memory as well".into(),
            ))
        }
        (Some(s), Some(m)) if s > 0 && s < m => {
            return Err(SpecError::Resources(format!(
                "--memory-swap ({s}) must be at least --memory ({m})"
            )))
        }
        (Some(s), Some(_)) if s > 0 => {
            mem.insert("swap".into(), json!(s));
        }
        _ => {} // -1: unlimited swap
    }
    if !mem.is_empty() {
        out.insert("memory".into(), Value::Object(mem));
    }

    let mut cpu = Map::new();
    if let Some(shares) = r.cpu_shares {
        cpu.insert("shares".into(), json!(shares));
    }
    if let Some(cpus) = r.cpus {
        if !cpus.is_finite() || cpus < 0.0 {
            return Err(SpecError::Resources(format!(
                "--cpus {cpus} must be a positive number"
            )));
        }
        if cpus > 0.0 {
            let quota = (cpus * CPU_PERIOD as f64).round() as i64;
            cpu.insert("quota".into(), json!(quota));
            cpu.insert("period".into(), json!(CPU_PERIOD));
        }
    }
    if let Some(set) = r.cpuset_cpus.as_deref().filter(|s| !s.is_empty()) {
        cpu.insert("cpus".into(), json!(set));
    }
    if !cpu.is_empty() {
        out.insert("cpu".into(), Value::Object(cpu));
    }

    match r.pids_limit {
        None => {
            out.insert("pids".into(), json!({"limit": DEFAULT_PIDS_LIMIT}));
        }
        Some(n) if n > 0 => {
            out.insert("pids".into(), json!({"limit": n}));
        }
        Some(_) => {} // 0 or -1: unlimited
    }
    Ok(Value::Object(out))
}

fn namespaced(name: &str) -> bool {
    name.starts_with("net.") || name.starts_with("fs.mqueue.") || IPC_SYSCTLS.contains(&name)
}

/// `linux.sysctl`, keys sorted.
/// `netns_not_owned`: the container has a user namespace of its own but joins a network
/// namespace made outside it, whose sysctls it may not write: no default is set then.
pub(super) fn sysctls(
    req: &ContainerCreateRequest,
    netns_not_owned: bool,
) -> Result<Map<String, Value>, SpecError> {
    let host_net = req.network == "host";
    let mut all = std::collections::BTreeMap::new();
    if !host_net && !netns_not_owned {
        all.insert("net.ipv4.ping_group_range".to_string(), "0 0".to_string());
    }
    for (name, value) in &req.sysctls {
        let bad = |reason: &str| SpecError::Sysctl {
            name: name.clone(),
            reason: reason.to_string(),
        };
        if !namespaced(name) {
            return Err(bad(
                "not allowed: only net.*, fs.mqueue.* and IPC kernel.* sysctls are namespaced",
            ));
        }
        if host_net && name.starts_with("net.") {
            return Err(bad("cannot be set with --network host"));
        }
        all.insert(name.clone(), value.clone());
    }
    Ok(all
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use berth_types::container::Resources;

    fn req_with(r: Resources) -> ContainerCreateRequest {
        ContainerCreateRequest {
            resources: r,
            ..Default::default()
        }
    }

    fn null_device() -> ResolvedDevice {
        ResolvedDevice {
            path: "/dev/mynull".into(),
            kind: DeviceKind::Char,
            major: 1,
            minor: 3,
            file_mode: 0o20666,
            uid: 0,
            gid: 0,
            permissions: "r".into(),
        }
    }

    #[test]
    fn default_resources_deny_devices_and_limit_pids_to_2048() {
        assert_eq!(
            resources(&ContainerCreateRequest::default(), &[]).expect("ok"),
            json!({"devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": 2048}})
        );
    }

    #[test]
    fn memory_cpu_and_pids_limits_are_podmans() {
        let r = Resources {
            memory: Some(256 << 20),
            memory_swap: Some(512 << 20),
            cpus: Some(1.5),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0".into()),
            pids_limit: Some(100),
        };
        assert_eq!(
            resources(&req_with(r), &[]).expect("ok"),
            json!({"devices": [{"allow": false, "access": "rwm"}],
                   "memory": {"limit": 268435456, "swap": 536870912},
                   "cpu": {"shares": 512, "quota": 150000, "period": 100000, "cpus": "0"},
                   "pids": {"limit": 100}})
        );
    }

    #[test]
    fn memory_alone_gets_twice_as_much_swap_and_minus_one_is_unlimited() {
        let r = Resources {
            memory: Some(256 << 20),
            ..Default::default()
        };
        assert_eq!(
            resources(&req_with(r), &[]).expect("ok")["memory"],
            json!({"limit": 268435456, "swap": 536870912})
        );
        let r = Resources {
            memory: Some(256 << 20),
            memory_swap: Some(-1),
            ..Default::default()
        };
        assert_eq!(
            resources(&req_with(r), &[]).expect("ok")["memory"],
            json!({"limit": 268435456})
        );
    }

    #[test]
    fn bad_memory_swap_is_an_error() {
        let r = Resources {
            memory_swap: Some(1 << 20),
            ..Default::default()
        };
        assert!(matches!(
            resources(&req_with(r), &[]),
            Err(SpecError::Resources(_))
        ));
        let r = Resources {
            memory: Some(2 << 20),
            memory_swap: Some(1 << 20),
            ..Default::default()
        };
        assert!(matches!(
            resources(&req_with(r), &[]),
            Err(SpecError::Resources(_))
        ));
    }

    #[test]
    fn pids_limit_zero_or_negative_is_unlimited() {
        for n in [0, -1] {
            let r = Resources {
                pids_limit: Some(n),
                ..Default::default()
            };
            assert!(resources(&req_with(r), &[])
                .expect("ok")
                .get("pids")
                .is_none());
        }
    }

    #[test]
    fn devices_are_created_and_allowed_with_their_permissions() {
        let req = ContainerCreateRequest::default();
        assert_eq!(
            resources(&req, &[null_device()]).expect("ok")["devices"],
            json!([{"allow": false, "access": "rwm"},
                   {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "r"}])
        );
        let img = image(None, Some(&["/bin/sh"]));
        let mut inp = input(&req, &img);
        inp.devices = vec![null_device()];
        assert_eq!(
            spec_of(&inp)["linux"]["devices"],
            json!([{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 8630, "uid": 0, "gid": 0}])
        );
    }

    #[test]
    fn device_arguments_parse_like_podman() {
        let d = |host: &str, ctr: &str, p: &str| DeviceRequest {
            host: host.into(),
            container: ctr.into(),
            permissions: p.into(),
        };
        assert_eq!(
            parse_device("/dev/null").expect("ok"),
            d("/dev/null", "/dev/null", "rwm")
        );
        assert_eq!(
            parse_device("/dev/null:r").expect("ok"),
            d("/dev/null", "/dev/null", "r")
        );
        assert_eq!(
            parse_device("/dev/null:/dev/n").expect("ok"),
            d("/dev/null", "/dev/n", "rwm")
        );
        assert_eq!(
            parse_device("/dev/null:/dev/n:rw").expect("ok"),
            d("/dev/null", "/dev/n", "rw")
        );
        for bad in [
            "/dev/null:x",
            "/dev/null:/dev/n:rwx",
            "/dev/null:/dev/n:rr",
            "null",
            "/a:/b:r:w",
        ] {
            let err = parse_device(bad).expect_err(bad);
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn stat_device_reads_the_host_node() {
        let dev = stat_device(&parse_device("/dev/null:/dev/mynull:r").expect("ok")).expect("stat");
        assert_eq!(
            (dev.kind, dev.major, dev.minor, dev.file_mode),
            (DeviceKind::Char, 1, 3, 0o20666)
        );
        assert_eq!(dev.path, "/dev/mynull");
        let err =
            stat_device(&parse_device("/etc/hostname").expect("ok")).expect_err("not a device");
        assert!(err.to_string().contains("/etc/hostname"), "{err}");
    }

    #[test]
    fn joined_namespaces_have_paths_and_host_ones_are_left_out() {
        let req = ContainerCreateRequest {
            pid: "host".into(),
            ipc: "container:abc".into(),
            uts: "container:abc".into(),
            ..Default::default()
        };
        let joined = [
            ("ipc", std::path::PathBuf::from("/proc/7/ns/ipc")),
            ("uts", std::path::PathBuf::from("/proc/7/ns/uts")),
        ];
        let ns = namespaces(
            &req,
            false,
            Some(std::path::Path::new("/proc/7/ns/net")),
            &joined,
        );
        assert_eq!(
            ns,
            json!([
                {"type": "network", "path": "/proc/7/ns/net"},
                {"type": "ipc", "path": "/proc/7/ns/ipc"},
                {"type": "uts", "path": "/proc/7/ns/uts"},
                {"type": "mount"}
            ])
        );
    }

    #[test]
    fn namespaces_are_private_except_network_with_host() {
        let mut req = ContainerCreateRequest::default();
        let types = |v: Value| {
            v.as_array()
                .map(|a| a.iter().map(|n| n["type"].clone()).collect::<Vec<_>>())
        };
        assert_eq!(
            types(namespaces(&req, false, None, &[])),
            Some(vec![
                json!("pid"),
                json!("network"),
                json!("ipc"),
                json!("uts"),
                json!("mount")
            ])
        );
        req.network = "host".into();
        assert_eq!(
            types(namespaces(&req, true, None, &[])),
            Some(vec![
                json!("pid"),
                json!("ipc"),
                json!("uts"),
                json!("mount"),
                json!("cgroup")
            ])
        );
    }

    #[test]
    fn sysctls_default_ping_group_range_and_take_namespaced_ones() {
        let mut req = ContainerCreateRequest::default();
        req.sysctls.insert("kernel.msgmax".into(), "65536".into());
        assert_eq!(
            Value::Object(sysctls(&req, false).expect("ok")),
            json!({"kernel.msgmax": "65536", "net.ipv4.ping_group_range": "0 0"})
        );
        req.network = "host".into();
        assert_eq!(
            Value::Object(sysctls(&req, false).expect("ok")),
            json!({"kernel.msgmax": "65536"})
        );
    }

    #[test]
    fn host_wide_or_host_network_sysctls_are_refused() {
        let mut req = ContainerCreateRequest::default();
        req.sysctls.insert("vm.swappiness".into(), "0".into());
        assert!(
            matches!(sysctls(&req, false), Err(SpecError::Sysctl { name, .. }) if name == "vm.swappiness")
        );
        let mut req = ContainerCreateRequest {
            network: "host".into(),
            ..Default::default()
        };
        req.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
        let err = sysctls(&req, false).expect_err("host net");
        assert!(err.to_string().contains("--network host"), "{err}");
    }
}
