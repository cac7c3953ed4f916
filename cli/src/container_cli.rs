//! The command-line grammar of the container commands other than `run`/`create`
//! (whose large flag set lives in commands/create_args).

use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach the container's STDOUT and STDERR
    #[arg(short, long)]
    pub attach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Start all containers regardless of their state
    #[arg(long)]
    pub all: bool,
    #[arg(value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait for stop before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        value_name = "SECONDS"
    )]
    pub time: Option<u32>,
    /// Stop all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    #[arg(value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL", value_name = "SIGNAL")]
    pub signal: String,
    /// Signal all running containers
    #[arg(short, long)]
    pub all: bool,
    #[arg(value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Force removal of a running or unusable container
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    pub volumes: bool,
    /// Seconds to wait for stop before killing the container
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    pub time: Option<u32>,
    #[arg(value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all the containers, default is only running containers
    #[arg(short, long)]
    pub all: bool,
    /// Filter output based on conditions given
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Pretty-print containers to JSON or using a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Print the n last created containers (all states)
    #[arg(short = 'n', long, value_name = "N")]
    pub last: Option<usize>,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Print the numeric IDs of the containers only
    #[arg(short, long)]
    pub quiet: bool,
    /// Display the total file sizes
    #[arg(short, long)]
    pub size: bool,
    /// Sort output by: command, created, id, image, names, runningfor, size, status
    #[arg(long, default_value = "created", value_name = "KEY")]
    pub sort: String,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Output the specified number of LINES at the end of the logs (-1 for all)
    #[arg(short = 'n', long, value_name = "LINES", allow_negative_numbers = true)]
    pub tail: Option<i64>,
    /// Show logs since TIMESTAMP (RFC 3339, Unix seconds, or a duration like 10m)
    #[arg(long, value_name = "TIMESTAMP")]
    pub since: Option<String>,
    /// Show logs until TIMESTAMP
    #[arg(long, value_name = "TIMESTAMP")]
    pub until: Option<String>,
    /// Output the timestamps in the log
    #[arg(short, long)]
    pub timestamps: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct WaitArgs {
    /// Condition to wait on (created, running, paused, stopped, exited)
    #[arg(long, default_value = "stopped", value_name = "CONDITION")]
    pub condition: Vec<String>,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    #[arg(value_name = "CONTAINER")]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct ExistsArgs {
    #[arg(value_name = "CONTAINER")]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct ContainerInspectArgs {
    /// Format the output using the given Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Run the command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Override the key sequence for detaching
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Give the process extended privileges
    #[arg(long)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Run as this user (name|uid[:group|gid])
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub name: String,
    #[arg(required = true, value_name = "COMMAND", allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RestartArgs {
    /// Seconds to wait for stop before killing the container
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    pub time: Option<u32>,
    /// Restart all non-running containers too
    #[arg(short, long)]
    pub all: bool,
    #[arg(value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct NamesArgs {
    /// Act on all containers
    #[arg(short, long)]
    pub all: bool,
    #[arg(value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    #[arg(value_name = "CONTAINER")]
    pub name: String,
    #[arg(value_name = "NAME")]
    pub new_name: String,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Change the output format (json)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to a specified file (default: stdout, which must be redirected)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    #[arg(value_name = "CONTAINER")]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct CommitArgs {
    /// Apply the following possible instructions to the created image: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR
    #[arg(short, long, value_name = "CHANGE")]
    pub change: Vec<String>,
    /// Set commit message for the imported image
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,
    /// Set the author for the image committed
    #[arg(short, long, value_name = "AUTHOR")]
    pub author: Option<String>,
    /// Suppress output
    #[arg(short, long)]
    pub quiet: bool,
    /// Pause container during commit (accepted; changes are read from the upper layer)
    #[arg(short, long)]
    pub pause: bool,
    #[arg(value_name = "CONTAINER")]
    pub name: String,
    #[arg(value_name = "IMAGE")]
    pub image: Option<String>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Apply the following possible instructions to the created image
    #[arg(short, long, value_name = "CHANGE")]
    pub change: Vec<String>,
    /// Set commit message for the imported image
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,
    /// Suppress output
    #[arg(short, long)]
    pub quiet: bool,
    /// A tarball path, or - for stdin
    #[arg(value_name = "PATH")]
    pub path: String,
    #[arg(value_name = "REFERENCE")]
    pub image: Option<String>,
}

