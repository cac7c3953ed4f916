//! Driving netavark (and through it aardvark-dns) by its documented interface: a JSON
//! description of the container's networks on standard input, `setup NETNS` or
//! `teardown NETNS`, and on success a JSON status per network on standard output.
//! Callers hold the host network lock: netavark calls do not bear running side by
//! side (bridges, firewall chains and the aardvark configuration are shared).

use super::store::Membership;
use berth_types::network::{Network, PortMapping};
use serde_json::{json, Value};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian, Fedora and others put the helpers (Podman's helper_binaries_dir).
const HELPER_DIRS: &[&str] = &[
    "/usr/local/libexec/podman",
    "/usr/local/lib/podman",
    "/usr/libexec/podman",
    "/usr/lib/podman",
];

/// A helper program: on PATH or in one of Podman's helper directories.
pub fn helper(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(HELPER_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "{name} not found on PATH or in {}: install the {name} package",
                HELPER_DIRS.join(", ")
            )
        })
}

/// One network the container is in, with the addresses it leased there.
#[derive(Debug, Clone)]
pub struct Joined {
    pub network: Network,
    pub membership: Membership,
    pub ips: Vec<(IpAddr, u8)>,
}

/// The options document netavark reads.
pub fn options(
    id: &str,
    name: &str,
    hostname: &str,
    joined: &[Joined],
    ports: &[PortMapping],
    dns_servers: &[String],
) -> Value {
    let mut networks = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    for j in joined {
        let mut aliases = j.membership.aliases.clone();
        // Podman resolves a container by its short ID too.
        aliases.push(id[..12].to_string());
        let mut per = json!({
            "interface_name": j.membership.interface_name,
            "static_ips": j.ips.iter().map(|(ip, _)| ip.to_string()).collect::<Vec<_>>(),
            "aliases": aliases,
        });
        if !j.membership.mac.is_empty() {
            per["static_mac"] = json!(j.membership.mac);
        }
        networks.insert(j.network.name.clone(), per);
        info.insert(
            j.network.name.clone(),
            serde_json::to_value(&j.network).unwrap_or_default(),
        );
    }
    let mut doc = json!({
        "container_id": id,
        "container_name": name,
        "container_hostname": hostname,
        "networks": networks,
        "network_info": info,
        "port_mappings": ports,
    });
    if !dns_servers.is_empty() {
        doc["dns_servers"] = json!(dns_servers);
    }
    doc
}

fn run(verb: &str, config_dir: &Path, netns: &Path, options: &Value) -> Result<String, String> {
    let netavark = helper("netavark")?;
    std::fs::create_dir_all(config_dir)
        .map_err(|e| format!("creating {}: {e}", config_dir.display()))?;
    let mut cmd = Command::new(&netavark);
    cmd.arg("--config").arg(config_dir).arg("--rootless").arg(
        if rustix::process::geteuid().is_root() {
            "false"
        } else {
            "true"
        },
    );
    if let Ok(aardvark) = helper("aardvark-dns") {
        cmd.arg("--aardvark-binary").arg(aardvark);
    }
    // A rootless user's bridges live in its own network namespace (made by then).
    if crate::rootless::active() {
        let host = super::host::HostNetworks::for_caller();
        super::rootless_netns::enter_for(&mut cmd, &super::rootless_netns::path(&host))?;
    }
    cmd.arg(verb)
        .arg(netns)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("running {}: {e}", netavark.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(options.to_string().as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for netavark: {e}"))?;
    if !out.status.success() {
        // netavark writes its `{"error": …}` to stdout or stderr, by version.
        let mut err = String::from_utf8_lossy(&out.stderr).into_owned();
        if err.trim().is_empty() {
            err = String::from_utf8_lossy(&out.stdout).into_owned();
        }
        let msg = serde_json::from_str::<Value>(err.trim())
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| err.trim().to_string());
        return Err(format!("netavark {verb}: {msg}"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Sets the namespace up; returns netavark's status per network.
pub fn setup(config_dir: &Path, netns: &Path, options: &Value) -> Result<Value, String> {
    let out = run("setup", config_dir, netns, options)?;
    serde_json::from_str(&out).map_err(|e| format!("netavark setup printed no status: {e}"))
}

pub fn teardown(config_dir: &Path, netns: &Path, options: &Value) -> Result<(), String> {
    run("teardown", config_dir, netns, options).map(|_| ())
}
