//! Security settings of the spec, as Podman 4.3 sets them: `--security-opt` parsing,
//! capabilities (containers.conf's default set, `--cap-add`/`--cap-drop` merged as
//! containers/common's `MergeCapabilities`, root vs non-root sets), masked and
//! read-only paths (containers/common's defaults, `mask=`/`unmask=`), and whether
//! the seccomp profile applies.

use super::{SpecError, SpecInput};
use crate::container::seccomp;
use berth_types::container::ContainerCreateRequest;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Every capability, in bit order (capability.h up to CAP_CHECKPOINT_RESTORE, 40).
pub const ALL_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// containers.conf's `default_capabilities` (containers-common 0.50, Podman 4.3).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// containers/common's `DefaultMaskedPaths`.
const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/dev/block",
];

/// containers/common's `DefaultReadOnlyPaths`.
const READONLY_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Which seccomp profile `--security-opt seccomp=` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SeccompChoice {
    /// The default profile (none given).
    #[default]
    Default,
    /// `seccomp=unconfined`.
    Unconfined,
    /// `seccomp=/path/to/profile.json`.
    Profile(PathBuf),
}

/// `--security-opt` values, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityOpts {
    pub no_new_privileges: bool,
    pub seccomp: SeccompChoice,
    pub apparmor: Option<String>,
    /// `mask=/a:/b`: more masked paths.
    pub mask: Vec<String>,
    /// `unmask=/proc/kcore:/sys/*` (globs) or `ALL`; `systempaths=unconfined` is `ALL`.
    pub unmask: Vec<String>,
}

/// Parses `--security-opt` values (`KEY=VALUE`, or Docker's older `KEY:VALUE`).
/// SELinux `label=` options are accepted and have no effect (no SELinux here).
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOpts, SpecError> {
    let mut out = SecurityOpts::default();
    for opt in opts {
        let bad = |reason: &str| SpecError::SecurityOpt {
            opt: opt.clone(),
            reason: reason.to_string(),
        };
        if opt == "no-new-privileges" {
            out.no_new_privileges = true;
            continue;
        }
        let (key, value) = opt
            .split_once('=')
            .or_else(|| opt.split_once(':'))
            .ok_or_else(|| bad("expected KEY=VALUE"))?;
        match key {
            "no-new-privileges" => {
                out.no_new_privileges = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("expected true or false")),
                }
            }
            "seccomp" if value == "unconfined" => out.seccomp = SeccompChoice::Unconfined,
            "seccomp" if value.is_empty() => return Err(bad("expected a profile path")),
            "seccomp" => out.seccomp = SeccompChoice::Profile(PathBuf::from(value)),
            "apparmor" => out.apparmor = Some(value.to_string()),
            "label" => {}
            "mask" => {
                for p in value.split(':').filter(|p| !p.is_empty()) {
                    if !p.starts_with('/') {
                        return Err(bad("masked paths must be absolute"));
                    }
                    if !out.mask.iter().any(|m| m == p) {
                        out.mask.push(p.to_string());
                    }
                }
            }
            "unmask" => out
                .unmask
                .extend(value.split(':').filter(|p| !p.is_empty()).map(str::to_string)),
            "systempaths" if value == "unconfined" => out.unmask.push("ALL".into()),
            _ => {
                return Err(bad(
                    "supported: no-new-privileges, seccomp=, apparmor=, label=, mask=, unmask=, systempaths=unconfined",
                ))
            }
        }
    }
    Ok(out)
}

/// The capability sets of the container's process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
    pub inheritable: Vec<String>,
    pub ambient: Vec<String>,
}

impl Capabilities {
    /// The spec's `process.capabilities`; empty sets are left out, as Podman does.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("bounding", &self.bounding),
            ("effective", &self.effective),
            ("permitted", &self.permitted),
            ("inheritable", &self.inheritable),
            ("ambient", &self.ambient),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), Value::from(v.clone()));
            }
        }
        Value::Object(m)
    }
}

