//! The OCI runtime spec (the bundle's config.json) for a container, planned from its
//! create request, its image's config and facts the caller resolved on the host
//! (mounts, user, devices, limits). Pure: every default follows Podman 4.3 (see each
//! submodule), and the output is a `serde_json::Value` the caller writes as is.

mod mounts;
mod process;
mod resources;
mod security;

pub use resources::{parse_device, stat_device, DeviceKind, DeviceRequest, ResolvedDevice};

/// `linux.resources` for `req` without devices (the limits `update` changes).
pub fn limits(req: &ContainerCreateRequest) -> Result<serde_json::Value, SpecError> {
    let mut v = resources::resources(req, &[])?;
    if let Some(m) = v.as_object_mut() {
        m.remove("devices");
    }
    Ok(v)
}
pub use security::{
    capabilities, caps_from_mask, host_bounding_caps, parse_security_opts, Capabilities,
    SeccompChoice, SecurityOpts, ALL_CAPABILITIES, DEFAULT_CAPABILITIES,
};

use super::seccomp::SeccompError;
pub use super::user::ResolvedUser;
use berth_registry::manifest::ImageConfig;
use berth_types::container::ContainerCreateRequest;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Where `--init`'s binary (catatonit) is bind-mounted, read-only.
pub const INIT_PATH: &str = "/run/berth-init";

/// What kind of mount a [`ResolvedMount`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Tmpfs,
}

/// A user mount with its source resolved on the host (a bind source or volume
/// directory; unused for tmpfs). `options` are as given (`ro`, `rw`, propagation,
/// `nosuid`…, tmpfs `size=`/`mode=`); Berth's own `z`, `Z`, `U`, `nocopy` are
/// accepted and left out, the rest is completed with Podman's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMount {
    pub source: PathBuf,
    pub destination: String,
    pub kind: MountType,
    pub options: Vec<String>,
}

/// Everything [`build_spec`] needs.
pub struct SpecInput<'a> {
    pub req: &'a ContainerCreateRequest,
    pub image: &'a ImageConfig,
    /// The mounted overlay root.
    pub rootfs: &'a Path,
    pub hostname: String,
    /// Files Berth writes and bind-mounts: (host file, container path) for /etc/hosts,
    /// /etc/resolv.conf, /etc/hostname, /run/.containerenv.
    pub etc_files: Vec<(PathBuf, String)>,
    pub mounts: Vec<ResolvedMount>,
    pub user: ResolvedUser,
    pub cgroups_path: String,
    /// The caller's hard limits, e.g. `("RLIMIT_NOFILE", 20000)`: defaults are clamped
    /// to them, and a `--ulimit` above one is an error.
    pub host_rlimits: Vec<(String, u64)>,
    /// The seccomp profile in containers/common's format (from
    /// [`super::seccomp::load_profile`]); converted here for the container's bounding
    /// set. `None`: unconfined.
    pub seccomp: Option<Value>,
    /// catatonit on the host, bind-mounted at [`INIT_PATH`] when `req.init`.
    pub init_binary: Option<PathBuf>,
    /// `--device`s, stat'ed on the host ([`stat_device`]).
    pub devices: Vec<ResolvedDevice>,
    /// The network namespace to join by path (bridge networks, `ns:`, `container:`).
    pub netns: Option<PathBuf>,
    /// A user namespace of its own with these mappings (`--userns`, `--uidmap`).
    pub id_mappings: Option<super::idmap::IdMappings>,
    /// `netns` was made by Berth inside the container's user namespace, which is kept
    /// beside it ([`crate::network::netns::userns_path`]) for the runtime to join.
    pub userns_owns_netns: bool,
    /// The user namespace to join instead (another container's, whose network
    /// namespace it shares: a pod's infra container).
    pub userns_path: Option<PathBuf>,
    /// Other namespaces joined by path (`--pid`/`--ipc`/`--uts`/`--cgroupns
    /// container:ID`, a pod's shared ones): (`pid`, `ipc`, `uts` or `cgroup`, path).
    pub joined: Vec<(&'static str, PathBuf)>,
}

/// Facts about the host the spec depends on, apart from [`SpecInput`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// The caller's bounding set ([`host_bounding_caps`]): what `--privileged` and
    /// `--cap-add ALL` mean, and a cap outside it is never asked for. Empty: all caps.
    pub caps: Vec<String>,
    /// Give the container its own cgroup namespace (Podman does on cgroup v2 only).
    pub cgroup_ns: bool,
}

