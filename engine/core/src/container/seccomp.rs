//! Seccomp profiles in the containers/common format (Podman's
//! /usr/share/containers/seccomp.json): finding and loading one, and converting it into
//! the OCI `linux.seccomp` object for one architecture and capability set, rule by rule
//! as containers/common's `setupSeccomp` does.

use serde_json::{json, Map, Value};
use std::io;
use std::path::{Path, PathBuf};

/// Podman's default profile, as Debian's golang-github-containers-common installs it.
pub const DEFAULT_PROFILE_PATH: &str = "/usr/share/containers/seccomp.json";
/// The administrator's override of the default profile; wins when it exists.
pub const OVERRIDE_PROFILE_PATH: &str = "/etc/containers/seccomp.json";

/// Profiles larger than this are refused rather than read into memory.
const MAX_PROFILE_BYTES: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("reading seccomp profile {path}")]
    Read { path: PathBuf, source: io::Error },
    #[error("seccomp profile {path} is larger than 16 MiB")]
    TooLarge { path: PathBuf },
    #[error("seccomp profile {path} is not valid JSON")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("seccomp profile: {0}")]
    Invalid(String),
}

/// Loads the profile named by `--security-opt seccomp=PATH`, or else the default one
/// (`/etc/containers/seccomp.json` when it exists, then
/// `/usr/share/containers/seccomp.json`). `None` when no default profile is installed.
pub fn load_profile(path: Option<&Path>) -> Result<Option<Value>, SeccompError> {
    match path {
        Some(p) => read_profile(p).map(Some),
        None => load_first(&[
            Path::new(OVERRIDE_PROFILE_PATH),
            Path::new(DEFAULT_PROFILE_PATH),
        ]),
    }
}

/// Loads the first of `candidates` that exists.
pub fn load_first(candidates: &[&Path]) -> Result<Option<Value>, SeccompError> {
    for p in candidates {
        match std::fs::metadata(p) {
            Ok(_) => return read_profile(p).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(SeccompError::Read {
                    path: p.to_path_buf(),
                    source,
                })
            }
        }
    }
    Ok(None)
}

fn read_profile(path: &Path) -> Result<Value, SeccompError> {
    use std::io::Read;
    let read_err = |source| SeccompError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_PROFILE_BYTES {
        return Err(SeccompError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|source| SeccompError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    if !value.is_object() {
        return Err(SeccompError::Invalid(format!(
            "{} is not a JSON object",
            path.display()
        )));
    }
    Ok(value)
}

/// This machine's architecture as containers/common names it in `includes.arches`
/// (libseccomp's names: `amd64`, `x86`, `arm64`, `arm`, `s390x`, `ppc64le`, `riscv64`).
pub fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        other => other,
    }
}

/// The seccomp architecture an `archMap` entry is selected by, for a libseccomp arch name.
fn seccomp_arch(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "amd64" => "SCMP_ARCH_X86_64",
        "arm64" => "SCMP_ARCH_AARCH64",
        "mips64" => "SCMP_ARCH_MIPS64",
        "mips64n32" => "SCMP_ARCH_MIPS64N32",
        "mipsel64" => "SCMP_ARCH_MIPSEL64",
        "mipsel64n32" => "SCMP_ARCH_MIPSEL64N32",
        "s390x" => "SCMP_ARCH_S390X",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "riscv64" => "SCMP_ARCH_RISCV64",
        _ => return None,
    })
}

/// The running kernel's major and minor version, for `includes.minKernel`.
pub fn running_kernel() -> Option<(u32, u32)> {
    let uname = rustix::system::uname();
    parse_kernel_version(&uname.release().to_string_lossy())
}

