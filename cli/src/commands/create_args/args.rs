//! The `create` / `run` command line with Podman's spellings: `CreateArgs` holds every
//! flag the two share, `RunArgs` adds the ones only `run` has (`-d`, `--detach-keys`…).

use clap::{Arg, ArgAction, Args};
use std::path::PathBuf;

/// `berth create [options] IMAGE [COMMAND [ARG...]]`.
///
/// Flags after IMAGE belong to the container (`berth run busybox ls -l /`), as in
/// Podman; see [`CreateArgs::image`] and [`CreateArgs::command`]. `-h` is
/// `--hostname`, so help is `--help` only. Boolean flags also take `--flag=false`;
/// list flags Podman splits on commas (`--cap-add a,b`) are split too.
#[derive(Args, Debug, Clone)]
#[command(disable_help_flag = true, mut_args = podman_bool)]
pub struct CreateArgs {
    /// Print help
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,

    /// Add annotations to container (key=value)
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub annotation: Vec<String>,
    /// Add capabilities to the container
    #[arg(long = "cap-add", value_name = "CAP", value_delimiter = ',')]
    pub cap_add: Vec<String>,
    /// Drop capabilities from the container
    #[arg(long = "cap-drop", value_name = "CAP", value_delimiter = ',')]
    pub cap_drop: Vec<String>,
    /// Write the container ID to the file
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<PathBuf>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "SHARES")]
    pub cpu_shares: Option<u64>,
    /// Number of CPUs. The default is 0.000 which means no limit
    #[arg(long, value_name = "CPUS")]
    pub cpus: Option<f64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Add a host device to the container (HOST[:CONTAINER][:PERMISSIONS])
    #[arg(long, value_name = "DEVICE", value_delimiter = ',')]
    pub device: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image (a string or a JSON array)
    #[arg(long, value_name = "ENTRYPOINT", allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Set environment variables in container (KEY=VALUE, KEY, or PREFIX*)
    #[arg(short, long, value_name = "ENV")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "FILE", value_delimiter = ',')]
    pub env_file: Vec<PathBuf>,
    /// Use all current host environment variables in container
    #[arg(long = "env-host", value_name = "BOOL")]
    pub env_host: bool,
    /// Add additional groups to the primary container process
    #[arg(long = "group-add", value_name = "GROUP", value_delimiter = ',')]
    pub group_add: Vec<String>,
    /// Set a healthcheck command for the container ('none' disables the image's)
    #[arg(
        long = "health-cmd",
        value_name = "COMMAND",
        allow_hyphen_values = true
    )]
    pub health_cmd: Option<String>,
    /// Set an interval for the healthcheck ('disable' turns the timer off)
    #[arg(long = "health-interval", value_name = "DURATION")]
    pub health_interval: Option<String>,
    /// The number of retries allowed before a healthcheck is considered to be unhealthy
    #[arg(long = "health-retries", value_name = "N")]
    pub health_retries: Option<u32>,
    /// The initialization time needed for a container to bootstrap
    #[arg(long = "health-start-period", value_name = "DURATION")]
    pub health_start_period: Option<String>,
    /// The maximum time allowed to complete the healthcheck
    #[arg(long = "health-timeout", value_name = "DURATION")]
    pub health_timeout: Option<String>,
    /// Set container hostname
    #[arg(short = 'h', long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Run an init binary inside the container that forwards signals and reaps processes
    #[arg(long, value_name = "BOOL")]
    pub init: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long, value_name = "BOOL")]
    pub interactive: bool,
    /// Set metadata on container (KEY[=VALUE])
    #[arg(short, long, value_name = "LABEL")]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "FILE", value_delimiter = ',')]
    pub label_file: Vec<PathBuf>,
    /// Logging driver for the container (k8s-file, json-file, none)
    #[arg(long = "log-driver", value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// Logging driver options (path, max-size, max-file, tag)
    #[arg(long = "log-opt", value_name = "NAME=VALUE", value_delimiter = ',')]
    pub log_opt: Vec<String>,
    /// Memory limit (format: <number>[<unit>], where unit = b, k, m or g)
    #[arg(short, long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "SIZE", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Attach a filesystem mount to the container (type=TYPE,...)
    #[arg(long, value_name = "MOUNT")]
    pub mount: Vec<String>,
    /// Assign a name to the container
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Connect the container to a network: a network name (several, or NAME:ip=IP,alias=A,mac=MAC), bridge, none, host, container:ID or ns:PATH
    #[arg(long, visible_alias = "net", value_name = "MODE")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", value_name = "ALIAS")]
    pub network_alias: Vec<String>,
    /// Specify a static IP address for the container
    #[arg(long, value_name = "IP")]
    pub ip: Option<String>,
    /// Container MAC address (e.g. 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address", value_name = "MAC")]
    pub mac_address: Option<String>,
    /// Publish a container's port, or a range of ports, to the host
    #[arg(short = 'p', long, value_name = "[IP:][HOSTPORT:]CTRPORT[/PROTO]")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports on the host interfaces
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Set custom DNS servers
    #[arg(long, value_name = "IP")]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search", value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// Set custom DNS options
    #[arg(long = "dns-option", visible_alias = "dns-opt", value_name = "OPTION")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// Do not create /etc/hosts within the container, instead use the version from the image
    #[arg(long = "no-hosts")]
    pub no_hosts: bool,
    /// Disable healthchecks on container
    #[arg(long = "no-healthcheck", value_name = "BOOL")]
    pub no_healthcheck: bool,
    /// Write the container process ID to the file
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "N", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Give extended privileges to container
    #[arg(long, value_name = "BOOL")]
    pub privileged: bool,
    /// Pull image policy (always, missing, never, newer)
    #[arg(long, value_name = "POLICY", default_value = "missing")]
    pub pull: String,
    /// Suppress output information when pulling images
    #[arg(short, long, value_name = "BOOL")]
    pub quiet: bool,
    /// Make containers root filesystem read-only
    #[arg(long = "read-only", value_name = "BOOL")]
    pub read_only: bool,
    /// With --read-only, mount a read-write tmpfs on /run, /tmp and /var/tmp
    #[arg(long = "read-only-tmpfs", value_name = "BOOL", default_value_t = true)]
    pub read_only_tmpfs: bool,
    /// Restart policy to apply when a container exits (no, always, on-failure[:N], unless-stopped)
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<String>,
    /// Remove container after exit
    #[arg(long, value_name = "BOOL")]
    pub rm: bool,
    /// Security options
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Size of /dev/shm (format: <number>[<unit>])
    #[arg(long = "shm-size", value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Signal to stop a container. Default is SIGTERM
    #[arg(long = "stop-signal", value_name = "SIGNAL")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) that containers stopped by user command have to exit
    #[arg(long = "stop-timeout", value_name = "SECONDS")]
    pub stop_timeout: Option<u32>,
    /// Sysctl options (KEY=VALUE)
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub sysctl: Vec<String>,
    /// Maximum length of time a container is allowed to run, in seconds
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// Mount a temporary filesystem (tmpfs) into a container (PATH[:OPTIONS])
    #[arg(long, value_name = "TMPFS")]
    pub tmpfs: Vec<String>,
    /// Allocate a pseudo-TTY for container
    #[arg(short, long, value_name = "BOOL")]
    pub tty: bool,
    /// Ulimit options (NAME=SOFT[:HARD])
    #[arg(long, value_name = "ULIMIT", value_delimiter = ',')]
    pub ulimit: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,
    /// Add secret to container (NAME[,type=mount|env][,target=T][,uid=N][,gid=N][,mode=M])
    #[arg(long, value_name = "SECRET")]
    pub secret: Vec<String>,
    /// Run container in an existing pod (NAME or ID), or in a new one (new:NAME)
    #[arg(long, value_name = "POD")]
    pub pod: Option<String>,
    /// Make this an init container of its pod: always (run at every pod start) or once
    #[arg(long = "init-ctr", value_name = "TYPE")]
    pub init_ctr: Option<String>,
    /// PID namespace to use (private, host, container:ID)
    #[arg(long, value_name = "MODE")]
    pub pid: Option<String>,
    /// IPC namespace to use (private, shareable, host, container:ID)
    #[arg(long, value_name = "MODE")]
    pub ipc: Option<String>,
    /// UTS namespace to use (private, host, container:ID)
    #[arg(long, value_name = "MODE")]
    pub uts: Option<String>,
    /// Cgroup namespace to use (private, host, container:ID)
    #[arg(long, value_name = "MODE")]
    pub cgroupns: Option<String>,
    /// User namespace to use (host, keep-id[:uid=N,gid=N], nomap, auto[:size=N])
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// UID map for the user namespace (CONTAINER_UID:FROM_UID:AMOUNT)
    #[arg(long, value_name = "CONTAINER_UID:FROM_UID:AMOUNT")]
    pub uidmap: Vec<String>,
    /// GID map for the user namespace (CONTAINER_GID:FROM_GID:AMOUNT)
    #[arg(long, value_name = "CONTAINER_GID:FROM_GID:AMOUNT")]
    pub gidmap: Vec<String>,
    /// Bind mount a volume into the container ([SOURCE:]CONTAINER-DIR[:OPTIONS])
    #[arg(short, long, value_name = "VOLUME")]
    pub volume: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,

    /// Require HTTPS and verify certificates when contacting registries
    #[arg(long = "tls-verify", value_name = "BOOL")]
    pub tls_verify: Option<bool>,
    /// Path to a directory containing TLS certificates and keys
    #[arg(long = "cert-dir", value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Path of the authentication file
    #[arg(long, value_name = "FILE", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
    /// Credentials (USERNAME[:PASSWORD]) to use for authenticating to a registry
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    pub creds: Option<String>,
    /// Use ARCH instead of the architecture of the machine for choosing images
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Use OS instead of the running OS for choosing images
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Use VARIANT instead of the running architecture variant for choosing images
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// Specify the platform for selecting the image (OS/ARCH[/VARIANT])
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", conflicts_with_all = ["arch", "os"])]
    pub platform: Option<String>,

    /// The image, then the command and its arguments (they replace the image's CMD)
    // One positional, so that everything after the image (`--` and flags included)
    // belongs to the container, as with Podman's non-interspersed flags.
    #[arg(
        value_names = ["IMAGE", "COMMAND"],
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub image_and_command: Vec<String>,
}

