//! `berth system connection add|ls|rm|default|rename`: named destinations of Berth
//! services for the remote mode (`--connection NAME`), kept in
//! `$XDG_CONFIG_HOME/berth/connections.json` (written whole: temp file, fsync,
//! rename), one of them the default that `--remote` uses.

use crate::format::{render_items, OutputFormat};
use berth_api::client::Destination;
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ConnectionCommand {
    /// Record a destination for remote mode
    Add(crate::lazy::Lazy<AddArgs>),
    /// List the destinations
    #[command(alias = "list")]
    Ls(crate::lazy::Lazy<LsArgs>),
    /// Delete a destination
    #[command(alias = "remove")]
    Rm(crate::lazy::Lazy<NameArg>),
    /// Make a destination the default
    Default(crate::lazy::Lazy<NameArg>),
    /// Rename a destination
    Rename(crate::lazy::Lazy<RenameArgs>),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The destination's name
    pub name: String,
    /// Where its service listens: unix:///path/to/berth.sock
    pub destination: String,
    /// Make it the default
    #[arg(short, long)]
    pub default: bool,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Format the output using JSON or a Go template
    #[arg(long, short)]
    pub format: Option<String>,
    /// Print only the names
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct NameArg {
    pub name: String,
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    #[serde(rename = "URI")]
    pub uri: String,
    #[serde(rename = "Identity", default)]
    pub identity: String,
    /// A machine's connection: used without `--remote` while the machine runs.
    #[serde(rename = "IsMachine", default)]
    pub is_machine: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connections {
    #[serde(rename = "Default", default)]
    pub default: String,
    #[serde(rename = "Connections", default)]
    pub connections: BTreeMap<String, Connection>,
}

/// `$XDG_CONFIG_HOME/berth/connections.json` (`~/.config/…` without it).
pub fn store_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("/etc"));
    base.join("berth").join("connections.json")
}

pub fn load() -> anyhow::Result<Connections> {
    let path = store_path();
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Connections::default()),
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
    }
}

/// Records a machine's connection (the default when there is none yet, or `default`).
pub fn add_machine(
    name: &str,
    uri: String,
    identity: &std::path::Path,
    default: bool,
) -> anyhow::Result<()> {
    let _lock = lock()?;
    let mut c = load()?;
    c.connections.insert(
        name.to_string(),
        Connection {
            uri,
            identity: identity.display().to_string(),
            is_machine: true,
        },
    );
    if default || c.default.is_empty() || !c.connections.contains_key(&c.default) {
        c.default = name.to_string();
    }
    save(&c)
}

/// Makes a connection the default.
pub fn make_default(name: &str) -> anyhow::Result<()> {
    let _lock = lock()?;
    let mut c = load()?;
    if c.connections.contains_key(name) {
        c.default = name.to_string();
        save(&c)?;
    }
    Ok(())
}

/// Forgets a machine's connection, if recorded.
pub fn remove_machine(name: &str) -> anyhow::Result<()> {
    let _lock = lock()?;
    let mut c = load()?;
    if c.connections.get(name).is_some_and(|x| x.is_machine) {
        c.connections.remove(name);
        if c.default == name {
            c.default = c.connections.keys().next().cloned().unwrap_or_default();
        }
        save(&c)?;
    }
    Ok(())
}

/// Serializes changes of the connections file between processes.
fn lock() -> anyhow::Result<std::fs::File> {
    let path = store_path().with_extension("lock");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(f)
}

fn save(c: &Connections) -> anyhow::Result<()> {
    let path = store_path();
    let dir = path.parent().unwrap_or(std::path::Path::new("/"));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&serde_json::to_vec_pretty(c)?)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

fn unknown(name: &str) -> anyhow::Error {
    crate::exit::with_code(
        crate::exit::ENGINE,
        format!("connection {name:?} not found: see berth system connection ls"),
    )
}

/// `identity`: the global `--identity`, kept with an added destination.
pub fn run(cmd: ConnectionCommand, identity: Option<PathBuf>) -> anyhow::Result<i32> {
    let _lock = lock()?;
    let mut c = load()?;
    match cmd {
        ConnectionCommand::Add(crate::lazy::Lazy(a)) => {
            Destination::parse(&a.destination).map_err(|e| anyhow::anyhow!(e))?;
            if a.name.is_empty() || a.name.contains(char::is_whitespace) {
                anyhow::bail!("invalid connection name {:?}", a.name);
            }
            let first = c.connections.is_empty();
            c.connections.insert(
                a.name.clone(),
                Connection {
                    uri: a.destination,
                    identity: identity
                        .map(|p| std::path::absolute(&p).unwrap_or(p))
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    is_machine: false,
                },
            );
            if a.default || first {
                c.default = a.name;
            }
            save(&c)?;
        }
        ConnectionCommand::Ls(a) => {
            let items: Vec<_> = c
                .connections
                .iter()
                .map(|(name, conn)| {
                    json!({
                        "Name": name,
                        "URI": conn.uri,
                        "Identity": conn.identity,
                        "Default": *name == c.default,
                    })
                })
                .collect();
            if a.quiet {
                for name in c.connections.keys() {
                    println!("{name}");
                }
                return Ok(0);
            }
            let row = "{{.Name}}\t{{.URI}}\t{{.Identity}}\t{{.Default}}";
            let (format, header) = match a.format.as_deref() {
                // Podman's own table: its headers as written, not upper-cased.
                None | Some("") | Some("table") => (row.to_string(), true),
                Some(f) => (f.to_string(), false),
            };
            let parsed = OutputFormat::parse(&format).map_err(|e| anyhow::anyhow!("{e}"))?;
            let text =
                render_items(&parsed, &items, &[], "").map_err(|e| anyhow::anyhow!("{e}"))?;
            if header {
                let table = format!("Name\tURI\tIdentity\tDefault\n{text}");
                print!("{}", crate::format::columns::align(&table));
            } else {
                print!("{text}");
            }
        }
        ConnectionCommand::Rm(a) => {
            if c.connections.remove(&a.name).is_none() {
                return Err(unknown(&a.name));
            }
            if c.default == a.name {
                c.default = c.connections.keys().next().cloned().unwrap_or_default();
            }
            save(&c)?;
        }
        ConnectionCommand::Default(crate::lazy::Lazy(a)) => {
            if !c.connections.contains_key(&a.name) {
                return Err(unknown(&a.name));
            }
            c.default = a.name;
            save(&c)?;
        }
        ConnectionCommand::Rename(crate::lazy::Lazy(a)) => {
            if c.connections.contains_key(&a.new) {
                anyhow::bail!("connection {:?} already exists", a.new);
            }
            let conn = c
                .connections
                .remove(&a.old)
                .ok_or_else(|| unknown(&a.old))?;
            c.connections.insert(a.new.clone(), conn);
            if c.default == a.old {
                c.default = a.new;
            }
            save(&c)?;
        }
    }
    Ok(0)
}
