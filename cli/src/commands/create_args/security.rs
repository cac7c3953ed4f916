//! What the container may do to the host: `--cap-add/--cap-drop`, `--security-opt`,
//! `--device` and `--sysctl`, checked and put in one canonical form.

use super::{invalid, ArgError};
use std::collections::BTreeMap;

const CAPABILITIES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Capability names as `CAP_NET_ADMIN` (given as `net_admin`, `NET_ADMIN` or
/// `CAP_NET_ADMIN`), or `ALL`.
pub fn capabilities(flag: &'static str, caps: &[String]) -> Result<Vec<String>, ArgError> {
    caps.iter()
        .map(|cap| {
            let upper = cap.to_ascii_uppercase();
            let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
            if bare == "ALL" {
                Ok("ALL".to_string())
            } else if CAPABILITIES.contains(&bare) {
                Ok(format!("CAP_{bare}"))
            } else {
                Err(invalid(
                    flag,
                    cap,
                    format!("unknown capability \"CAP_{bare}\""),
                ))
            }
        })
        .collect()
}

/// `--security-opt` as `KEY=VALUE` (Docker's `KEY:VALUE` spelling is accepted).
/// Known keys: seccomp, label, apparmor, mask, unmask, no-new-privileges, proc-opts,
/// systempaths. `no-new-privileges[=BOOL]` ends up as one bare `no-new-privileges`
/// when the last one given is true, and nothing otherwise (false is the default).
pub fn security_opts(opts: &[String]) -> Result<Vec<String>, ArgError> {
    const FLAG: &str = "--security-opt";
    let mut out = Vec::new();
    let mut no_new_privileges = false;
    for opt in opts {
        if opt == "no-new-privileges" {
            no_new_privileges = true;
            continue;
        }
        let split = if opt.contains('=') {
            opt.split_once('=')
        } else {
            opt.split_once(':')
        };
        let Some((key, value)) = split else {
            return Err(invalid(FLAG, opt, "expected KEY=VALUE"));
        };
        let bad = |reason: &str| Err(invalid(FLAG, opt, reason));
        let absolute = |paths: &str, allow_all: bool| {
            paths
                .split(':')
                .all(|p| p.starts_with('/') || (allow_all && p == "ALL"))
        };
        match key {
            "no-new-privileges" => match go_bool(value) {
                Some(b) => no_new_privileges = b,
                None => return bad("no-new-privileges takes true or false"),
            },
            "seccomp" | "apparmor" | "proc-opts" if value.is_empty() => {
                return bad("the value cannot be empty")
            }
            "seccomp" | "apparmor" | "proc-opts" => {}
            "label" => {
                let known = ["user:", "role:", "type:", "level:", "filetype:"];
                if !(value == "disable"
                    || value == "nested"
                    || known.iter().any(|k| value.starts_with(k)))
                {
                    return bad(
                        "label takes disable, nested, user:, role:, type:, level: or filetype:",
                    );
                }
            }
            "mask" if !absolute(value, false) => {
                return bad("mask takes absolute paths separated by ':'")
            }
            "unmask" if !absolute(value, true) => {
                return bad("unmask takes ALL or absolute paths separated by ':'")
            }
            "mask" | "unmask" => {}
            "systempaths" if value != "unconfined" => {
                return bad("only systempaths=unconfined is supported")
            }
            "systempaths" => {}
            _ => return bad(&format!("unknown security option {key:?}")),
        }
        if key != "no-new-privileges" {
            out.push(format!("{key}={value}"));
        }
    }
    if no_new_privileges {
        out.push("no-new-privileges".to_string());
    }
    Ok(out)
}

/// Go's `strconv.ParseBool`.
fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]` as `HOST:CONTAINER:PERMISSIONS`
/// (CONTAINER defaults to HOST, PERMISSIONS to `rwm`).
pub fn devices(flags: &[String]) -> Result<Vec<String>, ArgError> {
    const FLAG: &str = "--device";
    let is_mode = |m: &str| {
        !m.is_empty()
            && m.chars().all(|c| "rwm".contains(c))
            && m.chars().enumerate().all(|(i, c)| !m[i + 1..].contains(c))
    };
    flags
        .iter()
        .map(|spec| {
            let parts: Vec<&str> = spec.split(':').collect();
            let (host, rest) = match parts.split_first() {
                Some((host, rest)) if !host.is_empty() && rest.len() <= 2 => (*host, rest),
                _ => return Err(invalid(FLAG, spec, "invalid device specification")),
            };
            let (dest, perms) = match rest {
                [] => (host, "rwm"),
                [m] if is_mode(m) => (host, *m),
                [d] if d.starts_with('/') => (*d, "rwm"),
                [d, m] if d.starts_with('/') && is_mode(m) => (*d, *m),
                [.., m] if !is_mode(m) && !m.starts_with('/') => {
                    return Err(invalid(FLAG, spec, format!("invalid device mode: {m}")))
                }
                _ => return Err(invalid(FLAG, spec, "invalid device specification")),
            };
            if !host.starts_with('/') {
                return Err(invalid(
                    FLAG,
                    spec,
                    "the host device must be an absolute path (CDI devices are not supported yet)",
                ));
            }
            Ok(format!("{host}:{dest}:{perms}"))
        })
        .collect()
}

/// `--sysctl KEY=VALUE`, namespaced keys only (`net.*`, `fs.mqueue.*`, the IPC
/// `kernel.*` ones); `net.*` cannot be set in the host's network namespace.
pub fn sysctls(flags: &[String], network: &str) -> Result<BTreeMap<String, String>, ArgError> {
    const FLAG: &str = "--sysctl";
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let mut out = BTreeMap::new();
    for flag in flags {
        let Some((key, value)) = flag.split_once('=') else {
            return Err(invalid(
                FLAG,
                flag,
                "sysctl values must be in the form of KEY=VALUE",
            ));
        };
        if key.trim() != key || value.trim() != value {
            return Err(invalid(FLAG, flag, "extra spaces found"));
        }
        let is_net = key.starts_with("net.");
        if !(is_net || key.starts_with("fs.mqueue.") || IPC.contains(&key)) {
            return Err(invalid(
                FLAG,
                flag,
                format!("sysctl '{key}' is not allowed"),
            ));
        }
        if is_net && network == "host" {
            return Err(ArgError::Conflict(format!(
                "sysctl {key} can't be set since the network namespace is the host's (--network host)"
            )));
        }
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn capabilities_are_normalised_and_checked() {
        let caps = capabilities(
            "--cap-add",
            &strings(&["net_admin", "CAP_SYS_ADMIN", "all"]),
        );
        assert_eq!(
            caps.expect("valid"),
            ["CAP_NET_ADMIN", "CAP_SYS_ADMIN", "ALL"]
        );
        let err = capabilities("--cap-add", &strings(&["foo"])).expect_err("unknown");
        assert!(
            err.to_string().contains("unknown capability \"CAP_FOO\""),
            "{err}"
        );
    }

    #[test]
    fn devices_get_a_destination_and_permissions() {
        let d = devices(&strings(&[
            "/dev/fuse",
            "/dev/sda:/dev/xvda",
            "/dev/sdb:r",
            "/dev/sdc:/dev/x:rw",
        ]));
        assert_eq!(
            d.expect("valid"),
            [
                "/dev/fuse:/dev/fuse:rwm",
                "/dev/sda:/dev/xvda:rwm",
                "/dev/sdb:/dev/sdb:r",
                "/dev/sdc:/dev/x:rw"
            ]
        );
        for bad in [
            "",
            "/dev/a:rr",
            "/dev/a:x",
            "/dev/a:/b:rwx",
            "sda",
            "/a:/b:r:w",
        ] {
            assert!(devices(&strings(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn security_opts_are_checked_and_normalised() {
        let o = security_opts(&strings(&[
            "no-new-privileges=false",
            "seccomp:unconfined",
            "label=disable",
            "mask=/proc/a:/proc/b",
            "unmask=ALL",
            "apparmor=unconfined",
            "no-new-privileges=true",
        ]));
        assert_eq!(
            o.expect("valid"),
            [
                "seccomp=unconfined",
                "label=disable",
                "mask=/proc/a:/proc/b",
                "unmask=ALL",
                "apparmor=unconfined",
                "no-new-privileges"
            ]
        );
        assert_eq!(
            security_opts(&strings(&["no-new-privileges", "no-new-privileges=false"]))
                .expect("valid"),
            Vec::<String>::new()
        );
        for bad in [
            "foo=bar",
            "label=bogus",
            "mask=relative",
            "no-new-privileges=maybe",
            "seccomp=",
        ] {
            assert!(security_opts(&strings(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_namespaced_sysctls_are_allowed() {
        let s = sysctls(
            &strings(&["net.ipv4.ip_forward=1", "kernel.shmmax=1=2"]),
            "none",
        );
        let s = s.expect("valid");
        assert_eq!(s["net.ipv4.ip_forward"], "1");
        assert_eq!(s["kernel.shmmax"], "1=2");
        assert!(sysctls(&strings(&["kernel.pid_max=1"]), "none").is_err());
        assert!(sysctls(&strings(&["net.ipv4.ip_forward = 1"]), "none").is_err());
        assert!(sysctls(&strings(&["net.ipv4.ip_forward=1"]), "host").is_err());
    }
}