fn parse_kernel_version(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// Converts `profile` into the OCI `linux.seccomp` object for `arch` (a libseccomp
/// name, see [`native_arch`]) and a container whose bounding set is `caps`
/// (`CAP_…` names), with `minKernel` rules compared to the running kernel. `None`
/// when the profile has neither a default action nor rules (seccomp disabled).
pub fn to_oci(profile: &Value, arch: &str, caps: &[String]) -> Result<Option<Value>, SeccompError> {
    to_oci_for_kernel(profile, arch, caps, running_kernel())
}

/// [`to_oci`] for a given kernel version (`None`: `minKernel` rules always apply).
pub fn to_oci_for_kernel(
    profile: &Value,
    arch: &str,
    caps: &[String],
    kernel: Option<(u32, u32)>,
) -> Result<Option<Value>, SeccompError> {
    let obj = profile
        .as_object()
        .ok_or_else(|| SeccompError::Invalid("the profile is not a JSON object".into()))?;
    let default_action = str_field(obj, "defaultAction")?.unwrap_or_default();
    let syscalls = array_field(obj, "syscalls")?;
    if default_action.is_empty() && syscalls.is_empty() {
        return Ok(None);
    }

    let mut out = Map::new();
    out.insert("defaultAction".into(), json!(default_action));
    if let Some(errno) = obj.get("defaultErrnoRet").filter(|v| !v.is_null()) {
        out.insert("defaultErrnoRet".into(), errno.clone());
    }
    let architectures = architectures(obj, arch)?;
    if !architectures.is_empty() {
        out.insert("architectures".into(), json!(architectures));
    }
    for key in ["flags", "listenerPath", "listenerMetadata"] {
        if let Some(v) = obj.get(key).filter(|v| !is_empty(v)) {
            out.insert(key.into(), v.clone());
        }
    }

    let mut rules = Vec::new();
    for (i, rule) in syscalls.iter().enumerate() {
        let rule = rule
            .as_object()
            .ok_or_else(|| SeccompError::Invalid(format!("syscalls[{i}] is not an object")))?;
        if applies(rule, arch, caps, kernel, i)? {
            rules.push(convert_rule(rule, i)?);
        }
    }
    if !rules.is_empty() {
        out.insert("syscalls".into(), Value::Array(rules));
    }
    Ok(Some(Value::Object(out)))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, SeccompError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SeccompError::Invalid(format!("{key} is not a string"))),
    }
}

fn array_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], SeccompError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(SeccompError::Invalid(format!("{key} is not a list"))),
    }
}

fn strings(obj: &Map<String, Value>, key: &str, what: &str) -> Result<Vec<String>, SeccompError> {
    array_field(obj, key)?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| SeccompError::Invalid(format!("{what}.{key} holds a non-string")))
        })
        .collect()
}

/// `architectures` as given, or the `archMap` entry for `arch` with its sub-architectures.
fn architectures(obj: &Map<String, Value>, arch: &str) -> Result<Vec<String>, SeccompError> {
    let given = strings(obj, "architectures", "profile")?;
    let map = array_field(obj, "archMap")?;
    if !given.is_empty() && !map.is_empty() {
        return Err(SeccompError::Invalid(
            "'architectures' and 'archMap' were both given; use one of them".into(),
        ));
    }
    if !given.is_empty() {
        return Ok(given);
    }
    let Some(native) = seccomp_arch(arch) else {
        return Ok(Vec::new());
    };
    for entry in map {
        let entry = entry
            .as_object()
            .ok_or_else(|| SeccompError::Invalid("an archMap entry is not an object".into()))?;
        if str_field(entry, "architecture")? == Some(native) {
            let mut out = vec![native.to_string()];
            out.extend(strings(entry, "subArchitectures", "archMap")?);
            return Ok(out);
        }
    }
    Ok(Vec::new())
}

/// Whether a rule's `includes`/`excludes` select it for this arch, caps and kernel.
fn applies(
    rule: &Map<String, Value>,
    arch: &str,
    caps: &[String],
    kernel: Option<(u32, u32)>,
    i: usize,
) -> Result<bool, SeccompError> {
    let empty = Map::new();
    let section = |key: &str| match rule.get(key) {
        None | Some(Value::Null) => Ok(&empty),
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(SeccompError::Invalid(format!(
            "syscalls[{i}].{key} is not an object"
        ))),
    };
    let (includes, excludes) = (section("includes")?, section("excludes")?);
    let what = format!("syscalls[{i}]");
    if strings(excludes, "arches", &what)?
        .iter()
        .any(|a| a == arch)
    {
        return Ok(false);
    }
    if strings(excludes, "caps", &what)?
        .iter()
        .any(|c| caps.contains(c))
    {
        return Ok(false);
    }
    let arches = strings(includes, "arches", &what)?;
    if !arches.is_empty() && !arches.iter().any(|a| a == arch) {
        return Ok(false);
    }
    if !strings(includes, "caps", &what)?
        .iter()
        .all(|c| caps.contains(c))
    {
        return Ok(false);
    }
    if let (Some(min), Some(running)) = (str_field(includes, "minKernel")?, kernel) {
        let min = parse_kernel_version(min).ok_or_else(|| {
            SeccompError::Invalid(format!(
                "{what}.includes.minKernel {min:?} is not a version"
            ))
        })?;
        if running < min {
            return Ok(false);
        }
    }
    Ok(true)
}

