//! `berth kube play|down|generate` (also `play kube` and `generate kube`): Kubernetes
//! YAML in and out, printed as Podman prints it.

use crate::exit;
use berth_types::pod::KubePlayRequest;
use berth_types::Engine;
use clap::{Args, Subcommand};
use std::io::Read;

#[derive(Subcommand, Debug)]
pub enum KubeCommand {
    /// Play a pod and its containers from a Kubernetes YAML
    Play(crate::lazy::Lazy<PlayArgs>),
    /// Remove pods based on Kubernetes YAML
    Down(crate::lazy::Lazy<DownArgs>),
    /// Generate Kubernetes YAML from containers or pods
    Generate(crate::lazy::Lazy<GenerateArgs>),
}

/// `berth play kube`.
#[derive(Subcommand, Debug)]
pub enum PlayCommand {
    /// Play a pod and its containers from a Kubernetes YAML
    Kube(crate::lazy::Lazy<PlayArgs>),
}

/// `berth generate kube`.
#[derive(Subcommand, Debug)]
pub enum GenerateCommand {
    /// Generate Kubernetes YAML from containers or pods
    Kube(crate::lazy::Lazy<GenerateArgs>),
}

#[derive(Args, Debug)]
pub struct PlayArgs {
    /// Replace existing pods of the same names
    #[arg(long)]
    pub replace: bool,
    /// Start the pods after creating them
    #[arg(long, value_name = "BOOL", default_value = "true", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub start: bool,
    /// Stop and remove the pods the YAML describes instead of creating them
    #[arg(long)]
    pub down: bool,
    /// Connect the pods to these networks
    #[arg(long, visible_alias = "net", value_name = "NETWORK")]
    pub network: Vec<String>,
    /// Suppress output information when pulling images
    #[arg(short, long)]
    pub quiet: bool,
    /// Credentials (USERNAME:PASSWORD) to use for authenticating to a registry
    #[arg(long, value_name = "USERNAME:PASSWORD")]
    pub creds: Option<String>,
    #[command(flatten)]
    pub registry: crate::cli::RegistryArgs,
    /// The YAML file, or - for standard input
    #[arg(value_name = "FILE|-")]
    pub file: String,
}

#[derive(Args, Debug)]
pub struct DownArgs {
    /// The YAML file, or - for standard input
    #[arg(value_name = "FILE|-")]
    pub file: String,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Write output to the specified path
    #[arg(short, long, value_name = "FILE")]
    pub filename: Option<std::path::PathBuf>,
    /// Generate YAML for a Kubernetes service object
    #[arg(short, long)]
    pub service: bool,
    #[arg(value_name = "POD|CONTAINER", required = true)]
    pub names: Vec<String>,
}

pub fn run(engine: &dyn Engine, command: KubeCommand) -> anyhow::Result<i32> {
    match command {
        KubeCommand::Play(a) => play(engine, a.0),
        KubeCommand::Down(a) => down(engine, &a.file),
        KubeCommand::Generate(a) => generate(engine, a.0),
    }
}

pub fn play_kube(engine: &dyn Engine, command: PlayCommand) -> anyhow::Result<i32> {
    let PlayCommand::Kube(a) = command;
    play(engine, a.0)
}

pub fn generate_kube(engine: &dyn Engine, command: GenerateCommand) -> anyhow::Result<i32> {
    let GenerateCommand::Kube(a) = command;
    generate(engine, a.0)
}

/// The YAML text and the directory relative paths in it are read against.
fn read_yaml(file: &str) -> anyhow::Result<(String, Option<String>)> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| anyhow::anyhow!("reading the YAML from standard input: {e}"))?;
        return Ok((text, None));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| exit::with_code(exit::ENGINE, format!("reading {file}: {e}")))?;
    let dir = std::path::Path::new(file)
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(|d| d.display().to_string()));
    Ok((text, dir))
}

fn play(engine: &dyn Engine, a: PlayArgs) -> anyhow::Result<i32> {
    if a.down {
        return down(engine, &a.file);
    }
    let (yaml, context_dir) = read_yaml(&a.file)?;
    let req = KubePlayRequest {
        yaml,
        replace: a.replace,
        start: a.start,
        networks: a.network,
        context_dir,
        registry: berth_types::image::RegistryOptions {
            tls_verify: a.registry.tls_verify,
            cert_dir: a.registry.cert_dir.clone(),
            credentials: super::parse_creds(a.creds.as_deref())?,
            authfile: a.registry.authfile.clone(),
        },
    };
    let reporter = crate::progress::Reporter::new(a.quiet, "Copying");
    let report = engine.play_kube(&req, &reporter).map_err(exit::engine)?;
    if !report.secrets.is_empty() {
        println!("Secrets:");
        report.secrets.iter().for_each(|s| println!("{s}"));
    }
    if !report.volumes.is_empty() {
        println!("Volumes:");
        report.volumes.iter().for_each(|v| println!("{v}"));
    }
    for (pod, containers) in &report.pods {
        println!("Pod:\n{pod}");
        println!("Containers:");
        containers.iter().for_each(|c| println!("{c}"));
        println!();
    }
    Ok(0)
}

fn down(engine: &dyn Engine, file: &str) -> anyhow::Result<i32> {
    let (yaml, _) = read_yaml(file)?;
    let report = engine.down_kube(&yaml).map_err(exit::engine)?;
    if !report.pods.is_empty() {
        println!("Pods stopped:");
        report.pods.iter().for_each(|p| println!("{p}"));
        println!("Pods removed:");
        report.pods.iter().for_each(|p| println!("{p}"));
    }
    if !report.secrets.is_empty() {
        println!("Secrets removed:");
        report.secrets.iter().for_each(|s| println!("{s}"));
    }
    if !report.volumes.is_empty() {
        println!("Volumes removed:");
        report.volumes.iter().for_each(|v| println!("{v}"));
    }
    Ok(0)
}

fn generate(engine: &dyn Engine, a: GenerateArgs) -> anyhow::Result<i32> {
    let yaml = engine
        .generate_kube(&a.names, a.service)
        .map_err(exit::engine)?;
    let text = format!(
        "# Generation of Kubernetes YAML by Berth {}\n{yaml}",
        env!("CARGO_PKG_VERSION")
    );
    match &a.filename {
        Some(path) => {
            if path.exists() {
                return Err(exit::with_code(
                    exit::ENGINE,
                    format!("cannot write to {}: the file exists", path.display()),
                ));
            }
            std::fs::write(path, text)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        }
        None => print!("{text}"),
    }
    Ok(0)
}