/// `berth run [options] IMAGE [COMMAND [ARG...]]`: every `create` flag plus the ones
/// about the client's own session.
#[derive(Args, Debug, Clone)]
#[command(mut_args = podman_bool)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Run container in background and print container ID
    #[arg(short, long, value_name = "BOOL")]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", value_name = "BOOL", default_value_t = true)]
    pub sig_proxy: bool,
}

impl CreateArgs {
    /// The image to create the container from.
    pub fn image(&self) -> &str {
        self.image_and_command.first().map_or("", String::as_str)
    }

    /// The command and its arguments, as typed after the image.
    pub fn command(&self) -> &[String] {
        self.image_and_command.get(1..).unwrap_or_default()
    }
}

/// Podman's boolean flags take an optional value after `=` (`--rm`, `--rm=false`,
/// `--tls-verify=false`), never a separate word: `--rm busybox` must not read
/// `busybox` as the value. Applied to every argument whose value name is `BOOL`.
fn podman_bool(arg: Arg) -> Arg {
    if arg.get_value_names().is_none_or(|names| names != ["BOOL"]) {
        return arg;
    }
    let plain = matches!(arg.get_action(), ArgAction::SetTrue);
    let arg = arg
        .action(ArgAction::Set)
        .num_args(0..=1)
        .require_equals(true)
        .default_missing_value("true")
        .hide_possible_values(true);
    match plain && arg.get_default_values().is_empty() {
        true => arg.default_value("false").hide_default_value(true),
        false => arg,
    }
}