fn convert_rule(rule: &Map<String, Value>, i: usize) -> Result<Value, SeccompError> {
    let what = format!("syscalls[{i}]");
    let mut names = strings(rule, "names", &what)?;
    if let Some(name) = str_field(rule, "name")?.filter(|n| !n.is_empty()) {
        if !names.is_empty() {
            return Err(SeccompError::Invalid(format!(
                "{what} has both 'name' and 'names'; use one of them"
            )));
        }
        names.push(name.to_string());
    }
    let action = str_field(rule, "action")?
        .ok_or_else(|| SeccompError::Invalid(format!("{what} has no action")))?;
    let mut out = Map::new();
    out.insert("names".into(), json!(names));
    out.insert("action".into(), json!(action));
    if let Some(errno) = rule.get("errnoRet").filter(|v| !v.is_null()) {
        out.insert("errnoRet".into(), errno.clone());
    }
    let mut args = Vec::new();
    for (j, arg) in array_field(rule, "args")?.iter().enumerate() {
        let arg = arg
            .as_object()
            .ok_or_else(|| SeccompError::Invalid(format!("{what}.args[{j}] is not an object")))?;
        let num = |key: &str| match arg.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| {
                SeccompError::Invalid(format!("{what}.args[{j}].{key} is not a number"))
            }),
        };
        let op = str_field(arg, "op")?
            .ok_or_else(|| SeccompError::Invalid(format!("{what}.args[{j}] has no op")))?;
        let mut a = Map::new();
        a.insert("index".into(), json!(num("index")?));
        a.insert("value".into(), json!(num("value")?));
        let two = num("valueTwo")?;
        if two != 0 {
            a.insert("valueTwo".into(), json!(two));
        }
        a.insert("op".into(), json!(op));
        args.push(Value::Object(a));
    }
    if !args.is_empty() {
        out.insert("args".into(), Value::Array(args));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Rules for `name` in a converted profile.
    fn rules_for<'a>(oci: &'a Value, name: &str) -> Vec<&'a Value> {
        oci["syscalls"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| {
                        r["names"]
                            .as_array()
                            .is_some_and(|n| n.contains(&json!(name)))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn small_profile() -> Value {
        json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "archMap": [
                {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
            ],
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "",
                 "includes": {}, "excludes": {}},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
                {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"]}},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EPERM",
                 "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
                {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["ppc64le"]}},
                {"names": ["clone3"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
                {"names": ["io_uring_setup"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.1"}}
            ]
        })
    }

    fn convert(profile: &Value, c: &[&str]) -> Value {
        to_oci_for_kernel(profile, "amd64", &caps(c), Some((4, 19)))
            .expect("converts")
            .expect("enabled")
    }

    #[test]
    fn default_action_errno_and_errno_ret_are_kept() {
        let oci = convert(&small_profile(), &[]);
        assert_eq!(oci["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(oci["defaultErrnoRet"], 38);
    }

    #[test]
    fn amd64_gets_x86_64_x86_and_x32_from_the_arch_map() {
        let oci = convert(&small_profile(), &[]);
        assert_eq!(
            oci["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
    }

    #[test]
    fn personality_is_allowed_only_with_its_argument() {
        let oci = convert(&small_profile(), &[]);
        let rules = rules_for(&oci, "personality");
        assert_eq!(
            rules,
            vec![
                &json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]})
            ]
        );
    }

    #[test]
    fn ptrace_is_allowed_only_with_cap_sys_ptrace() {
        assert!(rules_for(&convert(&small_profile(), &[]), "ptrace").is_empty());
        let with = convert(&small_profile(), &["CAP_SYS_PTRACE"]);
        assert_eq!(
            rules_for(&with, "ptrace"),
            vec![&json!({"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"})]
        );
    }

    #[test]
    fn mount_is_denied_with_eperm_unless_cap_sys_admin() {
        let without = convert(&small_profile(), &["CAP_CHOWN"]);
        assert_eq!(
            rules_for(&without, "mount"),
            vec![&json!({"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1})]
        );
        let with = convert(&small_profile(), &["CAP_SYS_ADMIN"]);
        assert_eq!(
            rules_for(&with, "mount"),
            vec![&json!({"names": ["mount"], "action": "SCMP_ACT_ALLOW"})]
        );
    }

    #[test]
    fn arch_includes_and_excludes_select_rules() {
        let oci = convert(&small_profile(), &[]);
        assert_eq!(rules_for(&oci, "arch_prctl").len(), 1);
        assert!(rules_for(&oci, "sync_file_range2").is_empty());
        assert!(rules_for(&oci, "clone3").is_empty());
        let arm = to_oci_for_kernel(&small_profile(), "arm64", &[], None)
            .expect("converts")
            .expect("enabled");
        assert_eq!(
            arm["architectures"],
            json!(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])
        );
        assert!(rules_for(&arm, "arch_prctl").is_empty());
        assert_eq!(rules_for(&arm, "clone3").len(), 1);
    }

    #[test]
    fn min_kernel_rules_apply_only_on_newer_kernels() {
        let old = convert(&small_profile(), &[]); // 4.19
        assert!(rules_for(&old, "io_uring_setup").is_empty());
        let new = to_oci_for_kernel(&small_profile(), "amd64", &[], Some((6, 1)))
            .expect("converts")
            .expect("enabled");
        assert_eq!(rules_for(&new, "io_uring_setup").len(), 1);
    }

    #[test]
    fn rules_keep_profile_order_and_drop_comments() {
        let oci = convert(&small_profile(), &["CAP_SYS_ADMIN"]);
        assert_eq!(
            oci["syscalls"][0],
            json!({"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"})
        );
        assert_eq!(oci["syscalls"][1]["names"], json!(["personality"]));
    }

    #[test]
    fn empty_profile_means_seccomp_disabled() {
        assert_eq!(to_oci(&json!({}), "amd64", &[]).expect("converts"), None);
    }

    #[test]
    fn architectures_and_arch_map_together_are_refused() {
        let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                       "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]});
        let err = to_oci(&p, "amd64", &[]).expect_err("refused");
        assert!(err.to_string().contains("archMap"), "{err}");
    }

    #[test]
    fn name_and_names_together_are_refused() {
        let p = json!({"defaultAction": "SCMP_ACT_ERRNO",
                       "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]});
        let err = to_oci(&p, "amd64", &[]).expect_err("refused");
        assert!(err.to_string().contains("syscalls[0]"), "{err}");
    }

    #[test]
    fn kernel_release_strings_parse() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v595"), Some((6, 18)));
        assert_eq!(parse_kernel_version("5.4"), Some((5, 4)));
        assert_eq!(parse_kernel_version("6"), Some((6, 0)));
        assert_eq!(parse_kernel_version("x"), None);
    }

    #[test]
    fn explicit_profile_path_that_is_missing_is_an_error_naming_it() {
        let err =
            load_profile(Some(Path::new("/nonexistent/berth-seccomp.json"))).expect_err("missing");
        assert!(
            err.to_string().contains("/nonexistent/berth-seccomp.json"),
            "{err}"
        );
    }

    #[test]
    fn no_default_profile_installed_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.json");
        assert!(load_first(&[&a]).expect("no error").is_none());
        std::fs::write(&a, b"[]").expect("write");
        let err = load_first(&[&a]).expect_err("not an object");
        assert!(err.to_string().contains("a.json"), "{err}");
    }

    /// The default profile on this machine, or `None` (with a printed reason).
    fn installed_profile() -> Option<Value> {
        match load_profile(None).expect("loads") {
            Some(p) => Some(p),
            None => {
                eprintln!(
                    "skipped: no {DEFAULT_PROFILE_PATH} (install golang-github-containers-common)"
                );
                None
            }
        }
    }

    use super::super::spec::DEFAULT_CAPABILITIES as DEFAULT_CAPS;

    #[test]
    fn installed_profile_converts_like_podman_for_the_default_caps() {
        let Some(profile) = installed_profile() else {
            return;
        };
        let oci = to_oci(&profile, "amd64", &caps(DEFAULT_CAPS))
            .expect("converts")
            .expect("enabled");
        assert_eq!(oci["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(
            oci["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
        // CAP_SYS_CHROOT is in the default set: chroot is allowed.
        assert!(rules_for(&oci, "chroot")
            .iter()
            .all(|r| r["action"] == "SCMP_ACT_ALLOW"));
        assert!(!rules_for(&oci, "chroot").is_empty());
        // CAP_SYS_MODULE is not: init_module is denied with EPERM.
        let module = rules_for(&oci, "init_module");
        assert!(!module.is_empty());
        assert!(module
            .iter()
            .all(|r| r["action"] == "SCMP_ACT_ERRNO" && r["errnoRet"] == 1));
        // amd64 gets arch_prctl; ppc64le-only and s390-only rules are gone.
        assert!(!rules_for(&oci, "arch_prctl").is_empty());
        assert!(rules_for(&oci, "sync_file_range2").is_empty());
        assert!(rules_for(&oci, "s390_runtime_instr").is_empty());
        // No containers/common-only fields leak into the OCI object.
        for rule in oci["syscalls"].as_array().expect("rules") {
            for key in ["includes", "excludes", "comment", "errno"] {
                assert!(rule.get(key).is_none(), "{key} in {rule}");
            }
        }
    }

    #[test]
    fn installed_profile_allows_bpf_only_with_cap_sys_admin() {
        let Some(profile) = installed_profile() else {
            return;
        };
        let without = to_oci(&profile, "amd64", &caps(DEFAULT_CAPS))
            .expect("ok")
            .expect("on");
        let bpf = rules_for(&without, "bpf");
        assert!(!bpf.is_empty() && bpf.iter().all(|r| r["action"] == "SCMP_ACT_ERRNO"));
        let mut with = caps(DEFAULT_CAPS);
        with.push("CAP_SYS_ADMIN".into());
        let with = to_oci(&profile, "amd64", &with).expect("ok").expect("on");
        let bpf = rules_for(&with, "bpf");
        assert!(!bpf.is_empty() && bpf.iter().all(|r| r["action"] == "SCMP_ACT_ALLOW"));
    }
}
