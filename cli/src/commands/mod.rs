//! One module per subcommand; `run` dispatches the parsed command line to it.

mod changes;
pub mod connection;
mod container;
mod cp;
pub mod create_args;
pub mod events;
mod history;
mod images;
mod inspect;
pub mod kube;
mod load;
mod login;
mod logs;
pub mod machine;
pub(crate) mod network;
pub mod pod;
mod ps;
mod pull;
mod push;
mod rmi;
mod run;
mod save;
pub mod search;
pub mod secret;
pub mod service;
mod stats;
mod system;
mod tag;
pub mod update;
pub(crate) mod volume;

use crate::cli::{Cli, Command, ImageCommand, SystemCommand};
use crate::container_cli::ContainerCommand;
use crate::engine::connect;

/// Runs the command; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Command::System(SystemCommand::Service(a)) = cli.command {
        return service::run(connect(&cli.global)?, a.0);
    }
    if let Command::System(SystemCommand::Connection(c)) = cli.command {
        return connection::run(c, cli.global.identity.clone());
    }
    if let Command::Machine(c) = cli.command {
        return machine::run(c, &cli.global);
    }
    let engine = connect(&cli.global)?;
    if matches!(
        cli.command,
        Command::Pull(_)
            | Command::Push(_)
            | Command::Load(_)
            | Command::Image(ImageCommand::Pull(_) | ImageCommand::Push(_) | ImageCommand::Load(_))
    ) {
        crate::engine::cleanup_on_interrupt();
    }
    let e = engine.as_ref();
    match cli.command {
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => pull::run(e, a.0),
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => push::run(e, a.0),
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(e, a.0),
        Command::Inspect(a) => inspect::run(e, a.0),
        Command::Image(ImageCommand::Inspect(a)) => inspect::run_image(e, a.0),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(e, a.0),
        Command::Image(ImageCommand::Prune(a)) => rmi::prune(e, a.0),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::tag(e, a.0),
        Command::Untag(a) | Command::Image(ImageCommand::Untag(a)) => tag::untag(e, a.0),
        Command::Image(ImageCommand::Exists(a)) => tag::exists(e, a.0),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => history::run(e, a.0),
        Command::Search(a) | Command::Image(ImageCommand::Search(a)) => search::run(e, a.0),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => save::run(e, a.0),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => load::run(e, a.0),
        Command::Login(a) => login::login(e, a.0),
        Command::Logout(a) => login::logout(e, a.0),
        Command::Version(a) => system::version(e, a.0),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => system::info(e, a.0),
        Command::System(SystemCommand::Df(a)) => system::df(e, a.0),
        Command::System(SystemCommand::Reset(a)) => system::reset(e, a.0),
        Command::System(SystemCommand::Service(_) | SystemCommand::Connection(_))
        | Command::Machine(_) => Ok(0),
        Command::System(SystemCommand::Migrate) => {
            #[cfg(all(target_os = "linux", feature = "local"))]
            berth_engine::rootless::pause::stop();
            Ok(0)
        }
        Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => run::run(e, a.0),
        Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => run::create(e, a.0),
        Command::Start(a) | Command::Container(ContainerCommand::Start(a)) => {
            container::start(e, a.0)
        }
        Command::Stop(a) | Command::Container(ContainerCommand::Stop(a)) => container::stop(e, a.0),
        Command::Kill(a) | Command::Container(ContainerCommand::Kill(a)) => container::kill(e, a.0),
        Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => container::rm(e, a.0),
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a)) => ps::run(e, a.0),
        Command::Logs(a) | Command::Container(ContainerCommand::Logs(a)) => logs::run(e, a.0),
        Command::Events(a) => events::run(e, a.0),
        Command::Update(a) | Command::Container(ContainerCommand::Update(a)) => update::run(e, a.0),
        Command::Wait(a) | Command::Container(ContainerCommand::Wait(a)) => container::wait(e, a.0),
        Command::Attach(a) | Command::Container(ContainerCommand::Attach(a)) => {
            container::attach(e, a.0)
        }
        Command::Container(ContainerCommand::Exists(a)) => container::exists(e, a.0),
        Command::Container(ContainerCommand::Inspect(a)) => container::inspect(e, a.0),
        Command::Exec(a) | Command::Container(ContainerCommand::Exec(a)) => container::exec(e, a.0),
        Command::Restart(a) | Command::Container(ContainerCommand::Restart(a)) => {
            container::restart(e, a.0)
        }
        Command::Pause(a) | Command::Container(ContainerCommand::Pause(a)) => {
            container::pause(e, a.0, false)
        }
        Command::Unpause(a) | Command::Container(ContainerCommand::Unpause(a)) => {
            container::pause(e, a.0, true)
        }
        Command::Rename(a) | Command::Container(ContainerCommand::Rename(a)) => {
            container::rename(e, a.0)
        }
        Command::Container(ContainerCommand::Prune(a)) => container::prune(e, a.0),
        Command::Diff(a) | Command::Container(ContainerCommand::Diff(a)) => changes::diff(e, a.0),
        Command::Export(a) | Command::Container(ContainerCommand::Export(a)) => {
            changes::export(e, a.0)
        }
        Command::Commit(a) | Command::Container(ContainerCommand::Commit(a)) => {
            changes::commit(e, a.0)
        }
        Command::Import(a) => changes::import(e, a.0),
        Command::Cp(a) | Command::Container(ContainerCommand::Cp(a)) => cp::run(e, a.0),
        Command::Top(a) | Command::Container(ContainerCommand::Top(a)) => container::top(e, a.0),
        Command::Stats(a) | Command::Container(ContainerCommand::Stats(a)) => stats::run(e, a.0),
        Command::Port(a) | Command::Container(ContainerCommand::Port(a)) => container::port(e, a.0),
        Command::Healthcheck(crate::container_cli::HealthcheckCommand::Run(a)) => {
            container::healthcheck(e, a.0)
        }
        Command::Network(c) => network::run(e, c),
        Command::Unshare(a) => unshare(a.0),
        Command::Volume(c) => volume::run(e, c),
        Command::Secret(c) => secret::run(e, c),
        Command::Pod(c) => pod::run(e, c),
        Command::Kube(c) => kube::run(e, c),
        Command::Play(c) => kube::play_kube(e, c),
        Command::Generate(c) => kube::generate_kube(e, c),
    }
}

