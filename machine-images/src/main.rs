//! `berth-images`: builds Berth's guest OS images and publishes them as OCI artifacts.
//!
//! ```text
//! berth-images build --out DIR --berth BIN --agent BIN --monitor BIN --pause BIN
//! berth-images push  --out DIR ... REGISTRY/REPOSITORY:TAG [--tls-verify=false]
//! ```
//! `build` prints the finished build's folder (cached under its key); `push` builds
//! (or finds) it and publishes it.

mod build;
mod publish;
mod recipe;

use anyhow::{bail, Context};
use std::path::PathBuf;

struct Args {
    command: String,
    out: PathBuf,
    bins: recipe::Binaries,
    target: Option<String>,
    insecure: bool,
}

fn parse() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let command = it.next().context("usage: berth-images build|push --out DIR --berth BIN --agent BIN --monitor BIN --pause BIN [REF]")?;
    if command != "build" && command != "push" {
        bail!("unknown command {command:?}: build or push");
    }
    let (mut out, mut berth, mut agent, mut monitor, mut pause) = (None, None, None, None, None);
    let (mut target, mut insecure) = (None, false);
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().with_context(|| format!("{flag} needs a value"));
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--berth" => berth = Some(PathBuf::from(value("--berth")?)),
            "--agent" => agent = Some(PathBuf::from(value("--agent")?)),
            "--monitor" => monitor = Some(PathBuf::from(value("--monitor")?)),
            "--pause" => pause = Some(PathBuf::from(value("--pause")?)),
            "--tls-verify=false" => insecure = true,
            "--tls-verify=true" | "--tls-verify" => insecure = false,
            other if other.starts_with('-') => bail!("unknown flag {other:?}"),
            other => target = Some(other.to_string()),
        }
    }
    let need = |v: Option<PathBuf>, flag: &str| v.with_context(|| format!("{flag} is required"));
    Ok(Args {
        command,
        out: need(out, "--out")?,
        bins: recipe::Binaries {
            berth: need(berth, "--berth")?,
            agent: need(agent, "--agent")?,
            monitor: need(monitor, "--monitor")?,
            pause: need(pause, "--pause")?,
        },
        target,
        insecure,
    })
}

fn run() -> anyhow::Result<()> {
    let a = parse()?;
    let log = |m: &str| eprintln!("berth-images: {m}");
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let (dir, built) = build::build(&a.out, &a.bins, &log)?;
    if a.command == "push" {
        let target = a.target.context("push needs REGISTRY/REPOSITORY:TAG")?;
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(publish::push(&dir, &built, &target, a.insecure, None, &log))?;
    }
    println!("{}", dir.display());
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("berth-images: {e:#}");
        std::process::exit(1);
    }
}
