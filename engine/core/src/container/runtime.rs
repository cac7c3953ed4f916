//! Driving an OCI runtime binary (crun, runc) through its documented command line:
//! create, start, kill, delete, state, pause, resume, exec. Also picks a runtime that
//! can work on this host: crun 1.8 refuses hybrid cgroup hierarchies where the unified
//! one has controllers, so there the default falls back to runc.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("OCI runtime {name:?} not found: install it or pick another with --runtime")]
    NotFound { name: String },
    #[error("OCI runtime {name} cannot run containers on this host: {reason}")]
    Unusable { name: String, reason: String },
    #[error("running {command}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("{runtime} {verb}: {message}")]
    Failed {
        runtime: String,
        verb: String,
        message: String,
    },
}

/// A resolved runtime: its name (for the state directory) and binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub name: String,
    pub path: PathBuf,
    /// The state directory passed with `--root`.
    pub root: PathBuf,
    /// Further global flags (`--systemd-cgroup` for the systemd cgroup manager).
    pub flags: Vec<String>,
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into());
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/sbin", "/usr/local/sbin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Why crun cannot run here, if it cannot: a cgroup v1 host whose unified (v2)
/// hierarchy has controllers enabled (crun 1.8: "cgroups in hybrid mode not supported").
pub fn crun_blocker() -> Option<String> {
    let is_v2 = rustix::fs::statfs("/sys/fs/cgroup")
        .map(|s| s.f_type == 0x6367_7270)
        .unwrap_or(false);
    if is_v2 {
        return None;
    }
    let controllers = std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers").ok()?;
    let controllers = controllers.trim();
    (!controllers.is_empty()).then(|| {
        format!("cgroups are in hybrid mode with controllers ({controllers}) on the unified hierarchy, which crun does not support")
    })
}

/// Picks the runtime: the one asked for (which must work), else crun, else runc.
pub fn select(
    requested: Option<&str>,
    state_root: impl Fn(&str) -> PathBuf,
) -> Result<Runtime, RuntimeError> {
    let make = |name: &str, path: PathBuf| {
        let base = Path::new(name)
            .file_name()
            .and_then(OsStr::to_str)
            .unwrap_or(name)
            .to_string();
        Runtime {
            root: state_root(&base),
            name: base,
            path,
            flags: Vec::new(),
        }
    };
    if let Some(name) = requested {
        let path = find_in_path(name).ok_or_else(|| RuntimeError::NotFound {
            name: name.to_string(),
        })?;
        let rt = make(name, path);
        if rt.name == "crun" {
            if let Some(reason) = crun_blocker() {
                return Err(RuntimeError::Unusable {
                    name: rt.name,
                    reason: format!("{reason}; use --runtime runc"),
                });
            }
        }
        return Ok(rt);
    }
    if crun_blocker().is_none() {
        if let Some(p) = find_in_path("crun") {
            return Ok(make("crun", p));
        }
    }
    match find_in_path("runc") {
        Some(p) => Ok(make("runc", p)),
        None => Err(RuntimeError::NotFound {
            name: "crun or runc".into(),
        }),
    }
}

impl Runtime {
    /// The command with the global options every call shares.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.path);
        c.arg("--root").arg(&self.root).args(&self.flags);
        c
    }

    /// The runtime of an existing container: its runtime, with its cgroup manager's flags.
    pub fn of_container(
        paths: &crate::store::paths::StorePaths,
        row: &super::store::ContainerRow,
    ) -> Result<Runtime, RuntimeError> {
        let mut rt = select(Some(&row.runtime), |n| super::paths::runtime_root(paths, n))?;
        let manager = super::cgroup::CgroupManager::from_recorded(&row.config.cgroup_manager);
        rt.flags = manager
            .runtime_flags()
            .iter()
            .map(|f| f.to_string())
            .collect();
        Ok(rt)
    }

    fn run(&self, verb: &str, args: &[&OsStr]) -> Result<Output, RuntimeError> {
        let mut c = self.command();
        c.arg(verb)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = c.output().map_err(|source| RuntimeError::Spawn {
            command: format!("{} {verb}", self.name),
            source,
        })?;
        if !out.status.success() {
            return Err(RuntimeError::Failed {
                runtime: self.name.clone(),
                verb: verb.to_string(),
                message: runtime_message(&out.stderr),
            });
        }
        Ok(out)
    }

    pub fn start(&self, id: &str) -> Result<(), RuntimeError> {
        self.run("start", &[OsStr::new(id)]).map(|_| ())
    }

    /// Sends a signal (name or number) to the container's init, or all its processes.
    pub fn kill(&self, id: &str, signal: &str, all: bool) -> Result<(), RuntimeError> {
        let mut args: Vec<&OsStr> = Vec::new();
        if all {
            args.push(OsStr::new("--all"));
        }
        args.push(OsStr::new(id));
        args.push(OsStr::new(signal));
        self.run("kill", &args).map(|_| ())
    }

    /// Removes the runtime's record of the container (`--force` kills it first).
    pub fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        let mut args: Vec<&OsStr> = Vec::new();
        if force {
            args.push(OsStr::new("--force"));
        }
        args.push(OsStr::new(id));
        self.run("delete", &args).map(|_| ())
    }

    pub fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        self.run("pause", &[OsStr::new(id)]).map(|_| ())
    }

    pub fn resume(&self, id: &str) -> Result<(), RuntimeError> {
        self.run("resume", &[OsStr::new(id)]).map(|_| ())
    }

    /// Applies `resources_file` (OCI `linux.resources` JSON) to the running container.
    pub fn update(&self, id: &str, resources_file: &std::path::Path) -> Result<(), RuntimeError> {
        self.run(
            "update",
            &[
                OsStr::new("--resources"),
                resources_file.as_os_str(),
                OsStr::new(id),
            ],
        )
        .map(|_| ())
    }

    /// The runtime's view of the container (`status` field), if it knows it.
    pub fn state(&self, id: &str) -> Option<String> {
        let out = self.run("state", &[OsStr::new(id)]).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v.get("status").and_then(|s| s.as_str()).map(str::to_string)
    }
}

pub use berth_monitor::runtime_log::message as runtime_message;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_for_a_missing_runtime_names_it() {
        let err = select(Some("no-such-runtime-xyz"), |n| {
            PathBuf::from("/tmp").join(n)
        })
        .expect_err("missing");
        assert!(err.to_string().contains("no-such-runtime-xyz"));
    }
}
