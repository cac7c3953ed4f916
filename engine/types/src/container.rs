//! Containers as front ends see them: the create request (every `run`/`create` flag,
//! already parsed), list rows, and Podman's inspect document.

use crate::image::{PlatformSpec, PullPolicy, RegistryOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a mount in a create request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host path (`-v /host:/ctr`, `--mount type=bind`).
    Bind,
    /// A named or anonymous volume (`-v name:/ctr`, `-v /ctr`, `--mount type=volume`).
    Volume,
    /// A tmpfs (`--tmpfs /ctr`, `--mount type=tmpfs`).
    Tmpfs,
}

/// One mount of a create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    pub kind: MountKind,
    /// Host path (bind), volume name (volume; `None` for an anonymous one), unused for tmpfs.
    pub source: Option<String>,
    pub destination: String,
    /// Options as given: `ro`, `rw`, `z`, `Z`, `U`, `nosuid`, `size=…`, `mode=…`…
    pub options: Vec<String>,
}

/// The resource names `--ulimit` takes (RLIMIT_ + the upper-cased name).
pub const RLIMIT_NAMES: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// Resource limits (`--memory`, `--cpus`, …); `None` means unlimited / the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub cpus: Option<f64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub pids_limit: Option<i64>,
}

/// `--restart`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPolicy {
    /// `no`, `on-failure`, `always`, `unless-stopped`.
    pub name: String,
    pub max_retries: u32,
}

/// `--health-*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthConfig {
    /// `["CMD-SHELL", "…"]` or `["CMD", …]`.
    pub test: Vec<String>,
    pub interval_secs: u64,
    pub timeout_secs: u64,
    pub start_period_secs: u64,
    pub retries: u32,
}

/// Everything `create` and `run` were asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerCreateRequest {
    pub image: String,
    pub name: Option<String>,
    /// Arguments after the image (replace the image's CMD when not empty).
    pub command: Vec<String>,
    /// `--entrypoint` (replaces the image's ENTRYPOINT; an empty list clears it).
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE` pairs, in order (`-e`, `--env-file`, `--env-host` already merged).
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub group_add: Vec<String>,
    pub hostname: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub tty: bool,
    pub interactive: bool,
    pub remove: bool,
    pub init: bool,
    pub read_only: bool,
    pub read_only_tmpfs: bool,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt` values as given.
    pub security_opt: Vec<String>,
    /// `--device HOST[:CONTAINER[:PERMS]]`.
    pub devices: Vec<String>,
    pub mounts: Vec<MountSpec>,
    pub resources: Resources,
    pub ulimits: Vec<Ulimit>,
    pub restart: RestartPolicy,
    pub health: Option<HealthConfig>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u32>,
    /// `k8s-file` (default), `json-file` (an alias), `none`.
    pub log_driver: String,
    pub log_opts: BTreeMap<String, String>,
    pub pull: PullPolicy,
    /// `--platform` / `--os` / `--arch` / `--variant`: which image of a list to pull.
    #[serde(default)]
    pub platform: PlatformSpec,
    pub registry: RegistryOptions,
    /// `bridge` (the networks below, the default one when empty), `none`, `host`,
    /// `container:ID` or `ns:PATH`.
    pub network: String,
    /// The networks joined in `bridge` mode (`--network a,b`, `--network name:ip=…`).
    #[serde(default)]
    pub networks: Vec<crate::network::NetworkAttachment>,
    /// `-p`.
    #[serde(default)]
    pub ports: Vec<crate::network::PortMapping>,
    /// `-P`: every EXPOSEd port of the image on a random host port.
    #[serde(default)]
    pub publish_all: bool,
    /// `--dns`, `--dns-search`, `--dns-option`.
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(default)]
    pub dns_search: Vec<String>,
    #[serde(default)]
    pub dns_options: Vec<String>,
    /// `--add-host NAME:IP`.
    #[serde(default)]
    pub add_hosts: Vec<String>,
    /// `--no-hosts`: leave the image's /etc/hosts alone.
    #[serde(default)]
    pub no_hosts: bool,
    pub sysctls: BTreeMap<String, String>,
    pub shm_size: Option<u64>,
    /// `--timeout`: seconds after which the container is killed.
    pub timeout: Option<u32>,
    /// OCI runtime name or path (`--runtime`).
    pub runtime: Option<String>,
    /// `--userns` as given (`host`, `keep-id[:uid=,gid=]`, `nomap`, `auto[:size=]`);
    /// empty: the caller's own namespace.
    #[serde(default)]
    pub userns: String,
    /// `--uidmap` / `--gidmap`: `CONTAINER_ID:HOST_ID:SIZE` each.
    #[serde(default)]
    pub uidmap: Vec<String>,
    #[serde(default)]
    pub gidmap: Vec<String>,
    /// The cgroup manager it was created with (`cgroupfs`, `systemd`); set by the
    /// engine at create from `--cgroup-manager` and the host.
    #[serde(default)]
    pub cgroup_manager: String,
    /// `--secret`s.
    #[serde(default)]
    pub secrets: Vec<crate::secret::SecretUse>,
    /// The pod it belongs to (`--pod`): its name or ID as given; the pod's ID once
    /// created.
    #[serde(default)]
    pub pod: String,
    /// `--pid`, `--ipc`, `--uts`: empty (a namespace of its own), `host`, or
    /// `container:ID` (another container's, as a pod's containers share the infra's).
    #[serde(default)]
    pub pid: String,
    #[serde(default)]
    pub ipc: String,
    #[serde(default)]
    pub uts: String,
    /// `--cgroupns`: empty (the host's default: a namespace of its own on cgroup v2
    /// only), `private`, `host`, or `container:ID`.
    #[serde(default)]
    pub cgroupns: String,
    /// `--init-ctr always|once`: a pod's init container, run to completion before the
    /// pod's other containers start (`once`: removed after its first run).
    #[serde(default)]
    pub init_container: Option<String>,
    /// The command line that created it (inspect's `Config.CreateCommand`).
    pub create_command: Vec<String>,
}