impl HostFacts {
    /// This process's bounding set, and whether /sys/fs/cgroup is cgroup v2 only.
    pub fn detect() -> HostFacts {
        const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;
        let cgroup2 = rustix::fs::statfs("/sys/fs/cgroup")
            .map(|st| st.f_type as u64 == CGROUP2_SUPER_MAGIC)
            .unwrap_or(false);
        HostFacts {
            caps: host_bounding_caps().unwrap_or_default(),
            cgroup_ns: cgroup2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command or entrypoint provided, and no CMD or ENTRYPOINT from image")]
    NoCommand,
    #[error("workdir {0:?} must be an absolute path")]
    Workdir(String),
    #[error("unknown capabilities: {}", .0.join(", "))]
    UnknownCapabilities(Vec<String>),
    #[error("capability {0} cannot be both added and dropped")]
    CapabilityAddedAndDropped(String),
    #[error("adding all capabilities and dropping all capabilities cannot be combined")]
    AllCapabilitiesAddedAndDropped,
    #[error("invalid --security-opt {opt:?}: {reason}")]
    SecurityOpt { opt: String, reason: String },
    #[error("unknown ulimit {0:?}")]
    UnknownUlimit(String),
    #[error("ulimit {name}: soft limit {soft} is above the hard limit {hard}")]
    UlimitSoftAboveHard { name: String, soft: u64, hard: u64 },
    #[error("ulimit {name}={hard} is above this host's hard limit {host_max}")]
    UlimitAboveHost {
        name: String,
        hard: u64,
        host_max: u64,
    },
    #[error("mount at {destination:?}: {reason}")]
    Mount { destination: String, reason: String },
    #[error("--init needs an init binary (catatonit)")]
    InitBinaryMissing,
    #[error("device {device:?}: {reason}")]
    Device { device: String, reason: String },
    #[error("sysctl {name:?}: {reason}")]
    Sysctl { name: String, reason: String },
    #[error("{0}")]
    Resources(String),
    #[error("path {0:?} is not valid UTF-8")]
    NonUtf8Path(PathBuf),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
}

fn path_str(p: &Path) -> Result<&str, SpecError> {
    p.to_str()
        .ok_or_else(|| SpecError::NonUtf8Path(p.to_path_buf()))
}

/// The OCI runtime spec for `input` on this host ([`HostFacts::detect`]).
pub fn build_spec(input: &SpecInput) -> Result<Value, SpecError> {
    build_spec_with(input, &HostFacts::detect())
}

/// The OCI runtime spec for `input` on a host described by `host`. Pure.
pub fn build_spec_with(input: &SpecInput, host: &HostFacts) -> Result<Value, SpecError> {
    let req = input.req;
    let sec = parse_security_opts(&req.security_opt)?;
    let caps = capabilities(req, input.user.uid, &host.caps)?;

    let mut process = process::process(input, &caps)?;
    if sec.no_new_privileges {
        process.insert("noNewPrivileges".into(), json!(true));
    }
    if let Some(profile) = sec.apparmor.as_ref().filter(|_| !req.privileged) {
        if profile != "unconfined" {
            process.insert("apparmorProfile".into(), json!(profile));
        }
    }

    let mut linux = Map::new();
    let netns_not_owned =
        input.id_mappings.is_some() && input.netns.is_some() && !input.userns_owns_netns;
    let sysctls = resources::sysctls(req, netns_not_owned)?;
    if !sysctls.is_empty() {
        linux.insert("sysctl".into(), Value::Object(sysctls));
    }
    linux.insert(
        "resources".into(),
        resources::resources(req, &input.devices)?,
    );
    linux.insert("cgroupsPath".into(), json!(input.cgroups_path));
    linux.insert(
        "namespaces".into(),
        resources::namespaces(req, host.cgroup_ns, input.netns.as_deref(), &input.joined),
    );
    if let Some(m) = &input.id_mappings {
        use super::idmap::IdMappings;
        // The network namespace Berth made comes with the user namespace that owns it.
        let user = match input.netns.as_deref().filter(|_| input.userns_owns_netns) {
            _ if input.userns_path.is_some() => {
                json!({"type": "user", "path": input.userns_path})
            }
            Some(netns) => {
                json!({"type": "user", "path": crate::network::netns::userns_path(netns)})
            }
            None => json!({"type": "user"}),
        };
        if let Some(ns) = linux.get_mut("namespaces").and_then(|n| n.as_array_mut()) {
            ns.push(user);
        }
        linux.insert("uidMappings".into(), IdMappings::spec_entries(&m.uids));
        linux.insert("gidMappings".into(), IdMappings::spec_entries(&m.gids));
    }
    let devices = resources::devices(&input.devices)?;
    if !devices.is_empty() {
        linux.insert("devices".into(), Value::Array(devices));
    }
    if let Some(seccomp) = security::seccomp(input, &sec, &caps.bounding)? {
        linux.insert("seccomp".into(), seccomp);
    }
    let (masked, readonly) = security::masked_paths(req.privileged, &sec);
    if !masked.is_empty() {
        linux.insert("maskedPaths".into(), json!(masked));
    }
    if !readonly.is_empty() {
        linux.insert("readonlyPaths".into(), json!(readonly));
    }

    let mut annotations = Map::new();
    for (k, v) in &req.annotations {
        annotations.insert(k.clone(), json!(v));
    }
    annotations.insert("io.container.manager".into(), json!("berth"));

    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": Value::Object(process),
        "root": {"path": path_str(input.rootfs)?, "readonly": req.read_only},
        "mounts": mounts::mounts(input)?,
        "annotations": Value::Object(annotations),
        "linux": Value::Object(linux),
    });
    // Only a UTS namespace of its own gets a hostname: a joined one keeps its owner's.
    if req.uts.is_empty() {
        spec["hostname"] = json!(input.hostname);
    }
    Ok(spec)
}