#[derive(Args, Debug)]
pub struct CpArgs {
    /// Copy archive mode: keep ownership (the default for tar streams; accepted)
    #[arg(short, long)]
    pub archive: bool,
    /// CONTAINER:PATH, a host path, or - for a tar stream on stdin
    #[arg(value_name = "SRC")]
    pub source: String,
    /// CONTAINER:PATH, a host path, or - for a tar stream on stdout
    #[arg(value_name = "DEST")]
    pub destination: String,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    #[arg(value_name = "CONTAINER")]
    pub name: String,
    /// ps descriptors (user, pid, ppid, pcpu, etime, tty, time, args, comm, uid, gid, group, nice, rss, vsz, state)
    #[arg(value_name = "DESCRIPTORS")]
    pub descriptors: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Show all containers (default shows running containers)
    #[arg(short, long)]
    pub all: bool,
    /// Pretty-print container statistics to JSON or using a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Time in seconds between stats reports
    #[arg(short, long, default_value_t = 5, value_name = "SECONDS")]
    pub interval: u64,
    #[arg(value_name = "CONTAINER")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PortArgs {
    /// Display port information for all containers
    #[arg(short, long)]
    pub all: bool,
    #[arg(value_name = "CONTAINER")]
    pub name: Option<String>,
    /// PORT[/PROTOCOL]
    #[arg(value_name = "PORT")]
    pub port: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum HealthcheckCommand {
    /// Run the health check of a container
    Run(crate::lazy::Lazy<ExistsArgs>),
}

#[derive(Subcommand, Debug)]
pub enum ContainerCommand {
    /// Run a command in a new container
    Run(crate::lazy::Lazy<crate::commands::create_args::RunArgs>),
    /// Create but do not start a container
    Create(crate::lazy::Lazy<crate::commands::create_args::CreateArgs>),
    /// Start one or more containers
    Start(crate::lazy::Lazy<StartArgs>),
    /// Stop one or more containers
    Stop(crate::lazy::Lazy<StopArgs>),
    /// Kill one or more running containers with a specific signal
    Kill(crate::lazy::Lazy<KillArgs>),
    /// Remove one or more containers
    Rm(crate::lazy::Lazy<RmArgs>),
    /// List containers
    #[command(alias = "ps", alias = "list")]
    Ls(crate::lazy::Lazy<PsArgs>),
    /// Fetch the logs of one or more containers
    Logs(crate::lazy::Lazy<LogsArgs>),
    /// Update the resource limits of a container
    Update(crate::lazy::Lazy<crate::commands::update::UpdateArgs>),
    /// Block on one or more containers
    Wait(crate::lazy::Lazy<WaitArgs>),
    /// Attach to a running container
    Attach(crate::lazy::Lazy<AttachArgs>),
    /// Check if a container exists in local storage
    Exists(crate::lazy::Lazy<ExistsArgs>),
    /// Display the configuration of a container
    Inspect(crate::lazy::Lazy<ContainerInspectArgs>),
    /// Run a process in a running container
    Exec(crate::lazy::Lazy<ExecArgs>),
    /// Restart one or more containers
    Restart(crate::lazy::Lazy<RestartArgs>),
    /// Pause all the processes in one or more containers
    Pause(crate::lazy::Lazy<NamesArgs>),
    /// Unpause the processes in one or more containers
    Unpause(crate::lazy::Lazy<NamesArgs>),
    /// Rename an existing container
    Rename(crate::lazy::Lazy<RenameArgs>),
    /// Remove all non-running containers
    Prune(crate::lazy::Lazy<PruneArgs>),
    /// Inspect changes to the container's file systems
    Diff(crate::lazy::Lazy<DiffArgs>),
    /// Export a container's filesystem contents as a tar archive
    Export(crate::lazy::Lazy<ExportArgs>),
    /// Create new image based on the changed container
    Commit(crate::lazy::Lazy<CommitArgs>),
    /// Copy files/folders between a container and the local filesystem
    Cp(crate::lazy::Lazy<CpArgs>),
    /// Display the running processes of a container
    Top(crate::lazy::Lazy<TopArgs>),
    /// Display a live stream of container resource usage statistics
    Stats(crate::lazy::Lazy<StatsArgs>),
    /// List port mappings or a specific mapping for the container
    Port(crate::lazy::Lazy<PortArgs>),
}