/// What `ps` shows of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerSummary {
    pub id: String,
    pub names: Vec<String>,
    pub image: String,
    pub image_id: String,
    pub command: Vec<String>,
    /// Seconds since the epoch.
    pub created: i64,
    pub created_at: String,
    pub state: String,
    pub status: String,
    pub exit_code: i32,
    pub exited: bool,
    pub exited_at: i64,
    pub started_at: i64,
    pub pid: i64,
    pub labels: BTreeMap<String, String>,
    pub mounts: Vec<String>,
    pub auto_remove: bool,
    /// Size of the writable layer, when asked for (`ps --size`).
    pub size: Option<u64>,
    /// `starting`, `healthy` or `unhealthy` for a container with a health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// Published ports (the host ports chosen at start while it runs).
    #[serde(default)]
    pub ports: Vec<crate::network::PortMapping>,
    /// The networks it joined.
    #[serde(default)]
    pub networks: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListContainersRequest {
    pub all: bool,
    pub filters: Vec<String>,
    /// Also measure the writable layer (`--size`).
    pub size: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveContainersRequest {
    pub names: Vec<String>,
    pub force: bool,
    pub all: bool,
    pub volumes: bool,
    pub ignore_missing: bool,
    /// Seconds to wait for a graceful stop before killing (with `force`).
    pub timeout: Option<u32>,
}

/// Which logs to return.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsRequest {
    pub name: String,
    pub follow: bool,
    pub tail: Option<usize>,
    /// Unix nanoseconds bounds.
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub timestamps: bool,
}

/// One line of a container's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// RFC 3339 with nanoseconds.
    pub time: String,
    pub stream: LogStream,
    /// Without the trailing newline; `partial` when the line had none.
    pub text: Vec<u8>,
    pub partial: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// Where an attached client's bytes go and come from.
