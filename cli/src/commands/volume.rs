//! `berth volume create|ls|inspect|rm|prune|exists`: Podman's flags, output and exit
//! codes (rm: 1 for a missing volume, 2 for one in use; exists: 0 or 1). The grammar
//! lives here, beside the handlers, and `cli.rs` names it as one subcommand.

use crate::exit;
use crate::format::OutputFormat;
use crate::output::{print_documents, print_list};
use berth_types::volume::{VolumeCreateRequest, VolumeInspect, VolumeRemoveRequest};
use berth_types::{Engine, ErrorKind};
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

#[derive(Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a new volume
    Create(crate::lazy::Lazy<CreateArgs>),
    /// List volumes
    #[command(alias = "list")]
    Ls(crate::lazy::Lazy<LsArgs>),
    /// Display detailed information on one or more volumes
    Inspect(crate::lazy::Lazy<InspectArgs>),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    Rm(crate::lazy::Lazy<RmArgs>),
    /// Remove all unused volumes
    Prune(crate::lazy::Lazy<PruneArgs>),
    /// Check if volume exists
    Exists(crate::lazy::Lazy<ExistsArgs>),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short, long, value_name = "DRIVER", default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume (e.g. --label mykey=value)
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Set driver specific options (type, device, o, uid, gid, copy, nocopy…)
    #[arg(short, long = "opt", value_name = "KEY=VALUE")]
    pub opt: Vec<String>,
    /// Don't fail if the volume already exists
    #[arg(long)]
    pub ignore: bool,
    /// The volume's name (a random one when left out)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Filter volume output
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Format volume output using JSON or a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Do not print headers
    #[arg(short, long)]
    pub noheading: bool,
    /// Print volume output in quiet mode
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Inspect all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Format volume output using a Go template
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(value_name = "VOLUME")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Remove all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Remove a volume by force; a missing volume is not an error
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for running containers to stop before killing the container
    #[arg(short, long, value_name = "SECONDS")]
    pub time: Option<u64>,
    #[arg(value_name = "VOLUME")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Provide filter values (e.g. 'label=<key>=<value>')
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ExistsArgs {
    #[arg(value_name = "VOLUME")]
    pub name: String,
}

pub fn run(engine: &dyn Engine, command: VolumeCommand) -> anyhow::Result<i32> {
    match command {
        VolumeCommand::Create(a) => create(engine, a.0),
        VolumeCommand::Ls(a) => ls(engine, a.0),
        VolumeCommand::Inspect(a) => inspect(engine, a.0),
        VolumeCommand::Rm(a) => rm(engine, a.0),
        VolumeCommand::Prune(a) => prune(engine, a.0),
        VolumeCommand::Exists(a) => super::exists_code(engine.volume_exists(&a.name)),
    }
}

fn create(engine: &dyn Engine, a: CreateArgs) -> anyhow::Result<i32> {
    let req = VolumeCreateRequest {
        name: a.name,
        driver: Some(a.driver),
        labels: super::key_values(&a.label),
        options: super::key_values(&a.opt),
        ignore_if_exists: a.ignore,
    };
    println!("{}", engine.create_volume(&req).map_err(exit::engine)?);
    Ok(0)
}

/// Podman's inspect/ls JSON: its field order, and the fields it omits when empty.
fn json_doc(v: &VolumeInspect) -> Value {
    let mut m = Map::new();
    m.insert("Name".into(), json!(v.name));
    m.insert("Driver".into(), json!(v.driver));
    m.insert("Mountpoint".into(), json!(v.mountpoint));
    m.insert("CreatedAt".into(), json!(v.created_at));
    m.insert("Labels".into(), json!(v.labels));
    m.insert("Scope".into(), json!(v.scope));
    m.insert("Options".into(), json!(v.options));
    for (key, id) in [("UID", v.uid), ("GID", v.gid)] {
        if let Some(id) = id.filter(|id| *id != 0) {
            m.insert(key.into(), json!(id));
        }
    }
    if v.anonymous {
        m.insert("Anonymous".into(), json!(true));
    }
    m.insert("MountCount".into(), json!(v.mount_count));
    if v.needs_copy_up {
        m.insert("NeedsCopyUp".into(), json!(true));
    }
    if v.needs_chown {
        m.insert("NeedsChown".into(), json!(true));
    }
    Value::Object(m)
}

