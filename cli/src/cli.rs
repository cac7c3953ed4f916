//! The command-line grammar: global options and every subcommand with Podman's flags.
//! Argument structs are shared where Podman has two spellings (`images` / `image ls`).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version = concat!("version ", env!("CARGO_PKG_VERSION")),
    about = "Manage pods, containers and images"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether this runs the API service (or a machine's forwarder).
    pub fn is_service(&self) -> bool {
        matches!(
            self.command,
            Command::System(SystemCommand::Service(_))
                | Command::Machine(crate::commands::machine::MachineCommand::Forward(_))
        )
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct GlobalOpts {
    /// Path to the root directory in which data, including images, is stored
    #[arg(long, global = true, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// Path to the 'run directory' where all state information is stored
    #[arg(long, global = true, value_name = "PATH")]
    pub runroot: Option<PathBuf>,
    /// Select which storage driver is used to manage storage of images and containers
    #[arg(long = "storage-driver", global = true, value_name = "DRIVER")]
    pub storage_driver: Option<String>,
    /// Log messages at and above specified level (trace, debug, info, warn, error)
    #[arg(long = "log-level", global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Path to the OCI-compatible binary used to run containers
    #[arg(long, global = true, value_name = "PATH")]
    pub runtime: Option<String>,
    /// Cgroup manager to use (cgroupfs or systemd)
    #[arg(long = "cgroup-manager", global = true, value_name = "MANAGER")]
    pub cgroup_manager: Option<String>,
    /// Location of the Docker configuration directory (credentials)
    #[arg(long, global = true, value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// Path of a registries.conf to use instead of the system's
    #[arg(
        long = "registries-conf",
        global = true,
        value_name = "FILE",
        env = "CONTAINERS_REGISTRIES_CONF"
    )]
    pub registries_conf: Option<PathBuf>,
    /// Talk to a Berth service instead of the local engine (the default connection,
    /// or the default socket)
    #[arg(short = 'r', long, global = true)]
    pub remote: bool,
    /// URL of the Berth service for remote mode (unix:///path/to/berth.sock)
    #[arg(long, global = true, value_name = "URL", env = "CONTAINER_HOST")]
    pub url: Option<String>,
    /// Connection (from system connection ls) to use for remote mode
    #[arg(long, global = true, value_name = "NAME", env = "CONTAINER_CONNECTION")]
    pub connection: Option<String>,
    /// `-c NAME`, before the command only: after it, `-c` is the command's own
    /// (`run -c` sets the CPU shares, as with Podman). It overrides the environment's.
    #[arg(short = 'c', value_name = "NAME", hide = true)]
    pub connection_short: Option<String>,
    /// SSH identity file for an ssh:// destination (else the ssh-agent's keys)
    #[arg(long, global = true, value_name = "PATH", env = "CONTAINER_SSHKEY")]
    pub identity: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Pull an image from a registry
    Pull(crate::lazy::Lazy<PullArgs>),
    /// Push an image to a specified destination
    Push(crate::lazy::Lazy<PushArgs>),
    /// List images in local storage
    Images(crate::lazy::Lazy<ImagesArgs>),
    /// Display the configuration of an object
    Inspect(crate::lazy::Lazy<InspectArgs>),
    /// Remove one or more images from local storage
    Rmi(crate::lazy::Lazy<RmiArgs>),
    /// Add an additional name to a local image
    Tag(crate::lazy::Lazy<TagArgs>),
    /// Remove a name from a local image
    Untag(crate::lazy::Lazy<UntagArgs>),
    /// Show history of a specified image
    History(crate::lazy::Lazy<HistoryArgs>),
    /// Search a registry for an image
    Search(crate::lazy::Lazy<crate::commands::search::SearchArgs>),
    /// Save image(s) to an archive
    Save(crate::lazy::Lazy<SaveArgs>),
    /// Load image(s) from a tar archive
    Load(crate::lazy::Lazy<LoadArgs>),
    /// Log in to a container registry
    Login(crate::lazy::Lazy<LoginArgs>),
    /// Log out of a container registry
    Logout(crate::lazy::Lazy<LogoutArgs>),
    /// Display the Berth version information
    Version(crate::lazy::Lazy<FormatArgs>),
    /// Display Berth related system information
    Info(crate::lazy::Lazy<FormatArgs>),
    /// Run a command in a new container
    Run(crate::lazy::Lazy<crate::commands::create_args::RunArgs>),
    /// Create but do not start a container
    Create(crate::lazy::Lazy<crate::commands::create_args::CreateArgs>),
    /// Start one or more containers
    Start(crate::lazy::Lazy<crate::container_cli::StartArgs>),
    /// Stop one or more containers
    Stop(crate::lazy::Lazy<crate::container_cli::StopArgs>),
    /// Kill one or more running containers with a specific signal
    Kill(crate::lazy::Lazy<crate::container_cli::KillArgs>),
    /// Remove one or more containers
    Rm(crate::lazy::Lazy<crate::container_cli::RmArgs>),
    /// List containers
    Ps(crate::lazy::Lazy<crate::container_cli::PsArgs>),
    /// Fetch the logs of one or more containers
    Logs(crate::lazy::Lazy<crate::container_cli::LogsArgs>),
    /// Update the resource limits of a container
    Update(crate::lazy::Lazy<crate::commands::update::UpdateArgs>),
    /// Show engine events
    Events(crate::lazy::Lazy<crate::commands::events::EventsArgs>),
    /// Block on one or more containers
    Wait(crate::lazy::Lazy<crate::container_cli::WaitArgs>),
    /// Attach to a running container
    Attach(crate::lazy::Lazy<crate::container_cli::AttachArgs>),
    /// Run a process in a running container
    Exec(crate::lazy::Lazy<crate::container_cli::ExecArgs>),
    /// Restart one or more containers
    Restart(crate::lazy::Lazy<crate::container_cli::RestartArgs>),
    /// Pause all the processes in one or more containers
    Pause(crate::lazy::Lazy<crate::container_cli::NamesArgs>),
    /// Unpause the processes in one or more containers
    Unpause(crate::lazy::Lazy<crate::container_cli::NamesArgs>),
    /// Rename an existing container
    Rename(crate::lazy::Lazy<crate::container_cli::RenameArgs>),
    /// Inspect changes to the container's file systems
    Diff(crate::lazy::Lazy<crate::container_cli::DiffArgs>),
    /// Export a container's filesystem contents as a tar archive
    Export(crate::lazy::Lazy<crate::container_cli::ExportArgs>),
    /// Create new image based on the changed container
    Commit(crate::lazy::Lazy<crate::container_cli::CommitArgs>),
    /// Import a tarball to create a filesystem image
    Import(crate::lazy::Lazy<crate::container_cli::ImportArgs>),
    /// Copy files/folders between a container and the local filesystem
    Cp(crate::lazy::Lazy<crate::container_cli::CpArgs>),
    /// Display the running processes of a container
    Top(crate::lazy::Lazy<crate::container_cli::TopArgs>),
    /// Display a live stream of container resource usage statistics
    Stats(crate::lazy::Lazy<crate::container_cli::StatsArgs>),
    /// List port mappings or a specific mapping for the container
    Port(crate::lazy::Lazy<crate::container_cli::PortArgs>),
    /// Manage health checks on containers
    #[command(subcommand)]
    Healthcheck(crate::container_cli::HealthcheckCommand),
    /// Manage containers
    #[command(subcommand)]
    Container(crate::container_cli::ContainerCommand),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage Berth
    #[command(subcommand)]
    System(SystemCommand),
    /// Manage virtual machines that run the engine
    #[command(subcommand)]
    Machine(crate::commands::machine::MachineCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(crate::commands::network::NetworkCommand),
    /// Manage pods
    #[command(subcommand)]
    Pod(crate::commands::pod::PodCommand),
    /// Play containers, pods or volumes from a structured file
    #[command(subcommand)]
    Kube(crate::commands::kube::KubeCommand),
    /// Play a pod from Kubernetes YAML (as `kube play`)
    #[command(subcommand)]
    Play(crate::commands::kube::PlayCommand),
    /// Generate structured data (as `kube generate`)
    #[command(subcommand)]
    Generate(crate::commands::kube::GenerateCommand),
    /// Run a command in a modified user namespace
    Unshare(crate::lazy::Lazy<UnshareArgs>),
    /// Manage secrets
    #[command(subcommand)]
    Secret(crate::commands::secret::SecretCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(crate::commands::volume::VolumeCommand),
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// List images in local storage
    #[command(alias = "list")]
    Ls(crate::lazy::Lazy<ImagesArgs>),
    /// Pull an image from a registry
    Pull(crate::lazy::Lazy<PullArgs>),
    /// Push an image to a specified destination
    Push(crate::lazy::Lazy<PushArgs>),
    /// Display the configuration of an image
    Inspect(crate::lazy::Lazy<ImageInspectArgs>),
    /// Remove one or more images from local storage
    Rm(crate::lazy::Lazy<RmiArgs>),
    /// Add an additional name to a local image
    Tag(crate::lazy::Lazy<TagArgs>),
    /// Remove a name from a local image
    Untag(crate::lazy::Lazy<UntagArgs>),
    /// Show history of a specified image
    History(crate::lazy::Lazy<HistoryArgs>),
    /// Search a registry for an image
    Search(crate::lazy::Lazy<crate::commands::search::SearchArgs>),
    /// Remove unused images
    Prune(crate::lazy::Lazy<PruneArgs>),
    /// Check if an image exists in local storage
    Exists(crate::lazy::Lazy<ExistsArgs>),
    /// Save image(s) to an archive
    Save(crate::lazy::Lazy<SaveArgs>),
    /// Load image(s) from a tar archive
    Load(crate::lazy::Lazy<LoadArgs>),
}

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show Berth disk usage
    Df(crate::lazy::Lazy<DfArgs>),
    /// Display Berth related system information
    Info(crate::lazy::Lazy<FormatArgs>),
    /// Reset Berth storage
    Reset(crate::lazy::Lazy<ResetArgs>),
    /// Migrate containers; for a rootless user, restart its namespaces (after /etc/subuid changes)
    Migrate,
    /// Run an API service (Docker-compatible) on a unix socket
    Service(crate::lazy::Lazy<crate::commands::service::ServiceArgs>),
    /// Manage the destinations of remote mode
    #[command(subcommand)]
    Connection(crate::commands::connection::ConnectionCommand),
}

/// How to reach a registry (shared by pull, push, login).
#[derive(Args, Debug, Clone, Default)]
pub struct RegistryArgs {
    /// Require HTTPS and verify certificates when contacting registries
    #[arg(long = "tls-verify", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    /// Path to a directory containing TLS certificates and keys
    #[arg(long = "cert-dir", value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Path of the authentication file
    #[arg(long, value_name = "FILE", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Use `USERNAME[:PASSWORD]` for accessing the registry
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
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Suppress output information when pulling images
    #[arg(short, long)]
    pub quiet: bool,
    /// Pull image policy (always, missing, never, newer)
    #[arg(long, value_name = "POLICY", default_value = "always")]
    pub policy: String,
    /// Images to pull
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Use `USERNAME[:PASSWORD]` for accessing the registry
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    pub creds: Option<String>,
    /// Write the digest of the pushed image to the specified file
    #[arg(long, value_name = "FILE")]
    pub digestfile: Option<PathBuf>,
    /// Suppress output information when pushing images
    #[arg(short, long)]
    pub quiet: bool,
    /// The image to push
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Where to push it (defaults to the image's name)
    #[arg(value_name = "DESTINATION")]
    pub destination: Option<String>,
}

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Change the output format to JSON or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Display only image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not print column headings
    #[arg(short = 'n', long)]
    pub noheading: bool,
    /// Sort by created, id, repository, size, tag
    #[arg(long, value_name = "KEY", default_value = "created")]
    pub sort: String,
    /// Only list images matching this reference
    #[arg(value_name = "IMAGE")]
    pub reference: Option<String>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format the output using the given Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Specify inspect-object type (image, all)
    #[arg(short, long = "type", value_name = "TYPE", default_value = "all")]
    pub kind: String,
    /// Objects to inspect
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ImageInspectArgs {
    /// Format the output using the given Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Images to inspect
    #[arg(required = true, value_name = "IMAGE")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Remove all images
    #[arg(short, long)]
    pub all: bool,
    /// Force removal of the image and any containers using it
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors if a specified image does not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Images to remove
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// The image to tag
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// New names
    #[arg(required = true, value_name = "TARGET_NAME")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UntagArgs {
    /// The image to untag
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Names to remove (all when none)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Display sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub human: bool,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Display the numeric IDs only
    #[arg(short, long)]
    pub quiet: bool,
    /// Change the output to JSON or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all images not in use by containers, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. 'label=<key>=<value>')
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExistsArgs {
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to a specified file (default: stdout, which must be redirected)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Save image to oci-archive or docker-archive
    #[arg(long, value_name = "FORMAT", default_value = "docker-archive")]
    pub format: String,
    /// Suppress the output
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from specified archive file (default: stdin)
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Suppress the output
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Username for registry
    #[arg(short, long, value_name = "USERNAME")]
    pub username: Option<String>,
    /// Password for registry
    #[arg(short, long, value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// Return the current login user for the registry
    #[arg(long = "get-login")]
    pub get_login: bool,
    #[arg(value_name = "REGISTRY")]
    pub server: String,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    /// Remove the cached credentials for all registries in the auth file
    #[arg(short, long)]
    pub all: bool,
    /// Path of the authentication file
    #[arg(long, value_name = "FILE", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
    #[arg(value_name = "REGISTRY")]
    pub server: Option<String>,
}

#[derive(Args, Debug)]
pub struct FormatArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct DfArgs {
    /// Pretty-print images using a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show detailed information on disk usage
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct ResetArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(clap::Args, Debug)]
pub struct UnshareArgs {
    /// The command and its arguments (default: $SHELL)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn c_is_the_connection_before_the_command_and_the_commands_own_after() {
        let cli =
            Cli::try_parse_from(["berth", "-c", "vm", "run", "-c", "512", "img"]).expect("parses");
        assert_eq!(cli.global.connection_short.as_deref(), Some("vm"));
        let Command::Run(a) = cli.command else {
            panic!("run");
        };
        assert_eq!(a.create.cpu_shares, Some(512));
        let cli = Cli::try_parse_from(["berth", "ps", "--connection", "vm"]).expect("parses");
        assert_eq!(cli.global.connection.as_deref(), Some("vm"));
    }
}
