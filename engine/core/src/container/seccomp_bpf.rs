//! The seccomp profile compiled once, not per container. crun compiles the spec's
//! seccomp section with libseccomp every time a container starts (about 15 ms for the
//! default profile's three architectures); it also accepts the finished BPF program in
//! the `run.oci.seccomp_bpf_data` annotation. Berth compiles the profile the way crun
//! does (same library, same rules: actions equal to the default are skipped, unknown
//! syscall names are ignored, several conditions on one argument become separate
//! rules), keeps the program in the run root keyed by the profile's digest, and hands
//! it to crun. runc has no such annotation and still compiles the section itself.

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{self, Read, Seek};
use std::path::Path;
use std::str::FromStr;

/// The annotation crun reads the program from (base64).
pub const ANNOTATION: &str = "run.oci.seccomp_bpf_data";

/// The BPF program for `profile` (an OCI `linux.seccomp` section), from the cache in
/// `cache_dir` or compiled into it. `None` when the profile asks for something only the
/// runtime can set up (a notification listener).
pub fn program(profile: &Value, cache_dir: &Path) -> io::Result<Option<Vec<u8>>> {
    if profile.get("listenerPath").is_some_and(|p| !p.is_null())
        || rules(profile).any(|r| r["action"] == "SCMP_ACT_NOTIFY")
    {
        return Ok(None);
    }
    let text = serde_json::to_vec(profile).map_err(io::Error::other)?;
    let key = hex::encode(Sha256::digest(&text));
    let path = cache_dir.join(format!("{key}.bpf"));
    if let Ok(bpf) = std::fs::read(&path) {
        if !bpf.is_empty() && bpf.len().is_multiple_of(8) {
            return Ok(Some(bpf));
        }
    }
    let bpf = compile(profile)?;
    std::fs::create_dir_all(cache_dir)?;
    crate::store::fsutil::write_atomic(&path, &bpf, 0o644)?;
    Ok(Some(bpf))
}

fn rules(profile: &Value) -> impl Iterator<Item = &Value> {
    profile["syscalls"].as_array().into_iter().flatten()
}

fn bad(msg: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("seccomp profile: {msg}"),
    )
}

fn action(name: &Value, errno: &Value) -> io::Result<ScmpAction> {
    let errno = errno.as_i64().map(|e| e as i32);
    Ok(match name.as_str().unwrap_or_default() {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_ERRNO" => ScmpAction::Errno(errno.unwrap_or(libc_eperm())),
        "SCMP_ACT_TRACE" => ScmpAction::Trace(errno.unwrap_or(libc_eperm()) as u16),
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        "SCMP_ACT_LOG" => ScmpAction::Log,
        other => return Err(bad(format!("unknown action {other:?}"))),
    })
}

fn libc_eperm() -> i32 {
    rustix::io::Errno::PERM.raw_os_error()
}

fn operator(op: &Value, value: u64) -> io::Result<ScmpCompareOp> {
    Ok(match op.as_str().unwrap_or_default() {
        "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
        "SCMP_CMP_LT" => ScmpCompareOp::Less,
        "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
        "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
        "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
        "SCMP_CMP_GT" => ScmpCompareOp::Greater,
        "SCMP_CMP_MASKED_EQ" => ScmpCompareOp::MaskedEqual(value),
        other => return Err(bad(format!("unknown operator {other:?}"))),
    })
}

/// One argument condition as crun builds it: `value` is the datum, or the mask for
/// MASKED_EQ, where `valueTwo` is the datum.
fn condition(arg: &Value) -> io::Result<ScmpArgCompare> {
    let index = arg["index"]
        .as_u64()
        .filter(|i| *i < 6)
        .ok_or_else(|| bad("argument index"))?;
    let value = arg["value"].as_u64().unwrap_or(0);
    let op = operator(&arg["op"], value)?;
    let datum = match op {
        ScmpCompareOp::MaskedEqual(_) => arg["valueTwo"].as_u64().unwrap_or(0),
        _ => value,
    };
    Ok(ScmpArgCompare::new(index as u32, op, datum))
}

fn seccomp_err(e: libseccomp::error::SeccompError) -> io::Error {
    io::Error::other(format!("seccomp: {e}"))
}

/// Compiles `profile` with libseccomp into the raw BPF program.
pub fn compile(profile: &Value) -> io::Result<Vec<u8>> {
    let default = action(&profile["defaultAction"], &profile["defaultErrnoRet"])?;
    let mut ctx = ScmpFilterContext::new(default).map_err(seccomp_err)?;
    for arch in profile["architectures"].as_array().into_iter().flatten() {
        let name = arch.as_str().unwrap_or_default();
        let arch = ScmpArch::from_str(name).map_err(|_| bad(format!("architecture {name:?}")))?;
        // The native one is already there.
        if !ctx.is_arch_present(arch).unwrap_or(false) {
            ctx.add_arch(arch).map_err(seccomp_err)?;
        }
    }
    for rule in rules(profile) {
        let act = action(&rule["action"], &rule["errnoRet"])?;
        if act == default {
            continue;
        }
        let conditions = rule["args"]
            .as_array()
            .into_iter()
            .flatten()
            .take(6)
            .map(condition)
            .collect::<io::Result<Vec<_>>>()?;
        let mut seen = [0u8; 6];
        let repeated = rule["args"].as_array().into_iter().flatten().any(|a| {
            let i = a["index"].as_u64().unwrap_or(0).min(5) as usize;
            seen[i] += 1;
            seen[i] > 1
        });
        for name in rule["names"].as_array().into_iter().flatten() {
            let Some(name) = name.as_str() else { continue };
            // Syscalls this libseccomp does not know are left out, as crun does.
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                continue;
            };
            if conditions.is_empty() {
                ctx.add_rule(act, syscall).map_err(seccomp_err)?;
            } else if !repeated {
                ctx.add_rule_conditional(act, syscall, &conditions)
                    .map_err(seccomp_err)?;
            } else {
                // Several conditions on one argument: any of them matches.
                for c in &conditions {
                    ctx.add_rule_conditional(act, syscall, std::slice::from_ref(c))
                        .map_err(seccomp_err)?;
                }
            }
        }
    }
    let mut file = tempfile::tempfile()?;
    ctx.export_bpf(&file).map_err(seccomp_err)?;
    file.rewind()?;
    let mut bpf = Vec::new();
    file.read_to_end(&mut bpf)?;
    Ok(bpf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_profile_compiles_to_whole_bpf_instructions_and_is_cached() {
        let profile = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [
                {"names": ["read", "write", "no_such_syscall"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                          {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
            ]
        });
        let bpf = compile(&profile).expect("compiles");
        assert!(
            !bpf.is_empty() && bpf.len().is_multiple_of(8),
            "{} bytes",
            bpf.len()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let first = program(&profile, dir.path())
            .expect("program")
            .expect("bpf");
        assert_eq!(first, bpf, "deterministic");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
        let again = program(&profile, dir.path())
            .expect("program")
            .expect("bpf");
        assert_eq!(again, bpf);
        let notify = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]});
        assert_eq!(program(&notify, dir.path()).expect("program"), None);
        let bad = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_EXPLODE"}]});
        assert!(compile(&bad).is_err());
    }
}