/// What templates see: every field (zero values included), `CreatedAt` as Go prints a
/// `time.Time` (`2024-05-01 10:07:01.5596195 +0100 +0100`).
fn template_item(v: &VolumeInspect) -> Value {
    json!({
        "Name": v.name,
        "Driver": v.driver,
        "Mountpoint": v.mountpoint,
        "CreatedAt": go_time(&v.created_at),
        "Status": {},
        "Labels": v.labels,
        "Scope": v.scope,
        "Options": v.options,
        "UID": v.uid.unwrap_or(0),
        "GID": v.gid.unwrap_or(0),
        "Anonymous": v.anonymous,
        "MountCount": v.mount_count,
        "NeedsCopyUp": v.needs_copy_up,
        "NeedsChown": v.needs_chown,
    })
}

/// Go's `time.Time.String()` for an RFC 3339 time; the zone is `UTC` at offset zero
/// and the numeric offset otherwise (Go shows a zone abbreviation only for its own zone).
fn go_time(rfc3339: &str) -> String {
    use chrono::Timelike;
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_string();
    };
    let mut out = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let frac = format!("{:09}", t.nanosecond() % 1_000_000_000);
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    let offset = t.format("%z").to_string();
    let zone = if t.offset().local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        offset.clone()
    };
    format!("{out} {offset} {zone}")
}

fn is_json(format: Option<&str>) -> bool {
    match format {
        None | Some("") => false,
        Some(f) => matches!(OutputFormat::parse(f), Ok(OutputFormat::Json)),
    }
}

const HEADERS: &[(&str, &str)] = &[("Name", "VOLUME NAME")];

fn ls(engine: &dyn Engine, a: LsArgs) -> anyhow::Result<i32> {
    let vols = engine.list_volumes(&a.filter).map_err(exit::engine)?;
    if a.quiet {
        for v in &vols {
            println!("{}", v.name);
        }
        return Ok(0);
    }
    if is_json(a.format.as_deref()) {
        // Podman indents `volume ls` JSON by two spaces (inspect uses five).
        let docs: Vec<Value> = vols.iter().map(json_doc).collect();
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(0);
    }
    let items: Vec<Value> = vols.iter().map(template_item).collect();
    print_list(
        a.format.as_deref(),
        "table {{.Driver}}\t{{.Name}}",
        HEADERS,
        &items,
        &|| Ok(Value::Array(vols.iter().map(json_doc).collect())),
        a.noheading,
    )?;
    Ok(0)
}