/// `CAP_` names, deduplicated; `ALL` stays `ALL`. Unknown names are one error naming all.
fn normalize(names: &[String]) -> Result<Vec<String>, SpecError> {
    let mut out: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    for raw in names {
        let up = raw.trim().to_ascii_uppercase();
        let name = if up == "ALL" || up.starts_with("CAP_") {
            up
        } else {
            format!("CAP_{up}")
        };
        if name != "ALL" && !ALL_CAPABILITIES.contains(&name.as_str()) {
            unknown.push(raw.clone());
        } else if !out.contains(&name) {
            out.push(name);
        }
    }
    if !unknown.is_empty() {
        return Err(SpecError::UnknownCapabilities(unknown));
    }
    Ok(out)
}

/// containers/common's `MergeCapabilities`: `base` minus drops plus adds, sorted.
fn merge(
    base: &[String],
    adds: &[String],
    drops: &[String],
    host: &[String],
) -> Result<Vec<String>, SpecError> {
    let all = |v: &[String]| v.iter().any(|c| c == "ALL");
    if all(drops) {
        if all(adds) {
            return Err(SpecError::AllCapabilitiesAddedAndDropped);
        }
        let mut caps = adds.to_vec();
        caps.sort();
        return Ok(caps);
    }
    let (base, adds) = if all(adds) {
        (host.to_vec(), Vec::new())
    } else {
        (base.to_vec(), adds.to_vec())
    };
    if let Some(c) = adds.iter().find(|c| drops.contains(c)) {
        return Err(SpecError::CapabilityAddedAndDropped(c.clone()));
    }
    let mut caps: Vec<String> = base.into_iter().filter(|c| !drops.contains(c)).collect();
    for c in adds {
        if !caps.contains(&c) {
            caps.push(c);
        }
    }
    caps.sort();
    Ok(caps)
}

/// The container's capabilities: `--privileged` gets the whole host bounding set,
/// otherwise the default set with `--cap-add`/`--cap-drop`, never beyond the host's
/// set. Root (uid 0) gets them effective and permitted; another user only gets the
/// `--cap-add`ed ones effective, permitted, inheritable and ambient (Podman 4.3).
pub fn capabilities(
    req: &ContainerCreateRequest,
    uid: u32,
    host_caps: &[String],
) -> Result<Capabilities, SpecError> {
    let host: Vec<String> = if host_caps.is_empty() {
        ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    } else {
        host_caps.to_vec()
    };
    let in_host = |caps: Vec<String>| -> Vec<String> {
        caps.into_iter().filter(|c| host.contains(c)).collect()
    };
    let adds = normalize(&req.cap_add)?;
    let drops = normalize(&req.cap_drop)?;
    let mut bounding = if req.privileged {
        host.clone()
    } else {
        let defaults: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect();
        in_host(merge(&defaults, &adds, &drops, &host)?)
    };
    bounding.sort();
    if uid == 0 {
        return Ok(Capabilities {
            effective: bounding.clone(),
            permitted: bounding.clone(),
            bounding,
            ..Capabilities::default()
        });
    }
    let user = in_host(merge(&[], &adds, &[], &host)?);
    Ok(Capabilities {
        bounding,
        effective: user.clone(),
        permitted: user.clone(),
        inheritable: user.clone(),
        ambient: user,
    })
}

/// Capability names for a bit mask such as `/proc/self/status`'s `CapBnd`, sorted.
pub fn caps_from_mask(mask: u64) -> Vec<String> {
    let mut caps: Vec<String> = ALL_CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .map(|(_, c)| c.to_string())
        .collect();
    caps.sort();
    caps
}

/// This process's bounding set (reads /proc/self/status; not pure).
pub fn host_bounding_caps() -> std::io::Result<Vec<String>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let invalid = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no CapBnd line in /proc/self/status",
        )
    };
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .ok_or_else(invalid)?;
    let mask = u64::from_str_radix(hex.trim(), 16).map_err(|_| invalid())?;
    Ok(caps_from_mask(mask))
}

/// `filepath.Match` for one path component pattern set: `*`, `?` (not `/`), `[...]`.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], name)
                || (name.first().is_some_and(|c| *c != b'/') && glob(pattern, &name[1..]))
        }
        (Some(b'?'), Some(c)) if *c != b'/' => glob(&pattern[1..], &name[1..]),
        (Some(b'['), Some(c)) if *c != b'/' => match pattern.iter().position(|b| *b == b']') {
            Some(end) if end > 1 => {
                let class = &pattern[1..end];
                let (negate, class) = match class.first() {
                    Some(b'^') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == b'-' {
                        hit |= class[i] <= *c && *c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == *c;
                        i += 1;
                    }
                }
                hit != negate && glob(&pattern[end + 1..], &name[1..])
            }
            _ => false,
        },
        (Some(p), Some(c)) => p == c && glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