#[cfg(test)]
pub(crate) mod testing {
    //! A minimal input the submodules' tests vary one field at a time.
    use super::*;
    use berth_registry::manifest::RunConfig;

    pub fn image(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageConfig {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ImageConfig {
            config: Some(RunConfig {
                env: Some(vec!["FOO=bar".into()]),
                entrypoint: entrypoint.map(list),
                cmd: cmd.map(list),
                ..RunConfig::default()
            }),
            ..ImageConfig::default()
        }
    }

    pub fn root_user() -> ResolvedUser {
        ResolvedUser {
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/root".into(),
        }
    }

    pub fn input<'a>(req: &'a ContainerCreateRequest, image: &'a ImageConfig) -> SpecInput<'a> {
        SpecInput {
            req,
            image,
            rootfs: Path::new("/var/lib/berth/c/merged"),
            hostname: "8428da58c6a8".into(),
            etc_files: vec![(PathBuf::from("/run/berth/c/hosts"), "/etc/hosts".into())],
            mounts: Vec::new(),
            user: root_user(),
            cgroups_path: "/berth/berth-c".into(),
            host_rlimits: vec![
                ("RLIMIT_NOFILE".into(), 20000),
                ("RLIMIT_NPROC".into(), 96365),
            ],
            seccomp: None,
            init_binary: None,
            devices: Vec::new(),
            netns: None,
            id_mappings: None,
            userns_owns_netns: false,
            userns_path: None,
            joined: Vec::new(),
        }
    }

    /// The spec on a host with every capability and cgroup v1.
    pub fn spec_of(input: &SpecInput) -> Value {
        build_spec_with(input, &HostFacts::default()).expect("builds")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn default_spec_matches_podman_top_level_fields() {
        let req = ContainerCreateRequest {
            annotations: [("a".to_string(), "b".to_string())].into(),
            ..Default::default()
        };
        let img = image(None, Some(&["/bin/sh"]));
        let spec = spec_of(&input(&req, &img));
        assert_eq!(spec["ociVersion"], "1.0.2");
        assert_eq!(
            spec["root"],
            json!({"path": "/var/lib/berth/c/merged", "readonly": false})
        );
        assert_eq!(spec["hostname"], "8428da58c6a8");
        assert_eq!(
            spec["annotations"],
            json!({"a": "b", "io.container.manager": "berth"})
        );
        assert_eq!(spec["linux"]["cgroupsPath"], "/berth/berth-c");
        assert_eq!(spec["process"]["args"], json!(["/bin/sh"]));
        assert!(spec["process"].get("noNewPrivileges").is_none());
        assert!(spec["linux"].get("seccomp").is_none());
    }

    #[test]
    fn read_only_makes_the_root_read_only() {
        let req = ContainerCreateRequest {
            read_only: true,
            ..Default::default()
        };
        let img = image(None, Some(&["/bin/sh"]));
        assert_eq!(spec_of(&input(&req, &img))["root"]["readonly"], true);
    }

    #[test]
    fn no_new_privileges_security_opt_sets_the_process_flag() {
        let req = ContainerCreateRequest {
            security_opt: vec!["no-new-privileges".into()],
            ..Default::default()
        };
        let img = image(None, Some(&["/bin/sh"]));
        assert_eq!(
            spec_of(&input(&req, &img))["process"]["noNewPrivileges"],
            true
        );
    }

    #[test]
    fn apparmor_profile_is_passed_unless_unconfined_or_privileged() {
        let img = image(None, Some(&["/bin/sh"]));
        let mut req = ContainerCreateRequest {
            security_opt: vec!["apparmor=my-profile".into()],
            ..Default::default()
        };
        assert_eq!(
            spec_of(&input(&req, &img))["process"]["apparmorProfile"],
            "my-profile"
        );
        req.privileged = true;
        assert!(spec_of(&input(&req, &img))["process"]
            .get("apparmorProfile")
            .is_none());
    }

    #[test]
    fn host_facts_on_this_machine_include_basic_caps() {
        let host = HostFacts::detect();
        assert!(host.caps.contains(&"CAP_CHOWN".to_string()), "{host:?}");
    }

    fn mapped() -> crate::container::idmap::IdMappings {
        let r = crate::container::idmap::IdRange {
            container: 0,
            host: 300000,
            size: 65536,
        };
        crate::container::idmap::IdMappings {
            uids: vec![r],
            gids: vec![r],
        }
    }

    fn namespace<'a>(spec: &'a Value, kind: &str) -> Option<&'a Value> {
        spec["linux"]["namespaces"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["type"] == kind))
    }

    #[test]
    fn a_user_namespace_joins_the_one_that_owns_the_network_namespace() {
        let req = ContainerCreateRequest::default();
        let img = image(None, Some(&["/bin/sh"]));
        let mut inp = input(&req, &img);
        inp.id_mappings = Some(mapped());
        inp.netns = Some(PathBuf::from("/run/berth/netns/berth-c"));
        inp.userns_owns_netns = true;
        let spec = spec_of(&inp);
        assert_eq!(
            namespace(&spec, "user"),
            Some(&json!({"type": "user", "path": "/run/berth/netns/berth-c.userns"}))
        );
        assert_eq!(
            spec["linux"]["uidMappings"],
            json!([{"containerID": 0, "hostID": 300000, "size": 65536}])
        );
        assert_eq!(spec["linux"]["gidMappings"], spec["linux"]["uidMappings"]);
        // It owns its network namespace: sysfs and the default sysctl as usual.
        let sys = spec["mounts"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["destination"] == "/sys"))
            .cloned();
        assert_eq!(sys.map(|m| m["type"].clone()), Some(json!("sysfs")));
        assert_eq!(spec["linux"]["sysctl"]["net.ipv4.ping_group_range"], "0 0");
    }

    #[test]
    fn a_user_namespace_in_the_hosts_network_binds_sys_and_sets_no_net_sysctl() {
        let req = ContainerCreateRequest {
            network: "host".into(),
            ..Default::default()
        };
        let img = image(None, Some(&["/bin/sh"]));
        let mut inp = input(&req, &img);
        inp.id_mappings = Some(mapped());
        let spec = spec_of(&inp);
        assert_eq!(namespace(&spec, "user"), Some(&json!({"type": "user"})));
        assert!(namespace(&spec, "network").is_none());
        let sys = spec["mounts"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["destination"] == "/sys"))
            .cloned()
            .expect("a /sys mount");
        assert_eq!(sys["type"], "bind");
        assert_eq!(sys["source"], "/sys");
        assert!(spec["linux"].get("sysctl").is_none());
        // Without a mapping there is no user namespace at all.
        let plain = spec_of(&input(&req, &img));
        assert!(namespace(&plain, "user").is_none());
        assert!(plain["linux"].get("uidMappings").is_none());
    }

    #[test]
    fn spec_round_trips_through_json_text() {
        let req = ContainerCreateRequest::default();
        let img = image(None, Some(&["/bin/sh"]));
        let spec = spec_of(&input(&req, &img));
        let text = serde_json::to_string(&spec).expect("serialises");
        let back: Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, spec);
    }
}
