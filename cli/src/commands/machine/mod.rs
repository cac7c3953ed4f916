//! `berth machine`: Linux VMs that run the engine, reached from the host through a
//! forwarded API socket (what macOS and Windows users run containers in; on Linux a
//! machine that is the default connection takes the commands while it runs).

mod show;

use crate::exit;
use berth_platform::config::{Volume, DEFAULT_NAME};
use berth_platform::machine::{InitOptions, MachineError, Machines};
use berth_platform::{forward, ssh, VmState};
use clap::{Args, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum MachineCommand {
    /// Initialize a virtual machine
    Init(crate::lazy::Lazy<InitArgs>),
    /// Start a virtual machine
    Start(crate::lazy::Lazy<StartArgs>),
    /// Stop a virtual machine
    Stop(crate::lazy::Lazy<NameArg>),
    /// SSH into a virtual machine, or run a command there
    Ssh(crate::lazy::Lazy<SshArgs>),
    /// Remove a virtual machine
    Rm(crate::lazy::Lazy<RmArgs>),
    /// List virtual machines
    #[command(alias = "ls")]
    List(crate::lazy::Lazy<show::ListArgs>),
    /// Inspect virtual machines
    Inspect(crate::lazy::Lazy<show::InspectArgs>),
    /// Change a virtual machine's settings
    Set(crate::lazy::Lazy<SetArgs>),
    /// Remove every virtual machine and its files
    Reset(crate::lazy::Lazy<ResetArgs>),
    /// Display machine host information
    Info(crate::lazy::Lazy<show::InfoArgs>),
    /// Manage a virtual machine's OS
    #[command(subcommand)]
    Os(OsCommand),
    /// Copy files between the host and a virtual machine (MACHINE:PATH)
    Cp(crate::lazy::Lazy<CpArgs>),
    /// Serves a running machine's API socket and ports (started by `machine start`)
    #[command(name = "__forward", hide = true)]
    Forward(crate::lazy::Lazy<NameArg>),
}

#[derive(Subcommand, Debug)]
pub enum OsCommand {
    /// Replace the machine's OS with another image, keeping its data disk
    Apply(crate::lazy::Lazy<OsApplyArgs>),
}

#[derive(Args, Debug)]
pub struct NameArg {
    /// The machine (default: berth-machine-default)
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Number of CPUs
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
    /// Memory in MiB
    #[arg(short, long, default_value_t = 2048)]
    pub memory: u64,
    /// Disk size in GiB
    #[arg(long = "disk-size", default_value_t = 20)]
    pub disk_size: u64,
    /// The OS image: a registry reference, a local build (its folder or image.json), or an http(s) URL of an image.json
    #[arg(long, env = "BERTH_MACHINE_IMAGE")]
    pub image: Option<String>,
    /// Run the engine as root in the machine
    #[arg(long)]
    pub rootful: bool,
    /// Share a host folder: HOST:GUEST[:ro]
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Start the machine once it is made
    #[arg(long)]
    pub now: bool,
    /// The user in the machine
    #[arg(long, default_value = "core")]
    pub username: String,
    /// Use the hypervisor's user-mode networking (always, with QEMU)
    #[arg(long = "user-mode-networking")]
    pub user_mode_networking: bool,
    /// A provisioning document (JSON) merged over the generated one
    #[arg(long = "ignition-path", alias = "cloud-init-path")]
    pub ignition_path: Option<PathBuf>,
    /// The machine's time zone (IANA name)
    #[arg(long, default_value = "")]
    pub timezone: String,
    /// The machine's name
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Print nothing but errors
    #[arg(short, long)]
    pub quiet: bool,
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct SshArgs {
    /// The user to log in as (default: the machine's)
    #[arg(long)]
    pub username: Option<String>,
    /// The machine, then the command to run
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Stop and remove a running machine without asking
    #[arg(short, long)]
    pub force: bool,
    /// Keep the machine's OS image
    #[arg(long = "save-image")]
    pub save_image: bool,
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct SetArgs {
    #[arg(long)]
    pub cpus: Option<u32>,
    /// Memory in MiB
    #[arg(short, long)]
    pub memory: Option<u64>,
    /// Disk size in GiB (grow only)
    #[arg(long = "disk-size")]
    pub disk_size: Option<u64>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub rootful: Option<bool>,
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct ResetArgs {
    /// Do not ask
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct OsApplyArgs {
    /// The new OS image (as `init --image` takes it)
    pub image: String,
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct CpArgs {
    /// SOURCE and DESTINATION; one of them MACHINE:PATH
    pub source: String,
    pub destination: String,
}

fn name_of(n: &Option<String>) -> String {
    n.clone().unwrap_or_else(|| DEFAULT_NAME.to_string())
}

/// Machine errors exit 125, with Podman's wording where it has one.
fn fail(e: MachineError) -> anyhow::Error {
    exit::with_code(exit::ENGINE, e.to_string())
}

/// Whether an image's registry is plain HTTP or unverified in registries.conf.
fn insecure(image: &str, conf: Option<&PathBuf>) -> bool {
    let registry = image
        .strip_prefix("docker://")
        .unwrap_or(image)
        .split('/')
        .next()
        .unwrap_or("");
    let loaded = match conf {
        Some(p) => berth_registry::registries_conf::RegistriesConf::load(std::slice::from_ref(p)),
        None => berth_registry::registries_conf::RegistriesConf::load_default(),
    };
    loaded.map(|c| c.is_insecure(registry)).unwrap_or(false)
}

/// A progress line (and, on a terminal, bars for downloads).
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl Reporter {
    fn new(quiet: bool) -> Reporter {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        Reporter { bar, quiet }
    }

    fn bytes(&self, step: &str, done: u64, total: u64) {
        if let Some(b) = &self.bar {
            b.set_message(step.to_string());
            b.set_length(total);
            b.set_position(done);
        }
    }

    fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn done(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

pub fn run(cmd: MachineCommand, g: &crate::cli::GlobalOpts) -> anyhow::Result<i32> {
    let m = Machines::from_env();
    match cmd {
        MachineCommand::Init(a) => init(&m, a.0, g),
        MachineCommand::Start(a) => start(&m, &name_of(&a.name), a.quiet),
        MachineCommand::Stop(a) => {
            let name = name_of(&a.name);
            m.stop(&name).map_err(fail)?;
            println!("Machine \"{name}\" stopped successfully");
            Ok(0)
        }
        MachineCommand::Ssh(a) => ssh_cmd(&m, a.0),
        MachineCommand::Rm(a) => rm(&m, a.0),
        MachineCommand::List(a) => show::list(&m, a.0),
        MachineCommand::Inspect(a) => show::inspect(&m, a.0),
        MachineCommand::Info(a) => show::info(&m, a.0),
        MachineCommand::Set(a) => {
            m.set(&name_of(&a.name), a.cpus, a.memory, a.disk_size, a.rootful)
                .map_err(fail)?;
            Ok(0)
        }
        MachineCommand::Reset(a) => reset(&m, a.0),
        MachineCommand::Os(OsCommand::Apply(a)) => {
            let name = name_of(&a.name);
            let r = Reporter::new(false);
            let secure = insecure(&a.image, g.registries_conf.as_ref());
            m.os_apply(&name, &a.image, secure, &|s, d, t| r.bytes(s, d, t))
                .map_err(fail)?;
            r.done();
            ssh::forget_host(&show::known_host(&m, &name));
            println!(
                "Applied {} to machine \"{name}\"; it boots from it at its next start",
                a.image
            );
            Ok(0)
        }
        MachineCommand::Cp(a) => cp(&m, a.0),
        MachineCommand::Forward(a) => {
            let name = name_of(&a.name);
            forward::run(forward::Forward::for_run_dir(&m.dirs.run_dir(&name)))?;
            Ok(0)
        }
    }
}

fn init(m: &Machines, a: InitArgs, g: &crate::cli::GlobalOpts) -> anyhow::Result<i32> {
    let name = name_of(&a.name);
    let image = a.image.clone().ok_or_else(|| {
        exit::with_code(exit::ENGINE, "no machine image: pass --image (a registry reference, a local build, or a URL) or set BERTH_MACHINE_IMAGE")
    })?;
    let volumes = a
        .volume
        .iter()
        .map(|v| Volume::parse(v).map_err(|e| exit::with_code(exit::ENGINE, e)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let o = InitOptions {
        name: name.clone(),
        cpus: a.cpus,
        memory_mib: a.memory,
        disk_gib: a.disk_size,
        image: image.clone(),
        rootful: a.rootful,
        volumes,
        username: a.username.clone(),
        user_mode_networking: a.user_mode_networking,
        timezone: a.timezone.clone(),
        provision_override: a.ignition_path.clone(),
    };
    let r = Reporter::new(false);
    r.line(&format!("Fetching the machine image {image}"));
    let c = m
        .init(
            &o,
            insecure(&image, g.registries_conf.as_ref()),
            &|s, d, t| r.bytes(s, d, t),
        )
        .map_err(fail)?;
    r.done();
    let socket = m.api_socket(&name);
    crate::commands::connection::add_machine(
        &name,
        format!("unix://{}", socket.display()),
        &m.ssh_key(&name),
        false,
    )?;
    println!("Machine init complete");
    if a.now {
        return start(m, &c.name, false);
    }
    println!(
        "To start your machine run:\n\n\tberth machine start{}\n",
        if name == DEFAULT_NAME {
            String::new()
        } else {
            format!(" {name}")
        }
    );
    Ok(0)
}

fn start(m: &Machines, name: &str, quiet: bool) -> anyhow::Result<i32> {
    let r = Reporter::new(quiet);
    r.line(&format!("Starting machine \"{name}\""));
    let exe = std::env::current_exe()?;
    let mut forwarder = std::process::Command::new(exe);
    forwarder.args(["machine", "__forward", name]);
    let started = m.start(name, forwarder, &|s| r.line(s)).map_err(fail)?;
    r.done();
    crate::commands::connection::make_default(name)?;
    if !quiet {
        let socket = started.api_socket.display();
        println!("Machine \"{name}\" started successfully (agent ready after {:.1} s, API after {:.1} s)", started.boot.as_secs_f64(), started.total.as_secs_f64());
        println!("API forwarding listening on: {socket}\n");
        println!("You can connect Docker API clients by setting DOCKER_HOST using the following command:\n\n\texport DOCKER_HOST='unix://{socket}'");
    }
    Ok(0)
}

fn ssh_cmd(m: &Machines, a: SshArgs) -> anyhow::Result<i32> {
    let mut args = a.args.clone();
    // The first word names a machine when one by that name exists.
    let name = match args.first() {
        Some(first) if m.dirs.exists(first) => args.remove(0),
        _ => DEFAULT_NAME.to_string(),
    };
    let c = m.load(&name).map_err(fail)?;
    if m.state(&name) != VmState::Running {
        return Err(exit::with_code(
            exit::ENGINE,
            format!("machine {name} is not running: start it with berth machine start"),
        ));
    }
    let user = a.username.unwrap_or_else(|| {
        if c.rootful {
            "root".into()
        } else {
            c.username.clone()
        }
    });
    let target = ssh::Target {
        port: c.ssh_port,
        user,
        key: m.ssh_key(&name),
        known_host: show::known_host(m, &name),
    };
    // As ssh does: the words joined by spaces, for the guest's shell to read.
    let command = (!args.is_empty()).then(|| args.join(" "));
    let tty = std::io::stdin().is_terminal() && command.is_none();
    let _raw = tty.then(crate::terminal::RawMode::enable);
    Ok(ssh::run(&target, command, tty)?)
}

fn rm(m: &Machines, a: RmArgs) -> anyhow::Result<i32> {
    let name = name_of(&a.name);
    m.load(&name).map_err(fail)?;
    if !a.force && std::io::stdin().is_terminal() {
        eprint!("The machine \"{name}\" and its disks will be removed. Are you sure you want to continue? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    let saved = m.remove(&name, a.force, a.save_image).map_err(fail)?;
    crate::commands::connection::remove_machine(&name)?;
    if let Some(dir) = saved {
        println!("The machine's image was kept in {}", dir.display());
    }
    Ok(0)
}

fn reset(m: &Machines, a: ResetArgs) -> anyhow::Result<i32> {
    let all = m.dirs.list()?;
    if !a.force && std::io::stdin().is_terminal() {
        eprint!("All {} machines and their disks will be removed. Are you sure you want to continue? [y/N] ", all.len());
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    for c in all {
        m.remove(&c.name, true, false).map_err(fail)?;
        crate::commands::connection::remove_machine(&c.name)?;
    }
    Ok(0)
}

/// `machine cp`: over the machine's SSH, streaming a file through `cat`.
fn cp(m: &Machines, a: CpArgs) -> anyhow::Result<i32> {
    let split = |s: &str| -> Option<(String, String)> {
        let (n, p) = s.split_once(':')?;
        (m.dirs.exists(n) && p.starts_with('/')).then(|| (n.to_string(), p.to_string()))
    };
    let (name, remote, local, upload) = match (split(&a.source), split(&a.destination)) {
        (None, Some((n, p))) => (n, p, PathBuf::from(&a.source), true),
        (Some((n, p)), None) => (n, p, PathBuf::from(&a.destination), false),
        _ => {
            return Err(exit::with_code(exit::ENGINE, "machine cp: exactly one of SOURCE and DESTINATION must be MACHINE:/PATH of a machine"));
        }
    };
    let c = m.load(&name).map_err(fail)?;
    let target = ssh::Target {
        port: c.ssh_port,
        user: if c.rootful {
            "root".into()
        } else {
            c.username.clone()
        },
        key: m.ssh_key(&name),
        known_host: show::known_host(m, &name),
    };
    let code = if upload {
        let file = std::fs::File::open(&local)
            .map_err(|e| exit::with_code(exit::ENGINE, format!("{}: {e}", local.display())))?;
        ssh::copy_in(&target, file, &remote)?
    } else {
        let tmp = local.with_extension("berth-cp-tmp");
        let file = std::fs::File::create(&tmp)?;
        let code = ssh::copy_out(&target, &remote, file)?;
        if code == 0 {
            std::fs::rename(&tmp, &local)?;
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
        code
    };
    if code != 0 {
        return Err(exit::with_code(
            exit::ENGINE,
            format!("machine cp: copying {remote} failed (exit {code})"),
        ));
    }
    Ok(0)
}
