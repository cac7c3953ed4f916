//! `berth-agent`: runs inside a Berth machine as a systemd service. At every boot it
//! applies the host's provisioning document (user, SSH keys, host name, time zone),
//! prepares the data disk and the host's shares, starts the engine's API service (as
//! root or as the user), then serves the host over vsock: the API, published ports and
//! the clock. It tells the host it is ready once the API answers.

mod disk;
mod kmod;
mod listen;
mod ping;
mod provision;
mod service;
mod udp;

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where a provisioning document may also be found (WSL writes it there; tests too).
const PROVISION_FILE: &str = "/etc/berth/provision.json";

struct Args {
    provision: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args { provision: None };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--provision" => {
                out.provision = Some(it.next().context("--provision needs a FILE")?.into())
            }
            // For bench/machine.sh: see `ping`.
            "--ping" => {
                let socket = PathBuf::from(it.next().context("--ping needs SOCKET COUNT")?);
                let count: u32 = it.next().context("--ping needs SOCKET COUNT")?.parse()?;
                let (fresh, kept) = ping::measure(&socket, count)?;
                println!("{fresh} {kept}");
                std::process::exit(0);
            }
            "--version" => {
                println!("berth-agent {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => anyhow::bail!(
                "unknown argument {other:?} (berth-agent [--provision FILE] | --ping SOCKET COUNT)"
            ),
        }
    }
    Ok(out)
}

/// One line on the console (the host keeps the serial log) and in the journal.
pub fn say(what: &str) {
    eprintln!("berth-agent: {what}");
}

/// How long each step of the start took, for the console line that says the API is up.
struct Stages {
    last: Instant,
    done: Vec<(&'static str, u128)>,
}

impl Stages {
    fn new() -> Stages {
        Stages {
            last: Instant::now(),
            done: Vec::new(),
        }
    }

    fn done(&mut self, what: &'static str) {
        let now = Instant::now();
        self.done.push((what, (now - self.last).as_millis()));
        self.last = now;
    }

    fn summary(&self) -> String {
        let parts: Vec<String> = self
            .done
            .iter()
            .map(|(what, ms)| format!("{what} {ms} ms"))
            .collect();
        parts.join(", ")
    }
}

fn run() -> anyhow::Result<()> {
    let args = args()?;
    let started = Instant::now();
    let mut stages = Stages::new();
    kmod::load(kmod::FIRST);
    let modules = std::thread::spawn(|| kmod::load(kmod::REST));
    stages.done("fw_cfg");
    let doc = provision::find(args.provision.as_deref().or(Some(PROVISION_FILE.as_ref())))?;
    // First: the network comes up on a thread of its own while the rest goes on.
    if let Err(e) = provision::network(&doc) {
        say(&format!("network: {e:#}"));
    }
    stages.done("provisioning");
    // The data disk first: /home lives there, and the user's keys go into it.
    disk::prepare_data()?;
    stages.done("data disk");
    provision::apply(&doc)?;
    stages.done("user");
    let _ = modules.join();
    if let Err(e) = kmod::tun_node(Path::new("/dev")) {
        say(&format!("/dev/net/tun: {e}"));
    }
    stages.done("modules");
    disk::mount_shares(&doc)?;
    stages.done("shares");
    let socket = service::start(&doc)?;
    stages.done("API");
    say(&format!(
        "API up at {} after {} ms ({})",
        socket.display(),
        started.elapsed().as_millis(),
        stages.summary()
    ));
    listen::serve()
}

fn main() {
    if let Err(e) = run() {
        say(&format!("{e:#}"));
        std::process::exit(1);
    }
}