fn should_mask(path: &str, unmask: &[String]) -> bool {
    !unmask
        .iter()
        .any(|u| u.eq_ignore_ascii_case("all") || glob(u.as_bytes(), path.as_bytes()))
}

/// `maskedPaths` and `readonlyPaths`: the defaults minus `unmask=` (none when
/// privileged), plus `mask=` (also when privileged, as Podman).
pub(super) fn masked_paths(privileged: bool, sec: &SecurityOpts) -> (Vec<String>, Vec<String>) {
    let keep = |list: &[&str]| -> Vec<String> {
        if privileged {
            return Vec::new();
        }
        list.iter()
            .filter(|p| should_mask(p, &sec.unmask))
            .map(|p| p.to_string())
            .collect()
    };
    let mut masked = keep(MASKED_PATHS);
    for p in &sec.mask {
        if !masked.contains(p) {
            masked.push(p.clone());
        }
    }
    (masked, keep(READONLY_PATHS))
}

/// `linux.seccomp`: the profile converted for the bounding set, unless
/// `seccomp=unconfined`, or `--privileged` without an explicit profile.
pub(super) fn seccomp(
    input: &SpecInput,
    sec: &SecurityOpts,
    bounding: &[String],
) -> Result<Option<Value>, SpecError> {
    match (&sec.seccomp, input.req.privileged) {
        (SeccompChoice::Unconfined, _) | (SeccompChoice::Default, true) => Ok(None),
        _ => match &input.seccomp {
            Some(profile) => Ok(seccomp::to_oci(profile, seccomp::native_arch(), bounding)?),
            None => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde_json::json;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn req_caps(add: &[&str], drop: &[&str]) -> ContainerCreateRequest {
        ContainerCreateRequest {
            cap_add: strs(add),
            cap_drop: strs(drop),
            ..Default::default()
        }
    }

    #[test]
    fn root_gets_the_default_caps_bounding_effective_permitted() {
        let c = capabilities(&req_caps(&[], &[]), 0, &[]).expect("ok");
        assert_eq!(c.bounding, strs(DEFAULT_CAPABILITIES));
        assert_eq!(c.effective, c.bounding);
        assert_eq!(c.permitted, c.bounding);
        assert!(c.inheritable.is_empty() && c.ambient.is_empty());
        let img = image(None, Some(&["/bin/sh"]));
        let req = ContainerCreateRequest::default();
        let spec = spec_of(&input(&req, &img));
        let caps = &spec["process"]["capabilities"];
        assert_eq!(caps["bounding"], json!(DEFAULT_CAPABILITIES));
        assert!(caps.get("inheritable").is_none() && caps.get("ambient").is_none());
    }

    #[test]
    fn cap_add_and_drop_accept_any_case_with_or_without_prefix() {
        let c = capabilities(
            &req_caps(&["sys_admin", "Cap_Net_Raw"], &["CHOWN", "cap_kill"]),
            0,
            &[],
        )
        .expect("ok");
        assert!(c.bounding.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(c.bounding.contains(&"CAP_NET_RAW".to_string()));
        assert!(!c.bounding.contains(&"CAP_CHOWN".to_string()));
        assert!(!c.bounding.contains(&"CAP_KILL".to_string()));
        let mut sorted = c.bounding.clone();
        sorted.sort();
        assert_eq!(c.bounding, sorted);
    }

    #[test]
    fn drop_all_keeps_only_the_added_caps() {
        let c = capabilities(&req_caps(&["NET_RAW"], &["ALL"]), 0, &[]).expect("ok");
        assert_eq!(c.bounding, strs(&["CAP_NET_RAW"]));
        assert_eq!(c.effective, strs(&["CAP_NET_RAW"]));
    }

    #[test]
    fn add_all_is_the_host_bounding_set() {
        let host = strs(&["CAP_CHOWN", "CAP_SYS_ADMIN"]);
        let c = capabilities(&req_caps(&["all"], &[]), 0, &host).expect("ok");
        assert_eq!(c.bounding, host);
    }

    #[test]
    fn unknown_capabilities_are_an_error_naming_them() {
        let err = capabilities(&req_caps(&["NET_RAW", "bogus"], &["CAP_NOPE"]), 0, &[])
            .expect_err("unknown");
        assert_eq!(err.to_string(), "unknown capabilities: bogus");
        let err = capabilities(&req_caps(&[], &["CAP_NOPE", "frob"]), 0, &[]).expect_err("unknown");
        assert_eq!(err.to_string(), "unknown capabilities: CAP_NOPE, frob");
    }

    #[test]
    fn a_cap_added_and_dropped_is_an_error() {
        assert!(matches!(
            capabilities(&req_caps(&["NET_RAW"], &["net_raw"]), 0, &[]),
            Err(SpecError::CapabilityAddedAndDropped(c)) if c == "CAP_NET_RAW"
        ));
        assert!(matches!(
            capabilities(&req_caps(&["ALL"], &["ALL"]), 0, &[]),
            Err(SpecError::AllCapabilitiesAddedAndDropped)
        ));
    }

    #[test]
    fn caps_outside_the_host_bounding_set_are_never_asked_for() {
        let host: Vec<String> = caps_from_mask(u64::MAX)
            .into_iter()
            .filter(|c| c != "CAP_SYS_RESOURCE")
            .collect();
        let c = capabilities(&req_caps(&["SYS_RESOURCE", "SYS_ADMIN"], &[]), 0, &host).expect("ok");
        assert!(!c.bounding.contains(&"CAP_SYS_RESOURCE".to_string()));
        assert!(c.bounding.contains(&"CAP_SYS_ADMIN".to_string()));
    }

    #[test]
    fn non_root_gets_bounding_only_plus_added_caps_everywhere() {
        let c = capabilities(&req_caps(&[], &[]), 1000, &[]).expect("ok");
        assert_eq!(c.bounding, strs(DEFAULT_CAPABILITIES));
        assert!(c.effective.is_empty() && c.permitted.is_empty() && c.ambient.is_empty());
        let c = capabilities(&req_caps(&["sys_admin", "NET_RAW"], &[]), 1000, &[]).expect("ok");
        let added = strs(&["CAP_NET_RAW", "CAP_SYS_ADMIN"]);
        assert_eq!((&c.effective, &c.permitted), (&added, &added));
        assert_eq!((&c.inheritable, &c.ambient), (&added, &added));
        assert!(c.bounding.contains(&"CAP_SYS_ADMIN".to_string()));
    }

    #[test]
    fn privileged_spec_has_all_caps_and_no_masked_paths() {
        let req = ContainerCreateRequest {
            privileged: true,
            ..Default::default()
        };
        let img = image(None, Some(&["/bin/sh"]));
        let mut inp = input(&req, &img);
        inp.seccomp = Some(json!({"defaultAction": "SCMP_ACT_ERRNO"}));
        let host = super::super::HostFacts {
            caps: caps_from_mask((1u64 << 41) - 1 - (1u64 << 24)), // no CAP_SYS_RESOURCE
            cgroup_ns: false,
        };
        let spec = super::super::build_spec_with(&inp, &host).expect("builds");
        let caps = &spec["process"]["capabilities"];
        assert_eq!(caps["bounding"].as_array().map(Vec::len), Some(40));
        assert_eq!(caps["effective"], caps["bounding"]);
        assert_eq!(caps["permitted"], caps["bounding"]);
        assert!(spec["linux"].get("maskedPaths").is_none());
        assert!(spec["linux"].get("readonlyPaths").is_none());
        assert!(spec["linux"].get("seccomp").is_none());
        assert_eq!(
            spec["linux"]["resources"]["devices"],
            json!([{"allow": true, "access": "rwm"}])
        );
    }

    #[test]
    fn host_caps_mask_decodes_by_bit() {
        assert_eq!(
            caps_from_mask(0b1_0000_0001),
            strs(&["CAP_CHOWN", "CAP_SETPCAP"])
        );
        assert_eq!(caps_from_mask(u64::MAX).len(), ALL_CAPABILITIES.len());
    }

    #[test]
    fn default_masked_and_readonly_paths_are_podmans() {
        let (masked, ro) = masked_paths(false, &SecurityOpts::default());
        assert_eq!(masked, strs(MASKED_PATHS));
        assert_eq!(ro, strs(READONLY_PATHS));
        assert_eq!(masked.len(), 11);
        assert_eq!(
            ro,
            strs(&[
                "/proc/asound",
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger"
            ])
        );
    }

    #[test]
    fn mask_adds_and_unmask_removes_paths() {
        let sec = parse_security_opts(&strs(&["mask=/a:/b", "unmask=/proc/kcore"])).expect("ok");
        let (masked, ro) = masked_paths(false, &sec);
        assert!(!masked.contains(&"/proc/kcore".to_string()));
        assert_eq!(masked[masked.len() - 2..], strs(&["/a", "/b"]));
        assert_eq!(ro.len(), READONLY_PATHS.len());
    }

    #[test]
    fn unmask_all_removes_masked_and_readonly_paths() {
        for opt in ["unmask=ALL", "systempaths=unconfined"] {
            let sec = parse_security_opts(&strs(&[opt])).expect("ok");
            assert_eq!(masked_paths(false, &sec), (vec![], vec![]));
        }
    }

    #[test]
    fn unmask_takes_globs() {
        let sec = parse_security_opts(&strs(&["unmask=/proc/*:/sys/fs/[s]elinux"])).expect("ok");
        let (masked, ro) = masked_paths(false, &sec);
        assert_eq!(masked, strs(&["/sys/firmware", "/sys/dev/block"]));
        assert!(ro.is_empty());
    }

    #[test]
    fn privileged_still_takes_user_masks() {
        let sec = parse_security_opts(&strs(&["mask=/secret"])).expect("ok");
        assert_eq!(masked_paths(true, &sec), (strs(&["/secret"]), vec![]));
    }

    #[test]
    fn security_opts_parse_seccomp_choices() {
        let p = |o: &str| parse_security_opts(&strs(&[o])).expect("ok").seccomp;
        assert_eq!(p("seccomp=unconfined"), SeccompChoice::Unconfined);
        assert_eq!(p("seccomp:unconfined"), SeccompChoice::Unconfined);
        assert_eq!(
            p("seccomp=/etc/p.json"),
            SeccompChoice::Profile("/etc/p.json".into())
        );
        assert_eq!(p("label=disable"), SeccompChoice::Default);
    }

    #[test]
    fn bad_security_opts_are_errors_naming_them() {
        for bad in [
            "bogus=1",
            "nonsense",
            "mask=relative",
            "no-new-privileges=maybe",
        ] {
            let err = parse_security_opts(&strs(&[bad])).expect_err(bad);
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn seccomp_profile_is_converted_for_the_bounding_set() {
        let profile = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]});
        let img = image(None, Some(&["/bin/sh"]));
        let req = ContainerCreateRequest::default();
        let mut inp = input(&req, &img);
        inp.seccomp = Some(profile.clone());
        assert_eq!(
            spec_of(&inp)["linux"]["seccomp"],
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})
        );
        let req = req_caps(&["SYS_ADMIN"], &[]);
        let mut inp = input(&req, &img);
        inp.seccomp = Some(profile);
        assert_eq!(
            spec_of(&inp)["linux"]["seccomp"]["syscalls"][0]["names"],
            json!(["mount"])
        );
    }

    #[test]
    fn seccomp_unconfined_drops_the_profile_and_privileged_keeps_an_explicit_one() {
        let profile = json!({"defaultAction": "SCMP_ACT_ALLOW"});
        let img = image(None, Some(&["/bin/sh"]));
        let req = ContainerCreateRequest {
            security_opt: strs(&["seccomp=unconfined"]),
            ..Default::default()
        };
        let mut inp = input(&req, &img);
        inp.seccomp = Some(profile.clone());
        assert!(spec_of(&inp)["linux"].get("seccomp").is_none());
        let req = ContainerCreateRequest {
            privileged: true,
            security_opt: strs(&["seccomp=/custom.json"]),
            ..Default::default()
        };
        let mut inp = input(&req, &img);
        inp.seccomp = Some(profile);
        assert_eq!(
            spec_of(&inp)["linux"]["seccomp"],
            json!({"defaultAction": "SCMP_ACT_ALLOW"})
        );
    }
}
