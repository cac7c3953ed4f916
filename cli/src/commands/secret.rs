//! `berth secret create|ls|inspect|rm|exists`: Podman's flags, output and exit codes
//! (rm and inspect: 1 for a missing secret after doing the rest; exists: 0 or 1).

use crate::exit;
use crate::output::{print_documents, print_list};
use berth_types::secret::{SecretCreateRequest, SecretInfo};
use berth_types::{Engine, ErrorKind};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::io::Read;

#[derive(Subcommand, Debug)]
pub enum SecretCommand {
    /// Create a new secret
    Create(crate::lazy::Lazy<CreateArgs>),
    /// List secrets
    #[command(alias = "list")]
    Ls(crate::lazy::Lazy<LsArgs>),
    /// Inspect a secret
    Inspect(crate::lazy::Lazy<InspectArgs>),
    /// Remove one or more secrets
    Rm(crate::lazy::Lazy<RmArgs>),
    /// Check if a secret exists
    Exists(crate::lazy::Lazy<ExistsArgs>),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Specify secret driver
    #[arg(short, long, value_name = "DRIVER", default_value = "file")]
    pub driver: String,
    /// Add labels to secret (e.g. --label mykey=value)
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Read secret data from environment variable
    #[arg(long)]
    pub env: bool,
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A file, `-` for standard input, or with --env the variable's name
    #[arg(value_name = "FILE|-")]
    pub source: String,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Format secret output using a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Do not print headers
    #[arg(short, long)]
    pub noheading: bool,
    /// Print secret IDs only
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format inspect output using a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(value_name = "SECRET", required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Remove all secrets
    #[arg(short, long)]
    pub all: bool,
    #[arg(value_name = "SECRET")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExistsArgs {
    #[arg(value_name = "SECRET")]
    pub name: String,
}

pub fn run(engine: &dyn Engine, command: SecretCommand) -> anyhow::Result<i32> {
    match command {
        SecretCommand::Create(a) => create(engine, a.0),
        SecretCommand::Ls(a) => ls(engine, a.0),
        SecretCommand::Inspect(a) => inspect(engine, a.0),
        SecretCommand::Rm(a) => rm(engine, a.0),
        SecretCommand::Exists(a) => super::exists_code(engine.secret_exists(&a.name)),
    }
}

fn create(engine: &dyn Engine, a: CreateArgs) -> anyhow::Result<i32> {
    let data = if a.env {
        std::env::var(&a.source)
            .map_err(|_| anyhow::anyhow!("environment variable {} is not set", a.source))?
            .into_bytes()
    } else if a.source == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        buf
    } else {
        std::fs::read(&a.source)
            .map_err(|e| anyhow::anyhow!("reading secret data from {}: {e}", a.source))?
    };
    let req = SecretCreateRequest {
        name: a.name,
        data,
        driver: a.driver,
        labels: super::key_values(&a.label),
    };
    println!("{}", engine.create_secret(&req).map_err(exit::engine)?);
    Ok(0)
}

/// Podman's inspect document.
fn json_doc(s: &SecretInfo) -> Value {
    json!({
        "ID": s.id,
        "CreatedAt": s.created,
        "UpdatedAt": s.updated,
        "Spec": {
            "Name": s.name,
            "Driver": {"Name": s.driver, "Options": {}},
            "Labels": s.labels,
        },
    })
}

fn ls(engine: &dyn Engine, a: LsArgs) -> anyhow::Result<i32> {
    let secrets = engine.list_secrets().map_err(exit::engine)?;
    if a.quiet {
        for s in &secrets {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    let since = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| crate::human::since(t.timestamp()))
            .unwrap_or_default()
    };
    let items: Vec<Value> = secrets
        .iter()
        .map(|s| {
            json!({"ID": s.id, "Name": s.name, "Driver": s.driver,
                   "CreatedAt": since(&s.created), "UpdatedAt": since(&s.updated),
                   "Labels": s.labels})
        })
        .collect();
    print_list(
        a.format.as_deref(),
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}",
        &[("CreatedAt", "CREATED"), ("UpdatedAt", "UPDATED")],
        &items,
        &|| Ok(Value::Array(secrets.iter().map(json_doc).collect())),
        a.noheading,
    )?;
    Ok(0)
}

fn inspect(engine: &dyn Engine, a: InspectArgs) -> anyhow::Result<i32> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for n in &a.names {
        match engine.inspect_secret(n) {
            Ok(s) => found.push(json_doc(&s)),
            Err(e) if e.kind == ErrorKind::NotFound => missing.push(e.message),
            Err(e) => return Err(exit::engine(e)),
        }
    }
    print_documents(a.format.as_deref(), &found)?;
    for m in &missing {
        eprintln!("Error: {m}");
    }
    Ok(if missing.is_empty() { 0 } else { 125 })
}

fn rm(engine: &dyn Engine, a: RmArgs) -> anyhow::Result<i32> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("`berth secret rm` requires one or more secret names, or --all");
    }
    if a.all {
        for id in engine.remove_secrets(&[], true).map_err(exit::engine)? {
            println!("{id}");
        }
        return Ok(0);
    }
    let mut code = 0;
    for n in &a.names {
        match engine.remove_secrets(std::slice::from_ref(n), false) {
            Ok(ids) => ids.iter().for_each(|id| println!("{id}")),
            Err(e) if e.kind == ErrorKind::NotFound => {
                eprintln!("Error: {}", e.message);
                code = 1;
            }
            Err(e) => return Err(exit::engine(e)),
        }
    }
    Ok(code)
}
