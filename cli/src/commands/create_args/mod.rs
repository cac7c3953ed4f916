//! `create` / `run` flags, with Podman's spellings and rules, and their pure
//! conversion into the engine's `ContainerCreateRequest` plus the client's own options.

mod args;
pub(crate) mod env;
mod host;
pub(crate) mod lifecycle;
mod logging;
mod mount_flag;
mod mounts;
pub(crate) mod network;
pub(crate) mod resources;
mod secret_flag;
mod security;
pub(crate) mod units;

#[cfg(test)]
mod tests;

pub use args::{CreateArgs, RunArgs};
pub use host::{Host, SystemHost};

use berth_types::container::{parse_detach_keys, ContainerCreateRequest};
use berth_types::image::{PlatformSpec, RegistryOptions};
use std::io;
use std::path::PathBuf;

/// The default `--detach-keys`: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: [u8; 2] = [0x10, 0x11];

/// What the client does around the engine calls (the engine never sees these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// `-d`: print the ID and return instead of attaching (`run` only).
    pub detach: bool,
    /// `--detach-keys` as bytes; empty disables detaching (`run` only).
    pub detach_keys: Vec<u8>,
    /// `--sig-proxy`: forward the client's signals to the container (`run` only).
    pub sig_proxy: bool,
    /// `--cidfile`: write the container ID here (refuse if it exists).
    pub cidfile: Option<PathBuf>,
    /// `--pidfile`: write the container's PID here once started.
    pub pidfile: Option<PathBuf>,
    /// `-q`: no pull progress.
    pub quiet: bool,
}

/// A flag value Berth cannot use; each message names the flag and the value.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    /// `invalid argument "12x" for "-m, --memory" flag: invalid size: '12x'`.
    #[error("invalid argument {value:?} for \"{flag}\" flag: {reason}")]
    Invalid {
        flag: &'static str,
        value: String,
        reason: String,
    },
    /// Flags that cannot be used together.
    #[error("{0}")]
    Conflict(String),
    /// A flag clap let through as the image (an unknown flag before IMAGE).
    #[error("unknown flag: {0}")]
    UnknownFlag(String),
    #[error("duplicate mount destination {0}")]
    DuplicateMountDestination(String),
    /// Valid for Podman, not (yet) for Berth.
    #[error("{0}")]
    Unsupported(String),
    #[error("cannot read {flag} {}", path.display())]
    ReadFile {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{flag} {}: {reason}", path.display())]
    FileContent {
        flag: &'static str,
        path: PathBuf,
        reason: String,
    },
}