pub struct AttachStreams<'a> {
    /// Read on a detached thread (a terminal read cannot be interrupted), hence `'static`.
    pub stdin: Option<Box<dyn std::io::Read + Send + 'static>>,
    pub stdout: Box<dyn std::io::Write + Send + 'a>,
    pub stderr: Box<dyn std::io::Write + Send + 'a>,
    /// Detach sequence (`ctrl-p,ctrl-q` by default); empty disables detaching.
    pub detach_keys: Vec<u8>,
    /// Terminal size changes (rows, columns) to pass on, for a TTY.
    pub resize: Option<std::sync::mpsc::Receiver<(u16, u16)>>,
    /// Called once the container runs, before any of its output is relayed (an
    /// attached `start`: the API answers the start request then).
    pub started: Option<Box<dyn FnOnce() + Send + 'a>>,
}

/// What `stat` tells of a path in a container (the `cp` API's path header).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStat {
    /// The final component's name (a symlink's target's name when it was followed).
    pub name: String,
    pub size: u64,
    /// `st_mode`: the type and permission bits.
    pub mode: u32,
    /// Modification time, Unix seconds and nanoseconds.
    pub mtime_secs: i64,
    pub mtime_nanos: u32,
}

/// `exec`: a command to run in a running container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    pub command: Vec<String>,
    /// `KEY=VALUE`, added to the container's environment.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub tty: bool,
    pub interactive: bool,
    pub privileged: bool,
    /// Start it and return at once (`-d`).
    pub detach: bool,
}

/// One change of a container's filesystem (`diff`): kind `A`, `C` or `D`, and the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: char,
    pub path: String,
}

/// `commit`: a new image from a container's changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRequest {
    pub container: String,
    /// The new image's name (none: a dangling image).
    pub image: Option<String>,
    /// Dockerfile-style instructions (`CMD ["sh"]`, `ENV A=b`…).
    pub changes: Vec<String>,
    pub message: Option<String>,
    pub author: Option<String>,
}

/// `import`: an image from a root filesystem tarball.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    pub image: Option<String>,
    pub changes: Vec<String>,
    pub message: Option<String>,
}

/// `stats`: one container's resource use, read from its cgroup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerStats {
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    pub name: String,
    /// CPU time used, in nanoseconds.
    pub cpu_nano: u64,
    /// Average CPU use since the container started, in percent of one CPU.
    pub avg_cpu: f64,
    pub mem_usage: u64,
    pub mem_limit: u64,
    pub mem_perc: f64,
    pub block_input: u64,
    pub block_output: u64,
    #[serde(rename = "PIDs")]
    pub pids: u64,
    /// Seconds the container has been up.
    pub up_time: f64,
}

/// How an attached session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachEnd {
    /// The container exited with this code.
    Exited(i32),
    /// The user pressed the detach keys; the container runs on.
    Detached,
}

/// `create`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerCreated {
    pub id: String,
    pub warnings: Vec<String>,
}

/// Parses Podman's `--detach-keys` (`ctrl-p,ctrl-q`, `a`, `ctrl-[`…) into bytes.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>, String> {
    if spec.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for key in spec.split(',') {
        let b = if let Some(c) = key.strip_prefix("ctrl-") {
            match c {
                "@" => 0,
                "[" => 27,
                "\\" => 28,
                "]" => 29,
                "^" => 30,
                "_" => 31,
                c if c.len() == 1 && c.as_bytes()[0].is_ascii_lowercase() => {
                    c.as_bytes()[0] - b'a' + 1
                }
                _ => return Err(format!("invalid detach keys {spec:?}: unknown key {key:?}")),
            }
        } else if key.len() == 1 && key.is_ascii() {
            key.as_bytes()[0]
        } else {
            return Err(format!("invalid detach keys {spec:?}: unknown key {key:?}"));
        };
        out.push(b);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn podman_key_names_become_control_bytes() {
        assert_eq!(super::parse_detach_keys("ctrl-p,ctrl-q"), Ok(vec![16, 17]));
        assert_eq!(super::parse_detach_keys(""), Ok(vec![]));
        assert!(super::parse_detach_keys("ctrl-7").is_err());
    }
}