/// `berth --root R --runroot RR __container-exited ID CODE`: the container monitor's
/// exit command (records the exit, cleans up, restarts or removes the container),
/// handled before the argument parser runs.
#[cfg(all(target_os = "linux", feature = "local"))]
pub fn exit_command_fast_path() -> Option<i32> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let [opt_root, root, opt_runroot, runroot, verb, id, code] = args.as_slice() else {
        return None;
    };
    if verb != "__container-exited" || opt_root != "--root" || opt_runroot != "--runroot" {
        return None;
    }
    let code: i32 = code.to_str()?.parse().ok()?;
    berth_engine::container::exit::container_exited(
        std::path::Path::new(root),
        std::path::Path::new(runroot),
        id.to_str()?,
        code,
    );
    Some(0)
}

/// `berth unshare [COMMAND…]`: a rootless user's command (default: its shell) inside
/// the user and mount namespaces Berth works in (joined when the engine was opened).
fn unshare(a: crate::cli::UnshareArgs) -> anyhow::Result<i32> {
    #[cfg(all(target_os = "linux", feature = "local"))]
    if !berth_engine::rootless::active() {
        return Err(crate::exit::with_code(
            crate::exit::ENGINE,
            "please use unshare with rootless".to_string(),
        ));
    }
    let mut command = a.command;
    if command.is_empty() {
        command.push(std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into()));
    }
    let status = std::process::Command::new(&command[0])
        .args(&command[1..])
        .env("BERTH_UNSHARE", "1")
        .status()
        .map_err(|e| crate::exit::with_code(127, format!("running {}: {e}", command[0])))?;
    Ok(status.code().unwrap_or(125))
}

/// The exit code of an `exists` command: 0 when found, 1 when not (as Podman).
pub fn exists_code(found: berth_types::Result<bool>) -> anyhow::Result<i32> {
    Ok(if found.map_err(crate::exit::engine)? {
        0
    } else {
        1
    })
}

/// `k=v` pairs; a bare `k` has an empty value (as Podman reads `--label` and `--opt`).
pub fn key_values(items: &[String]) -> std::collections::BTreeMap<String, String> {
    items
        .iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (s.clone(), String::new()),
        })
        .collect()
}

/// Pretty JSON with Go's 4-space indentation, as Podman prints lists.
pub fn json_pretty(value: &impl serde::Serialize) -> anyhow::Result<String> {
    json_indented(value, b"    ")
}

/// Inspect documents: Podman indents them with five spaces.
pub fn json_inspect(value: &impl serde::Serialize) -> anyhow::Result<String> {
    json_indented(value, b"     ")
}

fn json_indented(value: &impl serde::Serialize, indent: &[u8]) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    value.serialize(&mut ser)?;
    Ok(String::from_utf8(out)?)
}

/// Splits `USER[:PASSWORD]`.
pub fn parse_creds(creds: Option<&str>) -> anyhow::Result<Option<(String, String)>> {
    match creds {
        None => Ok(None),
        Some(c) => {
            let (u, p) = c.split_once(':').unwrap_or((c, ""));
            if u.is_empty() {
                anyhow::bail!("invalid --creds {c:?}: the username is empty");
            }
            Ok(Some((u.to_string(), p.to_string())))
        }
    }
}