pub(crate) fn invalid(flag: &'static str, value: &str, reason: impl Into<String>) -> ArgError {
    ArgError::Invalid {
        flag,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// `--pid`, `--ipc`, `--uts`: `host` or `container:ID`; `private` (and, for IPC,
/// `shareable`) are the default, a namespace of the container's own.
fn namespace_mode(flag: &'static str, value: Option<&str>) -> Result<String, ArgError> {
    match value {
        None | Some("" | "private" | "shareable") => Ok(String::new()),
        Some("host") => Ok("host".into()),
        Some(v) => match v.strip_prefix("container:") {
            Some(c) if !c.is_empty() => Ok(v.to_string()),
            _ => Err(invalid(flag, v, "use private, host or container:ID")),
        },
    }
}

/// Podman's rule for container and volume names.
pub(crate) const NAME_RULE: &str = "[a-zA-Z0-9][a-zA-Z0-9_.-]*";

pub(crate) fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

impl CreateArgs {
    /// The engine's request and the client's options. `create_command` is the
    /// command line as typed (inspect's `Config.CreateCommand`). Reads nothing but
    /// what `host` gives it; the global `--runtime` is the caller's to fill in.
    pub fn to_request(
        &self,
        host: &dyn Host,
        create_command: Vec<String>,
    ) -> Result<(ContainerCreateRequest, ClientOptions), ArgError> {
        if self.image().starts_with('-') {
            return Err(ArgError::UnknownFlag(self.image().to_string()));
        }
        let net = network::network_flags(&network::Input {
            network: &self.network,
            ip: self.ip.as_deref(),
            mac: self.mac_address.as_deref(),
            aliases: &self.network_alias,
            publish: &self.publish,
            publish_all: self.publish_all,
        })?;
        let network = net.mode.clone();
        let restart = lifecycle::restart_policy(self.restart.as_deref(), self.rm)?;
        let request = ContainerCreateRequest {
            image: self.image().to_string(),
            name: self.name.as_deref().map(container_name).transpose()?,
            command: self.command().to_vec(),
            entrypoint: self.entrypoint.as_deref().map(lifecycle::entrypoint),
            env: env::environment(self.env_host, &self.env_file, &self.env, host)?,
            workdir: self.workdir.as_deref().map(workdir).transpose()?,
            user: self.user.clone(),
            group_add: self.group_add.clone(),
            hostname: self.hostname.clone(),
            labels: env::labels(&self.label_file, &self.label, host)?,
            annotations: env::annotations(&self.annotation)?,
            tty: self.tty,
            interactive: self.interactive,
            remove: self.rm,
            init: self.init,
            read_only: self.read_only,
            read_only_tmpfs: self.read_only && self.read_only_tmpfs,
            privileged: self.privileged,
            cap_add: security::capabilities("--cap-add", &self.cap_add)?,
            cap_drop: security::capabilities("--cap-drop", &self.cap_drop)?,
            security_opt: security::security_opts(&self.security_opt)?,
            devices: security::devices(&self.device)?,
            mounts: mounts::mounts(&self.volume, &self.mount, &self.tmpfs, host)?,
            resources: resources::resources(self)?,
            ulimits: resources::ulimits(&self.ulimit)?,
            restart,
            health: lifecycle::health(self)?,
            stop_signal: self
                .stop_signal
                .as_deref()
                .map(lifecycle::stop_signal)
                .transpose()?,
            stop_timeout: self.stop_timeout,
            log_driver: logging::log_driver(self.log_driver.as_deref())?,
            log_opts: logging::log_opts(&self.log_opt)?,
            pull: super::pull::policy(&self.pull).map_err(|_| {
                invalid("--pull", &self.pull, "use always, missing, never or newer")
            })?,
            registry: self.registry()?,
            platform: self.platform()?,
            networks: net.networks,
            ports: net.ports,
            publish_all: self.publish_all,
            dns: network::dns_servers(&self.dns)?,
            dns_search: self.dns_search.clone(),
            dns_options: self.dns_option.clone(),
            add_hosts: network::add_hosts(&self.add_host, self.no_hosts)?,
            no_hosts: self.no_hosts,
            sysctls: security::sysctls(&self.sysctl, &network)?,
            network,
            shm_size: resources::shm_size(self.shm_size.as_deref())?,
            timeout: self.timeout.filter(|t| *t > 0),
            runtime: None,
            userns: self.userns.clone().unwrap_or_default(),
            uidmap: self.uidmap.clone(),
            gidmap: self.gidmap.clone(),
            cgroup_manager: String::new(),
            secrets: secret_flag::secrets(&self.secret)?,
            pod: self.pod.clone().unwrap_or_default(),
            pid: namespace_mode("--pid", self.pid.as_deref())?,
            ipc: namespace_mode("--ipc", self.ipc.as_deref())?,
            uts: namespace_mode("--uts", self.uts.as_deref())?,
            cgroupns: match self.cgroupns.as_deref() {
                Some("private") => "private".into(),
                other => namespace_mode("--cgroupns", other)?,
            },
            init_container: self.init_container()?,
            create_command,
        };
        let client = ClientOptions {
            detach: false,
            detach_keys: DEFAULT_DETACH_KEYS.to_vec(),
            sig_proxy: true,
            cidfile: self.cidfile.clone(),
            pidfile: self.pidfile.clone(),
            quiet: self.quiet,
        };
        Ok((request, client))
    }

    fn init_container(&self) -> Result<Option<String>, ArgError> {
        match self.init_ctr.as_deref() {
            None => Ok(None),
            Some(t @ ("always" | "once")) if self.pod.is_some() => Ok(Some(t.to_string())),
            Some("always" | "once") => Err(ArgError::Conflict(
                "--init-ctr needs --pod: init containers belong to a pod".into(),
            )),
            Some(t) => Err(invalid("--init-ctr", t, "use always or once")),
        }
    }

    fn registry(&self) -> Result<RegistryOptions, ArgError> {
        let credentials = super::parse_creds(self.creds.as_deref()).map_err(|_| {
            ArgError::Conflict("invalid --creds: the username is empty".to_string())
        })?;
        Ok(RegistryOptions {
            tls_verify: self.tls_verify,
            cert_dir: self.cert_dir.clone(),
            credentials,
            authfile: self.authfile.clone(),
        })
    }

    fn platform(&self) -> Result<PlatformSpec, ArgError> {
        PlatformSpec::from_flags(
            self.os.as_deref(),
            self.arch.as_deref(),
            self.variant.as_deref(),
            self.platform.as_deref(),
        )
        .map_err(|reason| {
            invalid(
                "--platform",
                self.platform.as_deref().unwrap_or_default(),
                reason,
            )
        })
    }
}

impl RunArgs {
    /// As [`CreateArgs::to_request`], with `run`'s session flags in the client options.
    pub fn to_request(
        &self,
        host: &dyn Host,
        create_command: Vec<String>,
    ) -> Result<(ContainerCreateRequest, ClientOptions), ArgError> {
        let (request, mut client) = self.create.to_request(host, create_command)?;
        client.detach = self.detach;
        client.sig_proxy = self.sig_proxy;
        if let Some(keys) = &self.detach_keys {
            client.detach_keys = parse_detach_keys(keys).map_err(|_| {
                invalid(
                    "--detach-keys",
                    keys,
                    "use single characters or ctrl-<key> (a-z, @, [, \\, ], ^, _), comma-separated",
                )
            })?;
        }
        Ok((request, client))
    }
}

fn container_name(name: &str) -> Result<String, ArgError> {
    if is_valid_name(name) {
        Ok(name.to_string())
    } else {
        Err(invalid(
            "--name",
            name,
            format!("names must match {NAME_RULE}"),
        ))
    }
}

fn workdir(dir: &str) -> Result<String, ArgError> {
    if dir.starts_with('/') {
        Ok(dir.to_string())
    } else {
        Err(invalid("-w, --workdir", dir, "must be an absolute path"))
    }
}