fn inspect(engine: &dyn Engine, a: InspectArgs) -> anyhow::Result<i32> {
    let named = !a.names.is_empty();
    if a.all == named {
        anyhow::bail!("provide one or more volume names or use --all");
    }
    let names: Vec<String> = if a.all {
        let all = engine.list_volumes(&[]).map_err(exit::engine)?;
        all.into_iter().map(|v| v.name).collect()
    } else {
        a.names
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for n in &names {
        match engine.inspect_volume(n) {
            Ok(v) => found.push(v),
            Err(e) if e.kind == ErrorKind::NotFound => {
                missing.push(format!("inspecting object: no such volume {n}"))
            }
            Err(e) => return Err(exit::engine(e)),
        }
    }
    // Podman prints what it found (`[]` for nothing), then fails naming what it did not.
    if a.format.is_none() || is_json(a.format.as_deref()) {
        let docs: Vec<Value> = found.iter().map(json_doc).collect();
        println!("{}", super::json_inspect(&docs)?);
    } else {
        let items: Vec<Value> = found.iter().map(template_item).collect();
        print_documents(a.format.as_deref(), &items)?;
    }
    match missing.split_first() {
        None => Ok(0),
        Some((first, rest)) => {
            for m in rest {
                eprintln!("error {m}");
            }
            Err(exit::with_code(exit::ENGINE, first.clone()))
        }
    }
}

fn rm(engine: &dyn Engine, a: RmArgs) -> anyhow::Result<i32> {
    let named = !a.names.is_empty();
    if a.all == named {
        anyhow::bail!("choose either one or more volumes or all");
    }
    let names: Vec<String> = if a.all {
        let all = engine.list_volumes(&[]).map_err(exit::engine)?;
        all.into_iter().map(|v| v.name).collect()
    } else {
        a.names
    };
    // One call per name: Podman removes what it can, prints it, then reports the rest.
    let mut errors: Vec<(i32, String)> = Vec::new();
    for name in names {
        let req = VolumeRemoveRequest {
            names: vec![name],
            force: a.force,
            all: false,
        };
        match engine.remove_volumes(&req) {
            Ok(removed) => removed.iter().for_each(|n| println!("{n}")),
            Err(e) => {
                let code = match e.kind {
                    ErrorKind::NotFound => 1,
                    ErrorKind::Conflict => 2,
                    _ => exit::ENGINE,
                };
                errors.push((code, e.message));
            }
        }
    }
    let code = [2, 1]
        .into_iter()
        .find(|c| errors.iter().any(|(x, _)| x == c))
        .unwrap_or(exit::ENGINE);
    match errors.split_last() {
        None => Ok(0),
        Some(((_, last), rest)) => {
            for (_, m) in rest {
                eprintln!("Error: {m}");
            }
            Err(exit::with_code(code, last.clone()))
        }
    }
}

fn prune(engine: &dyn Engine, a: PruneArgs) -> anyhow::Result<i32> {
    if !a.force {
        use std::io::{BufRead, Write};
        let mut dry_run = a.filter.clone();
        dry_run.push("dangling=true".into());
        let doomed = engine.list_volumes(&dry_run).map_err(exit::engine)?;
        println!("WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:");
        if doomed.is_empty() {
            println!("No dangling volumes found");
            return Ok(0);
        }
        for v in &doomed {
            println!("{}", v.name);
        }
        print!("Are you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer)? == 0 {
            anyhow::bail!("no answer on standard input: use --force to prune without confirmation");
        }
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
            return Ok(0);
        }
    }
    for name in engine.prune_volumes(&a.filter).map_err(exit::engine)? {
        println!("{name}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn go_time_prints_like_time_string() {
        assert_eq!(
            go_time("2026-11-25T09:06:48.747982835Z"),
            "2026-11-25 09:06:48.747982835 +0000 UTC"
        );
        assert_eq!(
            go_time("2026-11-25T10:07:01.5596195+01:00"),
            "2026-11-25 10:07:01.5596195 +0100 +0100"
        );
    }

    #[test]
    fn json_omits_what_podman_omits_in_its_order() {
        let v = VolumeInspect {
            name: "v".into(),
            driver: "local".into(),
            mountpoint: "/r/volumes/v/_data".into(),
            created_at: "2026-11-25T09:06:48Z".into(),
            labels: BTreeMap::new(),
            scope: "local".into(),
            options: BTreeMap::new(),
            uid: Some(1000),
            gid: None,
            mount_count: 0,
            needs_copy_up: true,
            needs_chown: false,
            anonymous: true,
        };
        let keys: Vec<String> = json_doc(&v)
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "Name",
                "Driver",
                "Mountpoint",
                "CreatedAt",
                "Labels",
                "Scope",
                "Options",
                "UID",
                "Anonymous",
                "MountCount",
                "NeedsCopyUp"
            ]
        );
    }

    #[test]
    fn bare_keys_get_empty_values() {
        let p = super::super::key_values(&["a=b".into(), "c".into(), "d=e=f".into()]);
        assert_eq!(p.get("c").map(String::as_str), Some(""));
        assert_eq!(p.get("d").map(String::as_str), Some("e=f"));
    }
}
