//! `machine list`, `inspect` and `info`: Podman's columns and documents.

use berth_platform::config::MachineConfig;
use berth_platform::machine::Machines;
use berth_platform::VmState;
use clap::Args;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Format the output using JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Print only the names
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not print the header
    #[arg(short, long)]
    pub noheading: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format the output using a Go template
    #[arg(long)]
    pub format: Option<String>,
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Format the output using JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

/// The pinned host key of the machine's guest.
pub fn known_host(m: &Machines, name: &str) -> PathBuf {
    m.dirs.data_dir(name).join("ssh").join("known_host")
}

fn default_name() -> String {
    crate::commands::connection::load()
        .map(|c| c.default)
        .unwrap_or_default()
}

fn gib(bytes: u64) -> String {
    format!("{}GiB", bytes >> 30)
}

fn row(m: &Machines, c: &MachineConfig, default: &str) -> Value {
    let state = m.state(&c.name);
    let last_up = match state {
        VmState::Running => "Currently running".to_string(),
        VmState::Starting => "Currently starting".to_string(),
        VmState::Stopped if c.last_up == 0 => "Never".to_string(),
        VmState::Stopped => crate::human::since(c.last_up),
    };
    let is_default = c.name == default;
    json!({
        "Name": if is_default { format!("{}*", c.name) } else { c.name.clone() },
        "VMType": c.provider,
        "Created": crate::human::since(c.created),
        "LastUp": last_up,
        "CPUs": c.cpus,
        "Memory": gib(c.memory_mib << 20),
        "DiskSize": gib(c.disk_gib << 30),
        "Running": state == VmState::Running,
        "Starting": state == VmState::Starting,
        "Default": is_default,
    })
}

fn json_row(m: &Machines, c: &MachineConfig, default: &str) -> Value {
    let state = m.state(&c.name);
    json!({
        "Name": c.name,
        "Default": c.name == default,
        "Created": crate::human::timestamp(c.created),
        "Running": state == VmState::Running,
        "Starting": state == VmState::Starting,
        "LastUp": crate::human::timestamp(c.last_up),
        "VMType": c.provider,
        "CPUs": c.cpus,
        "Memory": (c.memory_mib << 20).to_string(),
        "DiskSize": (c.disk_gib << 30).to_string(),
        "Port": c.ssh_port,
        "RemoteUsername": c.username,
        "IdentityPath": m.ssh_key(&c.name),
        "UserModeNetworking": c.user_mode_networking,
    })
}

pub fn list(m: &Machines, a: ListArgs) -> anyhow::Result<i32> {
    let all = m.dirs.list()?;
    if a.quiet {
        for c in &all {
            println!("{}", c.name);
        }
        return Ok(0);
    }
    let default = default_name();
    let headers = [
        ("Name", "NAME"),
        ("VMType", "VM TYPE"),
        ("Created", "CREATED"),
        ("LastUp", "LAST UP"),
        ("CPUs", "CPUS"),
        ("Memory", "MEMORY"),
        ("DiskSize", "DISK SIZE"),
    ];
    let items: Vec<Value> = all.iter().map(|c| row(m, c, &default)).collect();
    let json_rows = || {
        Ok(Value::Array(
            all.iter().map(|c| json_row(m, c, &default)).collect(),
        ))
    };
    crate::output::print_list(
        a.format.as_deref(),
        "table {{.Name}}\t{{.VMType}}\t{{.Created}}\t{{.LastUp}}\t{{.CPUs}}\t{{.Memory}}\t{{.DiskSize}}",
        &headers,
        &items,
        &json_rows,
        a.noheading,
    )?;
    Ok(0)
}

fn inspect_doc(m: &Machines, c: &MachineConfig) -> Value {
    let socket = m.api_socket(&c.name);
    let run = m.dirs.run_dir(&c.name);
    let channel = berth_platform::qemu::Qemu::channel(&run, 3);
    json!({
        "ConfigDir": {"Path": m.dirs.config.display().to_string()},
        "ConnectionInfo": {
            "PodmanSocket": {"Path": socket.display().to_string()},
            "PodmanPipe": null,
        },
        "Created": crate::human::timestamp(c.created),
        "Image": {"Source": c.image, "Digest": c.image_digest},
        "LastUp": crate::human::timestamp(c.last_up),
        "Name": c.name,
        "Resources": {
            "CPUs": c.cpus,
            "DiskSize": c.disk_gib,
            "Memory": c.memory_mib,
            "USBs": [],
        },
        "SSHConfig": {
            "IdentityPath": m.ssh_key(&c.name).display().to_string(),
            "Port": c.ssh_port,
            "RemoteUsername": c.username,
        },
        "State": m.state(&c.name).as_str(),
        "UserModeNetworking": c.user_mode_networking,
        "Rootful": c.rootful,
        "Mounts": c.volumes.iter().map(|v| json!({"Source": v.source, "Target": v.target, "ReadOnly": v.read_only})).collect::<Vec<_>>(),
        "Provider": c.provider,
        "Accel": m.qemu.accel.as_str(),
        "CPU": m.qemu.accel.cpu(),
        "Channel": channel.describe(),
    })
}

pub fn inspect(m: &Machines, a: InspectArgs) -> anyhow::Result<i32> {
    let names = if a.names.is_empty() {
        vec![berth_platform::config::DEFAULT_NAME.to_string()]
    } else {
        a.names.clone()
    };
    let mut docs = Vec::new();
    let mut code = 0;
    for n in &names {
        match m.load(n) {
            Ok(c) => docs.push(inspect_doc(m, &c)),
            Err(e) => {
                eprintln!("Error: {e}");
                code = crate::exit::ENGINE;
            }
        }
    }
    crate::output::print_documents(a.format.as_deref(), &docs)?;
    Ok(code)
}

pub fn info(m: &Machines, a: InfoArgs) -> anyhow::Result<i32> {
    let all = m.dirs.list()?;
    let running = all
        .iter()
        .filter(|c| m.state(&c.name) != VmState::Stopped)
        .count();
    let doc = json!({
        "Host": {
            "Arch": berth_registry::artifact::oci_arch(std::env::consts::ARCH),
            "CurrentMachine": default_name(),
            "DefaultMachine": berth_platform::config::DEFAULT_NAME,
            "MachineConfigDir": m.dirs.config.display().to_string(),
            "MachineImageDir": m.dirs.data.display().to_string(),
            "MachineState": if running > 0 { "Running" } else { "" },
            "NumberOfMachines": all.len(),
            "OS": std::env::consts::OS,
            "VMType": "qemu",
            "Accel": m.qemu.accel.as_str(),
            "CPU": m.qemu.accel.cpu(),
        },
        "Version": {"Version": env!("CARGO_PKG_VERSION")},
    });
    match a.format.as_deref() {
        None | Some("") | Some("json") => println!("{}", crate::commands::json_pretty(&doc)?),
        Some(f) => {
            let parsed = crate::format::OutputFormat::parse(f)
                .map_err(|e| anyhow::anyhow!("invalid --format {f:?}: {e}"))?;
            let text = crate::format::render_items(&parsed, &[doc], &[], "")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print!("{text}");
        }
    }
    Ok(0)
}
